//! The engine over real sockets: against the sandbox (Gmail's behaviour, TLS, faults) and
//! against tiny scripted servers for what the sandbox never does (no STARTTLS, AUTH LOGIN only,
//! no PIPELINING, broken replies).

use std::io;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use diagnosis::{CertProblem, Failure, Step, diagnose};
use profile::{Profile, ProfileId, Security};
use protocol::{AttachmentRef, Direction, Draft, Progress, Secret, StepStatus, Verdict};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::transcript::{redact_command, show_reply_line};
use super::*;
use crate::compose;

// ---------------------------------------------------------------------------------------------
// Helpers

/// Short timeouts: every server here is on loopback and answers at once unless told not to.
fn fast() -> Timeouts {
    Timeouts {
        connect: Duration::from_secs(5),
        tls: Duration::from_secs(5),
        command: Duration::from_secs(5),
        data: Duration::from_secs(5),
    }
}

fn quick_retry() -> RetryPolicy {
    RetryPolicy {
        attempts: 3,
        first_delay: Duration::from_millis(10),
        max_total: Duration::from_secs(10),
    }
}

struct Fixture {
    sandbox: sandbox::Sandbox,
    _dir: tempfile::TempDir,
}

async fn start(config: impl FnOnce(&mut sandbox::Config)) -> Fixture {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut settings = sandbox::Config::new(dir.path());
    config(&mut settings);
    let sandbox = sandbox::Sandbox::start(settings)
        .await
        .expect("sandbox starts");
    Fixture { sandbox, _dir: dir }
}

async fn sandbox() -> Fixture {
    start(|_| {}).await
}

impl Fixture {
    fn target(&self, security: Security) -> Target {
        let addr = match security {
            Security::ImplicitTls => self.sandbox.tls_addr(),
            _ => self.sandbox.starttls_addr(),
        };
        Target {
            host: "127.0.0.1".into(),
            port: addr.port(),
            security,
            extra_ca_pem: Some(self.sandbox.ca_cert_pem().to_owned()),
        }
    }

    fn password(&self) -> Credentials {
        let config = self.sandbox.config();
        Credentials::Password {
            user: config.user.clone(),
            password: Secret::new(config.app_password.clone()),
        }
    }

    fn profile(&self) -> Profile {
        let mut profile = Profile::sandbox(
            ProfileId("sandbox".into()),
            "Sandbox",
            self.sandbox.starttls_addr().port(),
        );
        profile.extra_ca_pem = Some(self.sandbox.ca_cert_pem().to_owned());
        profile
    }

    fn captured(&self) -> Vec<protocol::CapturedMessage> {
        let store = self.sandbox.store();
        let list = store.list().expect("store lists");
        list.iter()
            .map(|summary| {
                store
                    .get(summary.id)
                    .expect("store reads")
                    .expect("message is there")
            })
            .collect()
    }
}

fn wrong(credentials: &Credentials) -> Credentials {
    match credentials {
        Credentials::Password { user, .. } => Credentials::Password {
            user: user.clone(),
            password: Secret::new("wrongwrongwrongw"),
        },
        other => other.clone(),
    }
}

fn outgoing(to: &str, body: &str) -> Outgoing {
    Outgoing {
        mail_from: sandbox::DEFAULT_USER.into(),
        rcpt_to: vec![to.into()],
        data: format!(
            "From: {}\r\nTo: {to}\r\nSubject: t\r\nMessage-ID: <{}@mailbridge.test>\r\n\r\n{body}\r\n",
            sandbox::DEFAULT_USER,
            rand::random::<u64>()
        )
        .into_bytes(),
        message_id: String::new(),
    }
}

fn statuses(report: &protocol::CheckReport) -> Vec<(Step, StepStatus)> {
    report.steps.iter().map(|s| (s.step, s.status)).collect()
}

fn texts(transcript: &[protocol::TranscriptLine]) -> String {
    transcript
        .iter()
        .map(|line| format!("{:?} {}", line.direction, line.text))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Collects what was streamed while `work` ran.
fn channel() -> (
    Option<mpsc::UnboundedSender<Progress>>,
    mpsc::UnboundedReceiver<Progress>,
) {
    let (tx, rx) = mpsc::unbounded_channel();
    (Some(tx), rx)
}

fn drain(rx: &mut mpsc::UnboundedReceiver<Progress>) -> Vec<Progress> {
    let mut events = Vec::new();
    while let Ok(event) = rx.try_recv() {
        events.push(event);
    }
    events
}

/// A one-connection server on 127.0.0.1 that plays a script: it sends the greeting, then for
/// each line it reads, the next reply. A reply starting with `354` makes it read message data
/// up to the `.` line, recorded as one entry, before the next reply. It returns every line it
/// received (without line endings).
async fn scripted(greeting: &str, replies: &[&str]) -> (u16, JoinHandle<Vec<String>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("binds");
    let port = listener.local_addr().expect("has an address").port();
    let greeting = greeting.to_owned();
    let replies: Vec<String> = replies.iter().map(|r| (*r).to_owned()).collect();
    let task = tokio::spawn(async move {
        let mut received = Vec::new();
        let Ok((stream, _)) = listener.accept().await else {
            return received;
        };
        let mut io = BufReader::new(stream);
        if io.get_mut().write_all(greeting.as_bytes()).await.is_err() {
            return received;
        }
        let mut after_data = false;
        for reply in replies {
            // The reply after message data answers the data, not a new command.
            if !after_data {
                let mut line = String::new();
                match io.read_line(&mut line).await {
                    Ok(0) | Err(_) => return received,
                    Ok(_) => received.push(line.trim_end_matches(['\r', '\n']).to_owned()),
                }
            }
            if io.get_mut().write_all(reply.as_bytes()).await.is_err() {
                return received;
            }
            after_data = reply.starts_with("354");
            if after_data {
                let mut data = String::new();
                loop {
                    let mut line = String::new();
                    match io.read_line(&mut line).await {
                        Ok(0) | Err(_) => return received,
                        Ok(_) if line == ".\r\n" => break,
                        Ok(_) => data.push_str(&line),
                    }
                }
                received.push(data);
            }
        }
        // Reads on until the client closes, so it never sees a reset.
        let mut rest = Vec::new();
        let _ = tokio::time::timeout(
            Duration::from_secs(2),
            tokio::io::AsyncReadExt::read_to_end(&mut io, &mut rest),
        )
        .await;
        received
    });
    (port, task)
}

fn plain(port: u16) -> Target {
    Target {
        host: "127.0.0.1".into(),
        port,
        security: Security::Plain,
        extra_ca_pem: None,
    }
}

// ---------------------------------------------------------------------------------------------
// Redaction rules

#[test]
fn auth_commands_are_shown_without_their_payload() {
    let cases = [
        (
            "AUTH PLAIN AGFubkBleGFtcGxlLmNvbQBzZWNyZXQ=",
            "AUTH PLAIN ****",
        ),
        (
            "auth plain AGFubkBleGFtcGxlLmNvbQBzZWNyZXQ=",
            "AUTH plain ****",
        ),
        ("  AUTH   XOAUTH2   dXNlcj1h", "AUTH XOAUTH2 ****"),
        ("AUTH LOGIN", "AUTH LOGIN"),
        ("AUTH LOGIN YW5u", "AUTH LOGIN ****"),
        ("AUTH", "AUTH"),
        (
            "MAIL FROM:<ann@example.com> SIZE=12",
            "MAIL FROM:<ann@example.com> SIZE=12",
        ),
        ("EHLO [127.0.0.1]", "EHLO [127.0.0.1]"),
        ("AUTHOR x", "AUTHOR x"),
        ("", ""),
    ];
    for (line, shown) in cases {
        assert_eq!(redact_command(line), shown, "{line:?}");
    }
}

#[test]
fn challenges_are_shown_decoded_and_other_replies_as_sent() {
    let challenge = format!(
        "334 {}",
        STANDARD
            .encode(r#"{"status":"400","schemes":"Bearer","scope":"https://mail.google.com/"}"#)
    );
    let cases = [
        (
            challenge.as_str(),
            r#"334 {"status":"400","schemes":"Bearer","scope":"https://mail.google.com/"} [decoded from base64]"#,
        ),
        ("334 VXNlcm5hbWU6", "334 Username: [decoded from base64]"),
        ("334 ", "334 "),
        ("334 not base64!", "334 not base64!"),
        ("235 2.7.0 Accepted", "235 2.7.0 Accepted"),
        ("250-SIZE 35882577", "250-SIZE 35882577"),
    ];
    for (line, shown) in cases {
        assert_eq!(show_reply_line(line), shown, "{line:?}");
    }
}

#[test]
fn capabilities_are_parsed_from_the_ehlo_reply() {
    let reply = diagnosis::Reply::parse(
        "250-smtp.gmail.com at your service, [203.0.113.5]\r\n250-SIZE 35882577\r\n\
         250-8BITMIME\r\n250-AUTH LOGIN PLAIN XOAUTH2 PLAIN-CLIENTTOKEN OAUTHBEARER XOAUTH\r\n\
         250-AUTH=LOGIN\r\n250-ENHANCEDSTATUSCODES\r\n250-PIPELINING\r\n250-CHUNKING\r\n250 SMTPUTF8",
    )
    .expect("parses");
    let caps = Capabilities::parse(&reply);
    assert_eq!(caps.size, Some(35_882_577));
    assert_eq!(
        caps.auth,
        [
            "LOGIN",
            "PLAIN",
            "XOAUTH2",
            "PLAIN-CLIENTTOKEN",
            "OAUTHBEARER",
            "XOAUTH"
        ]
    );
    assert!(caps.pipelining && caps.eight_bit_mime && caps.smtputf8 && !caps.starttls);
    assert_eq!(caps.keywords.len(), 8);
    let bare = diagnosis::Reply::parse("250-x\r\n250-SIZE\r\n250 STARTTLS").expect("parses");
    let caps = Capabilities::parse(&bare);
    assert_eq!((caps.size, caps.starttls), (None, true));
}

#[test]
fn only_transient_failures_before_rcpt_are_retried() {
    let reply = |text: &str, step| {
        Error::Failure(Failure::Reply {
            reply: diagnosis::Reply::parse(text).expect("parses"),
            step: Some(step),
        })
    };
    let lost = |step| Error::ConnectionLost {
        step,
        detail: "reset".into(),
    };
    let cases = [
        (reply("421 4.7.0 Try again later", Step::Greeting), true),
        (reply("454 4.7.0 Too many login attempts", Step::Auth), true),
        (reply("421 4.7.0 Try again later", Step::Mail), true),
        (reply("452 4.5.3 Too many recipients", Step::Rcpt), false),
        (reply("451 4.3.0 temporarily rejected", Step::Data), false),
        (
            reply("535 5.7.8 Username and Password not accepted", Step::Auth),
            false,
        ),
        (
            reply("550 5.4.5 Daily user sending limit exceeded", Step::Mail),
            false,
        ),
        (
            Error::Failure(Failure::ConnectionRefused {
                host: "h".into(),
                port: 1,
            }),
            true,
        ),
        (
            Error::Failure(Failure::Timeout {
                step: Step::Tcp,
                seconds: 10,
            }),
            true,
        ),
        (
            Error::Failure(Failure::Timeout {
                step: Step::Data,
                seconds: 10,
            }),
            false,
        ),
        (lost(Step::Greeting), true),
        (lost(Step::Data), false),
        (
            Error::Failure(Failure::TlsCertificate {
                problem: CertProblem::UnknownIssuer,
                detail: String::new(),
                host: String::new(),
                chain: Vec::new(),
                checked_at: None,
            }),
            false,
        ),
        (
            Error::Failure(Failure::NoStartTls {
                host: "h".into(),
                port: 587,
            }),
            false,
        ),
        (Error::TooLarge { size: 2, limit: 1 }, false),
        (
            Error::Invalid {
                detail: "no recipients".into(),
            },
            false,
        ),
    ];
    for (error, retryable) in cases {
        assert_eq!(error.is_retryable(), retryable, "{error:?}");
    }
}

#[test]
fn retries_back_off_exponentially() {
    let policy = RetryPolicy::default();
    assert_eq!(
        (policy.attempts, policy.first_delay, policy.max_total),
        (3, Duration::from_secs(1), Duration::from_secs(30))
    );
    let delays: Vec<u64> = (1..=4).map(|n| policy.delay(n).as_secs()).collect();
    assert_eq!(delays, [1, 2, 4, 8]);
    // Saturates instead of overflowing; max_total stops the retries long before.
    assert!(policy.delay(200) > policy.max_total);
    let timeouts = Timeouts::default();
    assert_eq!(
        [
            timeouts.connect,
            timeouts.tls,
            timeouts.command,
            timeouts.data
        ]
        .map(|t| t.as_secs()),
        [10, 10, 30, 120]
    );
}

#[test]
fn every_error_explains_itself() {
    let challenge = diagnosis::Reply::parse(&format!(
        "334 {}",
        STANDARD
            .encode(r#"{"status":"401","schemes":"Bearer","scope":"https://mail.google.com/"}"#)
    ))
    .expect("parses");
    let final_reply =
        diagnosis::Reply::parse("535 5.7.8 Username and Password not accepted").expect("parses");
    let errors = [
        Error::OAuthRejected {
            challenge,
            reply: final_reply,
        },
        Error::ConnectionLost {
            step: Step::Ehlo,
            detail: "connection reset by peer".into(),
        },
        Error::ConnectionLost {
            step: Step::Data,
            detail: "broken pipe".into(),
        },
        Error::Unreachable {
            host: "smtp.gmail.com".into(),
            port: 587,
            detail: "Network is unreachable".into(),
        },
        Error::Protocol {
            step: Step::Greeting,
            detail: "a reply line ran over 1000 bytes".into(),
        },
        Error::TooLarge {
            size: 40_000_000,
            limit: 35_882_577,
        },
        Error::Insecure {
            host: "smtp.example.com".into(),
        },
        Error::Invalid {
            detail: "the message has no recipients".into(),
        },
    ];
    for error in errors {
        let diagnosis = error.diagnosis();
        assert!(!diagnosis.title.is_empty(), "{error:?}");
        assert!(diagnosis.what_happened.len() > 20, "{error:?}");
        assert!(!diagnosis.fix.is_empty(), "{error:?}");
        assert!(error.to_string().len() > 10, "{error:?}");
    }
    let oauth = Error::OAuthRejected {
        challenge: diagnosis::Reply::parse("334 eyJzdGF0dXMiOiI0MDEifQ==").expect("parses"),
        reply: diagnosis::Reply::parse("535 5.7.8 no").expect("parses"),
    };
    let diagnosis = oauth.diagnosis();
    assert!(diagnosis.title.contains("OAuth"), "{}", diagnosis.title);
    assert!(
        diagnosis.what_happened.contains("401"),
        "{}",
        diagnosis.what_happened
    );
}

// ---------------------------------------------------------------------------------------------
// Check against the sandbox

#[tokio::test]
async fn check_succeeds_over_starttls_and_implicit_tls() {
    let fixture = sandbox().await;
    for security in [Security::StartTls, Security::ImplicitTls] {
        let (progress, mut rx) = channel();
        let (report, transcript) = check(
            &fixture.target(security),
            &fixture.password(),
            &fast(),
            progress,
        )
        .await;
        let all = texts(&transcript);
        assert_eq!(
            report.verdict,
            Verdict::Ok,
            "{security:?}\n{all}\n{report:#?}"
        );
        assert_eq!(report.diagnosis, None);
        let expected: Vec<(Step, StepStatus)> = plan(security)
            .iter()
            .map(|step| (*step, StepStatus::Ok))
            .collect();
        assert_eq!(statuses(&report), expected, "{security:?}");
        let tls = report.tls.as_ref().expect("TLS details");
        assert_eq!(tls.version, "TLSv1.3");
        assert!(tls.cipher.starts_with("TLS13_"), "{}", tls.cipher);
        let leaf = tls.chain.first().expect("a chain");
        assert!(
            leaf.not_after.ends_with('Z') && leaf.not_after.len() == 20,
            "{leaf:?}"
        );
        assert_ne!(leaf.subject, leaf.issuer);
        assert!(report.capabilities.iter().any(|c| c.starts_with("SIZE ")));
        assert_eq!(
            report.size_limit,
            Some(sandbox::GMAIL_MAX_MESSAGE_SIZE as u64)
        );
        for mechanism in ["PLAIN", "LOGIN", "XOAUTH2"] {
            assert!(report.auth_mechanisms.iter().any(|m| m == mechanism));
        }
        // After STARTTLS the second EHLO replaces the first: no STARTTLS, AUTH offered.
        assert!(!report.capabilities.iter().any(|c| c == "STARTTLS"));
        assert!(all.contains("Client AUTH PLAIN ****"), "{all}");
        let dns = &report.steps[0];
        assert!(dns.detail.contains("127.0.0.1"), "{dns:?}");
        assert!(
            report
                .steps
                .iter()
                .find(|s| s.step == Step::Ehlo)
                .and_then(|s| s.reply.as_ref())
                .is_some()
        );

        // Streamed: each step runs before it ends, and every transcript line is streamed too.
        let events = drain(&mut rx);
        let streamed: Vec<_> = events
            .iter()
            .filter_map(|event| match event {
                Progress::Transcript(line) => Some(line.clone()),
                _ => None,
            })
            .collect();
        assert_eq!(streamed, transcript);
        let steps: Vec<(Step, StepStatus)> = events
            .iter()
            .filter_map(|event| match event {
                Progress::Step(step) => Some((step.step, step.status)),
                _ => None,
            })
            .collect();
        let expected: Vec<(Step, StepStatus)> = plan(security)
            .iter()
            .flat_map(|step| [(*step, StepStatus::Running), (*step, StepStatus::Ok)])
            .collect();
        assert_eq!(steps, expected);
        assert!(transcript.windows(2).all(|w| w[0].at_ms <= w[1].at_ms));
    }
}

#[tokio::test]
async fn check_without_credentials_skips_auth() {
    let fixture = sandbox().await;
    let (report, _) = check(
        &fixture.target(Security::StartTls),
        &Credentials::None,
        &fast(),
        None,
    )
    .await;
    assert_eq!(report.verdict, Verdict::Ok);
    let auth = report
        .steps
        .iter()
        .find(|s| s.step == Step::Auth)
        .expect("AUTH step");
    assert_eq!(auth.status, StepStatus::Skipped);
}

#[tokio::test]
async fn a_wrong_password_fails_the_check_with_the_535_explained() {
    let fixture = sandbox().await;
    let (report, transcript) = check(
        &fixture.target(Security::StartTls),
        &wrong(&fixture.password()),
        &fast(),
        None,
    )
    .await;
    assert_eq!(report.verdict, Verdict::Failed);
    let diagnosis = report.diagnosis.as_ref().expect("a diagnosis");
    assert!(
        diagnosis
            .title
            .to_lowercase()
            .contains("username and password"),
        "{}",
        diagnosis.title
    );
    assert!(
        diagnosis
            .reply
            .as_deref()
            .is_some_and(|r| r.starts_with("535"))
    );
    let auth = report
        .steps
        .iter()
        .find(|s| s.step == Step::Auth)
        .expect("AUTH step");
    assert_eq!(auth.status, StepStatus::Failed);
    assert!(auth.reply.as_deref().is_some_and(|r| r.contains("5.7.8")));
    // The session is still closed politely.
    assert_eq!(
        report.steps.last().map(|s| (s.step, s.status)),
        Some((Step::Quit, StepStatus::Ok))
    );
    assert!(texts(&transcript).contains("Client QUIT"));

    // The account's normal password gets Gmail's "application-specific password required".
    let normal = Credentials::Password {
        user: sandbox::DEFAULT_USER.into(),
        password: Secret::new(sandbox::DEFAULT_ACCOUNT_PASSWORD),
    };
    let (report, _) = check(
        &fixture.target(Security::ImplicitTls),
        &normal,
        &fast(),
        None,
    )
    .await;
    let reply = report.diagnosis.and_then(|d| d.reply).unwrap_or_default();
    assert!(
        reply.starts_with("534") && reply.contains("5.7.9"),
        "{reply}"
    );
}

#[tokio::test]
async fn app_passwords_work_as_google_shows_them() {
    let fixture = sandbox().await;
    let spaced = Credentials::Password {
        user: sandbox::DEFAULT_USER.into(),
        password: Secret::new("sand boxs andb oxpw"),
    };
    let (report, _) = check(&fixture.target(Security::StartTls), &spaced, &fast(), None).await;
    assert_eq!(report.verdict, Verdict::Ok, "{report:#?}");
}

#[tokio::test]
async fn xoauth2_answers_the_challenge_and_reports_the_final_535() {
    let fixture = sandbox().await;
    let target = fixture.target(Security::ImplicitTls);
    let good = Credentials::OAuth2 {
        user: sandbox::DEFAULT_USER.into(),
        token: Secret::new(sandbox::DEFAULT_OAUTH_TOKEN),
    };
    let (report, transcript) = check(&target, &good, &fast(), None).await;
    assert_eq!(report.verdict, Verdict::Ok, "{}", texts(&transcript));
    assert!(texts(&transcript).contains("Client AUTH XOAUTH2 ****"));

    let bad = Credentials::OAuth2 {
        user: sandbox::DEFAULT_USER.into(),
        token: Secret::new("ya29.expired"),
    };
    let (report, transcript) = check(&target, &bad, &fast(), None).await;
    assert_eq!(report.verdict, Verdict::Failed);
    let lines: Vec<(Direction, &str)> = transcript
        .iter()
        .map(|line| (line.direction, line.text.as_str()))
        .collect();
    let challenge = lines
        .iter()
        .position(|(direction, text)| {
            *direction == Direction::Server
                && text.starts_with(r#"334 {"status":"400""#)
                && text.ends_with("[decoded from base64]")
        })
        .unwrap_or_else(|| panic!("no decoded challenge in\n{}", texts(&transcript)));
    assert_eq!(
        lines[challenge + 1],
        (Direction::Client, ""),
        "the empty answer"
    );
    assert_eq!(lines[challenge + 2].0, Direction::Server);
    assert!(
        lines[challenge + 2].1.starts_with("535"),
        "{:?}",
        lines[challenge + 2]
    );
    let diagnosis = report.diagnosis.expect("a diagnosis");
    assert!(diagnosis.title.contains("OAuth"), "{}", diagnosis.title);
    assert!(
        diagnosis
            .reply
            .as_deref()
            .is_some_and(|r| r.contains("535 5.7.8"))
    );

    // send() reports the same, with the final reply, and does not retry a permanent refusal.
    let failure = send(
        &target,
        &bad,
        &outgoing("bob@example.com", "x"),
        &fast(),
        &quick_retry(),
        None,
    )
    .await
    .expect_err("refused");
    assert_eq!(failure.attempts, 1);
    match &failure.error {
        Error::OAuthRejected { challenge, reply } => {
            assert_eq!((challenge.code, reply.code), (334, 535));
        }
        other => panic!("{other:?}"),
    }
}

// ---------------------------------------------------------------------------------------------
// Send against the sandbox

#[tokio::test]
async fn a_composed_message_arrives_intact_with_bcc_only_in_the_envelope() {
    let fixture = sandbox().await;
    let profile = fixture.profile();
    let pdf: Vec<u8> = (0..20_000u32).map(|i| (i * 7 % 256) as u8).collect();
    let attachment = AttachmentRef {
        upload: 1,
        filename: "report.pdf".into(),
        content_type: "application/pdf".into(),
        size_bytes: pdf.len() as u64,
    };
    let draft = Draft {
        to: vec!["Bob <bob@example.com>".into()],
        cc: vec!["carol@example.com".into()],
        bcc: vec!["dave@example.com".into()],
        subject: "Quarterly report".into(),
        // A line that starts with a dot must survive dot-stuffing.
        text: Some("Hello Bob,\n.hidden line\n..two dots\nBye".into()),
        html: Some("<p>Hello Bob</p>".into()),
        attachments: vec![attachment.clone()],
        ..Draft::default()
    };
    let built = compose::build(&profile, &draft, &[(attachment, pdf.clone())])
        .unwrap_or_else(|problems| panic!("{problems:?}"));
    let (progress, mut rx) = channel();
    let sent = send(
        &Target::from_profile(&profile),
        &fixture.password(),
        &built.outgoing,
        &fast(),
        &quick_retry(),
        progress,
    )
    .await
    .unwrap_or_else(|failure| panic!("{failure:#?}"));
    assert_eq!(sent.attempts, 1);
    assert!(sent.reply.starts_with("250"), "{}", sent.reply);
    let all = texts(&sent.transcript);
    assert!(
        all.contains(&format!(
            "Client [message: {} bytes, 3 recipients]",
            built.outgoing.data.len()
        )),
        "{all}"
    );
    assert!(
        !all.contains("Hello Bob"),
        "message content leaked into the transcript"
    );
    assert!(drain(&mut rx).iter().any(
        |e| matches!(e, Progress::Step(s) if s.step == Step::Data && s.status == StepStatus::Ok)
    ));

    let captured = fixture.captured();
    assert_eq!(captured.len(), 1);
    let message = &captured[0];
    assert_eq!(
        message.envelope.rcpt_to,
        ["bob@example.com", "carol@example.com", "dave@example.com"]
    );
    assert_eq!(message.envelope.mail_from, sandbox::DEFAULT_USER);
    assert!(
        !message.raw.to_ascii_lowercase().contains("\nbcc:"),
        "{}",
        message.raw
    );
    assert!(!message.raw.contains("dave@"), "{}", message.raw);
    assert!(
        !message
            .headers
            .iter()
            .any(|h| h.name.eq_ignore_ascii_case("bcc"))
    );
    let message_id = message
        .headers
        .iter()
        .find(|h| h.name.eq_ignore_ascii_case("message-id"))
        .map(|h| h.value.trim().trim_matches(['<', '>']).to_owned());
    let sent_id = &built.outgoing.message_id;
    assert_eq!(
        message_id.as_deref(),
        Some(sent_id.trim_matches(['<', '>']))
    );
    assert!(
        message.raw.contains(&format!("Message-ID: {sent_id}\r\n")),
        "{}",
        message.raw
    );
    assert_eq!(message.attachments.len(), 1);
    assert_eq!(message.attachments[0].content, pdf);
    assert_eq!(
        message.attachments[0].filename.as_deref(),
        Some("report.pdf")
    );
    let text = message.text.as_deref().unwrap_or_default();
    assert!(
        text.contains("\n.hidden line") && text.contains("\n..two dots"),
        "{text:?}"
    );
    assert_eq!(message.tls_version.as_deref(), Some("TLSv1.3"));
    assert_eq!(message.auth_mechanism.as_deref(), Some("PLAIN"));
}

#[tokio::test]
async fn the_test_message_reaches_the_sandbox() {
    let fixture = sandbox().await;
    let profile = fixture.profile();
    let built = compose::test_message(&profile).unwrap_or_else(|p| panic!("{p:?}"));
    send(
        &Target::from_profile(&profile),
        &fixture.password(),
        &built.outgoing,
        &fast(),
        &quick_retry(),
        None,
    )
    .await
    .unwrap_or_else(|failure| panic!("{failure:#?}"));
    let captured = fixture.captured();
    assert_eq!(captured[0].summary.subject, compose::TEST_SUBJECT);
    assert_eq!(captured[0].envelope.rcpt_to, [sandbox::DEFAULT_USER]);
}

#[tokio::test]
async fn a_421_at_mail_is_retried_on_a_new_connection() {
    let fixture = sandbox().await;
    fixture
        .sandbox
        .faults()
        .update(|faults| faults.reject_mail = 1);
    let (progress, mut rx) = channel();
    let sent = send(
        &fixture.target(Security::StartTls),
        &fixture.password(),
        &outgoing("bob@example.com", "retry me"),
        &fast(),
        &quick_retry(),
        progress,
    )
    .await
    .unwrap_or_else(|failure| panic!("{failure:#?}"));
    assert_eq!(sent.attempts, 2);
    let retries: Vec<_> = drain(&mut rx)
        .into_iter()
        .filter_map(|event| match event {
            Progress::Retry {
                attempt,
                wait_ms,
                reason,
            } => Some((attempt, wait_ms, reason)),
            _ => None,
        })
        .collect();
    assert_eq!(retries.len(), 1, "{retries:?}");
    assert_eq!((retries[0].0, retries[0].1), (2, 10));
    assert!(retries[0].2.starts_with("421 4.7.0"), "{:?}", retries[0].2);
    let all = texts(&sent.transcript);
    assert_eq!(all.matches("Note connected to").count(), 2, "{all}");
    assert_eq!(fixture.captured().len(), 1);
}

#[tokio::test]
async fn a_454_at_auth_is_retried_but_a_cut_in_data_is_not() {
    let fixture = sandbox().await;
    let target = fixture.target(Security::ImplicitTls);
    fixture
        .sandbox
        .faults()
        .update(|faults| faults.reject_auth = 1);
    let sent = send(
        &target,
        &fixture.password(),
        &outgoing("bob@example.com", "x"),
        &fast(),
        &quick_retry(),
        None,
    )
    .await
    .unwrap_or_else(|failure| panic!("{failure:#?}"));
    assert_eq!(sent.attempts, 2);

    // Once the content is on its way, a retry could deliver the message twice.
    fixture
        .sandbox
        .faults()
        .update(|faults| faults.drop_in_data = 1);
    let failure = send(
        &target,
        &fixture.password(),
        &outgoing("bob@example.com", "x"),
        &fast(),
        &quick_retry(),
        None,
    )
    .await
    .expect_err("cut");
    assert_eq!(failure.attempts, 1);
    assert!(
        matches!(
            failure.error,
            Error::ConnectionLost {
                step: Step::Data,
                ..
            }
        ),
        "{:?}",
        failure.error
    );
    assert_eq!(failure.diagnosis.retry, diagnosis::Retry::Permanent);
    assert!(failure.diagnosis.fix[0].contains("may or may not have been delivered"));
}

#[tokio::test]
async fn permanent_failures_are_not_retried() {
    let fixture = sandbox().await;
    let target = fixture.target(Security::StartTls);
    let failure = send(
        &target,
        &wrong(&fixture.password()),
        &outgoing("bob@example.com", "x"),
        &fast(),
        &quick_retry(),
        None,
    )
    .await
    .expect_err("refused");
    assert_eq!(failure.attempts, 1);
    assert!(
        failure
            .diagnosis
            .title
            .to_lowercase()
            .contains("username and password")
    );
    assert!(texts(&failure.transcript).contains("Client QUIT"));

    // A 550 at MAIL (the daily quota) is permanent too.
    fixture
        .sandbox
        .faults()
        .update(|faults| faults.daily_limit = Some(0));
    let failure = send(
        &target,
        &fixture.password(),
        &outgoing("bob@example.com", "x"),
        &fast(),
        &quick_retry(),
        None,
    )
    .await
    .expect_err("over quota");
    assert_eq!(failure.attempts, 1);
    assert_eq!(failure.error.step(), Some(Step::Mail));
    assert!(
        failure
            .diagnosis
            .reply
            .as_deref()
            .is_some_and(|r| r.contains("5.4.5"))
    );
    assert_eq!(fixture.captured().len(), 0);
}

#[tokio::test]
async fn retries_stop_after_the_last_attempt() {
    let fixture = sandbox().await;
    fixture
        .sandbox
        .faults()
        .update(|faults| faults.reject_greetings = 5);
    let failure = send(
        &fixture.target(Security::StartTls),
        &fixture.password(),
        &outgoing("bob@example.com", "x"),
        &fast(),
        &quick_retry(),
        None,
    )
    .await
    .expect_err("throttled");
    assert_eq!(failure.attempts, 3);
    assert_eq!(failure.error.step(), Some(Step::Greeting));
    assert_eq!(failure.diagnosis.retry, diagnosis::Retry::Transient);
}

#[tokio::test]
async fn a_session_sends_several_messages_on_one_connection() {
    let fixture = sandbox().await;
    let mut session = Session::open(
        &fixture.target(Security::StartTls),
        &fixture.password(),
        &fast(),
        None,
    )
    .await
    .unwrap_or_else(|failure| panic!("{failure:#?}"));
    assert!(session.capabilities().pipelining);
    let mut durations = Vec::new();
    for i in 0..3 {
        let started = Instant::now();
        let reply = session
            .send(&outgoing(&format!("r{i}@example.com"), "reused"))
            .await
            .unwrap_or_else(|error| panic!("{error}"));
        durations.push(started.elapsed());
        assert!(reply.starts_with("250"), "{reply}");
    }
    // A refused recipient leaves the session usable (the transaction is reset).
    let refused = session.send(&outgoing("not-an-address", "x")).await;
    assert!(
        matches!(
            refused,
            Err(Error::Failure(Failure::Reply {
                step: Some(Step::Rcpt),
                ..
            }))
        ),
        "{refused:?}"
    );
    session
        .send(&outgoing("after@example.com", "after a refusal"))
        .await
        .unwrap_or_else(|error| panic!("{error}"));
    assert!(session.is_open());
    let debug = format!("{session:?}");
    let transcript = session.quit().await;
    let all = texts(&transcript);
    assert_eq!(all.matches("Note connected to").count(), 1, "{all}");
    assert_eq!(all.matches("Client STARTTLS").count(), 1, "{all}");
    assert_eq!(all.matches("Client RSET").count(), 1, "{all}");
    assert!(all.contains("Client QUIT"), "{all}");
    assert!(!debug.contains("reused"), "{debug}");
    assert_eq!(fixture.captured().len(), 4);
    durations.sort();
    // Loopback sends are a few milliseconds at most even in a debug build; Nagle or a missed
    // flush would show up as 40 ms or more.
    assert!(durations[1] < Duration::from_millis(40), "{durations:?}");
}

// ---------------------------------------------------------------------------------------------
// Failures before SMTP gets going

#[tokio::test]
async fn a_server_without_starttls_is_refused_before_auth() {
    let ehlo = "250-fake.example\r\n250-SIZE 1000\r\n250 AUTH PLAIN\r\n";
    let (port, server) = scripted("220 fake ESMTP\r\n", &[ehlo, "221 bye\r\n"]).await;
    let target = Target {
        security: Security::StartTls,
        ..plain(port)
    };
    let (report, transcript) = check(
        &target,
        &Credentials::Password {
            user: "ann@example.com".into(),
            password: Secret::new("pw"),
        },
        &fast(),
        None,
    )
    .await;
    assert_eq!(report.verdict, Verdict::Failed);
    assert_eq!(
        report.diagnosis,
        Some(diagnose(&Failure::NoStartTls {
            host: "127.0.0.1".into(),
            port
        }))
    );
    assert_eq!(
        statuses(&report),
        [
            (Step::Dns, StepStatus::Ok),
            (Step::Tcp, StepStatus::Ok),
            (Step::Greeting, StepStatus::Ok),
            (Step::Ehlo, StepStatus::Ok),
            (Step::StartTls, StepStatus::Failed),
            (Step::Tls, StepStatus::Skipped),
            (Step::Ehlo, StepStatus::Skipped),
            (Step::Auth, StepStatus::Skipped),
            (Step::Quit, StepStatus::Skipped),
        ]
    );
    assert!(report.capabilities.iter().any(|c| c == "AUTH PLAIN"));
    let sent: Vec<&str> = transcript
        .iter()
        .filter(|line| line.direction == Direction::Client)
        .map(|line| line.text.as_str())
        .collect();
    assert_eq!(sent, ["EHLO [127.0.0.1]"]);
    drop(server);
}

#[tokio::test]
async fn a_server_without_a_usable_auth_gets_a_warning_not_a_failure() {
    let ehlo = "250-fake.example\r\n250 AUTH LOGIN PLAIN\r\n";
    let (port, server) = scripted("220 fake ESMTP\r\n", &[ehlo, "221 bye\r\n"]).await;
    let oauth = Credentials::OAuth2 {
        user: "ann@example.com".into(),
        token: Secret::new("ya29.t"),
    };
    let (progress, mut rx) = channel();
    let (report, _) = check(&plain(port), &oauth, &fast(), progress).await;
    assert_eq!(report.verdict, Verdict::Ok);
    assert!(
        report
            .warnings
            .iter()
            .any(|w| w.contains("AUTH LOGIN PLAIN") && w.contains("XOAUTH2")),
        "{:?}",
        report.warnings
    );
    let auth = report
        .steps
        .iter()
        .find(|s| s.step == Step::Auth)
        .expect("AUTH step");
    assert_eq!(auth.status, StepStatus::Skipped);
    // A skipped step is reported once, never announced as running.
    let auth_events: Vec<StepStatus> = drain(&mut rx)
        .into_iter()
        .filter_map(|event| match event {
            Progress::Step(step) if step.step == Step::Auth => Some(step.status),
            _ => None,
        })
        .collect();
    assert_eq!(auth_events, [StepStatus::Skipped]);
    assert_eq!(
        server.await.expect("server ran"),
        ["EHLO [127.0.0.1]", "QUIT"]
    );
}

#[tokio::test]
async fn an_unknown_issuer_is_a_certificate_problem() {
    let fixture = sandbox().await;
    for security in [Security::StartTls, Security::ImplicitTls] {
        let target = Target {
            extra_ca_pem: None,
            ..fixture.target(security)
        };
        let failure = send(
            &target,
            &fixture.password(),
            &outgoing("bob@example.com", "x"),
            &fast(),
            &quick_retry(),
            None,
        )
        .await
        .expect_err("untrusted");
        assert!(
            matches!(
                failure.error,
                Error::Failure(Failure::TlsCertificate {
                    problem: CertProblem::UnknownIssuer,
                    ..
                })
            ),
            "{:?}",
            failure.error
        );
        assert_eq!(failure.attempts, 1);
        assert!(!texts(&failure.transcript).contains("Client AUTH"));
        let (report, _) = check(&target, &fixture.password(), &fast(), None).await;
        let tls = report
            .steps
            .iter()
            .find(|s| s.step == Step::Tls)
            .expect("TLS step");
        assert_eq!(tls.status, StepStatus::Failed);
        assert!(
            report
                .diagnosis
                .is_some_and(|d| d.title.contains("unknown issuer"))
        );
    }
}

#[tokio::test]
async fn a_slow_server_trips_the_step_timeout() {
    let fixture = start(|config| config.faults.reply_delay_ms = 2_000).await;
    let timeouts = Timeouts {
        command: Duration::from_millis(150),
        ..fast()
    };
    let started = Instant::now();
    let (report, _) = check(
        &fixture.target(Security::StartTls),
        &fixture.password(),
        &timeouts,
        None,
    )
    .await;
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(report.verdict, Verdict::Failed);
    assert_eq!(
        report.diagnosis,
        Some(diagnose(&Failure::Timeout {
            step: Step::Greeting,
            seconds: 1
        }))
    );
    let greeting = report
        .steps
        .iter()
        .find(|s| s.step == Step::Greeting)
        .expect("greeting");
    assert_eq!(greeting.status, StepStatus::Failed);
}

#[tokio::test]
async fn a_refused_connection_is_retried_then_explained() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("binds");
        listener.local_addr().expect("address").port()
    };
    let policy = RetryPolicy {
        attempts: 2,
        ..quick_retry()
    };
    let failure = send(
        &plain(port),
        &Credentials::None,
        &outgoing("bob@example.com", "x"),
        &fast(),
        &policy,
        None,
    )
    .await
    .expect_err("nothing listens");
    assert_eq!(failure.attempts, 2);
    assert_eq!(
        failure.error,
        Error::Failure(Failure::ConnectionRefused {
            host: "127.0.0.1".into(),
            port
        })
    );
}

#[tokio::test]
async fn plain_smtp_to_another_machine_is_never_attempted() {
    let target = Target {
        host: "smtp.gmail.com".into(),
        port: 25,
        security: Security::Plain,
        extra_ca_pem: None,
    };
    let (report, transcript) = check(&target, &Credentials::None, &fast(), None).await;
    assert_eq!(report.verdict, Verdict::Failed);
    assert!(report.steps.iter().all(|s| s.status == StepStatus::Skipped));
    assert!(transcript.is_empty());
}

#[tokio::test]
async fn broken_replies_are_protocol_errors() {
    let long = format!("220 {}\r\n", "x".repeat(5000));
    let many = format!("{}220 end\r\n", "220-more\r\n".repeat(150));
    let cases = [
        (long.as_str(), &[][..], Step::Greeting),
        (many.as_str(), &[][..], Step::Greeting),
        ("hello there\r\n", &[][..], Step::Greeting),
        ("220 ok\r\n", &["250-x\r\n251 mixed\r\n"][..], Step::Ehlo),
        // Data right after "220 Ready" to STARTTLS could have been injected before TLS.
        (
            "220 ok\r\n",
            &["250-x\r\n250 STARTTLS\r\n", "220 Ready\r\n250 injected\r\n"][..],
            Step::StartTls,
        ),
    ];
    for (greeting, replies, step) in cases {
        let (port, _server) = scripted(greeting, replies).await;
        let target = Target {
            security: if step == Step::StartTls {
                Security::StartTls
            } else {
                Security::Plain
            },
            ..plain(port)
        };
        let (report, _) = check(&target, &Credentials::None, &fast(), None).await;
        let failed = report.steps.iter().find(|s| s.status == StepStatus::Failed);
        assert_eq!(
            failed.map(|s| s.step),
            Some(step),
            "{greeting:.40} {replies:?}"
        );
        let title = report.diagnosis.map(|d| d.title).unwrap_or_default();
        assert!(title.contains("not valid SMTP"), "{title}");
    }
}

// ---------------------------------------------------------------------------------------------
// Without PIPELINING, with AUTH LOGIN, with SIZE: a scripted server

#[tokio::test]
async fn login_without_pipelining_sends_step_by_step() {
    let (port, server) = scripted(
        "220 fake ESMTP\r\n",
        &[
            "250-fake.example\r\n250-SIZE 4000\r\n250 AUTH LOGIN\r\n",
            "334 VXNlcm5hbWU6\r\n",
            "334 UGFzc3dvcmQ6\r\n",
            "235 2.7.0 Accepted\r\n",
            "250 2.1.0 OK\r\n",
            "250 2.1.5 OK\r\n",
            "354 Go ahead\r\n",
            "250 2.0.0 OK queued\r\n",
            "221 2.0.0 bye\r\n",
        ],
    )
    .await;
    let credentials = Credentials::Password {
        user: "ann@example.com".into(),
        password: Secret::new("letmein"),
    };
    let message = Outgoing {
        mail_from: "ann@example.com".into(),
        rcpt_to: vec!["bob@example.com".into()],
        data: b"Subject: x\r\n\r\n.starts with a dot\nbare LF line\r\nend".to_vec(),
        message_id: "<1@example.com>".into(),
    };
    let sent = send(
        &plain(port),
        &credentials,
        &message,
        &fast(),
        &quick_retry(),
        None,
    )
    .await
    .unwrap_or_else(|failure| panic!("{failure:#?}"));
    assert_eq!(sent.reply, "250 2.0.0 OK queued");
    let received = server.await.expect("server ran");
    assert_eq!(
        received,
        [
            "EHLO [127.0.0.1]".to_owned(),
            "AUTH LOGIN".to_owned(),
            STANDARD.encode("ann@example.com"),
            STANDARD.encode("letmein"),
            format!("MAIL FROM:<ann@example.com> SIZE={}", message.data.len()),
            "RCPT TO:<bob@example.com>".to_owned(),
            "DATA".to_owned(),
            "Subject: x\r\n\r\n..starts with a dot\r\nbare LF line\r\nend\r\n".to_owned(),
            "QUIT".to_owned(),
        ]
    );
    let all = texts(&sent.transcript);
    assert!(
        all.contains("Server 334 Username: [decoded from base64]"),
        "{all}"
    );
    assert_eq!(all.matches("Client ****").count(), 2, "{all}");

    // Over the advertised SIZE, nothing is sent at all.
    let (port, server) = scripted(
        "220 fake ESMTP\r\n",
        &["250-fake.example\r\n250 SIZE 10\r\n", "221 bye\r\n"],
    )
    .await;
    let failure = send(
        &plain(port),
        &Credentials::None,
        &message,
        &fast(),
        &quick_retry(),
        None,
    )
    .await
    .expect_err("too large");
    assert_eq!(
        failure.error,
        Error::TooLarge {
            size: message.data.len() as u64,
            limit: 10
        }
    );
    assert_eq!(failure.attempts, 1);
    assert_eq!(
        server.await.expect("server ran"),
        ["EHLO [127.0.0.1]", "QUIT"]
    );
}

#[tokio::test]
async fn envelope_addresses_cannot_inject_commands() {
    let fixture = sandbox().await;
    let mut session = Session::open(
        &fixture.target(Security::ImplicitTls),
        &fixture.password(),
        &fast(),
        None,
    )
    .await
    .unwrap_or_else(|failure| panic!("{failure:#?}"));
    for rcpt in [
        "bob@example.com>\r\nRCPT TO:<eve@example.com",
        "",
        "a\nb@example.com",
    ] {
        let mut message = outgoing("bob@example.com", "x");
        message.rcpt_to = vec![rcpt.into()];
        assert!(
            matches!(session.send(&message).await, Err(Error::Invalid { .. })),
            "{rcpt:?}"
        );
    }
    let mut message = outgoing("bob@example.com", "x");
    message.rcpt_to.clear();
    assert!(matches!(
        session.send(&message).await,
        Err(Error::Invalid { .. })
    ));
    assert!(session.is_open());
    drop(session.quit().await);
    assert_eq!(fixture.captured().len(), 0);
}

// ---------------------------------------------------------------------------------------------
// The redaction invariant, end to end

/// Everything `tracing` prints, at every level, into a buffer.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl io::Write for Capture {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Capture {
    type Writer = Capture;
    fn make_writer(&'a self) -> Capture {
        self.clone()
    }
}

impl Capture {
    fn text(&self) -> String {
        let bytes = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

#[tokio::test]
async fn no_secret_reaches_a_transcript_a_debug_output_or_a_log() {
    const PASSWORD: &str = "Canary-Pass-7q2v";
    const TOKEN: &str = "ya29.Canary-Token-9x4k";
    const BAD_TOKEN: &str = "ya29.Canary-Expired-3m8p";
    // Installed for the whole process, once: a thread-local subscriber races with other tests
    // over tracing's per-callsite cache and can miss events.
    static CAPTURE: std::sync::OnceLock<Capture> = std::sync::OnceLock::new();
    let capture = CAPTURE
        .get_or_init(|| {
            let capture = Capture::default();
            let subscriber = tracing_subscriber::fmt()
                .with_max_level(tracing::Level::TRACE)
                .with_ansi(false)
                .with_writer(capture.clone())
                .finish();
            tracing::subscriber::set_global_default(subscriber)
                .expect("this test installs the only global subscriber");
            capture
        })
        .clone();

    let fixture = start(|config| {
        config.app_password = PASSWORD.into();
        config.oauth_token = Some(TOKEN.into());
    })
    .await;
    let user = sandbox::DEFAULT_USER;
    let password = Credentials::Password {
        user: user.into(),
        password: Secret::new(PASSWORD),
    };
    let oauth = |token: &str| Credentials::OAuth2 {
        user: user.into(),
        token: Secret::new(token),
    };
    let (progress, mut rx) = channel();
    let mut seen = Vec::new();
    for security in [Security::StartTls, Security::ImplicitTls] {
        let target = fixture.target(security);
        for credentials in [
            password.clone(),
            oauth(TOKEN),
            oauth(BAD_TOKEN),
            wrong(&password),
        ] {
            let (report, transcript) =
                check(&target, &credentials, &fast(), progress.clone()).await;
            seen.push(format!("{report:?}{transcript:?}{credentials:?}"));
            let result = send(
                &target,
                &credentials,
                &outgoing("bob@example.com", "x"),
                &fast(),
                &quick_retry(),
                progress.clone(),
            )
            .await;
            seen.push(format!("{result:?}"));
            if let Err(failure) = &result {
                seen.push(format!("{}{:?}", failure.error, failure.diagnosis));
            }
        }
        let session = Session::open(&target, &password, &fast(), progress.clone()).await;
        seen.push(format!("{session:?}"));
        if let Ok(session) = session {
            seen.push(format!("{:?}", session.quit().await));
        }
    }
    // AUTH LOGIN, which the sandbox never gets (PLAIN is preferred), over a scripted server.
    let (port, server) = scripted(
        "220 fake\r\n",
        &[
            "250-fake\r\n250 AUTH LOGIN\r\n",
            "334 VXNlcm5hbWU6\r\n",
            "334 UGFzc3dvcmQ6\r\n",
            "235 ok\r\n",
            "221 bye\r\n",
        ],
    )
    .await;
    let (report, transcript) = check(&plain(port), &password, &fast(), progress.clone()).await;
    assert_eq!(report.verdict, Verdict::Ok, "{}", texts(&transcript));
    seen.push(format!("{report:?}{transcript:?}"));
    let wire = server.await.expect("server ran");
    assert!(
        wire.contains(&STANDARD.encode(PASSWORD)),
        "the LOGIN path really sent it"
    );

    drop(progress);
    seen.push(format!("{:?}", drain(&mut rx)));
    let logged = capture.text();
    assert!(
        logged.contains("AUTH PLAIN ****"),
        "the capture must see the transcript:\n{logged}"
    );
    assert!(logged.contains("AUTH XOAUTH2 ****"));
    seen.push(logged);
    let everything = seen.join("\n");

    let forbidden = [
        PASSWORD.to_owned(),
        TOKEN.to_owned(),
        BAD_TOKEN.to_owned(),
        STANDARD.encode(PASSWORD),
        STANDARD.encode(TOKEN),
        STANDARD.encode(BAD_TOKEN),
        STANDARD.encode(format!("\0{user}\0{PASSWORD}")),
        STANDARD.encode(format!("user={user}\x01auth=Bearer {TOKEN}\x01\x01")),
        STANDARD.encode(format!("user={user}\x01auth=Bearer {BAD_TOKEN}\x01\x01")),
    ];
    for secret in &forbidden {
        assert!(!everything.contains(secret.as_str()), "{secret:?} leaked");
        // A base64 string cut at the end can differ in its last characters; its body cannot.
        let body = &secret[..secret.len().saturating_sub(4)];
        assert!(!everything.contains(body), "part of {secret:?} leaked");
    }
}
