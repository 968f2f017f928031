//! `mailbridge merge`: a 50-row list with one bad address and one duplicate, checked in a dry
//! run, then queued with the bad rows skipped and delivered to the sandbox; broken lists and
//! templates refused with nothing queued.

use std::path::Path;
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

use crate::support::{Serve, TempDir, mailbridge};

fn run(dir: &Path, args: &[&str]) -> Output {
    mailbridge(dir)
        .args(args)
        .current_dir(dir)
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

/// 50 rows; row 7's address is broken and row 30 repeats row 10 in other letter case.
fn write_list(dir: &Path) -> String {
    let mut csv = String::from("email;name;city\n");
    for row in 1..=50 {
        let email = match row {
            7 => "not-an-address".to_owned(),
            30 => "Person10@Example.com".to_owned(),
            _ => format!("person{row}@example.com"),
        };
        csv.push_str(&format!("{email};Person {row};\"Town, {row}\"\n"));
    }
    let path = dir.join("list.csv");
    std::fs::write(&path, csv).expect("write the list");
    std::fs::write(
        dir.join("body.txt"),
        "Dear {{ name }} of {{ city }},\nhello.\n",
    )
    .expect("write the text");
    std::fs::write(
        dir.join("body.html"),
        "<p>Dear {{ name }} &amp; {{ city }}</p>\n",
    )
    .expect("write the html");
    path.to_string_lossy().into_owned()
}

fn merge_args<'a>(list: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "merge",
        list,
        "--subject",
        "Hello {{ name }}",
        "--text",
        "body.txt",
        "--html",
        "body.html",
        "--to-column",
        "email",
    ];
    args.extend_from_slice(extra);
    args
}

#[test]
fn a_dry_run_reports_the_bad_address_and_the_duplicate_by_row() {
    let dir = TempDir::new("merge-dry");
    let list = write_list(dir.path());
    let output = run(dir.path(), &merge_args(&list, &[]));
    let shown = text(&output);
    assert_eq!(output.status.code(), Some(1), "{shown}");
    for wanted in [
        "50 rows in ",
        "48 valid, 1 duplicate, 0 suppressed, 1 problem.",
        "row 30: duplicate of row 10",
        "row 7, email: \"not-an-address\" is not an address",
        "Row 1 subject: Hello Person 1",
        "Dry run: nothing was queued.",
    ] {
        assert!(shown.contains(wanted), "missing {wanted:?}:\n{shown}");
    }
    // The same list from standard input, with its bad rows skipped, is ready to queue.
    let bytes = std::fs::read(&list).expect("read the list");
    let mut child = mailbridge(dir.path())
        .args(merge_args("-", &["--skip-bad-rows", "--limit", "5"]))
        .current_dir(dir.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("mailbridge runs");
    let _ = std::io::Write::write_all(&mut child.stdin.take().expect("stdin"), &bytes);
    let output = child.wait_with_output().expect("mailbridge ends");
    let shown = text(&output);
    assert_eq!(output.status.code(), Some(0), "{shown}");
    assert!(shown.contains("to queue 5 messages"), "{shown}");
}

#[test]
fn send_with_bad_rows_skipped_delivers_48_to_the_sandbox() {
    let dir = TempDir::new("merge-send");
    let list = write_list(dir.path());
    let serve = Serve::start(dir.path());
    let output = run(
        dir.path(),
        &merge_args(
            &list,
            &["--send", "--skip-bad-rows", "--profile", "Sandbox"],
        ),
    );
    let shown = text(&output);
    assert!(output.status.success(), "{shown}\n{}", serve.output());
    assert!(
        shown.contains("Queued 48 messages as outbox batch"),
        "{shown}"
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let output = run(
            dir.path(),
            &["outbox", "list", "--state", "sent", "--limit", "100"],
        );
        let listed = text(&output);
        if listed.contains("Outbox: 48 sent.") {
            assert!(listed.contains("Hello Person 50"), "{listed}");
            assert!(!listed.contains("Hello Person 7\n"), "{listed}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "48 never arrived:\n{listed}\n{}",
            serve.output()
        );
        std::thread::sleep(Duration::from_millis(250));
    }
}

#[test]
fn a_list_that_is_not_utf8_or_a_broken_template_queues_nothing() {
    let dir = TempDir::new("merge-bad");
    let list = write_list(dir.path());
    let latin1 = dir.path().join("latin1.csv");
    std::fs::write(
        &latin1,
        b"email,name\na@example.com,Ann\nb@example.com,J\xF6rg\n",
    )
    .expect("write");
    let latin1 = latin1.to_string_lossy().into_owned();
    let cases: &[(Vec<&str>, &str)] = &[
        (
            merge_args(&latin1, &["--send", "--profile", "Sandbox"]),
            "is not UTF-8 text: row 2 (line 3) has an invalid byte at byte offset 44",
        ),
        (
            {
                let mut args = merge_args(&list, &["--send", "--profile", "Sandbox"]);
                args[3] = "Hello {{ name";
                args
            },
            "the subject template has a syntax error on line 1",
        ),
    ];
    for (args, wanted) in cases {
        let output = run(dir.path(), args);
        let shown = text(&output);
        assert_eq!(output.status.code(), Some(2), "{shown}");
        assert!(shown.contains(wanted), "missing {wanted:?}:\n{shown}");
        assert!(!shown.contains("Queued"), "{shown}");
    }
    let output = run(dir.path(), &["outbox", "list"]);
    assert!(
        text(&output).contains("The outbox is empty."),
        "{}",
        text(&output)
    );
}
