//! Consent through the system browser (RFC 8252): the authorization URL with PKCE, and a
//! one-shot listener on `127.0.0.1:0` for the redirect, which checks `state` (and `iss`),
//! exchanges the code and answers the browser with a small page.
//!
//! The listener takes the first request that carries an OAuth answer (`code`, `state` or
//! `error` on `/`) and closes, whatever that answer says, or after [`CONSENT_TIMEOUT`]. Other
//! requests (a favicon, a browser's speculative connection) get a 404 or are dropped without
//! using it up. Requests are read with a size cap and a deadline.

use std::net::Ipv4Addr;
use std::time::{Duration, SystemTime};

use protocol::Secret;
use subtle::ConstantTimeEq as _;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::client::OAuthClient;
use super::endpoint::{self, OAuthError, TokenError, Tokens};
use super::http::{form_decode, percent_encode};
use super::pkce::{Pkce, random_state};

/// How long the listener waits for the browser to come back.
pub const CONSENT_TIMEOUT: Duration = Duration::from_secs(5 * 60);
/// The most bytes read of one request's head; a redirect with a code is well under 2 KiB.
const MAX_REQUEST: usize = 8 * 1024;
/// How long one connection may take to send its request.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Connections read at once; more are closed at once.
const MAX_CONNECTIONS: usize = 8;

/// What to ask consent for.
#[derive(Debug, Clone)]
pub struct ConsentRequest {
    /// The account to sign in as (the profile's username), which Google preselects.
    pub login_hint: Option<String>,
    /// Show the consent screen even if the account already agreed (`prompt=consent`): for a
    /// reconnect, and the only way Google gives a second refresh token to the same client.
    pub reconnect: bool,
    /// How long to wait for the browser.
    pub timeout: Duration,
}

impl ConsentRequest {
    pub fn new(login_hint: impl Into<String>) -> ConsentRequest {
        ConsentRequest {
            login_hint: Some(login_hint.into()),
            reconnect: false,
            timeout: CONSENT_TIMEOUT,
        }
    }
}

/// A consent in progress: the URL to open, and the listener waiting for its redirect.
#[derive(Debug)]
pub struct Consent {
    url: String,
    redirect_uri: String,
    port: u16,
    state: Secret,
    pkce: Pkce,
    listener: TcpListener,
    deadline: Instant,
}

/// A connected account: its tokens, the refresh token to keep in the secret store, and when
/// consent was given (the 7-day clock of a consent screen in Testing starts there).
#[derive(Debug, Clone)]
pub struct Connected {
    pub tokens: Tokens,
    pub refresh_token: Secret,
    /// The scope granted.
    pub scope: String,
    pub consented_at: SystemTime,
}

/// Why a consent did not connect the account. The same words go to the browser's page.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConsentError {
    #[error("mailbridge cannot listen on 127.0.0.1 for the browser's answer: {0}")]
    Listen(String),
    #[error(
        "the browser did not come back within {}; start connecting again",
        in_words(*.0)
    )]
    TimedOut(Duration),
    #[error(
        "the answer's state does not match the one mailbridge sent, so it does not belong to \
         this connection (an old tab, or another program); nothing was changed; start \
         connecting again"
    )]
    StateMismatch,
    #[error(
        "the answer says it comes from {got:?}, not from {expected:?}; nothing was changed; \
         check the profile's OAuth endpoints"
    )]
    IssuerMismatch { expected: String, got: String },
    #[error("the browser's answer is not a valid OAuth redirect: {0}")]
    BadRedirect(String),
    #[error("access was not given: {0}; connect again and choose Allow (or Continue)")]
    Denied(OAuthError),
    #[error("the authorization server refused: {0}")]
    Refused(OAuthError),
    #[error("exchanging the code for tokens failed: {0}")]
    Exchange(TokenError),
    #[error(
        "the server gave no refresh token, which happens when this account already agreed \
         to this client; connect again: mailbridge will ask for the consent screen"
    )]
    NoRefreshToken,
    #[error(
        "the account granted `{granted}` but mail needs `{needed}`: connect again and leave \
         the mail permission ticked"
    )]
    ScopeMissing { granted: String, needed: String },
}

impl Consent {
    /// Binds the listener and builds the authorization URL for `client`.
    pub async fn start(
        client: &OAuthClient,
        request: &ConsentRequest,
    ) -> Result<Consent, ConsentError> {
        let listen = |error: std::io::Error| ConsentError::Listen(error.to_string());
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .await
            .map_err(listen)?;
        let port = listener.local_addr().map_err(listen)?.port();
        let redirect_uri = format!("http://127.0.0.1:{port}/");
        let state = random_state();
        let pkce = Pkce::new();
        let mut params = vec![
            ("response_type", "code"),
            ("client_id", client.client_id.as_str()),
            ("redirect_uri", redirect_uri.as_str()),
            ("scope", client.scope.as_str()),
            ("state", state.expose()),
            ("code_challenge", pkce.challenge.as_str()),
            ("code_challenge_method", "S256"),
            // Google's way to ask for a refresh token.
            ("access_type", "offline"),
        ];
        if let Some(hint) = &request.login_hint {
            params.push(("login_hint", hint));
        }
        if request.reconnect {
            params.push(("prompt", "consent"));
        }
        let query = params
            .iter()
            .map(|(name, value)| format!("{name}={}", percent_encode(value)))
            .collect::<Vec<_>>()
            .join("&");
        let separator = if client.auth_uri.contains('?') {
            '&'
        } else {
            '?'
        };
        tracing::debug!(
            port,
            reconnect = request.reconnect,
            "consent listener bound"
        );
        Ok(Consent {
            url: format!("{}{separator}{query}", client.auth_uri),
            redirect_uri,
            port,
            state,
            pkce,
            listener,
            deadline: Instant::now() + request.timeout,
        })
    }

    /// The URL to open in the browser. It holds no secret: only the PKCE challenge and the
    /// `state`, which the redirect must bring back.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// `http://127.0.0.1:PORT/`, as sent in the URL and again in the code exchange.
    pub fn redirect_uri(&self) -> &str {
        &self.redirect_uri
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Waits for the browser's redirect, closes the listener, checks the answer, exchanges the
    /// code, and tells the browser how it went.
    pub async fn finish(self, client: &OAuthClient) -> Result<Connected, ConsentError> {
        let Consent {
            redirect_uri,
            state,
            pkce,
            listener,
            deadline,
            ..
        } = self;
        let (mut stream, query) = wait_for_redirect(listener, deadline).await?;
        let result = complete(client, &query, &state, &pkce, &redirect_uri).await;
        match &result {
            Ok(_) => tracing::info!("an account was connected by consent"),
            Err(error) => tracing::info!(%error, "consent failed"),
        }
        let page = match &result {
            Ok(_) => page(
                "200 OK",
                "mailbridge is connected",
                "mailbridge is connected; you can close this tab.",
            ),
            Err(error) => page(
                "400 Bad Request",
                "mailbridge could not connect",
                &format!("{error}. You can close this tab."),
            ),
        };
        // The browser's page is a courtesy; the result does not depend on it arriving.
        let _ = tokio::time::timeout(REQUEST_TIMEOUT, async {
            stream.write_all(page.as_bytes()).await?;
            stream.shutdown().await
        })
        .await;
        result
    }
}

/// The first request that carries an OAuth answer, with the stream to answer it on. The
/// listener is dropped on return, so the port is closed before the code is exchanged.
async fn wait_for_redirect(
    listener: TcpListener,
    deadline: Instant,
) -> Result<(TcpStream, String), ConsentError> {
    let timeout = deadline.saturating_duration_since(Instant::now());
    let mut reading = JoinSet::new();
    let expired = tokio::time::sleep_until(deadline);
    tokio::pin!(expired);
    loop {
        tokio::select! {
            () = &mut expired => return Err(ConsentError::TimedOut(timeout)),
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) if reading.len() < MAX_CONNECTIONS => {
                    reading.spawn(read_request(stream));
                }
                Ok(_) => {}
                // Out of file descriptors, say: wait a little rather than spin.
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            },
            Some(done) = reading.join_next() => {
                if let Ok(Some(redirect)) = done {
                    return Ok(redirect);
                }
            }
        }
    }
}

/// Reads one request's head. A redirect comes back with its query; anything else is answered
/// here and gives `None`.
async fn read_request(mut stream: TcpStream) -> Option<(TcpStream, String)> {
    let mut head = Vec::with_capacity(1024);
    let read = tokio::time::timeout(REQUEST_TIMEOUT, async {
        let mut buffer = [0u8; 1024];
        while !head.windows(4).any(|w| w == b"\r\n\r\n") {
            if head.len() >= MAX_REQUEST {
                return Err("431 Request Header Fields Too Large");
            }
            match stream.read(&mut buffer).await {
                Ok(0) | Err(_) => return Err(""),
                Ok(n) => head.extend_from_slice(&buffer[..n]),
            }
        }
        Ok(())
    })
    .await;
    let refusal = match read {
        Ok(Ok(())) => match redirect_query(&head) {
            Ok(query) => return Some((stream, query)),
            Err(status) => status,
        },
        Ok(Err(status)) => status,
        Err(_) => "",
    };
    if !refusal.is_empty() {
        let page = page(
            refusal,
            "mailbridge",
            "This address is mailbridge waiting for a browser to come back from signing in.",
        );
        let _ = tokio::time::timeout(REQUEST_TIMEOUT, stream.write_all(page.as_bytes())).await;
    }
    None
}

/// The query of `GET /?...` when it carries an OAuth answer, or the status to refuse with.
fn redirect_query(head: &[u8]) -> Result<String, &'static str> {
    let line = head.split(|&b| b == b'\r').next().unwrap_or_default();
    let line = std::str::from_utf8(line).map_err(|_| "400 Bad Request")?;
    let mut parts = line.split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err("400 Bad Request");
    };
    if !version.starts_with("HTTP/1.") {
        return Err("400 Bad Request");
    }
    if method != "GET" {
        return Err("405 Method Not Allowed");
    }
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    if path != "/" {
        return Err("404 Not Found");
    }
    let answers = query.split('&').any(|pair| {
        let name = pair.split_once('=').map_or(pair, |(name, _)| name);
        matches!(name, "code" | "state" | "error")
    });
    if !answers {
        return Err("404 Not Found");
    }
    Ok(query.to_owned())
}

async fn complete(
    client: &OAuthClient,
    query: &str,
    state: &Secret,
    pkce: &Pkce,
    redirect_uri: &str,
) -> Result<Connected, ConsentError> {
    let params = Params::parse(query)?;
    // The state first: nothing in an answer that is not ours is looked at.
    let Some(got_state) = params.get("state")? else {
        return Err(ConsentError::StateMismatch);
    };
    if !bool::from(got_state.as_bytes().ct_eq(state.expose().as_bytes())) {
        return Err(ConsentError::StateMismatch);
    }
    if let (Some(got), Some(expected)) = (params.get("iss")?, &client.issuer)
        && !bool::from(got.as_bytes().ct_eq(expected.as_bytes()))
    {
        return Err(ConsentError::IssuerMismatch {
            expected: expected.clone(),
            got: got.to_owned(),
        });
    }
    if let Some(error) = params.get("error")? {
        let error = OAuthError {
            error: error.to_owned(),
            description: params.get("error_description")?.map(str::to_owned),
            uri: params.get("error_uri")?.map(str::to_owned),
        };
        return Err(if error.error == "access_denied" {
            ConsentError::Denied(error)
        } else {
            ConsentError::Refused(error)
        });
    }
    let Some(code) = params.get("code")?.filter(|code| !code.is_empty()) else {
        return Err(ConsentError::BadRedirect("it has no code".to_owned()));
    };
    let consented_at = SystemTime::now();
    let tokens = endpoint::exchange_code(client, &Secret::new(code), redirect_uri, &pkce.verifier)
        .await
        .map_err(ConsentError::Exchange)?;
    if !tokens.grants(&client.scope) {
        return Err(ConsentError::ScopeMissing {
            granted: tokens.scope.clone().unwrap_or_default(),
            needed: client.scope.clone(),
        });
    }
    let Some(refresh_token) = tokens.refresh_token.clone() else {
        return Err(ConsentError::NoRefreshToken);
    };
    Ok(Connected {
        scope: tokens.scope.clone().unwrap_or_else(|| client.scope.clone()),
        tokens,
        refresh_token,
        consented_at,
    })
}

/// A redirect's query, decoded. A parameter given twice is refused (RFC 6749 3.1), so no one
/// can slip in a second `state` or `code`.
struct Params(Vec<(String, String)>);

impl Params {
    fn parse(query: &str) -> Result<Params, ConsentError> {
        let mut pairs = Vec::new();
        for pair in query.split('&').filter(|pair| !pair.is_empty()) {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            let (Some(name), Some(value)) = (form_decode(name), form_decode(value)) else {
                return Err(ConsentError::BadRedirect(
                    "its query has a broken %-escape".to_owned(),
                ));
            };
            pairs.push((name, value));
        }
        Ok(Params(pairs))
    }

    fn get(&self, name: &str) -> Result<Option<&str>, ConsentError> {
        let mut found = self.0.iter().filter(|(n, _)| n == name);
        match (found.next(), found.next()) {
            (Some((_, value)), None) => Ok(Some(value)),
            (None, _) => Ok(None),
            (Some(_), Some(_)) => Err(ConsentError::BadRedirect(format!(
                "`{name}` is in it more than once"
            ))),
        }
    }
}

fn in_words(wait: Duration) -> String {
    match wait.as_secs() {
        0..=1 => "a second".to_owned(),
        seconds @ 2..=119 => format!("{seconds} seconds"),
        seconds => format!("{} minutes", seconds / 60),
    }
}

/// A whole HTTP response: a small page that closes the connection.
fn page(status: &str, title: &str, text: &str) -> String {
    let body = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title}</title>\
         </head>\n<body><h1>{title}</h1>\n<p>{}</p></body></html>\n",
        escape(text)
    );
    format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\n\
         Cache-Control: no-store\r\nReferrer-Policy: no-referrer\r\n\
         Content-Security-Policy: default-src 'none'\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client() -> OAuthClient {
        match OAuthClient::google("1.apps.googleusercontent.com", &Secret::new("s")) {
            Ok(client) => client,
            Err(error) => panic!("{error}"),
        }
    }

    fn params(url: &str) -> Params {
        let query = url.split_once('?').map_or("", |(_, query)| query);
        match Params::parse(query) {
            Ok(params) => params,
            Err(error) => panic!("{error}"),
        }
    }

    fn one<'a>(params: &'a Params, name: &str) -> Option<&'a str> {
        params.get(name).ok().flatten()
    }

    #[tokio::test]
    async fn the_url_asks_for_mail_offline_with_pkce_and_the_listeners_redirect() {
        let mut request = ConsentRequest::new("someone@gmail.com");
        let consent = match Consent::start(&client(), &request).await {
            Ok(consent) => consent,
            Err(error) => panic!("{error}"),
        };
        assert!(
            consent
                .url()
                .starts_with("https://accounts.google.com/o/oauth2/v2/auth?response_type=code&"),
            "{}",
            consent.url()
        );
        let got = params(consent.url());
        let expected_redirect = format!("http://127.0.0.1:{}/", consent.port());
        assert_eq!(consent.redirect_uri(), expected_redirect);
        assert_eq!(one(&got, "redirect_uri"), Some(expected_redirect.as_str()));
        assert_eq!(one(&got, "client_id"), Some("1.apps.googleusercontent.com"));
        assert_eq!(one(&got, "scope"), Some("https://mail.google.com/"));
        assert_eq!(one(&got, "access_type"), Some("offline"));
        assert_eq!(one(&got, "login_hint"), Some("someone@gmail.com"));
        assert_eq!(one(&got, "code_challenge_method"), Some("S256"));
        assert_eq!(
            one(&got, "code_challenge"),
            Some(consent.pkce.challenge.as_str())
        );
        assert_eq!(one(&got, "state"), Some(consent.state.expose()));
        assert_eq!(one(&got, "prompt"), None);
        assert!(!consent.url().contains(consent.pkce.verifier.expose()));

        request.reconnect = true;
        let again = Consent::start(&client(), &request).await.map(|c| c.url);
        let again = again.unwrap_or_default();
        assert_eq!(one(&params(&again), "prompt"), Some("consent"));
        assert_ne!(one(&params(&again), "state"), one(&got, "state"));
    }

    #[test]
    fn only_an_oauth_answer_on_slash_uses_up_the_listener() {
        let check = |line: &str, expected: Result<&str, &str>| {
            let head = format!("{line}\r\nHost: 127.0.0.1\r\n\r\n");
            assert_eq!(
                redirect_query(head.as_bytes()).as_deref(),
                expected.map(str::to_owned).as_deref(),
                "for {line:?}"
            );
        };
        check("GET /?code=a&state=b HTTP/1.1", Ok("code=a&state=b"));
        check(
            "GET /?error=access_denied HTTP/1.1",
            Ok("error=access_denied"),
        );
        check("GET /favicon.ico HTTP/1.1", Err("404 Not Found"));
        check("GET / HTTP/1.1", Err("404 Not Found"));
        check("GET /?x=1 HTTP/1.1", Err("404 Not Found"));
        check("POST /?code=a HTTP/1.1", Err("405 Method Not Allowed"));
        check("GET /?code=a", Err("400 Bad Request"));
        check("GET /?code=a SPDY/3", Err("400 Bad Request"));
    }

    #[test]
    fn a_repeated_parameter_is_refused() {
        let repeated = Params::parse("state=a&state=b").map(|p| p.get("state").map(drop));
        assert!(
            matches!(repeated, Ok(Err(ConsentError::BadRedirect(ref text))) if text == "`state` is in it more than once"),
            "{repeated:?}"
        );
        assert!(matches!(
            Params::parse("code=%zz"),
            Err(ConsentError::BadRedirect(_))
        ));
    }

    #[test]
    fn the_page_escapes_the_message() {
        let page = page("400 Bad Request", "t", "<script>&\"'");
        assert!(page.starts_with("HTTP/1.1 400 Bad Request\r\n"));
        assert!(page.contains("&lt;script&gt;&amp;&quot;&#39;"), "{page}");
        let (head, body) = page.split_once("\r\n\r\n").unwrap_or_default();
        assert!(head.contains(&format!("Content-Length: {}", body.len())));
    }

    #[tokio::test]
    async fn it_times_out_and_closes() {
        let mut request = ConsentRequest::new("someone@gmail.com");
        request.timeout = Duration::from_millis(50);
        let consent = match Consent::start(&client(), &request).await {
            Ok(consent) => consent,
            Err(error) => panic!("{error}"),
        };
        let port = consent.port();
        let result = consent.finish(&client()).await;
        assert_eq!(
            result.map(drop).map_err(|e| e.to_string()),
            Err("the browser did not come back within a second; start connecting again".into())
        );
        assert!(
            TcpStream::connect((Ipv4Addr::LOCALHOST, port))
                .await
                .is_err()
        );
    }
}
