//! Where a captured message is filed, decided once as it is stored (pure): Spam or the Inbox,
//! and which of Gmail's tabs.
//!
//! The rule is meant to be read by the user, not to be clever. Spam when the fault
//! `spam_next` is counting down, or when the score reaches [`SPAM_THRESHOLD`]:
//!
//! | finding | points |
//! |---|---|
//! | the GTUBE test string (SpamAssassin's "this is spam" marker) | 1000 |
//! | no `text/plain` part (HTML only, or no text at all) | 3 |
//! | a From that is not the account that logged in | 3 |
//!
//! So GTUBE alone is spam, and an HTML-only message from another address is spam, but either
//! of the last two alone is not. The tab: `X-Sandbox-Tab: NAME` chooses it outright; else a
//! `List-Unsubscribe` field means Promotions, a `List-Id` Forums, a From at a social network
//! Social, and `Auto-Submitted` (receipts, notifications) Updates; anything else is Primary.

use mail_parser::MimeHeaders as _;
use serde::{Deserialize, Serialize};

/// Points at which a message goes to Spam.
pub const SPAM_THRESHOLD: u32 = 5;

/// SpamAssassin's Generic Test for Unsolicited Bulk Email.
pub const GTUBE: &str = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X";

/// Gmail's tabs in the Inbox: the protocol's, which the bridge reports in its verdicts.
pub use protocol::Tab;

/// Where a message went, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Placement {
    pub spam: bool,
    pub tab: Tab,
    /// Each finding that scored, with its points, in words.
    #[serde(default)]
    pub reasons: Vec<String>,
}

impl Default for Placement {
    fn default() -> Placement {
        Placement {
            spam: false,
            tab: Tab::Primary,
            reasons: Vec::new(),
        }
    }
}

/// Files a message for `account`; `forced_spam` is the `spam_next` fault firing.
pub fn place(raw: &[u8], account: &str, forced_spam: bool) -> Placement {
    let parsed = mail_parser::MessageParser::default().parse(raw);
    let mut score = 0;
    let mut reasons = Vec::new();
    if forced_spam {
        reasons.push("the sandbox's fault \"next messages to spam\" was on".to_owned());
    }
    if contains(raw, GTUBE.as_bytes()) {
        score += 1000;
        reasons.push("the GTUBE test string is in the message (+1000)".to_owned());
    }
    let message = parsed.as_ref();
    let has_text = message.is_some_and(|m| !m.text_body.is_empty() && has_plain_part(m));
    if !has_text {
        score += 3;
        reasons.push("no text/plain part: HTML only or no text (+3)".to_owned());
    }
    let from = message
        .and_then(|m| m.from())
        .and_then(|from| from.first())
        .and_then(|addr| addr.address())
        .map(str::to_owned);
    if !from
        .as_deref()
        .is_some_and(|from| from.eq_ignore_ascii_case(account))
    {
        score += 3;
        reasons.push(format!(
            "the From {} is not the account {account} (+3)",
            from.as_deref().unwrap_or("(none)")
        ));
    }
    let spam = forced_spam || score >= SPAM_THRESHOLD;
    if !spam {
        reasons.clear();
    }
    Placement {
        spam,
        tab: message.map_or(Tab::Primary, tab),
        reasons,
    }
}

fn has_plain_part(message: &mail_parser::Message<'_>) -> bool {
    message.parts.iter().any(|part| {
        let content_type = part.content_type();
        match content_type {
            None => matches!(part.body, mail_parser::PartType::Text(_)),
            Some(ct) => {
                ct.ctype().eq_ignore_ascii_case("text")
                    && ct.subtype().is_none_or(|s| s.eq_ignore_ascii_case("plain"))
            }
        }
    })
}

fn tab(message: &mail_parser::Message<'_>) -> Tab {
    if let Some(chosen) = message.header_raw("X-Sandbox-Tab").and_then(Tab::from_name) {
        return chosen;
    }
    if message.header_raw("List-Unsubscribe").is_some() {
        return Tab::Promotions;
    }
    if message.header_raw("List-Id").is_some() {
        return Tab::Forums;
    }
    const SOCIAL: [&str; 5] = [
        "facebookmail.com",
        "linkedin.com",
        "x.com",
        "twitter.com",
        "instagram.com",
    ];
    let from_domain = message
        .from()
        .and_then(|from| from.first())
        .and_then(|addr| addr.address())
        .and_then(|addr| addr.rsplit_once('@'))
        .map(|(_, domain)| domain.to_ascii_lowercase());
    if from_domain.is_some_and(|domain| {
        SOCIAL
            .iter()
            .any(|social| domain == *social || domain.ends_with(&format!(".{social}")))
    }) {
        return Tab::Social;
    }
    if message
        .header_raw("Auto-Submitted")
        .is_some_and(|value| !value.trim().eq_ignore_ascii_case("no"))
    {
        return Tab::Updates;
    }
    Tab::Primary
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ACCOUNT: &str = "sandbox@mailbridge.test";

    fn message(from: &str, extra: &str, body: &str) -> Vec<u8> {
        format!(
            "From: {from}\r\nTo: a@example.com\r\nSubject: s\r\nMessage-ID: <1@x>\r\n{extra}\r\n{body}"
        )
        .into_bytes()
    }

    fn check(raw: Vec<u8>, forced: bool, spam: bool, tab: Tab) {
        let placement = place(&raw, ACCOUNT, forced);
        assert_eq!(
            (placement.spam, placement.tab),
            (spam, tab),
            "{placement:?} for {}",
            String::from_utf8_lossy(&raw)
        );
        assert_eq!(
            placement.spam,
            !placement.reasons.is_empty(),
            "{placement:?}"
        );
    }

    #[test]
    fn the_spam_rule_and_the_tabs() {
        let html = "MIME-Version: 1.0\r\nContent-Type: text/html\r\n";
        for (raw, forced, spam, tab) in [
            (
                message(ACCOUNT, "", "hello\r\n"),
                false,
                false,
                Tab::Primary,
            ),
            (message(ACCOUNT, "", "hello\r\n"), true, true, Tab::Primary),
            (message(ACCOUNT, "", GTUBE), false, true, Tab::Primary),
            (
                message(ACCOUNT, html, "<p>hi</p>"),
                false,
                false,
                Tab::Primary,
            ),
            (
                message("x@other.example", "", "hi\r\n"),
                false,
                false,
                Tab::Primary,
            ),
            (
                message("x@other.example", html, "<p>hi</p>"),
                false,
                true,
                Tab::Primary,
            ),
            (
                message(ACCOUNT, "List-Unsubscribe: <https://u.example/1>\r\n", "hi"),
                false,
                false,
                Tab::Promotions,
            ),
            (
                message(ACCOUNT, "List-Id: <l.example>\r\n", "hi"),
                false,
                false,
                Tab::Forums,
            ),
            (
                message("n@facebookmail.com", "", "hi"),
                false,
                false,
                Tab::Social,
            ),
            (
                message(ACCOUNT, "Auto-Submitted: auto-generated\r\n", "hi"),
                false,
                false,
                Tab::Updates,
            ),
            (
                message(ACCOUNT, "X-Sandbox-Tab: social\r\n", "hi"),
                false,
                false,
                Tab::Social,
            ),
        ] {
            check(raw, forced, spam, tab);
        }
    }

    #[test]
    fn spam_says_why() {
        let placement = place(
            &message("x@other.example", "Content-Type: text/html\r\n", "<p>x</p>"),
            ACCOUNT,
            false,
        );
        let text = placement.reasons.join("; ");
        assert!(text.contains("no text/plain part"), "{text}");
        assert!(text.contains("x@other.example"), "{text}");
    }

    #[test]
    fn junk_bytes_are_filed_not_refused() {
        let placement = place(b"\xff\xfe\x00garbage", ACCOUNT, false);
        assert!(placement.spam);
    }
}
