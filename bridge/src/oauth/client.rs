//! The OAuth client the user brings: Google's downloaded `client_secret.json` of a "Desktop
//! app" client, or its ID and secret typed in. Every error names the field it is about.

use protocol::Secret;
use serde_json::Value;

use super::MAIL_SCOPE;
use super::http::Endpoint;

/// An OAuth client and the authorization server it belongs to.
///
/// The endpoints are Google's unless changed: other providers and the tests set their own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthClient {
    pub client_id: String,
    pub client_secret: Secret,
    /// Where the browser is sent for consent.
    pub auth_uri: String,
    /// Where codes and refresh tokens are exchanged for access tokens.
    pub token_uri: String,
    /// Where a token is revoked when an account is disconnected; `None` when there is none.
    pub revocation_uri: Option<String>,
    /// The server's issuer identifier, compared with the `iss` of the redirect (RFC 9207) when
    /// the server sends one; `None` skips that check.
    pub issuer: Option<String>,
    /// The scope asked for, and required in what is granted.
    pub scope: String,
}

/// An authorization server's addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProviderEndpoints {
    pub auth_uri: &'static str,
    pub token_uri: &'static str,
    pub revocation_uri: &'static str,
    pub issuer: &'static str,
}

/// Google's endpoints, the defaults.
pub const GOOGLE: ProviderEndpoints = ProviderEndpoints {
    auth_uri: "https://accounts.google.com/o/oauth2/v2/auth",
    token_uri: "https://oauth2.googleapis.com/token",
    revocation_uri: "https://oauth2.googleapis.com/revoke",
    issuer: "https://accounts.google.com",
};

/// What is wrong with a client file, or with an ID and secret typed in, naming the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClientFileError {
    #[error("the file is not JSON: {detail} at line {line} column {column}")]
    NotJson {
        detail: String,
        line: usize,
        column: usize,
    },
    #[error(
        "installed is missing: this is not an OAuth client file; in the Google Cloud console, \
         open APIs & Services, Credentials, and download the JSON of a Desktop app client"
    )]
    NotAClientFile,
    #[error(
        "web: this is a Web application client; create a Desktop app client (Credentials, \
         Create credentials, OAuth client ID, Application type: Desktop app) and use its JSON"
    )]
    WebClient,
    #[error("{field} is missing")]
    Missing { field: String },
    #[error("{field} is empty")]
    Empty { field: String },
    #[error("{field}: expected {expected}, found {found}")]
    WrongType {
        field: String,
        expected: &'static str,
        found: &'static str,
    },
    #[error("{field}: {problem}")]
    BadUri { field: String, problem: String },
}

impl ClientFileError {
    /// The field the error is about (`installed.client_id`), for the editor to point at.
    pub fn field(&self) -> Option<&str> {
        match self {
            ClientFileError::NotJson { .. } => None,
            ClientFileError::NotAClientFile => Some("installed"),
            ClientFileError::WebClient => Some("web"),
            ClientFileError::Missing { field }
            | ClientFileError::Empty { field }
            | ClientFileError::WrongType { field, .. }
            | ClientFileError::BadUri { field, .. } => Some(field),
        }
    }
}

impl OAuthClient {
    /// A Google client from its ID and secret typed in; both are trimmed, since they are
    /// usually pasted.
    pub fn google(client_id: &str, client_secret: &Secret) -> Result<OAuthClient, ClientFileError> {
        let client_id = non_empty("client_id", client_id)?;
        let client_secret = Secret::new(non_empty("client_secret", client_secret.expose())?);
        Ok(OAuthClient {
            client_id,
            client_secret,
            auth_uri: GOOGLE.auth_uri.to_owned(),
            token_uri: GOOGLE.token_uri.to_owned(),
            revocation_uri: Some(GOOGLE.revocation_uri.to_owned()),
            issuer: Some(GOOGLE.issuer.to_owned()),
            scope: MAIL_SCOPE.to_owned(),
        })
    }

    /// A client from the `client_secret.json` Google Cloud downloads for a Desktop app client:
    /// `{"installed": {"client_id", "client_secret", "auth_uri", "token_uri", ...}}`. The file's
    /// `auth_uri` and `token_uri` are used when present (they must be https).
    pub fn from_client_secret_json(bytes: &[u8]) -> Result<OAuthClient, ClientFileError> {
        let value: Value = serde_json::from_slice(bytes).map_err(|error| {
            let (line, column) = (error.line(), error.column());
            let text = error.to_string();
            let detail = match text.rfind(" at line ") {
                Some(at) => text[..at].to_owned(),
                None => text,
            };
            ClientFileError::NotJson {
                detail,
                line,
                column,
            }
        })?;
        let Value::Object(top) = &value else {
            return Err(ClientFileError::NotAClientFile);
        };
        let installed = match (top.get("installed"), top.get("web")) {
            (Some(installed), _) => installed,
            (None, Some(_)) => return Err(ClientFileError::WebClient),
            (None, None) => return Err(ClientFileError::NotAClientFile),
        };
        let Value::Object(installed) = installed else {
            return Err(ClientFileError::WrongType {
                field: "installed".to_owned(),
                expected: "an object",
                found: kind(installed),
            });
        };
        let string = |name: &str| -> Result<Option<String>, ClientFileError> {
            let field = format!("installed.{name}");
            match installed.get(name) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(text)) => non_empty(&field, text).map(Some),
                Some(other) => Err(ClientFileError::WrongType {
                    field,
                    expected: "a string",
                    found: kind(other),
                }),
            }
        };
        let required = |name: &str| {
            string(name)?.ok_or_else(|| ClientFileError::Missing {
                field: format!("installed.{name}"),
            })
        };
        let uri = |name: &str, default: &str| -> Result<String, ClientFileError> {
            let uri = string(name)?.unwrap_or_else(|| default.to_owned());
            match Endpoint::parse(&uri) {
                Ok(_) => Ok(uri),
                Err(problem) => Err(ClientFileError::BadUri {
                    field: format!("installed.{name}"),
                    problem,
                }),
            }
        };
        let client_id = required("client_id")?;
        let client_secret = Secret::new(required("client_secret")?);
        let auth_uri = uri("auth_uri", GOOGLE.auth_uri)?;
        let token_uri = uri("token_uri", GOOGLE.token_uri)?;
        Ok(OAuthClient {
            client_id,
            client_secret,
            auth_uri,
            token_uri,
            revocation_uri: Some(GOOGLE.revocation_uri.to_owned()),
            issuer: Some(GOOGLE.issuer.to_owned()),
            scope: MAIL_SCOPE.to_owned(),
        })
    }
}

fn non_empty(field: &str, text: &str) -> Result<String, ClientFileError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(ClientFileError::Empty {
            field: field.to_owned(),
        });
    }
    Ok(text.to_owned())
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "GOCSPX-not-a-real-secret";

    /// A file as Google Cloud downloads it for a Desktop app client.
    fn desktop(extra: &str) -> String {
        format!(
            r#"{{"installed":{{"client_id":"123-abc.apps.googleusercontent.com","project_id":"mailbridge-1",
            "auth_uri":"https://accounts.google.com/o/oauth2/auth","token_uri":"https://oauth2.googleapis.com/token",
            "auth_provider_x509_cert_url":"https://www.googleapis.com/oauth2/v1/certs",
            "client_secret":"{SECRET}","redirect_uris":["http://localhost"]{extra}}}}}"#
        )
    }

    #[test]
    fn a_desktop_client_file_gives_the_client_with_the_files_endpoints() {
        let client = match OAuthClient::from_client_secret_json(desktop("").as_bytes()) {
            Ok(client) => client,
            Err(error) => panic!("{error}"),
        };
        assert_eq!(client.client_id, "123-abc.apps.googleusercontent.com");
        assert_eq!(client.client_secret.expose(), SECRET);
        assert_eq!(client.auth_uri, "https://accounts.google.com/o/oauth2/auth");
        assert_eq!(client.token_uri, "https://oauth2.googleapis.com/token");
        assert_eq!(
            client.revocation_uri.as_deref(),
            Some(GOOGLE.revocation_uri)
        );
        assert_eq!(client.issuer.as_deref(), Some(GOOGLE.issuer));
        assert_eq!(client.scope, MAIL_SCOPE);
        let debug = format!("{client:?}");
        assert!(!debug.contains(SECRET), "{debug}");
    }

    #[test]
    fn a_bad_client_file_names_the_field() {
        let check = |input: &str, expected: &str, field: Option<&str>| {
            match OAuthClient::from_client_secret_json(input.as_bytes()) {
                Ok(client) => panic!("{input:?} was accepted: {client:?}"),
                Err(error) => {
                    assert_eq!(error.to_string(), expected, "for {input:?}");
                    assert_eq!(error.field(), field, "for {input:?}");
                }
            }
        };
        let web = r#"{"web":{"client_id":"1.apps.googleusercontent.com","client_secret":"s"}}"#;
        let cases: &[(&str, &str, Option<&str>)] = &[
            (
                "",
                "the file is not JSON: EOF while parsing a value at line 1 column 0",
                None,
            ),
            (
                "{\"installed\": {\n  \"client_id\": \"x\",\n}}",
                "the file is not JSON: trailing comma at line 3 column 1",
                None,
            ),
            (
                web,
                "web: this is a Web application client; create a Desktop app client \
                 (Credentials, Create credentials, OAuth client ID, Application type: Desktop \
                 app) and use its JSON",
                Some("web"),
            ),
            (
                "[]",
                "installed is missing: this is not an OAuth client file; in the Google Cloud \
                 console, open APIs & Services, Credentials, and download the JSON of a \
                 Desktop app client",
                Some("installed"),
            ),
            (
                r#"{"type":"service_account"}"#,
                "installed is missing: this is not an OAuth client file; in the Google Cloud \
                 console, open APIs & Services, Credentials, and download the JSON of a \
                 Desktop app client",
                Some("installed"),
            ),
            (
                r#"{"installed":"x"}"#,
                "installed: expected an object, found a string",
                Some("installed"),
            ),
            (
                r#"{"installed":{"client_secret":"s"}}"#,
                "installed.client_id is missing",
                Some("installed.client_id"),
            ),
            (
                r#"{"installed":{"client_id":"  ","client_secret":"s"}}"#,
                "installed.client_id is empty",
                Some("installed.client_id"),
            ),
            (
                r#"{"installed":{"client_id":42,"client_secret":"s"}}"#,
                "installed.client_id: expected a string, found a number",
                Some("installed.client_id"),
            ),
            (
                r#"{"installed":{"client_id":"1.apps"}}"#,
                "installed.client_secret is missing",
                Some("installed.client_secret"),
            ),
            (
                r#"{"installed":{"client_id":"1","client_secret":"s","token_uri":"http://oauth2.googleapis.com/token"}}"#,
                "installed.token_uri: `http://oauth2.googleapis.com/token` is plain HTTP to \
                 a host that is not this computer; it must be https",
                Some("installed.token_uri"),
            ),
            (
                r#"{"installed":{"client_id":"1","client_secret":"s","auth_uri":"accounts.google.com"}}"#,
                "installed.auth_uri: `accounts.google.com` is not an https URL",
                Some("installed.auth_uri"),
            ),
        ];
        for (input, expected, field) in cases {
            check(input, expected, *field);
        }
    }

    #[test]
    fn an_id_and_secret_typed_in_are_trimmed_and_required() {
        let client = OAuthClient::google(" 1.apps.googleusercontent.com\n", &Secret::new(" s "));
        assert!(
            client
                .as_ref()
                .is_ok_and(|client| client.client_id == "1.apps.googleusercontent.com"
                    && client.client_secret.expose() == "s"
                    && client.token_uri == GOOGLE.token_uri),
            "{client:?}"
        );
        let empty = OAuthClient::google("1", &Secret::new(""));
        assert_eq!(
            empty.map_err(|error| error.to_string()),
            Err("client_secret is empty".to_owned())
        );
    }
}
