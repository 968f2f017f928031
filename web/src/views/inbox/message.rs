use std::rc::Rc;

use protocol::CapturedMessage;
use yew::prelude::*;

use crate::components::ErrorDetails;
use crate::format::{RAW_SHOWN_BYTES, raw_head, size};
use crate::hooks::use_bridge;
use crate::object_url::ObjectUrl;
use crate::state::{Action, Loadable};

/// The sandbox message opened from the inbox: its envelope, headers, text and HTML parts,
/// attachments to download, and the raw source as it arrived.
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
        Loadable::Ready(message) => html! { <Content message={message.clone()} /> },
    };
    html! {
        <article id="message-view" class="message" aria-labelledby="message-heading" aria-live="polite">
            <div class="message-top">
                <h3 id="message-heading">{ heading }</h3>
                <button type="button" onclick={close}>{ "Close this message" }</button>
            </div>
            { body }
        </article>
    }
}

#[derive(Properties, PartialEq)]
struct ContentProps {
    message: Rc<CapturedMessage>,
}

#[function_component]
fn Content(props: &ContentProps) -> Html {
    let message = &props.message;
    // One URL per attachment, made when the message opens and revoked when it closes.
    let downloads = use_memo(message.clone(), |message| {
        message
            .attachments
            .iter()
            .map(|attachment| ObjectUrl::new(&attachment.content, &attachment.content_type))
            .collect::<Vec<_>>()
    });
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
                <pre class="body" tabindex="0">{ text }</pre>
            } else {
                <p class="quiet">{ "This message has no plain-text part." }</p>
            }
            if let Some(html) = &message.html {
                <h4>{ "HTML" }</h4>
                // No permissions at all: the message's scripts, forms and links stay inert.
                <iframe class="html-preview" sandbox="" srcdoc={html.clone()}
                    title="The message's HTML part" referrerpolicy="no-referrer" />
            }
            if !message.attachments.is_empty() {
                <h4>{ "Attachments" }</h4>
                <ul class="attachments">
                    { for message.attachments.iter().zip(downloads.iter()).map(|(attachment, url)| {
                        let name = attachment.filename.clone().unwrap_or_else(|| "attachment".to_owned());
                        let words = format!("{} ({}, {})", name, attachment.content_type, size(attachment.size_bytes));
                        html! {
                            <li>
                                if let Some(url) = url {
                                    <a class="attachment-download" href={url.as_str().to_owned()} download={name.clone()}>
                                        { format!("Download {words}") }
                                    </a>
                                } else {
                                    { words }
                                }
                            </li>
                        }
                    }) }
                </ul>
            }
            <details class="raw-source">
                <summary>{ format!("Raw source ({})", size(message.raw.len() as u64)) }</summary>
                <pre id="message-raw" class="raw" tabindex="0" aria-label="The raw source of the message">{ raw_head(&message.raw) }</pre>
                if message.raw.len() > RAW_SHOWN_BYTES {
                    <p class="hint">{ format!(
                        "The first {} of {} are shown; the rest is the attachments' base64, which the links above download decoded.",
                        size(RAW_SHOWN_BYTES as u64),
                        size(message.raw.len() as u64)
                    ) }</p>
                }
            </details>
        </>
    }
}
