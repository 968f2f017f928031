//! The SMTP engine: checking a connection (like `swaks --quit-after AUTH`) and sending
//! messages, with every line streamed, timestamped and redacted, every step under a timeout,
//! and every failure explained by the `diagnosis` crate.
//!
//! The dialogue is our own small client over tokio and tokio-rustls, because lettre's
//! connection cannot upgrade a stream it did not open, hides the raw lines (its `tracing`
//! feature logs AUTH payloads) and times out only at connect. Messages are built by lettre
//! (see `crate::compose`), because RFC 5322, RFC 2047 and MIME are easy to get subtly wrong.
//!
//! **Invariant:** no credential reaches a transcript, a progress event, a `Debug` output or a
//! `tracing` event: AUTH lines are shown as `AUTH <mechanism> ****`, continuation lines as
//! `****`, and message data as a one-line summary (see `transcript`).
//!
//! # Layout
//! - `session`: [`Session`], the state machine from DNS to QUIT, and [`Capabilities`].
//! - `wire`: the stream, the capped reply reader and the buffered writer.
//! - `tls`: the rustls client configuration, the verifier that records the presented chain,
//!   certificate and handshake error mapping, and [`TlsInfo`] details.
//! - `transcript`: the recorder behind transcripts and progress, and the redaction rules.
//! - `explain`: explanations for the failures `diagnosis::Failure` has no variant for.
//! - `tests`: tests over real sockets against the sandbox and hand-made servers.

mod explain;
mod session;
mod tls;
mod transcript;
mod wire;

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use diagnosis::{Diagnosis, Failure, Reply, Retry, Step, diagnose};
use profile::{OAuthMechanism, Profile, Security};
use protocol::{CheckReport, Progress, Secret, TlsInfo, TranscriptLine, Verdict};
use tokio::sync::mpsc::UnboundedSender;

pub use session::{Capabilities, RESOLVE_VAR, Session};
pub(crate) use tls::rfc3339;
// The IMAP client (delivery verification) shares the TLS setup and the DNS override.
pub(crate) use session::resolve_override;
pub(crate) use tls::{connector, handshake_failure, server_name, unbracket};

use session::Auth;
pub(crate) use transcript::Recorder;

/// Where to connect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub host: String,
    pub port: u16,
    pub security: Security,
    /// A CA certificate (PEM) to trust besides the system's, such as the sandbox's.
    pub extra_ca_pem: Option<String>,
}

impl Target {
    pub fn from_profile(profile: &Profile) -> Target {
        Target {
            host: profile.host.trim().to_owned(),
            port: profile.port,
            security: profile.security,
            extra_ca_pem: profile.extra_ca_pem.clone(),
        }
    }
}

/// How to sign in. `Debug` shows `****` for the secrets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credentials {
    None,
    /// An app password (its spaces are removed before use) or a relay's password, sent with
    /// AUTH PLAIN or LOGIN.
    Password {
        user: String,
        password: Secret,
    },
    /// An OAuth2 access token pasted in by hand, sent with AUTH XOAUTH2.
    OAuth2 {
        user: String,
        token: Secret,
    },
    /// An OAuth account whose access token comes from `tokens` at each sign-in. A token the
    /// server refuses with its JSON challenge is refreshed once and tried once more, so a
    /// connection opened late in a long batch still signs in after the token expired.
    OAuth {
        user: String,
        mechanism: OAuthMechanism,
        tokens: BearerTokens,
    },
}

/// The future a [`TokenSource`] answers with.
pub type TokenFuture<'a> =
    Pin<Box<dyn Future<Output = Result<Secret, TokenUnavailable>> + Send + 'a>>;

/// Where an OAuth sign-in gets its access tokens: the bridge's token cache.
pub trait TokenSource: Send + Sync {
    /// A token to sign in with.
    fn token(&self) -> TokenFuture<'_>;
    /// The server refused `rejected` with `challenge` (its `334` text, base64): a fresh token.
    fn refused<'a>(&'a self, rejected: &'a Secret, challenge: &'a str) -> TokenFuture<'a>;
    /// The server accepted the last token given.
    fn accepted(&self);
}

/// A shared [`TokenSource`]; two are equal when they are the same source.
#[derive(Clone)]
pub struct BearerTokens(pub Arc<dyn TokenSource>);

impl fmt::Debug for BearerTokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BearerTokens(..)")
    }
}

impl PartialEq for BearerTokens {
    fn eq(&self, other: &BearerTokens) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for BearerTokens {}

/// Why no access token could be had, in words that hold no secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenUnavailable {
    /// What went wrong, e.g. Google's `invalid_grant` and its description.
    pub detail: String,
    /// What to do.
    pub fix: String,
    /// Whether the same may work later (the network), as opposed to needing a person.
    pub transient: bool,
}

/// How long each step may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// DNS lookup, and the TCP connection (over all addresses).
    pub connect: Duration,
    /// The TLS handshake.
    pub tls: Duration,
    /// Each command's reply, the greeting included.
    pub command: Duration,
    /// Sending the message content and reading the reply after it.
    pub data: Duration,
}

impl Default for Timeouts {
    fn default() -> Timeouts {
        Timeouts {
            connect: Duration::from_secs(10),
            tls: Duration::from_secs(10),
            command: Duration::from_secs(30),
            data: Duration::from_secs(120),
        }
    }
}

/// How transient failures while connecting or at MAIL FROM are retried: up to `attempts`
/// connections in all, waiting `first_delay`, then twice that, and so on, never starting a
/// wait that would end after `max_total` since the send began.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    pub attempts: u32,
    pub first_delay: Duration,
    pub max_total: Duration,
}

impl Default for RetryPolicy {
    fn default() -> RetryPolicy {
        RetryPolicy {
            attempts: 3,
            first_delay: Duration::from_secs(1),
            max_total: Duration::from_secs(30),
        }
    }
}

impl RetryPolicy {
    /// The wait before attempt `attempt + 1`.
    pub(crate) fn delay(&self, attempt: u32) -> Duration {
        self.first_delay
            .saturating_mul(2u32.saturating_pow(attempt.saturating_sub(1)))
    }
}

/// A message ready for the wire: the envelope and the RFC 5322 bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct Outgoing {
    /// The `MAIL FROM` address, ASCII where possible (punycode domain), without angle brackets.
    pub mail_from: String,
    /// Every `RCPT TO` address, Bcc included.
    pub rcpt_to: Vec<String>,
    pub data: Vec<u8>,
    pub message_id: String,
}

impl fmt::Debug for Outgoing {
    /// The content is summarised, like in the transcript.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Outgoing")
            .field("mail_from", &self.mail_from)
            .field("rcpt_to", &self.rcpt_to)
            .field("data", &format_args!("[{} bytes]", self.data.len()))
            .field("message_id", &self.message_id)
            .finish()
    }
}

/// What one [`Session::deliver`] transaction did.
#[derive(Debug)]
pub struct Transaction {
    /// The reply to each RCPT, in the order given; shorter when the connection failed first.
    pub rcpt_replies: Vec<Reply>,
    pub result: TxResult,
}

/// How a transaction ended, as far as delivery goes.
#[derive(Debug)]
pub enum TxResult {
    /// The server took the message for the recipients whose RCPT it accepted.
    Accepted(Reply),
    /// Nothing was delivered: a refusal, or a failure before the end of the content left.
    Refused(Error),
    /// The end of the content left but no reply came: the message may have been delivered.
    Unknown(Error),
}

/// A message the server accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sent {
    /// The server's final reply, such as `250 2.0.0 OK ... - gsmtp`.
    pub reply: String,
    /// Connections it took, more than one after a transient failure.
    pub attempts: u32,
    pub transcript: Vec<TranscriptLine>,
}

/// A message that was not sent, with the explanation and the whole dialogue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendFailure {
    pub diagnosis: Diagnosis,
    pub attempts: u32,
    pub transcript: Vec<TranscriptLine>,
    /// What went wrong, for code that branches on it.
    pub error: Error,
}

impl SendFailure {
    fn new(error: Error, attempts: u32, transcript: Vec<TranscriptLine>) -> SendFailure {
        SendFailure {
            diagnosis: error.diagnosis(),
            attempts,
            transcript,
            error,
        }
    }
}

/// Why a check or a send stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// A failure the `diagnosis` crate knows: a refusing reply, DNS, a refused connection, a
    /// timeout, TLS, no STARTTLS.
    Failure(Failure),
    /// XOAUTH2 was refused with an error challenge (answered with an empty line) and then
    /// `reply`, usually `535 5.7.8`.
    OAuthRejected { challenge: Reply, reply: Reply },
    /// The connection closed or broke in the middle of the dialogue.
    ConnectionLost { step: Step, detail: String },
    /// No TCP connection for another reason than a refusal: no route, network down.
    Unreachable {
        host: String,
        port: u16,
        detail: String,
    },
    /// The server's answer is not SMTP (too long, no code, injected after STARTTLS).
    Protocol { step: Step, detail: String },
    /// The message is over the server's advertised SIZE; nothing was sent.
    TooLarge { size: u64, limit: u64 },
    /// Plain SMTP to another machine was asked for; nothing was sent.
    Insecure { host: String },
    /// The [`Outgoing`] cannot be sent as it is (no recipients, a line break in an address).
    Invalid { detail: String },
    /// No OAuth access token could be had to sign in with.
    NoToken(TokenUnavailable),
}

impl Error {
    /// The explanation for people.
    pub fn diagnosis(&self) -> Diagnosis {
        explain::diagnosis(self)
    }

    /// Where in the dialogue it happened, when that is known.
    pub fn step(&self) -> Option<Step> {
        match self {
            Error::Failure(failure) => match failure {
                Failure::Reply { step, .. } => *step,
                Failure::Dns { .. } => Some(Step::Dns),
                Failure::ConnectionRefused { .. } => Some(Step::Tcp),
                Failure::Timeout { step, .. } => Some(*step),
                Failure::TlsCertificate { .. } | Failure::TlsHandshake { .. } => Some(Step::Tls),
                Failure::NoStartTls { .. } => Some(Step::StartTls),
            },
            Error::OAuthRejected { .. } | Error::NoToken(_) => Some(Step::Auth),
            Error::ConnectionLost { step, .. } | Error::Protocol { step, .. } => Some(*step),
            Error::Unreachable { .. } => Some(Step::Tcp),
            Error::TooLarge { .. } => Some(Step::Mail),
            Error::Insecure { .. } | Error::Invalid { .. } => None,
        }
    }

    /// Whether a new connection may succeed: transient failures up to and including MAIL FROM.
    /// Nothing after MAIL is retried, so a message is never delivered twice.
    pub fn is_retryable(&self) -> bool {
        let early = matches!(
            self.step(),
            Some(
                Step::Dns
                    | Step::Tcp
                    | Step::Tls
                    | Step::Greeting
                    | Step::Ehlo
                    | Step::StartTls
                    | Step::Auth
                    | Step::Mail
            )
        );
        early
            && match self {
                Error::Failure(Failure::Reply { reply, .. }) => reply.is_transient(),
                Error::Failure(Failure::ConnectionRefused { .. } | Failure::Timeout { .. }) => true,
                Error::Failure(failure @ (Failure::Dns { .. } | Failure::TlsHandshake { .. })) => {
                    diagnose(failure).retry == Retry::Transient
                }
                Error::ConnectionLost { .. } | Error::Unreachable { .. } => true,
                Error::NoToken(why) => why.transient,
                _ => false,
            }
    }

    /// Whether the connection can carry nothing more after this.
    fn ends_session(&self) -> bool {
        match self {
            Error::Failure(Failure::Reply { reply, .. }) => reply.code == 421,
            Error::OAuthRejected { reply, .. } => reply.code == 421,
            Error::TooLarge { .. } | Error::Invalid { .. } | Error::NoToken(_) => false,
            _ => true,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Failure(Failure::Reply { reply, .. }) => write!(f, "{}", one_line(reply)),
            Error::Failure(failure) => f.write_str(&diagnose(failure).title),
            Error::OAuthRejected { reply, .. } => {
                write!(f, "the OAuth token was rejected: {}", one_line(reply))
            }
            Error::ConnectionLost { step, detail } => {
                write!(f, "the connection was lost during {step}: {detail}")
            }
            Error::Unreachable { host, port, detail } => {
                write!(f, "could not connect to {host}:{port}: {detail}")
            }
            Error::Protocol { step, detail } => write!(f, "invalid reply to {step}: {detail}"),
            Error::TooLarge { size, limit } => write!(
                f,
                "the message is {size} bytes, over the server's limit of {limit}"
            ),
            Error::Insecure { host } => {
                write!(
                    f,
                    "plain SMTP without TLS is only allowed to this machine, not {host}"
                )
            }
            Error::Invalid { detail } => f.write_str(detail),
            Error::NoToken(why) => write!(f, "no OAuth access token: {}", why.detail),
        }
    }
}

impl std::error::Error for Error {}

fn one_line(reply: &Reply) -> String {
    reply.to_string().replace("\r\n", " ")
}

/// Checks a connection like `swaks --quit-after AUTH`: DNS, TCP, TLS, greeting, EHLO,
/// STARTTLS and the second EHLO, AUTH, QUIT. Every step is streamed to `progress` as it starts
/// and ends; the report lists each with its outcome, and the transcript is returned for the
/// history.
pub async fn check(
    target: &Target,
    credentials: &Credentials,
    timeouts: &Timeouts,
    progress: Option<UnboundedSender<Progress>>,
) -> (CheckReport, Vec<TranscriptLine>) {
    let rec = Recorder::new(progress, true);
    let mut warnings = Vec::new();
    if target.security == Security::Plain {
        warnings.push(
            "This connection is not encrypted; that is only acceptable to this machine.".to_owned(),
        );
    }
    let (mut rec, caps, tls, error): (Recorder, Option<Capabilities>, Option<TlsInfo>, _) =
        match Session::connect(target, timeouts, rec).await {
            Err(failure) => (failure.rec, failure.caps, failure.tls, Some(failure.error)),
            Ok(mut session) => {
                let error = match session.authenticate(credentials).await {
                    Ok(Auth::Unavailable(warning)) => {
                        warnings.push(warning);
                        None
                    }
                    Ok(Auth::NotNeeded | Auth::Accepted) => None,
                    Err(error) => Some(error),
                };
                if let Some(Err(quit)) = session.close().await {
                    warnings.push(format!(
                        "The server did not close the session cleanly ({quit}); that is harmless."
                    ));
                }
                let (rec, caps, tls) = session.into_parts();
                (rec, Some(caps), tls, error)
            }
        };
    // A Google host whose certificate Google did not issue passed only because this machine
    // trusts the interceptor; the check says so.
    if let Some(info) = tls.as_ref().filter(|info| info.established()) {
        warnings.extend(diagnosis::interception_warning(&target.host, &info.chain));
    }
    // Steps never reached are listed as skipped, so the report always shows the whole plan.
    let plan = plan(target.security);
    for step in plan.iter().skip(rec.steps().len()) {
        rec.skip(*step, "not reached".to_owned());
    }
    let caps = caps.unwrap_or_default();
    let report = CheckReport {
        verdict: if error.is_some() {
            Verdict::Failed
        } else {
            Verdict::Ok
        },
        steps: rec.take_steps(),
        tls,
        capabilities: caps.keywords,
        size_limit: caps.size,
        auth_mechanisms: caps.auth,
        diagnosis: error.as_ref().map(Error::diagnosis),
        warnings,
    };
    (report, rec.into_lines())
}

/// The steps of a check, in order.
fn plan(security: Security) -> &'static [Step] {
    match security {
        Security::ImplicitTls => &[
            Step::Dns,
            Step::Tcp,
            Step::Tls,
            Step::Greeting,
            Step::Ehlo,
            Step::Auth,
            Step::Quit,
        ],
        Security::StartTls => &[
            Step::Dns,
            Step::Tcp,
            Step::Greeting,
            Step::Ehlo,
            Step::StartTls,
            Step::Tls,
            Step::Ehlo,
            Step::Auth,
            Step::Quit,
        ],
        Security::Plain => &[
            Step::Dns,
            Step::Tcp,
            Step::Greeting,
            Step::Ehlo,
            Step::Auth,
            Step::Quit,
        ],
    }
}

/// Sends one message on a new connection, retrying transient failures while connecting or at
/// MAIL FROM as `retry` allows (each retry announced as [`Progress::Retry`]). Permanent
/// failures, and anything after MAIL FROM, are not retried.
pub async fn send(
    target: &Target,
    credentials: &Credentials,
    outgoing: &Outgoing,
    timeouts: &Timeouts,
    retry: &RetryPolicy,
    progress: Option<UnboundedSender<Progress>>,
) -> Result<Sent, SendFailure> {
    let mut rec = Recorder::new(progress, false);
    let mut attempt = 1;
    loop {
        let result = match Session::open_with(target, credentials, timeouts, rec).await {
            Ok(mut session) => {
                let result = session.send(outgoing).await;
                session.close().await;
                rec = session.into_parts().0;
                result
            }
            Err((error, back)) => {
                rec = back;
                Err(error)
            }
        };
        let error = match result {
            Ok(reply) => {
                return Ok(Sent {
                    reply,
                    attempts: attempt,
                    transcript: rec.into_lines(),
                });
            }
            Err(error) => error,
        };
        let wait = retry.delay(attempt);
        let again = error.is_retryable()
            && attempt < retry.attempts
            && rec.elapsed().saturating_add(wait) <= retry.max_total;
        if !again {
            return Err(SendFailure::new(error, attempt, rec.into_lines()));
        }
        attempt += 1;
        rec.retry(attempt, wait, error.to_string());
        tokio::time::sleep(wait).await;
    }
}

#[cfg(test)]
mod tests;
