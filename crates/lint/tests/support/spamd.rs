//! A real `spamd` (Debian's, which `cargo xtask test` installs) on a free loopback port, for
//! the lint crate's SPAMC tests and the bridge's. Only std, tokio and tempfile, so both test
//! binaries can include it with `#[path]`.

use std::fs;
use std::net::TcpListener as StdListener;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const SPAMD: &str = "/usr/sbin/spamd";
/// Debian's packaged rules. Named explicitly so a later `sa-update` (whose rules would take
/// precedence, with other scores) cannot change what the tests see.
const RULES: &str = "/usr/share/spamassassin";

/// A `spamd -L` on a free loopback port, with its own site configuration and log; stopped,
/// with its children, when dropped.
pub struct Spamd {
    child: Child,
    /// Where it listens: `127.0.0.1:PORT`.
    pub addr: String,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Spamd {
    /// Starts spamd and waits until it answers `PING`; also returns how long that took.
    pub async fn start() -> (Spamd, Duration) {
        for needed in [SPAMD, RULES] {
            assert!(
                Path::new(needed).exists(),
                "{needed} is missing: `cargo xtask test` installs Debian's spamassassin and spamd"
            );
        }
        let dir = tempfile::tempdir().expect("a temporary directory");
        // spamd gives up root for `nobody` before it reads some of its files, so they must be
        // readable by everyone, unlike a fresh temporary directory.
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).expect("chmod");
        let site = dir.path().join("site");
        fs::create_dir(&site).expect("site dir");
        // The .pre files load the plugins many rules need (MIME, HTML, FreeMail...); local.cf
        // turns off Bayes so a score does not drift with what earlier tests taught it.
        for entry in fs::read_dir("/etc/spamassassin").expect("/etc/spamassassin") {
            let path = entry.expect("entry").path();
            if path.extension().is_some_and(|ext| ext == "pre") {
                fs::copy(&path, site.join(path.file_name().expect("name"))).expect("copy .pre");
            }
        }
        fs::write(site.join("local.cf"), "use_bayes 0\nbayes_auto_learn 0\n").expect("local.cf");
        let addr = unused_addr();
        let log = dir.path().join("spamd.log");
        let log_file = fs::File::create(&log).expect("log file");

        let mut command = Command::new(SPAMD);
        command
            .arg("--local") // no DNS or network tests: the network is closed, and they are slow
            .arg(format!("--listen={addr}"))
            .args(["--syslog", "stderr"])
            .arg(format!("--configpath={RULES}"))
            .arg(format!("--siteconfigpath={}", site.display()))
            .arg("--nouser-config")
            .args(["--max-children", "1", "--min-children", "1"])
            .arg(format!("--helper-home-dir={}", dir.path().display()));
        if running_as_root() {
            // spamd refuses to check mail as root.
            command.args(["--username", "nobody"]);
        }
        let started = Instant::now();
        let child = command
            // Its own process group, so Drop stops the children spamd forks along with it.
            .process_group(0)
            .stdin(Stdio::null())
            .stdout(log_file.try_clone().expect("log file"))
            .stderr(log_file)
            .spawn()
            .expect("spawn spamd");
        let mut spamd = Spamd {
            child,
            addr,
            log,
            _dir: dir,
        };
        while !spamd.pongs().await {
            if let Ok(Some(status)) = spamd.child.try_wait() {
                panic!("spamd exited with {status}:\n{}", spamd.log());
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "spamd did not answer PING within 60 s:\n{}",
                spamd.log()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        (spamd, started.elapsed())
    }

    /// What spamd has logged so far, for a failing test to show.
    pub fn log(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Whether spamd answers `PING` with `PONG`: listening is not enough, the child that
    /// answers must have been forked.
    async fn pongs(&self) -> bool {
        let Ok(mut stream) = TcpStream::connect(&self.addr).await else {
            return false;
        };
        if stream.write_all(b"PING SPAMC/1.5\r\n\r\n").await.is_err() {
            return false;
        }
        let mut reply = Vec::new();
        let read = tokio::time::timeout(
            Duration::from_secs(5),
            (&mut stream).take(256).read_to_end(&mut reply),
        )
        .await;
        matches!(read, Ok(Ok(_))) && reply.starts_with(b"SPAMD/1.5 0 PONG")
    }
}

impl Drop for Spamd {
    fn drop(&mut self) {
        // SIGTERM to the group lets spamd stop its children; SIGKILL to the master alone would
        // leave them running.
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill").args(["-TERM", "--", &group]).status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
        let _ = self.child.wait();
    }
}

/// `127.0.0.1:PORT` where nothing listens, for a moment: for spamd, or for "no spamd here".
pub fn unused_addr() -> String {
    let listener = StdListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    let port = listener.local_addr().expect("local addr").port();
    format!("127.0.0.1:{port}")
}

fn running_as_root() -> bool {
    // /proc/self belongs to the process's effective user.
    fs::metadata("/proc/self").is_ok_and(|meta| meta.uid() == 0)
}
