pub use diagnosis::CertificateInfo;
use diagnosis::{Diagnosis, Step};
use serde::{Deserialize, Serialize};

/// Who said a transcript line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    Client,
    Server,
    /// The bridge's own remark, such as "TLS established (TLSv1.3)".
    Note,
}

/// One line of an SMTP session, already redacted: AUTH payloads read `****` and message data is
/// summarised.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TranscriptLine {
    /// Milliseconds since the operation started.
    pub at_ms: u64,
    pub direction: Direction,
    pub text: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepStatus {
    Running,
    Ok,
    Failed,
    Skipped,
}

/// One step of a check or send: DNS, TCP, TLS, EHLO, AUTH and so on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepReport {
    pub step: Step,
    pub status: StepStatus,
    pub duration_ms: u64,
    /// What the step found, in words: the addresses DNS returned, the TLS version, ...
    pub detail: String,
    /// The server's reply to this step, when it gave one.
    pub reply: Option<String>,
}

/// Streamed while an operation runs, before its result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Progress {
    Step(StepReport),
    Transcript(TranscriptLine),
    /// A transient failure is being retried.
    Retry {
        attempt: u32,
        wait_ms: u64,
        reason: String,
    },
    Upload {
        received_bytes: u64,
        total_bytes: u64,
    },
    /// Consent is waiting: open `url` in a browser; the bridge listens on `redirect_uri` until
    /// `timeout_s` have passed. The URL holds no secret (only the PKCE challenge and state).
    Consent {
        url: String,
        redirect_uri: String,
        timeout_s: u64,
    },
}

/// The TLS session, or the handshake that failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TlsInfo {
    /// `TLSv1.3` or `TLSv1.2`; empty when the handshake failed.
    pub version: String,
    /// The negotiated suite; empty when the handshake failed.
    pub cipher: String,
    /// The certificates the server presented, leaf first, recorded even when they were not
    /// trusted.
    pub chain: Vec<CertificateInfo>,
}

impl TlsInfo {
    /// Whether the handshake finished, as opposed to a chain recorded from a failed one.
    pub fn established(&self) -> bool {
        !self.version.is_empty()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Ok,
    Failed,
}

/// The result of checking a connection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckReport {
    pub verdict: Verdict,
    pub steps: Vec<StepReport>,
    pub tls: Option<TlsInfo>,
    /// The EHLO keywords after TLS, as the server sent them (`SIZE 35882577`, `PIPELINING`, ...).
    pub capabilities: Vec<String>,
    pub size_limit: Option<u64>,
    pub auth_mechanisms: Vec<String>,
    /// Present when the verdict is [`Verdict::Failed`].
    pub diagnosis: Option<Diagnosis>,
    pub warnings: Vec<String>,
}

/// The result of a send that the server accepted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SendReport {
    pub message_id: String,
    /// The server's final reply, such as `250 2.0.0 OK ... - gsmtp`.
    pub reply: String,
    /// How many connection attempts it took (more than one after a transient failure).
    pub attempts: u32,
    pub recipients: Vec<String>,
    pub warnings: Vec<String>,
    /// The entry this send made in the history.
    pub history_id: u64,
}

/// Externally tagged on the wire, like `ServerMessage`; the history database keeps its own
/// (`"result": "sent"`) form, in `bridge/src/store/history.rs`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HistoryOutcome {
    Sent { reply: String },
    Failed { diagnosis: Diagnosis },
}

/// One past send, with its redacted transcript.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryEntry {
    pub id: u64,
    pub at_unix_ms: u64,
    pub profile_id: String,
    pub profile_name: String,
    pub recipients: Vec<String>,
    pub subject: String,
    pub message_id: Option<String>,
    pub attempts: u32,
    pub outcome: HistoryOutcome,
    pub transcript: Vec<TranscriptLine>,
    /// The bounce reports read for this message (`ReadBounces`), one per bounced recipient.
    #[serde(default)]
    pub bounces: Vec<crate::verify::BounceView>,
}
