//! Attacks from other web pages and local processes. Each is refused while the legitimate client
//! keeps working.

use std::time::Duration;

use futures_util::SinkExt;
use mailbridge::server::{PairingLimits, ServeConfig};
use protocol::{ClientMessage, Operation, Outcome, PROTOCOL_VERSION, Secret};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};
use tokio_tungstenite::tungstenite::protocol::frame::{Frame, FrameHeader};

use super::harness::{Client, Running, close_code, open, send, start};
use crate::support::PATIENCE;

/// The close code for every pairing failure.
const PAIRING_FAILED: u16 = 4401;

fn quick() -> ServeConfig {
    ServeConfig {
        hello_timeout: Duration::from_millis(500),
        ..ServeConfig::default()
    }
}

/// The legitimate page still works.
async fn still_works(client: &mut Client) {
    assert!(matches!(
        client.ok(Operation::ListProfiles).await,
        Outcome::Profiles { .. }
    ));
}

fn status_of(error: &tokio_tungstenite::tungstenite::Error) -> Option<u16> {
    match error {
        tokio_tungstenite::tungstenite::Error::Http(response) => Some(response.status().as_u16()),
        _ => None,
    }
}

#[tokio::test]
async fn foreign_origins_are_refused_before_the_upgrade() {
    let running = start("attack-origin", |_| {}, quick()).await;
    let mut client = Client::connect(&running).await;
    let host = format!("127.0.0.1:{}", running.port);
    let port = running.port;
    let origins = [
        Some(format!("http://localhost:{port}.evil.test")),
        Some(format!("http://127.0.0.1:{}", port + 1)),
        Some(format!("https://127.0.0.1:{port}")),
        Some(format!("HTTP://127.0.0.1:{port}")),
        Some(format!("http://127.0.0.1:{port}/")),
        Some("null".to_owned()),
        Some(String::new()),
        None,
    ];
    for origin in origins {
        let result = open(port, Some(&host), origin.as_deref(), "/ws").await;
        let error = result
            .err()
            .unwrap_or_else(|| panic!("origin {origin:?} was let in"));
        assert_eq!(status_of(&error), Some(403), "origin {origin:?}: {error}");
    }
    still_works(&mut client).await;
    running.stop().await;
}

#[tokio::test]
async fn a_duplicated_origin_header_is_refused() {
    let running = start("attack-dup-origin", |_| {}, quick()).await;
    let request = format!(
        "GET /ws HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nOrigin: http://127.0.0.1:{port}\r\nOrigin: http://127.0.0.1:{port}\r\n\
         Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
        port = running.port
    );
    let response = raw_http(running.port, request.as_bytes()).await;
    assert!(response.starts_with("HTTP/1.1 403"), "{response}");
    running.stop().await;
}

#[tokio::test]
async fn foreign_hosts_are_refused() {
    let running = start("attack-host", |_| {}, quick()).await;
    let mut client = Client::connect(&running).await;
    let port = running.port;
    for host in [
        format!("evil.test:{port}"),
        format!("127.0.0.1:{}", port + 1),
        format!("0.0.0.0:{port}"),
        format!("localhost.:{port}"),
    ] {
        let error = open(port, Some(&host), Some(&running.origin()), "/ws")
            .await
            .err()
            .unwrap_or_else(|| panic!("host {host} was let in"));
        assert_eq!(status_of(&error), Some(403), "host {host}: {error}");
    }
    still_works(&mut client).await;
    running.stop().await;
}

/// Opens a socket that passes the header checks.
async fn upgraded(running: &Running, path: &str) -> super::harness::Socket {
    let host = format!("127.0.0.1:{}", running.port);
    open(running.port, Some(&host), Some(&running.origin()), path)
        .await
        .expect("the upgrade passes the header checks")
}

async fn hello(running: &Running, token: &str) -> Option<u16> {
    let mut socket = upgraded(running, "/ws").await;
    send(
        &mut socket,
        &ClientMessage::Hello {
            protocol: PROTOCOL_VERSION,
            token: Secret::new(token),
            encoding: protocol::Encoding::Json,
        },
    )
    .await;
    close_code(&mut socket).await
}

#[tokio::test]
async fn bad_tokens_all_get_the_same_close() {
    let limits = PairingLimits {
        per_minute: 100,
        per_hour: 100,
    };
    let running = start(
        "attack-token",
        |_| {},
        ServeConfig {
            pairing_limits: limits,
            ..quick()
        },
    )
    .await;
    let mut client = Client::connect(&running).await;
    let token = running.token.clone();
    for wrong in [
        String::new(),
        "wrong".to_owned(),
        token[..token.len() - 1].to_owned(),
        token[..8].to_owned(),
        format!("{token}x"),
    ] {
        assert_eq!(
            hello(&running, &wrong).await,
            Some(PAIRING_FAILED),
            "{wrong:?}"
        );
    }
    // No hello at all, within the time limit.
    let mut silent = upgraded(&running, "/ws").await;
    assert_eq!(close_code(&mut silent).await, Some(PAIRING_FAILED));
    // Something other than a hello first.
    let mut rude = upgraded(&running, "/ws").await;
    rude.send(Message::text(
        r#"{"type":"request","id":1,"operation":{"op":"list_profiles"}}"#,
    ))
    .await
    .expect("send");
    assert_eq!(close_code(&mut rude).await, Some(PAIRING_FAILED));
    // The token in the query string is refused outright.
    let host = format!("127.0.0.1:{}", running.port);
    let error = open(
        running.port,
        Some(&host),
        Some(&running.origin()),
        &format!("/ws?token={token}"),
    )
    .await
    .expect_err("a token in the URL is refused");
    assert_eq!(status_of(&error), Some(403));
    still_works(&mut client).await;
    running.stop().await;
}

#[tokio::test]
async fn brute_force_locks_out_even_the_right_token() {
    let running = start("attack-brute", |_| {}, quick()).await;
    let mut client = Client::connect(&running).await;
    assert_eq!(hello(&running, "guess-1").await, Some(PAIRING_FAILED));
    assert_eq!(hello(&running, "guess-2").await, Some(PAIRING_FAILED));
    // Locked now: the right token is refused the same way.
    let token = running.token.clone();
    assert_eq!(hello(&running, &token).await, Some(PAIRING_FAILED));
    // The page paired before the attack keeps working.
    still_works(&mut client).await;
    running.stop().await;
}

#[tokio::test]
async fn an_oversized_frame_closes_that_socket_only() {
    let running = start("attack-big", |_| {}, quick()).await;
    let mut client = Client::connect(&running).await;
    let mut attacker = Client::connect(&running).await;
    let huge = "x".repeat(protocol::MAX_FRAME_BYTES + 1);
    let _ = attacker.socket.send(Message::text(huge)).await;
    assert!(
        super::harness::next(&mut attacker.socket).await.is_none(),
        "the socket closes"
    );

    // A message fragmented into small frames that add up to more than the cap.
    let mut fragmenter = Client::connect(&running).await;
    let piece = vec![b'x'; 16 * 1024];
    let mut first = true;
    for _ in 0..6 {
        let opcode = if first {
            OpCode::Data(Data::Text)
        } else {
            OpCode::Data(Data::Continue)
        };
        first = false;
        let header = FrameHeader {
            is_final: false,
            opcode,
            ..FrameHeader::default()
        };
        if fragmenter
            .socket
            .send(Message::Frame(Frame::from_payload(
                header,
                piece.clone().into(),
            )))
            .await
            .is_err()
        {
            break;
        }
    }
    assert!(
        super::harness::next(&mut fragmenter.socket).await.is_none(),
        "the fragmenter is cut off"
    );
    still_works(&mut client).await;
    running.stop().await;
}

#[tokio::test]
async fn a_dribbled_handshake_is_cut_off_and_blocks_nobody() {
    let running = start(
        "attack-dribble",
        |_| {},
        ServeConfig {
            header_timeout: Duration::from_millis(800),
            ..quick()
        },
    )
    .await;
    let port = running.port;
    let dribbler = tokio::spawn(async move {
        let mut stream = TcpStream::connect(("127.0.0.1", port))
            .await
            .expect("connect");
        let request = format!(
            "GET /ws HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nOrigin: http://127.0.0.1:{port}\r\n"
        );
        let started = std::time::Instant::now();
        for byte in request.bytes() {
            if stream.write_all(&[byte]).await.is_err() {
                return started.elapsed();
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        // Every byte went out before the timeout: wait for the server to hang up.
        let mut buffer = [0u8; 256];
        let _ = tokio::time::timeout(PATIENCE, stream.read(&mut buffer)).await;
        started.elapsed()
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut client = Client::connect(&running).await;
    still_works(&mut client).await;
    let held = tokio::time::timeout(PATIENCE, dribbler)
        .await
        .expect("the dribbler is dealt with in time")
        .expect("the dribbler task ran");
    assert!(
        held < Duration::from_secs(5),
        "the server cut the dribbler off after {held:?}, long before its request would end"
    );
    still_works(&mut client).await;
    running.stop().await;
}

#[tokio::test]
async fn five_hundred_connections_at_once_do_not_take_it_down() {
    let running = start("attack-flood", |_| {}, quick()).await;
    let mut client = Client::connect(&running).await;
    let port = running.port;
    let mut tasks = Vec::new();
    for _ in 0..500 {
        tasks.push(tokio::spawn(async move {
            let host = format!("127.0.0.1:{port}");
            let origin = format!("http://127.0.0.1:{port}");
            // Each one either is refused (too many connections) or is closed for not pairing.
            match open(port, Some(&host), Some(&origin), "/ws").await {
                Ok(mut socket) => close_code(&mut socket).await.is_some(),
                Err(error) => {
                    status_of(&error).is_some()
                        || matches!(error, tokio_tungstenite::tungstenite::Error::Io(_))
                }
            }
        }));
    }
    let mut answered = 0;
    for task in tasks {
        if tokio::time::timeout(PATIENCE, task)
            .await
            .is_ok_and(|r| r.is_ok_and(|ok| ok))
        {
            answered += 1;
        }
    }
    assert!(answered >= 450, "only {answered} of 500 got an answer");
    still_works(&mut client).await;
    running.stop().await;
}

async fn raw_http(port: u16, request: &[u8]) -> String {
    let mut stream = TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("connect");
    stream.write_all(request).await.expect("write");
    let mut buffer = vec![0u8; 4096];
    let read = tokio::time::timeout(PATIENCE, stream.read(&mut buffer))
        .await
        .expect("an answer in time")
        .expect("read");
    String::from_utf8_lossy(&buffer[..read]).into_owned()
}
