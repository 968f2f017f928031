//! `mailbridge service install|uninstall|status`: the bridge started at login, as a systemd
//! user unit on Linux or a launchd agent on macOS, with the same stores as the terminal.

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{Context as _, bail};
use clap::Subcommand;

use super::{DEFAULT_PORT, Global, exit};
use crate::service::{self, LAUNCHD_LABEL, SYSTEMD_UNIT, ServiceSpec};

#[derive(Debug, Subcommand)]
pub enum ServiceCommand {
    /// Start `mailbridge serve` whenever you log in: writes a systemd user unit (Linux) or a
    /// launchd agent (macOS) for this mailbridge binary and your stores, and starts it now.
    Install {
        /// The port the bridge listens on; the extension's bridge address must match.
        #[arg(long, default_value_t = DEFAULT_PORT)]
        port: u16,
        /// Only write the unit or agent; do not enable or start it.
        #[arg(long)]
        no_start: bool,
    },
    /// Stop the login service and remove its unit or agent.
    Uninstall,
    /// Say whether the login service is installed and running, and on which port. Exits 0
    /// when it is installed and a bridge answers on its port, 1 otherwise.
    Status,
}

pub fn run(global: &Global, command: ServiceCommand) -> anyhow::Result<u8> {
    let manager = Manager::here()?;
    match command {
        ServiceCommand::Install { port, no_start } => install(global, &manager, port, no_start),
        ServiceCommand::Uninstall => uninstall(&manager),
        ServiceCommand::Status => status(&manager),
    }
}

/// The service manager of this system, and where its file for mailbridge lives.
enum Manager {
    Systemd { unit: PathBuf },
    Launchd { plist: PathBuf, log: PathBuf },
}

impl Manager {
    fn here() -> anyhow::Result<Manager> {
        let home = std::env::home_dir().filter(|home| home.is_absolute());
        if cfg!(target_os = "macos") {
            let home = home.context("cannot tell where your LaunchAgents folder is: set HOME")?;
            return Ok(Manager::Launchd {
                plist: home.join(format!("Library/LaunchAgents/{LAUNCHD_LABEL}.plist")),
                log: home.join("Library/Logs/mailbridge.log"),
            });
        }
        if cfg!(target_os = "linux") {
            let config = std::env::var_os("XDG_CONFIG_HOME")
                .map(PathBuf::from)
                .filter(|dir| dir.is_absolute())
                .or_else(|| home.map(|home| home.join(".config")))
                .context("cannot tell where systemd user units go: set HOME or XDG_CONFIG_HOME")?;
            return Ok(Manager::Systemd {
                unit: config.join("systemd/user").join(SYSTEMD_UNIT),
            });
        }
        bail!(
            "`mailbridge service` knows systemd (Linux) and launchd (macOS); on this system, start `mailbridge serve` at login with its own startup settings"
        )
    }

    fn file(&self) -> &Path {
        match self {
            Manager::Systemd { unit } => unit,
            Manager::Launchd { plist, .. } => plist,
        }
    }
}

fn install(global: &Global, manager: &Manager, port: u16, no_start: bool) -> anyhow::Result<u8> {
    if port == 0 {
        bail!(super::UsageError(
            "--port 0 would give the service a new port at every login, which the extension cannot follow; give a port such as 4590".to_owned()
        ));
    }
    let program = std::env::current_exe()
        .and_then(std::fs::canonicalize)
        .context("finding this mailbridge binary's path for the service")?;
    let spec = ServiceSpec::serve(program, port, store_environment(global)?);
    let (file, text) = match manager {
        Manager::Systemd { unit } => (unit, service::systemd_unit(&spec)),
        Manager::Launchd { plist, log } => (plist, service::launchd_plist(&spec, log)),
    };
    if let Some(folder) = file.parent() {
        std::fs::create_dir_all(folder)
            .with_context(|| format!("creating {}", folder.display()))?;
    }
    std::fs::write(file, text).with_context(|| format!("writing {}", file.display()))?;
    println!(
        "Wrote {}: it starts `{} serve --port {port}` at login.",
        file.display(),
        spec.program.display()
    );
    if no_start {
        println!("{}", start_hint(manager));
        return Ok(exit::OK);
    }
    let started = match manager {
        Manager::Systemd { .. } => systemctl(&["daemon-reload"])
            .and_then(|()| systemctl(&["enable", SYSTEMD_UNIT]))
            // `restart` rather than `start`, so that installing again (a new port or binary)
            // takes effect at once.
            .and_then(|()| systemctl(&["restart", SYSTEMD_UNIT])),
        Manager::Launchd { plist, .. } => {
            // A loaded older agent must go first, or bootstrap refuses.
            let _ = launchctl(&["bootout", &launchd_target()?]);
            launchctl(&[
                "bootstrap",
                &launchd_domain()?,
                &plist.display().to_string(),
            ])
        }
    };
    match started {
        Ok(()) => {
            println!(
                "Started. The bridge answers on 127.0.0.1:{port}; pair the extension with the code `mailbridge pair` prints."
            );
            Ok(exit::OK)
        }
        Err(error) => {
            eprintln!("The service is installed but could not be started: {error:#}");
            eprintln!("{}", start_hint(manager));
            Ok(exit::PERMANENT)
        }
    }
}

fn uninstall(manager: &Manager) -> anyhow::Result<u8> {
    let file = manager.file();
    if !file.exists() {
        println!(
            "The login service is not installed (no {}).",
            file.display()
        );
        return Ok(exit::OK);
    }
    let stopped = match manager {
        Manager::Systemd { .. } => systemctl(&["disable", "--now", SYSTEMD_UNIT]),
        Manager::Launchd { .. } => launchctl(&["bootout", &launchd_target()?]),
    };
    std::fs::remove_file(file).with_context(|| format!("removing {}", file.display()))?;
    if let Manager::Systemd { .. } = manager {
        let _ = systemctl(&["daemon-reload"]);
    }
    println!("Removed {}.", file.display());
    if let Err(error) = stopped {
        println!(
            "It could not be stopped through the service manager ({error:#}); a bridge it started may still run until you log out."
        );
    }
    Ok(exit::OK)
}

fn status(manager: &Manager) -> anyhow::Result<u8> {
    let file = manager.file();
    let installed = match std::fs::read_to_string(file) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            println!(
                "Installed: no ({} does not exist; `mailbridge service install` writes it)",
                file.display()
            );
            return Ok(exit::PERMANENT);
        }
        Err(error) => return Err(error).context(format!("reading {}", file.display())),
    };
    println!("Installed: yes ({})", file.display());
    let port = service::port_in(&installed);
    match port {
        Some(port) => println!("Port: {port}"),
        None => println!(
            "Port: unknown (the file names no --port; it was not written by `mailbridge service install`)"
        ),
    }
    let managed = match manager {
        Manager::Systemd { .. } => systemctl_state(),
        Manager::Launchd { .. } => launchd_state(),
    };
    match &managed {
        Ok(state) => println!("Service manager: {state}"),
        Err(error) => println!("Service manager: unknown ({error:#})"),
    }
    let answering = port.is_some_and(bridge_answers);
    match port {
        Some(port) if answering => {
            println!("Running: yes, a mailbridge bridge answers on 127.0.0.1:{port}")
        }
        Some(port) => {
            println!("Running: no, nothing answers as a mailbridge bridge on 127.0.0.1:{port}")
        }
        None => println!("Running: unknown"),
    }
    Ok(if answering { exit::OK } else { exit::PERMANENT })
}

/// The options that name the user's stores, as the service's environment: a store chosen with
/// a flag or a variable here must be the one the service opens. Paths are made absolute,
/// since the service does not start in this folder.
fn store_environment(global: &Global) -> anyhow::Result<Vec<(String, String)>> {
    let here = std::env::current_dir().context("reading the current folder")?;
    let absolute = |path: &PathBuf| here.join(path).display().to_string();
    let mut env = Vec::new();
    let paths = [
        ("MAILBRIDGE_CONFIG_DIR", &global.config_dir),
        ("MAILBRIDGE_DATA_DIR", &global.data_dir),
        ("MAILBRIDGE_SECRETS_FILE", &global.secrets_file),
        (
            "MAILBRIDGE_SECRETS_FILE_FALLBACK",
            &global.secrets_file_fallback,
        ),
    ];
    for (name, path) in paths {
        if let Some(path) = path {
            env.push((name.to_owned(), absolute(path)));
        }
    }
    if let Some(spamd) = &global.spamd {
        env.push(("MAILBRIDGE_SPAMD".to_owned(), spamd.clone()));
    }
    if !global.dns_server.is_empty() {
        let servers: Vec<String> = global.dns_server.iter().map(ToString::to_string).collect();
        env.push(("MAILBRIDGE_DNS_SERVER".to_owned(), servers.join(",")));
    }
    Ok(env)
}

fn start_hint(manager: &Manager) -> String {
    match manager {
        Manager::Systemd { .. } => format!(
            "Start it with `systemctl --user daemon-reload && systemctl --user enable --now {SYSTEMD_UNIT}` \
             (it needs your systemd user manager, which runs in a login session; on a server, `loginctl enable-linger` keeps one)."
        ),
        Manager::Launchd { plist, .. } => format!(
            "Start it with `launchctl bootstrap gui/$(id -u) {}`, or log out and in again.",
            plist.display()
        ),
    }
}

/// Runs `systemctl --user ARGS`; the error holds what it printed.
fn systemctl(args: &[&str]) -> anyhow::Result<()> {
    run_manager("systemctl", &[&["--user"], args].concat()).map(drop)
}

/// `systemctl --user is-active` and `is-enabled`, in words.
fn systemctl_state() -> anyhow::Result<String> {
    let query = |what: &str| -> anyhow::Result<String> {
        let output = Command::new("systemctl")
            .args(["--user", what, SYSTEMD_UNIT])
            .output()
            .context("running `systemctl` (is systemd installed?)")?;
        // Both answer with one word on standard output, and exit non-zero for "inactive" or
        // "disabled", which are answers all the same.
        let answer = String::from_utf8_lossy(&output.stdout).trim().to_owned();
        if !answer.is_empty() && !answer.contains(char::is_whitespace) {
            return Ok(answer);
        }
        bail!(
            "`systemctl --user {what}` failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        )
    };
    Ok(format!(
        "systemd says {}, {} at login",
        query("is-active")?,
        query("is-enabled")?
    ))
}

fn launchd_state() -> anyhow::Result<String> {
    let printed = run_manager("launchctl", &["print", &launchd_target()?])?;
    let state = printed
        .lines()
        .find_map(|line| line.trim().strip_prefix("state = "))
        .unwrap_or("loaded");
    Ok(format!("launchd says {state}"))
}

fn launchd_domain() -> anyhow::Result<String> {
    let uid = run_manager("id", &["-u"])?;
    Ok(format!("gui/{}", uid.trim()))
}

fn launchd_target() -> anyhow::Result<String> {
    Ok(format!("{}/{LAUNCHD_LABEL}", launchd_domain()?))
}

fn launchctl(args: &[&str]) -> anyhow::Result<()> {
    run_manager("launchctl", args).map(drop)
}

/// Runs a service-manager command and returns its standard output; when it fails, the error
/// names the command and holds what it printed.
fn run_manager(program: &str, args: &[&str]) -> anyhow::Result<String> {
    let output = Command::new(program)
        .args(args)
        .output()
        .with_context(|| format!("running `{program}` (is it installed?)"))?;
    let stdout = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    if output.status.success() {
        return Ok(stdout);
    }
    let stderr = String::from_utf8_lossy(&output.stderr).trim().to_owned();
    bail!(
        "`{program} {}` failed ({}): {}",
        args.join(" "),
        output.status,
        [stdout, stderr]
            .into_iter()
            .filter(|text| !text.is_empty())
            .collect::<Vec<_>>()
            .join("; ")
    )
}

/// Whether a mailbridge bridge answers `GET /` on `127.0.0.1:port`, as the extension's
/// browser would find it.
fn bridge_answers(port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect_timeout(
        &std::net::SocketAddr::from(([127, 0, 0, 1], port)),
        Duration::from_secs(2),
    ) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let request = format!("GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n");
    if stream.write_all(request.as_bytes()).is_err() {
        return false;
    }
    let mut response = Vec::new();
    let _ = stream.take(64 * 1024).read_to_end(&mut response);
    let response = String::from_utf8_lossy(&response);
    response.starts_with("HTTP/1.1 200") && response.contains("mailbridge")
}
