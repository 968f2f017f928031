use serde::{Deserialize, Serialize};

/// One line of the sandbox inbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageSummary {
    pub id: u64,
    /// When the sandbox accepted it, in milliseconds since the Unix epoch.
    pub received_unix_ms: u64,
    pub from: String,
    pub to: Vec<String>,
    pub subject: String,
    pub size_bytes: u64,
}

/// The SMTP envelope, which can differ from the headers (Bcc recipients are only here).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Envelope {
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
    /// The decoded content, base64-encoded for JSON.
    pub content_base64: String,
}

/// A message the sandbox captured, parsed for reading.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CapturedMessage {
    pub summary: MessageSummary,
    pub envelope: Envelope,
    /// The TLS version of the session that delivered it, such as `TLSv1.3`.
    pub tls_version: Option<String>,
    /// The AUTH mechanism the session used, such as `PLAIN` or `XOAUTH2`.
    pub auth_mechanism: Option<String>,
    pub headers: Vec<HeaderLine>,
    pub text: Option<String>,
    pub html: Option<String>,
    pub attachments: Vec<Attachment>,
    /// The message exactly as received, lossily decoded as UTF-8.
    pub raw: String,
}
