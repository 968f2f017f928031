//! The pairing token: read once from the `#pair=` fragment of the address `mailbridge serve`
//! printed, kept in this tab's sessionStorage, and taken out of the address bar.
//!
//! A fragment never reaches a server, and sessionStorage ends with the tab, so the token lives
//! no longer and travels no further than the page needs it.

use wasm_bindgen::JsValue;

const STORAGE_KEY: &str = "mailbridge.pairing-token";
const BRIDGE_KEY: &str = "mailbridge.bridge-address";

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
    let fragment = location.hash().ok()?;
    let token = token_from_fragment(&fragment)?.to_owned();
    if let Ok(Some(storage)) = window.session_storage() {
        // A failure here (storage disabled) only means that a reload must pair again.
        let _ = storage.set_item(STORAGE_KEY, &token);
        match bridge_from_fragment(&fragment) {
            Some(bridge) => {
                let _ = storage.set_item(BRIDGE_KEY, bridge);
            }
            None => {
                let _ = storage.remove_item(BRIDGE_KEY);
            }
        }
    }
    // Replacing the entry keeps the token out of bookmarks, shared links and Back.
    if let (Ok(history), Ok(path), Ok(search)) =
        (window.history(), location.pathname(), location.search())
    {
        let _ = history.replace_state_with_url(&JsValue::NULL, "", Some(&(path + &search)));
    }
    Some(token)
}

/// Where the bridge listens when it is not the server of this page: `trunk serve` during
/// development serves the page, and `#pair=TOKEN&bridge=127.0.0.1:4590` names the bridge.
pub fn bridge_address() -> Option<String> {
    let storage = web_sys::window()?.session_storage().ok().flatten()?;
    storage.get_item(BRIDGE_KEY).ok().flatten()
}

/// The `bridge=HOST:PORT` parameter of a fragment, only when HOST is this machine: the page
/// sends secrets to its bridge, so a crafted link must not point it at another host.
pub fn bridge_from_fragment(fragment: &str) -> Option<&str> {
    let address = fragment_param(fragment, "bridge")?;
    let (host, port) = address.rsplit_once(':')?;
    let loopback = matches!(host, "127.0.0.1" | "localhost" | "[::1]");
    (loopback && port.parse::<u16>().is_ok_and(|port| port > 0)).then_some(address)
}

/// The token in a fragment such as `#pair=TOKEN`, or `None` when it has none. Other
/// `&`-separated parameters may stand beside it.
pub fn token_from_fragment(fragment: &str) -> Option<&str> {
    fragment_param(fragment, "pair").filter(|token| !token.is_empty())
}

/// The value of `name=` among the `&`-separated parameters of a fragment.
fn fragment_param<'a>(fragment: &'a str, name: &str) -> Option<&'a str> {
    fragment
        .strip_prefix('#')
        .unwrap_or(fragment)
        .split('&')
        .find_map(|part| part.strip_prefix(name)?.strip_prefix('='))
}

#[cfg(test)]
mod tests {
    use super::{bridge_from_fragment, token_from_fragment};

    #[test]
    fn a_bridge_address_must_be_this_machine() {
        let cases = [
            ("#pair=a&bridge=127.0.0.1:4590", Some("127.0.0.1:4590")),
            ("#bridge=localhost:4590&pair=a", Some("localhost:4590")),
            ("#pair=a&bridge=[::1]:4590", Some("[::1]:4590")),
            ("#pair=a&bridge=evil.example:4590", None),
            ("#pair=a&bridge=127.0.0.1.evil.example:80", None),
            ("#pair=a&bridge=127.0.0.1:0", None),
            ("#pair=a&bridge=127.0.0.1", None),
            ("#pair=a", None),
        ];
        for (fragment, expected) in cases {
            assert_eq!(bridge_from_fragment(fragment), expected, "{fragment:?}");
        }
    }

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
