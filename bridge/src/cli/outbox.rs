//! `mailbridge outbox list|show|retry|cancel|release|flush`: the outbox from a terminal.

use std::time::Duration;

use anyhow::bail;
use clap::{Args, Subcommand};
use protocol::{
    Deliverer, EntryState, Operation, OutboxEntry, OutboxSummary, Outcome, RecipientState,
};

use super::{Global, UsageError, exit, open_bridge, operation_error};
use crate::outbox::{local_offset, now_ms, scheduler::local_time};

#[derive(Debug, Subcommand)]
pub enum OutboxCommand {
    /// Show the counts by state, each account's quota, and the newest entries.
    List(ListArgs),
    /// Show one entry: its recipients, replies, diagnosis and kept transcript.
    Show {
        /// The entry's number, as `outbox list` shows it.
        id: u64,
    },
    /// Send failed or waiting entries again now.
    Retry {
        /// Entry numbers.
        #[arg(required_unless_present = "failed")]
        ids: Vec<u64>,
        /// Every failed entry.
        #[arg(long)]
        failed: bool,
    },
    /// Take entries that have not been sent out of the outbox.
    Cancel {
        /// Entry numbers.
        #[arg(required = true)]
        ids: Vec<u64>,
    },
    /// Decide about ambiguous entries, which may have been delivered before mailbridge stopped.
    Release {
        /// Entry numbers.
        #[arg(required_unless_present = "all")]
        ids: Vec<u64>,
        /// Every ambiguous entry.
        #[arg(long)]
        all: bool,
        /// Send them again with the same Message-ID (a recipient may get it twice).
        #[arg(long, conflicts_with = "drop", required_unless_present = "drop")]
        resend: bool,
        /// Drop them: they are not sent again.
        #[arg(long)]
        drop: bool,
    },
    /// Deliver what is queued, then exit: 0 when all went, 75 when some must wait (a quota, a
    /// retry later), 1 when some failed.
    Flush(FlushArgs),
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Only entries in this state: queued, sending, body_sent, sent, deferred, failed,
    /// ambiguous or cancelled.
    #[arg(long, value_parser = parse_state)]
    state: Option<EntryState>,
    /// How many entries to show, newest first.
    #[arg(long, default_value_t = 20)]
    limit: u32,
}

#[derive(Debug, Args)]
pub struct FlushArgs {
    /// Wait at most this many seconds for entries that are due later (a retry, the pace).
    #[arg(long, value_name = "SECONDS", default_value_t = 60)]
    max_wait: u64,
    /// Keep the redacted transcript of every message sent, not only of those that failed.
    #[arg(long)]
    keep_transcripts: bool,
}

fn parse_state(text: &str) -> Result<EntryState, String> {
    EntryState::parse(text).ok_or_else(|| {
        let names: Vec<&str> = EntryState::ALL.iter().map(|s| s.as_str()).collect();
        format!(
            "{text:?} is not a state; the states are {}",
            names.join(", ")
        )
    })
}

pub async fn run(global: &Global, command: OutboxCommand) -> anyhow::Result<u8> {
    let bridge = open_bridge(global, None)?;
    let execute = |operation| {
        let bridge = bridge.clone();
        async move {
            bridge
                .execute(operation, None)
                .await
                .map_err(operation_error)
        }
    };
    match command {
        OutboxCommand::List(args) => {
            let Outcome::Outbox { summary, entries } = execute(Operation::ListOutbox {
                state: args.state,
                limit: args.limit,
            })
            .await?
            else {
                bail!("the bridge did not list the outbox");
            };
            print_summary(&summary);
            if entries.is_empty() {
                println!(
                    "\nNo entries{}.",
                    match args.state {
                        Some(state) => format!(" {}", state.label()),
                        None => String::new(),
                    }
                );
            } else {
                println!();
                for entry in &entries {
                    print_line(entry);
                }
            }
            Ok(exit::OK)
        }
        OutboxCommand::Show { id } => {
            let Outcome::OutboxEntry { entry } = execute(Operation::ReadOutboxEntry { id }).await?
            else {
                bail!("the bridge did not read the entry");
            };
            print_entry(&entry);
            Ok(exit::OK)
        }
        OutboxCommand::Retry { ids, failed } => {
            let ids = if failed {
                ids_in(&bridge, EntryState::Failed)?
            } else {
                ids
            };
            changed(
                execute(Operation::RetryEntries { ids }).await?,
                "queued again",
            )
        }
        OutboxCommand::Cancel { ids } => changed(
            execute(Operation::CancelEntries { ids }).await?,
            "cancelled",
        ),
        OutboxCommand::Release {
            ids,
            all,
            resend,
            drop: _,
        } => {
            let ids = if all {
                ids_in(&bridge, EntryState::Ambiguous)?
            } else {
                ids
            };
            let done = if resend {
                "queued again with the same Message-ID"
            } else {
                "dropped"
            };
            changed(
                execute(Operation::ReleaseAmbiguous { ids, resend }).await?,
                done,
            )
        }
        OutboxCommand::Flush(args) => flush(&bridge, args).await,
    }
}

fn ids_in(bridge: &crate::ops::Bridge, state: EntryState) -> anyhow::Result<Vec<u64>> {
    let entries = bridge.outbox().list(Some(state), 100_000)?;
    if entries.is_empty() {
        bail!(UsageError(format!("no entry is {}", state.label())));
    }
    Ok(entries.iter().map(|entry| entry.id).collect())
}

fn changed(outcome: Outcome, done: &str) -> anyhow::Result<u8> {
    let Outcome::OutboxChanged { changed, unchanged } = outcome else {
        bail!("the bridge did not change the outbox");
    };
    if !changed.is_empty() {
        let ids: Vec<String> = changed.iter().map(u64::to_string).collect();
        println!(
            "{} {done}: {}.",
            plural(changed.len(), "entry", "entries"),
            ids.join(", ")
        );
    }
    for (id, why) in &unchanged {
        println!("Entry {id} was left as it is: {why}.");
    }
    Ok(if unchanged.is_empty() {
        exit::OK
    } else {
        exit::USAGE
    })
}

/// Delivers until nothing more can go within `max_wait`.
async fn flush(bridge: &std::sync::Arc<crate::ops::Bridge>, args: FlushArgs) -> anyhow::Result<u8> {
    let outbox = bridge.outbox().clone();
    match outbox.try_take_over()? {
        None => {
            let who = match outbox.deliverer() {
                Deliverer::Elsewhere { detail } => detail,
                _ => "another mailbridge delivers this outbox".to_owned(),
            };
            eprintln!("{who}; it sends what is queued.");
            return Ok(exit::TRANSIENT);
        }
        Some((requeued, ambiguous)) => {
            if requeued + ambiguous > 0 {
                eprintln!(
                    "Resumed: {requeued} being sent when mailbridge stopped go again; {ambiguous} may have been delivered and are held (see `mailbridge outbox list --state ambiguous`)."
                );
            }
        }
    }
    outbox.keep_transcripts(args.keep_transcripts);
    bridge.start_delivering();
    let mut last = String::new();
    let summary = loop {
        tokio::time::sleep(Duration::from_millis(250)).await;
        let summary = outbox.summary(bridge.as_ref())?;
        let counts = summary.counts;
        let line = format!(
            "sent {}, waiting {}, failed {}, ambiguous {}; {} a minute",
            counts.sent,
            counts.pending(),
            counts.failed,
            counts.ambiguous,
            summary.rate_per_minute
        );
        if line != last {
            eprintln!("{line}");
            last = line;
        }
        let in_flight = counts.sending + counts.body_sent;
        let next = outbox.next_send_ms();
        let nothing_soon = next.is_none_or(|at| at > now_ms() + args.max_wait * 1_000);
        if in_flight == 0 && (counts.pending() == 0 || nothing_soon) {
            break summary;
        }
    };
    bridge.stop_delivering(Duration::from_secs(30)).await;
    print_summary(&summary);
    let counts = summary.counts;
    Ok(if counts.pending() > 0 {
        exit::TRANSIENT
    } else if counts.failed > 0 || counts.ambiguous > 0 {
        exit::PERMANENT
    } else {
        exit::OK
    })
}

fn print_summary(summary: &OutboxSummary) {
    let counts = summary.counts;
    let parts: Vec<String> = EntryState::ALL
        .into_iter()
        .filter(|&state| counts.get(state) > 0)
        .map(|state| format!("{} {}", counts.get(state), state.label()))
        .collect();
    if parts.is_empty() {
        println!("The outbox is empty.");
    } else {
        println!("Outbox: {}.", parts.join(", "));
    }
    let eta = match summary.eta_seconds {
        Some(0) => String::new(),
        Some(seconds) => format!("; about {} left", duration(seconds)),
        None if counts.pending() > 0 => "; waiting for a daily limit".to_owned(),
        None => String::new(),
    };
    println!(
        "Pace: {} sent in the last minute{eta}.",
        summary.rate_per_minute
    );
    match &summary.deliverer {
        Deliverer::Here => {}
        Deliverer::Elsewhere { detail } => println!("{detail}."),
        Deliverer::Nobody if counts.pending() > 0 => println!(
            "Nothing delivers it now: run `mailbridge serve` or `mailbridge outbox flush`."
        ),
        Deliverer::Nobody => {}
    }
    let now = now_ms();
    for quota in &summary.quotas {
        println!(
            "{}: {} of {} sent in the last 24 hours; {}.",
            quota.account, quota.sent_24h, quota.daily_limit, quota.summary
        );
        if let (Some(until), Some(reason)) = (quota.paused_until_unix_ms, &quota.pause_reason) {
            println!(
                "  Paused until {}: {reason}",
                local_time(until, now, local_offset())
            );
        }
    }
}

fn print_line(entry: &OutboxEntry) {
    let recipients: Vec<&str> = entry
        .recipients
        .iter()
        .map(|r| r.address.as_str())
        .collect();
    let shown = if recipients.len() > 3 {
        format!(
            "{} and {} more",
            recipients[..3].join(", "),
            recipients.len() - 3
        )
    } else {
        recipients.join(", ")
    };
    let when = match (entry.state, entry.next_attempt_unix_ms) {
        (EntryState::Deferred, Some(at)) => {
            format!(" (next try {})", local_time(at, now_ms(), local_offset()))
        }
        _ => String::new(),
    };
    println!(
        "{:>6}  {:<19} {:<40} {}{when}",
        entry.id,
        entry.state.label(),
        shown,
        entry.subject
    );
}

fn print_entry(entry: &OutboxEntry) {
    println!(
        "Entry {} ({}), batch {}",
        entry.id,
        entry.state.label(),
        entry.batch
    );
    println!("Profile: {} ({})", entry.profile_name, entry.account);
    println!(
        "Message-ID: <{}>",
        entry.message_id.trim_matches(['<', '>'])
    );
    println!("Subject: {}", entry.subject);
    println!(
        "Size: {} bytes; attempts: {}",
        entry.size_bytes, entry.attempts
    );
    if let Some(at) = entry.next_attempt_unix_ms {
        println!("Next attempt: {}", local_time(at, now_ms(), local_offset()));
    }
    for recipient in &entry.recipients {
        let state = match recipient.state {
            RecipientState::Pending => "pending",
            RecipientState::Accepted => "accepted",
            RecipientState::Refused => "refused",
        };
        println!(
            "  {:<40} {state:<9} {}",
            recipient.address,
            recipient.reply.as_deref().unwrap_or("")
        );
    }
    if let Some(reply) = &entry.last_reply {
        println!("Last reply: {}", reply.replace("\r\n", " "));
    }
    if entry.state == EntryState::Ambiguous {
        println!(
            "It may have been delivered: `mailbridge outbox release {} --resend` sends it again with the same Message-ID, `--drop` forgets it.",
            entry.id
        );
    }
    if let Some(diagnosis) = &entry.diagnosis {
        println!("\n{diagnosis}");
    }
    if !entry.transcript.is_empty() {
        println!("\nTranscript:");
        for line in &entry.transcript {
            let arrow = match line.direction {
                protocol::Direction::Client => "C:",
                protocol::Direction::Server => "S:",
                protocol::Direction::Note => "  ",
            };
            println!("{:>6} ms {arrow} {}", line.at_ms, line.text);
        }
    }
}

fn duration(seconds: u64) -> String {
    match seconds {
        0..60 => plural(seconds as usize, "second", "seconds"),
        60..3_600 => plural(seconds.div_ceil(60) as usize, "minute", "minutes"),
        _ => format!("{:.1} hours", seconds as f64 / 3_600.0),
    }
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}
