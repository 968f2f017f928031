use protocol::{Deliverer, OutboxSummary, QuotaView};
use yew::prelude::*;

use crate::format::local_clock;
use crate::state::{nonzero_counts, progress, sentence, time_left};

/// The outbox at a glance: how far it is, how many entries are in each state, the pace and the
/// time left, and who delivers it.
pub fn overview(summary: &OutboxSummary) -> Html {
    let counts = &summary.counts;
    let (sent, of) = progress(counts);
    if counts.total() == 0 {
        return html! {
            <div id="outbox-summary" class="outbox-summary">
                <p class="quiet">{ "The outbox is empty. A message that cannot go at once waits here, and the bridge sends it by itself as soon as it can." }</p>
                { deliverer(&summary.deliverer) }
            </div>
        };
    }
    let pace = match time_left(summary) {
        Some(left) => format!(
            "{} sent in the last minute; {left}.",
            summary.rate_per_minute
        ),
        None => format!(
            "{} sent in the last minute; nothing waits.",
            summary.rate_per_minute
        ),
    };
    html! {
        <div id="outbox-summary" class="outbox-summary">
            <label class="progress-label" for="outbox-progress">
                { "Sent " }{ sent }{ " of " }{ of }
            </label>
            <progress id="outbox-progress" max={of.max(1).to_string()} value={sent.to_string()} />
            <p id="outbox-pace">{ pace }</p>
            <ul id="outbox-counts" class="outbox-counts" aria-label="Entries by state">
                { for nonzero_counts(counts).into_iter().map(|(state, count)| html! {
                    <li key={state.as_str()} data-state={state.as_str()}>
                        <span class="count">{ count }</span>{ " " }{ state.label() }
                    </li>
                }) }
            </ul>
            { deliverer(&summary.deliverer) }
        </div>
    }
}

fn deliverer(deliverer: &Deliverer) -> Html {
    let words = match deliverer {
        Deliverer::Here => html! { { "This bridge delivers the outbox." } },
        Deliverer::Elsewhere { detail } => html! {
            <>
                <strong>{ "Another mailbridge delivers this outbox" }</strong>{ ": " }{ sentence(detail) }
                { " This page shows its progress; the entries go as that one sends them." }
            </>
        },
        Deliverer::Nobody => html! {
            { "Nothing delivers this outbox right now, so its entries wait until a bridge on this data folder runs." }
        },
    };
    html! { <p id="outbox-deliverer" class="hint">{ words }</p> }
}

/// Each sending account's use of its daily limit, and a pause the server imposed.
pub fn quotas(quotas: &[QuotaView]) -> Html {
    if quotas.is_empty() {
        return html! {
            <p class="quiet">{ "No account has sent through the outbox in the last 24 hours." }</p>
        };
    }
    html! {
        <ul id="outbox-quotas" class="quotas">
            { for quotas.iter().enumerate().map(|(index, quota)| quota_view(index, quota)) }
        </ul>
    }
}

fn quota_view(index: usize, quota: &QuotaView) -> Html {
    let meter_id = format!("outbox-quota-{index}");
    let limit = quota.daily_limit;
    let paused = quota.paused_until_unix_ms.is_some() || quota.pause_reason.is_some();
    html! {
        <li key={quota.account.clone()} data-account={quota.account.clone()} class={classes!("quota", paused.then_some("paused"))}>
            if limit > 0 {
                <label for={meter_id.clone()}>
                    { &quota.account }{ ": " }{ quota.sent_24h }{ " of " }{ limit }{ " sent in the last 24 hours" }
                </label>
                // Amber from 80 %, red from 95 %: Gmail stops an account at its limit for a day.
                <meter id={meter_id} min="0" max={limit.to_string()} value={quota.sent_24h.min(limit).to_string()}
                    low={(limit * 4 / 5).to_string()} high={(limit * 19 / 20).to_string()} optimum="0" />
            } else {
                <p class="quota-account">{ &quota.account }{ ": " }{ quota.sent_24h }{ " sent in the last 24 hours, no daily limit set" }</p>
            }
            <p class="hint">{ &quota.summary }</p>
            if !quota.profiles.is_empty() {
                <p class="hint">{ "Profiles that send as this account: " }{ quota.profiles.join(", ") }{ "." }</p>
            }
            if paused {
                <p class="quota-pause warnings" role="status">
                    <strong>{ "Paused" }</strong>
                    if let Some(until) = quota.paused_until_unix_ms {
                        { " until " }{ local_clock(until) }
                    }
                    if let Some(reason) = &quota.pause_reason {
                        { ": " }<code>{ reason }</code>
                    }
                    { ". Nothing goes from this account before then; the entries wait, and nothing is lost." }
                </p>
            }
        </li>
    }
}
