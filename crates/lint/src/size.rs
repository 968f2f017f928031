//! Size: the encoded size against the server's advertised SIZE and Gmail's 25 MB.
//!
//! Two different limits: the server's SIZE (RFC 1870) bounds the message as sent, encoding and
//! all, and Gmail answers `552 5.3.4` past it; Gmail's 25 MB bounds the attachments themselves,
//! decoded, which is why it advertises a SIZE about a third larger (base64 costs 4 bytes for 3).

use mail_parser::{Message, PartType};
use protocol::{CheckKind, Finding, MAX_ATTACHMENT_TOTAL_BYTES, Severity};

use crate::Context;

pub(crate) fn check(raw: &[u8], ctx: &Context, out: &mut Vec<Finding>) {
    // SIZE 0 means the server announces no limit (RFC 1870 section 4).
    let Some(limit) = ctx.server_size_limit.filter(|&limit| limit > 0) else {
        return;
    };
    let size = sent_size(raw);
    let shown = format!("the message is {} bytes as sent", thousands(size));
    if size > limit {
        out.push(finding(
            Severity::Blocker,
            "over-server-size",
            format!(
                "{shown}; the server accepts at most {} (its SIZE)",
                thousands(limit)
            ),
            "552 5.3.4 \"Your message exceeded Google's message size limits\": the server refuses \
             a message larger than the SIZE it advertises, after it has been uploaded",
        ));
    } else if size.saturating_mul(10) > limit.saturating_mul(9) {
        out.push(finding(
            Severity::Warning,
            "near-server-size",
            format!(
                "{shown}, over 90% of the server's SIZE of {}",
                thousands(limit)
            ),
            "the server counts the message as it arrives, and any header or re-encoding added on \
             the way (a signature, a footer) can push it past the SIZE the server advertises",
        ));
    }
}

/// Gmail's 25 MB for the attachments together, decoded. Called by `attachments::check`, which
/// has the parsed message; lib.rs gives this module only the raw bytes.
pub(crate) fn check_attachments(message: &Message<'_>, out: &mut Vec<Finding>) {
    let total: u64 = message
        .attachments()
        .map(|part| match &part.body {
            // An attached message's `contents()` can be the whole enclosing message (mail_parser
            // keeps one buffer for inline message/rfc822 parts), so its own span is counted.
            PartType::Message(_) => u64::from(part.offset_end.saturating_sub(part.offset_body)),
            _ => part.len() as u64,
        })
        .sum();
    if total > MAX_ATTACHMENT_TOTAL_BYTES {
        out.push(Finding {
            check: CheckKind::Size,
            severity: Severity::Blocker,
            code: "attachments-over-25mb".into(),
            found: format!(
                "the attachments add up to {} bytes decoded; Gmail's limit is 25 MB ({} bytes)",
                thousands(total),
                thousands(MAX_ATTACHMENT_TOTAL_BYTES)
            ),
            location: "the attachments".into(),
            why: "Gmail refuses messages whose attachments add up to more than 25 MB \
                  (support.google.com/mail/answer/6584), whatever the server's SIZE says"
                .into(),
            fix: "upload the large files to Google Drive and send a link to them instead".into(),
        });
    }
}

fn finding(severity: Severity, code: &str, found: String, why: &str) -> Finding {
    Finding {
        check: CheckKind::Size,
        severity,
        code: code.into(),
        found,
        location: "the whole message".into(),
        why: why.into(),
        fix: "make the attachments smaller (compress images, split into several messages), or \
              upload them to Google Drive and send a link"
            .into(),
    }
}

/// The size on the wire: a bare LF goes out as CRLF, so each adds a byte to the raw size.
fn sent_size(raw: &[u8]) -> u64 {
    let bare_lf = raw
        .iter()
        .enumerate()
        .filter(|&(i, &b)| b == b'\n' && (i == 0 || raw[i - 1] != b'\r'))
        .count();
    (raw.len() + bare_lf) as u64
}

/// A count with thousands separators, as findings show them: 35,882,577.
pub(crate) fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

#[cfg(test)]
mod tests {
    use protocol::CheckKind;

    use crate::{Context, check_message};

    /// A message whose one attachment decodes to `attachment` bytes of zeros. The base64 of
    /// zeros is all `A`, so the text is written directly instead of encoding a buffer.
    fn mail(attachment: usize) -> Vec<u8> {
        let mut raw = b"From: a@example.com\r\nTo: b@example.com\r\nDate: Mon, 1 Dec 2025 10:00:00 +0000\r\n\
            Message-ID: <1@example.com>\r\nSubject: big\r\nMIME-Version: 1.0\r\n\
            Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\n\
            hello\r\n--b\r\nContent-Type: application/octet-stream; name=\"zeros.bin\"\r\n\
            Content-Transfer-Encoding: base64\r\n\r\n"
            .to_vec();
        let full_lines = attachment / 57;
        raw.reserve(full_lines * 78 + 100);
        for _ in 0..full_lines {
            raw.extend_from_slice(&[b'A'; 76]);
            raw.extend_from_slice(b"\r\n");
        }
        let rest = attachment % 57;
        if rest > 0 {
            let chars = rest.div_ceil(3) * 4;
            let padding = (3 - rest % 3) % 3;
            raw.extend(std::iter::repeat_n(b'A', chars - padding));
            raw.extend(std::iter::repeat_n(b'=', padding));
            raw.extend_from_slice(b"\r\n");
        }
        raw.extend_from_slice(b"--b--\r\n");
        raw
    }

    fn check(raw: &[u8], limit: Option<u64>, expected: &[&str]) {
        let ctx = Context {
            server_size_limit: limit,
            ..Context::default()
        };
        let findings = check_message(raw, &ctx);
        let codes: Vec<&str> = findings
            .iter()
            .filter(|f| f.check == CheckKind::Size)
            .map(|f| f.code.as_str())
            .collect();
        assert_eq!(
            codes,
            expected,
            "{} bytes, limit {limit:?}: {findings:#?}",
            raw.len()
        );
    }

    #[test]
    fn sizes() {
        let small = mail(10_000);
        let len = small.len() as u64;
        check(&small, None, &[]);
        check(&small, Some(0), &[]);
        check(&small, Some(len * 2), &[]);
        check(&small, Some(len + len / 20), &["near-server-size"]);
        check(&small, Some(len - 1), &["over-server-size"]);
        check(&small, Some(len), &["near-server-size"]);
        // Gmail's own figures: 25 MB of attachments fit its SIZE of 35,882,577 once encoded,
        // so one byte more is refused for the 25 MB, not for the SIZE.
        check(
            &mail(25 * 1024 * 1024),
            Some(35_882_577),
            &["near-server-size"],
        );
        check(
            &mail(25 * 1024 * 1024 + 1),
            Some(35_882_577),
            &["attachments-over-25mb", "near-server-size"],
        );
    }

    #[test]
    fn findings_name_both_figures() {
        let raw = mail(100);
        let ctx = Context {
            server_size_limit: Some(100),
            ..Context::default()
        };
        let findings = check_message(&raw, &ctx);
        let over = findings
            .iter()
            .find(|f| f.code == "over-server-size")
            .expect("an over-size finding");
        assert!(
            over.found.contains("at most 100 (its SIZE)"),
            "{}",
            over.found
        );
        assert!(
            over.found.contains(&super::thousands(raw.len() as u64)),
            "{}",
            over.found
        );
    }

    #[test]
    fn bare_lf_counts_as_crlf() {
        assert_eq!(super::sent_size(b"a\nb\r\nc\n"), 9);
        assert_eq!(super::thousands(35_882_577), "35,882,577");
    }
}
