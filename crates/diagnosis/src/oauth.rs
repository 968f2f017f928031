//! The XOAUTH2 error challenge: Gmail's `334 <base64 JSON>` answer to a rejected OAuth token.

use base64::Engine as _;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use serde::{Deserialize, Serialize};

use crate::diagnosis::{Diagnosis, Retry};

/// Standard base64 that does not insist on padding, because logs and hand copies often drop the
/// trailing `=`.
const BASE64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// What Gmail says about a rejected token, e.g.
/// `{"status":"400","schemes":"Bearer","scope":"https://mail.google.com/"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OAuthChallenge {
    /// Opaque to clients: Gmail has been seen sending 400 and 401 for the same causes.
    pub status: String,
    /// The token type Gmail expects, `Bearer`.
    pub schemes: Option<String>,
    /// The scope the token needs, `https://mail.google.com/` for SMTP.
    pub scope: Option<String>,
}

impl OAuthChallenge {
    /// Decodes the text of a `334` reply; `None` when it is not a JSON error challenge (for
    /// example AUTH LOGIN's `Username:` prompt).
    pub fn decode(text: &str) -> Option<OAuthChallenge> {
        let bytes = BASE64.decode(text.trim()).ok()?;
        let json: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
        Some(OAuthChallenge {
            status: field(&json, "status")?,
            schemes: field(&json, "schemes"),
            scope: field(&json, "scope"),
        })
    }
}

/// A string or number field as text, since the JSON is not specified and `status` has been a
/// string in every capture but is a number in spirit.
fn field(json: &serde_json::Value, name: &str) -> Option<String> {
    match json.get(name)? {
        serde_json::Value::String(text) => Some(text.clone()),
        serde_json::Value::Number(number) => Some(number.to_string()),
        _ => None,
    }
}

/// Explains a rejected token, naming what Gmail said about it.
pub(crate) fn diagnosis(challenge: &OAuthChallenge) -> Diagnosis {
    let scheme = challenge.schemes.as_deref().unwrap_or("Bearer");
    let scope = challenge
        .scope
        .as_deref()
        .unwrap_or("https://mail.google.com/");
    Diagnosis {
        title: "OAuth token rejected (XOAUTH2)".to_owned(),
        what_happened: format!(
            "Gmail rejected the OAuth access token sent with AUTH XOAUTH2. Its error challenge \
             decodes to status {}, scheme {scheme}, scope {scope}.",
            challenge.status
        ),
        likely_cause: format!(
            "The access token has expired (they last about an hour), was revoked, belongs to a \
             different account than the user= name, or was not granted the scope {scope}, which \
             Gmail needs for SMTP."
        ),
        fix: vec![
            "Answer this challenge with an empty line; Gmail then sends the final 535 5.7.8 \
             reply, and the client can try again."
                .to_owned(),
            "Get a new access token with the refresh token (POST https://oauth2.googleapis.com/token \
             with grant_type=refresh_token), and refresh again before `expires_in` runs out."
                .to_owned(),
            format!(
                "Check that the user asked for the scope {scope} when consenting, and that user= in \
                 the XOAUTH2 string is the address of that same Google account."
            ),
            "If refreshing fails with invalid_grant, the refresh token is expired or revoked: \
             sign in and consent again. Apps whose OAuth consent screen is in 'Testing' status \
             get refresh tokens that stop working after 7 days."
                .to_owned(),
            format!(
                "Check the XOAUTH2 string: base64 of `user=ADDRESS^Aauth={scheme} TOKEN^A^A`, \
                 where ^A is the byte 0x01, sent on one line."
            ),
        ],
        help_link: Some("https://developers.google.com/gmail/imap/xoauth2-protocol".to_owned()),
        retry: Retry::Permanent,
        reply: None,
    }
}
