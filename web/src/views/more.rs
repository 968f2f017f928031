//! The root of the page's second module: every view but Compose, rendered into the element
//! the first module keeps for it ([`super::lazy::ROOT_ID`]).
//!
//! It has its own [`BridgeProvider`] and state, over the first module's connection (a
//! [`Role::Guest`], see `hooks::shared_socket`); it follows the address itself, and shows
//! nothing while Compose does.

use yew::prelude::*;

use super::lazy::{NAVIGATED_ATTRIBUTE, ROOT_ID};
use crate::components::Alert;
use crate::components::forms::focus_by_id;
use crate::hooks::{BridgeProvider, Role, use_route};
use crate::route::Route;

/// Renders [`More`] into its element; without one (a page of another build) nothing happens.
pub fn render() {
    let root = web_sys::window()
        .and_then(|window| window.document())
        .and_then(|document| document.get_element_by_id(ROOT_ID));
    if let Some(root) = root {
        yew::Renderer::<More>::with_root(root).render();
    }
}

#[function_component]
fn More() -> Html {
    let route = use_route();
    // The first module moves the focus for Compose; here, the focus goes to the view's heading
    // when the user came from another view, as it does there.
    let first = use_mut_ref(|| true);
    use_effect_with(route, move |route| {
        let first = std::mem::replace(&mut *first.borrow_mut(), false);
        if *route != Route::Compose && (!first || navigated()) {
            focus_by_id(route.heading_id());
        }
    });
    html! {
        <BridgeProvider role={Role::Guest}>
            if route != Route::Compose {
                <Alert />
                { super::other_view(route) }
            }
        </BridgeProvider>
    }
}

/// Whether the first module saw the user move from one view to another before this module
/// started.
fn navigated() -> bool {
    web_sys::window()
        .and_then(|window| window.document())
        .and_then(|document| document.get_element_by_id(ROOT_ID))
        .is_some_and(|root| root.get_attribute(NAVIGATED_ATTRIBUTE).as_deref() == Some("true"))
}
