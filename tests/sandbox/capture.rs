use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use sandbox::{Config, Sandbox};
use serde_json::json;

use crate::support::{
    PASSWORD, TOKEN, TempDir, USER, login, on_starttls, on_tls, python, send_steps, test_bytes,
};

#[tokio::test]
async fn a_multipart_message_reads_back_with_its_attachment_byte_exact() {
    let fixture = start_default("multipart").await;
    let mut arrivals = fixture.store().subscribe();
    let attachment = test_bytes(70_000);
    let spec = json!({
        "from": "Ann Example <ann@example.com>",
        "to": ["bob@example.com"],
        "subject": "Quarterly report ✓",
        "text": "Hello Bob,\n.\n..leading dots survive\n",
        "html": "<p>Hello <b>Bob</b></p>",
        "attachments": [{
            "filename": "report.pdf",
            "maintype": "application",
            "subtype": "pdf",
            "base64": STANDARD.encode(&attachment),
        }],
    });
    let run = python(
        &fixture,
        vec![on_starttls(
            &fixture,
            vec![json!(["secure"]), login(), json!(["send_message", spec])],
        )],
    )
    .await;
    if run.error(0, 3).is_some() {
        run.fail("send_message failed");
    }
    let arrived = tokio::time::timeout(crate::support::PATIENCE, arrivals.recv())
        .await
        .expect("a subscriber hears of the message")
        .expect("the arrival stream is open");
    let list = fixture.store().list().expect("list");
    assert_eq!(
        list,
        std::slice::from_ref(&arrived),
        "the inbox lists what was announced"
    );
    assert_eq!(arrived.from, "Ann Example <ann@example.com>");
    assert_eq!(arrived.to, ["bob@example.com"]);
    assert_eq!(arrived.subject, "Quarterly report ✓");
    assert_eq!(
        arrived.size_bytes,
        run.result(0, 3)["size"].as_u64().unwrap_or(0)
    );

    let message = fixture
        .store()
        .get(arrived.id)
        .expect("read")
        .expect("the message exists");
    assert_eq!(message.envelope.mail_from, "ann@example.com");
    assert_eq!(message.envelope.rcpt_to, ["bob@example.com"]);
    assert_eq!(
        message.tls_version.as_deref(),
        run.result(0, 1)["tls"].as_str()
    );
    assert_eq!(message.auth_mechanism.as_deref(), Some("PLAIN"));
    assert_eq!(
        message
            .text
            .as_deref()
            .map(|t| t.replace("\r\n", "\n"))
            .as_deref(),
        Some("Hello Bob,\n.\n..leading dots survive\n")
    );
    assert_eq!(
        message.html.as_deref().map(str::trim_end),
        Some("<p>Hello <b>Bob</b></p>")
    );
    assert_eq!(message.attachments.len(), 1, "{:?}", message.attachments);
    let got = &message.attachments[0];
    assert_eq!(got.filename.as_deref(), Some("report.pdf"));
    assert_eq!(got.content_type, "application/pdf");
    assert_eq!(got.size_bytes, attachment.len() as u64);
    assert!(
        got.content == attachment,
        "the attachment's bytes changed on the way"
    );
    let names: Vec<&str> = message.headers.iter().map(|h| h.name.as_str()).collect();
    let position = |name: &str| names.iter().position(|n| n.eq_ignore_ascii_case(name));
    assert!(
        position("From") < position("Subject") && position("Subject") < position("Message-ID"),
        "headers must keep the order Python wrote them in: {names:?}"
    );
    let raw = fixture
        .store()
        .raw(arrived.id)
        .expect("raw")
        .expect("exists");
    let sent = STANDARD
        .decode(run.result(0, 3)["base64"].as_str().unwrap_or_default())
        .expect("the driver reports what it sent");
    assert!(
        raw == sent,
        "the captured source must be exactly the bytes Python sent"
    );
    assert_eq!(message.raw.as_bytes(), raw.as_slice());
    assert!(
        raw.ends_with(b"\r\n"),
        "the terminating dot is not part of the message"
    );

    // The web page receives this as JSON; the attachment travels as base64.
    let json = serde_json::to_value(&message).expect("serializes");
    assert_eq!(
        json["attachments"][0]["content_base64"],
        STANDARD.encode(&attachment)
    );
    assert_eq!(
        json["summary"]["received_unix_ms"],
        arrived.received_unix_ms
    );
}

#[tokio::test]
async fn dot_stuffing_and_bcc_are_handled_like_gmail() {
    let fixture = start_default("dots").await;
    let body = "From: ann@example.com\r\nTo: bob@example.com\r\nMessage-ID: <dots@x.test>\r\n\
                Subject: dots\r\n\r\n.\r\n..\r\n.starts with a dot\r\nend\r\n";
    let run = python(
        &fixture,
        vec![on_tls(
            &fixture,
            vec![
                login(),
                json!([
                    "sendmail",
                    "ann@example.com",
                    ["bob@example.com", "hidden@example.com"],
                    body
                ]),
            ],
        )],
    )
    .await;
    if run.error(0, 2).is_some() {
        run.fail("sendmail failed");
    }
    let summary = &fixture.store().list().expect("list")[0];
    let raw = fixture
        .store()
        .raw(summary.id)
        .expect("raw")
        .expect("exists");
    assert_eq!(
        String::from_utf8_lossy(&raw),
        body,
        "the message must come back exactly as sent"
    );
    // Bcc recipients are in the envelope only, as Gmail delivers them.
    assert_eq!(summary.to, ["bob@example.com"]);
    let message = fixture
        .store()
        .get(summary.id)
        .expect("get")
        .expect("exists");
    assert_eq!(
        message.envelope.rcpt_to,
        ["bob@example.com", "hidden@example.com"]
    );
}

#[tokio::test]
async fn each_session_records_its_tls_version_and_mechanism() {
    let fixture = start_default("mechanisms").await;
    let send = |auth: serde_json::Value, subject: &str| {
        let mut steps = vec![auth];
        steps.extend(send_steps(subject).into_iter().skip(1));
        steps
    };
    let mut tls12 = on_starttls(
        &fixture,
        [
            vec![json!(["secure"])],
            send(json!(["auth", "LOGIN", USER, PASSWORD]), "login-1.2"),
        ]
        .concat(),
    );
    tls12["max_tls"] = json!("TLSv1_2");
    let run = python(
        &fixture,
        vec![
            on_tls(
                &fixture,
                send(json!(["auth", "PLAIN", USER, PASSWORD]), "plain"),
            ),
            tls12,
            on_tls(
                &fixture,
                send(json!(["auth", "XOAUTH2", USER, TOKEN]), "xoauth2"),
            ),
        ],
    )
    .await;
    let mut seen: Vec<(String, Option<String>, Option<String>)> = fixture
        .store()
        .list()
        .expect("list")
        .iter()
        .map(|summary| {
            let message = fixture
                .store()
                .get(summary.id)
                .expect("get")
                .expect("exists");
            (
                summary.subject.clone(),
                message.tls_version,
                message.auth_mechanism,
            )
        })
        .collect();
    seen.sort();
    let expected = |subject: &str, tls: &str, mechanism: &str| {
        (
            subject.to_owned(),
            Some(tls.to_owned()),
            Some(mechanism.to_owned()),
        )
    };
    let default_tls = run.result(0, 0)["tls"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert_eq!(
        seen,
        [
            expected("login-1.2", "TLSv1.2", "LOGIN"),
            expected("plain", &default_tls, "PLAIN"),
            expected("xoauth2", &default_tls, "XOAUTH2"),
        ],
        "{:#}",
        run.output
    );
}

#[tokio::test]
async fn captures_and_certificates_survive_a_restart() {
    let dir = TempDir::new("restart");
    let first = Sandbox::start(Config::new(dir.path()))
        .await
        .expect("first start");
    let run = python(&first, vec![on_tls(&first, send_steps("before restart"))]).await;
    if run.error(0, 2).is_some() {
        run.fail("sendmail failed");
    }
    let ca = first.ca_cert_pem().to_owned();
    let listed = first.store().list().expect("list");
    first.shutdown().await;

    let second = Sandbox::start(Config::new(dir.path()))
        .await
        .expect("second start");
    assert_eq!(
        second.store().list().expect("list"),
        listed,
        "the inbox survives a restart"
    );
    assert_eq!(
        second.ca_cert_pem(),
        ca,
        "a CA the user trusted stays valid"
    );
    let run = python(
        &second,
        vec![on_starttls(
            &second,
            [vec![json!(["secure"])], send_steps("after restart")].concat(),
        )],
    )
    .await;
    if run.error(0, 3).is_some() {
        run.fail("sendmail after the restart failed");
    }
    let subjects: Vec<String> = second
        .store()
        .list()
        .expect("list")
        .into_iter()
        .map(|s| s.subject)
        .collect();
    assert_eq!(subjects, ["after restart", "before restart"]);
    second.shutdown().await;
}

#[tokio::test]
async fn the_banner_tells_how_to_connect() {
    let fixture = start_default("banner").await;
    let banner = fixture.banner();
    for needle in [
        fixture.starttls_addr().to_string(),
        fixture.tls_addr().to_string(),
        USER.to_owned(),
        PASSWORD.to_owned(),
        TOKEN.to_owned(),
        fixture.ca_cert_path().display().to_string(),
    ] {
        assert!(
            banner.contains(&needle),
            "the banner lacks {needle:?}:\n{banner}"
        );
    }
    let pem = std::fs::read_to_string(fixture.ca_cert_path()).expect("the CA file exists");
    assert_eq!(pem, fixture.ca_cert_pem());
}

async fn start_default(name: &str) -> crate::support::Fixture {
    crate::support::start(name, |_| {}).await
}
