//! Receiving mailboxes: where "Send test and verify" looks for a sent message over IMAP. They
//! are kept beside the profiles; like them they never hold a secret (the App Password or
//! token is in the secret store under the mailbox's id), so a team file may carry them.

use serde::{Deserialize, Serialize};

use crate::validate::{Problem, is_loopback};

/// How TLS starts on the IMAP connection. There is no plain-text choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ImapSecurity {
    /// TLS from the first byte, port 993.
    Tls,
    /// STARTTLS, required, port 143.
    StartTls,
}

/// How the mailbox is logged in to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MailboxAuth {
    AppPassword,
    /// `AUTHENTICATE XOAUTH2` (or OAUTHBEARER) with an access token: the OAuth profile's
    /// (`oauth_profile`), refreshed as SMTP's is, or one pasted as the secret.
    OAuth2,
}

/// The providers mailbridge knows, and a custom server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MailboxPreset {
    Gmail,
    Yahoo,
    Icloud,
    Fastmail,
    Outlook,
    Sandbox,
    Custom,
}

impl MailboxPreset {
    pub const ALL: [MailboxPreset; 7] = [
        MailboxPreset::Gmail,
        MailboxPreset::Yahoo,
        MailboxPreset::Icloud,
        MailboxPreset::Fastmail,
        MailboxPreset::Outlook,
        MailboxPreset::Sandbox,
        MailboxPreset::Custom,
    ];

    pub fn label(self) -> &'static str {
        match self {
            MailboxPreset::Gmail => "Gmail",
            MailboxPreset::Yahoo => "Yahoo Mail",
            MailboxPreset::Icloud => "iCloud Mail",
            MailboxPreset::Fastmail => "Fastmail",
            MailboxPreset::Outlook => "Outlook.com",
            MailboxPreset::Sandbox => "Sandbox",
            MailboxPreset::Custom => "Custom IMAP server",
        }
    }

    /// The IMAP server (empty for a custom one; the sandbox's port is its own, set at start).
    pub fn host(self) -> &'static str {
        match self {
            MailboxPreset::Gmail => "imap.gmail.com",
            MailboxPreset::Yahoo => "imap.mail.yahoo.com",
            MailboxPreset::Icloud => "imap.mail.me.com",
            MailboxPreset::Fastmail => "imap.fastmail.com",
            MailboxPreset::Outlook => "outlook.office365.com",
            MailboxPreset::Sandbox => "127.0.0.1",
            MailboxPreset::Custom => "",
        }
    }

    pub fn port(self) -> u16 {
        match self {
            MailboxPreset::Sandbox => 2993,
            _ => 993,
        }
    }

    pub fn auth(self) -> MailboxAuth {
        match self {
            MailboxPreset::Outlook => MailboxAuth::OAuth2,
            _ => MailboxAuth::AppPassword,
        }
    }

    /// How to get the secret, in words.
    pub fn rules(self) -> &'static str {
        match self {
            MailboxPreset::Gmail => {
                "Turn on 2-Step Verification, then create an App Password at \
                 https://myaccount.google.com/apppasswords (16 letters; spaces are removed). \
                 IMAP is always on for Gmail since 2025. The username is the whole address."
            }
            MailboxPreset::Yahoo => {
                "Yahoo needs an app password: Account Security, \"Generate app password\" \
                 (2-step verification must be on). The username is the whole address."
            }
            MailboxPreset::Icloud => {
                "iCloud needs an app-specific password from https://account.apple.com (Sign-In \
                 and Security, App-Specific Passwords; two-factor authentication must be on). \
                 The username is the whole @icloud.com address."
            }
            MailboxPreset::Fastmail => {
                "Fastmail needs an app password with IMAP access: Settings, Privacy & \
                 Security, Manage app passwords. The username is the whole address."
            }
            MailboxPreset::Outlook => {
                "Outlook.com's IMAP accepts only OAuth (Microsoft turned off passwords and app \
                 passwords for it). mailbridge cannot sign in to Microsoft yet: paste an access \
                 token with the IMAP.AccessAsUser.All scope, obtained elsewhere, as the secret, \
                 or verify at another provider."
            }
            MailboxPreset::Sandbox => {
                "The local sandbox: no password to create; it is set up on the first run."
            }
            MailboxPreset::Custom => {
                "Your server's IMAP host and port: 993 with TLS, or 143 with STARTTLS \
                 (required). Ask its administrator whether it wants an app password."
            }
        }
    }
}

/// A receiving mailbox. It has no field that could hold a secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceivingMailbox {
    pub id: String,
    pub name: String,
    pub preset: MailboxPreset,
    pub host: String,
    pub port: u16,
    pub security: ImapSecurity,
    pub username: String,
    pub auth: MailboxAuth,
    /// A PEM CA certificate to trust beside the system's.
    #[serde(default)]
    pub extra_ca_pem: Option<String>,
    /// The sending profile whose OAuth account this mailbox is: IMAP signs in with that
    /// profile's access tokens (`auth` is then `o_auth2`), so nothing is pasted.
    #[serde(default)]
    pub oauth_profile: Option<crate::ProfileId>,
}

impl ReceivingMailbox {
    pub fn from_preset(preset: MailboxPreset, id: &str, name: &str, username: &str) -> Self {
        ReceivingMailbox {
            id: id.to_owned(),
            name: name.to_owned(),
            preset,
            host: preset.host().to_owned(),
            port: preset.port(),
            security: ImapSecurity::Tls,
            username: username.to_owned(),
            auth: preset.auth(),
            extra_ca_pem: None,
            oauth_profile: None,
        }
    }

    /// Every problem at once, each with its field and the fix.
    pub fn validate(&self) -> Result<(), Vec<Problem>> {
        let mut problems = Vec::new();
        let id_ok = !self.id.is_empty()
            && self.id.len() <= 64
            && self
                .id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !id_ok {
            problems.push(Problem::new(
                "id",
                "the id must be 1 to 64 letters, digits, '-' or '_'",
                "Choose an id such as \"gmail-test\".",
            ));
        }
        if self.name.trim().is_empty() || self.name.len() > 100 {
            problems.push(Problem::new(
                "name",
                "the name is empty or longer than 100 characters",
                "Give the mailbox a short name such as \"My Gmail\".",
            ));
        }
        let host_ok = !self.host.is_empty()
            && self.host.len() <= 253
            && self
                .host
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'));
        if !host_ok {
            problems.push(Problem::new(
                "host",
                "the host is not a host name or IP address",
                "Enter the IMAP server's name, such as imap.gmail.com.",
            ));
        }
        if self.port == 0 {
            problems.push(Problem::new(
                "port",
                "the port is 0",
                "Use 993 (TLS) or 143 (STARTTLS).",
            ));
        }
        let expected = match self.security {
            ImapSecurity::Tls => 143,
            ImapSecurity::StartTls => 993,
        };
        if self.port == expected {
            problems.push(Problem::new(
                "security",
                match self.security {
                    ImapSecurity::Tls => "port 143 speaks plain text first, not TLS",
                    ImapSecurity::StartTls => "port 993 speaks TLS at once, not STARTTLS",
                },
                "Use TLS with 993, or STARTTLS with 143.",
            ));
        }
        if self.username.trim().is_empty() || self.username.chars().any(char::is_control) {
            problems.push(Problem::new(
                "username",
                "the username is empty or has control characters",
                "Enter the login name, usually the whole address.",
            ));
        }
        if self.preset == MailboxPreset::Outlook && self.auth == MailboxAuth::AppPassword {
            problems.push(Problem::new(
                "auth",
                "Outlook.com's IMAP does not accept passwords",
                "Choose OAuth2 and paste an access token as the secret.",
            ));
        }
        if self.preset != MailboxPreset::Sandbox
            && self.preset != MailboxPreset::Custom
            && is_loopback(&self.host)
        {
            problems.push(Problem::new(
                "host",
                "a provider's preset points at this machine",
                "Use the Custom preset for a local server.",
            ));
        }
        if let Some(profile) = &self.oauth_profile {
            if profile.0.trim().is_empty() {
                problems.push(Problem::new(
                    "oauth_profile",
                    "the OAuth profile's id is empty",
                    "Name the sending profile whose Google account this mailbox is, or leave \
                     the field out.",
                ));
            } else if self.auth != MailboxAuth::OAuth2 {
                problems.push(Problem::new(
                    "auth",
                    "a mailbox that signs in with an OAuth profile's tokens must use OAuth2",
                    "Set auth to OAuth2, or remove oauth_profile to use an App Password.",
                ));
            }
        }
        if let Some(pem) = &self.extra_ca_pem
            && !pem.trim().is_empty()
            && !pem.contains("-----BEGIN CERTIFICATE-----")
        {
            problems.push(Problem::new(
                "extra_ca_pem",
                "the extra CA is not a PEM certificate",
                "Paste the CA's certificate, from -----BEGIN CERTIFICATE----- to its END line.",
            ));
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems)
        }
    }
}

/// The team file of receiving mailboxes: definitions only, never a secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MailboxFile {
    pub format: String,
    pub version: u32,
    pub mailboxes: Vec<ReceivingMailbox>,
}

pub const MAILBOX_FORMAT: &str = "mailbridge-mailboxes";

impl MailboxFile {
    pub fn new(mailboxes: Vec<ReceivingMailbox>) -> MailboxFile {
        MailboxFile {
            format: MAILBOX_FORMAT.to_owned(),
            version: 1,
            mailboxes,
        }
    }

    /// Reads a file and checks every mailbox; a problem names `$.mailboxes[i].field`.
    pub fn parse(text: &str) -> Result<MailboxFile, Vec<Problem>> {
        let file: MailboxFile = serde_json::from_str(text).map_err(|error| {
            vec![Problem::new(
                "$",
                format!("the file is not a mailboxes file: {error}"),
                "Use a file mailbridge exported (format \"mailbridge-mailboxes\", version 1).",
            )]
        })?;
        let mut problems = Vec::new();
        if file.format != MAILBOX_FORMAT || file.version != 1 {
            problems.push(Problem::new(
                "$.format",
                "this is not a version 1 mailboxes file",
                "Use a file mailbridge exported (format \"mailbridge-mailboxes\", version 1).",
            ));
        }
        for (index, mailbox) in file.mailboxes.iter().enumerate() {
            if let Err(found) = mailbox.validate() {
                problems.extend(found.into_iter().map(|mut problem| {
                    problem.path = format!("$.mailboxes[{index}].{}", problem.path);
                    problem
                }));
            }
            if file.mailboxes[..index].iter().any(|m| m.id == mailbox.id) {
                problems.push(Problem::new(
                    format!("$.mailboxes[{index}].id"),
                    "two mailboxes have this id",
                    "Give each mailbox its own id.",
                ));
            }
        }
        if problems.is_empty() {
            Ok(file)
        } else {
            Err(problems)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_validate_and_bad_fields_are_named() {
        for preset in MailboxPreset::ALL {
            if preset == MailboxPreset::Custom {
                continue;
            }
            let mailbox = ReceivingMailbox::from_preset(preset, "m", "M", "me@example.com");
            assert_eq!(mailbox.validate(), Ok(()), "{preset:?}");
            assert!(!preset.rules().is_empty());
        }
        let outlook = MailboxPreset::Outlook;
        assert_eq!(outlook.auth(), MailboxAuth::OAuth2);
        assert!(outlook.rules().contains("only OAuth"));
        let mut bad = ReceivingMailbox::from_preset(MailboxPreset::Gmail, "a b", "", "");
        bad.port = 143;
        bad.extra_ca_pem = Some("nope".into());
        let paths: Vec<String> = bad
            .validate()
            .expect_err("bad")
            .into_iter()
            .map(|p| p.path)
            .collect();
        assert_eq!(
            paths,
            ["id", "name", "security", "username", "extra_ca_pem"]
        );
        let mut linked = ReceivingMailbox::from_preset(MailboxPreset::Gmail, "g", "G", "me@x.com");
        linked.oauth_profile = Some(crate::ProfileId("gmail".into()));
        let problems = linked
            .validate()
            .expect_err("App Password with an OAuth profile");
        assert_eq!(problems[0].path, "auth");
        assert!(problems[0].fix.contains("OAuth2"), "{problems:?}");
        linked.auth = MailboxAuth::OAuth2;
        assert_eq!(linked.validate(), Ok(()));
        linked.oauth_profile = Some(crate::ProfileId(" ".into()));
        assert_eq!(
            linked.validate().expect_err("empty")[0].path,
            "oauth_profile"
        );
    }

    #[test]
    fn the_team_file_round_trips_and_reports_paths() {
        let file = MailboxFile::new(vec![ReceivingMailbox::from_preset(
            MailboxPreset::Fastmail,
            "fm",
            "Fastmail",
            "me@fastmail.com",
        )]);
        let text = serde_json::to_string(&file).expect("json");
        for key in ["\"password\"", "\"secret\"", "\"token\""] {
            assert!(!text.contains(key), "{text}");
        }
        assert_eq!(MailboxFile::parse(&text), Ok(file));
        let broken = text.replace("\"port\":993", "\"port\":0");
        let problems = MailboxFile::parse(&broken).expect_err("port 0");
        assert_eq!(problems[0].path, "$.mailboxes[0].port");
        assert!(MailboxFile::parse("{").is_err());
    }
}
