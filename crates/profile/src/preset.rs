//! Presets: the servers mailbridge knows, with the settings and limits Google documents.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::address::Address;
use crate::profile::{Limits, Security};

/// Gmail's submission server, for consumer and Workspace accounts.
pub const GMAIL_HOST: &str = "smtp.gmail.com";
/// Google Workspace's SMTP relay (Workspace accounts only, configured by the admin).
pub const RELAY_HOST: &str = "smtp-relay.gmail.com";
/// Where the local sandbox listens.
pub const SANDBOX_HOST: &str = "127.0.0.1";
/// The account the local sandbox accepts.
pub const SANDBOX_USER: &str = "sandbox@mailbridge.test";

/// Consumer Gmail: 500 messages a day (support.google.com/a/answer/166852). Google publishes no
/// per-minute rate; 20 a minute keeps bursts well clear of its "unusual rate" throttling.
const GMAIL_CONSUMER: Limits = Limits {
    daily: 500,
    per_minute: 20,
};
/// Google Workspace through smtp.gmail.com: 2,000 messages a day.
const GMAIL_WORKSPACE: Limits = Limits {
    daily: 2_000,
    per_minute: 60,
};
/// SMTP relay: 10,000 messages per user per rolling 24 hours; the per-minute pace is our choice,
/// below where "Peak SMTP relay limit exceeded" (450 4.2.1) has been seen.
const RELAY: Limits = Limits {
    daily: 10_000,
    per_minute: 120,
};

/// How many connections a sender keeps to a server, and how long it uses each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pool {
    pub connections: u32,
    pub messages_per_connection: u32,
}

/// Which known server a profile was made for; `Custom` is anything else.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Preset {
    /// smtp.gmail.com, port 587, STARTTLS.
    Gmail587,
    /// smtp.gmail.com, port 465, implicit TLS.
    Gmail465,
    /// smtp-relay.gmail.com, port 587, STARTTLS (Google Workspace).
    WorkspaceRelay,
    /// The local sandbox on 127.0.0.1 with STARTTLS; its port is chosen when it starts.
    Sandbox,
    /// Any other server.
    Custom,
}

impl Preset {
    /// Every preset, in the order a picker should show them.
    pub fn all() -> &'static [Preset] {
        &[
            Preset::Gmail587,
            Preset::Gmail465,
            Preset::WorkspaceRelay,
            Preset::Sandbox,
            Preset::Custom,
        ]
    }

    /// The server's host, if the preset fixes one.
    pub fn host(&self) -> Option<&'static str> {
        match self {
            Preset::Gmail587 | Preset::Gmail465 => Some(GMAIL_HOST),
            Preset::WorkspaceRelay => Some(RELAY_HOST),
            Preset::Sandbox => Some(SANDBOX_HOST),
            Preset::Custom => None,
        }
    }

    /// The server's port, if the preset fixes one (the sandbox's varies per run).
    pub fn port(&self) -> Option<u16> {
        match self {
            Preset::Gmail587 | Preset::WorkspaceRelay => Some(587),
            Preset::Gmail465 => Some(465),
            Preset::Sandbox | Preset::Custom => None,
        }
    }

    /// The connection security, if the preset fixes one.
    pub fn security(&self) -> Option<Security> {
        match self {
            Preset::Gmail587 | Preset::WorkspaceRelay | Preset::Sandbox => Some(Security::StartTls),
            Preset::Gmail465 => Some(Security::ImplicitTls),
            Preset::Custom => None,
        }
    }

    /// Google's limits for the preset; for the Gmail presets, those of a consumer account (use
    /// [`Preset::limits_for`] when the account is known). `None` when the preset has no limits.
    pub fn limits(&self) -> Option<Limits> {
        match self {
            Preset::Gmail587 | Preset::Gmail465 => Some(GMAIL_CONSUMER),
            Preset::WorkspaceRelay => Some(RELAY),
            Preset::Sandbox | Preset::Custom => None,
        }
    }

    /// Google's limits for `account` on this preset: a Gmail preset used with an address outside
    /// gmail.com/googlemail.com is a Workspace account, which may send 2,000 a day instead of 500.
    pub fn limits_for(&self, account: &str) -> Option<Limits> {
        match self {
            Preset::Gmail587 | Preset::Gmail465 if is_workspace_account(account) => {
                Some(GMAIL_WORKSPACE)
            }
            _ => self.limits(),
        }
    }

    /// Most recipients one message may have. Workspace caps SMTP at 100 per message and consumer
    /// Gmail at about 500, so 100 is what is safe for any Gmail account.
    pub fn max_recipients(&self) -> Option<u32> {
        match self {
            Preset::Gmail587 | Preset::Gmail465 | Preset::WorkspaceRelay => Some(100),
            Preset::Sandbox | Preset::Custom => None,
        }
    }

    /// Whether the server is Google's, where sign-in names are full addresses.
    /// The connections to keep open at once and the messages to send on each before closing
    /// it and opening a new one. Google publishes no such limit; users see disconnects after
    /// 70 to 90 messages on one connection, errors at about 16 simultaneous logins, and
    /// `454 4.7.0 Too many login attempts` from a connection per message, so Gmail gets a few
    /// connections reused for 50 messages each; the relay takes more; the sandbox more still.
    pub fn pool(&self) -> Pool {
        let (connections, messages_per_connection) = match self {
            Preset::Gmail587 | Preset::Gmail465 => (3, 50),
            Preset::WorkspaceRelay => (5, 100),
            Preset::Sandbox => (8, 1_000),
            Preset::Custom => (4, 100),
        };
        Pool {
            connections,
            messages_per_connection,
        }
    }

    pub fn is_google(&self) -> bool {
        matches!(
            self,
            Preset::Gmail587 | Preset::Gmail465 | Preset::WorkspaceRelay
        )
    }

    /// A name for people, e.g. in a picker.
    pub fn label(&self) -> &'static str {
        match self {
            Preset::Gmail587 => "Gmail (port 587, STARTTLS)",
            Preset::Gmail465 => "Gmail (port 465, TLS)",
            Preset::WorkspaceRelay => "Google Workspace SMTP relay",
            Preset::Sandbox => "Local sandbox",
            Preset::Custom => "Custom server",
        }
    }
}

/// An address that parses and is not consumer Gmail; anything unclear counts as consumer, the
/// lower limit.
fn is_workspace_account(account: &str) -> bool {
    Address::parse(account).is_ok_and(|address| {
        let domain = address.domain();
        !domain.eq_ignore_ascii_case("gmail.com") && !domain.eq_ignore_ascii_case("googlemail.com")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_match_google_documentation() {
        let cases = [
            (
                Preset::Gmail587,
                Some(GMAIL_HOST),
                Some(587),
                Some(Security::StartTls),
                Some(500),
            ),
            (
                Preset::Gmail465,
                Some(GMAIL_HOST),
                Some(465),
                Some(Security::ImplicitTls),
                Some(500),
            ),
            (
                Preset::WorkspaceRelay,
                Some(RELAY_HOST),
                Some(587),
                Some(Security::StartTls),
                Some(10_000),
            ),
            (
                Preset::Sandbox,
                Some(SANDBOX_HOST),
                None,
                Some(Security::StartTls),
                None,
            ),
            (Preset::Custom, None, None, None, None),
        ];
        for (preset, host, port, security, daily) in cases {
            let got = (
                preset.host(),
                preset.port(),
                preset.security(),
                preset.limits().map(|l| l.daily),
            );
            assert_eq!(got, (host, port, security, daily), "{preset:?}");
        }
        assert_eq!(Preset::all().len(), cases.len());
    }

    #[test]
    fn workspace_accounts_get_workspace_limits() {
        let cases = [
            (Preset::Gmail587, "ann@gmail.com", Some(500)),
            (Preset::Gmail587, "ann@GoogleMail.com", Some(500)),
            (Preset::Gmail465, "ann@corp.example", Some(2_000)),
            (Preset::Gmail465, "not an address", Some(500)),
            (Preset::WorkspaceRelay, "ann@corp.example", Some(10_000)),
            (Preset::Custom, "ann@corp.example", None),
        ];
        for (preset, account, daily) in cases {
            assert_eq!(
                preset.limits_for(account).map(|l| l.daily),
                daily,
                "{preset:?} {account}"
            );
        }
        assert_eq!(Preset::WorkspaceRelay.max_recipients(), Some(100));
    }
}
