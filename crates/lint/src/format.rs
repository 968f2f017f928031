//! Format: exactly one From, Date and Message-ID; lines of at most 998 octets; valid
//! encodings; a text/plain alternative for HTML mail.
//!
//! Google's sender rules (since February 2024) want messages formatted to RFC 5322, and Gmail
//! refuses ones that are not with `550 5.7.1 ... RfcMessageNonCompliant`. The raw checks run on
//! the bytes, since a message that fails them may not parse; the rest run on each MIME part.

use mail_parser::decoders::charsets::map::charset_decoder;
use mail_parser::{Message, MessagePart, MimeHeaders, PartType};
use protocol::{CheckKind, Finding, Severity};

pub(crate) fn check_raw(raw: &[u8], out: &mut Vec<Finding>) {
    lines(raw, out);
    header_fields(raw, out);
}

pub(crate) fn check(message: &Message<'_>, out: &mut Vec<Finding>) {
    parts(message, "", out);
    text_alternative(message, out);
}

/// RFC 5322 section 2.1.1: at most 998 octets on a line, CRLF excluded.
const MAX_LINE: usize = 998;

fn finding(
    severity: Severity,
    code: &str,
    found: String,
    location: String,
    why: &str,
    fix: &str,
) -> Finding {
    Finding {
        check: CheckKind::Format,
        severity,
        code: code.into(),
        found,
        location,
        why: why.into(),
        fix: fix.into(),
    }
}

/// Line lengths and line ends, in one pass over the bytes.
fn lines(raw: &[u8], out: &mut Vec<Finding>) {
    let mut long = 0usize;
    let mut first_long = None;
    let mut crlf = 0usize;
    let mut bare_lf = 0usize;
    let mut first_bare_lf = None;
    let mut first_bare_cr = None;
    let mut segments = raw.split(|&b| b == b'\n').peekable();
    let mut number = 0usize;
    while let Some(segment) = segments.next() {
        number += 1;
        let ended_by_lf = segments.peek().is_some();
        let content = match segment.strip_suffix(b"\r") {
            Some(content) if ended_by_lf => {
                crlf += 1;
                content
            }
            _ => {
                if ended_by_lf {
                    bare_lf += 1;
                    first_bare_lf.get_or_insert(number);
                }
                segment
            }
        };
        if first_bare_cr.is_none() && content.contains(&b'\r') {
            first_bare_cr = Some(number);
        }
        if content.len() > MAX_LINE {
            long += 1;
            first_long.get_or_insert((number, content.len()));
        }
    }
    if let Some((line, octets)) = first_long {
        let count = if long == 1 {
            "1 line is".to_owned()
        } else {
            format!("{long} lines are")
        };
        out.push(finding(
            Severity::Blocker,
            "line-too-long",
            format!("{count} longer than 998 octets; the first is line {line}, of {octets} octets"),
            format!("line {line}"),
            "RFC 5322 (section 2.1.1) limits a line to 998 octets; servers on the way refuse such \
             a message or break the line, which corrupts the text or a signature",
            "encode long body lines as quoted-printable or base64 (mail libraries do when asked), \
             and fold long header fields over several lines",
        ));
    }
    let line_ends = "SMTP requires CRLF at the end of every line (RFC 5321 section 2.3.8); servers \
                     treat a lone CR or LF differently (the basis of SMTP smuggling), so some refuse \
                     the message and others rewrite it, which breaks DKIM signatures";
    let line_ends_fix = "end every line with CRLF, or every line with LF and let the mail client \
                         convert them";
    if let Some(line) = first_bare_cr {
        out.push(finding(
            Severity::Warning,
            "bare-line-ending",
            format!("line {line} has a CR that is not followed by LF"),
            format!("line {line}"),
            line_ends,
            line_ends_fix,
        ));
    } else if let (Some(line), true) = (first_bare_lf, crlf > 0) {
        out.push(finding(
            Severity::Warning,
            "bare-line-ending",
            format!("{bare_lf} lines end with a bare LF and {crlf} with CRLF; the first bare LF ends line {line}"),
            format!("line {line}"),
            line_ends,
            line_ends_fix,
        ));
    }
}

/// Fields RFC 5322 (section 3.6) allows at most once, in lower case.
const SINGLE: &[&str] = &[
    "from",
    "sender",
    "reply-to",
    "to",
    "cc",
    "bcc",
    "message-id",
    "in-reply-to",
    "references",
    "subject",
    "date",
];

/// One field of the header block, unfolded.
struct Field<'a> {
    name: &'a str,
    line: usize,
    non_ascii: bool,
}

/// The fields of the header block: everything before the first empty line. A line that starts
/// with a space or tab continues the field before it (folding, RFC 5322 section 2.2.3).
fn fields(raw: &[u8]) -> Vec<Field<'_>> {
    let mut fields: Vec<Field<'_>> = Vec::new();
    for (index, line) in raw.split(|&b| b == b'\n').enumerate() {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            break;
        }
        let non_ascii = !line.is_ascii();
        if line[0] == b' ' || line[0] == b'\t' {
            if let Some(field) = fields.last_mut() {
                field.non_ascii |= non_ascii;
            }
            continue;
        }
        // A line without a valid name (an mbox "From " line, say) is no field; mail_parser
        // skips it as well.
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            continue;
        };
        let Ok(name) = std::str::from_utf8(&line[..colon]) else {
            continue;
        };
        let name = name.trim_end();
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_graphic()) {
            continue;
        }
        fields.push(Field {
            name,
            line: index + 1,
            non_ascii,
        });
    }
    fields
}

/// Field names a server would refuse, in the profile crate's words (the same check the
/// composer and the page apply to extra headers). A line with no colon is not a field and is
/// left to the parser, as a folded line is.
fn field_names(raw: &[u8], out: &mut Vec<Finding>) {
    for (index, line) in raw.split(|&b| b == b'\n').enumerate() {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            break;
        }
        if line[0] == b' ' || line[0] == b'\t' || (index == 0 && line.starts_with(b"From ")) {
            continue;
        }
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            continue;
        };
        let name = String::from_utf8_lossy(&line[..colon]);
        // Spaces before the colon are obsolete syntax (RFC 5322 section 4.5.3) but still read.
        if let Some(problem) = profile::check_field_name("name", name.trim_end_matches([' ', '\t']))
        {
            out.push(finding(
                Severity::Blocker,
                "header-name-invalid",
                format!("line {}: {}", index + 1, problem.message),
                format!("header line {}", index + 1),
                "a field name outside RFC 5322's characters makes the header block unreadable: \
                 Gmail refuses the message as not RFC 5322 compliant",
                &problem.fix,
            ));
        }
    }
}

fn header_fields(raw: &[u8], out: &mut Vec<Finding>) {
    field_names(raw, out);
    let fields = fields(raw);
    let named = |name: &str| {
        fields
            .iter()
            .filter(|field| field.name.eq_ignore_ascii_case(name))
            .collect::<Vec<_>>()
    };
    for single in SINGLE {
        let found = named(single);
        let [first, second, ..] = found.as_slice() else {
            continue;
        };
        out.push(finding(
            Severity::Blocker,
            "duplicate-header",
            format!(
                "{} {} fields, on lines {} and {}",
                found.len(),
                first.name,
                first.line,
                second.line
            ),
            format!("header {}", first.name),
            "RFC 5322 (section 3.6) allows this field once; Gmail refuses a message with two \
             (550 5.7.1 \"not RFC 5322 compliant\", RfcMessageNonCompliant)",
            "keep one of the fields; if both carry addresses, put them in one field, separated \
             by commas",
        ));
    }
    if named("from").is_empty() {
        out.push(finding(
            Severity::Blocker,
            "from-missing",
            "the message has no From field".into(),
            "header From".into(),
            "Gmail refuses messages without a valid From (550 5.7.1, RfcMessageNonCompliant), \
             and Google's sender rules require RFC 5322 format",
            "add a From field with the sending address",
        ));
    }
    // Gmail's submission servers add a missing Date or Message-ID, so these do not bounce
    // there; they are warnings because other servers and Gmail's inbound rules do not.
    if named("date").is_empty() {
        out.push(finding(
            Severity::Warning,
            "date-missing",
            "the message has no Date field".into(),
            "header Date".into(),
            "RFC 5322 requires a Date; smtp.gmail.com adds one when it is missing, but other \
             servers may refuse the message, and Google's sender rules ask for RFC 5322 format",
            "add a Date field with the time of sending (mail libraries do)",
        ));
    }
    if named("message-id").is_empty() {
        out.push(finding(
            Severity::Warning,
            "message-id-missing",
            "the message has no Message-ID field".into(),
            "header Message-ID".into(),
            "smtp.gmail.com adds one, but receiving servers, Gmail's own among them, refuse \
             mail without a valid Message-ID (550 5.7.1), and without your own you cannot match \
             replies or bounces to it",
            "add a Message-ID such as <unique-id@your-domain>, new for each message",
        ));
    }
    let mut reported = Vec::new();
    for field in fields.iter().filter(|field| field.non_ascii) {
        if reported
            .iter()
            .any(|name: &&str| name.eq_ignore_ascii_case(field.name))
        {
            continue;
        }
        reported.push(field.name);
        out.push(finding(
            Severity::Warning,
            "non-ascii-header",
            format!(
                "the {} field holds raw 8-bit text, not encoded-words",
                field.name
            ),
            format!("header {} (line {})", field.name, field.line),
            "raw UTF-8 in a header needs SMTPUTF8 (RFC 6531/6532) at every hop; Gmail offers \
             it, but a server on the way without it bounces the message, and other mail \
             programs show the text garbled",
            "encode the text as RFC 2047 encoded-words (=?UTF-8?B?...?=), which mail libraries \
             do for you",
        ));
    }
}

/// The encodings RFC 2045 (section 6.1) defines; anything else only its sender can decode.
const ENCODINGS: &[&str] = &["7bit", "8bit", "binary", "quoted-printable", "base64"];

/// UTF-8's names, which mail_parser decodes without a charset decoder.
const UTF8_NAMES: &[&str] = &[
    "utf-8",
    "utf8",
    "unicode-1-1-utf-8",
    "unicode11utf8",
    "unicode20utf8",
    "x-unicode20utf8",
];

/// Where a part is, for findings: `part 2 application/pdf (report.pdf)`.
fn part_label(message: &Message<'_>, index: usize, part: &MessagePart<'_>) -> String {
    let ctype = part
        .content_type()
        .map(|ct| match ct.subtype() {
            Some(sub) => format!("{}/{sub}", ct.ctype()),
            None => ct.ctype().to_owned(),
        })
        .unwrap_or_else(|| "text/plain".to_owned())
        .to_ascii_lowercase();
    if message.parts.len() == 1 {
        return format!("the message body ({ctype})");
    }
    match part.attachment_name() {
        Some(name) => format!("part {index} {ctype} ({name})"),
        None => format!("part {index} {ctype}"),
    }
}

/// Encodings and charsets of every part, and of the parts of attached messages.
fn parts(message: &Message<'_>, prefix: &str, out: &mut Vec<Finding>) {
    for (index, part) in message.parts.iter().enumerate() {
        let location = format!("{prefix}{}", part_label(message, index, part));
        let encoding = part
            .content_transfer_encoding()
            .map(|cte| cte.trim().to_ascii_lowercase())
            .unwrap_or_else(|| "7bit".to_owned());
        if !ENCODINGS.contains(&encoding.as_str()) {
            out.push(finding(
                Severity::Blocker,
                "unknown-transfer-encoding",
                format!("Content-Transfer-Encoding: {encoding}, which is not one RFC 2045 defines"),
                location,
                "only 7bit, 8bit, binary, quoted-printable and base64 are defined; Gmail cannot \
                 decode anything else, so the recipient gets the encoded text or a broken file",
                "encode the part as base64 (attachments) or quoted-printable (text)",
            ));
            continue;
        }
        let body = match &part.body {
            PartType::Multipart(_) => continue,
            PartType::Message(nested) => {
                parts(nested, &format!("{location} > "), out);
                continue;
            }
            _ => message
                .raw_message
                .get(part.offset_body as usize..part.offset_end as usize)
                .unwrap_or_default(),
        };
        if encoding == "base64" {
            if let Some(problem) = base64_problem(body) {
                out.push(finding(
                    Severity::Warning,
                    "bad-base64",
                    format!("the base64 body does not decode cleanly: {problem}"),
                    location.clone(),
                    "Gmail decodes what it can and drops the rest, so the attachment or text \
                     arrives damaged, and spam filters weigh malformed encodings",
                    "encode the part again with a mail library",
                ));
            }
        } else if encoding == "7bit" && !body.is_ascii() {
            out.push(finding(
                Severity::Warning,
                "8bit-in-7bit-part",
                "8-bit bytes in a part declared (or defaulting to) 7bit".into(),
                location.clone(),
                "a 7bit part may only hold ASCII (RFC 2045); servers on the way may mangle the \
                 bytes, and the recipient may see garbled text",
                "declare Content-Transfer-Encoding: 8bit, or encode the part as quoted-printable",
            ));
        }
        if matches!(part.body, PartType::Text(_) | PartType::Html(_))
            && let Some(charset) = part.content_type().and_then(|ct| ct.attribute("charset"))
        {
            let name = charset.trim().to_ascii_lowercase();
            if !UTF8_NAMES.contains(&name.as_str()) && charset_decoder(name.as_bytes()).is_none() {
                out.push(finding(
                    Severity::Warning,
                    "unknown-charset",
                    format!("charset \"{charset}\", which mail programs do not know"),
                    location,
                    "Gmail and other mail programs show text in a charset they do not know as \
                     garbled characters",
                    "send the text as UTF-8 (charset=utf-8)",
                ));
            }
        }
    }
}

/// What is wrong with a base64 body, if anything: a stray character, data after the padding,
/// or a length that ends mid-group.
fn base64_problem(body: &[u8]) -> Option<String> {
    let mut line = 1usize;
    let mut data = 0usize;
    let mut padding = 0usize;
    for &b in body {
        match b {
            b'\n' => line += 1,
            b'\r' | b' ' | b'\t' => {}
            b'=' => padding += 1,
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'+' | b'/' => {
                if padding > 0 {
                    return Some(format!("data follows the = padding on line {line}"));
                }
                data += 1;
            }
            _ if b.is_ascii_graphic() => {
                return Some(format!(
                    "'{}' on line {line} is not a base64 character",
                    char::from(b)
                ));
            }
            _ => {
                return Some(format!(
                    "the byte 0x{b:02X} on line {line} is not a base64 character"
                ));
            }
        }
    }
    if padding > 2 || !(data + padding).is_multiple_of(4) {
        return Some(format!(
            "it ends in the middle of a group ({} characters, not a multiple of 4)",
            data + padding
        ));
    }
    None
}

/// HTML with no text/plain beside it.
fn text_alternative(message: &Message<'_>, out: &mut Vec<Finding>) {
    let body = |ids: &[u32], html: bool| {
        ids.iter().copied().find(|&id| {
            matches!(
                (message.part(id).map(|part| &part.body), html),
                (Some(PartType::Html(_)), true) | (Some(PartType::Text(_)), false)
            )
        })
    };
    // mail_parser lists an HTML part as the text body too when there is no text part, so the
    // text bodies are only counted if they really are text/plain.
    let Some(html) = body(&message.html_body, true) else {
        return;
    };
    if body(&message.text_body, false).is_some() {
        return;
    }
    let location = message
        .part(html)
        .map(|part| part_label(message, html as usize, part))
        .unwrap_or_else(|| "the message body".to_owned());
    out.push(finding(
        Severity::Warning,
        "no-text-alternative",
        "an HTML body with no text/plain alternative".into(),
        location,
        "Gmail's spam filters favour multipart/alternative with a text part, and mail programs \
         that show only text get nothing readable",
        "send multipart/alternative with a text/plain version of the same content before the \
         HTML",
    ));
}

#[cfg(test)]
mod tests {
    use protocol::CheckKind;

    use crate::{Context, check_message};

    const HEAD: &str = "From: a@example.com\r\nTo: b@example.com\r\nDate: Mon, 1 Dec 2025 10:00:00 +0000\r\n\
                        Message-ID: <1@example.com>\r\nSubject: hi\r\n";

    /// The codes of the format findings for `raw`, in order.
    fn check(raw: &str, expected: &[&str]) {
        let findings = check_message(raw.as_bytes(), &Context::default());
        let codes: Vec<&str> = findings
            .iter()
            .filter(|f| f.check == CheckKind::Format)
            .map(|f| f.code.as_str())
            .collect();
        assert_eq!(codes, expected, "{raw:.300}\n{findings:#?}");
    }

    fn multipart(kind: &str, parts: &[&str]) -> String {
        let mut raw = format!(
            "{HEAD}MIME-Version: 1.0\r\nContent-Type: multipart/{kind}; boundary=\"b\"\r\n\r\n"
        );
        for part in parts {
            raw.push_str("--b\r\n");
            raw.push_str(part);
            raw.push_str("\r\n");
        }
        raw.push_str("--b--\r\n");
        raw
    }

    #[test]
    fn raw_format() {
        let long = "x".repeat(999);
        let ok = format!("{HEAD}\r\nhello\r\n");
        check(&ok, &[]);
        check(&format!("{HEAD}\r\n{}\r\n", "x".repeat(998)), &[]);
        // A field name with a space, or with a letter outside ASCII, is refused in the
        // profile crate's words; an obsolete space before the colon is still read.
        check(
            &format!("{HEAD}X Bad Name: v\r\n\r\nhello\r\n"),
            &["header-name-invalid"],
        );
        check(
            &format!("{HEAD}X-Grüße: v\r\n\r\nhello\r\n"),
            &["header-name-invalid"],
        );
        check(&format!("{HEAD}X-Obsolete : v\r\n\r\nhello\r\n"), &[]);
        check(
            &format!("{HEAD}\r\n{long}\r\nok\r\n{long}\r\n"),
            &["line-too-long"],
        );
        check(
            &format!("{HEAD}From: c@example.com\r\n\r\nhello\r\n"),
            &["duplicate-header"],
        );
        check(
            &format!("{HEAD}Date: Tue, 2 Dec 2025 10:00:00 +0000\r\n\r\nhello\r\n"),
            &["duplicate-header"],
        );
        check(
            "To: b@example.com\r\nDate: Mon, 1 Dec 2025 10:00:00 +0000\r\nMessage-ID: <1@x.com>\r\n\r\nhi\r\n",
            &["from-missing"],
        );
        check(
            "From: a@example.com\r\nDate: Mon, 1 Dec 2025 10:00:00 +0000\r\n\r\nhi\r\n",
            &["message-id-missing"],
        );
        check(
            "From: a@example.com\r\nMessage-ID: <1@x.com>\r\n\r\nhi\r\n",
            &["date-missing"],
        );
        // A folded field is one field, and a Date in the body is not a header.
        check(
            &format!("{HEAD}X-Long: a\r\n  Date: folded\r\n\r\nDate: in the body\r\n"),
            &[],
        );
        check(
            &format!("{HEAD}\r\nline one\nline two\r\n"),
            &["bare-line-ending"],
        );
        check(
            &format!("{HEAD}\r\nline one\rline two\r\n"),
            &["bare-line-ending"],
        );
        check(
            "From: a@example.com\nTo: b@example.com\nDate: Mon, 1 Dec 2025 10:00:00 +0000\nMessage-ID: <1@x.com>\n\nall LF\n",
            &[],
        );
        check(
            &format!("{HEAD}X-Note: caf\u{e9}\r\n\r\nhello\r\n"),
            &["non-ascii-header"],
        );
        check(
            &format!("{HEAD}X-Note: =?UTF-8?Q?caf=C3=A9?=\r\n\r\nhello\r\n"),
            &[],
        );
    }

    #[test]
    fn parts_format() {
        let text = "Content-Type: text/plain; charset=utf-8\r\n\r\nhello";
        let html = "Content-Type: text/html; charset=utf-8\r\n\r\n<p>hello</p>";
        check(&multipart("alternative", &[text, html]), &[]);
        check(
            &format!("{HEAD}MIME-Version: 1.0\r\nContent-Type: text/html\r\n\r\n<p>hello</p>\r\n"),
            &["no-text-alternative"],
        );
        check(
            &multipart(
                "mixed",
                &[
                    html,
                    "Content-Type: application/pdf; name=a.pdf\r\nContent-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjcK",
                ],
            ),
            &["no-text-alternative"],
        );
        check(
            &multipart(
                "mixed",
                &[
                    text,
                    "Content-Type: application/pdf\r\nContent-Transfer-Encoding: x-uuencode\r\n\r\nbegin 644 a.pdf",
                ],
            ),
            &["unknown-transfer-encoding"],
        );
        check(
            &multipart(
                "mixed",
                &[
                    text,
                    "Content-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\n\r\nJVBERi0x*LjcK",
                ],
            ),
            &["bad-base64"],
        );
        check(
            &multipart(
                "mixed",
                &[
                    text,
                    "Content-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjc",
                ],
            ),
            &["bad-base64"],
        );
        check(
            &multipart(
                "mixed",
                &[
                    text,
                    "Content-Type: application/pdf\r\nContent-Transfer-Encoding: BASE64\r\n\r\nJVBE\r\nRi0x\r\nLjcK",
                ],
            ),
            &[],
        );
        check(
            &multipart(
                "mixed",
                &["Content-Type: text/plain; charset=utf-8\r\n\r\ncaf\u{e9}"],
            ),
            &["8bit-in-7bit-part"],
        );
        check(
            &multipart(
                "mixed",
                &[
                    "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\ncaf\u{e9}",
                ],
            ),
            &[],
        );
        check(
            &multipart(
                "mixed",
                &["Content-Type: text/plain; charset=x-klingon\r\n\r\nhello"],
            ),
            &["unknown-charset"],
        );
        check(
            &multipart(
                "mixed",
                &["Content-Type: text/plain; charset=ISO-8859-1\r\n\r\nhello"],
            ),
            &[],
        );
    }

    /// What a user reads: the line number and the part, not just a code.
    #[test]
    fn locations() {
        let raw = format!("{HEAD}\r\nok\r\n{}\r\n", "y".repeat(1200));
        let findings = check_message(raw.as_bytes(), &Context::default());
        let long = findings
            .iter()
            .find(|f| f.code == "line-too-long")
            .expect("a long line");
        assert_eq!(long.location, "line 8");
        assert!(
            long.found.contains("1 line is longer than 998 octets"),
            "{}",
            long.found
        );
        assert!(long.found.contains("1200 octets"), "{}", long.found);

        let raw = multipart(
            "mixed",
            &[
                "Content-Type: text/plain\r\n\r\nhi",
                "Content-Type: application/pdf; name=\"r.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\n%%%",
            ],
        );
        let findings = check_message(raw.as_bytes(), &Context::default());
        let bad = findings
            .iter()
            .find(|f| f.code == "bad-base64")
            .expect("bad base64");
        assert_eq!(bad.location, "part 2 application/pdf (r.pdf)");
    }
}
