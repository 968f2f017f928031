//! `mailbridge verify MAILBOX --message-id ID`, `mailbridge test --verify MAILBOX` and
//! `mailbridge mailboxes list|presets|add|remove|secret|export|import`: delivery verification
//! from the terminal. Exit 0 when the message is in the Inbox, 1 for Spam, Trash, archived or
//! not arrived, 75 when the mailbox could not be read for a reason that may pass.

use std::io::Read as _;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use clap::{Args, Subcommand, ValueEnum};
use diagnosis::Retry;
use profile::{ImapSecurity, MailboxAuth, MailboxPreset, ReceivingMailbox};
use protocol::{Direction, Outcome, VerifyReport};

use super::{Global, exit, find_profile, open_bridge, operation_error, print_outcome, read_secret};
use crate::imap::Wanted;

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The receiving mailbox: its name or id (`mailbridge mailboxes list`).
    pub mailbox: String,
    /// The Message-ID to look for, with or without angle brackets.
    #[arg(long)]
    pub message_id: String,
    /// How long to wait for it to arrive, in seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 180)]
    pub timeout: u64,
    /// When the send's 250 came (milliseconds since the Unix epoch), for the delivery time.
    #[arg(long, value_name = "MS")]
    pub sent_at_ms: Option<i64>,
    /// Print the redacted IMAP transcript.
    #[arg(long)]
    pub transcript: bool,
}

/// The providers `mailboxes add` knows (the sandbox's mailbox is made by `serve`).
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum PresetArg {
    /// imap.gmail.com:993
    Gmail,
    /// imap.mail.yahoo.com:993
    Yahoo,
    /// imap.mail.me.com:993
    Icloud,
    /// imap.fastmail.com:993
    Fastmail,
    /// outlook.office365.com:993, OAuth only
    Outlook,
    /// Your own server: give --host
    Custom,
}

#[derive(Debug, Subcommand)]
pub enum MailboxesCommand {
    /// The receiving mailboxes, with whether their secret is stored.
    List,
    /// The providers mailbridge knows, with their App Password rules.
    Presets,
    /// Add (or replace, by id) a receiving mailbox. Store its secret with `mailboxes secret`.
    Add {
        /// Its id, such as "my-gmail".
        id: String,
        /// The provider, which gives the host, the port and the App Password rules.
        #[arg(long, value_enum)]
        preset: PresetArg,
        /// The login name, usually the whole address.
        #[arg(long)]
        username: String,
        /// The name shown [default: the id].
        #[arg(long)]
        name: Option<String>,
        /// The IMAP host (required for --preset custom).
        #[arg(long)]
        host: Option<String>,
        /// The IMAP port [default: the preset's, 993; 143 with --starttls].
        #[arg(long)]
        port: Option<u16>,
        /// STARTTLS on port 143 instead of TLS on 993.
        #[arg(long)]
        starttls: bool,
        /// Log in with an OAuth access token (pasted with `mailboxes secret`) instead of an
        /// App Password.
        #[arg(long)]
        oauth: bool,
        /// The mailbox is this sending profile's OAuth account: IMAP signs in with the
        /// profile's access tokens, refreshed as needed (implies --oauth; nothing to paste).
        #[arg(long, value_name = "PROFILE")]
        oauth_profile: Option<String>,
        /// A PEM CA certificate file to trust beside the system's.
        #[arg(long, value_name = "FILE")]
        ca: Option<PathBuf>,
    },
    /// Remove a receiving mailbox and its secret.
    Remove {
        /// The mailbox's id.
        id: String,
    },
    /// Store a mailbox's App Password or OAuth token (prompts without echo, or reads stdin).
    Secret {
        /// The mailbox's id or name.
        id: String,
    },
    /// Write the mailboxes' definitions (never a secret) as a team file.
    Export {
        /// "-" or nothing writes standard output.
        file: Option<PathBuf>,
    },
    /// Add the mailboxes of a team file.
    Import {
        /// The file; "-" reads standard input.
        file: PathBuf,
    },
}

/// `mailbridge verify`.
pub async fn verify(global: &Global, args: VerifyArgs) -> anyhow::Result<u8> {
    let bridge = open_bridge(global, None)?;
    let wanted = Wanted {
        message_id: args.message_id,
        sent_at_ms: args.sent_at_ms,
        sender: None,
    };
    let report = bridge
        .verify_at(&args.mailbox, wanted, Duration::from_secs(args.timeout))
        .await
        .map_err(operation_error)?;
    Ok(print_report(&report, args.transcript))
}

/// `mailbridge test --profile P --verify MAILBOX`.
pub async fn test_and_verify(
    global: &Global,
    profile: &str,
    mailbox: &str,
    timeout: u64,
    transcript: bool,
) -> anyhow::Result<u8> {
    let bridge = open_bridge(global, None)?;
    let profile = find_profile(&bridge, profile).await?;
    let done = bridge
        .send_test_and_verify(profile, mailbox, Duration::from_secs(timeout), None)
        .await
        .map_err(operation_error)?;
    let sent = print_outcome(&done.send);
    if !matches!(done.send, Outcome::Sent(_) | Outcome::Queued(_)) {
        return Ok(sent);
    }
    Ok(print_report(&done.verify, transcript))
}

/// `mailbridge test --profile P --verify-all`: one test per receiving mailbox, searched at
/// once, and a table. Exit 0 only when every one is in the Inbox.
pub async fn test_and_verify_all(
    global: &Global,
    profile: &str,
    timeout: u64,
) -> anyhow::Result<u8> {
    let bridge = open_bridge(global, None)?;
    let profile = find_profile(&bridge, profile).await?;
    let outcome = bridge
        .execute(
            protocol::Operation::SendAndVerify {
                profile,
                mailboxes: Vec::new(),
                draft: None,
                limit_seconds: Some(timeout),
            },
            None,
        )
        .await
        .map_err(operation_error)?;
    let Outcome::SentAndVerified { results } = outcome else {
        anyhow::bail!("the bridge gave no verdicts");
    };
    println!(
        "{:<20} {:<28} {:>10} {:>10}  auth",
        "mailbox", "verdict", "delivery", "verified"
    );
    let mut code = exit::OK;
    for result in &results {
        let (verdict, delivery, waited, auth) = match (&result.report.verdict, &result.report.error)
        {
            (Some(v), _) => (
                match v.tab {
                    Some(tab) => format!("{} ({})", v.placement.words(), tab.name()),
                    None => v.placement.words().to_owned(),
                },
                v.delivery_ms
                    .map_or("-".to_owned(), |ms| format!("{:.1} s", ms as f64 / 1000.0)),
                format!("{:.1} s", v.waited_ms as f64 / 1000.0),
                v.authentication
                    .iter()
                    .map(|a| format!("{}={}", a.method, a.result))
                    .collect::<Vec<_>>()
                    .join(" "),
            ),
            (None, Some(error)) => (
                format!("error: {}", error.title),
                "-".into(),
                "-".into(),
                String::new(),
            ),
            (None, None) => ("no verdict".into(), "-".into(), "-".into(), String::new()),
        };
        if result
            .report
            .verdict
            .as_ref()
            .is_none_or(|v| v.placement.exit_code() != 0)
        {
            code = exit::PERMANENT;
        }
        println!(
            "{:<20} {:<28} {:>10} {:>10}  {auth}",
            result.mailbox, verdict, delivery, waited
        );
    }
    Ok(code)
}

/// Prints a verdict (or why there is none) and returns the exit code.
pub fn print_report(report: &VerifyReport, transcript: bool) -> u8 {
    if transcript {
        for line in &report.transcript {
            let arrow = match line.direction {
                Direction::Client => "C:",
                Direction::Server => "S:",
                Direction::Note => "--",
            };
            println!("{:>7} ms {arrow} {}", line.at_ms, line.text);
        }
    }
    if let Some(error) = &report.error {
        eprintln!("error: {}", error.title);
        eprintln!("  {}", error.what_happened);
        if let Some(reply) = &error.reply {
            eprintln!("  The server said: {reply}");
        }
        for step in &error.fix {
            eprintln!("  - {step}");
        }
        return match error.retry {
            Retry::Transient => exit::TRANSIENT,
            _ => exit::PERMANENT,
        };
    }
    let Some(v) = &report.verdict else {
        eprintln!("error: no verdict");
        return exit::PERMANENT;
    };
    println!("Verdict:   {}", v.placement.words());
    println!("           {}", v.summary);
    if let Some(tab) = v.tab {
        println!("Tab:       {}", tab.name());
    }
    if let Some(folder) = &v.folder {
        println!("Folder:    {folder}");
    }
    if !v.labels.is_empty() {
        println!("Labels:    {}", v.labels.join(" "));
    }
    match (v.delivery_ms, &v.arrival_source) {
        (Some(ms), Some(source)) => {
            println!(
                "Delivered: {:.1} s after the 250 (by {source})",
                ms as f64 / 1000.0
            )
        }
        _ => {
            if let Some(at) = &v.arrived_at {
                println!("Arrived:   {at}");
            }
        }
    }
    println!("Verified:  in {} ms", v.waited_ms);
    for auth in &v.authentication {
        println!(
            "Auth:      {}={} {} (by {})",
            auth.method,
            auth.result,
            auth.domain.as_deref().unwrap_or(""),
            auth.by
        );
    }
    for (index, received) in v.received.iter().enumerate() {
        println!("Received {}: {received}", index + 1);
    }
    if let Some(from) = &v.original_from {
        println!("From was rewritten; it was: {from}");
    }
    if let Some(id) = &v.original_message_id {
        println!("Message-ID was replaced; it was: {id}");
    }
    for cause in &v.spam_causes {
        println!("Spam cause: {cause}");
    }
    for step in &v.next_steps {
        println!("Next:      {step}");
    }
    u8::try_from(v.placement.exit_code()).unwrap_or(exit::PERMANENT)
}

#[derive(Debug, Args)]
pub struct BouncesArgs {
    /// The sending account's own mailbox, as a receiving mailbox (name or id).
    pub mailbox: String,
    /// Print the redacted IMAP transcript.
    #[arg(long)]
    pub transcript: bool,
}

/// `mailbridge bounces MAILBOX`: the bounce reports there, matched to the history; hard ones
/// go to the suppression list.
pub async fn bounces(global: &Global, args: BouncesArgs) -> anyhow::Result<u8> {
    let bridge = open_bridge(global, None)?;
    let report = bridge
        .read_bounces(&args.mailbox)
        .await
        .map_err(operation_error)?;
    if args.transcript {
        for line in &report.transcript {
            println!("{:>7} ms {:?} {}", line.at_ms, line.direction, line.text);
        }
    }
    for bounce in &report.matched {
        println!(
            "Bounced: {} ({} {}) for <{}>, history #{}",
            bounce.recipient, bounce.action, bounce.status, bounce.message_id, bounce.history_id
        );
        if let Some(text) = &bounce.remote_text {
            println!("  The remote server said: {text}");
        }
        if let Some(diagnosis) = &bounce.diagnosis {
            println!("  {}: {}", diagnosis.title, diagnosis.likely_cause);
        }
        if bounce.suppressed {
            println!("  Added to the suppression list: no campaign mails it again.");
        }
    }
    println!(
        "{} bounces matched to sent messages, {} about other messages, {} look-alikes ignored.",
        report.matched.len(),
        report.unmatched,
        report.ignored
    );
    Ok(exit::OK)
}

/// `mailbridge mailboxes ...`.
pub async fn mailboxes(global: &Global, command: MailboxesCommand) -> anyhow::Result<u8> {
    let bridge = open_bridge(global, None)?;
    let store = bridge.mailbox_store();
    match command {
        MailboxesCommand::List => {
            let mailboxes = bridge.receiving_mailboxes().map_err(operation_error)?;
            if mailboxes.is_empty() {
                println!(
                    "No receiving mailboxes yet. Run `mailbridge serve` for the sandbox's, or \
                     `mailbridge mailboxes add`."
                );
            }
            for m in mailboxes {
                let security = match m.security {
                    ImapSecurity::Tls => "TLS",
                    ImapSecurity::StartTls => "STARTTLS",
                };
                let auth = match (&m.oauth_profile, m.auth) {
                    (Some(profile), _) => format!(", OAuth of profile {}", profile.0),
                    (None, MailboxAuth::OAuth2) => ", OAuth".to_owned(),
                    (None, MailboxAuth::AppPassword) => String::new(),
                };
                println!(
                    "{:<16} {:<20} {}:{} {security} {} ({}{auth})",
                    m.id,
                    m.name,
                    m.host,
                    m.port,
                    m.username,
                    m.preset.label()
                );
            }
        }
        MailboxesCommand::Presets => {
            for preset in MailboxPreset::ALL {
                println!(
                    "{} ({}:{})\n  {}\n",
                    preset.label(),
                    if preset.host().is_empty() {
                        "your server"
                    } else {
                        preset.host()
                    },
                    preset.port(),
                    preset.rules()
                );
            }
        }
        MailboxesCommand::Add {
            id,
            preset,
            username,
            name,
            host,
            port,
            starttls,
            oauth,
            oauth_profile,
            ca,
        } => {
            let preset = match preset {
                PresetArg::Gmail => MailboxPreset::Gmail,
                PresetArg::Yahoo => MailboxPreset::Yahoo,
                PresetArg::Icloud => MailboxPreset::Icloud,
                PresetArg::Fastmail => MailboxPreset::Fastmail,
                PresetArg::Outlook => MailboxPreset::Outlook,
                PresetArg::Custom => MailboxPreset::Custom,
            };
            let mut mailbox = ReceivingMailbox::from_preset(
                preset,
                &id,
                name.as_deref().unwrap_or(&id),
                &username,
            );
            if let Some(host) = host {
                mailbox.host = host;
            }
            if starttls {
                mailbox.security = ImapSecurity::StartTls;
                mailbox.port = 143;
            }
            if let Some(port) = port {
                mailbox.port = port;
            }
            if oauth || oauth_profile.is_some() {
                mailbox.auth = MailboxAuth::OAuth2;
            }
            if let Some(profile) = &oauth_profile {
                let profile = find_profile(&bridge, profile)
                    .await
                    .context("--oauth-profile")?;
                mailbox.oauth_profile = Some(profile);
            }
            if let Some(ca) = ca {
                mailbox.extra_ca_pem = Some(
                    std::fs::read_to_string(&ca)
                        .with_context(|| format!("--ca: cannot read {}", ca.display()))?,
                );
            }
            let linked = mailbox.oauth_profile.clone();
            bridge
                .execute(protocol::Operation::SaveMailbox { mailbox }, None)
                .await
                .map_err(operation_error)
                .with_context(|| format!("mailboxes add {id}"))?;
            match linked {
                Some(profile) => println!(
                    "Saved {id}. IMAP signs in with profile {}'s OAuth tokens; there is no \
                     secret to store.",
                    profile.0
                ),
                None => {
                    println!("Saved {id}. {}", preset.rules());
                    println!("Store its secret with: mailbridge mailboxes secret {id}");
                }
            }
        }
        MailboxesCommand::Remove { id } => {
            if !store.delete(&id).context("mailboxes remove")? {
                eprintln!("error: there is no receiving mailbox {id:?}");
                return Ok(exit::PERMANENT);
            }
            let _ = bridge.clear_mailbox_secret(&id);
            println!("Removed {id}.");
        }
        MailboxesCommand::Secret { id } => {
            let mailbox = bridge.find_mailbox(&id).map_err(operation_error)?;
            let secret = read_secret(&mailbox.name)?;
            bridge
                .set_mailbox_secret(&mailbox.id, &secret)
                .map_err(operation_error)?;
            println!(
                "Stored the secret of {} in {}.",
                mailbox.id,
                bridge.secret_store_description()
            );
        }
        MailboxesCommand::Export { file } => {
            let text = store.export().context("mailboxes export")?;
            match file.filter(|f| f.as_os_str() != "-") {
                Some(file) => std::fs::write(&file, text).with_context(|| {
                    format!("mailboxes export: cannot write {}", file.display())
                })?,
                None => println!("{text}"),
            }
        }
        MailboxesCommand::Import { file } => {
            let mut text = String::new();
            if file.as_os_str() == "-" {
                std::io::stdin()
                    .read_to_string(&mut text)
                    .context("reading standard input")?;
            } else {
                text = std::fs::read_to_string(&file)
                    .with_context(|| format!("mailboxes import: cannot read {}", file.display()))?;
            }
            let count = store.import(&text).context("mailboxes import")?;
            println!("Imported {count} receiving mailboxes.");
        }
    }
    Ok(exit::OK)
}
