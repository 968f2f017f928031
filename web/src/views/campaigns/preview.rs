use std::rc::Rc;

use protocol::RowPreview;
use yew::prelude::*;

use crate::format::{RAW_SHOWN_BYTES, raw_head, size};

#[derive(Properties, PartialEq)]
pub struct RowPreviewProps {
    pub preview: Rc<RowPreview>,
}

#[derive(Clone, Copy, PartialEq)]
enum Tab {
    Html,
    Text,
    Raw,
}

/// One row as it would be sent: its subject and recipient, then its HTML in a sandbox that
/// runs no script, its text, and the exact MIME the bridge built.
#[function_component]
pub fn RowPreviewPanel(props: &RowPreviewProps) -> Html {
    let preview = &props.preview;
    let tab = use_state(|| {
        if preview.html.is_some() {
            Tab::Html
        } else {
            Tab::Text
        }
    });
    let tab_button = |chosen: Tab, id: &'static str, label: &'static str| {
        let selected = *tab == chosen;
        let onclick = {
            let tab = tab.clone();
            Callback::from(move |_: MouseEvent| tab.set(chosen))
        };
        html! {
            <button type="button" role="tab" id={id} aria-selected={selected.to_string()}
                aria-controls="campaign-preview-panel" class={classes!("tab", selected.then_some("selected"))}
                {onclick}>{ label }</button>
        }
    };
    let panel = match *tab {
        Tab::Html => match &preview.html {
            // `sandbox` with no permissions: no script, no forms, no navigation of this page.
            Some(html) => html! {
                <iframe id="campaign-preview-html" class="html-preview" sandbox="" srcdoc={html.clone()}
                    title={format!("HTML preview of row {}", preview.row)} referrerpolicy="no-referrer" />
            },
            None => html! { <p class="quiet">{ "This campaign has no HTML template." }</p> },
        },
        Tab::Text => match &preview.text {
            Some(text) => {
                html! { <pre id="campaign-preview-text" class="raw" tabindex="0" aria-label="The text part">{ text }</pre> }
            }
            None => html! { <p class="quiet">{ "This campaign has no text template." }</p> },
        },
        Tab::Raw => html! {
            <>
                <pre id="campaign-preview-raw" class="raw" tabindex="0" aria-label="The raw MIME message">{ raw_head(&preview.raw) }</pre>
                if preview.raw.len() >= RAW_SHOWN_BYTES {
                    <p class="hint">{ format!("The first {} are shown.", size(RAW_SHOWN_BYTES as u64)) }</p>
                }
            </>
        },
    };
    html! {
        <div id="campaign-preview" class="preview">
            <dl class="campaign-preview-head">
                <dt>{ "Row" }</dt><dd>{ preview.row }</dd>
                <dt>{ "To" }</dt><dd id="campaign-preview-to">{ &preview.to }</dd>
                <dt>{ "Subject" }</dt><dd id="campaign-preview-subject">{ &preview.subject }</dd>
            </dl>
            <div role="tablist" aria-label="Preview of the row">
                { tab_button(Tab::Html, "campaign-preview-tab-html", "HTML preview") }
                { tab_button(Tab::Text, "campaign-preview-tab-text", "Text") }
                { tab_button(Tab::Raw, "campaign-preview-tab-raw", "Raw MIME") }
            </div>
            <div id="campaign-preview-panel" role="tabpanel">{ panel }</div>
        </div>
    }
}
