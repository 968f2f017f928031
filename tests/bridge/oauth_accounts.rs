//! OAuth accounts end to end: a profile gets its client over the WebSocket (as the page gives
//! it), consent goes through oidc-provider with the browser the tests drive, and the bridge's
//! sandbox checks the real tokens by introspection, so every AUTH below is a real bearer token
//! that the real OAuth server vouched for. Access tokens live 3 seconds.

use std::time::{Duration, Instant};

use mailbridge::server::ServeConfig;
use profile::{OAuthEndpoints, OAuthMechanism, Profile, ProfileId};
use protocol::{
    Direction, Draft, ErrorKind, OAuthClientInput, Operation, Outcome, Progress, Secret, TokenState,
};
use serde_json::{Value, json};

use super::harness::{Client, Running, start};
use crate::oauth_provider::Provider;

fn draft(subject: &str) -> Draft {
    Draft {
        to: vec!["bob@example.com".to_owned()],
        subject: subject.to_owned(),
        text: Some("Sent with a token from a real OAuth server.\n".to_owned()),
        ..Draft::default()
    }
}

/// A bridge whose sandbox checks bearer tokens with `provider`.
pub(super) async fn bridge_for(name: &str, provider: &Provider) -> Running {
    let introspection = provider.introspection();
    start(
        name,
        move |config| {
            config.introspection = Some(introspection);
            // Only tokens the server vouches for, not the sandbox's fixed one.
            config.oauth_token = None;
        },
        ServeConfig::default(),
    )
    .await
}

/// Google's client_secret.json, pointed at the test server.
fn client_file(provider: &Provider) -> String {
    let client = provider.client();
    json!({"installed": {
        "client_id": client.client_id,
        "project_id": "mailbridge-test",
        "auth_uri": provider.endpoint("authorization_endpoint"),
        "token_uri": provider.endpoint("token_endpoint"),
        "client_secret": client.client_secret.expose(),
        "redirect_uris": ["http://localhost"],
    }})
    .to_string()
}

/// Gives the sandbox profile the test server's client from a client file, with the
/// revocation endpoint and issuer a person would add for a provider other than Google.
pub(super) async fn with_client(
    client: &mut Client,
    running: &Running,
    provider: &Provider,
) -> Profile {
    let id = running.sandbox_profile(client).await.id;
    let Outcome::OAuthClientSet { profile: view } = client
        .ok(Operation::SetOAuthClient {
            profile: id,
            client: OAuthClientInput::File {
                json: Secret::new(client_file(provider)),
            },
        })
        .await
    else {
        panic!("the client was not set");
    };
    let mut profile = view.profile;
    assert_eq!(profile.auth, profile::AuthMethod::OAuth2);
    let token = view.token.expect("an OAuth2 profile has a token health");
    assert_eq!(token.state, TokenState::NeedsConsent, "{token:?}");
    assert!(token.client_secret_stored, "{token:?}");
    let oauth = profile
        .oauth
        .as_mut()
        .expect("the client is in the profile");
    assert_eq!(oauth.client_id, provider.client().client_id);
    oauth.endpoints = Some(OAuthEndpoints {
        auth_uri: provider.endpoint("authorization_endpoint"),
        token_uri: provider.endpoint("token_endpoint"),
        revocation_uri: Some(provider.endpoint("revocation_endpoint")),
        issuer: Some(provider.endpoint("issuer")),
    });
    let Outcome::Saved { profile } = client.ok(Operation::SaveProfile { profile }).await else {
        panic!("not saved");
    };
    profile.profile
}

/// Starts "Connect Google account" and waits for the consent URL the bridge sends; gives the
/// request, the URL and the port of the bridge's loopback listener.
pub(super) async fn start_consent(
    client: &mut Client,
    profile: &ProfileId,
) -> (protocol::RequestId, String, u16) {
    let id = client
        .start(Operation::ConnectOAuth {
            profile: profile.clone(),
            reconnect: false,
        })
        .await;
    let (url, redirect) = client
        .progress(id, |progress| match progress {
            Progress::Consent {
                url, redirect_uri, ..
            } => Some((url.clone(), redirect_uri.clone())),
            _ => None,
        })
        .await;
    let port: u16 = redirect
        .trim_start_matches("http://127.0.0.1:")
        .trim_end_matches('/')
        .parse()
        .expect("the redirect names its port");
    (id, url, port)
}

/// A secret as the bridge stored it in the test's 0600 secrets file, by its store name.
pub(super) fn stored_secret(running: &Running, name: &str) -> Secret {
    let text =
        std::fs::read_to_string(running.dir.path().join("secrets.json")).expect("the secrets file");
    let secrets: Value = serde_json::from_str(&text).expect("JSON");
    Secret::new(
        secrets[name]
            .as_str()
            .unwrap_or_else(|| panic!("{name} is stored")),
    )
}

/// "Connect Google account": the bridge sends the URL, the browser consents, the bridge keeps
/// the tokens. Gives the page the browser was shown.
async fn connect(client: &mut Client, provider: &Provider, profile: &ProfileId) -> String {
    let (id, url, port) = start_consent(client, profile).await;
    assert!(url.contains("code_challenge_method=S256"), "{url}");
    assert!(url.contains("login_hint="), "{url}");
    let page = provider.consent_in_browser(&url, port).await;
    let reply = client.collect(id).await;
    match reply.result {
        Ok(Outcome::OAuthConnected { health, .. }) => {
            assert_eq!(health.state, TokenState::Healthy, "{health:?}");
            assert_eq!(health.scope.as_deref(), Some(mailbridge::oauth::MAIL_SCOPE));
            assert_eq!(
                health.client_id.as_deref(),
                Some(provider.client().client_id.as_str())
            );
        }
        other => provider.fail(&format!("connect answered {other:?}")),
    }
    page.body
}

async fn health(client: &mut Client, profile: &ProfileId) -> protocol::TokenHealthView {
    let Outcome::TokenHealth { health, .. } = client
        .ok(Operation::ReadTokenHealth {
            profile: profile.clone(),
        })
        .await
    else {
        panic!("no health");
    };
    *health
}

fn transcript_text(progress: &[Progress]) -> String {
    progress
        .iter()
        .filter_map(|p| match p {
            Progress::Transcript(line) => Some(format!(
                "{} {}",
                match line.direction {
                    Direction::Client => "C:",
                    Direction::Server => "S:",
                    Direction::Note => "  ",
                },
                line.text
            )),
            _ => None,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test]
async fn a_connected_account_sends_with_xoauth2_and_oauthbearer_and_exports_no_secret() {
    let provider = Provider::start();
    let running = bridge_for("oauth-send", &provider).await;
    let mut client = Client::connect(&running).await;
    let profile = with_client(&mut client, &running, &provider).await;

    // Before consent nothing can send, and the error says what to do.
    let error = client
        .call(Operation::Send {
            profile: profile.id.clone(),
            draft: draft("Too early"),
        })
        .await
        .result
        .expect_err("not connected yet");
    assert_eq!(error.kind, ErrorKind::SecretMissing, "{error}");
    assert!(
        error.fix.as_deref().is_some_and(|f| f.contains("Connect")),
        "{error}"
    );

    let page = connect(&mut client, &provider, &profile.id).await;
    assert!(page.contains("mailbridge is connected"), "{page}");

    let reply = client
        .call(Operation::Send {
            profile: profile.id.clone(),
            draft: draft("XOAUTH2"),
        })
        .await;
    let transcript = transcript_text(&reply.progress);
    match &reply.result {
        Ok(Outcome::Sent(_)) => {}
        other => provider.fail(&format!("the send failed: {other:?}\n{transcript}")),
    }
    assert!(transcript.contains("AUTH XOAUTH2 ****"), "{transcript}");

    // OAUTHBEARER, chosen and offered (the sandbox offers it with introspection).
    let mut bearer = profile.clone();
    if let Some(oauth) = bearer.oauth.as_mut() {
        oauth.mechanism = OAuthMechanism::Oauthbearer;
    }
    client.ok(Operation::SaveProfile { profile: bearer }).await;
    let reply = client
        .call(Operation::Send {
            profile: profile.id.clone(),
            draft: draft("OAUTHBEARER"),
        })
        .await;
    let transcript = transcript_text(&reply.progress);
    assert!(
        matches!(reply.result, Ok(Outcome::Sent(_))),
        "{:?}\n{transcript}",
        reply.result
    );
    assert!(transcript.contains("AUTH OAUTHBEARER ****"), "{transcript}");

    let captured = running.sandbox().store().list().expect("list");
    let mechanisms: Vec<Option<String>> = captured
        .iter()
        .rev()
        .map(|summary| {
            running
                .sandbox()
                .store()
                .get(summary.id)
                .ok()
                .flatten()
                .and_then(|message| message.auth_mechanism)
        })
        .collect();
    assert_eq!(
        mechanisms,
        [Some("XOAUTH2".to_owned()), Some("OAUTHBEARER".to_owned())]
    );

    // The team file carries the client ID and the server, never a secret.
    let Outcome::Exported { json: exported, .. } = client
        .ok(Operation::ExportProfiles {
            profiles: vec![profile.id.clone()],
        })
        .await
    else {
        panic!("no export");
    };
    assert!(
        exported.contains(&provider.client().client_id),
        "{exported}"
    );
    let refresh = stored_secret(&running, "oauth-refresh-token:sandbox");
    let client_secret = stored_secret(&running, "oauth-client-secret:sandbox");
    assert_eq!(client_secret, provider.client().client_secret);
    for secret in [&refresh, &client_secret] {
        assert!(!exported.contains(secret.expose()), "{exported}");
    }
    running.stop().await;
}

#[tokio::test]
async fn a_token_that_expires_in_a_200_message_batch_is_refreshed_and_nothing_is_lost() {
    let provider = Provider::start();
    let running = bridge_for("oauth-batch", &provider).await;
    let mut client = Client::connect(&running).await;
    let profile = with_client(&mut client, &running, &provider).await;
    connect(&mut client, &provider, &profile.id).await;
    provider.sync().await;
    let refreshes_before = provider.grants("refresh_token");

    let started = Instant::now();
    let recipients: Vec<String> = (0..200).map(|i| format!("r{i}@example.com")).collect();
    client
        .ok(Operation::EnqueueEach {
            profile: profile.id.clone(),
            draft: draft("Batch"),
            recipients,
        })
        .await;
    let store = running.sandbox().store().clone();
    let count = || store.count().expect("count");
    let deadline = Instant::now() + Duration::from_secs(120);
    // Past the 3-second life of the token consent gave.
    while count() < 60 {
        assert!(Instant::now() < deadline, "only {} arrived", count());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Now connections close under the batch and open again: each new one signs in, and the
    // first of them meets a refusal of a token the server still holds (Gmail's 334 JSON).
    running
        .sandbox()
        .faults()
        .update(|faults| faults.reject_mail = 3);
    provider.refuse_introspections(1).await;
    while count() < 200 {
        assert!(
            Instant::now() < deadline,
            "only {} of 200 arrived\n{:#?}",
            count(),
            provider.events()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let Outcome::Outbox { summary, .. } = client
        .ok(Operation::ListOutbox {
            state: None,
            limit: 1,
        })
        .await
    else {
        panic!("no outbox");
    };
    assert_eq!(summary.counts.sent, 200, "{summary:#?}");
    assert_eq!(summary.counts.failed, 0, "{summary:#?}");
    assert_eq!(summary.counts.ambiguous, 0, "{summary:#?}");
    // Nothing was sent twice.
    assert_eq!(count(), 200);
    provider.sync().await;
    assert_eq!(provider.count("introspection.refused"), 1);
    assert!(
        provider.grants("refresh_token") > refreshes_before,
        "the token was refreshed during the batch: {:#?}",
        provider.events()
    );
    assert_eq!(
        health(&mut client, &profile.id).await.state,
        TokenState::Healthy
    );
    eprintln!(
        "200 messages in {:.1} s with 3-second tokens: {} refreshes, 1 refusal answered, \
         3 connections closed by the server",
        started.elapsed().as_secs_f64(),
        provider.grants("refresh_token") - refreshes_before
    );
    running.stop().await;
}

#[tokio::test]
async fn a_refused_token_is_refreshed_once_and_a_second_refusal_is_reported() {
    let provider = Provider::start();
    let running = bridge_for("oauth-334", &provider).await;
    let mut client = Client::connect(&running).await;
    let profile = with_client(&mut client, &running, &provider).await;
    connect(&mut client, &provider, &profile.id).await;

    // One refusal: the bridge answers the challenge, refreshes, signs in again, sends.
    provider.refuse_introspections(1).await;
    provider.sync().await;
    let refreshes = provider.grants("refresh_token");
    let reply = client
        .call(Operation::Send {
            profile: profile.id.clone(),
            draft: draft("After one refusal"),
        })
        .await;
    let transcript = transcript_text(&reply.progress);
    assert!(
        matches!(reply.result, Ok(Outcome::Sent(_))),
        "{:?}\n{transcript}",
        reply.result
    );
    assert!(transcript.contains("S: 334 "), "{transcript}");
    assert!(transcript.contains("refreshes it once"), "{transcript}");
    assert_eq!(
        transcript.matches("AUTH XOAUTH2 ****").count(),
        2,
        "{transcript}"
    );
    provider.sync().await;
    assert_eq!(provider.grants("refresh_token"), refreshes + 1);
    assert_eq!(
        health(&mut client, &profile.id).await.state,
        TokenState::Healthy
    );

    // Two: the fresh token is refused too, and that is what the profile shows, decoded.
    provider.refuse_introspections(2).await;
    let reply = client
        .call(Operation::Send {
            profile: profile.id.clone(),
            draft: draft("After two refusals"),
        })
        .await;
    let error = reply.result.expect_err("refused twice");
    let diagnosis = error.diagnosis.expect("an AUTH refusal has a diagnosis");
    assert!(
        diagnosis
            .reply
            .as_deref()
            .is_some_and(|r| r.contains("535")),
        "{diagnosis:?}"
    );
    let health = health(&mut client, &profile.id).await;
    assert_eq!(health.state, TokenState::ServerRefused, "{health:?}");
    assert!(
        health
            .detail
            .as_deref()
            .is_some_and(|d| d.contains("\"scope\"") && d.contains("mail.google.com")),
        "{health:?}"
    );
    assert!(running.sandbox().store().count().expect("count") == 1);
    running.stop().await;
}

#[tokio::test]
async fn a_revoked_refresh_token_says_sign_in_again_with_the_servers_words_until_reconnected() {
    let provider = Provider::start();
    let running = bridge_for("oauth-revoked", &provider).await;
    let mut client = Client::connect(&running).await;
    let profile = with_client(&mut client, &running, &provider).await;
    connect(&mut client, &provider, &profile.id).await;

    let refresh = stored_secret(&running, "oauth-refresh-token:sandbox");
    // The user removes access in their account: the server forgets the refresh token.
    mailbridge::oauth::revoke(&provider.client(), &refresh)
        .await
        .expect("the server revokes it");
    assert!(!provider.active(&refresh).await);
    // The access token in memory dies within 3 s; the next sign-in needs a refresh.
    tokio::time::sleep(Duration::from_millis(3_100)).await;
    let error = client
        .call(Operation::Send {
            profile: profile.id.clone(),
            draft: draft("After revocation"),
        })
        .await
        .result
        .expect_err("the refresh token is revoked");
    let diagnosis = error.diagnosis.expect("a diagnosis");
    assert_eq!(diagnosis.title, "The account has to be connected again");
    assert!(
        diagnosis.what_happened.contains("invalid_grant"),
        "{diagnosis:?}"
    );
    assert_eq!(diagnosis.retry, diagnosis::Retry::Permanent);

    let Outcome::Profiles { profiles } = client.ok(Operation::ListProfiles).await else {
        panic!("no profiles");
    };
    let token = profiles
        .into_iter()
        .find(|view| view.profile.id == profile.id)
        .and_then(|view| view.token)
        .expect("the profile list shows the token health");
    assert_eq!(token.state, TokenState::SignInAgain, "{token:?}");
    assert_eq!(token.error.as_deref(), Some("invalid_grant"));
    assert!(
        token.error_description.is_some(),
        "Google's words are kept: {token:?}"
    );
    assert!(!token.likely_causes.is_empty(), "{token:?}");

    // Connecting again fixes it; the consent screen is asked for again (prompt=consent).
    let (id, url, port) = start_consent(&mut client, &profile.id).await;
    assert!(url.contains("prompt=consent"), "{url}");
    provider.consent_in_browser(&url, port).await;
    assert!(matches!(
        client.collect(id).await.result,
        Ok(Outcome::OAuthConnected { .. })
    ));
    assert!(matches!(
        client
            .call(Operation::Send {
                profile: profile.id.clone(),
                draft: draft("Reconnected"),
            })
            .await
            .result,
        Ok(Outcome::Sent(_))
    ));

    // Disconnecting revokes at the server and forgets here.
    let refresh = stored_secret(&running, "oauth-refresh-token:sandbox");
    let Outcome::OAuthDisconnected { revoked, .. } = client
        .ok(Operation::DisconnectOAuth {
            profile: profile.id.clone(),
        })
        .await
    else {
        panic!("not disconnected");
    };
    assert!(revoked);
    assert!(!provider.active(&refresh).await);
    assert_eq!(
        health(&mut client, &profile.id).await.state,
        TokenState::NeedsConsent
    );
    running.stop().await;
}

#[tokio::test]
async fn a_bad_client_file_names_the_field_and_changes_nothing() {
    let provider = Provider::start();
    let running = bridge_for("oauth-bad-file", &provider).await;
    let mut client = Client::connect(&running).await;
    let before = running.sandbox_profile(&mut client).await;
    let cases = [
        (
            "{\"installed\": {\"client_id\": \"x\"",
            "client_secret.json",
            "not JSON",
        ),
        (
            "{\"installed\": {\"client_id\": \"x.apps.googleusercontent.com\"}}",
            "client_secret.json: installed.client_secret",
            "installed.client_secret is missing",
        ),
        (
            "{\"web\": {\"client_id\": \"x\", \"client_secret\": \"y\"}}",
            "client_secret.json: web",
            "Web application client",
        ),
        (
            "{\"installed\": {\"client_id\": \"x\", \"client_secret\": \"y\", \"token_uri\": \"http://login.example/token\"}}",
            "client_secret.json: installed.token_uri",
            "token_uri",
        ),
    ];
    for (json, path, message) in cases {
        let error = client
            .call(Operation::SetOAuthClient {
                profile: before.id.clone(),
                client: OAuthClientInput::File {
                    json: Secret::new(json),
                },
            })
            .await
            .result
            .expect_err("a bad file is refused");
        assert_eq!(error.kind, ErrorKind::Invalid, "{error}");
        let problem = error.problems.first().expect("a problem");
        assert_eq!(problem.path, path, "{problem:?}");
        assert!(problem.message.contains(message), "{problem:?}");
    }
    let error = client
        .call(Operation::SetOAuthClient {
            profile: before.id.clone(),
            client: OAuthClientInput::Typed {
                client_id: "  ".to_owned(),
                client_secret: Secret::new("s"),
            },
        })
        .await
        .result
        .expect_err("an empty ID is refused");
    assert_eq!(
        error.problems.first().map(|p| p.path.as_str()),
        Some("oauth.client_id")
    );
    assert_eq!(running.sandbox_profile(&mut client).await, before);
    let secrets =
        std::fs::read_to_string(running.dir.path().join("secrets.json")).unwrap_or_default();
    assert!(!secrets.contains("oauth-client-secret"), "{secrets}");
    running.stop().await;
}

/// The same from the terminal: `mailbridge oauth client`, `connect` (the URL printed, the
/// browser driven by the test), `status`, a `test` send that another process (`serve`, the
/// deliverer) signs in with, and `disconnect`.
#[tokio::test]
async fn the_oauth_commands_connect_report_and_disconnect_across_processes() {
    use std::io::{BufRead as _, BufReader, Write as _};
    use std::process::Stdio;

    use crate::support::{Serve, TempDir, mailbridge};

    let provider = Provider::start();
    let dir = TempDir::new("oauth-cli");
    let introspection = provider.introspection();
    let secret_file = dir.path().join("introspection-secret");
    std::fs::write(&secret_file, &introspection.client_secret).expect("written");
    let serve = Serve::start_with(
        dir.path(),
        &[
            "--sandbox-oauth-introspection",
            &introspection.url,
            "--sandbox-oauth-client-id",
            &introspection.client_id,
            "--sandbox-oauth-client-secret-file",
            &secret_file.display().to_string(),
        ],
    );
    let run = |args: &[&str], input: &[u8]| {
        let mut child = mailbridge(dir.path())
            .args(args)
            .current_dir(dir.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("mailbridge runs");
        let _ = child.stdin.take().expect("stdin").write_all(input);
        let output = child.wait_with_output().expect("mailbridge ends");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        (output.status.code(), text)
    };
    let client = provider.client();
    let (code, text) = run(&["oauth", "status"], b"");
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("No profile signs in with OAuth2"), "{text}");

    let (code, text) = run(
        &[
            "oauth",
            "client",
            "Sandbox",
            "--client-id",
            &client.client_id,
            "--auth-uri",
            &provider.endpoint("authorization_endpoint"),
            "--token-uri",
            &provider.endpoint("token_endpoint"),
            "--revocation-uri",
            &provider.endpoint("revocation_endpoint"),
            "--issuer",
            &provider.endpoint("issuer"),
        ],
        format!("{}\n", client.client_secret.expose()).as_bytes(),
    );
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("oauth connect"), "{text}");
    let (code, text) = run(&["oauth", "status", "Sandbox"], b"");
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("needs consent"), "{text}");

    let mut connect = mailbridge(dir.path())
        .args(["oauth", "connect", "Sandbox", "--no-browser"])
        .current_dir(dir.path())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("mailbridge runs");
    let (lines_tx, lines_rx) = std::sync::mpsc::channel::<String>();
    let stdout = connect.stdout.take().expect("stdout");
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = lines_tx.send(line);
        }
    });
    let url = loop {
        let line = lines_rx
            .recv_timeout(crate::support::PATIENCE)
            .expect("connect prints the consent URL");
        if let Some(url) = line.trim().strip_prefix("http://") {
            break format!("http://{url}");
        }
    };
    let redirect = url
        .split('&')
        .find_map(|pair| pair.strip_prefix("redirect_uri="))
        .expect("the URL has the redirect")
        .replace("%3A", ":")
        .replace("%2F", "/");
    let port: u16 = redirect
        .trim_start_matches("http://127.0.0.1:")
        .trim_end_matches('/')
        .parse()
        .expect("a port");
    provider.consent_in_browser(&url, port).await;
    let status = tokio::task::spawn_blocking(move || connect.wait())
        .await
        .expect("joined")
        .expect("connect ends");
    let rest: Vec<String> = lines_rx.try_iter().collect();
    assert!(status.success(), "{rest:?}");
    let rest = rest.join("\n");
    assert!(
        rest.contains("Connected.") && rest.contains("healthy"),
        "{rest}"
    );

    let (code, text) = run(&["oauth", "status"], b"");
    assert_eq!(code, Some(0), "{text}");
    assert!(
        text.contains("sandbox: healthy") && text.contains(&client.client_id),
        "{text}"
    );
    // `serve` delivers: it reads the refresh token the other process stored and signs in.
    let (code, text) = run(&["test", "--profile", "Sandbox"], b"");
    assert_eq!(code, Some(0), "{text}\n{}", serve.output());

    let (code, text) = run(&["oauth", "disconnect", "Sandbox"], b"");
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("the server revoked the token"), "{text}");
    let (code, text) = run(&["oauth", "status", "Sandbox"], b"");
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("needs consent"), "{text}");
    drop(serve);
}

/// The sandbox's receiving mailbox, linked to `profile`'s OAuth account.
pub(super) async fn link_sandbox_mailbox(client: &mut Client, profile: &ProfileId) {
    let Outcome::Mailboxes { mailboxes } = client.ok(Operation::ListMailboxes).await else {
        panic!("no mailboxes");
    };
    let mut mailbox = mailboxes
        .into_iter()
        .find(|view| view.mailbox.id == "sandbox")
        .expect("the sandbox's mailbox is there from the first run")
        .mailbox;
    mailbox.auth = profile::MailboxAuth::OAuth2;
    mailbox.oauth_profile = Some(profile.clone());
    let Outcome::Mailboxes { mailboxes } = client.ok(Operation::SaveMailbox { mailbox }).await
    else {
        panic!("not saved");
    };
    let view = mailboxes
        .iter()
        .find(|view| view.mailbox.id == "sandbox")
        .expect("still there");
    // Nothing to paste: the profile's tokens sign in.
    assert_eq!(view.secret, protocol::SecretState::NotNeeded, "{view:?}");
}

/// Issue 12: a receiving mailbox that is an OAuth profile's own account reads its IMAP with
/// that profile's tokens: an expired one refreshed, one the server refuses refreshed once and
/// tried again on the same connection (XOAUTH2, then OAUTHBEARER), and a second refusal
/// reported as a refused OAuth login. The sandbox's IMAP checks each token with the provider.
#[tokio::test]
async fn verification_signs_in_to_imap_with_the_oauth_profiles_refreshed_token() {
    let provider = Provider::telling_secrets();
    let running = bridge_for("oauth-imap", &provider).await;
    let mut client = Client::connect(&running).await;
    let profile = with_client(&mut client, &running, &provider).await;

    // A mailbox linked to an account it is not is refused, naming the field.
    let Outcome::Mailboxes { mailboxes } = client.ok(Operation::ListMailboxes).await else {
        panic!("no mailboxes");
    };
    let mut other = mailboxes[0].mailbox.clone();
    other.id = "other-account".to_owned();
    other.username = "someone-else@example.com".to_owned();
    other.auth = profile::MailboxAuth::OAuth2;
    other.oauth_profile = Some(profile.id.clone());
    let error = client
        .call(Operation::SaveMailbox { mailbox: other })
        .await
        .result
        .expect_err("another account's mailbox");
    assert!(error.message.starts_with("oauth_profile:"), "{error}");
    assert!(
        error.fix.as_deref().is_some_and(|f| f.contains("username")),
        "{error}"
    );

    link_sandbox_mailbox(&mut client, &profile.id).await;
    // Before consent there is no token, and verification says what to do before it sends.
    let error = client
        .call(Operation::SendAndVerify {
            profile: profile.id.clone(),
            mailboxes: vec!["sandbox".to_owned()],
            draft: None,
            limit_seconds: Some(5),
        })
        .await
        .result
        .expect_err("not connected");
    assert_eq!(error.kind, ErrorKind::SecretMissing, "{error}");
    assert!(
        error.fix.as_deref().is_some_and(|f| f.contains("Connect")),
        "{error}"
    );
    assert_eq!(running.sandbox().store().count().expect("count"), 0);

    connect(&mut client, &provider, &profile.id).await;
    let Outcome::Sent(sent) = client
        .ok(Operation::Send {
            profile: profile.id.clone(),
            draft: Draft {
                to: vec![profile.username.clone()],
                ..draft("Verified over IMAP with OAuth")
            },
        })
        .await
    else {
        panic!("not sent");
    };
    let verify = |limit| Operation::Verify {
        mailbox: "sandbox".to_owned(),
        message_id: sent.message_id.clone(),
        sent_at_unix_ms: None,
        limit_seconds: Some(limit),
    };

    // The access token has expired, and the IMAP server refuses the fresh one once.
    tokio::time::sleep(Duration::from_millis(3_100)).await;
    provider.sync().await;
    let refreshes = provider.grants("refresh_token");
    provider.refuse_introspections(1).await;
    let Outcome::Verified(report) = client.ok(verify(10)).await else {
        panic!("no report");
    };
    let text = super::verify::transcript(&report);
    let verdict = report
        .verdict
        .as_ref()
        .unwrap_or_else(|| provider.fail(&format!("no verdict: {report:?}\n{text}")));
    assert_eq!(verdict.placement, protocol::Placement::Inbox, "{text}");
    assert_eq!(
        text.matches("AUTHENTICATE XOAUTH2").count(),
        2,
        "refused, then signed in with the refreshed token:\n{text}"
    );
    assert!(text.contains("refreshes it once"), "{text}");
    assert!(
        text.contains("Server + eyJ"),
        "Gmail's JSON challenge:\n{text}"
    );
    provider.sync().await;
    assert_eq!(
        provider.grants("refresh_token"),
        refreshes + 2,
        "one refresh for the expiry, one for the refusal"
    );
    let tokens: Vec<String> = provider
        .secrets()
        .into_iter()
        .filter(|(kind, _)| kind == "access_token")
        .map(|(_, token)| token)
        .collect();
    assert!(tokens.len() >= 3, "{tokens:?}");
    for token in &tokens {
        assert!(!text.contains(token.as_str()), "a token in:\n{text}");
    }
    assert_eq!(
        health(&mut client, &profile.id).await.state,
        TokenState::Healthy
    );

    // OAUTHBEARER when the profile chose it.
    let mut bearer = profile.clone();
    if let Some(oauth) = bearer.oauth.as_mut() {
        oauth.mechanism = OAuthMechanism::Oauthbearer;
    }
    client.ok(Operation::SaveProfile { profile: bearer }).await;
    let Outcome::Verified(report) = client.ok(verify(10)).await else {
        panic!("no report");
    };
    let text = super::verify::transcript(&report);
    assert!(
        report
            .verdict
            .as_ref()
            .is_some_and(|v| v.placement == protocol::Placement::Inbox),
        "{report:?}\n{text}"
    );
    assert!(text.contains("AUTHENTICATE OAUTHBEARER"), "{text}");

    // Refused twice: a refused OAuth login, and the token health says the server refused it.
    provider.refuse_introspections(2).await;
    let Outcome::Verified(report) = client.ok(verify(5)).await else {
        panic!("no report");
    };
    let error = report.error.expect("refused twice");
    assert_eq!(error.title, "IMAP login refused", "{error:?}");
    assert!(
        error
            .fix
            .iter()
            .any(|f| f.contains("OAuth token was refused")),
        "{error:?}"
    );
    assert!(
        error
            .reply
            .as_deref()
            .is_some_and(|r| r.contains("AUTHENTICATIONFAILED")),
        "{error:?}"
    );
    assert_eq!(
        health(&mut client, &profile.id).await.state,
        TokenState::ServerRefused
    );
    running.stop().await;
}
