//! Checks before sending: what `mailbridge lint`, the page's "Check before sending" and a
//! campaign's first row get back. Each finding says what was found, where, why Gmail cares
//! and how to fix it, so the page can group them and a blocker can make Send ask again.

use serde::{Deserialize, Serialize};

/// How much a finding matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Gmail will refuse or block it: Send asks again.
    Blocker,
    /// Likely to cost a bounce, a spam placement or a rewrite.
    Warning,
    /// Worth doing; nothing breaks without it.
    Advice,
}

impl Severity {
    pub fn label(self) -> &'static str {
        match self {
            Severity::Blocker => "blocker",
            Severity::Warning => "warning",
            Severity::Advice => "advice",
        }
    }
}

/// Which check produced a finding; the page groups findings by it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckKind {
    Format,
    Size,
    Attachments,
    Sender,
    Spam,
    Html,
    Links,
    Dns,
}

impl CheckKind {
    pub fn label(self) -> &'static str {
        match self {
            CheckKind::Format => "Format",
            CheckKind::Size => "Size",
            CheckKind::Attachments => "Attachments",
            CheckKind::Sender => "Sender rules",
            CheckKind::Spam => "Spam score",
            CheckKind::Html => "HTML in Gmail",
            CheckKind::Links => "Links",
            CheckKind::Dns => "DNS for the From domain",
        }
    }
}

/// One thing a check found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    pub check: CheckKind,
    pub severity: Severity,
    /// A stable short name for tests and scripts, e.g. `blocked-attachment`, `spf-missing`.
    pub code: String,
    /// What was found, in words: "report.txt is a Windows program (.exe content)".
    pub found: String,
    /// Where: a header (`header From`), a part (`part 2 text/html`), a line (`line 14`), an
    /// attachment name (`attachment invoice.zip > setup.js`), a DNS name.
    pub location: String,
    /// Why Gmail cares.
    pub why: String,
    /// What to do, in words.
    pub fix: String,
}

/// One SpamAssassin rule that fired.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpamRule {
    pub name: String,
    pub points: f64,
    pub description: String,
}

/// SpamAssassin's verdict, from `spamd` over SPAMC.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpamReport {
    pub score: f64,
    pub threshold: f64,
    pub is_spam: bool,
    pub rules: Vec<SpamRule>,
    /// Where spamd answered, e.g. `127.0.0.1:783`.
    pub server: String,
}

/// A check that did not run, and why (spamd not configured, DNS unreachable, links off).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Skipped {
    pub check: CheckKind,
    pub reason: String,
}

/// Everything one lint run found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct LintReport {
    /// Blockers first, then warnings, then advice.
    pub findings: Vec<Finding>,
    pub spam: Option<SpamReport>,
    pub skipped: Vec<Skipped>,
    /// The encoded message's size in bytes.
    pub size_bytes: u64,
    pub elapsed_ms: u64,
}

impl LintReport {
    pub fn blockers(&self) -> usize {
        self.findings
            .iter()
            .filter(|f| f.severity == Severity::Blocker)
            .count()
    }
}
