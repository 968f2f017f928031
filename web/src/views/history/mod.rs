//! The History view (`#/history`): past sends, newest first, each with its transcript, the
//! delivery verdicts kept for it (`verdicts`), and a "bounced" badge for each recipient whose
//! bounce report was read ("Read bounce reports", over IMAP at a receiving mailbox).

mod verdicts;

use std::collections::BTreeSet;

use protocol::{HistoryEntry, HistoryOutcome, Operation};
use yew::prelude::*;

use crate::components::{ErrorDetails, transcript};
use crate::format::local_time;
use crate::hooks::{HISTORY_LIMIT, use_bridge};
use crate::state::Loadable;

/// Past sends, newest first: when, from which profile, to whom, and how it went, each with its
/// redacted SMTP transcript on request. It reloads after every send or test send.
#[function_component]
pub fn HistoryView() -> Html {
    let bridge = use_bridge();
    let open = use_state(BTreeSet::<u64>::new);
    // The bridge records a send when it ends, so the list is read again then. On mount this is
    // `None`; the bridge connection also reads the list after each (re)connect.
    let finished = bridge
        .run
        .as_ref()
        .filter(|run| !run.is_check() && !run.is_running())
        .map(|run| run.id);
    use_effect_with(finished, {
        let bridge = bridge.clone();
        move |_| {
            // Asking while offline would only replace the list with "not connected".
            if bridge.is_connected() {
                bridge.request(Operation::ReadHistory {
                    limit: HISTORY_LIMIT,
                });
            }
        }
    });
    let toggle = {
        let open = open.clone();
        Callback::from(move |id: u64| {
            let mut next = (*open).clone();
            if !next.remove(&id) {
                next.insert(id);
            }
            open.set(next);
        })
    };
    // Reports come back to the sending account's own inbox: the user picks which receiving
    // mailbox that is (the sandbox's until others are added).
    let mailboxes = use_state(Vec::<protocol::MailboxView>::new);
    let connected = bridge.is_connected();
    use_effect_with(connected, {
        let bridge = bridge.clone();
        let mailboxes = mailboxes.clone();
        move |connected| {
            if *connected {
                let answer = bridge.call(Operation::ListMailboxes);
                wasm_bindgen_futures::spawn_local(async move {
                    if let Ok(protocol::Outcome::Mailboxes { mailboxes: list }) = answer.await {
                        mailboxes.set(list);
                    }
                });
            }
        }
    });
    let bounce_mailbox = use_state(|| "sandbox".to_owned());
    let bounce_note = use_state(|| None::<Result<String, protocol::OperationError>>);
    let read_bounces = {
        let bridge = bridge.clone();
        let mailbox = bounce_mailbox.clone();
        let note = bounce_note.clone();
        Callback::from(move |_: MouseEvent| {
            let answer = bridge.call(Operation::ReadBounces {
                mailbox: (*mailbox).clone(),
            });
            let (bridge, note) = (bridge.clone(), note.clone());
            wasm_bindgen_futures::spawn_local(async move {
                note.set(Some(match answer.await {
                    Ok(protocol::Outcome::Bounces(report)) => Ok(format!(
                        "{} bounce(s) matched to sent messages, {} about other messages, {} look-alike(s) ignored.",
                        report.matched.len(),
                        report.unmatched,
                        report.ignored
                    )),
                    Ok(_) => Ok(String::new()),
                    Err(error) => Err(error),
                }));
                bridge.request(Operation::ReadHistory {
                    limit: HISTORY_LIMIT,
                });
            });
        })
    };
    let body = match &bridge.history {
        Loadable::Idle | Loadable::Loading => {
            html! { <p class="quiet">{ "Loading the history…" }</p> }
        }
        Loadable::Failed(error) => html! { <ErrorDetails error={error.clone()} /> },
        Loadable::Ready(entries) if entries.is_empty() => html! {
            <p class="quiet">{ "Nothing sent yet. Each send and test send is listed here with its transcript." }</p>
        },
        Loadable::Ready(entries) => html! {
            <ol class="history-list">
                { for entries.iter().map(|entry| entry_view(entry, open.contains(&entry.id), &toggle)) }
            </ol>
        },
    };
    html! {
        <div class="layout single">
            <section id="history" class="panel" aria-labelledby="history-heading">
                <h2 id="history-heading" tabindex="-1">{ "History" }</h2>
                <p class="hint">{ format!("The last {HISTORY_LIMIT} sends through the bridge, newest first.") }</p>
                <div class="actions">
                    <label for="history-bounce-mailbox">{ "The sending account's mailbox" }</label>
                    <select id="history-bounce-mailbox" onchange={{
                        let mailbox = bounce_mailbox.clone();
                        Callback::from(move |event: Event| {
                            mailbox.set(event.target_unchecked_into::<web_sys::HtmlSelectElement>().value());
                        })
                    }}>
                        { for mailboxes.iter().map(|view| html! {
                            <option value={view.mailbox.id.clone()}
                                selected={view.mailbox.id == *bounce_mailbox}>
                                { format!("{} ({})", view.mailbox.name, view.mailbox.username) }
                            </option>
                        }) }
                    </select>
                    <button type="button" id="history-read-bounces" disabled={!bridge.is_connected()} onclick={read_bounces}>
                        { "Read bounce reports" }
                    </button>
                </div>
                { match &*bounce_note {
                    None => html! {},
                    Some(Ok(text)) => html! { <p id="history-bounce-note" class="hint">{ text }</p> },
                    Some(Err(error)) => html! { <div id="history-bounce-note" class="result failed"><ErrorDetails error={error.clone()} /></div> },
                } }
                { body }
            </section>
        </div>
    }
}

fn entry_view(entry: &HistoryEntry, open: bool, toggle: &Callback<u64>) -> Html {
    let id = entry.id;
    let transcript_id = format!("history-transcript-{id}");
    let (result_class, result) = match &entry.outcome {
        HistoryOutcome::Sent { .. } => ("sent", "Sent".to_owned()),
        HistoryOutcome::Failed { diagnosis } => ("failed", format!("Failed: {}", diagnosis.title)),
    };
    let subject = if entry.subject.is_empty() {
        "(no subject)"
    } else {
        entry.subject.as_str()
    };
    let onclick = toggle.reform(move |_: MouseEvent| id);
    html! {
        <li key={id} data-history-id={id.to_string()} class={classes!("history-entry", result_class)}>
            <div class="history-top">
                <span class="subject">{ subject }</span>
                <span class={classes!("history-result", if result_class == "sent" { "ok" } else { "bad" })}>{ result }</span>
            </div>
            { for entry.bounces.iter().map(|bounce| html! {
                <div class="history-bounce result failed" data-bounced={bounce.recipient.clone()}>
                    <p>
                        <span class="badge bad">{ "bounced" }</span>{ " " }
                        <strong>{ &bounce.recipient }</strong>{ " " }
                        <code class="bounce-status">{ &bounce.status }</code>
                        if bounce.suppressed {
                            { " (added to the suppression list)" }
                        }
                    </p>
                    if let Some(text) = &bounce.remote_text {
                        <p class="bounce-remote">{ "The remote server said: " }<code>{ text }</code></p>
                    }
                    if let Some(diagnosis) = &bounce.diagnosis {
                        <p class="bounce-why"><strong>{ &diagnosis.title }</strong>{ ": " }{ &diagnosis.likely_cause }</p>
                        <ul>{ for diagnosis.fix.iter().map(|step| html! { <li>{ step }</li> }) }</ul>
                    }
                </div>
            }) }
            <dl class="facts">
                <dt>{ "When" }</dt>
                <dd>{ local_time(entry.at_unix_ms) }</dd>
                <dt>{ "Profile" }</dt>
                <dd>{ &entry.profile_name }</dd>
                <dt>{ "To" }</dt>
                <dd>{ entry.recipients.join(", ") }</dd>
                if let HistoryOutcome::Sent { reply } = &entry.outcome {
                    <dt>{ "Reply" }</dt>
                    <dd><code>{ reply }</code></dd>
                }
                if let Some(message_id) = &entry.message_id {
                    <dt>{ "Message-ID" }</dt>
                    <dd><code>{ message_id }</code></dd>
                }
                if entry.attempts > 1 {
                    <dt>{ "Attempts" }</dt>
                    <dd>{ entry.attempts }</dd>
                }
            </dl>
            <button type="button" class="history-transcript-toggle" {onclick}
                aria-expanded={open.to_string()} aria-controls={transcript_id.clone()}>
                { if open { "Hide transcript" } else { "Show transcript" } }
            </button>
            if open {
                <div id={transcript_id} class="transcript history-transcript" tabindex="0"
                    aria-label={format!("Transcript of “{subject}”")}>
                    if entry.transcript.is_empty() {
                        <p class="quiet">{ "This send ended before any SMTP was spoken." }</p>
                    } else {
                        { transcript::lines(&entry.transcript) }
                    }
                </div>
                if let Some(message_id) = &entry.message_id {
                    <verdicts::Verdicts message_id={message_id.clone()} />
                }
            }
        </li>
    }
}
