//! The Compose view (`#/compose`, the default): the message form, and beside it the check and
//! the transcript of what runs.
//!
//! # Layout
//! - `form`: [`form::Compose`], the form with its actions.
//! - `chips`: recipients as chips, checked as they are typed.
//! - `attachments`: files picked or dropped, uploaded in chunks.
//! - `preview`: the HTML preview and the raw MIME.
//! - `send_result`: how the last send went: sent, queued in the outbox, or why it failed.
//! - `verify`: "Send test and verify" and the verdict card (Inbox and tab, Spam, not arrived).

mod attachments;
pub mod chips;
mod form;
mod preview;
mod send_result;
mod verify;

use yew::prelude::*;

pub use attachments::AttachmentsProvider;
pub use chips::Addresses;

use protocol::Operation;

use crate::components::{CheckReport, Transcript};
use crate::hooks::use_bridge;

#[function_component]
pub fn ComposeView() -> Html {
    // The Profiles view is the second module's, with its own connection and state: coming back
    // from it, this module asks again for the profiles it may have changed.
    let bridge = use_bridge();
    use_effect_with((), move |()| {
        if bridge.is_connected() {
            bridge.request(Operation::ListProfiles);
        }
    });
    html! {
        <div class="layout">
            <div class="column">
                <form::Compose />
            </div>
            <div class="column">
                <CheckReport />
                <Transcript />
            </div>
        </div>
    }
}
