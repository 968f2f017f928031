//! "Send test and verify" in the page against the sandbox: the Inbox card with its tab and
//! delivery time; then, with the sandbox's spam fault switched on from the page, the Spam
//! card with its likely causes, kept in the history; and the Mailboxes view with its preset
//! rules.

use super::harness::{Web, run};

/// With `MAILBRIDGE_DOCS_SCREENSHOTS=1`, the Spam card is also saved as `docs/verdict.png`.
const SCREENSHOT_ENV: &str = "MAILBRIDGE_DOCS_SCREENSHOTS";

#[test]
fn send_test_and_verify_shows_the_inbox_card_then_the_spam_card() {
    run("verify", |web| async move {
        let bridge = web.start_bridge("verify");
        web.pair(&bridge).await;
        web.select("#compose-profile", "sandbox").await;
        web.select("#verify-mailbox", "sandbox").await;

        web.click("#compose-send-verify").await;
        web.wait_text("#verdict-placement", "Inbox").await;
        let card = web.text("#verdict-card").await;
        assert!(card.contains("the primary tab"), "{card}");
        assert!(card.contains("after the server's 250"), "{card}");
        assert!(card.contains("Delivered to the Inbox of Sandbox"), "{card}");
        let placement = web
            .js(
                "return document.querySelector('#verdict-card').dataset.placement;",
                vec![],
            )
            .await;
        assert_eq!(placement, "inbox");

        // The fault, switched on from the page: the next message goes to Spam.
        web.click("#verify-spam-next").await;
        web.wait_text("#verify-spam-note", "next 1 message").await;
        web.click("#compose-send-verify").await;
        web.wait_text("#verdict-placement", "Spam").await;
        let causes = web.text("#verdict-causes").await;
        assert!(
            causes.contains("The sandbox's spam rule filed it in Spam"),
            "{causes}"
        );
        assert!(causes.contains("Authentication-Results"), "{causes}");
        let html = web.page_html().await;
        assert!(
            !html.contains(sandbox::DEFAULT_APP_PASSWORD),
            "the password reached the page"
        );
        if std::env::var_os(SCREENSHOT_ENV).is_some() {
            save_screenshot(&web, "#verdict-card", "verdict.png").await;
        }

        // The history keeps the verdict beside the send's transcript, with the IMAP one.
        web.open_view("history").await;
        web.click(".history-entry .history-transcript-toggle").await;
        let kept = web.wait_text(".history-verdict", "Spam").await;
        assert!(kept.contains("Sandbox"), "{kept}");

        // The mailboxes: the sandbox's, and a preset's rules in words.
        web.open_view("mailboxes").await;
        web.wait_text("#mailboxes-list", "Sandbox").await;
        web.select("#mailbox-preset", "Outlook.com").await;
        web.wait_text("#mailbox-rules", "only OAuth").await;
    });
}

async fn save_screenshot(web: &Web, css: &str, file: &str) {
    let element = web.find(css).await;
    web.js(
        "arguments[0].scrollIntoView({ block: 'start' }); return true;",
        vec![serde_json::json!(element)],
    )
    .await;
    let png = element
        .screenshot()
        .await
        .unwrap_or_else(|e| panic!("cannot take a screenshot of `{css}`: {e}"));
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../docs")
        .join(file);
    std::fs::write(&path, &png).unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
    println!("screenshot: {} ({} bytes)", path.display(), png.len());
}
