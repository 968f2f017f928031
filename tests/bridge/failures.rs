//! Each way the sandbox says no, as Gmail would, and the diagnosis the page shows for it.

use diagnosis::Retry;
use mailbridge::server::ServeConfig;
use profile::ProfileId;
use protocol::{Draft, ErrorKind, Operation, Outcome, Progress, Secret, Verdict};

use super::harness::{Client, Running, start};

async fn sandbox_id(running: &Running, client: &mut Client) -> ProfileId {
    running.sandbox_profile(client).await.id
}

fn draft() -> Draft {
    Draft {
        to: vec!["bob@example.com".to_owned()],
        subject: "Hello".to_owned(),
        text: Some("Hi Bob\n".to_owned()),
        ..Draft::default()
    }
}

/// Checks the sandbox profile with `password` stored and returns the diagnosis.
async fn check_with_password(name: &str, password: &str) -> diagnosis::Diagnosis {
    let running = start(name, |_| {}, ServeConfig::default()).await;
    let mut client = Client::connect(&running).await;
    let id = sandbox_id(&running, &mut client).await;
    client
        .ok(Operation::SetSecret {
            profile: id.clone(),
            secret: Secret::new(password),
        })
        .await;
    let Outcome::Checked(report) = client.ok(Operation::CheckConnection { profile: id }).await
    else {
        panic!("check did not report");
    };
    assert_eq!(report.verdict, Verdict::Failed, "{report:?}");
    running.stop().await;
    report.diagnosis.expect("a failed check has a diagnosis")
}

#[tokio::test]
async fn a_wrong_password_gets_the_535_diagnosis_with_its_fix() {
    let diagnosis = check_with_password("fail-535", "wrongwrongwrongw").await;
    assert_eq!(diagnosis.title, "Username and password not accepted");
    assert_eq!(diagnosis.retry, Retry::Permanent);
    assert!(
        diagnosis
            .fix
            .iter()
            .any(|step| step.contains("App Password")),
        "{:?}",
        diagnosis.fix
    );
    assert!(
        diagnosis
            .reply
            .as_deref()
            .is_some_and(|r| r.contains("535"))
    );
}

#[tokio::test]
async fn the_account_password_gets_the_534_app_password_diagnosis() {
    let diagnosis = check_with_password("fail-534", sandbox::DEFAULT_ACCOUNT_PASSWORD).await;
    assert_eq!(
        diagnosis.title,
        "App Password required (2-Step Verification is on)"
    );
}

#[tokio::test]
async fn too_many_login_attempts_is_transient() {
    let running = start(
        "fail-454",
        |c| c.faults.reject_auth = 1,
        ServeConfig::default(),
    )
    .await;
    let mut client = Client::connect(&running).await;
    let id = sandbox_id(&running, &mut client).await;
    let Outcome::Checked(report) = client.ok(Operation::CheckConnection { profile: id }).await
    else {
        panic!("no report");
    };
    let diagnosis = report.diagnosis.expect("diagnosis");
    assert_eq!(diagnosis.title, "Too many login attempts");
    assert_eq!(diagnosis.retry, Retry::Transient);
    running.stop().await;
}

#[tokio::test]
async fn the_daily_limit_waits_for_the_quota_window() {
    let running = start(
        "fail-quota",
        |c| c.faults.daily_limit = Some(1),
        ServeConfig::default(),
    )
    .await;
    let mut client = Client::connect(&running).await;
    let id = sandbox_id(&running, &mut client).await;
    client
        .ok(Operation::Send {
            profile: id.clone(),
            draft: draft(),
        })
        .await;
    let reply = client
        .call(Operation::Send {
            profile: id,
            draft: draft(),
        })
        .await;
    // Not a dead end: the message waits in the outbox for the quota window.
    let Ok(Outcome::Queued(queued)) = reply.result else {
        panic!(
            "the second send is over the daily limit: {:?}",
            reply.result
        );
    };
    let diagnosis = queued.diagnosis.expect("diagnosis");
    assert_eq!(diagnosis.title, "Daily sending limit reached");
    assert_eq!(diagnosis.retry, Retry::AfterQuotaWindow);
    assert!(
        queued
            .reason
            .starts_with("The sandbox said 550 5.4.5 Daily user sending limit exceeded")
            && queued.reason.contains("retrying at "),
        "{}",
        queued.reason
    );
    // The account is paused until its oldest send turns 24 hours old, and says so.
    let Outcome::Quotas { quotas } = client.ok(Operation::ReadQuotas).await else {
        panic!("no quotas");
    };
    let until = quotas[0]
        .paused_until_unix_ms
        .expect("the account is paused");
    let day = 24 * 60 * 60 * 1000;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_millis() as u64;
    assert!(
        until > now + day - 60_000 && until <= now + day,
        "{until} vs {now}"
    );
    assert!(
        quotas[0]
            .pause_reason
            .as_deref()
            .is_some_and(|r| r.contains("daily sending limit")),
        "{quotas:?}"
    );
    assert_eq!(running.sandbox().store().list().expect("list").len(), 1);
    running.stop().await;
}

#[tokio::test]
async fn a_421_at_mail_is_retried_and_the_send_succeeds() {
    let running = start(
        "fail-retry",
        |c| c.faults.reject_mail = 1,
        ServeConfig::default(),
    )
    .await;
    let mut client = Client::connect(&running).await;
    let id = sandbox_id(&running, &mut client).await;
    let reply = client
        .call(Operation::Send {
            profile: id,
            draft: draft(),
        })
        .await;
    let Ok(Outcome::Sent(report)) = reply.result else {
        panic!("the retry should succeed: {:?}", reply.result);
    };
    assert_eq!(report.attempts, 2, "one refusal, then success");
    assert!(
        reply
            .progress
            .iter()
            .any(|p| matches!(p, Progress::Retry { .. })),
        "the retry is announced"
    );
    assert_eq!(running.sandbox().store().list().expect("list").len(), 1);
    running.stop().await;
}

#[tokio::test]
async fn a_message_to_more_than_100_recipients_goes_in_groups_of_100() {
    let running = start("fail-452", |_| {}, ServeConfig::default()).await;
    let mut client = Client::connect(&running).await;
    let id = sandbox_id(&running, &mut client).await;
    let mut draft = draft();
    draft.to = (0..101).map(|n| format!("r{n}@example.com")).collect();
    let reply = client.call(Operation::Send { profile: id, draft }).await;
    let Ok(Outcome::Sent(report)) = reply.result else {
        panic!("101 recipients go in two transactions: {:?}", reply.result);
    };
    assert_eq!(report.recipients.len(), 101);
    // Gmail takes at most 100 recipients a transaction; the sandbox refuses the 101st.
    let store = running.sandbox().store();
    let mut groups: Vec<usize> = store
        .list()
        .expect("list")
        .iter()
        .map(|summary| {
            let message = store.get(summary.id).expect("read").expect("kept");
            message.envelope.rcpt_to.len()
        })
        .collect();
    groups.sort_unstable();
    assert_eq!(groups, vec![1, 100]);
    running.stop().await;
}

#[tokio::test]
async fn a_message_over_the_advertised_size_is_refused_before_data() {
    let running = start(
        "fail-size",
        |c| c.max_message_size = 20_000,
        ServeConfig::default(),
    )
    .await;
    let mut client = Client::connect(&running).await;
    let id = sandbox_id(&running, &mut client).await;
    let attachment = client
        .upload("big.bin", "application/octet-stream", &vec![7u8; 30_000])
        .await;
    let mut draft = draft();
    draft.attachments = vec![attachment];
    let error = client
        .call(Operation::Send { profile: id, draft })
        .await
        .result
        .expect_err("too big for the server's SIZE");
    let text = format!("{error}");
    assert!(
        error
            .diagnosis
            .as_ref()
            .is_some_and(|d| d.title.contains("too large")),
        "{text}"
    );
    running.stop().await;
}

#[tokio::test]
async fn a_421_at_every_greeting_gives_up_after_the_retries_as_transient() {
    let running = start(
        "fail-greeting",
        |c| c.faults.reject_greetings = 10,
        ServeConfig::default(),
    )
    .await;
    let mut client = Client::connect(&running).await;
    let id = sandbox_id(&running, &mut client).await;
    let reply = client
        .call(Operation::Send {
            profile: id,
            draft: draft(),
        })
        .await;
    // After the retries in place, the message waits in the outbox instead of being lost.
    let Ok(Outcome::Queued(queued)) = reply.result else {
        panic!("every greeting is refused: {:?}", reply.result);
    };
    assert!(
        queued
            .reason
            .starts_with("The sandbox said 421 4.7.0 Try again later"),
        "{}",
        queued.reason
    );
    assert!(queued.next_attempt_unix_ms.is_some());
    let diagnosis = queued.diagnosis.expect("diagnosis");
    assert_eq!(diagnosis.retry, Retry::Transient, "{diagnosis:?}");
    assert!(
        diagnosis
            .reply
            .as_deref()
            .is_some_and(|r| r.starts_with("421")),
        "{diagnosis:?}"
    );
    let retries = reply
        .progress
        .iter()
        .filter(|p| matches!(p, Progress::Retry { .. }))
        .count();
    assert_eq!(retries, 2, "three attempts in all");
    assert!(running.sandbox().store().list().expect("list").is_empty());
    running.stop().await;
}

#[tokio::test]
async fn a_connection_cut_during_data_is_reported_not_retried() {
    let running = start(
        "fail-drop",
        |c| c.faults.drop_in_data = 1,
        ServeConfig::default(),
    )
    .await;
    let mut client = Client::connect(&running).await;
    let id = sandbox_id(&running, &mut client).await;
    let reply = client
        .call(Operation::Send {
            profile: id,
            draft: draft(),
        })
        .await;
    let error = reply.result.expect_err("the connection was cut");
    assert_eq!(error.kind, ErrorKind::Smtp, "{error}");
    assert!(error.diagnosis.is_some(), "{error}");
    // Resending after DATA could deliver twice, so the bridge does not retry by itself.
    assert!(
        !reply
            .progress
            .iter()
            .any(|p| matches!(p, Progress::Retry { .. }))
    );
    assert!(running.sandbox().store().list().expect("list").is_empty());
    running.stop().await;
}
