//! The JSON forms other crates and the web app rely on.

use diagnosis::{
    CertProblem, CertificateInfo, Diagnosis, EnhancedCode, Failure, HandshakeProblem, ParseError,
    Reply, Retry, Step, explain,
};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

#[track_caller]
fn round_trip<T: Serialize + DeserializeOwned + PartialEq + std::fmt::Debug>(value: &T) -> Value {
    let json = match serde_json::to_value(value) {
        Ok(json) => json,
        Err(error) => panic!("{value:?} does not serialize: {error}"),
    };
    match serde_json::from_value::<T>(json.clone()) {
        Ok(back) => assert_eq!(&back, value, "{json}"),
        Err(error) => panic!("{json} does not deserialize: {error}"),
    }
    json
}

#[test]
fn failures_are_tagged_by_kind() {
    let reply = Reply::new(
        535,
        Some(EnhancedCode::new(5, 7, 8)),
        "Username and Password not accepted.",
    );
    let cases = [
        (
            Failure::Reply {
                reply,
                step: Some(Step::Auth),
            },
            json!({
                "kind": "reply",
                "reply": {
                    "code": 535,
                    "enhanced": {"class": 5, "subject": 7, "detail": 8},
                    "lines": ["Username and Password not accepted."]
                },
                "step": "auth"
            }),
        ),
        (
            Failure::Dns {
                host: "smtp.gmail.com".to_owned(),
                detail: "no such host".to_owned(),
            },
            json!({"kind": "dns", "host": "smtp.gmail.com", "detail": "no such host"}),
        ),
        (
            Failure::ConnectionRefused {
                host: "smtp.gmail.com".to_owned(),
                port: 587,
            },
            json!({"kind": "connection_refused", "host": "smtp.gmail.com", "port": 587}),
        ),
        (
            Failure::Timeout {
                step: Step::StartTls,
                seconds: 30,
            },
            json!({"kind": "timeout", "step": "start_tls", "seconds": 30}),
        ),
        (
            Failure::TlsCertificate {
                problem: CertProblem::UnknownIssuer,
                detail: "x".to_owned(),
                host: String::new(),
                chain: Vec::new(),
                checked_at: None,
            },
            json!({"kind": "tls_certificate", "problem": "unknown_issuer", "detail": "x"}),
        ),
        (
            Failure::TlsCertificate {
                problem: CertProblem::SelfSigned,
                detail: "x".to_owned(),
                host: "relay.example.com".to_owned(),
                chain: vec![CertificateInfo {
                    subject: "CN=relay.example.com".to_owned(),
                    issuer: "CN=relay.example.com".to_owned(),
                    not_before: "2026-01-01T00:00:00Z".to_owned(),
                    not_after: "2027-01-01T00:00:00Z".to_owned(),
                    sha256: "AB:CD".to_owned(),
                    names: vec!["relay.example.com".to_owned()],
                }],
                checked_at: Some("2026-06-01T00:00:00Z".to_owned()),
            },
            json!({
                "kind": "tls_certificate", "problem": "self_signed", "detail": "x",
                "host": "relay.example.com",
                "chain": [{
                    "subject": "CN=relay.example.com", "issuer": "CN=relay.example.com",
                    "not_before": "2026-01-01T00:00:00Z", "not_after": "2027-01-01T00:00:00Z",
                    "sha256": "AB:CD", "names": ["relay.example.com"]
                }],
                "checked_at": "2026-06-01T00:00:00Z"
            }),
        ),
        (
            Failure::TlsHandshake {
                detail: "x".to_owned(),
                problem: HandshakeProblem::Unknown,
            },
            json!({"kind": "tls_handshake", "detail": "x"}),
        ),
        (
            Failure::TlsHandshake {
                detail: "x".to_owned(),
                problem: HandshakeProblem::OldVersion,
            },
            json!({"kind": "tls_handshake", "detail": "x", "problem": "old_version"}),
        ),
        (
            Failure::NoStartTls {
                host: "smtp.gmail.com".to_owned(),
                port: 587,
            },
            json!({"kind": "no_start_tls", "host": "smtp.gmail.com", "port": 587}),
        ),
    ];
    for (failure, expected) in cases {
        assert_eq!(round_trip(&failure), expected);
    }
}

#[test]
fn a_reply_failure_without_a_step_reads_as_none() {
    let json = json!({"kind": "reply", "reply": {"code": 421, "enhanced": null, "lines": ["x"]}});
    match serde_json::from_value::<Failure>(json) {
        Ok(Failure::Reply { step, .. }) => assert_eq!(step, None),
        other => panic!("{other:?}"),
    }
}

#[test]
fn enums_are_snake_case() {
    assert_eq!(
        round_trip(&Retry::AfterQuotaWindow),
        json!("after_quota_window")
    );
    assert_eq!(round_trip(&Retry::Transient), json!("transient"));
    assert_eq!(
        round_trip(&CertProblem::NameMismatch),
        json!("name_mismatch")
    );
    for (step, name) in [
        (Step::Dns, "dns"),
        (Step::Tcp, "tcp"),
        (Step::Tls, "tls"),
        (Step::Greeting, "greeting"),
        (Step::Ehlo, "ehlo"),
        (Step::StartTls, "start_tls"),
        (Step::Auth, "auth"),
        (Step::Mail, "mail"),
        (Step::Rcpt, "rcpt"),
        (Step::Data, "data"),
        (Step::Quit, "quit"),
    ] {
        assert_eq!(round_trip(&step), json!(name));
    }
}

#[test]
fn diagnoses_round_trip_with_their_field_names() {
    let diagnosis = match explain("550 5.4.5 Daily user sending limit exceeded. id - gsmtp") {
        Ok(diagnosis) => diagnosis,
        Err(error) => panic!("{error}"),
    };
    let json = round_trip(&diagnosis);
    for field in [
        "title",
        "what_happened",
        "likely_cause",
        "fix",
        "help_link",
        "retry",
        "reply",
    ] {
        assert!(json.get(field).is_some(), "missing {field} in {json}");
    }
    assert_eq!(json["retry"], "after_quota_window");
    let _: Diagnosis = match serde_json::from_value(json) {
        Ok(back) => back,
        Err(error) => panic!("{error}"),
    };
}

#[test]
fn parse_errors_round_trip() {
    for raw in ["", "abc", "600 x", "535 a\n534 b"] {
        match Reply::parse(raw) {
            Err(error) => {
                round_trip::<ParseError>(&error);
            }
            Ok(reply) => panic!("{raw:?} parsed as {reply:?}"),
        }
    }
}
