//! How an account's OAuth tokens are doing, in the states the profile list, the profile page and
//! `mailbridge oauth status` show, and Google's token errors sorted into them.
//!
//! Errors are classified on the `error` code, never on `error_description`, which Google words
//! differently over time and translates; the description is only shown.

use std::fmt;
use std::time::{Duration, SystemTime};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::Value;

use super::endpoint::TokenError;

const DAY: Duration = Duration::from_secs(24 * 60 * 60);
/// A refresh token of a consent screen in "Testing" dies this long after consent.
const TESTING_LIFETIME: Duration = Duration::from_secs(7 * 24 * 60 * 60);
/// Warn this long after consent, a day before a Testing token dies.
const WARN_AFTER: Duration = Duration::from_secs(6 * 24 * 60 * 60);
/// Google drops a refresh token unused for six months.
const UNUSED_LIFETIME: Duration = Duration::from_secs(182 * 24 * 60 * 60);

/// What the bridge knows about an account's grant that is not secret: kept beside the
/// profile, fed to [`TokenHealth`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrantInfo {
    pub client_id: String,
    /// The scope mail needs, which a healthy grant has.
    pub scope: String,
    /// When consent was last given; a refresh token's life starts there.
    pub consented_at: SystemTime,
    /// The last refresh that worked.
    pub last_refresh: Option<SystemTime>,
}

impl GrantInfo {
    /// Whether a refresh has worked more than 7 days after consent, which a consent screen in
    /// Testing never allows: the app is published.
    fn outlived_testing(&self) -> bool {
        self.last_refresh.is_some_and(|refreshed| {
            refreshed
                .duration_since(self.consented_at)
                .is_ok_and(|after| after >= TESTING_LIFETIME)
        })
    }

    fn age(&self, now: SystemTime) -> Duration {
        now.duration_since(self.consented_at).unwrap_or_default()
    }
}

/// An account's token health.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenHealth {
    /// The profile has no OAuth client.
    NotConfigured,
    /// There is a client but no refresh token: the account has to be connected.
    NeedsConsent,
    Healthy {
        /// How long the access token in memory has left; `None` before the first one.
        expires_in: Option<Duration>,
        last_refresh: Option<SystemTime>,
        /// The scope granted.
        scope: String,
        client_id: String,
        /// Set when the refresh token may be about to die.
        warning: Option<AgeWarning>,
    },
    /// A refresh is under way.
    Refreshing,
    /// The token endpoint (or the secret store) could not be asked. The refresh token is kept
    /// and the next use tries again.
    NetworkTrouble { detail: String },
    /// The refresh token no longer works: the account has to be connected again.
    SignInAgain {
        /// Google's `error`, e.g. `invalid_grant`.
        error: String,
        /// Google's `error_description`, word for word.
        description: Option<String>,
        /// Why it may have happened, most likely first.
        likely_causes: Vec<LikelyCause>,
    },
    /// The OAuth client itself is refused or unsuitable; connecting again will not help.
    ClientProblem {
        error: String,
        description: Option<String>,
        fix: String,
    },
    /// The grant lacks the mail scope.
    ScopeMissing {
        granted: Option<String>,
        needed: String,
    },
    /// The mail server refused the access token at AUTH (XOAUTH2's or OAUTHBEARER's JSON
    /// challenge).
    ServerRefused(ServerRefusal),
}

/// Why a refresh token may have stopped working.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LikelyCause {
    /// About 7 days since consent: the Google Cloud consent screen is in "Testing".
    TestingConsentScreen,
    /// Unused for six months.
    UnusedSixMonths,
    /// Access was removed at myaccount.google.com/permissions.
    RevokedByUser,
    /// The account's password changed (Gmail scopes lose their tokens then).
    PasswordChanged,
    /// More than 100 refresh tokens for one client and account: the oldest goes silently.
    TooManyRefreshTokens,
}

impl LikelyCause {
    pub fn text(self) -> &'static str {
        match self {
            LikelyCause::TestingConsentScreen => {
                "about 7 days have passed since consent, so the consent screen is probably in \
                 Testing, where refresh tokens die after 7 days: publish the app (Google Cloud \
                 console, Google Auth Platform, Audience, Publish app), then connect again"
            }
            LikelyCause::UnusedSixMonths => {
                "the token was not used for 6 months, and Google drops unused tokens"
            }
            LikelyCause::RevokedByUser => {
                "access was removed in the Google account (myaccount.google.com, Security, \
                 Third-party apps)"
            }
            LikelyCause::PasswordChanged => {
                "the account's password was changed, which ends tokens for Gmail"
            }
            LikelyCause::TooManyRefreshTokens => {
                "the account was connected to this client more than 100 times (on other \
                 machines too), and Google drops the oldest token without saying"
            }
        }
    }
}

/// A refresh token that will die in a day or so if the consent screen is in Testing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AgeWarning {
    /// The time since consent.
    pub age: Duration,
}

impl fmt::Display for AgeWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let when = match TESTING_LIFETIME.checked_sub(self.age) {
            Some(left) if left >= Duration::from_secs(3600) => {
                format!("in about {} hours", left.as_secs() / 3600)
            }
            Some(_) => "within the hour".to_owned(),
            None => "any time now".to_owned(),
        };
        write!(
            f,
            "consent was given {} days ago and not renewed since; if the consent screen is in \
             Testing, the token stops working 7 days after consent, {when}: publish the app \
             (Google Auth Platform, Audience, Publish app) or connect again",
            self.age.as_secs() / DAY.as_secs()
        )
    }
}

/// The mail server's refusal of a token: the decoded JSON of its `334` challenge, e.g.
/// `{"status":"400","schemes":"Bearer","scope":"https://mail.google.com/"}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerRefusal {
    pub status: Option<String>,
    pub scope: Option<String>,
    /// The challenge as decoded, or as sent when it does not decode.
    pub challenge: String,
}

impl ServerRefusal {
    /// From the base64 text after `334 `.
    pub fn from_challenge(base64: &str) -> ServerRefusal {
        let decoded = STANDARD
            .decode(base64.trim())
            .ok()
            .and_then(|bytes| String::from_utf8(bytes).ok());
        let Some(decoded) = decoded else {
            return ServerRefusal {
                status: None,
                scope: None,
                challenge: base64.trim().chars().take(200).collect(),
            };
        };
        let json = serde_json::from_str::<Value>(&decoded).ok();
        // `status` is opaque: Gmail has sent both "400" and "401", as strings or numbers.
        let field = |name: &str| match json.as_ref()?.get(name)? {
            Value::String(text) => Some(text.clone()),
            Value::Number(number) => Some(number.to_string()),
            _ => None,
        };
        ServerRefusal {
            status: field("status"),
            scope: field("scope"),
            challenge: decoded.chars().take(200).collect(),
        }
    }
}

impl TokenHealth {
    /// A healthy grant, with the warning when its refresh token may be about to die.
    pub fn healthy(
        grant: &GrantInfo,
        expires_in: Option<Duration>,
        now: SystemTime,
    ) -> TokenHealth {
        TokenHealth::Healthy {
            expires_in,
            last_refresh: grant.last_refresh,
            scope: grant.scope.clone(),
            client_id: grant.client_id.clone(),
            warning: age_warning(grant, now),
        }
    }

    /// The health after a refresh failed with `error`.
    pub fn after_error(error: &TokenError, grant: &GrantInfo, now: SystemTime) -> TokenHealth {
        if error.is_transient() {
            return TokenHealth::NetworkTrouble {
                detail: error.to_string(),
            };
        }
        match error {
            TokenError::Refused { error, .. } => {
                let client_problem = |fix: &str| TokenHealth::ClientProblem {
                    error: error.error.clone(),
                    description: error.description.clone(),
                    fix: fix.to_owned(),
                };
                match error.error.as_str() {
                    "invalid_grant" => TokenHealth::SignInAgain {
                        error: error.error.clone(),
                        description: error.description.clone(),
                        likely_causes: likely_causes(grant, now),
                    },
                    "invalid_scope" => TokenHealth::ScopeMissing {
                        granted: None,
                        needed: grant.scope.clone(),
                    },
                    "invalid_client" => client_problem(
                        "the server does not accept this client ID and secret: the client may \
                         have been deleted or its secret reset; download the client's JSON \
                         again (Google Cloud console, Credentials) and load it into the profile",
                    ),
                    "unauthorized_client" => client_problem(
                        "this client may not use refresh tokens, or the token belongs to \
                         another client: check that the profile has the Desktop app client it \
                         was connected with, then connect again",
                    ),
                    "redirect_uri_mismatch" => client_problem(
                        "the client does not accept mailbridge's loopback redirect, so it is \
                         not a Desktop app client: create one (Credentials, Create \
                         credentials, OAuth client ID, Desktop app) and use its JSON",
                    ),
                    "disabled_client" | "deleted_client" => client_problem(
                        "the client was disabled or deleted in the Google Cloud console: \
                         enable it, or create a new Desktop app client and use its JSON",
                    ),
                    "org_internal" => client_problem(
                        "the client's consent screen is Internal to another Google Workspace \
                         organisation: use an account of that organisation, or your own client",
                    ),
                    "admin_policy_enforced" => client_problem(
                        "the Google Workspace administrator does not allow this app: ask them \
                         to trust the client ID (Admin console, Security, API controls)",
                    ),
                    // Any other code: show Google's words, and reconnecting is the way out.
                    _ => TokenHealth::SignInAgain {
                        error: error.error.clone(),
                        description: error.description.clone(),
                        likely_causes: Vec::new(),
                    },
                }
            }
            TokenError::NoRefreshToken { .. } => TokenHealth::NeedsConsent,
            TokenError::ScopeMissing { granted, needed } => TokenHealth::ScopeMissing {
                granted: Some(granted.clone()),
                needed: needed.clone(),
            },
            TokenError::Network(detail) | TokenError::Store(detail) => {
                TokenHealth::NetworkTrouble {
                    detail: detail.clone(),
                }
            }
            TokenError::BadEndpoint { .. } | TokenError::Unexpected { .. } => {
                TokenHealth::ClientProblem {
                    error: "unexpected answer".to_owned(),
                    description: Some(error.to_string()),
                    fix: "check the profile's OAuth endpoints".to_owned(),
                }
            }
        }
    }

    /// The state's name, as the profile list shows it.
    pub fn title(&self) -> &'static str {
        match self {
            TokenHealth::NotConfigured => "not configured",
            TokenHealth::NeedsConsent => "needs consent",
            TokenHealth::Healthy { .. } => "healthy",
            TokenHealth::Refreshing => "refreshing",
            TokenHealth::NetworkTrouble { .. } => "network trouble",
            TokenHealth::SignInAgain { .. } => "sign in again",
            TokenHealth::ClientProblem { .. } => "client problem",
            TokenHealth::ScopeMissing { .. } => "scope missing",
            TokenHealth::ServerRefused(_) => "server refused the token",
        }
    }
}

/// The warning for a refresh token 6 days or more past consent that has not yet shown it
/// outlives a consent screen in Testing.
fn age_warning(grant: &GrantInfo, now: SystemTime) -> Option<AgeWarning> {
    let age = grant.age(now);
    (age >= WARN_AFTER && !grant.outlived_testing()).then_some(AgeWarning { age })
}

fn likely_causes(grant: &GrantInfo, now: SystemTime) -> Vec<LikelyCause> {
    let mut causes = Vec::new();
    // A Testing token dies at 7 days exactly; an hour's slack covers clocks.
    if grant.age(now) + Duration::from_secs(3600) >= TESTING_LIFETIME && !grant.outlived_testing() {
        causes.push(LikelyCause::TestingConsentScreen);
    }
    let last_use = grant.last_refresh.unwrap_or(grant.consented_at);
    if now
        .duration_since(last_use)
        .is_ok_and(|idle| idle >= UNUSED_LIFETIME)
    {
        causes.push(LikelyCause::UnusedSixMonths);
    }
    causes.extend([
        LikelyCause::RevokedByUser,
        LikelyCause::PasswordChanged,
        LikelyCause::TooManyRefreshTokens,
    ]);
    causes
}

impl fmt::Display for TokenHealth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.title())?;
        match self {
            TokenHealth::NotConfigured => f.write_str(": the profile has no OAuth client"),
            TokenHealth::NeedsConsent => f.write_str(": connect the Google account"),
            TokenHealth::Healthy {
                expires_in,
                scope,
                client_id,
                warning,
                ..
            } => {
                match expires_in {
                    Some(left) => write!(f, ": the access token expires in {} s", left.as_secs())?,
                    None => f.write_str(": no access token fetched yet")?,
                }
                write!(f, "; scope {scope}; client {client_id}")?;
                if let Some(warning) = warning {
                    write!(f, "; warning: {warning}")?;
                }
                Ok(())
            }
            TokenHealth::Refreshing => Ok(()),
            TokenHealth::NetworkTrouble { detail } => {
                write!(f, ": {detail}; the refresh token is kept and used again")
            }
            TokenHealth::SignInAgain {
                error,
                description,
                likely_causes,
            } => {
                write!(f, ": the server said {error}")?;
                if let Some(description) = description {
                    write!(f, " ({description:?})")?;
                }
                if let Some((first, others)) = likely_causes.split_first() {
                    write!(f, "; likely: {}", first.text())?;
                    for other in others {
                        write!(f, "; or {}", other.text())?;
                    }
                }
                Ok(())
            }
            TokenHealth::ClientProblem {
                error,
                description,
                fix,
            } => {
                write!(f, ": {error}")?;
                if let Some(description) = description {
                    write!(f, " ({description:?})")?;
                }
                write!(f, "; {fix}")
            }
            TokenHealth::ScopeMissing { granted, needed } => {
                write!(f, ": mail needs {needed}")?;
                if let Some(granted) = granted {
                    write!(f, ", the grant has {granted:?}")?;
                }
                f.write_str("; connect again and leave the mail permission ticked")
            }
            TokenHealth::ServerRefused(refusal) => {
                write!(f, ": {}", refusal.challenge)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::endpoint::OAuthError;
    use super::*;

    fn at(days: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000) + DAY * days as u32
    }

    fn grant(last_refresh_day: Option<u64>) -> GrantInfo {
        GrantInfo {
            client_id: "1.apps.googleusercontent.com".to_owned(),
            scope: "https://mail.google.com/".to_owned(),
            consented_at: at(0),
            last_refresh: last_refresh_day.map(at),
        }
    }

    fn refused(error: &str) -> TokenError {
        TokenError::Refused {
            endpoint: "oauth2.googleapis.com".to_owned(),
            status: 400,
            error: OAuthError {
                error: error.to_owned(),
                description: Some("Token has been expired or revoked.".to_owned()),
                uri: None,
            },
        }
    }

    #[test]
    fn googles_errors_are_classified_on_the_code() {
        let check = |error: TokenError, title: &str| {
            let health = TokenHealth::after_error(&error, &grant(Some(1)), at(2));
            assert_eq!(health.title(), title, "for {error}: {health}");
        };
        check(refused("invalid_grant"), "sign in again");
        check(refused("invalid_client"), "client problem");
        check(refused("unauthorized_client"), "client problem");
        check(refused("redirect_uri_mismatch"), "client problem");
        check(refused("deleted_client"), "client problem");
        check(refused("admin_policy_enforced"), "client problem");
        check(refused("invalid_scope"), "scope missing");
        check(refused("temporarily_unavailable"), "network trouble");
        check(refused("server_error"), "network trouble");
        check(refused("something_new"), "sign in again");
        check(
            TokenError::Network("cannot connect to oauth2.googleapis.com".to_owned()),
            "network trouble",
        );
        check(
            TokenError::Unexpected {
                endpoint: "x".to_owned(),
                status: 503,
                what: "an empty body".to_owned(),
            },
            "network trouble",
        );
        check(
            TokenError::Unexpected {
                endpoint: "x".to_owned(),
                status: 404,
                what: "an empty body".to_owned(),
            },
            "client problem",
        );
        check(
            TokenError::NoRefreshToken {
                account: "a".to_owned(),
            },
            "needs consent",
        );
    }

    #[test]
    fn sign_in_again_keeps_googles_words_and_says_why() {
        let health = TokenHealth::after_error(&refused("invalid_grant"), &grant(None), at(2));
        assert_eq!(
            health,
            TokenHealth::SignInAgain {
                error: "invalid_grant".to_owned(),
                description: Some("Token has been expired or revoked.".to_owned()),
                likely_causes: vec![
                    LikelyCause::RevokedByUser,
                    LikelyCause::PasswordChanged,
                    LikelyCause::TooManyRefreshTokens
                ],
            }
        );
        assert!(
            health
                .to_string()
                .starts_with("sign in again: the server said invalid_grant (\"Token has been"),
            "{health}"
        );
    }

    #[test]
    fn the_likely_cause_follows_the_tokens_age() {
        use LikelyCause::*;
        let check = |last_refresh: Option<u64>, now: u64, first: LikelyCause| {
            let causes = likely_causes(&grant(last_refresh), at(now));
            assert_eq!(
                causes.first(),
                Some(&first),
                "refreshed {last_refresh:?}, day {now}"
            );
        };
        check(None, 7, TestingConsentScreen);
        check(Some(6), 7, TestingConsentScreen);
        check(Some(6), 30, TestingConsentScreen);
        // A refresh that worked on day 8 proves the app is published.
        check(Some(8), 9, RevokedByUser);
        check(Some(8), 200, UnusedSixMonths);
        check(Some(1), 3, RevokedByUser);
    }

    #[test]
    fn a_six_day_old_token_not_proven_published_is_warned_about() {
        let check = |last_refresh: Option<u64>, now: u64, warned: bool| {
            let warning = age_warning(&grant(last_refresh), at(now));
            assert_eq!(
                warning.is_some(),
                warned,
                "refreshed {last_refresh:?}, day {now}"
            );
        };
        check(None, 5, false);
        check(None, 6, true);
        check(Some(5), 6, true);
        check(Some(6), 10, true);
        check(Some(7), 10, false);
        let warning = age_warning(&grant(None), at(6));
        assert_eq!(
            warning.map(|w| w.to_string()),
            Some(
                "consent was given 6 days ago and not renewed since; if the consent screen is \
                 in Testing, the token stops working 7 days after consent, in about 24 hours: \
                 publish the app (Google Auth Platform, Audience, Publish app) or connect again"
                    .to_owned()
            )
        );
        let healthy = TokenHealth::healthy(&grant(Some(5)), Some(Duration::from_secs(3500)), at(6));
        assert!(
            matches!(
                &healthy,
                TokenHealth::Healthy {
                    warning: Some(_),
                    ..
                }
            ),
            "{healthy:?}"
        );
    }

    #[test]
    fn a_334_challenge_is_decoded() {
        let challenge = STANDARD
            .encode(r#"{"status":"400","schemes":"Bearer","scope":"https://mail.google.com/"}"#);
        let refusal = ServerRefusal::from_challenge(&challenge);
        assert_eq!(refusal.status.as_deref(), Some("400"));
        assert_eq!(refusal.scope.as_deref(), Some("https://mail.google.com/"));
        let numeric = ServerRefusal::from_challenge(&STANDARD.encode(r#"{"status":401}"#));
        assert_eq!(numeric.status.as_deref(), Some("401"));
        let garbage = ServerRefusal::from_challenge("not base64!");
        assert_eq!(
            (garbage.status, garbage.challenge.as_str()),
            (None, "not base64!")
        );
    }
}
