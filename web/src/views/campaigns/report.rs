//! What a check found, and the campaigns with their progress: plain functions from the
//! protocol's types to markup.

use protocol::{CampaignCheck, CampaignState, CampaignView};
use yew::prelude::*;

use super::model::{duration, state_label};
use crate::components::LintReportView;
use crate::format::local_clock;
use crate::state::{nonzero_counts, progress};

/// The counts, the problems by row and field, the warnings and the plan across days.
pub fn check(check: &CampaignCheck) -> Html {
    let verdict = if check.blocked {
        "Nothing would be queued as it stands: fix the rows below in the file, or skip them."
    } else if check.problems.is_empty() {
        "The list is ready to send."
    } else {
        "The rows below are skipped; the rest are ready to send."
    };
    html! {
        <div id="campaign-check" class="campaign-check">
            <p id="campaign-verdict" class={classes!(check.blocked.then_some("bad"))}><strong>{ verdict }</strong></p>
            <ul id="campaign-counts" class="outbox-counts" aria-label="The list in numbers">
                <li><span class="count">{ check.rows }</span>{ " rows" }</li>
                <li><span class="count">{ check.valid }</span>{ " to send" }</li>
                <li><span class="count">{ check.duplicates.len() }</span>{ " duplicates" }</li>
                <li><span class="count">{ check.suppressed.len() }</span>{ " suppressed" }</li>
                <li><span class="count">{ check.problems.len() }</span>{ " problems" }</li>
            </ul>
            if !check.problems.is_empty() {
                <table id="campaign-problems" class="campaign-table">
                    <caption>{ "Problems by row" }</caption>
                    <thead><tr><th scope="col">{ "Row" }</th><th scope="col">{ "Field" }</th><th scope="col">{ "Problem" }</th></tr></thead>
                    <tbody>
                        { for check.problems.iter().map(|problem| html! {
                            <tr data-row={problem.row.to_string()}>
                                <td>{ "row " }{ problem.row }</td>
                                <td><code>{ &problem.field }</code></td>
                                <td>{ &problem.message }</td>
                            </tr>
                        }) }
                    </tbody>
                </table>
            }
            if !check.duplicates.is_empty() {
                <p id="campaign-duplicates" class="hint">
                    { "Sent once only: " }
                    { check.duplicates.iter().map(|(row, first)| format!("row {row} repeats row {first}")).collect::<Vec<_>>().join(", ") }
                    { "." }
                </p>
            }
            if !check.suppressed.is_empty() {
                <p id="campaign-suppressed" class="hint">
                    { "On the suppression list, so not sent: rows " }
                    { check.suppressed.iter().map(u64::to_string).collect::<Vec<_>>().join(", ") }
                    { "." }
                </p>
            }
            if !check.warnings.is_empty() {
                <ul id="campaign-warnings" class="warnings">
                    { for check.warnings.iter().map(|warning| html! { <li>{ warning }</li> }) }
                </ul>
            }
            if let Some(lint) = &check.first_row_lint {
                <h4>{ "Checks before sending, on the first row" }</h4>
                <LintReportView id="campaign-lint" report={std::rc::Rc::new(lint.clone())} />
            }
            <h4>{ "Schedule" }</h4>
            <p id="campaign-schedule">{ &check.schedule_summary }</p>
            <p id="campaign-pace" class="hint">
                { format!("At {} a minute, the first day's share takes {}.", check.per_minute, duration(check.first_day_seconds)) }
            </p>
            if !check.schedule.is_empty() {
                <table id="campaign-days" class="campaign-table">
                    <caption>{ "Messages by day, within the account's daily limit" }</caption>
                    <thead><tr><th scope="col">{ "Day" }</th><th scope="col">{ "Messages" }</th><th scope="col">{ "From" }</th></tr></thead>
                    <tbody>
                        { for check.schedule.iter().map(|share| html! {
                            <tr>
                                <td>{ &share.day }</td>
                                <td>{ share.messages }</td>
                                <td>{ local_clock(share.from_unix_ms) }</td>
                            </tr>
                        }) }
                    </tbody>
                </table>
            }
        </div>
    }
}

/// The campaign in full: the progress bar, counts by state, the rate and the time left.
pub fn progress_of(campaign: &CampaignView) -> Html {
    let (sent, of) = progress(&campaign.counts);
    let of = of.max(campaign.total);
    let pace = match (campaign.state, campaign.eta_seconds) {
        (CampaignState::Finished | CampaignState::Cancelled, _) => {
            format!("It is {}.", state_label(campaign.state))
        }
        (CampaignState::Paused, _) => "Paused: nothing more goes until you resume it.".to_owned(),
        (CampaignState::Running, Some(eta)) => format!(
            "{} sent in the last minute; {} left.",
            campaign.rate_per_minute,
            duration(eta)
        ),
        (CampaignState::Running, None) => format!(
            "{} sent in the last minute; the rest waits for the daily limit.",
            campaign.rate_per_minute
        ),
    };
    html! {
        <div id="campaign-progress-block" data-state={state_label(campaign.state)}>
            <label class="progress-label" for="campaign-progress">
                <span id="campaign-sent">{ "Sent " }{ sent }{ " of " }{ of }</span>
            </label>
            <progress id="campaign-progress" max={of.max(1).to_string()} value={sent.to_string()} />
            <p id="campaign-rate">{ pace }</p>
            if !campaign.schedule_summary.is_empty() {
                <p class="hint">{ &campaign.schedule_summary }</p>
            }
            if !campaign.bounced.is_empty() {
                <table id="campaign-bounced" class="campaign-table">
                    <caption>{ "Bounced after Gmail's 250 (read from the sending account's mailbox)" }</caption>
                    <thead><tr><th scope="col">{ "Row" }</th><th scope="col">{ "Address" }</th><th scope="col">{ "Status" }</th><th scope="col">{ "Remote server" }</th><th scope="col">{ "Why" }</th></tr></thead>
                    <tbody>
                        { for campaign.bounced.iter().map(|b| html! {
                            <tr data-row={b.row.to_string()}>
                                <td>{ "row " }{ b.row }</td>
                                <td>{ &b.bounce.recipient }</td>
                                <td><span class="badge bad">{ "bounced" }</span>{ " " }<code>{ &b.bounce.status }</code></td>
                                <td>{ b.bounce.remote_text.clone().unwrap_or_default() }</td>
                                <td>{ b.bounce.diagnosis.as_ref().map(|d| d.title.clone()).unwrap_or_default() }
                                    { if b.bounce.suppressed { " (suppressed)" } else { "" } }</td>
                            </tr>
                        }) }
                    </tbody>
                </table>
            }
            <ul id="campaign-state-counts" class="outbox-counts" aria-label="Messages by state">
                { for nonzero_counts(&campaign.counts).into_iter().map(|(state, count)| html! {
                    <li key={state.as_str()} data-state={state.as_str()}>
                        <span class="count">{ count }</span>{ " " }{ state.label() }
                    </li>
                }) }
            </ul>
        </div>
    }
}
