//! One-click unsubscribe (RFC 8058): a signed token per recipient, and the headers Gmail asks
//! bulk senders for.
//!
//! The token is `base64url(campaign "\n" recipient "\n" expiry) "." base64url(HMAC-SHA256)`,
//! so whoever receives the click can tell the campaign, the person and whether it is still
//! valid without a database; only the holder of the key (kept in the secret store by the
//! caller) can make one. The recipient is lowercased before signing.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use profile::Header;
use ring::hmac;

/// A campaign's unsubscribe settings.
#[derive(Clone, PartialEq, Eq)]
pub struct Unsubscribe {
    pub campaign: String,
    /// An https URL with a `{token}` placeholder, for the one-click POST and the visible link.
    pub url_template: Option<String>,
    /// An address that unsubscribes whoever writes to it (`mailto:`).
    pub mailto: Option<String>,
    /// The `List-Id` (RFC 2919), such as `spring-news.example.com`.
    pub list_id: String,
    /// When the tokens stop working, in seconds since the Unix epoch.
    pub expires_unix: u64,
    pub key: Vec<u8>,
}

impl std::fmt::Debug for Unsubscribe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Unsubscribe")
            .field("campaign", &self.campaign)
            .field("url_template", &self.url_template)
            .field("mailto", &self.mailto)
            .field("list_id", &self.list_id)
            .field("expires_unix", &self.expires_unix)
            .field("key", &"****")
            .finish()
    }
}

/// What a token says once checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Valid(Claims),
    /// Signed by the key, but past its expiry.
    Expired(Claims),
    /// Not made with this key, or altered, or not a token at all.
    Forged,
}

/// What a genuine token carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claims {
    pub campaign: String,
    pub recipient: String,
    pub expires_unix: u64,
}

/// Why the settings cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SettingsError {
    #[error("the unsubscribe URL must start with https:// (RFC 8058)")]
    NotHttps,
    #[error("the unsubscribe URL needs a {{token}} placeholder for each recipient's token")]
    NoPlaceholder,
    #[error("give an unsubscribe URL or a mailto address")]
    Nothing,
    #[error("the campaign id must not contain a line break")]
    BadCampaign,
    #[error("the unsubscribe key must be at least 32 bytes")]
    ShortKey,
}

/// The recipient's token.
pub fn token(campaign: &str, recipient: &str, expires_unix: u64, key: &[u8]) -> String {
    let payload = format!(
        "{campaign}\n{}\n{expires_unix}",
        recipient.to_ascii_lowercase()
    );
    let tag = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, key), payload.as_bytes());
    format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(payload),
        URL_SAFE_NO_PAD.encode(tag.as_ref())
    )
}

/// Checks a token with the key, in constant time, at `now_unix`.
pub fn verify(token: &str, key: &[u8], now_unix: u64) -> Verdict {
    let Some((payload, tag)) = token.trim().split_once('.') else {
        return Verdict::Forged;
    };
    let (Ok(payload), Ok(tag)) = (URL_SAFE_NO_PAD.decode(payload), URL_SAFE_NO_PAD.decode(tag))
    else {
        return Verdict::Forged;
    };
    if hmac::verify(&hmac::Key::new(hmac::HMAC_SHA256, key), &payload, &tag).is_err() {
        return Verdict::Forged;
    }
    let Ok(payload) = String::from_utf8(payload) else {
        return Verdict::Forged;
    };
    let mut parts = payload.split('\n');
    let (Some(campaign), Some(recipient), Some(expiry), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Verdict::Forged;
    };
    let Ok(expires_unix) = expiry.parse() else {
        return Verdict::Forged;
    };
    let claims = Claims {
        campaign: campaign.to_owned(),
        recipient: recipient.to_owned(),
        expires_unix,
    };
    if now_unix >= expires_unix {
        Verdict::Expired(claims)
    } else {
        Verdict::Valid(claims)
    }
}

impl Unsubscribe {
    /// Checks the settings once, before any row.
    pub fn check(&self) -> Result<(), SettingsError> {
        if self.url_template.is_none() && self.mailto.is_none() {
            return Err(SettingsError::Nothing);
        }
        if let Some(url) = &self.url_template {
            if !url.starts_with("https://") {
                return Err(SettingsError::NotHttps);
            }
            if !url.contains("{token}") {
                return Err(SettingsError::NoPlaceholder);
            }
        }
        if self.campaign.contains(['\r', '\n']) {
            return Err(SettingsError::BadCampaign);
        }
        if self.key.len() < 32 {
            return Err(SettingsError::ShortKey);
        }
        Ok(())
    }

    /// The recipient's unsubscribe URL, when the campaign has one.
    pub fn url(&self, recipient: &str) -> Option<String> {
        self.url_template.as_ref().map(|template| {
            let token = token(&self.campaign, recipient, self.expires_unix, &self.key);
            template.replace("{token}", &token)
        })
    }

    /// `List-Unsubscribe`, `List-Unsubscribe-Post` (only with an https URL, as RFC 8058 says)
    /// and `List-Id`, for one recipient's draft.
    pub fn headers(&self, recipient: &str) -> Vec<Header> {
        let url = self.url(recipient);
        let mut targets = Vec::new();
        if let Some(url) = &url {
            targets.push(format!("<{url}>"));
        }
        if let Some(mailto) = &self.mailto {
            targets.push(format!("<mailto:{mailto}?subject=unsubscribe>"));
        }
        let mut headers = vec![Header {
            name: "List-Unsubscribe".to_owned(),
            value: targets.join(", "),
        }];
        if url.is_some() {
            headers.push(Header {
                name: "List-Unsubscribe-Post".to_owned(),
                value: "List-Unsubscribe=One-Click".to_owned(),
            });
        }
        headers.push(Header {
            name: "List-Id".to_owned(),
            value: format!("<{}>", self.list_id),
        });
        headers
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &[u8] = b"0123456789abcdef0123456789abcdef";
    const OTHER_KEY: &[u8] = b"fedcba9876543210fedcba9876543210";

    fn claims(expires_unix: u64) -> Claims {
        Claims {
            campaign: "spring".into(),
            recipient: "ann@example.com".into(),
            expires_unix,
        }
    }

    #[test]
    fn tokens_verify_expire_and_refuse_forgeries() {
        let good = token("spring", "Ann@Example.com", 2_000, KEY);
        let (payload, tag) = good.split_once('.').expect("two parts");
        let altered_payload = format!(
            "{}.{tag}",
            URL_SAFE_NO_PAD.encode("spring\nbob@example.com\n2000")
        );
        let longer = format!(
            "{}.{tag}",
            URL_SAFE_NO_PAD.encode("spring\nann@example.com\n9999")
        );
        let cases: &[(String, &[u8], u64, Verdict)] = &[
            (good.clone(), KEY, 1_999, Verdict::Valid(claims(2_000))),
            (good.clone(), KEY, 2_000, Verdict::Expired(claims(2_000))),
            (format!(" {good}\n"), KEY, 10, Verdict::Valid(claims(2_000))),
            (good.clone(), OTHER_KEY, 10, Verdict::Forged),
            (altered_payload, KEY, 10, Verdict::Forged),
            (longer, KEY, 10, Verdict::Forged),
            (format!("{payload}.AAAA"), KEY, 10, Verdict::Forged),
            (payload.to_owned(), KEY, 10, Verdict::Forged),
            ("not a token".to_owned(), KEY, 10, Verdict::Forged),
            (String::new(), KEY, 10, Verdict::Forged),
        ];
        for (token, key, now, expected) in cases {
            assert_eq!(&verify(token, key, *now), expected, "{token:?} at {now}");
        }
        assert!(
            !good.contains(['+', '/', '=']),
            "base64url without padding: {good}"
        );
    }

    fn settings(url: Option<&str>, mailto: Option<&str>) -> Unsubscribe {
        Unsubscribe {
            campaign: "spring".into(),
            url_template: url.map(str::to_owned),
            mailto: mailto.map(str::to_owned),
            list_id: "spring.example.com".into(),
            expires_unix: 2_000,
            key: KEY.to_vec(),
        }
    }

    #[test]
    fn headers_follow_rfc_8058() {
        let token = token("spring", "ann@example.com", 2_000, KEY);
        let cases: &[(Unsubscribe, &[(&str, String)])] = &[
            (
                settings(
                    Some("https://example.com/u/{token}"),
                    Some("leave@example.com"),
                ),
                &[
                    (
                        "List-Unsubscribe",
                        format!(
                            "<https://example.com/u/{token}>, <mailto:leave@example.com?subject=unsubscribe>"
                        ),
                    ),
                    ("List-Unsubscribe-Post", "List-Unsubscribe=One-Click".into()),
                    ("List-Id", "<spring.example.com>".into()),
                ],
            ),
            (
                settings(None, Some("leave@example.com")),
                &[
                    (
                        "List-Unsubscribe",
                        "<mailto:leave@example.com?subject=unsubscribe>".into(),
                    ),
                    ("List-Id", "<spring.example.com>".into()),
                ],
            ),
        ];
        for (settings, expected) in cases {
            let got: Vec<(String, String)> = settings
                .headers("ann@example.com")
                .into_iter()
                .map(|h| (h.name, h.value))
                .collect();
            let want: Vec<(String, String)> = expected
                .iter()
                .map(|(n, v)| ((*n).to_owned(), v.clone()))
                .collect();
            assert_eq!(got, want);
        }
    }

    #[test]
    fn settings_are_checked() {
        let cases: &[(Unsubscribe, Result<(), SettingsError>)] = &[
            (settings(Some("https://x.org/u/{token}"), None), Ok(())),
            (
                settings(Some("http://x.org/u/{token}"), None),
                Err(SettingsError::NotHttps),
            ),
            (
                settings(Some("https://x.org/u"), None),
                Err(SettingsError::NoPlaceholder),
            ),
            (settings(None, None), Err(SettingsError::Nothing)),
            (
                Unsubscribe {
                    key: vec![1; 8],
                    ..settings(None, Some("a@x.org"))
                },
                Err(SettingsError::ShortKey),
            ),
        ];
        for (settings, expected) in cases {
            assert_eq!(&settings.check(), expected, "{settings:?}");
        }
    }
}
