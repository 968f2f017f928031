use yew::prelude::*;

use crate::hooks::use_bridge;
use crate::state::Action;

/// A failure that belongs to no panel, announced as it appears.
#[function_component]
pub fn Alert() -> Html {
    let bridge = use_bridge();
    let dismiss = {
        let bridge = bridge.clone();
        Callback::from(move |_: MouseEvent| bridge.dispatch(Action::DismissAlert))
    };
    // The live region is always in the page, so screen readers announce what appears in it.
    html! {
        <div class="alert-region" role="alert">
            if let Some(text) = &bridge.alert {
                <div class="alert">
                    <p>{ text }</p>
                    <button type="button" onclick={dismiss}>{ "Dismiss this message" }</button>
                </div>
            }
        </div>
    }
}
