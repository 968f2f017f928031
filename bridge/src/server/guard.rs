//! The checks that keep other web pages out of the bridge.
//!
//! Any page a person visits can try `new WebSocket("ws://127.0.0.1:PORT/ws")`, and DNS
//! rebinding can make an attacker's hostname resolve to 127.0.0.1. So the upgrade is refused
//! unless the `Host` is exactly our loopback address, the `Origin` is exactly one we serve, and
//! the URL has no query string; then the first message must carry the pairing token.

use std::collections::VecDeque;
use std::time::Duration;

use axum::http::{HeaderMap, header};
use subtle::ConstantTimeEq;
use tokio::time::Instant;

use super::extension::EXTENSION_ORIGIN;
use super::firefox::{Admission, FirefoxOrigin};

/// Why an upgrade was refused. The HTTP answer is the same 403 for all of them; the reason is
/// for the bridge's own log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    Host,
    Origin,
    QueryString,
}

/// The origins allowed to open the WebSocket: the bridge's own, the browser extension's
/// (`chrome-extension://` and its pinned ID), plus any given with `--allow-origin` for a
/// development server. Compared as exact strings: no patterns, no prefixes, and never "equal
/// to Host".
/// With a [`FirefoxOrigin`], also the one `moz-extension://` origin it learned (or, while its
/// window is open, a candidate).
#[derive(Debug, Clone)]
pub struct Origins {
    port: u16,
    extra: Vec<String>,
    firefox: Option<FirefoxOrigin>,
}

/// How an upgrade's Origin passed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Admitted {
    /// An origin the bridge knows.
    Known,
    /// A Firefox extension's origin that its hello may teach the bridge (see `firefox.rs`).
    FirefoxCandidate(String),
}

impl Origins {
    pub fn new(port: u16, extra: Vec<String>) -> Origins {
        Origins {
            port,
            extra,
            firefox: None,
        }
    }

    /// These origins and the Firefox origin `firefox` learns.
    pub fn with_firefox(self, firefox: FirefoxOrigin) -> Origins {
        Origins {
            firefox: Some(firefox),
            ..self
        }
    }

    fn admits(&self, origin: &str) -> Option<Admitted> {
        let known = own_authorities(self.port)
            .any(|authority| origin == format!("http://{authority}"))
            || origin == EXTENSION_ORIGIN
            || self.extra.iter().any(|allowed| allowed == origin);
        if known {
            return Some(Admitted::Known);
        }
        match self
            .firefox
            .as_ref()?
            .admits(origin, std::time::SystemTime::now())?
        {
            Admission::Learned => Some(Admitted::Known),
            Admission::Candidate(origin) => Some(Admitted::FirefoxCandidate(origin)),
        }
    }

    pub fn firefox(&self) -> Option<&FirefoxOrigin> {
        self.firefox.as_ref()
    }
}

/// `127.0.0.1:PORT`, `localhost:PORT` and `[::1]:PORT`: the only names the bridge answers to.
fn own_authorities(port: u16) -> impl Iterator<Item = String> {
    ["127.0.0.1", "localhost", "[::1]"]
        .into_iter()
        .map(move |host| format!("{host}:{port}"))
}

/// Checks an upgrade request before any WebSocket exists.
pub fn check_upgrade(
    headers: &HeaderMap,
    query: Option<&str>,
    origins: &Origins,
) -> Result<Admitted, Refusal> {
    let host = single(headers, header::HOST).ok_or(Refusal::Host)?;
    if !own_authorities(origins.port).any(|authority| authority == host) {
        return Err(Refusal::Host);
    }
    let origin = single(headers, header::ORIGIN).ok_or(Refusal::Origin)?;
    let admitted = origins.admits(origin).ok_or(Refusal::Origin)?;
    // A token in a URL ends up in logs and history; the token travels only in the first message.
    if query.is_some() {
        return Err(Refusal::QueryString);
    }
    Ok(admitted)
}

/// The header's value when it appears exactly once and is valid text; a duplicated header is
/// as bad as a missing one.
fn single(headers: &HeaderMap, name: header::HeaderName) -> Option<&str> {
    let mut values = headers.get_all(name).iter();
    let first = values.next()?;
    if values.next().is_some() {
        return None;
    }
    first.to_str().ok()
}

/// Compares a presented token with the real one in time that does not depend on where they
/// differ.
pub fn token_matches(presented: &str, expected: &str) -> bool {
    presented.as_bytes().ct_eq(expected.as_bytes()).into()
}

/// Rate limits for failed pairings: a guessing page gets 2 tries a minute and 12 an hour.
#[derive(Debug, Clone, Copy)]
pub struct PairingLimits {
    pub per_minute: usize,
    pub per_hour: usize,
}

impl Default for PairingLimits {
    fn default() -> PairingLimits {
        PairingLimits {
            per_minute: 2,
            per_hour: 12,
        }
    }
}

/// Remembers recent pairing failures. While locked, even the correct token is refused, so a
/// brute force cannot tell when it has succeeded.
#[derive(Debug)]
pub struct PairingGuard {
    limits: PairingLimits,
    failures: VecDeque<Instant>,
}

const MINUTE: Duration = Duration::from_secs(60);
const HOUR: Duration = Duration::from_secs(3600);

impl PairingGuard {
    pub fn new(limits: PairingLimits) -> PairingGuard {
        PairingGuard {
            limits,
            failures: VecDeque::new(),
        }
    }

    /// Whether a pairing attempt may be judged now.
    pub fn is_locked(&mut self, now: Instant) -> bool {
        while self
            .failures
            .front()
            .is_some_and(|&at| now.duration_since(at) >= HOUR)
        {
            self.failures.pop_front();
        }
        let last_minute = self
            .failures
            .iter()
            .filter(|&&at| now.duration_since(at) < MINUTE)
            .count();
        last_minute >= self.limits.per_minute || self.failures.len() >= self.limits.per_hour
    }

    pub fn record_failure(&mut self, now: Instant) {
        self.failures.push_back(now);
    }
}

#[cfg(test)]
mod tests {
    use axum::http::{HeaderMap, HeaderValue, header};
    use tokio::time::Instant;

    use super::*;

    const PORT: u16 = 4590;

    fn check(host: &[&str], origin: &[&str], query: Option<&str>) -> Result<(), Refusal> {
        check_with(
            host,
            origin,
            query,
            Origins::new(PORT, vec!["http://localhost:8080".into()]),
        )
        .map(drop)
    }

    fn check_with(
        host: &[&str],
        origin: &[&str],
        query: Option<&str>,
        origins: Origins,
    ) -> Result<Admitted, Refusal> {
        let mut headers = HeaderMap::new();
        for value in host {
            headers.append(header::HOST, HeaderValue::from_str(value).expect("header"));
        }
        for value in origin {
            headers.append(
                header::ORIGIN,
                HeaderValue::from_str(value).expect("header"),
            );
        }
        check_upgrade(&headers, query, &origins)
    }

    #[test]
    fn a_firefox_origin_passes_as_a_candidate_in_the_window_then_alone() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let firefox = FirefoxOrigin::in_data_dir(dir.path());
        let origins = Origins::new(PORT, Vec::new()).with_firefox(firefox.clone());
        let mine = "moz-extension://6a1e0f55-2a9b-4f44-9e1d-0123456789ab";
        let host = ["127.0.0.1:4590"];
        assert_eq!(
            check_with(&host, &[mine], None, origins.clone()),
            Err(Refusal::Origin)
        );
        firefox
            .open_window(std::time::SystemTime::now())
            .expect("opened");
        assert_eq!(
            check_with(&host, &[mine], None, origins.clone()),
            Ok(Admitted::FirefoxCandidate(mine.to_owned()))
        );
        assert!(
            firefox
                .learn(mine, std::time::SystemTime::now())
                .expect("learned")
        );
        assert_eq!(
            check_with(&host, &[mine], None, origins.clone()),
            Ok(Admitted::Known)
        );
        assert_eq!(
            check_with(
                &host,
                &["moz-extension://0b7f9c1e-1111-4c2d-8e3f-abcdefabcdef"],
                None,
                origins
            ),
            Err(Refusal::Origin)
        );
    }

    #[test]
    fn own_hosts_and_origins_pass() {
        for host in ["127.0.0.1:4590", "localhost:4590", "[::1]:4590"] {
            for origin in [
                "http://127.0.0.1:4590",
                "http://localhost:4590",
                "http://[::1]:4590",
                "http://localhost:8080",
                "chrome-extension://dcnbdhobhaikmppcebpmkkpgklnednhn",
            ] {
                assert_eq!(check(&[host], &[origin], None), Ok(()), "{host} {origin}");
            }
        }
    }

    #[test]
    fn foreign_origins_are_refused() {
        let origins = [
            "http://localhost:4590.evil.test",
            "http://localhost:4591",
            "https://localhost:4590",
            "HTTP://LOCALHOST:4590",
            "http://localhost:4590/",
            "null",
            "",
            "http://evil.test",
            "http://127.0.0.1",
            // Another extension, the right one's ID under another scheme or with a path.
            "chrome-extension://phddfdpibifcmjniieehnclcogcodncm",
            "moz-extension://dcnbdhobhaikmppcebpmkkpgklnednhn",
            "chrome-extension://dcnbdhobhaikmppcebpmkkpgklnednhn/",
            "chrome-extension://DCNBDHOBHAIKMPPCEBPMKKPGKLNEDNHN",
        ];
        for origin in origins {
            assert_eq!(
                check(&["127.0.0.1:4590"], &[origin], None),
                Err(Refusal::Origin),
                "{origin:?}"
            );
        }
        assert_eq!(check(&["127.0.0.1:4590"], &[], None), Err(Refusal::Origin));
        assert_eq!(
            check(
                &["127.0.0.1:4590"],
                &["http://127.0.0.1:4590", "http://127.0.0.1:4590"],
                None
            ),
            Err(Refusal::Origin),
            "a duplicated Origin is refused"
        );
    }

    #[test]
    fn foreign_hosts_are_refused() {
        for host in [
            "evil.test:4590",
            "127.0.0.1:4591",
            "0.0.0.0:4590",
            "localhost.:4590",
            "localhost",
            "127.0.0.1",
            "",
        ] {
            assert_eq!(
                check(&[host], &["http://127.0.0.1:4590"], None),
                Err(Refusal::Host),
                "{host:?}"
            );
        }
        assert_eq!(
            check(&[], &["http://127.0.0.1:4590"], None),
            Err(Refusal::Host)
        );
    }

    #[test]
    fn a_query_string_is_refused() {
        assert_eq!(
            check(
                &["127.0.0.1:4590"],
                &["http://127.0.0.1:4590"],
                Some("token=abc")
            ),
            Err(Refusal::QueryString)
        );
    }

    #[test]
    fn tokens_must_match_exactly() {
        let token = "q6fX3yR5uW8zB1nM4kP7sT0vC2eG9hJ5aL8dF1iO3rY";
        assert!(token_matches(token, token));
        for wrong in ["", &token[..42], &token[..10], "x", &format!("{token}x")] {
            assert!(!token_matches(wrong, token), "{wrong:?}");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn failures_lock_pairing_for_a_minute_then_an_hour() {
        let mut guard = PairingGuard::new(PairingLimits::default());
        let start = Instant::now();
        assert!(!guard.is_locked(start));
        guard.record_failure(start);
        assert!(!guard.is_locked(start), "one failure is allowed a retry");
        guard.record_failure(start);
        assert!(guard.is_locked(start), "two failures in a minute lock");
        tokio::time::advance(MINUTE).await;
        assert!(!guard.is_locked(Instant::now()), "the minute lock lifts");

        // Twelve failures spread over the hour lock until the oldest is an hour old.
        for _ in 0..10 {
            guard.record_failure(Instant::now());
            tokio::time::advance(MINUTE).await;
        }
        assert!(guard.is_locked(Instant::now()), "twelve in an hour lock");
        tokio::time::advance(HOUR - MINUTE * 10).await;
        assert!(!guard.is_locked(Instant::now()), "the hour lock lifts");
    }
}
