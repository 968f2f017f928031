//! The token endpoint (RFC 6749 section 4.1.3 and 6) and revocation (RFC 7009): the code
//! exchange, the refresh, and their answers, with the server's error kept word for word.

use std::fmt;
use std::time::Duration;

use protocol::Secret;
use serde_json::{Map, Value};
use tokio::time::Instant;

use super::client::OAuthClient;
use super::http::{self, Answer, Endpoint};

/// What a token endpoint gave: the access token, how long it lives, and possibly a refresh
/// token and the scope granted.
#[derive(Debug, Clone)]
pub struct Tokens {
    pub access_token: Secret,
    /// `Bearer`, as the server spelled it.
    pub token_type: String,
    /// The server's `expires_in`, never a constant.
    pub expires_in: Duration,
    /// `expires_in` counted from when the request was sent, so it errs early.
    pub expires_at: Instant,
    /// Sent on the code exchange (and on a refresh only if the server rotates them).
    pub refresh_token: Option<Secret>,
    /// The scope granted, space-separated; `None` means the scope asked for (RFC 6749 5.1).
    pub scope: Option<String>,
}

impl Tokens {
    /// Whether `scope` is among those granted.
    pub fn grants(&self, scope: &str) -> bool {
        self.scope
            .as_deref()
            .is_none_or(|granted| granted.split(' ').any(|s| s == scope))
    }
}

/// An OAuth error answer (RFC 6749 section 5.2), in the server's exact words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthError {
    /// The code, e.g. `invalid_grant`: what to act on.
    pub error: String,
    /// The server's explanation, e.g. "Token has been expired or revoked.": what to show.
    pub description: Option<String>,
    pub uri: Option<String>,
}

impl fmt::Display for OAuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.error)?;
        if let Some(description) = &self.description {
            write!(f, " ({description:?})")?;
        }
        Ok(())
    }
}

impl OAuthError {
    /// The error of a JSON answer: `{"error": "...", "error_description": "...", ...}`.
    pub(super) fn from_json(object: &Map<String, Value>) -> Option<OAuthError> {
        let text = |name: &str| object.get(name).and_then(Value::as_str).map(str::to_owned);
        Some(OAuthError {
            error: text("error")?,
            description: text("error_description"),
            uri: text("error_uri"),
        })
    }
}

/// Why a token request did not give tokens. No variant holds a secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// The server said no, with an OAuth error.
    #[error("{endpoint} refused: {error} (HTTP {status})")]
    Refused {
        endpoint: String,
        status: u16,
        error: OAuthError,
    },
    /// The server could not be reached, or did not answer in time. Nothing was decided.
    #[error("{0}")]
    Network(String),
    /// The server answered, but not as an OAuth server does.
    #[error("{endpoint} answered HTTP {status} with {what}, not an OAuth answer")]
    Unexpected {
        endpoint: String,
        status: u16,
        what: String,
    },
    #[error("`{uri}` cannot be used: {problem}")]
    BadEndpoint { uri: String, problem: String },
    /// There is no refresh token for the account: it has to be connected (consent) first.
    #[error("no refresh token is stored for {account}: connect the Google account first")]
    NoRefreshToken { account: String },
    /// The token is valid but does not carry the scope mail needs.
    #[error(
        "the token was granted `{granted}` but mail needs `{needed}`: connect the account \
         again and leave \"Read, compose, send and permanently delete all your email\" ticked"
    )]
    ScopeMissing { granted: String, needed: String },
    /// Reading or storing the refresh token failed.
    #[error("{0}")]
    Store(String),
}

impl TokenError {
    /// Whether trying again later may work with the same refresh token: the network, or the
    /// server having trouble. Anything else needs a person.
    pub fn is_transient(&self) -> bool {
        match self {
            TokenError::Network(_) => true,
            TokenError::Unexpected { status, .. } => *status >= 500 || *status == 429,
            TokenError::Refused { error, .. } => {
                matches!(
                    error.error.as_str(),
                    "server_error" | "temporarily_unavailable"
                )
            }
            _ => false,
        }
    }

    /// The server's OAuth error, when it sent one.
    pub fn oauth_error(&self) -> Option<&OAuthError> {
        match self {
            TokenError::Refused { error, .. } => Some(error),
            _ => None,
        }
    }
}

/// Exchanges an authorization code for tokens, proving with `verifier` that this program asked
/// for it (PKCE).
pub async fn exchange_code(
    client: &OAuthClient,
    code: &Secret,
    redirect_uri: &str,
    verifier: &Secret,
) -> Result<Tokens, TokenError> {
    token_request(
        client,
        "authorization_code",
        &[
            ("code", code.expose()),
            ("redirect_uri", redirect_uri),
            ("code_verifier", verifier.expose()),
        ],
    )
    .await
}

/// A new access token for `refresh_token`.
pub async fn refresh(client: &OAuthClient, refresh_token: &Secret) -> Result<Tokens, TokenError> {
    token_request(
        client,
        "refresh_token",
        &[("refresh_token", refresh_token.expose())],
    )
    .await
}

/// Revokes `token` (a refresh token revokes the whole grant). A token the server already
/// considers invalid counts as revoked: Google answers `invalid_token` for one.
pub async fn revoke(client: &OAuthClient, token: &Secret) -> Result<(), TokenError> {
    let Some(uri) = &client.revocation_uri else {
        return Err(TokenError::BadEndpoint {
            uri: client.token_uri.clone(),
            problem: "this provider has no revocation endpoint configured".to_owned(),
        });
    };
    let endpoint = endpoint(uri)?;
    let answer = post(
        &endpoint,
        &[
            ("token", token.expose()),
            ("client_id", &client.client_id),
            ("client_secret", client.client_secret.expose()),
        ],
    )
    .await?;
    if answer.status == 200 {
        return Ok(());
    }
    match error_answer(&endpoint, &answer) {
        TokenError::Refused { error, .. } if error.error == "invalid_token" => Ok(()),
        error => Err(error),
    }
}

async fn token_request(
    client: &OAuthClient,
    grant_type: &str,
    grant: &[(&str, &str)],
) -> Result<Tokens, TokenError> {
    let endpoint = endpoint(&client.token_uri)?;
    let mut form = vec![
        ("grant_type", grant_type),
        ("client_id", client.client_id.as_str()),
        ("client_secret", client.client_secret.expose()),
    ];
    form.extend_from_slice(grant);
    let sent = Instant::now();
    tracing::debug!(endpoint = %endpoint.authority, grant_type, "token request");
    let answer = post(&endpoint, &form).await?;
    tracing::debug!(endpoint = %endpoint.authority, grant_type, status = answer.status, "token answer");
    if answer.status != 200 {
        return Err(error_answer(&endpoint, &answer));
    }
    parse_tokens(&endpoint, &answer, sent)
}

fn endpoint(uri: &str) -> Result<Endpoint, TokenError> {
    Endpoint::parse(uri).map_err(|problem| TokenError::BadEndpoint {
        uri: uri.to_owned(),
        problem,
    })
}

async fn post(endpoint: &Endpoint, form: &[(&str, &str)]) -> Result<Answer, TokenError> {
    http::post_form(endpoint, form)
        .await
        .map_err(TokenError::Network)
}

/// Tokens from a 200 answer. A problem names the field but never quotes the body, which may
/// hold a token.
fn parse_tokens(endpoint: &Endpoint, answer: &Answer, sent: Instant) -> Result<Tokens, TokenError> {
    let unexpected = |what: &str| TokenError::Unexpected {
        endpoint: endpoint.authority.clone(),
        status: answer.status,
        what: what.to_owned(),
    };
    let Ok(Value::Object(object)) = serde_json::from_slice::<Value>(&answer.body) else {
        return Err(unexpected(&body_kind(answer)));
    };
    let text = |name: &str| object.get(name).and_then(Value::as_str);
    let access_token = text("access_token")
        .filter(|token| !token.is_empty())
        .ok_or_else(|| unexpected("JSON without an access_token"))?;
    let token_type = text("token_type").ok_or_else(|| unexpected("JSON without a token_type"))?;
    if !token_type.eq_ignore_ascii_case("bearer") {
        return Err(unexpected(&format!(
            "a token of type {token_type:?}, where SMTP needs a Bearer token"
        )));
    }
    // RFC 6749 only recommends expires_in; without one, five minutes is a guess that errs
    // towards refreshing early. Some servers send it as a string.
    let expires_in = match object.get("expires_in") {
        None | Some(Value::Null) => Duration::from_secs(300),
        Some(Value::Number(number)) => Duration::from_secs(number.as_u64().unwrap_or(0)),
        Some(Value::String(text)) => Duration::from_secs(text.trim().parse().unwrap_or(0)),
        Some(_) => return Err(unexpected("an expires_in that is not a number")),
    };
    Ok(Tokens {
        access_token: Secret::new(access_token),
        token_type: token_type.to_owned(),
        expires_in,
        expires_at: sent + expires_in,
        refresh_token: text("refresh_token")
            .filter(|token| !token.is_empty())
            .map(Secret::new),
        scope: text("scope").map(str::to_owned),
    })
}

fn error_answer(endpoint: &Endpoint, answer: &Answer) -> TokenError {
    let error = match serde_json::from_slice::<Value>(&answer.body) {
        Ok(Value::Object(object)) => OAuthError::from_json(&object),
        _ => None,
    };
    match error {
        Some(error) => TokenError::Refused {
            endpoint: endpoint.authority.clone(),
            status: answer.status,
            error,
        },
        None => TokenError::Unexpected {
            endpoint: endpoint.authority.clone(),
            status: answer.status,
            what: body_kind(answer),
        },
    }
}

fn body_kind(answer: &Answer) -> String {
    if answer.body.is_empty() {
        return "an empty body".to_owned();
    }
    match &answer.content_type {
        Some(kind) => format!("a body of type {kind}"),
        None => "a body of no stated type".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(status: u16, body: &str) -> Answer {
        Answer {
            status,
            content_type: Some("application/json; charset=utf-8".to_owned()),
            body: body.to_owned().into(),
        }
    }

    fn endpoint() -> Endpoint {
        match Endpoint::parse("https://oauth2.googleapis.com/token") {
            Ok(endpoint) => endpoint,
            Err(problem) => panic!("{problem}"),
        }
    }

    #[test]
    fn token_answers_parse_and_keep_secrets_hidden() {
        let sent = Instant::now();
        let body = r#"{"access_token":"ya29.secret-access","expires_in":3599,"refresh_token":"1//secret-refresh",
            "scope":"https://mail.google.com/","token_type":"Bearer"}"#;
        let tokens = match parse_tokens(&endpoint(), &answer(200, body), sent) {
            Ok(tokens) => tokens,
            Err(error) => panic!("{error}"),
        };
        assert_eq!(tokens.access_token.expose(), "ya29.secret-access");
        assert_eq!(
            tokens.refresh_token.as_ref().map(Secret::expose),
            Some("1//secret-refresh")
        );
        assert_eq!(tokens.expires_in, Duration::from_secs(3599));
        assert_eq!(tokens.expires_at, sent + Duration::from_secs(3599));
        assert!(tokens.grants("https://mail.google.com/"));
        assert!(!tokens.grants("openid"));
        let debug = format!("{tokens:?}");
        assert!(!debug.contains("secret"), "{debug}");
    }

    #[test]
    fn odd_token_answers_name_what_is_wrong_without_quoting_the_body() {
        let check = |body: &str, expected: &str| {
            let got = parse_tokens(&endpoint(), &answer(200, body), Instant::now())
                .map(|tokens| tokens.expires_in)
                .map_err(|error| error.to_string());
            assert_eq!(got, Err(expected.to_owned()), "for {body}");
        };
        let prefix = "oauth2.googleapis.com answered HTTP 200 with";
        check(
            "not json",
            &format!(
                "{prefix} a body of type application/json; charset=utf-8, not an OAuth answer"
            ),
        );
        check(
            r#"{"token_type":"Bearer"}"#,
            &format!("{prefix} JSON without an access_token, not an OAuth answer"),
        );
        check(
            r#"{"access_token":"secret"}"#,
            &format!("{prefix} JSON without a token_type, not an OAuth answer"),
        );
        check(
            r#"{"access_token":"secret","token_type":"mac"}"#,
            &format!(
                "{prefix} a token of type \"mac\", where SMTP needs a Bearer token, not an \
                 OAuth answer"
            ),
        );
        let no_expiry = parse_tokens(
            &endpoint(),
            &answer(
                200,
                r#"{"access_token":"a","token_type":"bearer","expires_in":"60"}"#,
            ),
            Instant::now(),
        );
        assert_eq!(
            no_expiry.map(|tokens| tokens.expires_in).ok(),
            Some(Duration::from_secs(60))
        );
    }

    #[test]
    fn error_answers_keep_the_servers_words() {
        let check = |status: u16, body: &str, expected: &str, transient: bool| {
            let error = error_answer(&endpoint(), &answer(status, body));
            assert_eq!(error.to_string(), expected, "for {body}");
            assert_eq!(error.is_transient(), transient, "for {body}");
        };
        check(
            400,
            r#"{"error":"invalid_grant","error_description":"Token has been expired or revoked."}"#,
            "oauth2.googleapis.com refused: invalid_grant (\"Token has been expired or \
             revoked.\") (HTTP 400)",
            false,
        );
        check(
            401,
            r#"{"error":"invalid_client","error_description":"Unauthorized"}"#,
            "oauth2.googleapis.com refused: invalid_client (\"Unauthorized\") (HTTP 401)",
            false,
        );
        check(
            503,
            r#"{"error":"temporarily_unavailable"}"#,
            "oauth2.googleapis.com refused: temporarily_unavailable (HTTP 503)",
            true,
        );
        check(
            502,
            "",
            "oauth2.googleapis.com answered HTTP 502 with an empty body, not an OAuth answer",
            true,
        );
        check(
            404,
            "<html>",
            "oauth2.googleapis.com answered HTTP 404 with a body of type application/json; \
             charset=utf-8, not an OAuth answer",
            false,
        );
    }
}
