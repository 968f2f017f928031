//! `mailbridge unsubscribe verify TOKEN`: checks a one-click unsubscribe token against this
//! bridge's key, so whoever handles the clicks can tell a real one from a forged one.
//! `mailbridge unsubscribe record`: turns the tokens (or the URLs) the unsubscribe endpoint
//! received into suppression entries, so no later campaign mails those people.

use std::io::Read;

use anyhow::Context as _;
use clap::Subcommand;

use super::{Global, UsageError, data_dir, exit, open_secrets};
use crate::campaign::Verdict;
use crate::campaign::suppression::{Entry, FILE, Source, Suppression};
use crate::campaign::unsubscribe::{self, Claims};
use crate::store;

#[derive(Debug, Subcommand)]
pub enum UnsubscribeCommand {
    /// Say whether TOKEN is valid, expired or forged, and whom it unsubscribes; exits 0 when
    /// it is valid and 1 otherwise.
    Verify {
        /// The token, as it appears in the unsubscribe URL (the `{token}` part).
        token: String,
    },
    /// Add the people behind one-click unsubscribes to the suppression list. Give the tokens
    /// or the whole unsubscribe URLs your endpoint received, as arguments or one per line on
    /// standard input ("-"). Forged tokens are refused and change nothing; expired ones were
    /// still signed by this bridge, so they are honoured. Exits 0 when every one was recorded.
    Record {
        /// Tokens or unsubscribe URLs; "-" reads them from standard input, one per line.
        #[arg(required = true)]
        tokens: Vec<String>,
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
        UnsubscribeCommand::Record { tokens } => record(global, &tokens),
    }
}

fn record(global: &Global, args: &[String]) -> anyhow::Result<u8> {
    let mut lines = Vec::new();
    for arg in args {
        if arg == "-" {
            let mut text = String::new();
            std::io::stdin()
                .read_to_string(&mut text)
                .context("reading tokens from standard input (one per line, UTF-8)")?;
            lines.extend(
                text.lines()
                    .map(str::trim)
                    .filter(|line| !line.is_empty())
                    .map(String::from),
            );
        } else {
            lines.push(arg.trim().to_owned());
        }
    }
    if lines.is_empty() {
        return Err(UsageError(
            "unsubscribe record: no token was given (standard input was empty)".into(),
        )
        .into());
    }
    let secrets = open_secrets(global)?;
    let key = store::unsubscribe_key(secrets.as_ref())?;
    let now = crate::outbox::now_ms() / 1_000;
    let path = data_dir(global)?.join(FILE);
    let mut list = Suppression::load(&path)?;
    let (mut new, mut known, mut forged) = (0, 0, Vec::new());
    for (number, line) in lines.iter().enumerate() {
        let Some(claims) = claims_in(line, &key, now) else {
            forged.push(number + 1);
            continue;
        };
        let added = list.add(Entry {
            address: claims.recipient.clone(),
            reason: format!("one-click unsubscribe from campaign {:?}", claims.campaign),
            source: Source::Unsubscribe,
            added_at: now,
        });
        if added {
            new += 1;
        } else {
            known += 1;
        }
        println!(
            "unsubscribed: {} (campaign {:?})",
            claims.recipient, claims.campaign
        );
    }
    if new > 0 {
        list.save(&path)?;
    }
    println!(
        "Recorded {} unsubscribes: {new} new, {known} already suppressed; {} in the list ({}).",
        new + known,
        list.len(),
        path.display()
    );
    if forged.is_empty() {
        return Ok(exit::OK);
    }
    let which: Vec<String> = forged.iter().map(ToString::to_string).collect();
    println!(
        "Refused {} that this bridge's key did not sign (line or argument {}): they were not recorded.",
        forged.len(),
        which.join(", ")
    );
    Ok(exit::PERMANENT)
}

/// The claims of the token in `text`: the text itself, or, for a URL, one of its query values
/// or path segments, whichever carries a token this bridge signed.
fn claims_in(text: &str, key: &[u8], now: u64) -> Option<Claims> {
    let signed = |candidate: &str| match unsubscribe::verify(candidate, key, now) {
        Verdict::Valid(claims) | Verdict::Expired(claims) => Some(claims),
        Verdict::Forged => None,
    };
    if let Some(claims) = signed(text) {
        return Some(claims);
    }
    let rest = text.split_once("://").map_or(text, |(_, rest)| rest);
    rest.split(['/', '?', '&', '#'])
        .map(|part| part.split_once('=').map_or(part, |(_, value)| value))
        .filter(|part| !part.is_empty())
        .find_map(signed)
}
