//! The outbox as the page and the command line see it: entries with their states, the counts,
//! the pace, and each sending account's quota.

use diagnosis::Diagnosis;
use serde::{Deserialize, Serialize};

use crate::report::TranscriptLine;

/// Where an entry of the outbox is in its life.
///
/// `Queued` → `Sending` → `BodySent` → `Sent`; a transient failure before the end of the data
/// makes it `Deferred` (it goes again at `next_attempt_unix_ms`); a permanent one, or a
/// deferral past the maximum age, makes it `Failed`. An entry found in `BodySent` after a crash
/// may have been delivered, so it becomes `Ambiguous` and waits for the user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryState {
    Queued,
    Sending,
    BodySent,
    Sent,
    Deferred,
    Failed,
    Ambiguous,
    Cancelled,
}

impl EntryState {
    pub const ALL: [EntryState; 8] = [
        EntryState::Queued,
        EntryState::Sending,
        EntryState::BodySent,
        EntryState::Sent,
        EntryState::Deferred,
        EntryState::Failed,
        EntryState::Ambiguous,
        EntryState::Cancelled,
    ];

    /// The name used on the wire, in the database and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            EntryState::Queued => "queued",
            EntryState::Sending => "sending",
            EntryState::BodySent => "body_sent",
            EntryState::Sent => "sent",
            EntryState::Deferred => "deferred",
            EntryState::Failed => "failed",
            EntryState::Ambiguous => "ambiguous",
            EntryState::Cancelled => "cancelled",
        }
    }

    pub fn parse(text: &str) -> Option<EntryState> {
        EntryState::ALL
            .into_iter()
            .find(|state| state.as_str() == text)
    }

    /// Nothing more happens to the entry unless the user asks.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            EntryState::Sent | EntryState::Failed | EntryState::Cancelled
        )
    }

    /// In words, for people.
    pub fn label(self) -> &'static str {
        match self {
            EntryState::Queued => "queued",
            EntryState::Sending => "sending",
            EntryState::BodySent => "message sent, waiting for the reply",
            EntryState::Sent => "sent",
            EntryState::Deferred => "waiting to retry",
            EntryState::Failed => "failed",
            EntryState::Ambiguous => "may have been sent",
            EntryState::Cancelled => "cancelled",
        }
    }
}

/// What became of one recipient of an entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecipientState {
    /// Not yet accepted or refused.
    Pending,
    /// The server accepted the message for this address.
    Accepted,
    /// The server refused this address for good (a 5xx to its RCPT); the others still go.
    Refused,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecipientResult {
    pub address: String,
    pub state: RecipientState,
    /// The server's reply to this recipient's RCPT, or to the message's data.
    pub reply: Option<String>,
}

/// One message in the outbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxEntry {
    pub id: u64,
    /// The batch it was queued with.
    pub batch: u64,
    pub profile_id: String,
    pub profile_name: String,
    /// The sending account: `user@host`, whose quota the entry counts against.
    pub account: String,
    pub state: EntryState,
    /// Fixed when the entry is queued and kept across retries.
    pub message_id: String,
    pub subject: String,
    pub recipients: Vec<RecipientResult>,
    pub size_bytes: u64,
    pub queued_at_unix_ms: u64,
    pub updated_at_unix_ms: u64,
    /// When a deferred or queued entry may go next.
    pub next_attempt_unix_ms: Option<u64>,
    pub attempts: u32,
    /// The server's last reply, such as `421 4.7.0 Try again later`.
    pub last_reply: Option<String>,
    /// Why it failed or is waiting, explained.
    pub diagnosis: Option<Diagnosis>,
    /// The redacted dialogue, kept for failed entries (or when asked); empty in lists.
    pub transcript: Vec<TranscriptLine>,
}

/// How many entries are in each state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateCounts {
    pub queued: u64,
    pub sending: u64,
    pub body_sent: u64,
    pub sent: u64,
    pub deferred: u64,
    pub failed: u64,
    pub ambiguous: u64,
    pub cancelled: u64,
}

impl StateCounts {
    pub fn get(&self, state: EntryState) -> u64 {
        match state {
            EntryState::Queued => self.queued,
            EntryState::Sending => self.sending,
            EntryState::BodySent => self.body_sent,
            EntryState::Sent => self.sent,
            EntryState::Deferred => self.deferred,
            EntryState::Failed => self.failed,
            EntryState::Ambiguous => self.ambiguous,
            EntryState::Cancelled => self.cancelled,
        }
    }

    pub fn slot(&mut self, state: EntryState) -> &mut u64 {
        match state {
            EntryState::Queued => &mut self.queued,
            EntryState::Sending => &mut self.sending,
            EntryState::BodySent => &mut self.body_sent,
            EntryState::Sent => &mut self.sent,
            EntryState::Deferred => &mut self.deferred,
            EntryState::Failed => &mut self.failed,
            EntryState::Ambiguous => &mut self.ambiguous,
            EntryState::Cancelled => &mut self.cancelled,
        }
    }

    pub fn total(&self) -> u64 {
        EntryState::ALL
            .into_iter()
            .map(|state| self.get(state))
            .sum()
    }

    /// Entries that will still be sent without the user doing anything.
    pub fn pending(&self) -> u64 {
        self.queued + self.sending + self.body_sent + self.deferred
    }
}

/// A sending account's use of its daily limit over the last 24 hours.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuotaView {
    /// `user@host`.
    pub account: String,
    /// The profiles that send as this account.
    pub profiles: Vec<String>,
    /// Messages per rolling 24 hours, from the profile's limits.
    pub daily_limit: u64,
    /// Messages the server accepted in the last 24 hours.
    pub sent_24h: u64,
    pub recipients_24h: u64,
    pub unique_recipients_24h: u64,
    pub remaining: u64,
    /// Queued for this account and not yet sent.
    pub waiting: u64,
    /// When the next message beyond the limit may go (the oldest counted send turns 24 h).
    pub next_free_unix_ms: Option<u64>,
    /// The server said the account is over its limit; nothing goes before this.
    pub paused_until_unix_ms: Option<u64>,
    pub pause_reason: Option<String>,
    /// Connections in use now and the most allowed (halved after throttling replies).
    pub concurrency: u32,
    pub max_concurrency: u32,
    /// In words: "412 of 500 left today; the other 88 go from 14:05 tomorrow".
    pub summary: String,
}

/// Who delivers this outbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Deliverer {
    /// This bridge.
    Here,
    /// Another mailbridge on the same data directory holds the outbox's lock.
    Elsewhere { detail: String },
    /// Nothing delivers: a command that only enqueues.
    Nobody,
}

/// The outbox at a glance: what the Outbox view's header and progress bar show.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxSummary {
    pub counts: StateCounts,
    /// Messages sent in the last minute.
    pub rate_per_minute: u64,
    /// At the pace allowed, how long until every pending entry has gone (`None` when that
    /// waits on a daily limit or a pause).
    pub eta_seconds: Option<u64>,
    pub quotas: Vec<QuotaView>,
    pub deliverer: Deliverer,
}

/// What [`crate::Operation::Send`] did when the message could not go at once but will be
/// retried: it stays in the outbox, and nothing is lost.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueuedReport {
    pub entry: u64,
    pub message_id: String,
    pub recipients: Vec<String>,
    pub state: EntryState,
    /// "Gmail said 421 try again later; retrying at 10:42".
    pub reason: String,
    pub next_attempt_unix_ms: Option<u64>,
    pub diagnosis: Option<Diagnosis>,
    pub warnings: Vec<String>,
}
