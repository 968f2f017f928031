//! A campaign from the page: a 3,000-row CSV (over the 64 KB one message from the page may
//! hold, so it goes up in chunks) is checked; then a 50-row CSV with a bad address and a
//! duplicate replaces it, is checked, both are reported by row, skipped, one row previewed,
//! and the other 48 sent to the sandbox; one of them is then opened in the inbox, and its
//! personalised subject and body, its one-click unsubscribe headers, its visible link and its
//! signed token are checked.

use std::process::Stdio;
use std::time::{Duration, Instant};

use fantoccini::Locator;

use super::harness::{click, run};
use crate::support::mailbridge;

/// `email,name` and 50 rows; row 7 is no address, row 30 repeats row 10 in capitals, and row
/// 5 is an address the sandbox takes and then reports as bounced, as Gmail does a dead one.
fn list() -> String {
    let mut csv = String::from("email,name\n");
    for i in 1..=50 {
        let email = match i {
            5 => "bounce-5@example.com".to_owned(),
            7 => "not-an-address".to_owned(),
            30 => "PERSON10@Example.com".to_owned(),
            _ => format!("person{i}@example.com"),
        };
        csv.push_str(&format!("{email},Person {i}\n"));
    }
    csv
}

/// `email,name` and 3,000 good rows: about 100 KB.
fn large_list() -> String {
    let mut csv = String::from("email,name\n");
    for i in 1..=3000 {
        csv.push_str(&format!("person{i}@example.com,Person {i}\n"));
    }
    assert!(csv.len() > 64 * 1024, "{} bytes", csv.len());
    csv
}

#[test]
fn a_list_with_a_bad_row_and_a_duplicate_sends_the_other_48() {
    run("campaigns", |web| async move {
        let bridge = web.start_bridge("a");
        web.pair(&bridge).await;
        web.open_view("campaigns").await;

        web.select("#campaign-profile", "sandbox").await;
        // A list too large for one message uploads in chunks and is checked whole.
        let path = web.file("large.csv", large_list().as_bytes());
        web.choose_file("#campaign-csv", &path).await;
        web.wait_text("#campaign-file", "Loaded large.csv").await;
        assert_eq!(web.value("#campaign-address-column").await, "email");
        web.type_into("#campaign-subject", "Hello {{ name }}!")
            .await;
        web.type_into(
            "#campaign-text",
            "Dear {{ name }},\nthe news.\nUnsubscribe: {{ unsubscribe_url }}\n",
        )
        .await;
        web.type_into("#campaign-unsubscribe-url", UNSUBSCRIBE)
            .await;
        web.click("#campaign-check-button").await;
        let counts = web.wait_text("#campaign-counts", "3000 to send").await;
        assert!(counts.contains("3000"), "{counts}");

        // The small list replaces it.
        let path = web.file("people.csv", list().as_bytes());
        web.choose_file("#campaign-csv", &path).await;
        web.wait_text("#campaign-file", "Loaded people.csv").await;
        assert_eq!(web.value("#campaign-address-column").await, "email");

        web.click("#campaign-check-button").await;
        let report = web.wait_text("#campaign-check", "row 7").await;
        assert!(report.contains("row 30"), "{report}");
        web.find("#campaign-start[disabled]").await;

        // Skipping the bad rows checks again, and the campaign may start.
        web.click("#campaign-skip").await;
        web.wait_text("#campaign-counts", "48 to send").await;

        web.replace_text("#campaign-row", "3").await;
        web.click("#campaign-preview-button").await;
        web.wait_text("#campaign-preview-subject", "Hello Person 3")
            .await;

        web.click("#campaign-start").await;
        let confirm = web.wait_text("#campaign-confirm", "48").await;
        assert!(confirm.contains("Queue 48 messages"), "{confirm}");
        web.click("#campaign-confirm-start").await;

        // The sandbox takes them at the profile's pace; the progress follows live.
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let shown = web.page_text().await;
            if shown.contains("Sent 48 of 48") {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "after 60 s the page does not show “Sent 48 of 48”:\n{shown}"
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        web.find(r#"#campaign-list tr[data-state="finished"]"#)
            .await;

        // Row 3's message, opened in the sandbox's inbox: personalised, with one-click
        // unsubscribe headers and a visible link whose token this bridge signed.
        web.open_view("inbox").await;
        let item = web
            .find_with_text("#inbox li[data-message-id]", "Hello Person 3!")
            .await;
        let open = item
            .find(Locator::Css(".inbox-open"))
            .await
            .unwrap_or_else(|e| panic!("the inbox entry has no open button: {e}"));
        click(&open, ".inbox-open").await;
        let raw = web
            .eventually("row 3's raw source in #message-raw", async || {
                let raw = web.find("#message-raw").await;
                let source = raw
                    .prop("textContent")
                    .await
                    .map_err(|e| e.to_string())?
                    .unwrap_or_default();
                if source.contains("Hello Person 3!") {
                    Ok(source)
                } else {
                    Err(format!("{} characters without the subject", source.len()))
                }
            })
            .await;
        let (headers, body) = split(&raw);
        let header = |name: &str| -> String {
            headers
                .iter()
                .find_map(|line| {
                    let (key, value) = line.split_once(':')?;
                    key.trim()
                        .eq_ignore_ascii_case(name)
                        .then(|| value.trim().to_owned())
                })
                .unwrap_or_else(|| panic!("no {name} header in {headers:#?}"))
        };
        assert_eq!(header("Subject"), "Hello Person 3!");
        // The campaign took the second file's name, as the list replaced the first.
        assert_eq!(header("List-ID"), "<people.mailbridge.test>");
        assert!(header("To").contains("person3@example.com"), "{headers:#?}");
        assert_eq!(
            header("List-Unsubscribe-Post"),
            "List-Unsubscribe=One-Click"
        );
        let unsubscribe = header("List-Unsubscribe");
        let prefix = UNSUBSCRIBE.trim_end_matches("{token}");
        let token = unsubscribe
            .split(['<', '>'])
            .find_map(|part| part.strip_prefix(prefix))
            .unwrap_or_else(|| panic!("List-Unsubscribe has no {prefix} URL: {unsubscribe}"))
            .to_owned();
        assert!(body.contains("Dear Person 3,"), "{body}");
        assert!(
            body.contains(&format!("Unsubscribe: {prefix}{token}")),
            "the body has no visible link with the header's token:\n{body}"
        );
        let verified = mailbridge(bridge.dir.path())
            .args(["unsubscribe", "verify", &token])
            .stdin(Stdio::null())
            .output()
            .expect("mailbridge runs");
        let said = String::from_utf8_lossy(&verified.stdout);
        assert_eq!(verified.status.code(), Some(0), "{said}");
        assert!(
            said.contains("valid") && said.contains("person3@example.com"),
            "{said}"
        );

        // Row 5 bounced after the sandbox's 250: its report, read from the sending account's
        // inbox in History, shows in the campaign's results with its code.
        web.open_view("history").await;
        web.click("#history-read-bounces").await;
        let note = web.wait_text("#history-bounce-note", "matched").await;
        assert!(note.starts_with("1 bounce(s) matched"), "{note}");
        web.open_view("campaigns").await;
        let show = web.find_with_text("#campaign-list button", "Show").await;
        click(&show, "#campaign-list button").await;
        let bounced = web
            .wait_text("#campaign-bounced tr[data-row]", "bounce-5@example.com")
            .await;
        assert!(
            bounced.contains("row 5")
                && bounced.contains("5.1.1")
                && bounced.contains("suppressed"),
            "{bounced}"
        );
    });
}

/// The unsubscribe URL template the test gives.
const UNSUBSCRIBE: &str = "https://news.example.com/unsubscribe/{token}";

/// A raw message's unfolded header lines, and its body with quoted-printable soft line
/// breaks joined.
fn split(raw: &str) -> (Vec<String>, String) {
    let raw = raw.replace("\r\n", "\n");
    let (head, body) = raw.split_once("\n\n").unwrap_or((&raw, ""));
    let mut lines: Vec<String> = Vec::new();
    for line in head.lines() {
        match lines.last_mut() {
            Some(last) if line.starts_with([' ', '\t']) => {
                last.push(' ');
                last.push_str(line.trim_start());
            }
            _ => lines.push(line.to_owned()),
        }
    }
    (lines, body.replace("=\n", "").replace("=3D", "="))
}
