//! Bounces, pure: RFC 3464 delivery status notifications (`multipart/report;
//! report-type=delivery-status`) read into one [`Bounce`] per failed or delayed recipient,
//! matched to what was sent by Message-ID and recipient, and explained by `diagnosis`.
//!
//! Gmail accepts nearly every message with a 250 and reports a dead address later, as such a
//! report from `mailer-daemon@googlemail.com` in the sender's own inbox; Postfix and others
//! send the same format. A message that only looks like one (a text that quotes a report, a
//! phish) is not a report and is ignored: only the MIME structure counts.

use diagnosis::Diagnosis;
use mail_parser::{MessageParser, MimeHeaders as _, PartType};

/// One recipient a report says was not delivered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bounce {
    pub recipient: String,
    /// `failed` or `delayed` (lowercased).
    pub action: String,
    /// The enhanced status code, such as `5.1.1`.
    pub status: String,
    /// The remote server's words (`Diagnostic-Code`, without its `smtp;` type).
    pub remote_text: Option<String>,
    pub reporting_mta: Option<String>,
    /// The bounced message's Message-ID, without angle brackets.
    pub message_id: Option<String>,
    /// The report's own Message-ID.
    pub report_id: Option<String>,
}

impl Bounce {
    /// A hard bounce: permanent (5.x.x) and final.
    pub fn is_hard(&self) -> bool {
        self.status.starts_with('5') && self.action == "failed"
    }

    /// The remote reply explained; a generic explanation from the status code otherwise.
    pub fn diagnosis(&self) -> Option<Diagnosis> {
        let text = self.remote_text.as_deref().unwrap_or_default();
        diagnosis::explain(text).ok().or_else(|| {
            // A text with no reply code: give the code the status implies.
            let code = if self.status.starts_with('5') {
                550
            } else {
                450
            };
            diagnosis::explain(&format!("{code} {} {text}", self.status)).ok()
        })
    }
}

/// Why a message is not read as a report.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotAReport {
    #[error("the message cannot be parsed as MIME")]
    Unparsable,
    #[error("it is not multipart/report with report-type=delivery-status")]
    NotAReport,
    #[error("the report has no message/delivery-status part")]
    NoStatus,
    #[error("the report names no recipient that failed or was delayed")]
    NoRecipient,
}

/// Reads a report. Field names are matched without regard to case, folded lines are joined,
/// and bare LF line endings are accepted, because reports from broken servers are common.
pub fn parse(raw: &[u8]) -> Result<Vec<Bounce>, NotAReport> {
    let message = MessageParser::default()
        .parse(raw)
        .ok_or(NotAReport::Unparsable)?;
    let is_report = message.content_type().is_some_and(|ct| {
        ct.ctype().eq_ignore_ascii_case("multipart")
            && ct
                .subtype()
                .is_some_and(|s| s.eq_ignore_ascii_case("report"))
            && ct
                .attribute("report-type")
                .is_some_and(|t| t.eq_ignore_ascii_case("delivery-status"))
    });
    if !is_report {
        return Err(NotAReport::NotAReport);
    }
    let mut status_text = None;
    let mut original_id = None;
    for part in &message.parts {
        let Some(ct) = part.content_type() else {
            continue;
        };
        let subtype = ct.subtype().unwrap_or_default().to_ascii_lowercase();
        let ctype = ct.ctype().to_ascii_lowercase();
        match (ctype.as_str(), subtype.as_str()) {
            ("message", "delivery-status" | "global-delivery-status") => {
                status_text.get_or_insert_with(|| part_text(part));
            }
            ("message", "rfc822" | "global") => {
                if let PartType::Message(inner) = &part.body {
                    original_id = original_id.or(inner.message_id().map(str::to_owned));
                }
                if original_id.is_none() {
                    original_id = field(&groups(&part_text(part)), "message-id");
                }
            }
            ("text", "rfc822-headers") => {
                original_id =
                    original_id.or_else(|| field(&groups(&part_text(part)), "message-id"));
            }
            _ => {}
        }
    }
    let status = status_text.ok_or(NotAReport::NoStatus)?;
    let groups = groups(&status);
    let per_message = groups.first().cloned().unwrap_or_default();
    let reporting_mta = field_of(&per_message, "reporting-mta").map(|v| after_type(&v));
    // Gmail names the bounced message here too.
    let message_id = original_id
        .or_else(|| field_of(&per_message, "x-original-message-id"))
        .map(|id| bare_id(&id));
    let report_id = message.message_id().map(str::to_owned);
    let bounces: Vec<Bounce> = groups
        .iter()
        .skip(1)
        .chain(
            // A report whose recipient fields follow the per-message ones without the blank
            // line RFC 3464 wants.
            groups
                .first()
                .filter(|g| field_of(g, "final-recipient").is_some()),
        )
        .filter_map(|group| {
            let recipient = field_of(group, "final-recipient")
                .or_else(|| field_of(group, "original-recipient"))
                .map(|v| after_type(&v))?
                .trim_matches(['<', '>'])
                .to_owned();
            let action = field_of(group, "action")?.to_ascii_lowercase();
            if action != "failed" && action != "delayed" {
                return None;
            }
            let status = field_of(group, "status")
                .and_then(|s| s.split_whitespace().next().map(str::to_owned))
                .filter(|s| s.split('.').count() == 3)
                .unwrap_or_else(|| if action == "failed" { "5.0.0" } else { "4.0.0" }.to_owned());
            Some(Bounce {
                recipient,
                action,
                status,
                remote_text: field_of(group, "diagnostic-code").map(|v| after_type(&v)),
                reporting_mta: reporting_mta.clone(),
                message_id: message_id.clone(),
                report_id: report_id.clone(),
            })
        })
        .collect();
    if bounces.is_empty() {
        return Err(NotAReport::NoRecipient);
    }
    Ok(bounces)
}

/// What was sent, to match reports against.
#[derive(Debug, Clone)]
pub struct Sent {
    /// Without angle brackets.
    pub message_id: String,
    pub recipients: Vec<String>,
}

/// The bounces that belong to a sent message: same Message-ID, and a recipient it was sent
/// to. A report for a message we did not send, or for an address it did not go to, is left
/// out.
pub fn matching<'a>(bounces: &'a [Bounce], sent: &[Sent]) -> Vec<(&'a Bounce, usize)> {
    bounces
        .iter()
        .filter_map(|bounce| {
            let id = bounce.message_id.as_deref()?;
            sent.iter()
                .position(|s| {
                    s.message_id == id
                        && s.recipients
                            .iter()
                            .any(|r| r.trim().eq_ignore_ascii_case(&bounce.recipient))
                })
                .map(|index| (bounce, index))
        })
        .collect()
}

fn part_text(part: &mail_parser::MessagePart<'_>) -> String {
    String::from_utf8_lossy(part.contents()).into_owned()
}

/// Header-like groups separated by blank lines, each a list of (lowercased name, unfolded
/// value).
fn groups(text: &str) -> Vec<Vec<(String, String)>> {
    let mut groups: Vec<Vec<(String, String)>> = vec![Vec::new()];
    for line in text.split('\n') {
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() {
            if groups.last().is_some_and(|g| !g.is_empty()) {
                groups.push(Vec::new());
            }
            continue;
        }
        let Some(group) = groups.last_mut() else {
            continue;
        };
        if line.starts_with([' ', '\t']) {
            if let Some((_, value)) = group.last_mut() {
                value.push(' ');
                value.push_str(line.trim());
            }
        } else if let Some((name, value)) = line.split_once(':') {
            group.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
        }
    }
    groups.retain(|g| !g.is_empty());
    groups
}

fn field_of(group: &[(String, String)], name: &str) -> Option<String> {
    group
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.clone())
        .filter(|v| !v.is_empty())
}

fn field(groups: &[Vec<(String, String)>], name: &str) -> Option<String> {
    groups.iter().find_map(|group| field_of(group, name))
}

/// `rfc822; a@b` → `a@b`; `smtp; 550 ...` → `550 ...`; a value without a type as it is.
fn after_type(value: &str) -> String {
    match value.split_once(';') {
        Some((kind, rest)) if !kind.contains(' ') && !kind.contains('@') => rest.trim().to_owned(),
        _ => value.trim().to_owned(),
    }
}

fn bare_id(id: &str) -> String {
    let id = id.trim();
    id.strip_prefix('<')
        .and_then(|id| id.strip_suffix('>'))
        .unwrap_or(id)
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    const GMAIL: &[u8] = include_bytes!("../../../tests/bridge/dsn/gmail.eml");
    /// Written by Debian's Postfix 3.7.11 itself (see `tests/bridge/dsn/README.md`).
    const POSTFIX: &[u8] = include_bytes!("../../../tests/bridge/dsn/postfix.eml");
    const TWO_RECIPIENTS: &[u8] =
        include_bytes!("../../../tests/bridge/dsn/postfix-two-recipients.eml");
    const MALFORMED: &[u8] = include_bytes!("../../../tests/bridge/dsn/malformed.eml");
    const LOOKALIKE: &[u8] = include_bytes!("../../../tests/bridge/dsn/lookalike.eml");

    /// Recipient, action, status and the bounced Message-ID.
    type Summary = (String, String, String, Option<String>);

    fn summary(raw: &[u8]) -> Result<Vec<Summary>, NotAReport> {
        parse(raw).map(|bounces| {
            bounces
                .into_iter()
                .map(|b| (b.recipient, b.action, b.status, b.message_id))
                .collect()
        })
    }

    #[test]
    fn reports_are_read_whatever_their_sender() {
        let id = |s: &str| Some(s.to_owned());
        for (raw, expected) in [
            (
                GMAIL,
                Ok(vec![(
                    "nobody@example.com".into(),
                    "failed".into(),
                    "5.1.1".into(),
                    id("1.abc@gmail.com"),
                )]),
            ),
            (
                        POSTFIX,
                        Ok(vec![(
                            "gone@dead.example.net".into(),
                            "failed".into(),
                            "5.1.1".into(),
                            id("458af2f6052225cf0b02fac3815219d8@example.com"),
                        )]),
                    ),
            (
                TWO_RECIPIENTS,
                Ok(vec![
                    (
                        "gone@example.net".into(),
                        "failed".into(),
                        "5.1.1".into(),
                        id("2.def@example.org"),
                    ),
                    (
                        "slow@example.net".into(),
                        "delayed".into(),
                        "4.4.1".into(),
                        id("2.def@example.org"),
                    ),
                ]),
            ),
            (
                MALFORMED,
                Ok(vec![(
                    "full@example.org".into(),
                    "failed".into(),
                    "5.2.2".into(),
                    id("3.ghi@example.org"),
                )]),
            ),
            (LOOKALIKE, Err(NotAReport::NotAReport)),
            (b"not a message at all".as_slice(), Err(NotAReport::NotAReport)),
            (
                b"Content-Type: multipart/report; report-type=delivery-status; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nx\r\n--b--\r\n"
                    .as_slice(),
                Err(NotAReport::NoStatus),
            ),
        ] {
            assert_eq!(summary(raw), expected, "{}", String::from_utf8_lossy(raw));
        }
    }

    #[test]
    fn bounces_are_explained_and_hard_ones_told_apart() {
        let gmail = parse(GMAIL).expect("gmail");
        let bounce = &gmail[0];
        assert!(bounce.is_hard());
        let remote = bounce.remote_text.as_deref().unwrap_or_default();
        assert!(
            remote.starts_with("550-5.1.1 The email account"),
            "{remote}"
        );
        let diagnosis = bounce.diagnosis().expect("explained");
        assert!(
            diagnosis.title.to_lowercase().contains("does not exist")
                || diagnosis.title.to_lowercase().contains("no such"),
            "{diagnosis:#?}"
        );
        assert_eq!(bounce.reporting_mta.as_deref(), Some("googlemail.com"));
        let postfix = parse(POSTFIX).expect("postfix");
        assert!(postfix[0].is_hard());
        assert_eq!(
            postfix[0].remote_text.as_deref(),
            Some("mailbox unavailable")
        );
        assert!(postfix[0].diagnosis().is_some());
        let two = parse(TWO_RECIPIENTS).expect("two recipients");
        assert!(two[0].is_hard());
        assert!(!two[1].is_hard(), "a delay is not a hard bounce");
        let malformed = parse(MALFORMED).expect("malformed");
        assert!(malformed[0].is_hard());
        assert!(
            malformed[0].diagnosis().is_some(),
            "explained from its status alone"
        );
    }

    #[test]
    fn only_what_was_sent_is_matched() {
        let postfix = parse(TWO_RECIPIENTS).expect("two recipients");
        let sent = [
            Sent {
                message_id: "other@x".into(),
                recipients: vec!["gone@example.net".into()],
            },
            Sent {
                message_id: "2.def@example.org".into(),
                recipients: vec!["GONE@example.net".into()],
            },
        ];
        let matched = matching(&postfix, &sent);
        assert_eq!(
            matched.len(),
            1,
            "slow@ was not a recipient of what was sent"
        );
        assert_eq!(
            (matched[0].0.recipient.as_str(), matched[0].1),
            ("gone@example.net", 1)
        );
        assert!(matching(&postfix, &[]).is_empty());
    }
}
