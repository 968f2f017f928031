use protocol::{QueuedReport, SendReport};
use yew::prelude::*;

use crate::components::{DiagnosisCard, ErrorDetails};
use crate::format::local_clock;
use crate::hooks::use_bridge;
use crate::route::Route;

/// The outcome of the last send: the server's reply and the Message-ID; or that it waits in the
/// outbox, why, and when it goes again; or what went wrong and how to fix it. It is a live region, so the outcome is announced when it arrives.
#[function_component]
pub fn SendResult() -> Html {
    let bridge = use_bridge();
    // Checks have their own panel; this one shows sends.
    let send = bridge.run.as_ref().filter(|run| !run.is_check());
    let retry = send.map(|run| {
        let bridge = bridge.clone();
        let operation = run.operation.clone();
        Callback::from(move |()| {
            bridge.request(operation.clone());
        })
    });
    let body = match send {
        None => html! {},
        Some(run) => match (&run.result, run.sent(), run.queued(), run.error()) {
            (None, ..) if run.is_test() => {
                html! { <p class="busy">{ "Sending a test message…" }</p> }
            }
            (None, ..) if matches!(run.operation, protocol::Operation::SendVerifyingAt { .. }) => {
                html! { <p class="busy">{ "Sending, then searching the mailbox until the message arrives (at most 3 minutes)…" }</p> }
            }
            (None, ..) => html! { <p class="busy">{ "Sending…" }</p> },
            (_, Some(report), _, _) => sent(report, run.is_test()),
            (_, _, Some(report), _) => queued(report, run.is_test()),
            (_, _, _, None) => html! {},
            (_, _, _, Some(error)) => match &error.diagnosis {
                Some(diagnosis) => html! {
                    <DiagnosisCard diagnosis={(**diagnosis).clone()} on_retry={retry} retry_disabled={!bridge.is_connected()} />
                },
                None => html! {
                    <div class="result failed">
                        <h3>{ if run.is_test() { "The test was not sent" } else { "The message was not sent" } }</h3>
                        <ErrorDetails error={error.clone()} />
                    </div>
                },
            },
        },
    };
    // "Verify at": the verdict card next to the send's result.
    let verdict = send
        .and_then(|run| run.verified.as_deref())
        .map(|verified| super::verify::card(verified, "send-verdict"))
        .unwrap_or_default();
    html! {
        <div id="send-result" class="result-region" aria-live="polite">{ body }{ verdict }</div>
    }
}

fn sent(report: &SendReport, test: bool) -> Html {
    html! {
        <div class="result sent">
            <h3>{ if test { "Test message sent" } else { "Message sent" } }</h3>
            <dl>
                <dt>{ "Server reply" }</dt>
                <dd><code>{ &report.reply }</code></dd>
                <dt>{ "Message-ID" }</dt>
                <dd><code id="send-result-message-id">{ &report.message_id }</code></dd>
                <dt>{ "Recipients" }</dt>
                <dd>{ report.recipients.join(", ") }</dd>
                if report.attempts > 1 {
                    <dt>{ "Attempts" }</dt>
                    <dd>{ format!("{} (the first ones failed for a reason that passes)", report.attempts) }</dd>
                }
            </dl>
            if !report.warnings.is_empty() {
                <ul class="warnings">
                    { for report.warnings.iter().map(|warning| html! { <li>{ warning }</li> }) }
                </ul>
            }
        </div>
    }
}

/// A send that could not go at once: the bridge keeps it in the outbox and tries again by
/// itself, so this is news, not a failure.
fn queued(report: &QueuedReport, test: bool) -> Html {
    html! {
        <div id="send-result-queued" class="result queued">
            <h3>{ if test { "Test message queued" } else { "Queued" } }</h3>
            <p id="send-result-reason"><strong>{ "Queued: " }</strong>{ &report.reason }</p>
            <dl>
                if let Some(at) = report.next_attempt_unix_ms {
                    <dt>{ "Next attempt" }</dt>
                    <dd id="send-result-next-attempt">{ local_clock(at) }</dd>
                }
                <dt>{ "Message-ID" }</dt>
                <dd><code>{ &report.message_id }</code></dd>
                <dt>{ "Recipients" }</dt>
                <dd>{ report.recipients.join(", ") }</dd>
            </dl>
            <p>
                { "The bridge keeps the message and sends it by itself, with the same Message-ID, even if this page closes. " }
                <a id="send-result-outbox" href={Route::Outbox.hash()}>{ "Follow it in the Outbox" }</a>
            </p>
            if let Some(diagnosis) = &report.diagnosis {
                <details class="queued-why">
                    <summary>{ "Why it waits: " }{ &diagnosis.title }</summary>
                    <DiagnosisCard diagnosis={diagnosis.clone()} title_id="send-result-diagnosis-title" />
                </details>
            }
            if !report.warnings.is_empty() {
                <ul class="warnings">
                    { for report.warnings.iter().map(|warning| html! { <li>{ warning }</li> }) }
                </ul>
            }
        </div>
    }
}
