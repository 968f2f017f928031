use profile::{Header, check_header_name, check_header_text, parse_list};
use std::rc::Rc;

use profile::ProfileId;
use protocol::{Draft, LintReport, Operation, OperationError, Outcome, ProfileView, SecretState};
use wasm_bindgen::JsCast;
use web_sys::{HtmlInputElement, HtmlSelectElement, HtmlTextAreaElement};
use yew::prelude::*;

use super::attachments::{
    AttachmentAction, AttachmentPicker, Attachments, discard, use_attachments,
};
use super::chips::{Addresses, ChipInput};
use super::preview::Preview;
use super::send_result::SendResult;
use crate::components::{ErrorDetails, LintReportView};
use crate::draft::{BodyFormat, SavedDraft};
use crate::hooks::use_bridge;
use crate::state::{Loadable, Run, sentence};

/// The message form: profile, To/Cc/Bcc chips, Reply-To, subject, text and HTML bodies,
/// attachments and extra headers, with a preview, "Send" and "Send a test to myself".
/// Addresses and headers are checked with the bridge's own rules as they are typed, and the
/// draft saves itself in this browser as it changes.
#[function_component]
pub fn Compose() -> Html {
    let bridge = use_bridge();
    let form = use_state(SavedDraft::load);
    let attachments = use_attachments();
    let form_error = use_state(|| None::<String>);
    let lint = use_state(|| Lint::Idle);
    let check_links = use_state(|| false);
    // Send was pressed on a draft whose check found a blocker: it asks again.
    let confirm = use_state(|| false);
    // "Verify at": a receiving mailbox (its id) where the send is then looked for; "" is none.
    let verify_at = use_state(String::new);
    let mailboxes = use_state(Vec::<protocol::MailboxView>::new);
    {
        let bridge = bridge.clone();
        let mailboxes = mailboxes.clone();
        use_effect_with(bridge.is_connected(), move |connected| {
            if *connected {
                let answer = bridge.call(Operation::ListMailboxes);
                wasm_bindgen_futures::spawn_local(async move {
                    if let Ok(Outcome::Mailboxes { mailboxes: list }) = answer.await {
                        mailboxes.set(list);
                    }
                });
            }
        });
    }

    use_effect_with((*form).clone(), |draft| draft.save());

    let profiles: &[ProfileView] = match &bridge.profiles {
        Loadable::Ready(profiles) => profiles,
        _ => &[],
    };
    let selected = form
        .profile
        .as_ref()
        .and_then(|id| profiles.iter().find(|view| view.profile.id.as_str() == id))
        .or_else(|| profiles.first());
    let selected_id = selected.map(|view| view.profile.id.clone());
    let run = bridge.run.as_ref();
    let running = run.is_some_and(Run::is_running);
    let uploading = attachments.uploading();
    let can_send = bridge.is_connected() && selected.is_some() && !running;
    let draft = selected_id
        .clone()
        .ok_or_else(|| "Choose a profile first.".to_owned())
        .and_then(|profile| Ok((profile, build(&form, &attachments)?)));

    // A send that went, or waits in the outbox, empties the attachments: the bridge has let go
    // of their bytes.
    let sent_id = run
        .filter(|run| run.sent().is_some() || run.queued().is_some())
        .map(|run| run.id);
    use_effect_with(sent_id, {
        let attachments = attachments.clone();
        move |sent| {
            if sent.is_some() {
                attachments.dispatch(AttachmentAction::Clear);
            }
        }
    });

    let send_anyway = {
        let bridge = bridge.clone();
        let form_error = form_error.clone();
        let draft = draft.clone();
        let confirm = confirm.clone();
        let verify_at = (*verify_at).clone();
        Callback::from(move |()| match draft.clone() {
            Ok((profile, draft)) => {
                form_error.set(None);
                confirm.set(false);
                if verify_at.is_empty() {
                    bridge.request(Operation::Send { profile, draft });
                } else {
                    bridge.request(Operation::SendVerifyingAt {
                        profile,
                        draft,
                        mailbox: verify_at.clone(),
                        limit_seconds: None,
                    });
                }
            }
            Err(problem) => form_error.set(Some(problem)),
        })
    };
    // The question was about the draft Send was pressed on. Without this, a draft changed
    // while it is open and checked again would ask to send anyway before Send is pressed.
    use_effect_with(draft.clone(), {
        let confirm = confirm.clone();
        move |_| {
            if *confirm {
                confirm.set(false);
            }
        }
    });
    // The last check's blockers keep Send asking even after an edit: the edit may not have
    // fixed them, and only a new check can say.
    let (blockers, stale) = match (&*lint, &draft) {
        (Lint::Done { checked, report }, current) => {
            (report.blockers(), current.as_ref().ok() != Some(checked))
        }
        _ => (0, false),
    };
    let send = {
        let confirm = confirm.clone();
        let send_anyway = send_anyway.clone();
        Callback::from(move |()| {
            if blockers > 0 {
                confirm.set(true);
            } else {
                send_anyway.emit(());
            }
        })
    };
    let run_lint = {
        let bridge = bridge.clone();
        let form_error = form_error.clone();
        let draft = draft.clone();
        let lint = lint.clone();
        let check_links = *check_links;
        Callback::from(move |_: MouseEvent| {
            let Ok((profile, checked)) = draft.clone() else {
                if let Err(problem) = &draft {
                    form_error.set(Some(problem.clone()));
                }
                return;
            };
            form_error.set(None);
            lint.set(Lint::Running);
            let answer = bridge.call(Operation::Lint {
                profile: profile.clone(),
                draft: checked.clone(),
                check_links,
            });
            let lint = lint.clone();
            wasm_bindgen_futures::spawn_local(async move {
                lint.set(match answer.await {
                    Ok(Outcome::Linted(report)) => Lint::Done {
                        checked: (profile, checked),
                        report: Rc::new(*report),
                    },
                    Ok(_) => Lint::Failed(OperationError::new(
                        protocol::ErrorKind::Internal,
                        "the bridge gave an unexpected answer",
                    )),
                    Err(error) => Lint::Failed(error),
                });
            });
        })
    };
    let on_links = {
        let check_links = check_links.clone();
        Callback::from(move |event: Event| {
            check_links.set(event.target_unchecked_into::<HtmlInputElement>().checked());
        })
    };
    let send_test = {
        let bridge = bridge.clone();
        let form_error = form_error.clone();
        let profile = selected_id.clone();
        Callback::from(move |_: MouseEvent| {
            if let Some(profile) = profile.clone() {
                form_error.set(None);
                bridge.request(Operation::SendTest { profile });
            }
        })
    };
    let onkeydown = {
        let send = send.clone();
        Callback::from(move |event: KeyboardEvent| {
            if event.key() == "Enter" && (event.ctrl_key() || event.meta_key()) {
                event.prevent_default();
                if can_send {
                    send.emit(());
                }
            }
        })
    };
    let onsubmit = Callback::from(|event: SubmitEvent| event.prevent_default());

    // One setter per field: it copies the draft, changes the field, and stores the copy.
    let update = |change: fn(&mut SavedDraft, String)| {
        let form = form.clone();
        move |value: String| {
            let mut next = (*form).clone();
            change(&mut next, value);
            form.set(next);
        }
    };
    let input = |change: fn(&mut SavedDraft, String)| {
        let update = update(change);
        Callback::from(move |event: InputEvent| {
            let target = event.target_unchecked_into::<web_sys::HtmlElement>();
            let value = match target.dyn_into::<HtmlInputElement>() {
                Ok(input) => input.value(),
                Err(other) => other.unchecked_into::<HtmlTextAreaElement>().value(),
            };
            update(value);
        })
    };
    let on_profile = {
        let update = update(|draft, value| draft.profile = Some(value));
        Callback::from(move |event: Event| {
            update(event.target_unchecked_into::<HtmlSelectElement>().value());
        })
    };
    let on_format = {
        let form = form.clone();
        Callback::from(move |event: Event| {
            let mut next = (*form).clone();
            next.format = match event
                .target_unchecked_into::<HtmlSelectElement>()
                .value()
                .as_str()
            {
                "html" => BodyFormat::Html,
                "both" => BodyFormat::Both,
                _ => BodyFormat::Text,
            };
            form.set(next);
        })
    };
    let chips = |field: fn(&mut SavedDraft) -> &mut Addresses| {
        let form = form.clone();
        Callback::from(move |addresses: Addresses| {
            let mut next = (*form).clone();
            *field(&mut next) = addresses;
            form.set(next);
        })
    };
    let clear = {
        let form = form.clone();
        let attachments = attachments.clone();
        let form_error = form_error.clone();
        let bridge = bridge.clone();
        Callback::from(move |_: MouseEvent| {
            discard(&bridge, &attachments.files);
            let profile = form.profile.clone();
            form.set(SavedDraft {
                profile,
                ..SavedDraft::default()
            });
            attachments.dispatch(AttachmentAction::Clear);
            form_error.set(None);
        })
    };

    let profile_select = match &bridge.profiles {
        Loadable::Ready(_) if !profiles.is_empty() => html! {
            <select id="compose-profile" onchange={on_profile} aria-describedby="compose-profile-hint">
                { for profiles.iter().map(|view| {
                    let id = view.profile.id.as_str().to_owned();
                    let is_selected = Some(&view.profile.id) == selected_id.as_ref();
                    html! {
                        <option key={id.clone()} value={id} selected={is_selected}>
                            { format!("{} ({})", view.profile.name, view.profile.from) }
                        </option>
                    }
                }) }
            </select>
        },
        Loadable::Ready(_) => html! {
            <select id="compose-profile" disabled={true}><option>{ "No profiles yet" }</option></select>
        },
        Loadable::Failed(_) => html! {
            <select id="compose-profile" disabled={true}><option>{ "Profiles could not be loaded" }</option></select>
        },
        Loadable::Idle | Loadable::Loading => html! {
            <select id="compose-profile" disabled={true}><option>{ "Loading profiles…" }</option></select>
        },
    };
    let profile_hint = match selected {
        Some(view) if view.secret == SecretState::Missing => format!(
            "{} has no secret stored yet, so the server will refuse the sign-in. Store it under Profiles → Edit.",
            view.profile.name
        ),
        Some(view) => format!(
            "Sends through {}:{} as {}.",
            view.profile.host, view.profile.port, view.profile.from
        ),
        None => String::new(),
    };
    let send_label = match run {
        Some(run) if run.is_running() && !run.is_test() && !run.is_check() => "Sending…",
        _ => "Send message",
    };
    let test_label = match run {
        Some(run) if run.is_running() && run.is_test() => "Sending the test…",
        _ => "Send a test to myself",
    };
    let why_disabled = if !bridge.is_connected() {
        "Sending waits for the connection to the bridge."
    } else if selected.is_none() {
        "Sending needs a profile."
    } else if running {
        "Wait for the current operation to finish."
    } else if uploading {
        "Attachments are still uploading."
    } else {
        ""
    };
    let reply_to_error = single_address_error(&form.reply_to);
    let format = form.format;
    let (uploaded, upload_total) = attachments.progress();

    html! {
        <section class="panel" aria-labelledby="compose-heading">
            <h2 id="compose-heading" tabindex="-1">{ "Compose" }</h2>
            <form class="compose" {onsubmit} {onkeydown}>
                <div class="field">
                    <label for="compose-profile">{ "Send with profile" }</label>
                    { profile_select }
                    <p id="compose-profile-hint" class="hint">{ profile_hint }</p>
                </div>
                <ChipInput id="compose-to" label="To" value={form.to.clone()}
                    onchange={chips(|draft| &mut draft.to)}
                    hint="Type an address and press Enter or a comma, as in ann@example.com or Bob <bob@example.com>." />
                <ChipInput id="compose-cc" label="Cc" value={form.cc.clone()}
                    onchange={chips(|draft| &mut draft.cc)} />
                <ChipInput id="compose-bcc" label="Bcc" value={form.bcc.clone()}
                    onchange={chips(|draft| &mut draft.bcc)}
                    hint="Bcc recipients get the message but appear in no header." />
                <div class={classes!("field", reply_to_error.is_some().then_some("invalid"))}>
                    <label for="compose-reply-to">{ "Reply-To" }</label>
                    <input id="compose-reply-to" type="text" inputmode="email" spellcheck="false"
                        value={form.reply_to.clone()} oninput={input(|draft, value| draft.reply_to = value)}
                        aria-invalid={reply_to_error.is_some().to_string()}
                        aria-describedby="compose-reply-to-error" />
                    <p id="compose-reply-to-error" class="field-error" aria-live="polite">
                        { reply_to_error.unwrap_or_default() }
                    </p>
                </div>
                <div class="field">
                    <label for="compose-subject">{ "Subject" }</label>
                    <input id="compose-subject" type="text" value={form.subject.clone()}
                        oninput={input(|draft, value| draft.subject = value)} />
                </div>
                <div class="field">
                    <label for="compose-format">{ "Format" }</label>
                    <select id="compose-format" onchange={on_format}>
                        <option value="text" selected={format == BodyFormat::Text}>{ "Plain text" }</option>
                        <option value="html" selected={format == BodyFormat::Html}>{ "HTML" }</option>
                        <option value="both" selected={format == BodyFormat::Both}>{ "Both (plain text and HTML)" }</option>
                    </select>
                </div>
                if format.has_text() {
                    <div class="field">
                        <label for="compose-text">{ "Message (plain text)" }</label>
                        <textarea id="compose-text" rows="8" value={form.text.clone()}
                            oninput={input(|draft, value| draft.text = value)} />
                    </div>
                }
                if format.has_html() {
                    <div class="field">
                        <label for="compose-html">{ "Message (HTML)" }</label>
                        <textarea id="compose-html" class="code" rows="8" spellcheck="false"
                            value={form.html.clone()} oninput={input(|draft, value| draft.html = value)} />
                    </div>
                }
                <AttachmentPicker attachments={attachments.clone()} />
                <HeadersEditor headers={form.headers.clone()} onchange={{
                    let form = form.clone();
                    Callback::from(move |headers: Vec<Header>| {
                        let mut next = (*form).clone();
                        next.headers = headers;
                        form.set(next);
                    })
                }} />
                <details class="preview-box">
                    <summary>{ "Preview: HTML and raw MIME" }</summary>
                    <Preview html={if format.has_html() { form.html.clone() } else { String::new() }}
                        draft={draft.clone()} />
                </details>
                <div class="actions">
                    <button type="button" id="compose-send" class="primary"
                        disabled={!can_send || uploading}
                        aria-keyshortcuts="Control+Enter"
                        onclick={send.reform(|_: MouseEvent| ())}>{ send_label }</button>
                    <label for="compose-verify-at">{ "Verify at" }</label>
                    <select id="compose-verify-at" onchange={{
                        let verify_at = verify_at.clone();
                        Callback::from(move |event: Event| {
                            verify_at.set(event.target_unchecked_into::<HtmlSelectElement>().value());
                        })
                    }}>
                        <option value="" selected={verify_at.is_empty()}>{ "No mailbox (send only)" }</option>
                        { for mailboxes.iter().map(|view| {
                            let id = view.mailbox.id.clone();
                            html! {
                                <option value={id.clone()} selected={*verify_at == id}>
                                    { format!("{} ({})", view.mailbox.name, view.mailbox.username) }
                                </option>
                            }
                        }) }
                    </select>
                    <button type="button" id="compose-send-test" disabled={!can_send} onclick={send_test}>{ test_label }</button>
                    <button type="button" id="compose-lint" disabled={!bridge.is_connected() || selected.is_none() || matches!(*lint, Lint::Running)}
                        onclick={run_lint}>{ if matches!(*lint, Lint::Running) { "Checking…" } else { "Check before sending" } }</button>
                    <button type="button" onclick={clear}>{ "Clear the draft" }</button>
                    <p class="hint">{ "Ctrl+Enter (⌘+Enter on a Mac) sends the message. The draft is kept in this browser, without its attachments. " }{ why_disabled }</p>
                </div>
                if uploading {
                    <label class="progress-label">{ "Uploading attachments" }
                        <progress id="compose-progress" max={upload_total.max(1).to_string()} value={uploaded.to_string()} />
                    </label>
                } else if running && !run.is_some_and(Run::is_check) {
                    <label class="progress-label">{ "Sending" }
                        <progress id="compose-progress" />
                    </label>
                }
                <div class="field checkbox">
                    <input id="compose-lint-links" type="checkbox" checked={*check_links} onchange={on_links} />
                    <label for="compose-lint-links">{ "The check also requests each link once (HEAD; never loopback or private addresses)" }</label>
                </div>
                if *confirm && blockers > 0 {
                    <div id="compose-confirm" class="confirm-send" role="alertdialog" aria-labelledby="compose-confirm-text">
                        <p id="compose-confirm-text"><strong>{ format!(
                            "The check found {blockers} blocker{}{}: Gmail will likely refuse or block this message. Send it anyway?",
                            if blockers == 1 { "" } else { "s" },
                            if stale { " before the last edit (check again to see whether it fixed them)" } else { "" }
                        ) }</strong></p>
                        <button type="button" id="compose-send-anyway" onclick={send_anyway.reform(|_: MouseEvent| ())}>{ "Send anyway" }</button>
                        <button type="button" id="compose-send-cancel" onclick={{
                            let confirm = confirm.clone();
                            Callback::from(move |_: MouseEvent| confirm.set(false))
                        }}>{ "Don't send; fix it first" }</button>
                    </div>
                }
                <p class="form-error" role="alert">{ (*form_error).clone().unwrap_or_default() }</p>
            </form>
            { match &*lint {
                Lint::Idle => html! {},
                Lint::Running => html! { <p class="busy" id="lint-busy">{ "Checking the message: format, size, attachments, sender rules, HTML, links, spam score and DNS…" }</p> },
                Lint::Failed(error) => html! { <div id="lint-report"><ErrorDetails error={error.clone()} /></div> },
                Lint::Done { checked, report } => html! {
                    <LintReportView id="lint-report" report={report.clone()}
                        stale={draft.as_ref().ok() != Some(checked)} />
                },
            } }
            <SendResult />
            <super::verify::VerifyPanel profile={selected_id.clone()}
                draft={draft.as_ref().ok().map(|(_, draft)| draft.clone())} />
        </section>
    }
}

/// The checks before sending, as the compose form last ran them.
#[derive(Clone, PartialEq)]
enum Lint {
    Idle,
    Running,
    /// What was checked (a later edit makes the report stale) and what the checks found.
    Done {
        checked: (ProfileId, Draft),
        report: Rc<LintReport>,
    },
    Failed(OperationError),
}

/// What is wrong with a single optional address (Reply-To), or `None` when it is fine.
fn single_address_error(text: &str) -> Option<String> {
    match parse_list(text) {
        Err(error) => Some(error.to_string()),
        Ok(list) if list.len() > 1 => Some("Reply-To takes one address here.".to_owned()),
        Ok(_) => None,
    }
}

/// The draft for a send, or what stops it, in words.
fn build(form: &SavedDraft, attachments: &Attachments) -> Result<Draft, String> {
    let (Ok(to), Ok(cc), Ok(bcc)) = (form.to.all(), form.cc.all(), form.bcc.all()) else {
        return Err("Fix the addresses marked above first.".into());
    };
    if to.is_empty() && cc.is_empty() && bcc.is_empty() {
        return Err("Add at least one recipient in To, Cc or Bcc.".into());
    }
    if single_address_error(&form.reply_to).is_some() {
        return Err("Fix the Reply-To address first.".into());
    }
    if let Some(problem) = header_problems(&form.headers).into_iter().flatten().next() {
        return Err(format!("Fix the extra headers first: {problem}"));
    }
    let reply_to = parse_list(&form.reply_to)
        .ok()
        .and_then(|list| list.first().map(ToString::to_string));
    Ok(Draft {
        to,
        cc,
        bcc,
        reply_to,
        subject: form.subject.clone(),
        text: form.format.has_text().then(|| form.text.clone()),
        html: form.format.has_html().then(|| form.html.clone()),
        attachments: attachments.refs()?,
        headers: form.headers.clone(),
    })
}

/// What is wrong with each extra header, by row, in the profile crate's words.
fn header_problems(headers: &[Header]) -> Vec<Option<String>> {
    headers
        .iter()
        .enumerate()
        .map(|(index, header)| {
            let path = format!("headers[{index}]");
            check_header_name(&format!("{path}.name"), &header.name)
                .or_else(|| check_header_text(&format!("{path}.value"), &header.value))
                .map(|problem| format!("{} {}", sentence(&problem.message), sentence(&problem.fix)))
        })
        .collect()
}

#[derive(Properties, PartialEq)]
struct HeadersEditorProps {
    headers: Vec<Header>,
    onchange: Callback<Vec<Header>>,
}

/// Extra header fields (`X-Campaign: q3`), one row each, checked as typed.
#[function_component]
fn HeadersEditor(props: &HeadersEditorProps) -> Html {
    let problems = header_problems(&props.headers);
    let edit = |index: usize, name: bool| {
        let headers = props.headers.clone();
        let onchange = props.onchange.clone();
        Callback::from(move |event: InputEvent| {
            let value = event.target_unchecked_into::<HtmlInputElement>().value();
            let mut next = headers.clone();
            if let Some(header) = next.get_mut(index) {
                if name {
                    header.name = value;
                } else {
                    header.value = value;
                }
            }
            onchange.emit(next);
        })
    };
    let add = {
        let headers = props.headers.clone();
        let onchange = props.onchange.clone();
        Callback::from(move |_: MouseEvent| {
            let mut next = headers.clone();
            next.push(Header {
                name: String::new(),
                value: String::new(),
            });
            onchange.emit(next);
        })
    };
    html! {
        <fieldset class="headers-editor">
            <legend>{ "Extra headers" }</legend>
            { for props.headers.iter().enumerate().map(|(index, header)| {
                let remove = {
                    let headers = props.headers.clone();
                    let onchange = props.onchange.clone();
                    Callback::from(move |_: MouseEvent| {
                        let mut next = headers.clone();
                        next.remove(index);
                        onchange.emit(next);
                    })
                };
                let problem = problems.get(index).cloned().flatten();
                let name_id = format!("compose-header-{index}-name");
                let value_id = format!("compose-header-{index}-value");
                let error_id = format!("compose-header-{index}-error");
                html! {
                    <div class={classes!("header-row", problem.is_some().then_some("invalid"))} key={index}>
                        <label for={name_id.clone()}>{ format!("Header {} name", index + 1) }</label>
                        <input id={name_id} type="text" spellcheck="false" value={header.name.clone()}
                            placeholder="X-Campaign" oninput={edit(index, true)} aria-describedby={error_id.clone()} />
                        <label for={value_id.clone()}>{ "value" }</label>
                        <input id={value_id} type="text" value={header.value.clone()}
                            oninput={edit(index, false)} aria-describedby={error_id.clone()} />
                        <button type="button" onclick={remove}>{ format!("Remove header {}", index + 1) }</button>
                        <p id={error_id} class="field-error" aria-live="polite">{ problem.unwrap_or_default() }</p>
                    </div>
                }
            }) }
            <button type="button" onclick={add}>{ "Add a header" }</button>
        </fieldset>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(to: &str) -> SavedDraft {
        SavedDraft {
            to: Addresses {
                chips: vec![],
                typing: to.into(),
            },
            subject: "Hi".into(),
            text: "text".into(),
            html: "<p>html</p>".into(),
            ..SavedDraft::default()
        }
    }

    #[test]
    fn a_draft_needs_a_recipient_and_good_addresses() {
        let none = Attachments::default();
        assert_eq!(
            build(&form(""), &none),
            Err("Add at least one recipient in To, Cc or Bcc.".into())
        );
        assert_eq!(
            build(&form("bob@"), &none),
            Err("Fix the addresses marked above first.".into())
        );
        let mut with_bcc = form("Bob <bob@example.com>");
        with_bcc.bcc.chips.push("c@example.com".into());
        with_bcc.reply_to = "replies@example.com".into();
        let draft = build(&with_bcc, &none).unwrap_or_default();
        assert_eq!(draft.to, ["Bob <bob@example.com>"]);
        assert_eq!(draft.bcc, ["c@example.com"]);
        assert_eq!(draft.reply_to.as_deref(), Some("replies@example.com"));
        // Only the chosen format's parts go out.
        assert_eq!(draft.text.as_deref(), Some("text"));
        assert_eq!(draft.html, None);
    }

    #[test]
    fn reply_to_and_headers_are_checked() {
        let none = Attachments::default();
        let mut bad = form("bob@example.com");
        bad.reply_to = "a@example.com, b@example.com".into();
        assert!(build(&bad, &none).is_err());
        let mut injected = form("bob@example.com");
        injected.headers.push(Header {
            name: "X-Note".into(),
            value: "hi\r\nBcc: evil@example.com".into(),
        });
        let error = build(&injected, &none).err().unwrap_or_default();
        assert!(error.contains("line break"), "{error}");
        let problems = header_problems(&[Header {
            name: "Bad Name".into(),
            value: "v".into(),
        }]);
        assert!(problems[0].is_some());
    }
}
