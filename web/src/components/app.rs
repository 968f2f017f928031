use yew::prelude::*;

use super::alert::Alert;
use super::connection_status::ConnectionStatus;
use super::forms::focus_by_id;
use super::nav::Nav;
use crate::hooks::{BridgeProvider, use_route};
use crate::views::Views;

/// The whole page: the connection and the views' navigation on top, then the view the address
/// names (`#/compose`, `#/outbox`, `#/campaigns`, `#/inbox`, `#/history`, `#/profiles`).
#[function_component]
pub fn App() -> Html {
    // For `cargo xtask bench`: the time from navigation to the first rendered screen.
    use_effect_with((), |()| crate::mark("mailbridge:first-screen"));
    let route = use_route();
    // A view that opens takes the focus to its heading, so a screen reader says where the user
    // is; the first screen starts at the top as any page does. The title names the view in
    // the tab and in the browser's history.
    let first = use_mut_ref(|| true);
    use_effect_with(route, move |route| {
        if let Some(document) = web_sys::window().and_then(|window| window.document()) {
            document.set_title(route.title());
        }
        if !std::mem::replace(&mut *first.borrow_mut(), false) {
            focus_by_id(route.heading_id());
        }
    });
    // An in-page fragment (`#main`) would replace the route in the address, so the skip link
    // moves the focus itself.
    let skip = Callback::from(move |event: MouseEvent| {
        event.prevent_default();
        focus_by_id(route.heading_id());
    });
    html! {
        <BridgeProvider>
            <a class="skip-link" href={route.hash()} onclick={skip}>{ "Skip to " }{ route.label() }</a>
            <header class="top">
                <h1>{ "mailbridge" }</h1>
                <Nav current={route} />
                <ConnectionStatus />
            </header>
            <Alert />
            <main id="main">
                <Views {route} />
            </main>
        </BridgeProvider>
    }
}
