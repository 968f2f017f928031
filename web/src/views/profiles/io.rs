use std::rc::Rc;

use profile::Conflict;
use protocol::{
    ClientMessage, ErrorKind, MAX_FRAME_BYTES, Operation, OperationError, Outcome, Request,
    RequestId, encode,
};
use wasm_bindgen_futures::JsFuture;
use web_sys::{File, HtmlAnchorElement, HtmlInputElement};
use yew::prelude::*;

use crate::components::ErrorDetails;
use crate::components::forms::{on_serde_choice, serde_name};
use crate::hooks::{Bridge, use_bridge, use_file_drop};
use crate::object_url::ObjectUrl;
use crate::state::sentence;

/// What to do with an imported profile whose name is taken, in the words the picker shows.
const CONFLICTS: [(Conflict, &str); 3] = [
    (Conflict::Skip, "Keep mine and skip the imported one"),
    (
        Conflict::Overwrite,
        "Replace mine with the imported settings (my stored secret stays)",
    ),
    (
        Conflict::KeepBoth,
        "Keep both: the imported one gets a new name",
    ),
];

/// Where the last import stands.
#[derive(Debug, Clone, PartialEq)]
enum Import {
    Idle,
    Reading(String),
    /// What the import did, in words.
    Done(String),
    Failed(OperationError),
}

/// The last export, ready to download. Replacing it revokes its `blob:` URL.
#[derive(Debug, PartialEq)]
struct Download {
    url: ObjectUrl,
    filename: String,
}

/// The team file: import one (picked or dropped) and export every profile to one. The file
/// carries settings only, never a secret.
#[function_component]
pub fn ProfileIo() -> Html {
    let bridge = use_bridge();
    let conflict = use_state(|| Conflict::Skip);
    let import = use_state(|| Import::Idle);
    let exporting = use_state(|| false);
    let export_error = use_state(|| None::<OperationError>);
    let download = use_state(|| None::<Rc<Download>>);
    let link = use_node_ref();
    // A new export downloads at once; the link stays for a second try.
    use_effect_with((*download).clone(), {
        let link = link.clone();
        move |download| {
            if download.is_some()
                && let Some(link) = link.cast::<HtmlAnchorElement>()
            {
                link.click();
            }
        }
    });

    let start = {
        let bridge = bridge.clone();
        let import = import.clone();
        let conflict = *conflict;
        Callback::from(move |file: File| {
            import.set(Import::Reading(file.name()));
            let bridge = bridge.clone();
            let import = import.clone();
            wasm_bindgen_futures::spawn_local(async move {
                import.set(import_file(&bridge, file, conflict).await);
            });
        })
    };
    let on_conflict = on_serde_choice(&conflict);
    let on_file = {
        let start = start.clone();
        Callback::from(move |event: Event| {
            let input = event.target_unchecked_into::<HtmlInputElement>();
            if let Some(file) = input.files().and_then(|files| files.get(0)) {
                start.emit(file);
            }
            // Choosing the same file again (after fixing it) must fire `change` again.
            input.set_value("");
        })
    };
    let drop = use_file_drop({
        let import = import.clone();
        Callback::from(move |dropped: Vec<File>| {
            match dropped.into_iter().next() {
            Some(file) if is_json(&file.name(), &file.type_()) => start.emit(file),
            Some(file) => import.set(Import::Failed(
                OperationError::new(
                    ErrorKind::Invalid,
                    format!("{} is not a .json file", file.name()),
                )
                .with_fix("Drop the team file, which ends in .json (mailbridge-profiles.json when exported here)."),
            )),
            None => {}
        }
        })
    });
    let export = {
        let bridge = bridge.clone();
        let exporting = exporting.clone();
        let export_error = export_error.clone();
        let download = download.clone();
        Callback::from(move |_: MouseEvent| {
            if *exporting {
                return;
            }
            exporting.set(true);
            export_error.set(None);
            let answer = bridge.call(Operation::ExportProfiles { profiles: vec![] });
            let exporting = exporting.clone();
            let export_error = export_error.clone();
            let download = download.clone();
            wasm_bindgen_futures::spawn_local(async move {
                let result = answer.await;
                exporting.set(false);
                match result {
                    Ok(Outcome::Exported { json, filename }) => {
                        match ObjectUrl::new(json.as_bytes(), "application/json") {
                            Some(url) => download.set(Some(Rc::new(Download {
                                url,
                                filename: download_name(&filename),
                            }))),
                            None => export_error.set(Some(
                                OperationError::new(
                                    ErrorKind::Internal,
                                    "the browser could not make the file",
                                )
                                .with_fix("Close other tabs to free memory, then export again."),
                            )),
                        }
                    }
                    Ok(_) => export_error.set(Some(unexpected())),
                    Err(error) => export_error.set(Some(error)),
                }
            });
        })
    };

    let import_status = match &*import {
        Import::Idle => html! {},
        Import::Reading(name) => html! { <p class="busy">{ format!("Importing {name}…") }</p> },
        Import::Done(summary) => html! {
            <p id="profiles-import-result" class="ok">{ summary }</p>
        },
        Import::Failed(error) => html! {
            <div class="result failed import-failed">
                <p><strong>{ sentence(&error.message) }</strong></p>
                if !error.problems.is_empty() {
                    <ul id="profiles-import-errors">
                        { for error.problems.iter().map(|problem| html! {
                            <li><code>{ &problem.path }</code>{ " " }{ sentence(&problem.message) }{ " " }{ sentence(&problem.fix) }</li>
                        }) }
                    </ul>
                }
                if let Some(fix) = &error.fix {
                    <p>{ fix }</p>
                }
            </div>
        },
    };
    html! {
        <div class="profile-io">
            <h3>{ "Share profiles with a team" }</h3>
            <p class="hint">{ "A team file holds servers, accounts and limits. It never contains a secret: no App Password, token or pairing token, so each person stores their own after importing." }</p>
            <div class="io-grid">
                <div class="io-import">
                    <h4>{ "Import a team file" }</h4>
                    <div class="field">
                        <label for="profiles-import-conflict">{ "When a profile with the same name is already here" }</label>
                        <select id="profiles-import-conflict" onchange={on_conflict}>
                            { for CONFLICTS.iter().map(|(option, words)| html! {
                                <option value={serde_name(option)} selected={*option == *conflict}>{ *words }</option>
                            }) }
                        </select>
                    </div>
                    <div id="profiles-import-drop" class={classes!("drop-zone", drop.dragging.then_some("dragging"))}
                        ondragover={drop.ondragover} ondragleave={drop.ondragleave} ondrop={drop.ondrop}>
                        <label for="profiles-import-file">{ "Team file (.json)" }</label>
                        <input type="file" id="profiles-import-file" accept=".json,application/json"
                            onchange={on_file} aria-describedby="profiles-import-drop-hint" />
                        <p id="profiles-import-drop-hint" class="hint">{ "Or drop the file here. Nothing is imported when the file has a problem." }</p>
                    </div>
                    <div class="io-status" aria-live="polite">{ import_status }</div>
                </div>
                <div class="io-export">
                    <h4>{ "Export" }</h4>
                    <p class="hint">{ "Every profile, in one file to share. Secrets stay on this machine." }</p>
                    <button type="button" id="profiles-export" onclick={export} disabled={*exporting}>{ "Export profiles" }</button>
                    <div class="io-status" aria-live="polite">
                        if let Some(download) = &*download {
                            <p>
                                <a id="profiles-export-link" ref={link} href={download.url.as_str().to_owned()}
                                    download={download.filename.clone()}>{ format!("Download {}", download.filename) }</a>
                            </p>
                        }
                        if let Some(error) = &*export_error {
                            <div class="result failed"><ErrorDetails error={error.clone()} /></div>
                        }
                    </div>
                </div>
            </div>
        </div>
    }
}

/// Reads `file` and imports it; on success the profile list is asked for again.
async fn import_file(bridge: &Bridge, file: File, conflict: Conflict) -> Import {
    let text = JsFuture::from(file.text()).await.ok();
    let Some(json) = text.and_then(|text| text.as_string()) else {
        return Import::Failed(
            OperationError::new(
                ErrorKind::Invalid,
                format!("the browser could not read {}", file.name()),
            )
            .with_fix("Choose the file again; if it is on a network drive, copy it to this computer first."),
        );
    };
    let operation = Operation::ImportProfiles { json, conflict };
    if let Some(error) = too_large(&operation) {
        return Import::Failed(error);
    }
    match bridge.call(operation).await {
        Ok(Outcome::Imported {
            added,
            overwritten,
            skipped,
            renamed,
        }) => {
            bridge.request(Operation::ListProfiles);
            Import::Done(summary(&added, &overwritten, &skipped, &renamed))
        }
        Ok(_) => Import::Failed(unexpected()),
        Err(error) => Import::Failed(error),
    }
}

/// Why `operation` cannot go to the bridge: the bridge closes the connection on a message over
/// [`MAX_FRAME_BYTES`], so a big file is refused here, with a way around it.
fn too_large(operation: &Operation) -> Option<OperationError> {
    let message = ClientMessage::Request(Request {
        id: RequestId(u64::MAX),
        operation: operation.clone(),
    });
    let bytes = encode(&message).map_or(usize::MAX, |text| text.len());
    (bytes > MAX_FRAME_BYTES).then(|| {
        OperationError::new(
            ErrorKind::TooLarge,
            format!(
                "the file is too large to import here: it takes {bytes} bytes to send, and the page may send {MAX_FRAME_BYTES}"
            ),
        )
        .with_fix("Import it on the command line with `mailbridge profiles import FILE`, or split it into smaller files.")
    })
}

/// What an import did, in words.
fn summary(
    added: &[String],
    overwritten: &[String],
    skipped: &[String],
    renamed: &[(String, String)],
) -> String {
    let names = |names: &[String]| {
        names
            .iter()
            .map(|name| format!("“{name}”"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut parts = Vec::new();
    if !added.is_empty() {
        parts.push(format!("Added {}: {}.", count(added.len()), names(added)));
    }
    if !renamed.is_empty() {
        let pairs = renamed
            .iter()
            .map(|(from, to)| format!("“{from}” as “{to}”"))
            .collect::<Vec<_>>()
            .join(", ");
        parts.push(format!(
            "Added {} under a new name, because the name was taken: {pairs}.",
            count(renamed.len())
        ));
    }
    if !overwritten.is_empty() {
        parts.push(format!(
            "Replaced the settings of {}: {}. Their stored secrets stay.",
            count(overwritten.len()),
            names(overwritten)
        ));
    }
    if !skipped.is_empty() {
        parts.push(format!(
            "Skipped {}, because a profile with the same name is already here: {}.",
            count(skipped.len()),
            names(skipped)
        ));
    }
    if parts.is_empty() {
        return "The file holds no profiles, so nothing changed.".to_owned();
    }
    if !added.is_empty() || !renamed.is_empty() {
        parts.push(
            "A team file carries no secrets: where the list says missing, use Edit to store one."
                .to_owned(),
        );
    }
    parts.join(" ")
}

fn count(n: usize) -> String {
    match n {
        1 => "1 profile".to_owned(),
        n => format!("{n} profiles"),
    }
}

/// Whether a dropped file looks like JSON, by its name or its type.
fn is_json(name: &str, content_type: &str) -> bool {
    name.to_ascii_lowercase().ends_with(".json") || content_type.contains("json")
}

/// The bridge's suggested file name, as a plain file name: no folders, never empty.
fn download_name(suggested: &str) -> String {
    let name = suggested
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or_default()
        .trim();
    if name.is_empty() || name.starts_with('.') {
        "mailbridge-profiles.json".to_owned()
    } else {
        name.to_owned()
    }
}

fn unexpected() -> OperationError {
    OperationError::new(ErrorKind::Internal, "the bridge gave an unexpected answer")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(names: &[&str]) -> Vec<String> {
        names.iter().map(|name| (*name).to_owned()).collect()
    }

    #[test]
    fn an_import_says_what_it_did() {
        let cases = [
            (
                (
                    strings(&["Work Gmail"]),
                    vec![],
                    strings(&["Sandbox"]),
                    vec![],
                ),
                "Added 1 profile: “Work Gmail”. Skipped 1 profile, because a profile with the same name is already here: “Sandbox”. A team file carries no secrets: where the list says missing, use Edit to store one.",
            ),
            (
                (vec![], strings(&["A", "B"]), vec![], vec![]),
                "Replaced the settings of 2 profiles: “A”, “B”. Their stored secrets stay.",
            ),
            (
                (
                    vec![],
                    vec![],
                    vec![],
                    vec![("T".to_owned(), "T (2)".to_owned())],
                ),
                "Added 1 profile under a new name, because the name was taken: “T” as “T (2)”. A team file carries no secrets: where the list says missing, use Edit to store one.",
            ),
            (
                (vec![], vec![], vec![], vec![]),
                "The file holds no profiles, so nothing changed.",
            ),
        ];
        for ((added, overwritten, skipped, renamed), expected) in cases {
            assert_eq!(summary(&added, &overwritten, &skipped, &renamed), expected);
        }
    }

    #[test]
    fn conflict_options_are_serde_names() {
        let values: Vec<String> = CONFLICTS.iter().map(|(c, _)| serde_name(c)).collect();
        assert_eq!(values, ["skip", "overwrite", "keep_both"]);
    }

    #[test]
    fn downloads_get_plain_file_names() {
        let cases = [
            ("mailbridge-profiles.json", "mailbridge-profiles.json"),
            ("../../etc/x.json", "x.json"),
            ("a\\b.json", "b.json"),
            ("", "mailbridge-profiles.json"),
            ("dir/", "mailbridge-profiles.json"),
        ];
        for (suggested, expected) in cases {
            assert_eq!(download_name(suggested), expected, "{suggested:?}");
        }
    }

    #[test]
    fn only_json_files_are_taken_from_a_drop() {
        assert!(is_json("team.JSON", ""));
        assert!(is_json("export", "application/json"));
        assert!(!is_json("photo.png", "image/png"));
    }

    #[test]
    fn files_too_large_for_one_message_are_refused_here() {
        let small = Operation::ImportProfiles {
            json: "{}".into(),
            conflict: Conflict::Skip,
        };
        assert_eq!(too_large(&small), None);
        let big = Operation::ImportProfiles {
            json: "\"".repeat(MAX_FRAME_BYTES / 2),
            conflict: Conflict::Skip,
        };
        assert!(too_large(&big).is_some_and(|error| error.kind == ErrorKind::TooLarge));
    }
}
