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

use crate::components::{CheckReport, Transcript};

#[function_component]
pub fn ComposeView() -> Html {
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
