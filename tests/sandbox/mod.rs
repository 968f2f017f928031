//! The sandbox as clients see it. Python's `smtplib` (driven by `smtp_driver.py`) checks every
//! reply's code, enhanced code and wording; lettre sends the way the product will; raw sockets
//! send what no library would.

/// AUTH PLAIN, LOGIN and XOAUTH2, and each way Gmail refuses a login.
mod auth;
/// Capture and read-back: multipart with attachment, dot-stuffing, live updates, restarts.
mod capture;
/// BDAT (CHUNKING): pipelined with the envelope, in several chunks, and each way it is refused.
mod chunking;
/// A raw SMTP client over TLS, for what no library sends (BDAT, a stop in mid-DATA).
mod client;
/// Quotas and faults, set at start and switched while running.
mod faults;
/// Greeting, EHLO before and after TLS, both ports, the simple commands, shutdown.
mod greeting;
/// Input meant to hurt: huge lines, stalled DATA, junk, many connections, more message
/// bytes at once than the memory budget.
mod hostile;
/// The read-only IMAP side through Python's imaplib: folders, search by Message-ID, bytes.
mod imap;
/// XOAUTH2 and OAUTHBEARER tokens from a real OAuth server, checked by introspection.
mod oauth;
/// The protocol rules Gmail enforces, each with its reply.
mod rules;
/// lettre, the client the product uses.
mod with_lettre;
