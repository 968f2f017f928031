use protocol::{EntryState, OutboxEntry, RecipientState};
use yew::prelude::*;

use crate::components::{DiagnosisCard, ErrorDetails, transcript};
use crate::format::{local_clock, local_time, size};
use crate::hooks::use_bridge;
use crate::state::{Action, EntryAction, Loadable};

/// What a row needs besides its entry.
pub struct RowContext<'a> {
    /// The entry opened in detail.
    pub open: Option<u64>,
    /// Whether actions can be sent now (connected, and no other action on its way).
    pub can_act: bool,
    pub on_open: &'a Callback<u64>,
    /// The entry, the action, and the entry's subject for the words about what it did.
    pub on_act: &'a Callback<(u64, EntryAction, String)>,
}

/// One entry of the list: its subject (which opens the detail), state, recipients, attempts,
/// next attempt and last reply; for a failed or ambiguous one, why; and its actions.
pub fn row(entry: &OutboxEntry, context: &RowContext<'_>) -> Html {
    let id = entry.id;
    let subject = subject(entry);
    let subject_id = format!("outbox-subject-{id}");
    let open = context.on_open.reform(move |_: MouseEvent| id);
    let actions = EntryAction::offered(entry.state);
    let explain = matches!(entry.state, EntryState::Failed | EntryState::Ambiguous);
    html! {
        <li key={id} data-entry-id={id.to_string()} data-state={entry.state.as_str()}
            class={classes!("outbox-entry", entry.state.as_str())}>
            <div class="entry-top">
                <button type="button" id={format!("outbox-open-{id}")} class="outbox-open" onclick={open}
                    aria-controls="outbox-entry" aria-current={(context.open == Some(id)).then_some("true")}
                    aria-label={format!("Show the details of “{subject}”")}>
                    <span id={subject_id.clone()} class="subject">{ subject.clone() }</span>
                </button>
                <span class={classes!("entry-state", entry.state.as_str())}>{ entry.state.label() }</span>
            </div>
            <dl class="facts">
                <dt>{ "To" }</dt>
                <dd>{ recipients(entry) }</dd>
                <dt>{ "Attempts" }</dt>
                <dd>{ entry.attempts }</dd>
                if let Some(at) = entry.next_attempt_unix_ms.filter(|_| !entry.state.is_final()) {
                    <dt>{ "Next attempt" }</dt>
                    <dd>{ local_clock(at) }</dd>
                }
                if let Some(reply) = &entry.last_reply {
                    <dt>{ "Last reply" }</dt>
                    <dd><code>{ reply }</code></dd>
                }
            </dl>
            if entry.state == EntryState::Ambiguous {
                <p class="ambiguous-note">{ AMBIGUOUS_NOTE }</p>
            }
            if let Some(diagnosis) = entry.diagnosis.as_ref().filter(|_| explain) {
                <details class="entry-diagnosis">
                    <summary>{ "Why: " }{ &diagnosis.title }</summary>
                    <DiagnosisCard diagnosis={diagnosis.clone()} title_id={format!("outbox-diagnosis-{id}")} />
                </details>
            }
            if !actions.is_empty() {
                <div class="actions entry-actions">
                    { for actions.iter().map(|&action| {
                        let subject = subject.clone();
                        let onclick = context.on_act.reform(move |_: MouseEvent| (id, action, subject.clone()));
                        html! {
                            <button type="button" class={classes!("entry-action", action.name())} data-action={action.name()}
                                disabled={!context.can_act} aria-describedby={subject_id.clone()} {onclick}>
                                { action.label() }
                            </button>
                        }
                    }) }
                </div>
            }
        </li>
    }
}

/// Why an ambiguous entry waits for the user, in one line.
const AMBIGUOUS_NOTE: &str = "It may already have been delivered: the bridge stopped after sending the message and before the server's answer. “Send again” keeps the Message-ID, so most mailboxes show one copy; “Drop” sends nothing more.";

fn subject(entry: &OutboxEntry) -> String {
    if entry.subject.is_empty() {
        "(no subject)".to_owned()
    } else {
        entry.subject.clone()
    }
}

fn recipients(entry: &OutboxEntry) -> String {
    let addresses: Vec<&str> = entry
        .recipients
        .iter()
        .map(|recipient| recipient.address.as_str())
        .collect();
    addresses.join(", ")
}

fn recipient_words(state: RecipientState) -> &'static str {
    match state {
        RecipientState::Pending => "not yet",
        RecipientState::Accepted => "accepted",
        RecipientState::Refused => "refused",
    }
}

/// The entry opened from the list: every fact about it, each recipient's result, why it failed,
/// and the transcript the bridge kept.
#[function_component]
pub fn EntryDetail() -> Html {
    let bridge = use_bridge();
    let open = bridge.outbox.open.as_ref();
    let open_id = open.map(|open| open.id);
    // Opening an entry takes the focus there, so a keyboard user lands on what they opened.
    use_effect_with(open_id, |id| {
        if id.is_some() {
            crate::components::forms::focus_by_id("outbox-entry-heading");
        }
    });
    let Some(open) = open else {
        return html! {
            <section class="panel outbox-entry-empty" aria-label="Entry details">
                <p class="quiet">{ "Choose an entry to see each recipient's result and the SMTP transcript the bridge kept." }</p>
            </section>
        };
    };
    let close = {
        let bridge = bridge.clone();
        Callback::from(move |_: MouseEvent| bridge.dispatch(Action::CloseOutboxEntry))
    };
    let heading = match &open.content {
        Loadable::Ready(entry) => subject(entry),
        _ => format!("Entry {}", open.id),
    };
    let body = match &open.content {
        Loadable::Idle | Loadable::Loading => {
            html! { <p class="quiet">{ "Reading the entry…" }</p> }
        }
        Loadable::Failed(error) => html! { <ErrorDetails error={error.clone()} /> },
        Loadable::Ready(entry) => details(entry),
    };
    html! {
        <section id="outbox-entry" class="panel" aria-labelledby="outbox-entry-heading">
            <div class="panel-top">
                <h3 id="outbox-entry-heading" tabindex="-1">{ heading }</h3>
                <button type="button" onclick={close}>{ "Close the details" }</button>
            </div>
            { body }
        </section>
    }
}

fn details(entry: &OutboxEntry) -> Html {
    let subject = subject(entry);
    html! {
        <>
            <p class={classes!("entry-state", entry.state.as_str())}>{ entry.state.label() }</p>
            if entry.state == EntryState::Ambiguous {
                <p class="ambiguous-note">{ AMBIGUOUS_NOTE }</p>
            }
            <dl class="facts">
                <dt>{ "Message-ID" }</dt>
                <dd><code id="outbox-entry-message-id">{ &entry.message_id }</code></dd>
                <dt>{ "Profile" }</dt>
                <dd>{ &entry.profile_name }</dd>
                <dt>{ "Account" }</dt>
                <dd>{ &entry.account }</dd>
                <dt>{ "Queued" }</dt>
                <dd>{ local_time(entry.queued_at_unix_ms) }</dd>
                <dt>{ "Last change" }</dt>
                <dd>{ local_time(entry.updated_at_unix_ms) }</dd>
                <dt>{ "Size" }</dt>
                <dd>{ size(entry.size_bytes) }</dd>
                <dt>{ "Attempts" }</dt>
                <dd>{ entry.attempts }</dd>
                if let Some(at) = entry.next_attempt_unix_ms.filter(|_| !entry.state.is_final()) {
                    <dt>{ "Next attempt" }</dt>
                    <dd>{ local_clock(at) }</dd>
                }
                if let Some(reply) = &entry.last_reply {
                    <dt>{ "Last reply" }</dt>
                    <dd><code>{ reply }</code></dd>
                }
            </dl>
            <h4>{ "Recipients" }</h4>
            <div class="table-scroll">
                <table id="outbox-entry-recipients">
                    <caption class="visually-hidden">{ "What each recipient's server said" }</caption>
                    <thead>
                        <tr>
                            <th scope="col">{ "Address" }</th>
                            <th scope="col">{ "Result" }</th>
                            <th scope="col">{ "Reply" }</th>
                        </tr>
                    </thead>
                    <tbody>
                        { for entry.recipients.iter().map(|recipient| html! {
                            <tr data-state={recipient_words(recipient.state)}>
                                <td>{ &recipient.address }</td>
                                <td>{ recipient_words(recipient.state) }</td>
                                <td>if let Some(reply) = &recipient.reply { <code>{ reply }</code> }</td>
                            </tr>
                        }) }
                    </tbody>
                </table>
            </div>
            if let Some(diagnosis) = &entry.diagnosis {
                <DiagnosisCard diagnosis={diagnosis.clone()} title_id="outbox-entry-diagnosis-title" />
            }
            <h4>{ "Transcript" }</h4>
            <div id="outbox-entry-transcript" class="transcript" tabindex="0"
                aria-label={format!("Transcript of “{subject}”")}>
                if entry.transcript.is_empty() {
                    <p class="quiet">{ "No transcript was kept for this entry: the bridge keeps the dialogue of those that fail." }</p>
                } else {
                    { transcript::lines(&entry.transcript) }
                }
            </div>
        </>
    }
}
