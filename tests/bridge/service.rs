//! `mailbridge service`: the login service's systemd user unit, written for this binary and the
//! user's stores, checked by `systemd-analyze verify`, run as systemd would run it, reported by
//! `service status`, and removed. Starting and stopping through systemd itself needs a systemd
//! user manager; where one answers, the test does that too.

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::support::{TempDir, free_port, mailbridge};

const SYSTEMD_ANALYZE: &str = "/usr/bin/systemd-analyze";

#[test]
fn the_login_service_is_installed_verified_run_reported_and_removed() {
    let dir = TempDir::new("service");
    let home = dir.path().join("home");
    std::fs::create_dir_all(&home).unwrap_or_else(|e| panic!("{e}"));
    let unit_path = home.join(".config/systemd/user/mailbridge.service");
    let service = |args: &[&str]| run(service_command(dir.path(), &home).args(args));

    let status = service(&["service", "status"]);
    assert_eq!(status.status.code(), Some(1), "{}", text(&status));
    assert!(text(&status).contains("Installed: no"), "{}", text(&status));

    let port = free_port();
    let port_text = port.to_string();
    let installed = service(&["service", "install", "--port", &port_text, "--no-start"]);
    assert!(installed.status.success(), "{}", text(&installed));
    let unit = std::fs::read_to_string(&unit_path).unwrap_or_else(|e| {
        panic!(
            "no unit at {}: {e}\n{}",
            unit_path.display(),
            text(&installed)
        )
    });
    let binary =
        std::fs::canonicalize(env!("CARGO_BIN_EXE_mailbridge")).unwrap_or_else(|e| panic!("{e}"));
    let (program, args, env) = parse_unit(&unit);
    assert_eq!(program, binary, "{unit}");
    assert_eq!(
        args,
        ["serve", "--port", &port_text, "--hide-pairing-address"],
        "{unit}"
    );
    // The stores the terminal used are the ones the service opens.
    for (name, path) in [
        ("MAILBRIDGE_CONFIG_DIR", dir.path().join("config")),
        ("MAILBRIDGE_DATA_DIR", dir.path().join("data")),
        ("MAILBRIDGE_SECRETS_FILE", dir.path().join("secrets.json")),
    ] {
        let value = path.display().to_string();
        assert!(
            env.iter()
                .any(|(key, given)| key == name && *given == value),
            "{name}={value} in\n{unit}"
        );
    }

    if Path::new(SYSTEMD_ANALYZE).is_file() {
        let verified = verify(dir.path(), &unit_path);
        assert!(
            verified.status.success() && text(&verified).trim().is_empty(),
            "systemd-analyze verify found problems in\n{unit}\n{}",
            text(&verified)
        );
        // The check is a real one: a unit whose program is missing fails it.
        let broken = dir.path().join("mailbridge-broken.service");
        let broken_unit = unit.replace(&binary.display().to_string(), "/nonexistent/mailbridge");
        std::fs::write(&broken, broken_unit).unwrap_or_else(|e| panic!("{e}"));
        assert!(!verify(dir.path(), &broken).status.success());
    } else {
        println!(
            "{SYSTEMD_ANALYZE} is not installed here, so the unit was not verified by systemd"
        );
    }

    let status = service(&["service", "status"]);
    let shown = text(&status);
    assert_eq!(status.status.code(), Some(1), "{shown}");
    for expected in [
        "Installed: yes",
        &format!("Port: {port}"),
        &format!("Running: no, nothing answers as a mailbridge bridge on 127.0.0.1:{port}"),
    ] {
        assert!(shown.contains(expected), "{expected:?} in\n{shown}");
    }

    if user_manager_answers(&home) {
        // Where a systemd user manager runs: start, status and stop through it.
        let installed = service(&["service", "install", "--port", &port_text]);
        assert!(installed.status.success(), "{}", text(&installed));
        wait_for_bridge(port);
        let status = service(&["service", "status"]);
        assert!(status.status.success(), "{}", text(&status));
        assert!(
            text(&status).contains("systemd says active"),
            "{}",
            text(&status)
        );
    } else {
        // No user manager here (a container): run the unit's command and environment exactly
        // as systemd would, and see `status` find it.
        println!("no systemd user manager answers here: running the unit's ExecStart directly");
        let mut serve = Command::new(&program);
        serve
            .args(&args)
            .env_clear()
            .env("HOME", &home)
            .envs(env.iter().map(|(key, value)| (key, value)))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = serve
            .spawn()
            .unwrap_or_else(|e| panic!("the unit's ExecStart: {e}"));
        wait_for_bridge(port);
        let status = service(&["service", "status"]);
        let shown = text(&status);
        let _ = child.kill();
        let output = child.wait_with_output().unwrap_or_else(|e| panic!("{e}"));
        assert!(status.status.success(), "{shown}");
        assert!(
            shown.contains(&format!(
                "Running: yes, a mailbridge bridge answers on 127.0.0.1:{port}"
            )),
            "{shown}"
        );
        assert!(shown.contains("Service manager: unknown"), "{shown}");
        // The service's output goes to a log, so it must not hold the pairing token.
        let paired = run(mailbridge(dir.path()).args(["pair", "--port", &port_text]));
        let printed = String::from_utf8_lossy(&paired.stdout);
        let token = printed
            .split("#pair=")
            .nth(1)
            .unwrap_or_else(|| panic!("no token in {printed}"))
            .trim();
        let logged = text(&output);
        assert!(logged.contains("mailbridge is running"), "{logged}");
        assert!(
            !logged.contains(token),
            "the service's output holds the token:\n{logged}"
        );
    }

    let removed = service(&["service", "uninstall"]);
    assert!(removed.status.success(), "{}", text(&removed));
    assert!(!unit_path.exists(), "{}", text(&removed));
    let status = service(&["service", "status"]);
    assert!(text(&status).contains("Installed: no"), "{}", text(&status));
}

#[test]
fn a_service_on_port_zero_is_refused_with_the_fix() {
    let dir = TempDir::new("service-port-zero");
    let home = dir.path().join("home");
    let refused =
        run(service_command(dir.path(), &home).args(["service", "install", "--port", "0"]));
    assert_eq!(refused.status.code(), Some(2), "{}", text(&refused));
    assert!(
        text(&refused).contains("give a port such as 4590"),
        "{}",
        text(&refused)
    );
    assert!(
        !home
            .join(".config/systemd/user/mailbridge.service")
            .exists()
    );
}

/// `mailbridge` with the test's stores and `home` as the user's home folder.
fn service_command(dir: &Path, home: &Path) -> Command {
    let mut command = mailbridge(dir);
    command
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join(".config"))
        .env_remove("XDG_RUNTIME_DIR")
        .env_remove("DBUS_SESSION_BUS_ADDRESS");
    command
}

fn run(command: &mut Command) -> Output {
    command
        .output()
        .unwrap_or_else(|e| panic!("cannot run {command:?}: {e}"))
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// `systemd-analyze --user verify`, with a runtime folder of its own.
fn verify(dir: &Path, unit: &Path) -> Output {
    let runtime = dir.join("runtime");
    std::fs::create_dir_all(&runtime).unwrap_or_else(|e| panic!("{e}"));
    let _ = Command::new("chmod").arg("700").arg(&runtime).status();
    run(Command::new(SYSTEMD_ANALYZE)
        .args(["--user", "verify"])
        .arg(unit)
        .env("XDG_RUNTIME_DIR", &runtime))
}

/// Whether the user's systemd manager answers (it does in a desktop login session, not in a
/// container).
fn user_manager_answers(home: &Path) -> bool {
    Command::new("systemctl")
        .args(["--user", "show-environment"])
        .env("HOME", home)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

/// The program, arguments and environment of a unit's `ExecStart=` and `Environment=` lines.
fn parse_unit(unit: &str) -> (PathBuf, Vec<String>, Vec<(String, String)>) {
    let exec = unit
        .lines()
        .find_map(|line| line.strip_prefix("ExecStart="))
        .unwrap_or_else(|| panic!("no ExecStart in\n{unit}"));
    let mut words = unquote(exec).into_iter();
    let program = PathBuf::from(words.next().unwrap_or_default());
    let env = unit
        .lines()
        .filter_map(|line| line.strip_prefix("Environment="))
        .flat_map(unquote)
        .filter_map(|pair| {
            let (key, value) = pair.split_once('=')?;
            Some((key.to_owned(), value.to_owned()))
        })
        .collect();
    (program, words.collect(), env)
}

/// systemd's double-quoted words, with `\"`, `\\`, `%%` and `$$` undone.
fn unquote(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '"' {
            continue;
        }
        let mut word = String::new();
        while let Some(c) = chars.next() {
            match c {
                '"' => break,
                '\\' => word.extend(chars.next()),
                '%' | '$' if chars.peek() == Some(&c) => {
                    chars.next();
                    word.push(c);
                }
                c => word.push(c),
            }
        }
        words.push(word);
    }
    words
}

/// Waits until a mailbridge bridge answers `GET /` on the port.
fn wait_for_bridge(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) {
            let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
            let _ = write!(
                stream,
                "GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"
            );
            let mut answer = String::new();
            let _ = stream.read_to_string(&mut answer);
            if answer.starts_with("HTTP/1.1 200") {
                return;
            }
        }
        assert!(
            Instant::now() < deadline,
            "no bridge answered on 127.0.0.1:{port} within 30 s"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}
