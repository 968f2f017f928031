//! The browser extension as a person uses it: `dist-ext/` (built by `cargo xtask extension`)
//! loaded unpacked into headless Chromium, against a real `mailbridge serve`. It is paired
//! once by pasting what `mailbridge pair` printed, is still paired after the browser restarts
//! with the same profile, sends a message with an attachment to the sandbox, and asks again
//! after `mailbridge pair --reset`. Other extensions, wrong tokens and other pages are refused
//! while the paired extension keeps working.

use std::path::{Path, PathBuf};
use std::time::Instant;

use fantoccini::Locator;
use mailbridge::server::EXTENSION_ID;
use protocol::{ClientMessage, PROTOCOL_VERSION, Secret};
use serde_json::{Value, json};

use super::compose::wait_chip;
use super::harness::{Bridge, Web, click, extension_args, run_with};
use super::origin::{OtherOrigin, PROBE, happened};
use crate::support::{TempDir, mailbridge, test_bytes};

/// Another public key (its private half was never kept): a copy of the extension built with it
/// is another extension, with [`OTHER_ID`].
const OTHER_KEY: &str = "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA5394d3oDN07qv89dHr8+ziNEZ7NBTThpUfgVWxacSdEyHBu+KYMPcehC4jZP1hrma6sT3Okna8HNLafxk0GIXE1V7wfmk70XiMM27YY8oIFH0SR4WhI+RgPMUnz6ejG/TK+wzAOjVzXEgIXB75jv+L/Le6W2tfoByVzE7uk7Bm+6vOAdtl/qtKqC5OaoY/7hiQPgu6gDTylHVNCFvRNhuxF9Kr9VeKUJ3l2UEzGCV6Kp6f3/ucLM9p8I9MS70ab9AwiQgZ5hsw3g4DYYQgkmf8Q6/kVhaSC942hziIQCP68IUELu2LsYRrdc2sRZTfXyyILJ5RlDv/3nQFl46pCb3wIDAQAB";
const OTHER_ID: &str = "phddfdpibifcmjniieehnclcogcodncm";

const SUBJECT: &str = "Sent from the mailbridge extension";
const ATTACHMENT: &str = "extension-figures.bin";

/// The extension is the page's own build: every file Trunk wrote beside `index.html`, the wasm
/// included, is in `dist-ext/` byte for byte, and so is the second module's.
#[test]
fn the_extension_carries_the_pages_wasm() {
    let dist = Path::new(env!("CARGO_MANIFEST_DIR")).join("../dist");
    let dist_ext = dist_ext();
    let mut wasm = 0;
    for entry in std::fs::read_dir(&dist)
        .unwrap_or_else(|e| panic!("{}: {e}", dist.display()))
        .map_while(Result::ok)
    {
        let name = entry.file_name();
        if name == "index.html" || entry.path().is_dir() {
            continue;
        }
        wasm += usize::from(name.to_string_lossy().ends_with(".wasm"));
        let page = std::fs::read(entry.path()).unwrap_or_else(|e| panic!("{e}"));
        let extension = std::fs::read(dist_ext.join(&name)).unwrap_or_else(|e| {
            panic!("dist-ext/ lacks {name:?} ({e}); run `cargo xtask extension` again")
        });
        assert!(page == extension, "dist-ext/{name:?} differs from dist/'s");
    }
    assert_eq!(wasm, 1, "one wasm in {}", dist.display());
    // The second module, with every view but Compose, which the first imports from there.
    for name in ["views/views.js", "views/views_bg.wasm"] {
        let page = std::fs::read(dist.join(name)).unwrap_or_else(|e| panic!("dist/{name}: {e}"));
        let extension = std::fs::read(dist_ext.join(name)).unwrap_or_else(|e| {
            panic!("dist-ext/ lacks {name} ({e}); run `cargo xtask extension` again")
        });
        assert!(page == extension, "dist-ext/{name} differs from dist/'s");
    }
    let app = std::fs::read_to_string(dist_ext.join("app.html")).unwrap_or_default();
    assert!(
        app.contains("<script type=\"module\" src=\"/app.js\"></script>")
            && !app.contains("import init"),
        "app.html must load its bootstrap from app.js, with no inline script:\n{app}"
    );
}

#[test]
fn the_extension_pairs_once_stays_paired_across_a_restart_and_sends() {
    let profile = TempDir::new("extension-profile");
    let args = extension_args(&[&dist_ext()], profile.path());
    run_with("extension", &args.clone(), |web| async move {
        let bridge = web.start_bridge("extension");
        open_app(&web, EXTENSION_ID).await;
        web.wait_text("#connection", "Not paired with a bridge yet")
            .await;
        screenshot(&web, "extension-pairing.png").await;
        // The whole line `mailbridge serve` (and `mailbridge pair`) prints, as a person copies
        // it: the link names the bridge's port too.
        paste_pairing(&web, &bridge.serve.url).await;
        web.wait_connected().await;
        let stored = stored_pairing(&web).await;
        assert_eq!(
            stored["pairingToken"].as_str(),
            Some(bridge.serve.token()),
            "{stored}"
        );
        assert_eq!(
            stored["bridgeAddress"].as_str(),
            Some(format!("127.0.0.1:{}", bridge.serve.port()).as_str()),
            "{stored}"
        );

        // A new browser on the same profile: the extension is still paired, with no pasting.
        let web = web.restart_browser(&args).await;
        let opened = Instant::now();
        open_app(&web, EXTENSION_ID).await;
        web.wait_connected().await;
        let waited = opened.elapsed();
        let connected_at = web
            .js(
                "const mark = performance.getEntriesByName('mailbridge:connected')[0];\
                 return mark ? mark.startTime : null;",
                vec![],
            )
            .await;
        // The figure README gives: opening app.html to a paired, connected app.
        println!(
            "extension: app.html opened to Connected in {:.0} ms (navigation to the Welcome, by the page's own clock: {} ms)",
            waited.as_secs_f64() * 1000.0,
            connected_at
                .as_f64()
                .map_or("?".to_owned(), |ms| format!("{ms:.0}"))
        );

        send_with_attachment(&web, &bridge).await;
        screenshot(&web, "extension.png").await;

        // `mailbridge pair --reset` makes the stored code stale; the extension says so and
        // takes the new one, given as the bare code this time.
        let reset = mailbridge(bridge.dir.path())
            .args(["pair", "--reset"])
            .output()
            .unwrap_or_else(|e| panic!("mailbridge pair --reset does not run: {e}"));
        let printed = String::from_utf8_lossy(&reset.stdout);
        assert!(reset.status.success(), "{printed}");
        let new_token = printed
            .lines()
            .find_map(|line| line.split("#pair=").nth(1))
            .unwrap_or_else(|| panic!("no new pairing address in: {printed}"))
            .trim()
            .to_owned();
        assert_ne!(new_token, bridge.serve.token());
        web.reload().await;
        web.wait_text("#connection", "refused this extension's pairing code")
            .await;
        paste_pairing(&web, &new_token).await;
        web.wait_connected().await;
        let stored = stored_pairing(&web).await;
        assert_eq!(
            stored["pairingToken"].as_str(),
            Some(new_token.as_str()),
            "{stored}"
        );
    });
}

#[test]
fn other_extensions_wrong_tokens_and_pages_are_refused_while_the_paired_one_works() {
    let profile = TempDir::new("extension-refusals-profile");
    let copies = TempDir::new("extension-other");
    let other = other_extension(copies.path());
    let args = extension_args(&[&dist_ext(), &other], profile.path());
    run_with("extension-refusals", &args, |web| async move {
        let bridge = web.start_bridge("extension-refusals");
        open_app(&web, EXTENSION_ID).await;
        paste_pairing(&web, &bridge.serve.url).await;
        web.wait_connected().await;
        let app = web
            .client
            .window()
            .await
            .unwrap_or_else(|e| panic!("no window: {e}"));

        // Another extension, given the right code, is turned away before the upgrade: for it
        // no bridge answers, and the bridge logs the Origin it refused.
        new_tab(&web).await;
        open_app(&web, OTHER_ID).await;
        paste_pairing(&web, &bridge.serve.url).await;
        let shown = web.wait_text("#connection", "No bridge is answering").await;
        // It says how to start one, the login service included.
        assert!(
            shown.contains("mailbridge serve") && shown.contains("mailbridge service install"),
            "{shown}"
        );
        let events = probe(&web, &bridge, bridge.serve.token()).await;
        assert!(
            !events.iter().any(|event| event == "open"),
            "the other extension opened the WebSocket: {events:?}"
        );
        web.eventually("the bridge to log the refused Origin", async || {
            let output = bridge.serve.output();
            let refused = output.lines().any(|line| {
                line.contains("refused a WebSocket upgrade") && line.contains("Origin")
            });
            if refused { Ok(()) } else { Err(output) }
        })
        .await;

        // A web page on another origin, with the right token, is refused the same way.
        let socket_url = format!("ws://127.0.0.1:{}/ws", bridge.serve.port());
        let page = format!(
            "<!doctype html><meta charset=\"utf-8\"><title>another site</title>\n<script>\n{PROBE}\n\
             probe({}, {}, (events) => {{ window.__result = events; }});\n</script>\n",
            json!(socket_url),
            json!(hello(bridge.serve.token()))
        );
        let site = OtherOrigin::serve(page);
        web.client
            .goto(&site.url())
            .await
            .unwrap_or_else(|e| panic!("cannot open {}: {e}", site.url()));
        let events = web
            .eventually("the other page's WebSocket to finish", async || {
                let result = web.js("return window.__result || null;", vec![]).await;
                happened(&result).ok_or_else(|| "still running".to_owned())
            })
            .await;
        assert!(
            !events.iter().any(|event| event == "open"),
            "a page from {} opened the WebSocket: {events:?}",
            site.url()
        );
        web.client
            .close_window()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        web.client
            .switch_to_window(app)
            .await
            .unwrap_or_else(|e| panic!("{e}"));

        // The right extension with a wrong token: the upgrade happens, the hello is refused
        // (4401), and the two failures lock pairing, so that even the right token is refused
        // for a while.
        for attempt in 1..=2 {
            let events = probe(&web, &bridge, "wrong-token-wrong-token-wrong-token-1234").await;
            assert!(
                events.iter().any(|event| event == "open")
                    && events.iter().any(|event| event == "close:4401"),
                "wrong token, attempt {attempt}: {events:?}"
            );
        }
        let events = probe(&web, &bridge, bridge.serve.token()).await;
        assert!(
            events.iter().any(|event| event == "close:4401")
                && !events.iter().any(|event| event.starts_with("message:")),
            "the right token during the lockout: {events:?}"
        );

        // All the while, the paired extension works: it sends and sees the message arrive.
        web.wait_connected().await;
        compose(&web, "Still working during the lockout").await;
        web.click("#compose-send").await;
        web.wait_text("#send-result", "Message-ID").await;
        web.open_view("inbox").await;
        web.find_with_text(
            "#inbox li[data-message-id]",
            "Still working during the lockout",
        )
        .await;
    });
}

/// The unpacked extension `cargo xtask extension` built; the test fails (never skips) without.
pub(super) fn dist_ext() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../dist-ext");
    assert!(
        dir.join("manifest.json").is_file() && dir.join("app.html").is_file(),
        "The browser extension is not built ({} has no manifest.json and app.html). Run \
         `cargo xtask extension` in the source folder, then run the tests again.",
        dir.display()
    );
    dir
}

/// A copy of the extension with [`OTHER_KEY`] in place of the pinned key.
fn other_extension(folder: &Path) -> PathBuf {
    let copy = folder.join("other");
    copy_tree(&dist_ext(), &copy);
    let manifest_path = copy.join("manifest.json");
    let manifest = std::fs::read_to_string(&manifest_path)
        .unwrap_or_else(|e| panic!("{}: {e}", manifest_path.display()));
    let mut manifest: Value = serde_json::from_str(&manifest)
        .unwrap_or_else(|e| panic!("{}: {e}", manifest_path.display()));
    manifest["key"] = json!(OTHER_KEY);
    manifest["name"] = json!("mailbridge (another extension)");
    std::fs::write(&manifest_path, manifest.to_string())
        .unwrap_or_else(|e| panic!("{}: {e}", manifest_path.display()));
    copy
}

pub(super) fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap_or_else(|e| panic!("{}: {e}", to.display()));
    let entries = std::fs::read_dir(from).unwrap_or_else(|e| panic!("{}: {e}", from.display()));
    for entry in entries.map_while(Result::ok) {
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target)
                .unwrap_or_else(|e| panic!("{}: {e}", target.display()));
        }
    }
}

async fn open_app(web: &Web, id: &str) {
    let url = format!("chrome-extension://{id}/app.html");
    web.client
        .goto(&url)
        .await
        .unwrap_or_else(|e| panic!("cannot open {url} (is the extension loaded?): {e}"));
}

pub(super) async fn paste_pairing(web: &Web, text: &str) {
    // The form empties the field after each pairing, so typing is pasting.
    web.type_into("#pairing-code", text).await;
    web.click("#pairing-submit").await;
}

async fn new_tab(web: &Web) {
    let tab = web
        .client
        .new_window(true)
        .await
        .unwrap_or_else(|e| panic!("no new tab: {e}"));
    web.client
        .switch_to_window(tab.handle)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
}

/// What the extension keeps in `chrome.storage.local`.
pub(super) async fn stored_pairing(web: &Web) -> Value {
    web.js_async(
        "const done = arguments[0];\
         chrome.storage.local.get(['pairingToken', 'bridgeAddress']).then(done, (e) => done(String(e)));",
        vec![],
    )
    .await
}

pub(super) fn hello(token: &str) -> String {
    serde_json::to_string(&ClientMessage::Hello {
        protocol: PROTOCOL_VERSION,
        token: Secret::new(token),
        encoding: protocol::Encoding::Json,
    })
    .unwrap_or_else(|e| panic!("{e}"))
}

/// A WebSocket to the bridge from the page in the current tab (so with its Origin), saying
/// hello with `token`; what happened to it.
pub(super) async fn probe(web: &Web, bridge: &Bridge, token: &str) -> Vec<String> {
    let socket_url = format!("ws://127.0.0.1:{}/ws", bridge.serve.port());
    let script = format!("{PROBE}\nprobe(arguments[0], arguments[1], arguments[2]);");
    let result = web
        .js_async(&script, vec![json!(socket_url), json!(hello(token))])
        .await;
    happened(&result).unwrap_or_else(|| panic!("the probe reported {result}"))
}

pub(super) async fn compose(web: &Web, subject: &str) {
    web.select("#compose-profile", "sandbox").await;
    web.type_into("#compose-to", "bob@example.com,").await;
    wait_chip(web, "compose-to", "bob@example.com").await;
    web.type_into("#compose-subject", subject).await;
    web.type_into("#compose-text", "Hello from the extension.")
        .await;
}

/// Composes and sends a message with an attachment, then finds it in the inbox and, byte for
/// byte, in the sandbox's store.
async fn send_with_attachment(web: &Web, bridge: &Bridge) {
    compose(web, SUBJECT).await;
    let bytes = test_bytes(100 * 1024);
    let path = web.file(ATTACHMENT, &bytes);
    web.choose_file("#compose-attachments", &path).await;
    web.find_with_text(
        r#"#compose-attachment-list li[data-state="uploaded"]"#,
        ATTACHMENT,
    )
    .await;
    web.click("#compose-send").await;
    web.wait_text("#send-result", "Message-ID").await;
    web.open_view("inbox").await;
    let item = web
        .find_with_text("#inbox li[data-message-id]", SUBJECT)
        .await;
    let open = item
        .find(Locator::Css(".inbox-open"))
        .await
        .unwrap_or_else(|e| panic!("the inbox entry has no open button: {e}"));
    click(&open, ".inbox-open").await;
    web.find_with_text("#message-view a.attachment-download", ATTACHMENT)
        .await;
    let store = bridge.sandbox_store();
    let summaries = store
        .list()
        .unwrap_or_else(|e| panic!("the sandbox store lists: {e}"));
    let summary = summaries
        .iter()
        .find(|summary| summary.subject == SUBJECT)
        .unwrap_or_else(|| panic!("the sandbox did not capture it: {summaries:?}"));
    let captured = store
        .get(summary.id)
        .unwrap_or_else(|e| panic!("the sandbox store reads: {e}"))
        .unwrap_or_else(|| panic!("message {} vanished", summary.id));
    assert_eq!(captured.attachments.len(), 1, "{:?}", captured.summary);
    assert!(captured.attachments[0].content == bytes);
}

/// With `MAILBRIDGE_SCREENSHOT_DIR` set, a PNG of the extension's tab as it is now.
async fn screenshot(web: &Web, name: &str) {
    let Some(dir) = std::env::var_os("MAILBRIDGE_SCREENSHOT_DIR") else {
        return;
    };
    let png = web
        .client
        .screenshot()
        .await
        .unwrap_or_else(|e| panic!("no screenshot: {e}"));
    let path = Path::new(&dir).join(name);
    std::fs::write(&path, png).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
}
