//! The Mailboxes view (`#/mailboxes`): the receiving mailboxes that delivery is verified at,
//! each with whether its secret is stored (never the secret), how it signs in (its App
//! Password, or an OAuth profile's tokens when it is that account), a button that deletes it,
//! a form that adds one from a preset with its App Password rules in words, and the team
//! file's import and export (`io`).
//!
//! # Layout
//! - `io`: import and export of the team file.

mod io;

use profile::{ImapSecurity, MailboxAuth, MailboxPreset, ProfileId, ReceivingMailbox};
use protocol::{MailboxView, Operation, OperationError, Outcome, Secret, SecretState};
use web_sys::{HtmlInputElement, HtmlSelectElement};
use yew::prelude::*;

use crate::components::ErrorDetails;
use crate::hooks::use_bridge;
use crate::route::Route;
use crate::state::Loadable;

#[function_component]
pub fn MailboxesView() -> Html {
    let bridge = use_bridge();
    let mailboxes = use_state(Vec::<MailboxView>::new);
    let error = use_state(|| None::<OperationError>);
    let preset = use_state(|| MailboxPreset::Gmail);
    let id = use_node_ref();
    let username = use_node_ref();
    let host = use_node_ref();
    let secret = use_node_ref();
    let answered = {
        let mailboxes = mailboxes.clone();
        let error = error.clone();
        move |answer: Result<Outcome, OperationError>| match answer {
            Ok(Outcome::Mailboxes { mailboxes: list }) => {
                mailboxes.set(list);
                error.set(None);
            }
            Ok(_) => {}
            Err(refused) => error.set(Some(refused)),
        }
    };
    {
        let bridge = bridge.clone();
        let answered = answered.clone();
        use_effect_with(bridge.is_connected(), move |connected| {
            if *connected {
                let answer = bridge.call(Operation::ListMailboxes);
                wasm_bindgen_futures::spawn_local(async move { answered(answer.await) });
            }
        });
    }
    let on_preset = {
        let preset = preset.clone();
        Callback::from(move |event: Event| {
            let value = event.target_unchecked_into::<HtmlSelectElement>().value();
            if let Some(chosen) = MailboxPreset::ALL.into_iter().find(|p| p.label() == value) {
                preset.set(chosen);
            }
        })
    };
    // The profiles that sign in with OAuth: a mailbox that is one of their accounts reads its
    // IMAP with that profile's tokens.
    let oauth_profiles: Vec<(ProfileId, String)> = match &bridge.profiles {
        Loadable::Ready(profiles) => profiles
            .iter()
            .filter(|view| view.profile.auth == profile::AuthMethod::OAuth2)
            .map(|view| (view.profile.id.clone(), view.profile.name.clone()))
            .collect(),
        _ => Vec::new(),
    };
    let sign_in = {
        let bridge = bridge.clone();
        let answered = answered.clone();
        Callback::from(move |(mut mailbox, chosen): (ReceivingMailbox, String)| {
            if chosen.is_empty() {
                mailbox.oauth_profile = None;
                mailbox.auth = mailbox.preset.auth();
            } else {
                mailbox.oauth_profile = Some(ProfileId(chosen));
                mailbox.auth = MailboxAuth::OAuth2;
            }
            let answer = bridge.call(Operation::SaveMailbox { mailbox });
            let answered = answered.clone();
            wasm_bindgen_futures::spawn_local(async move { answered(answer.await) });
        })
    };
    let delete = {
        let bridge = bridge.clone();
        let answered = answered.clone();
        Callback::from(move |id: String| {
            let answer = bridge.call(Operation::DeleteMailbox { id });
            let answered = answered.clone();
            wasm_bindgen_futures::spawn_local(async move { answered(answer.await) });
        })
    };
    let on_answer = Callback::from(answered.clone());
    let save = {
        let bridge = bridge.clone();
        let preset = *preset;
        let (id, username, host, secret) =
            (id.clone(), username.clone(), host.clone(), secret.clone());
        Callback::from(move |event: SubmitEvent| {
            event.prevent_default();
            let value = |node: &NodeRef| {
                node.cast::<HtmlInputElement>()
                    .map(|input| input.value())
                    .unwrap_or_default()
            };
            let mailbox_id = value(&id).trim().to_owned();
            let mut mailbox = ReceivingMailbox::from_preset(
                preset,
                &mailbox_id,
                &mailbox_id,
                value(&username).trim(),
            );
            if preset == MailboxPreset::Custom {
                mailbox.host = value(&host).trim().to_owned();
            }
            let typed = value(&secret);
            let bridge = bridge.clone();
            let answered = answered.clone();
            let secret = secret.clone();
            wasm_bindgen_futures::spawn_local(async move {
                let saved = bridge.call(Operation::SaveMailbox { mailbox }).await;
                let answer = match saved {
                    Ok(_) if !typed.is_empty() => {
                        bridge
                            .call(Operation::SetMailboxSecret {
                                id: mailbox_id,
                                secret: Secret::new(typed),
                            })
                            .await
                    }
                    other => other,
                };
                // The secret leaves the page's memory once it is in the bridge.
                if let Some(input) = secret.cast::<HtmlInputElement>() {
                    input.set_value("");
                }
                answered(answer);
            });
        })
    };
    html! {
        <section aria-labelledby={Route::Mailboxes.heading_id()}>
            <h2 id={Route::Mailboxes.heading_id()} tabindex="-1">{ "Receiving mailboxes" }</h2>
            <p>{ "Where \"Send test and verify\" looks for a test over IMAP. Secrets stay in the bridge; a team file carries the definitions only." }</p>
            <table id="mailboxes-list">
                <thead><tr><th>{ "Name" }</th><th>{ "Server" }</th><th>{ "Username" }</th><th>{ "Signs in with" }</th><th>{ "Secret" }</th><th>{ "Actions" }</th></tr></thead>
                <tbody>
                    { for mailboxes.iter().map(|view| {
                        let m = &view.mailbox;
                        let security = match m.security { ImapSecurity::Tls => "TLS", ImapSecurity::StartTls => "STARTTLS" };
                        let secret = match view.secret {
                            SecretState::Stored => "stored",
                            SecretState::Missing => "missing",
                            SecretState::NotNeeded => "not needed",
                        };
                        let linked = m.oauth_profile.as_ref().map(|p| p.0.clone()).unwrap_or_default();
                        let select_id = format!("mailbox-signin-{}", m.id);
                        let on_sign_in = {
                            let (sign_in, mailbox) = (sign_in.clone(), m.clone());
                            Callback::from(move |event: Event| {
                                let chosen = event.target_unchecked_into::<HtmlSelectElement>().value();
                                sign_in.emit((mailbox.clone(), chosen));
                            })
                        };
                        let on_delete = {
                            let (delete, id) = (delete.clone(), m.id.clone());
                            Callback::from(move |_: MouseEvent| delete.emit(id.clone()))
                        };
                        html! {
                            <tr data-mailbox={m.id.clone()}>
                                <td>{ &m.name }</td>
                                <td>{ format!("{}:{} {security}", m.host, m.port) }</td>
                                <td>{ &m.username }</td>
                                <td>
                                    <label class="visually-hidden" for={select_id.clone()}>{ format!("How {} signs in", m.name) }</label>
                                    <select id={select_id} class="mailbox-signin" onchange={on_sign_in}>
                                        <option value="" selected={linked.is_empty()}>{ "App Password or pasted token" }</option>
                                        { for oauth_profiles.iter().map(|(id, name)| html! {
                                            <option value={id.0.clone()} selected={linked == id.0}>{ format!("OAuth tokens of profile {name}") }</option>
                                        }) }
                                    </select>
                                </td>
                                <td>{ secret }</td>
                                <td><button type="button" class="mailbox-delete" onclick={on_delete}>{ format!("Delete {}", m.name) }</button></td>
                            </tr>
                        }
                    }) }
                </tbody>
            </table>
            <form id="mailbox-form" onsubmit={save}>
                <h3>{ "Add a mailbox" }</h3>
                <div class="field">
                    <label for="mailbox-preset">{ "Provider" }</label>
                    <select id="mailbox-preset" onchange={on_preset}>
                        { for MailboxPreset::ALL.into_iter().filter(|p| *p != MailboxPreset::Sandbox).map(|p| html! {
                            <option value={p.label()} selected={p == *preset}>{ p.label() }</option>
                        }) }
                    </select>
                    <p id="mailbox-rules" class="hint">{ preset.rules() }</p>
                </div>
                <div class="field">
                    <label for="mailbox-id">{ "Name (letters, digits, - or _)" }</label>
                    <input id="mailbox-id" ref={id} required=true />
                </div>
                <div class="field">
                    <label for="mailbox-username">{ "Username (usually the whole address)" }</label>
                    <input id="mailbox-username" ref={username} required=true />
                </div>
                if *preset == MailboxPreset::Custom {
                    <div class="field">
                        <label for="mailbox-host">{ "IMAP host (port 993, TLS)" }</label>
                        <input id="mailbox-host" ref={host} />
                    </div>
                }
                <div class="field">
                    <label for="mailbox-secret">{ "App Password or token (kept in the bridge, never shown again)" }</label>
                    <input id="mailbox-secret" type="password" autocomplete="off" ref={secret} />
                </div>
                <button type="submit" class="primary" disabled={!bridge.is_connected()}>{ "Save the mailbox" }</button>
            </form>
            if let Some(error) = &*error {
                <div id="mailboxes-error" class="result failed"><ErrorDetails error={error.clone()} /></div>
            }
            <io::MailboxIo {on_answer} />
        </section>
    }
}
