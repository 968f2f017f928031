//! The message being composed, saved in localStorage as it is typed, so a reload or a closed
//! tab loses nothing. Attachments are not saved: a page cannot reopen a file by itself.
//!
//! It is kept as postcard in base64 under a key that names the layout's version, not as JSON:
//! reading JSON back would bring serde_json's parser into the page's first module, which
//! otherwise has none. Postcard places fields by position, so a change to [`SavedDraft`]'s
//! fields must come with a new [`STORAGE_KEY`]; a draft in another layout is then left alone
//! rather than misread.

use base64::Engine;
use profile::Header;
use serde::{Deserialize, Serialize};

use crate::views::Addresses;

const STORAGE_KEY: &str = "mailbridge.draft.v2";

/// Which body parts the message has.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BodyFormat {
    #[default]
    Text,
    Html,
    Both,
}

impl BodyFormat {
    pub fn has_text(self) -> bool {
        matches!(self, BodyFormat::Text | BodyFormat::Both)
    }

    pub fn has_html(self) -> bool {
        matches!(self, BodyFormat::Html | BodyFormat::Both)
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SavedDraft {
    /// The chosen profile's id.
    pub profile: Option<String>,
    pub to: Addresses,
    pub cc: Addresses,
    pub bcc: Addresses,
    pub reply_to: String,
    pub subject: String,
    pub format: BodyFormat,
    pub text: String,
    pub html: String,
    pub headers: Vec<Header>,
}

impl SavedDraft {
    /// The draft this browser saved last, or an empty one.
    pub fn load() -> SavedDraft {
        storage()
            .and_then(|storage| storage.get_item(STORAGE_KEY).ok().flatten())
            .and_then(|text| SavedDraft::decode(&text))
            .unwrap_or_default()
    }

    fn encode(&self) -> Option<String> {
        let bytes = postcard::to_allocvec(self).ok()?;
        Some(base64::engine::general_purpose::STANDARD_NO_PAD.encode(bytes))
    }

    fn decode(text: &str) -> Option<SavedDraft> {
        let bytes = base64::engine::general_purpose::STANDARD_NO_PAD
            .decode(text)
            .ok()?;
        postcard::from_bytes(&bytes).ok()
    }

    /// Saves it; an empty draft removes the saved one.
    pub fn save(&self) {
        let Some(storage) = storage() else {
            return;
        };
        // A failure (storage full or disabled) only means the draft will not survive a reload.
        if *self == SavedDraft::default() {
            let _ = storage.remove_item(STORAGE_KEY);
        } else if let Some(text) = self.encode() {
            let _ = storage.set_item(STORAGE_KEY, &text);
        }
    }
}

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok().flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_draft_survives_a_round_trip_and_another_layout_is_not_misread() {
        let draft = SavedDraft {
            profile: Some("sandbox".into()),
            to: Addresses {
                chips: vec!["ann@example.com".into()],
                typing: "bo".into(),
            },
            subject: "Quarterly report".into(),
            format: BodyFormat::Both,
            html: "<p>Hi</p>".into(),
            headers: vec![Header {
                name: "X-Campaign".into(),
                value: "q3".into(),
            }],
            ..SavedDraft::default()
        };
        let text = draft.encode().unwrap_or_default();
        assert_eq!(SavedDraft::decode(&text), Some(draft));
        // What is not a draft in this layout (the JSON an older page saved under the old key,
        // or a cut-off value) is not misread as one.
        assert_eq!(SavedDraft::decode(r#"{"subject":"Hi"}"#), None);
        assert_eq!(SavedDraft::decode(&text[..text.len() / 2]), None);
    }
}
