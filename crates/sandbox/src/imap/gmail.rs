//! Gmail's IMAP extensions (X-GM-EXT-1) that imap-codec does not know, and Gmail's search
//! language behind `X-GM-RAW` (pure).
//!
//! imap-codec stays the only parser of commands. Before a SEARCH or FETCH line reaches it,
//! each Gmail keyword outside quoted strings is rewritten into a standard form that carries
//! it through, under a field name no real client asks for:
//! - `X-GM-RAW q` becomes `HEADER X-MAILBRIDGE-SANDBOX-GM-RAW q`;
//! - `X-GM-LABELS` (and `X-GM-MSGID`, `X-GM-THRID`) becomes
//!   `BODY.PEEK[HEADER.FIELDS (X-MAILBRIDGE-SANDBOX-GM-LABELS)]`.
//!
//! The server then answers those as Gmail would.

use crate::placement::{Placement, Tab};
use std::borrow::Cow;

/// The prefix of the field names that carry Gmail's keywords through the parser.
pub(crate) const MARKER: &str = "X-MAILBRIDGE-SANDBOX-";

/// The commands whose lines may hold Gmail keywords.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Search,
    Fetch,
    Other,
}

/// A Gmail fetch attribute, found again after parsing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Attribute {
    Labels,
    MsgId,
    ThrId,
}

impl Attribute {
    const ALL: [Attribute; 3] = [Attribute::Labels, Attribute::MsgId, Attribute::ThrId];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Attribute::Labels => "X-GM-LABELS",
            Attribute::MsgId => "X-GM-MSGID",
            Attribute::ThrId => "X-GM-THRID",
        }
    }

    /// The attribute a rewritten `HEADER.FIELDS` field name stands for.
    pub(crate) fn from_field(field: &[u8]) -> Option<Attribute> {
        let rest = strip_prefix_ignore_case(field, MARKER.as_bytes())?;
        Attribute::ALL.into_iter().find(|attribute| {
            let name = attribute.name().as_bytes();
            // The marker replaces the `X-` of the Gmail name.
            rest.eq_ignore_ascii_case(&name[2..])
        })
    }
}

/// The field name `X-GM-RAW` is rewritten to.
pub(crate) fn raw_field() -> String {
    format!("{MARKER}GM-RAW")
}

/// Which command a first line starts (`tag SEARCH`, `tag UID FETCH`, ...).
pub(crate) fn kind(first_line: &[u8]) -> Kind {
    let mut words = first_line
        .split(|byte| matches!(byte, b' ' | b'\r' | b'\n'))
        .filter(|word| !word.is_empty())
        .skip(1);
    let mut command = words.next().unwrap_or_default();
    if command.eq_ignore_ascii_case(b"UID") {
        command = words.next().unwrap_or_default();
    }
    if command.eq_ignore_ascii_case(b"SEARCH") {
        Kind::Search
    } else if command.eq_ignore_ascii_case(b"FETCH") {
        Kind::Fetch
    } else {
        Kind::Other
    }
}

/// The tag of a command line, when it has a valid one: what a BAD for an unparsable line
/// is tagged with (`*` otherwise).
pub(crate) fn tag_of(line: &[u8]) -> Option<&str> {
    let word = line.split(|byte| *byte == b' ').next()?;
    let word = std::str::from_utf8(word).ok()?;
    let word = word.trim_end_matches(['\r', '\n']);
    (word.len() <= 64 && imap_codec::imap_types::core::Tag::try_from(word).is_ok()).then_some(word)
}

/// One line of a command (the first, or one after a literal) with Gmail's keywords
/// rewritten; other commands' lines come back as they are.
pub(crate) fn rewrite(line: &[u8], kind: Kind) -> Cow<'_, [u8]> {
    if kind == Kind::Other {
        return Cow::Borrowed(line);
    }
    let mut out = Vec::with_capacity(line.len() + 64);
    let mut changed = false;
    let mut in_quote = false;
    let mut escaped = false;
    let mut start = 0;
    let mut index = 0;
    // Quoted strings are copied as they are; words between delimiters are checked.
    while index <= line.len() {
        let byte = line.get(index).copied();
        if in_quote {
            match byte {
                Some(b'\\') if !escaped => escaped = true,
                Some(b'"') if !escaped => in_quote = false,
                _ => escaped = false,
            }
            index += 1;
            if !in_quote {
                out.extend_from_slice(&line[start..index]);
                start = index;
            }
            continue;
        }
        let delimiter = match byte {
            None => true,
            Some(b) => matches!(b, b' ' | b'(' | b')' | b'"' | b'\r' | b'\n'),
        };
        if delimiter {
            let word = &line[start..index];
            match replacement(word, kind) {
                Some(new) => {
                    out.extend_from_slice(new.as_bytes());
                    changed = true;
                }
                None => out.extend_from_slice(word),
            }
            if let Some(b) = byte {
                out.push(b);
                in_quote = b == b'"';
            }
            start = index + 1;
        }
        index += 1;
    }
    if in_quote {
        // An unterminated quote: the parser will say BAD; give it the line as it was.
        out.extend_from_slice(&line[start.min(line.len())..]);
    }
    if changed {
        Cow::Owned(out)
    } else {
        Cow::Borrowed(line)
    }
}

fn replacement(word: &[u8], kind: Kind) -> Option<String> {
    match kind {
        Kind::Search if word.eq_ignore_ascii_case(b"X-GM-RAW") => {
            Some(format!("HEADER {}", raw_field()))
        }
        Kind::Fetch => Attribute::ALL
            .into_iter()
            .find(|attribute| word.eq_ignore_ascii_case(attribute.name().as_bytes()))
            .map(|attribute| {
                format!(
                    "BODY.PEEK[HEADER.FIELDS ({MARKER}{})]",
                    &attribute.name()[2..]
                )
            }),
        _ => None,
    }
}

fn strip_prefix_ignore_case<'a>(value: &'a [u8], prefix: &[u8]) -> Option<&'a [u8]> {
    (value.len() >= prefix.len() && value[..prefix.len()].eq_ignore_ascii_case(prefix))
        .then(|| &value[prefix.len()..])
}

/// The part of Gmail's search language the sandbox understands.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct RawQuery {
    /// `rfc822msgid:<id>`, without angle brackets.
    pub message_ids: Vec<String>,
    /// `category:NAME`.
    pub categories: Vec<Tab>,
    /// `in:spam` (`Some(true)`), `in:inbox` (`Some(false)`); `in:trash` matches nothing.
    pub in_spam: Option<bool>,
    pub in_trash: bool,
}

impl RawQuery {
    /// Reads a query; an operator the sandbox does not know is an error naming it.
    pub(crate) fn parse(query: &str) -> Result<RawQuery, String> {
        let mut parsed = RawQuery::default();
        for term in query.split_whitespace() {
            let (operator, value) = term.split_once(':').unwrap_or(("", term));
            match operator.to_ascii_lowercase().as_str() {
                "rfc822msgid" if !value.is_empty() => parsed.message_ids.push(
                    value
                        .trim_start_matches('<')
                        .trim_end_matches('>')
                        .to_owned(),
                ),
                "category" => match Tab::from_name(value) {
                    Some(tab) => parsed.categories.push(tab),
                    // Gmail's optional tabs, which the sandbox never files into.
                    None if ["reservations", "purchases"]
                        .contains(&value.to_ascii_lowercase().as_str()) =>
                    {
                        parsed.in_trash = true;
                    }
                    None => return Err(format!("unknown category {value:?}")),
                },
                "in" => match value.to_ascii_lowercase().as_str() {
                    "anywhere" | "all" => {}
                    "inbox" => parsed.in_spam = Some(false),
                    "spam" => parsed.in_spam = Some(true),
                    "trash" => parsed.in_trash = true,
                    _ => return Err(format!("unknown folder in:{value}")),
                },
                _ => {
                    return Err(format!(
                        "the sandbox understands rfc822msgid:, category: and in: only, not {term:?}"
                    ));
                }
            }
        }
        Ok(parsed)
    }

    /// Whether a message with this Message-ID (without brackets), filed so, matches.
    pub(crate) fn matches(&self, message_id: Option<&str>, placement: &Placement) -> bool {
        let id_ok = self
            .message_ids
            .iter()
            .all(|wanted| message_id.is_some_and(|id| id == wanted));
        let category_ok = self
            .categories
            .iter()
            .all(|category| *category == placement.tab);
        let folder_ok = self.in_spam.is_none_or(|spam| spam == placement.spam);
        id_ok && category_ok && folder_ok && !self.in_trash
    }

    pub(crate) fn needs_message_id(&self) -> bool {
        !self.message_ids.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(line: &str, expected: &str) {
        let kind = kind(line.as_bytes());
        let rewritten = rewrite(line.as_bytes(), kind);
        assert_eq!(String::from_utf8_lossy(&rewritten), expected, "{line:?}");
    }

    #[test]
    fn gmail_keywords_are_rewritten_outside_quotes_only() {
        let labels = format!("BODY.PEEK[HEADER.FIELDS ({MARKER}GM-LABELS)]");
        let raw = format!("HEADER {MARKER}GM-RAW");
        for (line, expected) in [
            (
                "a UID SEARCH X-GM-RAW \"rfc822msgid:<1@x>\"\r\n",
                format!("a UID SEARCH {raw} \"rfc822msgid:<1@x>\"\r\n"),
            ),
            (
                "a search x-gm-raw {20}\r\n",
                format!("a search {raw} {{20}}\r\n"),
            ),
            (
                "a SEARCH SUBJECT \"X-GM-RAW\"\r\n",
                "a SEARCH SUBJECT \"X-GM-RAW\"\r\n".to_owned(),
            ),
            (
                "a SEARCH SUBJECT \"say \\\"X-GM-RAW\\\"\"\r\n",
                "a SEARCH SUBJECT \"say \\\"X-GM-RAW\\\"\"\r\n".to_owned(),
            ),
            (
                "a FETCH 1 (UID X-GM-LABELS)\r\n",
                format!("a FETCH 1 (UID {labels})\r\n"),
            ),
            (
                "a UID FETCH 1:* X-GM-LABELS\r\n",
                format!("a UID FETCH 1:* {labels}\r\n"),
            ),
            ("a SELECT X-GM-RAW\r\n", "a SELECT X-GM-RAW\r\n".to_owned()),
            (
                "a FETCH 1 (X-GM-RAW)\r\n",
                "a FETCH 1 (X-GM-RAW)\r\n".to_owned(),
            ),
            (
                "a SEARCH \"unterminated X-GM-RAW\r\n",
                "a SEARCH \"unterminated X-GM-RAW\r\n".to_owned(),
            ),
        ] {
            check(line, &expected);
        }
    }

    #[test]
    fn rewritten_fields_are_found_again() {
        assert_eq!(
            Attribute::from_field(format!("{MARKER}GM-LABELS").as_bytes()),
            Some(Attribute::Labels)
        );
        assert_eq!(Attribute::from_field(b"X-GM-LABELS"), None);
        assert_eq!(Attribute::from_field(b"X"), None);
    }

    #[test]
    fn tags_of_junk_lines() {
        assert_eq!(tag_of(b"a1 FOO\r\n"), Some("a1"));
        assert_eq!(tag_of(b"\xff\x00 junk\r\n"), None);
        assert_eq!(tag_of(b"\r\n"), None);
        assert_eq!(tag_of(b"a+b x\r\n"), None);
    }

    #[test]
    fn raw_queries() {
        let primary = Placement::default();
        let promotions = Placement {
            tab: Tab::Promotions,
            ..Placement::default()
        };
        let spam = Placement {
            spam: true,
            ..Placement::default()
        };
        let query = RawQuery::parse("rfc822msgid:<1.2@x> category:promotions").expect("parses");
        assert_eq!(query.message_ids, ["1.2@x"]);
        assert!(!query.matches(Some("1.2@x"), &primary));
        assert!(query.matches(Some("1.2@x"), &promotions));
        let query = RawQuery::parse("rfc822msgid:1.2@x category:primary").expect("parses");
        assert!(query.matches(Some("1.2@x"), &primary));
        assert!(!query.matches(Some("other@x"), &primary));
        assert!(!query.matches(None, &primary));
        let in_spam = RawQuery::parse("in:spam").expect("parses");
        assert!(!in_spam.matches(Some("1"), &primary));
        assert!(in_spam.matches(Some("1"), &spam));
        assert!(
            !RawQuery::parse("in:trash")
                .expect("parses")
                .matches(Some("1"), &spam)
        );
        assert!(RawQuery::parse("has:attachment").is_err());
        assert!(RawQuery::parse("category:nonsense").is_err());
    }
}
