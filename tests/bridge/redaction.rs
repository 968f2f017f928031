//! No secret in a transcript, the history, a log line at TRACE level, or anything sent to the
//! page: neither as typed nor in any base64 form the SMTP exchange uses.

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use mailbridge::server::ServeConfig;
use profile::{AuthMethod, ProfileId};
use protocol::{Draft, Operation, Outcome, Secret, encode};
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;

use super::harness::{Client, start};
use super::oauth_accounts::{bridge_for, link_sandbox_mailbox, start_consent, with_client};
use crate::oauth_provider::Provider;

const CANARY_PASSWORD: &str = "canarypw7Qz9xKpL";
const CANARY_TOKEN: &str = "ya29.canary-token-5b7c1e";

/// Everything logged at TRACE by any test in this process.
fn captured_logs() -> Arc<Mutex<Vec<u8>>> {
    static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOGS.get_or_init(|| {
        let logs = Arc::new(Mutex::new(Vec::new()));
        let writer = {
            let logs = logs.clone();
            move || Sink(logs.clone())
        };
        // The bridge's own log layer, opened up to TRACE: what `RUST_LOG=trace` would show.
        // `try_init` also routes the `log` records of dependencies into it. If something else
        // had installed a subscriber, nothing would be captured and the assertions below would
        // prove nothing, so fail loudly.
        tracing_subscriber::registry()
            .with(mailbridge::logging::layer(
                writer,
                tracing_subscriber::EnvFilter::new("trace"),
            ))
            .try_init()
            .expect("the redaction test installs the only global subscriber");
        logs
    })
    .clone()
}

struct Sink(Arc<Mutex<Vec<u8>>>);

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The forms a secret takes on the wire: as typed, and base64 of each AUTH payload.
fn forbidden_forms(user: &str) -> Vec<String> {
    let mut forms = vec![CANARY_PASSWORD.to_owned(), CANARY_TOKEN.to_owned()];
    for raw in [
        CANARY_PASSWORD.to_owned(),
        CANARY_TOKEN.to_owned(),
        format!("\0{user}\0{CANARY_PASSWORD}"),
        format!("user={user}\x01auth=Bearer {CANARY_TOKEN}\x01\x01"),
    ] {
        forms.push(STANDARD.encode(raw.as_bytes()));
    }
    forms
}

fn assert_clean(what: &str, text: &str, forms: &[String]) {
    for form in forms {
        if let Some(line) = text.lines().find(|line| line.contains(form.as_str())) {
            panic!("{what} contains the secret form {form:?} in: {line}");
        }
    }
}

#[tokio::test]
async fn secrets_never_reach_transcripts_history_logs_or_the_page() {
    let logs = captured_logs();
    let running = start(
        "redaction",
        |config| {
            config.app_password = CANARY_PASSWORD.to_owned();
            config.oauth_token = Some(CANARY_TOKEN.to_owned());
        },
        ServeConfig::default(),
    )
    .await;
    let mut client = Client::connect(&running).await;
    let password_profile = running.sandbox_profile(&mut client).await;
    let user = password_profile.username.clone();
    let mut oauth_profile = password_profile.clone();
    oauth_profile.id = ProfileId("sandbox-oauth".into());
    oauth_profile.name = "Sandbox (OAuth)".to_owned();
    oauth_profile.auth = AuthMethod::OAuth2;
    client
        .ok(Operation::SaveProfile {
            profile: oauth_profile.clone(),
        })
        .await;

    let mut page_saw = String::new();
    for (profile, secret) in [
        (&password_profile, CANARY_PASSWORD),
        (&oauth_profile, CANARY_TOKEN),
    ] {
        client
            .ok(Operation::SetSecret {
                profile: profile.id.clone(),
                secret: Secret::new(secret),
            })
            .await;
        for operation in [
            Operation::CheckConnection {
                profile: profile.id.clone(),
            },
            Operation::Send {
                profile: profile.id.clone(),
                draft: Draft {
                    to: vec!["bob@example.com".to_owned()],
                    subject: "canary".to_owned(),
                    text: Some("hello".to_owned()),
                    ..Draft::default()
                },
            },
        ] {
            let reply = client.call(operation).await;
            let outcome = reply.result.expect("the canary credentials are accepted");
            for progress in &reply.progress {
                page_saw.push_str(&encode(progress).expect("encodes"));
            }
            page_saw.push_str(&encode(&outcome).expect("encodes"));
        }
    }
    let Outcome::History { entries } = client.ok(Operation::ReadHistory { limit: 10 }).await else {
        panic!("no history");
    };
    assert_eq!(entries.len(), 2, "both sends are in the history");
    let history = serde_json::to_string(&entries).expect("json");
    let transcript_lines = entries.iter().map(|e| e.transcript.len()).sum::<usize>();
    assert!(transcript_lines > 10, "the history keeps the transcripts");
    assert!(
        history.contains("AUTH PLAIN ****") || history.contains("AUTH LOGIN"),
        "AUTH is shown, redacted: {history}"
    );

    let forms = forbidden_forms(&user);
    assert_clean("what the page received", &page_saw, &forms);
    assert_clean("the history", &history, &forms);
    let exported = client
        .ok(Operation::ExportProfiles { profiles: vec![] })
        .await;
    assert_clean("the export", &format!("{exported:?}"), &forms);
    let logs = String::from_utf8_lossy(
        &logs
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner),
    )
    .into_owned();
    assert!(!logs.is_empty(), "TRACE logging was captured");
    assert_clean("the TRACE logs", &logs, &forms);
    assert!(
        !logs.contains(&running.token),
        "the pairing token is not logged"
    );

    // A batch entry whose attempt fails keeps its transcript in the outbox: redacted too, in
    // what the page reads and in the file itself.
    running.sandbox().faults().update(|f| f.reject_mail = 1);
    let Outcome::Enqueued {
        entries: queued, ..
    } = client
        .ok(Operation::EnqueueEach {
            profile: password_profile.id.clone(),
            draft: Draft {
                subject: "canary batch".to_owned(),
                text: Some("hello".to_owned()),
                ..Draft::default()
            },
            recipients: vec!["carol@example.com".to_owned()],
        })
        .await
    else {
        panic!("not queued");
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let entry = loop {
        let Outcome::OutboxEntry { entry } = client
            .ok(Operation::ReadOutboxEntry { id: queued[0] })
            .await
        else {
            panic!("no entry");
        };
        if entry.attempts >= 1 && !entry.transcript.is_empty() {
            break entry;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no attempt: {entry:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    let entry_json = serde_json::to_string(&entry).expect("json");
    assert!(entry_json.contains("AUTH PLAIN ****"), "{entry_json}");
    assert_clean("the outbox entry", &entry_json, &forms);
    let mut file = Vec::new();
    for name in ["outbox.sqlite3", "outbox.sqlite3-wal"] {
        file.extend(std::fs::read(running.dir.path().join("data").join(name)).unwrap_or_default());
    }
    assert!(file.len() > 4096, "the outbox file was read");
    assert_clean("the outbox file", &String::from_utf8_lossy(&file), &forms);

    running.stop().await;
}

#[tokio::test]
async fn imap_secrets_never_reach_the_transcript_verdicts_files_or_logs() {
    let _ = captured_logs();
    let running = start(
        "redaction-imap",
        |config| config.app_password = CANARY_PASSWORD.to_owned(),
        ServeConfig::default(),
    )
    .await;
    let mut client = Client::connect(&running).await;
    let password_profile = running.sandbox_profile(&mut client).await;
    let forms = forbidden_forms(&password_profile.username);
    client
        .ok(Operation::SetSecret {
            profile: password_profile.id.clone(),
            secret: Secret::new(CANARY_PASSWORD),
        })
        .await;
    let bridge = &running.bridge;
    // Delivery verification: the receiving mailbox's password goes over IMAP (LOGIN), into
    // the secret store and nowhere else: not the IMAP transcript, the kept verdict, the
    // mailboxes file or a log line.
    bridge
        .set_mailbox_secret(
            mailbridge::ops::SANDBOX_MAILBOX_ID,
            &Secret::new(format!(
                "{} {}",
                &CANARY_PASSWORD[..8],
                &CANARY_PASSWORD[8..]
            )),
        )
        .expect("the mailbox secret is stored");
    let done = bridge
        .send_test_and_verify(
            password_profile.id.clone(),
            mailbridge::ops::SANDBOX_MAILBOX_ID,
            std::time::Duration::from_secs(20),
            None,
        )
        .await
        .expect("send test and verify");
    let verdict = done
        .verify
        .verdict
        .as_ref()
        .unwrap_or_else(|| panic!("{:#?}", done.verify));
    assert_eq!(
        verdict.placement,
        protocol::Placement::Inbox,
        "{:#?}",
        done.send
    );
    let report_json = serde_json::to_string(&done.verify).expect("json");
    assert!(report_json.contains("LOGIN ****"), "{report_json}");
    assert_clean("the IMAP transcript and verdict", &report_json, &forms);
    let kept = bridge.verdicts_for(&verdict.message_id).expect("verdicts");
    assert_eq!(kept.len(), 1);
    let data = running.dir.path().join("data");
    let config = running.dir.path().join("config");
    for file in [data.join("verdicts.sqlite3"), config.join("mailboxes.json")] {
        let bytes = std::fs::read(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        assert_clean(
            &file.display().to_string(),
            &String::from_utf8_lossy(&bytes),
            &forms,
        );
    }
    let logged = String::from_utf8_lossy(
        &captured_logs()
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner),
    )
    .into_owned();
    assert!(
        logged.contains("mailbridge::imap"),
        "IMAP lines were logged at TRACE"
    );
    assert_clean("the logs after verification", &logged, &forms);
    running.stop().await;
}

/// The OAuth secrets: the client secret (typed in and in a client file), the refresh and access
/// tokens, the authorization code and the PKCE verifier, none of which the test chooses: the
/// OAuth server tells them as it issues or receives them.
#[tokio::test]
async fn oauth_secrets_never_reach_transcripts_history_logs_exports_or_the_page() {
    let logs = captured_logs();
    let provider = Provider::telling_secrets();
    let running = bridge_for("redaction-oauth", &provider).await;
    let mut client = Client::connect(&running).await;
    let mut page_saw = String::new();
    let keep = |reply: super::harness::Reply, page_saw: &mut String| {
        for progress in &reply.progress {
            page_saw.push_str(&encode(progress).expect("encodes"));
        }
        match reply.result {
            Ok(outcome) => page_saw.push_str(&encode(&outcome).expect("encodes")),
            Err(error) => page_saw.push_str(&format!("{error:?}")),
        }
    };
    let profile = with_client(&mut client, &running, &provider).await;
    let user = profile.username.clone();
    // The same client typed in, as the page's form sends it.
    let oauth_client = provider.client();
    keep(
        client
            .call(Operation::SetOAuthClient {
                profile: profile.id.clone(),
                client: protocol::OAuthClientInput::Typed {
                    client_id: oauth_client.client_id.clone(),
                    client_secret: oauth_client.client_secret.clone(),
                },
            })
            .await,
        &mut page_saw,
    );

    let (id, url, port) = start_consent(&mut client, &profile.id).await;
    page_saw.push_str(&url);
    let browser_saw = provider.consent_in_browser(&url, port).await;
    keep(client.collect(id).await, &mut page_saw);

    // Sign-ins: a check, a send, a token refused once (the refresh-and-retry path), a refresh
    // after expiry, and the health the page reads.
    provider.refuse_introspections(1).await;
    for operation in [
        Operation::CheckConnection {
            profile: profile.id.clone(),
        },
        Operation::Send {
            profile: profile.id.clone(),
            draft: Draft {
                to: vec!["bob@example.com".to_owned()],
                subject: "canary".to_owned(),
                text: Some("hello".to_owned()),
                ..Draft::default()
            },
        },
        Operation::ListProfiles,
        Operation::ReadTokenHealth {
            profile: profile.id.clone(),
        },
    ] {
        let reply = client.call(operation).await;
        assert!(reply.result.is_ok(), "{:?}", reply.result);
        keep(reply, &mut page_saw);
    }
    // Delivery verification at the account's own mailbox over IMAP, signed in with the
    // profile's tokens (AUTHENTICATE XOAUTH2), one of them refused by the IMAP server first.
    link_sandbox_mailbox(&mut client, &profile.id).await;
    let reply = client
        .call(Operation::Send {
            profile: profile.id.clone(),
            draft: Draft {
                to: vec![user.clone()],
                subject: "canary over IMAP".to_owned(),
                text: Some("hello".to_owned()),
                ..Draft::default()
            },
        })
        .await;
    let Ok(Outcome::Sent(sent)) = &reply.result else {
        panic!("{:?}", reply.result);
    };
    let message_id = sent.message_id.clone();
    keep(reply, &mut page_saw);
    provider.refuse_introspections(1).await;
    let reply = client
        .call(Operation::Verify {
            mailbox: "sandbox".to_owned(),
            message_id: message_id.clone(),
            sent_at_unix_ms: None,
            limit_seconds: Some(10),
        })
        .await;
    let Ok(Outcome::Verified(report)) = &reply.result else {
        panic!("{:?}", reply.result);
    };
    let imap = serde_json::to_string(&report.transcript).expect("json");
    assert!(
        report.verdict.is_some() && imap.matches("AUTHENTICATE XOAUTH2").count() == 2,
        "{report:?}"
    );
    keep(reply, &mut page_saw);
    tokio::time::sleep(std::time::Duration::from_millis(3_100)).await;
    keep(
        client
            .call(Operation::CheckConnection {
                profile: profile.id.clone(),
            })
            .await,
        &mut page_saw,
    );
    keep(
        client
            .call(Operation::ReadVerdicts {
                message_id: message_id.clone(),
            })
            .await,
        &mut page_saw,
    );
    keep(
        client
            .call(Operation::DisconnectOAuth {
                profile: profile.id.clone(),
            })
            .await,
        &mut page_saw,
    );
    let Outcome::History { entries } = client.ok(Operation::ReadHistory { limit: 10 }).await else {
        panic!("no history");
    };
    let history = serde_json::to_string(&entries).expect("json");
    assert!(history.contains("AUTH XOAUTH2 ****"), "{history}");
    let exported = client
        .ok(Operation::ExportProfiles { profiles: vec![] })
        .await;

    provider.sync().await;
    let secrets = provider.secrets();
    for kind in [
        "access_token",
        "refresh_token",
        "authorization_code",
        "code_verifier",
    ] {
        assert!(
            secrets.iter().any(|(k, _)| k == kind),
            "the server told no {kind}: {secrets:?}"
        );
    }
    assert!(
        secrets.iter().filter(|(k, _)| k == "access_token").count() >= 4,
        "consent, the refreshes after the SMTP and IMAP refusals and the one after expiry: \
         {secrets:?}"
    );
    let mut forms = vec![oauth_client.client_secret.expose().to_owned()];
    for (kind, value) in &secrets {
        assert!(value.len() >= 16, "{kind} {value:?}");
        forms.push(value.clone());
        if kind == "access_token" {
            for payload in [
                format!("user={user}\x01auth=Bearer {value}\x01\x01"),
                format!("n,a={user},\x01auth=Bearer {value}\x01\x01"),
            ] {
                forms.push(STANDARD.encode(payload.as_bytes()));
            }
        }
    }
    // The browser is the one place the code goes (in its address), which is how OAuth works.
    assert!(!browser_saw.body.is_empty());
    assert_clean("what the page received", &page_saw, &forms);
    assert_clean("the history", &history, &forms);
    assert_clean("the IMAP transcript", &imap, &forms);
    assert_clean("the export", &format!("{exported:?}"), &forms);
    let logs = String::from_utf8_lossy(
        &logs
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner),
    )
    .into_owned();
    assert!(logs.contains("refreshing"), "TRACE logging was captured");
    assert_clean("the TRACE logs", &logs, &forms);
    let mut files = String::new();
    for name in [
        "config/profiles.json",
        "config/oauth-grants.json",
        "config/mailboxes.json",
        "data/verdicts.sqlite3",
    ] {
        let bytes = std::fs::read(running.dir.path().join(name)).unwrap_or_default();
        files.push_str(&String::from_utf8_lossy(&bytes));
    }
    assert!(files.contains("oauth_profile"), "{files}");
    assert!(files.contains(&oauth_client.client_id), "{files}");
    assert_clean(
        "the profiles, grants, mailboxes and verdicts files",
        &files,
        &forms,
    );
    running.stop().await;
}
