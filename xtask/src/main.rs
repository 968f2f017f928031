//! `cargo xtask`: the project's automation, in Rust rather than shell.
//!
//! # Layout
//! - `main`: the task dispatcher (`test`, `run`, `web`, `bench`) and the steps each task runs.
//! - `bench`: the benchmarks behind `cargo xtask bench`.
//! - `caniemail`: generates the lint crate's Gmail rows of the caniemail data.
//! - `extension`: the browser extension in `dist-ext/` from the built `dist/`, `web-ext lint`,
//!   and its zip for the Chrome Web Store.
//! - `tools`: installs what a fresh machine lacks (the wasm target, Python, aiosmtpd, swaks,
//!   openssl, Postfix, nodemailer, SpamAssassin's spamd, dnsmasq, Dovecot, Chromium and
//!   ChromeDriver, Firefox ESR and geckodriver, web-ext).
//! - `web`: builds the web app into `dist/` with Trunk, installing Trunk, wasm-bindgen and
//!   wasm-opt first.
//!
//! Every task installs what it needs first, so the two commands in `README.md` are all a fresh
//! machine needs. The xtask itself depends only on `anyhow`, so it compiles in seconds.

mod bench;
mod caniemail;
mod extension;
mod tools;
mod web;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::Instant;

use anyhow::{Context, Result, bail};

const USAGE: &str = "\
usage: cargo xtask <task>

tasks:
  test    the whole suite: fmt check, clippy -D warnings, a wasm32 build of the shared
          crates, the web app's release build, its component tests in headless Chromium,
          then the unit, integration and end-to-end (WebDriver) tests
  run     build the web app and the bridge, then start the product: `mailbridge serve`
          with its embedded sandbox (no Google account needed); arguments after `run`
          replace `serve`
  web     build the web app into dist/ (installs trunk, wasm-bindgen and wasm-opt first)
  extension
          build the web app, then the browser extension (Manifest V3) into dist-ext/, check
          it with Mozilla's `web-ext lint` and pack its Chrome Web Store zip into
          target/extension/
  caniemail
          regenerate crates/lint/src/caniemail.rs, the Gmail rows of the caniemail
          data (npm package `caniemail`, pinned in xtask/caniemail/)
  bench   benchmarks that print figures: the bridge; the outbox against Postfix's
          smtp-sink, next to nodemailer and smtp-source, and its memory with 100,000
          queued; then the web app in headless Chromium (wasm size, first screen, a 20 MB
          upload, screenshots into docs/)
";

/// The crates that the web app and the bridge share; they must build for the browser.
const SHARED_CRATES: [&str; 3] = ["protocol", "profile", "diagnosis"];

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("test") => test(),
        Some("run") => run(&args[1..]),
        Some("bench") => bench(),
        Some("caniemail") => caniemail::generate(&project_root()),
        Some("web") => {
            let root = project_root();
            web::ensure_web_tools(&root).and_then(|()| web::build_web(&root).map(drop))
        }
        Some("extension") => {
            let root = project_root();
            web::ensure_web_tools(&root)
                .and_then(|()| tools::ensure_web_ext(&root))
                .and_then(|()| web::build_web(&root))
                .and_then(|dist| build_extension(&root, &dist))
        }
        Some("-h" | "--help" | "help") => {
            print!("{USAGE}");
            Ok(())
        }
        Some(other) => {
            eprint!("unknown task `{other}`\n\n{USAGE}");
            return ExitCode::from(2);
        }
        None => {
            eprint!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("xtask: error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn test() -> Result<()> {
    let root = project_root();
    tools::ensure_wasm_target()?;
    tools::ensure_python()?;
    tools::ensure_openssl()?;
    tools::ensure_chromium()?;
    tools::ensure_firefox(&root)?;
    // Postfix's smtpd and smtp-sink are the servers the outbox tests send to.
    tools::ensure_postfix()?;
    // SpamAssassin's spamd and dnsmasq: the pre-send checks' spam score and DNS records.
    tools::ensure_spamd()?;
    tools::ensure_dnsmasq()?;
    // Dovecot: an IMAP server we did not write, for delivery verification.
    tools::ensure_dovecot()?;
    tools::ensure_oidc_provider(&root)?;
    tools::ensure_web_ext(&root)?;
    web::ensure_web_tools(&root)?;

    step(
        "format check",
        cargo(&root, &["fmt", "--all", "--", "--check"]),
    )?;
    step(
        "clippy",
        cargo(
            &root,
            &[
                "clippy",
                "--workspace",
                "--all-targets",
                "--",
                "-D",
                "warnings",
            ],
        ),
    )?;
    let mut wasm = vec!["build", "--target", "wasm32-unknown-unknown"];
    for krate in SHARED_CRATES {
        wasm.extend(["-p", krate]);
    }
    step("wasm32 build of the shared crates", cargo(&root, &wasm))?;
    // The end-to-end tests drive the app the bridge embeds, so it is built first.
    let dist = web::build_web(&root)?;
    // The extension's end-to-end tests load dist-ext/ into Chromium.
    build_extension(&root, &dist)?;

    // The tests run last so that the suite's closing lines are the test counts.
    let started = Instant::now();
    let mut counts = TestCounts::default();
    let mut failures = Vec::new();

    // Component tests in headless Chromium, through wasm-bindgen-test-runner and chromedriver.
    let mut browser = cargo(
        &root,
        &[
            "test",
            "-p",
            "web",
            "--target",
            "wasm32-unknown-unknown",
            "--no-fail-fast",
        ],
    );
    browser
        .env("PATH", web::search_path(&root)?)
        .env(
            "CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER",
            "wasm-bindgen-test-runner",
        )
        .env("CHROMEDRIVER", tools::CHROMEDRIVER)
        .env("WASM_BINDGEN_TEST_TIMEOUT", "120");
    run_tests(
        "browser component tests",
        browser,
        &mut counts,
        &mut failures,
    )?;

    let mut suite = cargo(&root, &["test", "--workspace", "--no-fail-fast"]);
    suite.env("MAILBRIDGE_WEB_BUILD", web::fingerprint(&dist)?);
    run_tests(
        "unit, integration and end-to-end tests",
        suite,
        &mut counts,
        &mut failures,
    )?;

    println!("\n==> tests took {:.1} s", started.elapsed().as_secs_f64());
    println!("tests: {} passed, {} failed", counts.passed, counts.failed);
    if !failures.is_empty() || counts.failed > 0 {
        bail!(
            "tests failed ({} failed; failing step: {})",
            counts.failed,
            failures.join(", ")
        );
    }
    if counts.passed == 0 {
        bail!("no test ran: `cargo test` reported no passing test");
    }
    Ok(())
}

/// Runs one `cargo test`, echoing its output and adding its counts; a failing run is
/// remembered so that every suite still runs.
fn run_tests(
    name: &str,
    mut command: Command,
    counts: &mut TestCounts,
    failures: &mut Vec<String>,
) -> Result<()> {
    println!("\n==> {name}: {}", describe(&command));
    let started = Instant::now();
    let output = command
        .stderr(Stdio::inherit())
        .stdout(Stdio::piped())
        .output()
        .with_context(|| format!("running {name}"))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    print!("{stdout}");
    let these = TestCounts::sum(&stdout);
    println!(
        "==> {name}: {} passed, {} failed in {:.1} s",
        these.passed,
        these.failed,
        started.elapsed().as_secs_f64()
    );
    counts.passed += these.passed;
    counts.failed += these.failed;
    if !output.status.success() {
        failures.push(name.to_owned());
    }
    Ok(())
}

/// `dist-ext/` from `dist/`, linted, and its zip.
fn build_extension(root: &Path, dist: &Path) -> Result<()> {
    let dist_ext = extension::build(root, dist)?;
    println!("\n==> web-ext lint");
    extension::lint(root, &dist_ext)?;
    extension::pack(root, &dist_ext).map(drop)
}

fn run(extra: &[String]) -> Result<()> {
    let root = project_root();
    web::ensure_web_tools(&root)?;
    let dist = web::build_web(&root)?;
    let mut build = cargo(&root, &["build", "--release", "-p", "mailbridge"]);
    // The bridge embeds dist/; a new fingerprint makes cargo rebuild it with the new files.
    build.env("MAILBRIDGE_WEB_BUILD", web::fingerprint(&dist)?);
    step("build", build)?;
    let binary = tools::target_dir(&root).join("release/mailbridge");
    let mut command = Command::new(&binary);
    if extra.is_empty() {
        command.arg("serve");
    } else {
        command.args(extra);
    }
    // Running through xtask opts in to a 0600 secrets file, used only where no keyring
    // service answers (headless machines, containers, CI).
    if let (None, Some(home)) = (
        std::env::var_os("MAILBRIDGE_SECRETS_FILE_FALLBACK"),
        std::env::var_os("HOME"),
    ) {
        let file = Path::new(&home).join(".config/mailbridge/secrets.json");
        command.env("MAILBRIDGE_SECRETS_FILE_FALLBACK", file);
    }
    // The checks before sending get a spam score from SpamAssassin when it is installed.
    let spamd = if std::env::var_os("MAILBRIDGE_SPAMD").is_none() {
        // Without it mailbridge still runs; the checks before sending then say how to get a
        // spam score.
        tools::start_spamd(&tools::target_dir(&root).join("spamd")).unwrap_or_else(|error| {
            println!("==> spamd could not be started ({error:#}); no spam score");
            None
        })
    } else {
        None
    };
    if let Some(spamd) = &spamd {
        // spamd reads its rules for a second or two; until it answers, a check would say
        // that no spamd runs.
        match tools::wait_for_spamd(&spamd.addr) {
            Ok(()) => {
                command.env("MAILBRIDGE_SPAMD", &spamd.addr);
            }
            Err(error) => println!("==> {error:#}; no spam score"),
        }
    }
    println!("==> {}", describe(&command));
    let status = command
        .status()
        .with_context(|| format!("starting {}", binary.display()));
    drop(spamd);
    let status = status?;
    if !status.success() {
        bail!("mailbridge exited with {status}");
    }
    Ok(())
}

fn bench() -> Result<()> {
    let root = project_root();
    tools::ensure_chromium()?;
    tools::ensure_postfix()?;
    tools::ensure_nodemailer(&root)?;
    web::ensure_web_tools(&root)?;
    let dist = web::build_web(&root)?;
    let fingerprint = web::fingerprint(&dist)?;
    let mut build = cargo(&root, &["build", "--release", "-p", "mailbridge"]);
    build.env("MAILBRIDGE_WEB_BUILD", &fingerprint);
    step("build", build)?;
    bench::run(&root, &tools::target_dir(&root).join("release"))?;

    // The outbox against Postfix's smtp-sink, next to nodemailer and smtp-source, and its
    // memory with 100,000 messages queued.
    let mut outbox = cargo(&root, &["bench", "-p", "mailbridge", "--bench", "outbox"]);
    outbox.env("MAILBRIDGE_WEB_BUILD", &fingerprint);
    step("the outbox", outbox)?;

    println!("\n==> the web app");
    bench::wasm_size(&dist)?;
    // Navigation to first screen, a 20 MB upload, and the screenshots in docs/.
    let mut browser = cargo(&root, &["bench", "-p", "mailbridge", "--bench", "web"]);
    browser.env("MAILBRIDGE_WEB_BUILD", &fingerprint);
    step("web app in headless Chromium", browser)
}

/// Passing and failing test counts summed over every `test result:` line of `cargo test`.
#[derive(Default)]
struct TestCounts {
    passed: u64,
    failed: u64,
}

impl TestCounts {
    fn sum(output: &str) -> TestCounts {
        let mut counts = TestCounts::default();
        for line in output.lines() {
            let Some(rest) = line.strip_prefix("test result: ") else {
                continue;
            };
            // "ok. 12 passed; 0 failed; 0 ignored; ..."
            for part in rest.split(';') {
                let mut words = part.split_whitespace().rev();
                let (Some(label), Some(number)) = (words.next(), words.next()) else {
                    continue;
                };
                let Ok(number) = number.parse::<u64>() else {
                    continue;
                };
                match label {
                    "passed" => counts.passed += number,
                    "failed" => counts.failed += number,
                    _ => {}
                }
            }
        }
        counts
    }
}

fn step(name: &str, mut command: Command) -> Result<()> {
    println!("\n==> {name}: {}", describe(&command));
    let started = Instant::now();
    let status = command
        .status()
        .with_context(|| format!("starting {name}"))?;
    if !status.success() {
        bail!("{name} failed ({status})");
    }
    println!("==> {name}: ok in {:.1} s", started.elapsed().as_secs_f64());
    Ok(())
}

fn cargo(root: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    command.current_dir(root).args(args);
    command
}

fn describe(command: &Command) -> String {
    let mut words = vec![command.get_program().to_string_lossy().into_owned()];
    words.extend(command.get_args().map(|a| a.to_string_lossy().into_owned()));
    words.join(" ")
}

fn project_root() -> PathBuf {
    // xtask lives one level below the workspace root.
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

#[cfg(test)]
mod tests {
    use super::TestCounts;

    #[test]
    fn sums_every_test_binary() {
        let output = "\
running 3 tests
test result: ok. 3 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.01s
test result: FAILED. 10 passed; 2 failed; 0 ignored; 0 measured; 0 filtered out; finished in 1.00s
";
        let counts = TestCounts::sum(output);
        assert_eq!((counts.passed, counts.failed), (13, 2));
    }
}
