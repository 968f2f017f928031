//! What a sandbox is started with, and the faults that can be switched while it runs.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// The account the sandbox accepts unless told otherwise.
pub const DEFAULT_USER: &str = "sandbox@mailbridge.test";
/// A 16-letter app password, like Google's (shown without its spaces). It is a local fixture
/// and printed at start, so a fixed, documented value is fine.
pub const DEFAULT_APP_PASSWORD: &str = "sandboxsandboxpw";
/// The XOAUTH2 bearer token accepted by default.
pub const DEFAULT_OAUTH_TOKEN: &str = "ya29.sandbox-token";
/// The "normal Google password" of the sandbox account: using it gets Gmail's
/// `534 5.7.9 Application-specific password required`.
pub const DEFAULT_ACCOUNT_PASSWORD: &str = "sandbox-account-password";
/// The `SIZE` Gmail advertises.
pub const GMAIL_MAX_MESSAGE_SIZE: usize = 35_882_577;
/// Gmail's limit of recipients in one SMTP transaction.
pub const GMAIL_MAX_RECIPIENTS: usize = 100;
/// Message bytes all sessions together may hold while receiving DATA: room for seven
/// maximum-size messages at once, instead of one for each of the 256 connections.
pub const DEFAULT_MAX_BUFFERED_BYTES: usize = 256 * 1024 * 1024;

/// Everything a sandbox starts with. Build with [`Config::new`] and change fields.
#[derive(Debug, Clone)]
pub struct Config {
    /// Holds the CA, the server certificate and the capture database.
    pub data_dir: PathBuf,
    /// The STARTTLS port (Gmail's 587). 0 picks a free port.
    pub starttls_port: u16,
    /// The implicit-TLS port (Gmail's 465). 0 picks a free port.
    pub tls_port: u16,
    /// The read-only IMAP port, implicit TLS (Gmail's 993). 0 picks a free port.
    pub imap_port: u16,
    pub user: String,
    /// The app password AUTH PLAIN and LOGIN accept, compared exactly.
    pub app_password: String,
    /// The bearer token XOAUTH2 (and OAUTHBEARER, when offered) accepts; `None` rejects every
    /// token that introspection does not vouch for.
    pub oauth_token: Option<String>,
    /// Where other bearer tokens are checked (RFC 7662); `None` accepts only `oauth_token`.
    /// With it, EHLO offers OAUTHBEARER too.
    pub introspection: Option<Introspection>,
    /// A password that gets `534 5.7.9` (the user's normal password, with 2-Step Verification).
    pub account_password: Option<String>,
    /// A session that sends nothing for this long gets `421 4.7.0 Connection expired`.
    pub idle_timeout: Duration,
    /// Advertised as `SIZE` and enforced, on `MAIL ... SIZE=` and after DATA.
    pub max_message_size: usize,
    pub max_recipients: usize,
    /// How many captured messages are kept; the oldest go first.
    pub capture_capacity: usize,
    /// Sessions at once, over both ports; more get `421 4.7.0 Try again later`.
    pub max_connections: usize,
    /// Message bytes all sessions together may hold while messages arrive (counted in whole
    /// KiB). A message that does not fit is read to its end, not kept, and refused with
    /// `451 4.3.0 Temporary System Problem`, which clients retry. Keep it at least
    /// `max_message_size`, or the largest messages can never be sent.
    pub max_buffered_bytes: usize,
    /// Faults in force from the start; switch them later with [`FaultHandle`].
    pub faults: Faults,
}

impl Config {
    /// Gmail's limits, the default account, free ports.
    pub fn new(data_dir: impl Into<PathBuf>) -> Config {
        Config {
            data_dir: data_dir.into(),
            starttls_port: 0,
            tls_port: 0,
            imap_port: 0,
            user: DEFAULT_USER.to_owned(),
            app_password: DEFAULT_APP_PASSWORD.to_owned(),
            oauth_token: Some(DEFAULT_OAUTH_TOKEN.to_owned()),
            introspection: None,
            account_password: Some(DEFAULT_ACCOUNT_PASSWORD.to_owned()),
            idle_timeout: Duration::from_secs(300),
            max_message_size: GMAIL_MAX_MESSAGE_SIZE,
            max_recipients: GMAIL_MAX_RECIPIENTS,
            capture_capacity: 1000,
            max_connections: 256,
            max_buffered_bytes: DEFAULT_MAX_BUFFERED_BYTES,
            faults: Faults::default(),
        }
    }
}

/// An OAuth server's token introspection endpoint (RFC 7662) and the client the sandbox asks
/// it as. A token is accepted when the server calls it active, an access token (`token_type`
/// Bearer), with the scope `https://mail.google.com/`, and its `sub` (or `username`) is the
/// account logging in. Many servers (oidc-provider among them) let a client introspect only
/// the tokens issued to it, so this is usually the client the tokens were issued to.
#[derive(Clone, PartialEq, Eq)]
pub struct Introspection {
    /// `https://...`, or `http://` to this computer only.
    pub url: String,
    pub client_id: String,
    /// Sent in the form body (`client_secret_post`); never logged or printed.
    pub client_secret: String,
}

impl std::fmt::Debug for Introspection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Introspection")
            .field("url", &self.url)
            .field("client_id", &self.client_id)
            .field("client_secret", &"<redacted>")
            .finish()
    }
}

/// The ways the sandbox can be told to say no, each one a way Gmail does. Counts are "the
/// next K times", shared by all sessions, and go down as they fire.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Faults {
    /// `550 5.4.5 Daily user sending limit exceeded` at MAIL once this many messages were
    /// accepted in the last 24 hours (counted in the store, so it survives restarts).
    pub daily_limit: Option<u64>,
    /// The next K connections get `421 4.7.0 Try again later, closing connection.` instead
    /// of the greeting.
    pub reject_greetings: u32,
    /// The next K MAIL commands get that 421, and the connection closes.
    pub reject_mail: u32,
    /// The next K AUTH commands get `454 4.7.0 Too many login attempts`.
    pub reject_auth: u32,
    /// The next K message transfers are cut: the connection closes with no reply, after the
    /// first line of content of a DATA transfer, or halfway through the first BDAT chunk.
    pub drop_in_data: u32,
    /// A pause before every reply, in milliseconds: a slow server.
    pub reply_delay_ms: u64,
    /// The next K messages accepted are filed in Spam, whatever their score
    /// (`placement.rs` has the score that files the others).
    #[serde(default)]
    pub spam_next: u32,
}

/// Switches faults while the sandbox runs. Clones share the same settings.
#[derive(Debug, Clone, Default)]
pub struct FaultHandle {
    faults: Arc<Mutex<Faults>>,
}

impl FaultHandle {
    pub fn new(faults: Faults) -> FaultHandle {
        FaultHandle {
            faults: Arc::new(Mutex::new(faults)),
        }
    }

    /// The faults in force now, with the counts that are left.
    pub fn get(&self) -> Faults {
        self.lock().clone()
    }

    pub fn set(&self, faults: Faults) {
        *self.lock() = faults;
    }

    /// Changes some settings, such as `handle.update(|f| f.reject_auth = 2)`.
    pub fn update(&self, change: impl FnOnce(&mut Faults)) {
        change(&mut self.lock());
    }

    /// Back to a well-behaved server.
    pub fn clear(&self) {
        self.set(Faults::default());
    }

    pub(crate) fn take_greeting(&self) -> bool {
        take(&mut self.lock().reject_greetings)
    }

    pub(crate) fn take_mail(&self) -> bool {
        take(&mut self.lock().reject_mail)
    }

    pub(crate) fn take_auth(&self) -> bool {
        take(&mut self.lock().reject_auth)
    }

    pub(crate) fn take_data_drop(&self) -> bool {
        take(&mut self.lock().drop_in_data)
    }

    pub(crate) fn take_spam(&self) -> bool {
        take(&mut self.lock().spam_next)
    }

    pub(crate) fn reply_delay(&self) -> Duration {
        Duration::from_millis(self.lock().reply_delay_ms)
    }

    pub(crate) fn daily_limit(&self) -> Option<u64> {
        self.lock().daily_limit
    }

    fn lock(&self) -> MutexGuard<'_, Faults> {
        // The settings are plain numbers, valid whatever a panicking holder did.
        self.faults.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn take(count: &mut u32) -> bool {
    if *count > 0 {
        *count -= 1;
        true
    } else {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_client_secret_is_not_printed() {
        let introspection = Introspection {
            url: "http://127.0.0.1:9/introspect".into(),
            client_id: "client".into(),
            client_secret: "canary-secret".into(),
        };
        let mut config = Config::new("/tmp/x");
        config.introspection = Some(introspection);
        let debug = format!("{config:?}");
        assert!(debug.contains("client"), "{debug}");
        assert!(!debug.contains("canary-secret"), "{debug}");
    }

    #[test]
    fn counted_faults_fire_k_times_across_clones() {
        let handle = FaultHandle::new(Faults {
            reject_auth: 2,
            ..Faults::default()
        });
        let other = handle.clone();
        assert!(handle.take_auth());
        assert!(other.take_auth());
        assert!(!handle.take_auth());
        assert!(!handle.take_mail());
        other.update(|f| f.reject_mail = 1);
        assert!(handle.take_mail());
        assert_eq!(handle.get(), Faults::default());
    }
}
