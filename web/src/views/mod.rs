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
//! - `lazy`: in the page's first module, the import of the second, which holds every view but
//!   Compose, and the element it renders into.
//! - `more`: the second module's root: its own connection and the view the address names.

mod campaigns;
pub mod compose;
mod history;
mod inbox;
pub mod lazy;
mod mailboxes;
pub mod more;
mod outbox;
mod profiles;

use yew::prelude::*;

pub use compose::Addresses;

use crate::route::Route;

#[derive(Properties, PartialEq)]
pub struct ViewsProps {
    pub route: Route,
}

/// The first module's part of the view `route` names: Compose itself, or for any other view
/// the import of the module that renders it (into [`lazy::ROOT_ID`], beside this). What must
/// outlive a switch to another view (the draft's attachments, uploaded already) is held here,
/// above Compose.
#[function_component]
pub fn Views(props: &ViewsProps) -> Html {
    html! {
        <compose::AttachmentsProvider>
            if props.route == Route::Compose {
                <compose::ComposeView />
            } else {
                <lazy::Loader />
            }
        </compose::AttachmentsProvider>
    }
}

/// The view `route` names, when it is not Compose: the second module's part (`more`).
fn other_view(route: Route) -> Html {
    match route {
        Route::Compose => Html::default(),
        Route::Outbox => html! { <outbox::OutboxView /> },
        Route::Campaigns => html! { <campaigns::CampaignsView /> },
        Route::Inbox => html! { <inbox::InboxView /> },
        Route::History => html! { <history::HistoryView /> },
        Route::Profiles => html! { <profiles::ProfilesView /> },
        Route::Mailboxes => html! { <mailboxes::MailboxesView /> },
    }
}
