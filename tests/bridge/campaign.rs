//! Campaigns over the WebSocket: a 50-row list checked by row, previewed, sent to the sandbox
//! with one-click unsubscribe and exported; the daily limit's split across days; pause, resume
//! and cancel; `kill -9` in the middle; and broken input refused with nothing queued.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use mailbridge::server::ServeConfig;
use profile::{Limits, ProfileId};
use protocol::{
    CampaignCheck, CampaignSpec, CampaignState, CampaignView, EntryState, ErrorKind, Operation,
    Outcome,
};

use super::harness::{Client, Running, serve_sending_to, start};
use crate::support::{Serve, TempDir, mailbridge};

/// `rows` rows; row 7's address is broken and row 30 repeats row 10 in other letter case.
fn list(rows: usize, bad: bool) -> String {
    let mut csv = String::from("email,name\n");
    for row in 1..=rows {
        let email = match row {
            7 if bad => "not-an-address".to_owned(),
            30 if bad => "Person10@Example.com".to_owned(),
            _ => format!("person{row}@example.com"),
        };
        csv.push_str(&format!("{email},Person {row}\n"));
    }
    csv
}

fn spec(csv: String) -> CampaignSpec {
    CampaignSpec {
        name: "Spring news".to_owned(),
        csv,
        csv_upload: None,
        address_column: "email".to_owned(),
        subject: "Hello {{ name }}".to_owned(),
        text: Some("Dear {{ name }},\nnews.\nUnsubscribe: {{ unsubscribe_url }}\n".to_owned()),
        html: Some(
            "<p>Dear {{ name }}</p><a href=\"{{ unsubscribe_url }}\">Unsubscribe</a>".to_owned(),
        ),
        unsubscribe_url: Some("https://news.example.com/u/{token}".to_owned()),
        unsubscribe_mailto: None,
        skip_bad_rows: false,
    }
}

async fn with_limits(running: &Running, client: &mut Client, limits: Limits) -> ProfileId {
    let mut profile = running.sandbox_profile(client).await;
    profile.limits = limits;
    let Outcome::Saved { profile } = client.ok(Operation::SaveProfile { profile }).await else {
        panic!("the profile was not saved");
    };
    profile.profile.id
}

async fn check(client: &mut Client, profile: &ProfileId, spec: &CampaignSpec) -> CampaignCheck {
    let Outcome::CampaignChecked(check) = client
        .ok(Operation::CheckCampaign {
            profile: profile.clone(),
            spec: spec.clone(),
        })
        .await
    else {
        panic!("not checked");
    };
    check
}

async fn start_campaign(client: &mut Client, profile: &ProfileId, spec: &CampaignSpec) -> u64 {
    let Outcome::Campaign(view) = client
        .ok(Operation::StartCampaign {
            profile: profile.clone(),
            spec: spec.clone(),
        })
        .await
    else {
        panic!("not started");
    };
    view.id
}

async fn campaign(client: &mut Client, id: u64) -> CampaignView {
    let Outcome::Campaigns { campaigns } = client.ok(Operation::ListCampaigns).await else {
        panic!("no campaigns");
    };
    campaigns
        .into_iter()
        .find(|c| c.id == id)
        .expect("the campaign is listed")
}

async fn wait_for(
    client: &mut Client,
    id: u64,
    limit: Duration,
    done: impl Fn(&CampaignView) -> bool,
) -> CampaignView {
    let deadline = Instant::now() + limit;
    loop {
        let view = campaign(client, id).await;
        if done(&view) {
            return view;
        }
        assert!(
            Instant::now() < deadline,
            "not there in {limit:?}: {view:#?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn refused(client: &mut Client, operation: Operation) -> protocol::OperationError {
    match client.call(operation).await.result {
        Ok(outcome) => panic!("not refused: {outcome:?}"),
        Err(error) => error,
    }
}

fn header<'a>(message: &'a protocol::CapturedMessage, name: &str) -> &'a str {
    message
        .headers
        .iter()
        .find(|h| h.name.eq_ignore_ascii_case(name))
        .map(|h| h.value.trim())
        .unwrap_or_else(|| panic!("no {name} header in {message:#?}"))
}

fn verify(dir: &Path, token: &str) -> (Option<i32>, String) {
    let output = mailbridge(dir)
        .args(["unsubscribe", "verify", token])
        .stdin(Stdio::null())
        .output()
        .expect("mailbridge runs");
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
    )
}

#[tokio::test]
async fn fifty_rows_are_checked_by_row_previewed_sent_with_unsubscribe_and_exported() {
    let running = start("campaign-50", |_| {}, ServeConfig::default()).await;
    let mut client = Client::connect(&running).await;
    let profile = running.sandbox_profile(&mut client).await.id;
    let mut spec = spec(list(50, true));

    let checked = check(&mut client, &profile, &spec).await;
    assert_eq!((checked.rows, checked.valid), (50, 48));
    assert_eq!(checked.duplicates, vec![(30, 10)]);
    assert_eq!(checked.problems.len(), 1, "{checked:#?}");
    assert_eq!(
        (checked.problems[0].row, checked.problems[0].field.as_str()),
        (7, "email")
    );
    assert!(checked.blocked);
    assert_eq!(checked.schedule_summary, "48 recipients: 48 today");

    let Outcome::CampaignRow(preview) = client
        .ok(Operation::PreviewCampaignRow {
            profile: profile.clone(),
            spec: spec.clone(),
            row: 3,
        })
        .await
    else {
        panic!("no preview");
    };
    assert_eq!(preview.subject, "Hello Person 3");
    assert_eq!(preview.to, "person3@example.com");
    assert!(
        preview
            .raw
            .contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click")
    );

    let refused = refused(
        &mut client,
        Operation::StartCampaign {
            profile: profile.clone(),
            spec: spec.clone(),
        },
    )
    .await;
    assert_eq!(refused.kind, ErrorKind::Invalid);
    assert_eq!(refused.problems[0].path, "csv.row[7].email", "{refused:#?}");

    let Outcome::Sent(report) = client
        .ok(Operation::SendCampaignTest {
            profile: profile.clone(),
            spec: spec.clone(),
            row: 3,
        })
        .await
    else {
        panic!("the test was not sent");
    };
    assert_eq!(report.recipients, vec![sandbox::DEFAULT_USER.to_owned()]);

    spec.skip_bad_rows = true;
    let id = start_campaign(&mut client, &profile, &spec).await;
    let view = wait_for(&mut client, id, Duration::from_secs(60), |v| {
        v.state == CampaignState::Finished
    })
    .await;
    assert_eq!((view.total, view.counts.sent), (48, 48));

    let store = running.sandbox().store();
    let summaries = store.list().expect("list");
    assert!(
        summaries
            .iter()
            .any(|m| m.subject == "[Test] Hello Person 3")
    );
    let summary = summaries
        .iter()
        .find(|m| m.subject == "Hello Person 3")
        .expect("row 3 arrived");
    let message = store.get(summary.id).expect("get").expect("stored");
    assert_eq!(
        message.envelope.rcpt_to,
        vec!["person3@example.com".to_owned()]
    );
    let text = message.text.clone().expect("a text part");
    assert!(text.contains("Dear Person 3,"), "{text}");
    let unsubscribe = header(&message, "List-Unsubscribe");
    assert!(
        unsubscribe.starts_with("<https://news.example.com/u/"),
        "{unsubscribe}"
    );
    assert_eq!(
        header(&message, "List-Unsubscribe-Post"),
        "List-Unsubscribe=One-Click"
    );
    let token = unsubscribe
        .trim_start_matches("<https://news.example.com/u/")
        .trim_end_matches('>');
    assert!(
        text.contains(&format!("https://news.example.com/u/{token}")),
        "{text}"
    );
    let html = message.html.clone().expect("an html part");
    // The link works once the browser reads minijinja's escapes (`/` as `&#x2f;`).
    let link = format!("href=\"https://news.example.com/u/{token}\"");
    assert!(html.replace("&#x2f;", "/").contains(&link), "{html}");
    let (code, said) = verify(running.dir.path(), token);
    assert_eq!(code, Some(0), "{said}");
    assert!(
        said.contains("valid") && said.contains("person3@example.com"),
        "{said}"
    );
    let (code, said) = verify(running.dir.path(), &format!("{token}x"));
    assert_eq!(code, Some(1), "{said}");
    assert!(said.contains("forged"), "{said}");
    // The key is kept in the secret store.
    let secrets = std::fs::read_to_string(running.dir.path().join("secrets.json")).expect("file");
    assert!(secrets.contains("unsubscribe-key"));
    // The endpoint's clicks, as whole URLs on standard input, become suppression entries; a
    // forged one among them is refused and recorded nowhere.
    let clicks =
        format!("https://news.example.com/u/{token}\nhttps://news.example.com/u/{token}x\n");
    let mut child = mailbridge(running.dir.path())
        .args(["unsubscribe", "record", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("mailbridge runs");
    std::io::Write::write_all(&mut child.stdin.take().expect("stdin"), clicks.as_bytes())
        .expect("tokens written");
    let recorded = child.wait_with_output().expect("mailbridge ends");
    let said = String::from_utf8_lossy(&recorded.stdout);
    assert_eq!(recorded.status.code(), Some(1), "{said}");
    assert!(said.contains("unsubscribed: person3@example.com"), "{said}");
    assert!(
        said.contains("Refused 1") && said.contains("line or argument 2"),
        "{said}"
    );
    let suppressed = std::fs::read_to_string(running.dir.path().join("data/suppressed.csv"))
        .expect("the suppression list");
    assert!(
        suppressed
            .lines()
            .any(|l| l.starts_with("person3@example.com") && l.contains("unsubscribe")),
        "{suppressed}"
    );
    assert_eq!(suppressed.lines().count(), 2, "{suppressed}");
    // The next check of the same list skips person 3 and counts it.
    let again = check(&mut client, &profile, &spec).await;
    assert_eq!(again.suppressed, vec![3], "{again:?}");

    let Outcome::CampaignResults { csv, filename } =
        client.ok(Operation::ExportCampaignResults { id }).await
    else {
        panic!("no export");
    };
    assert_eq!(filename, "spring-news-results.csv");
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "row,address,state,message_id,reply,time");
    assert_eq!(lines.len(), 49, "{csv}");
    assert!(lines[1..].iter().all(|l| l.contains(",sent,")), "{csv}");
    assert!(
        lines[1].starts_with("1,person1@example.com,sent,<"),
        "{csv}"
    );
    assert!(
        !lines
            .iter()
            .any(|l| l.starts_with("7,") || l.starts_with("30,"))
    );
}

#[tokio::test]
async fn the_daily_limit_splits_the_campaign_and_the_rest_waits() {
    let running = start("campaign-schedule", |_| {}, ServeConfig::default()).await;
    let mut client = Client::connect(&running).await;
    let limits = Limits {
        daily: 5,
        per_minute: 5,
    };
    let profile = with_limits(&running, &mut client, limits).await;
    let spec = spec(list(8, false));
    let checked = check(&mut client, &profile, &spec).await;
    assert_eq!(
        checked.schedule_summary,
        "8 recipients: 5 today, 3 tomorrow"
    );
    let shares: Vec<(u64, &str)> = checked
        .schedule
        .iter()
        .map(|d| (d.messages, d.day.as_str()))
        .collect();
    assert_eq!(shares, vec![(5, "today"), (3, "tomorrow")]);
    assert_eq!((checked.per_minute, checked.first_day_seconds), (5, 60));
    let id = start_campaign(&mut client, &profile, &spec).await;
    let view = wait_for(&mut client, id, Duration::from_secs(90), |v| {
        v.counts.sent == 5
    })
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let view = campaign(&mut client, id).await.max_sent(view);
    assert_eq!(view.counts.sent, 5, "{view:#?}");
    assert_eq!(view.counts.pending(), 3, "{view:#?}");
    assert_eq!(view.state, CampaignState::Running);
    assert_eq!(view.eta_seconds, None);
    assert!(
        view.schedule_summary.contains("0 of 5 left today"),
        "{view:#?}"
    );
    assert_eq!(running.sandbox().store().count().expect("count"), 5);
}

trait MaxSent {
    fn max_sent(self, other: CampaignView) -> CampaignView;
}

impl MaxSent for CampaignView {
    /// The later view, checked to have sent no fewer.
    fn max_sent(self, earlier: CampaignView) -> CampaignView {
        assert!(self.counts.sent >= earlier.counts.sent);
        self
    }
}

#[tokio::test]
async fn pause_stops_sending_resume_continues_and_cancel_drops_the_rest() {
    let running = start("campaign-pause", |_| {}, ServeConfig::default()).await;
    let mut client = Client::connect(&running).await;
    let limits = Limits {
        daily: 1_000,
        per_minute: 30,
    };
    let profile = with_limits(&running, &mut client, limits).await;
    let spec = spec(list(20, false));
    let id = start_campaign(&mut client, &profile, &spec).await;
    wait_for(&mut client, id, Duration::from_secs(30), |v| {
        v.counts.sent >= 2
    })
    .await;
    let Outcome::Campaign(paused) = client.ok(Operation::PauseCampaign { id }).await else {
        panic!("not paused");
    };
    assert_eq!(paused.state, CampaignState::Paused);
    assert_eq!(paused.eta_seconds, None);
    // What was in flight at the pause may still finish; nothing after it starts.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let at_pause = campaign(&mut client, id).await.counts.sent;
    tokio::time::sleep(Duration::from_secs(5)).await;
    let later = campaign(&mut client, id).await;
    assert_eq!(later.counts.sent, at_pause, "{later:#?}");
    assert_eq!(later.state, CampaignState::Paused);
    let Outcome::Campaign(resumed) = client.ok(Operation::ResumeCampaign { id }).await else {
        panic!("not resumed");
    };
    assert_eq!(resumed.state, CampaignState::Running);
    wait_for(&mut client, id, Duration::from_secs(30), |v| {
        v.counts.sent > at_pause
    })
    .await;
    let Outcome::Campaign(cancelled) = client.ok(Operation::CancelCampaign { id }).await else {
        panic!("not cancelled");
    };
    assert_eq!(cancelled.state, CampaignState::Cancelled);
    let done = wait_for(&mut client, id, Duration::from_secs(20), |v| {
        v.counts.pending() == 0
    })
    .await;
    assert!(done.counts.cancelled > 0, "{done:#?}");
    assert_eq!(done.counts.sent + done.counts.cancelled, 20, "{done:#?}");
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        running.sandbox().store().count().expect("count") as u64,
        done.counts.sent
    );
    let again = refused(&mut client, Operation::ResumeCampaign { id }).await;
    assert!(again.message.contains("was cancelled"), "{again:#?}");
}

#[tokio::test]
async fn a_pause_holds_from_the_next_message_even_at_full_speed() {
    let running = start("campaign-pause-fast", |_| {}, ServeConfig::default()).await;
    let mut client = Client::connect(&running).await;
    let limits = Limits {
        daily: 10_000,
        per_minute: 6_000,
    };
    let profile = with_limits(&running, &mut client, limits).await;
    let id = start_campaign(&mut client, &profile, &spec(list(400, false))).await;
    wait_for(&mut client, id, Duration::from_secs(30), |v| {
        v.counts.sent >= 20
    })
    .await;
    let Outcome::Campaign(paused) = client.ok(Operation::PauseCampaign { id }).await else {
        panic!("not paused");
    };
    let at_pause = paused.counts.sent;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let later = campaign(&mut client, id).await;
    // Only the message each of the sandbox's 8 connections was on may still go; the entries
    // workers had taken but not begun go back to the queue.
    assert!(
        later.counts.sent <= at_pause + 8,
        "{} sent after the pause at {at_pause}: {later:#?}",
        later.counts.sent - at_pause
    );
    assert!(later.counts.queued > 0, "the rest waits: {later:#?}");
    let Outcome::Campaign(cancelled) = client.ok(Operation::CancelCampaign { id }).await else {
        panic!("not cancelled");
    };
    assert_eq!(cancelled.state, CampaignState::Cancelled);
    let done = wait_for(&mut client, id, Duration::from_secs(20), |v| {
        v.counts.pending() == 0
    })
    .await;
    assert_eq!(done.counts.sent, later.counts.sent, "{done:#?}");
}

#[tokio::test]
async fn broken_input_is_refused_by_row_column_or_line_and_nothing_is_queued() {
    let running = start("campaign-bad", |_| {}, ServeConfig::default()).await;
    let mut client = Client::connect(&running).await;
    let profile = running.sandbox_profile(&mut client).await.id;
    let injected = spec(
        "email,name\na@example.com,Ann\nb@example.com,\"Bob\r\nBcc: evil@example.net\"\n"
            .to_owned(),
    );
    let mut syntax = spec(list(3, false));
    syntax.subject = "Hello {{ name".to_owned();
    let mut big = spec(String::new());
    big.csv = "email,name\n".to_owned() + &"someone@example.com,A name\n".repeat(2_000_000);
    assert!(big.csv.len() > 50_000_000);
    let cases: Vec<(CampaignSpec, ErrorKind, &str, Option<&str>)> = vec![
        (
            injected,
            ErrorKind::Invalid,
            "1 row of the list has problems",
            Some("csv.row[2].name"),
        ),
        (
            syntax,
            ErrorKind::Invalid,
            "the subject template has a syntax error on line 1",
            None,
        ),
        (
            big,
            ErrorKind::TooLarge,
            "over the limit of 20971520 bytes",
            None,
        ),
    ];
    for (spec, kind, wanted, path) in cases {
        // In this process, so the 50 MB list reaches the check rather than the socket's cap.
        let error = running
            .bridge
            .execute(
                Operation::StartCampaign {
                    profile: profile.clone(),
                    spec,
                },
                None,
            )
            .await
            .expect_err("refused");
        assert_eq!(error.kind, kind, "{error:#?}");
        assert!(error.message.contains(wanted), "{error:#?}");
        if let Some(path) = path {
            assert_eq!(error.problems[0].path, path, "{error:#?}");
            assert!(
                error.problems[0].message.contains("header injection"),
                "{error:#?}"
            );
        }
    }
    // From a file: not UTF-8 names the row, line and byte; 50 MB is refused by its size.
    let dir = running.dir.path();
    std::fs::write(
        dir.join("latin1.csv"),
        b"email,name\na@example.com,J\xF6rg\n",
    )
    .expect("write");
    let file = std::fs::File::create(dir.join("big.csv")).expect("create");
    file.set_len(50 * 1024 * 1024).expect("a sparse 50 MB file");
    std::fs::write(dir.join("body.txt"), "Hi {{ name }}\n").expect("write");
    for (file, wanted) in [
        (
            "latin1.csv",
            "row 1 (line 2) has an invalid byte at byte offset 26",
        ),
        ("big.csv", "is 52428800 bytes, over the limit"),
    ] {
        let output = mailbridge(dir)
            .args([
                "merge",
                file,
                "--subject",
                "Hi",
                "--text",
                "body.txt",
                "--send",
            ])
            .args(["--profile", "Sandbox"])
            .current_dir(dir)
            .stdin(Stdio::null())
            .output()
            .expect("mailbridge runs");
        let said = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{said}");
        assert!(said.contains(wanted), "{said}");
    }
    let Outcome::Outbox { summary, .. } = client
        .ok(Operation::ListOutbox {
            state: None,
            limit: 10,
        })
        .await
    else {
        panic!("no outbox");
    };
    assert_eq!(summary.counts.total(), 0);
    let Outcome::Campaigns { campaigns } = client.ok(Operation::ListCampaigns).await else {
        panic!("no campaigns");
    };
    assert!(campaigns.is_empty());
}

#[tokio::test]
async fn kill_9_mid_campaign_and_a_restart_finish_it_without_loss() {
    let sandbox =
        crate::support::start("campaign-crash-sandbox", |c| c.capture_capacity = 10_000).await;
    let dir = TempDir::new("campaign-crash");
    let (mut serve, mut client) = serve_sending_to(&sandbox, dir.path()).await;
    let profile = ProfileId("crash".into());
    let rows = 400;
    let id = start_campaign(&mut client, &profile, &spec(list(rows, false))).await;
    let deadline = Instant::now() + Duration::from_secs(60);
    while sandbox.store().count().expect("count") < 100 {
        assert!(
            Instant::now() < deadline,
            "no progress:\n{}",
            serve.output()
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    drop(client);
    serve.kill();
    serve = Serve::start_with(dir.path(), &["--no-sandbox"]);
    client = Client::connect_to(serve.port(), serve.token()).await;
    let ambiguous = match client
        .ok(Operation::ListOutbox {
            state: Some(EntryState::Ambiguous),
            limit: 1_000,
        })
        .await
    {
        Outcome::Outbox { entries, .. } => entries,
        _ => panic!("no outbox"),
    };
    let ids: Vec<u64> = ambiguous.iter().map(|e| e.id).collect();
    let ambiguous: HashSet<String> = ambiguous
        .iter()
        .flat_map(|e| e.recipients.iter().map(|r| r.address.to_lowercase()))
        .collect();
    if !ids.is_empty() {
        client
            .ok(Operation::ReleaseAmbiguous { ids, resend: true })
            .await;
    }
    let view = wait_for(&mut client, id, Duration::from_secs(120), |v| {
        v.state == CampaignState::Finished
    })
    .await;
    assert_eq!(
        view.counts.sent,
        rows as u64,
        "{view:#?}\n{}",
        serve.output()
    );
    let mut received: HashMap<String, usize> = HashMap::new();
    for summary in sandbox.store().list().expect("list") {
        for to in summary.to {
            *received.entry(to.to_lowercase()).or_default() += 1;
        }
    }
    for row in 1..=rows {
        let address = format!("person{row}@example.com");
        let times = received.get(&address).copied().unwrap_or(0);
        assert!(times >= 1, "{address} was lost");
        assert!(
            times == 1 || ambiguous.contains(&address),
            "{address} got {times} copies but was never ambiguous"
        );
    }
    drop(client);
    serve.terminate();
}

#[tokio::test]
async fn a_10000_row_list_uploaded_in_chunks_is_checked_and_previewed() {
    let running = start("campaign-upload", |_| {}, ServeConfig::default()).await;
    let mut client = Client::connect(&running).await;
    let profile = running.sandbox_profile(&mut client).await.id;
    let mut csv = String::from("email,name\n");
    for i in 1..=10_000 {
        csv.push_str(&format!("person{i}@example.com,Person {i}\n"));
    }
    assert!(
        csv.len() > 64 * 1024,
        "larger than one message from the page may be"
    );
    let upload = client.upload("list.csv", "text/csv", csv.as_bytes()).await;
    let mut spec = spec(String::new());
    spec.csv_upload = Some(upload.upload);
    let started = std::time::Instant::now();
    let Outcome::CampaignChecked(check) = client
        .ok(Operation::CheckCampaign {
            profile: profile.clone(),
            spec: spec.clone(),
        })
        .await
    else {
        panic!("not checked");
    };
    eprintln!(
        "campaign check: 10,000 rows validated and rendered in {} ms",
        started.elapsed().as_millis()
    );
    assert_eq!((check.rows, check.valid), (10_000, 10_000));
    assert!(check.problems.is_empty(), "{:?}", check.problems);
    // The upload stays for more checks and previews until the campaign starts.
    let Outcome::CampaignRow(row) = client
        .ok(Operation::PreviewCampaignRow {
            profile,
            spec,
            row: 9_999,
        })
        .await
    else {
        panic!("no preview");
    };
    assert_eq!(row.subject, "Hello Person 9999");
    running.stop().await;
}

/// Issue 12's bounces in a campaign's results: the sandbox accepts every row with a 250, then
/// reports the two `bounce-*` addresses as Gmail does, in the sender's inbox. Once read
/// (`ReadBounces`), those rows show bounced with the status code and the remote server's
/// words, in the page's view and in the exported CSV; the hard bounces are on the suppression
/// list, so a second check of the same list skips them.
#[tokio::test]
async fn bounced_recipients_show_in_the_results_with_their_code_and_are_suppressed() {
    let running = start("campaign-bounces", |_| {}, ServeConfig::default()).await;
    let mut client = Client::connect(&running).await;
    let profile = running.sandbox_profile(&mut client).await.id;
    let csv = "email,name\nann@example.com,Ann\nbounce-1@example.com,Gone\n\
               bob@example.com,Bob\nbounce-2@example.com,Also gone\n"
        .to_owned();
    let spec = spec(csv);
    let id = start_campaign(&mut client, &profile, &spec).await;
    let view = wait_for(&mut client, id, Duration::from_secs(60), |v| {
        v.state == CampaignState::Finished
    })
    .await;
    assert_eq!(view.counts.sent, 4, "{view:#?}");
    assert!(view.bounced.is_empty(), "nothing read yet: {view:#?}");

    let Outcome::Bounces(report) = client
        .ok(Operation::ReadBounces {
            mailbox: "sandbox".to_owned(),
        })
        .await
    else {
        panic!("no bounces");
    };
    assert_eq!(report.matched.len(), 2, "{report:#?}");
    let view = campaign(&mut client, id).await;
    let rows: Vec<(u64, &str, &str)> = view
        .bounced
        .iter()
        .map(|b| (b.row, b.bounce.recipient.as_str(), b.bounce.status.as_str()))
        .collect();
    assert_eq!(
        rows,
        [
            (2, "bounce-1@example.com", "5.1.1"),
            (4, "bounce-2@example.com", "5.1.1")
        ],
        "{view:#?}"
    );
    assert!(
        view.bounced.iter().all(|b| b.bounce.suppressed
            && b.bounce.diagnosis.is_some()
            && b.bounce.remote_text.is_some()),
        "{view:#?}"
    );

    let Outcome::CampaignResults { csv, .. } =
        client.ok(Operation::ExportCampaignResults { id }).await
    else {
        panic!("no export");
    };
    let line = |address: &str| {
        csv.lines()
            .find(|line| line.contains(address))
            .unwrap_or_else(|| panic!("no row for {address}:\n{csv}"))
            .to_owned()
    };
    assert!(
        line("bounce-1@example.com").contains(",bounced,")
            && line("bounce-1@example.com").contains("5.1.1"),
        "{csv}"
    );
    assert!(line("ann@example.com").contains(",sent,"), "{csv}");

    // The hard bounces are suppressed: the same list again skips exactly them.
    let again = check(&mut client, &profile, &spec).await;
    assert_eq!(again.suppressed, [2, 4], "{again:#?}");
    assert_eq!(again.valid, 2, "{again:#?}");
    running.stop().await;
}
