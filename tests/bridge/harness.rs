//! A bridge running in this process with its own sandbox and temp dirs, and a WebSocket client
//! that speaks the protocol the way the page does.

use std::path::PathBuf;
use std::sync::Arc;

use futures_util::{SinkExt, StreamExt};
use mailbridge::cli::{Global, open_bridge};
use mailbridge::ops::Bridge;
use mailbridge::server::{self, ServeConfig};
use mailbridge::store::{self, SecretOptions};
use profile::Profile;
use protocol::{
    ClientMessage, Notice, Operation, OperationError, Outcome, PROTOCOL_VERSION, Progress, Request,
    RequestId, Secret, ServerMessage, decode_server, encode,
};
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio::time::timeout;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::support::{PATIENCE, Serve, TempDir};

pub type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// A bridge serving on a free loopback port.
pub struct Running {
    pub dir: TempDir,
    pub port: u16,
    pub token: String,
    pub bridge: Arc<Bridge>,
    pub global: Global,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
}

impl Running {
    pub fn origin(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn sandbox(&self) -> &sandbox::Sandbox {
        self.bridge
            .sandbox()
            .expect("the test bridge runs a sandbox")
    }

    /// The sandbox profile the bridge made at start.
    pub async fn sandbox_profile(&self, client: &mut Client) -> Profile {
        let Outcome::Profiles { profiles } = client.ok(Operation::ListProfiles).await else {
            panic!("list_profiles did not list profiles");
        };
        profiles
            .into_iter()
            .map(|view| view.profile)
            .find(|profile| profile.preset == profile::Preset::Sandbox)
            .expect("the bridge creates the sandbox profile at start")
    }

    pub fn profiles_file(&self) -> PathBuf {
        self.dir.path().join("config/profiles.json")
    }

    /// Stops serving and hands back the directories, for a restart or a look at the files.
    pub async fn stop(mut self) -> TempDir {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = timeout(PATIENCE, task).await;
        }
        self.bridge.stop_delivering(PATIENCE).await;
        self.dir
    }
}

/// Starts a bridge with a sandbox configured by `configure`, serving with `config`.
pub async fn start(
    name: &str,
    configure: impl FnOnce(&mut sandbox::Config),
    config: ServeConfig,
) -> Running {
    let dir = TempDir::new(name);
    let global = Global {
        config_dir: Some(dir.path().join("config")),
        data_dir: Some(dir.path().join("data")),
        secrets_file: Some(dir.path().join("secrets.json")),
        secrets_file_fallback: None,
        spamd: None,
        dns_server: Vec::new(),
    };
    start_in(dir, global, configure, config).await
}

/// Starts a bridge on existing directories (to test restarts and fresh bridges side by side).
pub async fn start_in(
    dir: TempDir,
    global: Global,
    configure: impl FnOnce(&mut sandbox::Config),
    config: ServeConfig,
) -> Running {
    let mut sandbox_config = sandbox::Config::new(dir.path().join("data/sandbox"));
    configure(&mut sandbox_config);
    let sandbox = sandbox::Sandbox::start(sandbox_config)
        .await
        .expect("the sandbox starts");
    let bridge = open_bridge(&global, Some(sandbox)).expect("the bridge opens its stores");
    // As `mailbridge serve` does: this bridge delivers its outbox.
    bridge.start_delivering();
    let secrets = store::open(&SecretOptions {
        file: global.secrets_file.clone(),
    })
    .expect("the secrets file opens");
    let token = store::pairing_token(secrets.as_ref()).expect("a pairing token");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a free port");
    let port = listener.local_addr().expect("local addr").port();
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(server::run(
        listener,
        bridge.clone(),
        token.clone(),
        config,
        async move {
            let _ = stopped.await;
        },
    ));
    Running {
        dir,
        port,
        token: token.expose().to_owned(),
        bridge,
        global,
        stop: Some(stop),
        task: Some(task),
    }
}

/// Opens `/ws` with the given Host and Origin (None leaves the header out).
pub async fn open(
    port: u16,
    host: Option<&str>,
    origin: Option<&str>,
    path: &str,
) -> Result<Socket, tungstenite::Error> {
    let mut request = format!("ws://127.0.0.1:{port}{path}")
        .into_client_request()
        .expect("a valid URL");
    let headers = request.headers_mut();
    headers.remove("host");
    if let Some(host) = host {
        headers.insert("host", HeaderValue::from_str(host).expect("header value"));
    }
    if let Some(origin) = origin {
        headers.insert(
            "origin",
            HeaderValue::from_str(origin).expect("header value"),
        );
    }
    let (socket, _) = timeout(PATIENCE, tokio_tungstenite::connect_async(request))
        .await
        .expect("the upgrade answers in time")?;
    Ok(socket)
}

/// A paired client, as the web app is after its hello.
pub struct Client {
    pub socket: Socket,
    next_id: u64,
    /// Notices that arrived while waiting for a result.
    pub notices: Vec<Notice>,
}

/// What one request produced.
pub struct Reply {
    pub progress: Vec<Progress>,
    pub result: Result<Outcome, OperationError>,
}

impl Client {
    pub async fn connect(running: &Running) -> Client {
        Client::connect_to(running.port, &running.token).await
    }

    /// A paired client of the bridge serving on `port`, such as a `mailbridge serve` process.
    pub async fn connect_to(port: u16, token: &str) -> Client {
        let host = format!("127.0.0.1:{port}");
        let origin = format!("http://127.0.0.1:{port}");
        let mut socket = open(port, Some(&host), Some(&origin), "/ws")
            .await
            .expect("the bridge's own origin may connect");
        send(
            &mut socket,
            &ClientMessage::Hello {
                protocol: PROTOCOL_VERSION,
                token: Secret::new(token.to_owned()),
                encoding: protocol::Encoding::Json,
            },
        )
        .await;
        match next(&mut socket).await {
            Some(ServerMessage::Welcome { protocol, .. }) => assert_eq!(protocol, PROTOCOL_VERSION),
            other => panic!("expected a welcome after pairing, got {other:?}"),
        }
        Client {
            socket,
            next_id: 0,
            notices: Vec::new(),
        }
    }

    /// Sends a request and collects its progress until its result.
    pub async fn call(&mut self, operation: Operation) -> Reply {
        self.next_id += 1;
        let id = RequestId(self.next_id);
        send(
            &mut self.socket,
            &ClientMessage::Request(Request { id, operation }),
        )
        .await;
        self.collect(id).await
    }

    /// Sends a request without waiting for anything back.
    pub async fn start(&mut self, operation: Operation) -> RequestId {
        self.next_id += 1;
        let id = RequestId(self.next_id);
        send(
            &mut self.socket,
            &ClientMessage::Request(Request { id, operation }),
        )
        .await;
        id
    }

    /// Reads until request `id` reports progress that `wanted` picks.
    pub async fn progress<T>(
        &mut self,
        id: RequestId,
        wanted: impl Fn(&Progress) -> Option<T>,
    ) -> T {
        loop {
            match next(&mut self.socket).await {
                Some(ServerMessage::Progress { id: got, progress }) if got == id => {
                    if let Some(found) = wanted(&progress) {
                        return found;
                    }
                }
                Some(ServerMessage::Notice { notice }) => self.notices.push(notice),
                other => panic!("expected progress of {id:?}, got {other:?}"),
            }
        }
    }

    pub async fn collect(&mut self, id: RequestId) -> Reply {
        let mut progress = Vec::new();
        loop {
            match next(&mut self.socket).await {
                Some(ServerMessage::Progress {
                    id: got,
                    progress: p,
                }) if got == id => progress.push(p),
                Some(ServerMessage::Done { id: got, outcome }) if got == id => {
                    return Reply {
                        progress,
                        result: Ok(outcome),
                    };
                }
                Some(ServerMessage::Failed {
                    id: Some(got),
                    error,
                }) if got == id => {
                    return Reply {
                        progress,
                        result: Err(error),
                    };
                }
                Some(ServerMessage::Notice { notice }) => self.notices.push(notice),
                Some(other) => panic!("unexpected message while waiting for {id:?}: {other:?}"),
                None => panic!("the bridge closed the connection while waiting for {id:?}"),
            }
        }
    }

    /// Calls and expects success.
    pub async fn ok(&mut self, operation: Operation) -> Outcome {
        let name = format!("{operation:?}");
        match self.call(operation).await.result {
            Ok(outcome) => outcome,
            Err(error) => panic!("{name} failed: {error}"),
        }
    }

    /// Sends raw text and returns the next message.
    pub async fn raw(&mut self, text: &str) -> Option<ServerMessage> {
        self.socket
            .send(Message::text(text.to_owned()))
            .await
            .expect("the socket accepts a frame");
        next(&mut self.socket).await
    }

    /// Uploads bytes as an attachment, in protocol-sized chunks.
    pub async fn upload(
        &mut self,
        filename: &str,
        content_type: &str,
        bytes: &[u8],
    ) -> protocol::AttachmentRef {
        use base64::Engine as _;
        let Outcome::UploadStarted { upload } = self
            .ok(Operation::BeginUpload {
                filename: filename.to_owned(),
                content_type: content_type.to_owned(),
                size_bytes: bytes.len() as u64,
            })
            .await
        else {
            panic!("begin_upload did not start an upload");
        };
        let mut offset = 0u64;
        for chunk in bytes.chunks(protocol::MAX_CHUNK_BYTES) {
            self.ok(Operation::UploadChunk {
                upload,
                offset,
                data_base64: base64::engine::general_purpose::STANDARD.encode(chunk),
            })
            .await;
            offset += chunk.len() as u64;
        }
        protocol::AttachmentRef {
            upload,
            filename: filename.to_owned(),
            content_type: content_type.to_owned(),
            size_bytes: bytes.len() as u64,
        }
    }
}

pub async fn send(socket: &mut Socket, message: &ClientMessage) {
    let text = encode(message).expect("encodes");
    socket
        .send(Message::text(text))
        .await
        .expect("the socket accepts a frame");
}

/// The next protocol message, skipping pings; None when the socket closes.
pub async fn next(socket: &mut Socket) -> Option<ServerMessage> {
    loop {
        let frame = timeout(PATIENCE, socket.next())
            .await
            .expect("the bridge answers in time");
        match frame {
            Some(Ok(Message::Text(text))) => {
                return Some(
                    decode_server(text.as_str()).unwrap_or_else(|e| {
                        panic!("the bridge sent unreadable JSON ({e}): {text}")
                    }),
                );
            }
            Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => continue,
            Some(Ok(Message::Binary(bytes))) => panic!("the bridge sent binary: {bytes:?}"),
            Some(Ok(Message::Close(_))) | Some(Err(_)) | None => return None,
        }
    }
}

/// Waits for the close frame and returns its code (None when the socket just ends).
pub async fn close_code(socket: &mut Socket) -> Option<u16> {
    loop {
        match timeout(PATIENCE, socket.next())
            .await
            .expect("the bridge closes in time")
        {
            Some(Ok(Message::Close(Some(frame)))) => return Some(frame.code.into()),
            Some(Ok(Message::Close(None))) | None | Some(Err(_)) => return None,
            Some(Ok(_)) => continue,
        }
    }
}

/// `mailbridge serve --no-sandbox` with its state under `dir`, a paired client, and a sandbox
/// profile `crash` that sends to `sandbox` as fast as it may: for the tests that kill the
/// bridge, where the receiving side must outlive it.
pub async fn serve_sending_to(
    sandbox: &sandbox::Sandbox,
    dir: &std::path::Path,
) -> (Serve, Client) {
    let serve = Serve::start_with(dir, &["--no-sandbox"]);
    let mut client = Client::connect_to(serve.port(), serve.token()).await;
    let mut profile = Profile::from_preset(
        profile::Preset::Sandbox,
        profile::ProfileId("crash".into()),
        "Crash",
        "",
    );
    profile.port = sandbox.starttls_addr().port();
    profile.extra_ca_pem = Some(sandbox.ca_cert_pem().to_owned());
    profile.limits = profile::Limits {
        daily: 100_000,
        per_minute: 100_000,
    };
    client.ok(Operation::SaveProfile { profile }).await;
    (serve, client)
}

/// Starts a bridge as [`start`] does, with the checks before sending pointed at `spamd` and
/// `dns_server`, as `--spamd` and `--dns-server` point `mailbridge serve`.
pub async fn start_checking(
    name: &str,
    spamd: Option<String>,
    dns_server: Vec<std::net::SocketAddr>,
) -> Running {
    let dir = TempDir::new(name);
    let global = Global {
        config_dir: Some(dir.path().join("config")),
        data_dir: Some(dir.path().join("data")),
        secrets_file: Some(dir.path().join("secrets.json")),
        secrets_file_fallback: None,
        spamd,
        dns_server,
    };
    start_in(dir, global, |_| {}, ServeConfig::default()).await
}
