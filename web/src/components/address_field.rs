use web_sys::HtmlInputElement;
use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct AddressFieldProps {
    /// The input's id; the error's id is made from it.
    pub id: AttrValue,
    pub label: AttrValue,
    pub value: AttrValue,
    pub oninput: Callback<String>,
    /// What is wrong with the addresses as typed, when something is.
    pub error: Option<String>,
    #[prop_or_default]
    pub hint: Option<AttrValue>,
}

/// A comma-separated list of addresses, with its problem shown beside it as it is typed.
#[function_component]
pub fn AddressField(props: &AddressFieldProps) -> Html {
    let oninput = props
        .oninput
        .reform(|event: InputEvent| event.target_unchecked_into::<HtmlInputElement>().value());
    let error_id = format!("{}-error", props.id);
    let hint_id = format!("{}-hint", props.id);
    let described_by = match &props.hint {
        Some(_) => format!("{hint_id} {error_id}"),
        None => error_id.clone(),
    };
    html! {
        <div class={classes!("field", props.error.is_some().then_some("invalid"))}>
            <label for={props.id.clone()}>{ &props.label }</label>
            <input
                id={props.id.clone()}
                type="text"
                inputmode="email"
                autocomplete="email"
                spellcheck="false"
                value={props.value.clone()}
                {oninput}
                aria-invalid={if props.error.is_some() { "true" } else { "false" }}
                aria-describedby={described_by}
            />
            if let Some(hint) = &props.hint {
                <p id={hint_id} class="hint">{ hint }</p>
            }
            // Always present, so that a new error is announced as it appears.
            <p id={error_id} class="field-error" aria-live="polite">
                { props.error.clone().unwrap_or_default() }
            </p>
        </div>
    }
}
