use serde_json::json;

use crate::support::{Raw, cmd, on_starttls, on_tls, python, start};

const EHLO_BEFORE_TLS: &str = "localhost at your service, [127.0.0.1]\nSIZE 35882577\n8BITMIME\n\
                               STARTTLS\nENHANCEDSTATUSCODES\nPIPELINING\nCHUNKING\nSMTPUTF8";
const EHLO_AFTER_TLS: &str = "localhost at your service, [127.0.0.1]\nSIZE 35882577\n8BITMIME\n\
                              AUTH LOGIN PLAIN XOAUTH2\nENHANCEDSTATUSCODES\nPIPELINING\nCHUNKING\n\
                              SMTPUTF8";

#[tokio::test]
async fn greeting_and_ehlo_are_gmails_on_both_ports() {
    let fixture = start("greeting", |_| {}).await;
    let run = python(
        &fixture,
        vec![
            on_starttls(
                &fixture,
                vec![json!(["ehlo"]), json!(["starttls"]), json!(["ehlo"])],
            ),
            on_tls(&fixture, vec![json!(["ehlo"])]),
        ],
    )
    .await;
    run.assert_reply(
        0,
        0,
        220,
        "localhost ESMTP <id> - gsmtp (mailbridge sandbox)",
    );
    run.assert_reply(0, 1, 250, EHLO_BEFORE_TLS);
    run.assert_reply(0, 2, 220, "2.0.0 Ready to start TLS");
    run.assert_reply(0, 3, 250, EHLO_AFTER_TLS);
    run.assert_reply(
        1,
        0,
        220,
        "localhost ESMTP <id> - gsmtp (mailbridge sandbox)",
    );
    run.assert_reply(1, 1, 250, EHLO_AFTER_TLS);
    for (session, step) in [(0, 2), (1, 0)] {
        let tls = run.result(session, step)["tls"]
            .as_str()
            .unwrap_or_default();
        if tls != "TLSv1.3" && tls != "TLSv1.2" {
            run.fail(&format!(
                "session {session} negotiated {tls:?}, not TLS 1.2 or 1.3"
            ));
        }
    }
}

#[tokio::test]
async fn tls_1_2_is_accepted_on_both_ports() {
    let fixture = start("tls12", |_| {}).await;
    let mut starttls = on_starttls(&fixture, vec![json!(["secure"])]);
    starttls["max_tls"] = json!("TLSv1_2");
    let mut implicit = on_tls(&fixture, vec![json!(["tls_version"])]);
    implicit["max_tls"] = json!("TLSv1_2");
    let run = python(&fixture, vec![starttls, implicit]).await;
    assert_eq!(run.result(0, 1)["tls"], "TLSv1.2", "{:#}", run.output);
    assert_eq!(run.result(1, 1)["tls"], "TLSv1.2", "{:#}", run.output);
}

#[tokio::test]
async fn simple_commands_answer_as_gmail_does() {
    let fixture = start("simple", |_| {}).await;
    let cases = [
        ("NOOP", 250, "2.0.0 OK <id> - gsmtp"),
        ("RSET", 250, "2.1.5 Flushed <id> - gsmtp"),
        (
            "VRFY bob@example.com",
            252,
            "2.1.5 Send some mail, I'll try my best <id> - gsmtp",
        ),
        (
            "HELP",
            214,
            "2.0.0  https://www.google.com/search?btnI&q=RFC+5321 <id> - gsmtp",
        ),
        (
            "EXPN staff",
            502,
            "5.5.1 Unrecognized command. <id> - gsmtp",
        ),
        ("BDAT 0 LAST", 503, "5.5.1 EHLO/HELO first. <id> - gsmtp"),
        ("STARTTLS", 503, "5.5.1 TLS already active. <id> - gsmtp"),
        ("HELO client.example", 250, "localhost at your service"),
        ("QUIT", 221, "2.0.0 closing connection <id> - gsmtp"),
    ];
    let steps = cases.iter().map(|(line, _, _)| cmd(line)).collect();
    let run = python(&fixture, vec![on_tls(&fixture, steps)]).await;
    for (index, (_, code, text)) in cases.iter().enumerate() {
        run.assert_reply(0, index + 1, *code, text);
    }
}

#[tokio::test]
async fn helo_is_enough_to_send() {
    let fixture = start("helo", |_| {}).await;
    let run = python(
        &fixture,
        vec![on_tls(
            &fixture,
            vec![
                json!(["helo", "client.example"]),
                crate::support::login(),
                cmd("MAIL FROM:<ann@example.com>"),
            ],
        )],
    )
    .await;
    run.assert_reply(0, 1, 250, "localhost at your service");
    run.assert_reply(0, 2, 235, "2.7.0 Accepted");
    run.assert_reply(0, 3, 250, "2.1.0 OK <id> - gsmtp");
}

#[tokio::test]
async fn shutdown_says_goodbye_and_frees_the_ports() {
    let fixture = start("shutdown", |_| {}).await;
    let addr = fixture.starttls_addr();
    let mut client = Raw::connect(addr).await;
    client.expect("220 localhost ESMTP ").await;
    let crate::support::Fixture { sandbox, dir } = fixture;
    sandbox.shutdown().await;
    client.expect("421 4.3.0 Temporary System Problem.").await;
    assert_eq!(
        client.reply().await,
        None,
        "the connection should be closed"
    );
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "nothing should listen on {addr} after shutdown"
    );
    drop(dir);
}
