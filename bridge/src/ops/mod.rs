//! What the bridge does for each [`Operation`]: the one place that ties the stores, the
//! composer, the outbox, the SMTP engine and the sandbox together. The WebSocket server and
//! the command line both call it, so the page and the terminal behave the same.
//!
//! # Layout
//! - `mod`: [`Bridge`], its parts, and [`Bridge::execute`], which hands each operation to the
//!   capability it belongs to.
//! - `profiles`: profiles, team files and secrets.
//! - `send`: checking a connection, sending one message (through the outbox), rendering MIME,
//!   queueing batches.
//! - `lint`: checks before sending, on a draft or a campaign's first row.
//! - `campaign`: campaigns: checking, previewing, starting, pausing and exporting them.
//! - `outbox`: listing, retrying, cancelling and releasing outbox entries, and the quotas;
//!   the bridge as the outbox's source of senders.
//! - `oauth`: a profile's OAuth client, consent, disconnecting and token health; the bridge
//!   as the source of the access tokens SMTP signs in with.
//! - `uploads`: attachments on their way from the page.
//! - `verify`: receiving mailboxes, verifying delivery over IMAP, send test and verify.

mod campaign;
mod lint;
mod oauth;
mod outbox;
mod profiles;
mod send;
mod uploads;
mod verify;

use std::sync::{Arc, Mutex};

use profile::{AuthMethod, Preset, Profile, ProfileId};
use protocol::{
    ErrorKind, Notice, Operation, OperationError, Outcome, Progress, Request, ServerMessage,
};
use tokio::sync::{broadcast, mpsc};

use crate::lock;
use crate::oauth::{AccessTokens, CONSENT_TIMEOUT, TokenConfig};
use crate::outbox::{DeliveryHandle, Outbox, Senders};
use crate::smtp::{Credentials, RetryPolicy, Timeouts};
use crate::store::{GrantStore, HistoryStore, ProfileStore, SecretKey, SecretStore};

pub use lint::{ChecksConfig, LintOptions};
pub use oauth::{ago, health_view};
use uploads::Uploads;
pub use verify::{SANDBOX_MAILBOX_ID, SentAndVerified, VERIFY_SUBJECT};

/// Everything the bridge holds while it runs.
pub struct Bridge {
    secrets: Arc<dyn SecretStore>,
    profiles: Mutex<ProfileStore>,
    history: Arc<Mutex<HistoryStore>>,
    outbox: Arc<Outbox>,
    delivery: Mutex<Option<DeliveryHandle>>,
    sandbox: Option<sandbox::Sandbox>,
    uploads: Mutex<Uploads>,
    notices: broadcast::Sender<Notice>,
    timeouts: Timeouts,
    retry: RetryPolicy,
    /// Every running operation holds a read guard, so shutdown can wait for them all.
    running: tokio::sync::RwLock<()>,
    /// The data directory, for files beside the stores such as `suppressed.csv`.
    data_dir: std::path::PathBuf,
    /// Where the checks before sending find spamd and DNS.
    checks: ChecksConfig,
    /// Serialises reading and writing the servers' remembered SIZE limits.
    sizes_lock: Mutex<()>,
    /// Access tokens in memory, per profile.
    oauth: Arc<AccessTokens>,
    /// What is not secret about each profile's OAuth grant.
    grants: Arc<Mutex<GrantStore>>,
    /// How long consent waits for the browser.
    consent_timeout: std::time::Duration,
}

/// Where the bridge keeps its state, and the sandbox it runs, if any.
pub struct Parts {
    pub secrets: Box<dyn SecretStore>,
    pub profiles: ProfileStore,
    pub history: HistoryStore,
    pub outbox: Arc<Outbox>,
    pub sandbox: Option<sandbox::Sandbox>,
    pub timeouts: Timeouts,
    pub retry: RetryPolicy,
    pub data_dir: std::path::PathBuf,
    pub checks: ChecksConfig,
    /// `oauth-grants.json`, beside the profiles.
    pub grants: GrantStore,
}

impl Bridge {
    /// Builds the bridge. With a sandbox, its profile is created or updated to its current port
    /// and CA, and its arrivals are forwarded as notices, as are the outbox's.
    pub fn new(parts: Parts) -> Arc<Bridge> {
        let (notices, _) = broadcast::channel(64);
        let mut profiles = parts.profiles;
        if let Some(sandbox) = &parts.sandbox {
            if let Err(error) = profiles.ensure_sandbox(
                sandbox.starttls_addr().port(),
                sandbox.ca_cert_pem().to_owned(),
            ) {
                tracing::warn!("could not save the sandbox profile: {error}");
            }
            let config_dir = profiles.path().parent().map(std::path::Path::to_path_buf);
            let mailboxes = crate::store::MailboxStore::new(
                config_dir.unwrap_or_default().join("mailboxes.json"),
            );
            verify::ensure_sandbox_mailbox(&mailboxes, sandbox);
            let arrivals = sandbox.store().subscribe();
            forward(arrivals, notices.clone(), |summary| {
                Notice::SandboxMessageArrived { summary }
            });
        }
        forward(parts.outbox.subscribe(), notices.clone(), |notice| notice);
        let secrets: Arc<dyn SecretStore> = Arc::from(parts.secrets);
        let grants = Arc::new(Mutex::new(parts.grants));
        let refresh_tokens = Arc::new(oauth::StoredRefreshTokens {
            secrets: Arc::clone(&secrets),
            grants: Arc::clone(&grants),
        });
        Arc::new(Bridge {
            secrets,
            profiles: Mutex::new(profiles),
            history: Arc::new(Mutex::new(parts.history)),
            outbox: parts.outbox,
            delivery: Mutex::new(None),
            sandbox: parts.sandbox,
            uploads: Mutex::new(Uploads::default()),
            notices,
            timeouts: parts.timeouts,
            retry: parts.retry,
            running: tokio::sync::RwLock::new(()),
            data_dir: parts.data_dir,
            checks: parts.checks,
            sizes_lock: Mutex::new(()),
            oauth: Arc::new(AccessTokens::new(refresh_tokens, TokenConfig::default())),
            grants,
            consent_timeout: CONSENT_TIMEOUT,
        })
    }

    /// Starts delivering the outbox in the background (`serve`, `outbox flush`).
    pub fn start_delivering(self: &Arc<Self>) {
        let senders: Arc<dyn Senders> = self.clone();
        let handle = self.outbox.start(Arc::downgrade(&senders));
        *lock(&self.delivery) = Some(handle);
        self.suppress_failures_as_they_happen();
    }

    /// Stops the deliverer, letting each connection finish the message it is sending.
    pub async fn stop_delivering(&self, limit: std::time::Duration) {
        let handle = lock(&self.delivery).take();
        if let Some(handle) = handle {
            handle.stop(limit).await;
        }
    }

    pub fn outbox(&self) -> &Arc<Outbox> {
        &self.outbox
    }

    /// Waits until no operation is running, or `limit` has passed; says which.
    pub async fn drain(&self, limit: std::time::Duration) -> bool {
        tokio::time::timeout(limit, self.running.write())
            .await
            .is_ok()
    }

    pub fn secret_store_description(&self) -> String {
        self.secrets.describe()
    }

    /// The pairing token the secret store holds now, which `mailbridge pair --reset` in
    /// another process may have replaced since the bridge started; `None` when it holds none
    /// or cannot be read.
    pub fn stored_pairing_token(&self) -> Option<protocol::Secret> {
        self.secrets.get(&SecretKey::PairingToken).ok().flatten()
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Notice> {
        self.notices.subscribe()
    }

    pub fn sandbox(&self) -> Option<&sandbox::Sandbox> {
        self.sandbox.as_ref()
    }

    /// Stops the sandbox, letting its sessions in flight finish or fail clearly.
    pub async fn shutdown(self) {
        if let Some(sandbox) = self.sandbox {
            sandbox.shutdown().await;
        }
    }

    /// Runs one request, streaming its progress and then its result to `out`.
    pub async fn handle(
        self: Arc<Self>,
        request: Request,
        out: mpsc::UnboundedSender<ServerMessage>,
    ) {
        let id = request.id;
        // Secrets in the request print as `****`, so the whole request may be traced.
        tracing::trace!(?request, "request");
        let (progress_tx, mut progress_rx) = mpsc::unbounded_channel::<Progress>();
        let forward = {
            let out = out.clone();
            tokio::spawn(async move {
                while let Some(progress) = progress_rx.recv().await {
                    let _ = out.send(ServerMessage::Progress { id, progress });
                }
            })
        };
        let result = {
            let _running = self.running.read().await;
            self.execute(request.operation, Some(progress_tx)).await
        };
        // Every progress event reaches the page before the result does.
        let _ = forward.await;
        let message = match result {
            Ok(outcome) => ServerMessage::Done { id, outcome },
            Err(error) => ServerMessage::Failed {
                id: Some(id),
                error,
            },
        };
        let _ = out.send(message);
    }

    /// Runs one operation. `progress` receives the SMTP steps and transcript as they happen.
    pub async fn execute(
        &self,
        operation: Operation,
        progress: Option<mpsc::UnboundedSender<Progress>>,
    ) -> Result<Outcome, OperationError> {
        use Operation as O;
        match operation {
            O::CheckConnection { .. }
            | O::Send { .. }
            | O::SendTest { .. }
            | O::RenderMime { .. }
            | O::EnqueueBatch { .. }
            | O::EnqueueEach { .. } => self.sending(operation, progress).await,
            O::ListOutbox { .. }
            | O::ReadOutboxEntry { .. }
            | O::RetryEntries { .. }
            | O::CancelEntries { .. }
            | O::ReleaseAmbiguous { .. }
            | O::ReadQuotas => self.outboxing(operation).await,
            O::ListProfiles
            | O::SaveProfile { .. }
            | O::DeleteProfile { .. }
            | O::ImportProfiles { .. }
            | O::ExportProfiles { .. }
            | O::SetSecret { .. }
            | O::ClearSecret { .. } => self.profiling(operation),
            O::BeginUpload { .. } | O::UploadChunk { .. } | O::DiscardUpload { .. } => {
                self.uploading(operation, progress)
            }
            O::ListSandboxMessages | O::ReadSandboxMessage { .. } | O::ReadHistory { .. } => {
                self.reading(operation).await
            }
            O::CheckCampaign { .. }
            | O::PreviewCampaignRow { .. }
            | O::SendCampaignTest { .. }
            | O::StartCampaign { .. }
            | O::ListCampaigns
            | O::PauseCampaign { .. }
            | O::ResumeCampaign { .. }
            | O::CancelCampaign { .. }
            | O::ExportCampaignResults { .. } => self.campaigning(operation, progress).await,
            O::Lint { .. } => self.linting(operation).await,
            O::SetOAuthClient { .. }
            | O::ConnectOAuth { .. }
            | O::DisconnectOAuth { .. }
            | O::ReadTokenHealth { .. } => self.oauthing(operation, progress).await,
            O::ListMailboxes
            | O::SaveMailbox { .. }
            | O::DeleteMailbox { .. }
            | O::SetMailboxSecret { .. }
            | O::SendAndVerify { .. }
            | O::SendVerifyingAt { .. }
            | O::ExportMailboxes
            | O::ImportMailboxes { .. }
            | O::Verify { .. }
            | O::ReadBounces { .. }
            | O::SetSandboxSpam { .. }
            | O::ReadVerdicts { .. } => self.verifying(operation, progress).await,
        }
    }

    /// The sandbox inbox and the history.
    async fn reading(&self, operation: Operation) -> Result<Outcome, OperationError> {
        match operation {
            Operation::ListSandboxMessages => {
                let store = self.sandbox_store()?;
                let messages = blocking(move || store.list()).await?;
                Ok(Outcome::SandboxMessages { messages })
            }
            Operation::ReadSandboxMessage { id } => {
                let store = self.sandbox_store()?;
                let message = blocking(move || store.get(id)).await?.ok_or_else(|| {
                    OperationError::new(
                        ErrorKind::NotFound,
                        format!("the sandbox has no message {id}"),
                    )
                    .with_fix(
                        "It may have been evicted: the sandbox keeps the newest messages only.",
                    )
                })?;
                Ok(Outcome::SandboxMessage {
                    message: Box::new(message),
                })
            }
            Operation::ReadHistory { limit } => {
                let history = self.history.clone();
                let mut entries = blocking(move || lock(&history).list(limit as usize)).await?;
                self.attach_bounces(&mut entries).await;
                Ok(Outcome::History { entries })
            }
            other => Err(misrouted(&other)),
        }
    }

    fn profile(&self, id: &ProfileId) -> Result<Profile, OperationError> {
        lock(&self.profiles).get(id).ok_or_else(|| {
            OperationError::new(
                ErrorKind::NotFound,
                format!("there is no profile with id {:?}", id.0),
            )
            .with_fix("Pick a profile from the list, or create one from a preset.")
        })
    }

    /// The credentials a profile signs in with; the sandbox's own come from the sandbox.
    fn credentials(&self, profile: &Profile) -> Result<Credentials, OperationError> {
        let user = profile.username.clone();
        if profile.auth == AuthMethod::None {
            return Ok(Credentials::None);
        }
        if let Some(oauth) = self.oauth_credentials(profile) {
            return oauth;
        }
        let stored = self
            .secrets
            .get(&SecretKey::Profile(profile.id.clone()))
            .map_err(store_error)?;
        let secret = match (stored, profile.preset, &self.sandbox) {
            (Some(secret), _, _) => secret,
            // The sandbox's password is no secret (it prints it), so its profile works before
            // anyone stores one, even when the sandbox runs in another process.
            (None, Preset::Sandbox, sandbox) => protocol::Secret::new(
                sandbox
                    .as_ref()
                    .map(|sandbox| sandbox.config().app_password.clone())
                    .unwrap_or_else(|| sandbox::DEFAULT_APP_PASSWORD.to_owned()),
            ),
            (None, _, _) => {
                return Err(OperationError::new(
                    ErrorKind::SecretMissing,
                    format!("the profile {:?} has no password or token stored", profile.name),
                )
                .with_fix(match profile.auth {
                    AuthMethod::OAuth2 => "Paste an OAuth access token into the profile's secret field.",
                    _ => "Create an App Password in your Google account (it needs 2-Step Verification) and paste it into the profile's secret field.",
                }));
            }
        };
        Ok(match profile.auth {
            AuthMethod::OAuth2 => Credentials::OAuth2 {
                user,
                token: secret,
            },
            _ => Credentials::Password {
                user,
                password: secret,
            },
        })
    }

    fn sandbox_store(&self) -> Result<sandbox::Store, OperationError> {
        self.sandbox
            .as_ref()
            .map(|sandbox| sandbox.store().clone())
            .ok_or_else(|| {
                OperationError::new(
                    ErrorKind::NotFound,
                    "the sandbox is not running in this bridge",
                )
                .with_fix("Restart mailbridge serve without --no-sandbox.")
            })
    }
}

/// Forwards a broadcast into the bridge's notices until it closes.
fn forward<T: Clone + Send + 'static>(
    mut from: broadcast::Receiver<T>,
    notices: broadcast::Sender<Notice>,
    make: impl Fn(T) -> Notice + Send + 'static,
) {
    tokio::spawn(async move {
        loop {
            match from.recv().await {
                Ok(item) => {
                    let _ = notices.send(make(item));
                }
                Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(broadcast::error::RecvError::Closed) => break,
            }
        }
    });
}

/// An operation handed to a capability that does not run it: a bug in [`Bridge::execute`].
fn misrouted(operation: &Operation) -> OperationError {
    OperationError::new(
        ErrorKind::Internal,
        format!("the bridge routed {operation:?} to the wrong place"),
    )
}

fn store_error(error: impl std::fmt::Display) -> OperationError {
    OperationError::new(ErrorKind::Internal, error.to_string())
}

async fn blocking<T, E>(
    work: impl FnOnce() -> Result<T, E> + Send + 'static,
) -> Result<T, OperationError>
where
    T: Send + 'static,
    E: std::fmt::Display + Send + 'static,
{
    match tokio::task::spawn_blocking(work).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(error)) => Err(store_error(error)),
        Err(error) => Err(store_error(error)),
    }
}
