//! Asking an OAuth server about a bearer token: token introspection (RFC 7662), one
//! `application/x-www-form-urlencoded` POST per login over hyper's HTTP/1.1 client.
//!
//! The form carries the token and the client secret, so it goes over https (checked against the
//! system's roots), or over plain http only to this computer. An answer must come within
//! [`TIMEOUT`] and fit in [`MAX_ANSWER`]; anything else is the server's trouble, not the token's,
//! and gives a temporary failure. No error text built here holds the token or the secret.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http_body_util::{BodyExt as _, Full, Limited};
use hyper::body::Bytes;
use hyper::header::{ACCEPT, CONTENT_TYPE, HOST, USER_AGENT};
use hyper::{Method, Request, Uri};
use hyper_util::rt::TokioIo;
use rustls::pki_types::ServerName;
use serde_json::Value;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use crate::config::Introspection;

/// The scope Gmail's SMTP needs.
pub(crate) const MAIL_SCOPE: &str = "https://mail.google.com/";
/// From connecting to the last byte of the answer: a login waits on it.
pub(crate) const TIMEOUT: Duration = Duration::from_secs(5);
/// An introspection answer is a few hundred bytes.
pub(crate) const MAX_ANSWER: usize = 64 * 1024;

/// What the server said about a token.
pub(crate) enum Verdict {
    Accepted,
    Refused(Refusal),
    /// The server could not be asked, or gave no usable answer; in words, for the log.
    Unavailable(String),
}

/// Why a token was refused, for the log (never with the token).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// Expired, revoked, unknown, or issued to another client.
    Inactive,
    /// Active, but not an access token (a refresh token, say).
    NotAccessToken,
    ScopeMissing,
    /// Issued for another account than the one logging in.
    OtherAccount,
}

impl Refusal {
    pub fn as_str(self) -> &'static str {
        match self {
            Refusal::Inactive => "not active",
            Refusal::NotAccessToken => "not an access token",
            Refusal::ScopeMissing => "without the scope https://mail.google.com/",
            Refusal::OtherAccount => "issued for another account",
        }
    }
}

/// The endpoint, checked once at start, and how to reach it.
pub(crate) struct Introspector {
    /// The host to connect to, without an IPv6 literal's brackets.
    host: String,
    port: u16,
    /// The `Host` header: as written in the URL.
    authority: String,
    /// The path and query.
    target: String,
    client_id: String,
    client_secret: String,
    /// `None` for plain http.
    tls: Option<TlsConnector>,
}

impl std::fmt::Debug for Introspector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Introspector")
            .field("authority", &self.authority)
            .field("target", &self.target)
            .field("client_id", &self.client_id)
            .field("https", &self.tls.is_some())
            .finish_non_exhaustive()
    }
}

impl Introspector {
    /// Checks the URL (https, or http to a loopback host) and, for https, loads the system's
    /// roots. The error says what is wrong with the URL, in words.
    pub fn new(config: &Introspection) -> Result<Introspector, String> {
        let url = &config.url;
        let uri: Uri = url
            .parse()
            .map_err(|error| format!("`{url}` is not a URL: {error}"))?;
        let https = match uri.scheme_str() {
            Some(scheme) if scheme.eq_ignore_ascii_case("https") => true,
            Some(scheme) if scheme.eq_ignore_ascii_case("http") => false,
            _ => return Err(format!("`{url}` is not an http or https URL")),
        };
        let Some(authority) = uri.authority() else {
            return Err(format!("`{url}` has no host"));
        };
        if authority.as_str().contains('@') {
            return Err(format!(
                "`{url}` has a user name in it; the client goes in --oauth-client-id"
            ));
        }
        let host = authority
            .host()
            .trim_start_matches('[')
            .trim_end_matches(']');
        let loopback = host.eq_ignore_ascii_case("localhost")
            || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback());
        if !https && !loopback {
            return Err(format!(
                "`{url}` is plain http to a host that is not this computer; the token and client \
                 secret would cross the network unencrypted, so use https"
            ));
        }
        let tls = if https { Some(tls_connector()?) } else { None };
        Ok(Introspector {
            host: host.to_owned(),
            port: authority.port_u16().unwrap_or(if https { 443 } else { 80 }),
            authority: authority.as_str().to_owned(),
            target: uri
                .path_and_query()
                .map_or_else(|| "/".to_owned(), |target| target.as_str().to_owned()),
            client_id: config.client_id.clone(),
            client_secret: config.client_secret.clone(),
            tls,
        })
    }

    /// Where tokens are checked, for the banner: the URL without its query.
    pub fn describe(&self) -> String {
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        let path = self.target.split('?').next().unwrap_or_default();
        format!("{scheme}://{}{path}", self.authority)
    }

    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// Whether `token` is a live access token for `user` with the mail scope.
    pub async fn check(&self, token: &str, user: &str) -> Verdict {
        let form = [
            ("token", token),
            ("token_type_hint", "access_token"),
            ("client_id", &self.client_id),
            ("client_secret", &self.client_secret),
        ]
        .iter()
        .map(|(name, value)| format!("{name}={}", percent_encode(value)))
        .collect::<Vec<_>>()
        .join("&");
        let answer = match tokio::time::timeout(TIMEOUT, self.post(form)).await {
            Ok(Ok(answer)) => answer,
            Ok(Err(error)) => return Verdict::Unavailable(error),
            Err(_) => {
                return Verdict::Unavailable(format!(
                    "{} did not answer within {} s",
                    self.authority,
                    TIMEOUT.as_secs()
                ));
            }
        };
        let (status, body) = answer;
        if status != 200 {
            // 401 is the server refusing the sandbox's client, not the token (RFC 7662 2.3).
            return Verdict::Unavailable(format!(
                "{} answered HTTP {status}; check --oauth-client-id and the client secret",
                self.authority
            ));
        }
        match serde_json::from_slice::<Value>(&body) {
            Ok(answer) if answer.is_object() => judge(&answer, user, now_unix()),
            _ => Verdict::Unavailable(format!(
                "{} answered with something that is not a JSON object",
                self.authority
            )),
        }
    }

    /// The status and body of one POST.
    async fn post(&self, form: String) -> Result<(u16, Bytes), String> {
        let stream = TcpStream::connect((self.host.as_str(), self.port))
            .await
            .map_err(|error| format!("cannot connect to {}: {error}", self.authority))?;
        let Some(tls) = &self.tls else {
            return self.request(stream, form).await;
        };
        let name = ServerName::try_from(self.host.clone())
            .map_err(|_| format!("`{}` is not a host name TLS can check", self.host))?;
        let stream = tls
            .connect(name, stream)
            .await
            .map_err(|error| format!("TLS with {} failed: {error}", self.authority))?;
        self.request(stream, form).await
    }

    async fn request<S>(&self, stream: S, form: String) -> Result<(u16, Bytes), String>
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let http = |error: hyper::Error| format!("HTTP with {} failed: {error}", self.authority);
        let (mut sender, connection) =
            hyper::client::conn::http1::handshake::<_, Full<Bytes>>(TokioIo::new(stream))
                .await
                .map_err(http)?;
        // Driven beside the request and stopped when this returns, so a timeout above leaves
        // nothing running.
        let driver = AbortOnDrop(tokio::spawn(connection));
        let request = Request::builder()
            .method(Method::POST)
            .uri(self.target.as_str())
            .header(HOST, self.authority.as_str())
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(ACCEPT, "application/json")
            .header(
                USER_AGENT,
                concat!("mailbridge-sandbox/", env!("CARGO_PKG_VERSION")),
            )
            .body(Full::new(Bytes::from(form)))
            .map_err(|error| {
                format!("the request to {} cannot be made: {error}", self.authority)
            })?;
        let response = sender.send_request(request).await.map_err(http)?;
        let status = response.status().as_u16();
        let body = Limited::new(response.into_body(), MAX_ANSWER)
            .collect()
            .await
            .map_err(|error| {
                format!(
                    "reading the answer of {} failed: {error} (at most {} KiB are read)",
                    self.authority,
                    MAX_ANSWER / 1024
                )
            })?
            .to_bytes();
        drop(driver);
        Ok((status, body))
    }
}

/// The decision on an introspection answer (RFC 7662 section 2.2).
fn judge(answer: &Value, user: &str, now: u64) -> Verdict {
    let text = |name: &str| answer.get(name).and_then(Value::as_str);
    if answer.get("active") != Some(&Value::Bool(true)) {
        return Verdict::Refused(Refusal::Inactive);
    }
    // The server's clock decides, but a token it calls active past its `exp` is not trusted.
    if answer
        .get("exp")
        .and_then(Value::as_u64)
        .is_some_and(|exp| exp <= now)
    {
        return Verdict::Refused(Refusal::Inactive);
    }
    // RFC 7662 makes `token_type` optional, but without it a refresh token would pass for an
    // access token: oidc-provider, for one, names the type of access tokens only.
    if !text("token_type").is_some_and(|kind| kind.eq_ignore_ascii_case("Bearer")) {
        return Verdict::Refused(Refusal::NotAccessToken);
    }
    if !text("scope").is_some_and(|scope| scope.split(' ').any(|s| s == MAIL_SCOPE)) {
        return Verdict::Refused(Refusal::ScopeMissing);
    }
    let is_user = |name: &str| text(name).is_some_and(|value| value.eq_ignore_ascii_case(user));
    if !(is_user("sub") || is_user("username")) {
        return Verdict::Refused(Refusal::OtherAccount);
    }
    Verdict::Accepted
}

fn now_unix() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs())
}

/// rustls with the system's roots: an issuer the sandbox is pointed at is one this computer
/// already trusts (a company's, or one in a test's trust store).
fn tls_connector() -> Result<TlsConnector, String> {
    let mut roots = rustls::RootCertStore::empty();
    let (added, _ignored) =
        roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
    if added == 0 {
        return Err(
            "this system has no trusted root certificates, so an https introspection endpoint \
             cannot be checked; install ca-certificates or set SSL_CERT_FILE"
                .to_owned(),
        );
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|error| format!("TLS cannot be set up: {error}"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsConnector::from(Arc::new(config)))
}

struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Percent-encodes all but RFC 3986's unreserved characters, right for a form body.
fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const USER: &str = "user@example.com";
    const NOW: u64 = 1_700_000_000;

    #[test]
    fn what_an_answer_decides() {
        let check = |answer: Value, expected: Option<Refusal>| {
            let got = match judge(&answer, USER, NOW) {
                Verdict::Accepted => None,
                Verdict::Refused(refusal) => Some(refusal),
                Verdict::Unavailable(why) => panic!("{why}"),
            };
            assert_eq!(got, expected, "{answer}");
        };
        let good = || {
            json!({"active": true, "sub": USER, "scope": "openid https://mail.google.com/",
                   "token_type": "Bearer", "exp": NOW + 3, "client_id": "c"})
        };
        let with = |name: &str, value: Value| {
            let mut answer = good();
            answer[name] = value;
            answer
        };
        check(good(), None);
        check(with("sub", json!("USER@example.COM")), None);
        check(with("sub", json!("opaque-id")), Some(Refusal::OtherAccount));
        check(
            {
                let mut answer = with("sub", json!("opaque-id"));
                answer["username"] = json!(USER);
                answer
            },
            None,
        );
        check(json!({"active": false}), Some(Refusal::Inactive));
        check(with("active", json!("true")), Some(Refusal::Inactive));
        check(with("exp", json!(NOW)), Some(Refusal::Inactive));
        check(
            with("scope", json!("https://mail.google.com/gmail.send")),
            Some(Refusal::ScopeMissing),
        );
        check(
            with("sub", json!("eve@example.com")),
            Some(Refusal::OtherAccount),
        );
        let mut refresh = good();
        refresh
            .as_object_mut()
            .map(|object| object.remove("token_type"));
        check(refresh, Some(Refusal::NotAccessToken));
        check(
            with("token_type", json!("DPoP")),
            Some(Refusal::NotAccessToken),
        );
    }

    #[test]
    fn urls_are_https_or_loopback_http() {
        let check = |url: &str, expected: Result<(&str, u16, &str), &str>| {
            let config = Introspection {
                url: url.to_owned(),
                client_id: "c".to_owned(),
                client_secret: "s".to_owned(),
            };
            let got = Introspector::new(&config);
            let got = got
                .as_ref()
                .map(|i| (i.host.as_str(), i.port, i.target.as_str()))
                .map_err(String::as_str);
            assert_eq!(got, expected, "{url}");
        };
        check(
            "http://127.0.0.1:4000/token/introspection",
            Ok(("127.0.0.1", 4000, "/token/introspection")),
        );
        check("http://localhost/i?x=1", Ok(("localhost", 80, "/i?x=1")));
        check("http://[::1]:9", Ok(("::1", 9, "/")));
        check(
            "http://10.0.0.1/i",
            Err(
                "`http://10.0.0.1/i` is plain http to a host that is not this computer; the token \
                 and client secret would cross the network unencrypted, so use https",
            ),
        );
        check("ftp://x/", Err("`ftp://x/` is not an http or https URL"));
        check(
            "/just/a/path",
            Err("`/just/a/path` is not an http or https URL"),
        );
        check(
            "http://me@127.0.0.1/",
            Err(
                "`http://me@127.0.0.1/` has a user name in it; the client goes in --oauth-client-id",
            ),
        );
    }

    #[test]
    fn form_values_are_encoded() {
        assert_eq!(percent_encode("a+b/c=d&e~"), "a%2Bb%2Fc%3Dd%26e~");
    }
}
