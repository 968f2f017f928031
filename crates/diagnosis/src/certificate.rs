//! What is known about the server: the certificates it presented, and whether its name is one
//! of Google's (or nearly one).

use std::fmt;

use serde::{Deserialize, Serialize};

/// One certificate as the server presented it, recorded whether or not it was trusted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertificateInfo {
    /// The subject's distinguished name, such as `CN=smtp.gmail.com`.
    pub subject: String,
    /// The issuer's distinguished name, such as `C=US, O=Google Trust Services, CN=WR2`.
    pub issuer: String,
    /// Start of validity, as RFC 3339 text.
    #[serde(default)]
    pub not_before: String,
    /// Expiry, as RFC 3339 text.
    pub not_after: String,
    /// SHA-256 of the DER certificate, as colon-separated upper-case hex (what `openssl x509
    /// -fingerprint -sha256` prints).
    #[serde(default)]
    pub sha256: String,
    /// The DNS names and IP addresses the certificate covers (its subject alternative names).
    #[serde(default)]
    pub names: Vec<String>,
}

impl CertificateInfo {
    /// Whether the certificate names itself as its issuer, as a self-signed one does.
    pub fn is_self_issued(&self) -> bool {
        !self.subject.is_empty() && self.subject == self.issuer
    }

    /// Whether Google Trust Services issued it, as it issues every certificate of Gmail's.
    pub fn issued_by_google(&self) -> bool {
        self.issuer.contains("Google Trust Services")
    }
}

impl fmt::Display for CertificateInfo {
    /// One line: `SUBJECT (issued by ISSUER, valid FROM to TO, names A, B, SHA-256 FP)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (issued by {}", self.subject, self.issuer)?;
        if !self.not_before.is_empty() || !self.not_after.is_empty() {
            write!(f, ", valid {} to {}", self.not_before, self.not_after)?;
        }
        if !self.names.is_empty() {
            write!(f, ", names {}", self.names.join(", "))?;
        }
        if !self.sha256.is_empty() {
            write!(f, ", SHA-256 {}", self.sha256)?;
        }
        f.write_str(")")
    }
}

/// Google's mail hosts, whose certificates always come from Google Trust Services.
pub const GOOGLE_HOSTS: [&str; 4] = [
    "smtp.gmail.com",
    "smtp-relay.gmail.com",
    "imap.gmail.com",
    "smtp.googlemail.com",
];

/// Whether `host` is one of [`GOOGLE_HOSTS`] (any case, a trailing dot allowed).
pub fn is_google_host(host: &str) -> bool {
    let host = normal(host);
    GOOGLE_HOSTS.contains(&host.as_str())
}

/// The Google host that `host` was probably meant to be (`smtp.gmial.com`, `smtp.google.com`,
/// `gmail.com` and the like), or `None` when it is one already or nothing like one.
pub fn near_miss(host: &str) -> Option<&'static str> {
    let host = normal(host);
    if is_google_host(&host) || host.is_empty() {
        return None;
    }
    let relay = host.contains("relay");
    let right = if relay {
        "smtp-relay.gmail.com"
    } else {
        "smtp.gmail.com"
    };
    // A Google mail domain with the wrong server in front of it, or none.
    let googly = [
        "gmail.com",
        "googlemail.com",
        "google.com",
        "gmail",
        "gmail.co",
    ];
    if googly.iter().any(|domain| {
        host == *domain
            || host.ends_with(&format!(".{domain}"))
            || host.starts_with(&format!("{domain}."))
    }) {
        return Some(right);
    }
    GOOGLE_HOSTS
        .iter()
        .find(|candidate| edit_distance(&host, candidate) <= 2)
        .copied()
}

/// The warning for a connection to a Google host whose certificate Google did not issue: the
/// machine trusts whoever intercepts it (an antivirus or a company proxy installs its root), so
/// the handshake passed, but the password would be read by a third party.
pub fn interception_warning(host: &str, chain: &[CertificateInfo]) -> Option<String> {
    let leaf = chain.first()?;
    if !is_google_host(host) || leaf.issued_by_google() {
        return None;
    }
    Some(format!(
        "The connection to {host} is intercepted: its certificate was issued by \"{}\", not by \
         Google Trust Services. This machine trusts that issuer, so TLS succeeded, but an \
         antivirus, a company proxy or another program in between can read everything sent, the \
         password included. Turn off its mail or TLS scanning, or ask IT to exempt {host}.",
        leaf.issuer
    ))
}

fn normal(host: &str) -> String {
    host.trim().trim_end_matches('.').to_ascii_lowercase()
}

/// Optimal string alignment distance: insertions, deletions, substitutions and swaps of two
/// neighbours (`gmial` for `gmail`) each cost one.
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = best;
        }
    }
    d[a.len()][b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn near_misses_point_to_the_right_name() {
        let cases = [
            ("smtp.gmial.com", Some("smtp.gmail.com")),
            ("smtp.google.com", Some("smtp.gmail.com")),
            ("gmail.com", Some("smtp.gmail.com")),
            ("smtp.gmail.con", Some("smtp.gmail.com")),
            ("SMTP.GMAIL.COM.", None),
            ("smtp-relay.gmial.com", Some("smtp-relay.gmail.com")),
            ("relay.google.com", Some("smtp-relay.gmail.com")),
            ("mail.example.com", None),
            ("127.0.0.1", None),
        ];
        for (host, expected) in cases {
            assert_eq!(near_miss(host), expected, "{host}");
        }
    }

    #[test]
    fn only_google_hosts_with_a_foreign_issuer_are_flagged() {
        let cert = |issuer: &str| CertificateInfo {
            subject: "CN=smtp.gmail.com".to_owned(),
            issuer: issuer.to_owned(),
            not_before: String::new(),
            not_after: String::new(),
            sha256: String::new(),
            names: vec![],
        };
        let google = [cert("C=US, O=Google Trust Services, CN=WR2")];
        let shield = [cert("CN=Mail Shield Root")];
        assert_eq!(interception_warning("smtp.gmail.com", &google), None);
        assert_eq!(interception_warning("mail.example.com", &shield), None);
        assert_eq!(interception_warning("smtp.gmail.com", &[]), None);
        let warning = interception_warning("smtp.gmail.com", &shield).unwrap_or_default();
        assert!(warning.contains("\"CN=Mail Shield Root\""), "{warning}");
        assert!(warning.contains("intercepted"), "{warning}");
    }
}
