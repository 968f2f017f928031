use profile::{Conflict, Header, Profile, ProfileId};
use serde::{Deserialize, Serialize};

use crate::campaign::{CampaignCheck, CampaignSpec, CampaignView, RowPreview};
use crate::captured::{CapturedMessage, MessageSummary};
use crate::lint::LintReport;
use crate::oauth::{OAuthClientInput, TokenHealthView};
use crate::outbox::{EntryState, OutboxEntry, OutboxSummary, QueuedReport, QuotaView};
use crate::report::{CheckReport, HistoryEntry, SendReport};
use crate::secret::Secret;

/// Chosen by the page, unique among its operations in flight; echoed on every reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RequestId(pub u64);

/// One thing the page asks the bridge to do.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Request {
    pub id: RequestId,
    pub operation: Operation,
}

/// What the user can ask for, named for what they do.
///
/// There is deliberately no operation that reads a secret back: secrets go into the bridge
/// and stay there.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
pub enum Operation {
    /// DNS, TCP, TLS, EHLO, AUTH and QUIT, like `swaks --quit-after AUTH`.
    CheckConnection {
        profile: ProfileId,
    },
    Send {
        profile: ProfileId,
        draft: Draft,
    },
    /// A short "SMTP test" message from the profile's account to itself.
    SendTest {
        profile: ProfileId,
    },
    /// The exact MIME the bridge would send, for the preview's "Raw" tab.
    RenderMime {
        profile: ProfileId,
        draft: Draft,
    },
    /// Checks before sending: runs every check on the message the draft would be (format,
    /// size, attachments, sender rules, HTML, links, the spam score, DNS for the From domain)
    /// and sends nothing. With `check_links`, each link also gets one HEAD request.
    Lint {
        profile: ProfileId,
        draft: Draft,
        #[serde(default)]
        check_links: bool,
    },
    ListProfiles,
    SaveProfile {
        profile: Profile,
    },
    DeleteProfile {
        profile: ProfileId,
    },
    /// A team file in the `mailbridge-profiles` format.
    ImportProfiles {
        json: String,
        conflict: Conflict,
    },
    /// Exports the named profiles, or all of them when the list is empty.
    ExportProfiles {
        profiles: Vec<ProfileId>,
    },
    SetSecret {
        profile: ProfileId,
        secret: Secret,
    },
    ClearSecret {
        profile: ProfileId,
    },
    /// Gives an OAuth2 profile its OAuth client: the client ID goes into the profile, the
    /// secret into the secret store.
    SetOAuthClient {
        profile: ProfileId,
        client: OAuthClientInput,
    },
    /// Consent: the bridge sends [`crate::Progress::Consent`] with the URL to open, waits for
    /// the browser's redirect on its loopback listener, and keeps the refresh token. With
    /// `reconnect`, the consent screen is shown even if the account agreed before.
    ConnectOAuth {
        profile: ProfileId,
        #[serde(default)]
        reconnect: bool,
    },
    /// Revokes the refresh token at the server where it can, and forgets it.
    DisconnectOAuth {
        profile: ProfileId,
    },
    /// The token health of one profile.
    ReadTokenHealth {
        profile: ProfileId,
    },
    /// Announces an attachment; its bytes follow in [`Operation::UploadChunk`]s.
    BeginUpload {
        filename: String,
        content_type: String,
        size_bytes: u64,
    },
    UploadChunk {
        upload: u64,
        offset: u64,
        data_base64: String,
    },
    /// Lets go of an upload the user removed from the draft, so that it no longer counts
    /// towards Gmail's 25 MB. Discarding one that is gone already is not an error.
    DiscardUpload {
        upload: u64,
    },
    ListSandboxMessages,
    ReadSandboxMessage {
        id: u64,
    },
    ReadHistory {
        limit: u32,
    },
    /// Queues several messages through the outbox, each committed before anything is sent.
    /// A batch with any problem is refused whole, naming the draft and the field.
    EnqueueBatch {
        profile: ProfileId,
        drafts: Vec<Draft>,
    },
    /// Queues one copy of `draft` for each address in `recipients`, each alone in To (the
    /// draft's own To, Cc and Bcc are ignored).
    EnqueueEach {
        profile: ProfileId,
        draft: Draft,
        recipients: Vec<String>,
    },
    /// The newest `limit` entries, only those in `state` when it is given, with the summary.
    ListOutbox {
        state: Option<EntryState>,
        limit: u32,
    },
    /// One entry with its per-recipient results and kept transcript.
    ReadOutboxEntry {
        id: u64,
    },
    /// Sends failed or deferred entries again now (a failed one only when its cause may have
    /// changed, such as a quota or a password).
    RetryEntries {
        ids: Vec<u64>,
    },
    /// Takes entries that have not been sent out of the outbox.
    CancelEntries {
        ids: Vec<u64>,
    },
    /// Ambiguous entries may have been delivered: send them again with the same Message-ID
    /// (`resend`), or drop them.
    ReleaseAmbiguous {
        ids: Vec<u64>,
        resend: bool,
    },
    /// Each sending account's use of its daily limit.
    ReadQuotas,
    /// Checks a campaign's list and templates and plans it across days; queues nothing.
    CheckCampaign {
        profile: ProfileId,
        spec: CampaignSpec,
    },
    /// Renders row `row` (from 1) as it would be sent.
    PreviewCampaignRow {
        profile: ProfileId,
        spec: CampaignSpec,
        row: u64,
    },
    /// Sends row `row` rendered to the profile's own account, as a test.
    SendCampaignTest {
        profile: ProfileId,
        spec: CampaignSpec,
        row: u64,
    },
    /// Queues one message per valid row through the outbox.
    StartCampaign {
        profile: ProfileId,
        spec: CampaignSpec,
    },
    ListCampaigns,
    PauseCampaign {
        id: u64,
    },
    ResumeCampaign {
        id: u64,
    },
    /// Cancels what has not been sent yet.
    CancelCampaign {
        id: u64,
    },
    /// Row, address, state, Message-ID, the server's reply and the time, as CSV.
    ExportCampaignResults {
        id: u64,
    },
    /// Delivery verification (`verify.rs` has the types): mailboxes, verify, send and verify.
    ListMailboxes,
    SaveMailbox {
        mailbox: profile::ReceivingMailbox,
    },
    DeleteMailbox {
        id: String,
    },
    SetMailboxSecret {
        id: String,
        secret: Secret,
    },
    /// The receiving mailboxes' definitions as a team file (`mailbridge-mailboxes`), never a
    /// secret; answered with [`Outcome::Exported`].
    ExportMailboxes,
    /// Adds (or replaces, by id) the mailboxes of a team file; answered with the list.
    ImportMailboxes {
        json: String,
    },
    /// Sends the draft (or, without one, a short test) through a profile to a receiving
    /// mailbox's address, then finds it there; `mailboxes` empty means every mailbox.
    SendAndVerify {
        profile: ProfileId,
        mailboxes: Vec<String>,
        #[serde(default)]
        draft: Option<Draft>,
        #[serde(default)]
        limit_seconds: Option<u64>,
    },
    /// An ordinary send of the draft, as composed, that also verifies where it landed at a
    /// receiving mailbox ("verify at"). The draft's recipients must include the mailbox's
    /// address; the result is one [`crate::verify::SentAndVerified`].
    SendVerifyingAt {
        profile: ProfileId,
        draft: Draft,
        mailbox: String,
        #[serde(default)]
        limit_seconds: Option<u64>,
    },
    /// Looks for a sent message at a receiving mailbox.
    Verify {
        mailbox: String,
        message_id: String,
        #[serde(default)]
        sent_at_unix_ms: Option<i64>,
        #[serde(default)]
        limit_seconds: Option<u64>,
    },
    /// Reads the bounce reports at a receiving mailbox (the sending account's own).
    ReadBounces {
        mailbox: String,
    },
    /// The sandbox's spam fault: the next `next` messages it accepts go to Spam.
    SetSandboxSpam {
        next: u32,
    },
    /// The verdicts kept for a sent message (the history shows them beside its transcript).
    ReadVerdicts {
        message_id: String,
    },
}

/// A message as composed on the page. Addresses are as typed; the bridge parses them and names
/// the field of any that does not parse.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Draft {
    pub to: Vec<String>,
    pub cc: Vec<String>,
    /// Goes only into RCPT TO, never into the message.
    pub bcc: Vec<String>,
    pub reply_to: Option<String>,
    pub subject: String,
    pub text: Option<String>,
    pub html: Option<String>,
    pub attachments: Vec<AttachmentRef>,
    pub headers: Vec<Header>,
}

/// An attachment already uploaded with [`Operation::BeginUpload`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AttachmentRef {
    pub upload: u64,
    pub filename: String,
    pub content_type: String,
    pub size_bytes: u64,
}

/// Whether the bridge holds the secret a profile needs. The secret itself never leaves it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SecretState {
    Stored,
    Missing,
    /// The profile authenticates with nothing (auth: none).
    NotNeeded,
}

/// A profile as the page shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProfileView {
    pub profile: Profile,
    pub secret: SecretState,
    /// Things that work but may surprise, such as Gmail rewriting a From that is not the account.
    pub warnings: Vec<String>,
    /// The token health of an OAuth2 profile.
    #[serde(default)]
    pub token: Option<Box<TokenHealthView>>,
}

/// The successful result of an [`Operation`], one variant per operation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Checked(CheckReport),
    Sent(SendReport),
    Rendered {
        raw: String,
        warnings: Vec<String>,
    },
    Linted(Box<LintReport>),
    Profiles {
        profiles: Vec<ProfileView>,
    },
    Saved {
        profile: ProfileView,
    },
    Deleted {
        profile: ProfileId,
    },
    Imported {
        added: Vec<String>,
        overwritten: Vec<String>,
        skipped: Vec<String>,
        /// (name in the file, name it was given)
        renamed: Vec<(String, String)>,
    },
    Exported {
        json: String,
        /// A suggested file name for the download.
        filename: String,
    },
    SecretSet {
        profile: ProfileId,
    },
    SecretCleared {
        profile: ProfileId,
    },
    OAuthClientSet {
        profile: ProfileView,
    },
    OAuthConnected {
        profile: ProfileId,
        health: Box<TokenHealthView>,
    },
    OAuthDisconnected {
        profile: ProfileId,
        /// Whether the server confirmed the revocation.
        revoked: bool,
        /// Why it was not revoked there, when it was not.
        note: Option<String>,
    },
    TokenHealth {
        profile: ProfileId,
        health: Box<TokenHealthView>,
    },
    UploadStarted {
        upload: u64,
    },
    ChunkAccepted {
        upload: u64,
        received_bytes: u64,
    },
    UploadDiscarded {
        upload: u64,
    },
    SandboxMessages {
        messages: Vec<MessageSummary>,
    },
    SandboxMessage {
        message: Box<CapturedMessage>,
    },
    History {
        entries: Vec<HistoryEntry>,
    },
    /// A [`Operation::Send`] that could not go at once; it stays queued and is retried.
    Queued(QueuedReport),
    Enqueued {
        batch: u64,
        entries: Vec<u64>,
        warnings: Vec<String>,
        summary: OutboxSummary,
    },
    Outbox {
        summary: OutboxSummary,
        entries: Vec<OutboxEntry>,
    },
    OutboxEntry {
        entry: Box<OutboxEntry>,
    },
    /// Which entries a retry, cancel or release changed, and why the others were not.
    OutboxChanged {
        changed: Vec<u64>,
        /// (entry, why it was left as it is)
        unchanged: Vec<(u64, String)>,
    },
    Quotas {
        quotas: Vec<QuotaView>,
    },
    CampaignChecked(CampaignCheck),
    CampaignRow(RowPreview),
    Campaign(CampaignView),
    Campaigns {
        campaigns: Vec<CampaignView>,
    },
    CampaignResults {
        csv: String,
        /// A suggested file name for the download.
        filename: String,
    },
    Mailboxes {
        mailboxes: Vec<crate::verify::MailboxView>,
    },
    /// One verification per mailbox, in the order asked.
    SentAndVerified {
        results: Vec<crate::verify::SentAndVerified>,
    },
    Verified(Box<crate::verify::VerifyReport>),
    Bounces(Box<crate::verify::BounceReport>),
    SandboxSpam {
        next: u32,
    },
    /// Newest first, each with its IMAP transcript.
    Verdicts {
        reports: Vec<crate::verify::VerifyReport>,
    },
}
