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

/// The page's two release `.wasm` modules, raw and gzipped (`gzip -9`). The budget (250 KB
/// gzipped) is for the first, which the page needs before its first screen (the frame and
/// Compose); the second, with every other view, is fetched the first time one is opened.
pub fn wasm_size(dist: &Path) -> Result<()> {
    const BUDGET_GZIPPED: u64 = 250 * 1000;
    let mut first = Vec::new();
    for entry in std::fs::read_dir(dist).with_context(|| format!("reading {}", dist.display()))? {
        let path = entry?.path();
        if path
            .extension()
            .is_some_and(|extension| extension == "wasm")
        {
            first.push(path);
        }
    }
    let [first] = first.as_slice() else {
        bail!(
            "{} should hold exactly one .wasm (Trunk's), not {}",
            dist.display(),
            first.len()
        );
    };
    let views = dist.join(crate::web::VIEWS_DIR).join("views_bg.wasm");
    let (raw, gzipped) = sizes(first)?;
    let verdict = if gzipped <= BUDGET_GZIPPED {
        "met"
    } else {
        "OVER"
    };
    println!(
        "first module ({}, frame and Compose): {raw} bytes raw, {gzipped} bytes gzipped (gzip -9); budget 250 KB gzipped: {verdict}",
        first.file_name().unwrap_or_default().to_string_lossy()
    );
    let (views_raw, views_gzipped) = sizes(&views)?;
    println!(
        "second module (views/views_bg.wasm, the other views, fetched on first use): {views_raw} bytes raw, {views_gzipped} bytes gzipped"
    );
    println!(
        "both: {} bytes raw, {} bytes gzipped",
        raw + views_raw,
        gzipped + views_gzipped
    );
    Ok(())
}

/// A file's size, raw and gzipped with `gzip -9`.
fn sizes(path: &Path) -> Result<(u64, u64)> {
    let raw = std::fs::metadata(path)
        .with_context(|| format!("reading {}", path.display()))?
        .len();
    let gzipped = Command::new("gzip")
        .args(["-9", "-c"])
        .arg(path)
        .output()
        .context("running gzip")?
        .stdout
        .len() as u64;
    Ok((raw, gzipped))
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

    // The checks before sending (`mailbridge lint`, a cold process each time) on a typical
    // 100 KB HTML newsletter and on a message with a 20 MB attachment, without and then with
    // SpamAssassin's score.
    let newsletter = scratch.join("newsletter.eml");
    std::fs::write(&newsletter, newsletter_eml()).context("writing newsletter.eml")?;
    let attachment = scratch.join("attachment.eml");
    std::fs::write(&attachment, attachment_eml(20 * 1000 * 1000))
        .context("writing attachment.eml")?;
    let lint = |file: &Path, spamd: Option<&str>| {
        median_of(LINT_RUNS, || {
            timed(|| {
                let mut command = Command::new(binary);
                env(&mut command);
                if let Some(addr) = spamd {
                    command.args(["--spamd", addr]);
                }
                // Exit 1 means a blocker was found, which is a result, not a failure.
                let status = command
                    .args(["lint", "--profile", "Sandbox"])
                    .arg(file)
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .status()?;
                if status.code().is_some_and(|code| code <= 1) {
                    Ok(())
                } else {
                    bail!("mailbridge lint {} failed: {status}", file.display())
                }
            })
        })
    };
    let lint_newsletter = lint(&newsletter, None)?;
    let lint_attachment = lint(&attachment, None)?;
    let spamd = crate::tools::start_spamd(&scratch.join("spamd"))?;
    let lint_spam = match &spamd {
        Some(spamd) => {
            crate::tools::wait_for_spamd(&spamd.addr)?;
            Some(lint(&newsletter, Some(&spamd.addr))?)
        }
        None => None,
    };
    drop(spamd);

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
    println!(
        "\nmailbridge lint --profile Sandbox FILE.eml ({LINT_RUNS} runs each, medians, a cold \
         process each time; DNS skipped for the sandbox's reserved domain)"
    );
    row(
        "100 KB HTML newsletter, no spam score",
        ms(lint_newsletter),
        "",
        true,
    );
    if let Some(spam) = lint_spam {
        row(
            "100 KB HTML newsletter, with spamd's score",
            ms(spam),
            "",
            true,
        );
    } else {
        println!("no SpamAssassin here; no figure with the spam score");
    }
    row(
        "20 MB attachment (a zip of 200 files)",
        ms(lint_attachment),
        "",
        true,
    );
    Ok(())
}

const LINT_RUNS: usize = 10;

/// A newsletter of about 100 KB: a style sheet, nested tables with inline styles, images
/// and links, with a text alternative.
fn newsletter_eml() -> Vec<u8> {
    let mut html = String::from(
        "<!doctype html><html><head><style>body{margin:0;font-family:Arial,sans-serif}\
         .card{padding:16px;border:1px solid #ddd}@media (max-width:600px){.card{padding:8px}}\
         </style></head><body><table width=\"100%\" cellpadding=\"0\" cellspacing=\"0\">",
    );
    let mut text = String::new();
    let mut item = 0;
    while html.len() < 100_000 {
        item += 1;
        html.push_str(&format!(
            "<tr><td class=\"card\" style=\"background-color:#fafafa;color:#222\">\
             <h2 style=\"font-size:18px\">Story {item}</h2><img src=\"https://news.example.com/i/{item}.png\" \
             width=\"560\" alt=\"Story {item}\"><p style=\"line-height:1.5\">This month in the \
             project: releases, fixes and what comes next, told in a few lines for story {item}.</p>\
             <a href=\"https://news.example.com/stories/{item}\" style=\"color:#0645ad\">Read story \
             {item}</a></td></tr>"
        ));
        text.push_str(&format!(
            "Story {item}: releases, fixes and what comes next.\nhttps://news.example.com/stories/{item}\n\n"
        ));
    }
    html.push_str("</table></body></html>");
    let mut eml = String::from(
        "From: Sandbox <sandbox@mailbridge.test>\r\nTo: reader@example.com\r\n\
         Subject: The monthly news\r\nDate: Tue, 01 Dec 2026 10:00:00 +0000\r\n\
         Message-ID: <newsletter-1@mailbridge.test>\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/alternative; boundary=\"alt\"\r\n\r\n",
    );
    for (kind, body) in [("text/plain", text), ("text/html", html)] {
        eml.push_str(&format!(
            "--alt\r\nContent-Type: {kind}; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n{}",
            base64_lines(body.as_bytes())
        ));
    }
    eml.push_str("--alt--\r\n");
    eml.into_bytes()
}

/// A short message with a zip of 200 files, `bytes` in all (stored, not compressed, so the
/// archive is as large as its contents), as one attachment.
fn attachment_eml(bytes: usize) -> Vec<u8> {
    let files = 200;
    let each = bytes / files;
    let mut zip = Vec::with_capacity(bytes + files * 100);
    let mut central = Vec::new();
    let mut state = 0x2545_F491_u32;
    for index in 0..files {
        let name = format!("data/part-{index:03}.bin");
        let data: Vec<u8> = (0..each)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                state as u8
            })
            .collect();
        let crc = crc32(&data);
        let offset = zip.len() as u32;
        let header = |signature: u32, central: bool| {
            let mut h = Vec::new();
            h.extend_from_slice(&signature.to_le_bytes());
            if central {
                h.extend_from_slice(&20u16.to_le_bytes());
            }
            for value in [20u16, 0, 0, 0, 0] {
                h.extend_from_slice(&value.to_le_bytes());
            }
            for value in [crc, data.len() as u32, data.len() as u32] {
                h.extend_from_slice(&value.to_le_bytes());
            }
            h.extend_from_slice(&(name.len() as u16).to_le_bytes());
            h.extend_from_slice(&0u16.to_le_bytes());
            if central {
                for value in [0u16, 0, 0] {
                    h.extend_from_slice(&value.to_le_bytes());
                }
                h.extend_from_slice(&0u32.to_le_bytes());
                h.extend_from_slice(&offset.to_le_bytes());
            }
            h.extend_from_slice(name.as_bytes());
            h
        };
        zip.extend_from_slice(&header(0x0403_4b50, false));
        zip.extend_from_slice(&data);
        central.extend_from_slice(&header(0x0201_4b50, true));
    }
    let central_offset = zip.len() as u32;
    zip.extend_from_slice(&central);
    zip.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
    for value in [0u16, 0, files as u16, files as u16] {
        zip.extend_from_slice(&value.to_le_bytes());
    }
    zip.extend_from_slice(&(central.len() as u32).to_le_bytes());
    zip.extend_from_slice(&central_offset.to_le_bytes());
    zip.extend_from_slice(&0u16.to_le_bytes());
    let mut eml = String::from(
        "From: Sandbox <sandbox@mailbridge.test>\r\nTo: reader@example.com\r\n\
         Subject: The data\r\nDate: Tue, 01 Dec 2026 10:00:00 +0000\r\n\
         Message-ID: <attachment-1@mailbridge.test>\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=\"mix\"\r\n\r\n--mix\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\nThe data is attached.\r\n--mix\r\n\
         Content-Type: application/zip; name=\"data.zip\"\r\n\
         Content-Disposition: attachment; filename=\"data.zip\"\r\n\
         Content-Transfer-Encoding: base64\r\n\r\n",
    );
    eml.push_str(&base64_lines(&zip));
    eml.push_str("--mix--\r\n");
    eml.into_bytes()
}

/// Base64 in lines of 76 characters, each ending in CRLF.
fn base64_lines(data: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len() * 4 / 3 + data.len() / 38 + 4);
    for (index, chunk) in data.chunks(3).enumerate() {
        if index > 0 && index % 19 == 0 {
            out.push_str("\r\n");
        }
        let n = (u32::from(chunk[0]) << 16)
            | (u32::from(*chunk.get(1).unwrap_or(&0)) << 8)
            | u32::from(*chunk.get(2).unwrap_or(&0));
        for (at, present) in [
            (18, true),
            (12, true),
            (6, chunk.len() > 1),
            (0, chunk.len() > 2),
        ] {
            out.push(if present {
                ALPHABET[(n >> at & 63) as usize] as char
            } else {
                '='
            });
        }
    }
    out.push_str("\r\n");
    out
}

/// The CRC-32 a zip entry carries.
fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &byte in data {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
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
