//! The sandbox's read-only IMAP side: the capture store as Gmail's IMAP shows a mailbox, so
//! delivery can be verified with no Google account.
//!
//! It speaks IMAP4rev1 over implicit TLS (like imap.gmail.com:993) with the sandbox's
//! certificate, offers SPECIAL-USE folders (`[Gmail]/All Mail` `\All`, `[Gmail]/Spam` `\Junk`,
//! `[Gmail]/Trash` `\Trash`) and Gmail's X-GM-EXT-1 (`X-GM-RAW "rfc822msgid:..."`,
//! `X-GM-LABELS`). Commands are parsed by imap-codec. UIDs are the capture store's ids.
//! It signs in with `LOGIN` or `AUTHENTICATE PLAIN` and the App Password, or with
//! `AUTHENTICATE XOAUTH2` / `OAUTHBEARER` and a bearer token checked as the SMTP side checks
//! it (the fixed token, or one the issuer vouches for by introspection); a refused token gets
//! Gmail's JSON challenge before the NO.
//!
//! Bounded against hostile clients: a command line holds at most [`LINE_MAX`] bytes, a
//! literal at most [`LITERAL_MAX`] (the server is read-only, so clients have no big literal
//! to send), a session that says nothing for the idle timeout is closed, at most
//! [`MAX_CONNECTIONS`] sessions run at once (Gmail's limit per account), and a client that
//! sends [`MAX_BAD_COMMANDS`] commands it cannot parse is disconnected.
//!
//! # Layout
//! - `gmail`: Gmail's keywords rewritten into forms imap-codec parses; X-GM-RAW queries (pure).
//! - `folder`: the folders, LIST, SEARCH and FETCH over captured messages (pure).

mod folder;
mod gmail;

use std::io;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use imap_codec::imap_types::command::{Command, CommandBody};
use imap_codec::imap_types::core::LiteralMode;
use imap_codec::imap_types::mailbox::{ListMailbox, Mailbox};
use imap_codec::imap_types::status::StatusDataItemName;
use imap_codec::{CommandCodec, decode::CommandDecodeError, decode::Decoder as _};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, mpsc};
use tokio::time::timeout;
use tokio_rustls::server::TlsStream;

use crate::bearer::{Bearer, TokenCheck, check_token};
use crate::session::{Shared, Shutdown};
use folder::{Entry, Folder, View};

/// One line of a command, CRLF included.
pub const LINE_MAX: usize = 8 * 1024;
/// One literal. Gmail takes far more for APPEND, but this server appends nothing.
pub const LITERAL_MAX: u32 = 1024 * 1024;
/// One command: its lines and literals together.
const COMMAND_MAX: usize = 2 * 1024 * 1024;
/// Sessions at once (Gmail allows about 15 per account); never more than
/// `Config::max_connections`.
pub const MAX_CONNECTIONS: usize = 15;
/// Unparsable commands before the session is closed.
pub const MAX_BAD_COMMANDS: u32 = 5;
/// Failed logins before the session is closed.
const MAX_FAILED_LOGINS: u32 = 3;

const CAPABILITIES: &str =
    "IMAP4rev1 SPECIAL-USE X-GM-EXT-1 SASL-IR AUTH=PLAIN AUTH=XOAUTH2 AUTH=OAUTHBEARER";
const CAPABILITIES_AUTHENTICATED: &str = "IMAP4rev1 SPECIAL-USE X-GM-EXT-1";
const AUTH_FAILED: &str = "NO [AUTHENTICATIONFAILED] Invalid credentials (Failure)";
const READ_ONLY: &str = "NO [CANNOT] The sandbox's IMAP is read-only: it shows captured \
                         messages and changes nothing (Failure)";

/// Accepts IMAP sessions until the sandbox stops.
pub(crate) async fn accept_loop(
    listener: TcpListener,
    shared: Arc<Shared>,
    mut shutdown: Shutdown,
    running: mpsc::Sender<()>,
) {
    let limit = Arc::new(Semaphore::new(
        MAX_CONNECTIONS.min(shared.config.max_connections).max(1),
    ));
    loop {
        let accepted = tokio::select! {
            () = shutdown.wait() => return,
            accepted = listener.accept() => accepted,
        };
        let stream = match accepted {
            Ok((stream, _)) => stream,
            Err(error) => {
                tracing::warn!(%error, "IMAP accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let shared = shared.clone();
        let running = running.clone();
        let permit = limit.clone().try_acquire_owned();
        let shutdown = shutdown.clone();
        tokio::spawn(async move {
            match permit {
                Ok(permit) => {
                    serve(stream, shared, shutdown).await;
                    drop(permit);
                }
                Err(_) => refuse(stream, shared).await,
            }
            drop(running);
        });
    }
}

type Io = BufReader<TlsStream<TcpStream>>;

async fn handshake(stream: TcpStream, shared: &Shared) -> Option<Io> {
    match timeout(shared.config.idle_timeout, shared.acceptor.accept(stream)).await {
        Ok(Ok(tls)) => Some(BufReader::new(tls)),
        _ => None,
    }
}

async fn refuse(stream: TcpStream, shared: Arc<Shared>) {
    if let Some(mut io) = handshake(stream, &shared).await {
        let _ = io
            .write_all(b"* BYE [UNAVAILABLE] Too many simultaneous connections. (Failure)\r\n")
            .await;
        linger(&mut io).await;
    }
}

async fn serve(stream: TcpStream, shared: Arc<Shared>, shutdown: Shutdown) {
    let Some(io) = handshake(stream, &shared).await else {
        return;
    };
    let mut session = Session {
        io,
        shared,
        state: State::NotAuthenticated,
        bad_commands: 0,
        failed_logins: 0,
    };
    match session.run(shutdown).await {
        Ok(()) => linger(&mut session.io).await,
        Err(error) => tracing::debug!(%error, "IMAP session ended by an IO error"),
    }
}

/// Closes politely: stop writing, then read and discard for a moment, so the kernel does not
/// answer unread input with a reset that destroys our last words (a BAD or a BYE).
async fn linger(io: &mut Io) {
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

#[derive(Debug)]
enum State {
    NotAuthenticated,
    Authenticated,
    Selected { folder: Folder, entries: Vec<Entry> },
}

/// What reading a command gave.
enum Frame {
    Command(Vec<u8>),
    /// The client closed the connection.
    Closed,
    LineTooLong,
    LiteralTooBig {
        tag: String,
        length: u32,
    },
}

enum Line {
    Data(Vec<u8>),
    Closed,
    TooLong,
}

enum Flow {
    Continue,
    Close,
}

struct Session {
    io: Io,
    shared: Arc<Shared>,
    state: State,
    bad_commands: u32,
    failed_logins: u32,
}

impl Session {
    async fn run(&mut self, mut shutdown: Shutdown) -> io::Result<()> {
        self.write(b"* OK Gimap ready for requests from 127.0.0.1 (mailbridge sandbox)\r\n")
            .await?;
        let idle = self.shared.config.idle_timeout;
        loop {
            let frame = tokio::select! {
                () = shutdown.wait() => {
                    return self.write(b"* BYE Server shutting down\r\n").await;
                }
                frame = timeout(idle, self.read_command()) => frame,
            };
            let frame = match frame {
                Ok(frame) => frame?,
                Err(_) => {
                    return self
                        .write(b"* BYE Session expired, please login again.\r\n")
                        .await;
                }
            };
            match frame {
                Frame::Closed => return Ok(()),
                Frame::LineTooLong => {
                    let text = format!(
                        "* BAD [TOOBIG] Line too long: at most {LINE_MAX} bytes (Failure)\r\n\
                         * BYE Closing connection\r\n"
                    );
                    return self.write(text.as_bytes()).await;
                }
                Frame::LiteralTooBig { tag, length } => {
                    let text = format!(
                        "{tag} BAD [TOOBIG] Literal of {length} bytes refused: this server takes \
                         at most {LITERAL_MAX} (Failure)\r\n* BYE Closing connection\r\n"
                    );
                    return self.write(text.as_bytes()).await;
                }
                Frame::Command(bytes) => {
                    if let Flow::Close = self.handle(&bytes).await? {
                        return Ok(());
                    }
                }
            }
        }
    }

    async fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.io.write_all(bytes).await?;
        self.io.flush().await
    }

    /// One line up to its LF, at most [`LINE_MAX`] bytes.
    async fn read_line(&mut self) -> io::Result<Line> {
        let mut line = Vec::new();
        loop {
            let buffer = self.io.fill_buf().await?;
            if buffer.is_empty() {
                return Ok(Line::Closed);
            }
            let (taken, done) = match buffer.iter().position(|b| *b == b'\n') {
                Some(at) => (at + 1, true),
                None => (buffer.len(), false),
            };
            if line.len() + taken > LINE_MAX {
                return Ok(Line::TooLong);
            }
            line.extend_from_slice(&buffer[..taken]);
            self.io.consume(taken);
            if done {
                return Ok(Line::Data(line));
            }
        }
    }

    /// A whole command: its first line, and each literal with the line after it.
    async fn read_command(&mut self) -> io::Result<Frame> {
        let mut command = Vec::new();
        let mut kind = None;
        loop {
            let line = match self.read_line().await? {
                Line::Data(line) => line,
                Line::Closed => return Ok(Frame::Closed),
                Line::TooLong => return Ok(Frame::LineTooLong),
            };
            let kind = *kind.get_or_insert_with(|| gmail::kind(&line));
            command.extend_from_slice(&gmail::rewrite(&line, kind));
            if command.len() > COMMAND_MAX {
                return Ok(Frame::LineTooLong);
            }
            let (length, mode) = match CommandCodec::default().decode(&command) {
                Err(CommandDecodeError::LiteralFound { tag, length, mode }) => {
                    if length > LITERAL_MAX || command.len() + length as usize > COMMAND_MAX {
                        let tag = tag.as_ref().to_owned();
                        return Ok(Frame::LiteralTooBig { tag, length });
                    }
                    (length, mode)
                }
                _ => return Ok(Frame::Command(command)),
            };
            if mode == LiteralMode::Sync {
                self.write(b"+ Ready for additional command text.\r\n")
                    .await?;
            }
            let start = command.len();
            command.resize(start + length as usize, 0);
            self.io.read_exact(&mut command[start..]).await?;
        }
    }

    async fn handle(&mut self, bytes: &[u8]) -> io::Result<Flow> {
        let command = match CommandCodec::default().decode(bytes) {
            Ok((_, command)) => command,
            Err(_) => {
                self.bad_commands += 1;
                let tag = gmail::tag_of(bytes).unwrap_or("*");
                let mut text = format!("{tag} BAD Could not parse command\r\n");
                if self.bad_commands >= MAX_BAD_COMMANDS {
                    text.push_str("* BYE Too many invalid IMAP commands.\r\n");
                    self.write(text.as_bytes()).await?;
                    return Ok(Flow::Close);
                }
                self.write(text.as_bytes()).await?;
                return Ok(Flow::Continue);
            }
        };
        let tag = command.tag.as_ref().to_owned();
        // New arrivals are announced before any reply, as Gmail does.
        let mut out = self.refresh().await;
        let (reply, flow) = self.answer(command, &mut out).await?;
        out.extend_from_slice(format!("{tag} {reply}\r\n").as_bytes());
        self.write(&out).await?;
        Ok(flow)
    }

    /// The reply for a parsed command; untagged data goes to `out`, except FETCH's, which is
    /// written message by message so memory holds one message at a time.
    async fn answer(
        &mut self,
        command: Command<'_>,
        out: &mut Vec<u8>,
    ) -> io::Result<(String, Flow)> {
        let authenticated = !matches!(self.state, State::NotAuthenticated);
        let reply = match command.body {
            CommandBody::Capability => {
                let caps = if authenticated {
                    CAPABILITIES_AUTHENTICATED
                } else {
                    CAPABILITIES
                };
                out.extend_from_slice(format!("* CAPABILITY {caps}\r\n").as_bytes());
                "OK Thats all she wrote! (Success)".to_owned()
            }
            CommandBody::Noop | CommandBody::Check => "OK Success".to_owned(),
            CommandBody::Logout => {
                out.extend_from_slice(b"* BYE LOGOUT Requested\r\n");
                return Ok(("OK 73 good day (Success)".to_owned(), Flow::Close));
            }
            CommandBody::Login { .. } | CommandBody::Authenticate { .. } if authenticated => {
                "BAD Already authenticated".to_owned()
            }
            CommandBody::Login { username, password } => {
                let user = username.as_ref().to_vec();
                let secret = password.declassify().as_ref().to_vec();
                return self.login(&user, &secret);
            }
            CommandBody::Authenticate {
                mechanism,
                initial_response,
            } => {
                let name = mechanism.to_string().to_ascii_uppercase();
                let bearer = name == "XOAUTH2" || name == "OAUTHBEARER";
                if name != "PLAIN" && !bearer {
                    return Ok((
                        format!(
                            "NO [CANNOT] Unsupported AUTHENTICATE mechanism {mechanism}: \
                             the sandbox's IMAP offers PLAIN, XOAUTH2 and OAUTHBEARER (Failure)"
                        ),
                        Flow::Continue,
                    ));
                }
                let response = match initial_response {
                    Some(response) => Some(response.declassify().to_vec()),
                    None => self.sasl_response().await?,
                };
                let Some(response) = response else {
                    return Ok((
                        "BAD Invalid SASL response: expected one base64 line (Failure)".to_owned(),
                        Flow::Continue,
                    ));
                };
                if bearer {
                    return self.bearer_login(&name, &response).await;
                }
                let mut parts = response.split(|b| *b == 0);
                return match (parts.next(), parts.next(), parts.next(), parts.next()) {
                    (Some(authzid), Some(user), Some(secret), None)
                        if authzid.is_empty() || authzid.eq_ignore_ascii_case(user) =>
                    {
                        self.login(user, secret)
                    }
                    _ => self.login(b"", b""),
                };
            }
            _ if !authenticated => {
                "BAD Command only valid in authenticated state: LOGIN first".to_owned()
            }
            CommandBody::Select { mailbox } | CommandBody::Examine { mailbox } => {
                self.select(&mailbox, out).await
            }
            CommandBody::List {
                reference,
                mailbox_wildcard,
            } => list(&reference, list_pattern(&mailbox_wildcard), false, out),
            CommandBody::Lsub {
                reference,
                mailbox_wildcard,
            } => list(&reference, list_pattern(&mailbox_wildcard), true, out),
            CommandBody::Status {
                mailbox,
                item_names,
            } => self.status(&mailbox, &item_names, out).await,
            CommandBody::Close | CommandBody::Unselect => {
                if matches!(self.state, State::Selected { .. }) {
                    self.state = State::Authenticated;
                    "OK Returned to authenticated state. (Success)".to_owned()
                } else {
                    "BAD No mailbox selected".to_owned()
                }
            }
            CommandBody::Search {
                charset,
                criteria,
                uid,
            } => {
                let charset_ok = charset.as_ref().is_none_or(|charset| {
                    let name = charset.as_ref();
                    name.eq_ignore_ascii_case("UTF-8") || name.eq_ignore_ascii_case("US-ASCII")
                });
                if !charset_ok {
                    "NO [BADCHARSET (UTF-8 US-ASCII)] Unsupported charset (Failure)".to_owned()
                } else {
                    self.search(&criteria, uid, out).await
                }
            }
            CommandBody::Fetch {
                sequence_set,
                macro_or_item_names,
                uid,
            } => {
                // Earlier untagged data (EXISTS) goes first.
                self.write(out).await?;
                out.clear();
                self.fetch(&sequence_set, &macro_or_item_names, uid).await?
            }
            CommandBody::Store { .. }
            | CommandBody::Copy { .. }
            | CommandBody::Append { .. }
            | CommandBody::Create { .. }
            | CommandBody::Delete { .. }
            | CommandBody::Rename { .. }
            | CommandBody::Subscribe { .. }
            | CommandBody::Unsubscribe { .. }
            | CommandBody::Expunge => READ_ONLY.to_owned(),
            other => format!(
                "BAD {} is not offered by the sandbox's IMAP (Failure)",
                other.name()
            ),
        };
        Ok((reply, Flow::Continue))
    }

    /// Checks a login; too many failures end the session.
    fn login(&mut self, user: &[u8], secret: &[u8]) -> io::Result<(String, Flow)> {
        let config = &self.shared.config;
        let user_ok = user.eq_ignore_ascii_case(config.user.as_bytes());
        let password_ok = constant_time_eq(secret, config.app_password.as_bytes());
        if user_ok && password_ok {
            self.state = State::Authenticated;
            let reply = format!(
                "OK [CAPABILITY {CAPABILITIES_AUTHENTICATED}] {} authenticated (Success)",
                config.user
            );
            return Ok((reply, Flow::Continue));
        }
        self.failed_logins += 1;
        let account = config.account_password.as_deref().unwrap_or_default();
        let reply =
            if user_ok && !account.is_empty() && constant_time_eq(secret, account.as_bytes()) {
                "NO [ALERT] Application-specific password required: \
             https://support.google.com/accounts/answer/185833 (Failure)"
                    .to_owned()
            } else {
                AUTH_FAILED.to_owned()
            };
        let flow = if self.failed_logins >= MAX_FAILED_LOGINS {
            Flow::Close
        } else {
            Flow::Continue
        };
        Ok((reply, flow))
    }

    /// XOAUTH2 or OAUTHBEARER, the token checked as the SMTP side checks it (the fixed token,
    /// then the issuer). A refused token gets Gmail's JSON challenge; once the client has
    /// answered it (an empty line, or `%x01`), the NO follows.
    async fn bearer_login(
        &mut self,
        mechanism: &str,
        response: &[u8],
    ) -> io::Result<(String, Flow)> {
        let (bearer, challenge) = if mechanism == "OAUTHBEARER" {
            (
                crate::bearer::parse_oauthbearer(response),
                crate::reply::OAUTHBEARER_CHALLENGE,
            )
        } else {
            (
                Some(crate::bearer::parse_xoauth2(response)),
                crate::reply::XOAUTH2_CHALLENGE,
            )
        };
        let checked = match bearer {
            // Without an authorization identity, OAUTHBEARER's token is the account's.
            Some(Bearer { user, token }) => {
                let user = user.unwrap_or_else(|| self.shared.config.user.clone());
                check_token(&self.shared, "imap", &user, token.as_deref()).await
            }
            None => TokenCheck::Refused,
        };
        match checked {
            TokenCheck::Accepted => {
                self.state = State::Authenticated;
                let reply = format!(
                    "OK [CAPABILITY {CAPABILITIES_AUTHENTICATED}] {} authenticated (Success)",
                    self.shared.config.user
                );
                Ok((reply, Flow::Continue))
            }
            TokenCheck::Unavailable => Ok((
                "NO [UNAVAILABLE] Temporary authentication failure, try again later (Failure)"
                    .to_owned(),
                Flow::Continue,
            )),
            TokenCheck::Refused => {
                self.write(format!("+ {challenge}\r\n").as_bytes()).await?;
                // Whatever the client answers, the login has failed.
                if let Line::Closed = self.read_line().await? {
                    return Ok((AUTH_FAILED.to_owned(), Flow::Close));
                }
                self.failed_logins += 1;
                let flow = if self.failed_logins >= MAX_FAILED_LOGINS {
                    Flow::Close
                } else {
                    Flow::Continue
                };
                Ok((AUTH_FAILED.to_owned(), flow))
            }
        }
    }

    /// Asks for the SASL response with an empty challenge and reads one base64 line; `None`
    /// for a cancel (`*`) or a line that is not base64.
    async fn sasl_response(&mut self) -> io::Result<Option<Vec<u8>>> {
        self.write(b"+ \r\n").await?;
        let line = match self.read_line().await? {
            Line::Data(line) => line,
            Line::Closed | Line::TooLong => return Ok(None),
        };
        let text = String::from_utf8_lossy(&line);
        let text = text.trim_end_matches(['\r', '\n']);
        if text == "*" {
            return Ok(None);
        }
        Ok(STANDARD.decode(text).ok())
    }

    async fn entries(&self, folder: Folder) -> Vec<Entry> {
        let store = self.shared.store.clone();
        let listed = tokio::task::spawn_blocking(move || store.filed()).await;
        let Ok(Ok(mut filed)) = listed else {
            tracing::warn!("the IMAP side could not read the capture store");
            return Vec::new();
        };
        filed.reverse();
        filed
            .into_iter()
            .filter(|filed| folder.holds(&filed.placement))
            .filter_map(|filed| {
                Some(Entry {
                    uid: u32::try_from(filed.id).ok().filter(|uid| *uid > 0)?,
                    received_unix_ms: filed.received_unix_ms,
                    size: filed.size_bytes,
                    placement: filed.placement,
                })
            })
            .collect()
    }

    /// Adds messages captured since the last look to the selected folder, and says so.
    async fn refresh(&mut self) -> Vec<u8> {
        let State::Selected { folder, .. } = self.state else {
            return Vec::new();
        };
        let fresh = self.entries(folder).await;
        let State::Selected { entries, .. } = &mut self.state else {
            return Vec::new();
        };
        let last = entries.last().map_or(0, |entry| entry.uid);
        let before = entries.len();
        entries.extend(fresh.into_iter().filter(|entry| entry.uid > last));
        if entries.len() > before {
            format!("* {} EXISTS\r\n", entries.len()).into_bytes()
        } else {
            Vec::new()
        }
    }

    async fn select(&mut self, mailbox: &Mailbox<'_>, out: &mut Vec<u8>) -> String {
        // A failed SELECT leaves no mailbox selected (RFC 3501).
        self.state = State::Authenticated;
        let name = mailbox_bytes(mailbox);
        let Some(folder) = Folder::named(&name) else {
            return format!(
                "NO [NONEXISTENT] Unknown Mailbox: {} (now in authenticated state) (Failure)",
                String::from_utf8_lossy(&name)
            );
        };
        let entries = self.entries(folder).await;
        let uid_next = entries
            .last()
            .map_or(1, |entry| entry.uid.saturating_add(1));
        out.extend_from_slice(
            format!(
                "* FLAGS (\\Answered \\Flagged \\Draft \\Deleted \\Seen)\r\n\
                 * OK [PERMANENTFLAGS ()] Flags permitted.\r\n\
                 * OK [UIDVALIDITY {}] UIDs valid.\r\n\
                 * {} EXISTS\r\n\
                 * 0 RECENT\r\n\
                 * OK [UIDNEXT {uid_next}] Predicted next UID.\r\n",
                folder.uid_validity(),
                entries.len(),
            )
            .as_bytes(),
        );
        self.state = State::Selected { folder, entries };
        format!("OK [READ-ONLY] {} selected. (Success)", folder.name())
    }

    async fn status(
        &mut self,
        mailbox: &Mailbox<'_>,
        items: &[StatusDataItemName],
        out: &mut Vec<u8>,
    ) -> String {
        let name = mailbox_bytes(mailbox);
        let Some(folder) = Folder::named(&name) else {
            return format!(
                "NO [NONEXISTENT] Unknown Mailbox: {} (Failure)",
                String::from_utf8_lossy(&name)
            );
        };
        let entries = self.entries(folder).await;
        let count = entries.len();
        let mut values = Vec::new();
        for item in items {
            values.push(match item {
                StatusDataItemName::Messages => format!("MESSAGES {count}"),
                StatusDataItemName::Recent => "RECENT 0".to_owned(),
                StatusDataItemName::Unseen => format!("UNSEEN {count}"),
                StatusDataItemName::UidValidity => format!("UIDVALIDITY {}", folder.uid_validity()),
                StatusDataItemName::UidNext => format!(
                    "UIDNEXT {}",
                    entries
                        .last()
                        .map_or(1, |entry| entry.uid.saturating_add(1))
                ),
                _ => return "BAD Unsupported STATUS item (Failure)".to_owned(),
            });
        }
        out.extend_from_slice(
            format!("* STATUS \"{}\" ({})\r\n", folder.name(), values.join(" ")).as_bytes(),
        );
        "OK Success".to_owned()
    }

    async fn search(
        &mut self,
        criteria: &imap_codec::imap_types::search::SearchKey<'_>,
        uid: bool,
        out: &mut Vec<u8>,
    ) -> String {
        let State::Selected { entries, .. } = &self.state else {
            return "BAD Command only valid in selected state: SELECT a mailbox first".to_owned();
        };
        let needs_raw = match folder::check_search(criteria) {
            Ok(needs_raw) => needs_raw,
            Err(why) => return format!("NO [CANNOT] {why} (Failure)"),
        };
        let view = View {
            max_seq: entries.len() as u32,
            max_uid: entries.last().map_or(0, |entry| entry.uid),
        };
        let entries = entries.clone();
        let mut found = Vec::new();
        // One message's bytes at a time, read off the runtime threads.
        for (index, entry) in entries.iter().enumerate() {
            let raw = if needs_raw {
                let store = self.shared.store.clone();
                let id = u64::from(entry.uid);
                match tokio::task::spawn_blocking(move || store.raw(id)).await {
                    Ok(Ok(Some(raw))) => Some(raw),
                    _ => continue,
                }
            } else {
                None
            };
            let seq = index as u32 + 1;
            if folder::matches(criteria, view, seq, entry, raw.as_deref()) {
                found.push(if uid { entry.uid } else { seq });
            }
        }
        let mut line = "* SEARCH".to_owned();
        for number in found {
            line.push_str(&format!(" {number}"));
        }
        line.push_str("\r\n");
        out.extend_from_slice(line.as_bytes());
        "OK SEARCH completed (Success)".to_owned()
    }

    async fn fetch(
        &mut self,
        set: &imap_codec::imap_types::sequence::SequenceSet,
        items: &imap_codec::imap_types::fetch::MacroOrMessageDataItemNames<'_>,
        uid: bool,
    ) -> io::Result<String> {
        let State::Selected { folder, entries } = &self.state else {
            return Ok(
                "BAD Command only valid in selected state: SELECT a mailbox first".to_owned(),
            );
        };
        let plan = match folder::plan(items, uid) {
            Ok(plan) => plan,
            Err(why) => return Ok(format!("BAD {why} (Failure)")),
        };
        let folder = *folder;
        let max_seq = entries.len() as u32;
        let max_uid = entries.last().map_or(0, |entry| entry.uid);
        let chosen: Vec<(u32, Entry)> = entries
            .iter()
            .enumerate()
            .map(|(index, entry)| (index as u32 + 1, entry.clone()))
            .filter(|(seq, entry)| {
                if uid {
                    folder::in_set(set, entry.uid, max_uid)
                } else {
                    folder::in_set(set, *seq, max_seq)
                }
            })
            .collect();
        let needs_raw = folder::needs_raw(&plan);
        for (seq, entry) in chosen {
            let raw = if needs_raw {
                let store = self.shared.store.clone();
                let id = u64::from(entry.uid);
                match tokio::task::spawn_blocking(move || store.raw(id)).await {
                    Ok(Ok(Some(raw))) => Some(raw),
                    // Deleted from the store since it was listed: nothing to show.
                    _ => continue,
                }
            } else {
                None
            };
            let response = folder::render(seq, &entry, raw.as_deref(), &plan, folder);
            self.io.write_all(&response).await?;
        }
        Ok("OK Success".to_owned())
    }
}

/// LIST and LSUB (every folder counts as subscribed, as on Gmail).
fn list(reference: &Mailbox<'_>, pattern: &[u8], lsub: bool, out: &mut Vec<u8>) -> String {
    let lines = folder::list(&mailbox_bytes(reference), pattern, lsub);
    out.extend_from_slice(lines.concat().as_bytes());
    "OK Success".to_owned()
}

fn list_pattern<'a>(pattern: &'a ListMailbox<'_>) -> &'a [u8] {
    match pattern {
        ListMailbox::Token(token) => token.as_ref(),
        ListMailbox::String(string) => string.as_ref(),
    }
}

fn mailbox_bytes(mailbox: &Mailbox<'_>) -> Vec<u8> {
    match mailbox {
        Mailbox::Inbox => b"INBOX".to_vec(),
        Mailbox::Other(other) => other.as_ref().to_vec(),
    }
}

/// Compares secrets in time that depends on their lengths only, not on where they differ.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |diff, (x, y)| diff | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_time_comparison() {
        assert!(constant_time_eq(b"sandboxsandboxpw", b"sandboxsandboxpw"));
        assert!(!constant_time_eq(b"sandboxsandboxpw", b"sandboxsandboxpX"));
        assert!(!constant_time_eq(b"short", b"longer"));
        assert!(constant_time_eq(b"", b""));
    }
}
