//! The `mailbridge` binary end to end: `serve` in one process, the other commands in others,
//! sharing the same config and data directories, as a person in two terminals would.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};

use crate::support::{Serve, TempDir, mailbridge};

fn run(dir: &Path, args: &[&str]) -> Output {
    mailbridge(dir)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("mailbridge runs")
}

fn text(output: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}--- stderr\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[test]
fn explain_prints_the_diagnosis_and_exits_by_kind() {
    let dir = TempDir::new("cli-explain");
    let cases: &[(&str, i32, &str)] = &[
        (
            "535-5.7.8 Username and Password not accepted. For more information, go to\n535 5.7.8  https://support.google.com/mail/?p=BadCredentials a1-2 - gsmtp",
            1,
            "Username and password not accepted",
        ),
        (
            "421 4.7.0 Try again later, closing connection. a1-2 - gsmtp",
            75,
            "try again later",
        ),
        ("250 2.0.0 OK  1700000000 a1-2 - gsmtp", 0, ""),
        ("this is not a reply", 2, ""),
    ];
    for (reply, code, fragment) in cases {
        let output = run(dir.path(), &["explain", reply]);
        assert_eq!(
            output.status.code(),
            Some(*code),
            "{reply}\n{}",
            text(&output)
        );
        assert!(
            String::from_utf8_lossy(&output.stdout)
                .to_lowercase()
                .contains(&fragment.to_lowercase()),
            "{}",
            text(&output)
        );
    }
}

#[test]
fn help_documents_the_exit_codes() {
    let dir = TempDir::new("cli-help");
    let output = run(dir.path(), &["--help"]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("75") && stdout.contains("transient"),
        "{stdout}"
    );
    let output = run(dir.path(), &["send", "--profile"]);
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
}

#[test]
fn serve_refuses_a_non_loopback_address_without_the_flag() {
    let dir = TempDir::new("cli-bind");
    let output = run(dir.path(), &["serve", "--bind", "0.0.0.0", "--port", "0"]);
    assert_ne!(output.status.code(), Some(0));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("--allow-non-loopback"),
        "{}",
        text(&output)
    );
}

#[test]
fn serve_then_check_send_test_profiles_and_secrets_from_other_processes() {
    let dir = TempDir::new("cli-e2e");
    let mut serve = Serve::start(dir.path());
    assert!(serve.url.contains("/#pair="), "{}", serve.url);
    assert_eq!(serve.token().len(), 43, "a 256-bit token in base64url");

    let output = run(dir.path(), &["profiles", "list"]);
    assert!(output.status.success(), "{}", text(&output));
    assert!(
        String::from_utf8_lossy(&output.stdout).contains("Sandbox"),
        "{}",
        text(&output)
    );

    let output = run(
        dir.path(),
        &["check", "--profile", "sandbox", "--transcript"],
    );
    assert!(output.status.success(), "{}", text(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("AUTH PLAIN ****") || stderr.contains("AUTH LOGIN"),
        "{}",
        text(&output)
    );

    let attachment: PathBuf = dir.path().join("notes.txt");
    std::fs::write(&attachment, "line one\nline two\n").expect("write");
    let output = run(
        dir.path(),
        &[
            "send",
            "--profile",
            "Sandbox",
            "--to",
            "bob@example.com",
            "--bcc",
            "carol@example.com",
            "--subject",
            "From the terminal",
            "--body",
            "Hello",
            "--attach",
            attachment.to_str().unwrap_or_default(),
        ],
    );
    assert!(output.status.success(), "{}", text(&output));
    assert!(
        String::from_utf8_lossy(&output.stdout).contains("Sent <"),
        "{}",
        text(&output)
    );

    let output = run(dir.path(), &["test", "--profile", "Sandbox"]);
    assert!(output.status.success(), "{}", text(&output));

    let store = sandbox::Store::open(
        dir.path().join("data/sandbox").join(sandbox::STORE_FILE),
        100,
    )
    .expect("the sandbox store opens");
    let messages = store.list().expect("list");
    assert_eq!(messages.len(), 2, "{messages:?}");
    let sent = messages
        .iter()
        .find(|m| m.subject == "From the terminal")
        .expect("the terminal's message arrived");
    let message = store.get(sent.id).expect("read").expect("present");
    assert_eq!(message.attachments[0].content, b"line one\nline two\n");
    assert!(!message.raw.contains("carol@example.com"));

    // Export, then import into the same place: the copy is kept beside, renamed.
    let export = dir.path().join("team.json");
    let output = run(
        dir.path(),
        &["profiles", "export", export.to_str().unwrap_or_default()],
    );
    assert!(output.status.success(), "{}", text(&output));
    let output = run(
        dir.path(),
        &[
            "profiles",
            "import",
            export.to_str().unwrap_or_default(),
            "--conflict",
            "keep-both",
        ],
    );
    assert!(output.status.success(), "{}", text(&output));
    assert!(
        String::from_utf8_lossy(&output.stdout).contains("1 renamed"),
        "{}",
        text(&output)
    );

    // Google shows app passwords in groups of four; pasted with the spaces, it still works
    // (the sandbox compares exactly, so this passes only if the spaces were removed).
    let spaced: String = sandbox::DEFAULT_APP_PASSWORD
        .as_bytes()
        .chunks(4)
        .map(|group| String::from_utf8_lossy(group).into_owned())
        .collect::<Vec<_>>()
        .join(" ");
    assert!(secret_set(dir.path(), &spaced).status.success());
    let output = run(dir.path(), &["check", "--profile", "Sandbox"]);
    assert!(output.status.success(), "{}", text(&output));

    // A wrong one: check fails permanently with the 535 diagnosis.
    assert!(
        secret_set(dir.path(), "wron gpas swor dxxx")
            .status
            .success()
    );
    let output = run(dir.path(), &["check", "--profile", "Sandbox"]);
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    assert!(
        String::from_utf8_lossy(&output.stdout).contains("Username and password not accepted"),
        "{}",
        text(&output)
    );

    assert_eq!(
        serve.terminate(),
        Some(0),
        "serve stops cleanly on SIGTERM:\n{}",
        serve.output()
    );
}

/// `mailbridge secret set Sandbox`, with the secret on standard input as a script would.
fn secret_set(dir: &Path, secret: &str) -> Output {
    let mut child = mailbridge(dir)
        .args(["secret", "set", "Sandbox"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("secret set runs");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(format!("{secret}\n").as_bytes())
        .expect("write");
    let output = child.wait_with_output().expect("secret set ends");
    assert!(
        !String::from_utf8_lossy(&output.stdout).contains(secret)
            && !String::from_utf8_lossy(&output.stderr).contains(secret),
        "the secret is not echoed: {}",
        text(&output)
    );
    output
}
