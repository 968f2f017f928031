//! The Inbox view (`#/inbox`): what the sandbox received, newest first, beside the message
//! opened from it.
//!
//! # Layout
//! - `message`: the opened message: envelope, headers, parts, attachments, raw source.

mod message;

use protocol::{MessageSummary, Operation};
use yew::prelude::*;

use self::message::MessageView;
use crate::components::ErrorDetails;
use crate::format::{local_time, size};
use crate::hooks::use_bridge;
use crate::state::Loadable;

/// What the sandbox has received, newest first, updated as mail arrives; a click opens one.
#[function_component]
pub fn InboxView() -> Html {
    let bridge = use_bridge();
    let open_id = bridge.message.as_ref().map(|open| open.id);
    let body = match &bridge.inbox {
        Loadable::Idle | Loadable::Loading => {
            html! { <p class="quiet">{ "Loading the sandbox inbox…" }</p> }
        }
        Loadable::Failed(error) => html! { <ErrorDetails error={error.clone()} /> },
        Loadable::Ready(messages) if messages.is_empty() => html! {
            <p class="quiet">{ "Nothing has arrived yet. Send with the sandbox profile and the message shows up here." }</p>
        },
        Loadable::Ready(messages) => html! {
            <ul class="inbox-list">
                { for messages.iter().map(|summary| {
                    let bridge = bridge.clone();
                    let id = summary.id;
                    let open = Callback::from(move |_: MouseEvent| {
                        bridge.request(Operation::ReadSandboxMessage { id });
                    });
                    row(summary, open, open_id == Some(id))
                }) }
            </ul>
        },
    };
    html! {
        <div class="layout single">
            <section id="inbox" class="panel" aria-labelledby="inbox-heading">
                <h2 id="inbox-heading" tabindex="-1">{ "Sandbox inbox" }</h2>
                <p class="hint">{ "Mail sent through the sandbox profile stops here; nothing leaves this machine." }</p>
                <div class="inbox-grid">
                    <div class="inbox-messages">{ body }</div>
                    <MessageView />
                </div>
            </section>
        </div>
    }
}

fn row(summary: &MessageSummary, open: Callback<MouseEvent>, current: bool) -> Html {
    let subject = if summary.subject.is_empty() {
        "(no subject)".to_owned()
    } else {
        summary.subject.clone()
    };
    html! {
        <li key={summary.id} data-message-id={summary.id.to_string()}>
            <button type="button" class="message-row inbox-open" onclick={open}
                aria-current={if current { "true" } else { "false" }}
                aria-label={format!("Open the message “{subject}” from {}", summary.from)}>
                <span class="subject">{ &subject }</span>
                <span class="sub">{ format!("from {}", summary.from) }</span>
                <span class="sub">{ format!("to {}", summary.to.join(", ")) }</span>
                <span class="sub">{ format!("{} · {}", local_time(summary.received_unix_ms), size(summary.size_bytes)) }</span>
            </button>
        </li>
    }
}
