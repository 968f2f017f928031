use profile::ProfileId;
use protocol::{Draft, Operation, OperationError, Outcome};
use yew::prelude::*;

use crate::components::ErrorDetails;
use crate::format::{RAW_SHOWN_BYTES, raw_head, size};
use crate::hooks::use_bridge;

#[derive(Properties, PartialEq)]
pub struct PreviewProps {
    /// The HTML body as typed; empty when the message has none.
    pub html: AttrValue,
    /// What the Raw tab renders: the profile and the draft, or why there is no draft yet.
    pub draft: Result<(ProfileId, Draft), String>,
}

#[derive(Clone, Copy, PartialEq)]
enum Tab {
    Html,
    Raw,
}

#[derive(Clone, PartialEq)]
enum Raw {
    Idle,
    Loading,
    Ready { raw: String, warnings: Vec<String> },
    Failed(OperationError),
}

/// The message before it goes: its HTML rendered in a sandbox that runs no script, and the
/// exact MIME the bridge would send ("Raw"), built by the bridge's own composer.
#[function_component]
pub fn Preview(props: &PreviewProps) -> Html {
    let bridge = use_bridge();
    let tab = use_state(|| Tab::Html);
    let raw = use_state(|| Raw::Idle);

    let render = {
        let bridge = bridge.clone();
        let raw = raw.clone();
        let draft = props.draft.clone();
        Callback::from(move |()| {
            let Ok((profile, draft)) = draft.clone() else {
                return;
            };
            raw.set(Raw::Loading);
            let answer = bridge.call(Operation::RenderMime { profile, draft });
            let raw = raw.clone();
            wasm_bindgen_futures::spawn_local(async move {
                raw.set(match answer.await {
                    Ok(Outcome::Rendered { raw, warnings }) => Raw::Ready { raw, warnings },
                    Ok(_) => Raw::Failed(OperationError::new(
                        protocol::ErrorKind::Internal,
                        "the bridge gave an unexpected answer",
                    )),
                    Err(error) => Raw::Failed(error),
                });
            });
        })
    };
    let select = |chosen: Tab| {
        let tab = tab.clone();
        let render = render.clone();
        Callback::from(move |_: MouseEvent| {
            tab.set(chosen);
            if chosen == Tab::Raw {
                render.emit(());
            }
        })
    };
    let tab_button = |chosen: Tab, id: &'static str, label: &'static str| {
        let selected = *tab == chosen;
        html! {
            <button type="button" role="tab" id={id} aria-selected={selected.to_string()}
                aria-controls="preview-panel" class={classes!("tab", selected.then_some("selected"))}
                onclick={select(chosen)}>{ label }</button>
        }
    };
    let panel = match *tab {
        Tab::Html if props.html.is_empty() => html! {
            <p class="quiet">{ "This message has no HTML part. Choose HTML or Both under Format to write one." }</p>
        },
        // `sandbox` with no permissions: no script, no forms, no navigation of this page.
        Tab::Html => html! {
            <iframe id="preview-html" class="html-preview" sandbox="" srcdoc={props.html.clone()}
                title="HTML preview of the message" referrerpolicy="no-referrer" />
        },
        Tab::Raw => match (&props.draft, &*raw) {
            (Err(why), _) => html! { <p class="quiet">{ why }</p> },
            (Ok(_), Raw::Idle | Raw::Loading) => {
                html! { <p class="busy">{ "Building the MIME…" }</p> }
            }
            (Ok(_), Raw::Failed(error)) => html! { <ErrorDetails error={error.clone()} /> },
            (Ok(_), Raw::Ready { raw, warnings }) => html! {
                <>
                    if !warnings.is_empty() {
                        <ul class="warnings">
                            { for warnings.iter().map(|warning| html! { <li>{ warning }</li> }) }
                        </ul>
                    }
                    <pre id="preview-raw" class="raw" tabindex="0" aria-label="The raw MIME message">{ raw_head(raw) }</pre>
                    if raw.len() > RAW_SHOWN_BYTES {
                        <p class="hint">{ format!(
                            "The first {} of {} are shown; the rest is the attachments' base64.",
                            size(RAW_SHOWN_BYTES as u64),
                            size(raw.len() as u64)
                        ) }</p>
                    }
                    <button type="button" onclick={render.reform(|_: MouseEvent| ())}>{ "Rebuild the raw message" }</button>
                </>
            },
        },
    };
    html! {
        <div class="preview">
            <div role="tablist" aria-label="Preview">
                { tab_button(Tab::Html, "preview-tab-html", "HTML preview") }
                { tab_button(Tab::Raw, "preview-tab-raw", "Raw MIME") }
            </div>
            <div id="preview-panel" role="tabpanel" aria-live="polite">{ panel }</div>
        </div>
    }
}
