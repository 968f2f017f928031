//! Where the page and the browser extension differ, and nothing else: where the pairing token
//! is kept, where the bridge's address comes from, and how the user pairs.
//!
//! The same wasm runs in both. The page is served by the bridge itself: the token comes from
//! the `#pair=` address `mailbridge serve` prints and lives in the tab's sessionStorage
//! (`pairing.rs`), and the bridge is the host that served the page. The extension's pages are
//! served by the browser (`chrome-extension://ID/app.html`): the user pastes what
//! `mailbridge pair` prints into its pairing form, and the token and the bridge's address are
//! kept in `chrome.storage.local`, so they survive a browser restart. [`load`] reads them once
//! before the app renders, so everything after it is synchronous.

use std::cell::RefCell;

use js_sys::{Function, Object, Promise, Reflect};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

use crate::pairing;

/// Where the bridge listens unless the user says otherwise: `mailbridge serve`'s default port.
pub const DEFAULT_BRIDGE: &str = "127.0.0.1:4590";

/// The keys in `chrome.storage.local`.
const TOKEN_KEY: &str = "pairingToken";
const BRIDGE_KEY: &str = "bridgeAddress";

/// What differs between the page and the extension.
pub trait Platform {
    /// The pairing token to say hello with, if the user has paired.
    fn token(&self) -> Option<String>;
    /// The bridge's `HOST:PORT`, when it is not the host that served the page.
    fn bridge_address(&self) -> Option<String>;
    /// Whether the user pairs by pasting a code into the app (the extension) rather than by
    /// opening the address the bridge printed (the page).
    fn pairs_by_paste(&self) -> bool;
    /// Remembers a new pairing (and the bridge's address) for the next start.
    fn remember(&self, token: &str, bridge: &str);
}

/// The platform this copy of the app runs on.
pub fn current() -> &'static dyn Platform {
    if is_extension() { &Extension } else { &Page }
}

/// Whether the app runs as the browser extension (its pages' addresses are
/// `chrome-extension://` in Chromium and `moz-extension://` in Firefox).
pub fn is_extension() -> bool {
    web_sys::window()
        .and_then(|window| window.location().protocol().ok())
        .is_some_and(|protocol| matches!(protocol.as_str(), "chrome-extension:" | "moz-extension:"))
}

/// The command that prints the pairing code here: Firefox gives each install its own origin,
/// which the bridge learns only from a pairing that `--firefox` announced.
pub fn pair_command() -> &'static str {
    if is_firefox() {
        "mailbridge pair --firefox"
    } else {
        "mailbridge pair"
    }
}

/// Whether the app runs as the Firefox extension.
pub fn is_firefox() -> bool {
    web_sys::window()
        .and_then(|window| window.location().protocol().ok())
        .is_some_and(|protocol| protocol == "moz-extension:")
}

/// The page served by `mailbridge serve` (or `trunk serve`).
struct Page;

impl Platform for Page {
    fn token(&self) -> Option<String> {
        pairing::take_token()
    }

    fn bridge_address(&self) -> Option<String> {
        pairing::bridge_address()
    }

    fn pairs_by_paste(&self) -> bool {
        false
    }

    fn remember(&self, _token: &str, _bridge: &str) {
        // The page is paired by its address, which `pairing.rs` reads and keeps for the tab.
    }
}

/// The browser extension.
struct Extension;

/// What the extension read from, and wrote to, `chrome.storage.local`.
#[derive(Default)]
struct Stored {
    token: Option<String>,
    bridge: Option<String>,
}

thread_local! {
    static STORED: RefCell<Stored> = RefCell::default();
}

impl Platform for Extension {
    fn token(&self) -> Option<String> {
        STORED.with_borrow(|stored| stored.token.clone())
    }

    fn bridge_address(&self) -> Option<String> {
        let stored = STORED.with_borrow(|stored| stored.bridge.clone());
        Some(stored.unwrap_or_else(|| DEFAULT_BRIDGE.to_owned()))
    }

    fn pairs_by_paste(&self) -> bool {
        true
    }

    fn remember(&self, token: &str, bridge: &str) {
        STORED.with_borrow_mut(|stored| {
            stored.token = Some(token.to_owned());
            stored.bridge = Some(bridge.to_owned());
        });
        let items = Object::new();
        let _ = Reflect::set(&items, &TOKEN_KEY.into(), &token.into());
        let _ = Reflect::set(&items, &BRIDGE_KEY.into(), &bridge.into());
        // The write finishes on its own; the app already uses the new values from memory.
        let _ = call_storage("set", &items);
    }
}

/// Reads the extension's stored pairing before the app starts; nothing to read for the page.
/// A storage that cannot be read leaves the extension unpaired, and its form asks again.
pub async fn load() {
    if !is_extension() {
        return;
    }
    let keys = js_sys::Array::of2(&TOKEN_KEY.into(), &BRIDGE_KEY.into());
    let Some(promise) = call_storage("get", &keys) else {
        return;
    };
    let Ok(items) = JsFuture::from(promise).await else {
        return;
    };
    let read = |key: &str| {
        Reflect::get(&items, &key.into())
            .ok()
            .and_then(|value| value.as_string())
    };
    let token = read(TOKEN_KEY).filter(|token| is_token(token));
    let bridge = read(BRIDGE_KEY).filter(|address| loopback_address(address).is_some());
    STORED.with_borrow_mut(|stored| *stored = Stored { token, bridge });
}

/// `chrome.storage.local.NAME(argument)`, which returns a promise in Manifest V3 (Chromium and
/// Firefox alike).
fn call_storage(name: &str, argument: &JsValue) -> Option<Promise> {
    let chrome = Reflect::get(&js_sys::global(), &"chrome".into()).ok()?;
    let storage = Reflect::get(&chrome, &"storage".into()).ok()?;
    let local = Reflect::get(&storage, &"local".into()).ok()?;
    let method: Function = Reflect::get(&local, &name.into()).ok()?.dyn_into().ok()?;
    method.call1(&local, argument).ok()?.dyn_into().ok()
}

/// What the user pasted into the pairing form, understood.
#[derive(Debug, PartialEq, Eq)]
pub struct Pasted<'a> {
    pub token: &'a str,
    /// The bridge's `HOST:PORT` when a pairing link named it.
    pub bridge: Option<&'a str>,
}

/// Reads what `mailbridge pair` printed: the whole link `http://127.0.0.1:4590/#pair=TOKEN` or
/// only the code after `#pair=`. The error says what is wrong, in words for the form.
pub fn parse_pasted(text: &str) -> Result<Pasted<'_>, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err("Paste the pairing link or code that `mailbridge pair` prints.".to_owned());
    }
    let Some((before, fragment)) = text.split_once('#') else {
        return if is_token(text) {
            Ok(Pasted {
                token: text,
                bridge: None,
            })
        } else {
            Err(
                "That is not a pairing code: a code is 43 letters, digits, - and _. Copy the whole line `mailbridge pair` prints."
                    .to_owned(),
            )
        };
    };
    let token = pairing::token_from_fragment(fragment)
        .filter(|token| is_token(token))
        .ok_or_else(|| {
            "That link has no pairing code after #pair=. Copy the whole line `mailbridge pair` prints."
                .to_owned()
        })?;
    let authority = before
        .strip_prefix("http://")
        .map(|rest| rest.trim_end_matches('/'));
    let bridge = match authority {
        None | Some("") => None,
        Some(authority) => Some(loopback_address(authority).ok_or_else(|| {
            format!("That link points at {authority}, which is not this computer; the extension only talks to a bridge on 127.0.0.1.")
        })?),
    };
    Ok(Pasted { token, bridge })
}

/// `HOST:PORT` when HOST is this machine (`127.0.0.1`, `localhost` or `[::1]`) and PORT a
/// port: the app sends secrets to its bridge, so nothing may point it at another computer.
pub fn loopback_address(address: &str) -> Option<&str> {
    let address = address.trim();
    let (host, port) = address.rsplit_once(':')?;
    let loopback = matches!(host, "127.0.0.1" | "localhost" | "[::1]");
    (loopback && port.parse::<u16>().is_ok_and(|port| port > 0)).then_some(address)
}

/// Whether `text` looks like a pairing token: URL-safe base64, as `mailbridge` makes them.
fn is_token(text: &str) -> bool {
    (16..=128).contains(&text.len())
        && text
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_')
}

#[cfg(test)]
mod tests {
    use super::{Pasted, loopback_address, parse_pasted};

    const TOKEN: &str = "q6fX3yR5uW8zB1nM4kP7sT0vC2eG9hJ5aL8dF1iO3rY";

    #[test]
    fn reads_what_mailbridge_pair_prints() {
        let cases = [
            (TOKEN.to_owned(), None),
            (format!("  {TOKEN}\n"), None),
            (
                format!("http://127.0.0.1:4590/#pair={TOKEN}"),
                Some("127.0.0.1:4590"),
            ),
            (
                format!("http://localhost:5000/#pair={TOKEN}&bridge=x"),
                Some("localhost:5000"),
            ),
            (format!("#pair={TOKEN}"), None),
        ];
        for (text, bridge) in cases {
            assert_eq!(
                parse_pasted(&text),
                Ok(Pasted {
                    token: TOKEN,
                    bridge
                }),
                "{text:?}"
            );
        }
    }

    #[test]
    fn refuses_what_is_not_a_pairing() {
        let cases = [
            ("", "Paste the pairing link"),
            ("hello there", "not a pairing code"),
            ("short", "not a pairing code"),
            ("http://127.0.0.1:4590/", "not a pairing code"),
            ("http://127.0.0.1:4590/#pair=", "no pairing code"),
            ("http://127.0.0.1:4590/#view=inbox", "no pairing code"),
            (
                &format!("http://evil.example:4590/#pair={TOKEN}"),
                "not this computer",
            ),
        ];
        for (text, error) in cases {
            let got = parse_pasted(text);
            assert!(
                got.as_ref().is_err_and(|got| got.contains(error)),
                "{text:?}: {got:?}"
            );
        }
    }

    #[test]
    fn a_bridge_address_must_be_this_machine() {
        let cases = [
            ("127.0.0.1:4590", Some("127.0.0.1:4590")),
            (" localhost:4591 ", Some("localhost:4591")),
            ("[::1]:4590", Some("[::1]:4590")),
            ("192.168.1.2:4590", None),
            ("127.0.0.1", None),
            ("127.0.0.1:0", None),
            ("127.0.0.1:70000", None),
            ("", None),
        ];
        for (address, expected) in cases {
            assert_eq!(loopback_address(address), expected, "{address:?}");
        }
    }
}
