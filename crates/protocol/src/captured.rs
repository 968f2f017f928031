//! The messages the sandbox captured, as the inbox shows them. The sandbox produces these
//! types and the bridge passes them to the page unchanged.

use serde::{Deserialize, Serialize};

/// One line of the inbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageSummary {
    pub id: u64,
    /// When the sandbox accepted it, in milliseconds since the Unix epoch.
    pub received_unix_ms: u64,
    /// The From header as written (`Ann <ann@example.com>`); the envelope sender when the
    /// message has none.
    pub from: String,
    /// The To and Cc addresses; the envelope recipients when the message names none.
    pub to: Vec<String>,
    /// The decoded Subject, empty when there is none.
    pub subject: String,
    pub size_bytes: u64,
}

/// The SMTP envelope, which can differ from the headers (Bcc recipients are only here).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Envelope {
    /// The `MAIL FROM` address; empty for the null sender.
    pub mail_from: String,
    pub rcpt_to: Vec<String>,
}

/// A header as it appears in the message, in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeaderLine {
    pub name: String,
    pub value: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attachment {
    pub filename: Option<String>,
    pub content_type: String,
    pub size_bytes: u64,
    /// The decoded content; base64 in JSON.
    #[serde(rename = "content_base64", with = "base64_bytes")]
    pub content: Vec<u8>,
}

/// A captured message, parsed for reading.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CapturedMessage {
    pub summary: MessageSummary,
    pub envelope: Envelope,
    /// The TLS version of the session that delivered it, such as `TLSv1.3`.
    pub tls_version: Option<String>,
    /// The AUTH mechanism the session used, such as `PLAIN` or `XOAUTH2`.
    pub auth_mechanism: Option<String>,
    pub headers: Vec<HeaderLine>,
    /// The first text/plain part, decoded.
    pub text: Option<String>,
    /// The first text/html part, decoded.
    pub html: Option<String>,
    pub attachments: Vec<Attachment>,
    /// The message as received, lossily decoded as UTF-8; the sandbox's store keeps the exact bytes.
    pub raw: String,
}

mod base64_bytes {
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8], serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&STANDARD.encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(deserializer)?;
        STANDARD.decode(text).map_err(serde::de::Error::custom)
    }
}
