use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;

use profile::{
    Address, AuthMethod, Header, Limits, Mailbox, OAuthSettings, Preset, Problem, Profile,
    ProfileId, SANDBOX_USER, Security,
};
use protocol::{ErrorKind, Operation, OperationError, Outcome, ProfileView, Secret, SecretState};
use web_sys::{HtmlInputElement, HtmlSelectElement, HtmlTextAreaElement};
use yew::prelude::*;

use crate::components::ErrorDetails;
use crate::components::forms::{capitalised, focus_by_id, from_serde_name, serde_name};
use crate::hooks::use_bridge;
use crate::state::{Connection, Loadable, sentence};

/// Where the editor starts: a fresh profile from a preset, or a profile the bridge has.
#[derive(Debug, Clone, PartialEq)]
pub enum Start {
    New(Preset),
    Existing(ProfileId),
}

#[derive(Properties, PartialEq)]
pub struct ProfileEditorProps {
    /// Read once, when the editor mounts; give it a new `key` to start over.
    pub start: Start,
    pub on_close: Callback<()>,
}

/// The form for one profile, checked with the profile crate's own validation as it is typed,
/// and below it the profile's secret, which goes to the bridge and is never shown again.
///
/// It stays open on the profile after saving, so that a new profile's secret can be stored next.
#[function_component]
pub fn ProfileEditor(props: &ProfileEditorProps) -> Html {
    let bridge = use_bridge();
    let profiles = match &bridge.profiles {
        Loadable::Ready(profiles) => profiles.clone(),
        _ => Default::default(),
    };
    let editor = use_reducer({
        let start = props.start.clone();
        let profiles = profiles.clone();
        move || Editor::start(&start, &profiles)
    });
    let name_ref = use_node_ref();
    use_effect_with((), {
        let name_ref = name_ref.clone();
        move |()| {
            if let Some(input) = name_ref.cast::<HtmlInputElement>() {
                let _ = input.focus();
            }
        }
    });

    let id = editor.id.clone().unwrap_or_else(|| {
        ProfileId::from_name(&editor.form.name, |taken| {
            profiles
                .iter()
                .any(|view| view.profile.id.as_str() == taken)
        })
    });
    let (mut profile, problems) = editor.form.profile(id.clone());
    // The OAuth panel changes the client on the bridge; saving keeps what the bridge has.
    if let Some(known) = profiles.iter().find(|view| view.profile.id == id) {
        profile.oauth = known.profile.oauth.clone();
    }
    // A refusal's problems (a name another profile has) also show at their fields, until the
    // next edit clears the refusal.
    let mut displayed = problems.clone();
    if let Status::Refused(error) = &editor.status {
        displayed.extend(
            error
                .problems
                .iter()
                .filter(|problem| !problems.contains(problem))
                .cloned(),
        );
    }
    let by_field = problems_by_field(&displayed);
    let first_problem = by_field.keys().flatten().next().copied();

    // Each refused save moves focus to the first field with a problem, once the messages show.
    use_effect_with(editor.blocked, move |blocked| {
        if *blocked > 0
            && let Some(field) = first_problem
        {
            focus_by_id(&field.element_id());
        }
    });

    let view = editor
        .id
        .as_ref()
        .and_then(|id| profiles.iter().find(|view| &view.profile.id == id))
        .cloned();
    // Only a list that has arrived can tell that the profile is gone.
    let listed = matches!(bridge.profiles, Loadable::Ready(_));
    if listed && editor.saved.is_some() && view.is_none() {
        let close = props.on_close.reform(|_: MouseEvent| ());
        return html! {
            <div class="profile-editor gone" id="profile-editor-gone">
                <p>{ "This profile is no longer on the bridge: it was deleted." }</p>
                <button type="button" id="profile-cancel" onclick={close}>{ "Close" }</button>
            </div>
        };
    }

    let onsubmit = {
        let bridge = bridge.clone();
        let editor = editor.clone();
        let count = problems.len();
        Callback::from(move |event: SubmitEvent| {
            event.prevent_default();
            if editor.saving.is_some() {
                return;
            }
            if count > 0 {
                editor.dispatch(EditorAction::Blocked(count));
                return;
            }
            editor.dispatch(EditorAction::Saving);
            let answer = bridge.call(Operation::SaveProfile {
                profile: profile.clone(),
            });
            let dispatcher = editor.dispatcher();
            wasm_bindgen_futures::spawn_local(async move {
                dispatcher.dispatch(match answer.await {
                    Ok(Outcome::Saved { profile }) => {
                        EditorAction::Saved(Box::new(profile.profile))
                    }
                    Ok(_) => EditorAction::Refused(OperationError::new(
                        ErrorKind::Internal,
                        "the bridge gave an unexpected answer to saving the profile",
                    )),
                    Err(error) => EditorAction::Refused(error),
                });
            });
        })
    };
    let on_text = |field: Field| {
        let editor = editor.clone();
        Callback::from(move |event: InputEvent| {
            let value = match event.target_dyn_into::<HtmlInputElement>() {
                Some(input) => input.value(),
                None => event.target_unchecked_into::<HtmlTextAreaElement>().value(),
            };
            editor.dispatch(EditorAction::Edit(field, value));
        })
    };
    let on_choice = |field: Field| {
        let editor = editor.clone();
        Callback::from(move |event: Event| {
            let value = event.target_unchecked_into::<HtmlSelectElement>().value();
            editor.dispatch(EditorAction::Edit(field, value));
        })
    };
    let on_leave = |field: Field| {
        let editor = editor.clone();
        Callback::from(move |_: FocusEvent| editor.dispatch(EditorAction::Leave(field)))
    };
    let shown = |field: Field| shown_problems(&by_field, &editor.shown, field);
    let text_field = |field: Field, label: &str, hint: Option<&str>, value: &str| {
        let problems = shown(field);
        let input = html! {
            <input id={field.element_id()} type="text" value={value.to_owned()}
                oninput={on_text(field)} onblur={on_leave(field)}
                aria-invalid={(!problems.is_empty()).to_string()}
                aria-describedby={described_by(field, hint.is_some())}
                inputmode={field.is_number().then_some("numeric")}
                spellcheck="false" autocapitalize="off"
                ref={if field == Field::Name { name_ref.clone() } else { NodeRef::default() }} />
        };
        field_box(field, label, input, hint, problems)
    };
    let choice = |field: Field,
                  label: &str,
                  hint: Option<&str>,
                  options: Vec<(String, String)>,
                  selected: String| {
        let problems = shown(field);
        let select = html! {
            <select id={field.element_id()} onchange={on_choice(field)} onblur={on_leave(field)}
                aria-invalid={(!problems.is_empty()).to_string()}
                aria-describedby={described_by(field, hint.is_some())}>
                { for options.into_iter().map(|(value, words)| {
                    let is_selected = value == selected;
                    html! { <option selected={is_selected} {value}>{ words }</option> }
                }) }
            </select>
        };
        field_box(field, label, select, hint, problems)
    };

    let form = &editor.form;
    let title = match (&editor.id, &view) {
        (Some(_), Some(view)) => format!("Edit “{}”", view.profile.name),
        _ => "New profile".to_owned(),
    };
    let presets = Preset::all()
        .iter()
        .map(|preset| (serde_name(preset), preset.label().to_owned()))
        .collect();
    let securities = Security::ALL
        .iter()
        .map(|security| (serde_name(security), security_words(*security).to_owned()))
        .collect();
    let auths = AuthMethod::ALL
        .iter()
        .map(|auth| (serde_name(auth), capitalised(auth.label())))
        .collect();
    let ca_problems = shown(Field::Ca);
    let others: &[Problem] = match by_field.get(&None) {
        Some(problems) if editor.shown.len() == Field::ALL.len() => problems,
        _ => &[],
    };
    let dirty = editor.saved.as_ref() != Some(&editor.form);
    let close = props.on_close.reform(|_: MouseEvent| ());
    let status = match &editor.status {
        Status::Quiet => html! {},
        Status::Blocked(count) => html! {
            <p class="form-error">{ match count {
                1 => "Not saved yet: fix the problem marked above first.".to_owned(),
                n => format!("Not saved yet: fix the {n} problems marked above first."),
            } }</p>
        },
        Status::Saved(name) => html! {
            <p class="ok">{ match view.as_ref().map(|view| view.secret) {
                Some(SecretState::Missing) => format!("Saved “{name}”. Store its secret below, then check the connection."),
                _ => format!("Saved “{name}”."),
            } }</p>
        },
        Status::Refused(error) => html! {
            <div class="result failed">
                <h4>{ "The bridge did not save the profile" }</h4>
                <ErrorDetails error={error.clone()} />
            </div>
        },
    };

    html! {
        <div class="profile-editor">
            <form id="profile-editor" aria-labelledby="profile-editor-heading" novalidate={true} {onsubmit}>
                <h3 id="profile-editor-heading">{ title }</h3>
                { choice(Field::Preset, "Preset", Some("Choosing a preset fills in its server, port, security and limits. Choose Custom server to change them freely."),
                    presets, serde_name(&form.preset)) }
                { text_field(Field::Name, "Name", Some("Shown in this list and in the Compose form, e.g. Team Gmail."), &form.name) }
                <fieldset>
                    <legend>{ "Server" }</legend>
                    { text_field(Field::Host, "Host", Some("The SMTP server's name, e.g. smtp.gmail.com."), &form.host) }
                    { text_field(Field::Port, "Port", Some("587 for STARTTLS, 465 for TLS from the start."), &form.port) }
                    { choice(Field::Security, "Security", None, securities, serde_name(&form.security)) }
                </fieldset>
                <fieldset>
                    <legend>{ "Sign-in" }</legend>
                    { choice(Field::Auth, "Sign in with", None, auths, serde_name(&form.auth)) }
                    if form.auth != AuthMethod::None {
                        { text_field(Field::Username, "Username", Some("For Google, the full account address."), &form.username) }
                    }
                </fieldset>
                <fieldset>
                    <legend>{ "Sender" }</legend>
                    { text_field(Field::From, "From", Some("An address, optionally with a name: Ann Example <ann@example.com>. Gmail replaces a From that is not the account or one of its aliases."), &form.from) }
                    { text_field(Field::ReplyTo, "Reply-To (optional)", Some("Where replies go, when not to the From address."), &form.reply_to) }
                </fieldset>
                <fieldset>
                    <legend>{ "Sending limits" }</legend>
                    <p class="hint">{ "mailbridge stops at these limits before Google blocks the account: Gmail allows 500 messages a day, Google Workspace 2,000." }</p>
                    <div class="field-pair">
                        { text_field(Field::Daily, "Messages a day", None, &form.daily) }
                        { text_field(Field::PerMinute, "Messages a minute", None, &form.per_minute) }
                    </div>
                </fieldset>
                <details class="advanced" open={!ca_problems.is_empty()}>
                    <summary>{ "Extra CA certificate (advanced)" }</summary>
                    { field_box(Field::Ca, "CA certificate (PEM)", html! {
                        <textarea id={Field::Ca.element_id()} class="code" value={form.extra_ca_pem.clone()}
                            oninput={on_text(Field::Ca)} onblur={on_leave(Field::Ca)} spellcheck="false"
                            aria-invalid={(!ca_problems.is_empty()).to_string()}
                            aria-describedby={described_by(Field::Ca, true)} />
                    }, Some("Only for servers whose certificate no public authority signed, such as the local sandbox or a company relay."), ca_problems) }
                </details>
                if !form.headers.is_empty() {
                    <p class="hint">{ format!("This profile adds {} header(s) to every message; saving keeps them as they are.", form.headers.len()) }</p>
                }
                if !others.is_empty() {
                    <ul class="field-error" aria-live="polite">
                        { for others.iter().map(|problem| html! {
                            <li><code>{ &problem.path }</code>{ " " }{ words(problem) }</li>
                        }) }
                    </ul>
                }
                <div class="actions">
                    <button type="submit" id="profile-save" class="primary" disabled={editor.saving.is_some()}>{ "Save profile" }</button>
                    <button type="button" id="profile-cancel" onclick={close}>{ if dirty { "Cancel" } else { "Close" } }</button>
                    if editor.saving.is_some() {
                        <span class="busy">{ "Saving…" }</span>
                    }
                </div>
                <div id="profile-editor-status" aria-live="polite">{ status }</div>
            </form>
            { match view {
                Some(view) if view.profile.auth == AuthMethod::OAuth2 => html! {
                    <>
                        <super::oauth::OAuthPanel view={view.clone()} />
                        if view.profile.oauth.is_none() {
                            <details class="advanced">
                                <summary>{ "Or paste an access token (expires within the hour)" }</summary>
                                <SecretForm {view} />
                            </details>
                        }
                    </>
                },
                Some(view) => html! { <SecretForm {view} /> },
                None => html! {
                    <p class="hint" id="profile-secret-later">{ "Save the profile first; then store its App Password or token here." }</p>
                },
            } }
        </div>
    }
}

/// The problems `field` shows now: none until the field's problems are due (see [`Editor::shown`]).
fn shown_problems<'a>(
    by_field: &'a BTreeMap<Option<Field>, Vec<Problem>>,
    shown: &BTreeSet<Field>,
    field: Field,
) -> &'a [Problem] {
    match by_field.get(&Some(field)) {
        Some(problems) if shown.contains(&field) => problems,
        _ => &[],
    }
}

/// A field's label, control, hint and problems. The problems sit in a live region, so a screen
/// reader hears them as they change.
fn field_box(
    field: Field,
    label: &str,
    control: Html,
    hint: Option<&str>,
    problems: &[Problem],
) -> Html {
    let text = problems.iter().map(words).collect::<Vec<_>>().join(" ");
    html! {
        <div class={classes!("field", (!problems.is_empty()).then_some("invalid"))}>
            <label for={field.element_id()}>{ label }</label>
            { control }
            <p id={field.error_id()} class="field-error" aria-live="polite">{ text }</p>
            if let Some(hint) = hint {
                <p id={format!("{}-hint", field.element_id())} class="hint">{ hint }</p>
            }
        </div>
    }
}

fn described_by(field: Field, hint: bool) -> String {
    if hint {
        format!("{} {}-hint", field.error_id(), field.element_id())
    } else {
        field.error_id()
    }
}

/// A problem as the page shows it: what is wrong, then what to do.
fn words(problem: &Problem) -> String {
    format!("{} {}", sentence(&problem.message), sentence(&problem.fix))
}

#[derive(Properties, PartialEq)]
struct SecretFormProps {
    view: ProfileView,
}

/// Stores or forgets a saved profile's secret. The field is not bound to any state: its text is
/// read once when stored, and the field is emptied at the same moment.
#[function_component]
fn SecretForm(props: &SecretFormProps) -> Html {
    let bridge = use_bridge();
    let input = use_node_ref();
    let busy = use_state(|| false);
    let status = use_state(|| None::<Result<String, OperationError>>);
    let view = &props.view;
    if view.secret == SecretState::NotNeeded {
        return html! {
            <p class="hint" id="profile-secret-note">{ "This profile signs in with nothing, so it needs no secret." }</p>
        };
    }
    let what = secret_words(view.profile.auth);
    let store_name = match &bridge.connection {
        Connection::Connected { secret_store, .. } => secret_store.clone(),
        _ => "the bridge's secret store".to_owned(),
    };
    let onsubmit = {
        let bridge = bridge.clone();
        let input = input.clone();
        let busy = busy.clone();
        let status = status.clone();
        let profile = view.profile.id.clone();
        Callback::from(move |event: SubmitEvent| {
            event.prevent_default();
            let Some(field) = input.cast::<HtmlInputElement>() else {
                return;
            };
            if *busy {
                return;
            }
            let secret = secret_to_send(field.value());
            field.set_value("");
            let Some(secret) = secret else {
                status.set(Some(Err(OperationError::new(
                    ErrorKind::Invalid,
                    format!("the {what} field is empty"),
                )
                .with_fix(format!(
                    "Paste the {what} into the field, then press Store secret."
                )))));
                return;
            };
            busy.set(true);
            let answer = bridge.call(Operation::SetSecret {
                profile: profile.clone(),
                secret,
            });
            let busy = busy.clone();
            let status = status.clone();
            let store_name = store_name.clone();
            wasm_bindgen_futures::spawn_local(async move {
                let result = answer.await;
                busy.set(false);
                status.set(Some(result.map(|_| {
                    format!("Stored the {what} in {store_name}. The page cannot show it again.")
                })));
            });
        })
    };
    let forget = {
        let bridge = bridge.clone();
        let busy = busy.clone();
        let status = status.clone();
        let profile = view.profile.id.clone();
        Callback::from(move |_: MouseEvent| {
            if *busy {
                return;
            }
            busy.set(true);
            let answer = bridge.call(Operation::ClearSecret {
                profile: profile.clone(),
            });
            let busy = busy.clone();
            let status = status.clone();
            wasm_bindgen_futures::spawn_local(async move {
                let result = answer.await;
                busy.set(false);
                status.set(Some(
                    result.map(|_| format!("Forgot the {what}. Sending needs a new one.")),
                ));
            });
        })
    };
    let (state_class, state) = match view.secret {
        SecretState::Stored => ("ok", "stored"),
        _ => ("bad", "missing"),
    };
    let hint = match view.profile.auth {
        AuthMethod::AppPassword if view.profile.preset == Preset::Sandbox => {
            "The sandbox accepts its own password (mailbridge serve prints it), which the profile uses until you store another."
        }
        AuthMethod::AppPassword => {
            "Make one at myaccount.google.com/apppasswords (the account needs 2-Step Verification). Paste it as Google shows it; the spaces are fine."
        }
        _ => {
            "Paste a current access token with the https://mail.google.com/ scope; tokens expire, usually after an hour."
        }
    };
    html! {
        <form class="secret-form" id="profile-secret-form" aria-labelledby="profile-secret-heading" {onsubmit}>
            <h4 id="profile-secret-heading">{ "Secret" }</h4>
            <p>{ "Secret: " }<span id="profile-secret-state" class={state_class}>{ state }</span></p>
            <div class="field">
                <label for="profile-secret">{ capitalised(what) }</label>
                <input id="profile-secret" type="password" autocomplete="new-password"
                    spellcheck="false" autocapitalize="off" ref={input}
                    aria-describedby="profile-secret-hint profile-secret-status" />
                <p id="profile-secret-hint" class="hint">{ hint }{ " It goes to the bridge and is never shown again, nor exported." }</p>
            </div>
            <div class="actions">
                <button type="submit" id="profile-secret-save" disabled={*busy}>{ "Store secret" }</button>
                if view.secret == SecretState::Stored {
                    <button type="button" id="profile-secret-forget" onclick={forget} disabled={*busy}>{ "Forget secret" }</button>
                }
            </div>
            <div id="profile-secret-status" aria-live="polite">
                { match &*status {
                    None => html! {},
                    Some(Ok(done)) => html! { <p class="ok">{ done }</p> },
                    Some(Err(error)) => html! { <ErrorDetails error={error.clone()} /> },
                } }
            </div>
        </form>
    }
}

/// What the secret is called for a way of signing in.
fn secret_words(auth: AuthMethod) -> &'static str {
    match auth {
        AuthMethod::OAuth2 => "OAuth2 access token",
        AuthMethod::AppPassword | AuthMethod::None => "App Password",
    }
}

/// The secret as typed, or `None` when nothing but blanks was typed. The bridge removes the
/// spaces of an App Password (`abcd efgh ijkl mnop`) and trims a token, so the page sends what
/// was typed and does not normalise it a second time.
fn secret_to_send(typed: String) -> Option<Secret> {
    (!typed.trim().is_empty()).then(|| Secret::new(typed))
}

/// Connection security in words, with the port that goes with it.
pub fn security_words(security: Security) -> &'static str {
    match security {
        Security::StartTls => "STARTTLS (port 587)",
        Security::ImplicitTls => "TLS from the start (port 465)",
        Security::Plain => "None: plain text, this machine only",
    }
}

/// A field of the form, in the order the form shows them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Field {
    Preset,
    Name,
    Host,
    Port,
    Security,
    Auth,
    Username,
    From,
    ReplyTo,
    Daily,
    PerMinute,
    Ca,
}

impl Field {
    const ALL: [Field; 12] = [
        Field::Preset,
        Field::Name,
        Field::Host,
        Field::Port,
        Field::Security,
        Field::Auth,
        Field::Username,
        Field::From,
        Field::ReplyTo,
        Field::Daily,
        Field::PerMinute,
        Field::Ca,
    ];

    /// The part of the element ids after `profile-`: the control is `profile-<id>`, its
    /// problems `profile-<id>-error`.
    pub fn id(self) -> &'static str {
        match self {
            Field::Preset => "preset",
            Field::Name => "name",
            Field::Host => "host",
            Field::Port => "port",
            Field::Security => "security",
            Field::Auth => "auth",
            Field::Username => "username",
            Field::From => "from",
            Field::ReplyTo => "reply-to",
            Field::Daily => "daily",
            Field::PerMinute => "per-minute",
            Field::Ca => "ca",
        }
    }

    fn element_id(self) -> String {
        format!("profile-{}", self.id())
    }

    fn error_id(self) -> String {
        format!("profile-{}-error", self.id())
    }

    fn is_number(self) -> bool {
        matches!(self, Field::Port | Field::Daily | Field::PerMinute)
    }

    /// The field that shows a problem with the profile crate's field path (`from.address`,
    /// `limits.daily`); `None` for paths the form has no field for, such as `headers[0].name`.
    pub fn of_path(path: &str) -> Option<Field> {
        let head = path.split(['.', '[']).next().unwrap_or_default();
        Some(match head {
            "preset" => Field::Preset,
            "name" => Field::Name,
            "host" => Field::Host,
            "port" => Field::Port,
            "security" => Field::Security,
            "auth" => Field::Auth,
            "username" => Field::Username,
            "from" => Field::From,
            "reply_to" => Field::ReplyTo,
            "limits" if path == "limits.per_minute" => Field::PerMinute,
            "limits" => Field::Daily,
            "extra_ca_pem" => Field::Ca,
            _ => return None,
        })
    }
}

/// Problems by the field that shows them; those of no field come under `None`.
pub fn problems_by_field(problems: &[Problem]) -> BTreeMap<Option<Field>, Vec<Problem>> {
    let mut by_field: BTreeMap<Option<Field>, Vec<Problem>> = BTreeMap::new();
    for problem in problems {
        by_field
            .entry(Field::of_path(&problem.path))
            .or_default()
            .push(problem.clone());
    }
    by_field
}

/// The form's fields as typed. Text stays exactly as typed (a half-written address included),
/// and [`Form::profile`] turns it into a [`Profile`] and says what is wrong with it.
#[derive(Debug, Clone, PartialEq)]
pub struct Form {
    pub preset: Preset,
    pub name: String,
    pub host: String,
    pub port: String,
    pub security: Security,
    pub auth: AuthMethod,
    pub username: String,
    pub from: String,
    pub reply_to: String,
    pub daily: String,
    pub per_minute: String,
    pub extra_ca_pem: String,
    /// Not edited here; kept so that saving does not drop them.
    headers: Vec<Header>,
    /// Set by the OAuth panel, not here; kept so that saving does not drop it.
    oauth: Option<OAuthSettings>,
}

impl Form {
    pub fn of(profile: &Profile) -> Form {
        Form {
            preset: profile.preset,
            name: profile.name.clone(),
            host: profile.host.clone(),
            port: profile.port.to_string(),
            security: profile.security,
            auth: profile.auth,
            username: profile.username.clone(),
            from: profile.from.to_string(),
            reply_to: profile
                .reply_to
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default(),
            daily: profile.limits.daily.to_string(),
            per_minute: profile.limits.per_minute.to_string(),
            extra_ca_pem: profile.extra_ca_pem.clone().unwrap_or_default(),
            headers: profile.headers.clone(),
            oauth: profile.oauth.clone(),
        }
    }

    /// The profile the form describes, and every problem with it: the profile crate's
    /// validation, and before it text that is no number or no mailbox at all.
    pub fn profile(&self, id: ProfileId) -> (Profile, Vec<Problem>) {
        let mut unreadable = Vec::new();
        let mut read = |result: Result<u32, Problem>| {
            result.unwrap_or_else(|problem| {
                unreadable.push(problem);
                0
            })
        };
        let port = read(port(&self.port).map(u32::from));
        let daily = read(count("limits.daily", &self.daily, "a day, e.g. 500"));
        let per_minute = read(count(
            "limits.per_minute",
            &self.per_minute,
            "a minute, e.g. 20",
        ));
        let mut read_mailbox = |path: &str, text: &str| {
            mailbox(path, text).unwrap_or_else(|problem| {
                unreadable.push(problem);
                Mailbox::from(Address::new_unchecked(text.trim()))
            })
        };
        let from = read_mailbox("from", &self.from);
        let reply_to =
            (!self.reply_to.trim().is_empty()).then(|| read_mailbox("reply_to", &self.reply_to));
        let profile = Profile {
            id,
            name: self.name.clone(),
            preset: self.preset,
            host: self.host.clone(),
            port: u16::try_from(port).unwrap_or_default(),
            security: self.security,
            extra_ca_pem: (!self.extra_ca_pem.trim().is_empty()).then(|| self.extra_ca_pem.clone()),
            auth: self.auth,
            oauth: self.oauth.clone(),
            username: self.username.clone(),
            from,
            reply_to,
            limits: Limits { daily, per_minute },
            headers: self.headers.clone(),
        };
        // A field that could not be read has its own message; the crate's, about the stand-in
        // value, would only confuse.
        let unread: Vec<Option<Field>> = unreadable
            .iter()
            .map(|problem| Field::of_path(&problem.path))
            .collect();
        let mut problems = unreadable;
        problems.extend(
            profile
                .problems()
                .into_iter()
                .filter(|problem| !unread.contains(&Field::of_path(&problem.path))),
        );
        problems.sort_by_key(|problem| {
            Field::of_path(&problem.path).map_or(usize::MAX, |f| f as usize)
        });
        (profile, problems)
    }

    /// Switches to `preset`, taking the settings it fixes. The sandbox's port changes each time
    /// it starts, so a sandbox profile takes the one the bridge's own sandbox profile has now.
    fn apply_preset(&mut self, preset: Preset, sandbox: Option<&SandboxPlace>) {
        // The sandbox's account means nothing to any other server.
        if self.preset == Preset::Sandbox && preset != Preset::Sandbox {
            for text in [&mut self.username, &mut self.from] {
                if text.trim() == SANDBOX_USER {
                    text.clear();
                }
            }
        }
        self.preset = preset;
        if let Some(host) = preset.host() {
            self.host = host.to_owned();
        }
        if let Some(port) = preset.port() {
            self.port = port.to_string();
        }
        if let Some(security) = preset.security() {
            self.security = security;
        }
        if preset == Preset::Sandbox {
            self.username = SANDBOX_USER.to_owned();
            if self.from.trim().is_empty() {
                self.from = SANDBOX_USER.to_owned();
            }
            if let Some(place) = sandbox {
                self.port = place.port.to_string();
                if let Some(ca) = &place.ca {
                    self.extra_ca_pem = ca.clone();
                }
            }
        }
        if let Some(limits) = preset.limits_for(&self.username) {
            self.daily = limits.daily.to_string();
            self.per_minute = limits.per_minute.to_string();
        }
    }
}

fn port(text: &str) -> Result<u16, Problem> {
    let text = text.trim();
    if text.is_empty() {
        // Port 0 gets the profile crate's message, which knows the preset's port.
        return Ok(0);
    }
    text.parse().map_err(|_| {
        Problem::new(
            "port",
            format!("{text:?} is not a port number (1 to 65535)"),
            "enter 587 for STARTTLS or 465 for TLS from the start",
        )
    })
}

fn count(path: &str, text: &str, example: &str) -> Result<u32, Problem> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(0);
    }
    text.parse().map_err(|_| {
        Problem::new(
            path,
            format!("{text:?} is not a whole number"),
            format!("enter how many messages may go out {example}"),
        )
    })
}

fn mailbox(path: &str, text: &str) -> Result<Mailbox, Problem> {
    Mailbox::parse(text).map_err(|error| {
        let text = text.trim();
        let message = if text.is_empty() {
            error.message()
        } else {
            format!("{text:?} is not a valid address: {}", error.message())
        };
        Problem::new(format!("{path}.address"), message, error.fix())
    })
}

/// Where the bridge's sandbox listens now, from the sandbox profile the bridge keeps up to date.
#[derive(Debug, Clone, PartialEq)]
struct SandboxPlace {
    port: u16,
    ca: Option<String>,
}

impl SandboxPlace {
    /// The profile the bridge moves along with its sandbox: the one called `sandbox`, or else
    /// the first made from the sandbox preset (as the bridge's profile store picks it).
    fn find(profiles: &[ProfileView]) -> Option<SandboxPlace> {
        let sandboxes = || {
            profiles
                .iter()
                .map(|view| &view.profile)
                .filter(|profile| profile.preset == Preset::Sandbox)
        };
        sandboxes()
            .find(|profile| profile.id.as_str() == "sandbox")
            .or_else(|| sandboxes().next())
            .map(|profile| SandboxPlace {
                port: profile.port,
                ca: profile.extra_ca_pem.clone(),
            })
    }
}

/// The editor's state: the form, which fields show their problems, and the last save.
#[derive(Debug, Clone, PartialEq)]
struct Editor {
    /// The profile's id on the bridge: from the start when editing, after the first save when new.
    id: Option<ProfileId>,
    form: Form,
    /// The form as the bridge last saved it, to tell unsaved changes.
    saved: Option<Form>,
    /// Fields whose problems are shown: a field's show once it has been left or chosen (not
    /// while it is first typed), and every field's after a save was refused.
    shown: BTreeSet<Field>,
    sandbox: Option<SandboxPlace>,
    /// The form being saved, while the bridge has not answered.
    saving: Option<Form>,
    status: Status,
    /// Refused saves so far; each moves focus to the first problem.
    blocked: u32,
}

#[derive(Debug, Clone, PartialEq)]
enum Status {
    Quiet,
    /// Not sent: the form has this many problems.
    Blocked(usize),
    /// Saved under this name.
    Saved(String),
    Refused(OperationError),
}

enum EditorAction {
    Edit(Field, String),
    Leave(Field),
    Blocked(usize),
    Saving,
    Saved(Box<Profile>),
    Refused(OperationError),
}

impl Editor {
    fn start(start: &Start, profiles: &[ProfileView]) -> Editor {
        let sandbox = SandboxPlace::find(profiles);
        let existing = match start {
            Start::Existing(id) => profiles.iter().find(|view| &view.profile.id == id),
            Start::New(_) => None,
        };
        match (start, existing) {
            (_, Some(view)) => {
                let form = Form::of(&view.profile);
                Editor {
                    id: Some(view.profile.id.clone()),
                    saved: Some(form.clone()),
                    form,
                    // A stored profile that has problems says so at once.
                    shown: Field::ALL.into_iter().collect(),
                    sandbox,
                    saving: None,
                    status: Status::Quiet,
                    blocked: 0,
                }
            }
            (Start::New(preset), None) => Editor::new_profile(*preset, sandbox),
            // Gone before the form opened: start a new one rather than show nothing.
            (Start::Existing(_), None) => Editor::new_profile(Preset::Custom, sandbox),
        }
    }

    fn new_profile(preset: Preset, sandbox: Option<SandboxPlace>) -> Editor {
        let mut form = Form::of(&Profile::from_preset(
            preset,
            ProfileId(String::new()),
            "",
            "",
        ));
        form.apply_preset(preset, sandbox.as_ref());
        Editor {
            id: None,
            form,
            saved: None,
            shown: BTreeSet::new(),
            sandbox,
            saving: None,
            status: Status::Quiet,
            blocked: 0,
        }
    }

    fn apply(&mut self, action: EditorAction) {
        match action {
            EditorAction::Edit(field, value) => {
                self.edit(field, value);
                self.status = Status::Quiet;
            }
            EditorAction::Leave(field) => {
                self.shown.insert(field);
            }
            EditorAction::Blocked(count) => {
                self.shown.extend(Field::ALL);
                self.status = Status::Blocked(count);
                self.blocked += 1;
            }
            EditorAction::Saving => {
                self.saving = Some(self.form.clone());
                self.status = Status::Quiet;
            }
            EditorAction::Saved(profile) => {
                let saved = Form::of(&profile);
                // What the bridge stored replaces what was typed, unless typing went on meanwhile.
                if self.saving.as_ref() == Some(&self.form) {
                    self.form = saved.clone();
                }
                self.saved = Some(saved);
                self.saving = None;
                self.status = Status::Saved(profile.name);
                self.id = Some(profile.id);
            }
            EditorAction::Refused(error) => {
                self.saving = None;
                self.shown.extend(Field::ALL);
                self.status = Status::Refused(error);
            }
        }
    }

    fn edit(&mut self, field: Field, value: String) {
        let form = &mut self.form;
        match field {
            Field::Preset => {
                if let Some(preset) = from_serde_name(&value) {
                    form.apply_preset(preset, self.sandbox.as_ref());
                }
            }
            Field::Security => form.security = from_serde_name(&value).unwrap_or(form.security),
            Field::Auth => form.auth = from_serde_name(&value).unwrap_or(form.auth),
            Field::Name => form.name = value,
            Field::Host => form.host = value,
            Field::Port => form.port = value,
            Field::Username => {
                // Google sends from the account that signs in, so From follows the username
                // for as long as the two are the same.
                if form.preset.is_google() && form.from.trim() == form.username.trim() {
                    form.from = value.clone();
                }
                form.username = value;
            }
            Field::From => form.from = value,
            Field::ReplyTo => form.reply_to = value,
            Field::Daily => form.daily = value,
            Field::PerMinute => form.per_minute = value,
            Field::Ca => form.extra_ca_pem = value,
        }
        // A choice is complete once made, so its problems show at once.
        if matches!(field, Field::Preset | Field::Security | Field::Auth) {
            self.shown.insert(field);
        }
    }
}

impl Reducible for Editor {
    type Action = EditorAction;

    fn reduce(self: Rc<Self>, action: EditorAction) -> Rc<Self> {
        let mut next = Rc::unwrap_or_clone(self);
        next.apply(action);
        Rc::new(next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gmail() -> Editor {
        Editor::new_profile(Preset::Gmail587, None)
    }

    fn edit(editor: &mut Editor, field: Field, value: &str) {
        editor.apply(EditorAction::Edit(field, value.into()));
    }

    fn paths(problems: &[Problem]) -> Vec<&str> {
        problems
            .iter()
            .map(|problem| problem.path.as_str())
            .collect()
    }

    #[test]
    fn problem_paths_find_their_fields() {
        let cases = [
            ("name", Some(Field::Name)),
            ("host", Some(Field::Host)),
            ("port", Some(Field::Port)),
            ("security", Some(Field::Security)),
            ("auth", Some(Field::Auth)),
            ("username", Some(Field::Username)),
            ("from.address", Some(Field::From)),
            ("from.name", Some(Field::From)),
            ("reply_to.address", Some(Field::ReplyTo)),
            ("limits.daily", Some(Field::Daily)),
            ("limits.per_minute", Some(Field::PerMinute)),
            ("extra_ca_pem", Some(Field::Ca)),
            ("preset", Some(Field::Preset)),
            ("headers[0].name", None),
            ("id", None),
        ];
        for (path, field) in cases {
            assert_eq!(Field::of_path(path), field, "{path}");
        }
        let problems = [
            Problem::new("from.address", "a", "b"),
            Problem::new("headers[1].value", "c", "d"),
            Problem::new("from.name", "e", "f"),
        ];
        let by_field = problems_by_field(&problems);
        assert_eq!(
            by_field.get(&Some(Field::From)).map(|p| paths(p)),
            Some(vec!["from.address", "from.name"])
        );
        assert_eq!(
            by_field.get(&None).map(|p| paths(p)),
            Some(vec!["headers[1].value"])
        );
    }

    #[test]
    fn every_field_has_its_own_element_ids() {
        let ids: BTreeSet<String> = Field::ALL.iter().map(|f| f.element_id()).collect();
        assert_eq!(ids.len(), Field::ALL.len());
        assert_eq!(Field::From.error_id(), "profile-from-error");
        assert_eq!(Field::ReplyTo.element_id(), "profile-reply-to");
    }

    #[test]
    fn a_filled_in_gmail_form_has_no_problems() {
        let mut editor = gmail();
        edit(&mut editor, Field::Name, "Work Gmail");
        edit(&mut editor, Field::Username, "someone@gmail.com");
        // From followed the username.
        assert_eq!(editor.form.from, "someone@gmail.com");
        let (profile, problems) = editor.form.profile(ProfileId("work-gmail".into()));
        assert_eq!(problems, vec![]);
        assert_eq!(profile.validate(), Ok(()));
        assert_eq!(
            (profile.host.as_str(), profile.port),
            ("smtp.gmail.com", 587)
        );
    }

    #[test]
    fn half_typed_text_is_explained_once_where_it_was_typed() {
        let mut editor = gmail();
        edit(&mut editor, Field::Name, "Work Gmail");
        edit(&mut editor, Field::Username, "someone@gmail.com");
        edit(&mut editor, Field::From, "someone@");
        edit(&mut editor, Field::Port, "58x");
        edit(&mut editor, Field::Daily, "lots");
        let (_, problems) = editor.form.profile(ProfileId("w".into()));
        assert_eq!(paths(&problems), ["port", "from.address", "limits.daily"]);
        assert!(problems[0].message.contains("\"58x\""), "{problems:?}");
        assert!(problems[1].message.contains("\"someone@\""), "{problems:?}");
        // The text stays as typed.
        assert_eq!(editor.form.from, "someone@");
    }

    #[test]
    fn problems_show_once_a_field_is_left_and_all_after_a_refused_save() {
        let mut editor = gmail();
        edit(&mut editor, Field::From, "someone@");
        assert!(!editor.shown.contains(&Field::From));
        editor.apply(EditorAction::Leave(Field::From));
        assert!(editor.shown.contains(&Field::From));
        editor.apply(EditorAction::Blocked(3));
        assert_eq!(editor.shown.len(), Field::ALL.len());
        assert_eq!(
            (editor.status.clone(), editor.blocked),
            (Status::Blocked(3), 1)
        );
        edit(&mut editor, Field::Name, "x");
        assert_eq!(editor.status, Status::Quiet);
    }

    #[test]
    fn presets_fill_in_their_settings() {
        let sandbox = SandboxPlace {
            port: 2525,
            ca: Some("PEM".into()),
        };
        let mut editor = Editor::new_profile(Preset::Sandbox, Some(sandbox));
        assert_eq!(
            (editor.form.port.as_str(), editor.form.extra_ca_pem.as_str()),
            ("2525", "PEM")
        );
        assert_eq!(editor.form.username, SANDBOX_USER);
        edit(&mut editor, Field::Preset, "gmail465");
        assert_eq!(
            (
                editor.form.host.as_str(),
                editor.form.port.as_str(),
                editor.form.security
            ),
            ("smtp.gmail.com", "465", Security::ImplicitTls)
        );
        assert_eq!(editor.form.daily, "500");
        assert_eq!(
            (editor.form.username.as_str(), editor.form.from.as_str()),
            ("", "")
        );
        // Custom keeps what is there.
        edit(&mut editor, Field::Preset, "custom");
        assert_eq!(
            (editor.form.preset, editor.form.port.as_str()),
            (Preset::Custom, "465")
        );
        edit(&mut editor, Field::Preset, "no such preset");
        assert_eq!(editor.form.preset, Preset::Custom);
    }

    #[test]
    fn saving_keeps_the_editor_on_the_saved_profile() {
        let mut editor = gmail();
        edit(&mut editor, Field::Name, "Work Gmail");
        edit(&mut editor, Field::Username, "someone@gmail.com");
        editor.apply(EditorAction::Saving);
        let (profile, _) = editor.form.profile(ProfileId("work-gmail".into()));
        editor.apply(EditorAction::Saved(Box::new(profile)));
        assert_eq!(editor.id, Some(ProfileId("work-gmail".into())));
        assert_eq!(editor.saved.as_ref(), Some(&editor.form));
        assert_eq!(editor.status, Status::Saved("Work Gmail".into()));
        assert_eq!(editor.saving, None);
    }

    #[test]
    fn a_stored_profile_reads_back_unchanged() {
        let mut profile = Profile::from_preset(
            Preset::Gmail587,
            ProfileId("t".into()),
            "Team",
            "ann@gmail.com",
        );
        profile.from = Mailbox::parse("\"Doe, Ann\" <ann@gmail.com>").unwrap_or(profile.from);
        profile.reply_to = Mailbox::parse("help@example.com").ok();
        profile.headers = vec![Header {
            name: "X-Team".into(),
            value: "ops".into(),
        }];
        let (read, problems) = Form::of(&profile).profile(profile.id.clone());
        assert_eq!(problems, vec![]);
        assert_eq!(read, profile);
    }

    #[test]
    fn blank_secrets_are_not_sent_and_others_go_as_typed() {
        assert!(secret_to_send("   ".into()).is_none());
        assert!(secret_to_send(String::new()).is_none());
        // The bridge removes an App Password's spaces; the page sends what was typed.
        assert_eq!(
            secret_to_send("abcd efgh ijkl mnop".into()).map(|s| s.expose().to_owned()),
            Some("abcd efgh ijkl mnop".to_owned())
        );
    }

    #[test]
    fn option_values_are_serde_names() {
        assert_eq!(serde_name(&Preset::WorkspaceRelay), "workspace_relay");
        assert_eq!(serde_name(&AuthMethod::OAuth2), "oauth2");
        assert_eq!(
            from_serde_name::<Security>("implicit_tls"),
            Some(Security::ImplicitTls)
        );
        assert_eq!(from_serde_name::<Security>("tls"), None);
        assert_eq!(capitalised("app password"), "App password");
        assert_eq!(capitalised(""), "");
    }
}
