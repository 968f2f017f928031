use profile::{AuthMethod, Security};
use protocol::{ProfileView, SecretState};
use yew::prelude::*;

use super::error_details::ErrorDetails;
use crate::hooks::use_bridge;
use crate::state::Loadable;

/// The sending profiles the bridge knows, and whether each has its secret.
#[function_component]
pub fn ProfileList() -> Html {
    let bridge = use_bridge();
    let body = match &bridge.profiles {
        Loadable::Idle | Loadable::Loading => {
            html! { <p class="quiet">{ "Loading profiles…" }</p> }
        }
        Loadable::Failed(error) => html! { <ErrorDetails error={error.clone()} /> },
        Loadable::Ready(profiles) if profiles.is_empty() => html! {
            <p class="quiet">{ "No profiles yet. " }<code>{ "mailbridge serve" }</code>
                { " makes the sandbox profile when it starts; teams can import a shared file with " }
                <code>{ "mailbridge profiles import FILE" }</code>{ "." }</p>
        },
        Loadable::Ready(profiles) => html! {
            <div class="table-scroll">
                <table class="profiles">
                    <thead>
                        <tr>
                            <th scope="col">{ "Name" }</th>
                            <th scope="col">{ "Server" }</th>
                            <th scope="col">{ "Security" }</th>
                            <th scope="col">{ "Sign-in" }</th>
                            <th scope="col">{ "Secret" }</th>
                        </tr>
                    </thead>
                    <tbody>
                        { for profiles.iter().map(row) }
                    </tbody>
                </table>
            </div>
        },
    };
    html! {
        <section class="panel" aria-labelledby="profiles-heading">
            <h2 id="profiles-heading">{ "Profiles" }</h2>
            { body }
        </section>
    }
}

fn row(view: &ProfileView) -> Html {
    let profile = &view.profile;
    let (secret_class, secret) = match view.secret {
        SecretState::Stored => ("ok", "stored"),
        SecretState::Missing => ("bad", "missing"),
        SecretState::NotNeeded => ("quiet", "not needed"),
    };
    html! {
        <tr key={profile.id.as_str().to_owned()}>
            <th scope="row">
                { &profile.name }
                <span class="sub">{ profile.from.to_string() }</span>
                { for view.warnings.iter().map(|warning| html! { <span class="sub warn">{ warning }</span> }) }
            </th>
            <td>{ format!("{}:{}", profile.host, profile.port) }</td>
            <td>{ security(profile.security) }</td>
            <td>{ auth(profile.auth) }</td>
            <td class={secret_class}>
                { secret }
                if view.secret == SecretState::Missing {
                    <span class="sub">{ "store it with " }<code>{ format!("mailbridge secret set {}", shell_word(&profile.name)) }</code></span>
                }
            </td>
        </tr>
    }
}

fn security(security: Security) -> &'static str {
    match security {
        Security::StartTls => "STARTTLS",
        Security::ImplicitTls => "TLS from the start",
        Security::Plain => "none (this machine only)",
    }
}

fn auth(auth: AuthMethod) -> &'static str {
    match auth {
        AuthMethod::AppPassword => "App Password",
        AuthMethod::OAuth2 => "OAuth2",
        AuthMethod::None => "none",
    }
}

/// The name as one shell word, quoted when it has spaces or quotes.
fn shell_word(name: &str) -> String {
    if name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "-_.@".contains(c))
    {
        name.to_owned()
    } else {
        format!("'{}'", name.replace('\'', "'\\''"))
    }
}
