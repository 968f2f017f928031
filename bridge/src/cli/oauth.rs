//! `mailbridge oauth`: give a profile its OAuth client, connect the Google account (consent in
//! the system browser), show the token's health, and disconnect.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use clap::{Subcommand, ValueEnum};
use profile::{OAuthEndpoints, OAuthMechanism, ProfileId};
use protocol::{OAuthClientInput, Operation, Outcome, Progress, Secret, TokenHealthView};
use tokio::sync::mpsc;

use super::{
    Global, UsageError, exit, find_profile, open_bridge, operation_error, read_secret_with,
};
use crate::ops::{Bridge, ago};
use crate::smtp::rfc3339;

#[derive(Debug, Subcommand)]
pub enum OAuthCommand {
    /// Give a profile its OAuth client: Google's client_secret.json of a Desktop app client
    /// (Google Cloud console, Google Auth Platform, Clients, Download JSON), or the client ID
    /// with the secret prompted for (or read from standard input). The profile then signs in
    /// with OAuth2; connect the account next.
    Client {
        /// The profile's name or id.
        profile: String,
        /// The client_secret.json file.
        #[arg(long, value_name = "FILE", conflicts_with = "client_id")]
        file: Option<PathBuf>,
        /// The client ID, typed in; the secret is prompted for.
        #[arg(long, value_name = "ID", required_unless_present = "file")]
        client_id: Option<String>,
        /// XOAUTH2 (the default) or OAUTHBEARER (RFC 7628, used when the server offers it).
        #[arg(long, value_enum)]
        mechanism: Option<MechanismArg>,
        /// Another authorization server's consent address, instead of Google's.
        #[arg(long, value_name = "URL", requires = "token_uri")]
        auth_uri: Option<String>,
        /// Another authorization server's token address.
        #[arg(long, value_name = "URL", requires = "auth_uri")]
        token_uri: Option<String>,
        /// Its revocation address, for `oauth disconnect`.
        #[arg(long, value_name = "URL", requires = "auth_uri")]
        revocation_uri: Option<String>,
        /// Its issuer, which the consent's redirect must name when it names one (RFC 9207).
        #[arg(long, value_name = "URL", requires = "auth_uri")]
        issuer: Option<String>,
    },
    /// Connect the profile's Google account: prints the consent URL and opens it in the
    /// browser, then waits (up to 5 minutes) for the browser to come back.
    Connect {
        /// The profile's name or id.
        profile: String,
        /// Show the consent screen even if the account agreed before.
        #[arg(long)]
        reconnect: bool,
        /// Only print the URL; do not open a browser.
        #[arg(long)]
        no_browser: bool,
    },
    /// Show the token health of one profile, or of every OAuth2 profile. Exits 0 when each
    /// can send, 1 otherwise.
    Status {
        /// The profile's name or id; every OAuth2 profile when absent.
        profile: Option<String>,
    },
    /// Revoke the refresh token at the server where possible, and forget it here.
    Disconnect {
        /// The profile's name or id.
        profile: String,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum MechanismArg {
    Xoauth2,
    Oauthbearer,
}

pub async fn run(global: &Global, command: OAuthCommand) -> anyhow::Result<u8> {
    let bridge = open_bridge(global, None)?;
    match command {
        OAuthCommand::Client {
            profile,
            file,
            client_id,
            mechanism,
            auth_uri,
            token_uri,
            revocation_uri,
            issuer,
        } => {
            let id = find_profile(&bridge, &profile).await?;
            let client = match (file, client_id) {
                (Some(path), _) => {
                    let text = std::fs::read_to_string(&path)
                        .with_context(|| format!("reading {}", path.display()))?;
                    OAuthClientInput::File {
                        json: Secret::new(text),
                    }
                }
                (None, Some(client_id)) => OAuthClientInput::Typed {
                    client_id,
                    client_secret: read_secret_with(&format!(
                        "Client secret for {profile:?} (not shown): "
                    ))?,
                },
                (None, None) => {
                    return Err(UsageError("give --file or --client-id".to_owned()).into());
                }
            };
            let outcome = bridge
                .execute(
                    Operation::SetOAuthClient {
                        profile: id.clone(),
                        client,
                    },
                    None,
                )
                .await
                .map_err(operation_error)?;
            let Outcome::OAuthClientSet { profile: view } = outcome else {
                anyhow::bail!("the bridge answered {outcome:?}");
            };
            let endpoints = auth_uri
                .zip(token_uri)
                .map(|(auth_uri, token_uri)| OAuthEndpoints {
                    auth_uri,
                    token_uri,
                    revocation_uri,
                    issuer,
                });
            if endpoints.is_some() || mechanism.is_some() {
                let mut changed = view.profile;
                if let Some(oauth) = changed.oauth.as_mut() {
                    if let Some(endpoints) = endpoints {
                        oauth.endpoints = Some(endpoints);
                    }
                    if let Some(mechanism) = mechanism {
                        oauth.mechanism = match mechanism {
                            MechanismArg::Xoauth2 => OAuthMechanism::Xoauth2,
                            MechanismArg::Oauthbearer => OAuthMechanism::Oauthbearer,
                        };
                    }
                }
                bridge
                    .execute(Operation::SaveProfile { profile: changed }, None)
                    .await
                    .map_err(operation_error)?;
            }
            println!(
                "The profile {profile:?} signs in with OAuth2 now; its client secret is in {}.",
                bridge.secret_store_description()
            );
            println!("Next: mailbridge oauth connect {:?}", id.0);
            Ok(exit::OK)
        }
        OAuthCommand::Connect {
            profile,
            reconnect,
            no_browser,
        } => {
            let id = find_profile(&bridge, &profile).await?;
            connect(&bridge, id, reconnect, !no_browser).await
        }
        OAuthCommand::Status { profile } => {
            let ids = match profile {
                Some(name) => vec![find_profile(&bridge, &name).await?],
                None => oauth_profiles(&bridge).await?,
            };
            if ids.is_empty() {
                println!(
                    "No profile signs in with OAuth2. Give one a client: mailbridge oauth client \
                     PROFILE --file client_secret.json"
                );
                return Ok(exit::OK);
            }
            let mut code = exit::OK;
            for id in ids {
                let outcome = bridge
                    .execute(
                        Operation::ReadTokenHealth {
                            profile: id.clone(),
                        },
                        None,
                    )
                    .await
                    .map_err(operation_error)?;
                if let Outcome::TokenHealth { health, .. } = outcome {
                    print_health(&id.0, &health);
                    if !health.state.can_send() {
                        code = exit::PERMANENT;
                    }
                }
            }
            Ok(code)
        }
        OAuthCommand::Disconnect { profile } => {
            let id = find_profile(&bridge, &profile).await?;
            let outcome = bridge
                .execute(Operation::DisconnectOAuth { profile: id }, None)
                .await
                .map_err(operation_error)?;
            if let Outcome::OAuthDisconnected { revoked, note, .. } = outcome {
                if revoked {
                    println!(
                        "Disconnected: the server revoked the token, and it is forgotten here."
                    );
                } else {
                    println!(
                        "Disconnected here: {}.",
                        note.unwrap_or_else(|| "the token is forgotten".to_owned())
                    );
                }
            }
            Ok(exit::OK)
        }
    }
}

async fn connect(
    bridge: &Bridge,
    profile: ProfileId,
    reconnect: bool,
    open_browser: bool,
) -> anyhow::Result<u8> {
    let (progress_tx, mut progress_rx) = mpsc::unbounded_channel();
    let shower = tokio::spawn(async move {
        while let Some(progress) = progress_rx.recv().await {
            if let Progress::Consent { url, timeout_s, .. } = progress {
                println!("Open this address in a browser and allow access:\n\n  {url}\n");
                println!(
                    "mailbridge waits up to {} minutes for the browser to come back.",
                    timeout_s.div_ceil(60)
                );
                if open_browser {
                    open_in_browser(&url);
                }
            }
        }
    });
    let result = bridge
        .execute(
            Operation::ConnectOAuth {
                profile: profile.clone(),
                reconnect,
            },
            Some(progress_tx),
        )
        .await;
    let _ = shower.await;
    let outcome = result.map_err(operation_error)?;
    if let Outcome::OAuthConnected { health, .. } = outcome {
        println!("Connected.");
        print_health(&profile.0, &health);
    }
    Ok(exit::OK)
}

/// Opens `url` with the desktop's opener, quietly; the URL is printed either way.
fn open_in_browser(url: &str) {
    let opener = if cfg!(target_os = "macos") {
        "open"
    } else {
        "xdg-open"
    };
    let spawned = std::process::Command::new(opener)
        .arg(url)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn();
    if let Err(error) = spawned {
        tracing::debug!("could not run {opener}: {error}");
    }
}

async fn oauth_profiles(bridge: &Bridge) -> anyhow::Result<Vec<ProfileId>> {
    let outcome = bridge
        .execute(Operation::ListProfiles, None)
        .await
        .map_err(operation_error)?;
    let Outcome::Profiles { profiles } = outcome else {
        anyhow::bail!("the bridge answered {outcome:?}");
    };
    Ok(profiles
        .into_iter()
        .filter(|view| view.token.is_some())
        .map(|view| view.profile.id)
        .collect())
}

/// The health as lines for a person.
pub fn print_health(profile: &str, health: &TokenHealthView) {
    println!("{profile}: {}", health.state.title());
    let field = |name: &str, value: &str| println!("  {name:<14} {value}");
    if let Some(client_id) = &health.client_id {
        field("client ID", client_id);
    }
    if health.client_id.is_some() && !health.client_secret_stored {
        field("client secret", "not stored");
    }
    if let Some(left) = health.expires_in_s {
        field("expires in", &in_words(Duration::from_secs(left)));
    }
    if let Some(at) = health.last_refresh_ms {
        field(
            "last refresh",
            &format!(
                "{} ({} ago)",
                rfc3339((at / 1000) as i64),
                in_words(ago(at))
            ),
        );
    }
    if let Some(at) = health.consented_at_ms {
        field(
            "consent",
            &format!(
                "{} ({} ago)",
                rfc3339((at / 1000) as i64),
                in_words(ago(at))
            ),
        );
    }
    if let Some(scope) = &health.scope {
        field("scope", scope);
    }
    if let Some(error) = &health.error {
        field("error", error);
    }
    if let Some(description) = &health.error_description {
        field("description", description);
    }
    if let Some(detail) = &health.detail {
        field("detail", detail);
    }
    for (n, cause) in health.likely_causes.iter().enumerate() {
        field(if n == 0 { "likely cause" } else { "or" }, cause);
    }
    if let Some(warning) = &health.warning {
        field("warning", warning);
    }
    if let Some(fix) = &health.fix {
        field("fix", fix);
    }
}

fn in_words(duration: Duration) -> String {
    let s = duration.as_secs();
    match s {
        0..60 => format!("{s} s"),
        60..3600 => format!("{} min", s / 60),
        3600..86_400 => format!("{} h {} min", s / 3600, s % 3600 / 60),
        _ => format!("{} days", s / 86_400),
    }
}
