//! Installs what a fresh machine lacks. Each function checks first, so a second run costs nothing.

use std::io::Write;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

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

/// Debian's Firefox ESR and Mozilla's geckodriver (crates.io, at this version): the Firefox
/// test loads the extension into it.
pub const GECKODRIVER_VERSION: &str = "0.37.1";

pub fn ensure_firefox(root: &Path) -> Result<()> {
    if !Path::new("/usr/bin/firefox-esr").is_file() {
        println!("==> installing firefox-esr (Debian package), for the extension's Firefox test");
        apt_install(&["firefox-esr"])?;
    }
    let cargo_bin = match std::env::var_os("CARGO_HOME") {
        Some(home) => std::path::PathBuf::from(home).join("bin"),
        None => std::env::home_dir()
            .context("finding the home folder (for ~/.cargo/bin)")?
            .join(".cargo/bin"),
    };
    let installed = Command::new(cargo_bin.join("geckodriver"))
        .arg("--version")
        .output()
        .is_ok_and(|output| {
            String::from_utf8_lossy(&output.stdout)
                .starts_with(&format!("geckodriver {GECKODRIVER_VERSION}"))
        });
    if !installed {
        println!(
            "==> installing geckodriver {GECKODRIVER_VERSION} (crates.io; about 5 minutes on 2 cores)"
        );
        run(
            Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
                .current_dir(root)
                .args([
                    "install",
                    "geckodriver",
                    "--locked",
                    "--version",
                    GECKODRIVER_VERSION,
                ]),
        )?;
    }
    Ok(())
}

/// The `openssl` command: the TLS tests run `openssl s_server` as a server we did not write,
/// and compare fingerprints with `openssl x509`.
pub fn ensure_openssl() -> Result<()> {
    let found = Command::new("openssl")
        .arg("version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    if found {
        return Ok(());
    }
    println!("==> installing openssl (Debian package)");
    apt_install(&["openssl"])
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

/// Debian's Postfix: its `smtpd` (run by the outbox tests in a private instance, for
/// PIPELINING, CHUNKING and a refused recipient), `smtp-sink` (a server that throws messages
/// away, for the tests and the benchmark) and `smtp-source` (the load generator the outbox
/// benchmark is compared with).
pub fn ensure_postfix() -> Result<()> {
    let found = ["/usr/sbin/smtp-sink", "/usr/sbin/smtp-source"]
        .iter()
        .all(|path| Path::new(path).is_file());
    if found {
        return Ok(());
    }
    println!("==> installing postfix (Debian package), for smtp-sink and smtp-source");
    // "No configuration": the two test programs are all the benchmark wants; Postfix itself
    // must not be set up to listen for mail on this machine.
    let mut preseed = Command::new("debconf-set-selections")
        .stdin(Stdio::piped())
        .spawn()
        .context("starting `debconf-set-selections`")?;
    preseed
        .stdin
        .take()
        .context("debconf-set-selections' input")?
        .write_all(b"postfix postfix/main_mailer_type select No configuration\n")
        .context("writing to `debconf-set-selections`")?;
    let status = preseed.wait()?;
    if !status.success() {
        bail!("`debconf-set-selections` failed ({status})");
    }
    apt_install(&["postfix"])
}

/// nodemailer, the Node.js client the outbox benchmark is compared with, at the version
/// `xtask/bench/package-lock.json` pins, installed into `.tools/bench` by [`npm_ci`].
pub fn ensure_nodemailer(root: &Path) -> Result<()> {
    npm_ci(
        root,
        &NpmPackage {
            name: "nodemailer",
            source: "xtask/bench",
            target: ".tools/bench",
            installed: "node_modules/nodemailer/package.json",
            ignore_scripts: false,
        },
    )
}

/// A package folder with a `package.json` and a lock that pins what `npm ci` installs.
pub struct NpmPackage {
    /// For the message saying what is being installed.
    pub name: &'static str,
    /// The folder in the project with `package.json` and `package-lock.json`.
    pub source: &'static str,
    /// Where it is installed, under `.tools/` (gitignored).
    pub target: &'static str,
    /// A file, relative to `target`, that exists once the install is done.
    pub installed: &'static str,
    /// Skip the packages' install scripts, for a package whose data alone is read.
    pub ignore_scripts: bool,
}

/// Installs `package` with `npm ci` into its target from copies of its `package.json` and
/// lock, installing Node.js and npm first if the machine lacks them; an install whose lock
/// matches is left as it is.
pub fn npm_ci(root: &Path, package: &NpmPackage) -> Result<()> {
    let source = root.join(package.source);
    let target = root.join(package.target);
    let lock_path = source.join("package-lock.json");
    let lock =
        std::fs::read(&lock_path).with_context(|| format!("reading {}", lock_path.display()))?;
    let installed = std::fs::read(target.join("package-lock.json")).is_ok_and(|old| old == lock)
        && target.join(package.installed).is_file();
    if installed {
        return Ok(());
    }
    let has_npm = Command::new("npm")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    if !has_npm {
        println!("==> installing nodejs and npm (Debian packages)");
        apt_install(&["nodejs", "npm"])?;
    }
    println!(
        "==> installing {} (npm ci, from {}/package-lock.json)",
        package.name, package.source
    );
    std::fs::create_dir_all(&target).with_context(|| format!("creating {}", target.display()))?;
    for file in ["package.json", "package-lock.json"] {
        std::fs::copy(source.join(file), target.join(file))
            .with_context(|| format!("copying {file} into {}", target.display()))?;
    }
    let mut npm = Command::new("npm");
    npm.current_dir(root)
        .args(["ci", "--no-audit", "--no-fund", "--prefer-offline"]);
    if package.ignore_scripts {
        npm.arg("--ignore-scripts");
    }
    // The real path: when `.tools` is a symlink (a worktree sharing another's tools), npm
    // would take the folder for a link to itself and refuse the lock.
    let prefix = std::fs::canonicalize(&target)
        .with_context(|| format!("resolving {}", target.display()))?;
    run(npm.arg("--prefix").arg(prefix))
}

/// Installs Debian packages; `apt-get update` runs first because a fresh machine has no lists.
pub fn apt_install(packages: &[&str]) -> Result<()> {
    run(Command::new("apt-get").args(["update", "-q"]))?;
    run(Command::new("apt-get")
        .args(["install", "-y", "-q", "--no-install-recommends"])
        .args(packages)
        .env("DEBIAN_FRONTEND", "noninteractive"))
}

/// Cargo's build folder: `CARGO_TARGET_DIR`, or `target/` in the workspace.
pub fn target_dir(root: &Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"))
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

/// Debian's SpamAssassin and its `spamd`: the pre-send checks ask it for a score over SPAMC,
/// and the tests start it on 127.0.0.1 (`-L`, Bayes off). The packaged service stays off.
pub fn ensure_spamd() -> Result<()> {
    if Path::new("/usr/sbin/spamd").is_file() {
        return Ok(());
    }
    println!("==> installing spamassassin and spamd (Debian packages), for the spam score");
    apt_install(&["spamassassin", "spamd"])
}

/// Debian's dnsmasq: the DNS checks' tests start it on 127.0.0.1 as an authoritative server
/// with TXT records for good and broken SPF, DMARC and DKIM. The packaged service stays off.
pub fn ensure_dnsmasq() -> Result<()> {
    if Path::new("/usr/sbin/dnsmasq").is_file() {
        return Ok(());
    }
    println!("==> installing dnsmasq (Debian package), for the DNS checks' tests");
    apt_install(&["dnsmasq-base"])
}

/// Debian's Dovecot (`dovecot-imapd`): the delivery-verification tests start it as a private
/// instance on 127.0.0.1 with their own config, CA and passwd-file user. The packaged
/// service must not start: while it installs, a policy-rc.d that refuses every start is put
/// in place (unless the machine has one already), so no IMAP server listens on 143 or 993.
pub fn ensure_dovecot() -> Result<()> {
    if Path::new("/usr/sbin/dovecot").is_file() {
        return Ok(());
    }
    println!("==> installing dovecot-imapd (Debian package), for the delivery-verification tests");
    let policy = Path::new("/usr/sbin/policy-rc.d");
    let ours = !policy.exists();
    if ours {
        std::fs::write(
            policy,
            "#!/bin/sh\n# cargo xtask: no service starts while Dovecot installs\nexit 101\n",
        )
        .context("writing /usr/sbin/policy-rc.d")?;
        run(Command::new("chmod").args(["0755", "/usr/sbin/policy-rc.d"]))?;
    }
    let installed = apt_install(&["dovecot-imapd"]);
    if ours {
        let _ = std::fs::remove_file(policy);
    }
    installed
}

/// A `spamd` that `cargo xtask run` started for the spam score; stopped when dropped.
pub struct Spamd {
    pub addr: String,
    child: std::process::Child,
}

impl Drop for Spamd {
    fn drop(&mut self) {
        // spamd's master stops its children on SIGTERM.
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }
}

/// Starts Debian's `spamd` for this machine only (`--local`, no network tests; Bayes off) on a
/// free loopback port, with its configuration and log in `dir`, and says so. Without
/// SpamAssassin installed it says how to get the spam score and returns `None`.
pub fn start_spamd(dir: &Path) -> Result<Option<Spamd>> {
    const SPAMD: &str = "/usr/sbin/spamd";
    const RULES: &str = "/usr/share/spamassassin";
    if !Path::new(SPAMD).is_file() || !Path::new(RULES).is_dir() {
        println!(
            "==> no SpamAssassin here, so the checks before sending give no spam score; \
             `apt-get install spamassassin spamd` and run again to have one"
        );
        return Ok(None);
    }
    let site = dir.join("site");
    std::fs::create_dir_all(&site).with_context(|| format!("creating {}", site.display()))?;
    // The .pre files load the plugins the rules need; local.cf turns Bayes off, so a score
    // does not drift with what spamd learnt before.
    for entry in std::fs::read_dir("/etc/spamassassin").context("reading /etc/spamassassin")? {
        let path = entry?.path();
        if let (Some(name), Some("pre")) = (
            path.file_name(),
            path.extension().and_then(|ext| ext.to_str()),
        ) {
            std::fs::copy(&path, site.join(name))
                .with_context(|| format!("copying {}", path.display()))?;
        }
    }
    std::fs::write(site.join("local.cf"), "use_bayes 0\nbayes_auto_learn 0\n")
        .context("writing spamd's local.cf")?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .context("finding a free port for spamd")?
        .port();
    let addr = format!("127.0.0.1:{port}");
    let log = dir.join("spamd.log");
    let log_file =
        std::fs::File::create(&log).with_context(|| format!("creating {}", log.display()))?;
    let mut command = Command::new(SPAMD);
    command
        .arg("--local")
        .arg(format!("--listen={addr}"))
        .args(["--syslog", "stderr"])
        .arg(format!("--configpath={RULES}"))
        .arg(format!("--siteconfigpath={}", site.display()))
        .arg("--nouser-config")
        .args(["--max-children", "2"])
        .arg(format!("--helper-home-dir={}", dir.display()))
        .stdin(Stdio::null())
        .stdout(log_file.try_clone()?)
        .stderr(log_file);
    // spamd refuses to check mail as root.
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| out.stdout.starts_with(b"0\n"));
    if root {
        command.args(["--username", "nobody"]);
        // `nobody` reads the site configuration.
        let _ = Command::new("chmod").args(["-R", "a+rX"]).arg(dir).status();
    }
    let child = command.spawn().context("starting spamd")?;
    println!(
        "==> SpamAssassin's spamd on {addr} for the spam score (this machine only, Bayes off; \
         log: {})",
        log.display()
    );
    Ok(Some(Spamd { addr, child }))
}

/// panva's oidc-provider, the OAuth server the OAuth tests sign in to, at the version
/// `tests/oauth/package-lock.json` pins, installed into `.tools/oauth` by [`npm_ci`]. The tests
/// run `tests/oauth/provider.mjs` with `.tools/oauth/node_modules`.
pub fn ensure_oidc_provider(root: &Path) -> Result<()> {
    npm_ci(
        root,
        &NpmPackage {
            name: "oidc-provider",
            source: "tests/oauth",
            target: ".tools/oauth",
            installed: "node_modules/oidc-provider/package.json",
            ignore_scripts: false,
        },
    )
}

/// Mozilla's web-ext, which lints the browser extension and packs its zip, at the version
/// `xtask/extension/package-lock.json` pins, installed into `.tools/webext` by [`npm_ci`].
pub fn ensure_web_ext(root: &Path) -> Result<()> {
    npm_ci(
        root,
        &NpmPackage {
            name: "web-ext",
            source: "xtask/extension",
            target: ".tools/webext",
            installed: "node_modules/web-ext/package.json",
            ignore_scripts: false,
        },
    )
}

/// The `web-ext` that [`ensure_web_ext`] installed.
pub fn web_ext(root: &Path) -> std::path::PathBuf {
    root.join(".tools/webext/node_modules/.bin/web-ext")
}

/// Waits until spamd answers PING (it takes a second or two to load its rules).
pub fn wait_for_spamd(addr: &str) -> Result<()> {
    use std::io::{Read as _, Write as _};
    let started = Instant::now();
    loop {
        if let Ok(mut stream) = TcpStream::connect(addr) {
            // spamd closes after its PONG; the timeout covers one that does not.
            stream.set_read_timeout(Some(Duration::from_secs(5)))?;
            let mut reply = Vec::new();
            let ponged = stream.write_all(b"PING SPAMC/1.5\r\n\r\n").is_ok()
                && (&mut stream).take(256).read_to_end(&mut reply).is_ok()
                && reply.starts_with(b"SPAMD/1.5 0 PONG");
            if ponged {
                return Ok(());
            }
        }
        if started.elapsed() > Duration::from_secs(60) {
            bail!("spamd did not answer at {addr} within 60 s");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}
