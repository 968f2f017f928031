//! Parsing of SMTP command lines and envelope addresses. Pure: no IO, so every rule has a unit
//! test.

/// One command line, split into verb and argument. Arguments that need more checking (MAIL,
/// RCPT) stay text here; [`parse_mail_from`] and [`parse_rcpt_to`] judge them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Ehlo(String),
    Helo(String),
    StartTls,
    Auth {
        mechanism: String,
        initial: Option<String>,
    },
    /// The text after `MAIL`, such as `FROM:<a@b> SIZE=10`.
    Mail(String),
    /// The text after `RCPT`, such as `TO:<a@b>`.
    Rcpt(String),
    Data,
    /// `BDAT <size> [LAST]` (RFC 3030): exactly `size` octets of message follow the line.
    Bdat {
        size: u64,
        last: bool,
    },
    /// A BDAT line whose size is missing or not a decimal number, or with words after it other
    /// than `LAST`: there is no telling where its chunk ends.
    BadBdat,
    Rset,
    Noop,
    Quit,
    Vrfy,
    Help,
    /// Anything else, including lines that are not UTF-8.
    Unknown,
}

impl Command {
    /// Parses one line; the trailing CRLF (or bare LF) may still be attached.
    pub fn parse(line: &[u8]) -> Command {
        let Ok(text) = std::str::from_utf8(line) else {
            return Command::Unknown;
        };
        let text = text.trim_end_matches(['\r', '\n']);
        // Control characters other than tab mark binary junk, which Gmail refuses as unknown.
        if text.chars().any(|c| c.is_control() && c != '\t') {
            return Command::Unknown;
        }
        let (verb, rest) = match text.split_once([' ', '\t']) {
            Some((verb, rest)) => (verb, rest.trim()),
            None => (text, ""),
        };
        match verb.to_ascii_uppercase().as_str() {
            "EHLO" => Command::Ehlo(rest.to_owned()),
            "HELO" => Command::Helo(rest.to_owned()),
            "STARTTLS" => Command::StartTls,
            "AUTH" => {
                let mut words = rest.split_whitespace();
                let mechanism = words.next().unwrap_or_default().to_ascii_uppercase();
                let initial = words.next().map(str::to_owned);
                Command::Auth { mechanism, initial }
            }
            "MAIL" => Command::Mail(rest.to_owned()),
            "RCPT" => Command::Rcpt(rest.to_owned()),
            "DATA" => Command::Data,
            "BDAT" => parse_bdat(rest),
            "RSET" => Command::Rset,
            "NOOP" => Command::Noop,
            "QUIT" => Command::Quit,
            "VRFY" => Command::Vrfy,
            "HELP" => Command::Help,
            _ => Command::Unknown,
        }
    }
}

/// Parses the argument of `BDAT`: a decimal size, then optionally `LAST` in any case.
fn parse_bdat(arg: &str) -> Command {
    let mut words = arg.split_whitespace();
    let size = words
        .next()
        // `u64::from_str` takes a leading `+`, which RFC 3030's `1*DIGIT` does not.
        .filter(|size| size.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|size| size.parse().ok());
    let last = match words.next() {
        None => false,
        Some(word) if word.eq_ignore_ascii_case("LAST") => true,
        Some(_) => return Command::BadBdat,
    };
    match (size, words.next()) {
        (Some(size), None) => Command::Bdat { size, last },
        _ => Command::BadBdat,
    }
}

/// Why an envelope argument was refused; each maps to one Gmail reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EnvelopeError {
    /// Not `<address>`: a display name, a bare address, a missing `FROM:`/`TO:`, or a bad
    /// parameter. Gmail answers `555 5.5.2`.
    Syntax,
    /// Well-formed brackets around something that is not an RFC 5321 mailbox; Gmail answers
    /// `553` and quotes it.
    InvalidAddress(String),
}

/// A parsed `MAIL FROM`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailFrom {
    /// The reverse path; empty for the null sender `<>`.
    pub address: String,
    /// The `SIZE=` the client declared, if any.
    pub size: Option<u64>,
}

/// Parses the argument of `MAIL` (the text after the verb).
pub fn parse_mail_from(arg: &str) -> Result<MailFrom, EnvelopeError> {
    let (path, params) = split_path(arg, "FROM:")?;
    if !path.is_empty() && !is_valid_mailbox(&path) {
        return Err(EnvelopeError::InvalidAddress(path));
    }
    let mut size = None;
    for param in params.split_whitespace() {
        let (key, value) = match param.split_once('=') {
            Some((key, value)) => (key, Some(value)),
            None => (param, None),
        };
        match (key.to_ascii_uppercase().as_str(), value) {
            ("SIZE", Some(value)) => {
                size = Some(value.parse().map_err(|_| EnvelopeError::Syntax)?);
            }
            ("BODY", Some(value))
                if value.eq_ignore_ascii_case("7BIT") || value.eq_ignore_ascii_case("8BITMIME") => {
            }
            ("SMTPUTF8", None) => {}
            // RFC 4954 lets a client name the submitter; nothing here depends on it.
            ("AUTH", Some(_)) => {}
            _ => return Err(EnvelopeError::Syntax),
        }
    }
    Ok(MailFrom {
        address: path,
        size,
    })
}

/// Parses the argument of `RCPT` (the text after the verb) into the recipient address.
pub fn parse_rcpt_to(arg: &str) -> Result<String, EnvelopeError> {
    // No RCPT parameters are offered (no DSN), so anything after the path is ignored, as
    // Gmail does with NOTIFY= from clients that send it anyway.
    let (path, _params) = split_path(arg, "TO:")?;
    if !is_valid_mailbox(&path) {
        return Err(EnvelopeError::InvalidAddress(path));
    }
    Ok(path)
}

/// Splits `FROM:<path> params` into the path (without brackets or source route) and the
/// parameters.
fn split_path(arg: &str, keyword: &str) -> Result<(String, String), EnvelopeError> {
    let head = arg.get(..keyword.len()).ok_or(EnvelopeError::Syntax)?;
    if !head.eq_ignore_ascii_case(keyword) {
        return Err(EnvelopeError::Syntax);
    }
    // Gmail tolerates a space after the colon, and so do many servers; clients rely on it.
    let rest = arg[keyword.len()..].trim_start();
    // Anything but `<` first is a display name or a bare address: both are 555 at Gmail.
    let Some(inner) = rest.strip_prefix('<') else {
        return Err(EnvelopeError::Syntax);
    };
    let mut in_quotes = false;
    let mut escaped = false;
    let mut end = None;
    for (index, c) in inner.char_indices() {
        if escaped {
            escaped = false;
        } else if c == '\\' && in_quotes {
            escaped = true;
        } else if c == '"' {
            in_quotes = !in_quotes;
        } else if c == '>' && !in_quotes {
            end = Some(index);
            break;
        }
    }
    let end = end.ok_or(EnvelopeError::Syntax)?;
    let mut path = &inner[..end];
    let params = &inner[end + 1..];
    if !params.is_empty() && !params.starts_with(' ') {
        return Err(EnvelopeError::Syntax);
    }
    // A source route (`<@relay:user@host>`) is obsolete; RFC 5321 says to ignore it.
    if path.starts_with('@')
        && let Some((_, mailbox)) = path.split_once(':')
    {
        path = mailbox;
    }
    Ok((path.to_owned(), params.trim().to_owned()))
}

/// Whether `address` is an RFC 5321 mailbox (`local-part@domain`), with the RFC 6531
/// extension that lets both halves hold UTF-8 (SMTPUTF8 is offered).
pub fn is_valid_mailbox(address: &str) -> bool {
    if address.len() > 254 {
        return false;
    }
    let Some((local, domain)) = address.rsplit_once('@') else {
        return false;
    };
    is_valid_local_part(local) && is_valid_domain(domain)
}

fn is_valid_local_part(local: &str) -> bool {
    if local.is_empty() || local.len() > 64 {
        return false;
    }
    if let Some(quoted) = local.strip_prefix('"') {
        let Some(body) = quoted.strip_suffix('"') else {
            return false;
        };
        let mut escaped = false;
        for c in body.chars() {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' || (c.is_ascii_control()) {
                return false;
            }
        }
        return !escaped;
    }
    local.split('.').all(|atom| {
        !atom.is_empty()
            && atom.chars().all(|c| {
                c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~".contains(c) || !c.is_ascii()
            })
    })
}

fn is_valid_domain(domain: &str) -> bool {
    if let Some(literal) = domain.strip_prefix('[') {
        let Some(literal) = literal.strip_suffix(']') else {
            return false;
        };
        return match literal.get(..5) {
            Some(tag) if tag.eq_ignore_ascii_case("IPv6:") => {
                literal[5..].parse::<std::net::Ipv6Addr>().is_ok()
            }
            _ => literal.parse::<std::net::Ipv4Addr>().is_ok(),
        };
    }
    if domain.is_empty() || domain.len() > 253 {
        return false;
    }
    domain.split('.').all(|label| {
        !label.is_empty()
            && label.len() <= 63
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || !c.is_ascii())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_command(line: &str, expected: Command) {
        assert_eq!(Command::parse(line.as_bytes()), expected, "line {line:?}");
    }

    #[test]
    fn commands() {
        check_command(
            "EHLO client.example\r\n",
            Command::Ehlo("client.example".into()),
        );
        check_command("ehlo  [127.0.0.1]\r\n", Command::Ehlo("[127.0.0.1]".into()));
        check_command("EHLO\r\n", Command::Ehlo(String::new()));
        check_command("HELO x\n", Command::Helo("x".into()));
        check_command("StartTLS\r\n", Command::StartTls);
        check_command(
            "AUTH plain AGEAYg==\r\n",
            Command::Auth {
                mechanism: "PLAIN".into(),
                initial: Some("AGEAYg==".into()),
            },
        );
        check_command(
            "AUTH LOGIN\r\n",
            Command::Auth {
                mechanism: "LOGIN".into(),
                initial: None,
            },
        );
        check_command("MAIL FROM:<a@b>\r\n", Command::Mail("FROM:<a@b>".into()));
        check_command("RCPT TO:<a@b>\r\n", Command::Rcpt("TO:<a@b>".into()));
        check_command("DATA\r\n", Command::Data);
        check_command("rset\r\n", Command::Rset);
        check_command("NOOP\r\n", Command::Noop);
        check_command("QUIT\r\n", Command::Quit);
        check_command("VRFY a@b\r\n", Command::Vrfy);
        check_command("HELP\r\n", Command::Help);
        check_command("EXPN list\r\n", Command::Unknown);
        check_command("\u{1}\u{2}EHLO\r\n", Command::Unknown);
        check_command("\r\n", Command::Unknown);
        assert_eq!(Command::parse(b"\xff\xfe\x00junk\r\n"), Command::Unknown);
    }

    #[test]
    fn bdat() {
        let chunk = |size, last| Command::Bdat { size, last };
        check_command("BDAT 10 LAST\r\n", chunk(10, true));
        check_command("bdat 10 last\r\n", chunk(10, true));
        check_command("BDAT 4096\r\n", chunk(4096, false));
        check_command("BDAT 0 LAST\r\n", chunk(0, true));
        check_command("BDAT 0\r\n", chunk(0, false));
        check_command("BDAT  007   Last \r\n", chunk(7, true));
        check_command("BDAT\t12\tLAST\n", chunk(12, true));
        check_command("BDAT 18446744073709551615 LAST\r\n", chunk(u64::MAX, true));
        for bad in [
            "BDAT\r\n",
            "BDAT LAST\r\n",
            "BDAT -1 LAST\r\n",
            "BDAT +5\r\n",
            "BDAT 1.5\r\n",
            "BDAT 0x10\r\n",
            "BDAT ten LAST\r\n",
            "BDAT 10 FIRST\r\n",
            "BDAT 10 LAST LAST\r\n",
            "BDAT 10LAST\r\n",
            "BDAT 18446744073709551616\r\n",
        ] {
            check_command(bad, Command::BadBdat);
        }
    }

    fn check_mail(arg: &str, expected: Result<(&str, Option<u64>), EnvelopeError>) {
        let got = parse_mail_from(arg);
        let expected = expected.map(|(address, size)| MailFrom {
            address: address.into(),
            size,
        });
        assert_eq!(got, expected, "MAIL {arg:?}");
    }

    #[test]
    fn mail_from() {
        check_mail("FROM:<ann@example.com>", Ok(("ann@example.com", None)));
        check_mail("from: <ann@example.com>", Ok(("ann@example.com", None)));
        check_mail("FROM:<>", Ok(("", None)));
        check_mail(
            "FROM:<ann@example.com> size=1234",
            Ok(("ann@example.com", Some(1234))),
        );
        check_mail(
            "FROM:<ann@example.com> BODY=8BITMIME SMTPUTF8 SIZE=9",
            Ok(("ann@example.com", Some(9))),
        );
        check_mail(
            "FROM:<@relay.example:ann@example.com>",
            Ok(("ann@example.com", None)),
        );
        check_mail("FROM:Ann <ann@example.com>", Err(EnvelopeError::Syntax));
        check_mail("FROM:ann@example.com", Err(EnvelopeError::Syntax));
        check_mail("FROM:\"Ann\" <ann@example.com>", Err(EnvelopeError::Syntax));
        check_mail("TO:<ann@example.com>", Err(EnvelopeError::Syntax));
        check_mail("", Err(EnvelopeError::Syntax));
        check_mail("FROM:<ann@example.com", Err(EnvelopeError::Syntax));
        check_mail(
            "FROM:<ann@example.com> SIZE=lots",
            Err(EnvelopeError::Syntax),
        );
        check_mail(
            "FROM:<ann@example.com> RET=FULL",
            Err(EnvelopeError::Syntax),
        );
        check_mail("FROM:<ann@example.com>junk", Err(EnvelopeError::Syntax));
        check_mail(
            "FROM:<not an address>",
            Err(EnvelopeError::InvalidAddress("not an address".into())),
        );
    }

    fn check_rcpt(arg: &str, expected: Result<&str, EnvelopeError>) {
        assert_eq!(
            parse_rcpt_to(arg),
            expected.map(str::to_owned),
            "RCPT {arg:?}"
        );
    }

    #[test]
    fn rcpt_to() {
        check_rcpt("TO:<bob@example.com>", Ok("bob@example.com"));
        check_rcpt("to:<bob@example.com> NOTIFY=NEVER", Ok("bob@example.com"));
        check_rcpt("TO:\"Bob\" <bob@example.com>", Err(EnvelopeError::Syntax));
        check_rcpt("TO:Bob <bob@example.com>", Err(EnvelopeError::Syntax));
        check_rcpt("TO:<>", Err(EnvelopeError::InvalidAddress(String::new())));
        check_rcpt(
            "TO:<bob@>",
            Err(EnvelopeError::InvalidAddress("bob@".into())),
        );
        check_rcpt("TO:<\"a>b\"@example.com>", Ok("\"a>b\"@example.com"));
    }

    #[test]
    fn mailboxes() {
        let valid = [
            "a@b",
            "first.last+tag@example.co.uk",
            "\"john doe\"@example.com",
            "user@[127.0.0.1]",
            "user@[IPv6:::1]",
            "josé@exämple.de",
            "x@xn--bcher-kva.example",
        ];
        for address in valid {
            assert!(is_valid_mailbox(address), "{address} should be valid");
        }
        let invalid = [
            "",
            "plain",
            "@example.com",
            "a@",
            "a..b@example.com",
            ".a@example.com",
            "a.@example.com",
            "a b@example.com",
            "a@exa mple.com",
            "a@-example.com",
            "a@example..com",
            "a@example.com.",
            "a@[300.1.1.1]",
            "a@b@c d",
            "a(comment)@example.com",
        ];
        for address in invalid {
            assert!(!is_valid_mailbox(address), "{address} should be invalid");
        }
        assert!(!is_valid_mailbox(&format!(
            "{}@example.com",
            "a".repeat(65)
        )));
    }
}
