use profile::ProfileId;
use protocol::{
    DeliveryVerdict, Draft, MailboxView, Operation, OperationError, Outcome, Placement,
    SentAndVerified,
};
use web_sys::HtmlSelectElement;
use yew::prelude::*;

use crate::components::{DiagnosisCard, ErrorDetails};
use crate::hooks::use_bridge;
use crate::route::Route;

#[derive(Properties, PartialEq)]
pub struct Props {
    /// The profile the compose form sends with.
    pub profile: Option<ProfileId>,
    /// The composed message, when it is complete enough to send.
    pub draft: Option<Draft>,
}

/// What "Send test and verify" is doing.
#[derive(Clone, PartialEq)]
enum Run {
    Idle,
    Waiting,
    Done(Vec<SentAndVerified>),
    Failed(OperationError),
}

/// The value of the "every mailbox" choice.
const ALL: &str = "*";

/// "Send test and verify": a test through the form's profile to a receiving mailbox (or to
/// each one), then the verdict card: where it landed, how fast, and why.
#[function_component]
pub fn VerifyPanel(props: &Props) -> Html {
    let bridge = use_bridge();
    let mailboxes = use_state(Vec::<MailboxView>::new);
    let chosen = use_state(|| "sandbox".to_owned());
    let run = use_state(|| Run::Idle);
    let spam_note = use_state(String::new);
    let composed = use_state(|| false);
    {
        let bridge = bridge.clone();
        let mailboxes = mailboxes.clone();
        let connected = bridge.is_connected();
        use_effect_with(connected, move |connected| {
            if *connected {
                let answer = bridge.call(Operation::ListMailboxes);
                wasm_bindgen_futures::spawn_local(async move {
                    if let Ok(Outcome::Mailboxes { mailboxes: list }) = answer.await {
                        mailboxes.set(list);
                    }
                });
            }
        });
    }
    let on_choose = {
        let chosen = chosen.clone();
        Callback::from(move |event: Event| {
            chosen.set(event.target_unchecked_into::<HtmlSelectElement>().value());
        })
    };
    let start = {
        let bridge = bridge.clone();
        let run = run.clone();
        let chosen = chosen.clone();
        let profile = props.profile.clone();
        // The composed message goes to the mailbox's address instead of its own recipients.
        let draft = props.draft.clone().filter(|_| *composed);
        Callback::from(move |_: MouseEvent| {
            let Some(profile) = profile.clone() else {
                return;
            };
            run.set(Run::Waiting);
            let mailboxes = if *chosen == ALL {
                Vec::new()
            } else {
                vec![(*chosen).clone()]
            };
            let answer = bridge.call(Operation::SendAndVerify {
                profile,
                mailboxes,
                draft: draft.clone(),
                limit_seconds: None,
            });
            let run = run.clone();
            wasm_bindgen_futures::spawn_local(async move {
                run.set(match answer.await {
                    Ok(Outcome::SentAndVerified { results }) => Run::Done(results),
                    Ok(_) => Run::Failed(OperationError::new(
                        protocol::ErrorKind::Internal,
                        "the bridge gave an unexpected answer to send and verify",
                    )),
                    Err(error) => Run::Failed(error),
                });
            });
        })
    };
    let spam_next = {
        let bridge = bridge.clone();
        let spam_note = spam_note.clone();
        Callback::from(move |_: MouseEvent| {
            let answer = bridge.call(Operation::SetSandboxSpam { next: 1 });
            let spam_note = spam_note.clone();
            wasm_bindgen_futures::spawn_local(async move {
                spam_note.set(match answer.await {
                    Ok(Outcome::SandboxSpam { next }) => {
                        format!("The sandbox files the next {next} message(s) in Spam.")
                    }
                    Ok(_) => String::new(),
                    Err(error) => error.message,
                });
            });
        })
    };
    let waiting = matches!(*run, Run::Waiting);
    let can_start = bridge.is_connected() && props.profile.is_some() && !waiting;
    let sandbox_chosen = *chosen == "sandbox";
    html! {
        <section class="verify" aria-labelledby="verify-heading">
            <h3 id="verify-heading">{ "Verify delivery" }</h3>
            <div class="field">
                <label for="verify-mailbox">{ "Receiving mailbox" }</label>
                <select id="verify-mailbox" onchange={on_choose}>
                    { for mailboxes.iter().map(|view| {
                        let id = view.mailbox.id.clone();
                        html! {
                            <option value={id.clone()} selected={*chosen == id}>
                                { format!("{} ({})", view.mailbox.name, view.mailbox.username) }
                            </option>
                        }
                    }) }
                    <option value={ALL} selected={*chosen == ALL}>{ "All my mailboxes" }</option>
                </select>
                <p class="hint">{ "A test goes to the mailbox's address, then the bridge looks for it there over IMAP. " }
                    <a href={Route::Mailboxes.hash()}>{ "Add mailboxes" }</a></p>
            </div>
            <div class="field checkbox">
                <input id="verify-composed" type="checkbox" checked={*composed} disabled={props.draft.is_none()}
                    onchange={{
                        let composed = composed.clone();
                        Callback::from(move |event: Event| {
                            composed.set(event.target_unchecked_into::<web_sys::HtmlInputElement>().checked());
                        })
                    }} />
                <label for="verify-composed">{ "Send the composed message (to the mailbox's address only) instead of a short test" }</label>
            </div>
            <div class="actions">
                <button type="button" id="compose-send-verify" disabled={!can_start} onclick={start}>
                    { if waiting { "Waiting for it to arrive…" } else { "Send test and verify" } }
                </button>
                if sandbox_chosen {
                    <button type="button" id="verify-spam-next" disabled={!bridge.is_connected()} onclick={spam_next}>
                        { "Send the sandbox's next message to Spam" }
                    </button>
                }
            </div>
            if !spam_note.is_empty() {
                <p id="verify-spam-note" class="hint">{ (*spam_note).clone() }</p>
            }
            <div id="verify-result" class="result-region" aria-live="polite">
                { match &*run {
                    Run::Idle => html! {},
                    Run::Waiting => html! { <p class="busy">{ "Sending, then searching the mailbox until the message arrives (at most 3 minutes)…" }</p> },
                    Run::Failed(error) => html! { <div class="result failed"><ErrorDetails error={error.clone()} /></div> },
                    Run::Done(results) if results.len() == 1 => card(&results[0], "verdict"),
                    Run::Done(results) => table(results),
                } }
            </div>
        </section>
    }
}

fn headline(verdict: &DeliveryVerdict) -> String {
    match (verdict.placement, verdict.tab) {
        (Placement::Inbox, Some(tab)) => format!("Inbox: the {} tab", tab.name()),
        (placement, _) => capitalized(placement.words()),
    }
}

fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

fn seconds(ms: u64) -> String {
    format!("{} s", crate::format::one_decimal(ms, 1000))
}

/// One verdict, as a card (also beside an ordinary send's result with "verify at"). Its ids
/// start with `prefix` (`verdict` in the verify panel, `send-verdict` in the send's result), so
/// the two cards can be on the page at once.
pub fn card(result: &SentAndVerified, prefix: &str) -> Html {
    let report = &result.report;
    let Some(v) = &report.verdict else {
        return match &report.error {
            Some(diagnosis) => {
                html! { <div id={format!("{prefix}-card")}><DiagnosisCard diagnosis={diagnosis.clone()} /></div> }
            }
            None => html! {},
        };
    };
    let class = match v.placement {
        Placement::Inbox => "result sent verdict",
        Placement::Spam | Placement::NotArrived => "result failed verdict",
        _ => "result queued verdict",
    };
    html! {
        <div id={format!("{prefix}-card")} class={class} data-placement={format!("{:?}", v.placement).to_lowercase()}>
            <h3 id={format!("{prefix}-placement")}>{ headline(v) }</h3>
            <p id={format!("{prefix}-summary")}>{ &v.summary }</p>
            <dl>
                if let Some(ms) = v.delivery_ms {
                    <dt>{ "Delivery time" }</dt>
                    <dd id={format!("{prefix}-delivery")}>{ format!("{} after the server's 250 ({})", seconds(ms), v.arrival_source.clone().unwrap_or_default()) }</dd>
                }
                <dt>{ "Verified in" }</dt>
                <dd>{ seconds(v.waited_ms) }</dd>
                if let Some(folder) = &v.folder {
                    <dt>{ "Folder" }</dt>
                    <dd><code>{ folder }</code></dd>
                }
                if !v.labels.is_empty() {
                    <dt>{ "Labels" }</dt>
                    <dd>{ v.labels.join(" ") }</dd>
                }
                <dt>{ "Authentication" }</dt>
                <dd>{ if v.authentication.is_empty() {
                    "No Authentication-Results field".to_owned()
                } else {
                    v.authentication.iter().map(|a| format!("{}={} {}", a.method, a.result, a.domain.clone().unwrap_or_default())).collect::<Vec<_>>().join(", ")
                } }</dd>
                if let Some(from) = &v.original_from {
                    <dt>{ "From rewritten" }</dt>
                    <dd>{ format!("it was {from}") }</dd>
                }
                <dt>{ "Message-ID" }</dt>
                <dd><code>{ &v.message_id }</code></dd>
            </dl>
            if !v.spam_causes.is_empty() {
                <h4>{ "Why it is in Spam, most likely" }</h4>
                <ul id={format!("{prefix}-causes")}>{ for v.spam_causes.iter().map(|c| html! { <li>{ c }</li> }) }</ul>
            }
            if !v.next_steps.is_empty() {
                <h4>{ "What to check next" }</h4>
                <ul>{ for v.next_steps.iter().map(|s| html! { <li>{ s }</li> }) }</ul>
            }
            if !v.received.is_empty() {
                <details>
                    <summary>{ format!("Received chain ({} hops)", v.received.len()) }</summary>
                    <ol>{ for v.received.iter().map(|r| html! { <li><code>{ r }</code></li> }) }</ol>
                </details>
            }
            <details>
                <summary>{ "IMAP transcript (passwords hidden)" }</summary>
                <pre class="imap-transcript">{ for report.transcript.iter().map(|line| format!("{:>6} ms {}\n", line.at_ms, line.text)) }</pre>
            </details>
        </div>
    }
}

/// "All my mailboxes": one row per mailbox.
fn table(results: &[SentAndVerified]) -> Html {
    html! {
        <table id="verdict-table" class="result">
            <thead><tr><th>{ "Mailbox" }</th><th>{ "Verdict" }</th><th>{ "Delivery" }</th><th>{ "Verified in" }</th></tr></thead>
            <tbody>
                { for results.iter().map(|result| {
                    let (verdict, delivery, waited) = match (&result.report.verdict, &result.report.error) {
                        (Some(v), _) => (headline(v), v.delivery_ms.map_or("–".to_owned(), seconds), seconds(v.waited_ms)),
                        (None, Some(error)) => (error.title.clone(), "–".to_owned(), "–".to_owned()),
                        (None, None) => ("No verdict".to_owned(), "–".to_owned(), "–".to_owned()),
                    };
                    html! { <tr><td>{ &result.mailbox }</td><td>{ verdict }</td><td>{ delivery }</td><td>{ waited }</td></tr> }
                }) }
            </tbody>
        </table>
    }
}
