//! The connection: a TCP or TLS stream, a reply reader that caps line length and line count,
//! and a write buffer that goes out in one flush per round trip.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use diagnosis::{EnhancedCode, Failure, MAX_LINE_LEN, MAX_LINES, Reply, Step};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;

use super::Error;
use super::transcript::{MASK, Recorder, redact_command};

/// A stream before or after TLS.
pub(crate) enum Stream {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
    /// Taken out for a TLS upgrade that did not come back.
    Closed,
}

fn closed() -> io::Error {
    io::Error::new(io::ErrorKind::NotConnected, "the connection is closed")
}

impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(stream) => Pin::new(stream).poll_read(cx, buf),
            Stream::Tls(stream) => Pin::new(stream.as_mut()).poll_read(cx, buf),
            Stream::Closed => Poll::Ready(Err(closed())),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(stream) => Pin::new(stream).poll_write(cx, buf),
            Stream::Tls(stream) => Pin::new(stream.as_mut()).poll_write(cx, buf),
            Stream::Closed => Poll::Ready(Err(closed())),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(stream) => Pin::new(stream).poll_flush(cx),
            Stream::Tls(stream) => Pin::new(stream.as_mut()).poll_flush(cx),
            Stream::Closed => Poll::Ready(Err(closed())),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(stream) => Pin::new(stream).poll_shutdown(cx),
            Stream::Tls(stream) => Pin::new(stream.as_mut()).poll_shutdown(cx),
            Stream::Closed => Poll::Ready(Ok(())),
        }
    }
}

/// How a queued line appears in the transcript.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Shown {
    /// As sent, through [`redact_command`].
    Command,
    /// An AUTH continuation that carries a credential: `****`.
    Secret,
}

/// One SMTP connection with its transcript.
pub(crate) struct Conn {
    stream: Stream,
    /// Bytes read but not yet consumed: `buf[pos..]`.
    buf: Vec<u8>,
    pos: usize,
    /// Bytes queued for the next flush.
    out: Vec<u8>,
    pub(crate) rec: Recorder,
}

impl Conn {
    pub(crate) fn new(stream: Stream, rec: Recorder) -> Conn {
        Conn {
            stream,
            buf: Vec::with_capacity(4096),
            pos: 0,
            out: Vec::with_capacity(4096),
            rec,
        }
    }

    /// Queues a command line (without CRLF) for the next flush and records it.
    pub(crate) fn queue(&mut self, line: &str, shown: Shown) {
        self.out.extend_from_slice(line.as_bytes());
        self.out.extend_from_slice(b"\r\n");
        let text = match shown {
            Shown::Command => redact_command(line),
            Shown::Secret => MASK.to_owned(),
        };
        self.rec.client(text);
    }

    /// Queues a message for DATA: line endings made CRLF, leading dots doubled (RFC 5321
    /// 4.5.2), and the `.` line that ends it. The transcript gets a summary, never the content.
    pub(crate) fn queue_data(&mut self, data: &[u8], recipients: usize) {
        self.queue_data_body(data, recipients);
        self.queue_final_dot();
    }

    /// The content of [`Conn::queue_data`] without the final `.` line, so that the caller can
    /// record that the body went before the dot that ends it does.
    pub(crate) fn queue_data_body(&mut self, data: &[u8], recipients: usize) {
        self.out.reserve(data.len() + data.len() / 64 + 5);
        let at_line_start = canonical_lines(data, &mut self.out, true);
        if !data.is_empty() && !at_line_start {
            self.out.extend_from_slice(b"\r\n");
        }
        self.rec.client(summary(data.len(), recipients));
    }

    pub(crate) fn queue_final_dot(&mut self) {
        self.out.extend_from_slice(b".\r\n");
    }

    /// Queues `BDAT <n> LAST` and the message as one chunk (RFC 3030): CRLF line endings, no
    /// dot-stuffing and no final dot, since the length says where it ends.
    pub(crate) fn queue_bdat_last(&mut self, data: &[u8], recipients: usize) {
        let mut chunk = Vec::with_capacity(data.len() + data.len() / 64 + 2);
        let at_line_start = canonical_lines(data, &mut chunk, false);
        if !data.is_empty() && !at_line_start {
            chunk.extend_from_slice(b"\r\n");
        }
        self.queue(&format!("BDAT {} LAST", chunk.len()), Shown::Command);
        self.out.extend_from_slice(&chunk);
        self.rec.client(summary(data.len(), recipients));
    }

    /// Writes what is queued, within `limit`.
    pub(crate) async fn flush(&mut self, step: Step, limit: Duration) -> Result<(), Error> {
        if self.out.is_empty() {
            return Ok(());
        }
        let write = async {
            self.stream.write_all(&self.out).await?;
            self.stream.flush().await
        };
        let result = tokio::time::timeout(limit, write).await;
        // Cleared on every path, so a credential does not linger in the buffer.
        self.out.clear();
        match result {
            Ok(Ok(())) => Ok(()),
            Ok(Err(error)) => Err(lost(step, &error)),
            Err(_) => Err(timeout(step, limit)),
        }
    }

    /// Flushes what is queued, then reads one reply within `limit`.
    pub(crate) async fn reply(&mut self, step: Step, limit: Duration) -> Result<Reply, Error> {
        self.flush(step, limit).await?;
        match tokio::time::timeout(limit, self.read_reply(step)).await {
            Ok(result) => result,
            Err(_) => Err(timeout(step, limit)),
        }
    }

    /// Sends one command and reads its reply.
    pub(crate) async fn command(
        &mut self,
        line: &str,
        shown: Shown,
        step: Step,
        limit: Duration,
    ) -> Result<Reply, Error> {
        self.queue(line, shown);
        self.reply(step, limit).await
    }

    async fn read_reply(&mut self, step: Step) -> Result<Reply, Error> {
        let mut code: Option<u16> = None;
        let mut raw = String::new();
        let mut texts = Vec::new();
        for _ in 0..MAX_LINES {
            let line = self.read_line(step).await?;
            self.rec.server(&line);
            let (line_code, last, text) =
                split_reply_line(&line).ok_or_else(|| Error::Protocol {
                    step,
                    detail: format!(
                        "the server sent {:?}, which is not an SMTP reply line",
                        shorten(&line)
                    ),
                })?;
            if code.is_some_and(|code| code != line_code) {
                return Err(Error::Protocol {
                    step,
                    detail: format!(
                        "one reply mixed the codes {} and {line_code}",
                        code.unwrap_or_default()
                    ),
                });
            }
            code = Some(line_code);
            if !raw.is_empty() {
                raw.push_str("\r\n");
            }
            raw.push_str(&line);
            texts.push(text.to_owned());
            if last {
                return Ok(to_reply(line_code, &raw, texts));
            }
        }
        Err(Error::Protocol {
            step,
            detail: format!("a reply ran over {MAX_LINES} lines"),
        })
    }

    /// One line without its line ending, never holding more than [`MAX_LINE_LEN`] bytes of it.
    async fn read_line(&mut self, step: Step) -> Result<String, Error> {
        loop {
            let unread = &self.buf[self.pos..];
            if let Some(end) = unread.iter().position(|&b| b == b'\n') {
                let line = &unread[..end];
                let line = line.strip_suffix(b"\r").unwrap_or(line);
                let text = String::from_utf8_lossy(line).into_owned();
                self.pos += end + 1;
                return Ok(text);
            }
            if unread.len() > MAX_LINE_LEN + 1 {
                return Err(Error::Protocol {
                    step,
                    detail: format!("a reply line ran over {MAX_LINE_LEN} bytes"),
                });
            }
            if self.pos > 0 {
                self.buf.drain(..self.pos);
                self.pos = 0;
            }
            self.buf.reserve(4096);
            match self.stream.read_buf(&mut self.buf).await {
                Ok(0) => {
                    return Err(Error::ConnectionLost {
                        step,
                        detail: "the server closed the connection without a reply".to_owned(),
                    });
                }
                Ok(_) => {}
                Err(error) => return Err(lost(step, &error)),
            }
        }
    }

    /// Whether the server sent bytes nobody has read yet. After `220` to STARTTLS such bytes
    /// arrived before encryption and may be injected, so they must not be trusted.
    pub(crate) fn has_unread(&self) -> bool {
        self.pos < self.buf.len()
    }

    /// Takes the stream out for a TLS upgrade, leaving [`Stream::Closed`] until it is back.
    pub(crate) fn take_stream(&mut self) -> Stream {
        std::mem::replace(&mut self.stream, Stream::Closed)
    }

    pub(crate) fn put_stream(&mut self, stream: Stream) {
        self.stream = stream;
    }
}

/// Copies `data` to `out` with every line ending made CRLF, doubling a dot at the start of a
/// line when `stuff_dots`; returns whether the data ended at the start of a line.
fn canonical_lines(data: &[u8], out: &mut Vec<u8>, stuff_dots: bool) -> bool {
    let mut at_line_start = true;
    let mut previous = 0u8;
    for &byte in data {
        if stuff_dots && at_line_start && byte == b'.' {
            out.push(b'.');
        }
        if byte == b'\n' && previous != b'\r' {
            out.push(b'\r');
        }
        out.push(byte);
        at_line_start = byte == b'\n';
        previous = byte;
    }
    at_line_start
}

fn summary(bytes: usize, recipients: usize) -> String {
    let plural = if recipients == 1 { "" } else { "s" };
    format!("[message: {bytes} bytes, {recipients} recipient{plural}]")
}

/// Splits `250-text` into (250, false, "text") and `250 text` or `250` into (250, true, ...).
fn split_reply_line(line: &str) -> Option<(u16, bool, &str)> {
    let digits = line.get(..3)?;
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let code: u16 = digits.parse().ok()?;
    match line.as_bytes().get(3) {
        None => Some((code, true, "")),
        Some(b' ') => Some((code, true, line.get(4..)?)),
        Some(b'-') => Some((code, false, line.get(4..)?)),
        Some(_) => None,
    }
}

/// The reply, through the ENHANCEDSTATUSCODES-aware parser; a reply it reads differently from
/// the wire (its code range, or a code it finds inside the text) is built from the wire instead.
fn to_reply(code: u16, raw: &str, texts: Vec<String>) -> Reply {
    if let Ok(reply) = Reply::parse(raw)
        && reply.code == code
    {
        return reply;
    }
    let enhanced = texts.first().and_then(|text| {
        let token = text.split_whitespace().next()?;
        let enhanced: EnhancedCode = token.parse().ok()?;
        (u16::from(enhanced.class) == code / 100).then_some(enhanced)
    });
    Reply {
        code,
        enhanced,
        lines: texts,
    }
}

fn shorten(line: &str) -> String {
    line.chars().take(80).collect()
}

pub(crate) fn timeout(step: Step, limit: Duration) -> Error {
    // Rounded up, so a 200 ms test timeout does not read "0 s".
    let seconds = limit.as_millis().div_ceil(1000);
    Error::Failure(Failure::Timeout {
        step,
        seconds: u64::try_from(seconds).unwrap_or(u64::MAX),
    })
}

fn lost(step: Step, error: &io::Error) -> Error {
    Error::ConnectionLost {
        step,
        detail: error.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reply_lines_split_into_code_continuation_and_text() {
        let cases = [
            ("250-SIZE 35882577", Some((250, false, "SIZE 35882577"))),
            ("250 SMTPUTF8", Some((250, true, "SMTPUTF8"))),
            ("221", Some((221, true, ""))),
            ("334 ", Some((334, true, ""))),
            ("25", None),
            ("2500 x", None),
            ("abc def", None),
            ("", None),
        ];
        for (line, expected) in cases {
            assert_eq!(split_reply_line(line), expected, "{line:?}");
        }
    }

    #[test]
    fn replies_keep_the_wire_code_even_when_the_text_looks_like_another() {
        let reply = to_reply(
            250,
            "250 2.0.0 OK see 550 5.1.1 in the docs",
            vec!["2.0.0 OK see 550 5.1.1 in the docs".into()],
        );
        assert_eq!(reply.code, 250);
        assert_eq!(reply.enhanced, Some(EnhancedCode::new(2, 0, 0)));
        let odd = to_reply(199, "199 odd", vec!["odd".into()]);
        assert_eq!((odd.code, odd.lines.len()), (199, 1));
    }
}
