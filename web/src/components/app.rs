use yew::prelude::*;

use super::alert::Alert;
use super::connection_status::ConnectionStatus;
use super::forms::focus_by_id;
use super::nav::Nav;
use crate::hooks::{BridgeProvider, use_route};
use crate::route::Route;
use crate::views::{Views, lazy};

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
    // Views other than Compose belong to the second module (`views::lazy`), which moves the
    // focus itself once it has rendered; `navigated` tells it whether to.
    let first = use_mut_ref(|| true);
    let navigated = use_state(|| false);
    use_effect_with(route, {
        let navigated = navigated.clone();
        move |route| {
            if let Some(document) = web_sys::window().and_then(|window| window.document()) {
                document.set_title(route.title());
            }
            if !std::mem::replace(&mut *first.borrow_mut(), false) {
                navigated.set(true);
                if *route == Route::Compose {
                    focus_by_id(route.heading_id());
                }
            }
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
                // The second module's views render in here; the element is in the page from
                // the start, so a switch to Compose and back keeps them.
                <div id={lazy::ROOT_ID} hidden={route == Route::Compose}
                    data-navigated={navigated.to_string()}></div>
            </main>
        </BridgeProvider>
    }
}
