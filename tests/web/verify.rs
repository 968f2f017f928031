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

/// Issue 12 in the page, beyond "Send test and verify": an ordinary Send with "verify at" a
/// mailbox (refused, naming the field, while the mailbox is no recipient; then the verdict
/// card beside the send's result), a bounce read from the sending account's mailbox shown on
/// its send in History, and the Mailboxes view's team file (exported without a secret,
/// imported) and its Delete button.
#[test]
fn verify_at_on_send_bounces_in_history_and_the_mailboxes_team_file() {
    run("verify-at", |web| async move {
        let bridge = web.start_bridge("verify-at");
        web.pair(&bridge).await;
        web.select("#compose-profile", "sandbox").await;
        web.type_into("#compose-to", "bob@example.com,").await;
        super::compose::wait_chip(&web, "compose-to", "bob@example.com").await;
        web.type_into("#compose-subject", "Verified from Send")
            .await;
        web.type_into("#compose-text", "hello").await;
        web.select("#compose-verify-at", "sandbox").await;
        web.click("#compose-send").await;
        let refused = web
            .wait_text("#send-result", "Verify_at: the recipients")
            .await;
        assert!(refused.contains("To, Cc or Bcc"), "{refused}");

        web.type_into("#compose-cc", &format!("{},", sandbox::DEFAULT_USER))
            .await;
        super::compose::wait_chip(&web, "compose-cc", sandbox::DEFAULT_USER).await;
        web.click("#compose-send").await;
        web.wait_text("#send-result #send-verdict-placement", "Inbox")
            .await;
        let result = web.text("#send-result").await;
        assert!(result.contains("Message sent"), "{result}");
        assert!(result.contains("bob@example.com"), "{result}");

        // A dead address: Gmail's 250 now, the report later in the sender's inbox.
        web.select("#compose-verify-at", "").await;
        web.type_into("#compose-to", "bounce-3@example.com,").await;
        super::compose::wait_chip(&web, "compose-to", "bounce-3@example.com").await;
        web.click("#compose-send").await;
        web.wait_text("#send-result", "Message sent").await;
        web.open_view("history").await;
        web.click("#history-read-bounces").await;
        web.wait_text("#history-bounce-note", "1 bounce(s) matched")
            .await;
        let badge = web
            .wait_text(
                ".history-bounce[data-bounced='bounce-3@example.com']",
                "bounced",
            )
            .await;
        assert!(badge.contains("5.1.1"), "{badge}");
        assert!(badge.contains("suppression list"), "{badge}");
        assert!(badge.contains("The remote server said"), "{badge}");

        // The team file: exported without a secret, imported, and a mailbox deleted.
        web.open_view("mailboxes").await;
        web.wait_text("#mailboxes-list", "Sandbox").await;
        web.click("#mailboxes-export").await;
        let link = web.find("#mailboxes-export-link").await;
        let href = link
            .attr("href")
            .await
            .ok()
            .flatten()
            .expect("the export link has an address");
        let exported = web.fetch_text(&href).await;
        assert!(exported.contains("mailbridge-mailboxes"), "{exported}");
        assert!(
            !exported.contains(sandbox::DEFAULT_APP_PASSWORD),
            "{exported}"
        );
        let team = serde_json::json!({
            "format": "mailbridge-mailboxes",
            "version": 1,
            "mailboxes": [{
                "id": "team-fm", "name": "Team Fastmail", "preset": "fastmail",
                "host": "imap.fastmail.com", "port": 993, "security": "tls",
                "username": "team@fastmail.com", "auth": "app_password"
            }]
        });
        let file = web.file("team-mailboxes.json", team.to_string().as_bytes());
        web.choose_file("#mailboxes-import", &file).await;
        web.wait_text("#mailboxes-list", "Team Fastmail").await;
        let row = web.text("#mailboxes-list tr[data-mailbox='team-fm']").await;
        assert!(row.contains("missing"), "no secret came with it: {row}");
        web.click("#mailboxes-list tr[data-mailbox='team-fm'] .mailbox-delete")
            .await;
        web.eventually("the deleted mailbox gone", async || {
            let list = web.text("#mailboxes-list").await;
            if list.contains("Team Fastmail") {
                Err(list)
            } else {
                Ok(())
            }
        })
        .await;
        // A broken team file is refused with the field named.
        let broken = team.to_string().replace("993", "0");
        let file = web.file("broken-mailboxes.json", broken.as_bytes());
        web.choose_file("#mailboxes-import", &file).await;
        web.wait_text("#mailboxes-io-error", "port").await;
    });
}
