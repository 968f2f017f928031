//! The extension in Firefox (Debian's firefox-esr through geckodriver), against a real
//! `mailbridge serve`. Firefox gives each install its own random `moz-extension://` origin
//! (and its extension pages' WebSockets carry exactly that `Origin`), so the bridge learns it
//! once: refused before `mailbridge pair --firefox`, learned at the first hello with the right
//! token after it, and from then on alone let in; another Firefox extension is refused, a wrong
//! token gets 4401, and the paired extension keeps sending.

use std::path::Path;

use serde_json::{Value, json};

use super::extension::{compose, copy_tree, dist_ext, paste_pairing, probe, stored_pairing};
use super::harness::{FirefoxExtension, run_firefox};
use crate::support::{TempDir, mailbridge};

/// `browser_specific_settings.gecko.id` in `web/extension/manifest.json`.
const GECKO_ID: &str = "mailbridge@mailbridge.dev";
const UUID: &str = "6a1e0f55-2a9b-4f44-9e1d-0123456789ab";
const OTHER_GECKO_ID: &str = "another@mailbridge.test";
const OTHER_UUID: &str = "0b7f9c1e-1111-4c2d-8e3f-abcdefabcdef";

#[test]
fn firefox_is_let_in_only_after_pair_firefox_and_then_alone() {
    let copies = TempDir::new("firefox-other");
    let other = copies.path().join("other");
    copy_tree(&dist_ext(), &other);
    rename_gecko_id(&other, OTHER_GECKO_ID);
    let ours = dist_ext();
    let extensions = [
        FirefoxExtension {
            id: GECKO_ID,
            uuid: UUID,
            dir: &ours,
        },
        FirefoxExtension {
            id: OTHER_GECKO_ID,
            uuid: OTHER_UUID,
            dir: &other,
        },
    ];
    run_firefox("firefox", &extensions, |web| async move {
        let bridge = web.start_bridge("firefox");
        let app = format!("moz-extension://{UUID}/app.html");
        web.open_in_firefox_tab(&app).await;
        web.wait_text("#connection", "mailbridge pair --firefox")
            .await;

        // Before `pair --firefox` the bridge does not know this install's origin.
        paste_pairing(&web, &bridge.serve.url).await;
        web.wait_text("#connection", "No bridge is answering").await;
        web.eventually("the bridge to log the refused Origin", async || {
            let output = bridge.serve.output();
            let refused = output.lines().any(|line| {
                line.contains("refused a WebSocket upgrade") && line.contains("Origin")
            });
            if refused { Ok(()) } else { Err(output) }
        })
        .await;

        let paired = mailbridge(bridge.dir.path())
            .args(["pair", "--firefox"])
            .output()
            .unwrap_or_else(|e| panic!("mailbridge pair --firefox does not run: {e}"));
        assert!(paired.status.success(), "{paired:?}");
        paste_pairing(&web, &bridge.serve.url).await;
        web.wait_connected().await;
        let stored = stored_pairing(&web).await;
        assert_eq!(
            stored["pairingToken"].as_str(),
            Some(bridge.serve.token()),
            "{stored}"
        );
        let learned_path = bridge.dir.path().join("data/firefox-extension.json");
        let learned: Value = serde_json::from_str(
            &std::fs::read_to_string(&learned_path)
                .unwrap_or_else(|e| panic!("{}: {e}", learned_path.display())),
        )
        .unwrap_or_else(|e| panic!("{}: {e}", learned_path.display()));
        assert_eq!(
            learned,
            json!({ "origin": format!("moz-extension://{UUID}"), "learn_until": null })
        );
        let app_tab = web
            .client
            .window()
            .await
            .unwrap_or_else(|e| panic!("no window: {e}"));

        // Another Firefox extension, even with the right code, is too late: the window closed
        // as the bridge learned the first origin.
        web.open_in_firefox_tab(&format!("moz-extension://{OTHER_UUID}/app.html"))
            .await;
        paste_pairing(&web, &bridge.serve.url).await;
        web.wait_text("#connection", "No bridge is answering").await;
        let events = probe(&web, &bridge, bridge.serve.token()).await;
        assert!(
            !events.iter().any(|event| event == "open"),
            "the other Firefox extension opened the WebSocket: {events:?}"
        );
        web.client
            .close_window()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        web.client
            .switch_to_window(app_tab)
            .await
            .unwrap_or_else(|e| panic!("{e}"));

        // The learned origin with a wrong token is refused after the upgrade (4401, counted).
        let events = probe(&web, &bridge, "wrong-token-wrong-token-wrong-token-1234").await;
        assert!(
            events.iter().any(|event| event == "open")
                && events.iter().any(|event| event == "close:4401"),
            "{events:?}"
        );

        // The paired extension still sends, and sees the message arrive.
        web.wait_connected().await;
        compose(&web, "Sent from Firefox").await;
        web.click("#compose-send").await;
        web.wait_text("#send-result", "Message-ID").await;
        web.open_view("inbox").await;
        web.find_with_text("#inbox li[data-message-id]", "Sent from Firefox")
            .await;
    });
}

/// Gives the copy in `dir` another Firefox ID, so Firefox takes it for another extension.
fn rename_gecko_id(dir: &Path, id: &str) {
    let path = dir.join("manifest.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut manifest: Value =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    manifest["browser_specific_settings"]["gecko"]["id"] = json!(id);
    manifest["name"] = json!("mailbridge (another extension)");
    std::fs::write(&path, manifest.to_string())
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
}
