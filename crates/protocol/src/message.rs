use diagnosis::Diagnosis;
use profile::Problem;
use serde::{Deserialize, Serialize};

use crate::PROTOCOL_VERSION;
use crate::captured::MessageSummary;
use crate::operation::{Outcome, Request, RequestId};
use crate::outbox::OutboxSummary;
use crate::report::Progress;
use crate::secret::Secret;

/// Everything the page sends.
// A message is decoded, matched and dropped, never stored in bulk, so the size gap between
// `Hello` and `Request` costs nothing worth a box.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ClientMessage {
    /// Must be the first message. The token comes from the `#pair=` fragment of the URL the
    /// bridge printed.
    Hello {
        protocol: u32,
        token: Secret,
        /// How the bridge should write to this session. JSON text when left out.
        #[serde(default, skip_serializing_if = "Encoding::is_json")]
        encoding: Encoding,
    },
    Request(Request),
}

/// How the bridge writes its [`ServerMessage`]s to a session; the page always writes JSON.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Encoding {
    /// JSON text frames: scripts, tests and anything reading the socket by hand.
    #[default]
    Json,
    /// Binary frames in postcard ([`crate::encode_binary`]), which the web app asks for: its
    /// decoder costs the wasm a third of serde_json's. Postcard places fields by position, so
    /// no type the bridge sends may skip a field when serialising (`skip_serializing_if`).
    Postcard,
}

impl Encoding {
    pub fn is_json(&self) -> bool {
        *self == Encoding::Json
    }
}

/// Everything the bridge sends.
// Like `ClientMessage`: encoded and sent at once, never stored in bulk.
#[allow(clippy::large_enum_variant)]
//
// Externally tagged (`{"done": {...}}`), as are `Outcome`, `Progress` and `Notice`: serde reads
// such an enum straight from the text, while an internally tagged one (`"type": "done"`) is
// buffered first, and that machinery cost the web app 26 KB of its gzipped download.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ServerMessage {
    /// The answer to a good [`ClientMessage::Hello`].
    Welcome {
        protocol: u32,
        bridge_version: String,
        /// Where the bridge keeps secrets, in words: "OS keyring", "file ~/.config/...".
        secret_store: String,
    },
    Progress {
        id: RequestId,
        progress: Progress,
    },
    Done {
        id: RequestId,
        outcome: Outcome,
    },
    /// An operation failed, or (with no id) a message could not be read at all.
    Failed {
        id: Option<RequestId>,
        error: OperationError,
    },
    Notice {
        notice: Notice,
    },
}

/// News the page did not ask for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Notice {
    SandboxMessageArrived {
        summary: MessageSummary,
    },
    /// The outbox changed: its counts by state, pace, time left and quotas, sent at most a
    /// few times a second while it delivers. This is a batch's progress.
    Outbox {
        summary: OutboxSummary,
    },
}

/// What kind of failure, so the page can choose how to show it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The page and the bridge speak different protocol versions.
    VersionMismatch,
    /// The message could not be read: bad JSON, an unknown type, a missing field.
    BadRequest,
    /// The input was read but is not valid; see `problems`.
    Invalid,
    NotFound,
    /// The profile needs a secret that is not stored.
    SecretMissing,
    TooLarge,
    /// The server or the network said no; see `diagnosis`.
    Smtp,
    /// Too many operations at once.
    Busy,
    /// Consent or the authorization server said no; the message has its words.
    #[serde(rename = "oauth")]
    OAuth,
    Internal,
}

/// A failure the page can show as it is: a sentence, a fix, and the details behind them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OperationError {
    pub kind: ErrorKind,
    pub message: String,
    pub fix: Option<String>,
    /// Every problem with the input at once, each naming its field.
    pub problems: Vec<Problem>,
    /// Boxed: it is large and most errors have none.
    pub diagnosis: Option<Box<Diagnosis>>,
}

impl OperationError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> OperationError {
        OperationError {
            kind,
            message: message.into(),
            fix: None,
            problems: Vec::new(),
            diagnosis: None,
        }
    }

    pub fn with_fix(mut self, fix: impl Into<String>) -> OperationError {
        self.fix = Some(fix.into());
        self
    }

    /// The page speaks `page` while this build speaks [`PROTOCOL_VERSION`].
    pub fn version_mismatch(page: u32) -> OperationError {
        let fix = if page < PROTOCOL_VERSION {
            "Reload the page to get the web app that matches this bridge."
        } else {
            "Update mailbridge (the bridge is older than the page), then restart it."
        };
        OperationError::new(
            ErrorKind::VersionMismatch,
            format!(
                "the page speaks protocol version {page}, but this bridge speaks version {PROTOCOL_VERSION}"
            ),
        )
        .with_fix(fix)
    }

    pub fn invalid(message: impl Into<String>, problems: Vec<Problem>) -> OperationError {
        OperationError {
            problems,
            ..OperationError::new(ErrorKind::Invalid, message)
        }
    }

    pub fn smtp(diagnosis: Diagnosis) -> OperationError {
        OperationError {
            message: diagnosis.title.clone(),
            diagnosis: Some(Box::new(diagnosis)),
            ..OperationError::new(ErrorKind::Smtp, "")
        }
    }
}

impl std::fmt::Display for OperationError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)?;
        for problem in &self.problems {
            write!(f, "\n  {problem}")?;
        }
        if let Some(fix) = &self.fix {
            write!(f, "\nFix: {fix}")?;
        }
        Ok(())
    }
}
