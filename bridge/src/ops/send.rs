//! Checking a connection, sending one message, rendering the MIME, and queueing batches. Every
//! send goes through the outbox: the message is committed before its first byte goes out.

use std::time::Duration;

use profile::{Preset, Problem, Profile};
use protocol::{
    Draft, EntryState, ErrorKind, HistoryEntry, HistoryOutcome, Operation, OperationError, Outcome,
    Progress, QueuedReport, RecipientState, SendReport,
};
use tokio::sync::mpsc;

use super::{Bridge, blocking, misrouted};
use crate::compose::{self, Built};
use crate::lock;
use crate::outbox::{self, Attempted, NewEntry, StoreError, now_ms};
use crate::smtp::{self, Target};

/// How long an entry queued for the page's Send is kept back from the background deliverer,
/// which would otherwise race the Send for it.
const HELD_FOR_SEND_MS: u64 = 60_000;

impl Bridge {
    pub(super) async fn sending(
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
                // The checks before sending compare a message with the SIZE it advertised.
                if report.size_limit.is_some() {
                    self.remember_size_limit(&profile.id, report.size_limit);
                }
                Ok(Outcome::Checked(report))
            }
            Operation::Send { profile, draft } => {
                let profile = self.profile(&profile)?;
                let attachments = self.take_attachments(&draft)?;
                self.send_draft(&profile, &draft, &attachments, progress)
                    .await
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
            Operation::EnqueueBatch { profile, drafts } => {
                let profile = self.profile(&profile)?;
                let drafts: Vec<(String, Draft)> = drafts
                    .into_iter()
                    .enumerate()
                    .map(|(i, draft)| (format!("drafts[{i}]"), draft))
                    .collect();
                self.enqueue_drafts(&profile, drafts)
            }
            Operation::EnqueueEach {
                profile,
                draft,
                recipients,
            } => {
                let profile = self.profile(&profile)?;
                let drafts: Vec<(String, Draft)> = recipients
                    .into_iter()
                    .enumerate()
                    .map(|(i, recipient)| {
                        let one = Draft {
                            to: vec![recipient],
                            cc: Vec::new(),
                            bcc: Vec::new(),
                            ..draft.clone()
                        };
                        (format!("recipients[{i}]"), one)
                    })
                    .collect();
                self.enqueue_drafts(&profile, drafts)
            }
            other => Err(misrouted(&other)),
        }
    }

    /// Sends a draft whose attachments' bytes the caller collected, so that one draft can go
    /// out several times (to each mailbox of "send and verify") before its uploads are let go.
    pub(super) async fn send_draft(
        &self,
        profile: &Profile,
        draft: &Draft,
        attachments: &[(protocol::AttachmentRef, Vec<u8>)],
        progress: Option<mpsc::UnboundedSender<Progress>>,
    ) -> Result<Outcome, OperationError> {
        let built = compose::build(profile, draft, attachments).map_err(|problems| {
            OperationError::invalid("the message cannot be sent as it is", problems)
        })?;
        self.send(profile, built, &draft.subject, progress).await
    }

    /// Builds every draft and queues them as one batch, or nothing when any has a problem.
    fn enqueue_drafts(
        &self,
        profile: &Profile,
        drafts: Vec<(String, Draft)>,
    ) -> Result<Outcome, OperationError> {
        if drafts.is_empty() {
            return Err(
                OperationError::new(ErrorKind::Invalid, "the batch is empty")
                    .with_fix("Give at least one message or recipient."),
            );
        }
        // Without a secret nothing could go: say so now, not once per entry later.
        self.credentials(profile)?;
        let mut entries = Vec::with_capacity(drafts.len());
        let mut problems = Vec::new();
        let mut warnings: Vec<String> = Vec::new();
        let mut uploads = Vec::new();
        for (path, draft) in &drafts {
            let attachments = match self.peek_attachments(draft) {
                Ok(attachments) => attachments,
                Err(error) => {
                    problems.push(Problem::new(
                        format!("{path}.attachments"),
                        error.message,
                        error.fix.unwrap_or_default(),
                    ));
                    continue;
                }
            };
            uploads.extend(draft.attachments.iter().map(|a| a.upload));
            match compose::build(profile, draft, &attachments) {
                Ok(built) => {
                    for warning in &built.warnings {
                        if !warnings.contains(warning) {
                            warnings.push(warning.clone());
                        }
                    }
                    entries.push(new_entry(profile, built, &draft.subject));
                }
                Err(found) => problems.extend(found.into_iter().map(|problem| Problem {
                    path: format!("{path}.{}", problem.path),
                    ..problem
                })),
            }
        }
        if !problems.is_empty() {
            let bad = {
                let mut bad: Vec<&str> = problems
                    .iter()
                    .filter_map(|p| p.path.split('.').next())
                    .collect();
                bad.dedup();
                bad.len()
            };
            return Err(OperationError::invalid(
                format!(
                    "nothing was queued: {bad} of the {} messages have problems",
                    drafts.len()
                ),
                problems,
            ));
        }
        let (batch, ids) = self.outbox.enqueue(&entries, 0).map_err(outbox_error)?;
        let mut area = lock(&self.uploads);
        for upload in uploads {
            area.remove(upload);
        }
        drop(area);
        let summary = self.outbox.summary(self).map_err(outbox_error)?;
        Ok(Outcome::Enqueued {
            batch,
            entries: ids,
            warnings,
            summary,
        })
    }

    /// Sends one message: queued first, then sent at once with its live transcript when this
    /// process delivers the outbox; otherwise the deliverer that does sends it, and this
    /// waits for the result.
    pub(super) async fn send(
        &self,
        profile: &Profile,
        built: Built,
        subject: &str,
        progress: Option<mpsc::UnboundedSender<Progress>>,
    ) -> Result<Outcome, OperationError> {
        let sender = self.sender_for(profile)?;
        let account = outbox::account_of(&profile.username, &profile.host);
        let recipients = built.outgoing.rcpt_to.clone();
        let message_id = built.outgoing.message_id.clone();
        let warnings = built.warnings.clone();
        // A command line with no `serve` running delivers what it sends itself.
        if !self.outbox.is_deliverer() {
            let _ = self.outbox.try_take_over();
        }
        let here = self.outbox.is_deliverer();
        let hold = if here { HELD_FOR_SEND_MS } else { 0 };
        let entry = new_entry(profile, built, subject);
        let (_, ids) = self
            .outbox
            .enqueue(std::slice::from_ref(&entry), hold)
            .map_err(outbox_error)?;
        let id = ids.first().copied().unwrap_or_default();
        let attempted = if here {
            self.outbox
                .send_now(id, &account, &sender, progress, &self.retry)
                .await
        } else {
            None
        };
        let attempted = match attempted {
            Some(attempted) => attempted,
            None => {
                let limit = self.timeouts.data + Duration::from_secs(60);
                let entry = self.outbox.wait_for(id, limit).await.ok_or_else(|| {
                    OperationError::new(ErrorKind::Internal, "the queued message disappeared")
                })?;
                Attempted {
                    state: entry.state,
                    attempts: entry.attempts,
                    reply: entry.last_reply,
                    error: None,
                    next_attempt_ms: entry.next_attempt_unix_ms,
                    accepted: entry
                        .recipients
                        .iter()
                        .filter(|r| r.state == RecipientState::Accepted)
                        .map(|r| r.address.clone())
                        .collect(),
                    transcript: entry.transcript,
                }
            }
        };
        let entry = self.outbox.get(id).map_err(outbox_error)?;
        let diagnosis = attempted
            .error
            .as_ref()
            .map(smtp::Error::diagnosis)
            .or_else(|| entry.as_ref().and_then(|entry| entry.diagnosis.clone()));
        match attempted.state {
            EntryState::Sent => {
                let mut warnings = warnings;
                if let Some(entry) = &entry {
                    for refused in entry
                        .recipients
                        .iter()
                        .filter(|r| r.state == RecipientState::Refused)
                    {
                        warnings.push(format!(
                            "{} was refused: {}",
                            refused.address,
                            refused.reply.as_deref().unwrap_or("no reply")
                        ));
                    }
                }
                let reply = attempted.reply.clone().unwrap_or_default();
                let history_id = self
                    .remember(
                        profile,
                        subject,
                        &message_id,
                        &recipients,
                        &attempted,
                        HistoryOutcome::Sent {
                            reply: reply.clone(),
                        },
                    )
                    .await?;
                Ok(Outcome::Sent(SendReport {
                    message_id,
                    reply,
                    attempts: attempted.attempts,
                    recipients: entry
                        .as_ref()
                        .map(|entry| {
                            entry
                                .recipients
                                .iter()
                                .filter(|r| r.state == RecipientState::Accepted)
                                .map(|r| r.address.clone())
                                .collect()
                        })
                        .unwrap_or_else(|| attempted.accepted.clone()),
                    warnings,
                    history_id,
                }))
            }
            EntryState::Failed | EntryState::Ambiguous | EntryState::Cancelled => {
                let diagnosis = diagnosis.unwrap_or_else(|| {
                    diagnosis::explain(attempted.reply.as_deref().unwrap_or("554 5.0.0 failed"))
                        .unwrap_or_else(|_| {
                            smtp::Error::Invalid {
                                detail: "the message was not sent".to_owned(),
                            }
                            .diagnosis()
                        })
                });
                self.remember(
                    profile,
                    subject,
                    &message_id,
                    &recipients,
                    &attempted,
                    HistoryOutcome::Failed {
                        diagnosis: diagnosis.clone(),
                    },
                )
                .await?;
                let mut error = OperationError::smtp(diagnosis);
                if attempted.state == EntryState::Ambiguous {
                    error.message = format!(
                        "{} The message may have been delivered: it is held in the outbox, where you can send it again or drop it.",
                        error.message
                    );
                }
                Err(error)
            }
            state => {
                let who = match profile.preset {
                    Preset::Sandbox => "The sandbox".to_owned(),
                    preset if preset.is_google() => "Gmail".to_owned(),
                    _ => profile.host.clone(),
                };
                let said = match (&attempted.reply, &attempted.error) {
                    (Some(reply), _) => format!("{who} said {}", in_one_line(reply)),
                    (None, Some(error)) => error.to_string(),
                    (None, None) => "it waits its turn in the outbox".to_owned(),
                };
                let reason = match attempted.next_attempt_ms {
                    Some(at) => format!(
                        "{said}; retrying at {}",
                        outbox::scheduler::local_time(at, now_ms(), outbox::local_offset())
                    ),
                    None => said,
                };
                Ok(Outcome::Queued(QueuedReport {
                    entry: id,
                    message_id,
                    recipients,
                    state,
                    reason,
                    next_attempt_unix_ms: attempted.next_attempt_ms,
                    diagnosis,
                    warnings,
                }))
            }
        }
    }

    /// Writes a single send to the history, with its transcript; returns its id.
    async fn remember(
        &self,
        profile: &Profile,
        subject: &str,
        message_id: &str,
        recipients: &[String],
        attempted: &Attempted,
        outcome: HistoryOutcome,
    ) -> Result<u64, OperationError> {
        let entry = HistoryEntry {
            id: 0,
            at_unix_ms: now_ms(),
            profile_id: profile.id.0.clone(),
            profile_name: profile.name.clone(),
            recipients: recipients.to_vec(),
            subject: subject.to_owned(),
            message_id: Some(message_id.to_owned()),
            attempts: attempted.attempts,
            outcome,
            transcript: attempted.transcript.clone(),
            bounces: Vec::new(),
        };
        let history = self.history.clone();
        blocking(move || lock(&history).append(entry)).await
    }
}

/// A reply as one short line: `550 5.4.5 Daily user sending limit exceeded. For more ...`.
fn in_one_line(wire: &str) -> String {
    let Ok(reply) = diagnosis::Reply::parse(wire) else {
        return wire.lines().next().unwrap_or_default().trim().to_owned();
    };
    let mut line = reply.code.to_string();
    if let Some(enhanced) = reply.enhanced {
        line.push_str(&format!(" {enhanced}"));
    }
    for text in &reply.lines {
        let text = text.trim();
        let text = match reply.enhanced {
            Some(enhanced) => text.strip_prefix(&enhanced.to_string()).unwrap_or(text),
            None => text,
        };
        line.push(' ');
        line.push_str(text.trim());
    }
    if line.chars().count() > 120 {
        line = line.chars().take(117).collect::<String>() + "...";
    }
    line
}

pub(super) fn new_entry(profile: &Profile, built: Built, subject: &str) -> NewEntry {
    NewEntry {
        profile_id: profile.id.0.clone(),
        profile_name: profile.name.clone(),
        account: outbox::account_of(&profile.username, &profile.host),
        message_id: built.outgoing.message_id,
        subject: subject.to_owned(),
        mail_from: built.outgoing.mail_from,
        recipients: built.outgoing.rcpt_to,
        data: built.outgoing.data,
    }
}

pub(super) fn outbox_error(error: StoreError) -> OperationError {
    let kind = match error {
        StoreError::Full { .. } => ErrorKind::TooLarge,
        StoreError::Locked { .. } => ErrorKind::Busy,
        _ => ErrorKind::Internal,
    };
    OperationError::new(kind, error.to_string())
}
