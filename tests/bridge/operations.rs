//! Every operation over a real WebSocket, against the bridge's own sandbox.

use mail_parser::MessageParser;
use mailbridge::server::ServeConfig;
use profile::{Conflict, Header, Preset, Profile, ProfileId};
use protocol::{
    Direction, Draft, ErrorKind, HistoryOutcome, Operation, Outcome, Progress, SecretState, Verdict,
};

use super::harness::{Client, start};
use crate::support::test_bytes;

fn draft(to: &str) -> Draft {
    Draft {
        to: vec![to.to_owned()],
        subject: "Quarterly report".to_owned(),
        text: Some("Numbers attached.\n".to_owned()),
        ..Draft::default()
    }
}

#[tokio::test]
async fn check_succeeds_and_streams_steps() {
    let running = start("ops-check", |_| {}, ServeConfig::default()).await;
    let mut client = Client::connect(&running).await;
    let profile = running.sandbox_profile(&mut client).await;

    let reply = client
        .call(Operation::CheckConnection {
            profile: profile.id.clone(),
        })
        .await;
    let Ok(Outcome::Checked(report)) = reply.result else {
        panic!("check failed: {:?}", reply.result);
    };
    assert_eq!(report.verdict, Verdict::Ok, "{report:?}");
    let tls = report.tls.clone().expect("the check reports TLS");
    assert_eq!(tls.version, "TLSv1.3");
    assert!(!tls.chain.is_empty(), "the certificate chain is reported");
    assert!(
        report.auth_mechanisms.iter().any(|m| m == "PLAIN"),
        "{report:?}"
    );
    assert_eq!(report.size_limit, Some(35_882_577));
    // Steps and transcript lines arrive as progress before the result.
    let steps = reply
        .progress
        .iter()
        .filter(|p| matches!(p, Progress::Step(_)))
        .count();
    assert!(
        steps >= 6,
        "expected streamed steps, got {:?}",
        reply.progress
    );
    let server_lines: Vec<&str> = reply
        .progress
        .iter()
        .filter_map(|p| match p {
            Progress::Transcript(line) if line.direction == Direction::Server => {
                Some(line.text.as_str())
            }
            _ => None,
        })
        .collect();
    assert!(
        server_lines.iter().any(|l| l.starts_with("235 2.7.0")),
        "the AUTH success reply is in the transcript: {server_lines:?}"
    );
    running.stop().await;
}

#[tokio::test]
async fn send_with_cc_bcc_and_attachment_arrives_intact() {
    let running = start("ops-send", |_| {}, ServeConfig::default()).await;
    let mut client = Client::connect(&running).await;
    let profile = running.sandbox_profile(&mut client).await;
    let pdf = test_bytes(300_000);
    let attachment = client.upload("report.pdf", "application/pdf", &pdf).await;
    let mut draft = draft("Bob <bob@example.com>");
    draft.cc = vec!["carol@example.com".to_owned()];
    draft.bcc = vec!["dave@example.com".to_owned()];
    draft.attachments = vec![attachment];
    draft.headers = vec![Header {
        name: "X-Campaign".to_owned(),
        value: "q3".to_owned(),
    }];

    let Outcome::Sent(report) = client
        .ok(Operation::Send {
            profile: profile.id.clone(),
            draft,
        })
        .await
    else {
        panic!("send did not report a send");
    };
    assert!(report.reply.starts_with("250 2.0.0 OK"), "{}", report.reply);
    assert_eq!(report.attempts, 1);

    let Outcome::SandboxMessages { messages } = client.ok(Operation::ListSandboxMessages).await
    else {
        panic!("no sandbox listing");
    };
    assert_eq!(messages.len(), 1);
    let Outcome::SandboxMessage { message } = client
        .ok(Operation::ReadSandboxMessage { id: messages[0].id })
        .await
    else {
        panic!("no sandbox message");
    };
    let mut rcpts = message.envelope.rcpt_to.clone();
    rcpts.sort();
    assert_eq!(
        rcpts,
        ["bob@example.com", "carol@example.com", "dave@example.com"],
        "Bcc goes in the envelope"
    );
    assert!(
        !message.raw.to_ascii_lowercase().contains("\nbcc:"),
        "no Bcc header in the data: {}",
        message.raw
    );
    assert!(
        !message.raw.contains("dave@example.com"),
        "the Bcc address is not in the data"
    );
    assert_eq!(message.attachments.len(), 1);
    assert_eq!(
        message.attachments[0].content, pdf,
        "the attachment is intact"
    );
    assert_eq!(
        message.attachments[0].filename.as_deref(),
        Some("report.pdf")
    );
    let parsed = MessageParser::new()
        .parse(message.raw.as_bytes())
        .expect("the message parses");
    assert_eq!(
        parsed.message_id().map(|id| format!("<{id}>")),
        Some(report.message_id.clone())
    );
    assert_eq!(parsed.header_raw("X-Campaign").map(str::trim), Some("q3"));

    // The send is in the history, with its transcript.
    let Outcome::History { entries } = client.ok(Operation::ReadHistory { limit: 10 }).await else {
        panic!("no history");
    };
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].id, report.history_id);
    assert!(matches!(entries[0].outcome, HistoryOutcome::Sent { .. }));
    assert!(
        entries[0]
            .transcript
            .iter()
            .any(|l| l.text.starts_with("MAIL FROM:")),
        "{:?}",
        entries[0].transcript
    );
    running.stop().await;
}

#[tokio::test]
async fn send_test_goes_to_the_account_itself() {
    let running = start("ops-test", |_| {}, ServeConfig::default()).await;
    let mut client = Client::connect(&running).await;
    let profile = running.sandbox_profile(&mut client).await;
    let Outcome::Sent(report) = client
        .ok(Operation::SendTest {
            profile: profile.id.clone(),
        })
        .await
    else {
        panic!("send_test did not send");
    };
    assert_eq!(report.recipients, std::slice::from_ref(&profile.username));
    let messages = running.sandbox().store().list().expect("list");
    assert_eq!(messages.len(), 1);
    assert!(
        messages[0].subject.contains("SMTP test"),
        "{:?}",
        messages[0]
    );
    running.stop().await;
}

#[tokio::test]
async fn render_shows_the_exact_mime_without_bcc() {
    let running = start("ops-render", |_| {}, ServeConfig::default()).await;
    let mut client = Client::connect(&running).await;
    let profile = running.sandbox_profile(&mut client).await;
    let mut draft = draft("bob@example.com");
    draft.bcc = vec!["secret-bcc@example.com".to_owned()];
    draft.html = Some("<p>Numbers</p>".to_owned());
    let Outcome::Rendered { raw, .. } = client
        .ok(Operation::RenderMime {
            profile: profile.id,
            draft,
        })
        .await
    else {
        panic!("render did not render");
    };
    assert!(raw.contains("Subject: Quarterly report"), "{raw}");
    assert!(raw.contains("multipart/alternative"), "{raw}");
    assert!(!raw.contains("secret-bcc@example.com"), "{raw}");
    assert!(
        running.sandbox().store().list().expect("list").is_empty(),
        "render sends nothing"
    );
    running.stop().await;
}

#[tokio::test]
async fn profiles_and_secrets_round_trip() {
    let running = start("ops-profiles", |_| {}, ServeConfig::default()).await;
    let mut client = Client::connect(&running).await;
    let gmail = Profile::from_preset(
        Preset::Gmail587,
        ProfileId("team-gmail".into()),
        "Team Gmail",
        "ann@gmail.com",
    );
    let Outcome::Saved { profile: view } = client
        .ok(Operation::SaveProfile {
            profile: gmail.clone(),
        })
        .await
    else {
        panic!("save did not save");
    };
    assert_eq!(view.secret, SecretState::Missing);

    // Google's spaced app password is accepted; only "stored" comes back.
    let set = client
        .ok(Operation::SetSecret {
            profile: gmail.id.clone(),
            secret: protocol::Secret::new("abcd efgh ijkl mnop"),
        })
        .await;
    assert!(matches!(set, Outcome::SecretSet { .. }));
    let Outcome::Profiles { profiles } = client.ok(Operation::ListProfiles).await else {
        panic!("no list");
    };
    let listed = profiles
        .iter()
        .find(|v| v.profile.id == gmail.id)
        .expect("the saved profile is listed");
    assert_eq!(listed.secret, SecretState::Stored);

    let Outcome::Exported { json, .. } = client
        .ok(Operation::ExportProfiles { profiles: vec![] })
        .await
    else {
        panic!("no export");
    };
    assert!(json.contains("\"mailbridge-profiles\""));
    assert!(!json.contains("abcdefghijklmnop") && !json.contains("abcd efgh"));

    client
        .ok(Operation::ClearSecret {
            profile: gmail.id.clone(),
        })
        .await;
    client
        .ok(Operation::DeleteProfile {
            profile: gmail.id.clone(),
        })
        .await;
    let Outcome::Profiles { profiles } = client.ok(Operation::ListProfiles).await else {
        panic!("no list");
    };
    assert!(profiles.iter().all(|v| v.profile.id != gmail.id));

    // Import the earlier export back: the profile returns, equal to what was saved.
    let Outcome::Imported { added, .. } = client
        .ok(Operation::ImportProfiles {
            json,
            conflict: Conflict::Skip,
        })
        .await
    else {
        panic!("no import");
    };
    assert_eq!(added, ["Team Gmail"]);
    let Outcome::Profiles { profiles } = client.ok(Operation::ListProfiles).await else {
        panic!("no list");
    };
    let back = profiles
        .into_iter()
        .find(|v| v.profile.name == "Team Gmail")
        .expect("imported");
    assert_eq!(back.profile, gmail);
    running.stop().await;
}

#[tokio::test]
async fn a_new_message_is_announced_live() {
    let running = start("ops-notice", |_| {}, ServeConfig::default()).await;
    let mut client = Client::connect(&running).await;
    let profile = running.sandbox_profile(&mut client).await;
    client
        .ok(Operation::SendTest {
            profile: profile.id,
        })
        .await;
    // The notice can arrive before or after the send's result, among the outbox's own.
    let arrived = |notices: &[protocol::Notice]| {
        notices
            .iter()
            .any(|n| matches!(n, protocol::Notice::SandboxMessageArrived { .. }))
    };
    for _ in 0..20 {
        if arrived(&client.notices) {
            break;
        }
        match super::harness::next(&mut client.socket).await {
            Some(protocol::ServerMessage::Notice { notice }) => client.notices.push(notice),
            other => panic!("expected the arrival notice, got {other:?}"),
        }
    }
    assert!(arrived(&client.notices), "{:?}", client.notices);
    running.stop().await;
}

#[tokio::test]
async fn a_discarded_upload_stops_counting_towards_the_25_mb() {
    let running = start("ops-discard", |_| {}, ServeConfig::default()).await;
    let mut client = Client::connect(&running).await;
    let begin = |size_bytes| Operation::BeginUpload {
        filename: "big.bin".into(),
        content_type: "application/octet-stream".into(),
        size_bytes,
    };
    let Outcome::UploadStarted { upload } = client.ok(begin(20_000_000)).await else {
        panic!("the first upload did not start");
    };
    // A second 20 MB file would pass Gmail's limit while the first still counts...
    let refused = client.call(begin(20_000_000)).await.result;
    assert!(
        matches!(&refused, Err(error) if error.kind == ErrorKind::TooLarge),
        "{refused:?}"
    );
    // ...but not once the user has removed the first from the draft.
    let discarded = client.ok(Operation::DiscardUpload { upload }).await;
    assert_eq!(discarded, Outcome::UploadDiscarded { upload });
    assert!(matches!(
        client.ok(begin(20_000_000)).await,
        Outcome::UploadStarted { .. }
    ));
    // Discarding again, or an upload that never was, is no error.
    client.ok(Operation::DiscardUpload { upload }).await;
    running.stop().await;
}
