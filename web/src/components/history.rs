use yew::prelude::*;

/// Placeholder until the real panel lands.
#[function_component]
pub fn History() -> Html {
    html! {}
}
