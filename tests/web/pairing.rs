//! Pairing as a person does it: open the address `mailbridge serve` printed.

use serde_json::json;

use super::harness::{PAIRING_KEY, run};

#[test]
fn the_printed_address_pairs_hides_the_token_and_survives_a_reload() {
    run("pairing", |web| async move {
        let bridge = web.start_bridge("a");
        web.pair(&bridge).await;

        // The token leaves the address bar (and so bookmarks, history and shared links) but
        // stays with the tab.
        let href = web.js("return window.location.href;", vec![]).await;
        let href = href.as_str().unwrap_or_default();
        assert!(
            !href.contains("pair="),
            "the address still has the token: {href}"
        );
        assert!(
            href.starts_with(bridge.serve.base_url()),
            "the page moved away from the bridge: {href}"
        );
        let stored = web
            .js(
                "return window.sessionStorage.getItem(arguments[0]);",
                vec![json!(PAIRING_KEY)],
            )
            .await;
        assert_eq!(
            stored.as_str(),
            Some(bridge.serve.token()),
            "sessionStorage[{PAIRING_KEY:?}] holds the pairing token"
        );

        // A reload finds the token in the tab and connects again.
        web.reload().await;
        web.wait_connected().await;
        let href = web.js("return window.location.href;", vec![]).await;
        assert!(
            !href.as_str().unwrap_or_default().contains("pair="),
            "{href}"
        );
    });
}

/// Going to another page and back, more times than the bridge takes connections at once, ends
/// "Connected" every time: a page that is left lets go of its connection.
#[test]
fn leaving_and_coming_back_reconnects_every_time() {
    run("leave-and-return", |web| async move {
        let bridge = web.start_bridge("leave-and-return");
        web.pair(&bridge).await;
        // The bridge serves 4 connections at once; 6 round trips would exhaust them if a page
        // kept its socket after it was left (Chromium's back/forward cache keeps pages alive).
        for round in 1..=6 {
            web.client
                .goto("about:blank")
                .await
                .unwrap_or_else(|e| panic!("round {round}: cannot leave the page: {e}"));
            web.client
                .goto(&bridge.serve.url)
                .await
                .unwrap_or_else(|e| panic!("round {round}: cannot come back: {e}"));
            web.wait_connected().await;
        }
    });
}
