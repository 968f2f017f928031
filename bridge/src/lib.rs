//! The mailbridge bridge: the native program on the user's workstation. It serves the web app
//! and its WebSocket on loopback, keeps the secrets, runs the sandbox, and speaks SMTP to Gmail.
//!
//! # Layout
//! - `campaign`: mail merge: the CSV list, templates, checks, suppression, unsubscribe tokens.
//! - `cli`: the command line (clap), its exit codes, and each command's entry point.
//! - `server`: `mailbridge serve`: the Host/Origin/pairing checks and the WebSocket sessions.
//! - `imap`: delivery verification: find a sent message over IMAP and say where it landed.
//! - `logging`: logs on standard error, never the contents of WebSocket frames.
//! - `ops`: what the bridge does for each operation; shared by the server and the command line.
//! - `oauth`: OAuth for Gmail: the client file, consent on a loopback redirect, token health.
//! - `outbox`: the durable outbox every send goes through: states, pacing, quotas, the pool.
//! - `store`: secrets (keyring, kernel keyring or an opt-in 0600 file), profiles and history.
//! - `smtp`: the SMTP engine: check, send, pipelined transactions, redacted transcripts.
//! - `compose`: drafts to RFC 5322 messages (built with lettre); Bcc only in the envelope.
//! - `service`: the login service's systemd user unit and launchd agent, as text.

pub mod campaign;
pub mod cli;
pub mod compose;
pub mod imap;
pub mod logging;
pub mod oauth;
pub mod ops;
pub mod outbox;
pub mod server;
pub mod service;
pub mod smtp;
pub mod store;

/// A poisoned lock only means another thread panicked while holding it; the data it guards is
/// plain and still usable, so the bridge keeps serving.
pub(crate) fn lock<T>(mutex: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}
