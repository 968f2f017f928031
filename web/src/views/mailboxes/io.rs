//! The mailboxes' team file: import one a colleague shared, export them all to one. The file
//! carries definitions only (`mailbridge-mailboxes`), never a secret.

use std::rc::Rc;

use protocol::{ErrorKind, Operation, OperationError, Outcome};
use wasm_bindgen_futures::JsFuture;
use web_sys::HtmlInputElement;
use yew::prelude::*;

use crate::components::ErrorDetails;
use crate::hooks::use_bridge;
use crate::object_url::ObjectUrl;

#[derive(Properties, PartialEq)]
pub struct Props {
    /// An answer the list should show (the mailboxes after an import).
    pub on_answer: Callback<Result<Outcome, OperationError>>,
}

#[function_component]
pub fn MailboxIo(props: &Props) -> Html {
    let bridge = use_bridge();
    let download = use_state(|| None::<Rc<ObjectUrl>>);
    let error = use_state(|| None::<OperationError>);
    let imported = use_state(|| None::<String>);
    let export = {
        let (bridge, download, error) = (bridge.clone(), download.clone(), error.clone());
        Callback::from(move |_: MouseEvent| {
            let answer = bridge.call(Operation::ExportMailboxes);
            let (download, error) = (download.clone(), error.clone());
            wasm_bindgen_futures::spawn_local(async move {
                match answer.await {
                    Ok(Outcome::Exported { json, .. }) => {
                        match ObjectUrl::new(json.as_bytes(), "application/json") {
                            Some(url) => download.set(Some(Rc::new(url))),
                            None => error.set(Some(OperationError::new(
                                ErrorKind::Internal,
                                "the browser could not make the file",
                            ))),
                        }
                    }
                    Ok(_) => {}
                    Err(refused) => error.set(Some(refused)),
                }
            });
        })
    };
    let on_file = {
        let (bridge, error, imported) = (bridge.clone(), error.clone(), imported.clone());
        let on_answer = props.on_answer.clone();
        Callback::from(move |event: Event| {
            let input = event.target_unchecked_into::<HtmlInputElement>();
            let Some(file) = input.files().and_then(|files| files.get(0)) else {
                return;
            };
            input.set_value("");
            let (bridge, error, imported) = (bridge.clone(), error.clone(), imported.clone());
            let on_answer = on_answer.clone();
            wasm_bindgen_futures::spawn_local(async move {
                let text = JsFuture::from(file.text()).await.ok();
                let Some(json) = text.and_then(|text| text.as_string()) else {
                    error.set(Some(
                        OperationError::new(
                            ErrorKind::Invalid,
                            format!("the browser could not read {}", file.name()),
                        )
                        .with_fix("Choose the file again."),
                    ));
                    return;
                };
                let answer = bridge.call(Operation::ImportMailboxes { json }).await;
                match &answer {
                    Ok(_) => {
                        error.set(None);
                        imported.set(Some(format!("Imported {}.", file.name())));
                    }
                    Err(refused) => {
                        imported.set(None);
                        error.set(Some(refused.clone()));
                    }
                }
                on_answer.emit(answer);
            });
        })
    };
    html! {
        <div class="profile-io">
            <h3>{ "Team file" }</h3>
            <div class="field">
                <label for="mailboxes-import">{ "Import mailboxes from a team file (.json)" }</label>
                <input id="mailboxes-import" type="file" accept=".json,application/json" onchange={on_file} />
            </div>
            <button type="button" id="mailboxes-export" disabled={!bridge.is_connected()} onclick={export}>
                { "Export the mailboxes (without secrets)" }
            </button>
            if let Some(url) = &*download {
                <a id="mailboxes-export-link" href={url.as_str().to_owned()} download="mailbridge-mailboxes.json">
                    { "Download mailbridge-mailboxes.json" }
                </a>
            }
            if let Some(text) = &*imported {
                <p id="mailboxes-imported" class="hint">{ text }</p>
            }
            if let Some(refused) = &*error {
                <div id="mailboxes-io-error" class="result failed"><ErrorDetails error={refused.clone()} /></div>
            }
        </div>
    }
}
