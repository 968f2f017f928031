//! The message being composed, saved in localStorage as it is typed, so a reload or a closed
//! tab loses nothing. Attachments are not saved: a page cannot reopen a file by itself.

use profile::Header;
use serde::{Deserialize, Serialize};

use crate::views::Addresses;

const STORAGE_KEY: &str = "mailbridge.draft";

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
#[serde(default)]
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
            .and_then(|text| serde_json::from_str(&text).ok())
            .unwrap_or_default()
    }

    /// Saves it; an empty draft removes the saved one.
    pub fn save(&self) {
        let Some(storage) = storage() else {
            return;
        };
        // A failure (storage full or disabled) only means the draft will not survive a reload.
        if *self == SavedDraft::default() {
            let _ = storage.remove_item(STORAGE_KEY);
        } else if let Ok(text) = serde_json::to_string(self) {
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
    fn a_draft_survives_a_round_trip_and_old_drafts_still_load() {
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
        let text = serde_json::to_string(&draft).unwrap_or_default();
        assert_eq!(serde_json::from_str::<SavedDraft>(&text).ok(), Some(draft));
        // A draft saved by an older page, with fewer fields, still loads.
        let old: Option<SavedDraft> = serde_json::from_str(r#"{"subject":"Hi"}"#).ok();
        assert_eq!(old.map(|draft| draft.subject), Some("Hi".to_owned()));
    }
}
