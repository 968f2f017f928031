//! OAuth for profiles: giving a profile its client, consent, disconnecting, and the token's
//! health; and the bridge as the source of the access tokens SMTP signs in with.
//!
//! The access-token cache is keyed by profile id, like the refresh token in the secret store
//! (`SecretKey::RefreshToken`) and the grant in `oauth-grants.json`.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use profile::{
    AuthMethod, OAuthEndpoints, OAuthMechanism, OAuthSettings, Problem, Profile, ProfileId,
};
use protocol::{
    ErrorKind, OAuthClientInput, Operation, OperationError, Outcome, Progress, Secret,
    TokenHealthView, TokenState,
};
use tokio::sync::mpsc;

use super::{Bridge, misrouted, store_error};
use crate::lock;
use crate::oauth::{
    self, AccessTokens, ClientFileError, ConsentError, ConsentRequest, GOOGLE, GrantInfo,
    MAIL_SCOPE, OAuthClient, RefreshTokens, ServerRefusal, TokenError, TokenHealth,
};
use crate::smtp::{BearerTokens, Credentials, TokenFuture, TokenSource, TokenUnavailable};
use crate::store::{Grant, GrantStore, SecretKey, SecretStore, StoreError, unix_ms};

/// What to do when an account has no usable token.
const CONNECT_FIX: &str = "Connect the Google account again: the profile's \"Connect Google \
                           account\" in the page, or `mailbridge oauth connect PROFILE`.";

/// The refresh tokens in the secret store, and the refresh times in the grants file.
pub(crate) struct StoredRefreshTokens {
    pub secrets: Arc<dyn SecretStore>,
    pub grants: Arc<Mutex<GrantStore>>,
}

impl RefreshTokens for StoredRefreshTokens {
    fn get(&self, account: &str) -> Result<Option<Secret>, StoreError> {
        self.secrets
            .get(&SecretKey::RefreshToken(ProfileId(account.to_owned())))
    }

    fn set(&self, account: &str, refresh_token: &Secret) -> Result<(), StoreError> {
        self.secrets.set(
            &SecretKey::RefreshToken(ProfileId(account.to_owned())),
            refresh_token,
        )
    }

    fn refreshed(&self, account: &str, at: SystemTime) {
        if let Err(error) = lock(&self.grants).refreshed(&ProfileId(account.to_owned()), at) {
            tracing::warn!("could not note the refresh of {account}: {error}");
        }
    }
}

/// One profile's access tokens, as SMTP asks for them.
struct ProfileTokens {
    account: String,
    client: OAuthClient,
    tokens: Arc<AccessTokens>,
}

impl TokenSource for ProfileTokens {
    fn token(&self) -> TokenFuture<'_> {
        Box::pin(async move {
            self.tokens
                .access_token(&self.account, &self.client)
                .await
                .map_err(unavailable)
        })
    }

    fn refused<'a>(&'a self, rejected: &'a Secret, challenge: &'a str) -> TokenFuture<'a> {
        Box::pin(async move {
            let refusal = ServerRefusal::from_challenge(challenge);
            tracing::info!(
                account = self.account,
                status = refusal.status.as_deref().unwrap_or("-"),
                "the mail server refused the access token; refreshing it once"
            );
            self.tokens.server_refused(&self.account, refusal);
            self.tokens
                .after_rejection(&self.account, &self.client, rejected)
                .await
                .map_err(unavailable)
        })
    }

    fn accepted(&self) {
        self.tokens.server_accepted(&self.account);
    }
}

fn unavailable(error: TokenError) -> TokenUnavailable {
    let fix = match &error {
        error if error.is_transient() => {
            "Check the network; the next send tries again with the same refresh token.".to_owned()
        }
        TokenError::Refused { error: oauth, .. } if oauth.error == "invalid_client" => {
            "Load the client's JSON again (Google Cloud console, Credentials), then connect \
             the account."
                .to_owned()
        }
        _ => CONNECT_FIX.to_owned(),
    };
    TokenUnavailable {
        detail: error.to_string(),
        fix,
        transient: error.is_transient(),
    }
}

impl Bridge {
    pub(super) async fn oauthing(
        &self,
        operation: Operation,
        progress: Option<mpsc::UnboundedSender<Progress>>,
    ) -> Result<Outcome, OperationError> {
        match operation {
            Operation::SetOAuthClient { profile, client } => {
                let found = self.profile(&profile)?;
                let saved = self.set_oauth_client(found, &client).await?;
                Ok(Outcome::OAuthClientSet {
                    profile: self.view(saved),
                })
            }
            Operation::ConnectOAuth { profile, reconnect } => {
                let found = self.profile(&profile)?;
                let health = self.connect_oauth(&found, reconnect, progress).await?;
                Ok(Outcome::OAuthConnected {
                    profile,
                    health: Box::new(health),
                })
            }
            Operation::DisconnectOAuth { profile } => {
                let found = self.profile(&profile)?;
                let (revoked, note) = self.disconnect_oauth(&found).await?;
                Ok(Outcome::OAuthDisconnected {
                    profile,
                    revoked,
                    note,
                })
            }
            Operation::ReadTokenHealth { profile } => {
                let found = self.profile(&profile)?;
                let health = self
                    .token_health(&found)
                    .unwrap_or_else(|| TokenHealthView::new(TokenState::NotConfigured));
                Ok(Outcome::TokenHealth {
                    profile,
                    health: Box::new(health),
                })
            }
            other => Err(misrouted(&other)),
        }
    }

    /// Credentials for a profile with an OAuth client: tokens from the cache, refreshed as
    /// needed. `None` for any other profile.
    pub(super) fn oauth_credentials(
        &self,
        profile: &Profile,
    ) -> Option<Result<Credentials, OperationError>> {
        Some(
            self.token_source(profile)?
                .map(|(tokens, mechanism)| Credentials::OAuth {
                    user: profile.username.clone(),
                    mechanism,
                    tokens,
                }),
        )
    }

    /// A connected OAuth profile's access tokens and its mechanism, shared by SMTP and by
    /// IMAP when a receiving mailbox is the same account. `None` for a profile that does not
    /// sign in with OAuth; an error when it does but is not connected.
    pub(super) fn token_source(
        &self,
        profile: &Profile,
    ) -> Option<Result<(BearerTokens, OAuthMechanism), OperationError>> {
        let settings = profile
            .oauth
            .as_ref()
            .filter(|_| profile.auth == AuthMethod::OAuth2)?;
        Some((|| {
            let client = self.oauth_client(profile, settings)?;
            let connected = self
                .secrets
                .get(&SecretKey::RefreshToken(profile.id.clone()))
                .map_err(store_error)?
                .is_some();
            if !connected {
                return Err(OperationError::new(
                    ErrorKind::SecretMissing,
                    format!(
                        "the Google account of profile {:?} is not connected",
                        profile.name
                    ),
                )
                .with_fix(
                    "Connect it: the profile's \"Connect Google account\" in the page, or \
                     `mailbridge oauth connect PROFILE`.",
                ));
            }
            let tokens = BearerTokens(Arc::new(ProfileTokens {
                account: profile.id.0.clone(),
                client,
                tokens: Arc::clone(&self.oauth),
            }));
            Ok((tokens, settings.mechanism))
        })())
    }

    /// The token health of an OAuth2 profile; `None` for a profile that signs in otherwise.
    pub(super) fn token_health(&self, profile: &Profile) -> Option<TokenHealthView> {
        if profile.auth != AuthMethod::OAuth2 {
            return None;
        }
        let Some(settings) = &profile.oauth else {
            return Some(TokenHealthView {
                fix: Some(
                    "Load your Google OAuth client (client_secret.json) into the profile, then \
                     connect the account; without one, the access token pasted in is used as it \
                     is and stops working within the hour."
                        .to_owned(),
                ),
                ..TokenHealthView::new(TokenState::NotConfigured)
            });
        };
        let id = &profile.id;
        let account = id.as_str();
        let client_secret_stored = matches!(
            self.secrets.get(&SecretKey::OAuthClientSecret(id.clone())),
            Ok(Some(_))
        );
        let grant = lock(&self.grants).get(id);
        let info = GrantInfo {
            client_id: settings.client_id.clone(),
            scope: grant
                .as_ref()
                .map_or_else(|| MAIL_SCOPE.to_owned(), |grant| grant.scope.clone()),
            consented_at: grant
                .as_ref()
                .map_or_else(SystemTime::now, Grant::consented_at),
            last_refresh: grant.as_ref().and_then(Grant::last_refresh),
        };
        let stored = self
            .secrets
            .get(&SecretKey::RefreshToken(id.clone()))
            .map(|token| token.is_some())
            .map_err(|error| TokenError::Store(error.to_string()));
        let health = self.oauth.health_given(account, Some(&info), stored);
        let mut view = health_view(&health);
        view.client_id = Some(settings.client_id.clone());
        view.client_secret_stored = client_secret_stored;
        view.consented_at_ms = grant.as_ref().map(|grant| grant.consented_at_ms);
        if !client_secret_stored && view.state == TokenState::NeedsConsent {
            view.fix = Some(
                "Load the client's secret too (its client_secret.json, or type it in), then \
                 connect the account."
                    .to_owned(),
            );
        }
        Some(view)
    }

    /// The profile's OAuth client: its settings, and the secret from the store.
    fn oauth_client(
        &self,
        profile: &Profile,
        settings: &OAuthSettings,
    ) -> Result<OAuthClient, OperationError> {
        let secret = self
            .secrets
            .get(&SecretKey::OAuthClientSecret(profile.id.clone()))
            .map_err(store_error)?
            .ok_or_else(|| {
                OperationError::new(
                    ErrorKind::SecretMissing,
                    format!(
                        "the profile {:?} has no OAuth client secret stored",
                        profile.name
                    ),
                )
                .with_fix(
                    "Load the client's client_secret.json into the profile (or type its ID and \
                     secret), then connect the account.",
                )
            })?;
        let mut client = OAuthClient::google(&settings.client_id, &secret).map_err(|error| {
            client_problem(
                &error,
                "oauth.client_id",
                "the profile's OAuth client is incomplete",
            )
        })?;
        if let Some(endpoints) = &settings.endpoints {
            client.auth_uri = endpoints.auth_uri.clone();
            client.token_uri = endpoints.token_uri.clone();
            client.revocation_uri = endpoints.revocation_uri.clone();
            client.issuer = endpoints.issuer.clone();
        }
        Ok(client)
    }

    async fn set_oauth_client(
        &self,
        mut profile: Profile,
        input: &OAuthClientInput,
    ) -> Result<Profile, OperationError> {
        let client = match input {
            OAuthClientInput::File { json } => {
                OAuthClient::from_client_secret_json(json.expose().as_bytes()).map_err(|error| {
                    client_problem(&error, "client_secret.json", "the client file was not used")
                })?
            }
            OAuthClientInput::Typed {
                client_id,
                client_secret,
            } => OAuthClient::google(client_id, client_secret).map_err(|error| {
                client_problem(&error, "oauth", "the OAuth client was not saved")
            })?,
        };
        let previous = profile.oauth.clone();
        let endpoints = match input {
            // A typed client keeps the profile's server; a file says where its server is.
            OAuthClientInput::Typed { .. } => previous.as_ref().and_then(|p| p.endpoints.clone()),
            OAuthClientInput::File { .. } if client.token_uri == GOOGLE.token_uri => None,
            OAuthClientInput::File { .. } => Some(OAuthEndpoints {
                auth_uri: client.auth_uri.clone(),
                token_uri: client.token_uri.clone(),
                revocation_uri: None,
                issuer: None,
            }),
        };
        profile.auth = AuthMethod::OAuth2;
        profile.oauth = Some(OAuthSettings {
            client_id: client.client_id.clone(),
            mechanism: previous.as_ref().map(|p| p.mechanism).unwrap_or_default(),
            endpoints,
        });
        let saved = lock(&self.profiles).save(profile).map_err(|problems| {
            OperationError::invalid("the OAuth client was not saved", problems)
        })?;
        self.secrets
            .set(
                &SecretKey::OAuthClientSecret(saved.id.clone()),
                &client.client_secret,
            )
            .map_err(store_error)?;
        // A refresh token belongs to the client that got it: another client needs consent.
        let same_client = previous.is_some_and(|p| p.client_id == client.client_id);
        if !same_client {
            self.forget_grant(&saved.id).await?;
        }
        Ok(saved)
    }

    async fn connect_oauth(
        &self,
        profile: &Profile,
        reconnect: bool,
        progress: Option<mpsc::UnboundedSender<Progress>>,
    ) -> Result<TokenHealthView, OperationError> {
        let settings = profile
            .oauth
            .as_ref()
            .filter(|_| profile.auth == AuthMethod::OAuth2);
        let Some(settings) = settings else {
            return Err(OperationError::new(
                ErrorKind::Invalid,
                format!("the profile {:?} has no OAuth client", profile.name),
            )
            .with_fix(
                "Load your Desktop app client's client_secret.json into the profile first \
                 (Google Cloud console, Google Auth Platform, Clients, Download JSON).",
            ));
        };
        let client = self.oauth_client(profile, settings)?;
        let id = profile.id.clone();
        let known = lock(&self.grants).get(&id).is_some()
            || matches!(
                self.secrets.get(&SecretKey::RefreshToken(id.clone())),
                Ok(Some(_))
            );
        let request = ConsentRequest {
            login_hint: Some(profile.username.clone()).filter(|user| !user.trim().is_empty()),
            // Google gives a second refresh token to the same client only with the consent
            // screen shown again.
            reconnect: reconnect || known,
            timeout: self.consent_timeout,
        };
        let consent = oauth::Consent::start(&client, &request)
            .await
            .map_err(|error| consent_error(&error))?;
        tracing::info!(
            profile = id.as_str(),
            port = consent.port(),
            "waiting for the browser's consent"
        );
        if let Some(progress) = &progress {
            let _ = progress.send(Progress::Consent {
                url: consent.url().to_owned(),
                redirect_uri: consent.redirect_uri().to_owned(),
                timeout_s: request.timeout.as_secs(),
            });
        }
        let connected = consent
            .finish(&client)
            .await
            .map_err(|error| consent_error(&error))?;
        self.oauth
            .connected(id.as_str(), &connected)
            .await
            .map_err(|error| store_error(&error))?;
        let grant = Grant {
            client_id: client.client_id.clone(),
            scope: connected.scope.clone(),
            consented_at_ms: unix_ms(connected.consented_at),
            last_refresh_ms: Some(unix_ms(connected.consented_at)),
        };
        let grants = Arc::clone(&self.grants);
        let grant_id = id.clone();
        super::blocking(move || lock(&grants).set(&grant_id, grant)).await?;
        self.lift_pause_of(profile);
        tracing::info!(profile = id.as_str(), "the account is connected");
        Ok(self
            .token_health(profile)
            .unwrap_or_else(|| TokenHealthView::new(TokenState::Healthy)))
    }

    /// Revokes the refresh token where the server allows it, then forgets it and the grant.
    /// The client and its secret stay, so connecting again needs no file.
    async fn disconnect_oauth(
        &self,
        profile: &Profile,
    ) -> Result<(bool, Option<String>), OperationError> {
        let id = profile.id.clone();
        let token = self
            .secrets
            .get(&SecretKey::RefreshToken(id.clone()))
            .map_err(store_error)?;
        let settings = profile.oauth.as_ref();
        let (revoked, note) = match (token, settings) {
            (None, _) => (false, Some("no account was connected".to_owned())),
            (Some(_), None) => (false, Some("the profile has no OAuth client".to_owned())),
            (Some(token), Some(settings)) => match self.oauth_client(profile, settings) {
                Err(error) => (false, Some(error.message)),
                Ok(client) if client.revocation_uri.is_none() => (
                    false,
                    Some(
                        "the server has no revocation endpoint; the token was forgotten here"
                            .to_owned(),
                    ),
                ),
                Ok(client) => match oauth::revoke(&client, &token).await {
                    Ok(()) => (true, None),
                    Err(error) => (
                        false,
                        Some(format!(
                            "the server did not confirm the revocation ({error}); remove \
                             mailbridge's access at myaccount.google.com, Security, Third-party \
                             apps, if it matters"
                        )),
                    ),
                },
            },
        };
        self.forget_grant(&id).await?;
        Ok((revoked, note))
    }

    /// Forgets the profile's refresh token, grant and access token.
    pub(super) async fn forget_grant(&self, id: &ProfileId) -> Result<(), OperationError> {
        self.secrets
            .delete(&SecretKey::RefreshToken(id.clone()))
            .map_err(store_error)?;
        let grants = Arc::clone(&self.grants);
        let grant_id = id.clone();
        super::blocking(move || lock(&grants).remove(&grant_id)).await?;
        self.oauth.forget(id.as_str()).await;
        Ok(())
    }
}

/// A client file or typed client that cannot be used, as a problem naming its field.
fn client_problem(error: &ClientFileError, at: &str, message: &str) -> OperationError {
    let path = match error.field() {
        Some(field) if at == "oauth" => format!("oauth.{field}"),
        Some(field) => format!("{at}: {field}"),
        None => at.to_owned(),
    };
    let fix = match error {
        ClientFileError::NotJson { .. } | ClientFileError::NotAClientFile => {
            "download the JSON of a Desktop app client again (Google Cloud console, Google Auth \
             Platform, Clients, the client, Download JSON)"
        }
        ClientFileError::WebClient => "create a Desktop app client and load its JSON",
        _ => {
            "load the file exactly as Google Cloud downloaded it, or type the client ID and secret"
        }
    };
    OperationError::invalid(message, vec![Problem::new(path, error.to_string(), fix)])
}

fn consent_error(error: &ConsentError) -> OperationError {
    let fix = match error {
        ConsentError::Exchange(token) => match token {
            TokenError::Refused { error: oauth, .. } if oauth.error == "invalid_client" => {
                "The server does not accept the client ID and secret: load the client's JSON \
                 again (Google Cloud console, Credentials)."
            }
            token if token.is_transient() => "Check the network, then connect again.",
            _ => "Connect again; if it keeps failing, check the client and its endpoints.",
        },
        ConsentError::Listen(_) => "Check that this machine allows listening on 127.0.0.1.",
        ConsentError::TimedOut(_) => "Connect again and finish in the browser tab that opens.",
        _ => "Connect again.",
    };
    OperationError::new(ErrorKind::OAuth, error.to_string()).with_fix(fix)
}

/// The health as the page and the terminal show it.
pub fn health_view(health: &TokenHealth) -> TokenHealthView {
    let state = match health {
        TokenHealth::NotConfigured => TokenState::NotConfigured,
        TokenHealth::NeedsConsent => TokenState::NeedsConsent,
        TokenHealth::Healthy { .. } => TokenState::Healthy,
        TokenHealth::Refreshing => TokenState::Refreshing,
        TokenHealth::NetworkTrouble { .. } => TokenState::NetworkTrouble,
        TokenHealth::SignInAgain { .. } => TokenState::SignInAgain,
        TokenHealth::ClientProblem { .. } => TokenState::ClientProblem,
        TokenHealth::ScopeMissing { .. } => TokenState::ScopeMissing,
        TokenHealth::ServerRefused(_) => TokenState::ServerRefused,
    };
    let mut view = TokenHealthView::new(state);
    match health {
        TokenHealth::NotConfigured | TokenHealth::Refreshing => {}
        TokenHealth::NeedsConsent => {
            view.fix = Some("Connect the Google account.".to_owned());
        }
        TokenHealth::Healthy {
            expires_in,
            last_refresh,
            scope,
            client_id,
            warning,
        } => {
            view.expires_in_s = expires_in.map(|left| left.as_secs());
            view.last_refresh_ms = last_refresh.map(unix_ms);
            view.scope = Some(scope.clone());
            view.client_id = Some(client_id.clone());
            view.warning = warning.map(|warning| warning.to_string());
        }
        TokenHealth::NetworkTrouble { detail } => {
            view.detail = Some(detail.clone());
            view.fix = Some(
                "The refresh token is kept; the next send tries again. Check the network."
                    .to_owned(),
            );
        }
        TokenHealth::SignInAgain {
            error,
            description,
            likely_causes,
        } => {
            view.error = Some(error.clone());
            view.error_description = description.clone();
            view.likely_causes = likely_causes.iter().map(|c| c.text().to_owned()).collect();
            view.fix = Some(CONNECT_FIX.to_owned());
        }
        TokenHealth::ClientProblem {
            error,
            description,
            fix,
        } => {
            view.error = Some(error.clone());
            view.error_description = description.clone();
            view.fix = Some(fix.clone());
        }
        TokenHealth::ScopeMissing { granted, needed } => {
            view.scope = granted.clone();
            view.detail = Some(format!("mail needs the scope {needed}"));
            view.fix = Some(
                "Connect again and leave \"Read, compose, send and permanently delete all your \
                 email from Gmail\" ticked."
                    .to_owned(),
            );
        }
        TokenHealth::ServerRefused(refusal) => {
            view.detail = Some(refusal.challenge.clone());
            view.scope = refusal.scope.clone();
            view.fix = Some(
                "The mail server refused a fresh token too: check that the profile's username \
                 is the account that gave consent, that IMAP/SMTP access is allowed for it, and \
                 connect again."
                    .to_owned(),
            );
        }
    }
    view
}

/// How long ago `ms` (Unix milliseconds) was, for the terminal.
pub fn ago(ms: u64) -> Duration {
    SystemTime::now()
        .duration_since(UNIX_EPOCH + Duration::from_millis(ms))
        .unwrap_or_default()
}
