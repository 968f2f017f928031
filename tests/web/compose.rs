//! Composing in the page: recipients as chips, an attachment uploaded from disk, a send to the
//! sandbox read back in the inbox byte for byte, and a draft that outlives a reload.

use fantoccini::Locator;
use fantoccini::key::Key;
use serde_json::{Value, json};

use super::harness::{Web, click, run};
use crate::support::test_bytes;

const SUBJECT: &str = "Quarterly figures from the browser";
const TO: &str = "bob@example.com";
/// Typed but never turned into a chip: it is sent all the same.
const TO_LEFT_IN_INPUT: &str = "dave@example.com";
const CC: &str = "carol@example.com";
const BCC: &str = "hidden-bcc@example.com";
const ATTACHMENT: &str = "figures-q3.bin";

#[test]
fn a_message_with_an_attachment_arrives_without_its_bcc() {
    run("send", |web| async move {
        let bridge = web.start_bridge("a");
        web.pair(&bridge).await;

        web.select("#compose-profile", "sandbox").await;
        // A comma or Enter turns an address into a chip.
        web.type_into("#compose-to", &format!("{TO},")).await;
        web.type_into("#compose-to", TO_LEFT_IN_INPUT).await;
        web.type_into("#compose-cc", &format!("{CC},")).await;
        web.type_into("#compose-bcc", &(BCC.to_owned() + &Key::Enter))
            .await;
        for (field, address) in [("compose-to", TO), ("compose-cc", CC), ("compose-bcc", BCC)] {
            wait_chip(&web, field, address).await;
        }
        web.type_into("#compose-subject", SUBJECT).await;
        web.type_into(
            "#compose-text",
            "Hello from Chromium.\nThe figures are attached.",
        )
        .await;

        let bytes = test_bytes(300 * 1024);
        let path = web.file(ATTACHMENT, &bytes);
        web.choose_file("#compose-attachments", &path).await;
        web.find_with_text(
            r#"#compose-attachment-list li[data-state="uploaded"]"#,
            ATTACHMENT,
        )
        .await;

        web.click("#compose-send").await;
        web.wait_text("#send-result", "Message-ID").await;
        let message_id = web.nonempty_text("#send-result-message-id").await;
        let message_id = message_id
            .trim()
            .trim_start_matches('<')
            .trim_end_matches('>');
        assert!(message_id.contains('@'), "{message_id:?}");

        // The sandbox's inbox has it; open it and read its source.
        web.open_view("inbox").await;
        let item = web
            .find_with_text("#inbox li[data-message-id]", SUBJECT)
            .await;
        let open = item
            .find(Locator::Css(".inbox-open"))
            .await
            .unwrap_or_else(|e| panic!("the inbox entry has no open button: {e}"));
        click(&open, ".inbox-open").await;
        web.find("#message-view").await;
        let raw = web
            .eventually("the raw source in #message-raw", async || {
                let raw = web.find("#message-raw").await;
                let source = raw
                    .prop("textContent")
                    .await
                    .map_err(|e| e.to_string())?
                    .unwrap_or_default();
                if source.contains(SUBJECT) {
                    Ok(source)
                } else {
                    Err(format!("{} characters without the subject", source.len()))
                }
            })
            .await;
        let headers = headers(&raw);
        let header = |name: &str| -> Vec<&String> {
            headers
                .iter()
                .filter(|line| {
                    line.split_once(':')
                        .is_some_and(|(key, _)| key.trim().eq_ignore_ascii_case(name))
                })
                .collect()
        };
        assert!(header("bcc").is_empty(), "a Bcc header: {headers:#?}");
        assert!(
            !raw.contains(BCC),
            "the Bcc address is in the message:\n{headers:#?}"
        );
        assert!(
            header("cc").iter().any(|line| line.contains(CC)),
            "{headers:#?}"
        );
        let to = header("to");
        assert!(
            to.iter()
                .any(|line| line.contains(TO) && line.contains(TO_LEFT_IN_INPUT)),
            "{headers:#?}"
        );
        assert!(
            header("message-id")
                .iter()
                .any(|line| line.contains(message_id)),
            "the Message-ID shown after sending is the message's: {message_id}\n{headers:#?}"
        );

        // The attachment downloads under its name, byte for byte.
        let link = web.find("#message-view a.attachment-download").await;
        let download = link
            .attr("download")
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .unwrap_or_default();
        assert_eq!(download, ATTACHMENT);
        let href = link
            .attr("href")
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .unwrap_or_default();
        let downloaded = web.fetch_bytes(&href).await;
        assert!(
            downloaded == bytes,
            "the download differs from the file: {} bytes, {} expected",
            downloaded.len(),
            bytes.len()
        );

        // The sandbox itself agrees: Bcc only in the envelope, the attachment intact.
        let store = bridge.sandbox_store();
        let summaries = store
            .list()
            .unwrap_or_else(|e| panic!("the sandbox store lists: {e}"));
        let summary = summaries
            .iter()
            .find(|summary| summary.subject == SUBJECT)
            .unwrap_or_else(|| panic!("the sandbox did not capture it: {summaries:?}"));
        let captured = store
            .get(summary.id)
            .unwrap_or_else(|e| panic!("the sandbox store reads: {e}"))
            .unwrap_or_else(|| panic!("message {} vanished", summary.id));
        assert!(
            captured.envelope.rcpt_to.iter().any(|rcpt| rcpt == BCC),
            "{:?}",
            captured.envelope
        );
        assert!(!captured.raw.contains(BCC));
        assert_eq!(captured.attachments.len(), 1, "{:?}", captured.summary);
        assert!(captured.attachments[0].content == bytes);
    });
}

#[test]
fn a_draft_is_back_after_a_reload() {
    run("draft", |web| async move {
        let bridge = web.start_bridge("a");
        web.pair(&bridge).await;

        let subject = "Half-written, then the tab reloaded";
        let text = "First line.\nSecond line, unfinished";
        let to = "erin@example.com";
        web.type_into("#compose-to", &format!("{to},")).await;
        wait_chip(&web, "compose-to", to).await;
        web.type_into("#compose-subject", subject).await;
        web.type_into("#compose-text", text).await;

        // The page saves the draft about a second after the last key; wait for it rather than
        // for the second. It is postcard in base64, where the texts stand as they are.
        web.eventually("the draft in localStorage", async || {
            let saved = web
                .js(
                    "const saved = window.localStorage.getItem('mailbridge.draft.v2'); return saved === null ? null : atob(saved);",
                    vec![],
                )
                .await;
            match saved.as_str() {
                Some(saved) if saved.contains(subject) && saved.contains(to) => Ok(()),
                _ => Err(saved.to_string()),
            }
        })
        .await;

        web.reload().await;
        web.eventually("the subject to be back", async || {
            let value = web.value("#compose-subject").await;
            if value == subject { Ok(()) } else { Err(value) }
        })
        .await;
        assert_eq!(web.value("#compose-text").await, text);
        wait_chip(&web, "compose-to", to).await;
    });
}

/// Waits until the chip input `id` shows a chip with `address`.
pub(super) async fn wait_chip(web: &Web, id: &str, address: &str) {
    web.eventually(&format!("a chip {address:?} in #{id}"), async || {
        let chips = chips(web, id).await;
        if chips.iter().any(|chip| chip.contains(address)) {
            Ok(())
        } else {
            Err(format!("{chips:?}"))
        }
    })
    .await;
}

/// The texts of the chips that belong to the chip input `id`: the `.chip`s in the closest
/// element around the input that holds chips but no other recipient input.
async fn chips(web: &Web, id: &str) -> Vec<String> {
    let found: Value = web
        .js(
            r##"
            const [id] = arguments;
            const others = ["compose-to", "compose-cc", "compose-bcc"].filter((other) => other !== id);
            const input = document.getElementById(id);
            let node = input ? input.parentElement : null;
            while (node && !others.some((other) => node.querySelector("#" + other))) {
                const chips = node.querySelectorAll(".chip");
                if (chips.length > 0) {
                    return Array.from(chips, (chip) => chip.textContent);
                }
                node = node.parentElement;
            }
            return [];
            "##,
            vec![json!(id)],
        )
        .await;
    serde_json::from_value(found).unwrap_or_default()
}

/// The header lines of a raw message, continuation lines unfolded.
fn headers(raw: &str) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    for line in raw.lines() {
        let line = line.trim_end_matches('\r');
        if line.is_empty() {
            break;
        }
        match lines.last_mut() {
            Some(last) if line.starts_with([' ', '\t']) => {
                last.push(' ');
                last.push_str(line.trim_start());
            }
            _ => lines.push(line.to_owned()),
        }
    }
    lines
}
