//! The mailbridge browser extension, as the bridge knows it: the origin its pages have.
//!
//! Chromium names an extension after its public key: the first 32 hex digits of the SHA-256 of
//! the key (DER SubjectPublicKeyInfo), with 0-9a-f written a-p. `web/extension/manifest.json`
//! pins that key (only the public half exists in the repository), so every unpacked copy built
//! from this source has this ID, and so this origin. A test below keeps the two in step.

/// The extension's ID, from the key pinned in `web/extension/manifest.json`.
pub const EXTENSION_ID: &str = "dcnbdhobhaikmppcebpmkkpgklnednhn";

/// The `Origin` a WebSocket opened by the extension's pages carries.
pub const EXTENSION_ORIGIN: &str = "chrome-extension://dcnbdhobhaikmppcebpmkkpgklnednhn";

#[cfg(test)]
mod tests {
    use base64::Engine as _;

    use super::{EXTENSION_ID, EXTENSION_ORIGIN};

    /// The ID Chromium gives an extension whose manifest has this `key`.
    fn id_from_key(key: &str) -> String {
        let der = base64::engine::general_purpose::STANDARD
            .decode(key)
            .unwrap_or_else(|e| panic!("the manifest's key is not base64: {e}"));
        let digest = ring::digest::digest(&ring::digest::SHA256, &der);
        digest.as_ref()[..16]
            .iter()
            .flat_map(|byte| [byte >> 4, byte & 0x0f])
            .map(|nibble| char::from(b'a' + nibble))
            .collect()
    }

    #[test]
    fn the_id_is_the_one_the_manifest_key_gives() {
        let manifest: serde_json::Value =
            serde_json::from_str(include_str!("../../../web/extension/manifest.json"))
                .unwrap_or_else(|e| panic!("web/extension/manifest.json: {e}"));
        let key = manifest["key"].as_str().unwrap_or_default();
        assert_eq!(id_from_key(key), EXTENSION_ID);
        assert_eq!(
            EXTENSION_ORIGIN,
            format!("chrome-extension://{EXTENSION_ID}")
        );
    }
}
