//! Access tokens in memory, per account: refreshed [`REFRESH_BEFORE_EXPIRY`] before they
//! expire, one refresh at a time per account however many sends ask at once.
//!
//! The refresh token stays in the bridge's secret store, read through [`RefreshTokens`] each
//! time one is needed (another process may have reconnected the account). A refresh token the
//! server refused with `invalid_grant` is not sent again: every later call gets the same
//! "sign in again" until consent stores a new one.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use protocol::Secret;
use tokio::time::Instant;

use super::client::OAuthClient;
use super::consent::Connected;
use super::endpoint::{self, TokenError, Tokens};
use super::health::{GrantInfo, ServerRefusal, TokenHealth};
use crate::lock;
use crate::store::StoreError;

/// How long before its expiry an access token is replaced. A token that lives less than twice
/// this is replaced halfway through its life instead.
pub const REFRESH_BEFORE_EXPIRY: Duration = Duration::from_secs(60);

/// Where refresh tokens are kept: the bridge implements it over its secret store. Calls may
/// block; they are made on tokio's blocking threads.
pub trait RefreshTokens: Send + Sync {
    /// The account's refresh token, or `None` when it was never connected.
    fn get(&self, account: &str) -> Result<Option<Secret>, StoreError>;
    /// Keeps `refresh_token` for the account, replacing any before it.
    fn set(&self, account: &str, refresh_token: &Secret) -> Result<(), StoreError>;
    /// Notes that a refresh worked at `at`, for the token's health across restarts.
    fn refreshed(&self, _account: &str, _at: SystemTime) {}
}

#[derive(Debug, Clone)]
pub struct TokenConfig {
    /// See [`REFRESH_BEFORE_EXPIRY`].
    pub refresh_before: Duration,
}

impl Default for TokenConfig {
    fn default() -> TokenConfig {
        TokenConfig {
            refresh_before: REFRESH_BEFORE_EXPIRY,
        }
    }
}

/// The access-token cache for every account.
pub struct AccessTokens {
    store: Arc<dyn RefreshTokens>,
    config: TokenConfig,
    accounts: Mutex<HashMap<String, Arc<Account>>>,
}

#[derive(Default)]
struct Account {
    /// Held while the cache is looked at or a refresh is in flight: one at a time.
    flight: tokio::sync::Mutex<Flight>,
    /// Counts finished flights, so a caller that waited for one can use its outcome instead
    /// of starting another.
    flights: AtomicU64,
    /// What the last flight did, readable without waiting for the next one.
    status: Mutex<Status>,
}

#[derive(Default)]
struct Flight {
    cached: Option<Cached>,
    /// The last flight's failure, for the callers that waited on it.
    failed: Option<TokenError>,
    /// A refresh token refused with `invalid_grant`, and that answer.
    refused: Option<(Secret, TokenError)>,
}

struct Cached {
    token: Secret,
    expires_at: Instant,
    lifetime: Duration,
}

#[derive(Default, Clone)]
struct Status {
    last_refresh: Option<SystemTime>,
    scope: Option<String>,
    expires_at: Option<Instant>,
    error: Option<TokenError>,
    /// The mail server's refusal of the newest token, until a token is accepted again.
    refused: Option<ServerRefusal>,
}

impl Cached {
    fn new(tokens: &Tokens) -> Cached {
        Cached {
            token: tokens.access_token.clone(),
            expires_at: tokens.expires_at,
            lifetime: tokens.expires_in,
        }
    }

    /// Whether the token can be used without a refresh first.
    fn fresh(&self, now: Instant, refresh_before: Duration) -> bool {
        now + refresh_before.min(self.lifetime / 2) < self.expires_at
    }

    fn unexpired(&self, now: Instant) -> bool {
        now < self.expires_at
    }
}

impl AccessTokens {
    pub fn new(store: Arc<dyn RefreshTokens>, config: TokenConfig) -> AccessTokens {
        AccessTokens {
            store,
            config,
            accounts: Mutex::new(HashMap::new()),
        }
    }

    /// A usable access token for `account`: the one in memory, or a new one from a refresh that
    /// every caller asking meanwhile shares.
    pub async fn access_token(
        &self,
        account: &str,
        client: &OAuthClient,
    ) -> Result<Secret, TokenError> {
        self.token(account, client, None).await
    }

    /// A token other than `rejected`, which the mail server refused at AUTH: refreshed, unless
    /// another caller already replaced it.
    pub async fn after_rejection(
        &self,
        account: &str,
        client: &OAuthClient,
        rejected: &Secret,
    ) -> Result<Secret, TokenError> {
        self.token(account, client, Some(rejected)).await
    }

    /// Keeps what consent gave: the refresh token into the store, the access token in memory.
    pub async fn connected(&self, account: &str, connected: &Connected) -> Result<(), TokenError> {
        let store = Arc::clone(&self.store);
        let (name, token) = (account.to_owned(), connected.refresh_token.clone());
        blocking(move || store.set(&name, &token)).await?;
        let entry = self.account(account);
        let mut flight = entry.flight.lock().await;
        *flight = Flight {
            cached: Some(Cached::new(&connected.tokens)),
            failed: None,
            refused: None,
        };
        entry.flights.fetch_add(1, Ordering::AcqRel);
        *lock(&entry.status) = Status {
            last_refresh: Some(connected.consented_at),
            scope: Some(connected.scope.clone()),
            expires_at: Some(connected.tokens.expires_at),
            error: None,
            refused: None,
        };
        Ok(())
    }

    /// Notes that the mail server refused the account's token at AUTH (after one refresh and
    /// retry), so its health says so until a token is accepted.
    pub fn server_refused(&self, account: &str, refusal: ServerRefusal) {
        lock(&self.account(account).status).refused = Some(refusal);
    }

    /// Notes that the mail server accepted the account's token.
    pub fn server_accepted(&self, account: &str) {
        lock(&self.account(account).status).refused = None;
    }

    /// Forgets the account's access token and what its last refresh said (on disconnect); the
    /// refresh token in the store is the caller's to delete.
    pub async fn forget(&self, account: &str) {
        let entry = self.account(account);
        *entry.flight.lock().await = Flight::default();
        entry.flights.fetch_add(1, Ordering::AcqRel);
        *lock(&entry.status) = Status::default();
    }

    /// The account's token health. `grant` is `None` for a profile without an OAuth client.
    pub async fn health(&self, account: &str, grant: Option<&GrantInfo>) -> TokenHealth {
        let store = Arc::clone(&self.store);
        let name = account.to_owned();
        let stored = blocking(move || store.get(&name).map(|token| token.is_some())).await;
        self.health_given(account, grant, stored)
    }

    /// The account's token health, given whether a refresh token is stored (read by the
    /// caller, which may already be on a blocking thread).
    pub fn health_given(
        &self,
        account: &str,
        grant: Option<&GrantInfo>,
        stored: Result<bool, TokenError>,
    ) -> TokenHealth {
        let Some(grant) = grant else {
            return TokenHealth::NotConfigured;
        };
        let entry = self.account(account);
        if entry.flight.try_lock().is_err() {
            return TokenHealth::Refreshing;
        }
        let status = lock(&entry.status).clone();
        let grant = GrantInfo {
            last_refresh: grant.last_refresh.max(status.last_refresh),
            scope: status.scope.unwrap_or_else(|| grant.scope.clone()),
            ..grant.clone()
        };
        let now = SystemTime::now();
        if let Some(error) = &status.error {
            return TokenHealth::after_error(error, &grant, now);
        }
        match stored {
            Ok(false) => TokenHealth::NeedsConsent,
            Ok(true) => {
                if let Some(refusal) = status.refused {
                    return TokenHealth::ServerRefused(refusal);
                }
                let left = status
                    .expires_at
                    .map(|at| at.saturating_duration_since(Instant::now()));
                TokenHealth::healthy(&grant, left, now)
            }
            Err(error) => TokenHealth::after_error(&error, &grant, now),
        }
    }

    async fn token(
        &self,
        account: &str,
        client: &OAuthClient,
        rejected: Option<&Secret>,
    ) -> Result<Secret, TokenError> {
        let entry = self.account(account);
        let seen = entry.flights.load(Ordering::Acquire);
        let mut flight = entry.flight.lock().await;
        let waited = entry.flights.load(Ordering::Acquire) != seen;
        let now = Instant::now();
        if let Some(cached) = &flight.cached {
            let acceptable = rejected.is_none_or(|rejected| *rejected != cached.token);
            // A token a flight we waited for just fetched is used even if it lives so briefly
            // that it is already due again; otherwise each waiter would refresh in turn.
            if acceptable
                && (cached.fresh(now, self.config.refresh_before)
                    || (waited && cached.unexpired(now)))
            {
                return Ok(cached.token.clone());
            }
        }
        if waited && let Some(error) = &flight.failed {
            return Err(error.clone());
        }
        let outcome = self.refresh(account, client, &mut flight).await;
        entry.flights.fetch_add(1, Ordering::AcqRel);
        let mut status = lock(&entry.status);
        match &outcome {
            Ok(tokens) => {
                let now = SystemTime::now();
                *status = Status {
                    last_refresh: Some(now),
                    scope: Some(tokens.scope.clone().unwrap_or_else(|| client.scope.clone())),
                    expires_at: Some(tokens.expires_at),
                    error: None,
                    refused: status.refused.take(),
                };
                let store = Arc::clone(&self.store);
                let name = account.to_owned();
                // Only a timestamp: written off the async threads, and not waited for.
                tokio::task::spawn_blocking(move || store.refreshed(&name, now));
            }
            Err(error) => {
                status.error = Some(error.clone());
                flight.failed = Some(error.clone());
            }
        }
        drop(status);
        match outcome {
            Ok(tokens) => Ok(tokens.access_token),
            Err(error) => {
                // A token still inside its life is better than none while the network is down.
                if let Some(cached) = &flight.cached
                    && error.is_transient()
                    && cached.unexpired(Instant::now())
                    && rejected.is_none_or(|rejected| *rejected != cached.token)
                {
                    return Ok(cached.token.clone());
                }
                Err(error)
            }
        }
    }

    /// One refresh, with the account's flight held.
    async fn refresh(
        &self,
        account: &str,
        client: &OAuthClient,
        flight: &mut Flight,
    ) -> Result<Tokens, TokenError> {
        let store = Arc::clone(&self.store);
        let name = account.to_owned();
        let Some(refresh_token) = blocking(move || store.get(&name)).await? else {
            return Err(TokenError::NoRefreshToken {
                account: account.to_owned(),
            });
        };
        if let Some((refused, error)) = &flight.refused
            && *refused == refresh_token
        {
            return Err(error.clone());
        }
        tracing::debug!(account, "refreshing the access token");
        let result = match endpoint::refresh(client, &refresh_token).await {
            Ok(tokens) if !tokens.grants(&client.scope) => Err(TokenError::ScopeMissing {
                granted: tokens.scope.clone().unwrap_or_default(),
                needed: client.scope.clone(),
            }),
            other => other,
        };
        match result {
            Ok(tokens) => {
                // A server that rotates refresh tokens sends a new one; the old may be dead.
                if let Some(rotated) = tokens.refresh_token.clone()
                    && rotated != refresh_token
                {
                    let store = Arc::clone(&self.store);
                    let name = account.to_owned();
                    if let Err(error) = blocking(move || store.set(&name, &rotated)).await {
                        tracing::warn!(account, %error, "the new refresh token could not be stored");
                    }
                }
                *flight = Flight {
                    cached: Some(Cached::new(&tokens)),
                    failed: None,
                    refused: None,
                };
                Ok(tokens)
            }
            Err(error) => {
                tracing::info!(account, %error, "the access token could not be refreshed");
                if error
                    .oauth_error()
                    .is_some_and(|oauth| oauth.error == "invalid_grant")
                {
                    flight.refused = Some((refresh_token, error.clone()));
                }
                Err(error)
            }
        }
    }

    fn account(&self, account: &str) -> Arc<Account> {
        let mut accounts = lock(&self.accounts);
        Arc::clone(accounts.entry(account.to_owned()).or_default())
    }
}

/// A secret-store call on a blocking thread; its error in words (store errors hold no secret).
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, TokenError> {
    match tokio::task::spawn_blocking(work).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(error)) => Err(TokenError::Store(error.to_string())),
        Err(_) => Err(TokenError::Store(
            "the secret store stopped while reading the refresh token".to_owned(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_is_replaced_a_minute_early_or_halfway_through_a_short_life() {
        let now = Instant::now();
        let check = |lifetime: u64, left: u64, fresh: bool| {
            let cached = Cached {
                token: Secret::new("t"),
                expires_at: now + Duration::from_secs(left),
                lifetime: Duration::from_secs(lifetime),
            };
            assert_eq!(
                cached.fresh(now, REFRESH_BEFORE_EXPIRY),
                fresh,
                "lifetime {lifetime} s, {left} s left"
            );
        };
        check(3599, 3599, true);
        check(3599, 61, true);
        check(3599, 60, false);
        check(3599, 0, false);
        // A token of 3 s is replaced after 1.5 s, not at once.
        check(3, 3, true);
        check(3, 2, true);
        check(3, 1, false);
        check(0, 0, false);
    }
}
