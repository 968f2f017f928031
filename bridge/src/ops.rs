//! What the bridge does for each [`Operation`]: the one place that ties the stores, the
//! composer, the SMTP engine and the sandbox together. The WebSocket server and the command line
//! both call it, so the page and the terminal behave the same.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use diagnosis::Diagnosis;
use profile::{AuthMethod, Preset, Profile, ProfileId};
use protocol::{
    AttachmentRef, Draft, ErrorKind, HistoryEntry, HistoryOutcome, MAX_ATTACHMENT_TOTAL_BYTES,
    Notice, Operation, OperationError, Outcome, ProfileView, Progress, Request, SecretState,
    SendReport, ServerMessage,
};
use tokio::sync::{broadcast, mpsc};

use crate::lock;

use crate::compose::{self, Built};
use crate::smtp::{self, Credentials, RetryPolicy, Target, Timeouts};
use crate::store::{
    HistoryStore, ProfileStore, SecretKey, SecretStore, secret_state, set_profile_secret,
};

/// Everything the bridge holds while it runs.
pub struct Bridge {
    secrets: Box<dyn SecretStore>,
    profiles: Mutex<ProfileStore>,
    history: Arc<Mutex<HistoryStore>>,
    sandbox: Option<sandbox::Sandbox>,
    uploads: Mutex<Uploads>,
    notices: broadcast::Sender<Notice>,
    timeouts: Timeouts,
    retry: RetryPolicy,
    /// Every running operation holds a read guard, so shutdown can wait for them all.
    running: tokio::sync::RwLock<()>,
}

/// Where the bridge keeps its state, and the sandbox it runs, if any.
pub struct Parts {
    pub secrets: Box<dyn SecretStore>,
    pub profiles: ProfileStore,
    pub history: HistoryStore,
    pub sandbox: Option<sandbox::Sandbox>,
    pub timeouts: Timeouts,
    pub retry: RetryPolicy,
}

impl Bridge {
    /// Builds the bridge. With a sandbox, its profile is created or updated to its current port
    /// and CA, and its arrivals are forwarded as notices.
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
            let mut arrivals = sandbox.store().subscribe();
            let notices = notices.clone();
            tokio::spawn(async move {
                loop {
                    match arrivals.recv().await {
                        Ok(summary) => {
                            let _ = notices.send(Notice::SandboxMessageArrived { summary });
                        }
                        Err(broadcast::error::RecvError::Lagged(_)) => {}
                        Err(broadcast::error::RecvError::Closed) => break,
                    }
                }
            });
        }
        Arc::new(Bridge {
            secrets: parts.secrets,
            profiles: Mutex::new(profiles),
            history: Arc::new(Mutex::new(parts.history)),
            sandbox: parts.sandbox,
            uploads: Mutex::new(Uploads::default()),
            notices,
            timeouts: parts.timeouts,
            retry: parts.retry,
            running: tokio::sync::RwLock::new(()),
        })
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
        match operation {
            Operation::CheckConnection { profile } => {
                let profile = self.profile(&profile)?;
                let credentials = self.credentials(&profile)?;
                let (report, _transcript) = smtp::check(
                    &Target::from_profile(&profile),
                    &credentials,
                    &self.timeouts,
                    progress,
                )
                .await;
                Ok(Outcome::Checked(report))
            }
            Operation::Send { profile, draft } => {
                let profile = self.profile(&profile)?;
                let attachments = self.take_attachments(&draft)?;
                let built = compose::build(&profile, &draft, &attachments).map_err(|problems| {
                    OperationError::invalid("the message cannot be sent as it is", problems)
                })?;
                self.send(&profile, built, &draft.subject, progress).await
            }
            Operation::SendTest { profile } => {
                let profile = self.profile(&profile)?;
                let built = compose::test_message(&profile).map_err(|problems| {
                    OperationError::invalid("the profile cannot send a test message", problems)
                })?;
                self.send(&profile, built, compose::TEST_SUBJECT, progress)
                    .await
            }
            Operation::RenderMime { profile, draft } => {
                let profile = self.profile(&profile)?;
                let attachments = self.peek_attachments(&draft)?;
                let built = compose::build(&profile, &draft, &attachments).map_err(|problems| {
                    OperationError::invalid("the message cannot be built as it is", problems)
                })?;
                Ok(Outcome::Rendered {
                    raw: String::from_utf8_lossy(&built.outgoing.data).into_owned(),
                    warnings: built.warnings,
                })
            }
            Operation::ListProfiles => Ok(Outcome::Profiles {
                profiles: self.profile_views(),
            }),
            Operation::SaveProfile { profile } => {
                let saved = lock(&self.profiles).save(profile).map_err(|problems| {
                    OperationError::invalid("the profile was not saved", problems)
                })?;
                Ok(Outcome::Saved {
                    profile: self.view(saved),
                })
            }
            Operation::DeleteProfile { profile } => {
                lock(&self.profiles).delete(&profile).map_err(store_error)?;
                // A deleted profile's secret would be unreachable, so it goes too.
                let _ = self.secrets.delete(&SecretKey::Profile(profile.clone()));
                Ok(Outcome::Deleted { profile })
            }
            Operation::ImportProfiles { json, conflict } => {
                let outcome = lock(&self.profiles)
                    .import(&json, conflict)
                    .map_err(|problems| {
                        OperationError::invalid(
                            "nothing was imported: the file has problems",
                            problems,
                        )
                    })?;
                Ok(Outcome::Imported {
                    added: outcome.added,
                    overwritten: outcome.overwritten,
                    skipped: outcome.skipped,
                    renamed: outcome.renamed,
                })
            }
            Operation::ExportProfiles { profiles } => Ok(Outcome::Exported {
                json: lock(&self.profiles).export(&profiles),
                filename: "mailbridge-profiles.json".to_owned(),
            }),
            Operation::SetSecret { profile, secret } => {
                let found = self.profile(&profile)?;
                set_profile_secret(self.secrets.as_ref(), &found, &secret).map_err(|error| {
                    OperationError::new(ErrorKind::Invalid, error.to_string()).with_fix(
                        "Paste the 16-letter App Password (or the OAuth token) into the field.",
                    )
                })?;
                Ok(Outcome::SecretSet { profile })
            }
            Operation::ClearSecret { profile } => {
                self.secrets
                    .delete(&SecretKey::Profile(profile.clone()))
                    .map_err(store_error)?;
                Ok(Outcome::SecretCleared { profile })
            }
            Operation::BeginUpload {
                filename,
                content_type,
                size_bytes,
            } => {
                let upload = lock(&self.uploads).begin(filename, content_type, size_bytes)?;
                Ok(Outcome::UploadStarted { upload })
            }
            Operation::UploadChunk {
                upload,
                offset,
                data_base64,
            } => {
                let bytes = STANDARD.decode(data_base64.as_bytes()).map_err(|error| {
                    OperationError::new(
                        ErrorKind::BadRequest,
                        format!("upload_chunk.data_base64 is not base64: {error}"),
                    )
                })?;
                let (received, total) = lock(&self.uploads).append(upload, offset, &bytes)?;
                if let Some(progress) = &progress {
                    let _ = progress.send(Progress::Upload {
                        received_bytes: received,
                        total_bytes: total,
                    });
                }
                Ok(Outcome::ChunkAccepted {
                    upload,
                    received_bytes: received,
                })
            }
            Operation::DiscardUpload { upload } => {
                lock(&self.uploads).remove(upload);
                Ok(Outcome::UploadDiscarded { upload })
            }
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
                let entries = blocking(move || lock(&history).list(limit as usize)).await?;
                Ok(Outcome::History { entries })
            }
        }
    }

    async fn send(
        &self,
        profile: &Profile,
        built: Built,
        subject: &str,
        progress: Option<mpsc::UnboundedSender<Progress>>,
    ) -> Result<Outcome, OperationError> {
        let credentials = self.credentials(profile)?;
        let result = smtp::send(
            &Target::from_profile(profile),
            &credentials,
            &built.outgoing,
            &self.timeouts,
            &self.retry,
            progress,
        )
        .await;
        let recipients = built.outgoing.rcpt_to.clone();
        let (outcome, attempts, transcript) = match &result {
            Ok(sent) => (
                HistoryOutcome::Sent {
                    reply: sent.reply.clone(),
                },
                sent.attempts,
                sent.transcript.clone(),
            ),
            Err(failure) => (
                HistoryOutcome::Failed {
                    diagnosis: failure.diagnosis.clone(),
                },
                failure.attempts,
                failure.transcript.clone(),
            ),
        };
        let entry = HistoryEntry {
            id: 0,
            at_unix_ms: now_unix_ms(),
            profile_id: profile.id.0.clone(),
            profile_name: profile.name.clone(),
            recipients: recipients.clone(),
            subject: subject.to_owned(),
            message_id: Some(built.outgoing.message_id.clone()),
            attempts,
            outcome,
            transcript,
        };
        let history = self.history.clone();
        let history_id = blocking(move || lock(&history).append(entry)).await?;
        match result {
            Ok(sent) => Ok(Outcome::Sent(SendReport {
                message_id: built.outgoing.message_id,
                reply: sent.reply,
                attempts: sent.attempts,
                recipients,
                warnings: built.warnings,
                history_id,
            })),
            Err(failure) => Err(smtp_error(failure.diagnosis)),
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

    fn profile_views(&self) -> Vec<ProfileView> {
        let profiles = lock(&self.profiles).list();
        profiles
            .into_iter()
            .map(|profile| self.view(profile))
            .collect()
    }

    fn view(&self, profile: Profile) -> ProfileView {
        let secret = match secret_state(&profile, self.secrets.as_ref()) {
            // The sandbox's own password is always at hand (see `credentials`).
            SecretState::Missing if profile.preset == Preset::Sandbox => SecretState::Stored,
            state => state,
        };
        let warnings = compose::profile_warnings(&profile);
        ProfileView {
            profile,
            secret,
            warnings,
        }
    }

    /// The credentials a profile signs in with; the sandbox's own come from the sandbox.
    fn credentials(&self, profile: &Profile) -> Result<Credentials, OperationError> {
        let user = profile.username.clone();
        if profile.auth == AuthMethod::None {
            return Ok(Credentials::None);
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

    /// The draft's uploaded attachments, removed from the upload area: a sent upload is done.
    fn take_attachments(
        &self,
        draft: &Draft,
    ) -> Result<Vec<(AttachmentRef, Vec<u8>)>, OperationError> {
        let mut uploads = lock(&self.uploads);
        let attachments = uploads.collect(&draft.attachments)?;
        for attachment in &draft.attachments {
            uploads.remove(attachment.upload);
        }
        Ok(attachments)
    }

    fn peek_attachments(
        &self,
        draft: &Draft,
    ) -> Result<Vec<(AttachmentRef, Vec<u8>)>, OperationError> {
        lock(&self.uploads).collect(&draft.attachments)
    }
}

/// Attachments being uploaded, with Gmail's 25 MB cap on their total.
#[derive(Default)]
struct Uploads {
    next: u64,
    files: HashMap<u64, Upload>,
}

struct Upload {
    declared: u64,
    data: Vec<u8>,
}

impl Uploads {
    fn total_declared(&self) -> u64 {
        self.files.values().map(|upload| upload.declared).sum()
    }

    fn begin(
        &mut self,
        filename: String,
        content_type: String,
        size: u64,
    ) -> Result<u64, OperationError> {
        if filename.trim().is_empty() || content_type.trim().is_empty() {
            return Err(OperationError::new(
                ErrorKind::Invalid,
                "begin_upload needs a filename and a content_type",
            ));
        }
        if self.total_declared().saturating_add(size) > MAX_ATTACHMENT_TOTAL_BYTES {
            return Err(too_large(self.total_declared().saturating_add(size)));
        }
        self.next += 1;
        self.files.insert(
            self.next,
            Upload {
                declared: size,
                data: Vec::new(),
            },
        );
        Ok(self.next)
    }

    fn append(
        &mut self,
        upload: u64,
        offset: u64,
        bytes: &[u8],
    ) -> Result<(u64, u64), OperationError> {
        let file = self
            .files
            .get_mut(&upload)
            .ok_or_else(|| unknown_upload(upload))?;
        let received = file.data.len() as u64;
        if offset != received {
            return Err(OperationError::new(
                ErrorKind::BadRequest,
                format!(
                    "upload {upload}: chunk at offset {offset}, but {received} bytes have arrived"
                ),
            )
            .with_fix("Send the chunks in order, each at the offset where the last one ended."));
        }
        if received + bytes.len() as u64 > file.declared {
            return Err(OperationError::new(
                ErrorKind::TooLarge,
                format!(
                    "upload {upload} is larger than the {} bytes announced",
                    file.declared
                ),
            ));
        }
        file.data.extend_from_slice(bytes);
        Ok((file.data.len() as u64, file.declared))
    }

    fn collect(
        &self,
        refs: &[AttachmentRef],
    ) -> Result<Vec<(AttachmentRef, Vec<u8>)>, OperationError> {
        refs.iter()
            .map(|attachment| {
                let file = self
                    .files
                    .get(&attachment.upload)
                    .ok_or_else(|| unknown_upload(attachment.upload))?;
                if (file.data.len() as u64) < file.declared {
                    return Err(OperationError::new(
                        ErrorKind::Invalid,
                        format!(
                            "{:?} has not finished uploading ({} of {} bytes)",
                            attachment.filename,
                            file.data.len(),
                            file.declared
                        ),
                    )
                    .with_fix("Wait for the upload to finish, then send."));
                }
                Ok((attachment.clone(), file.data.clone()))
            })
            .collect()
    }

    fn remove(&mut self, upload: u64) {
        self.files.remove(&upload);
    }
}

fn unknown_upload(upload: u64) -> OperationError {
    OperationError::new(ErrorKind::NotFound, format!("there is no upload {upload}"))
        .with_fix("Attach the file again.")
}

fn too_large(total: u64) -> OperationError {
    OperationError::new(
        ErrorKind::TooLarge,
        format!(
            "the attachments would total {:.1} MB, over Gmail's 25 MB limit",
            total as f64 / 1_048_576.0
        ),
    )
    .with_fix("Remove an attachment, or share large files as a link (Google Drive, for example).")
}

fn store_error(error: impl std::fmt::Display) -> OperationError {
    OperationError::new(ErrorKind::Internal, error.to_string())
}

fn smtp_error(diagnosis: Diagnosis) -> OperationError {
    OperationError::smtp(diagnosis)
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

fn now_unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| elapsed.as_millis() as u64)
        .unwrap_or_default()
}
