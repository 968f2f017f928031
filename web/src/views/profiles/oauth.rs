//! A saved OAuth2 profile's Google account: its OAuth client (Google's `client_secret.json`,
//! picked or dropped, or the ID and secret typed in), "Connect Google account", and the token's
//! health. Secrets go to the bridge and are never shown again.

use profile::OAuthMechanism;
use protocol::{
    ErrorKind, OAuthClientInput, Operation, OperationError, ProfileView, Secret, TokenHealthView,
    TokenState,
};
use wasm_bindgen_futures::JsFuture;
use web_sys::{File, HtmlInputElement, Window};
use yew::prelude::*;

use crate::components::ErrorDetails;
use crate::hooks::{files, use_bridge, use_file_drop};

#[derive(Properties, PartialEq)]
pub struct OAuthPanelProps {
    pub view: ProfileView,
}

#[function_component]
pub fn OAuthPanel(props: &OAuthPanelProps) -> Html {
    let bridge = use_bridge();
    let busy = use_state(|| false);
    let status = use_state(|| None::<Result<String, OperationError>>);
    let id_ref = use_node_ref();
    let secret_ref = use_node_ref();
    // The tab opened at the click, before the bridge has the URL: a tab opened later, when the
    // URL arrives, would be a pop-up that browsers block.
    let tab = use_mut_ref(|| None::<Window>);
    let profile = props.view.profile.id.clone();

    // Points the waiting tab at the consent URL once the bridge sends it.
    let consent = bridge.consent.clone();
    use_effect_with(consent.clone(), {
        let tab = tab.clone();
        move |consent| {
            if let Some((_, url)) = consent
                && let Some(tab) = tab.borrow_mut().take()
            {
                let _ = tab.location().set_href(url);
            }
        }
    });

    let finish = {
        let busy = busy.clone();
        let status = status.clone();
        move |result: Result<String, OperationError>| {
            busy.set(false);
            status.set(Some(result));
        }
    };
    let set_client = {
        let bridge = bridge.clone();
        let busy = busy.clone();
        let finish = finish.clone();
        let profile = profile.clone();
        Callback::from(move |client: OAuthClientInput| {
            busy.set(true);
            let answer = bridge.call(Operation::SetOAuthClient {
                profile: profile.clone(),
                client,
            });
            let finish = finish.clone();
            wasm_bindgen_futures::spawn_local(async move {
                finish(answer.await.map(|_| {
                    "Saved the OAuth client; its secret is in the bridge's secret store. Connect \
                     the account next."
                        .to_owned()
                }));
            });
        })
    };
    let on_files = {
        let set_client = set_client.clone();
        let finish = finish.clone();
        Callback::from(move |files: Vec<File>| {
            let Some(file) = files.into_iter().next() else {
                return;
            };
            let set_client = set_client.clone();
            let finish = finish.clone();
            wasm_bindgen_futures::spawn_local(async move {
                match JsFuture::from(file.text())
                    .await
                    .ok()
                    .and_then(|t| t.as_string())
                {
                    Some(json) => set_client.emit(OAuthClientInput::File {
                        json: Secret::new(json),
                    }),
                    None => finish(Err(OperationError::new(
                        ErrorKind::Invalid,
                        format!("{} could not be read as text", file.name()),
                    )
                    .with_fix("Pick the client_secret.json that Google Cloud downloaded."))),
                }
            });
        })
    };
    let drop = use_file_drop(on_files.clone());
    let on_pick = on_files
        .reform(|event: Event| files(event.target_unchecked_into::<HtmlInputElement>().files()));
    let on_typed = {
        let id_ref = id_ref.clone();
        let secret_ref = secret_ref.clone();
        Callback::from(move |event: SubmitEvent| {
            event.prevent_default();
            let (Some(id), Some(secret)) = (
                id_ref.cast::<HtmlInputElement>(),
                secret_ref.cast::<HtmlInputElement>(),
            ) else {
                return;
            };
            let client = OAuthClientInput::Typed {
                client_id: id.value(),
                client_secret: Secret::new(secret.value()),
            };
            secret.set_value("");
            set_client.emit(client);
        })
    };
    let connect = {
        let bridge = bridge.clone();
        let busy = busy.clone();
        let finish = finish.clone();
        let profile = profile.clone();
        let tab = tab.clone();
        Callback::from(move |_: MouseEvent| {
            busy.set(true);
            *tab.borrow_mut() = web_sys::window()
                .and_then(|window| {
                    window
                        .open_with_url_and_target("about:blank", "_blank")
                        .ok()
                })
                .flatten();
            let answer = bridge.call(Operation::ConnectOAuth {
                profile: profile.clone(),
                reconnect: false,
            });
            let finish = finish.clone();
            wasm_bindgen_futures::spawn_local(async move {
                finish(answer.await.map(|_| "Connected.".to_owned()));
            });
        })
    };
    let disconnect = {
        let bridge = bridge.clone();
        let busy = busy.clone();
        let finish = finish.clone();
        let profile = profile.clone();
        Callback::from(move |_: MouseEvent| {
            busy.set(true);
            let answer = bridge.call(Operation::DisconnectOAuth {
                profile: profile.clone(),
            });
            let bridge = bridge.clone();
            let finish = finish.clone();
            let profile = profile.clone();
            wasm_bindgen_futures::spawn_local(async move {
                let result = answer.await;
                bridge.request(Operation::ReadTokenHealth { profile });
                finish(result.map(|_| "Disconnected: the token is forgotten.".to_owned()));
            });
        })
    };

    let on_mechanism = {
        let bridge = bridge.clone();
        let finish = finish.clone();
        let profile = props.view.profile.clone();
        Callback::from(move |event: Event| {
            let chosen = event
                .target_unchecked_into::<web_sys::HtmlSelectElement>()
                .value();
            let mut changed = profile.clone();
            if let Some(oauth) = changed.oauth.as_mut() {
                oauth.mechanism = if chosen == "oauthbearer" {
                    OAuthMechanism::Oauthbearer
                } else {
                    OAuthMechanism::Xoauth2
                };
            }
            let answer = bridge.call(Operation::SaveProfile { profile: changed });
            let finish = finish.clone();
            wasm_bindgen_futures::spawn_local(async move {
                finish(answer.await.map(|_| "Saved the mechanism.".to_owned()));
            });
        })
    };
    let mechanism = props
        .view
        .profile
        .oauth
        .as_ref()
        .map(|oauth| oauth.mechanism);
    let health = props
        .view
        .token
        .as_deref()
        .cloned()
        .unwrap_or_else(|| TokenHealthView::new(TokenState::NotConfigured));
    let has_client = health.client_id.is_some();
    let connected = !matches!(
        health.state,
        TokenState::NotConfigured | TokenState::NeedsConsent
    );
    let waiting = consent.filter(|_| *busy);
    html! {
        <section class="oauth-panel" id="oauth-panel" aria-labelledby="oauth-heading">
            <h4 id="oauth-heading">{ "Google account (OAuth)" }</h4>
            { health_card(&health) }
            <div class={classes!("drop-zone", drop.dragging.then_some("dragging"))}
                id="oauth-client-drop" ondragover={drop.ondragover} ondragleave={drop.ondragleave}
                ondrop={drop.ondrop}>
                <label for="oauth-client-file">{ if has_client { "Replace the OAuth client: " } else { "OAuth client: " } }</label>
                <input id="oauth-client-file" type="file" accept=".json,application/json"
                    onchange={on_pick} disabled={*busy} />
                <p class="hint">{ "Drop or pick the client_secret.json of a Desktop app client (Google Cloud console, Google Auth Platform, Clients, Download JSON)." }</p>
            </div>
            <details>
                <summary>{ "Or type the client ID and secret" }</summary>
                <form id="oauth-client-form" onsubmit={on_typed}>
                    <div class="field">
                        <label for="oauth-client-id">{ "Client ID" }</label>
                        <input id="oauth-client-id" type="text" spellcheck="false" ref={id_ref}
                            value={health.client_id.clone().unwrap_or_default()} />
                    </div>
                    <div class="field">
                        <label for="oauth-client-secret">{ "Client secret" }</label>
                        <input id="oauth-client-secret" type="password" autocomplete="off"
                            spellcheck="false" ref={secret_ref} />
                    </div>
                    <button type="submit" id="oauth-client-save" disabled={*busy}>{ "Save client" }</button>
                </form>
            </details>
            if let Some(mechanism) = mechanism {
                <div class="field">
                    <label for="oauth-mechanism">{ "Mechanism" }</label>
                    <select id="oauth-mechanism" onchange={on_mechanism} disabled={*busy}>
                        <option value="xoauth2" selected={mechanism == OAuthMechanism::Xoauth2}>{ "XOAUTH2 (Gmail's usual)" }</option>
                        <option value="oauthbearer" selected={mechanism == OAuthMechanism::Oauthbearer}>{ "OAUTHBEARER (RFC 7628), when the server offers it" }</option>
                    </select>
                </div>
            }
            <div class="actions">
                <button type="button" id="oauth-connect" class="primary" onclick={connect}
                    disabled={*busy || !has_client || !health.client_secret_stored}>
                    { if connected { "Connect again" } else { "Connect Google account" } }
                </button>
                if connected {
                    <button type="button" id="oauth-disconnect" onclick={disconnect} disabled={*busy}>{ "Disconnect" }</button>
                }
            </div>
            <div id="oauth-status" aria-live="polite">
                if let Some((_, url)) = waiting {
                    <p id="oauth-waiting">
                        { "Waiting for the browser: allow access in the tab that opened. " }
                        <a href={url} target="_blank" rel="noopener" id="oauth-consent-link">{ "Open the consent page" }</a>
                        { " if no tab opened." }
                    </p>
                }
                { match &*status {
                    Some(Ok(done)) if !*busy => html! { <p class="ok">{ done }</p> },
                    Some(Err(error)) if !*busy => html! { <ErrorDetails error={error.clone()} /> },
                    _ => html! {},
                } }
            </div>
        </section>
    }
}

/// The token's state and what goes with it, as a definition list.
pub fn health_card(health: &TokenHealthView) -> Html {
    let class = match health.state {
        TokenState::Healthy => "ok",
        TokenState::Refreshing | TokenState::NeedsConsent | TokenState::NotConfigured => "quiet",
        _ => "bad",
    };
    let mut rows: Vec<(&str, String)> = Vec::new();
    if let Some(left) = health.expires_in_s {
        rows.push(("Expires in", format!("{} min {} s", left / 60, left % 60)));
    }
    if let Some(at) = health.last_refresh_ms {
        rows.push(("Last refresh", crate::format::local_time(at)));
    }
    if let Some(scope) = &health.scope {
        rows.push(("Scope", scope.clone()));
    }
    if let Some(client) = &health.client_id {
        rows.push(("Client ID", client.clone()));
    }
    if let Some(error) = &health.error {
        rows.push(("Error", error.clone()));
    }
    if let Some(description) = &health.error_description {
        rows.push(("Google says", description.clone()));
    }
    if let Some(detail) = &health.detail {
        rows.push(("Detail", detail.clone()));
    }
    for cause in &health.likely_causes {
        rows.push(("Likely cause", cause.clone()));
    }
    if let Some(warning) = &health.warning {
        rows.push(("Warning", warning.clone()));
    }
    if let Some(fix) = &health.fix {
        rows.push(("What to do", fix.clone()));
    }
    html! {
        <div class="token-health">
            <p>{ "Token: " }<span id="oauth-state" class={class}>{ health.state.title() }</span></p>
            <dl id="oauth-health">
                { for rows.into_iter().map(|(name, value)| html! { <><dt>{ name }</dt><dd>{ value }</dd></> }) }
            </dl>
        </div>
    }
}
