//! One `application/x-www-form-urlencoded` POST to an OAuth endpoint, and the percent-encoding
//! that the authorization URL and the redirect's query share with it.
//!
//! The body carries the client secret and a code or refresh token, so it goes over HTTPS, or
//! over plain HTTP only to this computer (the tests' server, a local proxy). Answers are read
//! up to [`MAX_ANSWER`] within [`TIMEOUT`].

use std::net::IpAddr;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use http_body_util::{BodyExt as _, Full, Limited};
use hyper::body::Bytes;
use hyper::header::{ACCEPT, CONTENT_TYPE, HOST, USER_AGENT};
use hyper::{Method, Request};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

/// How long one request may take, from connecting to the last byte of the answer.
pub const TIMEOUT: Duration = Duration::from_secs(30);
/// The largest answer read; a token response is well under a kilobyte.
pub const MAX_ANSWER: usize = 64 * 1024;

/// An endpoint's address, checked: https, or http to a loopback host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub https: bool,
    /// The host to connect to, without the brackets of an IPv6 literal.
    pub host: String,
    pub port: u16,
    /// What the `Host` header says: the host as written, and the port if one was written.
    pub authority: String,
    /// The path and query, `/` at least.
    pub target: String,
}

impl Endpoint {
    /// `uri` as an endpoint, or why it cannot be one, in words.
    pub fn parse(uri: &str) -> Result<Endpoint, String> {
        let not_https = || format!("`{uri}` is not an https URL");
        let (https, rest) = match uri.split_once("://") {
            Some((scheme, rest)) if scheme.eq_ignore_ascii_case("https") => (true, rest),
            Some((scheme, rest)) if scheme.eq_ignore_ascii_case("http") => (false, rest),
            _ => return Err(not_https()),
        };
        if rest.contains('#') {
            return Err(format!(
                "`{uri}` has a fragment (#...), which an endpoint cannot have"
            ));
        }
        let split = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, target) = rest.split_at(split);
        if authority.contains('@') {
            return Err(format!(
                "`{uri}` has a user name in it, which an endpoint cannot have"
            ));
        }
        let (host, port) = match authority.strip_prefix('[') {
            Some(v6) => match v6.split_once(']') {
                Some((host, "")) => (host, None),
                Some((host, port)) => (host, Some(port.strip_prefix(':').unwrap_or(port))),
                None => return Err(not_https()),
            },
            None => match authority.rsplit_once(':') {
                Some((host, port)) => (host, Some(port)),
                None => (authority, None),
            },
        };
        if host.is_empty() || host.contains(char::is_whitespace) {
            return Err(not_https());
        }
        let port = match port {
            None => {
                if https {
                    443
                } else {
                    80
                }
            }
            Some(port) => port
                .parse::<u16>()
                .map_err(|_| format!("`{uri}` has a port that is not a number up to 65535"))?,
        };
        if !https && !is_loopback(host) {
            return Err(format!(
                "`{uri}` is plain HTTP to a host that is not this computer; it must be https"
            ));
        }
        let target = match target {
            "" => "/".to_owned(),
            query if query.starts_with('?') => format!("/{query}"),
            path => path.to_owned(),
        };
        Ok(Endpoint {
            https,
            host: host.to_owned(),
            port,
            authority: authority.to_owned(),
            target,
        })
    }
}

fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// An endpoint's answer: its status, content type and body.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub content_type: Option<String>,
    pub body: Bytes,
}

/// POSTs `form` to `endpoint`. The error is what went wrong on the way, in words; it never
/// holds the form, which carries secrets.
pub async fn post_form(endpoint: &Endpoint, form: &[(&str, &str)]) -> Result<Answer, String> {
    let body = form
        .iter()
        .map(|(name, value)| format!("{}={}", percent_encode(name), percent_encode(value)))
        .collect::<Vec<_>>()
        .join("&");
    match tokio::time::timeout(TIMEOUT, exchange(endpoint, body)).await {
        Ok(answer) => answer,
        Err(_) => Err(format!(
            "{} did not answer within {} s",
            endpoint.authority,
            TIMEOUT.as_secs()
        )),
    }
}

async fn exchange(endpoint: &Endpoint, body: String) -> Result<Answer, String> {
    let stream = TcpStream::connect((endpoint.host.as_str(), endpoint.port))
        .await
        .map_err(|error| format!("cannot connect to {}: {error}", endpoint.authority))?;
    if !endpoint.https {
        return request(stream, endpoint, body).await;
    }
    let config = tls_config().as_ref().map_err(Clone::clone)?;
    let name = rustls::pki_types::ServerName::try_from(endpoint.host.clone())
        .map_err(|_| format!("`{}` is not a host name TLS can check", endpoint.host))?;
    let tls = tokio_rustls::TlsConnector::from(Arc::clone(config))
        .connect(name, stream)
        .await
        .map_err(|error| format!("TLS with {} failed: {error}", endpoint.authority))?;
    request(tls, endpoint, body).await
}

async fn request<S>(stream: S, endpoint: &Endpoint, body: String) -> Result<Answer, String>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let http = |error: hyper::Error| format!("HTTP with {} failed: {error}", endpoint.authority);
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake::<_, Full<Bytes>>(TokioIo::new(stream))
            .await
            .map_err(http)?;
    // The connection is driven beside the request and stopped when this function returns, so
    // a timeout above leaves nothing running.
    let driver = AbortOnDrop(tokio::spawn(connection));
    let request = Request::builder()
        .method(Method::POST)
        .uri(endpoint.target.as_str())
        .header(HOST, endpoint.authority.as_str())
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(ACCEPT, "application/json")
        .header(
            USER_AGENT,
            concat!("mailbridge/", env!("CARGO_PKG_VERSION")),
        )
        .body(Full::new(Bytes::from(body)))
        .map_err(|error| {
            format!(
                "the request to {} cannot be made: {error}",
                endpoint.authority
            )
        })?;
    let response = sender.send_request(request).await.map_err(http)?;
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get(CONTENT_TYPE)
        .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned());
    let body = Limited::new(response.into_body(), MAX_ANSWER)
        .collect()
        .await
        .map_err(|error| {
            format!(
                "reading the answer of {} failed: {error} (at most {} KiB are read)",
                endpoint.authority,
                MAX_ANSWER / 1024
            )
        })?
        .to_bytes();
    drop(driver);
    Ok(Answer {
        status,
        content_type,
        body,
    })
}

struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// rustls with Mozilla's roots (webpki-roots) and the system's, built once: a bare container
/// has no system roots, and a corporate proxy's root is only in the system's.
fn tls_config() -> &'static Result<Arc<rustls::ClientConfig>, String> {
    static CONFIG: OnceLock<Result<Arc<rustls::ClientConfig>, String>> = OnceLock::new();
    CONFIG.get_or_init(|| {
        let mut roots = rustls::RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        let (_added, _ignored) =
            roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|error| format!("TLS cannot be set up: {error}"))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Arc::new(config))
    })
}

/// Percent-encodes everything but RFC 3986's unreserved characters, which is right both in a
/// query string and in a form body.
pub fn percent_encode(text: &str) -> String {
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

/// Decodes one form-encoded value (`+` is a space); `None` for a broken escape or bytes that
/// are not UTF-8.
pub fn form_decode(text: &str) -> Option<String> {
    let mut bytes = Vec::with_capacity(text.len());
    let mut input = text.bytes();
    while let Some(byte) = input.next() {
        match byte {
            b'+' => bytes.push(b' '),
            b'%' => {
                let high = char::from(input.next()?).to_digit(16)?;
                let low = char::from(input.next()?).to_digit(16)?;
                bytes.push(u8::try_from(high * 16 + low).ok()?);
            }
            other => bytes.push(other),
        }
    }
    String::from_utf8(bytes).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_are_https_or_loopback_http() {
        let check = |uri: &str, expected: Result<(&str, u16, &str), &str>| {
            let got = Endpoint::parse(uri);
            let got = got
                .as_ref()
                .map(|e| (e.host.as_str(), e.port, e.target.as_str()))
                .map_err(String::as_str);
            assert_eq!(got, expected, "for {uri:?}");
        };
        check(
            "https://oauth2.googleapis.com/token",
            Ok(("oauth2.googleapis.com", 443, "/token")),
        );
        check(
            "HTTPS://oauth2.googleapis.com",
            Ok(("oauth2.googleapis.com", 443, "/")),
        );
        check(
            "https://example.com:8443?x=1",
            Ok(("example.com", 8443, "/?x=1")),
        );
        check(
            "http://127.0.0.1:4000/token",
            Ok(("127.0.0.1", 4000, "/token")),
        );
        check("http://localhost/t", Ok(("localhost", 80, "/t")));
        check("http://[::1]:9/t", Ok(("::1", 9, "/t")));
        check(
            "http://10.0.0.1/token",
            Err(
                "`http://10.0.0.1/token` is plain HTTP to a host that is not this computer; it must be https",
            ),
        );
        check("ftp://x/", Err("`ftp://x/` is not an https URL"));
        check(
            "https:///token",
            Err("`https:///token` is not an https URL"),
        );
        check(
            "https://x:99999/",
            Err("`https://x:99999/` has a port that is not a number up to 65535"),
        );
        check(
            "https://user@x/",
            Err("`https://user@x/` has a user name in it, which an endpoint cannot have"),
        );
        check(
            "https://x/#f",
            Err("`https://x/#f` has a fragment (#...), which an endpoint cannot have"),
        );
    }

    #[test]
    fn encoding_round_trips() {
        let text = "https://mail.google.com/ a+b=c&d~é";
        let encoded = percent_encode(text);
        assert_eq!(
            encoded,
            "https%3A%2F%2Fmail.google.com%2F%20a%2Bb%3Dc%26d~%C3%A9"
        );
        assert_eq!(form_decode(&encoded).as_deref(), Some(text));
        assert_eq!(form_decode("a+b").as_deref(), Some("a b"));
        assert_eq!(form_decode("%zz"), None);
        assert_eq!(form_decode("%4"), None);
        assert_eq!(form_decode("%ff"), None);
    }
}
