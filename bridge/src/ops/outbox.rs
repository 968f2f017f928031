//! The outbox's operations: listing and reading entries, retrying, cancelling and releasing
//! them, and each account's quota. Also the bridge as the outbox's source of senders.

use diagnosis::Diagnosis;
use profile::{Preset, Profile, ProfileId};
use protocol::{ErrorKind, Operation, OperationError, Outcome};

use super::send::outbox_error;
use super::{Bridge, misrouted};
use crate::outbox::{Sender, Senders};
use crate::smtp::Target;

/// Most recipients in one SMTP transaction unless the preset says otherwise: Gmail's.
const MAX_RECIPIENTS: usize = 100;

impl Bridge {
    pub(super) async fn outboxing(&self, operation: Operation) -> Result<Outcome, OperationError> {
        let outbox = self.outbox.clone();
        match operation {
            Operation::ListOutbox { state, limit } => {
                let entries = outbox
                    .list(state, limit.clamp(1, 1_000) as usize)
                    .map_err(outbox_error)?;
                let summary = outbox.summary(self).map_err(outbox_error)?;
                Ok(Outcome::Outbox { summary, entries })
            }
            Operation::ReadOutboxEntry { id } => {
                let entry = outbox.get(id).map_err(outbox_error)?.ok_or_else(|| {
                    OperationError::new(
                        ErrorKind::NotFound,
                        format!("the outbox has no entry {id}"),
                    )
                    .with_fix("List the outbox to see the entries it holds.")
                })?;
                Ok(Outcome::OutboxEntry {
                    entry: Box::new(entry),
                })
            }
            Operation::RetryEntries { ids } => {
                let (changed, unchanged) = outbox.retry(&ids).map_err(outbox_error)?;
                Ok(Outcome::OutboxChanged { changed, unchanged })
            }
            Operation::CancelEntries { ids } => {
                let (changed, unchanged) = outbox.cancel(&ids).map_err(outbox_error)?;
                Ok(Outcome::OutboxChanged { changed, unchanged })
            }
            Operation::ReleaseAmbiguous { ids, resend } => {
                let (changed, unchanged) = outbox.release(&ids, resend).map_err(outbox_error)?;
                Ok(Outcome::OutboxChanged { changed, unchanged })
            }
            Operation::ReadQuotas => {
                let summary = outbox.summary(self).map_err(outbox_error)?;
                Ok(Outcome::Quotas {
                    quotas: summary.quotas,
                })
            }
            other => Err(misrouted(&other)),
        }
    }

    /// Everything needed to send as `profile`: where, how to sign in, how fast.
    pub(super) fn sender_for(&self, profile: &Profile) -> Result<Sender, OperationError> {
        let credentials = self.credentials(profile)?;
        let pool = profile.preset.pool();
        Ok(Sender {
            profile_name: profile.name.clone(),
            target: Target::from_profile(profile),
            credentials,
            limits: profile.limits,
            connections: pool.connections,
            messages_per_connection: pool.messages_per_connection,
            max_recipients: profile
                .preset
                .max_recipients()
                .map_or(MAX_RECIPIENTS, |max| max as usize)
                .min(match profile.preset {
                    Preset::Custom | Preset::Sandbox => MAX_RECIPIENTS,
                    _ => usize::MAX,
                }),
        })
    }
}

impl Senders for Bridge {
    fn sender(&self, profile_id: &str) -> Result<Sender, Box<Diagnosis>> {
        let refused = |error: OperationError| {
            let mut diagnosis = crate::smtp::Error::Invalid {
                detail: error.message.clone(),
            }
            .diagnosis();
            diagnosis.title = error.message;
            if let Some(fix) = error.fix {
                diagnosis.fix = vec![fix, "Then retry the entry in the outbox.".to_owned()];
            }
            Box::new(diagnosis)
        };
        let profile = self
            .profile(&ProfileId(profile_id.to_owned()))
            .map_err(refused)?;
        self.sender_for(&profile).map_err(refused)
    }
}
