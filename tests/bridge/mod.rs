//! The bridge as the web app and scripts see it: a real WebSocket to a bridge serving on
//! loopback, with its embedded sandbox, and the `mailbridge` binary itself.

/// Header, pairing and size attacks, each refused while the paired page keeps working.
mod attacks;
/// Malformed messages, invalid drafts and profiles, broken files.
mod bad_input;
/// Campaigns: check, preview, one-click unsubscribe, the schedule, pause, restart, bad input.
mod campaign;
/// The `mailbridge` binary end to end, across processes.
mod cli;
/// Each way the sandbox says no, and the diagnosis the page gets.
mod failures;
/// A bridge in this process and a client that speaks the protocol.
mod harness;
/// Checks before sending: spamd, dnsmasq, a campaign's first row and `mailbridge lint`.
mod lint;
/// `mailbridge merge`: the dry run by row, a 48-message send, broken lists and templates.
mod merge;
/// OAuth against oidc-provider: consent, state, PKCE, one refresh for many callers, revocation.
mod oauth;
/// OAuth accounts end to end: the client, consent, XOAUTH2 and OAUTHBEARER with real tokens, a
/// 200-message batch across token expiry, the 334 refresh-and-retry, revocation.
mod oauth_accounts;
/// Every operation over the WebSocket.
mod operations;
/// The outbox: batches, quotas, back-off, Postfix, broken files and `kill -9`.
mod outbox;
/// Check and send through aiosmtpd, an SMTP server we did not write.
mod real_server;
/// No secret in transcripts, history, logs or anything sent to the page.
mod redaction;
/// `mailbridge service`: the systemd user unit verified, run, reported and removed.
mod service;
/// TLS and DNS failures against openssl s_server and Python's ssl, with the presented chain.
mod tls;
/// Delivery verification over IMAP: the sandbox's Gmail, Dovecot, hostile servers.
mod verify;
