//! `mailbridge suppression list|import|export`: the addresses no campaign mails again.

use std::io::{Read, Write};
use std::path::PathBuf;

use anyhow::Context as _;
use clap::Subcommand;

use super::{Global, UsageError, data_dir, exit};
use crate::campaign::suppression::{FILE, Source, Suppression};
use crate::outbox::now_ms;

#[derive(Debug, Subcommand)]
pub enum SuppressionCommand {
    /// Show how many addresses are suppressed, and each with where it came from.
    List,
    /// Add the addresses of a CSV file with an `address` or `email` column (and optionally
    /// `reason`, `source`, `added_at`), such as unsubscribes collected elsewhere.
    Import {
        /// The CSV file; "-" reads standard input.
        file: PathBuf,
        /// The reason recorded for rows that give none.
        #[arg(long, default_value = "imported")]
        reason: String,
    },
    /// Write the list as CSV (address, reason, source, added_at).
    Export {
        /// Where to write it; "-" or nothing writes standard output.
        file: Option<PathBuf>,
    },
}

pub fn run(global: &Global, command: SuppressionCommand) -> anyhow::Result<u8> {
    let path = data_dir(global)?.join(FILE);
    let mut list = Suppression::load(&path)?;
    match command {
        SuppressionCommand::List => {
            println!("{} suppressed addresses ({}).", list.len(), path.display());
            for entry in list.entries() {
                println!(
                    "  {:<40} {:<18} {}",
                    entry.address,
                    entry.source.as_str(),
                    entry.reason
                );
            }
        }
        SuppressionCommand::Import { file, reason } => {
            let (bytes, what) = if file.as_os_str() == "-" {
                let mut bytes = Vec::new();
                std::io::stdin()
                    .read_to_end(&mut bytes)
                    .context("reading the list from standard input")?;
                (bytes, "standard input".to_owned())
            } else {
                let bytes = std::fs::read(&file).with_context(|| {
                    format!("suppression import: cannot read {}", file.display())
                })?;
                (bytes, file.display().to_string())
            };
            // Read into a copy first: a file with a problem changes nothing.
            let mut imported = list.clone();
            let added = imported
                .import_csv(&bytes, Source::Import, now_ms() / 1_000)
                .map_err(|error| {
                    UsageError(format!("nothing was imported from {what}: {error}"))
                })?;
            // Rows without a reason get the one given.
            let mut with_reason = Suppression::default();
            for entry in imported.entries() {
                let mut entry = entry.clone();
                if entry.reason.is_empty() && !list.contains(&entry.address) {
                    entry.reason = reason.clone();
                }
                with_reason.add(entry);
            }
            list = with_reason;
            list.save(&path)?;
            println!("Imported from {what}: {added} new, {} in all.", list.len());
        }
        SuppressionCommand::Export { file } => {
            let csv = list.export_csv();
            match file.filter(|file| file.as_os_str() != "-") {
                Some(file) => std::fs::write(&file, csv).with_context(|| {
                    format!("suppression export: cannot write {}", file.display())
                })?,
                None => {
                    let mut stdout = std::io::stdout().lock();
                    stdout
                        .write_all(&csv)
                        .and_then(|()| stdout.flush())
                        .context("writing the list to standard output")?;
                }
            }
        }
    }
    Ok(exit::OK)
}
