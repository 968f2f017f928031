//! The pairing token: read once from the `#pair=` fragment of the address `mailbridge serve`
//! printed, kept in this tab's sessionStorage, and taken out of the address bar.
//!
//! A fragment never reaches a server, and sessionStorage ends with the tab, so the token lives
//! no longer and travels no further than the page needs it.

use wasm_bindgen::JsValue;

const STORAGE_KEY: &str = "mailbridge.pairing-token";

/// The token for this tab: from the address when it has `#pair=...` (which is then removed from
/// the address bar and history entry), otherwise the one this tab remembered.
pub fn take_token() -> Option<String> {
    take_token_from_address().or_else(|| {
        let storage = web_sys::window()?.session_storage().ok().flatten()?;
        storage.get_item(STORAGE_KEY).ok().flatten()
    })
}

/// The token in the address, when it has `#pair=...`; it is remembered for this tab and removed
/// from the address bar and the history entry.
pub fn take_token_from_address() -> Option<String> {
    let window = web_sys::window()?;
    let location = window.location();
    let token = token_from_fragment(&location.hash().ok()?)?.to_owned();
    if let Ok(Some(storage)) = window.session_storage() {
        // A failure here (storage disabled) only means that a reload must pair again.
        let _ = storage.set_item(STORAGE_KEY, &token);
    }
    // Replacing the entry keeps the token out of bookmarks, shared links and Back.
    if let (Ok(history), Ok(path), Ok(search)) =
        (window.history(), location.pathname(), location.search())
    {
        let _ = history.replace_state_with_url(&JsValue::NULL, "", Some(&(path + &search)));
    }
    Some(token)
}

/// The token in a fragment such as `#pair=TOKEN`, or `None` when it has none. Other
/// `&`-separated parameters may stand beside it.
pub fn token_from_fragment(fragment: &str) -> Option<&str> {
    fragment
        .strip_prefix('#')
        .unwrap_or(fragment)
        .split('&')
        .find_map(|part| part.strip_prefix("pair="))
        .filter(|token| !token.is_empty())
}

#[cfg(test)]
mod tests {
    use super::token_from_fragment;

    #[test]
    fn finds_the_token_in_the_fragment() {
        let cases = [
            ("#pair=q6fX3yR5-uW8_zB1", Some("q6fX3yR5-uW8_zB1")),
            ("pair=abc", Some("abc")),
            ("#view=inbox&pair=abc", Some("abc")),
            ("#pair=", None),
            ("#", None),
            ("", None),
            ("#repair=abc", None),
        ];
        for (fragment, expected) in cases {
            assert_eq!(token_from_fragment(fragment), expected, "{fragment:?}");
        }
    }
}
