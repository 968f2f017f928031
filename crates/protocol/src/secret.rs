use std::fmt;

use serde::{Deserialize, Serialize};

/// A secret on its way from the page to the bridge: an app password or an OAuth token.
///
/// It only ever travels in that direction: no [`crate::ServerMessage`] contains one. `Debug` and
/// `Display` print `****`, so a secret cannot reach a log through formatting.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The secret itself, for the one place that must use it (the secret store, AUTH).
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// An app password as Google shows it (`abcd efgh ijkl mnop`) works once its spaces are gone.
    pub fn without_spaces(&self) -> Secret {
        Secret(self.0.chars().filter(|c| !c.is_whitespace()).collect())
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(****)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("****")
    }
}

#[cfg(test)]
mod tests {
    use super::Secret;

    #[test]
    fn formatting_never_shows_the_secret() {
        let secret = Secret::new("abcd efgh ijkl mnop");
        assert_eq!(format!("{secret}"), "****");
        assert_eq!(format!("{secret:?}"), "Secret(****)");
        assert_eq!(secret.without_spaces().expose(), "abcdefghijklmnop");
    }
}
