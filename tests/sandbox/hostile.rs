//! Input meant to hurt. Each attack gets a reply or a close, and the sandbox keeps serving
//! everyone else: every test ends (or runs alongside) a normal send that must succeed.

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

use crate::sandbox::client::TlsClient;
use crate::support::{
    Fixture, PATIENCE, Raw, cmd, login, message, on_starttls, on_tls, python, send_steps, start,
};

/// A normal send through Python must still work.
async fn assert_still_serving(fixture: &Fixture, subject: &str) {
    let run = python(fixture, vec![on_tls(fixture, send_steps(subject))]).await;
    if run.error(0, 2).is_some() {
        run.fail("a normal send failed after the attack");
    }
}

#[tokio::test]
async fn a_10_mb_command_line_without_crlf_gets_500_and_a_close() {
    let fixture = start("long-line", |_| {}).await;
    let stream = TcpStream::connect(fixture.starttls_addr())
        .await
        .expect("connect");
    let (read, mut write) = stream.into_split();
    let mut read = BufReader::new(read);
    let mut greeting = String::new();
    read.read_line(&mut greeting).await.expect("greeting");
    assert!(greeting.starts_with("220 "), "{greeting:?}");
    // Written alongside the reads: the server stops reading long before 10 MB.
    let writer = tokio::spawn(async move {
        let chunk = vec![b'A'; 64 * 1024];
        for _ in 0..160 {
            if write.write_all(&chunk).await.is_err() {
                break;
            }
        }
    });
    let mut replies = Vec::new();
    loop {
        let mut line = String::new();
        match tokio::time::timeout(PATIENCE, read.read_line(&mut line)).await {
            Ok(Ok(0)) | Ok(Err(_)) => break,
            Ok(Ok(_)) => replies.push(line),
            Err(_) => panic!("no close within {PATIENCE:?}; replies so far {replies:?}"),
        }
    }
    assert_eq!(replies.len(), 1, "{replies:?}");
    assert!(
        replies[0].starts_with("500 5.5.2 Line too long, closing connection. "),
        "{replies:?}"
    );
    let _ = writer.await;
    assert_still_serving(&fixture, "after a long command line").await;
}

#[tokio::test]
async fn a_10_mb_data_line_without_crlf_gets_500_and_a_close() {
    let fixture = start("long-data-line", |_| {}).await;
    let run = python(
        &fixture,
        vec![on_tls(
            &fixture,
            vec![
                login(),
                cmd("MAIL FROM:<ann@example.com>"),
                cmd("RCPT TO:<bob@example.com>"),
                cmd("DATA"),
                json!(["raw_repeat", "0123456789", 1_000_000]),
                json!(["reply"]),
            ],
        )],
    )
    .await;
    run.assert_reply(
        0,
        6,
        500,
        "5.5.2 Line too long, closing connection. <id> - gsmtp",
    );
    assert_eq!(fixture.store().count().expect("count"), 0);
    assert_still_serving(&fixture, "after a long data line").await;
}

#[tokio::test]
async fn a_client_that_never_finishes_data_expires_while_others_send() {
    let fixture = start("stalled-data", |config| {
        config.idle_timeout = Duration::from_secs(1)
    })
    .await;
    let stalled = python(
        &fixture,
        vec![on_starttls(
            &fixture,
            vec![
                json!(["secure"]),
                login(),
                cmd("MAIL FROM:<ann@example.com>"),
                cmd("RCPT TO:<bob@example.com>"),
                cmd("DATA"),
                json!(["raw", "Subject: never finished\r\n\r\nhalf a li"]),
                json!(["reply"]),
            ],
        )],
    );
    let meanwhile = python(&fixture, vec![on_tls(&fixture, send_steps("meanwhile"))]);
    let (stalled, meanwhile) = tokio::join!(stalled, meanwhile);
    if meanwhile.error(0, 2).is_some() {
        meanwhile.fail("a normal send failed while another client stalled in DATA");
    }
    stalled.assert_reply(
        0,
        7,
        421,
        "4.7.0 Connection expired, try reconnecting. <id> - gsmtp",
    );
    let subjects: Vec<String> = fixture
        .store()
        .list()
        .expect("list")
        .into_iter()
        .map(|s| s.subject)
        .collect();
    assert_eq!(subjects, ["meanwhile"], "half a message is never captured");
}

#[tokio::test]
async fn binary_junk_gets_502_then_a_close() {
    let fixture = start("junk", |_| {}).await;
    let mut client = Raw::connect(fixture.starttls_addr()).await;
    client.expect("220 ").await;
    let mut junk = Vec::new();
    for n in 0..12u8 {
        junk.extend_from_slice(&[0xff, 0x00, n, 0x1b, b'[', 0x80, 0xfe, b'\r']);
        junk.extend_from_slice(&[n.wrapping_mul(37) | 0x80; 40]);
        junk.extend_from_slice(b"\r\n");
    }
    client.send(&junk).await;
    for _ in 0..9 {
        client.expect("502 5.5.1 Unrecognized command. ").await;
    }
    client
        .expect("421 4.7.0 Too many unrecognized commands, closing connection. ")
        .await;
    assert_eq!(client.reply().await, None, "the connection must be closed");

    // Plain-text junk on the TLS port is a failed handshake: at most a TLS alert, then
    // the close; never an SMTP reply.
    let mut client = Raw::connect(fixture.tls_addr()).await;
    client
        .send(b"EHLO not-tls\r\n\x16\x03\x01\x00\x05junk")
        .await;
    let mut rest = Vec::new();
    tokio::time::timeout(PATIENCE, client.stream.read_to_end(&mut rest))
        .await
        .expect("the TLS port closes the connection")
        .expect("reading to the close");
    assert!(
        rest.is_empty() || rest[0] == 0x15,
        "expected nothing or a TLS alert, got {:?}",
        String::from_utf8_lossy(&rest)
    );
    assert_still_serving(&fixture, "after junk").await;
}

#[tokio::test]
async fn two_hundred_connections_at_once_are_all_served() {
    let fixture = start("crowd", |_| {}).await;
    let addr = fixture.starttls_addr();
    const CROWD: usize = 200;
    let together = Arc::new(tokio::sync::Barrier::new(CROWD));
    let sessions: Vec<_> = (0..CROWD)
        .map(|_| {
            let together = together.clone();
            tokio::spawn(async move {
                let mut client = Raw::connect(addr).await;
                client.expect("220 localhost ESMTP ").await;
                // Nobody goes on until all are connected, so all are open at once.
                together.wait().await;
                client.send(b"EHLO crowd.example\r\n").await;
                client.expect("250-localhost at your service").await;
                client.send(b"QUIT\r\n").await;
                client.expect("221 2.0.0 closing connection").await;
            })
        })
        .collect();
    for session in sessions {
        session.await.expect("every session is served");
    }
    assert_still_serving(&fixture, "after the crowd").await;
}

#[tokio::test]
async fn connections_over_the_limit_are_turned_away() {
    let fixture = start("limit", |config| config.max_connections = 2).await;
    let mut first = Raw::connect(fixture.starttls_addr()).await;
    first.expect("220 ").await;
    let mut second = Raw::connect(fixture.starttls_addr()).await;
    second.expect("220 ").await;
    let mut third = Raw::connect(fixture.starttls_addr()).await;
    third
        .expect("421 4.7.0 Try again later, closing connection. ")
        .await;
    assert_eq!(third.reply().await, None);
    let run = python(
        &fixture,
        vec![on_tls(&fixture, vec![]), on_starttls(&fixture, vec![])],
    )
    .await;
    run.assert_reply(
        0,
        0,
        421,
        "4.7.0 Try again later, closing connection. <id> - gsmtp",
    );
    run.assert_reply(
        1,
        0,
        421,
        "4.7.0 Try again later, closing connection. <id> - gsmtp",
    );

    first.send(b"QUIT\r\n").await;
    first.expect("221 ").await;
    drop(first);
    // The slot frees once the server has seen the close; poll for it rather than guess.
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let mut again = Raw::connect(fixture.starttls_addr()).await;
        let reply = again.reply().await.unwrap_or_default();
        if reply.starts_with("220 ") {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the slot never came back: {reply:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_message_that_does_not_fit_the_memory_budget_gets_451_and_can_be_retried() {
    const KIB: usize = 1024;
    let fixture = start("memory-budget", |config| {
        config.max_buffered_bytes = 64 * KIB
    })
    .await;
    let first_message = padded_message("first, paused midway", 48 * KIB);
    let second_message = padded_message("second, sent meanwhile", 48 * KIB);
    // The first client pauses after 40 KiB, at a line's end so the server holds those bytes.
    let pause = first_message[..40 * KIB]
        .rfind("\r\n")
        .map(|index| index + 2)
        .expect("the message has lines");

    let mut first = TlsClient::logged_in(&fixture).await;
    first.start_data().await;
    first.send(&first_message.as_bytes()[..pause]).await;
    wait_until("the first client's bytes are held", || {
        fixture.buffered_bytes() >= pause
    })
    .await;

    // 48 KiB do not fit beside the first client's 40: refused as transient, after the end of
    // DATA, and not kept.
    let mut second = TlsClient::logged_in(&fixture).await;
    second.start_data().await;
    second.send(second_message.as_bytes()).await;
    second.send(b".\r\n").await;
    second
        .expect("451 4.3.0 Temporary System Problem.  Try again later. ")
        .await;
    assert_eq!(fixture.store().count().expect("count"), 0);

    first.send(&first_message.as_bytes()[pause..]).await;
    first.send(b".\r\n").await;
    first.expect("250 2.0.0 OK  ").await;
    assert_eq!(fixture.buffered_bytes(), 0, "the budget is returned");

    // The same session may send again, and now the message fits.
    second.start_data().await;
    second.send(second_message.as_bytes()).await;
    second.send(b".\r\n").await;
    second.expect("250 2.0.0 OK  ").await;
    assert_eq!(fixture.buffered_bytes(), 0, "the budget is returned");

    let stored: Vec<(String, u64)> = fixture
        .store()
        .list()
        .expect("list")
        .into_iter()
        .map(|summary| (summary.subject, summary.size_bytes))
        .collect();
    assert_eq!(
        stored,
        [
            (
                "second, sent meanwhile".to_owned(),
                second_message.len() as u64
            ),
            (
                "first, paused midway".to_owned(),
                first_message.len() as u64
            ),
        ],
        "each message is kept once, whole"
    );
    assert_still_serving(&fixture, "after the budget ran out").await;
}

/// A message Gmail accepts, padded with body lines to at least `len` bytes.
fn padded_message(subject: &str, len: usize) -> String {
    let mut text = message(subject);
    while text.len() < len {
        text.push_str(&"padding ".repeat(9));
        text.push_str("\r\n");
    }
    text
}

async fn wait_until(what: &str, done: impl Fn() -> bool) {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while !done() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "waited {PATIENCE:?} for {what}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
