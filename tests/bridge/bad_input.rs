//! Bad input from the page or from files: each gets a clear error naming the field, the
//! connection and the bridge stay up, and stored profiles are untouched.

use mailbridge::cli::open_bridge;
use mailbridge::server::ServeConfig;
use profile::{Conflict, Header, Preset, Profile, ProfileId, Security};
use protocol::{Draft, ErrorKind, Operation, Outcome, ServerMessage};

use super::harness::{Client, start};

#[tokio::test]
async fn unreadable_messages_get_an_error_and_the_connection_stays_up() {
    let running = start("bad-json", |_| {}, ServeConfig::default()).await;
    let mut client = Client::connect(&running).await;
    let cases = [
        "{",
        "not json",
        r#"{"type":"launch"}"#,
        r#"{"type":"request","id":1,"operation":{"op":"read_secret","profile":"x"}}"#,
        r#"{"type":"request","id":"one","operation":{"op":"list_profiles"}}"#,
        r#"{"type":"request","id":2}"#,
    ];
    for text in cases {
        match client.raw(text).await {
            Some(ServerMessage::Failed { id: None, error }) => {
                assert_eq!(error.kind, ErrorKind::BadRequest, "{text}: {error}");
                assert!(error.message.len() > 15, "{text}: {error}");
            }
            other => panic!("{text}: expected an error, got {other:?}"),
        }
    }
    assert!(matches!(
        client.ok(Operation::ListProfiles).await,
        Outcome::Profiles { .. }
    ));
    running.stop().await;
}

#[tokio::test]
async fn invalid_addresses_and_header_injection_name_the_field() {
    let running = start("bad-draft", |_| {}, ServeConfig::default()).await;
    let mut client = Client::connect(&running).await;
    let profile = running.sandbox_profile(&mut client).await;
    let cases: &[(Draft, &str)] = &[
        (
            Draft {
                to: vec!["bob@example.com".into(), "not an address".into()],
                subject: "x".into(),
                text: Some("x".into()),
                ..Draft::default()
            },
            "to[1]",
        ),
        (
            Draft {
                to: vec!["bob@example.com".into()],
                bcc: vec!["a@@b".into()],
                subject: "x".into(),
                text: Some("x".into()),
                ..Draft::default()
            },
            "bcc[0]",
        ),
        (
            Draft {
                to: vec!["bob@example.com".into()],
                subject: "Hi\r\nBcc: everyone@example.com".into(),
                text: Some("x".into()),
                ..Draft::default()
            },
            "subject",
        ),
        (
            Draft {
                to: vec!["bob@example.com".into()],
                subject: "x".into(),
                text: Some("x".into()),
                headers: vec![Header {
                    name: "X-Note".into(),
                    value: "a\nTo: victim@example.com".into(),
                }],
                ..Draft::default()
            },
            "headers[0]",
        ),
        (
            Draft {
                subject: "x".into(),
                text: Some("x".into()),
                ..Draft::default()
            },
            "to",
        ),
    ];
    for (draft, field) in cases {
        let error = client
            .call(Operation::Send {
                profile: profile.id.clone(),
                draft: draft.clone(),
            })
            .await
            .result
            .expect_err("a bad draft is refused");
        assert_eq!(error.kind, ErrorKind::Invalid, "{error}");
        assert!(
            error.problems.iter().any(|p| p.path.starts_with(field)),
            "expected a problem at {field}: {error}"
        );
    }
    assert!(
        running.sandbox().store().list().expect("list").is_empty(),
        "nothing was sent"
    );
    running.stop().await;
}

#[tokio::test]
async fn an_invalid_profile_or_import_changes_nothing() {
    let running = start("bad-profile", |_| {}, ServeConfig::default()).await;
    let mut client = Client::connect(&running).await;
    let before = std::fs::read(running.profiles_file()).expect("the profiles file exists");

    let mut broken = Profile::from_preset(
        Preset::Custom,
        ProfileId("relay".into()),
        "Relay",
        "ann@example.com",
    );
    broken.host = "mail.example.com".into();
    broken.port = 0;
    broken.security = Security::Plain;
    let error = client
        .call(Operation::SaveProfile { profile: broken })
        .await
        .result
        .expect_err("an invalid profile is refused");
    assert_eq!(error.kind, ErrorKind::Invalid);
    let paths: Vec<&str> = error.problems.iter().map(|p| p.path.as_str()).collect();
    assert!(paths.contains(&"port"), "{paths:?}");
    assert!(paths.contains(&"security"), "{paths:?}");

    let error = client
        .call(Operation::ImportProfiles {
            json: r#"{"format":"mailbridge-profiles","version":9,"profiles":[]}"#.into(),
            conflict: Conflict::Skip,
        })
        .await
        .result
        .expect_err("an unknown version is refused");
    assert!(error.to_string().contains('9'), "{error}");

    let error = client
        .call(Operation::ImportProfiles {
            json: r#"{"format":"mailbridge-profiles","version":1,"profiles":[{"name":"x","password":"hunter2"}]}"#.into(),
            conflict: Conflict::Skip,
        })
        .await
        .result
        .expect_err("a file with a password is refused");
    assert!(
        error
            .problems
            .iter()
            .any(|p| p.path.contains("profiles[0]")),
        "{error}"
    );

    assert_eq!(
        std::fs::read(running.profiles_file()).expect("still there"),
        before,
        "the stored profiles are untouched"
    );
    running.stop().await;
}

#[tokio::test]
async fn a_broken_profiles_file_is_reported_and_left_alone() {
    let running = start("bad-file", |_| {}, ServeConfig::default()).await;
    let path = running.profiles_file();
    let global = running.global.clone();
    let _dir = running.stop().await;
    let garbage =
        b"{\"format\": \"mailbridge-profiles\", \"version\": 1, \"profiles\": [ {\"name\": ";
    std::fs::write(&path, garbage).expect("write");
    let error = match open_bridge(&global, None) {
        Ok(_) => panic!("a broken profiles file must not be accepted silently"),
        Err(error) => format!("{error:#}"),
    };
    assert!(
        error.contains("profiles.json"),
        "the error names the file: {error}"
    );
    assert_eq!(
        std::fs::read(&path).expect("read"),
        garbage,
        "the file is untouched"
    );
}
