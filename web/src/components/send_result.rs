use protocol::SendReport;
use yew::prelude::*;

use super::diagnosis_card::DiagnosisCard;
use super::error_details::ErrorDetails;
use crate::hooks::use_bridge;

/// The outcome of the last send: the server's reply and the Message-ID, or what went wrong and
/// how to fix it. It is a live region, so the outcome is announced when it arrives.
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
        Some(run) => match (&run.result, run.sent(), run.error()) {
            (None, _, _) if run.is_test() => {
                html! { <p class="busy">{ "Sending a test message…" }</p> }
            }
            (None, _, _) => html! { <p class="busy">{ "Sending…" }</p> },
            (_, Some(report), _) => sent(report, run.is_test()),
            (_, _, None) => html! {},
            (_, _, Some(error)) => match &error.diagnosis {
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
    html! {
        <div id="send-result" class="result-region" aria-live="polite">{ body }</div>
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
