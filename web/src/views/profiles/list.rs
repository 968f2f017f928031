use profile::{AuthMethod, Preset, ProfileId};
use protocol::{Operation, OperationError, ProfileView, SecretState};
use web_sys::HtmlElement;
use yew::prelude::*;

use super::editor::{ProfileEditor, Start};
use super::io::ProfileIo;
use crate::components::ErrorDetails;
use crate::components::forms::{capitalised, focus_by_id, on_serde_choice, serde_name};
use crate::hooks::use_bridge;
use crate::state::Loadable;

/// The editor while it is open; a new `key` starts it afresh.
#[derive(Debug, Clone, PartialEq)]
struct Session {
    key: u32,
    start: Start,
}

/// The sending profiles the bridge knows: whether each has its secret, and buttons to edit,
/// check and delete it. New profiles start from a preset; the team file comes in and goes out
/// below the list.
#[function_component]
pub fn ProfileList() -> Html {
    let bridge = use_bridge();
    let preset = use_state(|| Preset::Gmail587);
    let session = use_state(|| None::<Session>);
    let opened = use_mut_ref(|| 0_u32);
    let deleted = use_state(|| None::<String>);

    let open = {
        let session = session.clone();
        let deleted = deleted.clone();
        Callback::from(move |start: Start| {
            let key = {
                let mut opened = opened.borrow_mut();
                *opened += 1;
                *opened
            };
            deleted.set(None);
            session.set(Some(Session { key, start }));
        })
    };
    let on_close = {
        let session = session.clone();
        let current = (*session).clone();
        Callback::from(move |()| {
            session.set(None);
            // Back to where the editor was opened from.
            match current.as_ref().map(|session| &session.start) {
                Some(Start::Existing(id)) => focus_row_button(id, "profile-edit"),
                _ => focus_by_id("profile-new"),
            }
        })
    };
    let on_preset = on_serde_choice(&preset);
    let on_new = {
        let open = open.clone();
        let preset = *preset;
        Callback::from(move |_: MouseEvent| open.emit(Start::New(preset)))
    };
    let on_edit = open.reform(Start::Existing);
    let on_deleted = {
        let deleted = deleted.clone();
        Callback::from(move |name: String| {
            deleted.set(Some(format!("Deleted “{name}” and its stored secret.")));
            // The row that had focus is gone; the list's heading takes it.
            focus_by_id("profiles-heading");
        })
    };
    let running = bridge.run.as_ref().is_some_and(|run| run.is_running());
    let editing = match session.as_ref().map(|session| &session.start) {
        Some(Start::Existing(id)) => Some(id.clone()),
        _ => None,
    };

    let ready = matches!(bridge.profiles, Loadable::Ready(_));
    let list = match &bridge.profiles {
        Loadable::Idle | Loadable::Loading => {
            html! { <p class="quiet">{ "Loading profiles…" }</p> }
        }
        Loadable::Failed(error) => html! { <ErrorDetails error={error.clone()} /> },
        Loadable::Ready(profiles) if profiles.is_empty() => html! {
            <p class="quiet">{ "No profiles yet. Make one from a preset above, or import a team file below." }</p>
        },
        Loadable::Ready(profiles) => html! {
            <div class="table-scroll">
                <table class="profile-table" role="table">
                    <caption class="visually-hidden">{ "Sending profiles" }</caption>
                    <thead role="rowgroup">
                        <tr role="row">
                            <th scope="col" role="columnheader">{ "Name" }</th>
                            <th scope="col" role="columnheader">{ "From" }</th>
                            <th scope="col" role="columnheader">{ "Server" }</th>
                            <th scope="col" role="columnheader">{ "Sign-in" }</th>
                            <th scope="col" role="columnheader">{ "Secret" }</th>
                            <th scope="col" role="columnheader"><span class="visually-hidden">{ "Actions" }</span></th>
                        </tr>
                    </thead>
                    <tbody role="rowgroup">
                        { for profiles.iter().map(|view| html! {
                            <ProfileRow key={view.profile.id.as_str().to_owned()} view={view.clone()}
                                on_edit={on_edit.clone()} on_deleted={on_deleted.clone()}
                                editing={editing.as_ref() == Some(&view.profile.id)} {running} />
                        }) }
                    </tbody>
                </table>
            </div>
        },
    };
    html! {
        <section id="profiles" class="panel profiles-panel" aria-labelledby="profiles-heading">
            <h2 id="profiles-heading" tabindex="-1">{ "Profiles" }</h2>
            if ready {
                <div class="new-profile">
                    <div class="field">
                        <label for="profile-new-preset">{ "Preset for a new profile" }</label>
                        <select id="profile-new-preset" onchange={on_preset}>
                            { for Preset::all().iter().map(|option| html! {
                                <option value={serde_name(option)} selected={*option == *preset}>{ option.label() }</option>
                            }) }
                        </select>
                    </div>
                    <button type="button" id="profile-new" onclick={on_new}>{ "New profile from this preset" }</button>
                </div>
            }
            if let Some(session) = &*session {
                <ProfileEditor key={session.key} start={session.start.clone()} {on_close} />
            }
            <p class="hint profiles-status" aria-live="polite">{ (*deleted).clone().unwrap_or_default() }</p>
            { list }
            <ProfileIo />
        </section>
    }
}

#[derive(Properties, PartialEq)]
struct ProfileRowProps {
    view: ProfileView,
    on_edit: Callback<ProfileId>,
    /// Called with the profile's name once the bridge has deleted it.
    on_deleted: Callback<String>,
    /// The editor is open on this profile.
    editing: bool,
    /// A check or send is running; another would replace it on the page.
    running: bool,
}

/// One profile. "Delete…" asks first, in the row itself.
#[function_component]
fn ProfileRow(props: &ProfileRowProps) -> Html {
    let bridge = use_bridge();
    let confirming = use_state(|| false);
    let deleting = use_state(|| false);
    let error = use_state(|| None::<OperationError>);
    let delete_ref = use_node_ref();
    let cancel_ref = use_node_ref();
    let mounted = use_mut_ref(|| false);
    // Focus goes into the question when it opens and back to "Delete…" when it closes.
    use_effect_with(*confirming, {
        let delete_ref = delete_ref.clone();
        let cancel_ref = cancel_ref.clone();
        move |confirming| {
            if std::mem::replace(&mut *mounted.borrow_mut(), true) {
                let target = if *confirming { cancel_ref } else { delete_ref };
                if let Some(button) = target.cast::<HtmlElement>() {
                    let _ = button.focus();
                }
            }
        }
    });

    let view = &props.view;
    let profile = &view.profile;
    let id = profile.id.clone();
    let name = profile.name.clone();
    let edit = {
        let id = id.clone();
        props.on_edit.reform(move |_: MouseEvent| id.clone())
    };
    let check = {
        let bridge = bridge.clone();
        let id = id.clone();
        Callback::from(move |_: MouseEvent| {
            bridge.request(Operation::CheckConnection {
                profile: id.clone(),
            });
            focus_by_id("check-report-heading");
        })
    };
    let ask = {
        let confirming = confirming.clone();
        let error = error.clone();
        Callback::from(move |_: MouseEvent| {
            error.set(None);
            confirming.set(true);
        })
    };
    let cancel = {
        let confirming = confirming.clone();
        Callback::from(move |_: MouseEvent| confirming.set(false))
    };
    let delete = {
        let bridge = bridge.clone();
        let confirming = confirming.clone();
        let deleting = deleting.clone();
        let error = error.clone();
        let on_deleted = props.on_deleted.clone();
        let id = id.clone();
        let name = name.clone();
        Callback::from(move |_: MouseEvent| {
            if *deleting {
                return;
            }
            deleting.set(true);
            let answer = bridge.call(Operation::DeleteProfile {
                profile: id.clone(),
            });
            let confirming = confirming.clone();
            let deleting = deleting.clone();
            let error = error.clone();
            let on_deleted = on_deleted.clone();
            let name = name.clone();
            wasm_bindgen_futures::spawn_local(async move {
                let result = answer.await;
                deleting.set(false);
                match result {
                    // The reducer removes the row.
                    Ok(_) => on_deleted.emit(name),
                    Err(failure) => {
                        confirming.set(false);
                        error.set(Some(failure));
                    }
                }
            });
        })
    };
    let (secret_class, secret) = match view.secret {
        SecretState::Stored => ("ok", "stored"),
        SecretState::Missing => ("bad", "missing"),
        SecretState::NotNeeded => ("quiet", "not needed"),
    };
    html! {
        <tr role="row" data-profile-id={id.as_str().to_owned()}
            class={classes!(props.editing.then_some("editing"), confirming.then_some("confirming"))}>
            <th scope="row" role="rowheader" class="profile-name">
                <span class="name">{ &profile.name }</span>
                if view.secret == SecretState::Missing {
                    <span class="sub warn">{ "No secret stored yet: use Edit to store it." }</span>
                }
                { for view.warnings.iter().map(|warning| html! { <span class="sub warn">{ warning }</span> }) }
            </th>
            <td role="cell" class="profile-from" data-label="From">{ profile.from.to_string() }</td>
            <td role="cell" class="profile-server" data-label="Server">
                { format!("{}:{}", profile.host, profile.port) }
                <span class="sub">{ capitalised(profile.security.label()) }</span>
            </td>
            <td role="cell" class="profile-auth" data-label="Sign-in">
                { capitalised(profile.auth.label()) }
                if profile.auth != AuthMethod::None {
                    <span class="sub">{ &profile.username }</span>
                }
            </td>
            if let Some(token) = &view.token {
                <td role="cell" class={classes!("secret", "token", token_class(token.state))} data-label="Secret">
                    { format!("token: {}", token.state.title()) }
                </td>
            } else {
                <td role="cell" class={classes!("secret", secret_class)} data-label="Secret">{ secret }</td>
            }
            <td role="cell" class="profile-actions">
                if *confirming {
                    <div class="confirm" role="group" aria-label={format!("Delete {name}?")}>
                        <p>{ format!("Delete “{name}” and its stored secret? This cannot be undone.") }</p>
                        <div class="actions">
                            <button type="button" class="profile-delete-confirm danger" onclick={delete}
                                disabled={*deleting}>{ format!("Delete {name}") }</button>
                            <button type="button" class="profile-delete-cancel" ref={cancel_ref} onclick={cancel}
                                disabled={*deleting}>{ "Cancel" }</button>
                        </div>
                    </div>
                } else {
                    <div class="actions">
                        <button type="button" class="profile-edit" onclick={edit}>
                            { "Edit" }<span class="visually-hidden">{ format!(" {name}") }</span>
                        </button>
                        <button type="button" class="profile-check" onclick={check} disabled={props.running}>
                            { "Check connection" }<span class="visually-hidden">{ format!(" of {name}") }</span>
                        </button>
                        <button type="button" class="profile-delete" ref={delete_ref} onclick={ask}>
                            { "Delete" }<span class="visually-hidden">{ format!(" {name}") }</span>{ "…" }
                        </button>
                    </div>
                }
                if let Some(error) = &*error {
                    <div class="result failed" aria-live="polite">
                        <ErrorDetails error={error.clone()} />
                    </div>
                }
            </td>
        </tr>
    }
}

fn token_class(state: protocol::TokenState) -> &'static str {
    match state {
        protocol::TokenState::Healthy | protocol::TokenState::Refreshing => "ok",
        protocol::TokenState::NetworkTrouble => "quiet",
        _ => "bad",
    }
}

/// Focuses a button in a profile's row, found by the row's `data-profile-id`.
fn focus_row_button(id: &ProfileId, class: &str) {
    let button = web_sys::window()
        .and_then(|window| window.document())
        .and_then(|document| {
            document
                .query_selector(&row_selector(id, class))
                .ok()
                .flatten()
        })
        .and_then(|element| wasm_bindgen::JsCast::dyn_into::<HtmlElement>(element).ok());
    if let Some(button) = button {
        let _ = button.focus();
    }
}

/// A CSS selector for `.class` inside the row of `id`. Ids may hold quotes or backslashes (a
/// team file can name them), which a CSS string escapes with a backslash.
fn row_selector(id: &ProfileId, class: &str) -> String {
    let quoted = id.as_str().replace('\\', "\\\\").replace('"', "\\\"");
    format!("tr[data-profile-id=\"{quoted}\"] .{class}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn row_selectors_quote_the_id() {
        let cases = [
            (
                "work-gmail",
                r#"tr[data-profile-id="work-gmail"] .profile-edit"#,
            ),
            (r#"a"b\c"#, r#"tr[data-profile-id="a\"b\\c"] .profile-edit"#),
        ];
        for (id, expected) in cases {
            assert_eq!(
                row_selector(&ProfileId(id.into()), "profile-edit"),
                expected
            );
        }
    }

    #[test]
    fn new_profile_options_are_the_presets_serde_names() {
        let values: Vec<String> = Preset::all().iter().map(serde_name).collect();
        assert_eq!(
            values,
            [
                "gmail587",
                "gmail465",
                "workspace_relay",
                "sandbox",
                "custom"
            ]
        );
    }
}
