//! The outbox end to end: batches through the sandbox and through Postfix, quotas, back-off,
//! refused input and broken files, and `kill -9` in the middle of a 2,000-message batch.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use mailbridge::outbox::Bounds;
use mailbridge::outbox::store::OutboxStore;
use mailbridge::server::ServeConfig;
use profile::{Header, Limits, Preset, Profile, ProfileId, Security};
use protocol::{Draft, EntryState, ErrorKind, Notice, Operation, OutboxSummary, Outcome};

use super::harness::{Client, Running, serve_sending_to, start};
use crate::support::{PATIENCE, Serve, TempDir, free_port, mailbridge, wait_listening};

fn draft(subject: &str) -> Draft {
    Draft {
        subject: subject.to_owned(),
        text: Some("Hello from the outbox test.\n".to_owned()),
        ..Draft::default()
    }
}

fn recipients(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("rcpt{i}@example.com")).collect()
}

/// The sandbox profile of `running`, with other limits.
async fn sandbox_with_limits(running: &Running, client: &mut Client, limits: Limits) -> ProfileId {
    let mut profile = running.sandbox_profile(client).await;
    profile.limits = limits;
    let Outcome::Saved { profile } = client.ok(Operation::SaveProfile { profile }).await else {
        panic!("the profile was not saved");
    };
    profile.profile.id
}

async fn summary(client: &mut Client) -> OutboxSummary {
    let Outcome::Outbox { summary, .. } = client
        .ok(Operation::ListOutbox {
            state: None,
            limit: 1,
        })
        .await
    else {
        panic!("no outbox");
    };
    summary
}

/// Polls the outbox until `done` holds, or fails with the last summary after `limit`.
async fn wait_until(
    client: &mut Client,
    limit: Duration,
    done: impl Fn(&OutboxSummary) -> bool,
) -> OutboxSummary {
    let deadline = Instant::now() + limit;
    loop {
        let summary = summary(client).await;
        if done(&summary) {
            return summary;
        }
        assert!(
            Instant::now() < deadline,
            "the outbox did not get there in {limit:?}: {summary:#?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn bare(id: &str) -> String {
    id.trim().trim_matches(['<', '>']).to_owned()
}

#[tokio::test]
async fn a_batch_goes_out_over_reused_pipelined_connections_and_is_counted() {
    let running = start("outbox-batch", |_| {}, ServeConfig::default()).await;
    let mut client = Client::connect(&running).await;
    let profile = running.sandbox_profile(&mut client).await.id;
    let Outcome::Enqueued { entries, .. } = client
        .ok(Operation::EnqueueEach {
            profile,
            draft: draft("Batch"),
            recipients: recipients(40),
        })
        .await
    else {
        panic!("not queued");
    };
    assert_eq!(entries.len(), 40);
    let done = wait_until(&mut client, Duration::from_secs(30), |s| {
        s.counts.sent == 40
    })
    .await;
    assert_eq!(done.counts.pending(), 0);
    // The quota counts what the server accepted, message by message and recipient by recipient.
    let quota = &done.quotas[0];
    assert_eq!((quota.sent_24h, quota.unique_recipients_24h), (40, 40));
    assert!(
        quota.summary.starts_with("9960 of 10000 left today"),
        "{quota:?}"
    );
    // The page hears about it without asking.
    assert!(
        client
            .notices
            .iter()
            .any(|n| matches!(n, Notice::Outbox { .. })),
        "no outbox notice"
    );
    // Each entry's Message-ID arrived once; the sandbox saw CHUNKING used, one message per
    // BDAT, over fewer connections than messages.
    let Outcome::Outbox { entries, .. } = client
        .ok(Operation::ListOutbox {
            state: Some(EntryState::Sent),
            limit: 100,
        })
        .await
    else {
        panic!("no list");
    };
    let sent: HashSet<String> = entries.iter().map(|e| bare(&e.message_id)).collect();
    let captured: Vec<String> = running.sandbox().store().message_ids().expect("ids");
    let unique: HashSet<String> = captured.iter().cloned().collect();
    assert_eq!((captured.len(), unique), (40, sent));
    // A sent entry keeps no transcript unless asked to.
    let Outcome::OutboxEntry { entry } = client
        .ok(Operation::ReadOutboxEntry { id: entries[0].id })
        .await
    else {
        panic!("no entry");
    };
    assert!(entry.transcript.is_empty());
    running.stop().await;
}

#[tokio::test]
async fn a_refused_sign_in_pauses_the_account_and_the_failed_are_retried_once_fixed() {
    let running = start("outbox-refused", |_| {}, ServeConfig::default()).await;
    let mut client = Client::connect(&running).await;
    let profile = running.sandbox_profile(&mut client).await.id;
    client
        .ok(Operation::SetSecret {
            profile: profile.clone(),
            secret: protocol::Secret::new("wrongwrongwrongw"),
        })
        .await;
    let Outcome::Enqueued { .. } = client
        .ok(Operation::EnqueueEach {
            profile: profile.clone(),
            draft: draft("Refused"),
            recipients: recipients(30),
        })
        .await
    else {
        panic!("not queued");
    };
    // The sandbox says 535: the account pauses after the sign-ins already under way, instead
    // of failing every message one sign-in at a time.
    let paused = wait_until(&mut client, Duration::from_secs(30), |s| {
        s.counts.failed > 0
            && s.quotas
                .iter()
                .any(|q| q.pause_reason.as_deref().is_some_and(|r| r.contains("535")))
    })
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let held = summary(&mut client).await;
    assert_eq!(held.counts.failed, paused.counts.failed, "{held:#?}");
    assert!(
        held.counts.failed <= 8,
        "one refusal per connection at most: {held:#?}"
    );
    assert_eq!(held.counts.sent, 0, "{held:#?}");
    // The right password lifts the pause, and the failed messages, kept whole, are retried.
    client
        .ok(Operation::SetSecret {
            profile,
            secret: protocol::Secret::new(sandbox::DEFAULT_APP_PASSWORD),
        })
        .await;
    let failed = client
        .ok(Operation::ListOutbox {
            state: Some(EntryState::Failed),
            limit: 100,
        })
        .await
        .into_entries();
    let ids: Vec<u64> = failed.iter().map(|e| e.id).collect();
    let Outcome::OutboxChanged { .. } = client.ok(Operation::RetryEntries { ids }).await else {
        panic!("not retried");
    };
    let done = wait_until(&mut client, Duration::from_secs(30), |s| {
        s.counts.sent == 30
    })
    .await;
    assert_eq!(done.counts.failed, 0, "{done:#?}");
    assert_eq!(running.sandbox().store().count().expect("count"), 30);
    running.stop().await;
}

#[tokio::test]
async fn the_profiles_daily_limit_holds_the_rest_and_says_when_they_go() {
    let running = start("outbox-limit", |_| {}, ServeConfig::default()).await;
    let mut client = Client::connect(&running).await;
    let limits = Limits {
        daily: 5,
        per_minute: 5,
    };
    let profile = sandbox_with_limits(&running, &mut client, limits).await;
    client
        .ok(Operation::EnqueueEach {
            profile,
            draft: draft("Limited"),
            recipients: recipients(8),
        })
        .await;
    let done = wait_until(&mut client, Duration::from_secs(30), |s| s.counts.sent == 5).await;
    // Nothing beyond the limit was even tried: the server never said 550.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let later = summary(&mut client).await;
    assert_eq!(
        (later.counts.sent, later.counts.pending()),
        (5, 3),
        "{later:?}"
    );
    assert_eq!(
        running.sandbox().store().message_ids().expect("ids").len(),
        5
    );
    let quota = &later.quotas[0];
    assert_eq!(quota.remaining, 0);
    // They go when the first of today's five turns 24 hours old.
    let free = quota.next_free_unix_ms.expect("when the rest go");
    let first_sent = client
        .ok(Operation::ListOutbox {
            state: Some(EntryState::Sent),
            limit: 10,
        })
        .await
        .into_entries()
        .iter()
        .map(|e| e.updated_at_unix_ms)
        .min()
        .expect("sent entries");
    assert!(
        free.abs_diff(first_sent + 24 * 60 * 60 * 1000) < 5_000,
        "{free} vs {first_sent}"
    );
    assert_eq!(done.counts.sent, 5);
    assert!(
        quota
            .summary
            .starts_with("0 of 5 left today; the 3 waiting go from ")
            && quota.summary.ends_with("tomorrow"),
        "{}",
        quota.summary
    );
    assert_eq!(
        later.eta_seconds, None,
        "the rest wait for the window, not the pace"
    );
    running.stop().await;
}

#[tokio::test]
async fn the_servers_daily_limit_pauses_the_account_until_its_window_frees() {
    let running = start(
        "outbox-550",
        |c| c.faults.daily_limit = Some(20),
        ServeConfig::default(),
    )
    .await;
    let mut client = Client::connect(&running).await;
    let profile = running.sandbox_profile(&mut client).await.id;
    client
        .ok(Operation::EnqueueEach {
            profile,
            draft: draft("Over the limit"),
            recipients: recipients(30),
        })
        .await;
    let paused = wait_until(&mut client, Duration::from_secs(30), |s| {
        s.quotas
            .first()
            .is_some_and(|q| q.paused_until_unix_ms.is_some())
            && s.counts.sending == 0
    })
    .await;
    assert_eq!(paused.counts.sent, 20, "{paused:?}");
    assert_eq!(paused.counts.pending(), 10, "{paused:?}");
    assert_eq!(paused.counts.failed, 0, "a quota reply fails nothing");
    let quota = &paused.quotas[0];
    assert!(
        quota
            .pause_reason
            .as_deref()
            .is_some_and(|r| r.contains("over its daily sending limit") && r.contains("resumes at")),
        "{quota:?}"
    );
    // Paused until the oldest counted send is 24 hours old.
    let Outcome::Outbox { entries, .. } = client
        .ok(Operation::ListOutbox {
            state: Some(EntryState::Sent),
            limit: 100,
        })
        .await
    else {
        panic!("no list");
    };
    let oldest = entries
        .iter()
        .map(|e| e.updated_at_unix_ms)
        .min()
        .expect("sent entries");
    let until = quota.paused_until_unix_ms.expect("paused");
    let day = 24 * 60 * 60 * 1000;
    assert!(until.abs_diff(oldest + day) < 5_000, "{until} vs {oldest}");
    // Nothing more goes while paused.
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    assert_eq!(
        running.sandbox().store().message_ids().expect("ids").len(),
        20
    );
    let deferred: Vec<_> = client
        .ok(Operation::ListOutbox {
            state: Some(EntryState::Deferred),
            limit: 100,
        })
        .await
        .into_entries();
    let diagnosis = deferred
        .iter()
        .find_map(|e| e.diagnosis.as_ref())
        .expect("the entry that met the 550 says why");
    assert_eq!(diagnosis.title, "Daily sending limit reached");
    running.stop().await;
}

trait Entries {
    fn into_entries(self) -> Vec<protocol::OutboxEntry>;
}

impl Entries for Outcome {
    fn into_entries(self) -> Vec<protocol::OutboxEntry> {
        match self {
            Outcome::Outbox { entries, .. } => entries,
            other => panic!("not a list: {other:?}"),
        }
    }
}

#[tokio::test]
async fn throttling_at_the_greeting_and_at_mail_backs_off_and_then_delivers() {
    for (name, fault) in [("greeting", 0), ("mail", 1)] {
        let running = start(
            &format!("outbox-421-{name}"),
            |c| {
                if fault == 0 {
                    c.faults.reject_greetings = 2;
                } else {
                    c.faults.reject_mail = 2;
                }
            },
            ServeConfig::default(),
        )
        .await;
        let mut client = Client::connect(&running).await;
        let profile = running.sandbox_profile(&mut client).await.id;
        let started = Instant::now();
        client
            .ok(Operation::EnqueueEach {
                profile,
                draft: draft("Throttled"),
                recipients: recipients(6),
            })
            .await;
        let done = wait_until(&mut client, Duration::from_secs(60), |s| s.counts.sent == 6).await;
        // Two refusals, each followed by a wait of at least half a second and then a second.
        assert!(
            started.elapsed() >= Duration::from_millis(1_000),
            "{name}: no back-off ({:?})",
            started.elapsed()
        );
        let entries = client
            .ok(Operation::ListOutbox {
                state: None,
                limit: 10,
            })
            .await
            .into_entries();
        assert!(
            entries.iter().any(|e| e.attempts >= 2),
            "{name}: an entry met the 421 and was tried again: {entries:?}"
        );
        assert_eq!(done.counts.failed, 0);
        assert_eq!(
            running.sandbox().store().message_ids().expect("ids").len(),
            6
        );
        running.stop().await;
    }
}

#[tokio::test]
async fn a_batch_with_a_bad_address_or_an_injected_header_is_refused_whole() {
    let running = start("outbox-bad", |_| {}, ServeConfig::default()).await;
    let mut client = Client::connect(&running).await;
    let profile = running.sandbox_profile(&mut client).await.id;
    let error = client
        .call(Operation::EnqueueEach {
            profile: profile.clone(),
            draft: draft("Bad"),
            recipients: vec![
                "good@example.com".into(),
                "not an address".into(),
                "x@example.com\r\nBcc: evil@example.com".into(),
            ],
        })
        .await
        .result
        .expect_err("refused");
    assert_eq!(error.kind, ErrorKind::Invalid);
    let paths: Vec<&str> = error.problems.iter().map(|p| p.path.as_str()).collect();
    assert!(
        paths.iter().any(|p| p.starts_with("recipients[1].to")),
        "{paths:?}"
    );
    assert!(
        paths.iter().any(|p| p.starts_with("recipients[2].to")),
        "{paths:?}"
    );
    assert!(
        error.message.contains("nothing was queued"),
        "{}",
        error.message
    );
    let mut injected = draft("Injected");
    injected.to = vec!["ok@example.com".into()];
    injected.headers = vec![Header {
        name: "X-Campaign".into(),
        value: "spring\r\nBcc: evil@example.com".into(),
    }];
    let mut fine = draft("Fine");
    fine.to = vec!["ok@example.com".into()];
    let error = client
        .call(Operation::EnqueueBatch {
            profile,
            drafts: vec![fine, injected],
        })
        .await
        .result
        .expect_err("refused");
    assert!(
        error
            .problems
            .iter()
            .any(|p| p.path.starts_with("drafts[1].headers[0]")),
        "{:?}",
        error.problems
    );
    assert_eq!(
        summary(&mut client).await.counts.total(),
        0,
        "nothing was queued"
    );
    running.stop().await;
}

#[test]
fn a_damaged_or_locked_outbox_is_reported_and_never_overwritten() {
    let dir = TempDir::new("outbox-broken");
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).expect("data dir");
    let file = data.join("outbox.sqlite3");
    let junk = b"not a database at all; keep me exactly as I am\n".repeat(200);
    std::fs::write(&file, &junk).expect("junk");
    let output = mailbridge(dir.path())
        .args(["outbox", "list"])
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("outbox database") && stderr.contains("left as it is"),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read(&file).expect("read"),
        junk,
        "the file was changed"
    );

    // A good outbox that another program holds locked.
    std::fs::remove_file(&file).expect("remove");
    let made = mailbridge(dir.path())
        .args(["outbox", "list"])
        .output()
        .expect("runs");
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let mut holder = Command::new("python3")
        .args([
            "-c",
            "import sqlite3, sys, time\n\
             db = sqlite3.connect(sys.argv[1], isolation_level=None)\n\
             db.execute('BEGIN EXCLUSIVE')\n\
             print('locked', flush=True)\n\
             time.sleep(30)",
        ])
        .arg(&file)
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3 runs");
    let mut line = String::new();
    let stdout = holder.stdout.take().expect("stdout");
    std::io::BufRead::read_line(&mut std::io::BufReader::new(stdout), &mut line).expect("read");
    assert_eq!(line.trim(), "locked");
    let before = std::fs::read(&file).expect("read");
    let output = mailbridge(dir.path())
        .args(["outbox", "list"])
        .output()
        .expect("runs");
    let _ = holder.kill();
    let _ = holder.wait();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_ne!(output.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("locked by another program"), "{stderr}");
    assert_eq!(std::fs::read(&file).expect("read"), before);
}

/// A private Postfix on a free loopback port: its real `smtpd`, which offers PIPELINING and
/// CHUNKING, refusing one recipient and discarding the rest; stopped when dropped.
pub(super) struct Postfix {
    dir: PathBuf,
    pub(super) port: u16,
    log: PathBuf,
}

impl Postfix {
    fn start(dir: &Path) -> Postfix {
        Postfix::start_with(dir, "", "")
    }

    /// The same Postfix with `main` appended to its main.cf (a later line wins over an
    /// earlier one) and `master` to its master.cf.
    pub(super) fn start_with(dir: &Path, main: &str, master: &str) -> Postfix {
        let dir = dir.join("postfix");
        for sub in ["conf", "queue", "data"] {
            std::fs::create_dir_all(dir.join(sub)).expect("postfix dirs");
        }
        let port = free_port();
        let log = dir.join("maillog");
        let main = format!(
            "compatibility_level = 3.6\n\
             queue_directory = {queue}\n\
             data_directory = {data}\n\
             inet_interfaces = 127.0.0.1\n\
             inet_protocols = ipv4\n\
             myhostname = postfix.mailbridge.test\n\
             mydestination =\n\
             mynetworks = 127.0.0.0/8\n\
             default_transport = discard:test\n\
             relay_transport = discard:test\n\
             smtpd_relay_restrictions = permit_mynetworks, reject\n\
             smtpd_recipient_restrictions = check_recipient_access inline:{{ {{refused@example.com = REJECT no such user here}} {{gone@example.com = 550 5.1.1 <gone@example.com>: Recipient address rejected: User unknown}} }}, permit\n\
             maillog_file = {log}\n\
             maillog_file_prefixes = {top}\n\
             {main}",
            top = dir.display(),
            queue = dir.join("queue").display(),
            data = dir.join("data").display(),
            log = log.display(),
        );
        std::fs::write(dir.join("conf/main.cf"), main).expect("main.cf");
        let master = format!(
            "127.0.0.1:{port} inet n - n - - smtpd\n\
             pickup unix n - n 60 1 pickup\n\
             cleanup unix n - n - 0 cleanup\n\
             qmgr unix n - n 300 1 qmgr\n\
             rewrite unix - - n - - trivial-rewrite\n\
             bounce unix - - n - 0 bounce\n\
             defer unix - - n - 0 bounce\n\
             trace unix - - n - 0 bounce\n\
             verify unix - - n - 1 verify\n\
             proxymap unix - - n - - proxymap\n\
             showq unix n - n - - showq\n\
             error unix - - n - - error\n\
             retry unix - - n - - error\n\
             discard unix - - n - - discard\n\
             anvil unix - - n - 1 anvil\n\
             scache unix - - n - 1 scache\n\
             postlog unix-dgram n - n - 1 postlogd\n\
             {master}"
        );
        std::fs::write(dir.join("conf/master.cf"), master).expect("master.cf");
        // The master's lock lives in data_directory, which must belong to Postfix's user.
        let _ = Command::new("chown")
            .args(["-R", "postfix"])
            .arg(dir.join("data"))
            .status();
        let status = Command::new("/usr/sbin/postfix")
            .arg("-c")
            .arg(dir.join("conf"))
            .arg("start")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("postfix runs (is Debian's postfix installed? cargo xtask test installs it)");
        assert!(
            status.success(),
            "postfix did not start: {status}; see {}",
            log.display()
        );
        wait_listening(port, "postfix", || {
            std::fs::read_to_string(&log).unwrap_or_default()
        });
        Postfix { dir, port, log }
    }

    /// The Message-IDs Postfix's cleanup took in, as its log says, with repeats.
    fn received(&self) -> Vec<String> {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .filter_map(|line| line.split("message-id=").nth(1))
            .map(bare)
            .collect()
    }
}

impl Drop for Postfix {
    fn drop(&mut self) {
        let _ = Command::new("/usr/sbin/postfix")
            .arg("-c")
            .arg(self.dir.join("conf"))
            .arg("stop")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

/// Postfix's `smtp-sink`, writing each message it takes to a file in `dir`; stopped when
/// dropped.
pub(super) struct SmtpSink {
    child: Child,
    pub(super) port: u16,
    dir: PathBuf,
}

impl SmtpSink {
    pub(super) fn start(dir: &Path) -> SmtpSink {
        let dir = dir.join("sink");
        std::fs::create_dir_all(&dir).expect("sink dir");
        // It drops to `nobody` (the tests run as root), which must be able to write there.
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).expect("chmod");
        let port = free_port();
        let child = Command::new("/usr/sbin/smtp-sink")
            .args(["-u", "nobody", "-d"])
            .arg(format!("{}/message.", dir.display()))
            .arg(format!("127.0.0.1:{port}"))
            .arg("64")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("smtp-sink runs (Debian's postfix has it; cargo xtask test installs it)");
        wait_listening(port, "smtp-sink", String::new);
        SmtpSink { child, port, dir }
    }

    /// Everything it has taken so far, as it wrote it.
    pub(super) fn dumped(&self) -> String {
        let mut dumped = String::new();
        for file in std::fs::read_dir(&self.dir).expect("sink dir").flatten() {
            dumped.push_str(&std::fs::read_to_string(file.path()).unwrap_or_default());
        }
        dumped
    }

    /// The first message taken whose text contains `needle`, as it came over SMTP: the
    /// envelope lines smtp-sink writes first are left out, and the lines end in CRLF again.
    pub(super) fn wait_for(&self, needle: &str) -> Vec<u8> {
        let deadline = Instant::now() + PATIENCE;
        loop {
            for entry in std::fs::read_dir(&self.dir).expect("sink dir").flatten() {
                let text = std::fs::read_to_string(entry.path()).unwrap_or_default();
                if text.contains(needle) {
                    let message: Vec<&str> = text
                        .lines()
                        .skip_while(|line| {
                            ["X-Client-", "X-Helo-", "X-Mail-Args:", "X-Rcpt-Args:"]
                                .iter()
                                .any(|prefix| line.starts_with(prefix))
                        })
                        .collect();
                    return format!("{}\r\n", message.join("\r\n")).into_bytes();
                }
            }
            assert!(
                Instant::now() < deadline,
                "no message with {needle:?} reached smtp-sink in {PATIENCE:?}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A profile for a plain-text server on this machine (Postfix here).
pub(super) fn local_profile(port: u16) -> Profile {
    let mut profile = Profile::from_preset(
        Preset::Custom,
        ProfileId("postfix".into()),
        "Postfix",
        "sender@example.com",
    );
    profile.host = "127.0.0.1".into();
    profile.port = port;
    profile.security = Security::Plain;
    profile.auth = profile::AuthMethod::None;
    profile.limits = Limits {
        daily: 100_000,
        per_minute: 100_000,
    };
    profile
}

#[tokio::test]
async fn postfix_takes_a_pipelined_chunked_batch_and_one_refused_recipient_spares_the_rest() {
    let running = start("outbox-postfix", |_| {}, ServeConfig::default()).await;
    let postfix = Postfix::start(running.dir.path());
    let mut client = Client::connect(&running).await;
    let Outcome::Saved { profile } = client
        .ok(Operation::SaveProfile {
            profile: local_profile(postfix.port),
        })
        .await
    else {
        panic!("not saved");
    };
    let id = profile.profile.id;
    // One message to three recipients, the middle one refused inside the pipelined group.
    let mut group = draft("Three recipients");
    group.to = vec![
        "first@example.com".into(),
        "refused@example.com".into(),
        "third@example.com".into(),
    ];
    let reply = client
        .call(Operation::Send {
            profile: id.clone(),
            draft: group,
        })
        .await;
    let Ok(Outcome::Sent(report)) = &reply.result else {
        panic!("sent to the other two: {:?}", reply.result);
    };
    assert_eq!(
        report.recipients,
        vec![
            "first@example.com".to_owned(),
            "third@example.com".to_owned()
        ]
    );
    assert!(
        report
            .warnings
            .iter()
            .any(|w| w.starts_with("refused@example.com was refused: 554 5.7.1")),
        "{:?}",
        report.warnings
    );
    // MAIL, the three RCPTs and BDAT LAST with the message went in one write.
    let lines: Vec<&str> = reply
        .progress
        .iter()
        .filter_map(|p| match p {
            protocol::Progress::Transcript(line) => Some(line.text.as_str()),
            _ => None,
        })
        .collect();
    let mail = lines
        .iter()
        .position(|l| l.starts_with("MAIL FROM:"))
        .expect("MAIL in the transcript");
    assert!(lines[mail + 1].starts_with("RCPT TO:<first@"), "{lines:?}");
    assert!(lines[mail + 3].starts_with("RCPT TO:<third@"), "{lines:?}");
    assert!(lines[mail + 4].starts_with("BDAT "), "{lines:?}");
    assert!(lines[mail + 4].ends_with(" LAST"), "{lines:?}");

    // A batch of 50, one per recipient, each with its own Message-ID, arrives once each.
    let Outcome::Enqueued { .. } = client
        .ok(Operation::EnqueueEach {
            profile: id,
            draft: draft("Postfix batch"),
            recipients: recipients(50),
        })
        .await
    else {
        panic!("not queued");
    };
    wait_until(&mut client, Duration::from_secs(60), |s| {
        s.counts.sent == 51
    })
    .await;
    let entries = client
        .ok(Operation::ListOutbox {
            state: Some(EntryState::Sent),
            limit: 100,
        })
        .await
        .into_entries();
    let deadline = Instant::now() + Duration::from_secs(20);
    let received = loop {
        let received = postfix.received();
        if received.len() >= 51 || Instant::now() > deadline {
            break received;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let mut counted: HashMap<String, usize> = HashMap::new();
    for id in &received {
        *counted.entry(id.clone()).or_default() += 1;
    }
    for entry in &entries {
        assert_eq!(
            counted.get(&bare(&entry.message_id)),
            Some(&1),
            "entry {} arrived once at Postfix",
            entry.id
        );
    }
    drop(postfix);
    running.stop().await;
}

#[tokio::test]
async fn a_campaign_recipient_refused_as_unknown_is_suppressed_as_soon_as_it_fails() {
    let running = start("outbox-suppress", |_| {}, ServeConfig::default()).await;
    let postfix = Postfix::start(running.dir.path());
    let mut client = Client::connect(&running).await;
    let Outcome::Saved { profile } = client
        .ok(Operation::SaveProfile {
            profile: local_profile(postfix.port),
        })
        .await
    else {
        panic!("not saved");
    };
    let spec = protocol::CampaignSpec {
        name: "Dead addresses".into(),
        csv: "email\nfirst@example.com\ngone@example.com\nthird@example.com\n".into(),
        address_column: "email".into(),
        subject: "Hello".into(),
        text: Some("Hello.".into()),
        ..protocol::CampaignSpec::default()
    };
    let Outcome::Campaign(_) = client
        .ok(Operation::StartCampaign {
            profile: profile.profile.id,
            spec,
        })
        .await
    else {
        panic!("not started");
    };
    // Only the outbox's summary is read while it runs: nobody lists or exports the campaign.
    wait_until(&mut client, Duration::from_secs(60), |s| {
        s.counts.sent == 2 && s.counts.failed == 1
    })
    .await;
    let file = running.dir.path().join("data").join("suppressed.csv");
    let deadline = Instant::now() + Duration::from_secs(10);
    let suppressed = loop {
        let text = std::fs::read_to_string(&file).unwrap_or_default();
        if text.contains("gone@example.com") || Instant::now() > deadline {
            break text;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let line = suppressed
        .lines()
        .find(|line| line.starts_with("gone@example.com"))
        .unwrap_or_else(|| panic!("gone@example.com is suppressed: {suppressed:?}"));
    assert!(line.contains("550 5.1.1"), "{line}");
    assert!(line.contains("permanent_failure"), "{line}");
    assert!(!suppressed.contains("first@example.com"), "{suppressed}");
    drop(postfix);
    running.stop().await;
}

/// Every entry of the outbox in `data`, read from its file.
fn outbox_entries(data: &Path) -> Vec<protocol::OutboxEntry> {
    let store = OutboxStore::open(data.join("outbox.sqlite3"), Bounds::default()).expect("open");
    store.list(None, 100_000).expect("list")
}

#[tokio::test]
async fn kill_9_in_a_2000_message_batch_loses_nothing_and_duplicates_only_ambiguous_entries() {
    let sandbox =
        crate::support::start("outbox-crash-sandbox", |c| c.capture_capacity = 10_000).await;
    let dir = TempDir::new("outbox-crash");
    let (mut serve, mut client) = serve_sending_to(&sandbox, dir.path()).await;
    let Outcome::Enqueued { entries, .. } = client
        .ok(Operation::EnqueueEach {
            profile: ProfileId("crash".into()),
            draft: draft("Crash test"),
            recipients: recipients(2_000),
        })
        .await
    else {
        panic!("not queued");
    };
    assert_eq!(entries.len(), 2_000);
    let mut ever_ambiguous: HashSet<String> = HashSet::new();
    let mut reported = 0;
    for kill_at in [300, 900, 1_500] {
        let deadline = Instant::now() + Duration::from_secs(120);
        while sandbox.store().message_ids().expect("ids").len() < kill_at {
            assert!(
                Instant::now() < deadline,
                "no progress:\n{}",
                serve.output()
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        drop(client);
        serve.kill();
        let captured = sandbox.store().message_ids().expect("ids").len();
        let after_kill = outbox_entries(&dir.path().join("data"));
        let in_flight = after_kill
            .iter()
            .filter(|e| matches!(e.state, EntryState::Sending | EntryState::BodySent))
            .count();
        serve = Serve::start_with(dir.path(), &["--no-sandbox"]);
        client = Client::connect_to(serve.port(), serve.token()).await;
        let ambiguous = client
            .ok(Operation::ListOutbox {
                state: Some(EntryState::Ambiguous),
                limit: 1_000,
            })
            .await
            .into_entries();
        // The restart says what it recovered, in words, with the same count.
        let deadline = Instant::now() + Duration::from_secs(10);
        let said = loop {
            let said = serve.output();
            if said.contains("The outbox resumes") || Instant::now() > deadline {
                break said;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        assert!(said.contains("The outbox resumes"), "{said}");
        if !ambiguous.is_empty() {
            assert!(
                said.contains(&format!(
                    "{} may have been delivered before mailbridge stopped",
                    ambiguous.len()
                )),
                "{said}"
            );
        }
        eprintln!(
            "crash test: killed at {captured} captured; {in_flight} entries in flight; {} ambiguous after restart",
            ambiguous.len()
        );
        reported += ambiguous.len();
        ever_ambiguous.extend(ambiguous.iter().map(|e| bare(&e.message_id)));
        let ids: Vec<u64> = ambiguous.iter().map(|e| e.id).collect();
        if !ids.is_empty() {
            // The user's choice: send them again with the same Message-ID.
            client
                .ok(Operation::ReleaseAmbiguous { ids, resend: true })
                .await;
        }
    }
    wait_until(&mut client, Duration::from_secs(180), |s| {
        s.counts.sent == 2_000
    })
    .await;
    drop(client);
    serve.terminate();
    let entries = outbox_entries(&dir.path().join("data"));
    assert_eq!(entries.len(), 2_000);
    assert!(entries.iter().all(|e| e.state == EntryState::Sent));
    let mut counted: HashMap<String, usize> = HashMap::new();
    for id in sandbox.store().message_ids().expect("ids") {
        *counted.entry(id).or_default() += 1;
    }
    let mut duplicates = 0;
    for entry in &entries {
        let id = bare(&entry.message_id);
        let times = counted.get(&id).copied().unwrap_or(0);
        assert!(times >= 1, "entry {} was lost", entry.id);
        if times > 1 {
            duplicates += 1;
            assert!(
                ever_ambiguous.contains(&id),
                "entry {} arrived {times} times but was never ambiguous",
                entry.id
            );
        }
    }
    eprintln!(
        "crash test: 2000 entries, 3 kills, {reported} ambiguous reported, {duplicates} delivered twice after being sent again"
    );
}

#[tokio::test]
async fn smtp_sink_takes_a_pipelined_batch_over_data_without_chunking() {
    let running = start("outbox-sink", |_| {}, ServeConfig::default()).await;
    let sink = SmtpSink::start(running.dir.path());
    let port = sink.port;
    let mut client = Client::connect(&running).await;
    client
        .ok(Operation::SaveProfile {
            profile: local_profile(port),
        })
        .await;
    client
        .ok(Operation::EnqueueEach {
            profile: ProfileId("postfix".into()),
            draft: draft("To the sink"),
            recipients: recipients(20),
        })
        .await;
    wait_until(&mut client, Duration::from_secs(30), |s| {
        s.counts.sent == 20
    })
    .await;
    let entries = client
        .ok(Operation::ListOutbox {
            state: Some(EntryState::Sent),
            limit: 100,
        })
        .await
        .into_entries();
    let dumped = sink.dumped();
    for entry in &entries {
        assert_eq!(
            dumped.matches(&bare(&entry.message_id)).count(),
            1,
            "entry {} reached smtp-sink once",
            entry.id
        );
    }
    drop(sink);
    running.stop().await;
}
