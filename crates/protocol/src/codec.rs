use serde::Serialize;
use serde::de::DeserializeOwned;
use thiserror::Error;

use crate::message::{ClientMessage, ErrorKind, OperationError, ServerMessage};

/// The largest message the bridge accepts from the page. Attachments travel in chunks well
/// below it.
pub const MAX_FRAME_BYTES: usize = 64 * 1024;

/// The largest message the page accepts from the bridge. A captured message with Gmail's
/// largest attachments, base64 in JSON and also as raw source, stays below it.
pub const MAX_SERVER_MESSAGE_BYTES: usize = 256 * 1024 * 1024;

/// Why a message could not be read. Each says what was wrong and what a good message looks like.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DecodeError {
    #[error(
        "the message is {bytes} bytes, over the limit of {limit}; send attachments with upload_chunk"
    )]
    TooLarge { bytes: usize, limit: usize },
    #[error("the message ends too early (truncated JSON at line {line}, column {column})")]
    Truncated { line: usize, column: usize },
    #[error("the message is not valid JSON at line {line}, column {column}: {detail}")]
    Syntax {
        line: usize,
        column: usize,
        detail: String,
    },
    #[error("unknown message or operation type: {detail}")]
    UnknownType { detail: String },
    #[error("a required field is missing: {detail}")]
    MissingField { detail: String },
    #[error("a field has the wrong type: {detail}")]
    WrongType { detail: String },
    #[error("the message is not understood: {detail}")]
    Invalid { detail: String },
}

impl From<DecodeError> for OperationError {
    fn from(error: DecodeError) -> OperationError {
        let kind = match error {
            DecodeError::TooLarge { .. } => ErrorKind::TooLarge,
            _ => ErrorKind::BadRequest,
        };
        OperationError::new(kind, error.to_string())
    }
}

pub fn decode_client(text: &str) -> Result<ClientMessage, DecodeError> {
    decode(text, MAX_FRAME_BYTES)
}

pub fn decode_server(text: &str) -> Result<ServerMessage, DecodeError> {
    decode(text, MAX_SERVER_MESSAGE_BYTES)
}

/// The bridge's messages to a page that asked for [`Encoding::Postcard`] in its hello: the
/// same types as [`decode_server`] reads, in postcard's compact binary form, one per binary
/// WebSocket frame. Its decoder is far smaller in wasm than serde_json's, because postcard
/// knows each field by its place rather than by name.
pub fn encode_binary(message: &ServerMessage) -> Result<Vec<u8>, DecodeError> {
    postcard::to_allocvec(message).map_err(|error| DecodeError::Invalid {
        detail: error.to_string(),
    })
}

/// Reads what [`encode_binary`] wrote.
pub fn decode_server_binary(bytes: &[u8]) -> Result<ServerMessage, DecodeError> {
    if bytes.len() > MAX_SERVER_MESSAGE_BYTES {
        return Err(DecodeError::TooLarge {
            bytes: bytes.len(),
            limit: MAX_SERVER_MESSAGE_BYTES,
        });
    }
    postcard::from_bytes(bytes).map_err(|error| DecodeError::Invalid {
        detail: error.to_string(),
    })
}

/// Serialises a message. The wire types hold only strings, numbers and plain containers, so
/// this cannot fail for them; the error case exists for foreign types.
pub fn encode<T: Serialize>(message: &T) -> Result<String, DecodeError> {
    serde_json::to_string(message).map_err(|error| DecodeError::Invalid {
        detail: error.to_string(),
    })
}

fn decode<T: DeserializeOwned>(text: &str, limit: usize) -> Result<T, DecodeError> {
    // Checked before parsing, so an oversized message costs no allocation beyond the frame.
    if text.len() > limit {
        return Err(DecodeError::TooLarge {
            bytes: text.len(),
            limit,
        });
    }
    serde_json::from_str(text).map_err(classify)
}

fn classify(error: serde_json::Error) -> DecodeError {
    use serde_json::error::Category;
    let (line, column) = (error.line(), error.column());
    // serde_json reports every data error as one category; its message says which kind it is.
    let detail = error.to_string();
    match error.classify() {
        Category::Eof => DecodeError::Truncated { line, column },
        Category::Syntax | Category::Io => DecodeError::Syntax {
            line,
            column,
            detail,
        },
        Category::Data if detail.starts_with("unknown variant") => {
            DecodeError::UnknownType { detail }
        }
        Category::Data if detail.starts_with("missing field") => {
            DecodeError::MissingField { detail }
        }
        Category::Data if detail.starts_with("invalid type") => DecodeError::WrongType { detail },
        Category::Data => DecodeError::Invalid { detail },
    }
}
