//! The command line: `sandbox` and `mailbridge sandbox` share these arguments.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use tokio::sync::broadcast::error::RecvError;

use crate::config::{
    Config, DEFAULT_ACCOUNT_PASSWORD, DEFAULT_APP_PASSWORD, DEFAULT_MAX_BUFFERED_BYTES,
    DEFAULT_OAUTH_TOKEN, DEFAULT_USER, Faults, GMAIL_MAX_MESSAGE_SIZE, Introspection,
};
use crate::server::Sandbox;

/// Where the client secret for `--oauth-introspection` is read when no file is given.
pub const CLIENT_SECRET_ENV: &str = "MAILBRIDGE_SANDBOX_OAUTH_CLIENT_SECRET";

/// Run a local SMTP server that behaves like smtp.gmail.com: same greeting, same rules, same
/// refusals, in Gmail's words. Mail never leaves this machine; every accepted message is
/// kept for reading.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// Where the CA, the server certificate and captured messages are kept
    /// [default: $XDG_DATA_HOME/mailbridge/sandbox, or ~/.local/share/mailbridge/sandbox].
    #[arg(long, value_name = "DIR", env = "MAILBRIDGE_SANDBOX_DIR")]
    pub data_dir: Option<PathBuf>,
    /// The STARTTLS port (Gmail's is 587); 0 picks a free one.
    #[arg(long, value_name = "PORT", default_value_t = 2587)]
    pub starttls_port: u16,
    /// The implicit-TLS port (Gmail's is 465); 0 picks a free one.
    #[arg(long, value_name = "PORT", default_value_t = 2465)]
    pub tls_port: u16,
    /// The read-only IMAP port, implicit TLS (Gmail's is 993); 0 picks a free one.
    #[arg(long, value_name = "PORT", default_value_t = 2993)]
    pub imap_port: u16,
    /// The account that may log in.
    #[arg(long, value_name = "ADDRESS", default_value = DEFAULT_USER)]
    pub user: String,
    /// The app password AUTH PLAIN and LOGIN accept (compared exactly, spaces included).
    #[arg(long, value_name = "PASSWORD", default_value = DEFAULT_APP_PASSWORD)]
    pub password: String,
    /// The bearer token AUTH XOAUTH2 accepts.
    #[arg(long, value_name = "TOKEN", default_value = DEFAULT_OAUTH_TOKEN)]
    pub token: String,
    /// Also accept bearer tokens (XOAUTH2, and OAUTHBEARER, then offered) that this OAuth token
    /// introspection endpoint (RFC 7662) calls active access tokens of --user with the scope
    /// https://mail.google.com/. Plain http only to this computer.
    #[arg(long, value_name = "URL", requires = "oauth_client_id")]
    pub oauth_introspection: Option<String>,
    /// The OAuth client the sandbox introspects as (usually the one the tokens were issued to).
    #[arg(long, value_name = "ID", requires = "oauth_introspection")]
    pub oauth_client_id: Option<String>,
    /// A file holding that client's secret; without it the secret is read from
    /// $MAILBRIDGE_SANDBOX_OAUTH_CLIENT_SECRET. It is never printed.
    #[arg(long, value_name = "FILE", requires = "oauth_introspection")]
    pub oauth_client_secret_file: Option<PathBuf>,
    /// A password that gets "534 5.7.9 Application-specific password required".
    #[arg(long, value_name = "PASSWORD", default_value = DEFAULT_ACCOUNT_PASSWORD)]
    pub account_password: String,
    /// Refuse MAIL with "550 5.4.5 Daily user sending limit exceeded" after this many messages
    /// in 24 hours.
    #[arg(long, value_name = "N")]
    pub daily_limit: Option<u64>,
    /// The SIZE advertised and enforced, in bytes.
    #[arg(long, value_name = "BYTES", default_value_t = GMAIL_MAX_MESSAGE_SIZE)]
    pub max_message_size: usize,
    /// Close a session that sends nothing for this long.
    #[arg(long, value_name = "SECONDS", default_value_t = 300)]
    pub idle_timeout: u64,
    /// How many captured messages to keep; the oldest go first. Raise it when a test counts
    /// every message of a large batch.
    #[arg(long, value_name = "N", default_value_t = 1000)]
    pub capacity: usize,
    /// Sessions at once; more get "421 4.7.0 Try again later".
    #[arg(long, value_name = "N", default_value_t = 256)]
    pub max_connections: usize,
    /// Message bytes all sessions together may hold while receiving; a message that does not
    /// fit gets "451 4.3.0 Temporary System Problem" and can be retried.
    #[arg(long, value_name = "BYTES", default_value_t = DEFAULT_MAX_BUFFERED_BYTES)]
    pub max_buffered_bytes: usize,
    /// Wait this long before every reply: a slow server.
    #[arg(long, value_name = "MS", default_value_t = 0)]
    pub reply_delay_ms: u64,
    /// Answer the next K connections with "421 4.7.0 Try again later" instead of a greeting.
    #[arg(long, value_name = "K", default_value_t = 0)]
    pub reject_greetings: u32,
    /// Answer the next K MAIL commands with "421 4.7.0 Try again later" and close.
    #[arg(long, value_name = "K", default_value_t = 0)]
    pub reject_mail: u32,
    /// Answer the next K AUTH commands with "454 4.7.0 Too many login attempts".
    #[arg(long, value_name = "K", default_value_t = 0)]
    pub reject_auth: u32,
    /// Cut the connection in the middle of the next K DATA or BDAT transfers.
    #[arg(long, value_name = "K", default_value_t = 0)]
    pub drop_in_data: u32,
    /// File the next K accepted messages in Spam, whatever their spam score.
    #[arg(long, value_name = "K", default_value_t = 0)]
    pub spam_next: u32,
}

impl Args {
    /// The sandbox configuration these arguments describe.
    pub fn config(&self) -> anyhow::Result<Config> {
        let data_dir = match &self.data_dir {
            Some(dir) => dir.clone(),
            None => default_data_dir().context(
                "neither XDG_DATA_HOME nor HOME is set, so there is no default data directory; \
                 pass --data-dir",
            )?,
        };
        let mut config = Config::new(data_dir);
        config.starttls_port = self.starttls_port;
        config.tls_port = self.tls_port;
        config.imap_port = self.imap_port;
        config.user = self.user.clone();
        config.app_password = self.password.clone();
        config.oauth_token = Some(self.token.clone());
        config.account_password = Some(self.account_password.clone());
        config.introspection = self.introspection()?;
        config.idle_timeout = Duration::from_secs(self.idle_timeout.max(1));
        config.max_message_size = self.max_message_size;
        config.capture_capacity = self.capacity;
        config.max_connections = self.max_connections;
        config.max_buffered_bytes = self.max_buffered_bytes;
        config.faults = Faults {
            daily_limit: self.daily_limit,
            reject_greetings: self.reject_greetings,
            reject_mail: self.reject_mail,
            reject_auth: self.reject_auth,
            drop_in_data: self.drop_in_data,
            reply_delay_ms: self.reply_delay_ms,
            spam_next: self.spam_next,
        };
        Ok(config)
    }
}

impl Args {
    /// `--oauth-introspection` with its client, the secret read from its file or the
    /// environment. Errors name the file or variable, never the secret.
    fn introspection(&self) -> anyhow::Result<Option<Introspection>> {
        let (Some(url), Some(client_id)) = (&self.oauth_introspection, &self.oauth_client_id)
        else {
            return Ok(None);
        };
        let client_secret = match &self.oauth_client_secret_file {
            Some(path) => std::fs::read_to_string(path)
                .with_context(|| {
                    format!("reading the OAuth client secret from {}", path.display())
                })?
                .trim()
                .to_owned(),
            None => std::env::var(CLIENT_SECRET_ENV).with_context(|| {
                format!(
                    "--oauth-introspection needs the client's secret: pass \
                     --oauth-client-secret-file FILE or set {CLIENT_SECRET_ENV}"
                )
            })?,
        };
        anyhow::ensure!(
            !client_secret.is_empty(),
            "the OAuth client secret for --oauth-introspection is empty"
        );
        Ok(Some(Introspection {
            url: url.clone(),
            client_id: client_id.clone(),
            client_secret,
        }))
    }
}

/// `$XDG_DATA_HOME/mailbridge/sandbox`, else `~/.local/share/mailbridge/sandbox`.
pub fn default_data_dir() -> Option<PathBuf> {
    let from_env = |name: &str| {
        std::env::var_os(name)
            .map(PathBuf::from)
            // The XDG spec says relative paths are invalid and must be ignored.
            .filter(|path| path.is_absolute())
    };
    let base = from_env("XDG_DATA_HOME")
        .or_else(|| from_env("HOME").map(|home| home.join(".local").join("share")))?;
    Some(base.join("mailbridge").join("sandbox"))
}

/// Starts a sandbox, prints how to reach it and each message it captures, and stops cleanly
/// on Ctrl-C (or SIGTERM).
pub async fn run_cli(args: Args) -> anyhow::Result<()> {
    let config = args.config()?;
    let sandbox = Sandbox::start(config)
        .await
        .context("starting the sandbox")?;
    print!("{}", sandbox.banner());
    println!("Press Ctrl-C to stop.");
    let mut arrivals = sandbox.store().subscribe();
    let stop = stop_requested();
    tokio::pin!(stop);
    loop {
        tokio::select! {
            stopped = &mut stop => {
                stopped?;
                break;
            }
            arrival = arrivals.recv() => match arrival {
                Ok(summary) => println!(
                    "captured #{}: {} -> {}: {:?} ({} bytes)",
                    summary.id,
                    summary.from,
                    summary.to.join(", "),
                    summary.subject,
                    summary.size_bytes
                ),
                Err(RecvError::Lagged(missed)) => println!("({missed} more messages captured)"),
                Err(RecvError::Closed) => break,
            },
        }
    }
    println!("stopping the sandbox");
    sandbox.shutdown().await;
    Ok(())
}

/// Ctrl-C, or on Unix also SIGTERM (how service managers and the bridge stop a process).
pub async fn stop_requested() -> anyhow::Result<()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut terminate = signal(SignalKind::terminate()).context("listening for SIGTERM")?;
        tokio::select! {
            signal = tokio::signal::ctrl_c() => signal.context("listening for Ctrl-C"),
            _ = terminate.recv() => Ok(()),
        }
    }
    #[cfg(not(unix))]
    {
        tokio::signal::ctrl_c()
            .await
            .context("listening for Ctrl-C")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        args: Args,
    }

    #[test]
    fn flags_become_config() {
        let cli = Cli::try_parse_from([
            "sandbox",
            "--data-dir",
            "/tmp/x",
            "--starttls-port",
            "0",
            "--tls-port",
            "1465",
            "--imap-port",
            "1993",
            "--user",
            "me@example.com",
            "--password",
            "abcdabcdabcdabcd",
            "--token",
            "tok",
            "--daily-limit",
            "3",
            "--reject-auth",
            "2",
            "--idle-timeout",
            "9",
            "--max-buffered-bytes",
            "65536",
            "--capacity",
            "5000",
        ])
        .expect("valid flags");
        let config = cli.args.config().expect("config");
        assert_eq!(config.data_dir, PathBuf::from("/tmp/x"));
        assert_eq!((config.starttls_port, config.tls_port), (0, 1465));
        assert_eq!(config.imap_port, 1993);
        assert_eq!(config.user, "me@example.com");
        assert_eq!(config.app_password, "abcdabcdabcdabcd");
        assert_eq!(config.oauth_token.as_deref(), Some("tok"));
        assert_eq!(config.faults.daily_limit, Some(3));
        assert_eq!(config.faults.reject_auth, 2);
        assert_eq!(config.idle_timeout, Duration::from_secs(9));
        assert_eq!(config.max_message_size, GMAIL_MAX_MESSAGE_SIZE);
        assert_eq!(config.max_buffered_bytes, 65_536);
        assert_eq!(config.capture_capacity, 5000);
    }

    #[test]
    fn introspection_takes_its_secret_from_a_file() {
        let secret =
            std::env::temp_dir().join(format!("sandbox-cli-secret-{}.txt", std::process::id()));
        std::fs::write(&secret, "s3cret\n").expect("write the secret file");
        let parse = |extra: &[&str]| {
            let mut argv = vec!["sandbox", "--data-dir", "/tmp/x"];
            argv.extend(extra);
            Cli::try_parse_from(argv).map(|cli| cli.args)
        };
        let path = secret.to_string_lossy().into_owned();
        let args = parse(&[
            "--oauth-introspection",
            "http://127.0.0.1:9/token/introspection",
            "--oauth-client-id",
            "client",
            "--oauth-client-secret-file",
            &path,
        ])
        .expect("valid flags");
        let config = args.config().expect("config");
        let _ = std::fs::remove_file(&secret);
        assert_eq!(
            config.introspection,
            Some(Introspection {
                url: "http://127.0.0.1:9/token/introspection".into(),
                client_id: "client".into(),
                client_secret: "s3cret".into(),
            })
        );
        // The URL alone is not enough, nor the client without the URL.
        assert!(parse(&["--oauth-introspection", "http://127.0.0.1:9/"]).is_err());
        assert!(parse(&["--oauth-client-id", "client"]).is_err());
        let missing = parse(&[
            "--oauth-introspection",
            "http://127.0.0.1:9/",
            "--oauth-client-id",
            "client",
            "--oauth-client-secret-file",
            "/nonexistent/secret",
        ])
        .expect("valid flags")
        .config()
        .map(drop)
        .map_err(|error| format!("{error:#}"));
        assert!(
            missing
                .as_ref()
                .is_err_and(|error| error.contains("/nonexistent/secret")),
            "{missing:?}"
        );
    }

    #[test]
    fn defaults_are_the_documented_fixture() {
        let cli = Cli::try_parse_from(["sandbox", "--data-dir", "/tmp/x"]).expect("parse");
        let config = cli.args.config().expect("config");
        assert_eq!(config.user, DEFAULT_USER);
        assert_eq!(config.app_password, "sandboxsandboxpw");
        assert_eq!(config.app_password.len(), 16);
        assert_eq!((config.starttls_port, config.tls_port), (2587, 2465));
        assert_eq!(config.imap_port, 2993);
        assert_eq!(config.faults, Faults::default());
        assert_eq!(config.max_buffered_bytes, DEFAULT_MAX_BUFFERED_BYTES);
        assert_eq!(config.capture_capacity, 1000);
        assert_eq!(config.introspection, None);
    }
}
