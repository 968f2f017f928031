//! OAuth sign-in for a profile: the client the user brings, and the token's health as the
//! profile list, the profile page and `mailbridge oauth status` show it.
//!
//! The client secret travels only from the page to the bridge, as a [`Secret`]; the refresh
//! and access tokens never leave the bridge.

use serde::{Deserialize, Serialize};

use crate::secret::Secret;

/// The OAuth client, as the user gives it to a profile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OAuthClientInput {
    /// The `client_secret.json` Google Cloud downloads for a Desktop app client, whole. It
    /// holds the client secret, so it is a [`Secret`] too.
    File { json: Secret },
    /// The client ID and secret typed or pasted in.
    Typed {
        client_id: String,
        client_secret: Secret,
    },
}

/// The states of an account's tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenState {
    /// The profile has no OAuth client.
    NotConfigured,
    /// There is a client but no refresh token: the account has to be connected.
    NeedsConsent,
    Healthy,
    /// A refresh is under way.
    Refreshing,
    /// The token endpoint could not be asked; the refresh token is kept.
    NetworkTrouble,
    /// The refresh token no longer works: connect the account again.
    SignInAgain,
    /// The OAuth client itself is refused or unsuitable.
    ClientProblem,
    /// The grant lacks the mail scope.
    ScopeMissing,
    /// The mail server refused the access token at AUTH.
    ServerRefused,
}

impl TokenState {
    /// The state's name in words.
    pub fn title(self) -> &'static str {
        match self {
            TokenState::NotConfigured => "not configured",
            TokenState::NeedsConsent => "needs consent",
            TokenState::Healthy => "healthy",
            TokenState::Refreshing => "refreshing",
            TokenState::NetworkTrouble => "network trouble",
            TokenState::SignInAgain => "sign in again",
            TokenState::ClientProblem => "client problem",
            TokenState::ScopeMissing => "scope missing",
            TokenState::ServerRefused => "server refused the token",
        }
    }

    /// Whether sending works in this state (perhaps after a retry).
    pub fn can_send(self) -> bool {
        matches!(
            self,
            TokenState::Healthy | TokenState::Refreshing | TokenState::NetworkTrouble
        )
    }
}

/// An account's token health, flat so that the page and the terminal show the same fields.
/// It holds no secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenHealthView {
    pub state: TokenState,
    /// The client ID, when the profile has a client.
    #[serde(default)]
    pub client_id: Option<String>,
    /// Whether the bridge holds the client's secret.
    #[serde(default)]
    pub client_secret_stored: bool,
    /// Seconds the access token in memory has left (healthy).
    #[serde(default)]
    pub expires_in_s: Option<u64>,
    /// The last refresh that worked, in Unix milliseconds.
    #[serde(default)]
    pub last_refresh_ms: Option<u64>,
    /// When consent was given, in Unix milliseconds.
    #[serde(default)]
    pub consented_at_ms: Option<u64>,
    /// The scope granted (healthy), or the one granted without the mail scope.
    #[serde(default)]
    pub scope: Option<String>,
    /// The server's `error` code, word for word (sign in again, client problem).
    #[serde(default)]
    pub error: Option<String>,
    /// The server's `error_description`, word for word.
    #[serde(default)]
    pub error_description: Option<String>,
    /// Why it may have happened, most likely first.
    #[serde(default)]
    pub likely_causes: Vec<String>,
    /// What to do.
    #[serde(default)]
    pub fix: Option<String>,
    /// A warning for a healthy token: a refresh token that may die soon.
    #[serde(default)]
    pub warning: Option<String>,
    /// More about the state: the network error, or the mail server's decoded refusal.
    #[serde(default)]
    pub detail: Option<String>,
}

impl TokenHealthView {
    pub fn new(state: TokenState) -> TokenHealthView {
        TokenHealthView {
            state,
            client_id: None,
            client_secret_stored: false,
            expires_in_s: None,
            last_refresh_ms: None,
            consented_at_ms: None,
            scope: None,
            error: None,
            error_description: None,
            likely_causes: Vec::new(),
            fix: None,
            warning: None,
            detail: None,
        }
    }
}
