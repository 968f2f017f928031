//! Profile validation: every problem at once, each with its field path and a fix in words.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::address::{Mailbox, check_domain, is_forbidden};
use crate::preset::{GMAIL_HOST, Preset};
use crate::profile::{AuthMethod, OAuthSettings, Profile, Security};

/// One thing wrong with a profile or a team file.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, thiserror::Error)]
#[error("{path}: {message}. Fix: {fix}")]
pub struct Problem {
    /// Where: a field path such as `port`, `from.address`, `headers[2].name`, or in a team file
    /// a JSON path such as `$.profiles[1].port`.
    pub path: String,
    /// What is wrong, as a sentence without the final period.
    pub message: String,
    /// What to do about it, in words.
    pub fix: String,
}

impl Problem {
    /// A problem at `path`.
    pub fn new(
        path: impl Into<String>,
        message: impl Into<String>,
        fix: impl Into<String>,
    ) -> Problem {
        Problem {
            path: path.into(),
            message: message.into(),
            fix: fix.into(),
        }
    }

    /// The same problem seen from `parent`: `port` under `$.profiles[1]` is `$.profiles[1].port`.
    pub fn under(self, parent: &str) -> Problem {
        let path = if self.path.is_empty() {
            parent.to_string()
        } else {
            format!("{parent}.{}", self.path)
        };
        Problem { path, ..self }
    }
}

/// Headers mailbridge writes itself, and what to do instead of setting them by default.
const RESERVED_HEADERS: &[(&str, &str)] = &[
    ("From", "set the profile's From field instead"),
    (
        "Sender",
        "remove it; Gmail rewrites the sender to the signed-in account anyway",
    ),
    ("Reply-To", "set the profile's Reply-To field instead"),
    ("To", "remove it and add recipients to each message"),
    ("Cc", "remove it and add recipients to each message"),
    (
        "Bcc",
        "remove it and add Bcc recipients to each message; mailbridge keeps them out of the headers",
    ),
    (
        "Date",
        "remove it; mailbridge dates each message when it is sent",
    ),
    (
        "Message-ID",
        "remove it; each message needs its own Message-ID, which mailbridge generates",
    ),
    ("Subject", "remove it and set the subject on each message"),
    (
        "MIME-Version",
        "remove it; mailbridge writes the MIME structure",
    ),
    (
        "Content-Type",
        "remove it; mailbridge writes the MIME structure",
    ),
    (
        "Content-Transfer-Encoding",
        "remove it; mailbridge writes the MIME structure",
    ),
    (
        "Content-Disposition",
        "remove it; mailbridge writes the MIME structure",
    ),
    (
        "Return-Path",
        "remove it; the receiving server adds it from the envelope",
    ),
];

/// The longest header name lettre writes (a folded line must still fit the name).
const MAX_HEADER_NAME: usize = 76;

/// RFC 5322 caps a header line at 998 characters.
const MAX_LINE: usize = 998;

/// Checks text that ends up in a header (a value, a display name, a subject) for line breaks,
/// which would let it smuggle in headers of its own, and for other control characters.
pub fn check_header_text(path: &str, text: &str) -> Option<Problem> {
    if text.contains(['\r', '\n', '\u{2028}', '\u{2029}']) {
        return Some(Problem::new(
            path,
            "it contains a line break, which would let it add headers of its own (header injection)",
            "remove the line break and keep the text on one line",
        ));
    }
    let c = text.chars().find(|&c| is_forbidden(c))?;
    Some(Problem::new(
        path,
        format!("it contains the control character U+{:04X}", u32::from(c)),
        "remove it",
    ))
}

/// The OAuth client's ID and the authorization server's addresses.
fn check_oauth(oauth: &OAuthSettings, out: &mut Vec<Problem>) {
    let id = &oauth.client_id;
    if id.trim().is_empty() {
        out.push(Problem::new(
            "oauth.client_id",
            "the client ID is empty",
            "paste the Client ID of your Desktop app client (Google Cloud console, Google Auth \
             Platform, Clients), or load its client_secret.json",
        ));
    } else if id.chars().any(|c| c.is_whitespace() || c.is_control()) {
        out.push(Problem::new(
            "oauth.client_id",
            "the client ID contains spaces or control characters",
            "paste the Client ID again, without spaces; it looks like \
             1234-abc.apps.googleusercontent.com",
        ));
    }
    let Some(endpoints) = &oauth.endpoints else {
        return;
    };
    let addresses = [
        ("oauth.endpoints.auth_uri", Some(&endpoints.auth_uri)),
        ("oauth.endpoints.token_uri", Some(&endpoints.token_uri)),
        (
            "oauth.endpoints.revocation_uri",
            endpoints.revocation_uri.as_ref(),
        ),
        ("oauth.endpoints.issuer", endpoints.issuer.as_ref()),
    ];
    for (path, uri) in addresses {
        if let Some(uri) = uri
            && let Some(problem) = check_endpoint(uri)
        {
            out.push(Problem::new(
                path,
                problem,
                "use the provider's https:// address",
            ));
        }
    }
}

/// Why `uri` cannot be an authorization server's address: it must be https, or http to this
/// machine (a local test server).
fn check_endpoint(uri: &str) -> Option<String> {
    if uri.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Some(format!("{uri:?} contains spaces"));
    }
    let Some((scheme, rest)) = uri.split_once("://") else {
        return Some(format!("{uri:?} is not an https:// address"));
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = match authority.rsplit_once(':') {
        Some((host, port)) if port.bytes().all(|b| b.is_ascii_digit()) => host,
        _ => authority,
    };
    if host.is_empty() {
        return Some(format!("{uri:?} has no host"));
    }
    match scheme.to_ascii_lowercase().as_str() {
        "https" => None,
        "http" if is_loopback(host) => None,
        "http" => Some(format!(
            "{uri:?} is plain http to another machine, which would send the client secret and \
             tokens unencrypted"
        )),
        _ => Some(format!("{uri:?} is not an https:// address")),
    }
}

/// Whether `host` is this machine: 127.0.0.0/8, ::1 (bracketed or not) or `localhost`.
pub fn is_loopback(host: &str) -> bool {
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    host.eq_ignore_ascii_case("localhost")
        || host.eq_ignore_ascii_case("localhost.")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

impl Profile {
    /// `Ok` when the profile can be used; otherwise every problem, in field order.
    pub fn validate(&self) -> Result<(), Vec<Problem>> {
        let problems = self.problems();
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems)
        }
    }

    /// Every problem with the profile, in field order; empty when it is fine.
    pub fn problems(&self) -> Vec<Problem> {
        let mut out = Vec::new();
        self.check_identity(&mut out);
        self.check_connection(&mut out);
        self.check_sign_in(&mut out);
        check_mailbox("from", &self.from, &mut out);
        if let Some(reply_to) = &self.reply_to {
            check_mailbox("reply_to", reply_to, &mut out);
        }
        self.check_limits(&mut out);
        self.check_headers(&mut out);
        out
    }

    fn check_identity(&self, out: &mut Vec<Problem>) {
        if self.id.0.is_empty() {
            out.push(Problem::new(
                "id",
                "the id is empty",
                "give the profile an id such as \"team-gmail\"",
            ));
        } else if self
            .id
            .0
            .chars()
            .any(|c| c.is_whitespace() || c.is_control())
        {
            out.push(Problem::new(
                "id",
                format!(
                    "the id {:?} contains whitespace or control characters",
                    self.id.0
                ),
                "use letters, digits and '-' only, e.g. \"team-gmail\"",
            ));
        }
        if self.name.trim().is_empty() {
            out.push(Problem::new(
                "name",
                "the name is empty",
                "give the profile a name people will recognize, e.g. \"Team Gmail\"",
            ));
        } else if let Some(problem) = check_header_text("name", &self.name) {
            out.push(problem);
        }
    }

    fn check_connection(&self, out: &mut Vec<Problem>) {
        let preset = self.preset;
        let label = preset.label();
        out.extend(check_host(&self.host, preset));

        if self.port == 0 {
            let fix = match preset.port() {
                Some(port) => format!("set the port to {port}"),
                None if preset == Preset::Sandbox => {
                    "set the port the sandbox printed when it started".into()
                }
                None => "use 587 for STARTTLS or 465 for implicit TLS".into(),
            };
            out.push(Problem::new(
                "port",
                "port 0 is out of range (1 to 65535)",
                fix,
            ));
        } else if let Some(port) = preset.port().filter(|&port| port != self.port) {
            out.push(Problem::new(
                "port",
                format!("the {label} preset uses port {port}, not {}", self.port),
                format!("set the port to {port}, or switch the preset to Custom"),
            ));
        }

        let security = self.security;
        if security == Security::Plain && !is_loopback(&self.host) {
            out.push(Problem::new(
                "security",
                format!(
                    "plain (unencrypted) SMTP is only allowed to this machine (127.0.0.1, ::1, localhost), not to {:?}",
                    self.host
                ),
                "use STARTTLS (port 587) or implicit TLS (port 465); without TLS the password crosses the network readable",
            ));
        } else if let Some(expected) = preset.security().filter(|&s| s != security) {
            out.push(Problem::new(
                "security",
                format!(
                    "the {label} preset uses {}, not {}",
                    expected.label(),
                    security.label()
                ),
                format!(
                    "set security to {}, or switch the preset to Custom",
                    expected.label()
                ),
            ));
        } else if self.port == 465 && security != Security::ImplicitTls {
            out.push(Problem::new(
                "security",
                format!("port 465 expects implicit TLS, not {}", security.label()),
                "set security to implicit TLS, or use port 587 with STARTTLS",
            ));
        } else if self.port == 587 && security == Security::ImplicitTls {
            out.push(Problem::new(
                "security",
                "port 587 expects STARTTLS, not implicit TLS",
                "set security to STARTTLS, or use port 465 with implicit TLS",
            ));
        }

        if let Some(pem) = &self.extra_ca_pem
            && let Some((message, fix)) = check_ca_pem(pem)
        {
            out.push(Problem::new("extra_ca_pem", message, fix));
        }
    }

    fn check_sign_in(&self, out: &mut Vec<Problem>) {
        let google = self.preset.is_google();
        let gmail = matches!(self.preset, Preset::Gmail587 | Preset::Gmail465)
            || self.host.eq_ignore_ascii_case(GMAIL_HOST);
        if self.auth == AuthMethod::None {
            if gmail {
                out.push(Problem::new(
                    "auth",
                    "Gmail requires signing in",
                    "choose an app password or OAuth2 (XOAUTH2)",
                ));
            }
            return;
        }
        let username = &self.username;
        let account_fix = if google {
            "enter the full Google account address, e.g. ann@gmail.com or ann@your-company.com"
        } else {
            "enter the account name the server expects"
        };
        if username.trim().is_empty() {
            out.push(Problem::new(
                "username",
                "the username is empty",
                account_fix,
            ));
        } else if let Some(problem) = check_header_text("username", username) {
            out.push(problem);
        } else if username.trim() != username {
            out.push(Problem::new(
                "username",
                "the username has spaces at the start or end",
                "remove them",
            ));
        } else if google && crate::Address::parse(username).is_err() {
            out.push(Problem::new(
                "username",
                format!("Google signs in with a full address, and {username:?} is not one"),
                account_fix,
            ));
        }
        if self.auth == AuthMethod::OAuth2
            && let Some(oauth) = &self.oauth
        {
            check_oauth(oauth, out);
        }
    }

    fn check_limits(&self, out: &mut Vec<Problem>) {
        let limits = self.limits;
        if limits.daily == 0 {
            out.push(Problem::new(
                "limits.daily",
                "a daily limit of 0 blocks all sending",
                "set it to how many messages a day the account may send",
            ));
        } else if let Some(cap) = self
            .preset
            .limits_for(&self.username)
            .filter(|cap| limits.daily > cap.daily)
        {
            let whose = match self.preset {
                Preset::WorkspaceRelay => "the SMTP relay's limit per user",
                _ if cap.daily > 500 => "the limit for a Google Workspace account",
                _ => "the limit for a Gmail account",
            };
            out.push(Problem::new(
                "limits.daily",
                format!(
                    "{} a day is above the preset's limit: {whose} is {} a day",
                    thousands(limits.daily),
                    thousands(cap.daily)
                ),
                format!(
                    "lower it to {} or less; going over gets the account blocked from sending for up to 24 hours",
                    thousands(cap.daily)
                ),
            ));
        }
        if limits.per_minute == 0 {
            out.push(Problem::new(
                "limits.per_minute",
                "a per-minute rate of 0 blocks all sending",
                "set it to how many messages a minute may go out, e.g. 20",
            ));
        } else if limits.daily > 0 && limits.per_minute > limits.daily {
            out.push(Problem::new(
                "limits.per_minute",
                format!(
                    "{} a minute is more than the daily limit of {}",
                    thousands(limits.per_minute),
                    thousands(limits.daily)
                ),
                "lower the per-minute rate below the daily limit",
            ));
        }
    }

    fn check_headers(&self, out: &mut Vec<Problem>) {
        for (i, header) in self.headers.iter().enumerate() {
            let name_path = format!("headers[{i}].name");
            if let Some(problem) = check_header_name(&name_path, &header.name) {
                out.push(problem);
            }
            let value_path = format!("headers[{i}].value");
            if let Some(problem) = check_header_text(&value_path, &header.value) {
                out.push(problem);
            } else if header.name.len() + 2 + header.value.len() > MAX_LINE {
                out.push(Problem::new(
                    value_path,
                    format!("the header line would be longer than {MAX_LINE} characters"),
                    "shorten the value",
                ));
            }
        }
    }
}

impl Security {
    /// A name for people.
    pub fn label(&self) -> &'static str {
        match self {
            Security::StartTls => "STARTTLS",
            Security::ImplicitTls => "implicit TLS",
            Security::Plain => "plain (no TLS)",
        }
    }
}

impl AuthMethod {
    /// A name for people.
    pub fn label(&self) -> &'static str {
        match self {
            AuthMethod::AppPassword => "app password",
            AuthMethod::OAuth2 => "OAuth2 (XOAUTH2)",
            AuthMethod::None => "no sign-in",
        }
    }
}

fn check_host(host: &str, preset: Preset) -> Option<Problem> {
    let problem = |message: String, fix: &str| Some(Problem::new("host", message, fix));
    let expected = preset.host();
    if host.trim().is_empty() {
        return Some(Problem::new(
            "host",
            "the host is empty",
            match expected {
                Some(expected) => format!("set the host to {expected}"),
                None => "enter the SMTP server's host name, e.g. smtp.example.com".into(),
            },
        ));
    }
    if let Some(problem) = check_header_text("host", host) {
        return Some(problem);
    }
    if host.contains("://") {
        return problem(
            format!("{host:?} looks like a URL"),
            "enter only the host name, e.g. smtp.gmail.com",
        );
    }
    if host.contains('@') {
        return problem(
            format!("{host:?} contains '@'"),
            "enter only the server's name here; the account goes in the username",
        );
    }
    let bare = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    let is_ip = bare.parse::<IpAddr>().is_ok();
    if !is_ip {
        if host.contains(':') {
            return problem(
                format!("{host:?} includes a port"),
                "remove \":port\" and put the port in the port field",
            );
        }
        if let Err(error) = check_domain(host) {
            return problem(
                format!("{host:?} is not a valid host name: {}", error.message()),
                &error.fix(),
            );
        }
    }
    match (preset, expected) {
        (Preset::Sandbox, _) if !is_loopback(host) => problem(
            format!("the sandbox runs on this machine, but the host is {host:?}"),
            "set the host to 127.0.0.1",
        ),
        (Preset::Sandbox, _) | (_, None) => None,
        (_, Some(expected)) if !host.eq_ignore_ascii_case(expected) => Some(Problem::new(
            "host",
            format!(
                "the {} preset connects to {expected}, not {host:?}",
                preset.label()
            ),
            format!("set the host to {expected}, or switch the preset to Custom"),
        )),
        _ => None,
    }
}

/// `None` when `pem` holds one or more certificates and nothing but certificates.
fn check_ca_pem(pem: &str) -> Option<(String, String)> {
    const BEGIN: &str = "-----BEGIN ";
    const END: &str = "-----END CERTIFICATE-----";
    let problem = |message: &str, fix: &str| Some((message.to_string(), fix.to_string()));
    if pem.trim().is_empty() {
        return problem(
            "the CA certificate is empty",
            "remove it, or paste the certificate (it starts with -----BEGIN CERTIFICATE-----)",
        );
    }
    if pem.contains("PRIVATE KEY") {
        return problem(
            "this is a private key, not a CA certificate",
            "paste only the CA certificate (-----BEGIN CERTIFICATE-----); a private key must never be \
             shared, so replace this one if it has left its machine",
        );
    }
    let mut rest = pem;
    let mut certificates = 0;
    while let Some(start) = rest.find(BEGIN) {
        let after_begin = &rest[start + BEGIN.len()..];
        let Some((label, body_and_rest)) = after_begin.split_once("-----") else {
            return problem(
                "a -----BEGIN line is cut off",
                "paste the certificate again, unchanged",
            );
        };
        if label != "CERTIFICATE" {
            return Some((
                format!("it contains a {label}, not a CERTIFICATE"),
                "paste only the CA certificate (-----BEGIN CERTIFICATE-----)".into(),
            ));
        }
        let Some((body, after_end)) = body_and_rest.split_once(END) else {
            return problem(
                "the certificate has no -----END CERTIFICATE----- line",
                "paste the whole certificate, including its last line",
            );
        };
        let base64 =
            |c: char| c.is_ascii_alphanumeric() || "+/=".contains(c) || c.is_ascii_whitespace();
        if body.trim().is_empty() || !body.chars().all(base64) {
            return problem(
                "the certificate's body is not base64",
                "paste the certificate again, unchanged",
            );
        }
        certificates += 1;
        rest = after_end;
    }
    if certificates == 0 {
        return problem(
            "it is not a PEM certificate: there is no -----BEGIN CERTIFICATE----- line",
            "paste the CA certificate in PEM form; a .cer/.der file converts with \
             `openssl x509 -inform der -in ca.cer`",
        );
    }
    None
}

/// Adds a problem for a mailbox whose address does not parse or whose display name could
/// inject a header; `path` names the field (`from`, `to[1]`).
pub fn check_mailbox(path: &str, mailbox: &Mailbox, out: &mut Vec<Problem>) {
    if let Err(error) = mailbox.address.check() {
        out.push(Problem::new(
            format!("{path}.address"),
            format!(
                "{:?} is not a valid address: {}",
                mailbox.address.as_str(),
                error.message()
            ),
            error.fix(),
        ));
    }
    if let Some(name) = &mailbox.name {
        out.extend(check_header_text(&format!("{path}.name"), name));
    }
}

/// The one check of an extra header's name, used by the composer, the profile and the page:
/// [`check_field_name`], and none of the headers mailbridge writes itself.
pub fn check_header_name(path: &str, name: &str) -> Option<Problem> {
    if let Some(problem) = check_field_name(path, name) {
        return Some(problem);
    }
    let (reserved, fix) = RESERVED_HEADERS
        .iter()
        .find(|(reserved, _)| reserved.eq_ignore_ascii_case(name))?;
    Some(Problem::new(
        path,
        format!("mailbridge writes the {reserved} header itself"),
        *fix,
    ))
}

/// Whether `name` can be a header field's name at all: not empty, no line break, RFC 5322
/// field-name characters (printable ASCII except ':'), at most 76 characters. The checks
/// before sending apply it to every field of a finished message.
pub fn check_field_name(path: &str, name: &str) -> Option<Problem> {
    if name.is_empty() {
        return Some(Problem::new(
            path,
            "the header name is empty",
            "enter a name such as X-Campaign, or remove the header",
        ));
    }
    if let Some(problem) = check_header_text(path, name) {
        return Some(problem);
    }
    if name.contains(':') {
        return Some(Problem::new(
            path,
            format!("the header name {name:?} contains ':'"),
            "put only the name here (e.g. X-Campaign) and the rest in the value",
        ));
    }
    // RFC 5322 ftext: printable ASCII except ':'.
    if let Some(c) = name.chars().find(|c| !('!'..='~').contains(c)) {
        return Some(Problem::new(
            path,
            format!("{c:?} is not allowed in a header name"),
            "use only printable ASCII without spaces, such as letters, digits and '-'",
        ));
    }
    if name.len() > MAX_HEADER_NAME {
        return Some(Problem::new(
            path,
            format!("the header name is {} characters long", name.len()),
            format!("use at most {MAX_HEADER_NAME} characters"),
        ));
    }
    None
}

/// `10000` as `10,000`, the way limits are written in Google's pages.
fn thousands(n: u32) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::address::Address;
    use crate::profile::{Header, Limits, ProfileId};

    const CERT: &str =
        "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUQ2FmZQ==\n-----END CERTIFICATE-----\n";

    fn gmail() -> Profile {
        Profile::from_preset(
            Preset::Gmail587,
            ProfileId("team-gmail".into()),
            "Team Gmail",
            "ann@gmail.com",
        )
    }

    /// Applies `edit` to a valid Gmail profile and expects exactly these problems, given as
    /// `(path, a fragment of the message)`.
    fn check(edit: impl FnOnce(&mut Profile), expected: &[(&str, &str)]) {
        let mut profile = gmail();
        edit(&mut profile);
        let problems = profile.problems();
        let got: Vec<(&str, &str)> = problems
            .iter()
            .map(|p| (p.path.as_str(), p.message.as_str()))
            .collect();
        let matches = got.len() == expected.len()
            && got
                .iter()
                .zip(expected)
                .all(|((path, message), (want_path, want_fragment))| {
                    path == want_path && message.contains(want_fragment)
                });
        assert!(matches, "expected {expected:#?}\ngot {problems:#?}");
        assert!(
            problems.iter().all(|p| !p.fix.is_empty()),
            "every problem needs a fix: {problems:#?}"
        );
    }

    fn mailbox(text: &str) -> Mailbox {
        Mailbox::parse(text).unwrap_or_else(|_| Mailbox::from(Address::new_unchecked(text)))
    }

    fn header(name: &str, value: &str) -> Header {
        Header {
            name: name.into(),
            value: value.into(),
        }
    }

    #[test]
    fn presets_validate_clean() {
        for &preset in Preset::all() {
            let mut profile =
                Profile::from_preset(preset, ProfileId("p".into()), "P", "ann@example.com");
            match preset {
                Preset::Sandbox => profile.port = 2525,
                Preset::Custom => profile.host = "smtp.example.com".into(),
                _ => {}
            }
            assert_eq!(profile.validate(), Ok(()), "{preset:?}");
        }
        assert_eq!(
            Profile::sandbox(ProfileId("s".into()), "Sandbox", 40_123).validate(),
            Ok(())
        );
    }

    #[test]
    fn identity_and_connection() {
        check(|p| p.name = "  ".into(), &[("name", "the name is empty")]);
        check(|p| p.name = "Team\nGmail".into(), &[("name", "line break")]);
        check(
            |p| p.id = ProfileId(String::new()),
            &[("id", "the id is empty")],
        );
        check(|p| p.id = ProfileId("a b".into()), &[("id", "whitespace")]);
        check(|p| p.host = String::new(), &[("host", "the host is empty")]);
        check(
            |p| p.host = "smtps://smtp.gmail.com".into(),
            &[("host", "looks like a URL")],
        );
        check(
            |p| p.host = "smtp.gmail.com:587".into(),
            &[("host", "includes a port")],
        );
        check(
            |p| p.host = "ann@smtp.gmail.com".into(),
            &[("host", "contains '@'")],
        );
        check(
            |p| p.host = "smtp..gmail.com".into(),
            &[("host", "is not a valid host name")],
        );
        check(
            |p| p.host = "smtp.office365.com".into(),
            &[("host", "preset connects to smtp.gmail.com")],
        );
        check(|p| p.port = 0, &[("port", "port 0 is out of range")]);
        check(|p| p.port = 25, &[("port", "uses port 587, not 25")]);
        check(
            |p| p.security = Security::ImplicitTls,
            &[("security", "uses STARTTLS, not implicit TLS")],
        );
        check(
            |p| p.security = Security::Plain,
            &[(
                "security",
                "only allowed to this machine (127.0.0.1, ::1, localhost), not to \"smtp.gmail.com\"",
            )],
        );
    }

    #[test]
    fn plain_is_only_for_loopback() {
        for (host, allowed) in [
            ("127.0.0.1", true),
            ("127.8.9.10", true),
            ("::1", true),
            ("[::1]", true),
            ("LOCALHOST", true),
            ("mail.example.com", false),
            ("10.0.0.1", false),
            ("128.0.0.1", false),
            ("localhost.example.com", false),
        ] {
            let profile = Profile {
                preset: Preset::Custom,
                host: host.into(),
                port: 2525,
                security: Security::Plain,
                ..gmail()
            };
            let paths: Vec<String> = profile.problems().into_iter().map(|p| p.path).collect();
            assert_eq!(paths.is_empty(), allowed, "{host}: {paths:?}");
        }
    }

    #[test]
    fn custom_ports_must_match_security() {
        let custom = |p: &mut Profile| {
            p.preset = Preset::Custom;
            p.host = "smtp.example.com".into();
        };
        check(
            |p| {
                custom(p);
                p.port = 465;
            },
            &[("security", "port 465 expects implicit TLS, not STARTTLS")],
        );
        check(
            |p| {
                custom(p);
                p.security = Security::ImplicitTls;
            },
            &[("security", "port 587 expects STARTTLS")],
        );
        check(
            |p| {
                custom(p);
                p.port = 2525;
                p.security = Security::ImplicitTls;
            },
            &[],
        );
    }

    #[test]
    fn certificates() {
        check(|p| p.extra_ca_pem = Some(CERT.into()), &[]);
        check(
            |p| p.extra_ca_pem = Some(format!("subject=CN=Relay CA\n{CERT}{CERT}")),
            &[],
        );
        check(
            |p| p.extra_ca_pem = Some(" \n".into()),
            &[("extra_ca_pem", "empty")],
        );
        check(
            |p| p.extra_ca_pem = Some("MIIBszCCAVmgAwIBAgIU".into()),
            &[("extra_ca_pem", "not a PEM certificate")],
        );
        check(
            |p| {
                p.extra_ca_pem =
                    Some("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----".into())
            },
            &[("extra_ca_pem", "private key")],
        );
        check(
            |p| p.extra_ca_pem = Some("-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n".into()),
            &[("extra_ca_pem", "contains a CERTIFICATE REQUEST")],
        );
        check(
            |p| p.extra_ca_pem = Some("-----BEGIN CERTIFICATE-----\nMIIB".into()),
            &[("extra_ca_pem", "no -----END CERTIFICATE----- line")],
        );
        check(
            |p| {
                p.extra_ca_pem = Some(
                    "-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----".into(),
                )
            },
            &[("extra_ca_pem", "not base64")],
        );
    }

    #[test]
    fn sign_in() {
        check(
            |p| p.auth = AuthMethod::None,
            &[("auth", "Gmail requires signing in")],
        );
        check(|p| p.auth = AuthMethod::OAuth2, &[]);
        let oauth = |client_id: &str, token_uri: &str| {
            let (client_id, token_uri) = (client_id.to_owned(), token_uri.to_owned());
            move |p: &mut Profile| {
                p.auth = AuthMethod::OAuth2;
                p.oauth = Some(OAuthSettings {
                    client_id,
                    mechanism: crate::OAuthMechanism::Xoauth2,
                    endpoints: Some(crate::OAuthEndpoints {
                        auth_uri: "https://accounts.example/auth".into(),
                        token_uri,
                        revocation_uri: None,
                        issuer: None,
                    }),
                });
            }
        };
        check(
            oauth("1-a.apps.googleusercontent.com", "https://t.example/token"),
            &[],
        );
        // A local test server may be plain http; nothing else may.
        check(oauth("id", "http://127.0.0.1:4444/token"), &[]);
        check(
            oauth("id", "http://t.example/token"),
            &[("oauth.endpoints.token_uri", "plain http to another machine")],
        );
        check(
            oauth("id", "t.example/token"),
            &[("oauth.endpoints.token_uri", "is not an https:// address")],
        );
        check(
            oauth(" ", "https:///token"),
            &[
                ("oauth.client_id", "the client ID is empty"),
                ("oauth.endpoints.token_uri", "has no host"),
            ],
        );
        check(
            oauth("1234 abc", "https://t.example/"),
            &[("oauth.client_id", "spaces or control characters")],
        );
        // The client is only checked while it is used.
        check(
            |p| {
                oauth("", "x")(p);
                p.auth = AuthMethod::AppPassword;
            },
            &[],
        );
        check(
            |p| p.username = String::new(),
            &[("username", "the username is empty")],
        );
        check(
            |p| p.username = "ann".into(),
            &[("username", "\"ann\" is not one")],
        );
        check(
            |p| p.username = " ann@gmail.com".into(),
            &[("username", "spaces at the start or end")],
        );
        check(
            |p| p.username = "ann@gmail.com\u{1}".into(),
            &[("username", "control character U+0001")],
        );
        // IP-allowlisted relays need no username.
        let relay = Profile {
            auth: AuthMethod::None,
            username: String::new(),
            ..Profile::from_preset(
                Preset::WorkspaceRelay,
                ProfileId("r".into()),
                "Relay",
                "ann@corp.example",
            )
        };
        assert_eq!(relay.validate(), Ok(()));
    }

    #[test]
    fn mailboxes() {
        check(
            |p| p.from = mailbox("ann@"),
            &[(
                "from.address",
                "\"ann@\" is not a valid address: there is nothing after",
            )],
        );
        check(
            |p| p.from = mailbox("ann"),
            &[("from.address", "has no '@'")],
        );
        check(
            |p| p.from.address = Address::new_unchecked("ann@gmail.com "),
            &[("from.address", "not a valid address")],
        );
        check(
            |p| p.from.name = Some("Ann\r\nBcc: all@x.com".into()),
            &[("from.name", "header injection")],
        );
        check(
            |p| p.reply_to = Some(mailbox("Support <help@example.com>")),
            &[],
        );
        check(
            |p| p.reply_to = Some(mailbox("help@@example.com")),
            &[("reply_to.address", "not a valid address")],
        );
        check(
            |p| {
                p.reply_to = Some(Mailbox {
                    name: Some("A\u{7}".into()),
                    ..mailbox("a@x.com")
                })
            },
            &[("reply_to.name", "U+0007")],
        );
    }

    #[test]
    fn limits() {
        check(
            |p| p.limits.daily = 0,
            &[("limits.daily", "blocks all sending")],
        );
        check(
            |p| p.limits.per_minute = 0,
            &[("limits.per_minute", "blocks all sending")],
        );
        check(
            |p| p.limits.daily = 501,
            &[(
                "limits.daily",
                "501 a day is above the preset's limit: the limit for a Gmail account is 500 a day",
            )],
        );
        check(
            |p| {
                p.username = "ann@corp.example".into();
                p.limits.daily = 2_500;
            },
            &[(
                "limits.daily",
                "the limit for a Google Workspace account is 2,000 a day",
            )],
        );
        check(
            |p| {
                p.limits = Limits {
                    daily: 10,
                    per_minute: 11,
                }
            },
            &[("limits.per_minute", "more than the daily limit")],
        );
        let relay = Profile::from_preset(
            Preset::WorkspaceRelay,
            ProfileId("r".into()),
            "R",
            "a@corp.example",
        );
        let over = Profile {
            limits: Limits {
                daily: 10_001,
                per_minute: 10,
            },
            ..relay
        };
        let messages: Vec<String> = over.problems().into_iter().map(|p| p.to_string()).collect();
        assert_eq!(
            messages,
            [
                "limits.daily: 10,001 a day is above the preset's limit: the SMTP relay's limit per user is 10,000 a day. \
              Fix: lower it to 10,000 or less; going over gets the account blocked from sending for up to 24 hours"
            ]
        );
    }

    #[test]
    fn headers() {
        check(
            |p| {
                p.headers = vec![
                    header("X-Campaign", "spring"),
                    header("List-Unsubscribe", "<https://x.example/u>"),
                ]
            },
            &[],
        );
        check(
            |p| p.headers = vec![header("", "v")],
            &[("headers[0].name", "empty")],
        );
        check(
            |p| {
                p.headers = vec![
                    header("X-A", "ok"),
                    header("X-B", "ok"),
                    header("X-C\r\nBcc", "v"),
                ]
            },
            &[("headers[2].name", "header injection")],
        );
        check(
            |p| p.headers = vec![header("X-A", "a\nBcc: x@y.z")],
            &[("headers[0].value", "header injection")],
        );
        check(
            |p| p.headers = vec![header("X A", "v")],
            &[("headers[0].name", "' ' is not allowed")],
        );
        check(
            |p| p.headers = vec![header("X-Ä", "v")],
            &[("headers[0].name", "'Ä' is not allowed")],
        );
        check(
            |p| p.headers = vec![header("X-A: b", "v")],
            &[("headers[0].name", "contains ':'")],
        );
        check(
            |p| p.headers = vec![header("X-A", &"v".repeat(995))],
            &[("headers[0].value", "longer than 998")],
        );
        for reserved in [
            "From",
            "to",
            "CC",
            "Bcc",
            "Date",
            "message-id",
            "Reply-To",
            "Subject",
        ] {
            check(
                |p| p.headers = vec![header(reserved, "v")],
                &[("headers[0].name", "header itself")],
            );
        }
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        check(
            |p| {
                p.name = String::new();
                p.port = 0;
                p.from = mailbox("nope");
                p.limits.daily = 900;
                p.headers = vec![header("Date", "x\ny")];
            },
            &[
                ("name", "empty"),
                ("port", "out of range"),
                ("from.address", "no '@'"),
                ("limits.daily", "above the preset's limit"),
                ("headers[0].name", "header itself"),
                ("headers[0].value", "header injection"),
            ],
        );
    }

    #[test]
    fn problems_display_with_their_fix() {
        let problem = Problem::new("port", "port 0 is out of range", "set the port to 587")
            .under("$.profiles[1]");
        assert_eq!(
            problem.to_string(),
            "$.profiles[1].port: port 0 is out of range. Fix: set the port to 587"
        );
        assert_eq!(
            check_header_text("subject", "Hello\u{2028}Bcc: x"),
            check_header_text("subject", "a\r\nb")
        );
        assert_eq!(check_header_text("subject", "Tab\tis fine"), None);
        assert_eq!(
            [
                thousands(0),
                thousands(999),
                thousands(1_000),
                thousands(1_234_567)
            ],
            ["0", "999", "1,000", "1,234,567"]
        );
    }
}
