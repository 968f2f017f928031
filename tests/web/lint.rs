//! Checks before sending, in the page: a draft with two Windows programs attached, one named
//! `setup.exe` and one renamed `report.txt`, is checked; each is a blocker that names its file
//! and says to share it through Google Drive instead, and the skipped spam check says how to
//! turn it on. Send then asks first and sends nothing; "Don't send" closes the question; a
//! changed draft drops it, and checking again does not bring it back unasked; "Send anyway"
//! sends the message, both programs intact, to the sandbox.

use std::time::Duration;

use base64::Engine as _;

use super::harness::{Web, run};

const TO: &str = "frank@example.com";
const SUBJECT: &str = "The installer, attached";
/// Typed after the first check, so the draft is no longer the one checked.
const SUBJECT_CHANGE: &str = " (checked again)";

/// The attachments, by name, and the code of the blocker each should get.
const BLOCKED: &[(&str, &str)] = &[
    ("setup.exe", "blocked-attachment"),
    ("report.txt", "blocked-content"),
];

/// How long the test waits to show that a Send that asks first sent nothing.
const SETTLE: Duration = Duration::from_millis(1500);

#[test]
fn programs_attached_are_blockers_and_send_asks_first() {
    run("lint", |web| async move {
        let bridge = web.start_bridge("a");
        web.pair(&bridge).await;

        web.select("#compose-profile", "sandbox").await;
        web.type_into("#compose-to", &format!("{TO},")).await;
        web.type_into("#compose-subject", SUBJECT).await;
        web.type_into("#compose-text", "Run it once to install.")
            .await;
        let program = windows_program();
        for (name, _) in BLOCKED {
            let path = web.file(name, &program);
            web.choose_file("#compose-attachments", &path).await;
            web.find_with_text(
                r#"#compose-attachment-list li[data-state="uploaded"]"#,
                name,
            )
            .await;
        }

        web.click("#compose-lint").await;
        let summary = web.wait_text("#lint-report .lint-summary", "blocker").await;
        assert!(summary.contains("2 blockers"), "{summary}");
        for (name, code) in BLOCKED {
            let css = format!(
                r#"#lint-report .lint-group[data-check="attachments"] li.finding[data-severity="blocker"][data-code="{code}"]"#
            );
            let finding = web.find_with_text(&css, name).await;
            let fix = finding
                .find(fantoccini::Locator::Css(".fix"))
                .await
                .unwrap_or_else(|e| panic!("the {code} finding for {name} has no fix: {e}"))
                .text()
                .await
                .unwrap_or_default();
            assert!(fix.contains("Google Drive"), "{name}: {fix}");
        }
        // No spamd is configured here, and the panel says how to have one.
        let spam = web
            .text(r#"#lint-report .lint-skipped li[data-check="spam"]"#)
            .await;
        assert!(
            spam.contains("No SpamAssassin is configured") && spam.contains("--spamd"),
            "{spam}"
        );

        // Send asks first, and sends nothing until it is told to.
        web.click("#compose-send").await;
        let question = web.wait_text("#compose-confirm", "2 blockers").await;
        assert!(question.contains("Send it anyway?"), "{question}");
        tokio::time::sleep(SETTLE).await;
        assert_nothing_sent(&web, &bridge.sandbox_store()).await;
        web.click("#compose-send-cancel").await;
        wait_gone(&web, "#compose-confirm").await;

        // A changed draft is not the one the question was about; a new check of it finds the
        // same blockers but asks nothing until Send is pressed again.
        web.click("#compose-send").await;
        web.find("#compose-confirm").await;
        web.type_into("#compose-subject", SUBJECT_CHANGE).await;
        wait_gone(&web, "#compose-confirm").await;
        web.wait_text("#lint-report .lint-summary", "check again")
            .await;
        web.click("#compose-lint").await;
        let summary = fresh_report(&web).await;
        assert!(summary.contains("2 blockers"), "{summary}");
        assert!(
            web.find_all("#compose-confirm").await.is_empty(),
            "checking again asked to send anyway, though Send was not pressed"
        );
        assert_nothing_sent(&web, &bridge.sandbox_store()).await;

        web.click("#compose-send").await;
        web.wait_text("#compose-confirm", "2 blockers").await;
        web.click("#compose-send-anyway").await;
        web.wait_text("#send-result", "Message-ID").await;
        wait_gone(&web, "#compose-confirm").await;

        let subject = format!("{SUBJECT}{SUBJECT_CHANGE}");
        let store = bridge.sandbox_store();
        let summaries = store
            .list()
            .unwrap_or_else(|e| panic!("the sandbox store lists: {e}"));
        let [summary] = summaries.as_slice() else {
            panic!("one message, the one sent anyway, was expected: {summaries:?}");
        };
        assert_eq!(summary.subject, subject);
        let captured = store
            .get(summary.id)
            .unwrap_or_else(|e| panic!("the sandbox store reads: {e}"))
            .unwrap_or_else(|| panic!("message {} vanished", summary.id));
        let names: Vec<Option<&str>> = captured
            .attachments
            .iter()
            .map(|attachment| attachment.filename.as_deref())
            .collect();
        let expected: Vec<Option<&str>> = BLOCKED.iter().map(|(name, _)| Some(*name)).collect();
        assert_eq!(names, expected);
        // Both went out byte for byte: the program's base64 is in the message twice. (The raw
        // message, because the sandbox's parsed copy of a text/plain attachment went through
        // charset decoding.)
        let encoded = base64::engine::general_purpose::STANDARD.encode(&program);
        let unwrapped = captured.raw.replace("\r\n", "");
        assert_eq!(
            unwrapped.matches(&encoded).count(),
            BLOCKED.len(),
            "the programs' bytes in the message sent:\n{}",
            captured.raw
        );
    });
}

/// The smallest file that is recognisably a Windows program: a DOS header ("MZ") whose
/// e_lfanew, at 0x3C, points at the "PE\0\0" signature, followed by a COFF header's machine
/// field (x86-64).
pub fn windows_program() -> Vec<u8> {
    let mut data = vec![0u8; 512];
    data[..2].copy_from_slice(b"MZ");
    data[0x3C..0x40].copy_from_slice(&0x80u32.to_le_bytes());
    data[0x80..0x84].copy_from_slice(b"PE\0\0");
    data[0x84..0x86].copy_from_slice(&0x8664u16.to_le_bytes());
    data
}

/// The page shows no send under way or done, and the sandbox caught no message.
async fn assert_nothing_sent(web: &Web, store: &sandbox::Store) {
    let result = web.text("#send-result").await;
    assert!(result.trim().is_empty(), "a send was shown: {result}");
    let summaries = store
        .list()
        .unwrap_or_else(|e| panic!("the sandbox store lists: {e}"));
    assert!(summaries.is_empty(), "something was sent: {summaries:?}");
}

/// Waits until no element matches `css`.
async fn wait_gone(web: &Web, css: &str) {
    web.eventually(&format!("`{css}` to go"), async || {
        match web.find_all(css).await.len() {
            0 => Ok(()),
            left => Err(format!("{left} still shown")),
        }
    })
    .await;
}

/// Waits for a report of the draft as it is now: one the draft has not changed since.
async fn fresh_report(web: &Web) -> String {
    web.eventually("a report of the draft as it is now", async || {
        let summary = web
            .find_all("#lint-report .lint-summary")
            .await
            .into_iter()
            .next()
            .ok_or_else(|| "no report yet".to_owned())?
            .text()
            .await
            .map_err(|e| e.to_string())?;
        if summary.contains("check again") {
            Err(summary)
        } else {
            Ok(summary)
        }
    })
    .await
}
