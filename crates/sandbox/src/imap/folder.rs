//! The folders the sandbox shows, and what LIST, SEARCH and FETCH find in them (pure: the
//! messages come in as values).
//!
//! A captured message is in `INBOX` and `[Gmail]/All Mail`, or, when `placement.rs` filed it
//! as spam, in `[Gmail]/Spam` only (Gmail's All Mail never shows Spam or Trash);
//! `[Gmail]/Trash` is empty. Messages have no flags (nothing is read, the server being
//! read-only); their tab is found with `X-GM-RAW "category:..."`, as on Gmail.

use imap_codec::imap_types::fetch::{MacroOrMessageDataItemNames, MessageDataItemName, Section};
use imap_codec::imap_types::search::SearchKey;
use imap_codec::imap_types::sequence::{SeqOrUid, Sequence, SequenceSet};

use super::gmail::{self, Attribute, RawQuery};
use crate::placement::Placement;

/// The hierarchy delimiter, as Gmail's.
pub(crate) const DELIMITER: char = '/';

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Folder {
    Inbox,
    AllMail,
    Spam,
    Trash,
}

/// What LIST shows: name, then attributes (RFC 6154 SPECIAL-USE, as Gmail's).
const LISTING: [(&str, &str); 5] = [
    ("INBOX", "\\HasNoChildren"),
    ("[Gmail]", "\\HasChildren \\Noselect"),
    ("[Gmail]/All Mail", "\\All \\HasNoChildren"),
    ("[Gmail]/Spam", "\\HasNoChildren \\Junk"),
    ("[Gmail]/Trash", "\\HasNoChildren \\Trash"),
];

impl Folder {
    /// The folder a SELECT names; `None` for `[Gmail]` (not selectable) and unknown names.
    pub(crate) fn named(name: &[u8]) -> Option<Folder> {
        if name.eq_ignore_ascii_case(b"INBOX") {
            return Some(Folder::Inbox);
        }
        [Folder::AllMail, Folder::Spam, Folder::Trash]
            .into_iter()
            .find(|folder| folder.name().as_bytes() == name)
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            Folder::Inbox => "INBOX",
            Folder::AllMail => "[Gmail]/All Mail",
            Folder::Spam => "[Gmail]/Spam",
            Folder::Trash => "[Gmail]/Trash",
        }
    }

    /// Whether a message filed so is shown here.
    pub(crate) fn holds(self, placement: &Placement) -> bool {
        match self {
            Folder::Inbox | Folder::AllMail => !placement.spam,
            Folder::Spam => placement.spam,
            Folder::Trash => false,
        }
    }

    /// Fixed per folder: UIDs are the store's ids, which SQLite never hands out twice.
    pub(crate) fn uid_validity(self) -> u32 {
        match self {
            Folder::Inbox => 1,
            Folder::AllMail => 2,
            Folder::Spam => 3,
            Folder::Trash => 4,
        }
    }

    /// `X-GM-LABELS` of a captured message seen from here. Gmail leaves out the label of the
    /// selected folder, so `\Inbox` shows in All Mail but not in INBOX.
    pub(crate) fn labels(self) -> &'static str {
        match self {
            Folder::AllMail => "(\\Inbox)",
            Folder::Inbox | Folder::Spam | Folder::Trash => "()",
        }
    }
}

/// The `* LIST` lines for a reference and a pattern (`*` matches anything, `%` anything but
/// the delimiter). `lsub` only changes the word.
pub(crate) fn list(reference: &[u8], pattern: &[u8], lsub: bool) -> Vec<String> {
    let word = if lsub { "LSUB" } else { "LIST" };
    if pattern.is_empty() {
        // RFC 3501: an empty pattern asks for the delimiter.
        return vec![format!("* {word} (\\Noselect) \"{DELIMITER}\" \"\"\r\n")];
    }
    let mut full = reference.to_vec();
    full.extend_from_slice(pattern);
    LISTING
        .iter()
        .filter(|(name, _)| {
            wildcard(&full, name.as_bytes())
                || (*name == "INBOX" && wildcard(&full.to_ascii_uppercase(), name.as_bytes()))
        })
        .map(|(name, attributes)| format!("* {word} ({attributes}) \"{DELIMITER}\" \"{name}\"\r\n"))
        .collect()
}

/// Pattern matching by dynamic programming: a hostile pattern of many `*` costs its length
/// times the name's, never more.
fn wildcard(pattern: &[u8], name: &[u8]) -> bool {
    // matched[j]: the pattern so far matches the first j bytes of the name.
    let mut matched = vec![false; name.len() + 1];
    matched[0] = true;
    for &p in pattern {
        let mut next = vec![false; name.len() + 1];
        for j in 0..=name.len() {
            next[j] = match p {
                b'*' => matched[j] || (j > 0 && next[j - 1]),
                b'%' => matched[j] || (j > 0 && next[j - 1] && name[j - 1] != DELIMITER as u8),
                _ => j > 0 && matched[j - 1] && name[j - 1] == p,
            };
        }
        matched = next;
    }
    matched[name.len()]
}

/// One message as a folder shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Entry {
    pub uid: u32,
    pub received_unix_ms: u64,
    pub size: u64,
    pub placement: Placement,
}

/// Whether `value` is in `set`, with `*` standing for `largest`.
pub(crate) fn in_set(set: &SequenceSet, value: u32, largest: u32) -> bool {
    let number = |n: &SeqOrUid| match n {
        SeqOrUid::Value(n) => n.get(),
        SeqOrUid::Asterisk => largest,
    };
    set.0.as_ref().iter().any(|sequence| match sequence {
        Sequence::Single(n) => number(n) == value,
        Sequence::Range(a, b) => {
            let (a, b) = (number(a), number(b));
            (a.min(b)..=a.max(b)).contains(&value)
        }
    })
}

/// What `*` means where a search runs.
#[derive(Debug, Clone, Copy)]
pub(crate) struct View {
    pub max_seq: u32,
    pub max_uid: u32,
}

/// Refuses, in words, a search the sandbox cannot answer; `Ok(true)` when it must read the
/// messages themselves.
pub(crate) fn check_search(key: &SearchKey<'_>) -> Result<bool, String> {
    use SearchKey::*;
    Ok(match key {
        And(keys) => {
            let mut raw = false;
            for key in keys.as_ref() {
                raw |= check_search(key)?;
            }
            raw
        }
        Or(a, b) => check_search(a)? | check_search(b)?,
        Not(key) => check_search(key)?,
        Header(field, value) if is_raw_field(field.as_ref()) => {
            let query = RawQuery::parse(&String::from_utf8_lossy(value.as_ref()))
                .map_err(|why| format!("X-GM-RAW: {why}"))?;
            query.needs_message_id()
        }
        Header(..) | Bcc(_) | Body(_) | Cc(_) | From(_) | Subject(_) | Text(_) | To(_) => true,
        All | SequenceSet(_) | Uid(_) | Larger(_) | Smaller(_) | Answered | Unanswered
        | Deleted | Undeleted | Draft | Undraft | Flagged | Unflagged | Seen | Unseen | New
        | Old | Recent | Keyword(_) | Unkeyword(_) => false,
        Before(_) | On(_) | Since(_) | SentBefore(_) | SentOn(_) | SentSince(_) => {
            return Err(
                "date search keys are not offered by the sandbox yet; search by HEADER \
                 Message-ID or X-GM-RAW \"rfc822msgid:...\""
                    .to_owned(),
            );
        }
    })
}

/// Whether a message matches a key [`check_search`] accepted; `raw` is its bytes when the
/// key needs them.
pub(crate) fn matches(
    key: &SearchKey<'_>,
    view: View,
    seq: u32,
    entry: &Entry,
    raw: Option<&[u8]>,
) -> bool {
    use SearchKey::*;
    let raw_bytes = raw.unwrap_or_default();
    let header = |name: &[u8], needle: &[u8]| header_contains(raw_bytes, name, needle);
    match key {
        And(keys) => keys
            .as_ref()
            .iter()
            .all(|key| matches(key, view, seq, entry, raw)),
        Or(a, b) => matches(a, view, seq, entry, raw) || matches(b, view, seq, entry, raw),
        Not(key) => !matches(key, view, seq, entry, raw),
        All => true,
        SequenceSet(set) => in_set(set, seq, view.max_seq),
        Uid(set) => in_set(set, entry.uid, view.max_uid),
        Larger(n) => entry.size > u64::from(*n),
        Smaller(n) => entry.size < u64::from(*n),
        Header(field, value) if is_raw_field(field.as_ref()) => {
            let Ok(query) = RawQuery::parse(&String::from_utf8_lossy(value.as_ref())) else {
                return false;
            };
            let id = raw.and_then(crate::message::message_id);
            query.matches(id.as_deref(), &entry.placement)
        }
        Header(field, value) => header(field.as_ref(), value.as_ref()),
        Bcc(value) => header(b"Bcc", value.as_ref()),
        Cc(value) => header(b"Cc", value.as_ref()),
        From(value) => header(b"From", value.as_ref()),
        Subject(value) => header(b"Subject", value.as_ref()),
        To(value) => header(b"To", value.as_ref()),
        Body(value) => contains(split(raw_bytes).1, value.as_ref()),
        Text(value) => contains(raw_bytes, value.as_ref()),
        // No message has a flag or a keyword, and none is recent.
        Unanswered | Undeleted | Undraft | Unflagged | Unseen | Old | Unkeyword(_) => true,
        Answered | Deleted | Draft | Flagged | Seen | New | Recent | Keyword(_) => false,
        Before(_) | On(_) | Since(_) | SentBefore(_) | SentOn(_) | SentSince(_) => false,
    }
}

fn is_raw_field(field: &[u8]) -> bool {
    field.eq_ignore_ascii_case(gmail::raw_field().as_bytes())
}

/// The header (with its blank line) and the body.
fn split(raw: &[u8]) -> (&[u8], &[u8]) {
    let crlf = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|at| at + 4);
    let lf = raw.windows(2).position(|w| w == b"\n\n").map(|at| at + 2);
    match crlf.into_iter().chain(lf).min() {
        Some(end) => raw.split_at(end),
        None => (raw, &[]),
    }
}

/// The header's fields: each one's raw lines (folding kept), and its name.
fn fields(header: &[u8]) -> Vec<(&[u8], &[u8])> {
    let mut fields: Vec<(usize, usize)> = Vec::new();
    let mut start = 0;
    while start < header.len() {
        let end = header[start..]
            .iter()
            .position(|b| *b == b'\n')
            .map_or(header.len(), |at| start + at + 1);
        let line = &header[start..end];
        let blank = line == b"\r\n" || line == b"\n";
        match (line.first(), fields.last_mut()) {
            (Some(b' ' | b'\t'), Some(last)) => last.1 = end,
            _ if blank => {}
            _ => fields.push((start, end)),
        }
        start = end;
    }
    fields
        .into_iter()
        .map(|(start, end)| {
            let field = &header[start..end];
            let name_end = field.iter().position(|b| *b == b':').unwrap_or(0);
            (&field[..name_end], field)
        })
        .collect()
}

/// RFC 3501 HEADER: a field of that name whose value holds the string, ignoring case.
fn header_contains(raw: &[u8], name: &[u8], needle: &[u8]) -> bool {
    fields(split(raw).0).into_iter().any(|(field_name, field)| {
        field_name.trim_ascii().eq_ignore_ascii_case(name) && {
            let value = &field[field_name.len() + 1..];
            // Unfolded, so a value split over lines still matches.
            let unfolded: Vec<u8> = value
                .iter()
                .copied()
                .filter(|b| *b != b'\r' && *b != b'\n')
                .collect();
            contains(&unfolded, needle)
        }
    })
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    String::from_utf8_lossy(haystack)
        .to_lowercase()
        .contains(&String::from_utf8_lossy(needle).to_lowercase())
}

/// One requested FETCH item, in the order asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Item {
    Uid,
    Flags,
    InternalDate,
    Size,
    /// Bytes of the message: the name to answer with, what to take, and `<offset.count>`.
    Bytes {
        name: String,
        part: Part,
        partial: Option<(u32, u32)>,
    },
    Gmail(Attribute),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Part {
    Whole,
    Header,
    Text,
    Fields { names: Vec<Vec<u8>>, not: bool },
}

/// The items of a FETCH, or why the sandbox cannot answer it.
pub(crate) fn plan(
    items: &MacroOrMessageDataItemNames<'_>,
    uid: bool,
) -> Result<Vec<Item>, String> {
    let names = match items {
        MacroOrMessageDataItemNames::Macro(mac) => mac.expand(),
        MacroOrMessageDataItemNames::MessageDataItemNames(names) => names.clone(),
    };
    let mut plan = Vec::new();
    if uid {
        plan.push(Item::Uid);
    }
    for name in &names {
        let item = match name {
            MessageDataItemName::Uid => Item::Uid,
            MessageDataItemName::Flags => Item::Flags,
            MessageDataItemName::InternalDate => Item::InternalDate,
            MessageDataItemName::Rfc822Size => Item::Size,
            MessageDataItemName::Rfc822 => bytes("RFC822", Part::Whole),
            MessageDataItemName::Rfc822Header => bytes("RFC822.HEADER", Part::Header),
            MessageDataItemName::Rfc822Text => bytes("RFC822.TEXT", Part::Text),
            MessageDataItemName::BodyExt {
                section, partial, ..
            } => body_item(section.as_ref(), *partial)?,
            other => {
                return Err(format!(
                    "FETCH {} is not offered by the sandbox; ask for UID, FLAGS, INTERNALDATE, \
                     RFC822.SIZE, BODY.PEEK[...] or X-GM-LABELS",
                    item_word(other)
                ));
            }
        };
        if !plan.contains(&item) {
            plan.push(item);
        }
    }
    Ok(plan)
}

fn item_word(name: &MessageDataItemName<'_>) -> &'static str {
    match name {
        MessageDataItemName::Body => "BODY",
        MessageDataItemName::BodyStructure => "BODYSTRUCTURE",
        MessageDataItemName::Envelope => "ENVELOPE",
        _ => "of this item",
    }
}

fn bytes(name: &str, part: Part) -> Item {
    Item::Bytes {
        name: name.to_owned(),
        part,
        partial: None,
    }
}

fn body_item(
    section: Option<&Section<'_>>,
    partial: Option<(u32, std::num::NonZeroU32)>,
) -> Result<Item, String> {
    let (label, part) = match section {
        None => (String::new(), Part::Whole),
        Some(Section::Header(None)) => ("HEADER".to_owned(), Part::Header),
        Some(Section::Text(None)) => ("TEXT".to_owned(), Part::Text),
        Some(Section::HeaderFields(None, names) | Section::HeaderFieldsNot(None, names)) => {
            let not = matches!(section, Some(Section::HeaderFieldsNot(..)));
            let names: Vec<Vec<u8>> = names.as_ref().iter().map(|n| n.as_ref().to_vec()).collect();
            if let (false, [only]) = (not, names.as_slice())
                && let Some(attribute) = Attribute::from_field(only)
            {
                return Ok(Item::Gmail(attribute));
            }
            let list = names
                .iter()
                .map(|n| String::from_utf8_lossy(n).to_ascii_uppercase())
                .collect::<Vec<_>>()
                .join(" ");
            let word = if not {
                "HEADER.FIELDS.NOT"
            } else {
                "HEADER.FIELDS"
            };
            (format!("{word} ({list})"), Part::Fields { names, not })
        }
        Some(_) => {
            return Err(
                "FETCH of MIME parts (BODY[1], BODY[1.MIME], ...) is not offered by the \
                 sandbox; fetch BODY.PEEK[] and parse the message"
                    .to_owned(),
            );
        }
    };
    Ok(Item::Bytes {
        name: format!("BODY[{label}]"),
        part,
        partial: partial.map(|(offset, count)| (offset, count.get())),
    })
}

/// Whether a plan needs the message's bytes.
pub(crate) fn needs_raw(plan: &[Item]) -> bool {
    plan.iter().any(|item| matches!(item, Item::Bytes { .. }))
}

/// The `* N FETCH (...)` response for one message.
pub(crate) fn render(
    seq: u32,
    entry: &Entry,
    raw: Option<&[u8]>,
    plan: &[Item],
    folder: Folder,
) -> Vec<u8> {
    let mut out = format!("* {seq} FETCH (").into_bytes();
    for (index, item) in plan.iter().enumerate() {
        if index > 0 {
            out.push(b' ');
        }
        match item {
            Item::Uid => out.extend_from_slice(format!("UID {}", entry.uid).as_bytes()),
            Item::Flags => out.extend_from_slice(b"FLAGS ()"),
            Item::InternalDate => out.extend_from_slice(
                format!("INTERNALDATE \"{}\"", internal_date(entry.received_unix_ms)).as_bytes(),
            ),
            Item::Size => out.extend_from_slice(
                format!(
                    "RFC822.SIZE {}",
                    entry.size + spam_field(entry, folder).len() as u64
                )
                .as_bytes(),
            ),
            Item::Gmail(attribute) => {
                let value = match attribute {
                    Attribute::Labels => folder.labels().to_owned(),
                    // Numbers as large as Gmail's, unique per message; each its own thread.
                    Attribute::MsgId | Attribute::ThrId => {
                        (0x1800_0000_0000_0000_u64 + u64::from(entry.uid)).to_string()
                    }
                };
                out.extend_from_slice(format!("{} {value}", attribute.name()).as_bytes());
            }
            Item::Bytes {
                name,
                part,
                partial,
            } => {
                let delivered = raw.map(|raw| [spam_field(entry, folder).as_bytes(), raw].concat());
                let raw = delivered.as_deref().unwrap_or_default();
                let (header, text) = split(raw);
                let selected: Vec<u8> = match part {
                    Part::Whole => raw.to_vec(),
                    Part::Header => header.to_vec(),
                    Part::Text => text.to_vec(),
                    Part::Fields { names, not } => {
                        let mut kept: Vec<u8> = fields(header)
                            .into_iter()
                            .filter(|(field_name, _)| {
                                let listed = names
                                    .iter()
                                    .any(|n| field_name.trim_ascii().eq_ignore_ascii_case(n));
                                listed != *not
                            })
                            .flat_map(|(_, field)| field.iter().copied())
                            .collect();
                        kept.extend_from_slice(b"\r\n");
                        kept
                    }
                };
                let (name, data) = match partial {
                    Some((offset, count)) => {
                        let start = (*offset as usize).min(selected.len());
                        let end = start.saturating_add(*count as usize).min(selected.len());
                        (format!("{name}<{offset}>"), &selected[start..end])
                    }
                    None => (name.clone(), selected.as_slice()),
                };
                out.extend_from_slice(format!("{name} {{{}}}\r\n", data.len()).as_bytes());
                out.extend_from_slice(data);
            }
        }
    }
    out.extend_from_slice(b")\r\n");
    out
}

/// The field the sandbox adds to a message it filed in Spam, as a receiving server adds trace
/// fields on delivery: the rule that decided, so a verdict can say why. Empty elsewhere.
pub(crate) fn spam_field(entry: &Entry, folder: Folder) -> String {
    if folder != Folder::Spam || entry.placement.reasons.is_empty() {
        return String::new();
    }
    let reasons = entry.placement.reasons.join("; ");
    // One line, ASCII: the reasons quote a From, which may be anything.
    let reasons: String = reasons
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() || c == ' ' {
                c
            } else {
                '?'
            }
        })
        .take(900)
        .collect();
    format!("X-Sandbox-Spam: {reasons}\r\n")
}

/// RFC 3501's date-time, in UTC: `01-Jan-2024 00:00:00 +0000`.
pub(crate) fn internal_date(unix_ms: u64) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let seconds = i64::try_from(unix_ms / 1000).unwrap_or_default();
    let date = time::OffsetDateTime::from_unix_timestamp(seconds)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    format!(
        "{:02}-{}-{:04} {:02}:{:02}:{:02} +0000",
        date.day(),
        MONTHS[usize::from(u8::from(date.month())) - 1],
        date.year(),
        date.hour(),
        date.minute(),
        date.second()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_patterns() {
        let names = |reference: &str, pattern: &str| -> Vec<String> {
            list(reference.as_bytes(), pattern.as_bytes(), false)
                .into_iter()
                .map(|line| {
                    line.rsplit(" \"/\" ")
                        .next()
                        .unwrap_or_default()
                        .trim_end()
                        .to_owned()
                })
                .collect()
        };
        for (reference, pattern, expected) in [
            (
                "",
                "*",
                vec![
                    "\"INBOX\"",
                    "\"[Gmail]\"",
                    "\"[Gmail]/All Mail\"",
                    "\"[Gmail]/Spam\"",
                    "\"[Gmail]/Trash\"",
                ],
            ),
            ("", "%", vec!["\"INBOX\"", "\"[Gmail]\""]),
            (
                "[Gmail]/",
                "%",
                vec![
                    "\"[Gmail]/All Mail\"",
                    "\"[Gmail]/Spam\"",
                    "\"[Gmail]/Trash\"",
                ],
            ),
            ("", "inbox", vec!["\"INBOX\""]),
            ("", "[Gmail]/Sp*", vec!["\"[Gmail]/Spam\""]),
            ("", "nothing", vec![]),
            ("", "", vec!["\"\""]),
        ] {
            assert_eq!(
                names(reference, pattern),
                expected,
                "{reference:?} {pattern:?}"
            );
        }
        let all = list(b"", b"*", false).concat();
        assert!(
            all.contains("* LIST (\\All \\HasNoChildren) \"/\" \"[Gmail]/All Mail\"\r\n"),
            "{all}"
        );
        assert!(
            all.contains("(\\HasNoChildren \\Junk) \"/\" \"[Gmail]/Spam\""),
            "{all}"
        );
        assert!(wildcard(&[b'*'; 5000], b"[Gmail]/All Mail"));
    }

    #[test]
    fn headers_are_matched_unfolded_and_ignoring_case() {
        let raw = b"Subject: Hello\r\n there\r\nMessage-ID: <1.2@x>\r\n\r\nBody: not a header\r\n";
        for (name, needle, expected) in [
            ("subject", "hello there", true),
            ("Message-ID", "<1.2@x>", true),
            ("Message-ID", "1.2@X", true),
            ("Message-ID", "<3@x>", false),
            ("Body", "not", false),
            ("Subject", "", true),
            ("Cc", "", false),
        ] {
            assert_eq!(
                header_contains(raw, name.as_bytes(), needle.as_bytes()),
                expected,
                "{name} {needle}"
            );
        }
        assert_eq!(split(raw).1, b"Body: not a header\r\n");
    }

    #[test]
    fn fetch_renders_literals_and_labels() {
        let entry = Entry {
            uid: 7,
            received_unix_ms: 1_704_067_200_000,
            size: 12,
            placement: Placement::default(),
        };
        let raw = b"A: 1\r\nB: 2\r\n\r\nbody";
        let plan = vec![
            Item::Uid,
            Item::InternalDate,
            Item::Gmail(Attribute::Labels),
            bytes("BODY[HEADER]", Part::Header),
            Item::Bytes {
                name: "BODY[HEADER.FIELDS (B)]".into(),
                part: Part::Fields {
                    names: vec![b"b".to_vec()],
                    not: false,
                },
                partial: None,
            },
            Item::Bytes {
                name: "BODY[]".into(),
                part: Part::Whole,
                partial: Some((2, 100)),
            },
        ];
        let out = render(3, &entry, Some(raw), &plan, Folder::AllMail);
        assert_eq!(
            String::from_utf8_lossy(&out),
            "* 3 FETCH (UID 7 INTERNALDATE \"01-Jan-2024 00:00:00 +0000\" X-GM-LABELS (\\Inbox) \
             BODY[HEADER] {14}\r\nA: 1\r\nB: 2\r\n\r\n BODY[HEADER.FIELDS (B)] {8}\r\nB: 2\r\n\r\n \
             BODY[]<2> {16}\r\n 1\r\nB: 2\r\n\r\nbody)\r\n"
        );
        let inbox = render(
            3,
            &entry,
            None,
            &[Item::Gmail(Attribute::Labels)],
            Folder::Inbox,
        );
        assert_eq!(inbox, b"* 3 FETCH (X-GM-LABELS ())\r\n");
    }

    #[test]
    fn sequence_sets_with_stars_and_reversed_ranges() {
        let set: SequenceSet = "2,5:*".parse().expect("set");
        assert!(in_set(&set, 2, 9) && in_set(&set, 9, 9) && !in_set(&set, 3, 9));
        let set: SequenceSet = "*:4".parse().expect("set");
        assert!(in_set(&set, 4, 6) && in_set(&set, 6, 6) && !in_set(&set, 3, 6));
    }
}
