//! The app's views, one folder each; the address names the one on screen (see `route`).
//!
//! # Layout
//! - `compose`: the message form with its preview and result, beside the check and the
//!   transcript.
//! - `outbox`: what waits to be sent, its pace and quotas, and each entry with its actions.
//! - `campaigns`: mail merge from a CSV list: check, preview, start, and follow campaigns.
//! - `inbox`: what the sandbox received, and the message opened from it.
//! - `history`: past sends with their transcripts.
//! - `mailboxes`: the receiving mailboxes that delivery is verified at.
//! - `profiles`: the profile list, its editor, import and export, beside the check.

mod campaigns;
pub mod compose;
mod history;
mod inbox;
mod mailboxes;
mod outbox;
mod profiles;

use yew::prelude::*;

pub use compose::Addresses;

use crate::route::Route;

#[derive(Properties, PartialEq)]
pub struct ViewsProps {
    pub route: Route,
}

/// The view `route` names. Only it is on the page; what must outlive a switch to another view
/// (the draft's attachments, uploaded already) is held here, above them all.
#[function_component]
pub fn Views(props: &ViewsProps) -> Html {
    let view = match props.route {
        Route::Compose => html! { <compose::ComposeView /> },
        Route::Outbox => html! { <outbox::OutboxView /> },
        Route::Campaigns => html! { <campaigns::CampaignsView /> },
        Route::Inbox => html! { <inbox::InboxView /> },
        Route::History => html! { <history::HistoryView /> },
        Route::Profiles => html! { <profiles::ProfilesView /> },
        Route::Mailboxes => html! { <mailboxes::MailboxesView /> },
    };
    html! {
        <compose::AttachmentsProvider>{ view }</compose::AttachmentsProvider>
    }
}
