//! A campaign from the page: a 3,000-row CSV (over the 64 KB one message from the page may
//! hold, so it goes up in chunks) is checked; then a 50-row CSV with a bad address and a
//! duplicate replaces it, is checked, both are reported by row, skipped, one row previewed,
//! and the other 48 sent to the sandbox.

use std::time::{Duration, Instant};

use super::harness::run;

/// `email,name` and 50 rows; row 7 is no address and row 30 repeats row 10 in capitals.
fn list() -> String {
    let mut csv = String::from("email,name\n");
    for i in 1..=50 {
        let email = match i {
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
        web.type_into("#campaign-subject", "Hello {{ name }}").await;
        web.type_into("#campaign-text", "Dear {{ name }},\nthe news.\n")
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
    });
}
