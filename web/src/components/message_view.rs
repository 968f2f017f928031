use protocol::CapturedMessage;
use yew::prelude::*;

use super::error_details::ErrorDetails;
use crate::format::size;
use crate::hooks::use_bridge;
use crate::state::{Action, Loadable};

/// The sandbox message opened from the inbox: its envelope, headers and text part.
#[function_component]
pub fn MessageView() -> Html {
    let bridge = use_bridge();
    let Some(open) = &bridge.message else {
        return html! {};
    };
    let close = {
        let bridge = bridge.clone();
        Callback::from(move |_: MouseEvent| bridge.dispatch(Action::CloseMessage))
    };
    let heading = match &open.content {
        Loadable::Ready(message) if !message.summary.subject.is_empty() => {
            message.summary.subject.clone()
        }
        Loadable::Ready(_) => "(no subject)".to_owned(),
        _ => format!("Message {}", open.id),
    };
    let body = match &open.content {
        Loadable::Idle | Loadable::Loading => {
            html! { <p class="quiet">{ "Opening the message…" }</p> }
        }
        Loadable::Failed(error) => html! { <ErrorDetails error={error.clone()} /> },
        Loadable::Ready(message) => content(message),
    };
    html! {
        <article class="message" aria-labelledby="message-heading" aria-live="polite">
            <div class="message-top">
                <h3 id="message-heading">{ heading }</h3>
                <button type="button" onclick={close}>{ "Close this message" }</button>
            </div>
            { body }
        </article>
    }
}

fn content(message: &CapturedMessage) -> Html {
    let delivery = [
        message
            .tls_version
            .as_ref()
            .map(|tls| format!("over {tls}")),
        message
            .auth_mechanism
            .as_ref()
            .map(|auth| format!("signed in with {auth}")),
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>()
    .join(", ");
    html! {
        <>
            <h4>{ "Envelope" }</h4>
            <dl class="envelope">
                <dt>{ "MAIL FROM" }</dt>
                <dd><code>{ if message.envelope.mail_from.is_empty() { "<> (null sender)" } else { &message.envelope.mail_from } }</code></dd>
                <dt>{ "RCPT TO" }</dt>
                <dd><code>{ message.envelope.rcpt_to.join(", ") }</code></dd>
                if !delivery.is_empty() {
                    <dt>{ "Delivered" }</dt>
                    <dd>{ delivery }</dd>
                }
            </dl>
            <h4>{ "Headers" }</h4>
            <div class="table-scroll">
                <table class="headers">
                    <tbody>
                        { for message.headers.iter().map(|header| html! {
                            <tr><th scope="row">{ &header.name }</th><td>{ &header.value }</td></tr>
                        }) }
                    </tbody>
                </table>
            </div>
            <h4>{ "Text" }</h4>
            if let Some(text) = &message.text {
                <pre class="body">{ text }</pre>
            } else {
                <p class="quiet">{ "This message has no plain-text part." }</p>
            }
            if !message.attachments.is_empty() {
                <h4>{ "Attachments" }</h4>
                <ul>
                    { for message.attachments.iter().map(|attachment| html! {
                        <li>{ format!("{} ({}, {})",
                            attachment.filename.as_deref().unwrap_or("unnamed"),
                            attachment.content_type,
                            size(attachment.size_bytes)) }</li>
                    }) }
                </ul>
            }
        </>
    }
}
