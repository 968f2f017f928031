//! SMTP replies: parsing what a server sent, and printing it back in wire form.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::oauth::OAuthChallenge;

/// The longest reply line [`Reply::parse`] accepts, in bytes, without the line ending.
///
/// RFC 5321 caps reply lines at 512 bytes; real servers overshoot that, so this takes the 1000 of a
/// text line instead. Anything longer is not a reply someone copied from a log.
pub const MAX_LINE_LEN: usize = 1000;

/// The most non-blank lines [`Reply::parse`] accepts. Gmail's longest reply (to EHLO) has about ten.
pub const MAX_LINES: usize = 100;

/// How much of an offending line a [`ParseError`] quotes, in characters.
const QUOTE_LEN: usize = 40;

/// An RFC 3463 enhanced status code such as `5.7.8`: class, subject, detail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct EnhancedCode {
    /// 2 success, 4 transient failure, 5 permanent failure.
    pub class: u8,
    /// What the code is about: 1 addressing, 2 mailbox, 3 mail system, 4 network and routing,
    /// 5 protocol, 6 content, 7 security and policy.
    pub subject: u16,
    pub detail: u16,
}

impl EnhancedCode {
    pub const fn new(class: u8, subject: u16, detail: u16) -> EnhancedCode {
        EnhancedCode {
            class,
            subject,
            detail,
        }
    }
}

impl fmt::Display for EnhancedCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.class, self.subject, self.detail)
    }
}

impl FromStr for EnhancedCode {
    type Err = ParseError;

    fn from_str(text: &str) -> Result<EnhancedCode, ParseError> {
        let invalid = || ParseError::InvalidEnhancedCode { text: quote(text) };
        let mut parts = text.split('.');
        let (Some(class), Some(subject), Some(detail), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(invalid());
        };
        let class = match class {
            "2" => 2,
            "4" => 4,
            "5" => 5,
            _ => return Err(invalid()),
        };
        let subject = number_of_up_to_three_digits(subject).ok_or_else(invalid)?;
        let detail = number_of_up_to_three_digits(detail).ok_or_else(invalid)?;
        Ok(EnhancedCode::new(class, subject, detail))
    }
}

/// One SMTP reply: a code, an optional enhanced status code, and the text of each line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reply {
    pub code: u16,
    /// Taken from the first line; Gmail repeats it on every line.
    pub enhanced: Option<EnhancedCode>,
    /// The text of each line, with the code and enhanced code stripped and the ends trimmed.
    pub lines: Vec<String>,
}

impl Reply {
    /// Parses a reply as a server sends it or as someone copies it from a log.
    ///
    /// Lines may end in `"\r\n"` or `"\n"`; blank lines and surrounding whitespace are ignored.
    /// Words before the reply on its first line, such as a client's `Error: Invalid login:`, are
    /// skipped when a code and an enhanced code follow them.
    /// Lines after the first may repeat the code (with `-` or, as some logs print them, with a
    /// space) or be bare text, which is taken as a continuation. A reply whose last line still
    /// has the `-` continuation mark is accepted too, because a truncated paste still says what
    /// went wrong.
    pub fn parse(raw: &str) -> Result<Reply, ParseError> {
        let mut reply: Option<Reply> = None;
        let mut kept = 0;
        for (index, line) in raw.split('\n').enumerate() {
            let number = index + 1;
            let line = line.trim();
            if line.len() > MAX_LINE_LEN {
                return Err(ParseError::LineTooLong {
                    line: number,
                    len: line.len(),
                    max: MAX_LINE_LEN,
                });
            }
            if line.is_empty() {
                continue;
            }
            kept += 1;
            if kept > MAX_LINES {
                return Err(ParseError::TooManyLines { max: MAX_LINES });
            }
            match &mut reply {
                None => {
                    let line = embedded_reply(line).unwrap_or(line);
                    let Some((code, rest)) = split_code(line) else {
                        return Err(ParseError::MissingCode {
                            line: number,
                            start: quote(line),
                        });
                    };
                    if !(200..=599).contains(&code) {
                        return Err(ParseError::CodeOutOfRange { code });
                    }
                    let (enhanced, text) = split_enhanced(code, rest);
                    reply = Some(Reply {
                        code,
                        enhanced,
                        lines: vec![text.to_owned()],
                    });
                }
                Some(reply) => match split_code(line) {
                    Some((code, _)) if code != reply.code => {
                        return Err(ParseError::MixedCodes {
                            line: number,
                            expected: reply.code,
                            found: code,
                        });
                    }
                    Some((code, rest)) => {
                        let (enhanced, text) = split_enhanced(code, rest);
                        // A different enhanced code on a later line is information, so it stays
                        // in the text rather than being dropped.
                        let text = if enhanced.is_none() || enhanced == reply.enhanced {
                            text
                        } else {
                            rest.trim()
                        };
                        reply.lines.push(text.to_owned());
                    }
                    None => reply.lines.push(line.to_owned()),
                },
            }
        }
        reply.ok_or(ParseError::Empty)
    }

    /// A reply with `text` split into lines (on `\n`), each trimmed.
    pub fn new(code: u16, enhanced: Option<EnhancedCode>, text: &str) -> Reply {
        let mut lines: Vec<String> = text.lines().map(|line| line.trim().to_owned()).collect();
        if lines.is_empty() {
            lines.push(String::new());
        }
        Reply {
            code,
            enhanced,
            lines,
        }
    }

    /// The text of all lines joined with single spaces, skipping empty lines.
    pub fn text(&self) -> String {
        let parts: Vec<&str> = self
            .lines
            .iter()
            .map(|line| line.trim())
            .filter(|line| !line.is_empty())
            .collect();
        parts.join(" ")
    }

    /// A 4xx reply: the same command may succeed later.
    pub fn is_transient(&self) -> bool {
        (400..500).contains(&self.code)
    }

    /// A 5xx reply: the same command will fail again until something changes.
    pub fn is_permanent(&self) -> bool {
        (500..600).contains(&self.code)
    }

    /// The decoded XOAUTH2 error challenge, when this is Gmail's `334 <base64 JSON>` answer to a
    /// rejected OAuth token.
    pub fn oauth_challenge(&self) -> Option<OAuthChallenge> {
        if self.code == 334 {
            OAuthChallenge::decode(&self.text())
        } else {
            None
        }
    }
}

impl fmt::Display for Reply {
    /// The wire form, lines separated by CRLF, without a trailing CRLF.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let blank = [String::new()];
        let lines: &[String] = if self.lines.is_empty() {
            &blank
        } else {
            &self.lines
        };
        let code = self.code;
        for (index, text) in lines.iter().enumerate() {
            let last = index + 1 == lines.len();
            if index > 0 {
                f.write_str("\r\n")?;
            }
            let mark = if last { ' ' } else { '-' };
            match (self.enhanced, text.is_empty()) {
                (Some(enhanced), true) => write!(f, "{code}{mark}{enhanced}")?,
                (Some(enhanced), false) => write!(f, "{code}{mark}{enhanced} {text}")?,
                (None, false) => write!(f, "{code}{mark}{text}")?,
                (None, true) if last => write!(f, "{code}")?,
                (None, true) => write!(f, "{code}-")?,
            }
        }
        Ok(())
    }
}

/// Why a text is not an SMTP reply.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ParseError {
    #[error(
        "the reply is empty; an SMTP reply starts with a three-digit code, like \
         `535 5.7.8 Username and Password not accepted`"
    )]
    Empty,
    #[error(
        "line {line} does not start with a three-digit reply code followed by a space or `-` \
         (it starts `{start}`); an SMTP reply looks like `535 5.7.8 Username and Password not accepted`"
    )]
    MissingCode { line: usize, start: String },
    #[error(
        "reply code {code} does not exist: SMTP reply codes run from 200 to 599, like the 535 in \
         `535 5.7.8 Username and Password not accepted`"
    )]
    CodeOutOfRange { code: u16 },
    #[error(
        "line {line} has code {found} but the reply started with {expected}; every line of one reply \
         repeats the same code, like `535-5.7.8 ...` then `535 5.7.8 ...`: paste one reply at a time"
    )]
    MixedCodes {
        line: usize,
        expected: u16,
        found: u16,
    },
    #[error(
        "line {line} is {len} bytes long, more than the {max} a reply line may have; paste only the \
         server's reply, like `535 5.7.8 Username and Password not accepted`"
    )]
    LineTooLong { line: usize, len: usize, max: usize },
    #[error(
        "the reply has more than {max} lines; paste only the server's reply, not a whole session log"
    )]
    TooManyLines { max: usize },
    #[error(
        "`{text}` is not an enhanced status code; one looks like `5.7.8`: class 2, 4 or 5, then \
         subject and detail of one to three digits each"
    )]
    InvalidEnhancedCode { text: String },
}

/// Splits a line into its reply code and the rest, if it starts with three digits followed by a
/// space, a `-` or nothing.
fn split_code(line: &str) -> Option<(u16, &str)> {
    let digits = line.get(..3)?;
    if !digits.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    let code = digits.parse().ok()?;
    match line.as_bytes().get(3) {
        None => Some((code, "")),
        Some(b' ' | b'-') => Some((code, line.get(4..)?)),
        Some(_) => None,
    }
}

/// The reply inside a line that a program prefixed with its own words, as in nodemailer's
/// `Error: Invalid login: 535-5.7.8 Username and Password not accepted.` Only a code followed by
/// an enhanced code of the same class counts, so ordinary numbers in prose are not mistaken for
/// a reply.
fn embedded_reply(line: &str) -> Option<&str> {
    line.char_indices()
        .filter(|&(_, c)| c.is_whitespace())
        .filter_map(|(index, c)| line.get(index + c.len_utf8()..))
        .find(|rest| {
            split_code(rest).is_some_and(|(code, after)| {
                (200..=599).contains(&code) && split_enhanced(code, after).0.is_some()
            })
        })
}

/// Splits the enhanced code off the text after the reply code. RFC 2034 makes the enhanced
/// class repeat the reply's first digit, so a token that disagrees is ordinary text.
fn split_enhanced(code: u16, rest: &str) -> (Option<EnhancedCode>, &str) {
    let rest = rest.trim();
    let (token, after) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
    match token.parse::<EnhancedCode>() {
        Ok(enhanced) if u16::from(enhanced.class) == code / 100 => (Some(enhanced), after.trim()),
        _ => (None, rest),
    }
}

fn number_of_up_to_three_digits(text: &str) -> Option<u16> {
    if text.is_empty() || text.len() > 3 || !text.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// The start of `text`, short enough to quote in an error message.
fn quote(text: &str) -> String {
    let mut chars = text.chars();
    let mut quoted: String = chars.by_ref().take(QUOTE_LEN).collect();
    if chars.next().is_some() {
        quoted.push_str("...");
    }
    quoted
}
