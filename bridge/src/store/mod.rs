//! What the bridge keeps between runs: secrets, sending profiles and the history of sends.
//!
//! Every store is synchronous: the server calls them through `spawn_blocking`. Files are written
//! atomically (a temporary file in the same directory, fsync, rename), so a crash leaves the old
//! file or the new one, never half of each. No secret reaches a log, a `Debug` output or an error:
//! errors name the key, never the value.
//!
//! # Layout
//! - `secrets`: the [`SecretStore`] trait, its selection ([`open`]), the pairing token, and the
//!   in-memory and environment-override stores.
//! - `secrets/keyrings`: the OS keyring and the kernel keyring, through the `keyring` crate.
//! - `secrets/file`: the opt-in 0600 secrets file.
//! - `profiles`: [`ProfileStore`], the profiles in the team file format.
//! - `history`: [`HistoryStore`], the bounded history of sends in SQLite.
//! - `grants`: [`GrantStore`], what is not secret about each profile's OAuth grant.
//! - `mailboxes`: [`MailboxStore`], the receiving mailboxes, and [`VerdictStore`], the
//!   delivery verdicts with their IMAP transcripts.

mod grants;
mod history;
mod mailboxes;
mod profiles;
mod secrets;

use std::ffi::OsString;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use profile::{Problem, ProfileId};

pub use grants::{Grant, GrantStore, unix_ms};
pub use history::{DEFAULT_CAPACITY, HistoryStore};
pub use mailboxes::{MailboxError, MailboxStore, VerdictStore};
pub use profiles::{ProfileStore, SANDBOX_ID, SANDBOX_NAME};
pub use secrets::{
    EnvOverride, FileStore, KeyringStore, MemoryStore, SecretKey, SecretOptions, SecretStore,
    env_var_name, open, pairing_token, reset_pairing_token, secret_state, set_profile_secret,
    unsubscribe_key,
};

/// The environment variable that opts in to the secrets file, as the command line reads it.
pub const SECRETS_FILE_ENV: &str = "MAILBRIDGE_SECRETS_FILE";

/// Where profiles (and an opted-in secrets file) live: `$XDG_CONFIG_HOME/mailbridge`, else
/// `$HOME/.config/mailbridge`. `None` when neither variable is set.
pub fn config_dir() -> Option<PathBuf> {
    config_dir_from(|name| std::env::var_os(name))
}

/// Where the history and the sandbox live: `$XDG_DATA_HOME/mailbridge`, else
/// `$HOME/.local/share/mailbridge`. `None` when neither variable is set.
pub fn data_dir() -> Option<PathBuf> {
    data_dir_from(|name| std::env::var_os(name))
}

/// Why a store could not do what was asked. Every message names the file or the key it is
/// about and, where the user can do something, says what; none contains a secret.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(
        "no keyring is available to keep secrets in: {}. To keep them in a file readable only \
         by you instead, run with --secrets-file {file} or set {SECRETS_FILE_ENV}={file}",
        .tried.join("; "),
        file = suggested_secrets_file()
    )]
    NoKeyring {
        /// Each store tried, with why it failed, in words.
        tried: Vec<String>,
    },
    #[error("{store} could not {action} {key}: {reason}")]
    Keyring {
        /// The store, in words ("the OS keyring (Secret Service)").
        store: String,
        /// What it was doing: "store", "read" or "delete".
        action: &'static str,
        /// The key, in words ("the secret of profile \"team-gmail\"").
        key: String,
        reason: String,
    },
    #[error(
        "the secrets file {} has mode {mode:04o}, so other users on this machine can {} it; \
         mailbridge will not use it. Fix: chmod 600 {}",
        .path.display(),
        others_can(.mode),
        .path.display()
    )]
    InsecureFile { path: PathBuf, mode: u32 },
    #[error(
        "the secrets file {} belongs to user {owner}, but mailbridge runs as user {uid}; mailbridge \
         will not use a secrets file someone else controls. Fix: move it away, or if it is yours, \
         chown {uid} {} and chmod 600 {}",
        .path.display(),
        .path.display(),
        .path.display()
    )]
    WrongOwner { path: PathBuf, owner: u32, uid: u32 },
    #[error(
        "the secrets file {} is not a JSON object of names and secrets ({reason}). Fix: correct \
         it, or move it away and store the secrets again",
        .path.display()
    )]
    BrokenSecretsFile {
        path: PathBuf,
        /// Where and what kind of error, never the text around it (which could be a secret).
        reason: String,
    },
    #[error("{key} is empty. Fix: paste the App Password or the OAuth token")]
    EmptySecret { key: String },
    #[error(
        "the profiles file {} cannot be read, so mailbridge will not change it:{}\nFix: correct \
         the file (or move it away to start with no profiles), then try again",
        .path.display(),
        .problems.iter().map(|p| format!("\n  {p}")).collect::<String>()
    )]
    BrokenProfiles {
        path: PathBuf,
        /// Each problem, with its JSON path in the file such as `$.profiles[1].port`.
        problems: Vec<Problem>,
    },
    #[error(
        "the OAuth grants file {} cannot be read ({reason}), so mailbridge will not change it. \
         Fix: move it away; connected accounts then show \"needs consent\" until they are \
         connected again",
        .path.display()
    )]
    BrokenGrants { path: PathBuf, reason: String },
    #[error("there is no profile with id {:?}", .id.0)]
    NoSuchProfile { id: ProfileId },
    #[error(
        "the sandbox profile is not valid:{}",
        .problems.iter().map(|p| format!("\n  {p}")).collect::<String>()
    )]
    InvalidSandbox { problems: Vec<Problem> },
    #[error("the history {} says: {source}", .path.display())]
    History {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    #[error(
        "the history {} was written by a newer mailbridge (schema version {found}; this one reads \
         up to {supported}). Fix: update mailbridge, or move the file away to start a new history",
        .path.display()
    )]
    NewerHistory {
        path: PathBuf,
        found: i64,
        supported: i64,
    },
    #[error(
        "entry {id} of the history {} cannot be read ({reason}). Fix: move the file away to start \
         a new history",
        .path.display()
    )]
    BrokenHistoryEntry {
        path: PathBuf,
        id: i64,
        reason: String,
    },
    #[error("could not {action} {}: {source}", .path.display())]
    Io {
        /// What was being done, such as "read" or "write".
        action: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

impl StoreError {
    fn io(action: &'static str, path: &Path) -> impl FnOnce(io::Error) -> StoreError {
        let path = path.to_path_buf();
        move |source| StoreError::Io {
            action,
            path,
            source,
        }
    }

    /// The error as problems, for the operations that report problems (saving and importing
    /// profiles): a broken profiles file gives one problem per thing wrong with it.
    pub fn into_problems(self, file: &Path) -> Vec<Problem> {
        let at = file.display().to_string();
        match self {
            StoreError::BrokenProfiles { problems, .. } => {
                let mut out = vec![Problem::new(
                    at.clone(),
                    "the profiles file cannot be read, so mailbridge will not change it",
                    "correct the problems below in the file (or move it away to start with no \
                     profiles), then try again",
                )];
                out.extend(problems.into_iter().map(|problem| Problem {
                    path: format!("{at}: {}", problem.path),
                    ..problem
                }));
                out
            }
            StoreError::InvalidSandbox { problems } => problems,
            other => vec![Problem::new(
                at,
                other.to_string(),
                "check that the directory exists and is writable, then try again",
            )],
        }
    }
}

/// What the group and other bits of `mode` let other users do with a file.
fn others_can(mode: &u32) -> &'static str {
    match (mode & 0o044 != 0, mode & 0o022 != 0) {
        (true, true) => "read and change",
        (true, false) => "read",
        (false, true) => "change",
        (false, false) => "reach",
    }
}

/// The secrets file to suggest when there is no keyring.
fn suggested_secrets_file() -> String {
    config_dir().map_or_else(
        || "~/.config/mailbridge/secrets.json".to_string(),
        |dir| dir.join("secrets.json").display().to_string(),
    )
}

fn config_dir_from(env: impl Fn(&str) -> Option<OsString>) -> Option<PathBuf> {
    base_dir(&env, "XDG_CONFIG_HOME", &[".config"], "APPDATA")
}

fn data_dir_from(env: impl Fn(&str) -> Option<OsString>) -> Option<PathBuf> {
    base_dir(&env, "XDG_DATA_HOME", &[".local", "share"], "LOCALAPPDATA")
}

/// `$XDG_…/mailbridge`, else `$HOME/<under_home>/mailbridge`, else (on Windows, where HOME is
/// rarely set) `%<windows>%\mailbridge`. The XDG spec says to ignore relative paths.
fn base_dir(
    env: &impl Fn(&str) -> Option<OsString>,
    xdg: &str,
    under_home: &[&str],
    windows: &str,
) -> Option<PathBuf> {
    let set = |name: &str| {
        env(name)
            .filter(|value| !value.is_empty())
            .map(PathBuf::from)
    };
    if let Some(dir) = set(xdg).filter(|dir| dir.is_absolute()) {
        return Some(dir.join("mailbridge"));
    }
    if let Some(home) = set("HOME") {
        return Some(
            under_home
                .iter()
                .fold(home, |dir, part| dir.join(part))
                .join("mailbridge"),
        );
    }
    if cfg!(windows) {
        return set(windows).map(|dir| dir.join("mailbridge"));
    }
    None
}

/// Replaces `path` with `bytes` so that readers see the old content or the new, never a mix:
/// the bytes go to a new file beside it (created with `mode` on Unix), which is flushed to disk
/// and then renamed over `path`. On failure the old file is untouched and the temporary file is
/// removed.
fn write_atomic(path: &Path, bytes: &[u8], mode: u32) -> Result<(), StoreError> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let dir = parent_dir(path);
    fs::create_dir_all(dir).map_err(StoreError::io("create the directory", dir))?;
    let name = path
        .file_name()
        .map(|name| name.to_string_lossy())
        .unwrap_or_default();
    // The name is unique per process and write, so concurrent writers never share a temporary
    // file; the last rename wins with a complete file.
    let temp = dir.join(format!(
        ".{name}.{}.{}.tmp",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    write_via(&temp, path, bytes, mode)
}

/// [`write_atomic`] through a given temporary file.
fn write_via(temp: &Path, path: &Path, bytes: &[u8], mode: u32) -> Result<(), StoreError> {
    let result = (|| {
        let mut file = create_new(temp, mode).map_err(StoreError::io("create", temp))?;
        file.write_all(bytes)
            .and_then(|()| file.sync_all())
            .map_err(StoreError::io("write", temp))?;
        fs::rename(temp, path).map_err(StoreError::io("replace", path))
    })();
    if result.is_err() {
        // The temporary file may not exist, or be a directory someone else made; either way
        // there is nothing more to clean up.
        let _ = fs::remove_file(temp);
        return result;
    }
    // The rename is durable only once the directory entry is; not every platform can open a
    // directory to sync it, and the data itself is already safe, so a failure here is ignored.
    if let Ok(dir) = File::open(parent_dir(path)) {
        let _ = dir.sync_all();
    }
    Ok(())
}

fn create_new(path: &Path, mode: u32) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(mode);
    }
    #[cfg(not(unix))]
    let _ = mode;
    options.open(path)
}

/// The directory a file is in; `.` for a bare file name.
fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<OsString> {
        let vars: Vec<(String, OsString)> = vars
            .iter()
            .map(|(name, value)| (name.to_string(), OsString::from(value)))
            .collect();
        move |name| {
            vars.iter()
                .find(|(n, _)| n == name)
                .map(|(_, value)| value.clone())
        }
    }

    /// The server shares the stores between tasks and threads.
    #[test]
    fn stores_can_move_between_threads() {
        fn send<T: Send>() {}
        fn share<T: Send + Sync>() {}
        send::<HistoryStore>();
        share::<ProfileStore>();
        share::<Box<dyn SecretStore>>();
        share::<StoreError>();
    }

    #[test]
    fn directories_follow_xdg_then_home() {
        type Vars = &'static [(&'static str, &'static str)];
        let cases: &[(Vars, Option<&str>, Option<&str>)] = &[
            (
                &[("HOME", "/home/ann")],
                Some("/home/ann/.config/mailbridge"),
                Some("/home/ann/.local/share/mailbridge"),
            ),
            (
                &[
                    ("HOME", "/home/ann"),
                    ("XDG_CONFIG_HOME", "/cfg"),
                    ("XDG_DATA_HOME", "/data"),
                ],
                Some("/cfg/mailbridge"),
                Some("/data/mailbridge"),
            ),
            // Empty and relative XDG values are ignored, as the XDG spec says.
            (
                &[
                    ("HOME", "/home/ann"),
                    ("XDG_CONFIG_HOME", ""),
                    ("XDG_DATA_HOME", "relative/dir"),
                ],
                Some("/home/ann/.config/mailbridge"),
                Some("/home/ann/.local/share/mailbridge"),
            ),
            (
                &[("XDG_CONFIG_HOME", "/cfg")],
                Some("/cfg/mailbridge"),
                None,
            ),
            (&[], None, None),
        ];
        for (vars, config, data) in cases {
            assert_eq!(
                (config_dir_from(env(vars)), data_dir_from(env(vars))),
                (config.map(PathBuf::from), data.map(PathBuf::from)),
                "{vars:?}"
            );
        }
    }

    #[test]
    fn atomic_writes_replace_the_file_and_leave_no_temporary_file() -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("nested/file.json");
        write_atomic(&path, b"one", 0o600)?;
        write_atomic(&path, b"two", 0o600)?;
        assert_eq!(fs::read(&path)?, b"two");
        let names: Vec<_> = fs::read_dir(parent_dir(&path))?
            .map(|entry| entry.map(|entry| entry.file_name()))
            .collect::<Result<_, _>>()?;
        assert_eq!(names, [OsString::from("file.json")]);
        Ok(())
    }

    /// A failed write leaves the old file as it was. Running as root, a read-only directory
    /// does not stop the write, so the failures are made another way: a directory where the
    /// temporary file should go (it cannot be created), and a directory where the file should
    /// be replaced (the rename fails after the data was written).
    #[test]
    fn a_failed_write_leaves_the_old_file_intact() -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("profiles.json");
        fs::write(&path, "old")?;
        let temp = dir.path().join(".profiles.json.tmp");
        fs::create_dir(&temp)?;
        let error = write_via(&temp, &path, b"new", 0o644).err();
        assert!(
            matches!(
                &error,
                Some(StoreError::Io {
                    action: "create",
                    ..
                })
            ),
            "{error:?}"
        );
        assert_eq!(fs::read_to_string(&path)?, "old");

        let blocked = dir.path().join("blocked");
        fs::create_dir_all(blocked.join("inside"))?;
        let temp = dir.path().join(".blocked.tmp");
        let error = write_via(&temp, &blocked, b"new", 0o644).err();
        assert!(
            matches!(
                &error,
                Some(StoreError::Io {
                    action: "replace",
                    ..
                })
            ),
            "{error:?}"
        );
        assert!(blocked.join("inside").is_dir());
        assert!(!temp.exists(), "the temporary file was left behind");
        Ok(())
    }
}
