//! `mailbridge merge LIST.csv --subject ... --text FILE --html FILE --to-column email`: a mail
//! merge from a terminal. A dry run by default: it checks and renders every row and queues
//! nothing; `--send` queues one message per recipient in the outbox as one batch.

use std::path::PathBuf;

use anyhow::{Context as _, bail};
use clap::Args;
use protocol::{Operation, Outcome};

use super::{Global, UsageError, data_dir, describe, exit, is_stdio, open_bridge, read_text};
use crate::campaign::{self, CsvConfig, MergeConfig, Report, Suppression, Templates};

#[derive(Debug, Args)]
pub struct MergeArgs {
    /// The list: a CSV file with a header row (UTF-8, commas or semicolons); "-" reads
    /// standard input.
    pub list: PathBuf,
    /// The Subject template, such as "Hello {{ name }}"; the list's columns are its variables.
    #[arg(long, value_name = "TEMPLATE")]
    pub subject: String,
    /// The plain-text body template, from FILE (UTF-8).
    #[arg(long, value_name = "FILE", required_unless_present = "html")]
    pub text: Option<PathBuf>,
    /// The HTML body template, from FILE (UTF-8); variables are HTML-escaped in it.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// The column holding each recipient's address.
    #[arg(long, value_name = "COLUMN", default_value = "email")]
    pub to_column: String,
    /// The profile to send with (its name or id); needed with --send.
    #[arg(long, required_if_eq("send", "true"))]
    pub profile: Option<String>,
    /// Queue the messages in the outbox; without it, only check and render every row.
    #[arg(long)]
    pub send: bool,
    /// Queue only the first N valid rows.
    #[arg(long, value_name = "N")]
    pub limit: Option<usize>,
    /// Leave out the rows with problems instead of refusing the whole list.
    #[arg(long)]
    pub skip_bad_rows: bool,
}

/// Dry run: 0 when the list is clean (or its bad rows are skipped), 1 when rows have problems.
pub async fn run(global: &Global, args: MergeArgs) -> anyhow::Result<u8> {
    let stdin_uses = [Some(&args.list), args.text.as_ref(), args.html.as_ref()]
        .into_iter()
        .flatten()
        .filter(|path| is_stdio(path))
        .count();
    if stdin_uses > 1 {
        bail!(UsageError(
            "only one of the list, --text and --html can be \"-\" (standard input)".to_owned()
        ));
    }
    let config = CsvConfig::default();
    let list = if is_stdio(&args.list) {
        campaign::csv::read(std::io::stdin().lock(), &config, "standard input")
    } else {
        campaign::csv::read_path(&args.list, &config)
    }
    .map_err(|error| UsageError(format!("{}: {error}", describe(&args.list))))?;
    let templates = Templates {
        subject: args.subject.clone(),
        text: args
            .text
            .as_ref()
            .map(|path| read_text(path, "--text"))
            .transpose()?,
        html: args
            .html
            .as_ref()
            .map(|path| read_text(path, "--html"))
            .transpose()?,
    };
    let suppression = Suppression::load(&data_dir(global)?.join(campaign::suppression::FILE))?;
    let merge_config = MergeConfig {
        skip_bad_rows: args.skip_bad_rows,
        ..MergeConfig::new(&args.to_column)
    };
    let report = campaign::merge(&list, &templates, &suppression, &merge_config)
        .map_err(|error| UsageError(error.to_string()))?;
    print_report(&report, &describe(&args.list));

    let blocked = !report.problems.is_empty() && !args.skip_bad_rows;
    if !args.send {
        let queueable = report.valid.min(args.limit.unwrap_or(usize::MAX));
        if blocked {
            println!(
                "Dry run: nothing was queued. Fix the rows above, or add --skip-bad-rows to leave them out."
            );
            return Ok(exit::PERMANENT);
        }
        println!(
            "Dry run: nothing was queued. Add --send --profile NAME to queue {}.",
            messages(queueable)
        );
        return Ok(exit::OK);
    }
    if blocked {
        bail!(
            "nothing was queued: {} with problems; fix them or add --skip-bad-rows",
            rows(report.problems.len())
        );
    }
    let mut drafts: Vec<protocol::Draft> =
        report.drafts.into_iter().map(|(_, draft)| draft).collect();
    if let Some(limit) = args.limit {
        drafts.truncate(limit);
    }
    if drafts.is_empty() {
        bail!(UsageError("nothing to queue: no row is valid".to_owned()));
    }
    let bridge = open_bridge(global, None)?;
    let name = args.profile.as_deref().unwrap_or_default();
    let profile = super::find_profile(&bridge, name).await?;
    let count = drafts.len();
    let outcome = bridge
        .execute(Operation::EnqueueBatch { profile, drafts }, None)
        .await
        .map_err(super::operation_error)
        .context("nothing was queued")?;
    let Outcome::Enqueued {
        batch,
        entries,
        warnings,
        ..
    } = outcome
    else {
        bail!("the bridge did not queue the messages");
    };
    for warning in &warnings {
        println!("Warning: {warning}");
    }
    let range = match (entries.iter().min(), entries.iter().max()) {
        (Some(first), Some(last)) if first != last => format!("entries {first} to {last}"),
        (Some(first), _) => format!("entry {first}"),
        _ => "no entries".to_owned(),
    };
    println!(
        "Queued {} as outbox batch {batch}, {range}; `mailbridge serve` or `mailbridge outbox flush` sends them.",
        messages(count)
    );
    Ok(exit::OK)
}

fn print_report(report: &Report, list: &str) {
    println!(
        "{} in {list}: {} valid, {}, {} suppressed, {}.",
        rows(report.rows),
        report.valid,
        plural(report.duplicates.len(), "duplicate", "duplicates"),
        report.suppressed.len(),
        plural(report.problems.len(), "problem", "problems"),
    );
    for (row, first) in &report.duplicates {
        println!("  row {row}: duplicate of row {first}, left out");
    }
    for row in &report.suppressed {
        println!("  row {row}: on the suppression list, left out");
    }
    for problem in &report.problems {
        println!(
            "  row {}, {}: {}",
            problem.row, problem.field, problem.message
        );
    }
    if let Some((row, rendered)) = &report.first {
        println!("Row {row} subject: {}", rendered.subject);
    }
}

fn rows(n: usize) -> String {
    plural(n, "row", "rows")
}

fn messages(n: usize) -> String {
    plural(n, "message", "messages")
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}
