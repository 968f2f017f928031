//! Gmail's SMTP replies and connection failures, explained for people.
//!
//! Give [`diagnose`] a [`Failure`] (a server reply, or a failure to reach or trust the server)
//! and get a [`Diagnosis`]: a title, what happened, the likely cause, fix steps in words, Google's
//! help page where there is one, and whether retrying can help. [`explain`] does the same for a
//! reply pasted as text; it is what `mailbridge explain "..."` runs. [`quota_signal`] tells a
//! sender of many messages whether a reply means "stop for today" or "slow down".
//!
//! ```
//! use diagnosis::{Retry, explain};
//!
//! let diagnosis = explain(
//!     "535-5.7.8 Username and Password not accepted. For more information, go to\r\n\
//!      535 5.7.8  https://support.google.com/mail/?p=BadCredentials a1-b2 - gsmtp",
//! )?;
//! assert_eq!(diagnosis.title, "Username and password not accepted");
//! assert_eq!(diagnosis.retry, Retry::Permanent);
//! # Ok::<(), diagnosis::ParseError>(())
//! ```
//!
//! Replies are matched on reply code, enhanced status code and a text fragment, never on the
//! session id Gmail appends, against a table of rules tried most specific first. A reply that no
//! rule knows still gets an explanation built from what its codes mean (RFC 5321, RFC 3463).
//!
//! The crate does no IO, so the web app and the bridge share it; it builds for
//! `wasm32-unknown-unknown`.
//!
//! # Layout
//! - `certificate`: [`CertificateInfo`], the presented chain, and what is known of Google's names.
//! - `reply`: parsing raw SMTP replies into [`Reply`], and printing them back in wire form.
//! - `failure`: the input, [`Failure`]: a reply, or a DNS, TCP, TLS or timeout problem.
//! - `diagnosis`: the output, [`Diagnosis`], [`Retry`] and [`QuotaSignal`].
//! - `rules`: the table of known Gmail replies, most specific first.
//! - `generic`: explanations for replies no rule knows, from what their codes mean.
//! - `connection`: explanations for failures before or around the SMTP conversation.
//! - `oauth`: decoding and explaining the XOAUTH2 error challenge (`334 <base64 JSON>`).

mod certificate;
mod connection;
mod diagnosis;
mod failure;
mod generic;
mod oauth;
mod reply;
mod rules;

pub use crate::certificate::{
    CertificateInfo, GOOGLE_HOSTS, interception_warning, is_google_host, near_miss,
};
pub use crate::diagnosis::{Diagnosis, QuotaSignal, Retry};
pub use crate::failure::{CertProblem, Failure, HandshakeProblem, Step};
pub use crate::oauth::OAuthChallenge;
pub use crate::reply::{EnhancedCode, MAX_LINE_LEN, MAX_LINES, ParseError, Reply};

/// Explains a failure: what happened, why, how to fix it, and whether to retry.
pub fn diagnose(failure: &Failure) -> Diagnosis {
    match failure {
        Failure::Reply { reply, step } => rules::diagnose_reply(reply, *step),
        Failure::Dns { host, detail } => connection::dns(host, detail),
        Failure::ConnectionRefused { host, port } => connection::connection_refused(host, *port),
        Failure::Timeout { step, seconds } => connection::timeout(*step, *seconds),
        Failure::TlsCertificate {
            problem,
            detail,
            host,
            chain,
            checked_at,
        } => connection::tls_certificate(&connection::Presented {
            problem: *problem,
            detail,
            host,
            chain,
            checked_at: checked_at.as_deref(),
        }),
        Failure::TlsHandshake { detail, problem } => connection::tls_handshake(detail, *problem),
        Failure::NoStartTls { host, port } => connection::no_starttls(host, *port),
    }
}

/// Whether `reply` tells a program that sends many messages to stop for the day
/// ([`QuotaSignal::DailyLimit`]) or to slow down ([`QuotaSignal::Throttle`]); `None` for every
/// other reply, including failures of one message alone (a bad address, too many recipients in
/// one message, a message too large), which say nothing about the messages after it.
///
/// It is decided by the same rule table as [`diagnose`], on code, enhanced code and text, so
/// the signal and the explanation a person sees always agree.
///
/// ```
/// use diagnosis::{QuotaSignal, Reply, quota_signal};
///
/// let reply = Reply::parse("550 5.7.1 Daily SMTP relay limit exceeded for customer. x - gsmtp")?;
/// assert_eq!(quota_signal(&reply), Some(QuotaSignal::DailyLimit));
/// let reply = Reply::parse("421 4.7.0 Try again later, closing connection. x - gsmtp")?;
/// assert_eq!(quota_signal(&reply), Some(QuotaSignal::Throttle));
/// let reply = Reply::parse("550 5.1.1 The email account that you tried to reach does not exist.")?;
/// assert_eq!(quota_signal(&reply), None);
/// # Ok::<(), diagnosis::ParseError>(())
/// ```
pub fn quota_signal(reply: &Reply) -> Option<QuotaSignal> {
    rules::quota_signal(reply)
}

/// Parses a raw reply, as copied from a log or a terminal, and explains it.
pub fn explain(raw_reply: &str) -> Result<Diagnosis, ParseError> {
    let reply = Reply::parse(raw_reply)?;
    Ok(diagnose(&Failure::Reply { reply, step: None }))
}
