//! Delivery verification for the page and the command line: the receiving mailboxes (with
//! the sandbox's, kept pointing at the running sandbox), their secrets, "verify at" a
//! mailbox, and "send test and verify", whose verdict is kept by Message-ID.

use std::time::Duration;

use profile::{ImapSecurity, MailboxAuth, MailboxPreset, ProfileId, ReceivingMailbox};
use protocol::{
    BounceReport, BounceView, Draft, ErrorKind, MailboxView, Operation, OperationError, Outcome,
    Progress, Secret, SecretState, VerifyReport,
};
use tokio::sync::mpsc;

use super::{Bridge, store_error};
use crate::campaign::suppression::{self, Suppression};
use crate::imap::{self, Login, Security, Target, Wanted, bounce};
use crate::lock;
use crate::store::{MailboxStore, SecretKey, VerdictStore};

/// The id of the sandbox's receiving mailbox.
pub const SANDBOX_MAILBOX_ID: &str = "sandbox";

/// The subject of "Send test and verify".
pub const VERIFY_SUBJECT: &str = "mailbridge delivery test";

/// A send and what the receiving mailbox showed.
#[derive(Debug, Clone)]
pub struct SentAndVerified {
    pub send: Outcome,
    pub verify: VerifyReport,
}

/// The time limit when the page names none.
const DEFAULT_LIMIT: Duration = Duration::from_secs(180);
/// The longest a page may ask to wait.
const MAX_LIMIT: Duration = Duration::from_secs(1800);

impl Bridge {
    /// The operations of delivery verification.
    pub(super) async fn verifying(
        &self,
        operation: Operation,
        progress: Option<mpsc::UnboundedSender<Progress>>,
    ) -> Result<Outcome, OperationError> {
        let limit = |seconds: Option<u64>| {
            seconds
                .map(Duration::from_secs)
                .unwrap_or(DEFAULT_LIMIT)
                .clamp(Duration::from_secs(1), MAX_LIMIT)
        };
        match operation {
            Operation::ListMailboxes => self.mailbox_views(),
            Operation::SaveMailbox { mailbox } => {
                if mailbox.id == SANDBOX_MAILBOX_ID && mailbox.preset != MailboxPreset::Sandbox {
                    return Err(OperationError::new(
                        ErrorKind::Invalid,
                        "the id \"sandbox\" belongs to the sandbox's mailbox",
                    )
                    .with_fix("Choose another id."));
                }
                if mailbox.oauth_profile.is_some() {
                    self.oauth_profile_of(&mailbox)?;
                }
                self.mailbox_store()
                    .save(mailbox)
                    .map_err(|error| match error {
                        crate::store::MailboxError::Invalid(problems) => OperationError::invalid(
                            "the mailbox cannot be saved as it is",
                            problems,
                        ),
                        other => store_error(other),
                    })?;
                self.mailbox_views()
            }
            Operation::DeleteMailbox { id } => {
                if !self.mailbox_store().delete(&id).map_err(store_error)? {
                    return Err(OperationError::new(
                        ErrorKind::NotFound,
                        format!("there is no receiving mailbox {id:?}"),
                    ));
                }
                let _ = self.clear_mailbox_secret(&id);
                self.mailbox_views()
            }
            Operation::ExportMailboxes => Ok(Outcome::Exported {
                json: self.mailbox_store().export().map_err(store_error)?,
                filename: "mailbridge-mailboxes.json".to_owned(),
            }),
            Operation::ImportMailboxes { json } => {
                let imported = self.mailbox_store().import(&json);
                match imported {
                    Ok(_) => self.mailbox_views(),
                    Err(crate::store::MailboxError::Invalid(problems)) => {
                        Err(OperationError::invalid(
                            "nothing was imported: the mailboxes file has problems",
                            problems,
                        ))
                    }
                    Err(other) => Err(store_error(other)),
                }
            }
            Operation::SetMailboxSecret { id, secret } => {
                self.set_mailbox_secret(&id, &secret)?;
                self.mailbox_views()
            }
            Operation::SendAndVerify {
                profile,
                mailboxes,
                draft,
                limit_seconds,
            } => {
                let mailboxes = if mailboxes.is_empty() {
                    self.receiving_mailboxes()?
                        .into_iter()
                        .map(|m| m.id)
                        .collect()
                } else {
                    mailboxes
                };
                if mailboxes.is_empty() {
                    return Err(OperationError::new(
                        ErrorKind::NotFound,
                        "there is no receiving mailbox to verify at",
                    )
                    .with_fix("Add one in Mailboxes."));
                }
                // The attachments' bytes are read once and the uploads let go after every
                // send, so each mailbox gets the whole message.
                let attachments = match &draft {
                    Some(draft) => self.peek_attachments(draft)?,
                    None => Vec::new(),
                };
                // One send per mailbox, then every mailbox searched at once.
                let runs = mailboxes.iter().map(|mailbox| {
                    self.send_to_mailbox(
                        profile.clone(),
                        mailbox,
                        draft.clone(),
                        &attachments,
                        limit(limit_seconds),
                        progress.clone(),
                    )
                });
                let done = futures_util::future::join_all(runs).await;
                if let Some(draft) = &draft {
                    self.release_attachments(draft);
                }
                let mut results = Vec::new();
                // With several mailboxes, one that fails (no secret, a refused send) is a row
                // that says why, not the end of the others.
                let single = mailboxes.len() == 1;
                for (mailbox, done) in mailboxes.into_iter().zip(done) {
                    match done {
                        Ok(done) => results.push(protocol::SentAndVerified {
                            mailbox,
                            send: Some(Box::new(done.send)),
                            report: done.verify,
                        }),
                        Err(error) if single => return Err(error),
                        Err(error) => results.push(protocol::SentAndVerified {
                            mailbox,
                            send: None,
                            report: VerifyReport {
                                verdict: None,
                                error: Some(error.diagnosis.map(|d| *d).unwrap_or_else(|| {
                                    diagnosis::Diagnosis {
                                        title: error.message.clone(),
                                        what_happened: error.message.clone(),
                                        likely_cause: String::new(),
                                        fix: error.fix.clone().into_iter().collect(),
                                        help_link: None,
                                        retry: diagnosis::Retry::Permanent,
                                        reply: None,
                                    }
                                })),
                                transcript: Vec::new(),
                            },
                        }),
                    }
                }
                Ok(Outcome::SentAndVerified { results })
            }
            Operation::SendVerifyingAt {
                profile,
                draft,
                mailbox,
                limit_seconds,
            } => {
                let done = self
                    .send_verifying_at(profile, &mailbox, draft, limit(limit_seconds), progress)
                    .await?;
                Ok(Outcome::SentAndVerified {
                    results: vec![protocol::SentAndVerified {
                        mailbox,
                        send: Some(Box::new(done.send)),
                        report: done.verify,
                    }],
                })
            }
            Operation::Verify {
                mailbox,
                message_id,
                sent_at_unix_ms,
                limit_seconds,
            } => {
                let wanted = Wanted {
                    message_id,
                    sent_at_ms: sent_at_unix_ms,
                    sender: None,
                };
                let report = self
                    .verify_at(&mailbox, wanted, limit(limit_seconds))
                    .await?;
                Ok(Outcome::Verified(Box::new(report)))
            }
            Operation::ReadBounces { mailbox } => {
                let report = self.read_bounces(&mailbox).await?;
                Ok(Outcome::Bounces(Box::new(report)))
            }
            Operation::SetSandboxSpam { next } => {
                let sandbox = self.sandbox.as_ref().ok_or_else(|| {
                    OperationError::new(
                        ErrorKind::NotFound,
                        "the sandbox is not running in this bridge",
                    )
                    .with_fix("Restart mailbridge serve without --no-sandbox.")
                })?;
                sandbox
                    .faults()
                    .update(|faults| faults.spam_next = next.min(1000));
                Ok(Outcome::SandboxSpam {
                    next: sandbox.faults().get().spam_next,
                })
            }
            Operation::ReadVerdicts { message_id } => {
                let path = self.data_dir.join("verdicts.sqlite3");
                let reports = tokio::task::spawn_blocking(move || {
                    VerdictStore::open(&path).and_then(|store| store.for_message(&message_id))
                })
                .await
                .map_err(store_error)?
                .map_err(store_error)?;
                Ok(Outcome::Verdicts { reports })
            }
            other => Err(super::misrouted(&other)),
        }
    }

    fn mailbox_views(&self) -> Result<Outcome, OperationError> {
        let mailboxes = self
            .receiving_mailboxes()?
            .into_iter()
            .map(|mailbox| {
                let stored = self
                    .secrets
                    .get(&SecretKey::Mailbox(mailbox.id.clone()))
                    .ok()
                    .flatten()
                    .is_some();
                let linked = mailbox.oauth_profile.is_some()
                    || matches!(self.oauth_profile_of(&mailbox), Ok(Some(_)));
                let secret = match (stored, mailbox.preset) {
                    (true, _) => SecretState::Stored,
                    _ if linked => SecretState::NotNeeded,
                    (false, MailboxPreset::Sandbox) => SecretState::NotNeeded,
                    (false, _) => SecretState::Missing,
                };
                MailboxView {
                    rules: mailbox.preset.rules().to_owned(),
                    mailbox,
                    secret,
                }
            })
            .collect();
        Ok(Outcome::Mailboxes { mailboxes })
    }

    /// `mailboxes.json`, beside `profiles.json`.
    pub fn mailbox_store(&self) -> MailboxStore {
        let profiles = lock(&self.profiles);
        let dir = profiles
            .path()
            .parent()
            .map(std::path::Path::to_path_buf)
            .unwrap_or_default();
        MailboxStore::new(dir.join("mailboxes.json"))
    }

    pub fn receiving_mailboxes(&self) -> Result<Vec<ReceivingMailbox>, OperationError> {
        self.mailbox_store().list().map_err(store_error)
    }

    /// By id or name; the error lists the ones there are.
    pub fn find_mailbox(&self, key: &str) -> Result<ReceivingMailbox, OperationError> {
        let store = self.mailbox_store();
        match store.find(key).map_err(store_error)? {
            Some(mailbox) => Ok(mailbox),
            None => {
                let names: Vec<String> = store
                    .list()
                    .unwrap_or_default()
                    .into_iter()
                    .map(|m| format!("{} ({})", m.name, m.id))
                    .collect();
                Err(OperationError::new(
                    ErrorKind::NotFound,
                    format!("there is no receiving mailbox {key:?}"),
                )
                .with_fix(if names.is_empty() {
                    "Add one with `mailbridge mailboxes add`; the sandbox's appears once \
                     `mailbridge serve` has run."
                        .to_owned()
                } else {
                    format!("Choose one of: {}.", names.join(", "))
                }))
            }
        }
    }

    /// Stores a mailbox's App Password (spaces removed) or token.
    pub fn set_mailbox_secret(&self, id: &str, secret: &Secret) -> Result<(), OperationError> {
        let mailbox = self.find_mailbox(id)?;
        let secret = match mailbox.auth {
            MailboxAuth::AppPassword => secret.without_spaces(),
            MailboxAuth::OAuth2 => Secret::new(secret.expose().trim()),
        };
        if secret.expose().is_empty() {
            return Err(
                OperationError::new(ErrorKind::Invalid, "the secret is empty")
                    .with_fix("Paste the App Password or the OAuth token."),
            );
        }
        self.secrets
            .set(&SecretKey::Mailbox(mailbox.id), &secret)
            .map_err(store_error)
    }

    /// Forgets a mailbox's secret (when the mailbox is removed).
    pub fn clear_mailbox_secret(&self, id: &str) -> Result<(), OperationError> {
        self.secrets
            .delete(&SecretKey::Mailbox(id.to_owned()))
            .map_err(store_error)
    }

    /// How IMAP signs in to a mailbox: with its OAuth profile's tokens when it is an OAuth
    /// account's (named by `oauth_profile`, or an OAuth2 mailbox with no token pasted whose
    /// username is a connected OAuth profile's), else with its App Password or pasted token.
    fn mailbox_login(&self, mailbox: &ReceivingMailbox) -> Result<Login, OperationError> {
        if let Some(profile) = self.oauth_profile_of(mailbox)? {
            return match self.token_source(&profile) {
                Some(Ok((tokens, mechanism))) => Ok(Login::OAuth { tokens, mechanism }),
                Some(Err(error)) => Err(error),
                None => Err(OperationError::new(
                    ErrorKind::Invalid,
                    format!(
                        "oauth_profile: the receiving mailbox {:?} signs in with profile {:?}'s \
                         OAuth tokens, but that profile does not sign in with OAuth",
                        mailbox.name, profile.name
                    ),
                )
                .with_fix(
                    "Give the profile its OAuth client and connect it (`mailbridge oauth client` \
                     and `oauth connect`), or remove the mailbox's OAuth profile and store an App \
                     Password (`mailbridge mailboxes secret`).",
                )),
            };
        }
        self.stored_login(mailbox)
    }

    /// The sending profile whose OAuth account a mailbox is, if any.
    fn oauth_profile_of(
        &self,
        mailbox: &ReceivingMailbox,
    ) -> Result<Option<profile::Profile>, OperationError> {
        if let Some(id) = &mailbox.oauth_profile {
            let profile = lock(&self.profiles).get(id).ok_or_else(|| {
                OperationError::new(
                    ErrorKind::NotFound,
                    format!(
                        "oauth_profile: the receiving mailbox {:?} names the profile {:?}, which \
                         does not exist",
                        mailbox.name, id.0
                    ),
                )
                .with_fix(
                    "Choose an existing OAuth profile for the mailbox (`mailbridge mailboxes add \
                     ... --oauth-profile PROFILE`, or the Mailboxes view), or remove it.",
                )
            })?;
            if !profile.username.eq_ignore_ascii_case(&mailbox.username) {
                return Err(OperationError::new(
                    ErrorKind::Invalid,
                    format!(
                        "oauth_profile: profile {:?} signs in as {}, but the receiving mailbox \
                         {:?} is {}; one account's token cannot read another's mailbox",
                        profile.name, profile.username, mailbox.name, mailbox.username
                    ),
                )
                .with_fix(
                    "Set the mailbox's username to the profile's account, or choose the profile \
                     of the mailbox's own account.",
                ));
            }
            return Ok(Some(profile));
        }
        if mailbox.auth != MailboxAuth::OAuth2 {
            return Ok(None);
        }
        let pasted = self
            .secrets
            .get(&SecretKey::Mailbox(mailbox.id.clone()))
            .map_err(store_error)?
            .is_some();
        if pasted {
            return Ok(None);
        }
        let candidates = lock(&self.profiles).list();
        Ok(candidates.into_iter().find(|profile| {
            profile.auth == profile::AuthMethod::OAuth2
                && profile.oauth.is_some()
                && profile.username.eq_ignore_ascii_case(&mailbox.username)
                && matches!(
                    self.secrets
                        .get(&SecretKey::RefreshToken(profile.id.clone())),
                    Ok(Some(_))
                )
        }))
    }

    fn stored_login(&self, mailbox: &ReceivingMailbox) -> Result<Login, OperationError> {
        let stored = self
            .secrets
            .get(&SecretKey::Mailbox(mailbox.id.clone()))
            .map_err(store_error)?;
        let secret = match (stored, mailbox.preset) {
            (Some(secret), _) => secret,
            // The sandbox's password is no secret: it prints it.
            (None, MailboxPreset::Sandbox) => Secret::new(
                self.sandbox
                    .as_ref()
                    .map(|sandbox| sandbox.config().app_password.clone())
                    .unwrap_or_else(|| sandbox::DEFAULT_APP_PASSWORD.to_owned()),
            ),
            (None, preset) => {
                return Err(OperationError::new(
                    ErrorKind::SecretMissing,
                    format!(
                        "the receiving mailbox {:?} has no secret stored",
                        mailbox.name
                    ),
                )
                .with_fix(preset.rules()));
            }
        };
        Ok(match mailbox.auth {
            MailboxAuth::AppPassword => Login::Password(secret),
            MailboxAuth::OAuth2 => Login::Bearer(secret),
        })
    }

    /// Looks for a message at a mailbox until it is found or `limit` passes, and keeps the
    /// verdict with its transcript.
    pub async fn verify_at(
        &self,
        mailbox: &str,
        wanted: Wanted,
        limit: Duration,
    ) -> Result<VerifyReport, OperationError> {
        let mailbox = self.find_mailbox(mailbox)?;
        let login = self.mailbox_login(&mailbox)?;
        let target = target_of(&mailbox);
        let config = imap::Config {
            limit,
            ..imap::Config::default()
        };
        let report = imap::verify(&target, &login, &wanted, &config).await;
        let path = self.data_dir.join("verdicts.sqlite3");
        let message_id = wanted.message_id.clone();
        let id = mailbox.id.clone();
        let kept = report.clone();
        let stored = tokio::task::spawn_blocking(move || {
            VerdictStore::open(&path)?.put(&message_id, &id, imap::now_ms(), &kept)
        })
        .await;
        if !matches!(stored, Ok(Ok(()))) {
            tracing::warn!("could not keep the verdict for {}", wanted.message_id);
        }
        Ok(report)
    }

    /// Sends a short test through a profile to a receiving mailbox's address, then verifies it
    /// there.
    pub async fn send_test_and_verify(
        &self,
        profile: ProfileId,
        mailbox: &str,
        limit: Duration,
        progress: Option<mpsc::UnboundedSender<Progress>>,
    ) -> Result<SentAndVerified, OperationError> {
        self.send_and_verify(profile, mailbox, None, limit, progress)
            .await
    }

    /// Sends the draft (its recipients replaced by the mailbox's address) or a short test
    /// through a profile, then verifies it at the mailbox.
    pub async fn send_and_verify(
        &self,
        profile: ProfileId,
        mailbox: &str,
        draft: Option<Draft>,
        limit: Duration,
        progress: Option<mpsc::UnboundedSender<Progress>>,
    ) -> Result<SentAndVerified, OperationError> {
        let attachments = match &draft {
            Some(draft) => self.peek_attachments(draft)?,
            None => Vec::new(),
        };
        let uploads = draft.clone();
        let done = self
            .send_to_mailbox(profile, mailbox, draft, &attachments, limit, progress)
            .await;
        if let Some(draft) = &uploads {
            self.release_attachments(draft);
        }
        done
    }

    /// "Verify at": sends the draft as composed (its recipients must include the mailbox's
    /// address), then verifies it at the mailbox.
    pub async fn send_verifying_at(
        &self,
        profile: ProfileId,
        mailbox: &str,
        draft: Draft,
        limit: Duration,
        progress: Option<mpsc::UnboundedSender<Progress>>,
    ) -> Result<SentAndVerified, OperationError> {
        let receiving = self.find_mailbox(mailbox)?;
        let address = receiving.username.trim();
        let included = draft
            .to
            .iter()
            .chain(&draft.cc)
            .chain(&draft.bcc)
            .any(|typed| bare_address(typed).eq_ignore_ascii_case(address));
        if !included {
            return Err(OperationError::new(
                ErrorKind::Invalid,
                format!(
                    "verify_at: the recipients do not include {address}, the address of the \
                     receiving mailbox {:?}, so the message could not be found there",
                    receiving.name
                ),
            )
            .with_fix(format!(
                "Add {address} to To, Cc or Bcc, or choose the receiving mailbox of one of the \
                 recipients (or none) in \"Verify at\"."
            )));
        }
        let sender = self.profile(&profile)?;
        // A message that could not be looked for is not sent.
        self.mailbox_login(&receiving)?;
        let attachments = self.take_attachments(&draft)?;
        let send = self
            .send_draft(&sender, &draft, &attachments, progress)
            .await?;
        self.verify_sent(send, &sender, &receiving, limit).await
    }

    /// One mailbox's share of "send and verify": the draft's attachments come collected.
    async fn send_to_mailbox(
        &self,
        profile: ProfileId,
        mailbox: &str,
        draft: Option<Draft>,
        attachments: &[(protocol::AttachmentRef, Vec<u8>)],
        limit: Duration,
        progress: Option<mpsc::UnboundedSender<Progress>>,
    ) -> Result<SentAndVerified, OperationError> {
        let receiving = self.find_mailbox(mailbox)?;
        let sender = self.profile(&profile)?;
        // A test that could not be looked for is not sent.
        self.mailbox_login(&receiving)?;
        let draft = match draft {
            Some(draft) => Draft {
                to: vec![receiving.username.clone()],
                cc: Vec::new(),
                bcc: Vec::new(),
                ..draft
            },
            None => Draft {
                to: vec![receiving.username.clone()],
                cc: Vec::new(),
                bcc: Vec::new(),
                reply_to: None,
                subject: format!("{VERIFY_SUBJECT} ({})", receiving.name),
                text: Some(
                    "This message was sent by mailbridge to check where it lands: Inbox, a tab, \
                     or Spam. You can delete it.\r\n"
                        .to_owned(),
                ),
                html: None,
                attachments: Vec::new(),
                headers: Vec::new(),
            },
        };
        let send = self
            .send_draft(&sender, &draft, attachments, progress)
            .await?;
        self.verify_sent(send, &sender, &receiving, limit).await
    }

    /// Looks for a message just sent (or queued) at the receiving mailbox.
    async fn verify_sent(
        &self,
        send: Outcome,
        sender: &profile::Profile,
        receiving: &ReceivingMailbox,
        limit: Duration,
    ) -> Result<SentAndVerified, OperationError> {
        let sent_at_ms = imap::now_ms();
        let message_id = match &send {
            Outcome::Sent(report) => report.message_id.clone(),
            Outcome::Queued(queued) => queued.message_id.clone(),
            _ => {
                return Err(OperationError::new(
                    ErrorKind::Internal,
                    "the send gave no Message-ID to look for",
                ));
            }
        };
        let wanted = Wanted {
            message_id,
            sent_at_ms: matches!(send, Outcome::Sent(_)).then_some(sent_at_ms),
            sender: Some(sender.username.clone()),
        };
        let verify = self.verify_at(&receiving.id, wanted, limit).await?;
        Ok(SentAndVerified { send, verify })
    }

    /// Reads the bounce reports in a receiving mailbox (the sending account's own, over IMAP),
    /// matches each to a sent message in the history by Message-ID and recipient, explains it,
    /// and adds hard bounces (5.x.x) to the suppression list.
    pub async fn read_bounces(&self, mailbox: &str) -> Result<BounceReport, OperationError> {
        let receiving = self.find_mailbox(mailbox)?;
        let login = self.mailbox_login(&receiving)?;
        let target = target_of(&receiving);
        let reports = imap::fetch_reports(&target, &login, &imap::Config::default(), 200)
            .await
            .map_err(|(diagnosis, _)| {
                OperationError::new(ErrorKind::Smtp, diagnosis.title.clone())
                    .with_fix(diagnosis.fix.join(" "))
            })?;
        let history = self.history.clone();
        let sent_entries = tokio::task::spawn_blocking(move || lock(&history).list(10_000))
            .await
            .map_err(store_error)?
            .map_err(store_error)?;
        let mut sent: Vec<bounce::Sent> = sent_entries
            .iter()
            .filter_map(|entry| {
                Some(bounce::Sent {
                    message_id: entry
                        .message_id
                        .as_deref()?
                        .trim_matches(['<', '>'])
                        .to_owned(),
                    recipients: entry.recipients.clone(),
                })
            })
            .collect();
        // Campaign messages go out through the outbox's deliverer, not the page's Send: their
        // Message-IDs are in the campaign results.
        let campaigns = self.outbox.campaigns().unwrap_or_default();
        for record in campaigns {
            for result in self.outbox.campaign_results(record.id).unwrap_or_default() {
                if result.state == protocol::EntryState::Sent {
                    sent.push(bounce::Sent {
                        message_id: result.message_id.trim().trim_matches(['<', '>']).to_owned(),
                        recipients: vec![result.address],
                    });
                }
            }
        }
        let mut ignored = 0;
        let mut bounces = Vec::new();
        for raw in &reports.messages {
            match bounce::parse(raw) {
                Ok(found) => bounces.extend(found),
                Err(_) => ignored += 1,
            }
        }
        let matched = bounce::matching(&bounces, &sent);
        let unmatched = bounces.len() - matched.len();
        let path = self.data_dir.join(crate::campaign::suppression::FILE);
        let mut list = Suppression::load(&path).map_err(|error| {
            OperationError::new(ErrorKind::Internal, format!("{error:#}"))
                .with_fix("Fix or remove the suppression file.")
        })?;
        let now = u64::try_from(imap::now_ms() / 1000).unwrap_or_default();
        let mut views = Vec::new();
        let mut changed = false;
        for (found, index) in matched {
            let hard = found.is_hard();
            if hard {
                changed |= list.add(suppression::Entry {
                    address: found.recipient.clone(),
                    reason: format!(
                        "bounced {}: {}",
                        found.status,
                        found.remote_text.as_deref().unwrap_or("no reason given")
                    ),
                    source: suppression::Source::Bounce,
                    added_at: now,
                });
            }
            views.push(BounceView {
                recipient: found.recipient.clone(),
                action: found.action.clone(),
                status: found.status.clone(),
                remote_text: found.remote_text.clone(),
                message_id: sent[index].message_id.clone(),
                history_id: sent_entries
                    .iter()
                    .find(|e| {
                        e.message_id
                            .as_deref()
                            .is_some_and(|id| id.trim_matches(['<', '>']) == sent[index].message_id)
                    })
                    .map_or(0, |e| e.id),
                diagnosis: found.diagnosis(),
                suppressed: hard,
            });
        }
        if changed {
            list.save(&path)
                .map_err(|error| OperationError::new(ErrorKind::Internal, format!("{error:#}")))?;
        }
        // Kept for History's badges and the campaign results.
        let kept = views.clone();
        let verdicts = self.data_dir.join("verdicts.sqlite3");
        let stored = tokio::task::spawn_blocking(move || {
            let store = VerdictStore::open(&verdicts)?;
            kept.iter().try_for_each(|bounce| store.put_bounce(bounce))
        })
        .await;
        if !matches!(stored, Ok(Ok(()))) {
            tracing::warn!("could not keep the bounces read at {}", receiving.name);
        }
        Ok(BounceReport {
            matched: views,
            unmatched,
            ignored,
            transcript: reports.transcript,
        })
    }

    /// Puts the bounces kept for each entry's message on it (History's "bounced" badges).
    pub(super) async fn attach_bounces(&self, entries: &mut [protocol::HistoryEntry]) {
        let path = self.data_dir.join("verdicts.sqlite3");
        let ids: Vec<String> = entries
            .iter()
            .filter_map(|entry| entry.message_id.clone())
            .collect();
        let found = tokio::task::spawn_blocking(move || {
            VerdictStore::open(&path)?.bounces_for(ids.iter().map(String::as_str))
        })
        .await;
        let Ok(Ok(mut found)) = found else {
            tracing::warn!("could not read the bounces kept for the history");
            return;
        };
        for entry in entries {
            if let Some(id) = &entry.message_id
                && let Some(bounces) = found.remove(id.trim().trim_matches(['<', '>']))
            {
                entry.bounces = bounces;
            }
        }
    }

    /// The verdicts kept for a Message-ID, newest first.
    pub fn verdicts_for(&self, message_id: &str) -> Result<Vec<VerifyReport>, OperationError> {
        VerdictStore::open(&self.data_dir.join("verdicts.sqlite3"))
            .and_then(|store| store.for_message(message_id))
            .map_err(store_error)
    }
}

/// The address in what was typed: `Bob <bob@example.com>` gives `bob@example.com`.
fn bare_address(typed: &str) -> &str {
    let typed = typed.trim();
    match (typed.rfind('<'), typed.rfind('>')) {
        (Some(open), Some(close)) if open < close => typed[open + 1..close].trim(),
        _ => typed,
    }
}

fn target_of(mailbox: &ReceivingMailbox) -> Target {
    Target {
        name: mailbox.name.clone(),
        host: mailbox.host.clone(),
        port: mailbox.port,
        security: match mailbox.security {
            ImapSecurity::Tls => Security::Tls,
            ImapSecurity::StartTls => Security::StartTls,
        },
        user: mailbox.username.clone(),
        extra_ca_pem: mailbox.extra_ca_pem.clone(),
    }
}

/// Makes the sandbox's receiving mailbox point at the running sandbox (its IMAP port and CA
/// change between runs), so "Send test and verify" works from the first run.
pub(crate) fn ensure_sandbox_mailbox(store: &MailboxStore, sandbox: &sandbox::Sandbox) {
    let mailbox = ReceivingMailbox {
        port: sandbox.imap_addr().port(),
        extra_ca_pem: Some(sandbox.ca_cert_pem().to_owned()),
        ..ReceivingMailbox::from_preset(
            MailboxPreset::Sandbox,
            SANDBOX_MAILBOX_ID,
            "Sandbox",
            &sandbox.config().user,
        )
    };
    let current = store.find(SANDBOX_MAILBOX_ID);
    // A link to the sandbox profile's OAuth account, which the user chose, is kept.
    let mailbox = match &current {
        Ok(Some(existing)) if existing.oauth_profile.is_some() => ReceivingMailbox {
            auth: existing.auth,
            oauth_profile: existing.oauth_profile.clone(),
            ..mailbox
        },
        _ => mailbox,
    };
    if matches!(&current, Ok(Some(existing)) if *existing == mailbox) {
        return;
    }
    if let Err(error) = current.and_then(|_| store.save(mailbox)) {
        tracing::warn!("could not save the sandbox's receiving mailbox: {error}");
    }
}
