//! A local SMTP server that behaves like smtp.gmail.com, so a new user can send a first
//! message with no Google account and no internet, and tests can meet every way Gmail says no.
//!
//! It listens on 127.0.0.1 only: one port speaks STARTTLS (as Gmail's 587), one implicit TLS
//! (as 465), with a certificate from its own CA kept in the data directory. Greeting, EHLO,
//! AUTH (PLAIN, LOGIN, XOAUTH2, and OAUTHBEARER with bearer tokens checked by an OAuth server's
//! token introspection), PIPELINING, DATA and BDAT (CHUNKING), and every refusal use
//! Gmail's codes, enhanced codes and wording. Accepted messages are captured in SQLite, parsed for reading, and announced to
//! subscribers. Quotas and faults (throttling, slow replies, cut connections) can be set at
//! start and switched while it runs. A read-only IMAP port shows the captured messages as
//! Gmail's IMAP would (SPECIAL-USE folders, X-GM-EXT-1), so delivery can be verified.
//!
//! ```no_run
//! # async fn example() -> Result<(), sandbox::Error> {
//! let sandbox = sandbox::Sandbox::start(sandbox::Config::new("/tmp/sandbox")).await?;
//! println!("send to {} trusting {}", sandbox.starttls_addr(), sandbox.ca_cert_path().display());
//! sandbox.faults().update(|faults| faults.reject_auth = 1);
//! let inbox = sandbox.store().list()?;
//! # drop(inbox);
//! sandbox.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! # Layout
//! - `config`: [`Config`], [`Faults`] and the [`FaultHandle`] that switches them live.
//! - `server`: [`Sandbox`]: listeners, connection limit, shutdown.
//! - `budget`: the message bytes all sessions together may hold while messages arrive.
//! - `session`: one SMTP conversation, Gmail's rules in order.
//! - `bearer`: parsing XOAUTH2 and OAUTHBEARER messages (pure).
//! - `introspect`: asking the token's issuer about it (RFC 7662), over hyper.
//! - `command`: parsing command lines and envelope addresses (pure).
//! - `reply`: every reply text, copied from Gmail's.
//! - `dsn`: the bounce reports the sandbox writes for `bounce-*@example.com` (pure).
//! - `message`: Gmail's header checks and the parsed view of a message (pure).
//! - `placement`: the spam score and the tab a message is filed under (pure).
//! - `store`: the capture store in SQLite, and the serializable message types.
//! - `tls`: the local CA and server certificate, created once and reused.
//! - `imap`: the read-only IMAP side (implicit TLS, like imap.gmail.com:993) over the store.
//! - `cli`: [`Args`] and [`run_cli`], shared by the `sandbox` binary and `mailbridge sandbox`.
//! - `error`: [`Error`].
#![forbid(unsafe_code)]

mod bearer;
mod budget;
mod cli;
mod command;
mod config;
mod dsn;
mod error;
mod imap;
mod introspect;
mod message;
mod placement;
mod reply;
mod server;
mod session;
mod store;
mod tls;

pub use cli::{Args, default_data_dir, run_cli, stop_requested};
pub use config::{
    Config, DEFAULT_ACCOUNT_PASSWORD, DEFAULT_APP_PASSWORD, DEFAULT_MAX_BUFFERED_BYTES,
    DEFAULT_OAUTH_TOKEN, DEFAULT_USER, FaultHandle, Faults, GMAIL_MAX_MESSAGE_SIZE,
    GMAIL_MAX_RECIPIENTS, Introspection,
};
pub use error::Error;
pub use placement::{GTUBE, Placement, SPAM_THRESHOLD, Tab};
pub use server::{STORE_FILE, Sandbox};
pub use store::{
    Attachment, CapturedMessage, DAY_MS, Envelope, Filed, HeaderLine, MessageSummary, Store,
};
