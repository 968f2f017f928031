use sandbox::{Config, Faults, Sandbox};
use serde_json::json;

use crate::support::{TempDir, cmd, login, on_starttls, on_tls, python, send_steps, start};

const DAILY_LIMIT: &str = "5.4.5 Daily user sending limit exceeded. For more information on Gmail\n\
                           5.4.5 sending limits go to\n\
                           5.4.5  https://support.google.com/a/answer/166852 <id> - gsmtp";
const TRY_AGAIN: &str = "4.7.0 Try again later, closing connection. <id> - gsmtp";
const TOO_MANY_LOGINS: &str = "4.7.0 Too many login attempts, please try again later. <id> - gsmtp";

#[tokio::test]
async fn the_daily_limit_counts_across_restarts_and_can_be_lifted_live() {
    let dir = TempDir::new("daily");
    let config = || {
        let mut config = Config::new(dir.path());
        config.faults.daily_limit = Some(2);
        config
    };
    let first = Sandbox::start(config()).await.expect("start");
    let run = python(
        &first,
        (0..3)
            .map(|n| on_tls(&first, send_steps(&format!("quota {n}"))))
            .collect(),
    )
    .await;
    for session in 0..2 {
        if run.error(session, 2).is_some() {
            run.fail(&format!("message {session} is within the limit"));
        }
    }
    run.assert_reply(2, 2, 550, DAILY_LIMIT);
    assert_eq!(run.error(2, 2), Some("SMTPSenderRefused"));
    first.shutdown().await;

    // The rolling 24 hours are counted in the store, so a restart gives nothing back.
    let second = Sandbox::start(config()).await.expect("restart");
    let run = python(&second, vec![on_tls(&second, send_steps("after restart"))]).await;
    run.assert_reply(0, 2, 550, DAILY_LIMIT);
    second.faults().update(|faults| faults.daily_limit = None);
    let run = python(&second, vec![on_tls(&second, send_steps("lifted"))]).await;
    if run.error(0, 2).is_some() {
        run.fail("the limit was lifted");
    }
    assert_eq!(second.store().count().expect("count"), 3);
    second.shutdown().await;
}

#[tokio::test]
async fn throttled_greetings_set_at_start() {
    let fixture = start("greeting-421", |config| config.faults.reject_greetings = 2).await;
    let sessions = vec![
        on_starttls(&fixture, vec![]),
        on_tls(&fixture, vec![]),
        on_starttls(&fixture, vec![json!(["ehlo"])]),
    ];
    let run = python(&fixture, sessions).await;
    run.assert_reply(0, 0, 421, TRY_AGAIN);
    run.assert_reply(1, 0, 421, TRY_AGAIN);
    run.assert_reply(
        2,
        0,
        220,
        "localhost ESMTP <id> - gsmtp (mailbridge sandbox)",
    );
    assert_eq!(
        fixture.faults().get(),
        Faults::default(),
        "both rejections were used up"
    );
}

#[tokio::test]
async fn throttled_mail_switched_on_while_running() {
    let fixture = start("mail-421", |_| {}).await;
    fixture.faults().update(|faults| faults.reject_mail = 1);
    let run = python(
        &fixture,
        vec![
            on_tls(
                &fixture,
                [send_steps("throttled"), vec![cmd("NOOP")]].concat(),
            ),
            on_tls(&fixture, send_steps("next one")),
        ],
    )
    .await;
    run.assert_reply(0, 2, 421, TRY_AGAIN);
    assert_eq!(
        run.error(0, 3),
        Some("SMTPServerDisconnected"),
        "421 closes the connection"
    );
    if run.error(1, 2).is_some() {
        run.fail("only the next MAIL was to be refused");
    }
}

#[tokio::test]
async fn throttled_logins() {
    let fixture = start("auth-454", |_| {}).await;
    fixture.faults().update(|faults| faults.reject_auth = 1);
    let run = python(&fixture, vec![on_tls(&fixture, vec![login(), login()])]).await;
    run.assert_reply(0, 1, 454, TOO_MANY_LOGINS);
    run.assert_reply(0, 2, 235, "2.7.0 Accepted");
}

#[tokio::test]
async fn a_slow_server_delays_every_reply() {
    let fixture = start("slow", |_| {}).await;
    fixture
        .faults()
        .update(|faults| faults.reply_delay_ms = 300);
    let run = python(
        &fixture,
        vec![on_starttls(&fixture, vec![cmd("NOOP"), cmd("NOOP")])],
    )
    .await;
    for step in 0..3 {
        let ms = run.result(0, step)["ms"].as_f64().unwrap_or_default();
        if ms < 290.0 {
            run.fail(&format!(
                "step {step} took {ms} ms, less than the 300 ms delay"
            ));
        }
    }
    run.assert_reply(0, 2, 250, "2.0.0 OK <id> - gsmtp");
}

#[tokio::test]
async fn a_connection_cut_in_the_middle_of_data() {
    let fixture = start("cut", |_| {}).await;
    fixture.faults().update(|faults| faults.drop_in_data = 1);
    let run = python(
        &fixture,
        vec![
            on_tls(&fixture, send_steps("cut")),
            on_tls(&fixture, send_steps("whole")),
        ],
    )
    .await;
    // Python names a cut differently depending on timing (disconnected, reset, TLS EOF);
    // what matters is an error with no SMTP reply in it.
    if run.error(0, 2).is_none() || run.result(0, 2)["code"].is_number() {
        run.fail("a cut connection must fail the send without a reply");
    }
    if run.error(1, 2).is_some() {
        run.fail("only the next DATA was to be cut");
    }
    let subjects: Vec<String> = fixture
        .store()
        .list()
        .expect("list")
        .into_iter()
        .map(|s| s.subject)
        .collect();
    assert_eq!(subjects, ["whole"], "the cut message must not be captured");
}
