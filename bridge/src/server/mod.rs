//! `mailbridge serve`: the web app's files and the WebSocket at `/ws`, on one loopback origin.
//!
//! # Layout
//! - `assets`: the web app's files from `dist/`, embedded at build time.
//! - `extension`: the browser extension's pinned ID and origin, allowed by default.
//! - `firefox`: the Firefox extension's per-install origin, learned once at pairing.
//! - `guard`: the Host, Origin and query checks before the upgrade, and the pairing limits.
//! - `session`: one paired WebSocket: the hello, then requests run concurrently.

mod assets;
mod extension;
mod firefox;
mod guard;
mod session;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{ConnectInfo, RawQuery, State, WebSocketUpgrade};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Router};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use protocol::{MAX_FRAME_BYTES, Secret};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

pub use extension::{EXTENSION_ID, EXTENSION_ORIGIN};
pub use firefox::FirefoxOrigin;
pub use guard::{Origins, PairingLimits};

use crate::ops::Bridge;

/// How the server behaves; tests shorten the timeouts.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    /// Origins besides the bridge's own and the extension's that may open the WebSocket (a
    /// `trunk serve` dev server).
    pub allow_origins: Vec<String>,
    /// Connections at once; a browser tab needs one (its two wasm modules share it).
    pub max_connections: usize,
    /// The pairing token must arrive this soon after the upgrade.
    pub hello_timeout: Duration,
    /// How often the bridge pings; a connection silent for three intervals is closed.
    pub ping_interval: Duration,
    /// An HTTP request's headers must arrive this soon after the connection opens.
    pub header_timeout: Duration,
    pub pairing_limits: PairingLimits,
    /// Where the Firefox extension's learned origin is kept; `None` admits no Firefox
    /// extension.
    pub firefox: Option<FirefoxOrigin>,
}

impl Default for ServeConfig {
    fn default() -> ServeConfig {
        ServeConfig {
            allow_origins: Vec::new(),
            max_connections: 4,
            hello_timeout: Duration::from_secs(5),
            ping_interval: Duration::from_secs(20),
            header_timeout: Duration::from_secs(10),
            pairing_limits: PairingLimits::default(),
            firefox: None,
        }
    }
}

/// What every connection shares.
pub(crate) struct Shared {
    pub(crate) bridge: Arc<Bridge>,
    pub(crate) token: Secret,
    pub(crate) origins: Origins,
    pub(crate) guard: Mutex<guard::PairingGuard>,
    pub(crate) connections: Arc<Semaphore>,
    pub(crate) config: ServeConfig,
}

/// Serves until `shutdown` completes. The listener is bound by the caller, so tests pass
/// `127.0.0.1:0`.
pub async fn run(
    listener: TcpListener,
    bridge: Arc<Bridge>,
    token: Secret,
    config: ServeConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let port = listener.local_addr()?.port();
    let shared = Arc::new(Shared {
        bridge,
        token,
        origins: match &config.firefox {
            Some(firefox) => {
                Origins::new(port, config.allow_origins.clone()).with_firefox(firefox.clone())
            }
            None => Origins::new(port, config.allow_origins.clone()),
        },
        guard: Mutex::new(guard::PairingGuard::new(config.pairing_limits)),
        connections: Arc::new(Semaphore::new(config.max_connections)),
        config,
    });
    let header_timeout = shared.config.header_timeout;
    let app = Router::new()
        .route("/", get(assets::index))
        .route("/ws", get(upgrade))
        .route("/{*path}", get(assets::file))
        .with_state(shared);
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                // Out of file descriptors and the like: the next accept may work.
                Err(error) => {
                    tracing::warn!("accept failed: {error}");
                    continue;
                }
            },
            () = &mut shutdown => return Ok(()),
        };
        // Replies on the socket are small and come one per request: with Nagle's algorithm on,
        // each waited for the page's delayed ACK (about 40 ms), which made a 20 MB upload in
        // 45 KB chunks take 20 s.
        let _ = stream.set_nodelay(true);
        let service = TowerToHyperService::new(app.clone().layer(Extension(ConnectInfo(peer))));
        tokio::spawn(async move {
            // axum::serve sets no timer, so hyper's header-read timeout would never fire and
            // a client dribbling its request could hold a connection forever.
            let connection = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(header_timeout)
                .serve_connection(TokioIo::new(stream), service)
                .with_upgrades();
            if let Err(error) = connection.await {
                tracing::debug!(%peer, "connection ended: {error}");
            }
        });
    }
}

async fn upgrade(
    State(shared): State<Arc<Shared>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    upgrade: WebSocketUpgrade,
) -> Response {
    let admitted = match guard::check_upgrade(&headers, query.as_deref(), &shared.origins) {
        Ok(admitted) => admitted,
        Err(refusal) => {
            tracing::warn!(%peer, ?refusal, "refused a WebSocket upgrade");
            return (StatusCode::FORBIDDEN, "forbidden\n").into_response();
        }
    };
    let Ok(permit) = shared.connections.clone().try_acquire_owned() else {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::RETRY_AFTER, "5")],
            "too many connections to the bridge; close another mailbridge tab\n",
        )
            .into_response();
    };
    upgrade
        .max_message_size(MAX_FRAME_BYTES)
        .max_frame_size(MAX_FRAME_BYTES)
        .on_upgrade(move |socket| async move {
            session::run(socket, shared, admitted).await;
            drop(permit);
        })
}
