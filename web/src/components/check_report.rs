use protocol::{CheckReport as Report, Operation, StepReport, StepStatus, TlsInfo, Verdict};
use yew::prelude::*;

use super::diagnosis_card::{DiagnosisCard, certificate_chain};
use super::error_details::ErrorDetails;
use super::forms::{capitalised, serde_name};
use crate::format::size;
use crate::hooks::use_bridge;
use crate::route::Route;
use crate::state::Run;

/// The connection check of a profile, step by step as the steps finish: DNS, TCP, TLS, EHLO,
/// AUTH. Once it is done: the verdict, the TLS session and certificates, what the server
/// offers, and, when something failed, what it means and how to fix it.
#[function_component]
pub fn CheckReport() -> Html {
    let bridge = use_bridge();
    let check = bridge.run.as_ref().filter(|run| run.is_check());
    let body = match check {
        None => html! {
            <p class="quiet">{ "Press “Check connection” on a profile (under " }<a href={Route::Profiles.hash()}>{ "Profiles" }</a>
                { ") to test its server: DNS, TCP, TLS, EHLO and sign-in, without sending anything." }</p>
        },
        Some(run) => {
            let profile = match &run.operation {
                Operation::CheckConnection { profile } => Some(profile),
                _ => None,
            };
            let view = profile.and_then(|id| match &bridge.profiles {
                crate::state::Loadable::Ready(profiles) => {
                    profiles.iter().find(|view| &view.profile.id == id)
                }
                _ => None,
            });
            let about = match (view, profile) {
                (Some(view), _) => format!(
                    "{} ({}:{})",
                    view.profile.name, view.profile.host, view.profile.port
                ),
                (None, Some(id)) => id.to_string(),
                (None, None) => String::new(),
            };
            let again = {
                let bridge = bridge.clone();
                let operation = run.operation.clone();
                Callback::from(move |_: MouseEvent| {
                    bridge.request(operation.clone());
                })
            };
            let report = run.checked();
            // The finished report has every step; while it runs, the steps stream in.
            let steps = report.map_or(run.steps.as_slice(), |report| report.steps.as_slice());
            let verdict_class = match (run.is_running(), report.map(|r| r.verdict)) {
                (true, _) => "busy",
                (false, Some(Verdict::Ok)) => "ok",
                (false, _) => "bad",
            };
            html! {
                <>
                    <p class="check-about">{ "Profile: " }<strong>{ about }</strong></p>
                    // Only the verdict is announced: reading out every step as it lands would drown it.
                    <p id="check-verdict" class={classes!("verdict", verdict_class)} aria-live="polite">{ verdict_words(run) }</p>
                    <ol id="check-steps" class="check-steps" aria-label="Steps of the check">
                        { for steps.iter().map(step) }
                    </ol>
                    if let Some(report) = report {
                        { details(report) }
                        if let Some(diagnosis) = &report.diagnosis {
                            <DiagnosisCard diagnosis={diagnosis.clone()} chain={failed_chain(report)} />
                        }
                    }
                    if let Some(error) = run.error() {
                        if let Some(diagnosis) = &error.diagnosis {
                            <DiagnosisCard diagnosis={(**diagnosis).clone()} />
                        } else {
                            <div class="result failed"><ErrorDetails error={error.clone()} /></div>
                        }
                    }
                    if !run.is_running() {
                        <div class="actions check-actions">
                            <button type="button" id="check-again" onclick={again}
                                disabled={!bridge.is_connected()}>{ "Check again" }</button>
                        </div>
                    }
                </>
            }
        }
    };
    html! {
        <section id="check-report" class="panel" aria-labelledby="check-report-heading">
            <h2 id="check-report-heading" tabindex="-1">{ "Check connection" }</h2>
            { body }
        </section>
    }
}

/// The check's outcome in words: still running, everything works, or where it failed.
pub fn verdict_words(run: &Run) -> String {
    if run.is_running() {
        // The steps show which one runs; the verdict, a live region, stays put until the end.
        return "Checking…".to_owned();
    }
    let report = run.checked();
    if report.is_some_and(|report| report.verdict == Verdict::Ok) {
        return "Everything works".to_owned();
    }
    let steps = report.map_or(run.steps.as_slice(), |report| report.steps.as_slice());
    match steps.iter().find(|step| step.status == StepStatus::Failed) {
        Some(failed) => format!("The check failed at the {} step", failed.step),
        None if report.is_some() => "The check failed".to_owned(),
        None => "The check could not run".to_owned(),
    }
}

fn status_words(status: StepStatus) -> &'static str {
    match status {
        StepStatus::Running => "in progress",
        StepStatus::Ok => "passed",
        StepStatus::Failed => "failed",
        StepStatus::Skipped => "skipped",
    }
}

fn step(report: &StepReport) -> Html {
    let timed = matches!(report.status, StepStatus::Ok | StepStatus::Failed);
    html! {
        <li data-step={serde_name(&report.step)} data-status={serde_name(&report.status)}>
            <span class="step-name">{ capitalised(&report.step.to_string()) }</span>
            <span class="step-status">{ status_words(report.status) }</span>
            if timed {
                <span class="step-time">{ format!("{} ms", report.duration_ms) }</span>
            }
            if !report.detail.is_empty() {
                <span class="step-detail">{ &report.detail }</span>
            }
            if let Some(reply) = &report.reply {
                <code class="step-reply">{ reply }</code>
            }
        </li>
    }
}

/// What the finished check learned about the server.
fn details(report: &Report) -> Html {
    let mechanisms = if report.auth_mechanisms.is_empty() {
        "none offered".to_owned()
    } else {
        report.auth_mechanisms.join(", ")
    };
    html! {
        <div class="check-details">
            if let Some(tls) = report.tls.as_ref().filter(|tls| tls.established()) {
                { tls_details(tls) }
            }
            <h3>{ "What the server offers" }</h3>
            <dl class="facts">
                <dt>{ "Size limit" }</dt>
                <dd>{ report.size_limit.map_or_else(|| "not announced".to_owned(), size) }</dd>
                <dt>{ "Sign-in methods" }</dt>
                <dd>{ mechanisms }</dd>
            </dl>
            if !report.capabilities.is_empty() {
                <h4>{ "Capabilities (EHLO)" }</h4>
                <ul class="capabilities">
                    { for report.capabilities.iter().map(|capability| html! { <li><code>{ capability }</code></li> }) }
                </ul>
            }
            if !report.warnings.is_empty() {
                <h4>{ "Warnings" }</h4>
                <ul class="warnings">
                    { for report.warnings.iter().map(|warning| html! { <li>{ warning }</li> }) }
                </ul>
            }
        </div>
    }
}

/// The chain of a handshake that failed, which the diagnosis card shows; empty otherwise.
fn failed_chain(report: &Report) -> Vec<protocol::CertificateInfo> {
    report
        .tls
        .as_ref()
        .filter(|tls| !tls.established())
        .map(|tls| tls.chain.clone())
        .unwrap_or_default()
}

fn tls_details(tls: &TlsInfo) -> Html {
    html! {
        <>
            <h3>{ "Encryption" }</h3>
            <dl class="facts">
                <dt>{ "TLS version" }</dt>
                <dd>{ &tls.version }</dd>
                <dt>{ "Cipher" }</dt>
                <dd><code>{ &tls.cipher }</code></dd>
            </dl>
            if !tls.chain.is_empty() {
                <h4>{ "Certificate chain, server first" }</h4>
                { certificate_chain(&tls.chain) }
            }
        </>
    }
}

#[cfg(test)]
mod tests {
    use diagnosis::Step;
    use profile::ProfileId;
    use protocol::{ErrorKind, OperationError, Outcome, RequestId};

    use super::*;

    fn step(step: Step, status: StepStatus) -> StepReport {
        StepReport {
            step,
            status,
            duration_ms: 5,
            detail: String::new(),
            reply: None,
        }
    }

    fn run(steps: Vec<StepReport>, result: Option<Result<Outcome, OperationError>>) -> Run {
        Run {
            id: RequestId(1),
            operation: Operation::CheckConnection {
                profile: ProfileId("p".into()),
            },
            steps,
            transcript: vec![],
            result,
            verified: None,
        }
    }

    fn report(verdict: Verdict, steps: Vec<StepReport>) -> Option<Result<Outcome, OperationError>> {
        Some(Ok(Outcome::Checked(Report {
            verdict,
            steps,
            tls: None,
            capabilities: vec![],
            size_limit: None,
            auth_mechanisms: vec![],
            diagnosis: None,
            warnings: vec![],
        })))
    }

    #[test]
    fn an_untrusted_chain_goes_to_the_diagnosis_card_and_a_trusted_one_does_not() {
        let cert = protocol::CertificateInfo {
            subject: "CN=smtp.gmail.com".into(),
            issuer: "CN=Mail Shield Root".into(),
            not_before: "2020-01-01T00:00:00Z".into(),
            not_after: "2090-01-01T00:00:00Z".into(),
            sha256: "AB:CD".into(),
            names: vec!["smtp.gmail.com".into()],
        };
        let with = |version: &str| Report {
            verdict: Verdict::Failed,
            steps: vec![],
            tls: Some(TlsInfo {
                version: version.into(),
                cipher: String::new(),
                chain: vec![cert.clone()],
            }),
            capabilities: vec![],
            size_limit: None,
            auth_mechanisms: vec![],
            diagnosis: None,
            warnings: vec![],
        };
        assert_eq!(failed_chain(&with("")), std::slice::from_ref(&cert));
        assert!(failed_chain(&with("TLSv1.3")).is_empty());
    }

    #[test]
    fn verdicts_say_how_the_check_went() {
        let failed_auth = vec![
            step(Step::Tls, StepStatus::Ok),
            step(Step::Auth, StepStatus::Failed),
        ];
        let cases = [
            (run(vec![], None), "Checking…"),
            (
                run(vec![step(Step::Tls, StepStatus::Running)], None),
                "Checking…",
            ),
            (
                run(
                    vec![],
                    report(Verdict::Ok, vec![step(Step::Auth, StepStatus::Ok)]),
                ),
                "Everything works",
            ),
            (
                run(vec![], report(Verdict::Failed, failed_auth.clone())),
                "The check failed at the AUTH step",
            ),
            (
                run(vec![], report(Verdict::Failed, vec![])),
                "The check failed",
            ),
            (
                run(
                    failed_auth,
                    Some(Err(OperationError::new(ErrorKind::Smtp, "refused"))),
                ),
                "The check failed at the AUTH step",
            ),
            (
                run(
                    vec![],
                    Some(Err(OperationError::new(
                        ErrorKind::Internal,
                        "not connected",
                    ))),
                ),
                "The check could not run",
            ),
        ];
        for (run, expected) in cases {
            assert_eq!(verdict_words(&run), expected, "{run:?}");
        }
    }

    #[test]
    fn steps_are_named_as_the_protocol_names_them() {
        assert_eq!(serde_name(&Step::StartTls), "start_tls");
        assert_eq!(serde_name(&Step::Auth), "auth");
        assert_eq!(serde_name(&StepStatus::Failed), "failed");
    }
}
