//! Helpers the forms share: `<select>` options named as serde names them, capitals for the
//! profile crate's lowercase labels, and moving focus.

use serde::Serialize;
use serde::de::DeserializeOwned;
use wasm_bindgen::JsCast;
use web_sys::{HtmlElement, HtmlSelectElement};
use yew::prelude::*;

/// The name serde gives a unit variant (`gmail587`, `keep_both`). `<option>` values use it, so
/// they read as the team file and the protocol spell them.
pub fn serde_name<T: Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(name)) => name,
        _ => String::new(),
    }
}

/// The variant serde calls `name`, if there is one.
pub fn from_serde_name<T: DeserializeOwned>(name: &str) -> Option<T> {
    serde_json::from_value(serde_json::Value::String(name.to_owned())).ok()
}

/// A `<select>`'s change handler that sets `state` to the variant its value names.
pub fn on_serde_choice<T: DeserializeOwned + 'static>(
    state: &UseStateHandle<T>,
) -> Callback<Event> {
    let state = state.clone();
    Callback::from(move |event: Event| {
        let value = event.target_unchecked_into::<HtmlSelectElement>().value();
        if let Some(chosen) = from_serde_name(&value) {
            state.set(chosen);
        }
    })
}

/// `text` with its first letter in capitals: the profile crate's labels are lowercase clauses.
pub fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// Moves keyboard focus to the element with `id`, if it is on the page.
pub fn focus_by_id(id: &str) {
    let element = web_sys::window()
        .and_then(|window| window.document())
        .and_then(|document| document.get_element_by_id(id))
        .and_then(|element| element.dyn_into::<HtmlElement>().ok());
    if let Some(element) = element {
        let _ = element.focus();
    }
}
