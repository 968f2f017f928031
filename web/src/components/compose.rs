use profile::{ProfileId, parse_list};
use protocol::{Draft, Operation, ProfileView, SecretState};
use web_sys::{HtmlInputElement, HtmlSelectElement, HtmlTextAreaElement};
use yew::prelude::*;

use super::address_field::AddressField;
use super::send_result::SendResult;
use crate::hooks::use_bridge;
use crate::state::{Loadable, SendRun};

/// The message form: profile, recipients, subject and text, with "Send" and "Send a test to
/// myself". Addresses are checked with the bridge's own parser as they are typed.
#[function_component]
pub fn Compose() -> Html {
    let bridge = use_bridge();
    let chosen = use_state(|| None::<ProfileId>);
    let to = use_state(String::new);
    let cc = use_state(String::new);
    let bcc = use_state(String::new);
    let subject = use_state(String::new);
    let body = use_state(String::new);
    let form_error = use_state(|| None::<String>);

    let profiles: &[ProfileView] = match &bridge.profiles {
        Loadable::Ready(profiles) => profiles,
        _ => &[],
    };
    let selected = chosen
        .as_ref()
        .and_then(|id| profiles.iter().find(|view| &view.profile.id == id))
        .or_else(|| profiles.first());
    let selected_id = selected.map(|view| view.profile.id.clone());
    let running = bridge.send.as_ref().is_some_and(SendRun::is_running);
    let can_send = bridge.is_connected() && selected.is_some() && !running;

    let send = {
        let bridge = bridge.clone();
        let form_error = form_error.clone();
        let (to, cc, bcc) = ((*to).clone(), (*cc).clone(), (*bcc).clone());
        let (subject, body) = ((*subject).clone(), (*body).clone());
        let profile = selected_id.clone();
        Callback::from(move |()| {
            let Some(profile) = profile.clone() else {
                form_error.set(Some("Choose a profile to send with first.".into()));
                return;
            };
            match draft(&to, &cc, &bcc, &subject, &body) {
                Ok(draft) => {
                    form_error.set(None);
                    bridge.request(Operation::Send { profile, draft });
                }
                Err(problem) => form_error.set(Some(problem)),
            }
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
    let on_profile = {
        let chosen = chosen.clone();
        Callback::from(move |event: Event| {
            let value = event.target_unchecked_into::<HtmlSelectElement>().value();
            chosen.set(Some(ProfileId(value)));
        })
    };
    let set_text = |state: &UseStateHandle<String>| {
        let state = state.clone();
        Callback::from(move |text: String| state.set(text))
    };
    let on_subject = {
        let subject = subject.clone();
        Callback::from(move |event: InputEvent| {
            subject.set(event.target_unchecked_into::<HtmlInputElement>().value());
        })
    };
    let on_body = {
        let body = body.clone();
        Callback::from(move |event: InputEvent| {
            body.set(event.target_unchecked_into::<HtmlTextAreaElement>().value());
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
            "This profile has no secret stored yet, so the server will refuse the sign-in. Store it with `mailbridge secret set {}`.",
            view.profile.name
        ),
        Some(view) => format!(
            "Sends through {}:{} as {}.",
            view.profile.host, view.profile.port, view.profile.from
        ),
        None => String::new(),
    };
    let send_label = match &bridge.send {
        Some(run) if run.is_running() && !run.is_test() => "Sending…",
        _ => "Send message",
    };
    let test_label = match &bridge.send {
        Some(run) if run.is_running() && run.is_test() => "Sending the test…",
        _ => "Send a test to myself",
    };
    let why_disabled = if !bridge.is_connected() {
        "Sending waits for the connection to the bridge."
    } else if selected.is_none() {
        "Sending needs a profile."
    } else if running {
        "Wait for the current send to finish."
    } else {
        ""
    };

    html! {
        <section class="panel" aria-labelledby="compose-heading">
            <h2 id="compose-heading">{ "Compose" }</h2>
            <form class="compose" {onsubmit} {onkeydown}>
                <div class="field">
                    <label for="compose-profile">{ "Send with profile" }</label>
                    { profile_select }
                    <p id="compose-profile-hint" class="hint">{ profile_hint }</p>
                </div>
                <AddressField id="compose-to" label="To" value={(*to).clone()}
                    oninput={set_text(&to)} error={address_error(&to)}
                    hint="Separate addresses with commas, as in ann@example.com, Bob <bob@example.com>" />
                <AddressField id="compose-cc" label="Cc" value={(*cc).clone()}
                    oninput={set_text(&cc)} error={address_error(&cc)} />
                <AddressField id="compose-bcc" label="Bcc" value={(*bcc).clone()}
                    oninput={set_text(&bcc)} error={address_error(&bcc)}
                    hint="Bcc recipients get the message but appear in no header." />
                <div class="field">
                    <label for="compose-subject">{ "Subject" }</label>
                    <input id="compose-subject" type="text" value={(*subject).clone()} oninput={on_subject} />
                </div>
                <div class="field">
                    <label for="compose-body">{ "Message (plain text)" }</label>
                    <textarea id="compose-body" rows="8" value={(*body).clone()} oninput={on_body} />
                </div>
                <div class="actions">
                    <button type="button" class="primary" disabled={!can_send}
                        aria-keyshortcuts="Control+Enter"
                        onclick={send.reform(|_: MouseEvent| ())}>{ send_label }</button>
                    <button type="button" disabled={!can_send} onclick={send_test}>{ test_label }</button>
                    <p class="hint">{ "Ctrl+Enter (⌘+Enter on a Mac) sends the message. " }{ why_disabled }</p>
                </div>
                <p class="form-error" role="alert">{ (*form_error).clone().unwrap_or_default() }</p>
            </form>
            <SendResult />
        </section>
    }
}

/// What is wrong with a comma-separated address list, or `None` when it parses (or is empty).
fn address_error(text: &str) -> Option<String> {
    parse_list(text).err().map(|error| error.to_string())
}

/// The addresses of a comma-separated list in the form the bridge parses back unchanged.
fn addresses(text: &str) -> Result<Vec<String>, String> {
    parse_list(text)
        .map(|list| list.iter().map(ToString::to_string).collect())
        .map_err(|error| error.to_string())
}

/// The draft for a send, or what stops it, in words.
fn draft(to: &str, cc: &str, bcc: &str, subject: &str, body: &str) -> Result<Draft, String> {
    let (Ok(to), Ok(cc), Ok(bcc)) = (addresses(to), addresses(cc), addresses(bcc)) else {
        return Err("Fix the addresses marked above first.".into());
    };
    if to.is_empty() && cc.is_empty() && bcc.is_empty() {
        return Err("Add at least one recipient in To, Cc or Bcc.".into());
    }
    Ok(Draft {
        to,
        cc,
        bcc,
        subject: subject.to_owned(),
        text: Some(body.to_owned()),
        ..Draft::default()
    })
}

#[cfg(test)]
mod tests {
    use super::{address_error, draft};

    #[test]
    fn addresses_are_checked_as_typed() {
        assert_eq!(address_error(""), None);
        assert_eq!(
            address_error("ann@example.com, \"Doe, John\" <j@example.com>"),
            None
        );
        let error = address_error("ann@example.com, bob@").unwrap_or_default();
        assert!(error.contains("address 2"), "{error}");
        assert!(error.contains("after the '@'"), "{error}");
    }

    #[test]
    fn a_draft_needs_a_recipient_and_good_addresses() {
        assert_eq!(
            draft("", "", "", "Hi", "text"),
            Err("Add at least one recipient in To, Cc or Bcc.".into())
        );
        assert_eq!(
            draft("bob@", "", "", "Hi", "text"),
            Err("Fix the addresses marked above first.".into())
        );
        let draft =
            draft("Bob <bob@example.com>", "", "c@example.com", "Hi", "text").unwrap_or_default();
        assert_eq!(draft.to, ["Bob <bob@example.com>"]);
        assert_eq!(draft.bcc, ["c@example.com"]);
        assert_eq!(draft.text.as_deref(), Some("text"));
    }
}
