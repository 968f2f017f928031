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
