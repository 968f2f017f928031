//! One SMTP conversation, from greeting to close: the rules Gmail enforces, in Gmail's words.
//!
//! Commands are read one line at a time from a buffered reader, so a pipelining client's
//! commands are answered one by one, in order, however they were packed into writes. A message
//! comes either after DATA (dot-stuffed, up to the final dot) or in BDAT chunks (RFC 3030:
//! exactly the announced number of octets after the command line, kept as they are).

use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio::time::timeout;
use tokio_rustls::TlsAcceptor;

use crate::bearer::{Bearer, TokenCheck, check_token, parse_oauthbearer, parse_xoauth2};
use crate::budget::{Budget, Full, MessageBuffer};
use crate::command::{Command, EnvelopeError, parse_mail_from, parse_rcpt_to};
use crate::config::{Config, FaultHandle};
use crate::introspect::Introspector;
use crate::message::{self, Problem};
use crate::reply;
use crate::store::{DAY_MS, Envelope, NewMessage, Store, now_ms};

/// Command lines. RFC 5321 asks for 512, but RFC 4954 recommends 12288 for AUTH lines, which
/// carry OAuth tokens of a few kilobytes.
const COMMAND_LINE_MAX: usize = 12 * 1024;
/// Lines inside DATA. RFC 5322 says 998 characters; real mail breaks that, so be generous,
/// but never let one line grow without bound.
const DATA_LINE_MAX: usize = 1024 * 1024;
/// Unrecognized commands before the session is closed: a client this confused (or a port
/// scanner sending junk) gets nothing more from talking.
const MAX_BAD_COMMANDS: u32 = 10;

/// What a session needs from the server that runs it.
pub(crate) struct Shared {
    pub config: Config,
    pub faults: FaultHandle,
    pub store: Store,
    pub acceptor: TlsAcceptor,
    /// Message bytes all sessions together may hold while messages arrive.
    pub budget: Budget,
    /// Checks bearer tokens other than the fixed one, when configured.
    pub introspector: Option<Arc<Introspector>>,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The TLS acceptor has nothing worth printing.
        f.debug_struct("Shared")
            .field("config", &self.config)
            .field("faults", &self.faults)
            .field("store", &self.store)
            .field("budget", &self.budget)
            .field("introspector", &self.introspector)
            .finish_non_exhaustive()
    }
}

/// Which listener accepted the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Port {
    /// Plain text until STARTTLS, like smtp.gmail.com:587.
    StartTls,
    /// TLS from the first byte, like smtp.gmail.com:465.
    ImplicitTls,
}

/// Resolves when the sandbox stops, or when its handle is dropped.
#[derive(Debug, Clone)]
pub(crate) struct Shutdown(pub watch::Receiver<bool>);

impl Shutdown {
    pub async fn wait(&mut self) {
        // An error means the sender is gone, which is a shutdown too.
        let _ = self.0.wait_for(|stop| *stop).await;
    }
}

trait Io: AsyncRead + AsyncWrite + Unpin + Send + Sync {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send + Sync> Io for T {}

/// Runs one session to its end. Network errors just end it: the client went away.
pub(crate) async fn serve(stream: TcpStream, port: Port, shared: Arc<Shared>, shutdown: Shutdown) {
    let peer = stream
        .peer_addr()
        .map(|addr| addr.ip().to_string())
        .unwrap_or_else(|_| "127.0.0.1".to_owned());
    let (io, tls_version): (Box<dyn Io>, _) = match port {
        Port::StartTls => (Box::new(stream), None),
        Port::ImplicitTls => {
            let handshake = shared.acceptor.accept(stream);
            match timeout(shared.config.idle_timeout, handshake).await {
                Ok(Ok(tls)) => {
                    let version = version_name(tls.get_ref().1.protocol_version());
                    (Box::new(tls), version)
                }
                _ => return,
            }
        }
    };
    let mut session = Session {
        io: BufReader::new(io),
        shared,
        id: session_id(),
        peer,
        port,
        tls_version,
        greeted: false,
        auth_mechanism: None,
        transaction: None,
        bad_commands: 0,
        shutdown,
    };
    match session.run().await {
        Ok(Ending::Linger) => linger(&mut session.io).await,
        Ok(Ending::Abrupt) => {}
        Err(error) => {
            tracing::debug!(session = %session.id, %error, "session ended by an IO error")
        }
    }
}

/// Closes politely: stop writing, then read and discard what the client still sends for a
/// moment. Closing a socket with unread input makes the kernel send a reset, which can
/// destroy our last reply (a 421 or 500) before the client reads it.
async fn linger(io: &mut BufReader<Box<dyn Io>>) {
    const LINGER: Duration = Duration::from_secs(2);
    const LINGER_BYTES: usize = 32 * 1024 * 1024;
    let _ = timeout(LINGER, async {
        let _ = io.shutdown().await;
        let mut discarded = 0;
        while discarded < LINGER_BYTES {
            match io.fill_buf().await {
                Ok([]) | Err(_) => break,
                Ok(buffer) => {
                    let n = buffer.len();
                    io.consume(n);
                    discarded += n;
                }
            }
        }
    })
    .await;
}

/// Turns away a connection over the limit, in Gmail's words, without holding a slot.
pub(crate) async fn refuse(stream: TcpStream, port: Port, shared: Arc<Shared>) {
    let text = reply::try_again_later(&session_id());
    let patience = Duration::from_secs(5);
    let _ = timeout(patience, async {
        match port {
            Port::StartTls => {
                let mut stream = stream;
                stream.write_all(text.as_bytes()).await?;
                stream.shutdown().await
            }
            Port::ImplicitTls => {
                let mut tls = shared.acceptor.accept(stream).await?;
                tls.write_all(text.as_bytes()).await?;
                tls.shutdown().await
            }
        }
    })
    .await;
}

struct Session {
    io: BufReader<Box<dyn Io>>,
    shared: Arc<Shared>,
    id: String,
    peer: String,
    port: Port,
    tls_version: Option<&'static str>,
    greeted: bool,
    auth_mechanism: Option<&'static str>,
    transaction: Option<Transaction>,
    bad_commands: u32,
    shutdown: Shutdown,
}

struct Transaction {
    mail_from: String,
    rcpt_to: Vec<String>,
    /// The message so far when it comes in BDAT chunks; `None` until the first chunk. Dropping
    /// it (RSET, EHLO, STARTTLS, the end of the session) returns its budget.
    chunks: Option<MessageBuffer>,
}

/// What reading a line produced.
enum Input {
    Line(Vec<u8>),
    TooLong,
    Eof,
    Idle,
    Shutdown,
}

#[derive(PartialEq, Eq)]
enum Flow {
    Continue,
    Close,
    /// Close at once, without a reply or a lingering close: the "cut in DATA" fault.
    Cut,
}

/// How a session that ended without an IO error closes its connection.
enum Ending {
    Linger,
    /// The client is gone, the sandbox is stopping, or a fault wants a cut connection.
    Abrupt,
}

impl Session {
    async fn run(&mut self) -> io::Result<Ending> {
        if self.shared.faults.take_greeting() {
            self.send(&reply::try_again_later(&self.id)).await?;
            return Ok(Ending::Linger);
        }
        self.send(&reply::greeting(&self.id)).await?;
        loop {
            let line = match self.read_line(COMMAND_LINE_MAX).await? {
                Input::Line(line) => line,
                other => return self.end(other).await,
            };
            match self.dispatch(Command::parse(&line)).await? {
                Flow::Continue => {}
                Flow::Close => return Ok(Ending::Linger),
                Flow::Cut => return Ok(Ending::Abrupt),
            }
        }
    }

    async fn dispatch(&mut self, command: Command) -> io::Result<Flow> {
        let id = self.id.clone();
        let reply = match command {
            Command::Ehlo(domain) | Command::Helo(domain) if domain.is_empty() => {
                self.send(&reply::empty_helo(&id)).await?;
                return Ok(Flow::Close);
            }
            Command::Ehlo(_) => {
                self.greeted = true;
                self.transaction = None;
                let max = self.shared.config.max_message_size;
                let mechanisms = if self.shared.introspector.is_some() {
                    reply::MECHANISMS_WITH_OAUTHBEARER
                } else {
                    reply::MECHANISMS
                };
                let auth = self.tls_version.map(|_| mechanisms);
                reply::ehlo(&self.peer, max, auth)
            }
            Command::Helo(_) => {
                self.greeted = true;
                self.transaction = None;
                reply::helo()
            }
            Command::StartTls => return self.starttls().await,
            Command::Auth { mechanism, initial } => return self.auth(&mechanism, initial).await,
            Command::Mail(arg) => return self.mail(&arg).await,
            Command::Rcpt(arg) => self.rcpt(&arg),
            Command::Data => return self.data().await,
            Command::Bdat { size, last } => return self.bdat(size, last).await,
            // Without a size there is no telling where the chunk ends, so what follows is read
            // as commands; junk among them counts toward MAX_BAD_COMMANDS as any other.
            Command::BadBdat => reply::bad_bdat(&id),
            Command::Rset => {
                self.transaction = None;
                reply::flushed(&id)
            }
            Command::Noop => reply::noop(&id),
            Command::Vrfy => reply::vrfy(&id),
            Command::Help => reply::help(&id),
            Command::Quit => {
                self.send(&reply::closing(&id)).await?;
                return Ok(Flow::Close);
            }
            Command::Unknown => {
                self.bad_commands += 1;
                if self.bad_commands >= MAX_BAD_COMMANDS {
                    self.send(&reply::too_many_bad_commands(&id)).await?;
                    return Ok(Flow::Close);
                }
                reply::unrecognized(&id)
            }
        };
        self.send(&reply).await?;
        Ok(Flow::Continue)
    }

    async fn starttls(&mut self) -> io::Result<Flow> {
        let id = self.id.clone();
        if self.tls_version.is_some() {
            self.send(&reply::tls_already_active(&id)).await?;
            return Ok(Flow::Continue);
        }
        if !self.greeted {
            self.send(&reply::ehlo_first(&id)).await?;
            return Ok(Flow::Continue);
        }
        // Bytes already waiting were sent before the client saw our 220: they would be read
        // as plain text and then trusted as if they came over TLS (CVE-2011-0411).
        if !self.io.buffer().is_empty() {
            self.send(&reply::pipelined_starttls()).await?;
            return Ok(Flow::Close);
        }
        self.send(reply::READY_TLS).await?;
        let placeholder: Box<dyn Io> =
            Box::new(tokio::io::join(tokio::io::empty(), tokio::io::sink()));
        let plain = std::mem::replace(&mut self.io, BufReader::new(placeholder)).into_inner();
        let handshake = self.shared.acceptor.accept(plain);
        let Ok(Ok(tls)) = timeout(self.shared.config.idle_timeout, handshake).await else {
            return Ok(Flow::Cut);
        };
        self.tls_version = version_name(tls.get_ref().1.protocol_version());
        self.io = BufReader::new(Box::new(tls));
        // RFC 3207: everything learnt before TLS is forgotten; the client must EHLO again.
        self.greeted = false;
        self.transaction = None;
        Ok(Flow::Continue)
    }

    async fn auth(&mut self, mechanism: &str, initial: Option<String>) -> io::Result<Flow> {
        let id = self.id.clone();
        let refusal = if !self.greeted {
            Some(reply::ehlo_first(&id))
        } else if self.tls_version.is_none() {
            Some(reply::must_starttls(&id))
        } else if self.auth_mechanism.is_some() {
            Some(reply::no_identity_change(&id))
        } else if self.shared.faults.take_auth() {
            Some(reply::too_many_logins(&id))
        } else {
            None
        };
        if let Some(refusal) = refusal {
            self.send(&refusal).await?;
            return Ok(Flow::Continue);
        }
        match mechanism {
            "PLAIN" => self.auth_plain(initial).await,
            "LOGIN" => self.auth_login(initial).await,
            "XOAUTH2" => self.auth_xoauth2(initial).await,
            // Offered only when tokens can be checked with their issuer.
            "OAUTHBEARER" if self.shared.introspector.is_some() => {
                self.auth_oauthbearer(initial).await
            }
            _ => {
                self.send(&reply::unknown_mechanism(&id)).await?;
                Ok(Flow::Continue)
            }
        }
    }

    async fn auth_plain(&mut self, initial: Option<String>) -> io::Result<Flow> {
        let response = match self.auth_response(initial, reply::AUTH_CONTINUE).await? {
            Ok(response) => response,
            Err(flow) => return Ok(flow),
        };
        let Some(decoded) = self.decode_or_refuse(&response).await? else {
            return Ok(Flow::Continue);
        };
        let mut fields = decoded.split(|&b| b == 0);
        let (Some(authzid), Some(user), Some(password), None) =
            (fields.next(), fields.next(), fields.next(), fields.next())
        else {
            self.send(&reply::cannot_decode(&self.id.clone())).await?;
            return Ok(Flow::Continue);
        };
        let verdict = self.check_password(user, authzid, password);
        self.finish_auth(verdict, "PLAIN").await
    }

    async fn auth_login(&mut self, initial: Option<String>) -> io::Result<Flow> {
        let response = match self.auth_response(initial, reply::LOGIN_USERNAME).await? {
            Ok(response) => response,
            Err(flow) => return Ok(flow),
        };
        let Some(user) = self.decode_or_refuse(&response).await? else {
            return Ok(Flow::Continue);
        };
        let response = match self.auth_response(None, reply::LOGIN_PASSWORD).await? {
            Ok(response) => response,
            Err(flow) => return Ok(flow),
        };
        let Some(password) = self.decode_or_refuse(&response).await? else {
            return Ok(Flow::Continue);
        };
        let verdict = self.check_password(&user, b"", &password);
        self.finish_auth(verdict, "LOGIN").await
    }

    async fn auth_xoauth2(&mut self, initial: Option<String>) -> io::Result<Flow> {
        let response = match self.auth_response(initial, reply::AUTH_CONTINUE).await? {
            Ok(response) => response,
            Err(flow) => return Ok(flow),
        };
        let Some(decoded) = self.decode_or_refuse(&response).await? else {
            return Ok(Flow::Continue);
        };
        let Bearer { user, token } = parse_xoauth2(&decoded);
        let checked = match user {
            Some(user) => self.check_bearer(&user, token.as_deref()).await,
            None => Some(TokenCheck::Refused),
        };
        // Gmail's way: a JSON error as a challenge, then the 535 once the client answers it
        // (with an empty line, as the XOAUTH2 spec asks).
        self.finish_bearer(checked, "XOAUTH2", &reply::xoauth2_challenge())
            .await
    }

    /// RFC 7628: the same token in a GS2 header and key=value pairs. Without an authorization
    /// identity (`a=`), the token must be the sandbox account's.
    async fn auth_oauthbearer(&mut self, initial: Option<String>) -> io::Result<Flow> {
        let response = match self.auth_response(initial, reply::AUTH_CONTINUE).await? {
            Ok(response) => response,
            Err(flow) => return Ok(flow),
        };
        let Some(decoded) = self.decode_or_refuse(&response).await? else {
            return Ok(Flow::Continue);
        };
        let Some(Bearer { user, token }) = parse_oauthbearer(&decoded) else {
            self.send(&reply::cannot_decode(&self.id.clone())).await?;
            return Ok(Flow::Continue);
        };
        let user = user.unwrap_or_else(|| self.shared.config.user.clone());
        let checked = self.check_bearer(&user, token.as_deref()).await;
        // The error flow of RFC 7628 section 3.2.3: the client answers the JSON with %x01.
        self.finish_bearer(checked, "OAUTHBEARER", &reply::oauthbearer_challenge())
            .await
    }

    /// The fixed token first, then the issuer. `None` means the sandbox is stopping.
    async fn check_bearer(&mut self, user: &str, token: Option<&str>) -> Option<TokenCheck> {
        let shared = self.shared.clone();
        // An await like any other: only this session waits for the issuer.
        tokio::select! {
            () = self.shutdown.wait() => None,
            checked = check_token(&shared, &self.id, user, token) => Some(checked),
        }
    }

    /// Answers a checked bearer token: 235; the error `challenge`, then 535 once the client
    /// has answered it; or a temporary 454 when the issuer could not be asked.
    async fn finish_bearer(
        &mut self,
        checked: Option<TokenCheck>,
        mechanism: &'static str,
        challenge: &str,
    ) -> io::Result<Flow> {
        match checked {
            None => self.end(Input::Shutdown).await.map(Flow::from),
            Some(TokenCheck::Accepted) => self.finish_auth(Verdict::Accepted, mechanism).await,
            Some(TokenCheck::Unavailable) => {
                self.send(&reply::auth_unavailable(&self.id.clone()))
                    .await?;
                Ok(Flow::Continue)
            }
            Some(TokenCheck::Refused) => {
                self.send(challenge).await?;
                match self.read_line(COMMAND_LINE_MAX).await? {
                    Input::Line(_) => {}
                    other => return self.end(other).await.map(Flow::from),
                }
                self.finish_auth(Verdict::BadCredentials, mechanism).await
            }
        }
    }

    /// The client's answer: the initial response if it sent one, else the answer to `prompt`.
    /// `Err(flow)` means the session is over (the client left, idled out, or sent too much).
    async fn auth_response(
        &mut self,
        initial: Option<String>,
        prompt: &str,
    ) -> io::Result<Result<String, Flow>> {
        if let Some(initial) = initial {
            return Ok(Ok(initial));
        }
        self.send(prompt).await?;
        match self.read_line(COMMAND_LINE_MAX).await? {
            Input::Line(line) => Ok(Ok(String::from_utf8_lossy(&line)
                .trim_end_matches(['\r', '\n'])
                .to_owned())),
            other => Ok(Err(self.end(other).await?.into())),
        }
    }

    /// Decodes an AUTH response, answering `*` (cancel) and bad base64 itself; `None` means
    /// it did.
    async fn decode_or_refuse(&mut self, response: &str) -> io::Result<Option<Vec<u8>>> {
        let id = self.id.clone();
        if response == "*" {
            self.send(&reply::auth_cancelled(&id)).await?;
            return Ok(None);
        }
        // RFC 4954: "=" is an empty response.
        let response = if response == "=" { "" } else { response };
        match BASE64.decode(response) {
            Ok(decoded) => Ok(Some(decoded)),
            Err(_) => {
                self.send(&reply::cannot_decode(&id)).await?;
                Ok(None)
            }
        }
    }

    fn check_password(&self, user: &[u8], authzid: &[u8], password: &[u8]) -> Verdict {
        let config = &self.shared.config;
        let is_user = |name: &[u8]| name.eq_ignore_ascii_case(config.user.as_bytes());
        if !is_user(user) || !(authzid.is_empty() || is_user(authzid)) {
            return Verdict::BadCredentials;
        }
        // Exact comparison: Google shows app passwords with spaces, and removing them is
        // the client's job, which is exactly what users get wrong.
        if password == config.app_password.as_bytes() {
            Verdict::Accepted
        } else if config
            .account_password
            .as_deref()
            .is_some_and(|account| password == account.as_bytes())
        {
            Verdict::AppPasswordRequired
        } else {
            Verdict::BadCredentials
        }
    }

    async fn finish_auth(&mut self, verdict: Verdict, mechanism: &'static str) -> io::Result<Flow> {
        let id = self.id.clone();
        let reply = match verdict {
            Verdict::Accepted => {
                self.auth_mechanism = Some(mechanism);
                reply::AUTH_ACCEPTED.to_owned()
            }
            Verdict::AppPasswordRequired => reply::app_password_required(&id),
            Verdict::BadCredentials => reply::bad_credentials(&id),
        };
        self.send(&reply).await?;
        Ok(Flow::Continue)
    }

    async fn mail(&mut self, arg: &str) -> io::Result<Flow> {
        let id = self.id.clone();
        let reply = if !self.greeted {
            reply::ehlo_first(&id)
        } else if self.port == Port::StartTls && self.tls_version.is_none() {
            reply::must_starttls(&id)
        } else if self.auth_mechanism.is_none() {
            reply::auth_required(&id)
        } else if self.transaction.is_some() {
            reply::nested_mail(&id)
        } else if self.shared.faults.take_mail() {
            self.send(&reply::try_again_later(&id)).await?;
            return Ok(Flow::Close);
        } else {
            match parse_mail_from(arg) {
                Err(EnvelopeError::Syntax) => reply::syntax_error(&id),
                Err(EnvelopeError::InvalidAddress(address)) => reply::bad_sender(&address, &id),
                Ok(mail) if mail.size.unwrap_or(0) > self.shared.config.max_message_size as u64 => {
                    reply::too_big(&id)
                }
                Ok(mail) => {
                    if self.over_daily_limit().await {
                        reply::daily_limit(&id)
                    } else {
                        self.transaction = Some(Transaction {
                            mail_from: mail.address,
                            rcpt_to: Vec::new(),
                            chunks: None,
                        });
                        reply::mail_ok(&id)
                    }
                }
            }
        };
        self.send(&reply).await?;
        Ok(Flow::Continue)
    }

    async fn over_daily_limit(&self) -> bool {
        let Some(limit) = self.shared.faults.daily_limit() else {
            return false;
        };
        let store = self.shared.store.clone();
        let since = now_ms().saturating_sub(DAY_MS);
        let sent = tokio::task::spawn_blocking(move || store.sent_since(since)).await;
        match sent {
            Ok(Ok(sent)) => sent >= limit,
            // A store that cannot count is a sandbox problem, not the user's quota.
            _ => false,
        }
    }

    fn rcpt(&mut self, arg: &str) -> String {
        let id = &self.id;
        let max_recipients = self.shared.config.max_recipients;
        let Some(transaction) = self.transaction.as_mut() else {
            return if self.greeted {
                reply::mail_first(id)
            } else {
                reply::ehlo_first(id)
            };
        };
        match parse_rcpt_to(arg) {
            Err(EnvelopeError::Syntax) => reply::syntax_error(id),
            Err(EnvelopeError::InvalidAddress(address)) => reply::bad_recipient(&address, id),
            Ok(_) if transaction.rcpt_to.len() >= max_recipients => reply::too_many_recipients(id),
            Ok(address) => {
                transaction.rcpt_to.push(address);
                reply::rcpt_ok(id)
            }
        }
    }

    async fn data(&mut self) -> io::Result<Flow> {
        let id = self.id.clone();
        let refusal = match &self.transaction {
            None if !self.greeted => Some(reply::ehlo_first(&id)),
            None => Some(reply::mail_first(&id)),
            // RFC 3030: DATA and BDAT never share a transaction. The chunks so far stay, so
            // the client can still finish with BDAT (or RSET).
            Some(transaction) if transaction.chunks.is_some() => Some(reply::bad_sequence(&id)),
            Some(transaction) if transaction.rcpt_to.is_empty() => Some(reply::rcpt_first(&id)),
            Some(_) => None,
        };
        if let Some(refusal) = refusal {
            self.send(&refusal).await?;
            return Ok(Flow::Continue);
        }
        self.send(&reply::go_ahead(&id)).await?;
        let cut = self.shared.faults.take_data_drop();
        let max = self.shared.config.max_message_size;
        // Once the message is refused, the rest is read and discarded so the reply lands where
        // the client expects it; dropping the buffer frees its bytes and its budget at once.
        let mut received = Ok(self.shared.budget.buffer(max));
        loop {
            let line = match self.read_line(DATA_LINE_MAX).await? {
                Input::Line(line) => line,
                other => return self.end(other).await.map(Flow::from),
            };
            if cut {
                return Ok(Flow::Cut);
            }
            if line == b".\r\n" || line == b".\n" {
                break;
            }
            // RFC 5321 4.5.2: a leading dot was doubled by the client.
            let line = line.strip_prefix(b".".as_slice()).unwrap_or(&line);
            if let Ok(buffer) = &mut received
                && let Err(full) = buffer.extend(line)
            {
                received = Err(full);
            }
        }
        let Some(transaction) = self.transaction.take() else {
            return Ok(Flow::Continue);
        };
        let reply = self.finish(transaction, received).await;
        self.send(&reply).await?;
        Ok(Flow::Continue)
    }

    /// One BDAT chunk. Its octets follow the command line whatever the reply, so they are
    /// always read, refused or not: that keeps the session in step with a client that sent
    /// MAIL, RCPT and BDAT with the chunk in one write. The announced size only decides how
    /// much to read; memory is taken from the budget as the bytes actually arrive.
    async fn bdat(&mut self, size: u64, last: bool) -> io::Result<Flow> {
        let id = self.id.clone();
        let max = self.shared.config.max_message_size;
        let refusal = match &self.transaction {
            None if !self.greeted => Some(reply::ehlo_first(&id)),
            None => Some(reply::mail_first(&id)),
            Some(transaction) if transaction.rcpt_to.is_empty() => Some(reply::rcpt_first(&id)),
            Some(_) => None,
        };
        // The message so far, out of the transaction while the chunk arrives; `None` when the
        // command is refused and the chunk is only read past. Once the message is refused
        // (`Err`), the rest of the chunk is read and discarded.
        let (mut received, cut) = match (&refusal, self.transaction.as_mut()) {
            (None, Some(transaction)) => {
                let first = transaction.chunks.is_none();
                let buffer = transaction
                    .chunks
                    .take()
                    .unwrap_or_else(|| self.shared.budget.buffer(max));
                let total = (buffer.bytes().len() as u64).saturating_add(size);
                let received = if total > max as u64 {
                    // Over the limit by its announcement: not one byte of it is kept.
                    Err(Full::TooBig)
                } else {
                    Ok(buffer)
                };
                (Some(received), first && self.shared.faults.take_data_drop())
            }
            _ => (None, false),
        };
        // The "cut in DATA" fault: halfway through the chunk, the connection goes.
        let wanted = if cut { size / 2 } else { size };
        let idle = self.shared.config.idle_timeout;
        let keep = |piece: &[u8]| {
            if let Some(Ok(buffer)) = &mut received
                && let Err(full) = buffer.extend(piece)
            {
                received = Some(Err(full));
            }
        };
        let ended = tokio::select! {
            () = self.shutdown.wait() => Some(Input::Shutdown),
            read = read_octets(&mut self.io, wanted, idle, keep) => read?,
        };
        if let Some(input) = ended {
            return self.end(input).await.map(Flow::from);
        }
        if cut {
            return Ok(Flow::Cut);
        }
        let reply = match (refusal, received) {
            (Some(refusal), _) => refusal,
            (None, Some(Ok(buffer))) if !last => {
                if let Some(transaction) = self.transaction.as_mut() {
                    transaction.chunks = Some(buffer);
                }
                reply::chunk_received(size, &id)
            }
            // The last chunk, or a refused one. A refusal ends the transaction too: RFC 3030
            // leaves the state after a failed chunk open, and a new MAIL is what clients try.
            (None, Some(received)) => match self.transaction.take() {
                Some(transaction) => self.finish(transaction, received).await,
                None => reply::mail_first(&id),
            },
            // Not refused means there is a transaction, so a message to add to.
            (None, None) => reply::mail_first(&id),
        };
        self.send(&reply).await?;
        Ok(Flow::Continue)
    }

    /// The reply that ends a transaction, after DATA's final dot or BDAT LAST: the message is
    /// refused, or checked as Gmail checks it and captured.
    async fn finish(
        &self,
        transaction: Transaction,
        received: Result<MessageBuffer, Full>,
    ) -> String {
        let id = &self.id;
        match received {
            Err(Full::TooBig) => reply::too_big(id),
            Err(Full::OverBudget) => reply::temporary_problem(id),
            Ok(buffer) => match message::check(buffer.bytes()) {
                Err(Problem::MissingMessageId) => reply::missing_message_id(id),
                Err(Problem::BadFrom) => reply::missing_from(id),
                Ok(()) => self.capture(transaction, buffer).await,
            },
        }
    }

    /// Stores the message. Its budget is held until the store is done with the bytes, and
    /// returned before the reply goes out.
    async fn capture(&self, transaction: Transaction, message: MessageBuffer) -> String {
        let (raw, _reservation) = message.into_parts();
        let placement = crate::placement::place(
            &raw,
            &self.shared.config.user,
            self.shared.faults.take_spam(),
        );
        let new = NewMessage {
            envelope: Envelope {
                mail_from: transaction.mail_from,
                rcpt_to: transaction.rcpt_to,
            },
            raw,
            tls_version: self.tls_version.map(str::to_owned),
            auth_mechanism: self.auth_mechanism.map(str::to_owned),
            placement,
            counts_as_send: true,
        };
        let store = self.shared.store.clone();
        // Checked again as the message is stored: sessions past MAIL at the same moment must
        // not pass the limit together.
        let limit = self.shared.faults.daily_limit();
        // Like Gmail, a dead address is accepted now and reported later, in the sender's inbox.
        let bounced: Vec<String> = new
            .envelope
            .rcpt_to
            .iter()
            .filter(|rcpt| crate::dsn::bounces(rcpt))
            .cloned()
            .collect();
        let reports = if bounced.is_empty() {
            Vec::new()
        } else {
            let sender = if new.envelope.mail_from.is_empty() {
                self.shared.config.user.clone()
            } else {
                new.envelope.mail_from.clone()
            };
            bounced
                .iter()
                .enumerate()
                .map(|(index, rcpt)| NewMessage {
                    envelope: Envelope {
                        mail_from: String::new(),
                        rcpt_to: vec![sender.clone()],
                    },
                    raw: crate::dsn::report(
                        &sender,
                        rcpt,
                        &new.raw,
                        now_ms(),
                        now_ms().wrapping_mul(31).wrapping_add(index as u64),
                    ),
                    tls_version: None,
                    auth_mechanism: None,
                    placement: crate::placement::Placement::default(),
                    counts_as_send: false,
                })
                .collect()
        };
        let stored = tokio::task::spawn_blocking(move || {
            let summary = store.insert_within(new, limit)?;
            if summary.is_some() {
                for report in reports {
                    store.insert_within(report, None)?;
                }
            }
            Ok::<_, crate::Error>(summary)
        });
        match stored.await {
            Ok(Ok(Some(summary))) => reply::accepted(summary.received_unix_ms / 1000, &self.id),
            Ok(Ok(None)) => reply::daily_limit(&self.id),
            Ok(Err(error)) => {
                tracing::warn!(%error, "could not store a captured message");
                reply::store_failed(&self.id)
            }
            Err(_) => reply::store_failed(&self.id),
        }
    }

    /// Reads one line, giving up at `max` bytes, after the idle timeout, or at shutdown.
    async fn read_line(&mut self, max: usize) -> io::Result<Input> {
        let idle = self.shared.config.idle_timeout;
        tokio::select! {
            () = self.shutdown.wait() => Ok(Input::Shutdown),
            input = read_limited(&mut self.io, max, idle) => input,
        }
    }

    /// Says goodbye the way the reason for ending calls for.
    async fn end(&mut self, input: Input) -> io::Result<Ending> {
        let id = self.id.clone();
        let reply = match input {
            Input::Line(_) | Input::Eof => return Ok(Ending::Abrupt),
            Input::Shutdown => {
                self.send(&reply::shutting_down(&id)).await?;
                return Ok(Ending::Abrupt);
            }
            Input::TooLong => reply::line_too_long(&id),
            Input::Idle => reply::connection_expired(&id),
        };
        self.send(&reply).await?;
        Ok(Ending::Linger)
    }

    async fn send(&mut self, reply: &str) -> io::Result<()> {
        let delay = self.shared.faults.reply_delay();
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        let io = &mut self.io;
        let write = async {
            io.write_all(reply.as_bytes()).await?;
            io.flush().await
        };
        // A client that stops reading must not hold a session forever.
        match timeout(self.shared.config.idle_timeout, write).await {
            Ok(result) => result,
            Err(_) => Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "the client stopped reading",
            )),
        }
    }
}

impl From<Ending> for Flow {
    fn from(ending: Ending) -> Flow {
        match ending {
            Ending::Linger => Flow::Close,
            Ending::Abrupt => Flow::Cut,
        }
    }
}

enum Verdict {
    Accepted,
    AppPasswordRequired,
    BadCredentials,
}

/// Reads up to and including the next LF, never holding more than `max` bytes.
async fn read_limited(
    io: &mut BufReader<Box<dyn Io>>,
    max: usize,
    idle: Duration,
) -> io::Result<Input> {
    let mut line = Vec::new();
    loop {
        let available = match timeout(idle, io.fill_buf()).await {
            Ok(result) => result?,
            Err(_) => return Ok(Input::Idle),
        };
        if available.is_empty() {
            return Ok(Input::Eof);
        }
        let (take, complete) = match available.iter().position(|&b| b == b'\n') {
            Some(index) => (index + 1, true),
            None => (available.len(), false),
        };
        if line.len() + take > max {
            return Ok(Input::TooLong);
        }
        line.extend_from_slice(&available[..take]);
        io.consume(take);
        if complete {
            return Ok(Input::Line(line));
        }
    }
}

/// Reads exactly `size` octets, handing them to `keep` piece by piece as they arrive, so this
/// holds nothing beyond the reader's own buffer whatever size was announced. `None` once all
/// have arrived; else why they stopped coming.
async fn read_octets(
    io: &mut BufReader<Box<dyn Io>>,
    size: u64,
    idle: Duration,
    mut keep: impl FnMut(&[u8]),
) -> io::Result<Option<Input>> {
    let mut left = size;
    while left > 0 {
        let available = match timeout(idle, io.fill_buf()).await {
            Ok(result) => result?,
            Err(_) => return Ok(Some(Input::Idle)),
        };
        if available.is_empty() {
            return Ok(Some(Input::Eof));
        }
        let take = usize::try_from(left).map_or(available.len(), |left| left.min(available.len()));
        keep(&available[..take]);
        io.consume(take);
        left -= take as u64;
    }
    Ok(None)
}

/// Accepts padded and unpadded base64: clients differ, and Gmail takes both.
const BASE64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

fn version_name(version: Option<rustls::ProtocolVersion>) -> Option<&'static str> {
    match version? {
        rustls::ProtocolVersion::TLSv1_3 => Some("TLSv1.3"),
        rustls::ProtocolVersion::TLSv1_2 => Some("TLSv1.2"),
        _ => None,
    }
}

/// A session id for the `<id> - gsmtp` trailer: unique enough to find a session in a log.
fn session_id() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let count = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or_default();
    // splitmix64, so consecutive sessions do not get look-alike ids.
    let mut x = nanos ^ count.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^= x >> 31;
    format!("{:013x}-{}sbx", x >> 12, count)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_ids_differ() {
        assert_ne!(session_id(), session_id());
    }
}
