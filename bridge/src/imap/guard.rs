//! The stream under async-imap: it bounds what a server can make us hold, and writes the
//! redacted transcript.
//!
//! async-imap buffers a whole response before it parses it, up to 512 MiB, and grows its
//! buffer to the size a literal announces. So the guard reads the server's bytes as they
//! pass: a literal announced over [`Limits::literal`], a line (outside literals) over
//! [`Limits::line`], or one response over [`Limits::response`] ends the read with a
//! [`Refused`] error before async-imap asks for the memory.
//!
//! **Invariant:** the transcript gets client lines only through [`redact`]: `LOGIN`'s
//! arguments and every line answering an `AUTHENTICATE` challenge read `****`, and every
//! secret the caller named is masked wherever it appears. Literals (message bytes) are
//! summarised as their size.

use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Instant;

use protocol::{Direction, TranscriptLine};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

const MASK: &str = "****";
/// Longest text kept of one transcript line.
const SHOWN: usize = 400;
/// Bytes kept of a line's end: enough for `{` 20 digits `+}` CRLF.
const TAIL: usize = 64;

/// What the guard lets a server send.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub literal: u64,
    pub line: usize,
    pub response: u64,
}

impl Default for Limits {
    fn default() -> Limits {
        // The message is fetched in a partial of at most 1 MiB; the rest is headroom.
        Limits {
            literal: 4 * 1024 * 1024,
            line: 64 * 1024,
            response: 8 * 1024 * 1024,
        }
    }
}

/// Why the guard stopped reading: carried inside the `io::Error` async-imap hands back.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    #[error("the server announced a literal of {announced} bytes; at most {limit} are read")]
    Literal { announced: u64, limit: u64 },
    #[error("the server sent a line longer than {limit} bytes")]
    Line { limit: usize },
    #[error("the server sent a response larger than {limit} bytes")]
    Response { limit: u64 },
}

/// The transcript shared by the guard (both before and after STARTTLS) and the client code.
#[derive(Debug, Clone)]
pub struct Transcript(Arc<Mutex<Log>>);

#[derive(Debug)]
struct Log {
    start: Instant,
    lines: Vec<TranscriptLine>,
    secrets: Vec<String>,
    /// An AUTHENTICATE is under way: client lines are SASL responses.
    authenticating: bool,
}

impl Transcript {
    /// A transcript that masks these secrets wherever they appear.
    pub fn new(secrets: Vec<String>) -> Transcript {
        Transcript(Arc::new(Mutex::new(Log {
            start: Instant::now(),
            lines: Vec::new(),
            secrets: secrets.into_iter().filter(|s| s.len() >= 3).collect(),
            authenticating: false,
        })))
    }

    /// Masks one more secret from here on (an access token obtained after the transcript
    /// began); with it, its base64 forms are never shown either.
    pub fn mask(&self, secret: &str) {
        if secret.len() >= 3 {
            crate::lock(&self.0).secrets.push(secret.to_owned());
        }
    }

    pub fn note(&self, text: impl Into<String>) {
        self.push(Direction::Note, text.into());
    }

    pub fn lines(&self) -> Vec<TranscriptLine> {
        crate::lock(&self.0).lines.clone()
    }

    /// The last tagged reply (`a3 NO [AUTHENTICATIONFAILED] ...`) the server sent.
    pub fn last_tagged_reply(&self) -> Option<String> {
        let log = crate::lock(&self.0);
        log.lines
            .iter()
            .rev()
            .filter(|line| line.direction == Direction::Server)
            .map(|line| line.text.clone())
            .find(|text| !text.starts_with('*') && !text.starts_with('+'))
    }

    fn client_line(&self, raw: &[u8]) {
        let text = String::from_utf8_lossy(raw);
        let text = text.trim_end_matches(['\r', '\n']);
        let shown = {
            let mut log = crate::lock(&self.0);
            let shown = if log.authenticating {
                MASK.to_owned()
            } else {
                let (shown, authenticate) = redact(text);
                log.authenticating = authenticate;
                shown
            };
            scrub(&shown, &log.secrets)
        };
        self.push(Direction::Client, shown);
    }

    fn server_line(&self, text: String) {
        {
            let mut log = crate::lock(&self.0);
            if !text.starts_with('+') && !text.starts_with('*') {
                log.authenticating = false;
            }
        }
        self.push(Direction::Server, text);
    }

    fn push(&self, direction: Direction, text: String) {
        let mut log = crate::lock(&self.0);
        let text = scrub(&shorten(&text), &log.secrets);
        // Only redacted text gets here, so tracing may see it at any level.
        tracing::trace!(target: "mailbridge::imap", ?direction, "{text}");
        let at_ms = u64::try_from(log.start.elapsed().as_millis()).unwrap_or(u64::MAX);
        log.lines.push(TranscriptLine {
            at_ms,
            direction,
            text,
        });
    }
}

/// A client command as the transcript shows it, and whether it starts an AUTHENTICATE.
pub fn redact(line: &str) -> (String, bool) {
    let mut words = line.splitn(3, ' ');
    let tag = words.next().unwrap_or_default();
    let command = words.next().unwrap_or_default();
    let rest = words.next().unwrap_or_default();
    if command.eq_ignore_ascii_case("LOGIN") {
        return (format!("{tag} LOGIN {MASK}"), false);
    }
    if command.eq_ignore_ascii_case("AUTHENTICATE") {
        let mechanism = rest.split(' ').next().unwrap_or_default();
        let initial = rest.len() > mechanism.len();
        let shown = if initial {
            format!("{tag} AUTHENTICATE {mechanism} {MASK}")
        } else {
            format!("{tag} AUTHENTICATE {mechanism}")
        };
        return (shown, true);
    }
    (line.to_owned(), false)
}

fn scrub(text: &str, secrets: &[String]) -> String {
    let mut text = text.to_owned();
    for secret in secrets {
        if text.contains(secret.as_str()) {
            text = text.replace(secret.as_str(), MASK);
        }
    }
    text
}

fn shorten(text: &str) -> String {
    if text.len() <= SHOWN {
        return text.to_owned();
    }
    let mut end = SHOWN;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}... ({} bytes)", &text[..end], text.len())
}

/// Where the reader is in the server's bytes.
#[derive(Debug)]
enum Reading {
    Line,
    Literal { left: u64 },
}

/// The stream async-imap reads and writes.
#[derive(Debug)]
pub struct Guard<S> {
    inner: S,
    limits: Limits,
    transcript: Transcript,
    reading: Reading,
    /// The current server line (outside literals), as much as is kept.
    line: Vec<u8>,
    line_len: usize,
    /// The last bytes of the current line, where a literal is announced.
    tail: Vec<u8>,
    response_len: u64,
    /// Literals inside the current response, for the transcript.
    literals: Vec<u64>,
    written: Vec<u8>,
    refused: Option<Refused>,
}

impl<S> Guard<S> {
    pub fn new(inner: S, limits: Limits, transcript: Transcript) -> Guard<S> {
        Guard {
            inner,
            limits,
            transcript,
            reading: Reading::Line,
            line: Vec::new(),
            line_len: 0,
            tail: Vec::new(),
            response_len: 0,
            literals: Vec::new(),
            written: Vec::new(),
            refused: None,
        }
    }

    pub fn into_inner(self) -> S {
        self.inner
    }

    pub fn transcript(&self) -> &Transcript {
        &self.transcript
    }

    /// Follows the server's bytes; `Err` once they pass a limit.
    fn inspect(&mut self, bytes: &[u8]) -> Result<(), Refused> {
        let mut rest = bytes;
        while !rest.is_empty() {
            match self.reading {
                Reading::Literal { left } => {
                    let taken = left.min(rest.len() as u64);
                    rest = &rest[taken as usize..];
                    self.reading = match left - taken {
                        0 => Reading::Line,
                        left => Reading::Literal { left },
                    };
                }
                Reading::Line => {
                    let (chunk, done) = match rest.iter().position(|b| *b == b'\n') {
                        Some(at) => (&rest[..=at], true),
                        None => (rest, false),
                    };
                    rest = &rest[chunk.len()..];
                    self.line_len += chunk.len();
                    self.response_len += chunk.len() as u64;
                    if self.line_len > self.limits.line {
                        return Err(Refused::Line {
                            limit: self.limits.line,
                        });
                    }
                    if self.response_len > self.limits.response {
                        return Err(Refused::Response {
                            limit: self.limits.response,
                        });
                    }
                    let room = (SHOWN + 2).saturating_sub(self.line.len());
                    self.line.extend_from_slice(&chunk[..chunk.len().min(room)]);
                    self.tail.extend_from_slice(chunk);
                    let excess = self.tail.len().saturating_sub(TAIL);
                    self.tail.drain(..excess);
                    if done {
                        self.end_of_line()?;
                    }
                }
            }
        }
        Ok(())
    }

    fn end_of_line(&mut self) -> Result<(), Refused> {
        self.line_len = 0;
        let text = String::from_utf8_lossy(&self.line)
            .trim_end_matches(['\r', '\n'])
            .to_owned();
        let literal = announced_literal(&self.tail);
        self.tail.clear();
        self.line.clear();
        let mut shown = text;
        for size in self.literals.drain(..) {
            shown = format!("[{size} bytes] {shown}");
        }
        match literal {
            Some(announced) => {
                if announced > self.limits.literal {
                    return Err(Refused::Literal {
                        announced,
                        limit: self.limits.literal,
                    });
                }
                self.response_len += announced;
                if self.response_len > self.limits.response {
                    return Err(Refused::Response {
                        limit: self.limits.response,
                    });
                }
                // The response goes on after the literal; its text is recorded once whole.
                self.line = shown.into_bytes();
                self.line.extend_from_slice(b" ");
                self.literals.push(announced);
                if announced > 0 {
                    self.reading = Reading::Literal { left: announced };
                }
            }
            None => {
                self.response_len = 0;
                self.transcript.server_line(shown);
            }
        }
        Ok(())
    }
}

/// The size of a literal announced at the end of a line (`... {123}\r\n` or `{123+}`).
fn announced_literal(tail: &[u8]) -> Option<u64> {
    let line = tail.strip_suffix(b"\n")?;
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let line = line.strip_suffix(b"}")?;
    let line = line.strip_suffix(b"+").unwrap_or(line);
    let open = line.iter().rposition(|b| *b == b'{')?;
    let digits = &line[open + 1..];
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    // Only the tail is kept, and many digits pass u64: such a literal is refused as too big.
    Some(
        std::str::from_utf8(digits)
            .ok()
            .and_then(|d| d.parse().ok())
            .unwrap_or(u64::MAX),
    )
}

impl<S: AsyncRead + Unpin> AsyncRead for Guard<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if let Some(refused) = &this.refused {
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::InvalidData,
                refused.clone(),
            )));
        }
        let before = buf.filled().len();
        let polled = Pin::new(&mut this.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = polled {
            let fresh = buf.filled()[before..].to_vec();
            if let Err(refused) = this.inspect(&fresh) {
                this.transcript.note(format!("stopped reading: {refused}"));
                this.refused = Some(refused.clone());
                return Poll::Ready(Err(io::Error::new(io::ErrorKind::InvalidData, refused)));
            }
        }
        polled
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Guard<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_write(cx, buf);
        if let Poll::Ready(Ok(n)) = polled {
            this.written.extend_from_slice(&buf[..n]);
            while let Some(at) = this.written.iter().position(|b| *b == b'\n') {
                let line: Vec<u8> = this.written.drain(..=at).collect();
                this.transcript.client_line(&line);
            }
        }
        polled
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

/// The guard's refusal inside an error async-imap returned, if that is what it was.
pub fn refusal(error: &io::Error) -> Option<Refused> {
    error
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<Refused>())
        .cloned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn guard() -> Guard<tokio::io::Empty> {
        let limits = Limits {
            literal: 100,
            line: 64,
            response: 300,
        };
        Guard::new(tokio::io::empty(), limits, Transcript::new(vec![]))
    }

    fn feed(input: &[&[u8]]) -> (Result<(), Refused>, Vec<String>) {
        let mut guard = guard();
        let mut result = Ok(());
        for chunk in input {
            result = guard.inspect(chunk);
            if result.is_err() {
                break;
            }
        }
        let lines = guard
            .transcript
            .lines()
            .into_iter()
            .map(|l| l.text)
            .collect();
        (result, lines)
    }

    #[test]
    fn literals_lines_and_responses_are_bounded() {
        let (ok, lines) = feed(&[b"* OK hi\r\n", b"* 1 FETCH (BODY[] {5}\r\nab", b"cde)\r\n"]);
        assert_eq!(ok, Ok(()));
        assert_eq!(lines, ["* OK hi", "[5 bytes] * 1 FETCH (BODY[] {5} )"]);
        let (refused, _) = feed(&[b"* 1 FETCH (BODY[] {2147483648}\r\n"]);
        assert_eq!(
            refused,
            Err(Refused::Literal {
                announced: 2_147_483_648,
                limit: 100
            })
        );
        let (refused, _) = feed(&[b"* 1 FETCH (BODY[] {99999999999999999999999}\r\n"]);
        assert!(
            matches!(refused, Err(Refused::Literal { .. })),
            "{refused:?}"
        );
        let (refused, _) = feed(&[&[b'x'; 40], &[b'y'; 40]]);
        assert_eq!(refused, Err(Refused::Line { limit: 64 }));
        let many: Vec<&[u8]> = std::iter::repeat_n(b"* 1 FETCH (A {90}\r\n".as_slice(), 1)
            .chain(std::iter::once([b'z'; 90].as_slice()))
            .chain(std::iter::once(b" B {90}\r\n".as_slice()))
            .chain(std::iter::once([b'z'; 90].as_slice()))
            .chain(std::iter::once(b" C {90}\r\n".as_slice()))
            .collect();
        let (refused, _) = feed(&many);
        assert_eq!(refused, Err(Refused::Response { limit: 300 }));
    }

    #[test]
    fn secrets_never_reach_the_transcript() {
        let transcript = Transcript::new(vec!["hunter2hunter2".into()]);
        transcript.client_line(b"a1 LOGIN \"me@example.com\" \"hunter2hunter2\"\r\n");
        transcript.client_line(b"a2 AUTHENTICATE XOAUTH2\r\n");
        transcript.server_line("+ ".into());
        transcript.client_line(b"dXNlcj1tZQFhdXRoPUJlYXJlciB5YTI5AQE=\r\n");
        transcript.server_line("a2 OK done".into());
        transcript.client_line(b"a3 AUTHENTICATE PLAIN AGh1bnRlcjI=\r\n");
        transcript.server_line("a3 OK".into());
        transcript.client_line(b"a4 SELECT INBOX hunter2hunter2\r\n");
        let lines: Vec<String> = transcript.lines().into_iter().map(|l| l.text).collect();
        assert_eq!(
            lines,
            [
                "a1 LOGIN ****",
                "a2 AUTHENTICATE XOAUTH2",
                "+ ",
                "****",
                "a2 OK done",
                "a3 AUTHENTICATE PLAIN ****",
                "a3 OK",
                "a4 SELECT INBOX ****",
            ]
        );
    }
}
