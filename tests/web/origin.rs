//! Any web page a person visits can try the bridge's WebSocket. One from another origin is
//! turned away before the upgrade, even when it knows the pairing token, and the real page is
//! not disturbed.

use std::io::{Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use protocol::{ClientMessage, PROTOCOL_VERSION, Secret};
use serde_json::{Value, json};

use super::harness::run;

/// Opens a WebSocket to `url`, sends `hello` when it opens, and calls `done` with what
/// happened: `open`, `message:<text>`, `error`, `close:<code>`, or `timeout`.
pub(super) const PROBE: &str = r#"
function probe(url, hello, done) {
    const events = [];
    let finished = false;
    const finish = () => {
        if (!finished) {
            finished = true;
            done(events);
        }
    };
    let socket;
    try {
        socket = new WebSocket(url);
    } catch (error) {
        events.push("throw:" + error);
        finish();
        return;
    }
    socket.onopen = () => {
        events.push("open");
        socket.send(hello);
    };
    socket.onmessage = (event) => {
        events.push("message:" + event.data);
        socket.close();
    };
    socket.onerror = () => events.push("error");
    socket.onclose = (event) => {
        events.push("close:" + event.code);
        finish();
    };
    setTimeout(() => {
        events.push("timeout");
        finish();
    }, 10000);
}
"#;

#[test]
fn another_origin_cannot_use_the_bridge_even_with_the_token() {
    run("origin", |web| async move {
        let bridge = web.start_bridge("a");
        web.pair(&bridge).await;
        let app = web
            .client
            .window()
            .await
            .unwrap_or_else(|e| panic!("no window: {e}"));

        // The real token, so that only the Origin check can be what stops it.
        let hello = serde_json::to_string(&ClientMessage::Hello {
            protocol: PROTOCOL_VERSION,
            token: Secret::new(bridge.serve.token()),
            encoding: protocol::Encoding::Json,
        })
        .unwrap_or_else(|e| panic!("{e}"));
        let socket_url = format!("ws://127.0.0.1:{}/ws", bridge.serve.port());
        let page = format!(
            "<!doctype html><meta charset=\"utf-8\"><title>another site</title>\n\
             <p>Just another web page.</p>\n<script>\n{PROBE}\n\
             probe({}, {}, (events) => {{ window.__result = events; }});\n</script>\n",
            json!(socket_url),
            json!(hello)
        );
        let other = OtherOrigin::serve(page);

        let tab = web
            .client
            .new_window(true)
            .await
            .unwrap_or_else(|e| panic!("no new tab: {e}"));
        web.client
            .switch_to_window(tab.handle)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        web.client
            .goto(&other.url())
            .await
            .unwrap_or_else(|e| panic!("cannot open {}: {e}", other.url()));
        let events = web
            .eventually("the other page's WebSocket to finish", async || {
                let result = web.js("return window.__result || null;", vec![]).await;
                happened(&result).ok_or_else(|| "still running".to_owned())
            })
            .await;
        assert!(
            !events
                .iter()
                .any(|event| event == "open" || event.starts_with("message:")),
            "a page from {} opened the bridge's WebSocket: {events:?}",
            other.url()
        );
        // It was the bridge that said no, to the Origin, not the browser.
        web.eventually("the bridge to log that it refused the Origin", async || {
            let output = bridge.serve.output();
            let refused = output.lines().any(|line| {
                line.contains("refused a WebSocket upgrade") && line.contains("Origin")
            });
            if refused { Ok(()) } else { Err(output) }
        })
        .await;
        web.client
            .close_window()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        web.client
            .switch_to_window(app)
            .await
            .unwrap_or_else(|e| panic!("{e}"));

        // The same script on the bridge's own page gets the welcome, so the refusal above was
        // the Origin's doing, not the script's.
        let own = web
            .js_async(
                &format!(
                    "{PROBE}\nconst [url, hello, done] = arguments;\nprobe(url, hello, done);"
                ),
                vec![json!(socket_url), json!(hello)],
            )
            .await;
        let own = happened(&own).unwrap_or_default();
        assert!(
            own.iter()
                .any(|event| event.starts_with("message:") && event.contains("\"welcome\"")),
            "the bridge's own page was not welcomed: {own:?}"
        );

        // And the app, still paired, still sends.
        web.wait_connected().await;
        web.select("#compose-profile", "sandbox").await;
        web.click("#compose-send-test").await;
        web.wait_text("#send-result", "Message-ID").await;
    });
}

/// The events [`PROBE`] reported, once it has.
pub(super) fn happened(result: &Value) -> Option<Vec<String>> {
    serde_json::from_value(result.clone()).ok()
}

/// A web server on another loopback port, so another origin, that answers each GET with what
/// `content` gives for its path (a content type and the body). Stopped when dropped.
pub(super) struct OtherOrigin {
    port: u16,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl OtherOrigin {
    pub(super) fn serve(page: String) -> OtherOrigin {
        OtherOrigin::serve_with(move |_| ("text/html; charset=utf-8", page.clone().into_bytes()))
    }

    fn serve_with(
        content: impl Fn(&str) -> (&'static str, Vec<u8>) + Send + 'static,
    ) -> OtherOrigin {
        let listener = TcpListener::bind("127.0.0.1:0")
            .unwrap_or_else(|e| panic!("cannot listen on 127.0.0.1: {e}"));
        let port = listener
            .local_addr()
            .unwrap_or_else(|e| panic!("{e}"))
            .port();
        let stop = Arc::new(AtomicBool::new(false));
        let thread = std::thread::spawn({
            let stop = stop.clone();
            move || {
                for stream in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    if let Ok(stream) = stream {
                        answer(stream, &content);
                    }
                }
            }
        });
        OtherOrigin {
            port,
            stop,
            thread: Some(thread),
        }
    }

    pub(super) fn url(&self) -> String {
        format!("http://127.0.0.1:{}/", self.port)
    }
}

impl Drop for OtherOrigin {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wakes the accept loop so that it sees the flag.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Reads the request's head and answers with what `content` gives for its path.
fn answer(mut stream: TcpStream, content: &dyn Fn(&str) -> (&'static str, Vec<u8>)) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let mut head = Vec::new();
    let mut buffer = [0u8; 1024];
    while !head.windows(4).any(|window| window == b"\r\n\r\n") && head.len() < 64 * 1024 {
        match stream.read(&mut buffer) {
            Ok(0) | Err(_) => break,
            Ok(read) => head.extend_from_slice(&buffer[..read]),
        }
    }
    let request = String::from_utf8_lossy(&head);
    let path = request.split_whitespace().nth(1).unwrap_or("/").to_owned();
    let (content_type, body) = content(&path);
    let _ = write!(
        stream,
        "HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\
         Cache-Control: no-store\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let _ = stream.write_all(&body);
}

/// The development set-up: the app served from another origin (as `trunk serve` does), paired
/// with `#pair=TOKEN&bridge=HOST:PORT`, reaches a bridge started with `--allow-origin` for
/// that origin, and works.
#[test]
fn the_app_from_a_dev_server_reaches_a_bridge_that_allows_its_origin() {
    run("dev-server", |web| async move {
        let dist = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../dist");
        let dev = OtherOrigin::serve_with(move |path| {
            let file = match path.split(['?', '#']).next().unwrap_or("/") {
                "/" => "index.html",
                other => other.trim_start_matches('/'),
            };
            let content_type = match file.rsplit('.').next() {
                Some("html") => "text/html; charset=utf-8",
                Some("js") => "text/javascript",
                Some("wasm") => "application/wasm",
                Some("css") => "text/css",
                _ => "application/octet-stream",
            };
            // Only files under dist/ (wasm-bindgen's snippets and the views module are in
            // folders), so a path cannot climb out of it.
            let body = if file.split('/').any(|part| part.is_empty() || part == "..") {
                Vec::new()
            } else {
                std::fs::read(dist.join(file)).unwrap_or_default()
            };
            (content_type, body)
        });
        let origin = format!("http://127.0.0.1:{}", dev.port);
        let bridge = web.start_bridge_with("dev", &["--allow-origin", &origin]);
        let address = format!(
            "{}#pair={}&bridge=127.0.0.1:{}",
            dev.url(),
            bridge.serve.token(),
            bridge.serve.port()
        );
        web.client
            .goto(&address)
            .await
            .unwrap_or_else(|e| panic!("cannot open {address}: {e}"));
        web.wait_connected().await;
        let page = web.js("return window.location.href;", vec![]).await;
        assert!(
            page.as_str()
                .is_some_and(|href| href.starts_with(&origin) && !href.contains("pair=")),
            "{page}"
        );
        // It works, not only connects: a test send through the sandbox.
        web.select("#compose-profile", "sandbox").await;
        web.click("#compose-send-test").await;
        web.wait_text("#send-result", "Message-ID").await;
    });
}
