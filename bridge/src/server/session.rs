//! One paired WebSocket connection.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use axum::extract::ws::{CloseFrame, Message, WebSocket};
use protocol::{
    ClientMessage, Encoding, ErrorKind, OperationError, PROTOCOL_VERSION, RequestId, ServerMessage,
    decode_client, encode, encode_binary,
};
use tokio::sync::mpsc;
use tokio::time::{Instant, interval, timeout};

use super::Shared;
use super::guard::{Admitted, token_matches};
use crate::lock;

/// The close code for every pairing failure, so a guesser learns nothing from it.
pub const PAIRING_FAILED: u16 = 4401;
/// Operations one connection may run at once.
const MAX_IN_FLIGHT: usize = 16;

pub async fn run(mut socket: WebSocket, shared: Arc<Shared>, admitted: Admitted) {
    let Some(encoding) = pair(&mut socket, &shared, &admitted).await else {
        return;
    };
    serve(Socket { socket, encoding }, shared).await;
}

/// The paired socket, and how the page asked to be written to.
struct Socket {
    socket: WebSocket,
    encoding: Encoding,
}

/// Reads the hello. On any failure the socket is closed and `None` returned; on success, the
/// encoding the page asked for.
async fn pair(socket: &mut WebSocket, shared: &Shared, admitted: &Admitted) -> Option<Encoding> {
    let first = timeout(shared.config.hello_timeout, socket.recv()).await;
    let hello = match first {
        Ok(Some(Ok(Message::Text(text)))) => decode_client(text.as_str()).ok(),
        _ => None,
    };
    let (protocol, token, encoding) = match hello {
        Some(ClientMessage::Hello {
            protocol,
            token,
            encoding,
        }) => (protocol, token, encoding),
        // Silence or a wrong first message is not a guess, so it does not count towards the
        // lockout: otherwise any page could lock the user out by opening sockets.
        _ => {
            close(socket, PAIRING_FAILED, "pairing failed").await;
            return None;
        }
    };
    let locked = lock(&shared.guard).is_locked(Instant::now());
    // `mailbridge pair --reset` replaces the stored token: from then on only the new one
    // pairs, with no restart, and a page or extension holding the old one is asked again.
    let expected = shared
        .bridge
        .stored_pairing_token()
        .unwrap_or_else(|| shared.token.clone());
    // While locked, even the right token is refused, so a guesser cannot tell when it won.
    if locked || !token_matches(token.expose(), expected.expose()) {
        if !locked {
            lock(&shared.guard).record_failure(Instant::now());
        }
        tracing::warn!("refused a pairing attempt (locked: {locked})");
        close(socket, PAIRING_FAILED, "pairing failed").await;
        return None;
    }
    // A Firefox extension's origin is learned only now, with the right token; a second
    // candidate let in by the same window finds it closed and is refused.
    if let Admitted::FirefoxCandidate(origin) = admitted {
        let learned = shared
            .origins
            .firefox()
            .map(|firefox| firefox.learn(origin, std::time::SystemTime::now()));
        match learned {
            Some(Ok(true)) => tracing::info!(%origin, "learned the Firefox extension's origin"),
            Some(Err(error)) => {
                tracing::warn!("cannot remember the Firefox extension's origin: {error}");
                close(socket, PAIRING_FAILED, "pairing failed").await;
                return None;
            }
            _ => {
                close(socket, PAIRING_FAILED, "pairing failed").await;
                return None;
            }
        }
    }
    if protocol != PROTOCOL_VERSION {
        let error = ServerMessage::Failed {
            id: None,
            error: OperationError::version_mismatch(protocol),
        };
        send(socket, Encoding::Json, &error).await;
        close(socket, 4400, "protocol version mismatch").await;
        return None;
    }
    let welcome = ServerMessage::Welcome {
        protocol: PROTOCOL_VERSION,
        bridge_version: env!("CARGO_PKG_VERSION").to_owned(),
        secret_store: shared.bridge.secret_store_description(),
    };
    send(socket, encoding, &welcome).await.then_some(encoding)
}

async fn serve(mut socket: Socket, shared: Arc<Shared>) {
    let (out_tx, mut out_rx) = mpsc::unbounded_channel::<ServerMessage>();
    let in_flight: Arc<Mutex<HashSet<RequestId>>> = Arc::default();
    let mut notices = shared.bridge.subscribe();
    let mut ping = interval(shared.config.ping_interval);
    ping.tick().await;
    let mut last_heard = Instant::now();
    let silence_limit = shared.config.ping_interval * 3;

    loop {
        tokio::select! {
            incoming = socket.socket.recv() => {
                let text = match incoming {
                    Some(Ok(Message::Text(text))) => text,
                    Some(Ok(Message::Binary(_))) => {
                        let error = OperationError::new(ErrorKind::BadRequest, "binary frames are not part of the protocol; send JSON text");
                        if !socket.send(&ServerMessage::Failed { id: None, error }).await { break; }
                        continue;
                    }
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => { last_heard = Instant::now(); continue; }
                    Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                };
                last_heard = Instant::now();
                let request = match decode_client(text.as_str()) {
                    Ok(ClientMessage::Request(request)) => request,
                    Ok(ClientMessage::Hello { .. }) => {
                        let error = OperationError::new(ErrorKind::BadRequest, "already paired: send requests, not another hello");
                        if !socket.send(&ServerMessage::Failed { id: None, error }).await { break; }
                        continue;
                    }
                    Err(error) => {
                        if !socket.send(&ServerMessage::Failed { id: None, error: error.into() }).await { break; }
                        continue;
                    }
                };
                let id = request.id;
                let admitted = {
                    let mut running = lock(&in_flight);
                    if running.len() >= MAX_IN_FLIGHT {
                        Err(OperationError::new(ErrorKind::Busy, format!("{MAX_IN_FLIGHT} operations are already running on this connection")).with_fix("Wait for one to finish."))
                    } else if !running.insert(id) {
                        Err(OperationError::new(ErrorKind::BadRequest, format!("request id {} is already in use by a running operation", id.0)).with_fix("Use a new id for each request."))
                    } else {
                        Ok(())
                    }
                };
                if let Err(error) = admitted {
                    if !socket.send(&ServerMessage::Failed { id: Some(id), error }).await { break; }
                    continue;
                }
                let bridge = shared.bridge.clone();
                let out = out_tx.clone();
                let in_flight = in_flight.clone();
                tokio::spawn(async move {
                    bridge.handle(request, out).await;
                    lock(&in_flight).remove(&id);
                });
            }
            Some(message) = out_rx.recv() => {
                if !socket.send(&message).await { break; }
            }
            notice = notices.recv() => {
                match notice {
                    Ok(notice) => {
                        if !socket.send(&ServerMessage::Notice { notice }).await { break; }
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => {
                        notices = shared.bridge.subscribe();
                    }
                }
            }
            _ = ping.tick() => {
                if last_heard.elapsed() > silence_limit {
                    close(&mut socket.socket, 1001, "idle timeout").await;
                    break;
                }
                if socket.socket.send(Message::Ping(Vec::new().into())).await.is_err() { break; }
            }
        }
    }
}

impl Socket {
    async fn send(&mut self, message: &ServerMessage) -> bool {
        send(&mut self.socket, self.encoding, message).await
    }
}

/// Writes one message as the session's encoding asks: a JSON text frame, or a postcard
/// binary frame.
async fn send(socket: &mut WebSocket, encoding: Encoding, message: &ServerMessage) -> bool {
    let frame = match encoding {
        Encoding::Json => encode(message).map(|text| Message::Text(text.into())),
        Encoding::Postcard => encode_binary(message).map(|bytes| Message::Binary(bytes.into())),
    };
    let Ok(frame) = frame else {
        return false;
    };
    socket.send(frame).await.is_ok()
}

async fn close(socket: &mut WebSocket, code: u16, reason: &'static str) {
    let frame = CloseFrame {
        code,
        reason: reason.into(),
    };
    let _ = socket.send(Message::Close(Some(frame))).await;
}
