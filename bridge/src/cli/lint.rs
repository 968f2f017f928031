//! `mailbridge lint --profile P [FILE.eml | the flags of send]`: the checks before sending, in
//! a terminal. Findings are grouped by check, blockers first, each with where, why and the
//! fix; the checks that could not run say why. Exits 0 with no blocker, 1 with one, and 2 when
//! the command line or a file it names is wrong.

use protocol::{LintReport, Operation, Outcome, Severity};

use super::{
    Failed, Global, LintArgs, UsageError, check_one_stdin_use, draft_from, exit, find_profile,
    open_bridge, operation_error, read_input,
};
use crate::ops::LintOptions;

pub async fn run(global: &Global, args: LintArgs) -> anyhow::Result<u8> {
    if args.eml.is_none() {
        args.message.require("lint")?;
        check_one_stdin_use(&args.message)?;
    }
    let bridge = open_bridge(global, None)?;
    let profile = find_profile(&bridge, &args.profile).await?;
    let options = LintOptions {
        campaign: args.campaign,
        check_links: args.check_links,
    };
    let report = match &args.eml {
        Some(path) => {
            let raw = read_input(path, "FILE.eml").map_err(unreadable)?;
            bridge
                .lint_raw(&profile, raw, options)
                .await
                .map_err(operation_error)?
        }
        None => {
            let draft = draft_from(&bridge, args.message)
                .await
                .map_err(unreadable)?;
            let outcome = bridge
                .execute(
                    Operation::Lint {
                        profile,
                        draft,
                        check_links: args.check_links,
                    },
                    None,
                )
                .await
                .map_err(operation_error)?;
            let Outcome::Linted(report) = outcome else {
                anyhow::bail!("the bridge answered a lint with {outcome:?}");
            };
            *report
        }
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", describe(&report));
    }
    Ok(if report.blockers() > 0 {
        exit::PERMANENT
    } else {
        exit::OK
    })
}

/// Exit 1 says the message has a blocker, so a file that cannot be read (the .eml, --body-file,
/// --attach) must not end with it too: it is the command line's mistake, exit 2. The bridge's
/// own refusals keep the exit code their kind gives them.
fn unreadable(error: anyhow::Error) -> anyhow::Error {
    if error.downcast_ref::<Failed>().is_some() || error.downcast_ref::<UsageError>().is_some() {
        error
    } else {
        anyhow::Error::new(UsageError(format!("{error:#}")))
    }
}

/// The report as a person reads it in a terminal.
pub fn describe(report: &LintReport) -> String {
    let count = |severity| {
        report
            .findings
            .iter()
            .filter(|f| f.severity == severity)
            .count()
    };
    let mut out = format!(
        "Checks before sending: {} blocker{}, {} warning{}, {} advice ({} bytes, {} ms)\n",
        count(Severity::Blocker),
        plural(count(Severity::Blocker)),
        count(Severity::Warning),
        plural(count(Severity::Warning)),
        count(Severity::Advice),
        report.size_bytes,
        report.elapsed_ms
    );
    if let Some(spam) = &report.spam {
        out.push_str(&format!(
            "\nSpam score: {:.1} (spamd says {} at {:.1}; {})\n",
            spam.score,
            if spam.is_spam { "spam" } else { "not spam" },
            spam.threshold,
            spam.server
        ));
        for rule in &spam.rules {
            out.push_str(&format!(
                "  {:>6.1}  {:<24} {}\n",
                rule.points, rule.name, rule.description
            ));
        }
    }
    let mut checks: Vec<_> = report.findings.iter().map(|f| f.check).collect();
    checks.sort();
    checks.dedup();
    for check in checks {
        out.push_str(&format!("\n{}\n", check.label()));
        for finding in report.findings.iter().filter(|f| f.check == check) {
            out.push_str(&format!(
                "  {:<8} {} [{}]\n",
                finding.severity.label().to_uppercase(),
                finding.found,
                finding.location
            ));
            out.push_str(&format!("           Why: {}\n", finding.why));
            out.push_str(&format!("           Fix: {}\n", finding.fix));
        }
    }
    for skipped in &report.skipped {
        out.push_str(&format!(
            "\nNot checked: {}. {}\n",
            skipped.check.label(),
            skipped.reason
        ));
    }
    if report.findings.is_empty() {
        out.push_str("\nNothing to fix.\n");
    }
    out
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}
