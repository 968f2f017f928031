//! The SPAMC client against a real `spamd` (Debian's, which `cargo xtask test` installs) and
//! against fake servers that answer junk, stall or never stop talking.

#[path = "support/spamd.rs"]
mod spamd_server;

use std::future::Future;
use std::time::{Duration, Instant};

use lint::spamc::{self, MAX_REPLY_BYTES, SpamcError, SpamdConfig};
use lint::{CheckKind, Severity};
use spamd_server::{Spamd, unused_addr};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

fn spamd_config(spamd: &Spamd) -> SpamdConfig {
    SpamdConfig {
        addr: spamd.addr.clone(),
        ..SpamdConfig::default()
    }
}

/// Mail as it goes on the wire: CRLF line ends.
fn crlf(message: &str) -> Vec<u8> {
    message.replace('\n', "\r\n").into_bytes()
}

const GTUBE: &str = "From: Sender <sender@example.com>
To: Rcpt <rcpt@example.org>
Subject: Test spam mail (GTUBE)
Date: Mon, 1 Dec 2025 10:00:00 +0000
Message-ID: <gtube@example.com>

This is the GTUBE, the Generic Test for Unsolicited Bulk Email

XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X
";

const CLEAN: &str = "From: Ada Lovelace <ada@example.com>
To: Charles Babbage <charles@example.org>
Subject: Notes on the Analytical Engine
Date: Mon, 1 Dec 2025 10:00:00 +0000
Message-ID: <notes-1@example.com>
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8

Dear Charles,

I have finished the notes on the engine and will bring them on Thursday.
The table for the Bernoulli numbers is in the last section.

Kind regards,
Ada
";

const SHOUTING_HTML: &str = r#"From: "BEST DEALS" <deals@example.com>
To: rcpt@example.org
Subject: FREE!!! CLICK HERE NOW!!! YOU HAVE WON $1,000,000
Date: Mon, 1 Dec 2025 10:00:00 +0000
Message-ID: <spam1@example.com>
MIME-Version: 1.0
Content-Type: text/html; charset=us-ascii

<html><body><font size="7" color="red"><b>FREE!!! CLICK HERE NOW!!!</b></font>
<p><font size=6>YOU HAVE BEEN SELECTED AS A WINNER. ACT NOW! LIMITED TIME OFFER!!! 100% FREE, NO OBLIGATION, RISK FREE.</font></p>
<p><a href="http://example.com/claim">CLICK HERE TO CLAIM YOUR PRIZE</a></p>
<p>Buy cheap viagra, lose weight fast, make money fast, work from home. Dear friend, this is not spam. To be removed from our mailing list click here.</p>
</body></html>
"#;

/// base64 in 100-character lines, and no Date or Message-ID: BASE64_LENGTH_79_INF's
/// description is long enough for SpamAssassin to wrap it.
const LONG_BASE64: &str = "From: a@example.com
To: b@example.org
Subject: hello
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: base64

SGVsbG8gdGhlcmUsIHRoaXMgaXMgYSBwbGFpbiBtZXNzYWdlIHRoYXQgaXMgbG9uZyBlbm91Z2ggdG8gbWFrZSBsb25nIGJhc2U2
NCBsaW5lcy4gSGVsbG8gdGhlcmUsIHRoaXMgaXMgYSBwbGFpbiBtZXNzYWdlIHRoYXQgaXMgbG9uZyBlbm91Z2ggdG8gbWFrZSBs
b25nIGJhc2U2NCBsaW5lcy4gSGVsbG8gdGhlcmUsIHRoaXMgaXMgYSBwbGFpbiBtZXNzYWdlIHRoYXQgaXMgbG9uZyBlbm91Z2gg
dG8gbWFrZSBsb25nIGJhc2U2NCBsaW5lcy4g
";

struct Case {
    name: &'static str,
    message: &'static str,
    /// The lowest and highest score spamd may give.
    score: (f64, f64),
    /// Rules that must fire, with text their description contains.
    rules: &'static [(&'static str, &'static str)],
    /// Locations of the findings that must be made, and text each one's fix contains.
    findings: &'static [(&'static str, &'static str)],
}

const CASES: &[Case] = &[
    Case {
        name: "GTUBE",
        message: GTUBE,
        score: (1000.0, f64::INFINITY),
        rules: &[("GTUBE", "BODY: Generic Test for Unsolicited Bulk Email")],
        findings: &[
            ("the whole message", "most points first"),
            ("rule GTUBE", "remove the GTUBE test string"),
        ],
    },
    Case {
        name: "a plain note",
        message: CLEAN,
        score: (f64::NEG_INFINITY, 4.9),
        rules: &[],
        findings: &[],
    },
    Case {
        name: "shouting HTML only",
        message: SHOUTING_HTML,
        score: (5.0, 100.0),
        rules: &[
            (
                "MIME_HTML_ONLY",
                "BODY: Message only has text/html MIME parts",
            ),
            ("SUBJ_ALL_CAPS", "Subject is all capitals"),
        ],
        findings: &[
            ("the whole message", "most points first"),
            ("rule MIME_HTML_ONLY", "add a text/plain part"),
            ("rule SUBJ_ALL_CAPS", "sentence case"),
        ],
    },
    Case {
        name: "long base64 lines",
        message: LONG_BASE64,
        score: (0.0, 100.0),
        rules: &[
            (
                "BASE64_LENGTH_79_INF",
                "BODY: base64 encoded email part uses line length greater than 79 characters",
            ),
            ("MISSING_DATE", "Missing Date: header"),
        ],
        findings: &[
            ("rule BASE64_LENGTH_79_INF", "quoted-printable"),
            ("rule MISSING_DATE", "add a Date header"),
        ],
    },
];

#[tokio::test]
async fn real_spamd_scores_and_explains() {
    let (spamd, startup) = Spamd::start().await;
    eprintln!("spamd answered PING {startup:?} after it was started");
    for case in CASES {
        let started = Instant::now();
        let report = match spamc::check(&spamd_config(&spamd), &crlf(case.message)).await {
            Ok(report) => report,
            Err(error) => panic!("{}: {error}\nspamd's log:\n{}", case.name, spamd.log()),
        };
        eprintln!("{}: checked in {:?}", case.name, started.elapsed());
        let context = format!("{}: {report:#?}", case.name);
        let (low, high) = case.score;
        assert!(
            (low..=high).contains(&report.score),
            "score out of {low}..{high}: {context}"
        );
        assert_eq!(report.threshold, 5.0, "{context}");
        assert_eq!(report.is_spam, report.score >= 5.0, "{context}");
        assert_eq!(report.server, spamd.addr, "{context}");
        for (name, description) in case.rules {
            let rule = report.rules.iter().find(|rule| rule.name == *name);
            let rule = rule.unwrap_or_else(|| panic!("{name} did not fire: {context}"));
            assert!(rule.points > 0.0, "{name} scores nothing: {context}");
            assert_eq!(rule.description, *description, "{context}");
        }
        let findings = spamc::findings(&report);
        assert!(findings.iter().all(|f| f.check == CheckKind::Spam));
        // A score finding exactly when spamd calls it spam, saying the score.
        let score = findings.iter().find(|f| f.code == "spam-score");
        assert_eq!(score.is_some(), report.is_spam, "{findings:#?}");
        if let Some(score) = score {
            assert_eq!(score.severity, Severity::Warning, "{score:#?}");
            let says = format!(
                "SpamAssassin scores this {:.1} (threshold 5.0)",
                report.score
            );
            assert!(score.found.starts_with(&says), "{score:#?}");
        }
        for (location, fix) in case.findings {
            let finding = findings.iter().find(|f| f.location == *location);
            let finding =
                finding.unwrap_or_else(|| panic!("no finding at {location}: {findings:#?}"));
            assert!(finding.fix.contains(fix), "{location}: {finding:#?}");
        }
        if case.findings.is_empty() {
            assert_eq!(findings, [], "{context}");
        }
    }
}

#[tokio::test]
async fn no_spamd_says_where_it_looked_and_how_to_start_it() {
    let addr = unused_addr();
    let config = SpamdConfig {
        addr: addr.clone(),
        ..SpamdConfig::default()
    };
    let error = spamc::check(&config, &crlf(CLEAN)).await;
    assert_eq!(error, Err(SpamcError::NotListening { addr: addr.clone() }));
    let message = error.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(
        message.contains(&format!("no spamd answers at {addr}")),
        "{message}"
    );
    assert!(
        message.contains(&format!("spamd -L --listen={addr}")),
        "{message}"
    );
}

/// A one-connection server that reads the request and then does `then` with the connection.
async fn fake<F, Fut>(then: F) -> (String, tokio::task::JoinHandle<usize>)
where
    F: FnOnce(TcpStream) -> Fut + Send + 'static,
    Fut: Future<Output = usize> + Send,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr").to_string();
    let server = tokio::spawn(async move {
        let Ok((mut stream, _)) = listener.accept().await else {
            return 0;
        };
        let mut request = [0u8; 4096];
        let _ = stream.read(&mut request).await;
        then(stream).await
    });
    (addr, server)
}

fn config(addr: &str, timeout: Duration) -> SpamdConfig {
    SpamdConfig {
        addr: addr.to_owned(),
        timeout,
        max_bytes: spamc::DEFAULT_MAX_BYTES,
    }
}

#[tokio::test]
async fn a_server_that_is_not_spamd_is_named() {
    let (addr, _server) = fake(|mut stream| async move {
        let _ = stream
            .write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
            .await;
        0
    })
    .await;
    let error = spamc::check(&config(&addr, Duration::from_secs(5)), &crlf(CLEAN)).await;
    let Err(error @ SpamcError::Malformed { .. }) = error else {
        panic!("not a malformed-reply error: {error:?}");
    };
    let message = error.to_string();
    assert!(message.contains(&addr), "{message}");
    assert!(message.contains("HTTP/1.1 400 Bad Request"), "{message}");
    assert!(message.contains("not another service's"), "{message}");
}

#[tokio::test]
async fn a_refusal_carries_spamds_words() {
    let (addr, _server) = fake(|mut stream| async move {
        let _ = stream
            .write_all(b"SPAMD/1.0 76 Bad header line: (EOF)\r\n")
            .await;
        0
    })
    .await;
    let error = spamc::check(&config(&addr, Duration::from_secs(5)), &crlf(CLEAN)).await;
    assert_eq!(
        error,
        Err(SpamcError::Refused {
            addr: addr.clone(),
            code: 76,
            text: "Bad header line: (EOF)".into()
        })
    );
}

#[tokio::test]
async fn a_stalled_server_costs_the_timeout_and_no_more() {
    let (addr, _server) = fake(|stream| async move {
        // Holds the connection open and says nothing.
        let _held = stream;
        tokio::time::sleep(Duration::from_secs(60)).await;
        0
    })
    .await;
    let timeout = Duration::from_millis(300);
    let started = Instant::now();
    let error = spamc::check(&config(&addr, timeout), &crlf(CLEAN)).await;
    let elapsed = started.elapsed();
    assert_eq!(
        error,
        Err(SpamcError::Timeout {
            addr: addr.clone(),
            after: timeout
        })
    );
    assert!(
        elapsed >= timeout && elapsed < timeout + Duration::from_secs(1),
        "{elapsed:?}"
    );
    let message = error.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(message.contains("did not answer within 0.3 s"), "{message}");
}

#[tokio::test]
async fn an_endless_reply_is_cut_off() {
    // A status line, then megabytes of header that never ends.
    let (addr, server) = fake(|mut stream| async move {
        let mut sent = 0;
        if stream.write_all(b"SPAMD/1.1 0 EX_OK\r\nX: ").await.is_err() {
            return sent;
        }
        let chunk = vec![b'x'; 64 * 1024];
        while sent < 64 * 1024 * 1024 && stream.write_all(&chunk).await.is_ok() {
            sent += chunk.len();
        }
        sent
    })
    .await;
    let started = Instant::now();
    let error = spamc::check(&config(&addr, Duration::from_secs(10)), &crlf(CLEAN)).await;
    assert_eq!(
        error,
        Err(SpamcError::ReplyTooLarge {
            addr: addr.clone(),
            limit: MAX_REPLY_BYTES
        })
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    // The server stopped because the client hung up, long before its 64 MB were out.
    let sent = server.await.expect("server task");
    assert!(sent < 16 * 1024 * 1024, "the server wrote {sent} bytes");
}

#[tokio::test]
async fn a_reply_is_complete_at_its_content_length() {
    // Some servers keep the connection open; Content-length says when the reply is whole.
    let report = "\n pts rule name              description\n---- ---------------------- ----------\n 1.2 SOME_RULE              Some description\n\n";
    let reply = format!(
        "SPAMD/1.1 0 EX_OK\r\nContent-length: {}\r\nSpam: False ; 1.2 / 5.0\r\n\r\n{report}",
        report.len()
    );
    let (addr, _server) = fake(move |mut stream| async move {
        let _ = stream.write_all(reply.as_bytes()).await;
        tokio::time::sleep(Duration::from_secs(60)).await;
        0
    })
    .await;
    let report = spamc::check(&config(&addr, Duration::from_secs(2)), &crlf(CLEAN))
        .await
        .expect("a report");
    assert_eq!((report.score, report.is_spam), (1.2, false));
    assert_eq!(report.rules.len(), 1, "{report:#?}");
    assert_eq!(report.rules[0].description, "Some description");
}

#[tokio::test]
async fn a_message_over_the_limit_is_not_sent() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr").to_string();
    let config = SpamdConfig {
        addr,
        timeout: Duration::from_secs(2),
        max_bytes: 100,
    };
    let error = spamc::check(&config, &[b'a'; 101]).await;
    assert_eq!(
        error,
        Err(SpamcError::TooLarge {
            size: 101,
            max: 100
        })
    );
    let message = error.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(
        message.contains("101 bytes, over the spam check's limit of 100"),
        "{message}"
    );
    // Nothing connected: the listener has no connection waiting.
    let accepted = tokio::time::timeout(Duration::from_millis(100), listener.accept()).await;
    assert!(accepted.is_err(), "the client connected anyway");
}
