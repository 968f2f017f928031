//! `mailbridge unsubscribe verify TOKEN`: checks a one-click unsubscribe token against this
//! bridge's key, so whoever handles the clicks can tell a real one from a forged one.

use clap::Subcommand;

use super::{Global, exit, open_secrets};
use crate::campaign::{Verdict, unsubscribe};
use crate::store;

#[derive(Debug, Subcommand)]
pub enum UnsubscribeCommand {
    /// Say whether TOKEN is valid, expired or forged, and whom it unsubscribes; exits 0 when
    /// it is valid and 1 otherwise.
    Verify {
        /// The token, as it appears in the unsubscribe URL (the `{token}` part).
        token: String,
    },
}

pub fn run(global: &Global, command: UnsubscribeCommand) -> anyhow::Result<u8> {
    match command {
        UnsubscribeCommand::Verify { token } => {
            let secrets = open_secrets(global)?;
            let key = store::unsubscribe_key(secrets.as_ref())?;
            let now = crate::outbox::now_ms() / 1_000;
            match unsubscribe::verify(&token, &key, now) {
                Verdict::Valid(claims) => {
                    println!(
                        "valid: unsubscribes {} from campaign {:?}",
                        claims.recipient, claims.campaign
                    );
                    Ok(exit::OK)
                }
                Verdict::Expired(claims) => {
                    println!(
                        "expired: it unsubscribed {} from campaign {:?} until {}",
                        claims.recipient,
                        claims.campaign,
                        crate::smtp::rfc3339(
                            i64::try_from(claims.expires_unix).unwrap_or(i64::MAX)
                        )
                    );
                    Ok(exit::PERMANENT)
                }
                Verdict::Forged => {
                    println!("forged: this bridge's key did not sign the token");
                    Ok(exit::PERMANENT)
                }
            }
        }
    }
}
