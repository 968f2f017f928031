//! The output: an explanation a person can act on.

use std::fmt;

use serde::{Deserialize, Serialize};

/// What went wrong, why, and what to do about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Diagnosis {
    /// One line, e.g. "Username and password not accepted".
    pub title: String,
    pub what_happened: String,
    pub likely_cause: String,
    /// Steps in the order to try them, each a sentence a person can follow.
    pub fix: Vec<String>,
    /// Google's page about this problem, when Google has one.
    pub help_link: Option<String>,
    pub retry: Retry,
    /// The server's reply in wire form, when there was one.
    pub reply: Option<String>,
}

/// Whether sending the same thing again can succeed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Retry {
    /// Yes, later: the cause is temporary.
    Transient,
    /// No: something has to change first. Also used for replies that are not failures, because
    /// repeating a command that worked can only duplicate mail.
    Permanent,
    /// Only once the sending quota's rolling 24-hour window has moved on.
    AfterQuotaWindow,
}

/// What a reply means for a program that sends many messages over time (an outbox), beyond
/// this one message: see [`quota_signal`](crate::quota_signal).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QuotaSignal {
    /// A daily quota is used up: stop sending from this account until the rolling 24-hour
    /// window has moved on. Gmail's `550 5.4.5 Daily user sending limit exceeded` and the SMTP
    /// relay's daily limits, per user (`550 5.4.5`) and for the whole organisation (`550 5.7.1`).
    DailyLimit,
    /// Too much too fast: slow down, reconnect less often and retry after a pause (minutes,
    /// growing). `421 4.7.0 Try again later`, `454 4.7.0 Too many login attempts`, `421 4.7.28`
    /// rate limits, `450 4.2.1 Peak SMTP relay limit` and `421 4.7.0 Temporary System Problem`.
    Throttle,
}

impl fmt::Display for Retry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Retry::Transient => "yes, later: this is temporary",
            Retry::Permanent => "no, not until something changes",
            Retry::AfterQuotaWindow => "after the quota window (at most 24 hours)",
        })
    }
}

impl fmt::Display for Diagnosis {
    /// Plain text for a terminal, one section per field.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{}", self.title)?;
        writeln!(f)?;
        writeln!(f, "What happened: {}", self.what_happened)?;
        writeln!(f, "Likely cause: {}", self.likely_cause)?;
        if !self.fix.is_empty() {
            writeln!(f, "How to fix it:")?;
            for (number, step) in self.fix.iter().enumerate() {
                writeln!(f, "  {}. {step}", number + 1)?;
            }
        }
        if let Some(link) = &self.help_link {
            writeln!(f, "More help: {link}")?;
        }
        writeln!(f, "Retry: {}", self.retry)?;
        if let Some(reply) = &self.reply {
            writeln!(f, "Server reply:")?;
            for line in reply.lines() {
                writeln!(f, "  {line}")?;
            }
        }
        Ok(())
    }
}
