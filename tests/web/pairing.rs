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
