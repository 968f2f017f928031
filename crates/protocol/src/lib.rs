//! The contract between the mailbridge web app and the bridge: every message on the local
//! WebSocket, as JSON.
//!
//! A session starts with [`ClientMessage::Hello`], which carries [`PROTOCOL_VERSION`] and the
//! pairing token. After [`ServerMessage::Welcome`], the page sends [`Request`]s, each with an id
//! it chose; the bridge answers with any number of [`ServerMessage::Progress`] events and then
//! exactly one [`ServerMessage::Done`] or [`ServerMessage::Failed`] carrying the same id, so the
//! page can run several operations at once. [`ServerMessage::Notice`] carries news nobody asked
//! for, such as a message arriving in the sandbox.
//!
//! The crate does no IO and compiles for `wasm32-unknown-unknown`, so the page and the bridge
//! use the very same types.
//!
//! # Layout
//! - `message`: the envelopes, [`ClientMessage`] and [`ServerMessage`].
//! - `operation`: what the user can ask for ([`Operation`]) and what comes back ([`Outcome`]).
//! - `outbox`: the outbox's entries, states, counts and quotas.
//! - `report`: check and send reports, transcripts, progress, history.
//! - `campaign`: campaigns: the list and templates, the check, the plan, the progress.
//! - `captured`: the messages the sandbox captured, as the inbox shows them.
//! - `lint`: checks before sending: findings by severity, the spam score.
//! - `oauth`: a profile's OAuth client and its token health.
//! - `codec`: decoding with size limits and typed errors, and encoding.
//! - `secret`: [`Secret`], a string that never prints itself.
//! - `verify`: delivery verification over IMAP: where a message landed, how fast, why.

mod campaign;
mod captured;
mod codec;
mod lint;
mod message;
mod oauth;
mod operation;
mod outbox;
mod report;
mod secret;
mod verify;

pub use campaign::{
    BouncedRow, CampaignCheck, CampaignSpec, CampaignState, CampaignView, DayShare, RowPreview,
    RowProblem,
};
pub use captured::{Attachment, CapturedMessage, Envelope, HeaderLine, MessageSummary};
pub use codec::{
    DecodeError, MAX_FRAME_BYTES, MAX_SERVER_MESSAGE_BYTES, decode_client, decode_server,
    decode_server_binary, encode, encode_binary,
};
pub use lint::{CheckKind, Finding, LintReport, Severity, Skipped, SpamReport, SpamRule};
pub use message::{ClientMessage, Encoding, ErrorKind, Notice, OperationError, ServerMessage};
pub use oauth::{OAuthClientInput, TokenHealthView, TokenState};
pub use operation::{
    AttachmentRef, Draft, Operation, Outcome, ProfileView, Request, RequestId, SecretState,
};
pub use outbox::{
    Deliverer, EntryState, OutboxEntry, OutboxSummary, QueuedReport, QuotaView, RecipientResult,
    RecipientState, StateCounts,
};
pub use report::{
    CertificateInfo, CheckReport, Direction, HistoryEntry, HistoryOutcome, Progress, SendReport,
    StepReport, StepStatus, TlsInfo, TranscriptLine, Verdict,
};
pub use secret::Secret;
pub use verify::{
    AuthVerdict, BounceReport, BounceView, DeliveryVerdict, MailboxView, Placement,
    SentAndVerified, Tab, VerifyReport,
};

/// The version of this contract. A page and a bridge with different versions refuse each other
/// with an error that names both.
///
/// The web app reads the bridge's messages in postcard, which places fields by position and
/// tolerates no added field or variant, so any change to a type inside [`ServerMessage`] must
/// bump it: the browser extension is built apart from the bridge it talks to. 6 since the
/// postcard encoding.
pub const PROTOCOL_VERSION: u32 = 6;

/// Gmail accepts 25 MB of attachments per message; the bridge enforces the same cap.
pub const MAX_ATTACHMENT_TOTAL_BYTES: u64 = 25 * 1024 * 1024;

/// Attachments travel in chunks of at most this many raw bytes, so a chunk's base64 form stays
/// well inside [`MAX_FRAME_BYTES`].
pub const MAX_CHUNK_BYTES: usize = 32 * 1024;

#[cfg(test)]
mod tests;
