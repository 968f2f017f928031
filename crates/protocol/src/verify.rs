//! Delivery verification: where a sent message landed in a receiving mailbox, how fast, and
//! with what authentication results, as found over IMAP.

use serde::{Deserialize, Serialize};

use crate::operation::{Outcome, SecretState};
use crate::report::TranscriptLine;

/// Where the message was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Placement {
    /// In the Inbox (on Gmail, with the tab in [`DeliveryVerdict::tab`]).
    Inbox,
    Spam,
    Trash,
    /// Delivered but not in the Inbox, with no label of its own (a filter archived it).
    Archived,
    /// Delivered, not in the Inbox, with labels (a filter filed it).
    Labelled,
    /// Not found anywhere before the time limit.
    NotArrived,
}

impl Placement {
    /// What a command line exits with: 0 for the Inbox, 1 for anything a sender must act on.
    pub fn exit_code(self) -> i32 {
        match self {
            Placement::Inbox => 0,
            _ => 1,
        }
    }

    pub fn words(self) -> &'static str {
        match self {
            Placement::Inbox => "Inbox",
            Placement::Spam => "Spam",
            Placement::Trash => "Trash",
            Placement::Archived => "archived (not in the Inbox)",
            Placement::Labelled => "filed under a label (not in the Inbox)",
            Placement::NotArrived => "not arrived",
        }
    }
}

/// Gmail's Inbox tabs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Tab {
    Primary,
    Promotions,
    Social,
    Updates,
    Forums,
}

impl Tab {
    pub const ALL: [Tab; 5] = [
        Tab::Primary,
        Tab::Promotions,
        Tab::Social,
        Tab::Updates,
        Tab::Forums,
    ];

    /// The tabs other than Primary, as Gmail's search names them (`category:promotions`).
    pub const SEARCHABLE: [Tab; 4] = [Tab::Promotions, Tab::Social, Tab::Updates, Tab::Forums];

    /// The name Gmail's search uses (`category:promotions`).
    pub fn name(self) -> &'static str {
        match self {
            Tab::Primary => "primary",
            Tab::Promotions => "promotions",
            Tab::Social => "social",
            Tab::Updates => "updates",
            Tab::Forums => "forums",
        }
    }

    /// The tab a name gives (any case; Gmail's older `personal` is Primary).
    pub fn from_name(name: &str) -> Option<Tab> {
        let name = name.trim().to_ascii_lowercase();
        if name == "personal" {
            return Some(Tab::Primary);
        }
        Tab::ALL.into_iter().find(|tab| tab.name() == name)
    }
}

/// One verdict of an `Authentication-Results` field (RFC 8601): `spf=pass
/// smtp.mailfrom=example.com` is method `spf`, result `pass`, domain `example.com`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthVerdict {
    pub method: String,
    pub result: String,
    #[serde(default)]
    pub domain: Option<String>,
    /// The server that wrote the field (its authserv-id, e.g. `mx.google.com`).
    pub by: String,
}

/// What the receiving mailbox showed about a sent message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryVerdict {
    /// The receiving mailbox's name.
    pub mailbox: String,
    /// Without angle brackets.
    pub message_id: String,
    pub placement: Placement,
    #[serde(default)]
    pub tab: Option<Tab>,
    /// The folder it was found in, as the server names it.
    #[serde(default)]
    pub folder: Option<String>,
    /// Gmail's labels (`X-GM-LABELS` read in All Mail, where `\Inbox` shows).
    #[serde(default)]
    pub labels: Vec<String>,
    /// From our `250` to the server's arrival time, in milliseconds (0 when the server's
    /// clock, counted in whole seconds, says it arrived within the second).
    #[serde(default)]
    pub delivery_ms: Option<u64>,
    /// What the arrival time was read from: `INTERNALDATE` or the top `Received:` field.
    #[serde(default)]
    pub arrival_source: Option<String>,
    /// The arrival time, RFC 3339.
    #[serde(default)]
    pub arrived_at: Option<String>,
    /// From the start of verification to this verdict, in milliseconds.
    pub waited_ms: u64,
    #[serde(default)]
    pub authentication: Vec<AuthVerdict>,
    /// The `Received:` fields, top (the last hop) first, unfolded.
    #[serde(default)]
    pub received: Vec<String>,
    /// The From as sent, when the server rewrote it (`X-Google-Original-From`).
    #[serde(default)]
    pub original_from: Option<String>,
    /// The Message-ID as sent, when the server replaced it (`X-Google-Original-Message-ID`).
    #[serde(default)]
    pub original_message_id: Option<String>,
    /// For Spam: the headers and verdicts that most likely caused it, each with the fix.
    #[serde(default)]
    pub spam_causes: Vec<String>,
    /// What to check next, in order.
    #[serde(default)]
    pub next_steps: Vec<String>,
    /// One sentence.
    pub summary: String,
}

/// A verification's result with its IMAP transcript (redacted: no password, token or
/// message content).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerifyReport {
    pub verdict: Option<DeliveryVerdict>,
    /// Why no verdict could be reached (a refused login, a server without TLS, ...).
    #[serde(default)]
    pub error: Option<diagnosis::Diagnosis>,
    pub transcript: Vec<TranscriptLine>,
}

/// A bounce report read from the sending account's mailbox and matched to a sent message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BounceView {
    pub recipient: String,
    /// `failed` or `delayed`.
    pub action: String,
    /// The enhanced status code, such as `5.1.1`.
    pub status: String,
    /// The remote server's words.
    #[serde(default)]
    pub remote_text: Option<String>,
    /// The bounced message's Message-ID, without angle brackets.
    pub message_id: String,
    /// The history entry of the send it belongs to.
    pub history_id: u64,
    #[serde(default)]
    pub diagnosis: Option<diagnosis::Diagnosis>,
    /// A hard bounce (5.x.x, failed): the address was added to the suppression list.
    pub suppressed: bool,
}

/// What reading a mailbox for bounces found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BounceReport {
    pub matched: Vec<BounceView>,
    /// Reports about messages this bridge did not send (or recipients they did not have).
    pub unmatched: usize,
    /// Messages that looked like reports but are not (`multipart/report` structure missing).
    pub ignored: usize,
    pub transcript: Vec<TranscriptLine>,
}

/// A receiving mailbox as the page shows it: never its secret, only whether one is stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MailboxView {
    pub mailbox: profile::ReceivingMailbox,
    pub secret: SecretState,
    /// How to get the App Password or token, in words (the preset's rules).
    pub rules: String,
}

/// One "send and verify": the send's outcome (sent or queued; none when the send or the
/// mailbox failed first, which `report.error` explains) and what the mailbox showed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SentAndVerified {
    pub mailbox: String,
    #[serde(default)]
    pub send: Option<Box<Outcome>>,
    pub report: VerifyReport,
}
