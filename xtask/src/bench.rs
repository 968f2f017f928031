//! `cargo xtask bench`: the bridge's speed and memory figures, printed, against the targets
//! in the bridge issue. Figures are measured, never asserted: a missed target is reported with
//! its margin.

use std::io::{BufRead, BufReader};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

const RUNS: usize = 50;

/// The release `.wasm` in `dist/`, raw and gzipped (`gzip -9`), against the 250 KB budget.
pub fn wasm_size(dist: &Path) -> Result<()> {
    const BUDGET_GZIPPED: u64 = 250 * 1000;
    for entry in std::fs::read_dir(dist).with_context(|| format!("reading {}", dist.display()))? {
        let path = entry?.path();
        if path.extension().is_none_or(|extension| extension != "wasm") {
            continue;
        }
        let raw = std::fs::metadata(&path)?.len();
        let gzipped = Command::new("gzip")
            .args(["-9", "-c"])
            .arg(&path)
            .output()
            .context("running gzip")?
            .stdout
            .len() as u64;
        let verdict = if gzipped <= BUDGET_GZIPPED {
            "met"
        } else {
            "OVER"
        };
        println!(
            "{}: {raw} bytes raw, {gzipped} bytes gzipped (gzip -9); budget 250 KB gzipped: {verdict}",
            path.file_name().unwrap_or_default().to_string_lossy()
        );
    }
    Ok(())
}

pub fn run(root: &Path, release_dir: &Path) -> Result<()> {
    let binary = release_dir.join("mailbridge");
    let scratch = std::env::temp_dir().join(format!("mailbridge-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&scratch);
    std::fs::create_dir_all(&scratch)?;
    let result = measure(root, &binary, &scratch, release_dir);
    let _ = std::fs::remove_dir_all(&scratch);
    result
}

fn measure(root: &Path, binary: &Path, scratch: &Path, release_dir: &Path) -> Result<()> {
    let env = |command: &mut Command| {
        command
            .env("MAILBRIDGE_CONFIG_DIR", scratch.join("config"))
            .env("MAILBRIDGE_DATA_DIR", scratch.join("data"))
            .env("MAILBRIDGE_SECRETS_FILE", scratch.join("secrets.json"))
            .env_remove("RUST_LOG");
    };

    // Start-up: from spawn until the port accepts a connection.
    let port = free_port()?;
    let started = Instant::now();
    let mut command = Command::new(binary);
    env(&mut command);
    let mut serve = Guard(
        command
            .args(["serve", "--port", &port.to_string()])
            .args(["--sandbox-starttls-port", "0", "--sandbox-tls-port", "0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .context("starting mailbridge serve")?,
    );
    let listening = loop {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            break started.elapsed();
        }
        if started.elapsed() > Duration::from_secs(10) {
            bail!("mailbridge serve did not listen within 10 s");
        }
        std::thread::sleep(Duration::from_micros(200));
    };
    let sandbox_port = sandbox_port(&mut serve.0)?;

    // Idle memory, after start-up has settled.
    std::thread::sleep(Duration::from_secs(1));
    let rss_kib = rss_kib(serve.0.id())?;

    let send_args = [
        "send",
        "--profile",
        "Sandbox",
        "--to",
        "bench@example.com",
        "--subject",
        "bench",
        "--body",
        "A benchmark message.",
    ];
    let check = median_of(RUNS, || {
        timed(|| {
            let mut command = Command::new(binary);
            env(&mut command);
            quiet(command.args(["check", "--profile", "Sandbox"]))
        })
    })?;
    let send = median_of(RUNS, || {
        timed(|| {
            let mut command = Command::new(binary);
            env(&mut command);
            quiet(command.args(send_args))
        })
    })?;

    let swaks = if crate::tools::ensure_swaks().is_ok() {
        let ca = scratch.join("data/sandbox/ca.pem");
        Some(median_of(RUNS, || {
            timed(|| {
                quiet(Command::new("swaks").args([
                    "--server",
                    &format!("127.0.0.1:{sandbox_port}"),
                    "--tls",
                    "--tls-verify",
                    "--tls-ca-path",
                    ca.to_str().unwrap_or_default(),
                    "--auth",
                    "PLAIN",
                    "--auth-user",
                    "sandbox@mailbridge.test",
                    "--auth-password",
                    "sandboxsandboxpw",
                    "--from",
                    "sandbox@mailbridge.test",
                    "--to",
                    "bench@example.com",
                    "--header",
                    "Subject: bench",
                    "--body",
                    "A benchmark message.",
                ]))
            })
        })?)
    } else {
        None
    };

    let reuse = reused_connection(root, release_dir, scratch, sandbox_port)?;

    println!(
        "\nmailbridge benchmarks ({RUNS} runs each, medians; loopback; sandbox in the serve process)"
    );
    println!("{:<46} {:>12} {:>12}", "", "measured", "target");
    row(
        "idle RSS of mailbridge serve",
        format!("{:.1} MB", rss_kib as f64 / 1024.0),
        "<= 15 MB",
        rss_kib as f64 / 1024.0 <= 15.0,
    );
    row(
        "start-up until listening",
        ms(listening),
        "<= 50 ms",
        listening <= Duration::from_millis(50),
    );
    row("mailbridge check (cold process)", ms(check), "", true);
    row("mailbridge send (cold process)", ms(send), "", true);
    if let Some(swaks) = swaks {
        row("swaks, the same send", ms(swaks), "", true);
        let ratio = send.as_secs_f64() / swaks.as_secs_f64();
        row(
            "mailbridge send / swaks",
            format!("{ratio:.2}"),
            "<= 0.50",
            ratio <= 0.5,
        );
    } else {
        println!("swaks could not be installed; no comparison");
    }
    row(
        "send over a reused connection",
        ms(reuse),
        "<= 2 ms",
        reuse <= Duration::from_millis(2),
    );
    Ok(())
}

fn row(name: &str, value: String, target: &str, met: bool) {
    let mark = if target.is_empty() {
        ""
    } else if met {
        "met"
    } else {
        "MISSED"
    };
    println!("{name:<46} {value:>12} {target:>12} {mark}");
}

fn ms(duration: Duration) -> String {
    format!("{:.2} ms", duration.as_secs_f64() * 1000.0)
}

/// The reused-connection figure comes from a small program on the bridge's own SMTP engine.
fn reused_connection(
    root: &Path,
    release_dir: &Path,
    scratch: &Path,
    port: u16,
) -> Result<Duration> {
    let status = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
        .current_dir(root)
        .args([
            "build",
            "--release",
            "-p",
            "mailbridge",
            "--example",
            "reuse",
        ])
        .status()?;
    if !status.success() {
        bail!("building the reuse benchmark failed");
    }
    let output = Command::new(release_dir.join("examples/reuse"))
        .arg(port.to_string())
        .arg(scratch.join("data/sandbox/ca.pem"))
        .arg(RUNS.to_string())
        .output()
        .context("running the reuse benchmark")?;
    if !output.status.success() {
        bail!(
            "the reuse benchmark failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let text = String::from_utf8_lossy(&output.stdout);
    let micros: u64 = text
        .trim()
        .parse()
        .with_context(|| format!("the reuse benchmark printed {text:?}"))?;
    Ok(Duration::from_micros(micros))
}

fn sandbox_port(serve: &mut Child) -> Result<u16> {
    let stdout = serve.stdout.take().context("serve's stdout")?;
    let mut lines = BufReader::new(stdout).lines();
    for line in lines.by_ref() {
        let line = line?;
        // "The sandbox is listening on 127.0.0.1:PORT (STARTTLS) and ..."
        if let Some(rest) = line.strip_prefix("The sandbox is listening on 127.0.0.1:") {
            let port = rest.split_whitespace().next().unwrap_or_default();
            let port = port
                .parse()
                .with_context(|| format!("sandbox port in {line:?}"))?;
            std::thread::spawn(move || for _ in lines {});
            return Ok(port);
        }
    }
    bail!("mailbridge serve did not print the sandbox's port")
}

fn rss_kib(pid: u32) -> Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|value| value.split_whitespace().next()?.parse().ok())
        .context("VmRSS in /proc/PID/status")
}

fn free_port() -> Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn timed(work: impl FnOnce() -> Result<()>) -> Result<Duration> {
    let started = Instant::now();
    work()?;
    Ok(started.elapsed())
}

fn quiet(command: &mut Command) -> Result<()> {
    let output = command.stdin(Stdio::null()).output()?;
    if !output.status.success() {
        bail!(
            "{:?} failed: {}{}",
            command.get_program(),
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(())
}

fn median_of(runs: usize, mut sample: impl FnMut() -> Result<Duration>) -> Result<Duration> {
    let mut samples = (0..runs).map(|_| sample()).collect::<Result<Vec<_>>>()?;
    samples.sort();
    Ok(samples[samples.len() / 2])
}

/// Kills the child when the benchmark ends, however it ends.
struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
