use serde_json::{Value, json};

use crate::support::{Fixture, cmd, login, message, on_starttls, on_tls, python, start};

const AUTH_REQUIRED: &str = "5.7.0 Authentication Required. For more information, go to\n\
                             5.7.0  https://support.google.com/mail/?p=WantAuthError <id> - gsmtp";
const SYNTAX: &str = "5.5.2 Syntax error, cannot decode response. <id> - gsmtp";
const TOO_BIG: &str = "5.3.4 Your message exceeded Google's message size limits. For more information, visit\n\
                       5.3.4  https://support.google.com/mail/?p=MaxSizeError <id> - gsmtp";
const NO_MESSAGE_ID: &str = "5.7.1 [127.0.0.1] Messages missing a valid Message-ID header are not\n\
                             5.7.1 accepted. For more information, go to\n\
                             5.7.1  https://support.google.com/mail/?p=RfcMessageNonCompliant <id> - gsmtp";
const BAD_FROM: &str = "5.7.1 [127.0.0.1] Messages missing a valid address in From: header, or having\n\
                        5.7.1 no From: header, are not accepted. For more information, go to\n\
                        5.7.1  https://support.google.com/mail/?p=RfcMessageNonCompliant <id> - gsmtp";

/// One session: where, the steps, and the reply expected to the last step.
struct Case {
    name: &'static str,
    implicit_tls: bool,
    steps: Vec<Value>,
    code: u64,
    text: String,
}

fn tls(name: &'static str, steps: Vec<Value>, code: u64, text: &str) -> Case {
    Case {
        name,
        implicit_tls: true,
        steps,
        code,
        text: text.to_owned(),
    }
}

fn plain(name: &'static str, steps: Vec<Value>, code: u64, text: &str) -> Case {
    Case {
        implicit_tls: false,
        ..tls(name, steps, code, text)
    }
}

/// EHLO and login, then `more`.
fn logged_in(more: Vec<Value>) -> Vec<Value> {
    let mut steps = vec![json!(["ehlo"]), login()];
    steps.extend(more);
    steps
}

fn envelope() -> Vec<Value> {
    vec![
        cmd("MAIL FROM:<ann@example.com>"),
        cmd("RCPT TO:<bob@example.com>"),
    ]
}

/// Sends `body` through DATA by hand (terminator included), so nothing fixes it on the way.
fn data(body: &str) -> Vec<Value> {
    let mut steps = envelope();
    steps.push(cmd("DATA"));
    steps.push(json!(["raw", format!("{body}\r\n.\r\n")]));
    steps.push(json!(["reply"]));
    steps
}

/// Runs each case in its own session of one sandbox, and checks the last reply of each.
async fn check(
    name: &str,
    configure: impl FnOnce(&mut sandbox::Config),
    cases: Vec<Case>,
) -> Fixture {
    let fixture = start(name, configure).await;
    let sessions = cases
        .iter()
        .map(|case| {
            if case.implicit_tls {
                on_tls(&fixture, case.steps.clone())
            } else {
                on_starttls(&fixture, case.steps.clone())
            }
        })
        .collect();
    let run = python(&fixture, sessions).await;
    for (index, case) in cases.iter().enumerate() {
        let got = run.reply(index, case.steps.len());
        if got != (case.code, case.text.clone()) {
            run.fail(&format!(
                "case {:?}: expected {} {:?}\n got {} {:?}",
                case.name, case.code, case.text, got.0, got.1
            ));
        }
    }
    fixture
}

#[tokio::test]
async fn commands_out_of_order() {
    let secure = || vec![json!(["secure"])];
    let with = |mut first: Vec<Value>, more: Vec<Value>| {
        first.extend(more);
        first
    };
    let cases = vec![
        plain(
            "MAIL before EHLO",
            vec![cmd("MAIL FROM:<ann@example.com>")],
            503,
            "5.5.1 EHLO/HELO first. <id> - gsmtp",
        ),
        plain(
            "MAIL before STARTTLS",
            vec![json!(["ehlo"]), cmd("MAIL FROM:<ann@example.com>")],
            530,
            "5.7.0 Must issue a STARTTLS command first. <id> - gsmtp",
        ),
        plain(
            "MAIL before AUTH after STARTTLS",
            with(secure(), vec![cmd("MAIL FROM:<ann@example.com>")]),
            530,
            AUTH_REQUIRED,
        ),
        tls(
            "MAIL before AUTH on 465",
            vec![json!(["ehlo"]), cmd("MAIL FROM:<ann@example.com>")],
            530,
            AUTH_REQUIRED,
        ),
        tls(
            "RCPT before MAIL",
            logged_in(vec![cmd("RCPT TO:<bob@example.com>")]),
            503,
            "5.5.1 MAIL first. <id> - gsmtp",
        ),
        tls(
            "DATA before MAIL",
            logged_in(vec![cmd("DATA")]),
            503,
            "5.5.1 MAIL first. <id> - gsmtp",
        ),
        tls(
            "DATA before RCPT",
            logged_in(vec![cmd("MAIL FROM:<ann@example.com>"), cmd("DATA")]),
            503,
            "5.5.1 RCPT first. <id> - gsmtp",
        ),
        tls(
            "MAIL twice",
            logged_in(vec![
                cmd("MAIL FROM:<ann@example.com>"),
                cmd("MAIL FROM:<ann@example.com>"),
            ]),
            503,
            "5.5.1 Nested MAIL command. <id> - gsmtp",
        ),
        tls(
            "RSET ends the transaction",
            logged_in(vec![
                cmd("MAIL FROM:<ann@example.com>"),
                cmd("RSET"),
                cmd("RCPT TO:<bob@example.com>"),
            ]),
            503,
            "5.5.1 MAIL first. <id> - gsmtp",
        ),
        plain(
            "STARTTLS before EHLO",
            vec![cmd("STARTTLS")],
            503,
            "5.5.1 EHLO/HELO first. <id> - gsmtp",
        ),
        tls(
            "unknown command",
            vec![cmd("FROBNICATE now")],
            502,
            "5.5.1 Unrecognized command. <id> - gsmtp",
        ),
    ];
    check("order", |_| {}, cases).await;
}

#[tokio::test]
async fn envelope_addresses() {
    let cases = vec![
        tls(
            "display name in MAIL",
            logged_in(vec![cmd("MAIL FROM:Ann <ann@example.com>")]),
            555,
            SYNTAX,
        ),
        tls(
            "bare address in MAIL",
            logged_in(vec![cmd("MAIL FROM:ann@example.com")]),
            555,
            SYNTAX,
        ),
        tls(
            "quoted display name in RCPT",
            logged_in(vec![
                cmd("MAIL FROM:<ann@example.com>"),
                cmd("RCPT TO:\"Bob\" <bob@example.com>"),
            ]),
            555,
            SYNTAX,
        ),
        tls(
            "invalid recipient",
            logged_in(vec![
                cmd("MAIL FROM:<ann@example.com>"),
                cmd("RCPT TO:<bob@@example..com>"),
            ]),
            553,
            "5.1.3 The recipient address <bob@@example..com> is not a valid RFC 5321 address. For\n\
             5.1.3 more information, go to\n\
             5.1.3  https://support.google.com/a/answer/3221692 <id> - gsmtp",
        ),
        tls(
            "invalid sender",
            logged_in(vec![cmd("MAIL FROM:<ann..x@example.com>")]),
            553,
            "5.1.7 The sender address <ann..x@example.com> is not a valid RFC 5321 address. For\n\
             5.1.7 more information, go to\n\
             5.1.7  https://support.google.com/a/answer/3221692 <id> - gsmtp",
        ),
        tls(
            "null sender",
            logged_in(vec![cmd("MAIL FROM:<>")]),
            250,
            "2.1.0 OK <id> - gsmtp",
        ),
        tls(
            "space after the colon",
            logged_in(vec![cmd(
                "MAIL FROM: <ann@example.com> BODY=8BITMIME SMTPUTF8",
            )]),
            250,
            "2.1.0 OK <id> - gsmtp",
        ),
        tls(
            "international address",
            logged_in(vec![
                cmd("MAIL FROM:<ann@example.com> SMTPUTF8"),
                cmd("RCPT TO:<bøb@exämple.de>"),
            ]),
            250,
            "2.1.5 OK <id> - gsmtp",
        ),
    ];
    check("envelope", |_| {}, cases).await;
}

#[tokio::test]
async fn more_than_100_recipients() {
    let mut steps = vec![cmd("MAIL FROM:<ann@example.com>")];
    steps.extend((0..101).map(|n| cmd(&format!("RCPT TO:<r{n}@example.com>"))));
    let mut exactly_100 = steps[..101].to_vec();
    exactly_100.push(cmd("DATA"));
    let cases = vec![
        tls(
            "101st recipient",
            logged_in(steps),
            452,
            "4.5.3 Your message has too many recipients. For more information regarding\n\
             4.5.3 Google's sending limits, visit\n\
             4.5.3  https://support.google.com/mail/answer/6592 <id> - gsmtp",
        ),
        // smtplib strips the reply's leading space (Gmail's "354  Go ahead").
        tls(
            "100 recipients are fine",
            logged_in(exactly_100),
            354,
            "Go ahead <id> - gsmtp",
        ),
    ];
    check("recipients", |_| {}, cases).await;
}

#[tokio::test]
async fn message_size() {
    let limit = 2000;
    let big = format!("{}{}", message("big"), "x".repeat(limit));
    let fits = message("fits");
    let cases = vec![
        tls(
            "declared SIZE over the limit",
            logged_in(vec![cmd("MAIL FROM:<ann@example.com> SIZE=2001")]),
            552,
            TOO_BIG,
        ),
        tls(
            "smtplib declares the size itself",
            logged_in(vec![json!([
                "sendmail",
                "ann@example.com",
                ["bob@example.com"],
                big
            ])]),
            552,
            TOO_BIG,
        ),
        tls(
            "undeclared, found in DATA",
            logged_in(data(&big)),
            552,
            TOO_BIG,
        ),
        tls(
            "SIZE at the limit",
            logged_in(vec![cmd("MAIL FROM:<ann@example.com> SIZE=2000")]),
            250,
            "2.1.0 OK <id> - gsmtp",
        ),
        tls(
            "a message that fits",
            logged_in(data(&fits)),
            250,
            "2.0.0 OK  <unix> <id> - gsmtp",
        ),
    ];
    let fixture = check("size", |config| config.max_message_size = limit, cases).await;
    assert_eq!(
        fixture.store().count().expect("count"),
        1,
        "only the message that fits is kept"
    );
    let ehlo = python(&fixture, vec![on_tls(&fixture, vec![json!(["ehlo"])])]).await;
    let (_, text) = ehlo.reply(0, 1);
    assert!(
        text.contains("\nSIZE 2000\n"),
        "EHLO must advertise the configured size: {text}"
    );
}

#[tokio::test]
async fn gmail_header_rules() {
    let without_id = "From: ann@example.com\r\nTo: bob@example.com\r\nSubject: no id\r\n\r\nHi";
    let without_from =
        "To: bob@example.com\r\nMessage-ID: <1@x.test>\r\nSubject: no from\r\n\r\nHi";
    let two_froms =
        "From: ann@example.com\r\nFrom: eve@example.com\r\nMessage-ID: <2@x.test>\r\n\r\nHi";
    let from_without_address = "From: Ann\r\nMessage-ID: <3@x.test>\r\n\r\nHi";
    let cases = vec![
        tls(
            "missing Message-ID",
            logged_in(data(without_id)),
            550,
            NO_MESSAGE_ID,
        ),
        tls(
            "missing Message-ID via sendmail",
            logged_in(vec![json!([
                "sendmail",
                "ann@example.com",
                ["bob@example.com"],
                without_id
            ])]),
            550,
            NO_MESSAGE_ID,
        ),
        tls("missing From", logged_in(data(without_from)), 550, BAD_FROM),
        tls(
            "two From headers",
            logged_in(data(two_froms)),
            550,
            BAD_FROM,
        ),
        tls(
            "From without an address",
            logged_in(data(from_without_address)),
            550,
            BAD_FROM,
        ),
    ];
    check("headers", |_| {}, cases).await;
}

#[tokio::test]
async fn ehlo_without_a_name_is_refused_and_closed() {
    let fixture = start("empty-ehlo", |_| {}).await;
    let run = python(
        &fixture,
        vec![on_starttls(&fixture, vec![cmd("EHLO"), cmd("NOOP")])],
    )
    .await;
    run.assert_reply(
        0,
        1,
        501,
        "5.5.4 Empty HELO/EHLO argument not allowed, closing connection. <id> - gsmtp",
    );
    assert_eq!(
        run.error(0, 2),
        Some("SMTPServerDisconnected"),
        "{:#}",
        run.output
    );
}

#[tokio::test]
async fn commands_pipelined_after_starttls_are_refused_without_tls() {
    let fixture = start("pipelined", |_| {}).await;
    let run = python(
        &fixture,
        vec![on_starttls(
            &fixture,
            vec![
                json!(["ehlo"]),
                json!(["raw", "STARTTLS\r\nMAIL FROM:<ann@example.com>\r\n"]),
                json!(["reply"]),
                cmd("NOOP"),
            ],
        )],
    )
    .await;
    run.assert_reply(
        0,
        3,
        523,
        "5.7.10 Error: no commands allowed to pipeline after STARTTLS",
    );
    assert_eq!(
        run.error(0, 4),
        Some("SMTPServerDisconnected"),
        "{:#}",
        run.output
    );
}

#[tokio::test]
async fn an_idle_session_expires() {
    let fixture = start("idle", |config| {
        config.idle_timeout = std::time::Duration::from_millis(500)
    })
    .await;
    let run = python(
        &fixture,
        vec![on_starttls(
            &fixture,
            vec![json!(["secure"]), json!(["reply"])],
        )],
    )
    .await;
    run.assert_reply(
        0,
        2,
        421,
        "4.7.0 Connection expired, try reconnecting. <id> - gsmtp",
    );
    let waited = run.result(0, 2)["ms"].as_f64().unwrap_or_default();
    assert!(
        waited >= 400.0,
        "expired after {waited} ms, before the idle timeout"
    );
}

#[tokio::test]
async fn pipelined_commands_are_answered_in_order() {
    let fixture = start("pipelining", |_| {}).await;
    let batch =
        "MAIL FROM:<ann@example.com>\r\nRCPT TO:<bob@example.com>\r\nRCPT TO:<bad@>\r\nDATA\r\n";
    let run = python(
        &fixture,
        vec![on_tls(
            &fixture,
            vec![
                login(),
                json!(["raw", batch]),
                json!(["reply"]),
                json!(["reply"]),
                json!(["reply"]),
                json!(["reply"]),
                json!(["raw", format!("{}.\r\n", message("pipelined"))]),
                json!(["reply"]),
            ],
        )],
    )
    .await;
    run.assert_reply(0, 3, 250, "2.1.0 OK <id> - gsmtp");
    run.assert_reply(0, 4, 250, "2.1.5 OK <id> - gsmtp");
    assert_eq!(run.reply(0, 5).0, 553, "the bad recipient alone is refused");
    run.assert_reply(0, 6, 354, "Go ahead <id> - gsmtp");
    run.assert_reply(0, 8, 250, "2.0.0 OK  <unix> <id> - gsmtp");
    let message = &fixture.store().list().expect("list")[0];
    let envelope = fixture
        .store()
        .get(message.id)
        .expect("get")
        .expect("exists")
        .envelope;
    assert_eq!(envelope.rcpt_to, ["bob@example.com"]);
}
