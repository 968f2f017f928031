//! The sandbox's read-only IMAP side as Python's imaplib sees it: TLS with the sandbox CA,
//! logins, SPECIAL-USE folders, finding a message sent through the sandbox's SMTP by its
//! Message-ID (plain SEARCH and Gmail's X-GM-RAW), its exact bytes, and hostile input.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};

use crate::support::{
    Fixture, PASSWORD, PATIENCE, PyRun, USER, on_tls, python, run_driver, send_steps, start,
};

/// What imaplib saw, session by session; panics dump the plan and the results.
struct Run {
    plan: Value,
    output: Value,
    stderr: String,
}

impl Run {
    #[track_caller]
    fn result(&self, session: usize, step: usize) -> &Value {
        let result = &self.output["sessions"][session][step];
        if result.is_null() {
            self.fail(&format!("no result {step} in session {session}"));
        }
        result
    }

    /// The data of a step that must have succeeded with OK.
    #[track_caller]
    fn ok(&self, session: usize, step: usize) -> &[Value] {
        let result = self.result(session, step);
        if result["typ"] != "OK" {
            self.fail(&format!(
                "session {session} step {step} was not OK: {result}"
            ));
        }
        result["data"].as_array().map_or(&[], Vec::as_slice)
    }

    /// All the text of a step's data, lines and literals.
    fn text(&self, session: usize, step: usize) -> String {
        self.ok(session, step)
            .iter()
            .flat_map(|datum| {
                datum
                    .as_array()
                    .cloned()
                    .unwrap_or_else(|| vec![datum.clone()])
            })
            .filter_map(|part| part["text"].as_str().map(str::to_owned))
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[track_caller]
    fn fail(&self, what: &str) -> ! {
        panic!(
            "{what}\n--- plan ---\n{:#}\n--- results ---\n{:#}\n--- python stderr ---\n{}",
            self.plan, self.output, self.stderr
        )
    }
}

/// Runs sessions of steps (see `imap_driver.py`) one after another in one Python process.
async fn imaplib(fixture: &Fixture, sessions: Vec<Vec<Value>>) -> Run {
    let plan = json!({
        "host": "127.0.0.1",
        "port": fixture.imap_addr().port(),
        "cafile": fixture.ca_cert_path(),
        "timeout": PATIENCE.as_secs(),
        "sessions": sessions,
    });
    let PyRun {
        plan,
        output,
        stderr,
    } = run_driver("imap_driver.py", plan).await;
    Run {
        plan,
        output,
        stderr,
    }
}

fn call(name: &str, args: &[&str]) -> Value {
    let mut step = vec![json!("call"), json!(name)];
    step.extend(args.iter().map(|arg| json!(arg)));
    Value::Array(step)
}

fn login() -> Value {
    call("login", &[USER, PASSWORD])
}

/// Sends one message through the sandbox's SMTP; returns its store id and Message-ID
/// (without brackets).
async fn send_one(fixture: &Fixture, subject: &str) -> (u64, String) {
    let run = python(fixture, vec![on_tls(fixture, send_steps(subject))]).await;
    if run.error(0, 2).is_some() {
        run.fail("sending through the sandbox's SMTP failed");
    }
    let id = fixture.store().list().expect("list")[0].id;
    let message_id = fixture.store().message_ids().expect("ids")[0].clone();
    (id, message_id)
}

#[tokio::test]
async fn imaplib_logs_in_over_tls_and_lists_the_special_use_folders() {
    let fixture = start("imap-list", |_| {}).await;
    let run = imaplib(
        &fixture,
        vec![
            vec![login(), call("list", &[]), call("logout", &[])],
            vec![
                json!(["authenticate_plain", USER, PASSWORD]),
                call("list", &["\"\"", "[Gmail]/%"]),
            ],
        ],
    )
    .await;
    let connect = run.result(0, 0);
    for capability in ["IMAP4REV1", "SPECIAL-USE", "X-GM-EXT-1", "AUTH=PLAIN"] {
        if !connect["capabilities"]
            .as_array()
            .is_some_and(|caps| caps.iter().any(|cap| cap == capability))
        {
            run.fail(&format!("the capabilities lack {capability}"));
        }
    }
    run.ok(0, 1);
    let list = run.text(0, 2);
    for line in [
        r#"(\HasNoChildren) "/" "INBOX""#,
        r#"(\All \HasNoChildren) "/" "[Gmail]/All Mail""#,
        r#"(\HasNoChildren \Junk) "/" "[Gmail]/Spam""#,
        r#"(\HasNoChildren \Trash) "/" "[Gmail]/Trash""#,
    ] {
        assert!(
            list.lines().any(|l| l == line),
            "LIST lacks {line:?}:\n{list}"
        );
    }
    assert_eq!(run.result(0, 3)["typ"], "BYE", "{}", run.result(0, 3));
    run.ok(1, 1);
    assert_eq!(run.text(1, 2).lines().count(), 3, "{}", run.text(1, 2));
}

#[tokio::test]
async fn a_message_sent_through_smtp_is_found_by_message_id_and_fetched_byte_exact() {
    let fixture = start("imap-find", |_| {}).await;
    let (_, older) = send_one(&fixture, "an older message").await;
    let (id, message_id) = send_one(&fixture, "the one to find").await;
    assert_ne!(older, message_id);
    let uid = id.to_string();
    let by_header = format!("<{message_id}>");
    let by_raw = format!("\"rfc822msgid:<{message_id}>\"");
    let in_promotions = format!("\"rfc822msgid:<{message_id}> category:promotions\"");
    let in_primary = format!("\"rfc822msgid:{message_id} category:primary\"");
    let items = "(UID FLAGS INTERNALDATE RFC822.SIZE X-GM-LABELS BODY.PEEK[HEADER] BODY.PEEK[])";
    let run = imaplib(
        &fixture,
        vec![vec![
            login(),
            call("select", &["\"[Gmail]/All Mail\"", "True"]),
            call("search", &["UTF-8", "HEADER", "Message-ID", &by_header]),
            call("uid", &["SEARCH", "X-GM-RAW", &by_raw]),
            call("uid", &["SEARCH", "X-GM-RAW", &in_promotions]),
            call("uid", &["SEARCH", "X-GM-RAW", &in_primary]),
            call("uid", &["FETCH", &uid, items]),
            call("select", &["INBOX", "True"]),
            call("uid", &["SEARCH", "HEADER", "Message-ID", &message_id]),
            call("uid", &["FETCH", &uid, "(X-GM-LABELS)"]),
            call("select", &["\"[Gmail]/Spam\"", "True"]),
            call("select", &["INBOX"]),
        ]],
    )
    .await;
    assert_eq!(run.ok(0, 2)[0], json!({"text": "2"}), "All Mail EXISTS");
    assert_eq!(run.text(0, 3), "2", "the second message, by number");
    assert_eq!(run.text(0, 4), uid, "X-GM-RAW rfc822msgid finds it by UID");
    assert_eq!(
        run.text(0, 5),
        "",
        "every message is in Primary, none in Promotions"
    );
    assert_eq!(run.text(0, 6), uid);

    let raw = fixture.store().raw(id).expect("read").expect("stored");
    let fetched = run.ok(0, 7);
    let literal = |index: usize| -> Vec<u8> {
        let encoded = fetched[index][1]["base64"].as_str().unwrap_or_default();
        STANDARD
            .decode(encoded)
            .unwrap_or_else(|e| run.fail(&format!("base64: {e}")))
    };
    let header_end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a header")
        + 4;
    assert_eq!(
        literal(0),
        raw[..header_end],
        "BODY[HEADER] is the header, blank line included"
    );
    assert_eq!(literal(1), raw, "BODY[] is the captured bytes exactly");
    let first_line = fetched[0][0]["text"].as_str().unwrap_or_default();
    for needle in [
        format!("UID {uid} "),
        "FLAGS () ".to_owned(),
        format!("RFC822.SIZE {} ", raw.len()),
        r"X-GM-LABELS (\Inbox) ".to_owned(),
    ] {
        assert!(
            first_line.contains(&needle),
            "FETCH lacks {needle:?}: {first_line}"
        );
    }
    let received = fixture.store().list().expect("list")[0].received_unix_ms / 1000;
    let parsed = imaplib(&fixture, vec![vec![json!(["internaldate", first_line])]]).await;
    assert_eq!(
        parsed.result(0, 1)["unix"].as_u64(),
        Some(received),
        "imaplib reads INTERNALDATE as the capture time"
    );

    assert_eq!(run.text(0, 9), uid, "INBOX holds it too");
    let inbox_labels = run.text(0, 10);
    assert!(
        inbox_labels.contains("X-GM-LABELS ()"),
        "Gmail leaves out the selected folder's label: {inbox_labels}"
    );
    assert_eq!(run.ok(0, 11)[0], json!({"text": "0"}), "Spam is empty");
    assert_eq!(
        run.result(0, 12)["error"],
        "readonly",
        "a SELECT is answered READ-ONLY: {}",
        run.result(0, 12)
    );
}

#[tokio::test]
async fn a_wrong_password_gets_authenticationfailed() {
    let fixture = start("imap-wrong-password", |_| {}).await;
    let run = imaplib(
        &fixture,
        vec![
            vec![call("login", &[USER, "wrongwrongwrongw"]), login()],
            vec![json!(["authenticate_plain", USER, "wrongwrongwrongw"])],
            vec![call("login", &["someone@else.test", PASSWORD])],
        ],
    )
    .await;
    for session in 0..3 {
        let result = run.result(session, 1);
        let detail = result["detail"].as_str().unwrap_or_default();
        if result["error"] != "error"
            || !detail.contains("[AUTHENTICATIONFAILED] Invalid credentials (Failure)")
        {
            run.fail(&format!("session {session}: expected AUTHENTICATIONFAILED"));
        }
    }
    run.ok(0, 2);
}

/// XOAUTH2 as imaplib speaks it: the sandbox's token signs in; a wrong one, or the right one
/// for another account, gets Gmail's JSON challenge (status 400, scheme Bearer, the mail
/// scope), then AUTHENTICATIONFAILED once the empty answer came.
#[tokio::test]
async fn xoauth2_takes_the_token_and_refuses_others_with_gmails_challenge() {
    let fixture = start("imap-xoauth2", |_| {}).await;
    let token = sandbox::DEFAULT_OAUTH_TOKEN;
    let run = imaplib(
        &fixture,
        vec![
            vec![
                json!(["authenticate_xoauth2", USER, token]),
                call("list", &[]),
            ],
            vec![json!(["authenticate_xoauth2", USER, "ya29.not-the-token"])],
            vec![json!(["authenticate_xoauth2", "someone@else.test", token])],
        ],
    )
    .await;
    let connect = run.result(0, 0);
    for capability in ["AUTH=XOAUTH2", "AUTH=OAUTHBEARER"] {
        if !connect["capabilities"]
            .as_array()
            .is_some_and(|caps| caps.iter().any(|cap| cap == capability))
        {
            run.fail(&format!("the capabilities lack {capability}"));
        }
    }
    run.ok(0, 1);
    run.ok(0, 2);
    for session in [1, 2] {
        let result = run.result(session, 1);
        let detail = result["detail"].as_str().unwrap_or_default();
        if result["error"] != "error" || !detail.contains("[AUTHENTICATIONFAILED]") {
            run.fail(&format!("session {session}: expected AUTHENTICATIONFAILED"));
        }
        let challenges = result["challenges"].as_array().cloned().unwrap_or_default();
        let json: Value = challenges
            .get(1)
            .and_then(Value::as_str)
            .and_then(|text| serde_json::from_str(text).ok())
            .unwrap_or_else(|| run.fail(&format!("session {session}: no JSON challenge")));
        assert_eq!(json["status"], "400", "{json}");
        assert_eq!(json["schemes"], "Bearer", "{json}");
        assert_eq!(json["scope"], "https://mail.google.com/", "{json}");
    }
}

#[tokio::test]
async fn junk_a_huge_literal_and_a_huge_line_get_bad_and_a_close_while_others_are_served() {
    let fixture = start("imap-hostile", |_| {}).await;
    let junk = "\u{ff}\u{0}\u{1b}[junk \u{80}\r\n";
    let run = imaplib(
        &fixture,
        vec![
            vec![json!(["raw", junk, 8])],
            vec![json!(["raw", "a1 LOGIN {2147483648}\r\n"])],
            vec![json!(["raw", "a2 LOGIN {5000000+}\r\n"])],
            vec![json!(["raw", "0123456789", 1_000_000])],
            vec![login(), call("list", &["\"\"", "INBOX"])],
        ],
    )
    .await;
    let said = |session: usize| -> String {
        let result = run.result(session, 0);
        if result["closed"] != true {
            run.fail(&format!("session {session} was not closed"));
        }
        result["text"].as_str().unwrap_or_default().to_owned()
    };
    let junk = said(0);
    assert_eq!(
        junk.matches("* BAD Could not parse command\r\n").count(),
        5,
        "{junk}"
    );
    assert!(
        junk.ends_with("* BYE Too many invalid IMAP commands.\r\n"),
        "{junk}"
    );
    let literal = said(1);
    assert!(
        literal.contains(
            "a1 BAD [TOOBIG] Literal of 2147483648 bytes refused: this server takes at most \
             1048576 (Failure)\r\n* BYE"
        ),
        "{literal}"
    );
    assert!(
        !literal.contains("+ "),
        "no continuation for a refused literal: {literal}"
    );
    // A non-synchronizing literal would come at once, so the connection must close.
    let non_sync = said(2);
    assert!(
        non_sync.contains("a2 BAD [TOOBIG] Literal of 5000000 bytes refused"),
        "{non_sync}"
    );
    let line = said(3);
    assert!(
        line.contains("* BAD [TOOBIG] Line too long: at most 8192 bytes (Failure)\r\n* BYE"),
        "{line}"
    );
    run.ok(4, 1);
    assert!(run.text(4, 2).contains("INBOX"));
}

#[tokio::test]
async fn the_banner_shows_the_imap_port() {
    let fixture = start("imap-banner", |_| {}).await;
    let banner = fixture.banner();
    let line = format!("  IMAP      {}   ", fixture.imap_addr());
    assert!(
        banner.contains(&line),
        "the banner lacks {line:?}:\n{banner}"
    );
    assert_eq!(fixture.imap_addr().ip().to_string(), "127.0.0.1");
}

/// The spam rule and the tabs as imaplib sees them: a message with List-Unsubscribe is in
/// Promotions, the GTUBE string sends one to Spam (and out of INBOX and All Mail), and the
/// fault switched on while the sandbox runs sends the next one there whatever it is.
#[tokio::test]
async fn spam_and_tabs_as_imaplib_sees_them() {
    let fixture = start("imap-spam", |_| {}).await;
    let message = |id: &str, extra: &str, body: &str| {
        format!(
            "From: {USER}\r\nTo: bob@example.com\r\nSubject: {id}\r\nMessage-ID: <{id}@mailbridge.test>\r\n\
             Date: Mon, 1 Jan 2024 00:00:00 +0000\r\n{extra}\r\n{body}\r\n"
        )
    };
    let send = |id: &str, extra: &str, body: &str| {
        on_tls(
            &fixture,
            vec![
                json!(["auth", "PLAIN", USER, PASSWORD]),
                json!([
                    "sendmail",
                    USER,
                    ["bob@example.com"],
                    message(id, extra, body)
                ]),
            ],
        )
    };
    let gtube = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X";
    let sent = python(
        &fixture,
        vec![
            send(
                "promo",
                "List-Unsubscribe: <https://example.com/u>\r\n",
                "Sale.",
            ),
            send("gtube", "", gtube),
        ],
    )
    .await;
    for session in 0..2 {
        if sent.error(session, 2).is_some() {
            sent.fail("sending through the sandbox's SMTP failed");
        }
    }
    fixture.faults().update(|f| f.spam_next = 1);
    let faulted = python(
        &fixture,
        vec![send("faulted", "", "Nothing wrong with me.")],
    )
    .await;
    if faulted.error(0, 2).is_some() {
        faulted.fail("sending the faulted message failed");
    }
    let raw = |query: &str| format!("\"{query}\"");
    let run = imaplib(
        &fixture,
        vec![vec![
            login(),
            call("select", &["\"[Gmail]/All Mail\"", "True"]),
            call("uid", &["SEARCH", "X-GM-RAW", &raw("category:promotions")]),
            call(
                "uid",
                &["SEARCH", "HEADER", "Message-ID", "gtube@mailbridge.test"],
            ),
            call("select", &["\"[Gmail]/Spam\"", "True"]),
            call(
                "uid",
                &["SEARCH", "HEADER", "Message-ID", "gtube@mailbridge.test"],
            ),
            call(
                "uid",
                &[
                    "SEARCH",
                    "X-GM-RAW",
                    &raw("rfc822msgid:faulted@mailbridge.test"),
                ],
            ),
            call("select", &["INBOX", "True"]),
        ]],
    )
    .await;
    let ids: Vec<u64> = fixture
        .store()
        .list()
        .expect("list")
        .iter()
        .map(|s| s.id)
        .collect();
    // Newest first: faulted, gtube, promo.
    let (faulted_uid, gtube_uid, promo_uid) = (ids[0], ids[1], ids[2]);
    assert_eq!(
        run.ok(0, 2)[0],
        json!({"text": "1"}),
        "All Mail holds only the promotion"
    );
    assert_eq!(run.text(0, 3), promo_uid.to_string(), "in Promotions");
    assert_eq!(run.text(0, 4), "", "GTUBE is not in All Mail");
    assert_eq!(run.ok(0, 5)[0], json!({"text": "2"}), "Spam holds two");
    assert_eq!(run.text(0, 6), gtube_uid.to_string());
    assert_eq!(
        run.text(0, 7),
        faulted_uid.to_string(),
        "the fault sent it to Spam"
    );
    assert_eq!(
        run.ok(0, 8)[0],
        json!({"text": "1"}),
        "INBOX holds only the promotion"
    );
    assert_eq!(fixture.faults().get().spam_next, 0);
}
