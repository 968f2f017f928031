//! One SMTP session: connect, TLS, greeting, EHLO, STARTTLS, AUTH, then any number of
//! transactions, then QUIT. Every step is timed, reported and bounded by a timeout.

use std::fmt;
use std::net::SocketAddr;
use std::time::Instant;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use diagnosis::{Failure, Reply, Step};
use profile::Security;
use protocol::{CertificateInfo, Progress, Secret, StepStatus, TlsInfo, TranscriptLine};
use tokio::net::TcpStream;
use tokio::sync::mpsc::UnboundedSender;

use super::transcript::Recorder;
use super::wire::{self, Conn, Shown, Stream};
use super::{
    Credentials, Error, Outgoing, SendFailure, Target, Timeouts, Transaction, TxResult, tls,
};

/// What the server's EHLO reply offers, parsed at run time (never assumed).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Capabilities {
    /// Every keyword line as the server sent it (`SIZE 35882577`, `PIPELINING`, ...).
    pub keywords: Vec<String>,
    /// The `SIZE` limit in bytes; `None` when not advertised or unlimited (`SIZE 0`).
    pub size: Option<u64>,
    /// The AUTH mechanisms, uppercase, in the server's order.
    pub auth: Vec<String>,
    pub starttls: bool,
    pub pipelining: bool,
    /// RFC 3030 `BDAT`, which Gmail offers: the message goes with its length, in the same
    /// write as MAIL and RCPT.
    pub chunking: bool,
    pub eight_bit_mime: bool,
    pub smtputf8: bool,
}

impl Capabilities {
    /// Reads an EHLO reply: the first line is the greeting, each later line one keyword.
    pub fn parse(reply: &Reply) -> Capabilities {
        let mut caps = Capabilities::default();
        for line in reply.lines.iter().skip(1) {
            let line = line.trim();
            if line.is_empty() {
                continue;
            }
            caps.keywords.push(line.to_owned());
            let mut words = line.split_ascii_whitespace();
            let first = words.next().unwrap_or_default().to_ascii_uppercase();
            // `AUTH=LOGIN PLAIN` is the pre-standard form some servers still send.
            let (keyword, inline) = match first.split_once('=') {
                Some((keyword, value)) => (keyword.to_owned(), Some(value.to_owned())),
                None => (first, None),
            };
            match keyword.as_str() {
                "SIZE" => {
                    caps.size = words
                        .next()
                        .and_then(|n| n.parse::<u64>().ok())
                        .filter(|&n| n > 0);
                }
                "AUTH" => {
                    for mechanism in inline.into_iter().chain(words.map(str::to_owned)) {
                        let mechanism = mechanism.to_ascii_uppercase();
                        if !mechanism.is_empty() && !caps.auth.contains(&mechanism) {
                            caps.auth.push(mechanism);
                        }
                    }
                }
                "STARTTLS" => caps.starttls = true,
                "PIPELINING" => caps.pipelining = true,
                "CHUNKING" => caps.chunking = true,
                "8BITMIME" => caps.eight_bit_mime = true,
                "SMTPUTF8" => caps.smtputf8 = true,
                _ => {}
            }
        }
        caps
    }

    fn offers(&self, mechanism: &str) -> bool {
        self.auth.iter().any(|offered| offered == mechanism)
    }
}

/// How AUTH went, when it did not fail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Auth {
    /// The credentials are [`Credentials::None`].
    NotNeeded,
    Accepted,
    /// The server offers no mechanism these credentials can use; the warning says which.
    Unavailable(String),
}

/// A connection that has greeted, negotiated TLS and signed in, ready to send messages one
/// after another without reconnecting.
pub struct Session {
    conn: Conn,
    host: String,
    port: u16,
    security: Security,
    timeouts: Timeouts,
    helo_name: String,
    caps: Capabilities,
    tls: Option<TlsInfo>,
    /// Set once the stream is gone or out of step; nothing more is sent.
    broken: bool,
}

impl fmt::Debug for Session {
    /// Only the shape of the session: buffers can hold credentials and content.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("security", &self.security)
            .field("capabilities", &self.caps)
            .field("tls", &self.tls)
            .field("broken", &self.broken)
            .finish_non_exhaustive()
    }
}

/// Connecting failed; what was learnt before it did.
pub(crate) struct ConnectFailure {
    pub error: Error,
    pub rec: Recorder,
    pub caps: Option<Capabilities>,
    pub tls: Option<TlsInfo>,
}

impl Session {
    /// Connects, negotiates TLS, sends EHLO and signs in, once. Opening is the first half of a
    /// send, so its failure is a [`SendFailure`] of one attempt.
    pub async fn open(
        target: &Target,
        credentials: &Credentials,
        timeouts: &Timeouts,
        progress: Option<UnboundedSender<Progress>>,
    ) -> Result<Session, SendFailure> {
        let rec = Recorder::new(progress, false);
        Session::open_with(target, credentials, timeouts, rec)
            .await
            .map_err(|(error, rec)| SendFailure::new(error, 1, rec.into_lines()))
    }

    pub(crate) async fn open_with(
        target: &Target,
        credentials: &Credentials,
        timeouts: &Timeouts,
        rec: Recorder,
    ) -> Result<Session, (Error, Recorder)> {
        let mut session = Session::connect(target, timeouts, rec)
            .await
            .map_err(|failure| (failure.error, failure.rec))?;
        match session.authenticate(credentials).await {
            Ok(Auth::Unavailable(warning)) => {
                // The server will say what it thinks of an unauthenticated MAIL.
                session.conn.rec.note(warning);
                Ok(session)
            }
            Ok(Auth::NotNeeded | Auth::Accepted) => Ok(session),
            Err(error) => {
                session.close().await;
                Err((error, session.conn.rec))
            }
        }
    }

    /// Sends one message over this connection; the session stays usable after a refusal
    /// (RSET is sent when a transaction was left open). Returns the server's final reply.
    pub async fn send(&mut self, outgoing: &Outgoing) -> Result<String, Error> {
        if self.broken {
            return Err(Error::ConnectionLost {
                step: Step::Mail,
                detail: "this session's connection was closed after an earlier failure; open a \
                         new session"
                    .to_owned(),
            });
        }
        check_envelope(outgoing)?;
        let size = outgoing.data.len() as u64;
        if let Some(limit) = self.caps.size.filter(|&limit| size > limit) {
            return Err(Error::TooLarge { size, limit });
        }
        let result = self.transaction(outgoing).await;
        if let Err(error) = &result {
            self.mark(error);
        }
        result
    }

    /// One transaction for the outbox: MAIL, an RCPT for each of `rcpts`, then the content,
    /// sent to every recipient the server accepted. With PIPELINING, MAIL, the RCPTs and DATA
    /// go in one write (RFC 2920); with CHUNKING as well, `BDAT n LAST` and the content go in
    /// that same write, so a message costs one round trip (RFC 3030).
    ///
    /// `mark_body` runs just before the end of the content leaves (the final dot, or the
    /// write that holds `BDAT LAST`): from then on the server may deliver the message, so an
    /// outbox records it first. When it returns false nothing more is sent. A refused
    /// recipient does not stop the others; the result says, recipient by recipient, what the
    /// server answered.
    pub async fn deliver(
        &mut self,
        mail_from: &str,
        rcpts: &[String],
        data: &[u8],
        mark_body: &mut (dyn FnMut() -> bool + Send),
    ) -> Transaction {
        let mut tx = Transaction {
            rcpt_replies: Vec::with_capacity(rcpts.len()),
            result: TxResult::Refused(Error::Invalid {
                detail: "no transaction was made".to_owned(),
            }),
        };
        if self.broken {
            tx.result = TxResult::Refused(Error::ConnectionLost {
                step: Step::Mail,
                detail: "this connection was closed after an earlier failure".to_owned(),
            });
            return tx;
        }
        let envelope = Outgoing {
            mail_from: mail_from.to_owned(),
            rcpt_to: rcpts.to_vec(),
            data: Vec::new(),
            message_id: String::new(),
        };
        if let Err(error) = check_envelope(&envelope) {
            tx.result = TxResult::Refused(error);
            return tx;
        }
        let size = data.len() as u64;
        if let Some(limit) = self.caps.size.filter(|&limit| size > limit) {
            tx.result = TxResult::Refused(Error::TooLarge { size, limit });
            return tx;
        }
        tx.result = self
            .deliver_inner(mail_from, rcpts, data, mark_body, &mut tx.rcpt_replies)
            .await;
        match &tx.result {
            TxResult::Refused(error) | TxResult::Unknown(error) => self.mark(error),
            TxResult::Accepted(_) => {}
        }
        tx
    }

    async fn deliver_inner(
        &mut self,
        mail_from: &str,
        rcpts: &[String],
        data: &[u8],
        mark_body: &mut (dyn FnMut() -> bool + Send),
        replies: &mut Vec<Reply>,
    ) -> TxResult {
        let limit = self.timeouts.command;
        let mail = self.mail_command(mail_from, rcpts, data);
        let chunking = self.caps.chunking && self.caps.pipelining;
        let started = self.conn.rec.begin(Step::Mail);
        if chunking && !mark_body() {
            return TxResult::Refused(not_recorded());
        }
        self.conn.queue(&mail, Shown::Command);
        let mut pipelined = self.caps.pipelining;
        if pipelined {
            for rcpt in rcpts {
                self.conn
                    .queue(&format!("RCPT TO:<{rcpt}>"), Shown::Command);
            }
            if chunking {
                self.conn.queue_bdat_last(data, rcpts.len());
            } else {
                self.conn.queue("DATA", Shown::Command);
            }
        }
        // Once the BDAT chunk is in the write, a reply that does not come may hide a delivery.
        let unknown_after = |error: Error| {
            if chunking {
                TxResult::Unknown(error)
            } else {
                TxResult::Refused(error)
            }
        };
        let mail_reply = match self.conn.reply(Step::Mail, limit).await {
            Ok(reply) => reply,
            Err(error) => {
                self.conn.rec.end(
                    Step::Mail,
                    started,
                    StepStatus::Failed,
                    error.to_string(),
                    None,
                );
                return unknown_after(error);
            }
        };
        let mail_ok = mail_reply.code / 100 == 2;
        // A refused envelope delivers nothing, whatever comes after it.
        let unknown_after = |error: Error| {
            if mail_ok {
                unknown_after(error)
            } else {
                TxResult::Refused(reply_error(mail_reply.clone(), Step::Mail))
            }
        };
        let status = step_status(mail_ok);
        self.conn.rec.end(
            Step::Mail,
            started,
            status,
            String::new(),
            Some(mail_reply.to_string()),
        );
        if !mail_ok && !pipelined {
            return TxResult::Refused(reply_error(mail_reply, Step::Mail));
        }
        let started = self.conn.rec.begin(Step::Rcpt);
        for rcpt in rcpts {
            let reply = if pipelined {
                self.conn.reply(Step::Rcpt, limit).await
            } else {
                self.conn
                    .command(
                        &format!("RCPT TO:<{rcpt}>"),
                        Shown::Command,
                        Step::Rcpt,
                        limit,
                    )
                    .await
            };
            match reply {
                Ok(reply) => replies.push(reply),
                Err(error) => {
                    self.conn.rec.end(
                        Step::Rcpt,
                        started,
                        StepStatus::Failed,
                        error.to_string(),
                        None,
                    );
                    return unknown_after(error);
                }
            }
        }
        let accepted = replies.iter().filter(|reply| reply.code / 100 == 2).count();
        let detail = format!("{accepted} of {} recipients accepted", rcpts.len());
        let status = step_status(accepted == rcpts.len());
        self.conn.rec.end(Step::Rcpt, started, status, detail, None);
        let first_refusal = || {
            replies
                .iter()
                .find(|reply| reply.code / 100 != 2)
                .cloned()
                .map(|reply| reply_error(reply, Step::Rcpt))
        };
        let started = self.conn.rec.begin(Step::Data);
        if chunking {
            let reply = self.conn.reply(Step::Data, self.timeouts.data).await;
            return match reply {
                Ok(reply) if mail_ok && accepted > 0 && reply.code == 250 => {
                    self.conn.rec.end(
                        Step::Data,
                        started,
                        StepStatus::Ok,
                        format!("{} bytes accepted", data.len()),
                        Some(reply.to_string()),
                    );
                    TxResult::Accepted(reply)
                }
                Ok(reply) => {
                    let error = if !mail_ok {
                        reply_error(mail_reply, Step::Mail)
                    } else if accepted == 0 {
                        first_refusal().unwrap_or_else(|| reply_error(reply.clone(), Step::Data))
                    } else {
                        reply_error(reply.clone(), Step::Data)
                    };
                    self.conn.rec.end(
                        Step::Data,
                        started,
                        StepStatus::Failed,
                        "the message was refused".to_owned(),
                        Some(reply.to_string()),
                    );
                    TxResult::Refused(error)
                }
                Err(error) => {
                    self.conn.rec.end(
                        Step::Data,
                        started,
                        StepStatus::Failed,
                        error.to_string(),
                        None,
                    );
                    TxResult::Unknown(error)
                }
            };
        }
        let data_reply = if pipelined {
            self.conn.reply(Step::Data, limit).await
        } else if mail_ok && accepted > 0 {
            self.conn
                .command("DATA", Shown::Command, Step::Data, limit)
                .await
        } else {
            pipelined = false;
            Err(Error::Invalid {
                detail: String::new(),
            })
        };
        let go_ahead = matches!(&data_reply, Ok(reply) if reply.code == 354);
        if !mail_ok || accepted == 0 {
            // RFC 2920: a server may still say 354 when every RCPT was refused; a lone dot
            // ends that empty message without sending anything.
            if go_ahead {
                self.conn.queue_final_dot();
                let _ = self.conn.reply(Step::Data, limit).await;
            } else if pipelined && mail_ok {
                self.rset().await;
            }
            let error = if mail_ok {
                first_refusal().unwrap_or_else(|| Error::Invalid {
                    detail: "no recipient was accepted".to_owned(),
                })
            } else {
                reply_error(mail_reply, Step::Mail)
            };
            self.conn.rec.end(
                Step::Data,
                started,
                StepStatus::Skipped,
                "no recipient was accepted".to_owned(),
                None,
            );
            return TxResult::Refused(error);
        }
        match data_reply {
            Ok(reply) if reply.code == 354 => {}
            other => {
                let error = self.refuse(Step::Data, started, other);
                self.rset().await;
                return TxResult::Refused(error);
            }
        }
        // The content and the dot that ends it go in one write, recorded as sent just before.
        if !mark_body() {
            // Nothing of the content left; the transaction is abandoned with the connection.
            self.broken = true;
            return TxResult::Refused(not_recorded());
        }
        self.conn.queue_data_body(data, accepted);
        self.conn.queue_final_dot();
        match self.conn.reply(Step::Data, self.timeouts.data).await {
            Ok(reply) if reply.code == 250 => {
                self.conn.rec.end(
                    Step::Data,
                    started,
                    StepStatus::Ok,
                    format!("{} bytes accepted", data.len()),
                    Some(reply.to_string()),
                );
                TxResult::Accepted(reply)
            }
            Ok(reply) => TxResult::Refused(self.refuse(Step::Data, started, Ok(reply))),
            Err(error) => {
                self.conn.rec.end(
                    Step::Data,
                    started,
                    StepStatus::Failed,
                    error.to_string(),
                    None,
                );
                TxResult::Unknown(error)
            }
        }
    }

    fn mail_command(&self, mail_from: &str, rcpts: &[String], data: &[u8]) -> String {
        let mut mail = format!("MAIL FROM:<{mail_from}>");
        if self.caps.size.is_some() {
            mail.push_str(&format!(" SIZE={}", data.len()));
        }
        if self.caps.eight_bit_mime && !data.is_ascii() {
            mail.push_str(" BODY=8BITMIME");
        }
        let envelope_ascii = mail_from.is_ascii() && rcpts.iter().all(|r| r.is_ascii());
        if self.caps.smtputf8 && !envelope_ascii {
            mail.push_str(" SMTPUTF8");
        }
        mail
    }

    /// Says QUIT (unless the connection is already gone) and returns the transcript.
    pub async fn quit(mut self) -> Vec<TranscriptLine> {
        self.close().await;
        self.conn.rec.into_lines()
    }

    /// The transcript so far.
    pub fn transcript(&self) -> &[TranscriptLine] {
        self.conn.rec.lines()
    }

    /// Takes the transcript so far, so a long-lived session does not grow without bound.
    pub fn take_transcript(&mut self) -> Vec<TranscriptLine> {
        self.conn.rec.take_lines()
    }

    /// What the server offered in its last EHLO reply.
    pub fn capabilities(&self) -> &Capabilities {
        &self.caps
    }

    pub fn tls(&self) -> Option<&TlsInfo> {
        self.tls.as_ref()
    }

    /// Whether the connection is still usable.
    pub fn is_open(&self) -> bool {
        !self.broken
    }

    pub(crate) fn into_parts(self) -> (Recorder, Capabilities, Option<TlsInfo>) {
        (self.conn.rec, self.caps, self.tls)
    }

    /// DNS, TCP, TLS, greeting, EHLO, and for STARTTLS targets STARTTLS and the second EHLO.
    pub(crate) async fn connect(
        target: &Target,
        timeouts: &Timeouts,
        mut rec: Recorder,
    ) -> Result<Session, ConnectFailure> {
        let fail = |error, rec| ConnectFailure {
            error,
            rec,
            caps: None,
            tls: None,
        };
        if target.security == Security::Plain && !profile::is_loopback(&target.host) {
            return Err(fail(
                Error::Insecure {
                    host: target.host.clone(),
                },
                rec,
            ));
        }
        let host = tls::unbracket(&target.host).to_owned();
        let addrs = match resolve(&host, target.port, timeouts, &mut rec).await {
            Ok(addrs) => addrs,
            Err(error) => return Err(fail(error, rec)),
        };
        let stream = match connect_tcp(&host, target.port, &addrs, timeouts, &mut rec).await {
            Ok(stream) => stream,
            Err(error) => return Err(fail(error, rec)),
        };
        let helo_name = match stream.local_addr() {
            Ok(SocketAddr::V4(addr)) => format!("[{}]", addr.ip()),
            Ok(SocketAddr::V6(addr)) => format!("[IPv6:{}]", addr.ip()),
            Err(_) => "[127.0.0.1]".to_owned(),
        };
        let mut session = Session {
            conn: Conn::new(Stream::Plain(stream), rec),
            host,
            port: target.port,
            security: target.security,
            timeouts: *timeouts,
            helo_name,
            caps: Capabilities::default(),
            tls: None,
            broken: false,
        };
        match session.handshake(target).await {
            Ok(()) => Ok(session),
            Err(error) => {
                let seen = !session.caps.keywords.is_empty();
                Err(ConnectFailure {
                    error,
                    caps: seen.then_some(session.caps),
                    tls: session.tls,
                    rec: session.conn.rec,
                })
            }
        }
    }

    async fn handshake(&mut self, target: &Target) -> Result<(), Error> {
        if self.security == Security::ImplicitTls {
            self.start_tls(target).await?;
        }
        let started = self.conn.rec.begin(Step::Greeting);
        let greeting = self.conn.reply(Step::Greeting, self.timeouts.command).await;
        self.expect(Step::Greeting, started, greeting, &[220], |_| {
            "the server greeted".to_owned()
        })?;
        self.ehlo().await?;
        if self.security != Security::StartTls {
            return Ok(());
        }
        let started = self.conn.rec.begin(Step::StartTls);
        if !self.caps.starttls {
            let detail = "the EHLO reply does not offer STARTTLS".to_owned();
            self.conn
                .rec
                .end(Step::StartTls, started, StepStatus::Failed, detail, None);
            return Err(Error::Failure(Failure::NoStartTls {
                host: self.host.clone(),
                port: self.port,
            }));
        }
        let reply = self
            .conn
            .command(
                "STARTTLS",
                Shown::Command,
                Step::StartTls,
                self.timeouts.command,
            )
            .await;
        let reply = match reply {
            // Bytes sent before our handshake cannot be trusted as coming over TLS.
            Ok(reply) if reply.code == 220 && self.conn.has_unread() => Err(Error::Protocol {
                step: Step::StartTls,
                detail: "the server sent more data right after agreeing to STARTTLS, which could \
                         have been injected before encryption"
                    .to_owned(),
            }),
            other => other,
        };
        self.expect(Step::StartTls, started, reply, &[220], |_| {
            "the server is ready for TLS".to_owned()
        })?;
        self.start_tls(target).await?;
        // RFC 3207: what the server said before TLS no longer counts.
        self.caps = Capabilities::default();
        self.ehlo().await
    }

    async fn start_tls(&mut self, target: &Target) -> Result<(), Error> {
        let started = self.conn.rec.begin(Step::Tls);
        let result = self.upgrade(target).await;
        match result {
            Ok(info) => {
                let leaf = info
                    .chain
                    .first()
                    .map(|cert| format!(", certificate {} issued by {}", cert.subject, cert.issuer))
                    .unwrap_or_default();
                let detail = format!("{}, {}{leaf}", info.version, info.cipher);
                self.conn.rec.note(format!(
                    "TLS established: {}, {}",
                    info.version, info.cipher
                ));
                self.note_chain(&info.chain);
                if let Some(warning) = diagnosis::interception_warning(&self.host, &info.chain) {
                    self.conn.rec.note(warning);
                }
                self.conn
                    .rec
                    .end(Step::Tls, started, StepStatus::Ok, detail, None);
                self.tls = Some(info);
                Ok(())
            }
            Err(error) => {
                // An untrusted chain is what the user needs to see, so it is kept for the report.
                if let Error::Failure(Failure::TlsCertificate { chain, .. }) = &error {
                    self.note_chain(chain);
                    self.tls = Some(TlsInfo {
                        version: String::new(),
                        cipher: String::new(),
                        chain: chain.clone(),
                    });
                }
                self.conn.rec.note(format!("TLS failed: {error}"));
                self.conn.rec.end(
                    Step::Tls,
                    started,
                    StepStatus::Failed,
                    error.to_string(),
                    None,
                );
                self.mark_err(error)
            }
        }
    }

    async fn upgrade(&mut self, target: &Target) -> Result<TlsInfo, Error> {
        let connector = tls::connector(target.extra_ca_pem.as_deref())?;
        let name = tls::server_name(&target.host)?;
        self.conn
            .start_tls(connector, name, self.timeouts.tls)
            .await
    }

    /// The presented certificates in the transcript, so the history shows them too.
    fn note_chain(&mut self, chain: &[CertificateInfo]) {
        for (number, cert) in chain.iter().enumerate() {
            self.conn.rec.note(format!(
                "certificate {} of {}: {cert}",
                number + 1,
                chain.len()
            ));
        }
    }

    async fn ehlo(&mut self) -> Result<(), Error> {
        let started = self.conn.rec.begin(Step::Ehlo);
        let line = format!("EHLO {}", self.helo_name);
        let reply = self
            .conn
            .command(&line, Shown::Command, Step::Ehlo, self.timeouts.command)
            .await;
        let reply = self.expect(Step::Ehlo, started, reply, &[250], |reply| {
            let caps = Capabilities::parse(reply);
            format!("the server offers {}", caps.keywords.join(", "))
        })?;
        self.caps = Capabilities::parse(&reply);
        Ok(())
    }

    /// Signs in with the best mechanism the server offers for these credentials.
    pub(crate) async fn authenticate(&mut self, credentials: &Credentials) -> Result<Auth, Error> {
        let skip =
            |session: &mut Session, detail: String| session.conn.rec.skip(Step::Auth, detail);
        let offered = if self.caps.auth.is_empty() {
            "no AUTH mechanism".to_owned()
        } else {
            format!("AUTH {}", self.caps.auth.join(" "))
        };
        let (user, mechanism) = match credentials {
            Credentials::None => {
                skip(self, "the profile does not sign in".to_owned());
                return Ok(Auth::NotNeeded);
            }
            Credentials::Password { user, .. } => {
                let mechanism = ["PLAIN", "LOGIN"].into_iter().find(|m| self.caps.offers(m));
                (user, mechanism)
            }
            Credentials::OAuth2 { user, .. } => {
                (user, Some("XOAUTH2").filter(|m| self.caps.offers(m)))
            }
            Credentials::OAuth {
                user, mechanism, ..
            } => {
                // The chosen mechanism when offered, else whichever of the two is.
                let mechanism = [mechanism.sasl_name(), "XOAUTH2", "OAUTHBEARER"]
                    .into_iter()
                    .find(|m| self.caps.offers(m));
                (user, mechanism)
            }
        };
        let Some(mechanism) = mechanism else {
            let needs = match credentials {
                Credentials::OAuth2 { .. } => "an OAuth2 token needs XOAUTH2",
                Credentials::OAuth { .. } => "an OAuth token needs XOAUTH2 or OAUTHBEARER",
                _ => "an app password needs PLAIN or LOGIN",
            };
            let warning = format!(
                "The server offers {offered}, and {needs}, so mailbridge did not sign in; the \
                 server may refuse mail from a client that has not signed in."
            );
            skip(self, format!("the server offers {offered}; {needs}"));
            return Ok(Auth::Unavailable(warning));
        };
        let started = self.conn.rec.begin(Step::Auth);
        let result = self.auth_exchange(credentials, mechanism).await;
        let detail = format!("signed in as {user} with {mechanism}");
        match result {
            Ok(reply) if reply.code == 235 => {
                let wire = reply.to_string();
                self.conn
                    .rec
                    .end(Step::Auth, started, StepStatus::Ok, detail, Some(wire));
                Ok(Auth::Accepted)
            }
            Ok(reply) => {
                let wire = reply.to_string();
                let detail = format!("{mechanism} for {user} was refused");
                self.conn
                    .rec
                    .end(Step::Auth, started, StepStatus::Failed, detail, Some(wire));
                let error = reply_error(reply, Step::Auth);
                self.mark(&error);
                Err(error)
            }
            Err(error) => {
                let reply = match &error {
                    Error::OAuthRejected { reply, .. } => Some(reply.to_string()),
                    _ => None,
                };
                self.conn.rec.end(
                    Step::Auth,
                    started,
                    StepStatus::Failed,
                    error.to_string(),
                    reply,
                );
                self.mark(&error);
                Err(error)
            }
        }
    }

    /// The AUTH dialogue; returns the final reply. Credentials only ever travel in lines queued
    /// as [`Shown::Secret`] or in an `AUTH <mechanism> <response>` line, which the transcript
    /// shows as `AUTH <mechanism> ****`.
    async fn auth_exchange(
        &mut self,
        credentials: &Credentials,
        mechanism: &str,
    ) -> Result<Reply, Error> {
        let limit = self.timeouts.command;
        let step = Step::Auth;
        match credentials {
            Credentials::None => Err(Error::Invalid {
                detail: "no credentials to sign in with".to_owned(),
            }),
            Credentials::Password { user, password } => {
                let password = password.without_spaces();
                if mechanism == "LOGIN" {
                    let reply = self
                        .conn
                        .command("AUTH LOGIN", Shown::Command, step, limit)
                        .await?;
                    if reply.code != 334 {
                        return Ok(reply);
                    }
                    let reply = self
                        .conn
                        .command(&STANDARD.encode(user), Shown::Secret, step, limit)
                        .await?;
                    if reply.code != 334 {
                        return Ok(reply);
                    }
                    let encoded = STANDARD.encode(password.expose());
                    return self
                        .conn
                        .command(&encoded, Shown::Secret, step, limit)
                        .await;
                }
                let response = STANDARD.encode(format!("\0{user}\0{}", password.expose()));
                let reply = self
                    .conn
                    .command(
                        &format!("AUTH PLAIN {response}"),
                        Shown::Command,
                        step,
                        limit,
                    )
                    .await?;
                if reply.code != 334 {
                    return Ok(reply);
                }
                // A server that ignores initial responses asks for it again.
                self.conn
                    .command(&response, Shown::Secret, step, limit)
                    .await
            }
            Credentials::OAuth2 { user, token } => {
                self.bearer_exchange(user, token, mechanism).await
            }
            Credentials::OAuth { user, tokens, .. } => {
                let token = tokens.0.token().await.map_err(Error::NoToken)?;
                let first = self.bearer_exchange(user, &token, mechanism).await;
                let challenge = match first {
                    Err(Error::OAuthRejected { challenge, reply }) if reply.code != 421 => {
                        challenge
                    }
                    Ok(reply) => {
                        if reply.code == 235 {
                            tokens.0.accepted();
                        }
                        return Ok(reply);
                    }
                    other => return other,
                };
                self.conn.rec.note(
                    "the server refused the access token; mailbridge refreshes it once and \
                     signs in again"
                        .to_owned(),
                );
                let text = challenge.lines.first().map(String::as_str).unwrap_or("");
                let fresh = tokens
                    .0
                    .refused(&token, text)
                    .await
                    .map_err(Error::NoToken)?;
                let second = self.bearer_exchange(user, &fresh, mechanism).await;
                if matches!(&second, Ok(reply) if reply.code == 235) {
                    tokens.0.accepted();
                }
                second
            }
        }
    }

    /// `AUTH XOAUTH2` or `AUTH OAUTHBEARER` (RFC 7628) with `token`. A refusal comes as a `334`
    /// JSON challenge, answered as each mechanism asks (an empty line, or `%x01`), and then the
    /// final reply: both are returned in [`Error::OAuthRejected`].
    async fn bearer_exchange(
        &mut self,
        user: &str,
        token: &Secret,
        mechanism: &str,
    ) -> Result<Reply, Error> {
        let limit = self.timeouts.command;
        let step = Step::Auth;
        let token = token.expose().trim();
        let (message, answer) = if mechanism == "OAUTHBEARER" {
            // RFC 5801's saslname: `,` and `=` are escaped in the authorization identity.
            let name = user.replace('=', "=3D").replace(',', "=2C");
            (
                format!(
                    "n,a={name},\x01host={}\x01port={}\x01auth=Bearer {token}\x01\x01",
                    self.host, self.port
                ),
                STANDARD.encode("\x01"),
            )
        } else {
            (
                format!("user={user}\x01auth=Bearer {token}\x01\x01"),
                String::new(),
            )
        };
        let response = STANDARD.encode(message);
        let reply = self
            .conn
            .command(
                &format!("AUTH {mechanism} {response}"),
                Shown::Command,
                step,
                limit,
            )
            .await?;
        if reply.code != 334 {
            return Ok(reply);
        }
        // The error challenge must be answered; the final reply (535) follows.
        let last = self
            .conn
            .command(&answer, Shown::Command, step, limit)
            .await?;
        Err(Error::OAuthRejected {
            challenge: reply,
            reply: last,
        })
    }

    async fn transaction(&mut self, outgoing: &Outgoing) -> Result<String, Error> {
        let limit = self.timeouts.command;
        let mail = self.mail_command(&outgoing.mail_from, &outgoing.rcpt_to, &outgoing.data);
        let started = self.conn.rec.begin(Step::Mail);
        if self.caps.pipelining {
            // RFC 2920: MAIL and every RCPT in one flush, then their replies in order.
            self.conn.queue(&mail, Shown::Command);
            for rcpt in &outgoing.rcpt_to {
                self.conn
                    .queue(&format!("RCPT TO:<{rcpt}>"), Shown::Command);
            }
            let reply = self.conn.reply(Step::Mail, limit).await;
            let mail_reply = self.expect_quietly(Step::Mail, started, reply)?;
            let mail_ok = mail_reply.code / 100 == 2;
            let mut failure = (!mail_ok).then(|| reply_error(mail_reply, Step::Mail));
            let started = self.conn.rec.begin(Step::Rcpt);
            for _ in &outgoing.rcpt_to {
                match self.conn.reply(Step::Rcpt, limit).await {
                    Ok(reply) if reply.code / 100 == 2 => {}
                    Ok(reply) => {
                        let error = reply_error(reply, Step::Rcpt);
                        self.mark(&error);
                        failure.get_or_insert(error);
                    }
                    Err(error) => {
                        self.mark(&error);
                        failure.get_or_insert(error);
                        break;
                    }
                }
            }
            let status = step_status(failure.is_none());
            let detail = format!("{} recipients", outgoing.rcpt_to.len());
            self.conn.rec.end(Step::Rcpt, started, status, detail, None);
            if let Some(failure) = failure {
                if mail_ok {
                    self.rset().await;
                }
                return Err(failure);
            }
        } else {
            let reply = self
                .conn
                .command(&mail, Shown::Command, Step::Mail, limit)
                .await;
            self.expect(Step::Mail, started, reply, &[250], |_| String::new())?;
            let started = self.conn.rec.begin(Step::Rcpt);
            for rcpt in &outgoing.rcpt_to {
                let line = format!("RCPT TO:<{rcpt}>");
                let reply = self
                    .conn
                    .command(&line, Shown::Command, Step::Rcpt, limit)
                    .await;
                match reply {
                    Ok(reply) if reply.code / 100 == 2 => {}
                    other => {
                        let error = self.refuse(Step::Rcpt, started, other);
                        self.rset().await;
                        return Err(error);
                    }
                }
            }
            let detail = format!("{} recipients", outgoing.rcpt_to.len());
            self.conn
                .rec
                .end(Step::Rcpt, started, StepStatus::Ok, detail, None);
        }
        let started = self.conn.rec.begin(Step::Data);
        let reply = self
            .conn
            .command("DATA", Shown::Command, Step::Data, limit)
            .await;
        match reply {
            Ok(reply) if reply.code == 354 => {}
            other => {
                let error = self.refuse(Step::Data, started, other);
                self.rset().await;
                return Err(error);
            }
        }
        self.conn.queue_data(&outgoing.data, outgoing.rcpt_to.len());
        let reply = self.conn.reply(Step::Data, self.timeouts.data).await;
        let reply = self.expect(Step::Data, started, reply, &[250], |_| {
            format!("{} bytes accepted", outgoing.data.len())
        })?;
        Ok(reply.to_string())
    }

    /// Ends a transaction the server accepted parts of; failure only means the session is done.
    async fn rset(&mut self) {
        if self.broken {
            return;
        }
        let reply = self
            .conn
            .command("RSET", Shown::Command, Step::Mail, self.timeouts.command)
            .await;
        match reply {
            Ok(reply) if reply.code / 100 == 2 => {}
            _ => self.broken = true,
        }
    }

    /// Says QUIT and reads the reply, unless the connection is gone; returns what happened.
    pub(crate) async fn close(&mut self) -> Option<Result<Reply, Error>> {
        if self.broken {
            return None;
        }
        let started = self.conn.rec.begin(Step::Quit);
        let reply = self
            .conn
            .command("QUIT", Shown::Command, Step::Quit, self.timeouts.command)
            .await;
        let result = self.expect(Step::Quit, started, reply, &[221], |_| {
            "the server said goodbye".to_owned()
        });
        self.broken = true;
        Some(result)
    }

    /// Records a step's outcome from its reply; a reply outside `accepted` becomes an error.
    fn expect(
        &mut self,
        step: Step,
        started: Instant,
        result: Result<Reply, Error>,
        accepted: &[u16],
        detail: impl FnOnce(&Reply) -> String,
    ) -> Result<Reply, Error> {
        match result {
            Ok(reply) if accepted.contains(&reply.code) => {
                let detail = detail(&reply);
                let wire = reply.to_string();
                self.conn
                    .rec
                    .end(step, started, StepStatus::Ok, detail, Some(wire));
                Ok(reply)
            }
            other => Err(self.refuse(step, started, other)),
        }
    }

    /// Records a step as failed, on a refusing reply or an error, and returns the error.
    fn refuse(&mut self, step: Step, started: Instant, result: Result<Reply, Error>) -> Error {
        let error = match result {
            Ok(reply) => {
                let wire = reply.to_string();
                let detail = format!("{step} was refused");
                self.conn
                    .rec
                    .end(step, started, StepStatus::Failed, detail, Some(wire));
                reply_error(reply, step)
            }
            Err(error) => {
                self.conn
                    .rec
                    .end(step, started, StepStatus::Failed, error.to_string(), None);
                error
            }
        };
        self.mark(&error);
        error
    }

    /// Like [`Session::expect`] for a pipelined reply whose refusal is handled by the caller.
    fn expect_quietly(
        &mut self,
        step: Step,
        started: Instant,
        result: Result<Reply, Error>,
    ) -> Result<Reply, Error> {
        match result {
            Ok(reply) => {
                let status = step_status(reply.code / 100 == 2);
                let wire = reply.to_string();
                self.conn
                    .rec
                    .end(step, started, status, String::new(), Some(wire));
                if reply.code == 421 {
                    self.broken = true;
                }
                Ok(reply)
            }
            Err(error) => {
                self.conn
                    .rec
                    .end(step, started, StepStatus::Failed, error.to_string(), None);
                self.mark_err(error)
            }
        }
    }

    fn mark(&mut self, error: &Error) {
        if error.ends_session() {
            self.broken = true;
        }
    }

    fn mark_err<T>(&mut self, error: Error) -> Result<T, Error> {
        self.mark(&error);
        Err(error)
    }
}

impl Conn {
    /// Upgrades the plain stream to TLS in place; the stream is closed if the handshake fails.
    pub(crate) async fn start_tls(
        &mut self,
        connector: tls::Connector,
        name: rustls::pki_types::ServerName<'static>,
        limit: std::time::Duration,
    ) -> Result<TlsInfo, Error> {
        let Stream::Plain(tcp) = self.take_stream() else {
            return Err(Error::Protocol {
                step: Step::Tls,
                detail: "TLS was already active".to_owned(),
            });
        };
        let host = name.to_str().into_owned();
        let tls::Connector { config, seen } = connector;
        let connector = tokio_rustls::TlsConnector::from(config);
        match tokio::time::timeout(limit, connector.connect(name, tcp)).await {
            Ok(Ok(stream)) => {
                let info = tls::info(stream.get_ref().1);
                self.put_stream(Stream::Tls(Box::new(stream)));
                Ok(info)
            }
            Ok(Err(error)) => Err(Error::Failure(tls::handshake_failure(&error, &host, &seen))),
            Err(_) => Err(wire::timeout(Step::Tls, limit)),
        }
    }
}

fn reply_error(reply: Reply, step: Step) -> Error {
    Error::Failure(Failure::Reply {
        reply,
        step: Some(step),
    })
}

fn not_recorded() -> Error {
    Error::Invalid {
        detail: "the outbox could not record that the message is going, so it was not sent"
            .to_owned(),
    }
}

fn step_status(ok: bool) -> StepStatus {
    if ok {
        StepStatus::Ok
    } else {
        StepStatus::Failed
    }
}

async fn resolve(
    host: &str,
    port: u16,
    timeouts: &Timeouts,
    rec: &mut Recorder,
) -> Result<Vec<SocketAddr>, Error> {
    let started = rec.begin(Step::Dns);
    let lookup = tokio::net::lookup_host((host, port));
    let result = match resolve_override(host, port) {
        Some(result) => {
            rec.note(format!("{RESOLVE_VAR} decides what {host} resolves to"));
            result.map_err(|detail| {
                Error::Failure(Failure::Dns {
                    host: host.to_owned(),
                    detail,
                })
            })
        }
        None => match tokio::time::timeout(timeouts.connect, lookup).await {
            Ok(Ok(addrs)) => {
                let addrs: Vec<SocketAddr> = addrs.collect();
                if addrs.is_empty() {
                    Err(Error::Failure(Failure::Dns {
                        host: host.to_owned(),
                        detail: "the name has no addresses".to_owned(),
                    }))
                } else {
                    Ok(addrs)
                }
            }
            Ok(Err(error)) => Err(Error::Failure(Failure::Dns {
                host: host.to_owned(),
                detail: error.to_string(),
            })),
            Err(_) => Err(wire::timeout(Step::Dns, timeouts.connect)),
        },
    };
    match &result {
        Ok(addrs) => {
            let list: Vec<String> = addrs.iter().map(|addr| addr.ip().to_string()).collect();
            let detail = format!("{host} is {}", list.join(", "));
            rec.end(Step::Dns, started, StepStatus::Ok, detail, None);
        }
        Err(error) => rec.end(
            Step::Dns,
            started,
            StepStatus::Failed,
            error.to_string(),
            None,
        ),
    }
    result
}

/// The environment variable that overrides DNS for some names, like curl's `--resolve`:
/// `name=address` entries separated by commas, where an empty address makes the name fail as an
/// unknown name does (`MAILBRIDGE_RESOLVE=smtp.gmail.com=127.0.0.1` or `smtp.gmail.com=`). It
/// is read here only, at each lookup. Certificates are still checked against the name, so it
/// cannot weaken TLS; the tests use it to reach local servers under Google's names and to be
/// a machine that cannot resolve them.
pub const RESOLVE_VAR: &str = "MAILBRIDGE_RESOLVE";

/// `Some` when [`RESOLVE_VAR`] names `host`: its addresses, or the resolver's error text.
pub(crate) fn resolve_override(host: &str, port: u16) -> Option<Result<Vec<SocketAddr>, String>> {
    let table = std::env::var(RESOLVE_VAR).ok()?;
    let address = table.split(',').find_map(|entry| {
        let (name, address) = entry.split_once('=')?;
        name.trim()
            .eq_ignore_ascii_case(host)
            .then_some(address.trim())
    })?;
    if address.is_empty() {
        // glibc's words for a name that does not exist, which an offline machine gives too.
        return Some(Err(format!(
            "failed to lookup address information: Name or service not known (set by {RESOLVE_VAR})"
        )));
    }
    Some(
        address
            .parse::<std::net::IpAddr>()
            .map(|ip| vec![SocketAddr::new(ip, port)])
            .map_err(|_| format!("{RESOLVE_VAR} gives {host} {address:?}, not an IP address")),
    )
}

/// Tries each address in turn until one connects, all within the connect timeout.
async fn connect_tcp(
    host: &str,
    port: u16,
    addrs: &[SocketAddr],
    timeouts: &Timeouts,
    rec: &mut Recorder,
) -> Result<TcpStream, Error> {
    let started = rec.begin(Step::Tcp);
    let deadline = tokio::time::Instant::now() + timeouts.connect;
    let mut last_error = None;
    let mut timed_out = false;
    let mut connected = None;
    for addr in addrs {
        match tokio::time::timeout_at(deadline, TcpStream::connect(addr)).await {
            Ok(Ok(stream)) => {
                connected = Some(stream);
                break;
            }
            Ok(Err(error)) => last_error = Some(error),
            Err(_) => {
                timed_out = true;
                break;
            }
        }
    }
    let result = match connected {
        Some(stream) => {
            // Commands are already batched per round trip; Nagle would only add delay.
            let _ = stream.set_nodelay(true);
            Ok(stream)
        }
        None if timed_out => Err(wire::timeout(Step::Tcp, timeouts.connect)),
        None => Err(match last_error {
            Some(error) if error.kind() == std::io::ErrorKind::ConnectionRefused => {
                Error::Failure(Failure::ConnectionRefused {
                    host: host.to_owned(),
                    port,
                })
            }
            Some(error) => Error::Unreachable {
                host: host.to_owned(),
                port,
                detail: error.to_string(),
            },
            None => Error::Unreachable {
                host: host.to_owned(),
                port,
                detail: "no address to connect to".to_owned(),
            },
        }),
    };
    match &result {
        Ok(stream) => {
            let peer = stream
                .peer_addr()
                .map(|addr| addr.to_string())
                .unwrap_or_else(|_| format!("{host}:{port}"));
            rec.note(format!("connected to {peer}"));
            rec.end(
                Step::Tcp,
                started,
                StepStatus::Ok,
                format!("connected to {peer}"),
                None,
            );
        }
        Err(error) => rec.end(
            Step::Tcp,
            started,
            StepStatus::Failed,
            error.to_string(),
            None,
        ),
    }
    result
}

/// Envelope addresses go into command lines, so anything that could end or bend a line is
/// refused here, whoever built the [`Outgoing`].
fn check_envelope(outgoing: &Outgoing) -> Result<(), Error> {
    if outgoing.rcpt_to.is_empty() {
        return Err(Error::Invalid {
            detail: "the message has no recipients".to_owned(),
        });
    }
    let bad = |address: &str| {
        address.len() > 254
            || address
                .chars()
                .any(|c| c.is_control() || c == '<' || c == '>')
    };
    let named = std::iter::once(("MAIL FROM", &outgoing.mail_from))
        .chain(outgoing.rcpt_to.iter().map(|rcpt| ("RCPT TO", rcpt)));
    for (what, address) in named {
        if bad(address) || (what == "RCPT TO" && address.trim().is_empty()) {
            return Err(Error::Invalid {
                detail: format!("the {what} address {address:?} is not a plain address"),
            });
        }
    }
    Ok(())
}
