use yew::prelude::*;

use crate::hooks::use_bridge;
use crate::route::Route;

#[derive(Properties, PartialEq)]
pub struct NavProps {
    pub current: Route,
}

/// The views, as links that put the view's name in the address. The current one is marked
/// (`aria-current="page"`), and the Outbox link counts what still waits and what needs the user.
#[function_component]
pub fn Nav(props: &NavProps) -> Html {
    let bridge = use_bridge();
    let counts = bridge.outbox.summary.as_ref().map(|summary| summary.counts);
    let waiting = counts.map_or(0, |counts| counts.pending());
    let attention = counts.map_or(0, |counts| counts.failed + counts.ambiguous);
    html! {
        <nav class="views" aria-label="Views">
            <ul>
                { for Route::ALL.into_iter().map(|route| {
                    let current = route == props.current;
                    let outbox = route == Route::Outbox;
                    html! {
                        <li key={route.name()}>
                            <a id={format!("nav-{}", route.name())} href={route.hash()}
                                aria-current={current.then_some("page")}>
                                { route.label() }
                                if outbox && waiting > 0 {
                                    <span class="badge">{ waiting }<span class="visually-hidden">{ " waiting" }</span></span>
                                }
                                if outbox && attention > 0 {
                                    <span class="badge bad">{ attention }<span class="visually-hidden">{ " need you" }</span></span>
                                }
                            </a>
                        </li>
                    }
                }) }
            </ul>
        </nav>
    }
}
