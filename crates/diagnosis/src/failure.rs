//! The input: what went wrong, as the bridge saw it.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::certificate::CertificateInfo;
use crate::reply::Reply;

/// Something that stopped a message from being sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Failure {
    /// The server answered, and the answer was not the hoped-for one.
    Reply { reply: Reply, step: Option<Step> },
    /// The host name did not resolve; `detail` is the resolver's error text.
    Dns { host: String, detail: String },
    /// The TCP connection was actively refused (a reset, not silence).
    ConnectionRefused { host: String, port: u16 },
    /// Nothing came back within `seconds` during `step`.
    Timeout { step: Step, seconds: u64 },
    /// The TLS handshake failed because the certificate was not trusted.
    TlsCertificate {
        problem: CertProblem,
        detail: String,
        /// The name the certificate was checked against.
        #[serde(default, skip_serializing_if = "String::is_empty")]
        host: String,
        /// The certificates the server presented, leaf first.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        chain: Vec<CertificateInfo>,
        /// This machine's clock when the certificate was checked, as RFC 3339 text.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        checked_at: Option<String>,
    },
    /// The TLS handshake failed for another reason; `detail` is the TLS library's error text.
    TlsHandshake {
        detail: String,
        /// What kind of failure it was; [`HandshakeProblem::Unknown`] is told from `detail`.
        #[serde(default, skip_serializing_if = "HandshakeProblem::is_unknown")]
        problem: HandshakeProblem,
    },
    /// TLS was required but the server's EHLO reply did not offer STARTTLS.
    NoStartTls { host: String, port: u16 },
}

/// Why a server certificate was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CertProblem {
    /// Not signed by a trusted authority, including "self signed certificate in certificate chain".
    UnknownIssuer,
    /// The server's own certificate is signed by itself, and not trusted.
    SelfSigned,
    Expired,
    /// Its validity starts after this machine's clock.
    NotYetValid,
    /// The certificate is valid but for another host name.
    NameMismatch,
    Other,
}

/// Why a TLS handshake failed, when it was not the certificate.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HandshakeProblem {
    /// The server speaks only TLS versions older than 1.2 (or said `protocol_version`).
    OldVersion,
    /// No cipher suite (or key exchange, or signature scheme) both sides accept.
    NoSharedCipher,
    /// What came back is not TLS at all, such as a plain-text `220` greeting.
    NotTls,
    /// The connection was closed or reset in the middle of the handshake.
    Cut,
    /// Not classified; the diagnosis reads the error text.
    #[default]
    Unknown,
}

impl HandshakeProblem {
    fn is_unknown(&self) -> bool {
        *self == HandshakeProblem::Unknown
    }
}

/// Where in the conversation with the server something happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    Dns,
    Tcp,
    Tls,
    Greeting,
    Ehlo,
    StartTls,
    Auth,
    Mail,
    Rcpt,
    Data,
    Quit,
}

impl fmt::Display for Step {
    /// The step as a person would name it: the SMTP command, or the phase before commands.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Step::Dns => "DNS lookup",
            Step::Tcp => "TCP connection",
            Step::Tls => "TLS handshake",
            Step::Greeting => "greeting",
            Step::Ehlo => "EHLO",
            Step::StartTls => "STARTTLS",
            Step::Auth => "AUTH",
            Step::Mail => "MAIL FROM",
            Step::Rcpt => "RCPT TO",
            Step::Data => "DATA",
            Step::Quit => "QUIT",
        })
    }
}
