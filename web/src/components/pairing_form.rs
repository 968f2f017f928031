use web_sys::HtmlInputElement;
use yew::prelude::*;

use crate::hooks::use_bridge;
use crate::platform::{self, DEFAULT_BRIDGE};

/// The extension's pairing screen: the code `mailbridge pair` prints, pasted once, and the
/// bridge's address. Both are kept in the extension's storage, so a browser restart finds the
/// extension paired.
#[function_component]
pub fn PairingForm() -> Html {
    let bridge = use_bridge();
    let code = use_state(String::new);
    let address = use_state(|| {
        platform::current()
            .bridge_address()
            .unwrap_or_else(|| DEFAULT_BRIDGE.to_owned())
    });
    let error = use_state(|| None::<String>);
    let on_code = {
        let code = code.clone();
        Callback::from(move |event: InputEvent| {
            code.set(event.target_unchecked_into::<HtmlInputElement>().value());
        })
    };
    let on_address = {
        let address = address.clone();
        Callback::from(move |event: InputEvent| {
            address.set(event.target_unchecked_into::<HtmlInputElement>().value());
        })
    };
    let on_submit = {
        let (code, address, error) = (code.clone(), address.clone(), error.clone());
        Callback::from(move |event: SubmitEvent| {
            event.prevent_default();
            let platform = platform::current();
            // An empty code with a pairing kept only changes where the bridge is.
            let pasted = match (code.trim(), platform.token()) {
                ("", Some(token)) => Ok((token, None)),
                (text, _) => platform::parse_pasted(text)
                    .map(|pasted| (pasted.token.to_owned(), pasted.bridge.map(str::to_owned))),
            };
            let (token, linked) = match pasted {
                Ok(pasted) => pasted,
                Err(message) => return error.set(Some(message)),
            };
            // A pairing link names its bridge; otherwise the address field does.
            let chosen = match linked {
                Some(linked) => linked,
                None => match platform::loopback_address(&address) {
                    Some(chosen) => chosen.to_owned(),
                    None => {
                        return error.set(Some(format!(
                            "The bridge address {:?} is not HOST:PORT on this computer. Use 127.0.0.1 and the port mailbridge serve listens on, such as {DEFAULT_BRIDGE}.",
                            address.trim()
                        )));
                    }
                },
            };
            platform.remember(&token, &chosen);
            address.set(chosen);
            code.set(String::new());
            error.set(None);
            bridge.pair(token);
        })
    };
    html! {
        <form id="pairing-form" class="pairing-form" onsubmit={on_submit}>
            <p>
                <label for="pairing-code">{ "Pairing code or link" }</label>
                <input id="pairing-code" type="password" autocomplete="off" spellcheck="false"
                    placeholder="what mailbridge pair prints" value={(*code).clone()} oninput={on_code} />
            </p>
            <p>
                <label for="bridge-address">{ "Bridge address" }</label>
                <input id="bridge-address" type="text" spellcheck="false" value={(*address).clone()}
                    oninput={on_address} />
            </p>
            if let Some(message) = &*error {
                <p id="pairing-error" class="error" role="alert">{ message }</p>
            }
            <button id="pairing-submit" type="submit">{ "Pair with the bridge" }</button>
        </form>
    }
}
