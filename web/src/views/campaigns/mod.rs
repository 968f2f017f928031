//! The Campaigns view (`#/campaigns`): mail merge from a CSV list. The user picks a profile,
//! gives the list (picked or dropped; uploaded to the bridge in chunks as attachments are, its
//! header row read in the page), the address column and the templates,
//! checks the list (counts, problems by row, warnings, the plan across days), previews any row
//! and sends a test of it, then starts the campaign and follows it: progress, counts, rate,
//! time left, pause, resume, cancel and the results as CSV. The outbox's notices move the
//! counts; the campaigns are read again then, at most twice a second.
//!
//! # Layout
//! - `model`: the view's state and its reducer, plain Rust with native tests.
//! - `report`: the check's findings and a campaign's progress, as markup.
//! - `preview`: one row rendered: subject, HTML in a sandboxed iframe, text, raw MIME.

mod model;
mod preview;
mod report;

use std::rc::Rc;

use gloo::timers::callback::Timeout;
use protocol::{CampaignState, ErrorKind, Operation, OperationError, Outcome};
use wasm_bindgen::JsCast;
use web_sys::{File, HtmlAnchorElement, HtmlInputElement, HtmlSelectElement, HtmlTextAreaElement};
use yew::prelude::*;

use self::model::{Action, Ask, Field, FileStatus, Model, Upload, state_label};
use self::preview::RowPreviewPanel;
use crate::components::ErrorDetails;
use crate::format::{local_time, size};
use crate::hooks::{Bridge, use_bridge, use_file_drop};
use crate::object_url::ObjectUrl;
use crate::state::{Loadable, reload_wait_ms};

/// The start of the file read in the page for the header row; the rest only goes to the bridge.
const HEAD_BYTES: u64 = 64 * 1024;

/// The results file, ready to download. Replacing it revokes its `blob:` URL.
#[derive(Debug, PartialEq)]
struct Download {
    url: ObjectUrl,
    filename: String,
}

/// When the campaigns were last asked for, and the reload waiting to go.
#[derive(Default)]
struct Reload {
    loaded_at: Option<f64>,
    timer: Option<Timeout>,
}

#[function_component]
pub fn CampaignsView() -> Html {
    let bridge = use_bridge();
    let model = use_reducer(Model::default);
    let download = use_state(|| None::<Rc<Download>>);
    let link = use_node_ref();
    let reload = use_mut_ref(Reload::default);
    let connected = bridge.is_connected();
    // The list's upload, which the bridge holds for checks and previews until a campaign starts
    // with it: a list replaced, or left behind with the view, is discarded.
    let held = use_mut_ref(|| None::<u64>);
    *held.borrow_mut() = model.held_upload();
    use_effect_with(model.discard.clone(), {
        let bridge = bridge.clone();
        let dispatch = model.dispatcher();
        move |uploads: &Vec<u64>| {
            if !uploads.is_empty() {
                discard(&bridge, uploads);
                dispatch.dispatch(Action::Discarded(uploads.clone()));
            }
        }
    });
    use_effect_with((), {
        let bridge = bridge.clone();
        let held = held.clone();
        move |()| {
            move || {
                if let Some(upload) = held.borrow_mut().take() {
                    discard(&bridge, &[upload]);
                }
            }
        }
    });

    let profiles = match &bridge.profiles {
        Loadable::Ready(profiles) => profiles.as_slice(),
        _ => &[],
    };
    let selected = profiles
        .iter()
        .find(|view| view.profile.id.as_str() == model.profile)
        .or_else(|| profiles.first());
    let profile_id = selected.map(|view| view.profile.id.clone());

    let list: Rc<dyn Fn()> = {
        let bridge = bridge.clone();
        let model = model.dispatcher();
        let reload = reload.clone();
        Rc::new(move || {
            reload.borrow_mut().loaded_at = Some(js_sys::Date::now());
            let answer = bridge.call(Operation::ListCampaigns);
            let model = model.clone();
            wasm_bindgen_futures::spawn_local(async move {
                model.dispatch(Action::Listed(answer.await.and_then(
                    |outcome| match outcome {
                        Outcome::Campaigns { campaigns } => Ok(campaigns),
                        other => Err(unexpected(&other)),
                    },
                )));
            });
        })
    };
    use_effect_with(connected, {
        let list = list.clone();
        move |connected| {
            if *connected {
                list();
            }
        }
    });
    // The outbox's notices move its counts while a campaign sends; the campaigns follow,
    // throttled as the Outbox view is.
    let counts = bridge.outbox.summary.as_ref().map(|summary| summary.counts);
    use_effect_with(counts, {
        let list = list.clone();
        let reload = reload.clone();
        move |_| {
            let wait = {
                let reload = reload.borrow();
                (connected && reload.timer.is_none() && reload.loaded_at.is_some())
                    .then(|| reload_wait_ms(reload.loaded_at, js_sys::Date::now()))
            };
            match wait {
                None => {}
                Some(0) => list(),
                Some(wait) => {
                    let fired = reload.clone();
                    let timer = Timeout::new(wait, move || {
                        fired.borrow_mut().timer = None;
                        list();
                    });
                    reload.borrow_mut().timer = Some(timer);
                }
            }
        }
    });
    use_effect_with((), {
        let reload = reload.clone();
        move |()| move || drop(reload.borrow_mut().timer.take())
    });
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

    let edit = |field: Field| {
        let model = model.dispatcher();
        Callback::from(move |event: InputEvent| {
            let target = event.target();
            let input = target
                .as_ref()
                .and_then(|target| target.dyn_ref::<HtmlInputElement>());
            let value = match input {
                Some(input) => input.value(),
                None => match target
                    .as_ref()
                    .and_then(|target| target.dyn_ref::<HtmlTextAreaElement>())
                {
                    Some(textarea) => textarea.value(),
                    None => return,
                },
            };
            model.dispatch(Action::Edit(field, value));
        })
    };
    let choose = |field: Field| {
        let model = model.dispatcher();
        Callback::from(move |event: Event| {
            let value = event.target_unchecked_into::<HtmlSelectElement>().value();
            model.dispatch(Action::Edit(field, value));
        })
    };

    let check = {
        let bridge = bridge.clone();
        let dispatch = model.dispatcher();
        let profile = profile_id.clone();
        let seq = model.next_check();
        Callback::from(move |spec: protocol::CampaignSpec| {
            let Some(profile) = profile.clone() else {
                return;
            };
            dispatch.dispatch(Action::Checking(seq));
            let answer = bridge.call(Operation::CheckCampaign { profile, spec });
            let dispatch = dispatch.clone();
            wasm_bindgen_futures::spawn_local(async move {
                dispatch.dispatch(Action::Checked(
                    seq,
                    answer.await.and_then(|outcome| match outcome {
                        Outcome::CampaignChecked(check) => Ok(check),
                        other => Err(unexpected(&other)),
                    }),
                ));
            });
        })
    };
    let on_check = {
        let check = check.clone();
        let model = model.clone();
        Callback::from(move |_: MouseEvent| {
            if let Some(spec) = model.spec() {
                check.emit(spec);
            }
        })
    };
    let on_skip = {
        let check = check.clone();
        let model = model.clone();
        Callback::from(move |event: Event| {
            let skip = event.target_unchecked_into::<HtmlInputElement>().checked();
            model.dispatch(Action::SkipBadRows(skip));
            // Re-checked at once: skipping changes what would be queued and whether it may start.
            if let Some(mut spec) = model.spec() {
                spec.skip_bad_rows = skip;
                check.emit(spec);
            }
        })
    };

    let read = {
        let bridge = bridge.clone();
        let model = model.clone();
        Callback::from(move |file: File| {
            let name = file.name();
            let bytes = file.size() as u64;
            let key = model.next_file();
            model.dispatch(Action::Reading {
                key,
                name: name.clone(),
                size: bytes,
            });
            if model::refusal(&name, bytes).is_some() {
                return;
            }
            wasm_bindgen_futures::spawn_local(load(bridge.clone(), file, key, model.dispatcher()));
        })
    };
    let on_file = {
        let read = read.clone();
        Callback::from(move |event: Event| {
            let input = event.target_unchecked_into::<HtmlInputElement>();
            if let Some(file) = input.files().and_then(|files| files.get(0)) {
                read.emit(file);
            }
            // Choosing the same file again (after fixing it) must fire `change` again.
            input.set_value("");
        })
    };
    let drop = use_file_drop(Callback::from(move |files: Vec<File>| {
        if let Some(file) = files.into_iter().next() {
            read.emit(file);
        }
    }));

    let row = model.row();
    let on_preview = {
        let bridge = bridge.clone();
        let model = model.clone();
        let profile = profile_id.clone();
        Callback::from(move |_: MouseEvent| {
            let (Some(profile), Ok(row), Some(spec)) = (profile.clone(), model.row(), model.spec())
            else {
                return;
            };
            model.dispatch(Action::Previewing);
            let answer = bridge.call(Operation::PreviewCampaignRow { profile, spec, row });
            let dispatch = model.dispatcher();
            wasm_bindgen_futures::spawn_local(async move {
                dispatch.dispatch(Action::Previewed(answer.await.and_then(
                    |outcome| match outcome {
                        Outcome::CampaignRow(preview) => Ok(preview),
                        other => Err(unexpected(&other)),
                    },
                )));
            });
        })
    };
    let on_test = {
        let bridge = bridge.clone();
        let model = model.clone();
        let profile = profile_id.clone();
        let from = selected
            .map(|view| view.profile.from.to_string())
            .unwrap_or_default();
        Callback::from(move |_: MouseEvent| {
            let (Some(profile), Ok(row), Some(spec)) = (profile.clone(), model.row(), model.spec())
            else {
                return;
            };
            model.dispatch(Action::Testing);
            let answer = bridge.call(Operation::SendCampaignTest { profile, spec, row });
            let dispatch = model.dispatcher();
            let from = from.clone();
            wasm_bindgen_futures::spawn_local(async move {
                dispatch.dispatch(Action::Tested(answer.await.map(|outcome| match outcome {
                    Outcome::Sent(report) => format!(
                        "A test of row {row} went to {from}: Message-ID {}.",
                        report.message_id
                    ),
                    Outcome::Queued(_) | Outcome::Enqueued { .. } => {
                        format!("A test of row {row} is in the outbox, to go to {from}.")
                    }
                    _ => format!("A test of row {row} went to {from}."),
                })));
            });
        })
    };
    let on_start = {
        let bridge = bridge.clone();
        let model = model.clone();
        let profile = profile_id.clone();
        Callback::from(move |_: MouseEvent| {
            let (Some(profile), Some(spec)) = (profile.clone(), model.spec()) else {
                return;
            };
            model.dispatch(Action::Starting);
            let answer = bridge.call(Operation::StartCampaign { profile, spec });
            let dispatch = model.dispatcher();
            wasm_bindgen_futures::spawn_local(async move {
                dispatch.dispatch(Action::Started(answer.await.and_then(
                    |outcome| match outcome {
                        Outcome::Campaign(view) => Ok(view),
                        other => Err(unexpected(&other)),
                    },
                )));
            });
        })
    };
    let confirm = |yes: bool| {
        let model = model.dispatcher();
        Callback::from(move |_: MouseEvent| model.dispatch(Action::Confirm(yes)))
    };
    let act = {
        let bridge = bridge.clone();
        let dispatch = model.dispatcher();
        let download = download.clone();
        Callback::from(move |operation: Operation| {
            dispatch.dispatch(Action::Acting);
            let answer = bridge.call(operation);
            let dispatch = dispatch.clone();
            let download = download.clone();
            wasm_bindgen_futures::spawn_local(async move {
                dispatch.dispatch(match answer.await {
                    Ok(Outcome::Campaign(view)) => Action::Changed(Ok(view)),
                    Ok(Outcome::CampaignResults { csv, filename }) => {
                        let filename = plain_name(&filename);
                        match ObjectUrl::new(csv.as_bytes(), "text/csv") {
                            Some(url) => {
                                download.set(Some(Rc::new(Download {
                                    url,
                                    filename: filename.clone(),
                                })));
                                Action::Acted(Ok(format!("The results are in {filename}.")))
                            }
                            None => Action::Acted(Err(OperationError::new(
                                ErrorKind::Internal,
                                "the browser could not make the file",
                            ))),
                        }
                    }
                    Ok(other) => Action::Acted(Err(unexpected(&other))),
                    Err(error) => Action::Acted(Err(error)),
                });
            });
        })
    };

    // The form.
    let profile_select = if profiles.is_empty() {
        html! { <select id="campaign-profile" disabled={true}><option>{ "No profiles yet" }</option></select> }
    } else {
        html! {
            <select id="campaign-profile" onchange={choose(Field::Profile)}>
                { for profiles.iter().map(|view| {
                    let id = view.profile.id.as_str().to_owned();
                    let is_selected = Some(&view.profile.id) == profile_id.as_ref();
                    html! {
                        <option key={id.clone()} value={id} selected={is_selected}>
                            { format!("{} ({})", view.profile.name, view.profile.from) }
                        </option>
                    }
                }) }
            </select>
        }
    };
    let file_status = match (&model.file_status, &model.file) {
        (FileStatus::Reading(name), _) => {
            html! { <p class="busy">{ "Reading " }{ name }{ "…" }</p> }
        }
        (FileStatus::Refused(why), _) => {
            html! { <p id="campaign-file-error" class="result failed" role="alert">{ why }</p> }
        }
        (FileStatus::None, Some(file)) => match &file.state {
            Upload::Uploading { sent } => html! {
                <p id="campaign-file" class="busy" data-state="uploading">
                    { "Uploading " }<strong>{ &file.name }</strong>{ format!("… {} of {}", size(*sent), size(file.size)) }
                    <progress max={file.size.max(1).to_string()} value={sent.to_string()}
                        aria-label={format!("Upload of {}", file.name)} />
                </p>
            },
            Upload::Failed(why) => html! {
                <p id="campaign-file-error" class="result failed" role="alert">
                    { format!("{} did not upload. {why} Choose it again.", file.name) }
                </p>
            },
            Upload::Uploaded | Upload::Spent => html! {
                <p id="campaign-file" data-state="uploaded">{ "Loaded " }<strong>{ &file.name }</strong>{ format!(" ({})", size(file.size)) }</p>
            },
        },
        (FileStatus::None, None) => html! {},
    };
    let columns = model.columns();
    let textarea = |id: &'static str,
                    label: &'static str,
                    field: Field,
                    value: &str,
                    rows: &'static str| {
        html! {
            <div class="field">
                <label for={id}>{ label }</label>
                <textarea id={id} class="code" rows={rows} value={value.to_owned()} oninput={edit(field)}
                    aria-describedby="campaign-template-hint" />
            </div>
        }
    };
    let input = |id: &'static str,
                 label: &'static str,
                 field: Field,
                 value: &str,
                 hint: Option<&'static str>| {
        let hint_id = format!("{id}-hint");
        html! {
            <div class="field">
                <label for={id}>{ label }</label>
                <input id={id} type="text" value={value.to_owned()} oninput={edit(field)}
                    aria-describedby={hint.map(|_| hint_id.clone())} />
                if let Some(hint) = hint {
                    <p id={hint_id} class="hint">{ hint }</p>
                }
            </div>
        }
    };
    let can_ask = connected && profile_id.is_some() && model.spec().is_some();

    let check_result = match &model.check {
        Ask::Idle => html! {},
        Ask::Busy => html! { <p class="busy">{ "Checking the list…" }</p> },
        Ask::Failed(error) => {
            html! { <div class="result failed"><ErrorDetails error={error.clone()} /></div> }
        }
        Ask::Done(check) => report::check(check),
    };
    let preview = match &model.preview {
        Ask::Idle => html! {},
        Ask::Busy => html! { <p class="busy">{ "Rendering the row…" }</p> },
        Ask::Failed(error) => {
            html! { <div class="result failed"><ErrorDetails error={error.clone()} /></div> }
        }
        Ask::Done(preview) => {
            html! { <RowPreviewPanel key={preview.row} preview={preview.clone()} /> }
        }
    };
    let test = match &model.test {
        Ask::Idle => html! {},
        Ask::Busy => html! { <p class="busy">{ "Sending the test…" }</p> },
        Ask::Failed(error) => {
            html! { <div class="result failed"><ErrorDetails error={error.clone()} /></div> }
        }
        Ask::Done(words) => html! { <p>{ words }</p> },
    };
    let blocked = model.start_blocked();
    let confirm_box = match (&model.check, model.confirming) {
        (Ask::Done(check), true) => html! {
            <div id="campaign-confirm" class="confirm" role="alertdialog" aria-labelledby="campaign-confirm-words">
                <p id="campaign-confirm-words">
                    { format!("Queue {} messages with {}? ", check.valid, selected.map(|view| view.profile.name.as_str()).unwrap_or("this profile")) }
                    { &check.schedule_summary }
                </p>
                if let Some(blockers) = check.first_row_lint.as_ref().map(|lint| lint.blockers()).filter(|n| *n > 0) {
                    <p id="campaign-confirm-blockers" class="bad"><strong>{ format!(
                        "The checks found {blockers} blocker{} in the first row (see above): Gmail will likely refuse or block these messages.",
                        if blockers == 1 { "" } else { "s" }
                    ) }</strong></p>
                }
                <button type="button" id="campaign-confirm-start" class="primary" onclick={on_start}>{ "Yes, start the campaign" }</button>
                <button type="button" id="campaign-confirm-cancel" onclick={confirm(false)}>{ "Not yet" }</button>
            </div>
        },
        _ => html! {},
    };
    let start_status = match &model.start {
        Ask::Failed(error) => {
            html! { <div class="result failed"><ErrorDetails error={error.clone()} /></div> }
        }
        Ask::Busy => html! { <p class="busy">{ "Starting the campaign…" }</p> },
        _ => html! {},
    };

    // The campaign in full, and the earlier ones.
    let shown = model.shown().map(|campaign| {
        let id = campaign.id;
        let button = |label: &'static str, button_id: &'static str, operation: Operation| {
            let act = act.clone();
            html! {
                <button type="button" id={button_id} disabled={!connected || model.acted.is_busy()}
                    onclick={Callback::from(move |_: MouseEvent| act.emit(operation.clone()))}>{ label }</button>
            }
        };
        html! {
            <section id="campaign-running" class="panel" aria-labelledby="campaign-running-heading">
                <h3 id="campaign-running-heading">{ &campaign.name }{ " (" }{ state_label(campaign.state) }{ ")" }</h3>
                { report::progress_of(campaign) }
                <div class="actions">
                    if campaign.state == CampaignState::Running {
                        { button("Pause", "campaign-pause", Operation::PauseCampaign { id }) }
                    }
                    if campaign.state == CampaignState::Paused {
                        { button("Resume", "campaign-resume", Operation::ResumeCampaign { id }) }
                    }
                    if matches!(campaign.state, CampaignState::Running | CampaignState::Paused) {
                        { button("Cancel what is not sent", "campaign-cancel", Operation::CancelCampaign { id }) }
                    }
                    { button("Export results (CSV)", "campaign-export", Operation::ExportCampaignResults { id }) }
                </div>
            </section>
        }
    });
    let acted = match &model.acted {
        Ask::Idle | Ask::Busy => html! {},
        Ask::Done(words) => html! { <p>{ words }</p> },
        Ask::Failed(error) => {
            html! { <div class="result failed"><ErrorDetails error={error.clone()} /></div> }
        }
    };
    let earlier = match &model.campaigns {
        Ask::Idle | Ask::Busy => html! { <p class="quiet">{ "Loading the campaigns…" }</p> },
        Ask::Failed(error) => html! { <ErrorDetails error={error.clone()} /> },
        Ask::Done(campaigns) if campaigns.is_empty() => {
            html! { <p class="quiet">{ "No campaign yet." }</p> }
        }
        Ask::Done(campaigns) => html! {
            <table id="campaign-list" class="campaign-table">
                <thead><tr>
                    <th scope="col">{ "Campaign" }</th><th scope="col">{ "Started" }</th>
                    <th scope="col">{ "State" }</th><th scope="col">{ "Sent" }</th><th scope="col"><span class="visually-hidden">{ "Open" }</span></th>
                </tr></thead>
                <tbody>
                    { for campaigns.iter().map(|campaign| {
                        let id = campaign.id;
                        let show = {
                            let model = model.dispatcher();
                            Callback::from(move |_: MouseEvent| model.dispatch(Action::Show(id)))
                        };
                        html! {
                            <tr key={id} data-campaign={id.to_string()} data-state={state_label(campaign.state)}>
                                <td>{ &campaign.name }</td>
                                <td>{ local_time(campaign.created_unix_ms) }</td>
                                <td>{ state_label(campaign.state) }</td>
                                <td>{ campaign.counts.sent }{ " of " }{ campaign.total }</td>
                                <td><button type="button" onclick={show}>{ "Show " }{ &campaign.name }</button></td>
                            </tr>
                        }
                    }) }
                </tbody>
            </table>
        },
    };

    html! {
        <div class="campaigns-view">
            <div class="layout">
                <section id="campaigns" class="panel" aria-labelledby="campaigns-heading">
                    <h2 id="campaigns-heading" tabindex="-1">{ "Campaigns" }</h2>
                    <p class="hint">{ "One message per row of a CSV list, queued in the outbox, which keeps to the account's daily limit." }</p>
                    <div class="field">
                        <label for="campaign-profile">{ "Send with profile" }</label>
                        { profile_select }
                    </div>
                    { input("campaign-name", "Campaign name", Field::Name, &model.name, Some("Shown in the list of campaigns and in the List-Id header.")) }
                    <div class={classes!("field", "drop-zone", drop.dragging.then_some("dragging"))}
                        ondragover={drop.ondragover} ondragleave={drop.ondragleave} ondrop={drop.ondrop}>
                        <label for="campaign-csv">{ "The list (CSV with a header row)" }</label>
                        <input id="campaign-csv" type="file" accept=".csv,text/csv,text/plain" onchange={on_file}
                            aria-describedby="campaign-csv-hint" />
                        <p id="campaign-csv-hint" class="hint">{ "Or drop the file here. Up to 20 MB; commas or semicolons; UTF-8." }</p>
                    </div>
                    <div aria-live="polite">{ file_status }</div>
                    if model.file.is_some() {
                        <div class="field">
                            <label for="campaign-address-column">{ "Address column" }</label>
                            <select id="campaign-address-column" onchange={choose(Field::AddressColumn)}>
                                { for columns.iter().map(|column| html! {
                                    <option key={column.clone()} value={column.clone()} selected={*column == model.address_column}>{ column }</option>
                                }) }
                            </select>
                        </div>
                        { input("campaign-subject", "Subject template", Field::Subject, &model.subject, None) }
                        { textarea("campaign-text", "Text template", Field::Text, &model.text, "6") }
                        { textarea("campaign-html", "HTML template", Field::Html, &model.html, "6") }
                        <p id="campaign-template-hint" class="hint">
                            { "Write " }<code>{ "{{ name }}" }</code>{ " for a row's value in the column “name”; every column is a variable. " }
                            <code>{ "{{ unsubscribe_url }}" }</code>{ " puts the recipient's unsubscribe link in the body. The HTML escapes values; the subject and text do not. A value missing from a row is reported by row, never sent empty." }
                        </p>
                        { input("campaign-unsubscribe-url", "One-click unsubscribe URL", Field::UnsubscribeUrl, &model.unsubscribe_url,
                            Some("https, with {token} where the recipient's signed token goes: https://example.com/unsubscribe/{token}. Google asks bulk senders for it.")) }
                        { input("campaign-unsubscribe-mailto", "Unsubscribe mailto address", Field::UnsubscribeMailto, &model.unsubscribe_mailto, Some("Besides or instead of the URL.")) }
                        <div class="field checkbox">
                            <input id="campaign-skip" type="checkbox" checked={model.skip_bad_rows} onchange={on_skip} />
                            <label for="campaign-skip">{ "Skip the bad rows" }</label>
                        </div>
                        <div class="actions">
                            <button type="button" id="campaign-check-button" class="primary" onclick={on_check}
                                disabled={!can_ask || model.check.is_busy()}>{ "Check the list" }</button>
                        </div>
                    }
                    <div id="campaign-check-result" class="result-region" aria-live="polite">{ check_result }</div>
                </section>
                <section id="campaign-preview-section" class="panel" aria-labelledby="campaign-preview-heading">
                    <h3 id="campaign-preview-heading">{ "Preview and start" }</h3>
                    <div class="field">
                        <label for="campaign-row">{ "Row number" }</label>
                        <input id="campaign-row" type="number" min="1" value={model.row.clone()} oninput={edit(Field::Row)}
                            aria-describedby="campaign-row-hint" />
                        <p id="campaign-row-hint" class="hint">{ match &row { Ok(_) => "1 is the first row after the header.".to_owned(), Err(why) => why.clone() } }</p>
                    </div>
                    <div class="actions">
                        <button type="button" id="campaign-preview-button" onclick={on_preview}
                            disabled={!can_ask || row.is_err() || model.preview.is_busy()}>
                            { format!("Preview row {}", row.as_ref().map_or(String::new(), u64::to_string)) }
                        </button>
                        <button type="button" id="campaign-test-button" onclick={on_test}
                            disabled={!can_ask || row.is_err() || model.test.is_busy()}>
                            { format!("Send a test of row {} to myself", row.as_ref().map_or(String::new(), u64::to_string)) }
                        </button>
                    </div>
                    <div id="campaign-test-result" class="result-region" aria-live="polite">{ test }</div>
                    <div id="campaign-preview-result" aria-live="polite">{ preview }</div>
                    <h4>{ "Start" }</h4>
                    <div class="actions">
                        <button type="button" id="campaign-start" class="primary" onclick={confirm(true)}
                            disabled={!connected || blocked.is_some() || model.confirming}
                            aria-describedby="campaign-start-hint">{ "Start campaign" }</button>
                    </div>
                    <p id="campaign-start-hint" class="hint">{ blocked.unwrap_or("Nothing is sent until you confirm.") }</p>
                    <div id="campaign-start-result" class="result-region" aria-live="polite">{ confirm_box }{ start_status }</div>
                </section>
            </div>
            <div class="layout single">
                { for shown }
                <div id="campaign-action-status" class="result-region" aria-live="polite">{ acted }</div>
                if let Some(download) = &*download {
                    <p>
                        <a id="campaign-export-link" ref={link} href={download.url.as_str().to_owned()}
                            download={download.filename.clone()}>{ format!("Download {}", download.filename) }</a>
                    </p>
                }
                <section class="panel" aria-labelledby="campaign-list-heading">
                    <h3 id="campaign-list-heading">{ "Campaigns" }</h3>
                    { earlier }
                </section>
            </div>
        </div>
    }
}

/// Reads the header row of the list, then sends the list to the bridge (see `crate::upload`),
/// so a 20 MB list never sits in the page whole.
async fn load(bridge: Bridge, file: File, key: u64, dispatch: UseReducerDispatcher<Model>) {
    let name = file.name();
    let size_bytes = file.size() as u64;
    let unreadable = format!(
        "The browser could not read {name}. Choose the file again; if it is on a network drive, copy it to this computer first."
    );
    let head = match crate::upload::read(&file, 0, size_bytes.min(HEAD_BYTES), &unreadable).await {
        Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
        Err(why) => return dispatch.dispatch(Action::Unreadable(why)),
    };
    dispatch.dispatch(Action::Loaded {
        key,
        name,
        size: size_bytes,
        head,
    });
    let sent = crate::upload::send_file(
        &bridge,
        &file,
        "text/csv".to_owned(),
        &unreadable,
        |upload| dispatch.dispatch(Action::UploadStarted { key, upload }),
        |sent| dispatch.dispatch(Action::UploadProgress { key, sent }),
    )
    .await;
    match sent {
        Ok(_) => dispatch.dispatch(Action::Uploaded { key }),
        Err(why) => dispatch.dispatch(Action::UploadFailed { key, why }),
    }
}

/// Tells the bridge to let go of these uploads; nothing to show either way, as the page has
/// already forgotten them.
fn discard(bridge: &Bridge, uploads: &[u64]) {
    for &upload in uploads {
        let answer = bridge.call(Operation::DiscardUpload { upload });
        wasm_bindgen_futures::spawn_local(async move {
            let _ = answer.await;
        });
    }
}

// Not the outcome's `Debug`: printing every protocol type would weigh on the download.
fn unexpected(_: &Outcome) -> OperationError {
    OperationError::new(ErrorKind::Internal, "the bridge gave an unexpected answer")
}

/// A suggested download name without folders.
fn plain_name(suggested: &str) -> String {
    let name = suggested
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or_default()
        .trim();
    if name.is_empty() || name.starts_with('.') {
        "campaign-results.csv".to_owned()
    } else {
        name.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::plain_name;

    #[test]
    fn downloads_get_plain_file_names() {
        let cases = [
            ("campaign-3-results.csv", "campaign-3-results.csv"),
            ("../../etc/x.csv", "x.csv"),
            ("a\\b.csv", "b.csv"),
            ("", "campaign-results.csv"),
            (".hidden", "campaign-results.csv"),
        ];
        for (suggested, expected) in cases {
            assert_eq!(plain_name(suggested), expected, "{suggested:?}");
        }
    }
}
