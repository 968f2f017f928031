//! What the sandbox reads out of a message body: Gmail's RFC 5322 checks, and the parsed view
//! (headers, text, HTML, attachments) the inbox shows. Pure: no IO.

use mail_parser::{Address, HeaderName, HeaderValue, Message, MessageParser, MimeHeaders};

use crate::store::{Attachment, HeaderLine};

/// Why Gmail would refuse a message as not RFC 5322 compliant (`550 5.7.1`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Problem {
    MissingMessageId,
    /// No From header, two of them, or one without an address.
    BadFrom,
}

/// Checks the header rules Gmail enforces: exactly one From with an address, and a
/// Message-ID.
pub fn check(raw: &[u8]) -> Result<(), Problem> {
    let Some(message) = MessageParser::new().parse_headers(raw) else {
        return Err(Problem::MissingMessageId);
    };
    let has_message_id = message.message_id().is_some_and(|id| !id.trim().is_empty());
    if !has_message_id {
        return Err(Problem::MissingMessageId);
    }
    let from_count = message
        .headers()
        .iter()
        .filter(|header| matches!(header.name, HeaderName::From))
        .count();
    let from_has_address = message
        .from()
        .and_then(Address::first)
        .and_then(|addr| addr.address())
        .is_some_and(|address| address.contains('@'));
    if from_count != 1 || !from_has_address {
        return Err(Problem::BadFrom);
    }
    Ok(())
}

/// The Message-ID without its angle brackets, as mail-parser reads it; `None` when there is none.
pub fn message_id(raw: &[u8]) -> Option<String> {
    let message = MessageParser::new().parse_headers(raw)?;
    let id = message.message_id()?.trim();
    (!id.is_empty()).then(|| id.to_owned())
}

/// The fields an inbox line shows: From as written, the To and Cc addresses, and the
/// subject. Empty when the message lacks them (the caller falls back to the envelope).
pub fn summary_fields(raw: &[u8]) -> (Option<String>, Vec<String>, String) {
    let Some(message) = MessageParser::new().parse_headers(raw) else {
        return (None, Vec::new(), String::new());
    };
    let from = message.from().and_then(Address::first).map(display_addr);
    let to = message
        .to()
        .into_iter()
        .chain(message.cc())
        .flat_map(Address::iter)
        .map(display_addr)
        .collect();
    let subject = message.subject().unwrap_or_default().to_owned();
    (from, to, subject)
}

fn display_addr(addr: &mail_parser::Addr<'_>) -> String {
    match (addr.name(), addr.address()) {
        (Some(name), Some(address)) => format!("{name} <{address}>"),
        (None, Some(address)) => address.to_owned(),
        (Some(name), None) => name.to_owned(),
        (None, None) => String::new(),
    }
}

/// The parsed body of a message, as the inbox shows it.
#[derive(Debug, Default)]
pub struct Parsed {
    pub headers: Vec<HeaderLine>,
    pub text: Option<String>,
    pub html: Option<String>,
    pub attachments: Vec<Attachment>,
}

pub fn parse(raw: &[u8]) -> Parsed {
    let Some(message) = MessageParser::new().parse(raw) else {
        return Parsed::default();
    };
    // mail-parser converts between text and HTML when a message lacks one of them; the inbox
    // should show only what the sender actually wrote, so only genuine parts count.
    let text = message
        .text_bodies()
        .find(|part| part.is_text() && !part.is_text_html())
        .and_then(|part| part.text_contents())
        .map(str::to_owned);
    let html = message
        .html_bodies()
        .find(|part| part.is_text_html())
        .and_then(|part| part.text_contents())
        .map(str::to_owned);
    let attachments = message
        .attachments()
        .map(|part| {
            let content_type = part
                .content_type()
                .map(|ct| match ct.subtype() {
                    Some(subtype) => format!("{}/{}", ct.ctype(), subtype),
                    None => ct.ctype().to_owned(),
                })
                .unwrap_or_else(|| "application/octet-stream".to_owned());
            let content = original_bytes(&message, part);
            Attachment {
                filename: part.attachment_name().map(str::to_owned),
                content_type,
                size_bytes: content.len() as u64,
                content,
            }
        })
        .collect();
    Parsed {
        headers: headers(&message),
        text,
        html,
        attachments,
    }
}

/// The top-level headers in order. Unstructured values (Subject and unknown headers) are
/// shown decoded; structured ones as written, unfolded, so nothing is lost in a re-rendering.
fn headers(message: &Message<'_>) -> Vec<HeaderLine> {
    let raw = message.raw_message.as_ref();
    message
        .headers()
        .iter()
        .map(|header| {
            let value = match &header.value {
                HeaderValue::Text(text) => unfold(text),
                _ => {
                    let start = header.offset_start as usize;
                    let end = header.offset_end as usize;
                    let bytes = raw.get(start..end).unwrap_or_default();
                    unfold(&String::from_utf8_lossy(bytes))
                }
            };
            HeaderLine {
                name: header.name().to_owned(),
                value,
            }
        })
        .collect()
}

fn unfold(value: &str) -> String {
    value.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// An attachment's bytes as they were sent. mail_parser decodes a `text/*` attachment into
/// UTF-8 text, which would hand back a different file (a Latin-1 CSV, a program renamed
/// `.txt`); its transfer encoding is undone here from the raw part instead.
fn original_bytes(
    message: &mail_parser::Message<'_>,
    part: &mail_parser::MessagePart<'_>,
) -> Vec<u8> {
    use mail_parser::decoders::{base64::base64_decode, quoted_printable::quoted_printable_decode};
    use mail_parser::{Encoding, PartType};
    if !matches!(part.body, PartType::Text(_) | PartType::Html(_)) {
        return part.contents().to_vec();
    }
    let raw = message.raw_message();
    let (start, end) = (
        part.raw_body_offset() as usize,
        part.raw_end_offset() as usize,
    );
    let Some(body) = raw.get(start..end.min(raw.len())) else {
        return part.contents().to_vec();
    };
    match part.encoding {
        Encoding::Base64 => base64_decode(body),
        Encoding::QuotedPrintable => quoted_printable_decode(body),
        Encoding::None => Some(body.to_vec()),
    }
    .unwrap_or_else(|| part.contents().to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_headers(raw: &str, expected: Result<(), Problem>) {
        assert_eq!(check(raw.as_bytes()), expected, "message:\n{raw}");
    }

    #[test]
    fn gmail_header_rules() {
        let good = "From: Ann <ann@example.com>\r\nMessage-ID: <1@example.com>\r\n\r\nHi\r\n";
        check_headers(good, Ok(()));
        check_headers("From: ann@example.com\r\nMessage-Id: <x@y>\r\n\r\n", Ok(()));
        check_headers(
            "From: ann@example.com\r\nSubject: no id\r\n\r\nHi\r\n",
            Err(Problem::MissingMessageId),
        );
        check_headers(
            "Message-ID: <1@example.com>\r\nSubject: no from\r\n\r\nHi\r\n",
            Err(Problem::BadFrom),
        );
        check_headers(
            "From: a@example.com\r\nFrom: b@example.com\r\nMessage-ID: <1@x>\r\n\r\nHi\r\n",
            Err(Problem::BadFrom),
        );
        check_headers(
            "From: Ann\r\nMessage-ID: <1@x>\r\n\r\nHi\r\n",
            Err(Problem::BadFrom),
        );
        check_headers(
            "just some text without headers",
            Err(Problem::MissingMessageId),
        );
        check_headers("", Err(Problem::MissingMessageId));
    }

    #[test]
    fn summary_prefers_headers() {
        let raw = "From: =?utf-8?q?Ann_=C3=A9?= <ann@example.com>\r\nTo: bob@example.com, \
                   Carl <carl@example.com>\r\nCc: dan@example.com\r\nSubject: =?utf-8?b?SGkg4pyT?=\r\n\r\nx";
        let (from, to, subject) = summary_fields(raw.as_bytes());
        assert_eq!(from.as_deref(), Some("Ann é <ann@example.com>"));
        assert_eq!(
            to,
            [
                "bob@example.com",
                "Carl <carl@example.com>",
                "dan@example.com"
            ]
        );
        assert_eq!(subject, "Hi ✓");
    }

    #[test]
    fn message_ids_lose_their_brackets() {
        let id = |raw: &str| message_id(raw.as_bytes());
        assert_eq!(
            id("Message-ID: <1.2@example.com>\r\n\r\nx").as_deref(),
            Some("1.2@example.com")
        );
        assert_eq!(
            id("message-id:\r\n <folded@x>\r\n\r\n").as_deref(),
            Some("folded@x")
        );
        assert_eq!(id("Subject: none\r\n\r\nx"), None);
    }

    #[test]
    fn text_attachments_come_back_byte_for_byte() {
        // A Latin-1 CSV in base64 and in quoted-printable, and one sent as 8bit: each must be
        // the file the sender attached, not its UTF-8 reading.
        let latin1 = b"name;city\nRen\xe9;Z\xfcrich\n".to_vec();
        let raw = [
            &b"From: a@example.com\r\nMessage-ID: <1@example.com>\r\nMIME-Version: 1.0\r\n\
               Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nhi\r\n\
               --b\r\nContent-Type: text/csv; charset=iso-8859-1; name=a.csv\r\n\
               Content-Disposition: attachment; filename=a.csv\r\nContent-Transfer-Encoding: base64\r\n\r\n\
               bmFtZTtjaXR5ClJlbuk7WvxyaWNoCg==\r\n\
               --b\r\nContent-Type: text/csv; charset=iso-8859-1; name=b.csv\r\n\
               Content-Disposition: attachment; filename=b.csv\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n\
               name;city=0ARen=E9;Z=FCrich=0A\r\n\
               --b\r\nContent-Type: text/csv; charset=iso-8859-1; name=c.csv\r\n\
               Content-Disposition: attachment; filename=c.csv\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"[..],
            &latin1,
            b"\r\n--b--\r\n",
        ]
        .concat();
        let parsed = parse(&raw);
        let files: Vec<(&str, &[u8])> = parsed
            .attachments
            .iter()
            .map(|a| (a.filename.as_deref().unwrap_or(""), a.content.as_slice()))
            .collect();
        assert_eq!(files.len(), 3, "{files:?}");
        assert_eq!(files[0], ("a.csv", latin1.as_slice()));
        assert_eq!(files[1].0, "b.csv");
        assert_eq!(
            files[1].1.strip_suffix(b"\r\n").unwrap_or(files[1].1),
            latin1.as_slice()
        );
        assert_eq!(files[2].0, "c.csv");
        assert!(files[2].1.starts_with(&latin1), "{:?}", files[2].1);
    }

    #[test]
    fn parse_keeps_header_order_and_only_real_parts() {
        let raw = "Subject: plain\r\nFrom: a@b.c\r\nX-Long: one\r\n two\r\n\r\nbody text\r\n";
        let parsed = parse(raw.as_bytes());
        let names: Vec<_> = parsed.headers.iter().map(|h| h.name.as_str()).collect();
        assert_eq!(names, ["Subject", "From", "X-Long"]);
        assert_eq!(parsed.headers[2].value, "one two");
        assert_eq!(parsed.text.as_deref(), Some("body text\r\n"));
        assert_eq!(parsed.html, None);
        assert!(parsed.attachments.is_empty());
    }
}
