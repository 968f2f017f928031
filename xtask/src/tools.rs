//! Installs what a fresh machine lacks. Each function checks first, so a second run costs nothing.

use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};

/// The shared crates and the web app compile to `wasm32-unknown-unknown`.
pub fn ensure_wasm_target() -> Result<()> {
    let installed = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
        .context("running `rustup target list --installed` (is rustup installed?)")?;
    if String::from_utf8_lossy(&installed.stdout)
        .lines()
        .any(|line| line.trim() == "wasm32-unknown-unknown")
    {
        return Ok(());
    }
    println!("==> installing the wasm32-unknown-unknown target");
    run(Command::new("rustup").args(["target", "add", "wasm32-unknown-unknown"]))
}

/// The tests drive our servers with Python's `smtplib` and send through `aiosmtpd`: a client
/// and a server this project did not write.
pub fn ensure_python() -> Result<()> {
    if !python_has("smtplib, ssl, email") {
        println!("==> installing python3 (Debian package)");
        apt_install(&["python3", "python3-pip"])?;
    }
    if !python_has("aiosmtpd") {
        println!("==> installing aiosmtpd (PyPI)");
        run(Command::new("python3").args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--root-user-action=ignore",
            "aiosmtpd==1.4.6",
        ]))?;
    }
    Ok(())
}

fn python_has(modules: &str) -> bool {
    Command::new("python3")
        .args(["-c", &format!("import {modules}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|status| status.success())
        .unwrap_or(false)
}

/// Debian's Chromium and its ChromeDriver: the browser tests drive them headless.
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

pub fn ensure_chromium() -> Result<()> {
    let found = ["/usr/bin/chromium", CHROMEDRIVER]
        .iter()
        .all(|path| std::path::Path::new(path).is_file());
    if found {
        return Ok(());
    }
    println!("==> installing chromium and chromium-driver (Debian packages)");
    apt_install(&["chromium", "chromium-driver"])
}

/// swaks, the SMTP swiss army knife, is what the benchmark compares a send against.
pub fn ensure_swaks() -> Result<()> {
    let found = Command::new("swaks")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok();
    if found {
        return Ok(());
    }
    println!("==> installing swaks (Debian package)");
    apt_install(&["swaks", "libnet-ssleay-perl", "libio-socket-ssl-perl"])
}

/// Installs Debian packages; `apt-get update` runs first because a fresh machine has no lists.
pub fn apt_install(packages: &[&str]) -> Result<()> {
    run(Command::new("apt-get").args(["update", "-q"]))?;
    run(Command::new("apt-get")
        .args(["install", "-y", "-q", "--no-install-recommends"])
        .args(packages)
        .env("DEBIAN_FRONTEND", "noninteractive"))
}

pub fn run(command: &mut Command) -> Result<()> {
    let program = command.get_program().to_string_lossy().into_owned();
    let status = command
        .status()
        .with_context(|| format!("starting `{program}`"))?;
    if !status.success() {
        bail!("`{program}` failed ({status})");
    }
    Ok(())
}
