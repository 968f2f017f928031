//! The command line, for people and scripts. Every command goes through [`crate::ops::Bridge`],
//! so the terminal and the web page behave the same.

use std::io::{IsTerminal, Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context as _, bail};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use clap::{Args, Parser, Subcommand, ValueEnum};
use diagnosis::Retry;
use profile::{Conflict, ProfileId};
use protocol::{
    AttachmentRef, Direction, Draft, ErrorKind, Operation, OperationError, Outcome, Progress,
    Secret, StepStatus, Verdict,
};
use tokio::sync::mpsc;

use crate::ops::{Bridge, ChecksConfig, Parts};
use crate::outbox::{Outbox, OutboxConfig};

pub(crate) mod lint;
mod merge;
mod oauth;
mod outbox;
mod service;
mod suppression;
mod unsubscribe;
mod verify;
use crate::server::{self, ServeConfig};
use crate::smtp::{RetryPolicy, Timeouts};
use crate::store::{self, HistoryStore, ProfileStore, SecretOptions};

/// Exit codes, so scripts can tell a mistake in the command from a failure worth retrying.
pub mod exit {
    /// Success.
    pub const OK: u8 = 0;
    /// A permanent failure: something must change before trying again.
    pub const PERMANENT: u8 = 1;
    /// The command line or its input was wrong (clap uses the same code).
    pub const USAGE: u8 = 2;
    /// A transient failure: the same command may work later (`EX_TEMPFAIL` in sysexits.h).
    pub const TRANSIENT: u8 = 75;
}

const EXIT_CODES: &str = "\
Exit codes:
  0   success
  1   permanent failure: something must change before trying again
  2   usage error: the command line or its input is wrong
  75  transient failure: the same command may work later";

/// The port `mailbridge serve` listens on unless told otherwise.
pub const DEFAULT_PORT: u16 = 4590;

/// The file name that means standard input or output wherever a command takes a file, as in
/// Unix tools.
const STDIO: &str = "-";

#[derive(Debug, Parser)]
#[command(
    name = "mailbridge",
    version,
    about = "Compose, test and send mail through Gmail's SMTP servers, and understand why it fails.",
    after_help = EXIT_CODES
)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

/// Where mailbridge keeps its state.
#[derive(Debug, Clone, Args)]
pub struct Global {
    /// Where profiles are kept [default: $XDG_CONFIG_HOME/mailbridge or ~/.config/mailbridge].
    #[arg(long, global = true, value_name = "DIR", env = "MAILBRIDGE_CONFIG_DIR")]
    pub config_dir: Option<PathBuf>,
    /// Where the history and the sandbox live [default: $XDG_DATA_HOME/mailbridge or
    /// ~/.local/share/mailbridge].
    #[arg(long, global = true, value_name = "DIR", env = "MAILBRIDGE_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Keep secrets in this file (mode 0600) instead of the OS keyring. For machines with no
    /// keyring service, such as servers, containers and CI.
    #[arg(
        long,
        global = true,
        value_name = "FILE",
        env = "MAILBRIDGE_SECRETS_FILE"
    )]
    pub secrets_file: Option<PathBuf>,
    /// Keep secrets in this file (mode 0600) only when no keyring service answers.
    /// `cargo xtask run` sets it.
    #[arg(
        long,
        global = true,
        value_name = "FILE",
        env = "MAILBRIDGE_SECRETS_FILE_FALLBACK"
    )]
    pub secrets_file_fallback: Option<PathBuf>,
    /// SpamAssassin's spamd, as HOST:PORT, for the spam score of the checks before sending
    /// (`mailbridge lint`, the page's "Check before sending"). Start it for this machine
    /// only: `spamd -L --listen=127.0.0.1:783`.
    #[arg(
        long,
        global = true,
        value_name = "HOST:PORT",
        env = "MAILBRIDGE_SPAMD"
    )]
    pub spamd: Option<String>,
    /// A DNS server (IP:PORT) for the checks' SPF, DMARC and DKIM lookups, instead of the
    /// system's resolver; repeatable.
    #[arg(
        long,
        global = true,
        value_name = "IP:PORT",
        env = "MAILBRIDGE_DNS_SERVER",
        value_delimiter = ','
    )]
    pub dns_server: Vec<std::net::SocketAddr>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the web app and its WebSocket on 127.0.0.1, with the sandbox.
    Serve(ServeArgs),
    /// Check a profile's connection: DNS, TCP, TLS, EHLO, AUTH, QUIT.
    Check {
        /// The profile's name or id.
        #[arg(long)]
        profile: String,
        /// Print the redacted SMTP transcript.
        #[arg(long)]
        transcript: bool,
    },
    /// Send a message.
    Send(SendArgs),
    /// Check a message before sending it: format, size, blocked attachments, sender rules,
    /// Gmail's HTML support, links, the SpamAssassin score (with --spamd) and the From
    /// domain's SPF, DMARC and DKIM. Sends nothing. Exits 0 with no blocker, 1 with one, 2 when
    /// the command line or a file is wrong.
    Lint(LintArgs),
    /// Send a short "SMTP test" message from the profile's account to itself; with
    /// --verify, to a receiving mailbox instead, then say where it landed there (exit 0 for
    /// the Inbox, 1 for Spam or not arrived).
    Test {
        /// The profile's name or id.
        #[arg(long)]
        profile: String,
        /// Print the redacted SMTP (and IMAP) transcript.
        #[arg(long)]
        transcript: bool,
        /// A receiving mailbox (name or id) to send the test to and verify at.
        #[arg(long, value_name = "MAILBOX", conflicts_with = "verify_all")]
        verify: Option<String>,
        /// Send one test to each receiving mailbox and print a table of verdicts and times.
        #[arg(long)]
        verify_all: bool,
        /// How long to wait for the test to arrive, in seconds.
        #[arg(long, value_name = "SECONDS", default_value_t = 180)]
        verify_timeout: u64,
    },
    /// Find a sent message in a receiving mailbox over IMAP and say where it landed: Inbox
    /// (and tab), Spam, Trash, archived, or not arrived; with the delivery time and the
    /// authentication results. Exit 0 for the Inbox, 1 otherwise.
    Verify(verify::VerifyArgs),
    /// The receiving mailboxes that delivery is verified at.
    #[command(subcommand)]
    Mailboxes(verify::MailboxesCommand),
    /// Read the bounce reports (RFC 3464) in the sending account's mailbox, match them to
    /// the history, explain them, and add hard bounces to the suppression list.
    Bounces(verify::BouncesArgs),
    /// List, show, import and export sending profiles.
    #[command(subcommand)]
    Profiles(ProfilesCommand),
    /// Store or clear a profile's app password or OAuth token.
    #[command(subcommand)]
    Secret(SecretCommand),
    /// OAuth 2.0 for Gmail: give a profile your Desktop app client, connect the account in the
    /// browser, see the token's health, disconnect.
    #[command(subcommand)]
    Oauth(oauth::OAuthCommand),
    /// See and manage the outbox: queued, failed and ambiguous messages, and each account's
    /// quota; `outbox flush` delivers what is queued.
    #[command(subcommand)]
    Outbox(outbox::OutboxCommand),
    /// Print the pairing URL again (open it, or paste it into the browser extension), or
    /// make a new token with --reset.
    Pair {
        /// Replace the pairing token; pages and the extension paired with the old one must
        /// pair again. A running bridge takes the new one at once. Forgets the Firefox
        /// extension's origin too.
        #[arg(long)]
        reset: bool,
        /// Pair the Firefox extension: for ten minutes, the first Firefox extension page that
        /// says hello with the right token has its origin (a random one per install) learned,
        /// and from then on that one alone is let in.
        #[arg(long)]
        firefox: bool,
        /// The port `mailbridge serve` listens on, for the URL.
        #[arg(long, default_value_t = DEFAULT_PORT)]
        port: u16,
    },
    /// Start the bridge at login: install, uninstall or check the systemd user unit (Linux)
    /// or launchd agent (macOS) that runs `mailbridge serve`.
    #[command(subcommand)]
    Service(service::ServiceCommand),
    /// Explain an SMTP server reply pasted from a log, with the fix.
    #[command(
        after_help = "The exit code tells what kind of reply it was: 0 success, 1 permanent, 75 transient."
    )]
    Explain {
        /// The reply, such as "535-5.7.8 Username and Password not accepted...". Reads standard
        /// input when absent or "-".
        reply: Option<String>,
    },
    /// Run the local SMTP sandbox that behaves like smtp.gmail.com, on its own.
    Sandbox(sandbox::Args),
    /// Mail merge from a CSV list: check and render every row (a dry run), or queue one
    /// message per recipient with --send.
    Merge(merge::MergeArgs),
    /// Check campaigns' one-click unsubscribe tokens.
    #[command(subcommand)]
    Unsubscribe(unsubscribe::UnsubscribeCommand),
    /// The suppression list: addresses no campaign mails again (unsubscribes, dead
    /// addresses); list, import or export it as CSV.
    #[command(subcommand)]
    Suppression(suppression::SuppressionCommand),
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The port to listen on.
    #[arg(long, default_value_t = DEFAULT_PORT)]
    pub port: u16,
    /// Listen on this address instead of 127.0.0.1. Anything but loopback needs
    /// --allow-non-loopback.
    #[arg(long, value_name = "ADDRESS", default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST))]
    pub bind: IpAddr,
    /// Allow binding to a non-loopback address. Other machines could then reach the bridge.
    #[arg(long)]
    pub allow_non_loopback: bool,
    /// Another origin allowed to open the WebSocket, such as a `trunk serve` dev server
    /// (exact match, e.g. http://127.0.0.1:8080). Repeatable.
    #[arg(long, value_name = "ORIGIN")]
    pub allow_origin: Vec<String>,
    /// Open the pairing URL in a browser.
    #[arg(long, conflicts_with = "hide_pairing_address")]
    pub open: bool,
    /// Do not print the pairing address, which holds the token: for a login service, whose
    /// output goes to a log. `mailbridge pair` prints it.
    #[arg(long)]
    pub hide_pairing_address: bool,
    /// Do not start the embedded sandbox.
    #[arg(long)]
    pub no_sandbox: bool,
    /// The sandbox's STARTTLS port; 0 picks a free one.
    #[arg(long, value_name = "PORT", default_value_t = 2587)]
    pub sandbox_starttls_port: u16,
    /// Keep the redacted transcript of every message the outbox sends, not only of those
    /// that failed.
    #[arg(long)]
    pub keep_transcripts: bool,
    /// The sandbox's implicit-TLS port; 0 picks a free one.
    #[arg(long, value_name = "PORT", default_value_t = 2465)]
    pub sandbox_tls_port: u16,
    /// Let the sandbox also accept OAuth bearer tokens that this token introspection endpoint
    /// (RFC 7662) vouches for, as `mailbridge sandbox --oauth-introspection` does: for trying
    /// OAuth against your own authorization server.
    #[arg(long, value_name = "URL", requires = "sandbox_oauth_client_id")]
    pub sandbox_oauth_introspection: Option<String>,
    /// The client the sandbox introspects as.
    #[arg(long, value_name = "ID", requires = "sandbox_oauth_introspection")]
    pub sandbox_oauth_client_id: Option<String>,
    /// A file holding that client's secret.
    #[arg(long, value_name = "FILE", requires = "sandbox_oauth_introspection")]
    pub sandbox_oauth_client_secret_file: Option<PathBuf>,
    /// The sandbox's read-only IMAP port (implicit TLS), for delivery verification; 0 picks a
    /// free one.
    #[arg(long, value_name = "PORT", default_value_t = 2993)]
    pub sandbox_imap_port: u16,
}

#[derive(Debug, Args)]
pub struct SendArgs {
    /// The profile to send with: its name or id.
    #[arg(long)]
    pub profile: String,
    #[command(flatten)]
    pub message: MessageArgs,
    /// Print the redacted SMTP transcript.
    #[arg(long)]
    pub transcript: bool,
    /// Only queue the message in the outbox and exit; `mailbridge serve` or
    /// `mailbridge outbox flush` sends it.
    #[arg(long, conflicts_with_all = ["transcript", "verify_at"])]
    pub no_wait: bool,
    /// After sending, find the message at this receiving mailbox (name or id) and say where
    /// it landed: exit 0 for the Inbox, 1 for Spam or not arrived. The recipients must
    /// include the mailbox's address.
    #[arg(long, value_name = "MAILBOX")]
    pub verify_at: Option<String>,
    /// How long to wait for it to arrive at the --verify-at mailbox, in seconds.
    #[arg(
        long,
        value_name = "SECONDS",
        default_value_t = 180,
        requires = "verify_at"
    )]
    pub verify_timeout: u64,
}

/// The message `send` sends and `lint` checks.
#[derive(Debug, Args)]
pub struct MessageArgs {
    /// A recipient, such as "Bob <bob@example.com>"; repeatable.
    #[arg(long, value_name = "ADDRESS")]
    pub to: Vec<String>,
    /// A recipient of a copy, shown to everyone; repeatable.
    #[arg(long, value_name = "ADDRESS")]
    pub cc: Vec<String>,
    /// A hidden recipient: only in the envelope, never in the message; repeatable.
    #[arg(long, value_name = "ADDRESS")]
    pub bcc: Vec<String>,
    /// Where replies should go [default: the profile's Reply-To, if it has one].
    #[arg(long, value_name = "ADDRESS")]
    pub reply_to: Option<String>,
    /// The Subject line.
    #[arg(long)]
    pub subject: Option<String>,
    /// The plain-text body.
    #[arg(long, conflicts_with = "body_file")]
    pub body: Option<String>,
    /// Read the plain-text body from FILE (UTF-8); "-" reads standard input.
    #[arg(long, value_name = "FILE")]
    pub body_file: Option<PathBuf>,
    /// Read an HTML body from FILE (UTF-8), sent beside any plain-text one; "-" reads standard
    /// input.
    #[arg(long, value_name = "FILE")]
    pub html_file: Option<PathBuf>,
    /// A file to attach; repeatable. "-" attaches standard input, named "attachment".
    #[arg(long, value_name = "FILE")]
    pub attach: Vec<PathBuf>,
}

impl MessageArgs {
    /// What a message needs that clap cannot say for both commands: a recipient, a subject
    /// and a body.
    fn require(&self, command: &str) -> anyhow::Result<()> {
        let missing: Vec<&str> = [
            ("--to ADDRESS", self.to.is_empty()),
            ("--subject TEXT", self.subject.is_none()),
            (
                "--body, --body-file or --html-file",
                self.body.is_none() && self.body_file.is_none() && self.html_file.is_none(),
            ),
        ]
        .into_iter()
        .filter_map(|(flag, missing)| missing.then_some(flag))
        .collect();
        if missing.is_empty() {
            return Ok(());
        }
        bail!(UsageError(format!(
            "{command} needs {}; see `mailbridge {command} --help`",
            missing.join(" and ")
        )))
    }
}

#[derive(Debug, Args)]
pub struct LintArgs {
    /// The profile the message would be sent with: its name or id.
    #[arg(long)]
    pub profile: String,
    /// A whole message to check as it is (RFC 5322, such as a .eml file); "-" reads standard
    /// input. Without it, the message is built from the same flags as `send`.
    #[arg(value_name = "FILE.eml", conflicts_with_all = ["to", "cc", "bcc", "reply_to", "subject", "body", "body_file", "html_file", "attach"])]
    pub eml: Option<PathBuf>,
    #[command(flatten)]
    pub message: MessageArgs,
    /// Check the message as one of a campaign's: the bulk-sender rules (one-click
    /// unsubscribe, List-Id) apply.
    #[arg(long)]
    pub campaign: bool,
    /// Also send one HEAD request per link (5 at a time, 10 s each; never to loopback or
    /// private addresses).
    #[arg(long)]
    pub check_links: bool,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum ProfilesCommand {
    /// List the profiles, with their server and whether their secret is stored.
    List,
    /// Print one profile as a team file. Never contains a secret.
    Show {
        /// The profile's name or id.
        name: String,
    },
    /// Import a team file (mailbridge-profiles JSON).
    Import {
        /// The team file; "-" reads standard input.
        file: PathBuf,
        /// What to do when a name already exists.
        #[arg(long, value_enum, default_value_t = ConflictArg::Skip)]
        conflict: ConflictArg,
    },
    /// Export profiles as a team file, to FILE or standard output. Never contains a secret.
    Export {
        /// The file to write; "-" or none writes standard output.
        file: Option<PathBuf>,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ConflictArg {
    /// Keep the existing profile and drop the imported one.
    Skip,
    /// Replace the existing profile's settings, keeping its id and so its secret.
    Overwrite,
    /// Add the imported profile under a new name, such as "Team Gmail (2)".
    KeepBoth,
}

#[derive(Debug, Subcommand)]
pub enum SecretCommand {
    /// Store the profile's secret: prompts without echo, or reads standard input when it is
    /// not a terminal. Google's spaced app passwords are fine.
    Set {
        /// The profile's name or id.
        name: String,
    },
    /// Forget the profile's secret, from the keyring or the secrets file.
    Clear {
        /// The profile's name or id.
        name: String,
    },
}

pub fn run(cli: Cli) -> ExitCode {
    // Read while this is the only thread: the time zone says when quotas free up.
    if let Ok(offset) = time::UtcOffset::current_local_offset() {
        crate::outbox::set_local_offset(i64::from(offset.whole_seconds()));
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::from(exit::PERMANENT);
        }
    };
    match runtime.block_on(dispatch(cli)) {
        Ok(code) => ExitCode::from(code),
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(exit_code_of(&error))
        }
    }
}

async fn dispatch(cli: Cli) -> anyhow::Result<u8> {
    let global = cli.global;
    match cli.command {
        Command::Explain { reply } => explain(reply),
        Command::Sandbox(args) => sandbox::run_cli(args).await.map(|()| exit::OK),
        Command::Serve(args) => serve(&global, args).await.map(|()| exit::OK),
        Command::Pair {
            reset,
            firefox,
            port,
        } => pair(&global, reset, firefox, port),
        Command::Service(command) => service::run(&global, command),
        Command::Check {
            profile,
            transcript,
        } => {
            let bridge = open_bridge(&global, None)?;
            let profile = find_profile(&bridge, &profile).await?;
            let outcome =
                run_operation(&bridge, Operation::CheckConnection { profile }, transcript).await?;
            Ok(print_outcome(&outcome))
        }
        Command::Test {
            profile,
            verify_all: true,
            verify_timeout,
            ..
        } => verify::test_and_verify_all(&global, &profile, verify_timeout).await,
        Command::Test {
            profile,
            transcript,
            verify: Some(mailbox),
            verify_timeout,
            ..
        } => verify::test_and_verify(&global, &profile, &mailbox, verify_timeout, transcript).await,
        Command::Verify(args) => verify::verify(&global, args).await,
        Command::Mailboxes(command) => verify::mailboxes(&global, command).await,
        Command::Bounces(args) => verify::bounces(&global, args).await,
        Command::Test {
            profile,
            transcript,
            verify: None,
            ..
        } => {
            let bridge = open_bridge(&global, None)?;
            let profile = find_profile(&bridge, &profile).await?;
            let outcome =
                run_operation(&bridge, Operation::SendTest { profile }, transcript).await?;
            Ok(print_outcome(&outcome))
        }
        Command::Send(args) => send(&global, args).await,
        Command::Lint(args) => lint::run(&global, args).await,
        Command::Profiles(command) => profiles(&global, command).await,
        Command::Secret(command) => secret(&global, command).await,
        Command::Oauth(command) => oauth::run(&global, command).await,
        Command::Outbox(command) => outbox::run(&global, command).await,
        Command::Merge(args) => merge::run(&global, args).await,
        Command::Unsubscribe(command) => unsubscribe::run(&global, command),
        Command::Suppression(command) => suppression::run(&global, command),
    }
}

/// Opens the stores (and, for `serve`, the sandbox) and builds the bridge.
pub fn open_bridge(
    global: &Global,
    sandbox: Option<sandbox::Sandbox>,
) -> anyhow::Result<Arc<Bridge>> {
    let secrets = open_secrets(global)?;
    let config_dir = global
        .config_dir
        .clone()
        .or_else(store::config_dir)
        .context("cannot tell where to keep profiles: set HOME or --config-dir")?;
    let data_dir = data_dir(global)?;
    let profiles = ProfileStore::open(config_dir.join("profiles.json"))?;
    let grants = store::GrantStore::open(config_dir.join("oauth-grants.json"))?;
    std::fs::create_dir_all(&data_dir)
        .with_context(|| format!("creating the data directory {}", data_dir.display()))?;
    let history = HistoryStore::open(data_dir.join("history.sqlite3"), 1000)?;
    let outbox = Outbox::open(&data_dir, OutboxConfig::default())?;
    Ok(Bridge::new(Parts {
        secrets,
        profiles,
        history,
        outbox,
        sandbox,
        timeouts: Timeouts::default(),
        retry: RetryPolicy::default(),
        data_dir,
        checks: ChecksConfig {
            spamd: global.spamd.clone(),
            dns_servers: global.dns_server.clone(),
        },
        grants,
    }))
}

fn open_secrets(global: &Global) -> anyhow::Result<Box<dyn store::SecretStore>> {
    let options = SecretOptions {
        file: global.secrets_file.clone(),
    };
    // With no keyring, a secrets file the user opted in to before (with the fallback flag, as
    // `cargo xtask run` does) is still their choice, so later commands find the same secrets.
    let earlier_choice = global
        .config_dir
        .clone()
        .or_else(store::config_dir)
        .map(|dir| dir.join("secrets.json"))
        .filter(|file| file.exists());
    match (
        store::open(&options),
        global.secrets_file_fallback.clone().or(earlier_choice),
    ) {
        (Ok(store), _) => Ok(store),
        (Err(_), Some(fallback)) => Ok(store::open(&SecretOptions {
            file: Some(fallback),
        })?),
        (Err(error), None) => Err(error.into()),
    }
}

fn data_dir(global: &Global) -> anyhow::Result<PathBuf> {
    global
        .data_dir
        .clone()
        .or_else(store::data_dir)
        .context("cannot tell where to keep data: set HOME or --data-dir")
}

async fn serve(global: &Global, args: ServeArgs) -> anyhow::Result<()> {
    if !args.bind.is_loopback() {
        if !args.allow_non_loopback {
            bail!(
                "refusing to listen on {}: other machines could reach the bridge and your mail account. \
                 Use 127.0.0.1, or add --allow-non-loopback if you really mean it",
                args.bind
            );
        }
        eprintln!(
            "WARNING: listening on {}, which is not loopback. Other machines can reach this bridge; \
             only the pairing token protects your mail account.",
            args.bind
        );
    }
    let listener = tokio::net::TcpListener::bind(SocketAddr::new(args.bind, args.port))
        .await
        .with_context(|| {
            format!(
                "listening on {}:{} (is another mailbridge running? use --port)",
                args.bind, args.port
            )
        })?;
    let port = listener.local_addr()?.port();
    let sandbox = if args.no_sandbox {
        None
    } else {
        Some(start_sandbox(global, &args).await?)
    };
    let bridge = open_bridge(global, sandbox)?;
    let token = store::pairing_token(open_secrets(global)?.as_ref())?;
    let url = format!("http://127.0.0.1:{port}/#pair={}", token.expose());
    println!("mailbridge is running.");
    if args.hide_pairing_address {
        println!(
            "The web app and the browser extension pair with the address `mailbridge pair` prints."
        );
    } else {
        println!(
            "Open this address to pair the web app, or paste it into the browser extension (keep it private, it holds the pairing token):"
        );
        println!("  {url}");
    }
    println!("Secrets are kept in {}.", bridge.secret_store_description());
    if let Some(sandbox) = bridge.sandbox() {
        println!(
            "The sandbox is listening on {} (STARTTLS) and {} (TLS), IMAP on {} (TLS, \
             read-only, for delivery verification).",
            sandbox.starttls_addr(),
            sandbox.tls_addr(),
            sandbox.imap_addr()
        );
    }
    match bridge.outbox().try_take_over() {
        Ok(Some((requeued, ambiguous))) => {
            let counts = bridge.outbox().counts()?;
            println!(
                "The outbox resumes: {} waiting to go{}.",
                counts.pending(),
                match (requeued, ambiguous) {
                    (0, 0) => String::new(),
                    (requeued, 0) => format!(
                        " ({requeued} were being sent when mailbridge stopped and go again)"
                    ),
                    (requeued, ambiguous) => format!(
                        " ({requeued} go again; {ambiguous} may have been delivered before mailbridge stopped and are held: \
                         see `mailbridge outbox list --state ambiguous`)"
                    ),
                }
            );
        }
        Ok(None) => {
            if let protocol::Deliverer::Elsewhere { detail } = bridge.outbox().deliverer() {
                println!("{detail}; this one queues mail for it, and takes over if it stops.");
            }
        }
        Err(error) => eprintln!("The outbox cannot be delivered: {error}"),
    }
    bridge.outbox().keep_transcripts(args.keep_transcripts);
    bridge.start_delivering();
    println!("Press Ctrl-C to stop.");
    let _ = std::io::stdout().flush();
    if args.open {
        open_browser(&url);
    }
    let config = ServeConfig {
        allow_origins: args.allow_origin,
        firefox: Some(server::FirefoxOrigin::in_data_dir(&data_dir(global)?)),
        ..ServeConfig::default()
    };
    let shutdown = async {
        let _ = sandbox::stop_requested().await;
    };
    server::run(listener, bridge.clone(), token, config, shutdown).await?;
    println!("stopping: letting the operations in flight finish (at most 30 s)");
    bridge
        .stop_delivering(std::time::Duration::from_secs(30))
        .await;
    if !bridge.drain(std::time::Duration::from_secs(30)).await {
        eprintln!("some operations were still running after 30 s and were stopped");
    }
    if let Some(bridge) = Arc::into_inner(bridge) {
        bridge.shutdown().await;
    }
    Ok(())
}

/// The sandbox on its usual ports, or on free ones when those are taken.
async fn start_sandbox(global: &Global, args: &ServeArgs) -> anyhow::Result<sandbox::Sandbox> {
    let mut config = sandbox::Config::new(data_dir(global)?.join("sandbox"));
    config.starttls_port = args.sandbox_starttls_port;
    config.tls_port = args.sandbox_tls_port;
    if let (Some(url), Some(client_id)) = (
        &args.sandbox_oauth_introspection,
        &args.sandbox_oauth_client_id,
    ) {
        let client_secret = match &args.sandbox_oauth_client_secret_file {
            Some(path) => std::fs::read_to_string(path)
                .with_context(|| format!("reading the client secret from {}", path.display()))?
                .trim()
                .to_owned(),
            None => bail!(UsageError(
                "--sandbox-oauth-introspection needs --sandbox-oauth-client-secret-file".to_owned()
            )),
        };
        config.introspection = Some(sandbox::Introspection {
            url: url.clone(),
            client_id: client_id.clone(),
            client_secret,
        });
    }
    config.imap_port = args.sandbox_imap_port;
    match sandbox::Sandbox::start(config.clone()).await {
        Ok(sandbox) => Ok(sandbox),
        Err(sandbox::Error::Bind { .. }) => {
            config.starttls_port = 0;
            config.tls_port = 0;
            config.imap_port = 0;
            sandbox::Sandbox::start(config)
                .await
                .context("starting the sandbox")
        }
        Err(error) => Err(error).context("starting the sandbox"),
    }
}

fn open_browser(url: &str) {
    let opener = if cfg!(target_os = "macos") {
        "open"
    } else if cfg!(windows) {
        "explorer"
    } else {
        "xdg-open"
    };
    if let Err(error) = std::process::Command::new(opener).arg(url).spawn() {
        eprintln!("could not open a browser ({opener}: {error}); open the address above yourself");
    }
}

fn pair(global: &Global, reset: bool, firefox: bool, port: u16) -> anyhow::Result<u8> {
    let secrets = open_secrets(global)?;
    let firefox_origin = server::FirefoxOrigin::in_data_dir(&data_dir(global)?);
    if reset {
        store::reset_pairing_token(secrets.as_ref())?;
        firefox_origin
            .forget()
            .with_context(|| format!("removing {}", firefox_origin.path().display()))?;
        println!(
            "Made a new pairing token. Pages and the extension paired before must pair again; a running \
             mailbridge serve accepts only the new one from now on."
        );
    }
    if firefox {
        firefox_origin
            .open_window(std::time::SystemTime::now())
            .context("opening the Firefox pairing window")?;
        eprintln!(
            "For the next 10 minutes, the first Firefox extension that pairs with this code is remembered, and then it alone may connect."
        );
    }
    let token = store::pairing_token(secrets.as_ref())?;
    println!("http://127.0.0.1:{port}/#pair={}", token.expose());
    // On standard error, so that a script reading the address gets the one line it expects.
    eprintln!(
        "Open it in a browser to pair the web app, or paste it into the browser extension's pairing screen."
    );
    Ok(exit::OK)
}

async fn send(global: &Global, args: SendArgs) -> anyhow::Result<u8> {
    // Checked before anything else, so a script learns of the mistake without side effects.
    args.message.require("send")?;
    check_one_stdin_use(&args.message)?;
    let bridge = open_bridge(global, None)?;
    let profile = find_profile(&bridge, &args.profile).await?;
    let draft = draft_from(&bridge, args.message).await?;
    if args.no_wait {
        let outcome = bridge
            .execute(
                Operation::EnqueueBatch {
                    profile,
                    drafts: vec![draft],
                },
                None,
            )
            .await
            .map_err(operation_error)?;
        if let Outcome::Enqueued {
            entries, warnings, ..
        } = &outcome
        {
            for warning in warnings {
                println!("Warning: {warning}");
            }
            let who = match bridge.outbox().deliverer() {
                protocol::Deliverer::Elsewhere { detail } => format!("{detail}, and sends it."),
                _ => "`mailbridge serve` or `mailbridge outbox flush` sends it.".to_owned(),
            };
            let ids: Vec<String> = entries.iter().map(u64::to_string).collect();
            println!("Queued as outbox entry {}; {who}", ids.join(", "));
        }
        return Ok(exit::OK);
    }
    if let Some(mailbox) = args.verify_at {
        let operation = Operation::SendVerifyingAt {
            profile,
            draft,
            mailbox,
            limit_seconds: Some(args.verify_timeout),
        };
        let outcome = run_operation(&bridge, operation, args.transcript).await?;
        let Outcome::SentAndVerified { results } = outcome else {
            bail!("the bridge gave no verdict");
        };
        let Some(done) = results.into_iter().next() else {
            bail!("the bridge gave no verdict");
        };
        if let Some(send) = &done.send {
            let sent = print_outcome(send);
            if !matches!(**send, Outcome::Sent(_) | Outcome::Queued(_)) {
                return Ok(sent);
            }
        }
        return Ok(verify::print_report(&done.report, args.transcript));
    }
    let outcome =
        run_operation(&bridge, Operation::Send { profile, draft }, args.transcript).await?;
    Ok(print_outcome(&outcome))
}

/// The draft the message flags describe, with its attachments uploaded to the bridge.
pub(crate) async fn draft_from(bridge: &Bridge, args: MessageArgs) -> anyhow::Result<Draft> {
    let text = match (&args.body, &args.body_file) {
        (Some(body), _) => Some(body.clone()),
        (None, Some(path)) => Some(read_text(path, "--body-file")?),
        (None, None) => None,
    };
    let html = args
        .html_file
        .as_ref()
        .map(|path| read_text(path, "--html-file"))
        .transpose()?;
    let mut attachments = Vec::new();
    for path in &args.attach {
        attachments.push(upload(bridge, path).await?);
    }
    Ok(Draft {
        to: args.to,
        cc: args.cc,
        bcc: args.bcc,
        reply_to: args.reply_to,
        subject: args.subject.unwrap_or_default(),
        text,
        html,
        attachments,
        headers: Vec::new(),
    })
}

/// Standard input can be read only once, so at most one of the message's files may be `-`.
pub(crate) fn check_one_stdin_use(args: &MessageArgs) -> anyhow::Result<()> {
    let mut uses: Vec<&str> = [
        ("--body-file -", &args.body_file),
        ("--html-file -", &args.html_file),
    ]
    .into_iter()
    .filter(|(_, path)| path.as_deref().is_some_and(is_stdio))
    .map(|(using, _)| using)
    .collect();
    uses.extend(
        args.attach
            .iter()
            .filter(|path| is_stdio(path))
            .map(|_| "--attach -"),
    );
    if let [first @ .., last] = uses.as_slice()
        && !first.is_empty()
    {
        bail!(UsageError(format!(
            "{} and {last} {} read standard input, which can be read only once: give a file to \
             all but one",
            first.join(", "),
            if first.len() == 1 { "both" } else { "all" }
        )));
    }
    Ok(())
}

fn is_stdio(path: &Path) -> bool {
    path.as_os_str() == STDIO
}

/// A path for messages, with `-` spelled out.
fn describe(path: &Path) -> String {
    if is_stdio(path) {
        "standard input".to_owned()
    } else {
        path.display().to_string()
    }
}

/// The bytes of a file, or of standard input for `-`; errors start with `what` (the flag).
pub(crate) fn read_input(path: &Path, what: &str) -> anyhow::Result<Vec<u8>> {
    if is_stdio(path) {
        let mut bytes = Vec::new();
        std::io::stdin()
            .lock()
            .read_to_end(&mut bytes)
            .with_context(|| format!("{what}: cannot read standard input"))?;
        Ok(bytes)
    } else {
        std::fs::read(path).with_context(|| format!("{what}: cannot read {}", path.display()))
    }
}

fn read_text(path: &Path, what: &str) -> anyhow::Result<String> {
    String::from_utf8(read_input(path, what)?)
        .with_context(|| format!("{what}: {} is not UTF-8 text", describe(path)))
}

/// Hands a file to the bridge the way the page does: announced, then in chunks.
async fn upload(bridge: &Bridge, path: &Path) -> anyhow::Result<AttachmentRef> {
    let bytes = read_input(path, "--attach")?;
    let filename = path
        .file_name()
        .filter(|_| !is_stdio(path))
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_else(|| "attachment".to_owned());
    let content_type = content_type_for(&filename).to_owned();
    let size_bytes = bytes.len() as u64;
    let started = bridge
        .execute(
            Operation::BeginUpload {
                filename: filename.clone(),
                content_type: content_type.clone(),
                size_bytes,
            },
            None,
        )
        .await
        .map_err(operation_error)?;
    let Outcome::UploadStarted { upload } = started else {
        bail!("the bridge did not start the upload of {filename}");
    };
    let mut offset = 0u64;
    for chunk in bytes.chunks(protocol::MAX_CHUNK_BYTES) {
        bridge
            .execute(
                Operation::UploadChunk {
                    upload,
                    offset,
                    data_base64: STANDARD.encode(chunk),
                },
                None,
            )
            .await
            .map_err(operation_error)?;
        offset += chunk.len() as u64;
    }
    Ok(AttachmentRef {
        upload,
        filename,
        content_type,
        size_bytes,
    })
}

/// A content type from the file name, for the common cases; anything else is plain bytes.
fn content_type_for(filename: &str) -> &'static str {
    let extension = filename
        .rsplit_once('.')
        .map(|(_, extension)| extension.to_ascii_lowercase())
        .unwrap_or_default();
    match extension.as_str() {
        "txt" | "log" => "text/plain",
        "csv" => "text/csv",
        "html" | "htm" => "text/html",
        "pdf" => "application/pdf",
        "json" => "application/json",
        "zip" => "application/zip",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "svg" => "image/svg+xml",
        "ics" => "text/calendar",
        _ => "application/octet-stream",
    }
}

async fn profiles(global: &Global, command: ProfilesCommand) -> anyhow::Result<u8> {
    let bridge = open_bridge(global, None)?;
    match command {
        ProfilesCommand::List => {
            let Outcome::Profiles { profiles } = bridge
                .execute(Operation::ListProfiles, None)
                .await
                .map_err(operation_error)?
            else {
                bail!("the bridge did not list the profiles");
            };
            if profiles.is_empty() {
                println!(
                    "No profiles yet. Run `mailbridge serve` to create the sandbox profile, or import a team file."
                );
            }
            for view in profiles {
                let profile = &view.profile;
                println!(
                    "{:<24} {}:{} {} {} secret: {}",
                    profile.name,
                    profile.host,
                    profile.port,
                    profile.security.label(),
                    profile.auth.label(),
                    match view.secret {
                        protocol::SecretState::Stored => "stored",
                        protocol::SecretState::Missing => "missing",
                        protocol::SecretState::NotNeeded => "not needed",
                    }
                );
            }
        }
        ProfilesCommand::Show { name } => {
            let id = find_profile(&bridge, &name).await?;
            let Outcome::Exported { json, .. } = bridge
                .execute(Operation::ExportProfiles { profiles: vec![id] }, None)
                .await
                .map_err(operation_error)?
            else {
                bail!("the bridge did not export the profile");
            };
            print!("{json}");
        }
        ProfilesCommand::Import { file, conflict } => {
            let json = read_text(&file, "profiles import")?;
            let conflict = match conflict {
                ConflictArg::Skip => Conflict::Skip,
                ConflictArg::Overwrite => Conflict::Overwrite,
                ConflictArg::KeepBoth => Conflict::KeepBoth,
            };
            let outcome = bridge
                .execute(Operation::ImportProfiles { json, conflict }, None)
                .await
                .map_err(operation_error)
                .with_context(|| format!("cannot import {}", describe(&file)))?;
            if let Outcome::Imported {
                added,
                overwritten,
                skipped,
                renamed,
            } = outcome
            {
                println!(
                    "Imported from {}: {} added, {} overwritten, {} skipped, {} renamed.",
                    describe(&file),
                    added.len(),
                    overwritten.len(),
                    skipped.len(),
                    renamed.len()
                );
                for (from, to) in renamed {
                    println!("  {from:?} was renamed to {to:?}");
                }
            }
        }
        ProfilesCommand::Export { file } => {
            let Outcome::Exported { json, .. } = bridge
                .execute(Operation::ExportProfiles { profiles: vec![] }, None)
                .await
                .map_err(operation_error)?
            else {
                bail!("the bridge did not export the profiles");
            };
            match file.filter(|path| !is_stdio(path)) {
                Some(path) => std::fs::write(&path, json)
                    .with_context(|| format!("profiles export: cannot write {}", path.display()))?,
                None => {
                    // Not print!, which panics when the reader of a pipe has gone away.
                    let mut stdout = std::io::stdout().lock();
                    stdout
                        .write_all(json.as_bytes())
                        .and_then(|()| stdout.flush())
                        .context("profiles export: cannot write standard output")?;
                }
            }
        }
    }
    Ok(exit::OK)
}

async fn secret(global: &Global, command: SecretCommand) -> anyhow::Result<u8> {
    let bridge = open_bridge(global, None)?;
    match command {
        SecretCommand::Set { name } => {
            let profile = find_profile(&bridge, &name).await?;
            let secret = read_secret(&name)?;
            bridge
                .execute(Operation::SetSecret { profile, secret }, None)
                .await
                .map_err(operation_error)?;
            println!(
                "Stored the secret for {name:?} in {}.",
                bridge.secret_store_description()
            );
        }
        SecretCommand::Clear { name } => {
            let profile = find_profile(&bridge, &name).await?;
            bridge
                .execute(Operation::ClearSecret { profile }, None)
                .await
                .map_err(operation_error)?;
            println!("Cleared the secret for {name:?}.");
        }
    }
    Ok(exit::OK)
}

/// Reads a secret without echo from a terminal, or as the first line of standard input.
fn read_secret(name: &str) -> anyhow::Result<Secret> {
    read_secret_with(&format!("App password or token for {name:?} (not shown): "))
}

/// [`read_secret`] with its own prompt.
pub(crate) fn read_secret_with(prompt: &str) -> anyhow::Result<Secret> {
    let stdin = std::io::stdin();
    let mut line = String::new();
    if stdin.is_terminal() {
        eprint!("{prompt}");
        let _ = std::io::stderr().flush();
        line = read_without_echo()?;
        eprintln!();
    } else {
        stdin
            .lock()
            .read_to_string(&mut line)
            .context("reading the secret from standard input")?;
    }
    let secret = line.lines().next().unwrap_or_default().trim().to_owned();
    if secret.is_empty() {
        bail!(UsageError("no secret given: type or pipe it".to_owned()));
    }
    Ok(Secret::new(secret))
}

/// Turns terminal echo off with `stty` for the one line, so no extra crate is needed.
fn read_without_echo() -> anyhow::Result<String> {
    let stty = |arg: &str| {
        std::process::Command::new("stty")
            .arg(arg)
            .stdin(std::process::Stdio::inherit())
            .status()
    };
    let _ = stty("-echo");
    let mut line = String::new();
    let read = std::io::stdin().read_line(&mut line);
    let _ = stty("echo");
    read.context("reading the secret")?;
    Ok(line)
}

/// Finds a profile by id or, failing that, by name.
pub(crate) async fn find_profile(bridge: &Bridge, name: &str) -> anyhow::Result<ProfileId> {
    let Outcome::Profiles { profiles } = bridge
        .execute(Operation::ListProfiles, None)
        .await
        .map_err(operation_error)?
    else {
        bail!("the bridge did not list the profiles");
    };
    profiles
        .iter()
        .find(|view| view.profile.id.0 == name)
        .or_else(|| {
            profiles
                .iter()
                .find(|view| view.profile.name.eq_ignore_ascii_case(name))
        })
        .map(|view| view.profile.id.clone())
        .ok_or_else(|| {
            let names: Vec<&str> = profiles
                .iter()
                .map(|view| view.profile.name.as_str())
                .collect();
            anyhow::Error::new(UsageError(format!(
                "there is no profile named {name:?}; the profiles are: {}",
                if names.is_empty() {
                    "(none)".to_owned()
                } else {
                    names.join(", ")
                }
            )))
        })
}

/// Runs an operation, printing its transcript to standard error as it happens when asked.
async fn run_operation(
    bridge: &Bridge,
    operation: Operation,
    transcript: bool,
) -> anyhow::Result<Outcome> {
    let (progress_tx, mut progress_rx) = mpsc::unbounded_channel();
    let printer = tokio::spawn(async move {
        while let Some(progress) = progress_rx.recv().await {
            print_progress(&progress, transcript);
        }
    });
    let result = bridge.execute(operation, Some(progress_tx)).await;
    let _ = printer.await;
    result.map_err(operation_error)
}

fn print_progress(progress: &Progress, transcript: bool) {
    match progress {
        Progress::Transcript(line) if transcript => {
            let arrow = match line.direction {
                Direction::Client => "C:",
                Direction::Server => "S:",
                Direction::Note => "  ",
            };
            eprintln!("{:>6} ms {arrow} {}", line.at_ms, line.text);
        }
        Progress::Step(step) if step.status != StepStatus::Running => {
            let mark = match step.status {
                StepStatus::Ok => "ok",
                StepStatus::Failed => "FAILED",
                StepStatus::Skipped => "skipped",
                StepStatus::Running => "",
            };
            eprintln!(
                "{:<10} {mark:<7} {:>5} ms  {}",
                step.step.to_string(),
                step.duration_ms,
                step.detail
            );
        }
        Progress::Retry {
            attempt,
            wait_ms,
            reason,
        } => eprintln!("retrying (attempt {attempt}) in {wait_ms} ms: {reason}"),
        _ => {}
    }
}

/// Prints a result for a person and returns the exit code.
fn print_outcome(outcome: &Outcome) -> u8 {
    match outcome {
        Outcome::Checked(report) => {
            if let Some(tls) = &report.tls {
                if tls.established() {
                    println!("TLS: {} {}", tls.version, tls.cipher);
                } else {
                    println!("TLS: the handshake failed");
                }
                if !tls.chain.is_empty() {
                    println!("Certificates the server presented (leaf first):");
                }
                for (number, cert) in tls.chain.iter().enumerate() {
                    println!("  {}. {}", number + 1, cert.subject);
                    println!("     issued by {}", cert.issuer);
                    println!("     valid {} to {}", cert.not_before, cert.not_after);
                    if !cert.names.is_empty() {
                        println!("     names {}", cert.names.join(", "));
                    }
                    println!("     SHA-256 {}", cert.sha256);
                }
            }
            if !report.capabilities.is_empty() {
                println!("Capabilities: {}", report.capabilities.join(", "));
            }
            for warning in &report.warnings {
                println!("Warning: {warning}");
            }
            match (&report.verdict, &report.diagnosis) {
                (Verdict::Ok, _) => {
                    println!("Connection OK.");
                    exit::OK
                }
                (Verdict::Failed, Some(diagnosis)) => {
                    println!("\n{diagnosis}");
                    retry_exit(diagnosis.retry)
                }
                (Verdict::Failed, None) => exit::PERMANENT,
            }
        }
        Outcome::Queued(queued) => {
            for warning in &queued.warnings {
                println!("Warning: {warning}");
            }
            println!("Queued: {}.", queued.reason);
            println!(
                "It stays in the outbox as entry {} ({}); `mailbridge serve` or `mailbridge outbox flush` sends it, `mailbridge outbox show {}` tells more.",
                queued.entry, queued.message_id, queued.entry
            );
            exit::TRANSIENT
        }
        Outcome::Sent(report) => {
            for warning in &report.warnings {
                println!("Warning: {warning}");
            }
            println!(
                "Sent {} to {}.",
                report.message_id,
                report.recipients.join(", ")
            );
            println!("Server: {}", report.reply);
            if report.attempts > 1 {
                println!("It took {} attempts.", report.attempts);
            }
            exit::OK
        }
        _ => exit::OK,
    }
}

fn retry_exit(retry: Retry) -> u8 {
    match retry {
        Retry::Transient => exit::TRANSIENT,
        Retry::Permanent | Retry::AfterQuotaWindow => exit::PERMANENT,
    }
}

/// A mistake in the command line or its input, as opposed to a failure of the operation.
#[derive(Debug)]
struct UsageError(String);

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

/// An operation's failure, kept whole so the exit code can follow its diagnosis.
#[derive(Debug)]
struct Failed(OperationError);

impl std::fmt::Display for Failed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.0.diagnosis {
            Some(diagnosis) => write!(f, "{}\n\n{diagnosis}", self.0.message),
            None => write!(f, "{}", self.0),
        }
    }
}

impl std::error::Error for Failed {}

pub(crate) fn operation_error(error: OperationError) -> anyhow::Error {
    anyhow::Error::new(Failed(error))
}

fn exit_code_of(error: &anyhow::Error) -> u8 {
    if error.downcast_ref::<UsageError>().is_some() {
        return exit::USAGE;
    }
    match error.downcast_ref::<Failed>() {
        Some(Failed(failure)) => match (&failure.diagnosis, failure.kind) {
            (Some(diagnosis), _) => retry_exit(diagnosis.retry),
            (None, ErrorKind::Invalid | ErrorKind::BadRequest | ErrorKind::NotFound) => exit::USAGE,
            (None, ErrorKind::Busy) => exit::TRANSIENT,
            (None, _) => exit::PERMANENT,
        },
        None => exit::PERMANENT,
    }
}

fn explain(reply: Option<String>) -> anyhow::Result<u8> {
    let text = match reply.as_deref() {
        Some(text) if text != "-" => text.to_owned(),
        _ => {
            let mut text = String::new();
            std::io::stdin()
                .read_to_string(&mut text)
                .context("reading the reply from standard input")?;
            text
        }
    };
    let text = text.trim_end();
    let diagnosis = diagnosis::explain(text)
        .map_err(|error| anyhow::Error::new(UsageError(error.to_string())))?;
    print!("{diagnosis}");
    Ok(match diagnosis::Reply::parse(text) {
        Ok(reply) if reply.code < 400 => exit::OK,
        _ => retry_exit(diagnosis.retry),
    })
}
