//! The `mailbridge` binary end to end: `serve` in one process, the other commands in others,
//! sharing the same config and data directories, as a person in two terminals would.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};

use crate::support::{Serve, TempDir, mailbridge};

/// Runs in `dir`, so a file a command writes by mistake lands there, not in the source tree.
fn run(dir: &Path, args: &[&str]) -> Output {
    mailbridge(dir)
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .expect("mailbridge runs")
}

/// As [`run`], with `input` on standard input, as a script's pipe would give it.
fn run_with_input(dir: &Path, args: &[&str], input: &[u8]) -> Output {
    let mut child = mailbridge(dir)
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("mailbridge runs");
    // A command that fails before reading closes the pipe; its output says why.
    let _ = child.stdin.take().expect("stdin").write_all(input);
    child.wait_with_output().expect("mailbridge ends")
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
    let output = run_with_input(
        dir,
        &["secret", "set", "Sandbox"],
        format!("{secret}\n").as_bytes(),
    );
    assert!(
        !String::from_utf8_lossy(&output.stdout).contains(secret)
            && !String::from_utf8_lossy(&output.stderr).contains(secret),
        "the secret is not echoed: {}",
        text(&output)
    );
    output
}

#[test]
fn every_command_and_argument_has_a_help_line() {
    let dir = TempDir::new("cli-help-lines");
    let mut commands: Vec<Vec<String>> = vec![Vec::new()];
    let mut seen = Vec::new();
    while let Some(command) = commands.pop() {
        for help in ["-h", "--help"] {
            let mut args: Vec<&str> = command.iter().map(String::as_str).collect();
            args.push(help);
            let output = run(dir.path(), &args);
            assert_eq!(output.status.code(), Some(0), "{args:?}\n{}", text(&output));
            let page = String::from_utf8_lossy(&output.stdout);
            let undocumented = undocumented_entries(&page);
            assert!(
                undocumented.is_empty(),
                "`mailbridge {}` shows no description for {undocumented:?}:\n{page}",
                args.join(" ")
            );
            if help == "--help" {
                for name in subcommands(&page) {
                    let mut sub = command.clone();
                    sub.push(name);
                    commands.push(sub);
                }
            }
        }
        seen.push(command.join(" "));
    }
    // The walk found them all, so a change in clap's layout cannot make this pass vacuously.
    for expected in [
        "",
        "serve",
        "check",
        "send",
        "test",
        "profiles",
        "profiles list",
        "profiles show",
        "profiles import",
        "profiles export",
        "secret",
        "secret set",
        "secret clear",
        "oauth",
        "oauth client",
        "oauth connect",
        "oauth status",
        "oauth disconnect",
        "pair",
        "explain",
        "sandbox",
    ] {
        assert!(
            seen.iter().any(|command| command == expected),
            "never reached `mailbridge {expected} --help`; reached {seen:?}"
        );
    }
}

/// The flags, arguments and subcommands of a help page that stand alone, with no words after
/// them on their line (`-h`) or on the lines below (`--help` puts them there).
fn undocumented_entries(page: &str) -> Vec<String> {
    let mut undocumented = Vec::new();
    let mut in_list = false;
    let mut entry: Option<(String, bool)> = None;
    for line in page.lines().chain([""]) {
        let indent = line.len() - line.trim_start().len();
        let trimmed = line.trim();
        let is_entry = in_list && (2..8).contains(&indent);
        if indent == 0 || is_entry {
            if let Some((name, false)) = entry.take() {
                undocumented.push(name);
            }
            entry = None;
        }
        if indent == 0 && !trimmed.is_empty() {
            in_list = ["Options:", "Arguments:", "Commands:"].contains(&trimmed);
        } else if is_entry {
            // The name and its value names are separated from the description by two spaces.
            let (name, rest) = trimmed.split_once("  ").unwrap_or((trimmed, ""));
            entry = Some((name.to_owned(), is_description(rest)));
        } else if let Some((_, documented)) = &mut entry {
            *documented |= is_description(trimmed);
        }
    }
    undocumented
}

/// Words, as opposed to clap's own `[default: ...]` or the list of possible values.
fn is_description(text: &str) -> bool {
    let text = text.trim();
    !text.is_empty()
        && !text.starts_with('[')
        && !text.starts_with("- ")
        && text != "Possible values:"
}

/// The subcommands a help page lists, without clap's own `help`.
fn subcommands(page: &str) -> Vec<String> {
    page.lines()
        .skip_while(|line| line.trim() != "Commands:")
        .skip(1)
        .take_while(|line| line.starts_with("  "))
        .filter_map(|line| line.split_whitespace().next())
        .filter(|name| *name != "help")
        .map(str::to_owned)
        .collect()
}

/// A team file with one Gmail profile, as a colleague would hand it over.
const TEAM_FILE: &str = r#"{
  "format": "mailbridge-profiles",
  "version": 1,
  "profiles": [
    {
      "id": "team-gmail",
      "name": "Team Gmail",
      "preset": "gmail587",
      "host": "smtp.gmail.com",
      "port": 587,
      "security": "start_tls",
      "extra_ca_pem": null,
      "auth": "app_password",
      "username": "ann@gmail.com",
      "from": {
        "name": "Ann",
        "address": "ann@gmail.com"
      },
      "reply_to": null,
      "limits": {
        "daily": 500,
        "per_minute": 20
      },
      "headers": []
    }
  ]
}
"#;

#[test]
fn profiles_import_and_export_use_standard_input_and_output_for_a_dash() {
    let dir = TempDir::new("cli-profiles-stdio");
    let output = run_with_input(
        dir.path(),
        &["profiles", "import", "-"],
        TEAM_FILE.as_bytes(),
    );
    assert!(output.status.success(), "{}", text(&output));
    assert!(
        String::from_utf8_lossy(&output.stdout).contains("Imported from standard input: 1 added"),
        "{}",
        text(&output)
    );

    for args in [&["profiles", "export", "-"][..], &["profiles", "export"]] {
        let output = run(dir.path(), args);
        assert!(output.status.success(), "{args:?}\n{}", text(&output));
        let exported: serde_json::Value = serde_json::from_slice(&output.stdout)
            .unwrap_or_else(|e| panic!("{args:?} printed no JSON ({e}):\n{}", text(&output)));
        assert_eq!(
            exported["profiles"][0]["name"],
            "Team Gmail",
            "{}",
            text(&output)
        );
    }
    assert!(
        !dir.path().join("-").exists(),
        "`profiles export -` wrote a file named \"-\""
    );

    // Not a team file: the error says where it came from.
    let output = run_with_input(dir.path(), &["profiles", "import", "-"], b"not json");
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("cannot import standard input"),
        "{}",
        text(&output)
    );
    let output = run(dir.path(), &["profiles", "import", "missing.json"]);
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    assert!(
        String::from_utf8_lossy(&output.stderr)
            .contains("profiles import: cannot read missing.json"),
        "{}",
        text(&output)
    );
}

#[test]
fn send_reads_standard_input_for_one_dash_only() {
    let dir = TempDir::new("cli-send-stdin-once");
    let send = [
        "send",
        "--profile",
        "Sandbox",
        "--to",
        "bob@example.com",
        "--subject",
        "Hi",
    ];
    let cases: &[(&[&str], &str)] = &[
        (
            &["--body-file", "-", "--html-file", "-"],
            "--body-file - and --html-file - both read standard input",
        ),
        (
            &["--body-file", "-", "--attach", "-"],
            "--body-file - and --attach - both read standard input",
        ),
        (
            &["--body", "Hello", "--attach", "-", "--attach", "-"],
            "--attach - and --attach - both read standard input",
        ),
        (
            &["--html-file", "-", "--body-file", "-", "--attach", "-"],
            "--body-file -, --html-file - and --attach - all read standard input",
        ),
    ];
    for (extra, message) in cases {
        let args: Vec<&str> = send.iter().chain(extra.iter()).copied().collect();
        let output = run_with_input(dir.path(), &args, b"Hello\n");
        assert_eq!(output.status.code(), Some(2), "{args:?}\n{}", text(&output));
        assert!(
            String::from_utf8_lossy(&output.stderr).contains(message),
            "{args:?}: expected {message:?}\n{}",
            text(&output)
        );
    }
}

#[test]
fn send_reads_the_body_or_an_attachment_from_standard_input() {
    let dir = TempDir::new("cli-send-stdin");
    let _serve = Serve::start(dir.path());
    let send = [
        "send",
        "--profile",
        "Sandbox",
        "--to",
        "bob@example.com",
        "--subject",
    ];
    let cases: &[(&[&str], &[u8])] = &[
        (&["Body from a pipe", "--body-file", "-"], b"Piped body\n"),
        (
            &["HTML from a pipe", "--body", "Hi", "--html-file", "-"],
            b"<p>Piped</p>\n",
        ),
        (
            &["Attachment from a pipe", "--body", "Hi", "--attach", "-"],
            b"\x00\x01 bytes",
        ),
    ];
    for (extra, input) in cases {
        let args: Vec<&str> = send.iter().chain(extra.iter()).copied().collect();
        let output = run_with_input(dir.path(), &args, input);
        assert!(output.status.success(), "{args:?}\n{}", text(&output));
    }

    let store = sandbox::Store::open(
        dir.path().join("data/sandbox").join(sandbox::STORE_FILE),
        100,
    )
    .expect("the sandbox store opens");
    let received = |subject: &str| {
        let summaries = store.list().expect("list");
        let summary = summaries
            .iter()
            .find(|m| m.subject == subject)
            .unwrap_or_else(|| panic!("no message {subject:?} in {summaries:?}"));
        store.get(summary.id).expect("read").expect("present")
    };
    let body = received("Body from a pipe");
    assert_eq!(body.text.as_deref().map(str::trim_end), Some("Piped body"));
    let html = received("HTML from a pipe");
    assert_eq!(
        html.html.as_deref().map(str::trim_end),
        Some("<p>Piped</p>")
    );
    let attached = received("Attachment from a pipe");
    assert_eq!(attached.attachments.len(), 1, "{:?}", attached.attachments);
    assert_eq!(attached.attachments[0].content, b"\x00\x01 bytes");
    assert_eq!(
        attached.attachments[0].filename.as_deref(),
        Some("attachment")
    );
}

/// Polls `mailbridge outbox list` until its output holds `wanted`, for at most 30 s.
fn wait_for_list(dir: &Path, args: &[&str], wanted: &str) -> String {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let output = run(dir, args);
        let shown = text(&output);
        if shown.contains(wanted) {
            return shown;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "never saw {wanted:?}:\n{shown}"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}

#[test]
fn a_second_serve_says_who_delivers_and_takes_over_when_that_one_dies() {
    let dir = TempDir::new("cli-outbox-two");
    let mut first = Serve::start(dir.path());
    let second = Serve::start(dir.path());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !second
        .output()
        .contains("delivers this outbox; this one queues mail for it")
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the second serve did not say who delivers:\n{}",
            second.output()
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let send = |subject: &str| {
        run(
            dir.path(),
            &[
                "send",
                "--profile",
                "Sandbox",
                "--to",
                "bob@example.com",
                "--subject",
                subject,
                "--body",
                "hi",
                "--no-wait",
            ],
        )
    };
    let queued = send("First");
    let shown = text(&queued);
    assert_eq!(queued.status.code(), Some(0), "{shown}");
    assert!(
        shown.contains("Queued as outbox entry 1; another mailbridge (process "),
        "{shown}"
    );
    wait_for_list(dir.path(), &["outbox", "list", "--state", "sent"], "First");
    // The first dies; the second takes over and delivers what comes next.
    first.kill();
    send("Second");
    let shown = wait_for_list(dir.path(), &["outbox", "list", "--state", "sent"], "Second");
    assert!(shown.contains("2 sent"), "{shown}");
    let show = run(dir.path(), &["outbox", "show", "2"]);
    let shown = text(&show);
    assert!(
        shown.contains("Entry 2 (sent)") && shown.contains("bob@example.com"),
        "{shown}"
    );
}

// The sandbox runs on this test's runtime while the commands block a thread each.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outbox_commands_queue_list_cancel_and_flush_without_a_serve() {
    let sandbox = crate::support::start("cli-outbox-flush-sandbox", |_| {}).await;
    let dir = TempDir::new("cli-outbox-flush");
    let mut profile = profile::Profile::from_preset(
        profile::Preset::Sandbox,
        profile::ProfileId("local".into()),
        "Local",
        "",
    );
    profile.port = sandbox.starttls_addr().port();
    profile.extra_ca_pem = Some(sandbox.ca_cert_pem().to_owned());
    let file = dir.path().join("team.json");
    std::fs::write(&file, profile::export(&[profile])).expect("team file");
    let imported = run(
        dir.path(),
        &["profiles", "import", &file.display().to_string()],
    );
    assert!(imported.status.success(), "{}", text(&imported));
    for n in 1..=3 {
        let subject = format!("Queued {n}");
        let queued = run(
            dir.path(),
            &[
                "send",
                "--profile",
                "Local",
                "--to",
                "bob@example.com",
                "--subject",
                &subject,
                "--body",
                "hi",
                "--no-wait",
            ],
        );
        let shown = text(&queued);
        assert!(
            shown.contains(&format!("Queued as outbox entry {n}; `mailbridge serve` or `mailbridge outbox flush` sends it.")),
            "{shown}"
        );
    }
    let listed = text(&run(dir.path(), &["outbox", "list"]));
    assert!(listed.contains("Outbox: 3 queued."), "{listed}");
    assert!(listed.contains("Nothing delivers it now"), "{listed}");
    // Nothing was sent before the flush.
    assert!(sandbox.store().message_ids().expect("ids").is_empty());
    let cancelled = run(dir.path(), &["outbox", "cancel", "2"]);
    assert!(
        text(&cancelled).contains("1 entry cancelled: 2."),
        "{}",
        text(&cancelled)
    );
    let again = run(dir.path(), &["outbox", "cancel", "2"]);
    assert_eq!(again.status.code(), Some(2), "{}", text(&again));
    assert!(
        text(&again).contains("Entry 2 was left as it is: it is cancelled and only entries that have not been sent can be cancelled."),
        "{}",
        text(&again)
    );
    let flushed = run(dir.path(), &["outbox", "flush"]);
    let shown = text(&flushed);
    assert_eq!(flushed.status.code(), Some(0), "{shown}");
    assert!(shown.contains("Outbox: 2 sent, 1 cancelled."), "{shown}");
    let mut subjects: Vec<String> = sandbox
        .store()
        .list()
        .expect("list")
        .into_iter()
        .map(|m| m.subject)
        .collect();
    subjects.sort();
    assert_eq!(subjects, ["Queued 1", "Queued 3"]);
    // A state that does not exist is named with the ones that do.
    let bad = run(dir.path(), &["outbox", "list", "--state", "lost"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        text(&bad).contains("the states are queued, sending, body_sent"),
        "{}",
        text(&bad)
    );
}

#[test]
fn the_suppression_list_imports_and_exports_csv_and_a_bad_file_changes_nothing() {
    let dir = TempDir::new("cli-suppression");
    let imported = run_with_input(
        dir.path(),
        &["suppression", "import", "-"],
        b"email,reason\nGone@Example.com,unsubscribed by mail\nnew@example.com,\n",
    );
    let shown = text(&imported);
    assert_eq!(imported.status.code(), Some(0), "{shown}");
    assert!(
        shown.contains("Imported from standard input: 2 new, 2 in all."),
        "{shown}"
    );
    // The same address in other letter case is not added twice.
    let again = run_with_input(
        dir.path(),
        &["suppression", "import", "-"],
        b"address\ngone@example.com\n",
    );
    assert!(
        text(&again).contains("0 new, 2 in all."),
        "{}",
        text(&again)
    );
    let file = dir.path().join("data").join("suppressed.csv");
    let before = std::fs::read(&file).expect("the list is kept in the data directory");
    let bad = run_with_input(dir.path(), &["suppression", "import", "-"], b"name\nAnn\n");
    assert_eq!(bad.status.code(), Some(2), "{}", text(&bad));
    assert!(
        text(&bad).contains("nothing was imported from standard input"),
        "{}",
        text(&bad)
    );
    assert_eq!(
        std::fs::read(&file).expect("read"),
        before,
        "a bad file changes nothing"
    );
    let exported = run(dir.path(), &["suppression", "export", "-"]);
    let csv = String::from_utf8_lossy(&exported.stdout);
    assert!(csv.starts_with("address,reason,source,added_at"), "{csv}");
    assert!(
        csv.contains("Gone@Example.com,unsubscribed by mail,import,"),
        "{csv}"
    );
    assert!(csv.contains("new@example.com,imported,import,"), "{csv}");
    let listed = text(&run(dir.path(), &["suppression", "list"]));
    assert!(listed.contains("2 suppressed addresses"), "{listed}");
}
