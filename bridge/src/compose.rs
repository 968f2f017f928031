//! Message composition: a profile and a draft become the exact bytes to send and the envelope
//! to send them with.
//!
//! lettre's `Message` builder writes the message, because RFC 5322 headers, RFC 2047 subjects
//! and names, and MIME multiparts are easy to get subtly wrong by hand. Everything that could
//! inject a header is refused before lettre sees it, each problem naming its field.
//!
//! **Invariant:** Bcc addresses go only into the envelope (`RCPT TO`), never into the message:
//! Gmail does not strip a `Bcc:` header. They are therefore never given to lettre's builder.

use std::time::{SystemTime, UNIX_EPOCH};

use lettre::Message;
use lettre::address::Envelope;
use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::message::{Attachment, MultiPart, SinglePart};
use profile::{Address, Mailbox, Problem, Profile, check_header_text};
use protocol::{AttachmentRef, Draft, MAX_ATTACHMENT_TOTAL_BYTES};

use crate::smtp::Outgoing;

/// The subject of "Send test to myself".
pub const TEST_SUBJECT: &str = "mailbridge SMTP test";

/// A message ready to send, and what may surprise about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Built {
    pub outgoing: Outgoing,
    pub warnings: Vec<String>,
}

/// Builds the message for `draft` as `profile` sends it, or returns every problem at once.
pub fn build(
    profile: &Profile,
    draft: &Draft,
    attachments: &[(AttachmentRef, Vec<u8>)],
) -> Result<Built, Vec<Problem>> {
    let mut problems = Vec::new();
    let from = header_mailbox("from", &profile.from, &mut problems);
    let reply_to = match draft.reply_to.as_deref().filter(|r| !r.trim().is_empty()) {
        Some(text) => parse_one("reply_to", text, &mut problems)
            .and_then(|mailbox| header_mailbox("reply_to", &mailbox, &mut problems)),
        None => profile
            .reply_to
            .as_ref()
            .and_then(|mailbox| header_mailbox("profile.reply_to", mailbox, &mut problems)),
    };
    let to = parse_field("to", &draft.to, &mut problems);
    let cc = parse_field("cc", &draft.cc, &mut problems);
    let bcc = parse_field("bcc", &draft.bcc, &mut problems);
    check_recipients(
        profile,
        draft,
        to.len() + cc.len() + bcc.len(),
        &mut problems,
    );
    if let Some(problem) = check_header_text("subject", &draft.subject) {
        problems.push(problem);
    }
    let headers = custom_headers(profile, draft, &mut problems);
    let parts = attachment_parts(attachments, &mut problems);

    let to_boxes = header_mailboxes("to", &to, &mut problems);
    let cc_boxes = header_mailboxes("cc", &cc, &mut problems);
    let bcc_envelope = header_mailboxes("bcc", &bcc, &mut problems);
    let (Some(from), true) = (from, problems.is_empty()) else {
        return Err(problems);
    };

    let message_id = message_id(&profile.from.address);
    let mut builder = Message::builder()
        .from(from.clone())
        .date(SystemTime::now())
        .message_id(Some(message_id.clone()))
        .subject(draft.subject.clone());
    if let Some(reply_to) = reply_to {
        builder = builder.reply_to(reply_to);
    }
    for mailbox in &to_boxes {
        builder = builder.to(mailbox.clone());
    }
    for mailbox in &cc_boxes {
        builder = builder.cc(mailbox.clone());
    }
    for header in headers {
        builder = builder.raw_header(header);
    }
    // lettre insists on an envelope; ours is `Outgoing`, so this one only satisfies the builder.
    let envelope_to = to_boxes
        .iter()
        .chain(&cc_boxes)
        .chain(&bcc_envelope)
        .map(|mailbox| mailbox.email.clone())
        .collect();
    let envelope = Envelope::new(Some(from.email.clone()), envelope_to)
        .map_err(|error| vec![Problem::new("to", error.to_string(), "add a recipient")])?;
    builder = builder.envelope(envelope);

    let mut warnings = profile_warnings(profile);
    let text = draft.text.clone().filter(|text| !text.is_empty());
    let html = draft.html.clone().filter(|html| !html.is_empty());
    let body = match (text, html) {
        (Some(text), Some(html)) => Body::Multi(MultiPart::alternative_plain_html(text, html)),
        (Some(text), None) => Body::Single(SinglePart::plain(text)),
        (None, Some(html)) => Body::Single(SinglePart::html(html)),
        (None, None) => {
            warnings.push("The message has no text.".to_owned());
            Body::Single(SinglePart::plain(String::new()))
        }
    };
    if draft.subject.trim().is_empty() {
        warnings.push("The message has no subject.".to_owned());
    }
    let message = if parts.is_empty() {
        match body {
            Body::Multi(multi) => builder.multipart(multi),
            Body::Single(single) => builder.singlepart(single),
        }
    } else {
        let mut mixed = match body {
            Body::Multi(multi) => MultiPart::mixed().multipart(multi),
            Body::Single(single) => MultiPart::mixed().singlepart(single),
        };
        for part in parts {
            mixed = mixed.singlepart(part);
        }
        builder.multipart(mixed)
    }
    .map_err(|error| {
        vec![Problem::new(
            "draft",
            format!("the message could not be built: {error}"),
            "check the addresses and headers",
        )]
    })?;

    let mut rcpt_to: Vec<String> = Vec::new();
    for mailbox in to.iter().chain(&cc).chain(&bcc) {
        let address = mailbox.address.envelope();
        if !rcpt_to
            .iter()
            .any(|seen| seen.eq_ignore_ascii_case(&address))
        {
            rcpt_to.push(address);
        }
    }
    if rcpt_to.iter().any(|address| !address.is_ascii()) {
        warnings.push(
            "A recipient's address has non-ASCII characters before the '@'; only servers that \
             offer SMTPUTF8 (Gmail does) can deliver it."
                .to_owned(),
        );
    }
    Ok(Built {
        outgoing: Outgoing {
            mail_from: profile.from.address.envelope(),
            rcpt_to,
            data: message.formatted(),
            message_id,
        },
        warnings,
    })
}

/// "Send test to myself": a short message from the profile's account to itself that says what
/// sent it and when.
pub fn test_message(profile: &Profile) -> Result<Built, Vec<Problem>> {
    let to = Address::parse(&profile.username)
        .map(|address| address.as_str().to_owned())
        .unwrap_or_else(|_| profile.from.address.as_str().to_owned());
    let sent_at = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| elapsed.as_secs())
        .unwrap_or_default();
    let text = format!(
        "This is a test message sent by mailbridge {version}.\n\
         \n\
         Profile:   {name}\n\
         Server:    {host}:{port} ({security})\n\
         Signed in: {user}\n\
         Sent at:   {when}\n\
         \n\
         If you can read this, the profile can send mail.\n",
        version = env!("CARGO_PKG_VERSION"),
        name = profile.name,
        host = profile.host,
        port = profile.port,
        security = profile.security.label(),
        user = profile.username,
        when = crate::smtp::rfc3339(i64::try_from(sent_at).unwrap_or(i64::MAX)),
    );
    let draft = Draft {
        to: vec![to],
        subject: TEST_SUBJECT.to_owned(),
        text: Some(text),
        ..Draft::default()
    };
    build(profile, &draft, &[])
}

/// What may surprise about sending with `profile`, whatever the message.
pub fn profile_warnings(profile: &Profile) -> Vec<String> {
    let mut warnings = Vec::new();
    let from = profile.from.address.as_str();
    if profile.preset.is_google() && !from.eq_ignore_ascii_case(profile.username.trim()) {
        warnings.push(format!(
            "Gmail sends this as {user} unless {from} is a verified \"Send mail as\" address of \
             that account (Gmail settings, Accounts); otherwise it rewrites From to {user} and \
             keeps {from} only in X-Google-Original-From.",
            user = profile.username.trim(),
        ));
    }
    warnings
}

enum Body {
    Single(SinglePart),
    Multi(MultiPart),
}

/// Parses each non-blank entry of an address field, naming bad ones `to[1]` and so on.
fn parse_field(field: &str, entries: &[String], problems: &mut Vec<Problem>) -> Vec<Mailbox> {
    entries
        .iter()
        .enumerate()
        .filter(|(_, text)| !text.trim().is_empty())
        .filter_map(|(index, text)| parse_one(&format!("{field}[{index}]"), text, problems))
        .collect()
}

fn parse_one(path: &str, text: &str, problems: &mut Vec<Problem>) -> Option<Mailbox> {
    match Mailbox::parse(text) {
        Ok(mailbox) => Some(mailbox),
        Err(error) => {
            problems.push(Problem::new(
                path,
                format!("{text:?} is not a valid address: {}", error.message()),
                error.fix(),
            ));
            None
        }
    }
}

fn check_recipients(profile: &Profile, draft: &Draft, count: usize, out: &mut Vec<Problem>) {
    if count == 0 {
        let blank_only = draft.to.is_empty() && draft.cc.is_empty() && draft.bcc.is_empty();
        // Bad addresses already have their own problems; "no recipients" would only repeat them.
        if blank_only || out.is_empty() {
            out.push(Problem::new(
                "to",
                "the message has no recipients",
                "add at least one address in To, Cc or Bcc",
            ));
        }
    }
    if let Some(max) = profile.preset.max_recipients()
        && count > max as usize
    {
        out.push(Problem::new(
            "to",
            format!(
                "the message has {count} recipients (To, Cc and Bcc together); Gmail accepts at \
                 most {max} in one message over SMTP"
            ),
            format!("split the recipients over several messages of at most {max}"),
        ));
    }
}

/// The lettre form of a mailbox for a header: domain in punycode, name as given (lettre
/// encodes non-ASCII names per RFC 2047).
fn header_mailbox(
    path: &str,
    mailbox: &Mailbox,
    problems: &mut Vec<Problem>,
) -> Option<lettre::message::Mailbox> {
    let before = problems.len();
    profile::check_mailbox(path, mailbox, problems);
    if problems.len() > before {
        return None;
    }
    let envelope = mailbox.address.envelope();
    let (local, domain) = envelope.rsplit_once('@').unwrap_or((envelope.as_str(), ""));
    match lettre::Address::new(local, domain) {
        Ok(address) => Some(lettre::message::Mailbox::new(
            mailbox.name.clone().filter(|name| !name.is_empty()),
            address,
        )),
        Err(error) => {
            problems.push(Problem::new(
                path,
                format!(
                    "{:?} cannot be written into a message header: {error}",
                    mailbox.address.as_str()
                ),
                "use a plain address such as name@example.com",
            ));
            None
        }
    }
}

fn header_mailboxes(
    field: &str,
    mailboxes: &[Mailbox],
    problems: &mut Vec<Problem>,
) -> Vec<lettre::message::Mailbox> {
    mailboxes
        .iter()
        .enumerate()
        .filter_map(|(index, mailbox)| {
            header_mailbox(&format!("{field}[{index}]"), mailbox, problems)
        })
        .collect()
}

/// The profile's default headers, then the draft's (a draft header replaces a profile header
/// of the same name), each checked for injection and for names mailbridge writes itself.
fn custom_headers(
    profile: &Profile,
    draft: &Draft,
    problems: &mut Vec<Problem>,
) -> Vec<HeaderValue> {
    let profile_headers = profile
        .headers
        .iter()
        .enumerate()
        .map(|(i, header)| (format!("profile.headers[{i}]"), header));
    let draft_headers = draft
        .headers
        .iter()
        .enumerate()
        .map(|(i, header)| (format!("headers[{i}]"), header));
    let mut out = Vec::new();
    for (path, header) in profile_headers.chain(draft_headers) {
        let name_path = format!("{path}.name");
        let name = header.name.trim();
        let name_ok = match profile::check_header_name(&name_path, name) {
            Some(problem) => {
                problems.push(problem);
                false
            }
            None => true,
        };
        let value_ok = match check_header_text(&format!("{path}.value"), &header.value) {
            Some(problem) => {
                problems.push(problem);
                false
            }
            None => true,
        };
        if !(name_ok && value_ok) {
            continue;
        }
        match HeaderName::new_from_ascii(name.to_owned()) {
            Ok(name) => out.push(HeaderValue::new(name, header.value.trim().to_owned())),
            Err(_) => problems.push(Problem::new(
                name_path,
                format!("{name:?} is not a valid header name"),
                "use letters, digits and '-', at most 76 characters",
            )),
        }
    }
    out
}

fn attachment_parts(
    attachments: &[(AttachmentRef, Vec<u8>)],
    problems: &mut Vec<Problem>,
) -> Vec<SinglePart> {
    let total: u64 = attachments
        .iter()
        .map(|(_, bytes)| bytes.len() as u64)
        .sum();
    if total > MAX_ATTACHMENT_TOTAL_BYTES {
        problems.push(Problem::new(
            "attachments",
            format!(
                "the attachments total {:.1} MB, over Gmail's 25 MB limit",
                total as f64 / 1_048_576.0
            ),
            "remove an attachment, or share large files as a link (Google Drive, for example)",
        ));
    }
    let mut parts = Vec::new();
    for (index, (attachment, bytes)) in attachments.iter().enumerate() {
        let path = format!("attachments[{index}]");
        if let Some(problem) = check_header_text(&format!("{path}.filename"), &attachment.filename)
        {
            problems.push(problem);
            continue;
        }
        let content_type = match ContentType::parse(attachment.content_type.trim()) {
            Ok(content_type) => content_type,
            Err(_) => {
                problems.push(Problem::new(
                    format!("{path}.content_type"),
                    format!(
                        "{:?} is not a MIME type",
                        attachment.content_type.chars().take(80).collect::<String>()
                    ),
                    "use a type such as application/pdf, or application/octet-stream",
                ));
                continue;
            }
        };
        let filename = match attachment.filename.trim() {
            "" => format!("attachment-{}", index + 1),
            name => name.to_owned(),
        };
        // Always base64: lettre would pick quoted-printable or 7bit for text files and
        // normalise their line endings, and an attachment must arrive byte for byte.
        let body = lettre::message::Body::new_with_encoding(
            bytes.clone(),
            lettre::message::header::ContentTransferEncoding::Base64,
        )
        .unwrap_or_else(lettre::message::Body::new);
        parts.push(Attachment::new(filename).body(body, content_type));
    }
    parts
}

/// `<random@domain-of-from>`: 128 random bits, and the sender's domain in ASCII.
fn message_id(from: &Address) -> String {
    let envelope = from.envelope();
    let domain = envelope
        .rsplit_once('@')
        .map_or("mailbridge.invalid", |(_, d)| d);
    format!("<{:032x}@{domain}>", rand::random::<u128>())
}

#[cfg(test)]
mod tests {
    use profile::{Header, Preset, ProfileId};

    use super::*;

    fn gmail() -> Profile {
        Profile::from_preset(
            Preset::Gmail587,
            ProfileId("g".into()),
            "Team Gmail",
            "ann@gmail.com",
        )
    }

    fn draft() -> Draft {
        Draft {
            to: vec!["Bob Example <bob@example.com>".into()],
            subject: "Quarterly report".into(),
            text: Some("Hello Bob".into()),
            ..Draft::default()
        }
    }

    fn text(built: &Built) -> String {
        String::from_utf8_lossy(&built.outgoing.data).into_owned()
    }

    /// The header lines before the first blank line, unfolded.
    fn header_block(built: &Built) -> String {
        let raw = text(built);
        let head = raw.split("\r\n\r\n").next().unwrap_or_default().to_owned();
        head.replace("\r\n ", " ").replace("\r\n\t", " ")
    }

    fn paths(result: Result<Built, Vec<Problem>>) -> Vec<String> {
        match result {
            Ok(built) => panic!("expected problems, built:\n{}", text(&built)),
            Err(problems) => {
                for problem in &problems {
                    assert!(!problem.message.is_empty() && !problem.fix.is_empty());
                }
                problems.into_iter().map(|p| p.path).collect()
            }
        }
    }

    fn ok(result: Result<Built, Vec<Problem>>) -> Built {
        result.unwrap_or_else(|problems| panic!("{problems:#?}"))
    }

    #[test]
    fn a_plain_message_has_the_headers_gmail_requires() {
        let built = ok(build(&gmail(), &draft(), &[]));
        let head = header_block(&built);
        for needle in [
            "From: ann@gmail.com",
            "To: \"Bob Example\" <bob@example.com>",
            "Subject: Quarterly report",
            "Date: ",
            "MIME-Version: 1.0",
            "Content-Type: text/plain; charset=utf-8",
        ] {
            assert!(head.contains(needle), "{needle:?} missing in\n{head}");
        }
        let id = &built.outgoing.message_id;
        assert!(
            id.starts_with('<') && id.ends_with("@gmail.com>") && id.len() > 40,
            "{id}"
        );
        assert!(head.contains(&format!("Message-ID: {id}")), "{head}");
        assert_eq!(built.outgoing.mail_from, "ann@gmail.com");
        assert_eq!(built.outgoing.rcpt_to, ["bob@example.com"]);
        assert!(built.warnings.is_empty(), "{:?}", built.warnings);
        let again = built_id(&draft());
        assert_ne!(&again, id, "each message needs its own Message-ID");
    }

    fn built_id(draft: &Draft) -> String {
        ok(build(&gmail(), draft, &[])).outgoing.message_id
    }

    #[test]
    fn bcc_goes_only_into_the_envelope() {
        let draft = Draft {
            to: vec!["bob@example.com".into()],
            cc: vec!["Carol <carol@example.com>".into(), "BOB@example.com".into()],
            bcc: vec!["secret-dave@example.com".into()],
            ..draft()
        };
        let built = ok(build(&gmail(), &draft, &[]));
        let raw = text(&built).to_ascii_lowercase();
        assert!(!raw.contains("bcc:"), "{raw}");
        assert!(!raw.contains("secret-dave"), "{raw}");
        assert_eq!(
            built.outgoing.rcpt_to,
            [
                "bob@example.com",
                "carol@example.com",
                "secret-dave@example.com"
            ]
        );
        // A message to Bcc recipients only is fine and still names nobody.
        let only_bcc = Draft {
            to: vec![],
            bcc: vec!["secret-dave@example.com".into()],
            ..crate::compose::tests::draft()
        };
        let built = ok(build(&gmail(), &only_bcc, &[]));
        assert!(!text(&built).to_ascii_lowercase().contains("bcc"));
        assert_eq!(built.outgoing.rcpt_to, ["secret-dave@example.com"]);
    }

    #[test]
    fn text_html_and_attachments_make_the_right_mime_tree() {
        let both = Draft {
            html: Some("<p>Hello <b>Bob</b></p>".into()),
            ..draft()
        };
        let raw = text(&ok(build(&gmail(), &both, &[])));
        assert!(raw.contains("multipart/alternative"), "{raw}");
        assert!(raw.contains("text/html"), "{raw}");

        let html_only = Draft {
            text: None,
            html: Some("<p>Hi</p>".into()),
            ..draft()
        };
        let raw = text(&ok(build(&gmail(), &html_only, &[])));
        assert!(raw.contains("Content-Type: text/html"), "{raw}");
        assert!(!raw.contains("multipart"), "{raw}");

        let pdf: Vec<u8> = (0..=255u8).cycle().take(3000).collect();
        let attachment = AttachmentRef {
            upload: 1,
            filename: "report.pdf".into(),
            content_type: "application/pdf".into(),
            size_bytes: pdf.len() as u64,
        };
        let raw = text(&ok(build(&gmail(), &both, &[(attachment, pdf)])));
        assert!(raw.contains("multipart/mixed"), "{raw}");
        assert!(raw.contains("multipart/alternative"), "{raw}");
        assert!(raw.contains("Content-Type: application/pdf"), "{raw}");
        assert!(raw.contains("filename=\"report.pdf\""), "{raw}");
        assert!(raw.contains("Content-Transfer-Encoding: base64"), "{raw}");
    }

    #[test]
    fn non_ascii_is_encoded_for_headers_and_the_envelope() {
        let draft = Draft {
            to: vec!["Jürgen Groß <jurgen@bücher.example>".into()],
            subject: "Grüße aus Köln".into(),
            ..draft()
        };
        let built = ok(build(&gmail(), &draft, &[]));
        let head = header_block(&built);
        assert!(head.is_ascii(), "{head}");
        assert!(head.contains("=?utf-8?"), "{head}");
        assert!(head.contains("jurgen@xn--bcher-kva.example"), "{head}");
        assert_eq!(built.outgoing.rcpt_to, ["jurgen@xn--bcher-kva.example"]);
    }

    #[test]
    fn reply_to_and_headers_come_from_the_profile_unless_the_draft_says_otherwise() {
        let mut profile = gmail();
        profile.reply_to = Some(Mailbox::parse("Team <team@example.com>").expect("parses"));
        profile.headers = vec![
            Header {
                name: "X-Campaign".into(),
                value: "spring".into(),
            },
            Header {
                name: "X-Team".into(),
                value: "ops".into(),
            },
        ];
        let head = header_block(&ok(build(&profile, &draft(), &[])));
        assert!(head.contains("Reply-To: Team <team@example.com>"), "{head}");
        assert!(head.contains("X-Campaign: spring"), "{head}");

        let override_draft = Draft {
            reply_to: Some("help@example.com".into()),
            headers: vec![Header {
                name: "x-campaign".into(),
                value: "autumn".into(),
            }],
            ..draft()
        };
        let head = header_block(&ok(build(&profile, &override_draft, &[])));
        assert!(head.contains("Reply-To: help@example.com"), "{head}");
        assert!(
            head.to_ascii_lowercase().contains("x-campaign: autumn"),
            "{head}"
        );
        assert!(!head.contains("spring"), "{head}");
        assert!(head.contains("X-Team: ops"), "{head}");
    }

    #[test]
    fn header_injection_is_refused_with_the_field_named() {
        let header = |name: &str, value: &str| Header {
            name: name.into(),
            value: value.into(),
        };
        let cases: Vec<(Draft, &str)> = vec![
            (
                Draft {
                    subject: "Hi\r\nBcc: victim@example.com".into(),
                    ..draft()
                },
                "subject",
            ),
            (
                Draft {
                    subject: "Hi\nX-Evil: 1".into(),
                    ..draft()
                },
                "subject",
            ),
            (
                Draft {
                    headers: vec![header("X-Ok", "fine"), header("X-Bad", "a\r\nBcc: x@y.z")],
                    ..draft()
                },
                "headers[1].value",
            ),
            (
                Draft {
                    headers: vec![header("X-Bad\r\nBcc", "x@y.z")],
                    ..draft()
                },
                "headers[0].name",
            ),
            (
                Draft {
                    headers: vec![header("X Bad", "v")],
                    ..draft()
                },
                "headers[0].name",
            ),
            (
                Draft {
                    headers: vec![header("X-Bad:", "v")],
                    ..draft()
                },
                "headers[0].name",
            ),
            (
                Draft {
                    headers: vec![header("", "v")],
                    ..draft()
                },
                "headers[0].name",
            ),
            (
                Draft {
                    headers: vec![header("Bcc", "x@y.z")],
                    ..draft()
                },
                "headers[0].name",
            ),
            (
                Draft {
                    headers: vec![header("subject", "second subject")],
                    ..draft()
                },
                "headers[0].name",
            ),
            (
                Draft {
                    headers: vec![header("X-Ünicode", "v")],
                    ..draft()
                },
                "headers[0].name",
            ),
            (
                Draft {
                    headers: vec![header("X-Sep", "a\u{2028}b")],
                    ..draft()
                },
                "headers[0].value",
            ),
            (
                Draft {
                    to: vec!["bob@example.com\r\nBcc: x@y.z".into()],
                    ..draft()
                },
                "to[0]",
            ),
        ];
        for (draft, path) in cases {
            assert_eq!(
                paths(build(&gmail(), &draft, &[])),
                [path],
                "{:?} / {:?}",
                draft.subject,
                draft.headers
            );
        }
        let mut profile = gmail();
        profile.headers = vec![header("X-Team", "ops\nBcc: x@y.z")];
        assert_eq!(
            paths(build(&profile, &draft(), &[])),
            ["profile.headers[0].value"]
        );
        let attachment = AttachmentRef {
            upload: 1,
            filename: "a.txt\r\nBcc: x@y.z".into(),
            content_type: "text/plain".into(),
            size_bytes: 1,
        };
        assert_eq!(
            paths(build(&gmail(), &draft(), &[(attachment, b"x".to_vec())])),
            ["attachments[0].filename"]
        );
    }

    #[test]
    fn invalid_addresses_are_refused_with_the_field_named() {
        let cases: Vec<(Draft, Vec<&str>)> = vec![
            (
                Draft {
                    to: vec!["bob@example.com".into(), "not an address".into()],
                    ..draft()
                },
                vec!["to[1]"],
            ),
            (
                Draft {
                    cc: vec!["carol@".into()],
                    ..draft()
                },
                vec!["cc[0]"],
            ),
            (
                Draft {
                    bcc: vec!["dave@example..com".into()],
                    ..draft()
                },
                vec!["bcc[0]"],
            ),
            (
                Draft {
                    reply_to: Some("Help <help@example.com".into()),
                    ..draft()
                },
                vec!["reply_to"],
            ),
            (
                Draft {
                    to: vec!["a@b.example, c@d.example".into()],
                    ..draft()
                },
                vec!["to[0]"],
            ),
            (
                Draft {
                    to: vec!["(comment) bob@example.com".into()],
                    bcc: vec!["@example.com".into()],
                    ..draft()
                },
                vec!["to[0]", "bcc[0]"],
            ),
            (
                Draft {
                    to: vec![],
                    ..draft()
                },
                vec!["to"],
            ),
            (
                Draft {
                    to: vec!["   ".into()],
                    ..draft()
                },
                vec!["to"],
            ),
        ];
        for (draft, expected) in cases {
            assert_eq!(
                paths(build(&gmail(), &draft, &[])),
                expected,
                "{:?} {:?} {:?}",
                draft.to,
                draft.cc,
                draft.bcc
            );
        }
        let mut bad_from = gmail();
        bad_from.from = Mailbox::from(Address::new_unchecked("ann at gmail"));
        assert_eq!(paths(build(&bad_from, &draft(), &[])), ["from.address"]);
    }

    #[test]
    fn too_many_recipients_and_bad_attachments_are_refused() {
        let many = Draft {
            to: (0..101).map(|i| format!("r{i}@example.com")).collect(),
            ..draft()
        };
        assert_eq!(paths(build(&gmail(), &many, &[])), ["to"]);
        let sandbox = Profile::sandbox(ProfileId("s".into()), "S", 2525);
        assert!(build(&sandbox, &many, &[]).is_ok());

        let attachment = AttachmentRef {
            upload: 1,
            filename: "a.bin".into(),
            content_type: "not a type".into(),
            size_bytes: 1,
        };
        assert_eq!(
            paths(build(&gmail(), &draft(), &[(attachment, vec![0])])),
            ["attachments[0].content_type"]
        );
    }

    #[test]
    fn from_that_is_not_the_account_is_warned_about_on_google_only() {
        let mut profile = gmail();
        profile.from = Mailbox::parse("Sales <sales@example.com>").expect("parses");
        let built = ok(build(&profile, &draft(), &[]));
        assert_eq!(built.warnings.len(), 1, "{:?}", built.warnings);
        assert!(built.warnings[0].contains("Send mail as"));
        assert_eq!(built.outgoing.mail_from, "sales@example.com");
        assert!(built.outgoing.message_id.ends_with("@example.com>"));

        let mut sandbox = Profile::sandbox(ProfileId("s".into()), "S", 2525);
        sandbox.from = Mailbox::parse("ann@example.com").expect("parses");
        assert!(profile_warnings(&sandbox).is_empty());
        assert!(profile_warnings(&gmail()).is_empty());
    }

    #[test]
    fn empty_subject_and_body_are_warned_about() {
        let empty = Draft {
            subject: String::new(),
            text: None,
            ..draft()
        };
        let built = ok(build(&gmail(), &empty, &[]));
        assert_eq!(built.warnings.len(), 2, "{:?}", built.warnings);
    }

    #[test]
    fn the_test_message_goes_from_the_account_to_itself() {
        let mut profile = gmail();
        profile.from = Mailbox::parse("Ann <ann@gmail.com>").expect("parses");
        let built = ok(test_message(&profile));
        assert_eq!(built.outgoing.rcpt_to, ["ann@gmail.com"]);
        assert_eq!(built.outgoing.mail_from, "ann@gmail.com");
        let raw = text(&built);
        assert!(raw.contains(&format!("Subject: {TEST_SUBJECT}")), "{raw}");
        assert!(raw.contains("mailbridge"), "{raw}");
        assert!(raw.contains("smtp.gmail.com:587"), "{raw}");
        assert!(raw.contains("Sent at:"), "{raw}");
    }
}
