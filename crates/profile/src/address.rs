//! RFC 5322 addresses (`ann@example.com`) and mailboxes (`Ann Example <ann@example.com>`).
//!
//! Non-ASCII is accepted where RFC 6532 allows it (local parts, display names) and in domains
//! (IDN), which stay in Unicode for display; [`Address::envelope`] gives the punycode form that
//! goes into `MAIL FROM`/`RCPT TO`.

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::encoded_word;

/// RFC 5321 caps the local part at 64 octets.
const MAX_LOCAL: usize = 64;
/// RFC 5321 caps a path at 256 octets including the angle brackets.
const MAX_ADDRESS: usize = 254;
/// RFC 1035 caps a DNS label at 63 octets.
const MAX_LABEL: usize = 63;

/// An email address (RFC 5322 `addr-spec`), kept as the user wrote it.
///
/// [`Address::parse`] is the checked way in. Deserializing and [`Address::new_unchecked`] accept
/// any text so that a profile being edited, or a team file being imported, can hold a bad address
/// and have [`crate::Profile::validate`] report it with its field path instead of failing early.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Address(String);

impl Address {
    /// Parses and checks an address; surrounding whitespace is ignored.
    pub fn parse(text: &str) -> Result<Address, AddressError> {
        let text = text.trim_matches(is_wsp);
        check_addr_spec(text)?;
        Ok(Address(text.to_string()))
    }

    /// Wraps text without checking it; [`Address::check`] or profile validation reports problems.
    pub fn new_unchecked(text: impl Into<String>) -> Address {
        Address(text.into())
    }

    /// Checks the address exactly as stored (surrounding whitespace is an error here).
    pub fn check(&self) -> Result<(), AddressError> {
        check_addr_spec(&self.0)
    }

    /// The address as written, Unicode domain included: the form to show people.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The part before the last `@` (quotes included when it was quoted).
    pub fn local_part(&self) -> &str {
        self.0
            .rsplit_once('@')
            .map_or(self.0.as_str(), |(local, _)| local)
    }

    /// The part after the last `@`, as written (Unicode for IDN domains).
    pub fn domain(&self) -> &str {
        self.0.rsplit_once('@').map_or("", |(_, domain)| domain)
    }

    /// The form for the SMTP envelope: the domain in ASCII (punycode), the local part unchanged.
    ///
    /// A non-ASCII local part cannot be made ASCII; sending to it needs the server's `SMTPUTF8`.
    /// An unchecked address that does not parse is returned as is.
    pub fn envelope(&self) -> String {
        let domain = self.domain();
        if domain.is_ascii() {
            return self.0.clone();
        }
        match to_ascii(domain) {
            Some(ascii) => format!("{}@{}", self.local_part(), ascii),
            None => self.0.clone(),
        }
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for Address {
    type Err = AddressError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Address::parse(s)
    }
}

impl Serialize for Address {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Address {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Address)
    }
}

impl JsonSchema for Address {
    fn schema_name() -> Cow<'static, str> {
        "Address".into()
    }

    fn inline_schema() -> bool {
        true
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "format": "idn-email",
            "description": "An RFC 5322 address such as ann@example.com; international domains stay in Unicode."
        })
    }
}

/// A mailbox: an address with an optional display name, as in a `From:` or `Reply-To:` header.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Mailbox {
    /// Display name shown by mail clients, decoded (no RFC 2047 encoded-words, no quotes).
    #[serde(default)]
    pub name: Option<String>,
    /// The address.
    pub address: Address,
}

impl Mailbox {
    /// Parses `Ann Example <ann@example.com>`, `"Doe, John" <j@x.com>`, `<a@x.com>` or a bare
    /// address. RFC 2047 encoded-words in the display name are decoded.
    pub fn parse(text: &str) -> Result<Mailbox, AddressError> {
        if text.chars().any(is_forbidden) {
            return Err(AddressError::ControlChar);
        }
        let text = text.trim_matches(is_wsp);
        if text.is_empty() {
            return Err(AddressError::Empty);
        }
        let (lt, gt) = match scan(text)? {
            Angles { lt: None, gt: None } => {
                return Ok(Mailbox {
                    name: None,
                    address: Address::parse(text)?,
                });
            }
            Angles {
                lt: None,
                gt: Some(_),
            } => {
                return Err(AddressError::InvalidChar('>', Part::Local));
            }
            Angles { lt: Some(lt), gt } => (lt, gt),
        };
        if gt.is_some_and(|gt| gt < lt) {
            return Err(AddressError::InvalidChar('>', Part::DisplayName));
        }
        let (phrase, angle) = text.split_at(lt);
        // The address runs from the '<' to the first '>' outside quotes, which must end the text.
        let inner = &angle[1..];
        let gt = scan(inner)?.gt.ok_or(AddressError::UnclosedAngle)?;
        if gt + 1 != inner.len() {
            return Err(AddressError::TextAfterAngle);
        }
        let address = Address::parse(&inner[..gt])?;
        Ok(Mailbox {
            name: parse_phrase(phrase)?,
            address,
        })
    }

    /// The header form with only ASCII: a non-ASCII display name becomes RFC 2047 encoded-words
    /// and the domain becomes punycode, for servers without `SMTPUTF8`.
    pub fn to_ascii(&self) -> String {
        match self.display_name() {
            Some(name) if name.is_ascii() => {
                format!("{} <{}>", quote_phrase(name), self.address.envelope())
            }
            Some(name) => {
                format!(
                    "{} <{}>",
                    encoded_word::encode(name),
                    self.address.envelope()
                )
            }
            None => self.address.envelope(),
        }
    }

    fn display_name(&self) -> Option<&str> {
        self.name.as_deref().filter(|name| !name.is_empty())
    }
}

impl From<Address> for Mailbox {
    fn from(address: Address) -> Self {
        Mailbox {
            name: None,
            address,
        }
    }
}

impl FromStr for Mailbox {
    type Err = AddressError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Mailbox::parse(s)
    }
}

/// RFC 5322 (with RFC 6532 UTF-8) form; the display name is quoted when it needs to be.
impl fmt::Display for Mailbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.display_name() {
            Some(name) => write!(f, "{} <{}>", quote_phrase(name), self.address),
            None => write!(f, "{}", self.address),
        }
    }
}

/// Parses a comma-separated list such as `a@x.com, "Doe, John" <j@x.com>`.
///
/// Empty items (`a@x.com,,b@x.com`, a trailing comma) are skipped, as RFC 5322's obsolete syntax
/// allows; an empty input gives an empty list. Group syntax (`Team: a@x.com;`) is not supported.
pub fn parse_list(text: &str) -> Result<Vec<Mailbox>, AddressError> {
    let mut mailboxes = Vec::new();
    for item in split_list(text)? {
        if item.trim_matches(is_wsp).is_empty() {
            continue;
        }
        let index = mailboxes.len();
        let mailbox = Mailbox::parse(item).map_err(|source| AddressError::Item {
            index,
            source: Box::new(source),
        })?;
        mailboxes.push(mailbox);
    }
    Ok(mailboxes)
}

/// Which part of an address or mailbox an error is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// Before the `@`.
    Local,
    /// After the `@`.
    Domain,
    /// The name before `<...>`.
    DisplayName,
}

impl fmt::Display for Part {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Part::Local => "part before the '@'",
            Part::Domain => "domain",
            Part::DisplayName => "display name",
        })
    }
}

/// Why an address or mailbox was rejected. [`AddressError::message`] says what is wrong and
/// [`AddressError::fix`] what to do; `Display` gives both.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AddressError {
    /// Nothing was given.
    Empty,
    /// No `@` at all.
    MissingAt,
    /// Nothing before the `@`.
    EmptyLocal,
    /// Nothing after the `@`.
    EmptyDomain,
    /// A second `@` outside quotes.
    MultipleAt,
    /// A control character such as CR or LF: it could inject headers.
    ControlChar,
    /// Whitespace in an unquoted part.
    Whitespace(Part),
    /// A character that is not allowed where it is.
    InvalidChar(char, Part),
    /// A dot at the start or end, or two dots in a row.
    BadDot(Part),
    /// The local part is longer than 64 bytes.
    LocalTooLong(usize),
    /// The address is longer than 254 bytes.
    TooLong(usize),
    /// A domain label is longer than 63 bytes (in its ASCII form).
    LabelTooLong(String),
    /// A domain label starts or ends with `-`.
    LabelHyphen(String),
    /// The domain is not a valid internationalized domain name.
    InvalidDomain,
    /// An address literal such as `[192.0.2.1]`.
    DomainLiteral,
    /// A `"` without its closing partner.
    UnclosedQuote,
    /// Text between a quoted local part and the `@`.
    TextAfterQuote,
    /// A `<` without its `>`.
    UnclosedAngle,
    /// Text after the closing `>`.
    TextAfterAngle,
    /// A comment in parentheses.
    Comment,
    /// An item of a list (see [`parse_list`]); `index` counts from 0 over non-empty items.
    Item {
        /// Position of the item in the list, from 0.
        index: usize,
        /// What is wrong with it.
        source: Box<AddressError>,
    },
}

impl AddressError {
    /// What is wrong, without the fix.
    pub fn message(&self) -> String {
        match self {
            AddressError::Empty => "the address is empty".into(),
            AddressError::MissingAt => "the address has no '@'".into(),
            AddressError::EmptyLocal => "there is nothing before the '@'".into(),
            AddressError::EmptyDomain => "there is nothing after the '@'".into(),
            AddressError::MultipleAt => "the address has more than one '@'".into(),
            AddressError::ControlChar => {
                "it contains a line break or other control character, which could inject mail headers".into()
            }
            AddressError::Whitespace(part) => format!("the {part} contains whitespace"),
            AddressError::InvalidChar(c, part) => format!("{c:?} is not allowed in the {part}"),
            AddressError::BadDot(part) => {
                format!("the {part} starts or ends with '.', or has two dots in a row")
            }
            AddressError::LocalTooLong(len) => {
                format!("the part before the '@' is {len} bytes long; the limit is {MAX_LOCAL}")
            }
            AddressError::TooLong(len) => {
                format!("the address is {len} bytes long; the limit is {MAX_ADDRESS}")
            }
            AddressError::LabelTooLong(label) => {
                format!("the domain label {label:?} is longer than {MAX_LABEL} characters")
            }
            AddressError::LabelHyphen(label) => {
                format!("the domain label {label:?} starts or ends with '-'")
            }
            AddressError::InvalidDomain => "the domain is not a valid international domain name".into(),
            AddressError::DomainLiteral => "address literals such as [192.0.2.1] are not supported".into(),
            AddressError::UnclosedQuote => "a double quote is not closed".into(),
            AddressError::TextAfterQuote => "there is text between the closing quote and the '@'".into(),
            AddressError::UnclosedAngle => "a '<' has no matching '>'".into(),
            AddressError::TextAfterAngle => "there is text after the closing '>'".into(),
            AddressError::Comment => "comments in parentheses are not supported".into(),
            AddressError::Item { index, source } => {
                format!("address {} in the list: {}", index + 1, source.message())
            }
        }
    }

    /// What to do about it.
    pub fn fix(&self) -> String {
        match self {
            AddressError::Empty | AddressError::MissingAt => "write it as name@example.com".into(),
            AddressError::EmptyLocal => "add the mailbox name, as in name@example.com".into(),
            AddressError::EmptyDomain => "add the domain, as in name@example.com".into(),
            AddressError::MultipleAt => {
                "keep one '@', or put the part before the last '@' in double quotes".into()
            }
            AddressError::ControlChar => "remove it and keep the text on one line".into(),
            AddressError::Whitespace(Part::Local) => {
                "remove it, or quote the part before the '@' as in \"john doe\"@example.com".into()
            }
            AddressError::Whitespace(_) => "remove the whitespace".into(),
            AddressError::InvalidChar(_, Part::Local) => {
                "remove it, or quote the part before the '@' as in \"john,doe\"@example.com".into()
            }
            AddressError::InvalidChar(_, Part::Domain) => {
                "domains use only letters, digits, '-' and '.'; check the spelling".into()
            }
            AddressError::InvalidChar(_, Part::DisplayName) => {
                "put the display name in double quotes, as in \"Doe, John\" <j@example.com>".into()
            }
            AddressError::BadDot(_) => "remove the extra '.'".into(),
            AddressError::LocalTooLong(_) | AddressError::TooLong(_) => {
                "use a shorter address".into()
            }
            AddressError::LabelTooLong(_) | AddressError::InvalidDomain => {
                "check the domain's spelling".into()
            }
            AddressError::LabelHyphen(_) => {
                "remove the '-' at the start or end of the label".into()
            }
            AddressError::DomainLiteral => "use the domain name instead of the IP address".into(),
            AddressError::UnclosedQuote => "add the closing '\"'".into(),
            AddressError::TextAfterQuote => {
                "put everything before the '@' inside the quotes".into()
            }
            AddressError::UnclosedAngle | AddressError::TextAfterAngle => {
                "write it as Name <name@example.com>".into()
            }
            AddressError::Comment => {
                "remove the comment; put a name before the address: Name <name@example.com>".into()
            }
            AddressError::Item { source, .. } => source.fix(),
        }
    }
}

impl fmt::Display for AddressError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}; {}", self.message(), self.fix())
    }
}

impl std::error::Error for AddressError {}

/// RFC 5322 white space; tabs are legal folding white space, unlike other control characters.
fn is_wsp(c: char) -> bool {
    c == ' ' || c == '\t'
}

/// Characters that must never reach a header: C0/C1 controls (tab aside) and the Unicode line
/// and paragraph separators, which some software also treats as line breaks.
pub(crate) fn is_forbidden(c: char) -> bool {
    (c.is_control() && c != '\t') || c == '\u{2028}' || c == '\u{2029}'
}

/// RFC 5322 `atext`, widened to UTF-8 by RFC 6532.
fn is_atext(c: char) -> bool {
    c.is_ascii_alphanumeric()
        || "!#$%&'*+-/=?^_`{|}~".contains(c)
        || (!c.is_ascii() && !c.is_whitespace())
}

fn check_addr_spec(text: &str) -> Result<(), AddressError> {
    if text.is_empty() {
        return Err(AddressError::Empty);
    }
    if text.chars().any(is_forbidden) {
        return Err(AddressError::ControlChar);
    }
    let (local, domain) = if text.starts_with('"') {
        let end = closing_quote(text)?;
        let (local, rest) = text.split_at(end + 1);
        match rest.strip_prefix('@') {
            Some(domain) => (local, domain),
            None if rest.is_empty() => return Err(AddressError::MissingAt),
            None => return Err(AddressError::TextAfterQuote),
        }
    } else {
        let (local, domain) = text.split_once('@').ok_or(AddressError::MissingAt)?;
        check_dot_atom(local)?;
        (local, domain)
    };
    if local == "\"\"" {
        return Err(AddressError::EmptyLocal);
    }
    if domain.contains('@') {
        return Err(AddressError::MultipleAt);
    }
    let ascii_domain = check_domain(domain)?;
    if local.len() > MAX_LOCAL {
        return Err(AddressError::LocalTooLong(local.len()));
    }
    let total = local.len() + 1 + ascii_domain.len();
    if total > MAX_ADDRESS {
        return Err(AddressError::TooLong(total));
    }
    Ok(())
}

/// Byte index of the `"` that closes the quoted string opening `text`.
fn closing_quote(text: &str) -> Result<usize, AddressError> {
    let mut escaped = false;
    for (i, c) in text.char_indices().skip(1) {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '"' => return Ok(i),
            _ => {}
        }
    }
    Err(AddressError::UnclosedQuote)
}

fn check_dot_atom(local: &str) -> Result<(), AddressError> {
    if local.is_empty() {
        return Err(AddressError::EmptyLocal);
    }
    if let Some(c) = local.chars().find(|&c| c != '.' && !is_atext(c)) {
        return Err(if c.is_whitespace() {
            AddressError::Whitespace(Part::Local)
        } else {
            AddressError::InvalidChar(c, Part::Local)
        });
    }
    if local.split('.').any(str::is_empty) {
        return Err(AddressError::BadDot(Part::Local));
    }
    Ok(())
}

/// Checks a domain (or host name) and returns its ASCII form.
pub(crate) fn check_domain(domain: &str) -> Result<Cow<'_, str>, AddressError> {
    if domain.is_empty() {
        return Err(AddressError::EmptyDomain);
    }
    if domain.starts_with('[') {
        return Err(AddressError::DomainLiteral);
    }
    for c in domain.chars() {
        if c.is_whitespace() {
            return Err(AddressError::Whitespace(Part::Domain));
        }
        if c == '@' {
            return Err(AddressError::MultipleAt);
        }
        if c.is_ascii() && !c.is_ascii_alphanumeric() && c != '-' && c != '.' {
            return Err(AddressError::InvalidChar(c, Part::Domain));
        }
    }
    check_labels(domain)?;
    // ASCII domains are checked above already; IDNA runs for Unicode and for punycode labels,
    // which must decode to be valid.
    let needs_idna = !domain.is_ascii()
        || domain.split('.').any(|label| {
            label
                .get(..4)
                .is_some_and(|p| p.eq_ignore_ascii_case("xn--"))
        });
    if !needs_idna {
        return Ok(Cow::Borrowed(domain));
    }
    let Some(ascii) = to_ascii(domain) else {
        #[cfg(not(feature = "idn"))]
        if !domain.is_ascii() {
            // Without IDNA tables only the structure was checked; see the `idn` feature.
            return Ok(Cow::Borrowed(domain));
        }
        return Err(AddressError::InvalidDomain);
    };
    // UTS 46 maps look-alike dots (such as U+3002) to '.', so labels are checked again.
    check_labels(&ascii)?;
    Ok(Cow::Owned(ascii))
}

/// The domain in ASCII (punycode) by UTS 46, or `None` when it is not a valid IDN.
#[cfg(feature = "idn")]
fn to_ascii(domain: &str) -> Option<String> {
    idna::domain_to_ascii_cow(domain.as_bytes(), idna::AsciiDenyList::STD3)
        .ok()
        .map(Cow::into_owned)
}

/// Without the `idn` feature nothing converts, so only ASCII domains have an ASCII form.
#[cfg(not(feature = "idn"))]
fn to_ascii(domain: &str) -> Option<String> {
    domain.is_ascii().then(|| domain.to_owned())
}

fn check_labels(domain: &str) -> Result<(), AddressError> {
    for label in domain.split('.') {
        if label.is_empty() {
            return Err(AddressError::BadDot(Part::Domain));
        }
        if label.len() > MAX_LABEL {
            return Err(AddressError::LabelTooLong(label.to_string()));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(AddressError::LabelHyphen(label.to_string()));
        }
    }
    Ok(())
}

/// Where the first `<` and the first `>` outside quoted strings are.
#[derive(Default)]
struct Angles {
    lt: Option<usize>,
    gt: Option<usize>,
}

fn scan(text: &str) -> Result<Angles, AddressError> {
    let mut angles = Angles::default();
    let mut in_quote = false;
    let mut escaped = false;
    for (i, c) in text.char_indices() {
        if in_quote {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => in_quote = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => in_quote = true,
            '(' => return Err(AddressError::Comment),
            '<' if angles.lt.is_none() => angles.lt = Some(i),
            '>' if angles.gt.is_none() => angles.gt = Some(i),
            _ => {}
        }
    }
    if in_quote {
        return Err(AddressError::UnclosedQuote);
    }
    Ok(angles)
}

/// Splits on commas outside quoted strings and angle brackets.
fn split_list(text: &str) -> Result<Vec<&str>, AddressError> {
    let mut items = Vec::new();
    let mut start = 0;
    let mut in_quote = false;
    let mut escaped = false;
    let mut in_angle = false;
    for (i, c) in text.char_indices() {
        if in_quote {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => in_quote = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => in_quote = true,
            '<' => in_angle = true,
            '>' => in_angle = false,
            ',' if !in_angle => {
                items.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    if in_quote {
        return Err(AddressError::Item {
            index: items
                .iter()
                .filter(|item| !item.trim_matches(is_wsp).is_empty())
                .count(),
            source: Box::new(AddressError::UnclosedQuote),
        });
    }
    items.push(&text[start..]);
    Ok(items)
}

/// Parses an RFC 5322 `phrase` (with the common obsolete '.' in unquoted words) into the text a
/// person would read: quotes and escapes removed, encoded-words decoded, words joined by a space.
fn parse_phrase(phrase: &str) -> Result<Option<String>, AddressError> {
    let mut out = String::new();
    let mut chars = phrase.char_indices().peekable();
    let mut space_before = false;
    let mut previous_encoded = false;
    while let Some(&(start, c)) = chars.peek() {
        if is_wsp(c) {
            space_before = true;
            chars.next();
            continue;
        }
        let (word, encoded) = if c == '"' {
            chars.next();
            let mut word = String::new();
            let mut closed = false;
            while let Some((_, c)) = chars.next() {
                match c {
                    '\\' => {
                        if let Some((_, escaped)) = chars.next() {
                            word.push(escaped);
                        }
                    }
                    '"' => {
                        closed = true;
                        break;
                    }
                    _ => word.push(c),
                }
            }
            if !closed {
                return Err(AddressError::UnclosedQuote);
            }
            (word, false)
        } else if c == '.' || is_atext(c) {
            let mut end = phrase.len();
            while let Some(&(i, c)) = chars.peek() {
                if c != '.' && !is_atext(c) {
                    end = i;
                    break;
                }
                chars.next();
            }
            let atom = &phrase[start..end];
            match encoded_word::decode(atom) {
                Some(decoded) => (decoded, true),
                None => (atom.to_string(), false),
            }
        } else {
            return Err(if c.is_whitespace() {
                AddressError::Whitespace(Part::DisplayName)
            } else {
                AddressError::InvalidChar(c, Part::DisplayName)
            });
        };
        // RFC 2047 section 6.2: white space between adjacent encoded-words is not displayed.
        if !out.is_empty() && space_before && !(encoded && previous_encoded) {
            out.push(' ');
        }
        out.push_str(&word);
        space_before = false;
        previous_encoded = encoded;
    }
    // Decoding may reveal a CR or LF that was hidden in an encoded-word.
    if out.chars().any(is_forbidden) {
        return Err(AddressError::ControlChar);
    }
    Ok(Some(out).filter(|name| !name.is_empty()))
}

/// The display name as RFC 5322 text: bare words when that parses back the same, else quoted.
fn quote_phrase(name: &str) -> Cow<'_, str> {
    let plain = name
        .split(' ')
        .all(|word| !word.is_empty() && word.chars().all(is_atext))
        && !name.contains("=?");
    if plain {
        return Cow::Borrowed(name);
    }
    let mut quoted = String::with_capacity(name.len() + 2);
    quoted.push('"');
    for c in name.chars() {
        if c == '"' || c == '\\' {
            quoted.push('\\');
        }
        quoted.push(c);
    }
    quoted.push('"');
    Cow::Owned(quoted)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `Ok((display name, address as stored, envelope))` or the error.
    type Expected<'a> = Result<(Option<&'a str>, &'a str, &'a str), AddressError>;

    fn check(input: &str, expected: Expected<'_>) {
        let got = Mailbox::parse(input).map(|m| {
            let envelope = m.address.envelope();
            (m.name, m.address.as_str().to_string(), envelope)
        });
        let expected = expected.map(|(name, address, envelope)| {
            (
                name.map(str::to_string),
                address.to_string(),
                envelope.to_string(),
            )
        });
        assert_eq!(got, expected, "input: {input:?}");
    }

    fn ok(address: &str) -> Expected<'_> {
        Ok((None, address, address))
    }

    #[test]
    fn valid_addresses() {
        let longest_local = format!("{}@example.com", "a".repeat(64));
        let cases: &[(&str, Expected<'_>)] = &[
            ("ann@example.com", ok("ann@example.com")),
            ("  ann@example.com\t", ok("ann@example.com")),
            ("first.last@example.com", ok("first.last@example.com")),
            (
                "user+tag@sub.example.co.uk",
                ok("user+tag@sub.example.co.uk"),
            ),
            ("x@localhost", ok("x@localhost")),
            (
                "!#$%&'*+-/=?^_`{|}~@example.com",
                ok("!#$%&'*+-/=?^_`{|}~@example.com"),
            ),
            ("\"john doe\"@example.com", ok("\"john doe\"@example.com")),
            ("\"john@doe\"@example.com", ok("\"john@doe\"@example.com")),
            ("\"a\\\"b\"@example.com", ok("\"a\\\"b\"@example.com")),
            ("\"john..doe\"@example.com", ok("\"john..doe\"@example.com")),
            (
                "user@bücher.de",
                Ok((None, "user@bücher.de", "user@xn--bcher-kva.de")),
            ),
            (
                "user@BÜCHER.de",
                Ok((None, "user@BÜCHER.de", "user@xn--bcher-kva.de")),
            ),
            ("user@xn--bcher-kva.de", ok("user@xn--bcher-kva.de")),
            ("josé@example.com", ok("josé@example.com")),
            ("a@a-b.example", ok("a@a-b.example")),
            ("Ann@Example.COM", ok("Ann@Example.COM")),
            (&longest_local, ok(&longest_local)),
            ("<ann@example.com>", ok("ann@example.com")),
            (
                "Ann Example <ann@example.com>",
                Ok((Some("Ann Example"), "ann@example.com", "ann@example.com")),
            ),
            (
                "Ann   Example<ann@example.com>",
                Ok((Some("Ann Example"), "ann@example.com", "ann@example.com")),
            ),
            (
                "\"Doe, John\" <j@x.com>",
                Ok((Some("Doe, John"), "j@x.com", "j@x.com")),
            ),
            (
                "\"John \\\"JD\\\" Doe\" <j@x.com>",
                Ok((Some("John \"JD\" Doe"), "j@x.com", "j@x.com")),
            ),
            (
                "John Q. Public <jqp@x.com>",
                Ok((Some("John Q. Public"), "jqp@x.com", "jqp@x.com")),
            ),
            (
                "Jürgen Müller <j@bücher.de>",
                Ok((Some("Jürgen Müller"), "j@bücher.de", "j@xn--bcher-kva.de")),
            ),
            (
                "=?UTF-8?B?SsO8cmdlbg==?= <j@x.com>",
                Ok((Some("Jürgen"), "j@x.com", "j@x.com")),
            ),
            (
                "=?iso-8859-1?Q?J=FCrgen_M?= <j@x.com>",
                Ok((Some("Jürgen M"), "j@x.com", "j@x.com")),
            ),
            (
                "=?utf-8?q?J=C3=BC?= =?utf-8?q?rgen?= <j@x.com>",
                Ok((Some("Jürgen"), "j@x.com", "j@x.com")),
            ),
            (
                "=?utf-8?q?Ann?= Example <a@x.com>",
                Ok((Some("Ann Example"), "a@x.com", "a@x.com")),
            ),
            (
                "\"=?utf-8?q?kept?=\" <a@x.com>",
                Ok((Some("=?utf-8?q?kept?="), "a@x.com", "a@x.com")),
            ),
            (
                "=?x-unknown?q?raw?= <a@x.com>",
                Ok((Some("=?x-unknown?q?raw?="), "a@x.com", "a@x.com")),
            ),
            ("\"\" <a@x.com>", ok("a@x.com")),
            (
                "\"Ann (work)\" <\"ann <x>\"@x.com>",
                Ok((Some("Ann (work)"), "\"ann <x>\"@x.com", "\"ann <x>\"@x.com")),
            ),
        ];
        for (input, expected) in cases {
            check(input, expected.clone());
        }
    }

    #[test]
    fn invalid_addresses() {
        use AddressError as E;
        let long_label = format!("a@{}.com", "b".repeat(64));
        let long_local = format!("{}@example.com", "a".repeat(65));
        let long_total = format!("a@{}.com", vec!["c".repeat(60); 5].join("."));
        let cases: &[(&str, AddressError)] = &[
            ("", E::Empty),
            ("   ", E::Empty),
            ("annexample.com", E::MissingAt),
            ("@example.com", E::EmptyLocal),
            ("\"\"@example.com", E::EmptyLocal),
            ("ann@", E::EmptyDomain),
            ("a@b@example.com", E::MultipleAt),
            ("ann.@example.com", E::BadDot(Part::Local)),
            (".ann@example.com", E::BadDot(Part::Local)),
            ("ann..lee@example.com", E::BadDot(Part::Local)),
            ("ann@example.com.", E::BadDot(Part::Domain)),
            ("ann@example..com", E::BadDot(Part::Domain)),
            ("ann@.example.com", E::BadDot(Part::Domain)),
            ("ann\r\n@example.com", E::ControlChar),
            ("ann@example.com\nBcc: victim@x.com", E::ControlChar),
            ("ann\u{0}@example.com", E::ControlChar),
            ("ann@exam\u{2028}ple.com", E::ControlChar),
            ("john doe@example.com", E::Whitespace(Part::Local)),
            ("john@exa mple.com", E::Whitespace(Part::Domain)),
            ("john,doe@example.com", E::InvalidChar(',', Part::Local)),
            ("jo\"h\"n@example.com", E::InvalidChar('"', Part::Local)),
            ("jo\"hn@example.com", E::UnclosedQuote),
            ("ann@exam_ple.com", E::InvalidChar('_', Part::Domain)),
            (&long_local, E::LocalTooLong(65)),
            (&long_total, E::TooLong(2 + 5 * 60 + 4 + 4)),
            (&long_label, E::LabelTooLong("b".repeat(64))),
            ("ann@-example.com", E::LabelHyphen("-example".into())),
            ("ann@example-.com", E::LabelHyphen("example-".into())),
            ("ann@xn--zz-.com", E::LabelHyphen("xn--zz-".into())),
            ("ann@xn--a.com", E::InvalidDomain),
            ("ann@[192.0.2.1]", E::DomainLiteral),
            ("\"ann@example.com", E::UnclosedQuote),
            ("\"ann\"x@example.com", E::TextAfterQuote),
            ("\"ann\"", E::MissingAt),
            ("Ann <ann@example.com", E::UnclosedAngle),
            ("Ann <ann@example.com> x", E::TextAfterAngle),
            ("Ann <>", E::Empty),
            ("ann@example.com (Ann)", E::Comment),
            (
                "Doe, John <j@x.com>",
                E::InvalidChar(',', Part::DisplayName),
            ),
            ("Ann@Home <a@x.com>", E::InvalidChar('@', Part::DisplayName)),
            ("\"Ann <a@x.com>", E::UnclosedQuote),
            ("Ann > <a@x.com>", E::InvalidChar('>', Part::DisplayName)),
            ("ann>@x.com", E::InvalidChar('>', Part::Local)),
            (
                "=?utf-8?q?Ann=0D=0ABcc=3A_x=40y.z?= <a@x.com>",
                E::ControlChar,
            ),
        ];
        for (input, expected) in cases {
            check(input, Err(expected.clone()));
        }
    }

    #[test]
    fn display_quotes_names_only_when_needed() {
        let cases = [
            (
                "Ann Example <ann@example.com>",
                "Ann Example <ann@example.com>",
            ),
            ("\"Doe, John\" <j@x.com>", "\"Doe, John\" <j@x.com>"),
            ("John Q. Public <j@x.com>", "\"John Q. Public\" <j@x.com>"),
            (
                "\"say \\\"hi\\\"\" <j@x.com>",
                "\"say \\\"hi\\\"\" <j@x.com>",
            ),
            (
                "=?UTF-8?B?SsO8cmdlbg==?= <j@bücher.de>",
                "Jürgen <j@bücher.de>",
            ),
            ("\"  spaced  \" <j@x.com>", "\"  spaced  \" <j@x.com>"),
            ("<j@x.com>", "j@x.com"),
        ];
        for (input, expected) in cases {
            let mailbox = Mailbox::parse(input);
            assert_eq!(
                mailbox.as_ref().map(ToString::to_string).as_deref(),
                Ok(expected),
                "input: {input:?}"
            );
            // What Display writes must parse back to the same mailbox.
            assert_eq!(
                Mailbox::parse(expected),
                mailbox,
                "round trip of {expected:?}"
            );
        }
    }

    #[test]
    fn ascii_form_encodes_names_and_domains() {
        let cases = [
            ("Ann <ann@example.com>", "Ann <ann@example.com>"),
            (
                "Jürgen <j@bücher.de>",
                "=?UTF-8?B?SsO8cmdlbg==?= <j@xn--bcher-kva.de>",
            ),
            ("j@bücher.de", "j@xn--bcher-kva.de"),
        ];
        for (input, expected) in cases {
            let got = Mailbox::parse(input).map(|m| m.to_ascii());
            assert_eq!(got.as_deref(), Ok(expected), "input: {input:?}");
            assert_eq!(
                Mailbox::parse(expected).map(|m| m.name),
                Mailbox::parse(input).map(|m| m.name)
            );
        }
    }

    #[test]
    fn lists() {
        let check_list = |input: &str, expected: Result<Vec<&str>, AddressError>| {
            let got = parse_list(input)
                .map(|list| list.iter().map(ToString::to_string).collect::<Vec<_>>());
            let expected =
                expected.map(|list| list.into_iter().map(str::to_string).collect::<Vec<_>>());
            assert_eq!(got, expected, "input: {input:?}");
        };
        check_list(
            "a@x.com, \"Doe, John\" <j@x.com>",
            Ok(vec!["a@x.com", "\"Doe, John\" <j@x.com>"]),
        );
        check_list("", Ok(vec![]));
        check_list("a@x.com,, b@x.com,", Ok(vec!["a@x.com", "b@x.com"]));
        check_list(
            "<\"a,b\"@x.com>, c@x.com",
            Ok(vec!["\"a,b\"@x.com", "c@x.com"]),
        );
        check_list(
            "a@x.com, Doe, John <j@x.com>",
            Err(AddressError::Item {
                index: 1,
                source: Box::new(AddressError::MissingAt),
            }),
        );
        check_list(
            "a@x.com, \"open <b@x.com>",
            Err(AddressError::Item {
                index: 1,
                source: Box::new(AddressError::UnclosedQuote),
            }),
        );
    }

    #[test]
    fn accessors_split_at_the_last_at_sign() {
        let address = Address::parse("\"a@b\"@bücher.de");
        assert_eq!(address.as_ref().map(Address::local_part), Ok("\"a@b\""));
        assert_eq!(address.as_ref().map(Address::domain), Ok("bücher.de"));
        assert_eq!(
            address.map(|a| a.envelope()).as_deref(),
            Ok("\"a@b\"@xn--bcher-kva.de")
        );
        let unchecked = Address::new_unchecked("no at sign");
        assert_eq!(
            (unchecked.domain(), unchecked.envelope().as_str()),
            ("", "no at sign")
        );
        assert_eq!(unchecked.check(), Err(AddressError::MissingAt));
        assert_eq!(
            Address::new_unchecked(" a@x.com").check(),
            Err(AddressError::Whitespace(Part::Local))
        );
    }

    #[test]
    fn errors_say_what_to_do() {
        let error = AddressError::Item {
            index: 0,
            source: Box::new(AddressError::MissingAt),
        };
        assert_eq!(
            error.to_string(),
            "address 1 in the list: the address has no '@'; write it as name@example.com"
        );
    }

    #[test]
    fn address_serializes_as_a_string() {
        let mailbox = Mailbox {
            name: None,
            address: Address::new_unchecked("a@x.com"),
        };
        let json = serde_json::to_string(&mailbox).map_err(|e| e.to_string());
        assert_eq!(json.as_deref(), Ok(r#"{"name":null,"address":"a@x.com"}"#));
    }
}
