use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};

use crate::support::{PASSWORD, TOKEN, USER, cmd, login, on_starttls, on_tls, python, start};

const ACCEPTED: &str = "2.7.0 Accepted";
const BAD_CREDENTIALS: &str = "5.7.8 Username and Password not accepted. For more information, go to\n\
                               5.7.8  https://support.google.com/mail/?p=BadCredentials <id> - gsmtp";
const APP_PASSWORD_REQUIRED: &str = "5.7.9 Application-specific password required. For more information, go to\n\
                                     5.7.9  https://support.google.com/mail/?p=InvalidSecondFactor <id> - gsmtp";
const XOAUTH2_JSON: &str =
    r#"{"status":"400","schemes":"Bearer","scope":"https://mail.google.com/"}"#;

fn auth(mechanism: &str, user: &str, secret: &str) -> Value {
    json!(["auth", mechanism, user, secret])
}

fn auth_without_initial_response(mechanism: &str, user: &str, secret: &str) -> Value {
    json!(["auth", mechanism, user, secret, false])
}

fn plain(user: &str, password: &str) -> String {
    STANDARD.encode(format!("\0{user}\0{password}"))
}

/// One login attempt on the implicit-TLS port: the steps, then the reply expected to the last
/// step, and the challenges Python must have been sent.
struct Case {
    name: &'static str,
    steps: Vec<Value>,
    code: u64,
    text: &'static str,
    challenges: Option<Vec<&'static str>>,
}

fn case(name: &'static str, steps: Vec<Value>, code: u64, text: &'static str) -> Case {
    Case {
        name,
        steps,
        code,
        text,
        challenges: None,
    }
}

#[tokio::test]
async fn every_mechanism_and_every_refusal() {
    let fixture = start("auth", |_| {}).await;
    let with_spaces = "sand boxs andb oxpw";
    let cases = vec![
        case("PLAIN", vec![auth("PLAIN", USER, PASSWORD)], 235, ACCEPTED),
        Case {
            challenges: Some(vec![""]),
            ..case(
                "PLAIN without initial response",
                vec![auth_without_initial_response("PLAIN", USER, PASSWORD)],
                235,
                ACCEPTED,
            )
        },
        Case {
            challenges: Some(vec!["Password:"]),
            ..case("LOGIN", vec![auth("LOGIN", USER, PASSWORD)], 235, ACCEPTED)
        },
        Case {
            challenges: Some(vec!["Username:", "Password:"]),
            ..case(
                "LOGIN without initial response",
                vec![auth_without_initial_response("LOGIN", USER, PASSWORD)],
                235,
                ACCEPTED,
            )
        },
        case(
            "user name in another case",
            vec![auth("PLAIN", &USER.to_uppercase(), PASSWORD)],
            235,
            ACCEPTED,
        ),
        Case {
            challenges: Some(vec![]),
            ..case("XOAUTH2", vec![auth("XOAUTH2", USER, TOKEN)], 235, ACCEPTED)
        },
        case(
            "XOAUTH2 without initial response",
            vec![auth_without_initial_response("XOAUTH2", USER, TOKEN)],
            235,
            ACCEPTED,
        ),
        Case {
            challenges: Some(vec![XOAUTH2_JSON]),
            ..case(
                "XOAUTH2 bad token",
                vec![auth("XOAUTH2", USER, "ya29.expired")],
                535,
                BAD_CREDENTIALS,
            )
        },
        Case {
            challenges: Some(vec![XOAUTH2_JSON]),
            ..case(
                "XOAUTH2 other user",
                vec![auth("XOAUTH2", "eve@example.com", TOKEN)],
                535,
                BAD_CREDENTIALS,
            )
        },
        case(
            "PLAIN wrong password",
            vec![auth("PLAIN", USER, "wrong")],
            535,
            BAD_CREDENTIALS,
        ),
        case(
            "LOGIN wrong password",
            vec![auth("LOGIN", USER, "wrong")],
            535,
            BAD_CREDENTIALS,
        ),
        case(
            "PLAIN wrong user",
            vec![auth("PLAIN", "eve@example.com", PASSWORD)],
            535,
            BAD_CREDENTIALS,
        ),
        case(
            "app password with Google's spaces",
            vec![auth("PLAIN", USER, with_spaces)],
            535,
            BAD_CREDENTIALS,
        ),
        case(
            "account password",
            vec![auth("LOGIN", USER, sandbox::DEFAULT_ACCOUNT_PASSWORD)],
            534,
            APP_PASSWORD_REQUIRED,
        ),
        case(
            "account password over PLAIN",
            vec![auth("PLAIN", USER, sandbox::DEFAULT_ACCOUNT_PASSWORD)],
            534,
            APP_PASSWORD_REQUIRED,
        ),
        case(
            "bad base64",
            vec![cmd("AUTH PLAIN !!!not-base64!!!")],
            501,
            "5.5.2 Cannot Decode response <id> - gsmtp",
        ),
        case(
            "unknown mechanism",
            vec![cmd("AUTH CRAM-MD5")],
            504,
            "5.7.4 Unrecognized authentication type. <id> - gsmtp",
        ),
        case(
            "a second AUTH",
            vec![
                login(),
                cmd(&format!("AUTH PLAIN {}", plain(USER, PASSWORD))),
            ],
            503,
            "5.7.0 No identity changes permitted. <id> - gsmtp",
        ),
        case(
            "cancelled",
            vec![cmd("AUTH LOGIN"), cmd("*")],
            501,
            "5.7.0 Authentication cancelled. <id> - gsmtp",
        ),
        case(
            "retry after a failure",
            vec![auth("PLAIN", USER, "wrong"), login()],
            235,
            ACCEPTED,
        ),
    ];
    let sessions = cases
        .iter()
        .map(|case| {
            let mut steps = vec![json!(["ehlo"])];
            steps.extend(case.steps.iter().cloned());
            on_tls(&fixture, steps)
        })
        .collect();
    let run = python(&fixture, sessions).await;
    for (index, case) in cases.iter().enumerate() {
        let last = case.steps.len() + 1;
        let got = run.reply(index, last);
        if got != (case.code, case.text.to_owned()) {
            run.fail(&format!(
                "case {:?}: expected {} {:?}, got {} {:?}",
                case.name, case.code, case.text, got.0, got.1
            ));
        }
        if let Some(expected) = &case.challenges {
            let challenges = &run.result(index, last)["challenges"];
            if challenges != &json!(expected) {
                run.fail(&format!(
                    "case {:?}: challenges {challenges}, expected {expected:?}",
                    case.name
                ));
            }
        }
    }
}

#[tokio::test]
async fn auth_needs_tls_on_the_starttls_port() {
    let fixture = start("auth-tls", |_| {}).await;
    let run = python(
        &fixture,
        vec![on_starttls(
            &fixture,
            vec![
                cmd(&format!("AUTH PLAIN {}", plain(USER, PASSWORD))),
                json!(["ehlo"]),
                cmd(&format!("AUTH PLAIN {}", plain(USER, PASSWORD))),
                json!(["starttls"]),
                cmd(&format!("AUTH PLAIN {}", plain(USER, PASSWORD))),
                json!(["ehlo"]),
                login(),
            ],
        )],
    )
    .await;
    run.assert_reply(0, 1, 503, "5.5.1 EHLO/HELO first. <id> - gsmtp");
    run.assert_reply(
        0,
        3,
        530,
        "5.7.0 Must issue a STARTTLS command first. <id> - gsmtp",
    );
    // After STARTTLS the client must EHLO again (RFC 3207).
    run.assert_reply(0, 5, 503, "5.5.1 EHLO/HELO first. <id> - gsmtp");
    run.assert_reply(0, 7, 235, ACCEPTED);
}
