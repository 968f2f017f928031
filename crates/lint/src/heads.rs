//! The optional link check: one HEAD request per `http:` and `https:` link, to find the links
//! that are broken, redirect or do not answer before a recipient clicks them.
//!
//! The links come from the message, so whoever wrote it chooses where the bridge connects. A
//! link to `localhost`, the router or a cloud metadata address would make the check a probe
//! of this machine's network, so every address a name resolves to is checked first and only
//! public ones are connected to; the connection goes to that very address, not to the name
//! again, so a second DNS answer cannot swap in a private one (DNS rebinding).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use http_body_util::Empty;
use hyper::body::Bytes;
use hyper::header::{ACCEPT, HOST, LOCATION, USER_AGENT};
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use protocol::{CheckKind, Finding, Severity};
use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use url::{Host, Url};

/// How many links at once, how long each may take, and whether private addresses may be
/// checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeadConfig {
    /// Links checked at the same time; at least one.
    pub concurrency: usize,
    /// For each link: resolving, connecting, TLS and the answer's headers.
    pub timeout: Duration,
    /// Check links that point at loopback, private, link-local and other non-public addresses.
    /// `false` in the product; tests against a local server turn it on.
    pub allow_private: bool,
}

impl Default for HeadConfig {
    fn default() -> Self {
        HeadConfig {
            // Enough to finish a newsletter's links quickly without looking like a flood to
            // one site, since a message's links are often all on one host.
            concurrency: 5,
            timeout: Duration::from_secs(10),
            allow_private: false,
        }
    }
}

/// Sends a HEAD request to each `http:` and `https:` URL, at most `config.concurrency` at once,
/// and returns a finding for each that does not answer 2xx, in the order of `urls`. Other
/// schemes, unparsable URLs and repeats are skipped: the `links` check reports those.
pub async fn check_links(urls: &[String], config: &HeadConfig) -> Vec<Finding> {
    let mut unique: Vec<Url> = Vec::new();
    for url in urls {
        let Ok(url) = Url::parse(url) else { continue };
        if matches!(url.scheme(), "http" | "https") && !unique.contains(&url) {
            unique.push(url);
        }
    }
    let limit = Arc::new(Semaphore::new(config.concurrency.max(1)));
    let mut tasks = JoinSet::new();
    for (index, url) in unique.into_iter().enumerate() {
        // The permit is taken before the task exists and held until its connection is closed,
        // so no more than `concurrency` connections are ever open.
        let Ok(permit) = limit.clone().acquire_owned().await else {
            break;
        };
        let config = config.clone();
        tasks.spawn(async move {
            let finding = check_one(&url, &config).await;
            drop(permit);
            (index, finding)
        });
    }
    let mut results: Vec<(usize, Finding)> = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        // A task only fails by panicking, which check_one does not do on any input.
        if let Ok((index, Some(finding))) = joined {
            results.push((index, finding));
        }
    }
    results.sort_by_key(|(index, _)| *index);
    results.into_iter().map(|(_, finding)| finding).collect()
}

/// What happened to one link, before it is put into words.
enum Outcome {
    Answered {
        status: StatusCode,
        location: Option<String>,
    },
    Private {
        ip: IpAddr,
        kind: &'static str,
    },
    NoName(String),
    Unreachable(String),
    Tls(String),
    /// The server answered something that is not HTTP, or the request could not be made.
    Http(String),
    /// HEAD is refused and GET could not be asked on the same connection.
    HeadRefused(StatusCode),
}

async fn check_one(url: &Url, config: &HeadConfig) -> Option<Finding> {
    let host = url.host_str().unwrap_or_default().to_owned();
    let outcome = match tokio::time::timeout(config.timeout, probe(url, config.allow_private)).await
    {
        Ok(outcome) => outcome,
        Err(_elapsed) => {
            return Some(finding(
                url,
                Severity::Warning,
                "link-timeout",
                format!(
                    "{host} did not answer within {} s",
                    config.timeout.as_secs_f64()
                ),
                "a recipient who clicks it waits, and may give up",
                "check that the site is up by opening the link in a browser",
            ));
        }
    };
    Some(match outcome {
        Outcome::Answered { status, .. } if status.is_success() => return None,
        Outcome::Answered { status, location } if status.is_redirection() => {
            let found = match location {
                // A relative Location is resolved the way a browser would, so the user sees
                // where the recipient lands.
                Some(location) => {
                    let target = url.join(&location).map(String::from).unwrap_or(location);
                    format!("link answers {} and sends to {target}", status.as_u16())
                }
                None => format!("link answers {} without saying where to", status.as_u16()),
            };
            finding(
                url,
                Severity::Advice,
                "link-redirect",
                found,
                "the recipient's browser takes a detour, and a link that lands somewhere other \
                 than it says is what phishing links do",
                "link to the final address, unless the redirect is a tracking service you mean \
                 to use",
            )
        }
        Outcome::Answered { status, .. } => finding(
            url,
            Severity::Warning,
            "link-broken",
            format!("link answers {status}"),
            "a recipient who clicks it gets an error page instead of what you meant to show",
            "correct the address or remove the link; some sites refuse automated checks (403, \
             429), so open it in a browser to confirm",
        ),
        Outcome::Private { ip, kind } => finding(
            url,
            Severity::Advice,
            "link-not-checked",
            format!("not checked: it points at a private address ({ip}, {kind})"),
            "recipients cannot reach a private address, and the check does not probe this \
             machine's own network",
            "link to a public address; a private one works only inside your own network",
        ),
        Outcome::NoName(detail) => finding(
            url,
            Severity::Warning,
            "link-dns",
            format!("the name {host} does not resolve ({detail})"),
            "nobody can open a link whose name does not resolve",
            "check the domain's spelling, and that its DNS records exist",
        ),
        Outcome::Unreachable(detail) => finding(
            url,
            Severity::Warning,
            "link-unreachable",
            format!("cannot connect to {host} ({detail})"),
            "a recipient who clicks it gets a connection error",
            "check that the site is up by opening the link in a browser",
        ),
        Outcome::Tls(detail) => finding(
            url,
            Severity::Warning,
            "link-tls",
            format!("{host}'s certificate or TLS is not accepted ({detail})"),
            "browsers show a security warning instead of the page",
            "renew or fix the site's certificate, or link to the name the certificate is for",
        ),
        Outcome::Http(detail) => finding(
            url,
            Severity::Warning,
            "link-unreachable",
            format!("{host} did not answer like a web server ({detail})"),
            "a recipient who clicks it gets an error instead of a page",
            "check the link's address and port by opening it in a browser",
        ),
        Outcome::HeadRefused(status) => finding(
            url,
            Severity::Advice,
            "link-not-checked",
            format!("not checked: the site refuses HEAD requests ({status})"),
            "the check asks for headers only, and this site does not say whether the page exists",
            "open the link in a browser to confirm it works",
        ),
    })
}

fn finding(
    url: &Url,
    severity: Severity,
    code: &str,
    found: String,
    why: &str,
    fix: &str,
) -> Finding {
    Finding {
        check: CheckKind::Links,
        severity,
        code: code.into(),
        found,
        location: format!("link {url}"),
        why: why.into(),
        fix: fix.into(),
    }
}

/// Resolves, refuses private addresses, connects to a resolved address and asks.
async fn probe(url: &Url, allow_private: bool) -> Outcome {
    let Some(host) = url.host() else {
        return Outcome::Http("the URL has no host".into());
    };
    let Some(port) = url.port_or_known_default() else {
        return Outcome::Http("the URL has no port".into());
    };
    let addresses: Vec<SocketAddr> = match host {
        Host::Ipv4(ip) => vec![SocketAddr::new(ip.into(), port)],
        Host::Ipv6(ip) => vec![SocketAddr::new(ip.into(), port)],
        Host::Domain(name) => match tokio::net::lookup_host((name, port)).await {
            Ok(found) => found.collect(),
            Err(error) => return Outcome::NoName(error.to_string()),
        },
    };
    let mut allowed = Vec::new();
    let mut refused = None;
    for address in addresses {
        match private_kind(address.ip()) {
            Some(kind) if !allow_private => refused = refused.or(Some((address.ip(), kind))),
            _ => allowed.push(address),
        }
    }
    if allowed.is_empty() {
        return match refused {
            Some((ip, kind)) => Outcome::Private { ip, kind },
            None => Outcome::NoName("it has no addresses".into()),
        };
    }

    let mut last_error = None;
    let mut stream = None;
    for address in &allowed {
        match TcpStream::connect(address).await {
            Ok(connected) => {
                stream = Some(connected);
                break;
            }
            Err(error) if error.kind() == std::io::ErrorKind::ConnectionRefused => {
                last_error = Some(format!("{address} refuses connections"));
            }
            Err(error) => last_error = Some(format!("{address}: {error}")),
        }
    }
    let Some(stream) = stream else {
        return Outcome::Unreachable(last_error.unwrap_or_default());
    };

    // The Host header names the URL's host, with its port unless it is the scheme's default.
    let authority = match url.port() {
        Some(port) => format!("{}:{port}", url.host_str().unwrap_or_default()),
        None => url.host_str().unwrap_or_default().to_owned(),
    };
    if url.scheme() == "https" {
        let config = match tls_config() {
            Ok(config) => config.clone(),
            Err(error) => return Outcome::Tls(error.clone()),
        };
        let name = match host {
            Host::Domain(name) => match ServerName::try_from(name.to_owned()) {
                Ok(name) => name,
                Err(error) => return Outcome::Tls(error.to_string()),
            },
            Host::Ipv4(ip) => ServerName::IpAddress(IpAddr::V4(ip).into()),
            Host::Ipv6(ip) => ServerName::IpAddress(IpAddr::V6(ip).into()),
        };
        match tokio_rustls::TlsConnector::from(config)
            .connect(name, stream)
            .await
        {
            Ok(tls) => head(tls, url, &authority).await,
            Err(error) => Outcome::Tls(error.to_string()),
        }
    } else {
        head(stream, url, &authority).await
    }
}

/// HEAD over an open connection; GET on the same connection when HEAD itself is refused, since
/// a 405 or 501 says nothing about the page. Neither answer's body is read.
async fn head<S>(stream: S, url: &Url, authority: &str) -> Outcome
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, connection) = match hyper::client::conn::http1::handshake::<_, Empty<Bytes>>(
        TokioIo::new(stream),
    )
    .await
    {
        Ok(parts) => parts,
        Err(error) => return Outcome::Http(error.to_string()),
    };
    // The connection is driven here rather than in a spawned task, so it is closed when this
    // function returns and the link's permit is given back only after that.
    tokio::pin!(connection);
    let mut refused_head = None;
    for method in [Method::HEAD, Method::GET] {
        let request = match request(method, url, authority) {
            Ok(request) => request,
            Err(detail) => return Outcome::Http(detail),
        };
        let answer = async {
            sender.ready().await?;
            sender.send_request(request).await
        };
        let response = tokio::select! {
            biased;
            response = answer => response.map_err(|error| error.to_string()),
            ended = &mut connection => Err(match ended {
                Ok(()) => "it closed the connection without answering".to_owned(),
                Err(error) => error.to_string(),
            }),
        };
        let response = match (response, refused_head) {
            (Ok(response), _) => response,
            // The GET after a refused HEAD failed: the server has said no more than the 405.
            (Err(_), Some(status)) => return Outcome::HeadRefused(status),
            (Err(detail), None) => return Outcome::Http(detail),
        };
        let status = response.status();
        if refused_head.is_none()
            && matches!(
                status,
                StatusCode::METHOD_NOT_ALLOWED | StatusCode::NOT_IMPLEMENTED
            )
        {
            refused_head = Some(status);
            continue;
        }
        let location = response
            .headers()
            .get(LOCATION)
            .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned());
        return Outcome::Answered { status, location };
    }
    Outcome::HeadRefused(refused_head.unwrap_or(StatusCode::METHOD_NOT_ALLOWED))
}

fn request(method: Method, url: &Url, authority: &str) -> Result<Request<Empty<Bytes>>, String> {
    // The origin form: path and query, never the fragment (a browser does not send it either).
    let target = match url.query() {
        Some(query) => format!("{}?{query}", url.path()),
        None => url.path().to_owned(),
    };
    Request::builder()
        .method(method)
        .uri(target)
        .header(HOST, authority)
        // Some servers refuse requests without one; this one says what is asking.
        .header(
            USER_AGENT,
            concat!("mailbridge-link-check/", env!("CARGO_PKG_VERSION")),
        )
        .header(ACCEPT, "*/*")
        .body(Empty::new())
        .map_err(|error| format!("the URL cannot be sent as a request: {error}"))
}

/// rustls with the system's roots and Mozilla's (webpki-roots), built once: a link checker
/// should accept what a recipient's browser would, and a bare container has no system roots.
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
            .map_err(|error| error.to_string())?
            .with_root_certificates(roots)
            .with_no_client_auth();
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Arc::new(config))
    })
}

/// What kind of non-public address `ip` is, or `None` for a public one.
fn private_kind(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(ip) => v4_kind(ip),
        IpAddr::V6(ip) => v6_kind(ip),
    }
}

fn v4_kind(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, c, _] = ip.octets();
    if a == 0 {
        Some("unspecified")
    } else if ip.is_loopback() {
        Some("loopback")
    } else if ip.is_private() {
        Some("private")
    } else if a == 100 && (64..128).contains(&b) {
        Some("shared, carrier-grade NAT")
    } else if ip.is_link_local() {
        Some("link-local")
    } else if ip.is_multicast() {
        Some("multicast")
    } else if ip.is_documentation() || (a == 198 && (b == 18 || b == 19)) {
        Some("documentation or benchmarking")
    } else if a >= 240 || (a == 192 && b == 0 && c == 0) || (a == 192 && b == 88 && c == 99) {
        Some("reserved")
    } else {
        None
    }
}

fn v6_kind(ip: Ipv6Addr) -> Option<&'static str> {
    // Addresses that carry an IPv4 address reach it, so they are what it is.
    if let Some(v4) = ip.to_ipv4_mapped() {
        return v4_kind(v4);
    }
    let s = ip.segments();
    if ip.is_unspecified() {
        Some("unspecified")
    } else if ip.is_loopback() {
        Some("loopback")
    } else if s[0] == 0x64 && s[1] == 0xff9b && s[2..6] == [0, 0, 0, 0] {
        // NAT64's well-known prefix: the last 32 bits are the IPv4 address.
        v4_kind(Ipv4Addr::from(u32::from(s[6]) << 16 | u32::from(s[7])))
    } else if s[0] == 0x2002 {
        // 6to4: the IPv4 address follows the prefix.
        v4_kind(Ipv4Addr::from(u32::from(s[1]) << 16 | u32::from(s[2])))
    } else if (s[0] & 0xfe00) == 0xfc00 {
        Some("unique-local")
    } else if (s[0] & 0xffc0) == 0xfe80 {
        Some("link-local")
    } else if (s[0] & 0xff00) == 0xff00 {
        Some("multicast")
    } else if (s[0] == 0x2001 && s[1] == 0x0db8) || (s[0] == 0x3fff && s[1] < 0x1000) {
        Some("documentation")
    } else if (s[0] & 0xe000) != 0x2000 || (s[0] == 0x2001 && s[1] < 0x0200) {
        // Outside global unicast (2000::/3), or in the IETF's protocol block (2001::/23).
        Some("reserved")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_public_addresses_count_as_public() {
        let cases: &[(&str, Option<&str>)] = &[
            ("8.8.8.8", None),
            ("142.250.185.78", None),
            ("2a00:1450:4001:82b::200e", None),
            ("127.0.0.1", Some("loopback")),
            ("127.8.9.10", Some("loopback")),
            ("0.0.0.0", Some("unspecified")),
            ("10.1.2.3", Some("private")),
            ("172.16.0.1", Some("private")),
            ("172.31.255.255", Some("private")),
            ("172.32.0.1", None),
            ("192.168.1.1", Some("private")),
            ("100.64.0.1", Some("shared, carrier-grade NAT")),
            ("100.127.255.255", Some("shared, carrier-grade NAT")),
            ("100.128.0.1", None),
            ("169.254.169.254", Some("link-local")),
            ("224.0.0.251", Some("multicast")),
            ("192.0.2.1", Some("documentation or benchmarking")),
            ("198.18.0.1", Some("documentation or benchmarking")),
            ("240.0.0.1", Some("reserved")),
            ("255.255.255.255", Some("reserved")),
            ("::", Some("unspecified")),
            ("::1", Some("loopback")),
            ("::ffff:127.0.0.1", Some("loopback")),
            ("::ffff:8.8.8.8", None),
            ("64:ff9b::a00:1", Some("private")),
            ("64:ff9b::808:808", None),
            ("2002:c0a8:101::1", Some("private")),
            ("fd12:3456::1", Some("unique-local")),
            ("fe80::1", Some("link-local")),
            ("ff02::1", Some("multicast")),
            ("2001:db8::1", Some("documentation")),
            ("2001::1", Some("reserved")),
            ("100::1", Some("reserved")),
        ];
        for (ip, expected) in cases {
            let parsed: IpAddr = match ip.parse() {
                Ok(parsed) => parsed,
                Err(error) => panic!("{ip}: {error}"),
            };
            assert_eq!(private_kind(parsed), *expected, "{ip}");
        }
    }
}
