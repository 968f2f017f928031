//! Profiles, team files and secrets.

use profile::{Preset, Profile};
use protocol::{ErrorKind, Operation, OperationError, Outcome, ProfileView, SecretState};

use super::{Bridge, misrouted, store_error};
use crate::compose;
use crate::lock;
use crate::store::{SecretKey, secret_state, set_profile_secret};

impl Bridge {
    pub(super) fn profiling(&self, operation: Operation) -> Result<Outcome, OperationError> {
        match operation {
            Operation::ListProfiles => Ok(Outcome::Profiles {
                profiles: self.profile_views(),
            }),
            Operation::SaveProfile { profile } => {
                let saved = lock(&self.profiles).save(profile).map_err(|problems| {
                    OperationError::invalid("the profile was not saved", problems)
                })?;
                self.lift_pause_of(&saved);
                Ok(Outcome::Saved {
                    profile: self.view(saved),
                })
            }
            Operation::DeleteProfile { profile } => {
                lock(&self.profiles).delete(&profile).map_err(store_error)?;
                // A deleted profile's secrets would be unreachable, so they go too.
                let _ = self.secrets.delete(&SecretKey::Profile(profile.clone()));
                let _ = self
                    .secrets
                    .delete(&SecretKey::OAuthClientSecret(profile.clone()));
                let _ = self
                    .secrets
                    .delete(&SecretKey::RefreshToken(profile.clone()));
                if let Err(error) = lock(&self.grants).remove(&profile) {
                    tracing::warn!("{error}");
                }
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
                self.lift_pause_of(&found);
                Ok(Outcome::SecretSet { profile })
            }
            Operation::ClearSecret { profile } => {
                self.secrets
                    .delete(&SecretKey::Profile(profile.clone()))
                    .map_err(store_error)?;
                Ok(Outcome::SecretCleared { profile })
            }
            other => Err(misrouted(&other)),
        }
    }

    fn profile_views(&self) -> Vec<ProfileView> {
        let profiles = lock(&self.profiles).list();
        profiles
            .into_iter()
            .map(|profile| self.view(profile))
            .collect()
    }

    pub(super) fn view(&self, profile: Profile) -> ProfileView {
        let secret = match secret_state(&profile, self.secrets.as_ref()) {
            // The sandbox's own password is always at hand (see `credentials`).
            SecretState::Missing if profile.preset == Preset::Sandbox => SecretState::Stored,
            state => state,
        };
        let warnings = compose::profile_warnings(&profile);
        let token = self.token_health(&profile).map(Box::new);
        ProfileView {
            profile,
            secret,
            warnings,
            token,
        }
    }
}

impl Bridge {
    /// A changed profile or secret may fix a refused sign-in: its account sends again.
    pub(super) fn lift_pause_of(&self, profile: &Profile) {
        let account = crate::outbox::account_of(&profile.username, &profile.host);
        if let Err(error) = self.outbox.lift_pause(&account) {
            tracing::warn!("could not lift the pause of {account}: {error}");
        }
    }
}
