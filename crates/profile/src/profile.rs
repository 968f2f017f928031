//! The sending profile and its parts.

use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::address::{Address, Mailbox};
use crate::preset::{Preset, SANDBOX_USER};

/// Identifies a profile on this machine; secrets kept elsewhere (keychain, token store) are keyed
/// by it, so it must stay stable when the profile is renamed or overwritten by an import.
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(transparent)]
pub struct ProfileId(pub String);

impl ProfileId {
    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// An id made from the name (`"Team Gmail"` gives `team-gmail`), with `-2`, `-3`... added
    /// until `is_taken` says no. Ids come from names rather than randomness so that this crate
    /// needs no random source on wasm32.
    pub fn from_name(name: &str, is_taken: impl Fn(&str) -> bool) -> ProfileId {
        let base = slug(name);
        if !is_taken(&base) {
            return ProfileId(base);
        }
        let mut n: u64 = 2;
        loop {
            let candidate = format!("{base}-{n}");
            if !is_taken(&candidate) {
                return ProfileId(candidate);
            }
            n += 1;
        }
    }

    /// An id for a new profile called `name` that no profile in `existing` uses.
    pub fn unique_for(name: &str, existing: &[Profile]) -> ProfileId {
        ProfileId::from_name(name, |id| existing.iter().any(|p| p.id.0 == id))
    }
}

impl fmt::Display for ProfileId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Lowercase ASCII letters and digits joined by single dashes; `profile` when nothing is left.
fn slug(name: &str) -> String {
    let mut slug = String::new();
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            slug.push(c.to_ascii_lowercase());
        } else if !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
        // Long names would make unwieldy ids; 40 characters still tell profiles apart.
        if slug.len() >= 40 {
            break;
        }
    }
    let slug = slug.trim_end_matches('-');
    if slug.is_empty() {
        "profile".to_string()
    } else {
        slug.to_string()
    }
}

/// How the connection is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Security {
    /// Plain connect, then `STARTTLS` before anything else; refuse to go on without it (port 587).
    StartTls,
    /// TLS from the first byte (port 465).
    ImplicitTls,
    /// No encryption; only allowed to this machine (127.0.0.0/8, ::1, localhost).
    Plain,
}

impl Security {
    /// Every variant, in declaration order.
    pub const ALL: [Security; 3] = [Security::StartTls, Security::ImplicitTls, Security::Plain];
}

/// How the client signs in. The secret itself is never part of a profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AuthMethod {
    /// A 16-character Google App Password (or the relay's password), kept on this machine only.
    AppPassword,
    /// OAuth2 access token sent with `AUTH XOAUTH2`; the refresh token stays on this machine.
    #[serde(rename = "oauth2")]
    OAuth2,
    /// No sign-in: IP-allowlisted relays and the local sandbox without auth.
    None,
}

impl AuthMethod {
    /// Every variant, in declaration order.
    pub const ALL: [AuthMethod; 3] = [
        AuthMethod::AppPassword,
        AuthMethod::OAuth2,
        AuthMethod::None,
    ];
}

/// Which SASL mechanism carries an OAuth access token.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum OAuthMechanism {
    /// Google's `AUTH XOAUTH2`, which every Gmail server offers.
    #[default]
    Xoauth2,
    /// RFC 7628's `AUTH OAUTHBEARER`, used when the server offers it; XOAUTH2 otherwise.
    Oauthbearer,
}

impl OAuthMechanism {
    /// Every variant, in declaration order.
    pub const ALL: [OAuthMechanism; 2] = [OAuthMechanism::Xoauth2, OAuthMechanism::Oauthbearer];

    /// The SASL name, as in `AUTH XOAUTH2`.
    pub fn sasl_name(self) -> &'static str {
        match self {
            OAuthMechanism::Xoauth2 => "XOAUTH2",
            OAuthMechanism::Oauthbearer => "OAUTHBEARER",
        }
    }
}

/// The OAuth client a profile signs in with when its auth is OAuth2: the user's own Google
/// "Desktop app" client. Its secret, the refresh token and the access token are kept by the
/// bridge, never here, so a team file may carry this.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OAuthSettings {
    /// The client ID, e.g. `1234-abc.apps.googleusercontent.com`.
    pub client_id: String,
    /// The mechanism that carries the token.
    #[serde(default)]
    pub mechanism: OAuthMechanism,
    /// The authorization server, for providers other than Google and for tests; Google's when
    /// absent.
    #[serde(default)]
    pub endpoints: Option<OAuthEndpoints>,
}

/// An authorization server's addresses.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OAuthEndpoints {
    /// Where the browser is sent for consent.
    pub auth_uri: String,
    /// Where codes and refresh tokens are exchanged for access tokens.
    pub token_uri: String,
    /// Where a token is revoked on disconnect.
    #[serde(default)]
    pub revocation_uri: Option<String>,
    /// The issuer identifier the redirect's `iss` must match (RFC 9207).
    #[serde(default)]
    pub issuer: Option<String>,
}

/// How much the profile may send; the sender enforces these before the server does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    /// Messages per rolling 24 hours.
    pub daily: u32,
    /// Messages per minute.
    pub per_minute: u32,
}

/// A header added to every message sent with the profile.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Header {
    /// Header field name, e.g. `X-Campaign`.
    pub name: String,
    /// Header field value, on one line.
    pub value: String,
}

/// A sending profile: where to connect, how to sign in, who the mail is from, how much to send.
///
/// This is plain data that may be half-edited; [`Profile::validate`] is the gate before use.
/// It holds no secret, and no field may ever be added for one: profiles are exported to team files.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    /// Stable identifier on this machine.
    pub id: ProfileId,
    /// Name shown to people, e.g. "Team Gmail".
    pub name: String,
    /// The preset the profile was made from; validation holds host, port, security and limits to it.
    pub preset: Preset,
    /// SMTP server host name or IP address.
    pub host: String,
    /// SMTP server port.
    #[schemars(range(min = 1))]
    pub port: u16,
    /// How the connection is protected.
    pub security: Security,
    /// An extra CA certificate (PEM) to trust, for the sandbox and company relays.
    #[serde(default)]
    pub extra_ca_pem: Option<String>,
    /// How the client signs in.
    pub auth: AuthMethod,
    /// The OAuth client, for `auth` OAuth2; without one, an access token pasted in by hand is
    /// used as it is.
    #[serde(default)]
    pub oauth: Option<OAuthSettings>,
    /// The account to sign in as; for Gmail, the full address.
    pub username: String,
    /// The `From:` mailbox.
    pub from: Mailbox,
    /// The `Reply-To:` mailbox, if replies should go elsewhere.
    #[serde(default)]
    pub reply_to: Option<Mailbox>,
    /// Sending limits.
    pub limits: Limits,
    /// Headers added to every message.
    #[serde(default)]
    pub headers: Vec<Header>,
}

/// Pacing and limits for profiles whose preset sets none (custom servers).
const CUSTOM_LIMITS: Limits = Limits {
    daily: 1_000,
    per_minute: 30,
};
/// The sandbox only records mail, so its limits just keep runaway loops in check.
const SANDBOX_LIMITS: Limits = Limits {
    daily: 10_000,
    per_minute: 600,
};

impl Profile {
    /// A profile with the preset's settings for `account` (the Google account or login address).
    ///
    /// Nothing is checked here, so a form can build a profile from what was typed and show
    /// [`Profile::validate`]'s problems. The sandbox always signs in as [`SANDBOX_USER`] and
    /// sends from `account` when one is given; its port is left at 0 for the caller to set
    /// (or use [`Profile::sandbox`]). Custom profiles start with an empty host.
    pub fn from_preset(preset: Preset, id: ProfileId, name: &str, account: &str) -> Profile {
        let account = account.trim();
        let (username, from) = match preset {
            Preset::Sandbox if account.is_empty() => (SANDBOX_USER, SANDBOX_USER),
            Preset::Sandbox => (SANDBOX_USER, account),
            _ => (account, account),
        };
        let limits = preset.limits_for(username).unwrap_or(match preset {
            Preset::Sandbox => SANDBOX_LIMITS,
            _ => CUSTOM_LIMITS,
        });
        Profile {
            id,
            name: name.to_string(),
            preset,
            host: preset.host().unwrap_or_default().to_string(),
            port: match preset {
                Preset::Sandbox => 0,
                _ => preset.port().unwrap_or(587),
            },
            security: preset.security().unwrap_or(Security::StartTls),
            extra_ca_pem: None,
            auth: AuthMethod::AppPassword,
            oauth: None,
            username: username.to_string(),
            from: Mailbox::from(
                Address::parse(from).unwrap_or_else(|_| Address::new_unchecked(from)),
            ),
            reply_to: None,
            limits,
            headers: Vec::new(),
        }
    }

    /// A profile for the local sandbox listening on `port` (sandbox's certificate still to be set
    /// in `extra_ca_pem`).
    pub fn sandbox(id: ProfileId, name: &str, port: u16) -> Profile {
        Profile {
            port,
            ..Profile::from_preset(Preset::Sandbox, id, name, "")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::preset::SANDBOX_HOST;

    #[test]
    fn ids_come_from_names() {
        let taken = ["team-gmail", "team-gmail-2", "profile"];
        let is_taken = |id: &str| taken.contains(&id);
        let cases = [
            ("Team Gmail", "team-gmail-3"),
            ("Team Gmail (2)", "team-gmail-2-2"),
            ("  Ops -- Relay!! ", "ops-relay"),
            ("Büro", "b-ro"),
            ("日本", "profile-2"),
            (&"x".repeat(100), &"x".repeat(40)),
        ];
        for (name, expected) in cases {
            assert_eq!(
                ProfileId::from_name(name, is_taken).as_str(),
                expected,
                "name: {name:?}"
            );
        }
    }

    #[test]
    fn enums_use_snake_case_names() {
        let names = serde_json::to_value((Security::ALL, AuthMethod::ALL, Preset::all()));
        let expected = serde_json::json!([
            ["start_tls", "implicit_tls", "plain"],
            ["app_password", "oauth2", "none"],
            [
                "gmail587",
                "gmail465",
                "workspace_relay",
                "sandbox",
                "custom"
            ]
        ]);
        assert_eq!(names.ok(), Some(expected));
    }

    #[test]
    fn presets_fill_in_the_account() {
        let gmail = Profile::from_preset(
            Preset::Gmail465,
            ProfileId("g".into()),
            "G",
            " ann@gmail.com ",
        );
        assert_eq!(
            (gmail.host.as_str(), gmail.port, gmail.security),
            ("smtp.gmail.com", 465, Security::ImplicitTls)
        );
        assert_eq!(
            (gmail.username.as_str(), gmail.from.address.as_str()),
            ("ann@gmail.com", "ann@gmail.com")
        );
        assert_eq!(gmail.limits.daily, 500);
        let workspace = Profile::from_preset(
            Preset::Gmail587,
            ProfileId("w".into()),
            "W",
            "ann@corp.example",
        );
        assert_eq!(workspace.limits.daily, 2_000);
        let sandbox = Profile::sandbox(ProfileId("s".into()), "S", 2525);
        assert_eq!(
            (
                sandbox.host.as_str(),
                sandbox.port,
                sandbox.username.as_str(),
                sandbox.from.address.as_str()
            ),
            (SANDBOX_HOST, 2525, SANDBOX_USER, SANDBOX_USER)
        );
        let custom =
            Profile::from_preset(Preset::Custom, ProfileId("c".into()), "C", "not an address");
        assert_eq!(
            (
                custom.host.as_str(),
                custom.port,
                custom.from.address.as_str()
            ),
            ("", 587, "not an address")
        );
    }
}
