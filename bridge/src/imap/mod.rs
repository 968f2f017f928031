//! Delivery verification over IMAP: log in to a receiving mailbox, find a sent message by its
//! Message-ID, and say where it landed.
//!
//! async-imap speaks the protocol over our own stream: TCP, then rustls with the same
//! verifier as SMTP (system roots plus the mailbox's extra CA; no switch turns it off), either
//! at once (993) or after a required STARTTLS (143). There is no plain-text IMAP: a server
//! that does not do TLS is refused before anything is sent. Folders are found by their
//! SPECIAL-USE attribute (`\All`, `\Junk`, `\Trash`, `\Archive`), never by name, because
//! Gmail localizes them. On Gmail (`X-GM-EXT-1`) the message is searched with
//! `X-GM-RAW "rfc822msgid:<id>"` and its labels read in All Mail, where `\Inbox` shows, and its
//! tab with `category:`; elsewhere with `SEARCH HEADER Message-ID`. The mailbox is searched
//! again every `interval` until the time limit.
//!
//! Every step has a timeout, and [`guard::Guard`] bounds what a server can make us hold.
//!
//! # Layout
//! - `bounce`: RFC 3464 delivery reports read, matched to what was sent, explained (pure).
//! - `guard`: the stream under async-imap: size limits and the redacted transcript.
//! - `verdict`: from what was found to the verdict and the spam causes (pure).

pub mod bounce;
pub mod guard;
pub mod verdict;

use std::collections::HashSet;
use std::net::SocketAddr;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use async_imap::types::NameAttribute;
use async_imap::{Authenticator, Client, Session};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use diagnosis::{Diagnosis, Failure, Retry, diagnose};
use futures_util::StreamExt as _;
use protocol::{DeliveryVerdict, Secret, Tab, VerifyReport};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

use guard::{Guard, Limits, Refused, Transcript};
use profile::OAuthMechanism;

use crate::smtp::{BearerTokens, TokenUnavailable};
use verdict::{Asked, Found, Role};

/// How TLS starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Security {
    /// TLS from the first byte (port 993).
    Tls,
    /// A plain greeting, then STARTTLS, required (port 143).
    StartTls,
}

/// A receiving mailbox to log in to.
#[derive(Debug, Clone)]
pub struct Target {
    /// The user's name for it, shown in verdicts.
    pub name: String,
    pub host: String,
    pub port: u16,
    pub security: Security,
    pub user: String,
    /// A PEM CA to trust beside the system's roots (a company's, or the sandbox's).
    pub extra_ca_pem: Option<String>,
}

/// How to log in.
#[derive(Debug, Clone)]
pub enum Login {
    /// `LOGIN` with an App Password (its spaces removed, as Google shows them with spaces).
    Password(Secret),
    /// `AUTHENTICATE XOAUTH2` with an OAuth access token the caller obtained.
    Bearer(Secret),
    /// An OAuth account's tokens from the bridge's cache (the same as SMTP's), with
    /// `AUTHENTICATE XOAUTH2` or `OAUTHBEARER`. A token the server refuses is refreshed once
    /// and tried again on the same connection.
    OAuth {
        tokens: BearerTokens,
        mechanism: OAuthMechanism,
    },
}

impl Login {
    /// The secrets the transcript masks from the start (a token from `OAuth` is added as it
    /// is obtained).
    fn known_secrets(&self) -> Vec<String> {
        match self {
            Login::Password(secret) | Login::Bearer(secret) => vec![
                secret.expose().to_owned(),
                secret.without_spaces().expose().to_owned(),
            ],
            Login::OAuth { .. } => Vec::new(),
        }
    }

    fn is_bearer(&self) -> bool {
        !matches!(self, Login::Password(_))
    }
}

/// What to look for.
#[derive(Debug, Clone)]
pub struct Wanted {
    /// With or without angle brackets.
    pub message_id: String,
    /// When the send's `250` came, in milliseconds since the Unix epoch.
    pub sent_at_ms: Option<i64>,
    /// The sending account, to tell a From that is not its own.
    pub sender: Option<String>,
}

/// Time limits and sizes.
#[derive(Debug, Clone, Copy)]
pub struct Config {
    /// How long the message may take to arrive (default 3 minutes).
    pub limit: Duration,
    /// Pause between searches.
    pub interval: Duration,
    pub connect_timeout: Duration,
    /// For each command's whole answer.
    pub command_timeout: Duration,
    pub limits: Limits,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            limit: Duration::from_secs(180),
            interval: Duration::from_secs(3),
            connect_timeout: Duration::from_secs(15),
            command_timeout: Duration::from_secs(30),
            limits: Limits::default(),
        }
    }
}

/// How much of the message is fetched: all its header and, nearly always, its text.
const FETCHED_BYTES: u32 = 1024 * 1024;
/// Folders read from LIST at most; a mailbox with more is unusual, and they are not needed.
const MAX_FOLDERS: usize = 2000;

/// Why no verdict could be reached.
#[derive(Debug, Clone, thiserror::Error)]
pub enum Error {
    #[error("{0:?}")]
    Failure(Failure),
    #[error("{host}:{port} could not be reached: {detail}")]
    Unreachable {
        host: String,
        port: u16,
        detail: String,
    },
    #[error("no answer within {seconds} s while {step}")]
    Timeout { step: &'static str, seconds: u64 },
    #[error("{host}:{port} refused STARTTLS: {reply}")]
    NoStartTls {
        host: String,
        port: u16,
        reply: String,
    },
    #[error("login refused for {user}: {reply}")]
    LoginRefused {
        host: String,
        user: String,
        reply: String,
        bearer: bool,
    },
    #[error("{0}")]
    TooBig(Refused),
    #[error("the server's answer while {step} is not IMAP: {detail}")]
    Protocol { step: &'static str, detail: String },
    #[error("the server said no while {step}: {reply}")]
    Refused { step: &'static str, reply: String },
    #[error("message ID: {0}")]
    BadMessageId(String),
    #[error("no OAuth access token: {}", .0.detail)]
    NoToken(TokenUnavailable),
}

impl Error {
    /// What happened and what to do, in words.
    pub fn diagnosis(&self) -> Diagnosis {
        let make = |title: &str, what: String, cause: &str, fix: Vec<String>, retry| Diagnosis {
            title: title.to_owned(),
            what_happened: what,
            likely_cause: cause.to_owned(),
            fix,
            help_link: None,
            retry,
            reply: None,
        };
        match self {
            Error::Failure(failure) => {
                let mut diagnosis = diagnose(failure);
                // The connection explanations speak of SMTP; the facts are the same for IMAP.
                diagnosis.what_happened = format!("IMAP: {}", diagnosis.what_happened);
                diagnosis
            }
            Error::Unreachable { host, port, detail } => make(
                "IMAP server unreachable",
                format!("{host}:{port} could not be reached: {detail}."),
                "The host or port is wrong, or a firewall blocks it.",
                vec![
                    "Check the mailbox's host and port (993 for IMAP over TLS, 143 with \
                     STARTTLS)."
                        .to_owned(),
                ],
                Retry::Transient,
            ),
            Error::Timeout { step, seconds } => make(
                "The IMAP server stopped answering",
                format!("Nothing came back within {seconds} s while {step}."),
                "The server is overloaded or stalled, or a network device holds the connection.",
                vec!["Try again later; if it keeps happening, check the host and port.".to_owned()],
                Retry::Transient,
            ),
            Error::NoStartTls { host, port, reply } => make(
                "The IMAP server does not offer STARTTLS",
                format!("{host}:{port} answered STARTTLS with: {reply}"),
                "The server offers no encryption on this port, and the password must not be \
                 sent in clear text.",
                vec![
                    "Use port 993 with TLS if the server offers it.".to_owned(),
                    "Ask the server's administrator to enable TLS.".to_owned(),
                ],
                Retry::Permanent,
            ),
            Error::LoginRefused {
                host,
                user,
                reply,
                bearer,
            } => {
                let mut fix = vec![format!(
                    "Check the username: usually the whole address ({user} was used)."
                )];
                if *bearer {
                    fix.push(
                        "The OAuth token was refused: sign in again so a new token is issued, \
                         with the scope https://mail.google.com/ for Gmail."
                            .to_owned(),
                    );
                } else {
                    fix.push(
                        "Use an App Password, not the account's normal password: Gmail, \
                         Yahoo, iCloud and Fastmail all require one for IMAP (it needs \
                         2-Step Verification). Paste it with or without its spaces."
                            .to_owned(),
                    );
                }
                if reply.to_ascii_lowercase().contains("application-specific") {
                    fix.insert(
                        0,
                        "The server says the normal password was used where an App Password is \
                         required: create one (https://myaccount.google.com/apppasswords)."
                            .to_owned(),
                    );
                }
                fix.push(
                    "Make sure IMAP is enabled in the mailbox's settings (Gmail: Settings, \
                     Forwarding and POP/IMAP)."
                        .to_owned(),
                );
                let mut diagnosis = make(
                    "IMAP login refused",
                    format!("{host} refused the login for {user}."),
                    "The username or the App Password is wrong, or IMAP is off for the account.",
                    fix,
                    Retry::Permanent,
                );
                diagnosis.reply = Some(reply.clone());
                diagnosis
            }
            Error::TooBig(refused) => make(
                "The IMAP server sent more than mailbridge reads",
                format!("{refused}."),
                "A broken or hostile server, or something between us and it.",
                vec!["Check that the host and port are the provider's IMAP server.".to_owned()],
                Retry::Permanent,
            ),
            Error::Protocol { step, detail } => make(
                "The server does not speak IMAP",
                format!("While {step}, it sent: {detail}"),
                "The port belongs to another service, or the server is broken.",
                vec!["Check the mailbox's host and port.".to_owned()],
                Retry::Permanent,
            ),
            Error::Refused { step, reply } => {
                let mut diagnosis = make(
                    "The IMAP server refused a command",
                    format!("While {step}, the server said: {reply}"),
                    "The server does not allow what verification needs (reading folders and \
                     searching).",
                    vec!["Check the account's IMAP settings and permissions.".to_owned()],
                    Retry::Permanent,
                );
                diagnosis.reply = Some(reply.clone());
                diagnosis
            }
            Error::NoToken(unavailable) => make(
                "No OAuth access token for IMAP",
                format!(
                    "mailbridge could not get an access token to sign in to the mailbox: {}.",
                    unavailable.detail
                ),
                "The OAuth profile's Google account is not connected, or its refresh token \
                 was revoked or expired.",
                vec![unavailable.fix.clone()],
                if unavailable.transient {
                    Retry::Transient
                } else {
                    Retry::Permanent
                },
            ),
            Error::BadMessageId(detail) => make(
                "That is not a Message-ID",
                detail.clone(),
                "A Message-ID looks like <local@domain>, with no spaces or quotes.",
                vec!["Copy the Message-ID from the send's result or the history.".to_owned()],
                Retry::Permanent,
            ),
        }
    }
}

/// Checks a Message-ID and returns it without angle brackets.
pub fn normalize_message_id(id: &str) -> Result<String, Error> {
    let id = id.trim();
    let bare = id
        .strip_prefix('<')
        .and_then(|id| id.strip_suffix('>'))
        .unwrap_or(id);
    let bad = bare.is_empty()
        || bare.len() > 995
        || !bare.contains('@')
        || bare
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || matches!(c, '"' | '\\' | '<' | '>'));
    if bad {
        return Err(Error::BadMessageId(format!(
            "{id:?} is not of the form <local@domain> (no spaces, quotes or backslashes)"
        )));
    }
    Ok(bare.to_owned())
}

/// Logs in, searches until the message is found or the limit passes, and says where it is.
pub async fn verify(
    target: &Target,
    login: &Login,
    wanted: &Wanted,
    config: &Config,
) -> VerifyReport {
    let transcript = Transcript::new(login.known_secrets());
    let started = Instant::now();
    let result = run(target, login, wanted, config, &transcript, started).await;
    match result {
        Ok(verdict) => VerifyReport {
            verdict: Some(verdict),
            error: None,
            transcript: transcript.lines(),
        },
        Err(mut error) => {
            // async-imap words a NO as its debug output; the server's own line reads better.
            if let Error::Refused { reply, .. } = &mut error
                && let Some(line) = transcript.last_tagged_reply()
            {
                *reply = line;
            }
            transcript.note(format!("verification ended: {error}"));
            VerifyReport {
                verdict: None,
                error: Some(error.diagnosis()),
                transcript: transcript.lines(),
            }
        }
    }
}

type Imap = Session<Guard<TlsStream<TcpStream>>>;

async fn run(
    target: &Target,
    login: &Login,
    wanted: &Wanted,
    config: &Config,
    transcript: &Transcript,
    started: Instant,
) -> Result<DeliveryVerdict, Error> {
    let message_id = normalize_message_id(&wanted.message_id)?;
    let client = open(target, config, transcript).await?;
    let mut session = authenticate(client, target, login, config).await?;
    let capabilities = timed(config, "reading the capabilities", session.capabilities()).await?;
    let gmail = capabilities.has_str("X-GM-EXT-1");
    let folders = folders(&mut session, config).await?;
    let plan = search_plan(&folders, gmail);
    transcript.note(format!(
        "searching {} for <{message_id}> every {} s for up to {} s{}",
        plan.iter()
            .map(|(name, _)| name.as_str())
            .collect::<Vec<_>>()
            .join(", "),
        config.interval.as_secs_f32(),
        config.limit.as_secs(),
        if gmail { " (Gmail's X-GM-RAW)" } else { "" }
    ));
    let asked = |waited: Duration| Asked {
        mailbox: target.name.clone(),
        message_id: message_id.clone(),
        sent_at_ms: wanted.sent_at_ms,
        sender: wanted.sender.clone(),
        waited_ms: u64::try_from(waited.as_millis()).unwrap_or(u64::MAX),
        limit_seconds: config.limit.as_secs(),
    };
    loop {
        for (folder, role) in &plan {
            if let Some(found) =
                search(&mut session, config, folder, *role, &message_id, gmail).await?
            {
                let verdict = verdict::verdict(&asked(started.elapsed()), Some(&found));
                let _ = tokio::time::timeout(config.command_timeout, session.logout()).await;
                return Ok(verdict);
            }
        }
        let waited = started.elapsed();
        if waited >= config.limit {
            let _ = tokio::time::timeout(config.command_timeout, session.logout()).await;
            return Ok(verdict::verdict(&asked(waited), None));
        }
        tokio::time::sleep(config.interval.min(config.limit - waited)).await;
    }
}

/// A step with its timeout, its errors mapped.
async fn timed<T>(
    config: &Config,
    step: &'static str,
    future: impl Future<Output = async_imap::error::Result<T>>,
) -> Result<T, Error> {
    match tokio::time::timeout(config.command_timeout, future).await {
        Ok(result) => result.map_err(|error| imap_error(step, error)),
        Err(_) => Err(Error::Timeout {
            step,
            seconds: config.command_timeout.as_secs(),
        }),
    }
}

fn imap_error(step: &'static str, error: async_imap::error::Error) -> Error {
    use async_imap::error::Error as E;
    match error {
        E::Io(io) => match guard::refusal(&io) {
            Some(refused) => Error::TooBig(refused),
            None if io.kind() == std::io::ErrorKind::Other
                || io.kind() == std::io::ErrorKind::InvalidData =>
            {
                Error::Protocol {
                    step,
                    detail: short(&io.to_string()),
                }
            }
            None => Error::Protocol {
                step,
                detail: format!("the connection broke: {io}"),
            },
        },
        E::No(reply) | E::Bad(reply) => Error::Refused {
            step,
            reply: short(&reply),
        },
        E::ConnectionLost => Error::Protocol {
            step,
            detail: "the server closed the connection".to_owned(),
        },
        other => Error::Protocol {
            step,
            detail: short(&other.to_string()),
        },
    }
}

fn short(text: &str) -> String {
    let mut end = text.len().min(300);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    if end < text.len() {
        format!("{}...", &text[..end])
    } else {
        text.to_owned()
    }
}

async fn open(
    target: &Target,
    config: &Config,
    transcript: &Transcript,
) -> Result<Connecting, Error> {
    let tcp = connect_tcp(target, config, transcript).await?;
    let tcp = match target.security {
        Security::Tls => tcp,
        Security::StartTls => {
            let mut client = Client::new(Guard::new(tcp, config.limits, transcript.clone()));
            greeting(&mut client, config).await?;
            let started = timed(
                config,
                "asking for STARTTLS",
                client.run_command_and_check_ok("STARTTLS", None),
            )
            .await;
            if let Err(error) = started {
                let reply = transcript
                    .last_tagged_reply()
                    .unwrap_or_else(|| error.to_string());
                return Err(Error::NoStartTls {
                    host: target.host.clone(),
                    port: target.port,
                    reply,
                });
            }
            client.into_inner().into_inner()
        }
    };
    let connector = crate::smtp::connector(target.extra_ca_pem.as_deref())
        .map_err(|error| tls_setup_error(&error.to_string()))?;
    let name = crate::smtp::server_name(&target.host)
        .map_err(|error| tls_setup_error(&error.to_string()))?;
    let handshake = TlsConnector::from(connector.config.clone()).connect(name, tcp);
    let tls = match tokio::time::timeout(config.connect_timeout, handshake).await {
        Ok(Ok(tls)) => tls,
        Ok(Err(error)) => {
            return Err(Error::Failure(crate::smtp::handshake_failure(
                &error,
                &target.host,
                &connector.seen,
            )));
        }
        Err(_) => {
            return Err(Error::Timeout {
                step: "starting TLS",
                seconds: config.connect_timeout.as_secs(),
            });
        }
    };
    let version = tls
        .get_ref()
        .1
        .protocol_version()
        .and_then(|v| v.as_str())
        .unwrap_or("TLS");
    transcript.note(format!("TLS established ({version}), certificate verified"));
    let mut client = Client::new(Guard::new(tls, config.limits, transcript.clone()));
    if target.security == Security::Tls {
        greeting(&mut client, config).await?;
    }
    Ok(client)
}

fn tls_setup_error(detail: &str) -> Error {
    Error::Protocol {
        step: "setting up TLS",
        detail: detail.to_owned(),
    }
}

async fn greeting<S>(client: &mut Client<S>, config: &Config) -> Result<(), Error>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + std::fmt::Debug + Send,
{
    use async_imap::imap_proto::{Response, Status};
    let step = "reading the greeting";
    let response = match tokio::time::timeout(config.command_timeout, client.read_response()).await
    {
        Err(_) => {
            return Err(Error::Timeout {
                step,
                seconds: config.command_timeout.as_secs(),
            });
        }
        Ok(Err(io)) => return Err(imap_error(step, async_imap::error::Error::Io(io))),
        Ok(Ok(None)) => {
            return Err(Error::Protocol {
                step,
                detail: "the server closed the connection".to_owned(),
            });
        }
        Ok(Ok(Some(response))) => response,
    };
    match response.parsed() {
        Response::Data {
            status: Status::Ok, ..
        } => Ok(()),
        Response::Data {
            status: Status::PreAuth,
            ..
        } => Err(Error::Protocol {
            step,
            detail: "the server logged us in before any password (PREAUTH), so it cannot be \
                     told which account to read"
                .to_owned(),
        }),
        other => Err(Error::Protocol {
            step,
            detail: short(&format!("{other:?}")),
        }),
    }
}

async fn connect_tcp(
    target: &Target,
    config: &Config,
    transcript: &Transcript,
) -> Result<TcpStream, Error> {
    let host = crate::smtp::unbracket(&target.host);
    let addrs: Vec<SocketAddr> = match crate::smtp::resolve_override(host, target.port) {
        Some(result) => result.map_err(|detail| {
            Error::Failure(Failure::Dns {
                host: host.to_owned(),
                detail,
            })
        })?,
        None => {
            let lookup = tokio::net::lookup_host((host, target.port));
            match tokio::time::timeout(config.connect_timeout, lookup).await {
                Ok(Ok(addrs)) => addrs.collect(),
                Ok(Err(error)) => {
                    return Err(Error::Failure(Failure::Dns {
                        host: host.to_owned(),
                        detail: error.to_string(),
                    }));
                }
                Err(_) => {
                    return Err(Error::Timeout {
                        step: "looking up the host",
                        seconds: config.connect_timeout.as_secs(),
                    });
                }
            }
        }
    };
    let mut last = None;
    for addr in &addrs {
        match tokio::time::timeout(config.connect_timeout, TcpStream::connect(addr)).await {
            Ok(Ok(stream)) => {
                let _ = stream.set_nodelay(true);
                transcript.note(format!("connected to {addr}"));
                return Ok(stream);
            }
            Ok(Err(error)) => last = Some(error),
            Err(_) => {
                return Err(Error::Timeout {
                    step: "connecting",
                    seconds: config.connect_timeout.as_secs(),
                });
            }
        }
    }
    Err(match last {
        Some(error) if error.kind() == std::io::ErrorKind::ConnectionRefused => {
            Error::Failure(Failure::ConnectionRefused {
                host: target.host.clone(),
                port: target.port,
            })
        }
        other => Error::Unreachable {
            host: target.host.clone(),
            port: target.port,
            detail: other.map_or("the name has no addresses".to_owned(), |e| e.to_string()),
        },
    })
}

/// The bearer mechanisms' one message: XOAUTH2's `user=U ^A auth=Bearer T ^A ^A`, or
/// OAUTHBEARER's GS2 header and pairs (RFC 7628). An error challenge (base64 JSON) is kept and
/// answered as each mechanism asks (an empty response, or `%x01`); the server's NO follows.
struct BearerAuth<'a> {
    message: String,
    error_answer: &'static [u8],
    sent: bool,
    challenge: &'a mut Vec<u8>,
}

impl Authenticator for BearerAuth<'_> {
    type Response = Vec<u8>;

    fn process(&mut self, challenge: &[u8]) -> Vec<u8> {
        if self.sent {
            challenge.clone_into(self.challenge);
            return self.error_answer.to_vec();
        }
        self.sent = true;
        std::mem::take(&mut self.message).into_bytes()
    }
}

type Connecting = Client<Guard<TlsStream<TcpStream>>>;

/// How one bearer sign-in ended.
enum BearerAttempt {
    In(Imap),
    /// The server said NO; the client can try again, and `challenge` is its JSON (base64).
    Refused {
        client: Connecting,
        challenge: String,
    },
    Failed(Error),
}

async fn bearer_attempt(
    client: Connecting,
    target: &Target,
    token: &Secret,
    mechanism: OAuthMechanism,
    config: &Config,
) -> BearerAttempt {
    let token = token.expose().trim();
    let (message, error_answer): (String, &'static [u8]) = match mechanism {
        OAuthMechanism::Oauthbearer => {
            // RFC 5801's saslname: `,` and `=` are escaped in the authorization identity.
            let name = target.user.replace('=', "=3D").replace(',', "=2C");
            (
                format!(
                    "n,a={name},\x01host={}\x01port={}\x01auth=Bearer {token}\x01\x01",
                    target.host, target.port
                ),
                b"\x01",
            )
        }
        OAuthMechanism::Xoauth2 => (
            format!("user={}\x01auth=Bearer {token}\x01\x01", target.user),
            b"",
        ),
    };
    let mut challenge = Vec::new();
    let auth = BearerAuth {
        message,
        error_answer,
        sent: false,
        challenge: &mut challenge,
    };
    let attempt = client.authenticate(mechanism.sasl_name(), auth);
    let result = match tokio::time::timeout(config.command_timeout, attempt).await {
        Err(_) => {
            return BearerAttempt::Failed(Error::Timeout {
                step: "logging in",
                seconds: config.command_timeout.as_secs(),
            });
        }
        Ok(result) => result,
    };
    match result {
        Ok(session) => BearerAttempt::In(session),
        Err((async_imap::error::Error::No(_) | async_imap::error::Error::Bad(_), client)) => {
            BearerAttempt::Refused {
                client,
                challenge: STANDARD.encode(&challenge),
            }
        }
        Err((other, _)) => BearerAttempt::Failed(imap_error("logging in", other)),
    }
}

async fn authenticate(
    client: Connecting,
    target: &Target,
    login: &Login,
    config: &Config,
) -> Result<Imap, Error> {
    let transcript = client.get_ref().transcript().clone();
    let step = "logging in";
    let refused = || Error::LoginRefused {
        host: target.host.clone(),
        user: target.user.clone(),
        reply: transcript
            .last_tagged_reply()
            .unwrap_or_else(|| "NO".to_owned()),
        bearer: login.is_bearer(),
    };
    match login {
        Login::Password(password) => {
            let password = password.without_spaces();
            let attempt = client.login(&target.user, password.expose());
            match tokio::time::timeout(config.command_timeout, attempt).await {
                Err(_) => Err(Error::Timeout {
                    step,
                    seconds: config.command_timeout.as_secs(),
                }),
                Ok(Ok(session)) => Ok(session),
                Ok(Err((
                    async_imap::error::Error::No(_) | async_imap::error::Error::Bad(_),
                    _,
                ))) => Err(refused()),
                Ok(Err((other, _))) => Err(imap_error(step, other)),
            }
        }
        Login::Bearer(token) => {
            match bearer_attempt(client, target, token, OAuthMechanism::Xoauth2, config).await {
                BearerAttempt::In(session) => Ok(session),
                BearerAttempt::Refused { .. } => Err(refused()),
                BearerAttempt::Failed(error) => Err(error),
            }
        }
        Login::OAuth { tokens, mechanism } => {
            let token = tokens.0.token().await.map_err(Error::NoToken)?;
            transcript.mask(token.expose());
            let (client, challenge) =
                match bearer_attempt(client, target, &token, *mechanism, config).await {
                    BearerAttempt::In(session) => {
                        tokens.0.accepted();
                        return Ok(session);
                    }
                    BearerAttempt::Failed(error) => return Err(error),
                    BearerAttempt::Refused { client, challenge } => (client, challenge),
                };
            transcript.note(
                "the server refused the access token; mailbridge refreshes it once and signs in \
                 again",
            );
            let fresh = tokens
                .0
                .refused(&token, &challenge)
                .await
                .map_err(Error::NoToken)?;
            transcript.mask(fresh.expose());
            match bearer_attempt(client, target, &fresh, *mechanism, config).await {
                BearerAttempt::In(session) => {
                    tokens.0.accepted();
                    Ok(session)
                }
                BearerAttempt::Refused { .. } => Err(refused()),
                BearerAttempt::Failed(error) => Err(error),
            }
        }
    }
}

/// The folders with a role, from LIST's SPECIAL-USE attributes (and INBOX, which has its
/// fixed name).
async fn folders(session: &mut Imap, config: &Config) -> Result<Vec<(String, Role)>, Error> {
    let step = "listing the folders";
    let listing = async {
        let mut stream = session.list(Some(""), Some("*")).await?;
        let mut out = Vec::new();
        while let Some(name) = stream.next().await {
            let name = name?;
            if out.len() >= MAX_FOLDERS {
                continue;
            }
            let attributes = name.attributes();
            if attributes.contains(&NameAttribute::NoSelect) {
                continue;
            }
            let role = if name.name().eq_ignore_ascii_case("INBOX") {
                Role::Inbox
            } else if attributes.contains(&NameAttribute::All) {
                Role::All
            } else if attributes.contains(&NameAttribute::Junk) {
                Role::Junk
            } else if attributes.contains(&NameAttribute::Trash) {
                Role::Trash
            } else if attributes.contains(&NameAttribute::Archive) {
                Role::Archive
            } else {
                Role::Other
            };
            out.push((name.name().to_owned(), role));
        }
        Ok(out)
    };
    timed(config, step, listing).await
}

/// Which folders to search, in order: on Gmail All Mail (it holds everything but Spam and
/// Trash), then Spam and Trash; elsewhere the Inbox, Junk, Trash and Archive.
pub fn search_plan(folders: &[(String, Role)], gmail: bool) -> Vec<(String, Role)> {
    let find = |role: Role| {
        folders
            .iter()
            .find(|(_, r)| *r == role)
            .map(|(name, _)| (name.clone(), role))
    };
    let order: &[Role] = if gmail && find(Role::All).is_some() {
        &[Role::All, Role::Junk, Role::Trash]
    } else {
        &[Role::Inbox, Role::Junk, Role::Trash, Role::Archive]
    };
    order.iter().filter_map(|role| find(*role)).collect()
}

fn quoted(text: &str) -> String {
    format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
}

async fn search(
    session: &mut Imap,
    config: &Config,
    folder: &str,
    role: Role,
    message_id: &str,
    gmail: bool,
) -> Result<Option<Found>, Error> {
    // async-imap quotes the name itself.
    timed(config, "opening a folder", session.examine(folder)).await?;
    let query = if gmail {
        format!(
            "X-GM-RAW {}",
            quoted(&format!("rfc822msgid:<{message_id}>"))
        )
    } else {
        format!("HEADER Message-ID {}", quoted(&format!("<{message_id}>")))
    };
    let uids = timed(config, "searching", session.uid_search(&query)).await?;
    let Some(uid) = uids.iter().max().copied() else {
        return Ok(None);
    };
    let items = if gmail {
        format!("(UID INTERNALDATE X-GM-LABELS BODY.PEEK[]<0.{FETCHED_BYTES}>)")
    } else {
        format!("(UID INTERNALDATE BODY.PEEK[]<0.{FETCHED_BYTES}>)")
    };
    let fetched = async {
        let mut stream = session.uid_fetch(uid.to_string(), &items).await?;
        let mut found = None;
        while let Some(fetch) = stream.next().await {
            let fetch = fetch?;
            if found.is_none() && fetch.uid.is_none_or(|u| u == uid) {
                found = Some((
                    fetch
                        .gmail_labels()
                        .map(|labels| labels.iter().map(|l| l.to_string()).collect::<Vec<_>>())
                        .unwrap_or_default(),
                    fetch.internal_date().map(|date| date.timestamp_millis()),
                    fetch.body().map(<[u8]>::to_vec).unwrap_or_default(),
                ));
            }
        }
        Ok(found)
    };
    let Some((labels, internal_date_ms, message)) =
        timed(config, "fetching the message", fetched).await?
    else {
        return Ok(None);
    };
    let tab = if gmail && role == Role::All {
        Some(tab(session, config, message_id).await?)
    } else {
        None
    };
    Ok(Some(Found {
        folder: folder.to_owned(),
        role,
        labels,
        tab,
        internal_date_ms,
        message,
    }))
}

/// Gmail's tab: the first `category:` search that finds the message, else Primary.
async fn tab(session: &mut Imap, config: &Config, message_id: &str) -> Result<Tab, Error> {
    for tab in Tab::SEARCHABLE {
        let query = format!(
            "X-GM-RAW {}",
            quoted(&format!(
                "rfc822msgid:<{message_id}> category:{}",
                tab.name()
            ))
        );
        let uids: HashSet<u32> =
            timed(config, "reading the tab", session.uid_search(&query)).await?;
        if !uids.is_empty() {
            return Ok(tab);
        }
    }
    Ok(Tab::Primary)
}

/// Reports fetched from a mailbox's Inbox, newest first, with the IMAP transcript.
#[derive(Debug)]
pub struct Reports {
    pub messages: Vec<Vec<u8>>,
    pub transcript: Vec<protocol::TranscriptLine>,
}

/// How much of a report is read: the status part comes early; the returned message may be cut.
const REPORT_BYTES: u32 = 256 * 1024;

/// Logs in and fetches the newest `max` messages of the Inbox that say they are reports
/// (`Content-Type: multipart/report`). [`bounce::parse`] decides which really are.
pub async fn fetch_reports(
    target: &Target,
    login: &Login,
    config: &Config,
    max: usize,
) -> Result<Reports, (Diagnosis, Vec<protocol::TranscriptLine>)> {
    let transcript = Transcript::new(login.known_secrets());
    let fetched = async {
        let client = open(target, config, &transcript).await?;
        let mut session = authenticate(client, target, login, config).await?;
        timed(config, "opening the Inbox", session.examine("INBOX")).await?;
        let uids = timed(
            config,
            "searching for reports",
            session.uid_search("HEADER Content-Type \"multipart/report\""),
        )
        .await?;
        let mut uids: Vec<u32> = uids.into_iter().collect();
        uids.sort_unstable_by(|a, b| b.cmp(a));
        uids.truncate(max);
        let mut messages = Vec::new();
        for uid in uids {
            let query = format!("(UID BODY.PEEK[]<0.{REPORT_BYTES}>)");
            let one = async {
                let mut stream = session.uid_fetch(uid.to_string(), &query).await?;
                let mut body = None;
                while let Some(fetch) = stream.next().await {
                    let fetch = fetch?;
                    if body.is_none() {
                        body = fetch.body().map(<[u8]>::to_vec);
                    }
                }
                Ok(body)
            };
            if let Some(body) = timed(config, "fetching a report", one).await? {
                messages.push(body);
            }
        }
        let _ = tokio::time::timeout(config.command_timeout, session.logout()).await;
        Ok::<_, Error>(messages)
    };
    match fetched.await {
        Ok(messages) => Ok(Reports {
            messages,
            transcript: transcript.lines(),
        }),
        Err(error) => Err((error.diagnosis(), transcript.lines())),
    }
}

/// Milliseconds since the Unix epoch, now.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_ids_are_checked() {
        assert_eq!(
            normalize_message_id("<1.a@x.example>").ok().as_deref(),
            Some("1.a@x.example")
        );
        assert_eq!(
            normalize_message_id(" 1.a@x.example ").ok().as_deref(),
            Some("1.a@x.example")
        );
        for bad in [
            "",
            "<>",
            "no-at-sign",
            "<a b@x>",
            "<a\"@x>",
            "<a@x>\r\nA1 LOGOUT",
        ] {
            assert!(normalize_message_id(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn folders_are_chosen_by_role() {
        let folders = vec![
            ("INBOX".to_owned(), Role::Inbox),
            ("[Google Mail]/Alle Nachrichten".to_owned(), Role::All),
            ("[Google Mail]/Papierkorb".to_owned(), Role::Trash),
            ("[Google Mail]/Spam".to_owned(), Role::Junk),
            ("Receipts".to_owned(), Role::Other),
        ];
        let names =
            |plan: Vec<(String, Role)>| plan.into_iter().map(|(n, _)| n).collect::<Vec<_>>();
        assert_eq!(
            names(search_plan(&folders, true)),
            [
                "[Google Mail]/Alle Nachrichten",
                "[Google Mail]/Spam",
                "[Google Mail]/Papierkorb"
            ]
        );
        assert_eq!(
            names(search_plan(&folders, false)),
            ["INBOX", "[Google Mail]/Spam", "[Google Mail]/Papierkorb"]
        );
    }
}
