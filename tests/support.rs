//! Helpers shared by the integration tests. Their panics print what was going on (the plan
//! given to Python, its results and stderr; the raw bytes a socket saw), so a failure explains
//! itself without a rerun.

use std::io::{BufRead as _, BufReader as StdBufReader, Write as _};
use std::net::SocketAddr;
use std::ops::Deref;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use sandbox::{Config, Sandbox};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

pub use sandbox::{
    DEFAULT_APP_PASSWORD as PASSWORD, DEFAULT_OAUTH_TOKEN as TOKEN, DEFAULT_USER as USER,
};

/// How long any single network wait in a test may take before the test fails instead of
/// hanging.
pub const PATIENCE: Duration = Duration::from_secs(20);

/// A loopback port nothing listens on now, for a server a test starts.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .unwrap_or_else(|e| panic!("no free port: {e}"))
}

/// Waits until something accepts connections on `port`, for at most [`PATIENCE`]; if nothing
/// does, panics with `what` did not listen, and `details()` (a log, say).
pub fn wait_listening(port: u16, what: &str, details: impl Fn() -> String) {
    let deadline = Instant::now() + PATIENCE;
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "{what} did not listen on {port} within {PATIENCE:?}\n{}",
            details()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A fresh directory under the system temp dir, removed when dropped.
#[derive(Debug)]
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(name: &str) -> TempDir {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or_default();
        let path = std::env::temp_dir().join(format!(
            "mailbridge-test-{name}-{}-{}-{nanos}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&path)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", path.display()));
        TempDir(path)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The `mailbridge` binary with its config, data and secrets under `dir`, as one person's
/// machine: every process started with the same `dir` shares the same state.
pub fn mailbridge(dir: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_mailbridge"));
    command
        .env("MAILBRIDGE_CONFIG_DIR", dir.join("config"))
        .env("MAILBRIDGE_DATA_DIR", dir.join("data"))
        .env("MAILBRIDGE_SECRETS_FILE", dir.join("secrets.json"))
        .env_remove("RUST_LOG")
        // A spamd or DNS server set in the developer's shell would change what tests see.
        .env_remove("MAILBRIDGE_SPAMD")
        .env_remove("MAILBRIDGE_DNS_SERVER");
    command
}

/// `mailbridge serve` on free ports (the bridge and both sandbox listeners), with its state
/// under `dir`; stopped when dropped. What it prints is kept for [`Serve::output`], so a
/// failing test can show the bridge's side.
#[derive(Debug)]
pub struct Serve {
    child: Child,
    /// The pairing address it printed: `http://127.0.0.1:PORT/#pair=TOKEN`.
    pub url: String,
    output: Arc<Mutex<String>>,
}

impl Serve {
    pub fn start(dir: &Path) -> Serve {
        Serve::start_with(dir, &[])
    }

    /// As [`Serve::start`], with more arguments for `serve` (such as `--allow-origin`).
    pub fn start_with(dir: &Path, extra: &[&str]) -> Serve {
        let mut child = mailbridge(dir)
            .args([
                "serve",
                "--port",
                "0",
                "--sandbox-starttls-port",
                "0",
                "--sandbox-tls-port",
                "0",
                "--sandbox-imap-port",
                "0",
            ])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("mailbridge serve does not start: {e}"));
        let output = Arc::new(Mutex::new(String::new()));
        // Both pipes are drained to the end, so the child never blocks on a full one.
        if let Some(stderr) = child.stderr.take() {
            let output = output.clone();
            std::thread::spawn(move || {
                for line in StdBufReader::new(stderr).lines().map_while(Result::ok) {
                    append(&output, "stderr", &line);
                }
            });
        }
        let (url_tx, url_rx) = std::sync::mpsc::channel();
        if let Some(stdout) = child.stdout.take() {
            let output = output.clone();
            std::thread::spawn(move || {
                for line in StdBufReader::new(stdout).lines().map_while(Result::ok) {
                    append(&output, "stdout", &line);
                    if let Some(rest) = line.trim().strip_prefix("http://") {
                        let _ = url_tx.send(format!("http://{rest}"));
                    }
                }
            });
        }
        let mut serve = Serve {
            child,
            url: String::new(),
            output,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        serve.url = loop {
            match url_rx.recv_timeout(Duration::from_millis(100)) {
                Ok(url) => break url,
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) if Instant::now() < deadline => {
                    if let Ok(Some(status)) = serve.child.try_wait() {
                        panic!(
                            "serve ended ({status}) before printing its URL:\n{}",
                            serve.output()
                        );
                    }
                }
                Err(_) => panic!("serve printed no URL in 30 s:\n{}", serve.output()),
            }
        };
        serve
    }

    /// The bridge's address without the fragment: `http://127.0.0.1:PORT/`.
    pub fn base_url(&self) -> &str {
        self.url.split('#').next().unwrap_or(&self.url)
    }

    pub fn port(&self) -> u16 {
        self.base_url()
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .rsplit(':')
            .next()
            .and_then(|port| port.parse().ok())
            .unwrap_or_else(|| panic!("no port in {}", self.url))
    }

    /// The pairing token, from the `#pair=` fragment.
    pub fn token(&self) -> &str {
        self.url.split("#pair=").nth(1).unwrap_or_default()
    }

    /// Everything it printed so far, each line marked `stdout` or `stderr`.
    pub fn output(&self) -> String {
        self.output
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Stops it with SIGTERM, as Ctrl-C would; its exit code, or `None` if it did not stop
    /// within 20 s.
    pub fn terminate(&mut self) -> Option<i32> {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status.code();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }
}

impl Serve {
    /// Kills it with SIGKILL, as a crash or `kill -9` would: nothing gets to clean up.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn append(output: &Mutex<String>, stream: &str, line: &str) {
    let mut output = output.lock().unwrap_or_else(PoisonError::into_inner);
    output.push_str(stream);
    output.push_str(": ");
    output.push_str(line);
    output.push('\n');
}

/// A running sandbox in its own temp dir (free ports, Gmail's defaults unless changed).
#[derive(Debug)]
pub struct Fixture {
    pub sandbox: Sandbox,
    pub dir: TempDir,
}

impl Deref for Fixture {
    type Target = Sandbox;
    fn deref(&self) -> &Sandbox {
        &self.sandbox
    }
}

pub async fn start(name: &str, configure: impl FnOnce(&mut Config)) -> Fixture {
    let dir = TempDir::new(name);
    let mut config = Config::new(dir.path());
    configure(&mut config);
    let sandbox = Sandbox::start(config).await.unwrap_or_else(|e| {
        panic!(
            "sandbox {name} did not start in {}: {e}",
            dir.path().display()
        )
    });
    Fixture { sandbox, dir }
}

/// One Python session on the STARTTLS port (plain until a `secure` or `starttls` step).
pub fn on_starttls(sandbox: &Sandbox, steps: Vec<Value>) -> Value {
    json!({"port": sandbox.starttls_addr().port(), "implicit_tls": false, "steps": steps})
}

/// One Python session on the implicit-TLS port.
pub fn on_tls(sandbox: &Sandbox, steps: Vec<Value>) -> Value {
    json!({"port": sandbox.tls_addr().port(), "implicit_tls": true, "steps": steps})
}

pub fn cmd(line: &str) -> Value {
    json!(["cmd", line])
}

/// Log in with the sandbox's app password over AUTH PLAIN.
pub fn login() -> Value {
    json!(["auth", "PLAIN", USER, PASSWORD])
}

/// A minimal RFC 5322 message that Gmail accepts, with a fresh Message-ID.
pub fn message(subject: &str) -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let unique = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!(
        "From: Ann <ann@example.com>\r\nTo: bob@example.com\r\nSubject: {subject}\r\n\
         Date: Mon, 1 Jan 2024 00:00:00 +0000\r\n\
         Message-ID: <{unique}.{}@mailbridge.test>\r\n\r\nHello from the tests.\r\n",
        std::process::id()
    )
}

/// Python's `sendmail` of [`message`] to bob, after logging in.
pub fn send_steps(subject: &str) -> Vec<Value> {
    vec![
        login(),
        json!([
            "sendmail",
            "ann@example.com",
            ["bob@example.com"],
            message(subject)
        ]),
    ]
}

/// What Python's smtplib saw, session by session.
#[derive(Debug)]
pub struct PyRun {
    pub plan: Value,
    pub output: Value,
    pub stderr: String,
}

/// Runs `sessions` (from [`on_starttls`]/[`on_tls`]) one after another in one Python process.
pub async fn python(sandbox: &Sandbox, sessions: Vec<Value>) -> PyRun {
    let plan = json!({
        "host": "127.0.0.1",
        "cafile": sandbox.ca_cert_path(),
        "timeout": PATIENCE.as_secs(),
        "sessions": sessions,
    });
    run_driver("smtp_driver.py", plan).await
}

/// Runs `tests/sandbox/DRIVER` with `plan` on its standard input and reads the JSON it prints:
/// the Python side of the smtplib and imaplib tests.
pub async fn run_driver(driver: &str, plan: Value) -> PyRun {
    let input = plan.to_string();
    let driver = format!("{}/../tests/sandbox/{driver}", env!("CARGO_MANIFEST_DIR"));
    // Blocking the runtime thread would stall the sandbox serving this very client.
    let output = tokio::task::spawn_blocking(move || {
        let mut child = Command::new("python3")
            .arg(driver)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run python3 (run `cargo xtask setup`?): {e}"));
        if let Some(mut stdin) = child.stdin.take() {
            stdin
                .write_all(input.as_bytes())
                .unwrap_or_else(|e| panic!("cannot write the plan to python3: {e}"));
        }
        child
            .wait_with_output()
            .unwrap_or_else(|e| panic!("python3 did not finish: {e}"))
    })
    .await
    .unwrap_or_else(|e| panic!("python3 runner panicked: {e}"));
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let parsed = serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!(
            "python3 printed no JSON ({e}; status {})\nplan: {plan:#}\nstdout: {stdout}\nstderr: {stderr}",
            output.status
        )
    });
    PyRun {
        plan,
        output: parsed,
        stderr,
    }
}

impl PyRun {
    /// The results of session `index`; result 0 is the greeting.
    pub fn session(&self, index: usize) -> &[Value] {
        self.output["sessions"][index]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_else(|| self.fail(&format!("no session {index}")))
    }

    pub fn result(&self, session: usize, step: usize) -> &Value {
        self.session(session)
            .get(step)
            .unwrap_or_else(|| self.fail(&format!("no result {step} in session {session}")))
    }

    /// The reply to one step, with session ids replaced by `<id>`.
    pub fn reply(&self, session: usize, step: usize) -> (u64, String) {
        let result = self.result(session, step);
        let code = result["code"].as_u64().unwrap_or_else(|| {
            self.fail(&format!(
                "session {session} step {step} got no reply: {result}"
            ))
        });
        (
            code,
            without_ids(result["text"].as_str().unwrap_or_default()),
        )
    }

    /// Asserts the exact reply (code, enhanced code, words) of one step. `text` is as
    /// smtplib reports it: without the code, lines joined by `\n`, ids as `<id>`.
    #[track_caller]
    pub fn assert_reply(&self, session: usize, step: usize, code: u64, text: &str) {
        let got = self.reply(session, step);
        if got != (code, text.to_owned()) {
            self.fail(&format!(
                "session {session} step {step}: expected {code} {text:?}\n got {} {:?}",
                got.0, got.1
            ));
        }
    }

    /// The error class smtplib raised for a step, if any.
    pub fn error(&self, session: usize, step: usize) -> Option<&str> {
        self.result(session, step)["error"].as_str()
    }

    #[track_caller]
    pub fn fail(&self, what: &str) -> ! {
        panic!(
            "{what}\n--- plan ---\n{:#}\n--- results ---\n{:#}\n--- python stderr ---\n{}",
            self.plan, self.output, self.stderr
        )
    }
}

/// Replaces what changes from run to run, so expected texts can be exact: each session id
/// before ` - gsmtp` becomes `<id>`, and the time in `2.0.0 OK  <unix> ...` becomes `<unix>`.
pub fn without_ids(text: &str) -> String {
    let mut pieces: Vec<String> = text.split(" - gsmtp").map(str::to_owned).collect();
    let last = pieces.len() - 1;
    for piece in &mut pieces[..last] {
        if let Some(space) = piece.rfind(' ') {
            piece.truncate(space);
            piece.push_str(" <id>");
        }
    }
    let text = pieces.join(" - gsmtp");
    match text
        .strip_prefix("2.0.0 OK  ")
        .and_then(|rest| rest.split_once(' '))
    {
        Some((time, rest)) if time.parse::<u64>().is_ok() => format!("2.0.0 OK  <unix> {rest}"),
        _ => text,
    }
}

/// A raw SMTP connection for input no SMTP library would send: plain TCP, or TLS (see
/// `sandbox::client`). Its panics print every reply seen so far.
#[derive(Debug)]
pub struct Raw<S = TcpStream> {
    pub stream: BufReader<S>,
    pub seen: String,
}

impl Raw {
    pub async fn connect(addr: SocketAddr) -> Raw {
        let stream = tokio::time::timeout(PATIENCE, TcpStream::connect(addr))
            .await
            .unwrap_or_else(|_| panic!("connecting to {addr} timed out"))
            .unwrap_or_else(|e| panic!("cannot connect to {addr}: {e}"));
        Raw {
            stream: BufReader::new(stream),
            seen: String::new(),
        }
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> Raw<S> {
    /// Writes `bytes` as they are, flushed (over TLS, the record goes out).
    pub async fn send(&mut self, bytes: &[u8]) {
        let stream = self.stream.get_mut();
        let sent = async {
            stream.write_all(bytes).await?;
            stream.flush().await
        };
        sent.await
            .unwrap_or_else(|e| panic!("sending failed: {e}; seen so far:\n{}", self.seen));
    }

    /// The next complete reply (all its lines), or `None` when the server closed the
    /// connection.
    pub async fn reply(&mut self) -> Option<String> {
        let mut reply = String::new();
        loop {
            let mut line = Vec::new();
            let read = tokio::time::timeout(PATIENCE, self.stream.read_until(b'\n', &mut line))
                .await
                .unwrap_or_else(|_| {
                    panic!("no reply within {PATIENCE:?}; seen so far:\n{}", self.seen)
                });
            match read {
                Ok(0) | Err(_) if reply.is_empty() => return None,
                Ok(0) | Err(_) => panic!("connection closed mid-reply: {reply:?}"),
                Ok(_) => {}
            }
            let line = String::from_utf8_lossy(&line).into_owned();
            self.seen.push_str(&line);
            let last = line.as_bytes().get(3) != Some(&b'-');
            reply.push_str(&line);
            if last {
                return Some(reply);
            }
        }
    }

    /// The next reply, which must exist and start with `prefix`.
    pub async fn expect(&mut self, prefix: &str) -> String {
        match self.reply().await {
            Some(reply) if reply.starts_with(prefix) => reply,
            other => panic!(
                "expected a reply starting {prefix:?}, got {other:?}; seen so far:\n{}",
                self.seen
            ),
        }
    }
}

/// Deterministic bytes covering every value, so "byte-exact" means something.
pub fn test_bytes(len: usize) -> Vec<u8> {
    let mut state: u32 = 0x1234_5678;
    (0..len)
        .map(|index| {
            if index < 256 {
                return index as u8;
            }
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            state as u8
        })
        .collect()
}
