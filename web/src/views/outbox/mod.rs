//! The Outbox view (`#/outbox`): what the bridge still has to send and how it goes: progress,
//! counts by state, pace and time left, each account's daily limit, who delivers, and the
//! entries, newest first, with what can be done to each. It follows the bridge's notices live
//! and reads the list again when the counts move, at most twice a second.
//!
//! # Layout
//! - `summary`: the progress, counts, pace, deliverer and quotas.
//! - `entry`: one row of the list, and the entry opened in detail.

mod entry;
mod summary;

use std::rc::Rc;

use gloo::timers::callback::Timeout;
use protocol::{EntryState, Operation, OperationError, Outcome};
use web_sys::HtmlSelectElement;
use yew::prelude::*;

use self::entry::{EntryDetail, RowContext, row};
use crate::components::ErrorDetails;
use crate::components::forms::focus_by_id;
use crate::hooks::{OUTBOX_LIMIT, use_bridge};
use crate::state::{EntryAction, Loadable, reload_wait_ms, sentence};

/// What the last action on an entry did.
#[derive(Debug, Clone, PartialEq)]
enum Status {
    Done(String),
    Failed(OperationError),
}

/// What a reload needs to know when it runs, which may be after the render that scheduled it.
#[derive(Debug, Default)]
struct Latest {
    filter: Option<EntryState>,
    /// The entry open in detail, and whether it can still change by itself.
    open: Option<(u64, bool)>,
    /// When the list was last asked for (`Date.now()`).
    loaded_at: Option<f64>,
    timer: Option<Timeout>,
}

#[function_component]
pub fn OutboxView() -> Html {
    let bridge = use_bridge();
    let filter = use_state_eq(|| bridge.outbox.filter);
    let status = use_state(|| None::<Status>);
    let acting = use_state(|| None::<u64>);
    let latest = use_mut_ref(Latest::default);
    {
        let mut latest = latest.borrow_mut();
        latest.filter = *filter;
        latest.open = bridge.outbox.open.as_ref().map(|open| {
            let moving = match &open.content {
                Loadable::Ready(entry) => !entry.state.is_final(),
                _ => false,
            };
            (open.id, moving)
        });
    }
    let connected = bridge.is_connected();

    // Reads the list with the current filter, and the open entry again when it may have
    // changed (`always`: after the user acted on it).
    let load: Rc<dyn Fn(bool)> = {
        let bridge = bridge.clone();
        let latest = latest.clone();
        Rc::new(move |always: bool| {
            let (filter, open) = {
                let mut latest = latest.borrow_mut();
                latest.loaded_at = Some(js_sys::Date::now());
                (latest.filter, latest.open)
            };
            bridge.request(Operation::ListOutbox {
                state: filter,
                limit: OUTBOX_LIMIT,
            });
            if let Some((id, moving)) = open
                && (moving || always)
            {
                bridge.request(Operation::ReadOutboxEntry { id });
            }
        })
    };

    // When the view shows, when the filter changes, and after each reconnect.
    use_effect_with((connected, *filter), {
        let load = load.clone();
        move |(connected, _)| {
            if *connected {
                load(false);
            }
        }
    });
    // While the bridge delivers, its notices move the counts; the list follows, throttled.
    let stale = bridge.outbox.is_stale();
    use_effect_with(stale, {
        let load = load.clone();
        let latest = latest.clone();
        move |stale| {
            let wait = {
                let latest = latest.borrow();
                (*stale && connected && latest.timer.is_none())
                    .then(|| reload_wait_ms(latest.loaded_at, js_sys::Date::now()))
            };
            match wait {
                None => {}
                Some(0) => load(false),
                Some(wait) => {
                    let fired = latest.clone();
                    let timer = Timeout::new(wait, move || {
                        fired.borrow_mut().timer = None;
                        load(false);
                    });
                    latest.borrow_mut().timer = Some(timer);
                }
            }
        }
    });
    use_effect_with((), {
        let latest = latest.clone();
        move |()| move || drop(latest.borrow_mut().timer.take())
    });

    let on_filter = {
        let filter = filter.clone();
        Callback::from(move |event: Event| {
            let value = event.target_unchecked_into::<HtmlSelectElement>().value();
            filter.set(EntryState::parse(&value));
        })
    };
    let on_open = {
        let bridge = bridge.clone();
        Callback::from(move |id: u64| {
            bridge.request(Operation::ReadOutboxEntry { id });
        })
    };
    let on_act = {
        let bridge = bridge.clone();
        let status = status.clone();
        let acting = acting.clone();
        let load = load.clone();
        Callback::from(move |(id, action, subject): (u64, EntryAction, String)| {
            acting.set(Some(id));
            status.set(None);
            let answer = bridge.call(action.operation(vec![id]));
            let status = status.clone();
            let acting = acting.clone();
            let load = load.clone();
            wasm_bindgen_futures::spawn_local(async move {
                let shown = match answer.await {
                    Ok(Outcome::OutboxChanged { changed, unchanged }) => {
                        Status::Done(changed_words(action, id, &subject, &changed, &unchanged))
                    }
                    Ok(_) => Status::Done(format!(
                        "“{subject}”: the bridge answered something else; the list below is read again."
                    )),
                    Err(error) => Status::Failed(error),
                };
                acting.set(None);
                status.set(Some(shown));
                load(true);
                // The buttons may be gone with the entry's old state; its subject stays.
                focus_by_id(&format!("outbox-open-{id}"));
            });
        })
    };

    let summary = bridge.outbox.summary.as_ref();
    let counts = summary.map(|summary| summary.counts);
    let overview = match (summary, &bridge.outbox.entries) {
        (Some(summary), _) => summary::overview(summary),
        (None, Loadable::Failed(error)) => html! { <ErrorDetails error={error.clone()} /> },
        (None, _) => html! { <p class="quiet">{ "Loading the outbox…" }</p> },
    };
    let quotas = summary.map(|summary| summary::quotas(&summary.quotas));
    let context = RowContext {
        open: bridge.outbox.open.as_ref().map(|open| open.id),
        can_act: connected && acting.is_none(),
        on_open: &on_open,
        on_act: &on_act,
    };
    let list = match &bridge.outbox.entries {
        Loadable::Idle | Loadable::Loading => {
            html! { <p class="quiet">{ "Loading the entries…" }</p> }
        }
        Loadable::Failed(error) => html! { <ErrorDetails error={error.clone()} /> },
        Loadable::Ready(entries) if entries.is_empty() => html! {
            <p class="quiet">{ if filter.is_some() { "No entry is in this state." } else { "Nothing in the outbox yet." } }</p>
        },
        Loadable::Ready(entries) => html! {
            <ol id="outbox-list" class="outbox-list">
                { for entries.iter().map(|entry| row(entry, &context)) }
            </ol>
        },
    };
    let status = match &*status {
        None => html! {},
        Some(Status::Done(words)) => html! { <p>{ words }</p> },
        Some(Status::Failed(error)) => html! {
            <div class="result failed"><ErrorDetails error={error.clone()} /></div>
        },
    };

    html! {
        <div class="outbox-view">
            <div class="layout single">
                <section id="outbox" class="panel" aria-labelledby="outbox-heading">
                    <h2 id="outbox-heading" tabindex="-1">{ "Outbox" }</h2>
                    <p class="hint">{ "Messages wait here until the server takes them. The bridge keeps them through restarts, retries those that may go later, and keeps to each account's daily limit." }</p>
                    { overview }
                    if let Some(quotas) = quotas {
                        <h3 id="outbox-quotas-heading">{ "Daily limits" }</h3>
                        { quotas }
                    }
                </section>
            </div>
            <div class="layout">
                <section class="panel" aria-labelledby="outbox-entries-heading">
                    <div class="panel-top">
                        <h3 id="outbox-entries-heading">{ "Entries" }</h3>
                        <div class="field outbox-filter">
                            <label for="outbox-filter">{ "Show" }</label>
                            <select id="outbox-filter" onchange={on_filter}>
                                <option value="" selected={filter.is_none()}>{ "Every state" }</option>
                                { for EntryState::ALL.into_iter().map(|state| html! {
                                    <option key={state.as_str()} value={state.as_str()} selected={*filter == Some(state)}>
                                        { state.label() }
                                        if let Some(counts) = counts {
                                            { " (" }{ counts.get(state) }{ ")" }
                                        }
                                    </option>
                                }) }
                            </select>
                        </div>
                    </div>
                    <p class="hint">{ "Newest first, the last " }{ OUTBOX_LIMIT }{ ". Choose an entry to see its recipients and transcript." }</p>
                    <div id="outbox-action-status" class="result-region" aria-live="polite">{ status }</div>
                    { list }
                </section>
                <EntryDetail />
            </div>
        </div>
    }
}

/// What an action did to the entry `id`, in words, from the bridge's answer.
fn changed_words(
    action: EntryAction,
    id: u64,
    subject: &str,
    changed: &[u64],
    unchanged: &[(u64, String)],
) -> String {
    let what = if changed.contains(&id) {
        match action {
            EntryAction::Retry => "sending it again now.".to_owned(),
            EntryAction::Cancel => "cancelled; it will not be sent.".to_owned(),
            EntryAction::SendAgain => "sending it again, with the same Message-ID.".to_owned(),
            EntryAction::Drop => "dropped; nothing more is sent.".to_owned(),
        }
    } else {
        match unchanged.iter().find(|(entry, _)| *entry == id) {
            Some((_, why)) => format!("left as it is. {}", sentence(why)),
            None => "left as it is.".to_owned(),
        }
    };
    format!("“{subject}”: {what}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_action_says_what_it_did() {
        let cases = [
            (
                EntryAction::Retry,
                vec![3],
                vec![],
                "“Hi”: sending it again now.",
            ),
            (
                EntryAction::Cancel,
                vec![3],
                vec![],
                "“Hi”: cancelled; it will not be sent.",
            ),
            (
                EntryAction::SendAgain,
                vec![3],
                vec![],
                "“Hi”: sending it again, with the same Message-ID.",
            ),
            (
                EntryAction::Drop,
                vec![3],
                vec![],
                "“Hi”: dropped; nothing more is sent.",
            ),
            (
                EntryAction::Cancel,
                vec![],
                vec![(3, "it was sent already".to_owned())],
                "“Hi”: left as it is. It was sent already.",
            ),
            (EntryAction::Retry, vec![7], vec![], "“Hi”: left as it is."),
        ];
        for (action, changed, unchanged, expected) in cases {
            assert_eq!(
                changed_words(action, 3, "Hi", &changed, &unchanged),
                expected,
                "{action:?}"
            );
        }
    }
}
