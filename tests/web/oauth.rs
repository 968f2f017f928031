//! "Connect Google account" in the page: the client file picked in the profile editor, consent
//! in a tab the page opens (oidc-provider approves by itself, as a person clicking Allow), and
//! the token's health shown where the profile is. The bridge's sandbox checks the real token by
//! introspection when the profile is checked.

use serde_json::json;

use super::harness::run;
use crate::oauth_provider::Provider;

const ROW: &str = r#"tr[data-profile-id="sandbox"]"#;

#[test]
fn connect_google_account_in_the_page_gives_a_healthy_token_the_sandbox_accepts() {
    run("oauth-connect", |web| async move {
        let provider = Provider::start();
        let introspection = provider.introspection();
        let secret_file = web.file(
            "introspection-secret",
            introspection.client_secret.as_bytes(),
        );
        let secret_path = secret_file.display().to_string();
        let bridge = web.start_bridge_with(
            "a",
            &[
                "--sandbox-oauth-introspection",
                &introspection.url,
                "--sandbox-oauth-client-id",
                &introspection.client_id,
                "--sandbox-oauth-client-secret-file",
                &secret_path,
            ],
        );
        web.pair(&bridge).await;
        web.open_view("profiles").await;
        web.click(&format!("{ROW} .profile-edit")).await;
        web.select("#profile-auth", "oauth2").await;
        web.click("#profile-save").await;
        web.find("#oauth-panel").await;
        web.wait_text("#oauth-state", "not configured").await;

        // Google's client_secret.json, as downloaded, pointed at the test server.
        let client = provider.client();
        let file = json!({"installed": {
            "client_id": client.client_id,
            "project_id": "mailbridge-test",
            "auth_uri": provider.endpoint("authorization_endpoint"),
            "token_uri": provider.endpoint("token_endpoint"),
            "client_secret": client.client_secret.expose(),
            "redirect_uris": ["http://localhost"],
        }});
        let path = web.file("client_secret.json", file.to_string().as_bytes());
        web.choose_file("#oauth-client-file", &path).await;
        web.wait_text("#oauth-state", "needs consent").await;
        web.wait_text("#oauth-health", &client.client_id).await;

        let page = web.client.window().await.expect("the page's window");
        web.click("#oauth-connect").await;
        web.wait_text("#oauth-state", "healthy").await;
        web.wait_text("#oauth-health", "https://mail.google.com/")
            .await;
        web.wait_text(&format!("{ROW} .secret"), "token: healthy")
            .await;

        // The tab the page opened went through consent and shows the bridge's answer.
        let windows = web.client.windows().await.expect("the windows");
        let tab = windows
            .into_iter()
            .find(|window| *window != page)
            .expect("the page opened a tab for consent");
        web.client.switch_to_window(tab).await.expect("to the tab");
        let answer = web.page_text().await;
        assert!(answer.contains("mailbridge is connected"), "{answer}");
        web.client.close_window().await.expect("the tab closes");
        web.client
            .switch_to_window(page)
            .await
            .expect("back to the page");

        // The secret is nowhere in the page.
        let html = web.page_html().await;
        assert!(!html.contains(client.client_secret.expose()), "{html}");

        // The sandbox signs the profile in with the token the bridge got.
        web.click(&format!("{ROW} .profile-check")).await;
        web.nonempty_text("#check-report #check-verdict").await;
        let steps = web
            .js(
                "return Array.from(document.querySelectorAll('#check-report #check-steps li'), \
                 (li) => [li.getAttribute('data-step'), li.getAttribute('data-status')]);",
                vec![],
            )
            .await;
        let steps: Vec<(String, String)> =
            serde_json::from_value(steps.clone()).unwrap_or_else(|e| panic!("{e}: {steps}"));
        assert!(
            steps.contains(&("auth".to_owned(), "ok".to_owned())),
            "{steps:?}\n{}",
            web.page_text().await
        );

        // OAUTHBEARER, chosen in the panel: the next check signs in with it.
        web.select("#oauth-mechanism", "oauthbearer").await;
        web.wait_text("#oauth-status", "Saved the mechanism").await;
        web.click(&format!("{ROW} .profile-check")).await;
        web.wait_text(
            r#"#check-report #check-steps li[data-step="auth"]"#,
            "with OAUTHBEARER",
        )
        .await;

        // The sandbox's mailbox is the same account: set to sign in with this profile's
        // tokens, "Send test and verify" reads its verdict over IMAP with them. It has no
        // password or pasted token to fall back on, so an Inbox card means the tokens worked.
        web.open_view("mailboxes").await;
        web.select("#mailbox-signin-sandbox", "sandbox").await;
        let stored = bridge.dir.path().join("config").join("mailboxes.json");
        web.eventually("the mailbox linked to the profile", async || {
            let text = std::fs::read_to_string(&stored).unwrap_or_default();
            if text.contains("\"oauth_profile\": \"sandbox\"") {
                Ok(())
            } else {
                Err(text)
            }
        })
        .await;
        web.open_view("compose").await;
        web.select("#compose-profile", "sandbox").await;
        web.select("#verify-mailbox", "sandbox").await;
        web.click("#compose-send-verify").await;
        web.wait_text("#verdict-placement", "Inbox").await;

        if let Some(dir) = std::env::var_os("MAILBRIDGE_SCREENSHOT_DIR") {
            web.js(
                "document.querySelector('#oauth-panel').scrollIntoView({block: 'center'}); return 0;",
                vec![],
            )
            .await;
            let png = web
                .find("#oauth-panel")
                .await
                .screenshot()
                .await
                .expect("a screenshot of the panel");
            let path = std::path::Path::new(&dir).join("token-health.png");
            std::fs::write(&path, png).expect("the screenshot is written");
        }
    });
}
