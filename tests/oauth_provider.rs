//! The OAuth server the tests sign in to: `node tests/oauth/provider.mjs` (panva's
//! oidc-provider, installed into `.tools/oauth` by `cargo xtask test`), started on 127.0.0.1:0
//! with 3-second access tokens, and a small browser that follows its redirects through the
//! auto-approving consent. Shared by `bridge::oauth` (the bridge as the OAuth client) and
//! `sandbox::oauth` (the sandbox checking the tokens it issues).

use std::collections::BTreeMap;
use std::io::{BufRead as _, BufReader, Read as _};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use http_body_util::{BodyExt as _, Full};
use hyper::body::Bytes;
use hyper::header::{CONTENT_TYPE, COOKIE, LOCATION, SET_COOKIE};
use hyper::{Method, Request};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use mailbridge::oauth::{
    Connected, Consent, ConsentError, ConsentRequest, MAIL_SCOPE, OAuthClient,
};
use protocol::Secret;
use serde_json::Value;

use crate::support::PATIENCE;

/// `node tests/oauth/provider.mjs`, killed when dropped. Its events (one JSON line each on its
/// stdout) are collected as they come; its stderr is kept for failures.
pub struct Provider {
    child: Child,
    ready: Value,
    events: Arc<Mutex<Vec<Value>>>,
    stderr: Arc<Mutex<String>>,
    marks: std::sync::atomic::AtomicU32,
}

impl Provider {
    pub fn start() -> Provider {
        Provider::start_with(&[])
    }

    /// A server that also prints every token, code and PKCE verifier it sees (see
    /// [`Provider::secrets`]), for the redaction test.
    pub fn telling_secrets() -> Provider {
        Provider::start_with(&[("TELL_SECRETS", "1")])
    }

    /// Every secret the server issued or was sent, when it was started to tell them.
    pub fn secrets(&self) -> Vec<(String, String)> {
        self.events()
            .iter()
            .filter(|event| event["event"] == "secret")
            .map(|event| {
                let text = |name: &str| event[name].as_str().unwrap_or_default().to_owned();
                (text("kind"), text("value"))
            })
            .collect()
    }

    fn start_with(env: &[(&str, &str)]) -> Provider {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let modules = root.join(".tools/oauth/node_modules");
        assert!(
            modules.join("oidc-provider/package.json").is_file(),
            "oidc-provider is not installed in {}: run `cargo xtask test`, which installs it \
             (npm ci from tests/oauth/package-lock.json)",
            modules.display()
        );
        let script: PathBuf = root.join("tests/oauth/provider.mjs");
        let mut child = Command::new("node")
            .arg(&script)
            .env("MAILBRIDGE_OAUTH_MODULES", &modules)
            .env("ACCESS_TOKEN_TTL", "3")
            .envs(env.iter().copied())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|error| {
                panic!(
                    "cannot run node {}: {error}; `cargo xtask test` installs Node.js",
                    script.display()
                )
            });
        let stderr = Arc::new(Mutex::new(String::new()));
        if let Some(mut pipe) = child.stderr.take() {
            let stderr = Arc::clone(&stderr);
            std::thread::spawn(move || {
                let mut text = String::new();
                let _ = pipe.read_to_string(&mut text);
                stderr
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .push_str(&text);
            });
        }
        let events = Arc::new(Mutex::new(Vec::new()));
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        if let Some(pipe) = child.stdout.take() {
            let events = Arc::clone(&events);
            std::thread::spawn(move || {
                for line in BufReader::new(pipe).lines() {
                    let Ok(line) = line else { break };
                    // oidc-provider prints notices of its own; only JSON lines are ours.
                    let Ok(value) = serde_json::from_str::<Value>(&line) else {
                        continue;
                    };
                    if value["ready"] == Value::Bool(true) {
                        let _ = ready_tx.send(value);
                    } else {
                        events
                            .lock()
                            .unwrap_or_else(PoisonError::into_inner)
                            .push(value);
                    }
                }
            });
        }
        let ready = ready_rx.recv_timeout(PATIENCE);
        let mut provider = Provider {
            child,
            ready: Value::Null,
            events,
            stderr,
            marks: std::sync::atomic::AtomicU32::new(0),
        };
        match ready {
            Ok(ready) => provider.ready = ready,
            Err(_) => provider.fail("oidc-provider did not say it was ready"),
        }
        provider
    }

    pub fn endpoint(&self, name: &str) -> String {
        self.ready[name].as_str().unwrap_or_default().to_owned()
    }

    pub fn client_number(&self, index: usize) -> OAuthClient {
        let entry = &self.ready["clients"][index];
        let text = |name: &str| entry[name].as_str().unwrap_or_default().to_owned();
        OAuthClient {
            client_id: text("client_id"),
            client_secret: Secret::new(text("client_secret")),
            auth_uri: self.endpoint("authorization_endpoint"),
            token_uri: self.endpoint("token_endpoint"),
            revocation_uri: Some(self.endpoint("revocation_endpoint")),
            issuer: Some(self.endpoint("issuer")),
            scope: MAIL_SCOPE.to_owned(),
        }
    }

    pub fn client(&self) -> OAuthClient {
        self.client_number(0)
    }

    pub fn short_lived_client(&self) -> OAuthClient {
        self.client_number(1)
    }

    pub async fn consent(&self, client: &OAuthClient, user: &str) -> Consent {
        match Consent::start(client, &ConsentRequest::new(user)).await {
            Ok(consent) => consent,
            Err(error) => self.fail(&format!("starting consent: {error}")),
        }
    }

    /// A whole consent: the browser follows the redirects to the listener while the listener
    /// waits, then exchanges the code. Gives what the bridge got and what the browser showed.
    pub async fn connect(
        &self,
        client: &OAuthClient,
        user: &str,
    ) -> (Result<Connected, ConsentError>, Page) {
        let consent = self.consent(client, user).await;
        let (url, port) = (consent.url().to_owned(), consent.port());
        let done = tokio::time::timeout(PATIENCE, async {
            tokio::join!(consent.finish(client), self.consent_in_browser(&url, port))
        });
        match done.await {
            Ok(both) => both,
            Err(_) => self.fail("the consent did not finish"),
        }
    }

    /// The next `count` introspections answer `active: false`, as a mail server refusing a
    /// token it has its own reasons to refuse.
    pub async fn refuse_introspections(&self, count: u32) {
        let url = format!(
            "{}/test/refuse-introspection?count={count}",
            self.endpoint("issuer")
        );
        let page = Browser::new().get(&url).await;
        assert_eq!(page.status, 204, "the provider took the refusal count");
    }

    /// What a sandbox needs to check this server's tokens: client 0 introspects.
    pub fn introspection(&self) -> sandbox::Introspection {
        let client = self.client();
        sandbox::Introspection {
            url: self.endpoint("introspection_endpoint"),
            client_id: client.client_id,
            client_secret: client.client_secret.expose().to_owned(),
        }
    }

    /// A person consenting in a browser: follows the consent URL to the bridge's listener on
    /// `port` and opens the redirect there; gives the page the bridge answered with.
    pub async fn consent_in_browser(&self, url: &str, port: u16) -> Page {
        let mut browser = Browser::new();
        let callback = browser.follow_to_listener(self, url, port).await;
        browser.get(&callback).await
    }

    /// Whether the server still takes `token` (RFC 7662 introspection).
    pub async fn active(&self, token: &Secret) -> bool {
        let client = self.client();
        let form = format!(
            "token={}&client_id={}&client_secret={}",
            token.expose(),
            client.client_id,
            client.client_secret.expose()
        );
        let request = Request::builder()
            .method(Method::POST)
            .uri(self.endpoint("introspection_endpoint"))
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Full::new(Bytes::from(form)));
        let page = match request {
            Ok(request) => Browser::new().send(request).await,
            Err(error) => self.fail(&format!("introspection request: {error}")),
        };
        match serde_json::from_str::<Value>(&page.body) {
            Ok(answer) => answer["active"] == Value::Bool(true),
            Err(_) => self.fail(&format!(
                "introspection answered {}: {}",
                page.status, page.body
            )),
        }
    }

    /// Waits until every event the server printed so far has been read.
    pub async fn sync(&self) {
        let mark = self
            .marks
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            .to_string();
        let url = format!("{}/test/mark?name={mark}", self.endpoint("issuer"));
        let _ = Browser::new().get(&url).await;
        let deadline = Instant::now() + PATIENCE;
        while !self
            .events()
            .iter()
            .any(|event| event["event"] == "mark" && event["name"] == mark.as_str())
        {
            if Instant::now() > deadline {
                self.fail("the provider's mark did not come");
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    pub fn events(&self) -> Vec<Value> {
        self.events
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    pub fn count(&self, name: &str) -> usize {
        self.events()
            .iter()
            .filter(|event| event["event"] == name)
            .count()
    }

    /// Tokens issued for `grant_type`.
    pub fn grants(&self, grant_type: &str) -> usize {
        self.events()
            .iter()
            .filter(|event| event["event"] == "grant.success" && event["grant_type"] == grant_type)
            .count()
    }

    /// Token requests refused with `error`.
    pub fn errors(&self, error: &str) -> usize {
        self.events()
            .iter()
            .filter(|event| event["event"] == "grant.error" && event["error"] == error)
            .count()
    }

    pub fn fail(&self, what: &str) -> ! {
        panic!(
            "{what}\n--- oidc-provider events:\n{:#?}\n--- its stderr:\n{}",
            self.events(),
            self.stderr.lock().unwrap_or_else(PoisonError::into_inner)
        )
    }
}

impl Drop for Provider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What a browser got for one request.
#[derive(Debug)]
pub struct Page {
    pub status: u16,
    pub location: Option<String>,
    pub body: String,
}

/// Just enough browser: GETs with a cookie jar, one request at a time.
pub struct Browser {
    http: Client<HttpConnector, Full<Bytes>>,
    cookies: BTreeMap<String, String>,
}

impl Browser {
    pub fn new() -> Browser {
        Browser {
            http: Client::builder(TokioExecutor::new()).build_http(),
            cookies: BTreeMap::new(),
        }
    }

    pub async fn get(&mut self, url: &str) -> Page {
        let cookies = self
            .cookies
            .iter()
            .map(|(name, value)| format!("{name}={value}"))
            .collect::<Vec<_>>()
            .join("; ");
        let mut request = Request::builder().method(Method::GET).uri(url);
        if !cookies.is_empty() {
            request = request.header(COOKIE, cookies);
        }
        match request.body(Full::new(Bytes::new())) {
            Ok(request) => self.send(request).await,
            Err(error) => panic!("GET {url}: {error}"),
        }
    }

    pub async fn send(&mut self, request: Request<Full<Bytes>>) -> Page {
        let url = request.uri().to_string();
        let response = match tokio::time::timeout(PATIENCE, self.http.request(request)).await {
            Ok(Ok(response)) => response,
            Ok(Err(error)) => panic!("{url}: {error}"),
            Err(_) => panic!("{url}: no answer within {PATIENCE:?}"),
        };
        for value in response.headers().get_all(SET_COOKIE) {
            let text = String::from_utf8_lossy(value.as_bytes());
            let pair = text.split(';').next().unwrap_or_default();
            let Some((name, value)) = pair.split_once('=') else {
                continue;
            };
            let cleared = value.is_empty()
                || text
                    .to_ascii_lowercase()
                    .contains("expires=thu, 01 jan 1970");
            if cleared {
                self.cookies.remove(name.trim());
            } else {
                self.cookies
                    .insert(name.trim().to_owned(), value.to_owned());
            }
        }
        let status = response.status().as_u16();
        let location = response
            .headers()
            .get(LOCATION)
            .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned());
        let body = match response.into_body().collect().await {
            Ok(body) => String::from_utf8_lossy(&body.to_bytes()).into_owned(),
            Err(error) => panic!("{url}: reading the body: {error}"),
        };
        Page {
            status,
            location,
            body,
        }
    }

    /// Follows the server's redirects from `url` (login, consent, back) until one points at
    /// the loopback listener on `port`, and gives that address without opening it.
    pub async fn follow_to_listener(
        &mut self,
        provider: &Provider,
        url: &str,
        port: u16,
    ) -> String {
        let listener = format!("http://127.0.0.1:{port}/");
        let mut url = url.to_owned();
        for _ in 0..20 {
            let page = self.get(&url).await;
            let Some(location) = page.location.filter(|_| (300..400).contains(&page.status)) else {
                provider.fail(&format!(
                    "GET {url} gave {} with no redirect:\n{}",
                    page.status, page.body
                ));
            };
            url = if location.starts_with('/') {
                format!("{}{location}", origin(&url))
            } else {
                location
            };
            if url.starts_with(&listener) {
                return url;
            }
        }
        provider.fail(&format!("20 redirects without reaching {listener}"))
    }
}

fn origin(url: &str) -> &str {
    let after_scheme = url.find("://").map_or(0, |at| at + 3);
    let end = url[after_scheme..]
        .find('/')
        .map_or(url.len(), |at| after_scheme + at);
    &url[..end]
}
