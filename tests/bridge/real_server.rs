//! Check and send through an SMTP server this project did not write: Python's aiosmtpd, with
//! STARTTLS required and AUTH, started by the test.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use mailbridge::server::ServeConfig;
use profile::{AuthMethod, Preset, Profile, ProfileId, Security};
use protocol::{Draft, Operation, Outcome, Secret, Verdict};

use super::harness::{Client, start};
use crate::support::TempDir;

const USER: &str = "relay-user@example.com";
const PASSWORD: &str = "aiosmtpd-secret-1";

/// aiosmtpd, killed when dropped.
struct Aiosmtpd {
    child: Child,
    port: u16,
}

impl Drop for Aiosmtpd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_aiosmtpd(sandbox_dir: &std::path::Path, outdir: &std::path::Path) -> Aiosmtpd {
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/bridge/aiosmtpd_server.py"
    );
    let mut child = Command::new("python3")
        .arg(script)
        .arg(sandbox_dir.join("server.pem"))
        .arg(sandbox_dir.join("server-key.pem"))
        .args([USER, PASSWORD])
        .arg(outdir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("python3 runs (cargo xtask test installs it and aiosmtpd)");
    let stdout = child.stdout.take().expect("stdout");
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("aiosmtpd prints its port");
    let port = serde_json::from_str::<serde_json::Value>(&line)
        .ok()
        .and_then(|v| v["port"].as_u64())
        .unwrap_or_else(|| {
            panic!("aiosmtpd did not start (is it installed? `pip install aiosmtpd`): {line:?}")
        }) as u16;
    Aiosmtpd { child, port }
}

#[tokio::test]
async fn check_and_send_through_aiosmtpd_with_starttls_and_auth() {
    let running = start("aiosmtpd", |_| {}, ServeConfig::default()).await;
    let outdir = TempDir::new("aiosmtpd-out");
    let server = start_aiosmtpd(&running.dir.path().join("data/sandbox"), outdir.path());
    let mut client = Client::connect(&running).await;

    let mut profile = Profile::from_preset(
        Preset::Custom,
        ProfileId("company-relay".into()),
        "Company relay",
        USER,
    );
    profile.host = "127.0.0.1".into();
    profile.port = server.port;
    profile.security = Security::StartTls;
    profile.auth = AuthMethod::AppPassword;
    profile.username = USER.into();
    profile.extra_ca_pem = Some(running.sandbox().ca_cert_pem().to_owned());
    client
        .ok(Operation::SaveProfile {
            profile: profile.clone(),
        })
        .await;
    client
        .ok(Operation::SetSecret {
            profile: profile.id.clone(),
            secret: Secret::new(PASSWORD),
        })
        .await;

    let Outcome::Checked(report) = client
        .ok(Operation::CheckConnection {
            profile: profile.id.clone(),
        })
        .await
    else {
        panic!("no check report");
    };
    assert_eq!(report.verdict, Verdict::Ok, "{report:?}");
    assert!(report.tls.is_some(), "STARTTLS was used");

    let Outcome::Sent(sent) = client
        .ok(Operation::Send {
            profile: profile.id.clone(),
            draft: Draft {
                to: vec!["bob@example.com".into()],
                bcc: vec!["audit@example.com".into()],
                subject: "Through aiosmtpd".into(),
                text: Some("Hello from mailbridge\n".into()),
                ..Draft::default()
            },
        })
        .await
    else {
        panic!("no send report");
    };
    assert!(sent.reply.starts_with("250"), "{}", sent.reply);
    let raw = std::fs::read_to_string(outdir.path().join("1.eml")).expect("aiosmtpd stored it");
    assert!(raw.contains("Subject: Through aiosmtpd"), "{raw}");
    assert!(
        !raw.contains("audit@example.com"),
        "no Bcc in the data: {raw}"
    );
    let envelope = std::fs::read_to_string(outdir.path().join("1.json")).expect("envelope");
    assert!(
        envelope.contains("audit@example.com"),
        "Bcc in the envelope: {envelope}"
    );

    // A wrong password is refused by aiosmtpd and diagnosed.
    client
        .ok(Operation::SetSecret {
            profile: profile.id.clone(),
            secret: Secret::new("wrong-password"),
        })
        .await;
    let Outcome::Checked(report) = client
        .ok(Operation::CheckConnection {
            profile: profile.id,
        })
        .await
    else {
        panic!("no check report");
    };
    assert_eq!(report.verdict, Verdict::Failed);
    let diagnosis = report.diagnosis.expect("a failed check has a diagnosis");
    assert!(
        diagnosis
            .reply
            .as_deref()
            .is_some_and(|r| r.starts_with("535")),
        "{diagnosis:?}"
    );
    drop(server);
    running.stop().await;
}
