//! The view the address bar names, kept in step with it: a link to `#/outbox`, Back, Forward
//! and a reload all change the view, and nothing else does.

use gloo::events::EventListener;
use yew::prelude::*;

use crate::route::Route;

/// The current view. It follows `hashchange` (links and typed addresses) and `popstate`
/// (Back and Forward); a fragment that is no route, such as a pasted `#pair=` address, shows
/// Compose, which is where the address stands once `pairing` has taken the token out.
#[hook]
pub fn use_route() -> Route {
    let route = use_state_eq(current);
    use_effect_with((), {
        let route = route.setter();
        move |()| {
            let listeners = web_sys::window().map(|window| {
                let follow =
                    |route: UseStateSetter<Route>| move |_: &web_sys::Event| route.set(current());
                [
                    EventListener::new(&window, "hashchange", follow(route.clone())),
                    EventListener::new(&window, "popstate", follow(route)),
                ]
            });
            move || drop(listeners)
        }
    });
    *route
}

/// The route in the address now.
fn current() -> Route {
    web_sys::window()
        .and_then(|window| window.location().hash().ok())
        .and_then(|fragment| Route::parse(&fragment))
        .unwrap_or_default()
}
