//! The views: the address bar names the one on screen, so a reload keeps it and Back returns
//! to the one before.

use super::harness::run;

#[test]
fn the_address_names_the_view_through_a_reload_and_back() {
    run("views", |web| async move {
        let bridge = web.start_bridge("a");
        web.pair(&bridge).await;
        // Paired, the page is on Compose, which the navigation marks as the current view.
        web.find("#compose-heading").await;
        web.find(r##"#nav-compose[aria-current="page"]"##).await;

        // The Outbox is the page's second wasm module's, imported now; its heading takes the
        // focus once it renders, as Compose's does, so a screen reader says where the user is.
        web.open_view("outbox").await;
        web.eventually("the Outbox heading to have the focus", async || {
            let focused = web
                .js(
                    "return document.activeElement && document.activeElement.id;",
                    vec![],
                )
                .await;
            if focused.as_str() == Some("outbox-heading") {
                Ok(())
            } else {
                Err(focused.to_string())
            }
        })
        .await;
        assert_eq!(
            web.js("return document.title;", vec![]).await.as_str(),
            Some("Outbox · mailbridge")
        );
        let url = web.url().await;
        assert!(url.ends_with("#/outbox"), "the address is {url}");
        web.find(r##"#nav-outbox[aria-current="page"]"##).await;
        assert!(
            web.find_all(r##"nav a[aria-current="page"]"##).await.len() == 1,
            "one view is current"
        );

        // A reload keeps the view, and its heading, and stays paired.
        web.reload().await;
        web.wait_connected().await;
        web.wait_text("#outbox-heading", "Outbox").await;
        let url = web.url().await;
        assert!(
            url.ends_with("#/outbox"),
            "after the reload the address is {url}"
        );
        web.nonempty_text("#outbox-summary").await;

        // Back returns to Compose, the view before.
        web.client
            .back()
            .await
            .unwrap_or_else(|e| panic!("Back failed: {e}"));
        web.find("#compose-heading").await;
        web.find(r##"#nav-compose[aria-current="page"]"##).await;
        let url = web.url().await;
        assert!(!url.contains("#/outbox"), "after Back the address is {url}");
        assert!(
            web.find_all("#outbox-heading").await.is_empty(),
            "the Outbox view is gone after Back"
        );
    });
}
