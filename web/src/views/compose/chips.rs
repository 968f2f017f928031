use profile::parse_list;
use web_sys::HtmlInputElement;
use yew::prelude::*;

/// The addresses of one field: finished chips, and the text still being typed.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct Addresses {
    /// Each parsed and written back the way the bridge will read it.
    pub chips: Vec<String>,
    pub typing: String,
}

impl Addresses {
    /// Every address in the field, the one being typed included, or what is wrong with them.
    pub fn all(&self) -> Result<Vec<String>, String> {
        let mut all = self.chips.clone();
        all.extend(parse(&self.typing)?);
        Ok(all)
    }

    /// What is wrong with the text being typed; finished chips are always valid.
    pub fn error(&self) -> Option<String> {
        parse(&self.typing).err()
    }

    /// Turns the typed text into chips when it parses; returns whether it did.
    fn commit(&mut self) -> bool {
        match parse(&self.typing) {
            Ok(addresses) if !addresses.is_empty() => {
                self.chips.extend(addresses);
                self.typing.clear();
                true
            }
            _ => false,
        }
    }
}

/// The addresses in comma-separated text, in the form the bridge parses back unchanged.
fn parse(text: &str) -> Result<Vec<String>, String> {
    parse_list(text)
        .map(|list| list.iter().map(ToString::to_string).collect())
        .map_err(|error| error.to_string())
}

/// Whether `text` ends with a separator outside quotes and angle brackets, so that what comes
/// before it is a finished address (`"Doe, John" <j@x>` is not finished at its comma).
fn ends_an_address(text: &str) -> bool {
    let Some(body) = text.strip_suffix([',', ';']) else {
        return false;
    };
    let mut quoted = false;
    let mut angle = 0u32;
    for c in body.chars() {
        match c {
            '"' => quoted = !quoted,
            '<' if !quoted => angle += 1,
            '>' if !quoted => angle = angle.saturating_sub(1),
            _ => {}
        }
    }
    !quoted && angle == 0
}

#[derive(Properties, PartialEq)]
pub struct ChipInputProps {
    /// The input's id; the error's and hint's ids are made from it.
    pub id: AttrValue,
    pub label: AttrValue,
    pub value: Addresses,
    pub onchange: Callback<Addresses>,
    #[prop_or_default]
    pub hint: Option<AttrValue>,
}

/// Addresses as chips: a comma, Enter or leaving the field turns what was typed into a chip
/// once it parses; Backspace in an empty field takes the last chip back for editing. Problems
/// are shown, and announced, as they are typed.
#[function_component]
pub fn ChipInput(props: &ChipInputProps) -> Html {
    let error = props.value.error();
    let oninput = {
        let value = props.value.clone();
        let onchange = props.onchange.clone();
        Callback::from(move |event: InputEvent| {
            let mut next = value.clone();
            next.typing = event.target_unchecked_into::<HtmlInputElement>().value();
            if ends_an_address(&next.typing) {
                let typed = next.typing.clone();
                next.typing = typed[..typed.len() - 1].to_owned();
                if !next.commit() {
                    next.typing = typed;
                }
            }
            onchange.emit(next);
        })
    };
    let onkeydown = {
        let value = props.value.clone();
        let onchange = props.onchange.clone();
        Callback::from(move |event: KeyboardEvent| {
            let modified = event.ctrl_key() || event.meta_key();
            match event.key().as_str() {
                "Enter" if !modified && !value.typing.trim().is_empty() => {
                    // Enter finishes an address instead of submitting the form.
                    event.prevent_default();
                    let mut next = value.clone();
                    if next.commit() {
                        onchange.emit(next);
                    }
                }
                "Backspace" if value.typing.is_empty() && !value.chips.is_empty() => {
                    event.prevent_default();
                    let mut next = value.clone();
                    next.typing = next.chips.pop().unwrap_or_default();
                    onchange.emit(next);
                }
                _ => {}
            }
        })
    };
    let onblur = {
        let value = props.value.clone();
        let onchange = props.onchange.clone();
        Callback::from(move |_: FocusEvent| {
            let mut next = value.clone();
            if next.commit() {
                onchange.emit(next);
            }
        })
    };
    let error_id = format!("{}-error", props.id);
    let hint_id = format!("{}-hint", props.id);
    let described_by = match &props.hint {
        Some(_) => format!("{hint_id} {error_id}"),
        None => error_id.clone(),
    };
    html! {
        <div class={classes!("field", error.is_some().then_some("invalid"))}>
            <label for={props.id.clone()}>{ &props.label }</label>
            <div class="chips">
                <ul class="chip-list" aria-label={format!("{} addresses", props.label)}>
                    { for props.value.chips.iter().enumerate().map(|(index, chip)| {
                        let remove = {
                            let value = props.value.clone();
                            let onchange = props.onchange.clone();
                            Callback::from(move |_: MouseEvent| {
                                let mut next = value.clone();
                                next.chips.remove(index);
                                onchange.emit(next);
                            })
                        };
                        html! {
                            <li class="chip" key={format!("{index}-{chip}")}>
                                <span>{ chip }</span>
                                <button type="button" class="chip-remove" onclick={remove}
                                    aria-label={format!("Remove {chip} from {}", props.label)}>{ "remove" }</button>
                            </li>
                        }
                    }) }
                </ul>
                <input
                    id={props.id.clone()}
                    type="text"
                    inputmode="email"
                    autocomplete="email"
                    spellcheck="false"
                    value={props.value.typing.clone()}
                    {oninput}
                    {onkeydown}
                    {onblur}
                    aria-invalid={if error.is_some() { "true" } else { "false" }}
                    aria-describedby={described_by}
                />
            </div>
            if let Some(hint) = &props.hint {
                <p id={hint_id} class="hint">{ hint }</p>
            }
            // Always present, so that a new error is announced as it appears.
            <p id={error_id} class="field-error" aria-live="polite">
                { error.unwrap_or_default() }
            </p>
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_separator_finishes_an_address_only_outside_quotes_and_brackets() {
        assert!(ends_an_address("ann@example.com,"));
        assert!(ends_an_address("Ann <ann@example.com>;"));
        assert!(!ends_an_address("\"Doe,"));
        assert!(!ends_an_address("Ann <ann@example.com,"));
        assert!(!ends_an_address("ann@example.com"));
    }

    #[test]
    fn typed_text_counts_and_only_good_text_becomes_a_chip() {
        let mut field = Addresses {
            chips: vec!["ann@example.com".into()],
            typing: "bob@".into(),
        };
        assert!(!field.commit());
        assert!(
            field
                .error()
                .is_some_and(|error| error.contains("after the '@'"))
        );
        assert!(field.all().is_err());
        field.typing = "Bob <bob@example.com>".into();
        assert_eq!(
            field.all(),
            Ok(vec![
                "ann@example.com".to_owned(),
                "Bob <bob@example.com>".to_owned()
            ])
        );
        assert!(field.commit());
        assert_eq!(field.chips.len(), 2);
        assert_eq!(field.typing, "");
    }
}
