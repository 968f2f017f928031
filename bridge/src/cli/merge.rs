//! `mailbridge merge LIST.csv --subject ... --text FILE --html FILE --to-column email`: a mail
//! merge from a terminal. A dry run by default: it checks and renders every row and queues
//! nothing; `--send` starts a campaign (the same `StartCampaign` the page uses), printing
//! how the account's daily limit splits it across days first.

use std::path::PathBuf;

use anyhow::{Context as _, bail};
use clap::Args;
use protocol::{CampaignSpec, Operation, Outcome};

use super::{Global, UsageError, data_dir, describe, exit, is_stdio, open_bridge, read_text};
use crate::campaign::{self, CsvConfig, CsvError, MergeConfig, Report, Suppression, Templates};

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
    /// The campaign's name, shown in the list of campaigns and in List-Id; the list's file
    /// name by default.
    #[arg(long)]
    pub name: Option<String>,
    /// One-click unsubscribe (RFC 8058): an https URL with a {token} placeholder.
    #[arg(long, value_name = "URL")]
    pub unsubscribe_url: Option<String>,
    /// An address that takes unsubscribe requests by mail.
    #[arg(long, value_name = "ADDRESS")]
    pub unsubscribe_mailto: Option<String>,
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
    let bytes = read_list(&args.list, &config)
        .map_err(|error| UsageError(format!("{}: {error}", describe(&args.list))))?;
    let list = campaign::csv::parse(&bytes)
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
    let mut csv = String::from_utf8(bytes).context("the list is not UTF-8 text")?;
    if let Some(limit) = args.limit {
        // The first N valid rows are the valid ones among the list's first rows up to the
        // Nth valid one, so cutting the text there keeps every row's number.
        let last = report.drafts.get(limit.max(1) - 1).map(|(row, _)| *row);
        let next = last.and_then(|last| list.rows.iter().find(|r| r.number == last + 1));
        if limit == 0 {
            bail!(UsageError("nothing to queue: --limit 0".to_owned()));
        }
        if let Some(next) = next {
            let keep: usize = csv
                .split_inclusive('\n')
                .take(next.line.saturating_sub(1) as usize)
                .map(str::len)
                .sum();
            csv.truncate(keep);
        }
    }
    if report.drafts.is_empty() {
        bail!(UsageError("nothing to queue: no row is valid".to_owned()));
    }
    let spec = CampaignSpec {
        name: args.name.clone().unwrap_or_else(|| {
            args.list
                .file_stem()
                .map(|stem| stem.to_string_lossy().into_owned())
                .filter(|stem| stem != "-")
                .unwrap_or_else(|| "merge".to_owned())
        }),
        csv,
        // In this process, not over the page's socket: no message size to keep within.
        csv_upload: None,
        address_column: args.to_column.clone(),
        subject: templates.subject,
        text: templates.text,
        html: templates.html,
        unsubscribe_url: args.unsubscribe_url.clone(),
        unsubscribe_mailto: args.unsubscribe_mailto.clone(),
        skip_bad_rows: args.skip_bad_rows,
    };
    let bridge = open_bridge(global, None)?;
    let name = args.profile.as_deref().unwrap_or_default();
    let profile = super::find_profile(&bridge, name).await?;
    let checked = bridge
        .execute(
            Operation::CheckCampaign {
                profile: profile.clone(),
                spec: spec.clone(),
            },
            None,
        )
        .await
        .map_err(super::operation_error)
        .context("nothing was queued")?;
    if let Outcome::CampaignChecked(check) = &checked {
        for warning in &check.warnings {
            println!("Warning: {warning}");
        }
        println!(
            "Schedule: {}, at {} a minute ({} for the first day).",
            check.schedule_summary,
            check.per_minute,
            duration(check.first_day_seconds)
        );
        if let Some(lint) = &check.first_row_lint {
            print!(
                "The first row, checked before sending. {}",
                super::lint::describe(lint)
            );
        }
    }
    let outcome = bridge
        .execute(Operation::StartCampaign { profile, spec }, None)
        .await
        .map_err(super::operation_error)
        .context("nothing was queued")?;
    let Outcome::Campaign(view) = outcome else {
        bail!("the bridge did not start the campaign");
    };
    println!(
        "Queued {} as outbox batch of campaign {} ({:?}); `mailbridge serve` or `mailbridge outbox flush` sends them.",
        messages(view.total as usize),
        view.id,
        view.name
    );
    Ok(exit::OK)
}

/// The list's bytes, refusing one over the cap before reading it whole.
fn read_list(path: &std::path::Path, config: &CsvConfig) -> Result<Vec<u8>, CsvError> {
    use std::io::Read as _;
    let io = |error: std::io::Error| CsvError::Io {
        what: describe(path),
        detail: error.to_string(),
    };
    let reader: Box<dyn std::io::Read> = if is_stdio(path) {
        Box::new(std::io::stdin().lock())
    } else {
        let file = std::fs::File::open(path).map_err(io)?;
        let size = file.metadata().map_err(io)?.len();
        if size > config.max_bytes {
            return Err(CsvError::TooLarge {
                size,
                max: config.max_bytes,
            });
        }
        Box::new(file)
    };
    let mut bytes = Vec::new();
    reader
        .take(config.max_bytes.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(io)?;
    if bytes.len() as u64 > config.max_bytes {
        return Err(CsvError::TooLarge {
            size: bytes.len() as u64,
            max: config.max_bytes,
        });
    }
    Ok(bytes)
}

/// "4 min 10 s", "12 s".
fn duration(seconds: u64) -> String {
    match (seconds / 3_600, seconds % 3_600 / 60, seconds % 60) {
        (0, 0, s) => format!("{s} s"),
        (0, m, s) => format!("{m} min {s} s"),
        (h, m, _) => format!("{h} h {m} min"),
    }
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
