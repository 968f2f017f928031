use std::rc::Rc;

use protocol::{CheckKind, Finding, LintReport, Severity};
use yew::prelude::*;

use crate::format::{size, tenths};

#[derive(Properties, PartialEq)]
pub struct LintReportProps {
    pub report: Rc<LintReport>,
    /// The panel's id: compose and campaigns each show one.
    pub id: AttrValue,
    /// The draft changed since the check, so the findings may no longer hold.
    #[prop_or_default]
    pub stale: bool,
}

/// The checks before sending: a summary line, the spam score with its rules, the findings
/// grouped by check (blockers first, each with where, why and the fix) and the checks that
/// could not run, with why.
#[function_component]
pub fn LintReportView(props: &LintReportProps) -> Html {
    let report = &props.report;
    let count = |severity| {
        report
            .findings
            .iter()
            .filter(|f| f.severity == severity)
            .count()
    };
    let (blockers, warnings, advice) = (
        count(Severity::Blocker),
        count(Severity::Warning),
        count(Severity::Advice),
    );
    let mut checks: Vec<CheckKind> = report.findings.iter().map(|f| f.check).collect();
    checks.sort();
    checks.dedup();
    // The groups with a blocker come first.
    checks.sort_by_key(|check| {
        report
            .findings
            .iter()
            .filter(|f| f.check == *check)
            .map(|f| f.severity)
            .min()
    });
    let summary = if report.findings.is_empty() {
        "Nothing to fix.".to_owned()
    } else {
        format!(
            "{blockers} blocker{}, {warnings} warning{}, {advice} advice.",
            plural(blockers),
            plural(warnings)
        )
    };
    html! {
        <section id={props.id.clone()} class="lint-report" aria-label="Checks before sending" aria-live="polite">
            <p class={classes!("lint-summary", (blockers > 0).then_some("failed"))}>
                <strong>{ summary }</strong>
                { format!(" {} checked in {} ms.", size(report.size_bytes), report.elapsed_ms) }
                if props.stale {
                    { " The draft changed since: check again." }
                }
            </p>
            if let Some(spam) = &report.spam {
                <details class="lint-spam" open={spam.is_spam}>
                    <summary>{ format!(
                        "Spam score {} (SpamAssassin's threshold {}): {}",
                        tenths(spam.score),
                        tenths(spam.threshold),
                        if spam.is_spam { "spam" } else { "not spam" }
                    ) }</summary>
                    <table>
                        <thead><tr><th>{ "Points" }</th><th>{ "Rule" }</th><th>{ "What it means" }</th></tr></thead>
                        <tbody>
                            { for spam.rules.iter().map(|rule| html! {
                                <tr data-rule={rule.name.clone()}>
                                    <td class="num">{ tenths(rule.points) }</td>
                                    <td><code>{ &rule.name }</code></td>
                                    <td>{ &rule.description }</td>
                                </tr>
                            }) }
                        </tbody>
                    </table>
                </details>
            }
            { for checks.iter().map(|check| html! {
                <div class="lint-group" data-check={format!("{check:?}").to_lowercase()}>
                    <h3>{ check.label() }</h3>
                    <ul>
                        { for report.findings.iter().filter(|f| f.check == *check).map(finding) }
                    </ul>
                </div>
            }) }
            if !report.skipped.is_empty() {
                <ul class="lint-skipped">
                    { for report.skipped.iter().map(|skipped| html! {
                        <li data-check={format!("{:?}", skipped.check).to_lowercase()}>
                            <strong>{ format!("{} not checked. ", skipped.check.label()) }</strong>
                            { &skipped.reason }
                        </li>
                    }) }
                </ul>
            }
        </section>
    }
}

fn finding(finding: &Finding) -> Html {
    let severity = finding.severity.label();
    html! {
        <li class={classes!("finding", severity)} data-severity={severity} data-code={finding.code.clone()}>
            <p><span class="badge">{ severity }</span>{ " " }<strong>{ &finding.found }</strong></p>
            <p class="where">{ "Where: " }{ &finding.location }</p>
            <p class="why">{ "Why: " }{ &finding.why }</p>
            <p class="fix">{ "Fix: " }{ &finding.fix }</p>
        </li>
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}
