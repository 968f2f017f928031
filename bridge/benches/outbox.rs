//! The outbox's figures, printed next to the targets of the outbox issue; a missed target is
//! printed, not failed, because this is a benchmark and not a test. Everything runs on
//! loopback with 1 KB bodies and 4 connections, against Postfix's `smtp-sink` (which offers
//! PIPELINING but not CHUNKING), each client to a sink of its own so that the sink's counter
//! checks what it received:
//! - the outbox, in this process, sending 10,000 messages committed to it (SQLite) first, the
//!   enqueue timed apart from the delivery;
//! - nodemailer's pool sending the same messages (`xtask/bench/nodemailer-pool.js`);
//! - Postfix's `smtp-source` sending as many, with a new connection per message (its default)
//!   and with connections kept (`-d`);
//! - the outbox sending 5,000 messages to the sandbox, over STARTTLS with AUTH, PIPELINING
//!   and CHUNKING;
//! - resident memory with 100,000 messages queued, in a child process of its own, so that
//!   nothing else this benchmark did counts in its peak.
//!
//! `cargo xtask bench` installs Postfix and nodemailer, then runs it; once they are installed,
//! `cargo bench -p mailbridge --bench outbox` runs it alone.

use std::io::Read;
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use diagnosis::Diagnosis;
use mailbridge::outbox::{NewEntry, Outbox, OutboxConfig, Sender, Senders, account_of, now_ms};
use mailbridge::smtp::{Credentials, Target};
use profile::{Limits, Security};
use protocol::{EntryState, Secret, StateCounts};

const MESSAGES: usize = 10_000;
const SANDBOX_MESSAGES: usize = 5_000;
const QUEUED: usize = 100_000;
/// Entries per enqueue while filling the outbox for the memory figure.
const BATCH: usize = 1_000;
const CONNECTIONS: u32 = 4;
/// Messages on one connection before it is closed and opened anew, for the outbox and for
/// nodemailer alike: nodemailer's default, so that both open as many connections.
const PER_CONNECTION: u32 = 100;
/// How long the deliverer runs while the memory figure is taken.
const DELIVERING: Duration = Duration::from_secs(3);
const RSS_BUDGET_MIB: f64 = 50.0;

const FROM: &str = "from@example.com";
const TO: &str = "to@example.com";
const SMTP_SINK: &str = "/usr/sbin/smtp-sink";
const SMTP_SOURCE: &str = "/usr/sbin/smtp-source";
/// Set (to a sink's port) in the child process that takes the memory figure.
const MEMORY_CHILD: &str = "MAILBRIDGE_BENCH_MEMORY_SINK_PORT";

fn main() {
    let result = match std::env::var(MEMORY_CHILD) {
        Ok(port) => memory_child(&port),
        Err(_) => bench(),
    };
    if let Err(error) = result {
        eprintln!("outbox bench: {error:#}");
        std::process::exit(1);
    }
}

fn bench() -> Result<()> {
    for program in [SMTP_SINK, SMTP_SOURCE] {
        if !Path::new(program).is_file() {
            bail!("{program} is missing: install Postfix (`cargo xtask bench` does)");
        }
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the tokio runtime")?;

    println!(
        "\n==> outbox: {MESSAGES} messages of 1 KB, {CONNECTIONS} connections, \
         {PER_CONNECTION} messages per connection, loopback"
    );
    let outbox = {
        let sink = Sink::start()?;
        let dir = tempfile::tempdir()?;
        let sender = sink_sender(sink.port);
        let mut run = runtime.block_on(deliver(
            dir.path(),
            sender,
            FROM,
            MESSAGES,
            Some(&sink.messages),
        ))?;
        run.check(MESSAGES, sink.wait_for(MESSAGES as u64), "smtp-sink")?;
        run
    };
    println!("mailbridge outbox: {}", outbox.describe());

    let nodemailer = nodemailer()?;
    match &nodemailer {
        Some(run) => println!("{}: {}", run.name, run.describe()),
        None => println!("nodemailer is not installed in .tools/bench: `cargo xtask bench` does"),
    }
    let source_new = smtp_source(false)?;
    println!("{}: {}", source_new.name, source_new.describe());
    let source_kept = smtp_source(true)?;
    println!("{}: {}", source_kept.name, source_kept.describe());

    let tls = {
        let dir = tempfile::tempdir()?;
        runtime.block_on(async {
            // The capture store keeps its default size, as in `mailbridge serve`: it prunes on
            // every insert at a cost that grows with its size (keeping all 5,000 made this run
            // four times slower). Its count of sends, never pruned, checks the run instead.
            let sandbox = sandbox::Sandbox::start(sandbox::Config::new(dir.path().join("sandbox")))
                .await
                .context("starting the sandbox")?;
            let started_ms = now_ms();
            let sender = Sender {
                profile_name: "Sandbox".to_owned(),
                target: Target {
                    host: "127.0.0.1".to_owned(),
                    port: sandbox.starttls_addr().port(),
                    security: Security::StartTls,
                    extra_ca_pem: Some(sandbox.ca_cert_pem().to_owned()),
                },
                credentials: Credentials::Password {
                    user: sandbox::DEFAULT_USER.to_owned(),
                    password: Secret::new(sandbox::DEFAULT_APP_PASSWORD),
                },
                ..sink_sender(0)
            };
            let mut run = deliver(
                &dir.path().join("outbox"),
                sender,
                sandbox::DEFAULT_USER,
                SANDBOX_MESSAGES,
                None,
            )
            .await?;
            let received = sandbox
                .store()
                .sent_since(started_ms.saturating_sub(1))
                .context("counting the sandbox's sends")?;
            sandbox.shutdown().await;
            run.check(SANDBOX_MESSAGES, received, "the sandbox")?;
            anyhow::Ok(run)
        })?
    };
    println!(
        "mailbridge outbox -> sandbox (STARTTLS): {}",
        tls.describe()
    );

    let memory = memory()?;
    drop(runtime);

    report(
        &outbox,
        nodemailer.as_ref(),
        &source_new,
        &source_kept,
        &tls,
        &memory,
    );
    Ok(())
}

/// The figures and the targets, as one table.
fn report(
    outbox: &Delivered,
    nodemailer: Option<&Timed>,
    source_new: &Timed,
    source_kept: &Timed,
    tls: &Delivered,
    memory: &Memory,
) {
    let rate = outbox.rate();
    println!("\noutbox benchmark (loopback, 1 KB bodies, {CONNECTIONS} connections)");
    println!(
        "{:<58} {:>8} {:>9} {:>10} {:>9}",
        "", "messages", "seconds", "msg/s", "received"
    );
    let line = |name: &str, messages: usize, seconds: f64, received: Option<u64>| {
        let received = received.map_or_else(|| "-".to_owned(), |count| count.to_string());
        println!(
            "{name:<58} {messages:>8} {seconds:>9.3} {:>10.0} {received:>9}",
            messages as f64 / seconds
        );
    };
    line(
        "mailbridge outbox -> smtp-sink: enqueue (one batch)",
        outbox.messages,
        outbox.enqueue.as_secs_f64(),
        None,
    );
    line(
        "mailbridge outbox -> smtp-sink: delivery",
        outbox.messages,
        outbox.delivery.as_secs_f64(),
        Some(outbox.received),
    );
    line(
        "mailbridge outbox -> smtp-sink: enqueue + delivery",
        outbox.messages,
        (outbox.enqueue + outbox.delivery).as_secs_f64(),
        None,
    );
    line(
        &format!(
            "mailbridge outbox -> smtp-sink, {QUEUED} queued: first {} s",
            DELIVERING.as_secs()
        ),
        memory.sent as usize,
        DELIVERING.as_secs_f64(),
        None,
    );
    if let Some(run) = nodemailer {
        line(
            &format!("{} -> smtp-sink", run.name),
            run.messages,
            run.seconds,
            Some(run.received),
        );
    }
    for run in [source_new, source_kept] {
        line(
            &format!("{} -> smtp-sink", run.name),
            run.messages,
            run.seconds,
            Some(run.received),
        );
    }
    line(
        "mailbridge outbox -> sandbox, STARTTLS+AUTH: enqueue",
        tls.messages,
        tls.enqueue.as_secs_f64(),
        None,
    );
    line(
        "mailbridge outbox -> sandbox, STARTTLS+AUTH: delivery",
        tls.messages,
        tls.delivery.as_secs_f64(),
        Some(tls.received),
    );
    println!(
        "\nmemory with {QUEUED} messages queued (a process of its own; {} batches of {BATCH} \
         enqueued in {:.2} s, {:.0} msg/s; then {} sent in {:.0} s of delivery, {:.0} msg/s):",
        QUEUED / BATCH,
        memory.enqueue_seconds,
        QUEUED as f64 / memory.enqueue_seconds,
        memory.sent,
        DELIVERING.as_secs_f64(),
        memory.sent as f64 / DELIVERING.as_secs_f64()
    );
    println!(
        "  VmRSS after enqueue {:.1} MB, VmHWM after enqueue {:.1} MB, VmRSS at most {:.1} MB \
         while delivering, VmHWM at the end {:.1} MB",
        mib(memory.rss_enqueued_kib),
        mib(memory.hwm_enqueued_kib),
        mib(memory.rss_delivering_kib),
        mib(memory.hwm_kib)
    );

    println!("\n{:<62} {:>10} {:>10}", "target", "measured", "wanted");
    let target = |name: &str, measured: String, wanted: &str, met: bool| {
        let mark = if met { "PASS" } else { "MISS" };
        println!("{name:<62} {measured:>10} {wanted:>10} {mark}");
    };
    match nodemailer {
        Some(run) => {
            let ratio = rate / run.rate();
            target(
                "mailbridge delivery / nodemailer pool",
                format!("{ratio:.2}x"),
                ">= 2.00x",
                ratio >= 2.0,
            );
            let with_enqueue = outbox.rate_with_enqueue() / run.rate();
            target(
                "  the same, the outbox's enqueue included",
                format!("{with_enqueue:.2}x"),
                ">= 2.00x",
                with_enqueue >= 2.0,
            );
        }
        None => println!("mailbridge / nodemailer: no figure (nodemailer is not installed)"),
    }
    for (run, name) in [
        (
            source_new,
            "mailbridge delivery / smtp-source (a connection per message)",
        ),
        (
            source_kept,
            "mailbridge delivery / smtp-source -d (connections kept)",
        ),
    ] {
        let ratio = rate / run.rate();
        target(name, format!("{ratio:.2}x"), ">= 1.00x", ratio >= 1.0);
    }
    target(
        &format!("peak RSS (VmHWM), {QUEUED} queued, then delivering"),
        format!("{:.1} MB", mib(memory.hwm_kib)),
        "<= 50 MB",
        mib(memory.hwm_kib) <= RSS_BUDGET_MIB,
    );
}

/// The outbox's sender to a server on this machine, with pacing out of the way.
fn sink_sender(port: u16) -> Sender {
    Sender {
        profile_name: "smtp-sink".to_owned(),
        target: Target {
            host: "127.0.0.1".to_owned(),
            port,
            security: Security::Plain,
            extra_ca_pem: None,
        },
        credentials: Credentials::None,
        limits: Limits {
            daily: 1_000_000,
            per_minute: 1_000_000,
        },
        connections: CONNECTIONS,
        messages_per_connection: PER_CONNECTION,
        max_recipients: 100,
    }
}

/// Every profile sends as the one sender.
struct Fixed(Sender);

impl Senders for Fixed {
    fn sender(&self, _profile_id: &str) -> Result<Sender, Box<Diagnosis>> {
        Ok(self.0.clone())
    }
}

/// One run of the outbox.
struct Delivered {
    messages: usize,
    enqueue: Duration,
    /// From the deliverer's start to the last entry recorded as sent.
    delivery: Duration,
    counts: StateCounts,
    /// What the server counted.
    received: u64,
    /// This process's CPU time (user and system) while it delivered: the figure a busy
    /// machine disturbs least.
    cpu: Duration,
}

impl Delivered {
    fn rate(&self) -> f64 {
        self.messages as f64 / self.delivery.as_secs_f64()
    }

    fn rate_with_enqueue(&self) -> f64 {
        self.messages as f64 / (self.enqueue + self.delivery).as_secs_f64()
    }

    fn describe(&self) -> String {
        format!(
            "enqueue {:.3} s, delivery {:.3} s ({:.0} msg/s; {:.0} msg/s with the enqueue); \
             outbox counts {} sent, {} failed; the server received {}; CPU {:.0} µs a message",
            self.enqueue.as_secs_f64(),
            self.delivery.as_secs_f64(),
            self.rate(),
            self.rate_with_enqueue(),
            self.counts.sent,
            self.counts.failed,
            self.received,
            self.cpu.as_secs_f64() * 1e6 / self.messages.max(1) as f64
        )
    }

    /// Every message sent, none failed, and the server got each one exactly once.
    fn check(&mut self, messages: usize, received: u64, server: &str) -> Result<()> {
        self.received = received;
        let counts = self.counts;
        if counts.sent != messages as u64 || counts.failed != 0 || counts.pending() != 0 {
            bail!("the outbox did not send all {messages} messages: {counts:?}");
        }
        if received != messages as u64 {
            bail!("the outbox says it sent {messages} messages but {server} received {received}");
        }
        Ok(())
    }
}

/// Opens an outbox in `dir`, queues `messages` messages in one batch, then delivers them with
/// `sender` until every one has left the queue. With the server's own count (`received`),
/// the wait watches it and reads the outbox only once the server has them all, so counting
/// does not hold the store away from the deliverer while it works.
async fn deliver(
    dir: &Path,
    sender: Sender,
    from: &str,
    messages: usize,
    received: Option<&AtomicU64>,
) -> Result<Delivered> {
    let outbox = Outbox::open(dir, OutboxConfig::default()).context("opening the outbox")?;
    let account = account_of(from, &sender.target.host);
    let entries: Vec<NewEntry> = (0..messages)
        .map(|index| entry(&account, from, "run", index))
        .collect();
    let started = Instant::now();
    outbox.enqueue(&entries, 0).context("enqueueing")?;
    let enqueue = started.elapsed();
    drop(entries);

    let senders: Arc<dyn Senders> = Arc::new(Fixed(sender));
    if outbox.try_take_over()?.is_none() {
        bail!("another process delivers the outbox in {}", dir.display());
    }
    let started_ms = now_ms();
    let cpu_before = cpu_time();
    let handle = outbox.start(Arc::downgrade(&senders));
    if let Some(received) = received {
        let deadline = Instant::now() + Duration::from_secs(120);
        while received.load(Ordering::Relaxed) < messages as u64 && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    let counts = settled(&outbox, messages).await?;
    let cpu = cpu_time().saturating_sub(cpu_before);
    handle.stop(Duration::from_secs(10)).await;
    // The figure ends at the last entry recorded as sent, not at the poll that saw it.
    let last_ms = outbox
        .list(Some(EntryState::Sent), messages)?
        .iter()
        .map(|entry| entry.updated_at_unix_ms)
        .max()
        .unwrap_or(started_ms);
    Ok(Delivered {
        messages,
        enqueue,
        delivery: Duration::from_millis(last_ms.saturating_sub(started_ms).max(1)),
        counts,
        received: 0,
        cpu,
    })
}

/// This process's user and system CPU time so far, from `/proc/self/stat` (in clock ticks of
/// 1/100 s, Linux's USER_HZ).
fn cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // The fields after the command name, which is in parentheses and may hold spaces.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    let ticks: u64 = [11, 12]
        .iter()
        .filter_map(|&at| fields.get(at).and_then(|field| field.parse::<u64>().ok()))
        .sum();
    Duration::from_millis(ticks * 10)
}

/// Waits until no entry is waiting or being sent, or nothing has moved for 30 s.
async fn settled(outbox: &Outbox, messages: usize) -> Result<StateCounts> {
    let mut last = (StateCounts::default(), Instant::now());
    loop {
        // Seldom, because counting holds the store away from the deliverer; the figure comes
        // from the entries' own times, not from this poll.
        tokio::time::sleep(Duration::from_millis(50)).await;
        let counts = outbox.counts()?;
        if counts.pending() == 0 && counts.sent + counts.failed >= messages as u64 {
            return Ok(counts);
        }
        if counts != last.0 {
            last = (counts, Instant::now());
        } else if last.1.elapsed() > Duration::from_secs(30) {
            bail!("the outbox stopped moving: {counts:?}");
        }
    }
}

fn entry(account: &str, from: &str, run: &str, index: usize) -> NewEntry {
    let message_id = format!(
        "<bench-{run}-{}-{index}@mailbridge.test>",
        std::process::id()
    );
    let subject = format!("Benchmark message {index}");
    NewEntry {
        profile_id: "bench".to_owned(),
        profile_name: "Bench".to_owned(),
        account: account.to_owned(),
        data: message(from, &subject, &message_id),
        message_id,
        subject,
        mail_from: from.to_owned(),
        recipients: vec![TO.to_owned()],
    }
}

/// A message with a 1 KB body (16 lines of 62 characters and CRLF); the nodemailer script
/// builds the same bytes.
fn message(from: &str, subject: &str, message_id: &str) -> Vec<u8> {
    const PATTERN: &str = "The quick brown fox jumps over the lazy dog. ";
    let mut data = format!(
        "From: Bench <{from}>\r\nTo: <{TO}>\r\nSubject: {subject}\r\n\
         Date: Thu, 01 Jan 2026 00:00:00 +0000\r\nMessage-ID: {message_id}\r\n\
         MIME-Version: 1.0\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n"
    );
    let pattern = PATTERN.repeat(2);
    for line in 0..16 {
        data.push_str(&format!("{line:02} {}\r\n", &pattern[..59]));
    }
    data.into_bytes()
}

/// A run of another client, timed from outside.
struct Timed {
    name: String,
    messages: usize,
    seconds: f64,
    received: u64,
}

impl Timed {
    fn rate(&self) -> f64 {
        self.messages as f64 / self.seconds
    }

    fn describe(&self) -> String {
        format!(
            "{} messages in {:.3} s ({:.0} msg/s); the server received {}",
            self.messages,
            self.seconds,
            self.rate(),
            self.received
        )
    }
}

/// nodemailer's pool, from the script beside the xtask; `None` when it is not installed.
fn nodemailer() -> Result<Option<Timed>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let modules = root.join(".tools/bench/node_modules");
    let Ok(manifest) = std::fs::read_to_string(modules.join("nodemailer/package.json")) else {
        return Ok(None);
    };
    let version = serde_json::from_str::<serde_json::Value>(&manifest)
        .ok()
        .and_then(|manifest| manifest["version"].as_str().map(str::to_owned))
        .unwrap_or_default();
    let sink = Sink::start()?;
    let script = root.join("xtask/bench/nodemailer-pool.js");
    let output = Command::new("node")
        .arg(&script)
        .args([
            sink.port.to_string(),
            MESSAGES.to_string(),
            CONNECTIONS.to_string(),
            PER_CONNECTION.to_string(),
        ])
        .env("NODE_PATH", &modules)
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .with_context(|| format!("running node {}", script.display()))?;
    if !output.status.success() {
        bail!("{} failed ({})", script.display(), output.status);
    }
    let text = String::from_utf8_lossy(&output.stdout);
    let figures: serde_json::Value = serde_json::from_str(text.trim())
        .with_context(|| format!("{} printed {text:?}", script.display()))?;
    let (Some(messages), Some(seconds)) =
        (figures["messages"].as_u64(), figures["seconds"].as_f64())
    else {
        bail!("{} printed {text:?}", script.display());
    };
    if messages != MESSAGES as u64 {
        bail!("nodemailer sent {messages} of {MESSAGES} messages: {text}");
    }
    Ok(Some(Timed {
        name: format!("nodemailer {version} pool (maxMessages {PER_CONNECTION})"),
        messages: MESSAGES,
        seconds,
        received: sink.wait_for(MESSAGES as u64),
    }))
}

/// Postfix's own load generator: no pipelining, a new connection per message unless `keep`.
fn smtp_source(keep: bool) -> Result<Timed> {
    let sink = Sink::start()?;
    let mut command = Command::new(SMTP_SOURCE);
    if keep {
        command.arg("-d");
    }
    command
        .args(["-s", &CONNECTIONS.to_string()])
        .args(["-m", &MESSAGES.to_string()])
        .args(["-l", "1024", "-f", FROM, "-t", TO])
        .arg(format!("127.0.0.1:{}", sink.port))
        .stdin(Stdio::null())
        .stdout(Stdio::null());
    let started = Instant::now();
    let status = command.status().context("running smtp-source")?;
    let seconds = started.elapsed().as_secs_f64();
    if !status.success() {
        bail!("smtp-source failed ({status})");
    }
    let name = if keep {
        format!("smtp-source -s {CONNECTIONS} -d (connections kept)")
    } else {
        format!("smtp-source -s {CONNECTIONS} (a connection per message)")
    };
    Ok(Timed {
        name,
        messages: MESSAGES,
        seconds,
        received: sink.wait_for(MESSAGES as u64),
    })
}

/// Postfix's `smtp-sink` on a free loopback port, which throws messages away and counts them.
struct Sink {
    child: Child,
    port: u16,
    messages: Arc<AtomicU64>,
}

impl Sink {
    fn start() -> Result<Sink> {
        let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let mut command = Command::new(SMTP_SINK);
        if running_as_root() {
            // smtp-sink refuses to keep root's privileges.
            command.args(["-u", "nobody"]);
        }
        let mut child = command
            .args(["-c", &format!("127.0.0.1:{port}"), "256"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .context("starting smtp-sink")?;
        let mut stdout = child.stdout.take().context("smtp-sink's output")?;
        let messages = Arc::new(AtomicU64::new(0));
        let counter = messages.clone();
        // `-c` rewrites one line, "sess=N quit=N mesg=N\r", after each message and session.
        std::thread::spawn(move || {
            let mut buffer = [0u8; 4096];
            let mut line = Vec::new();
            while let Ok(read) = stdout.read(&mut buffer) {
                if read == 0 {
                    break;
                }
                for &byte in &buffer[..read] {
                    if byte != b'\r' && byte != b'\n' {
                        line.push(byte);
                        continue;
                    }
                    let text = String::from_utf8_lossy(&line);
                    if let Some(count) = text
                        .split_whitespace()
                        .find_map(|field| field.strip_prefix("mesg="))
                        .and_then(|count| count.parse().ok())
                    {
                        counter.store(count, Ordering::Relaxed);
                    }
                    line.clear();
                }
            }
        });
        let mut sink = Sink {
            child,
            port,
            messages,
        };
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Ok(Some(status)) = sink.child.try_wait() {
                bail!("smtp-sink exited ({status})");
            }
            if started.elapsed() > Duration::from_secs(10) {
                bail!("smtp-sink did not listen on 127.0.0.1:{port} within 10 s");
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        Ok(sink)
    }

    /// The messages the sink has counted, once it has counted `expected` or two seconds passed.
    fn wait_for(&self, expected: u64) -> u64 {
        let started = Instant::now();
        loop {
            let count = self.messages.load(Ordering::Relaxed);
            if count >= expected || started.elapsed() > Duration::from_secs(2) {
                return count;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn running_as_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            let line = status.lines().find(|line| line.starts_with("Uid:"))?;
            Some(line.split_whitespace().nth(1)? == "0")
        })
        .unwrap_or(false)
}

/// The memory figure, from a child process (this program again) that prints it as JSON.
struct Memory {
    enqueue_seconds: f64,
    rss_enqueued_kib: u64,
    hwm_enqueued_kib: u64,
    rss_delivering_kib: u64,
    hwm_kib: u64,
    sent: u64,
}

fn memory() -> Result<Memory> {
    let sink = Sink::start()?;
    let program = std::env::current_exe().context("finding this benchmark's program")?;
    let output = Command::new(&program)
        .env(MEMORY_CHILD, sink.port.to_string())
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .with_context(|| format!("running {}", program.display()))?;
    if !output.status.success() {
        bail!("the memory run failed ({})", output.status);
    }
    let text = String::from_utf8_lossy(&output.stdout);
    let figures: serde_json::Value = serde_json::from_str(text.trim())
        .with_context(|| format!("the memory run printed {text:?}"))?;
    let number = |name: &str| {
        figures[name]
            .as_u64()
            .with_context(|| format!("no {name} in {text:?}"))
    };
    Ok(Memory {
        enqueue_seconds: figures["enqueue_seconds"]
            .as_f64()
            .with_context(|| format!("no enqueue_seconds in {text:?}"))?,
        rss_enqueued_kib: number("rss_enqueued_kib")?,
        hwm_enqueued_kib: number("hwm_enqueued_kib")?,
        rss_delivering_kib: number("rss_delivering_kib")?,
        hwm_kib: number("hwm_kib")?,
        sent: number("sent")?,
    })
}

/// The child's side: queue 100,000 messages in batches, then deliver to the sink for a few
/// seconds, reading this process's resident memory after the enqueue and meanwhile.
fn memory_child(port: &str) -> Result<()> {
    let port: u16 = port.parse().context("the sink's port")?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the tokio runtime")?;
    let dir = tempfile::tempdir()?;
    let figures = runtime.block_on(async {
        let outbox =
            Outbox::open(dir.path(), OutboxConfig::default()).context("opening the outbox")?;
        let sender = sink_sender(port);
        let account = account_of(FROM, &sender.target.host);
        let started = Instant::now();
        for batch in 0..QUEUED / BATCH {
            let entries: Vec<NewEntry> = (batch * BATCH..(batch + 1) * BATCH)
                .map(|index| entry(&account, FROM, "memory", index))
                .collect();
            outbox.enqueue(&entries, 0).context("enqueueing")?;
        }
        let enqueue_seconds = started.elapsed().as_secs_f64();
        let (rss_enqueued_kib, hwm_enqueued_kib) = memory_kib()?;

        let senders: Arc<dyn Senders> = Arc::new(Fixed(sender));
        if outbox.try_take_over()?.is_none() {
            bail!(
                "another process delivers the outbox in {}",
                dir.path().display()
            );
        }
        let handle = outbox.start(Arc::downgrade(&senders));
        let mut rss_delivering_kib = 0;
        let started = Instant::now();
        while started.elapsed() < DELIVERING {
            tokio::time::sleep(Duration::from_millis(50)).await;
            rss_delivering_kib = rss_delivering_kib.max(memory_kib()?.0);
        }
        handle.stop(Duration::from_secs(10)).await;
        let (_, hwm_kib) = memory_kib()?;
        let sent = outbox.counts()?.sent;
        anyhow::Ok(serde_json::json!({
            "enqueue_seconds": enqueue_seconds,
            "rss_enqueued_kib": rss_enqueued_kib,
            "hwm_enqueued_kib": hwm_enqueued_kib,
            "rss_delivering_kib": rss_delivering_kib,
            "hwm_kib": hwm_kib,
            "sent": sent,
        }))
    })?;
    println!("{figures}");
    Ok(())
}

/// This process's VmRSS and VmHWM, in KiB.
fn memory_kib() -> Result<(u64, u64)> {
    let status =
        std::fs::read_to_string("/proc/self/status").context("reading /proc/self/status")?;
    let field = |name: &str| -> Result<u64> {
        status
            .lines()
            .find_map(|line| line.strip_prefix(name))
            .and_then(|value| value.split_whitespace().next()?.parse().ok())
            .with_context(|| format!("{name} in /proc/self/status"))
    };
    Ok((field("VmRSS:")?, field("VmHWM:")?))
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}
