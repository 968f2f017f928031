//! The transcript: every line of the dialogue, redacted, timestamped from the operation's
//! start, streamed to the observer as it happens and kept for the history.
//!
//! **Invariant:** text reaches a [`TranscriptLine`], a [`Progress`] event or a `tracing` event
//! only through [`Recorder`], and only after [`redact_command`] (client lines) or
//! [`show_reply_line`] (server lines) has shaped it. Secret continuation lines are recorded as
//! `****` by their caller, which knows they are secret; the wire bytes never pass through here.

use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use diagnosis::Step;
use protocol::{Direction, Progress, StepReport, StepStatus, TranscriptLine};
use tokio::sync::mpsc::UnboundedSender;

/// What a secret line is shown as.
pub(crate) const MASK: &str = "****";

/// Records the dialogue of one operation (a check, or a send with all its attempts).
#[derive(Debug)]
pub(crate) struct Recorder {
    start: Instant,
    lines: Vec<TranscriptLine>,
    progress: Option<UnboundedSender<Progress>>,
    /// Final step reports, kept only for a check, whose report lists them.
    steps: Option<Vec<StepReport>>,
}

impl Recorder {
    pub(crate) fn new(progress: Option<UnboundedSender<Progress>>, keep_steps: bool) -> Recorder {
        Recorder {
            start: Instant::now(),
            lines: Vec::new(),
            progress,
            steps: keep_steps.then(Vec::new),
        }
    }

    /// A line the client sent, already redacted by the caller.
    pub(crate) fn client(&mut self, text: String) {
        self.line(Direction::Client, text);
    }

    /// A line the server sent, as it arrived (without its line ending).
    pub(crate) fn server(&mut self, raw: &str) {
        self.line(Direction::Server, show_reply_line(raw));
    }

    /// The bridge's own remark, such as "TLS established".
    pub(crate) fn note(&mut self, text: String) {
        self.line(Direction::Note, text);
    }

    fn line(&mut self, direction: Direction, text: String) {
        // Only redacted text gets here, so tracing may see it at any level.
        tracing::trace!(target: "mailbridge::smtp", ?direction, "{text}");
        let line = TranscriptLine {
            at_ms: self.elapsed_ms(),
            direction,
            text,
        };
        if let Some(progress) = &self.progress {
            let _ = progress.send(Progress::Transcript(line.clone()));
        }
        self.lines.push(line);
    }

    /// Announces a step as running and returns when it started.
    pub(crate) fn begin(&mut self, step: Step) -> Instant {
        if let Some(progress) = &self.progress {
            let _ = progress.send(Progress::Step(StepReport {
                step,
                status: StepStatus::Running,
                duration_ms: 0,
                detail: String::new(),
                reply: None,
            }));
        }
        Instant::now()
    }

    /// Reports a step's outcome.
    pub(crate) fn end(
        &mut self,
        step: Step,
        started: Instant,
        status: StepStatus,
        detail: String,
        reply: Option<String>,
    ) {
        let report = StepReport {
            step,
            status,
            duration_ms: millis(started.elapsed()),
            detail,
            reply,
        };
        if let Some(progress) = &self.progress {
            let _ = progress.send(Progress::Step(report.clone()));
        }
        if let Some(steps) = &mut self.steps {
            steps.push(report);
        }
    }

    /// Reports a step that never ran, without announcing it as running.
    pub(crate) fn skip(&mut self, step: Step, detail: String) {
        let now = Instant::now();
        self.end(step, now, StepStatus::Skipped, detail, None);
    }

    /// Announces that a transient failure is retried after `wait`.
    pub(crate) fn retry(&mut self, attempt: u32, wait: Duration, reason: String) {
        self.note(format!(
            "retrying (attempt {attempt}) in {} ms: {reason}",
            millis(wait)
        ));
        if let Some(progress) = &self.progress {
            let _ = progress.send(Progress::Retry {
                attempt,
                wait_ms: millis(wait),
                reason,
            });
        }
    }

    pub(crate) fn elapsed(&self) -> Duration {
        self.start.elapsed()
    }

    fn elapsed_ms(&self) -> u64 {
        millis(self.start.elapsed())
    }

    pub(crate) fn steps(&self) -> &[StepReport] {
        self.steps.as_deref().unwrap_or_default()
    }

    pub(crate) fn take_steps(&mut self) -> Vec<StepReport> {
        self.steps.as_mut().map(std::mem::take).unwrap_or_default()
    }

    pub(crate) fn lines(&self) -> &[TranscriptLine] {
        &self.lines
    }

    pub(crate) fn take_lines(&mut self) -> Vec<TranscriptLine> {
        std::mem::take(&mut self.lines)
    }

    pub(crate) fn into_lines(self) -> Vec<TranscriptLine> {
        self.lines
    }
}

pub(crate) fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// How a command line is shown: `AUTH <mechanism> <initial response>` keeps only the mechanism,
/// whatever the case or spacing, so no AUTH payload can be shown even by mistake. Everything
/// else is shown as sent.
pub(crate) fn redact_command(line: &str) -> String {
    let trimmed = line.trim_start();
    let mut words = trimmed.split_ascii_whitespace();
    match (words.next(), words.next(), words.next()) {
        (Some(verb), Some(mechanism), rest) if verb.eq_ignore_ascii_case("AUTH") => match rest {
            Some(_) => format!("AUTH {mechanism} {MASK}"),
            None => format!("AUTH {mechanism}"),
        },
        (Some(verb), None, None) if verb.eq_ignore_ascii_case("AUTH") => "AUTH".to_owned(),
        _ => line.to_owned(),
    }
}

/// How a server line is shown: as sent, except that a `334` challenge whose text is base64 of
/// printable text is shown decoded (AUTH LOGIN's `Username:`, XOAUTH2's JSON error), because
/// that is what a person needs to read. Challenges carry no client secret.
pub(crate) fn show_reply_line(raw: &str) -> String {
    let Some(text) = raw
        .strip_prefix("334 ")
        .or_else(|| raw.strip_prefix("334-"))
    else {
        return raw.to_owned();
    };
    let text = text.trim();
    match STANDARD
        .decode(text)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
    {
        Some(decoded)
            if !text.is_empty() && !decoded.chars().any(|c| c.is_control() && c != ' ') =>
        {
            format!("334 {decoded} [decoded from base64]")
        }
        _ => raw.to_owned(),
    }
}
