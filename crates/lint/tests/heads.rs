//! The HEAD check against a local hyper server that answers 200, 404, 500, redirects, refuses
//! HEAD or stalls, and counts what reaches it.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use http_body_util::Empty;
use hyper::body::{Bytes, Incoming};
use hyper::header::LOCATION;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use lint::heads::{self, HeadConfig};
use lint::{CheckKind, Finding, Severity};
use tokio::net::TcpListener;

/// What reached the server.
#[derive(Default)]
struct Seen {
    connections: AtomicUsize,
    in_flight: AtomicUsize,
    most_in_flight: AtomicUsize,
    /// Method and path of each request, in arrival order.
    requests: Mutex<Vec<(Method, String)>>,
}

impl Seen {
    fn requests(&self) -> Vec<(Method, String)> {
        self.requests.lock().map(|r| r.clone()).unwrap_or_default()
    }
}

struct Server {
    addr: SocketAddr,
    seen: Arc<Seen>,
}

impl Server {
    async fn start() -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let seen = Arc::new(Seen::default());
        let counting = seen.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                counting.connections.fetch_add(1, Ordering::SeqCst);
                let seen = counting.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |request| answer(request, seen.clone()));
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Server { addr, seen }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

async fn answer(
    request: Request<Incoming>,
    seen: Arc<Seen>,
) -> Result<Response<Empty<Bytes>>, Infallible> {
    let path = request.uri().path().to_owned();
    if let Ok(mut requests) = seen.requests.lock() {
        requests.push((request.method().clone(), path.clone()));
    }
    let now = seen.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
    seen.most_in_flight.fetch_max(now, Ordering::SeqCst);
    let mut response = Response::new(Empty::new());
    let (status, location) = match path.as_str() {
        "/ok" => (StatusCode::OK, None),
        "/missing" => (StatusCode::NOT_FOUND, None),
        "/broken" => (StatusCode::INTERNAL_SERVER_ERROR, None),
        "/moved" => (StatusCode::MOVED_PERMANENTLY, Some("/ok")),
        "/elsewhere" => (StatusCode::FOUND, Some("https://example.net/landing")),
        "/no-head" if request.method() == Method::HEAD => (StatusCode::METHOD_NOT_ALLOWED, None),
        "/no-head" => (StatusCode::OK, None),
        "/slow" => {
            tokio::time::sleep(Duration::from_millis(150)).await;
            (StatusCode::OK, None)
        }
        "/stall" => {
            tokio::time::sleep(Duration::from_secs(60)).await;
            (StatusCode::OK, None)
        }
        _ => (StatusCode::NOT_FOUND, None),
    };
    *response.status_mut() = status;
    if let Some(location) = location {
        response
            .headers_mut()
            .insert(LOCATION, hyper::header::HeaderValue::from_static(location));
    }
    seen.in_flight.fetch_sub(1, Ordering::SeqCst);
    Ok(response)
}

fn config(allow_private: bool) -> HeadConfig {
    HeadConfig {
        allow_private,
        timeout: Duration::from_secs(5),
        ..HeadConfig::default()
    }
}

/// A finding's code, severity and what it found.
type Expected = (&'static str, Severity, String);

/// (code, severity, found) of each finding, and a check that they are all about links.
fn summary(findings: &[Finding]) -> Vec<(String, Severity, String)> {
    assert!(findings.iter().all(|f| f.check == CheckKind::Links));
    findings
        .iter()
        .map(|f| (f.code.clone(), f.severity, f.found.clone()))
        .collect()
}

#[tokio::test]
async fn answers_become_findings() {
    let server = Server::start().await;
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        format!("http://{}/", listener.local_addr().expect("addr"))
    };
    let base = server.url("");
    // Each URL and the finding it gives, if any.
    let cases: Vec<(String, Option<Expected>)> = vec![
        (server.url("/ok"), None),
        (
            server.url("/missing"),
            Some((
                "link-broken",
                Severity::Warning,
                "link answers 404 Not Found".into(),
            )),
        ),
        (
            server.url("/broken"),
            Some((
                "link-broken",
                Severity::Warning,
                "link answers 500 Internal Server Error".into(),
            )),
        ),
        (
            server.url("/moved"),
            Some((
                "link-redirect",
                Severity::Advice,
                format!("link answers 301 and sends to {base}/ok"),
            )),
        ),
        (
            server.url("/elsewhere"),
            Some((
                "link-redirect",
                Severity::Advice,
                "link answers 302 and sends to https://example.net/landing".into(),
            )),
        ),
        // HEAD refused, GET answered: the page is there.
        (server.url("/no-head"), None),
        // Checked once, however often it appears.
        (server.url("/ok"), None),
        // Not http(s): the links check covers these.
        ("mailto:someone@example.com".into(), None),
        ("ftp://example.com/file".into(), None),
        (
            closed.clone(),
            Some((
                "link-unreachable",
                Severity::Warning,
                format!(
                    "cannot connect to 127.0.0.1 ({} refuses connections)",
                    closed.trim_start_matches("http://").trim_end_matches('/')
                ),
            )),
        ),
    ];
    let urls: Vec<String> = cases.iter().map(|(url, _)| url.clone()).collect();
    let findings = heads::check_links(&urls, &config(true)).await;
    let expected: Vec<(String, Severity, String)> = cases
        .iter()
        .filter_map(|(_, finding)| finding.clone())
        .map(|(code, severity, found)| (code.to_owned(), severity, found))
        .collect();
    assert_eq!(summary(&findings), expected);
    let locations: Vec<&str> = findings.iter().map(|f| f.location.as_str()).collect();
    assert_eq!(
        locations,
        [
            format!("link {base}/missing"),
            format!("link {base}/broken"),
            format!("link {base}/moved"),
            format!("link {base}/elsewhere"),
            format!("link {closed}"),
        ]
    );

    let mut requests = server.seen.requests();
    requests.sort_by(|a, b| a.1.cmp(&b.1).then(a.0.as_str().cmp(b.0.as_str())));
    let head = |path: &str| (Method::HEAD, path.to_owned());
    assert_eq!(
        requests,
        [
            head("/broken"),
            head("/elsewhere"),
            head("/missing"),
            head("/moved"),
            (Method::GET, "/no-head".to_owned()),
            head("/no-head"),
            head("/ok"),
        ]
    );
}

#[tokio::test]
async fn private_addresses_are_not_contacted() {
    let server = Server::start().await;
    let port = server.addr.port();
    let urls = [
        format!("http://127.0.0.1:{port}/ok"),
        format!("http://localhost:{port}/missing"),
        format!("http://[::1]:{port}/ok"),
        format!("https://127.0.0.1:{port}/ok"),
        format!("http://[::ffff:127.0.0.1]:{port}/ok"),
    ];
    let findings = heads::check_links(&urls, &config(false)).await;
    assert_eq!(findings.len(), urls.len(), "{findings:#?}");
    for finding in &findings {
        assert_eq!(finding.code, "link-not-checked", "{finding:#?}");
        assert_eq!(finding.severity, Severity::Advice, "{finding:#?}");
        assert!(
            finding
                .found
                .starts_with("not checked: it points at a private address (")
                && finding.found.ends_with(", loopback)"),
            "{finding:#?}"
        );
    }
    // Give a connection that was wrongly made time to be accepted before counting.
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(server.seen.connections.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn a_stalled_link_costs_the_timeout_and_no_more() {
    let server = Server::start().await;
    let timeout = Duration::from_millis(300);
    let config = HeadConfig {
        timeout,
        ..config(true)
    };
    let urls = [server.url("/stall"), server.url("/ok")];
    let started = Instant::now();
    let findings = heads::check_links(&urls, &config).await;
    let elapsed = started.elapsed();
    assert_eq!(
        summary(&findings),
        [(
            "link-timeout".to_owned(),
            Severity::Warning,
            "127.0.0.1 did not answer within 0.3 s".to_owned()
        )]
    );
    assert!(
        elapsed >= timeout && elapsed < timeout + Duration::from_secs(1),
        "{elapsed:?}"
    );
}

#[tokio::test]
async fn no_more_than_concurrency_links_at_once() {
    let server = Server::start().await;
    let urls: Vec<String> = (0..12)
        .map(|n| server.url(&format!("/slow?n={n}")))
        .collect();
    let config = HeadConfig {
        concurrency: 3,
        ..config(true)
    };
    let started = Instant::now();
    let findings = heads::check_links(&urls, &config).await;
    assert_eq!(findings, []);
    assert_eq!(server.seen.requests().len(), 12);
    assert_eq!(server.seen.connections.load(Ordering::SeqCst), 12);
    // Three at a time: never more, and the limit is used (the links do not go one by one).
    assert_eq!(server.seen.most_in_flight.load(Ordering::SeqCst), 3);
    // Four rounds of 150 ms at least; well under twelve.
    let elapsed = started.elapsed();
    assert!(
        elapsed >= Duration::from_millis(600) && elapsed < Duration::from_millis(1500),
        "{elapsed:?}"
    );
}

#[tokio::test]
async fn a_certificate_no_one_trusts_is_reported() {
    let certified =
        rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).expect("certificate");
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(certified.signing_key.serialize_der().into());
    let tls = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("protocol versions")
    .with_no_client_auth()
    .with_single_cert(vec![certified.cert.der().clone()], key)
    .expect("server config");
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(tls));
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let handshakes = Arc::new(AtomicUsize::new(0));
    let counting = handshakes.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            counting.fetch_add(1, Ordering::SeqCst);
            // The client gives up during the handshake; nothing is served.
            let _ = acceptor.accept(stream).await;
        }
    });

    let urls = [format!("https://localhost:{port}/ok")];
    let findings = heads::check_links(&urls, &config(true)).await;
    assert_eq!(findings.len(), 1, "{findings:#?}");
    let finding = &findings[0];
    assert_eq!(
        (finding.code.as_str(), finding.severity),
        ("link-tls", Severity::Warning)
    );
    assert!(
        finding
            .found
            .starts_with("localhost's certificate or TLS is not accepted (")
            && finding.found.contains("UnknownIssuer"),
        "{finding:#?}"
    );
    assert_eq!(handshakes.load(Ordering::SeqCst), 1);
}
