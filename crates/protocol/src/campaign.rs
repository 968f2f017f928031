//! Campaigns as the page and the command line see them: a list and templates to check and
//! preview, then one message per recipient queued in the outbox, paced into the account's
//! daily limit, with progress, pause, resume, cancel and a results export.

use serde::{Deserialize, Serialize};

use crate::lint::LintReport;
use crate::outbox::StateCounts;

/// What the user gives: the list, which column holds the address, and the templates.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CampaignSpec {
    /// Shown in the list of campaigns and in `List-Id`.
    pub name: String,
    /// The CSV list as text (UTF-8; a BOM is fine), header row first. Only for small lists:
    /// a message from the page holds at most 64 KB.
    pub csv: String,
    /// The list uploaded with `BeginUpload`/`UploadChunk`, as attachments are, for lists of
    /// any size up to the cap; it wins over `csv`. The bridge keeps it until the campaign
    /// starts, so it can be checked and previewed again.
    pub csv_upload: Option<u64>,
    /// The header of the column holding each recipient's address.
    pub address_column: String,
    /// minijinja templates: the subject and text are not escaped, the HTML is.
    pub subject: String,
    pub text: Option<String>,
    pub html: Option<String>,
    /// One-click unsubscribe (RFC 8058): an https URL with a `{token}` placeholder.
    pub unsubscribe_url: Option<String>,
    /// An unsubscribe mailto address, besides or instead of the URL.
    pub unsubscribe_mailto: Option<String>,
    /// Queue the good rows even though others have problems.
    pub skip_bad_rows: bool,
}

/// A problem with one row of the list (rows count from 1 after the header).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RowProblem {
    pub row: u64,
    /// A column name, or `subject`, `text` or `html` for a rendered part.
    pub field: String,
    pub message: String,
}

/// One day's share of a campaign under the account's daily limit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayShare {
    /// When that day's first message may go.
    pub from_unix_ms: u64,
    pub messages: u64,
    /// `today`, `tomorrow`, `on Thursday`, `on 3 Dec`.
    pub day: String,
}

/// What checking a campaign found, before anything is queued.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CampaignCheck {
    /// The list's columns, for choosing the address column.
    pub columns: Vec<String>,
    pub rows: u64,
    /// Rows that would be sent.
    pub valid: u64,
    /// (row, the earlier row it repeats)
    pub duplicates: Vec<(u64, u64)>,
    /// Rows skipped because their address is on the suppression list.
    pub suppressed: Vec<u64>,
    pub problems: Vec<RowProblem>,
    /// Sender-rule warnings: no one-click unsubscribe over 100 recipients (Google's rule since
    /// February 2024), a From Gmail will rewrite.
    pub warnings: Vec<String>,
    /// How the account's remaining daily quota splits the valid rows across days.
    pub schedule: Vec<DayShare>,
    /// "5,000 recipients: 412 today, 2,000 tomorrow, 2,000 on Thursday, 588 on Friday".
    pub schedule_summary: String,
    /// The pace, and how long the first day's share takes at it.
    pub per_minute: u32,
    pub first_day_seconds: u64,
    /// Nothing would be queued as it stands (problems, and bad rows not skipped).
    pub blocked: bool,
    /// The checks before sending, run on the first row that would be sent.
    pub first_row_lint: Option<LintReport>,
}

/// One row rendered, as it would be sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RowPreview {
    pub row: u64,
    pub to: String,
    pub subject: String,
    pub text: Option<String>,
    pub html: Option<String>,
    /// The exact MIME (at most its first 256 KB).
    pub raw: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CampaignState {
    Running,
    Paused,
    Cancelled,
    /// Every message has been sent, has failed, or is held as ambiguous.
    Finished,
}

/// A campaign and where it stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CampaignView {
    pub id: u64,
    pub name: String,
    pub profile_id: String,
    pub state: CampaignState,
    pub created_unix_ms: u64,
    /// Its outbox entries by state.
    pub counts: StateCounts,
    pub total: u64,
    pub rate_per_minute: u64,
    /// `None` while it waits for a daily limit or a pause.
    pub eta_seconds: Option<u64>,
    /// When the rest go, in words, when the daily limit holds them.
    pub schedule_summary: String,
    /// Recipients whose bounce report was read (`ReadBounces`) after Gmail's 250, by row.
    #[serde(default)]
    pub bounced: Vec<BouncedRow>,
}

/// A campaign's recipient that bounced: its row and the report matched to its message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BouncedRow {
    pub row: u64,
    pub bounce: crate::verify::BounceView,
}
