//! The secrets file, for machines without a keyring (servers, containers, CI), used only when the
//! user opts in. It is a JSON object from key names to secrets, readable only by its owner.

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read as _};
use std::path::{Path, PathBuf};

use protocol::Secret;

use super::{SecretKey, SecretStore};
use crate::store::{StoreError, parent_dir, write_atomic};

/// Secrets in a JSON file of mode 0600. The file is read on every use, so a secret set by
/// another mailbridge process (`mailbridge secret set` while `serve` runs) is seen at once;
/// writes take a lock on `<file>.lock` so two processes cannot lose each other's changes.
///
/// A file that other users could read or change, or that belongs to someone else, is refused
/// with the command that fixes it.
#[derive(Debug)]
pub struct FileStore {
    path: PathBuf,
    /// The user this process runs as; the file must belong to it.
    #[cfg(unix)]
    uid: u32,
}

impl FileStore {
    /// Opens the secrets file at `path`, creating its directory (mode 0700) if needed. A missing
    /// or empty file holds no secrets; the file itself is created, with mode 0600, by the first
    /// secret stored. A file that is refused or cannot be read is an error now rather than at
    /// the first send.
    pub fn open(path: impl Into<PathBuf>) -> Result<FileStore, StoreError> {
        let path = path.into();
        let dir = parent_dir(&path);
        if !dir.exists() {
            let mut builder = fs::DirBuilder::new();
            builder.recursive(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::DirBuilderExt as _;
                builder.mode(0o700);
            }
            builder
                .create(dir)
                .map_err(StoreError::io("create the directory", dir))?;
        }
        let store = FileStore {
            #[cfg(unix)]
            uid: current_uid(dir)?,
            path,
        };
        store.read()?;
        Ok(store)
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn read(&self) -> Result<BTreeMap<String, String>, StoreError> {
        let mut file = match File::open(&self.path) {
            Ok(file) => file,
            Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(BTreeMap::new()),
            Err(error) => return Err(StoreError::io("read", &self.path)(error)),
        };
        // The checks use the file just opened, so it cannot be swapped between check and read.
        let metadata = file
            .metadata()
            .map_err(StoreError::io("read", &self.path))?;
        self.check(&metadata)?;
        let mut text = String::new();
        file.read_to_string(&mut text)
            .map_err(StoreError::io("read", &self.path))?;
        if text.trim().is_empty() {
            return Ok(BTreeMap::new());
        }
        serde_json::from_str(&text).map_err(|error| StoreError::BrokenSecretsFile {
            path: self.path.clone(),
            // serde_json's message can quote the text it choked on, which may be a secret.
            reason: format!(
                "line {}, column {}: {}",
                error.line(),
                error.column(),
                match error.classify() {
                    serde_json::error::Category::Syntax => "this is not valid JSON",
                    serde_json::error::Category::Eof => "the file ends too early",
                    serde_json::error::Category::Data => "expected an object of text values",
                    serde_json::error::Category::Io => "the file could not be read",
                }
            ),
        })
    }

    #[cfg(unix)]
    fn check(&self, metadata: &fs::Metadata) -> Result<(), StoreError> {
        use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
        let mode = metadata.permissions().mode() & 0o7777;
        if mode & 0o077 != 0 {
            return Err(StoreError::InsecureFile {
                path: self.path.clone(),
                mode,
            });
        }
        if metadata.uid() != self.uid {
            return Err(StoreError::WrongOwner {
                path: self.path.clone(),
                owner: metadata.uid(),
                uid: self.uid,
            });
        }
        Ok(())
    }

    #[cfg(not(unix))]
    fn check(&self, _metadata: &fs::Metadata) -> Result<(), StoreError> {
        // Elsewhere the file inherits the ACL of the user's profile directory.
        Ok(())
    }

    /// Reads the secrets, lets `change` edit them, and writes them back if it says so, all under
    /// the lock.
    fn update(
        &self,
        change: impl FnOnce(&mut BTreeMap<String, String>) -> bool,
    ) -> Result<(), StoreError> {
        let lock_path = self.lock_path();
        let lock = private_file(&lock_path).map_err(StoreError::io("create", &lock_path))?;
        lock.lock().map_err(StoreError::io("lock", &lock_path))?;
        let mut secrets = self.read()?;
        if !change(&mut secrets) {
            return Ok(());
        }
        let mut json = serde_json::to_string_pretty(&secrets).map_err(|error| StoreError::Io {
            action: "write",
            path: self.path.clone(),
            source: error.into(),
        })?;
        json.push('\n');
        write_atomic(&self.path, json.as_bytes(), 0o600)
    }

    fn lock_path(&self) -> PathBuf {
        let mut name = self.path.file_name().unwrap_or_default().to_os_string();
        name.push(".lock");
        self.path.with_file_name(name)
    }
}

impl SecretStore for FileStore {
    fn set(&self, key: &SecretKey, secret: &Secret) -> Result<(), StoreError> {
        self.update(|secrets| {
            secrets.insert(key.name(), secret.expose().to_string());
            true
        })
    }

    fn get(&self, key: &SecretKey) -> Result<Option<Secret>, StoreError> {
        Ok(self.read()?.remove(&key.name()).map(Secret::new))
    }

    fn delete(&self, key: &SecretKey) -> Result<(), StoreError> {
        self.update(|secrets| secrets.remove(&key.name()).is_some())
    }

    fn describe(&self) -> String {
        format!("the file {} (mode 0600)", self.path.display())
    }
}

/// Opens (creating if needed) a file only its owner may read and write.
fn private_file(path: &Path) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.create(true).truncate(false).write(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    options.open(path)
}

/// The user id this process runs as, without `libc`: the owner of a file it has just created.
/// The file goes in `dir` (the secrets file's directory) or, if that is not writable, the
/// temporary directory.
#[cfg(unix)]
fn current_uid(dir: &Path) -> Result<u32, StoreError> {
    use std::os::unix::fs::MetadataExt as _;
    let probe = |dir: &Path| -> io::Result<u32> {
        let path = dir.join(format!(
            ".mailbridge-uid-{}-{:016x}",
            std::process::id(),
            rand::random::<u64>()
        ));
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)?;
        let uid = file.metadata().map(|metadata| metadata.uid());
        let _ = fs::remove_file(&path);
        uid
    };
    probe(dir)
        .or_else(|_| probe(&std::env::temp_dir()))
        .map_err(StoreError::io(
            "find out which user owns files made in",
            dir,
        ))
}

#[cfg(test)]
mod tests {
    use profile::ProfileId;

    use super::*;
    use crate::store::secrets::tests::CANARY;
    use crate::store::secrets::{pairing_token, reset_pairing_token};

    fn key(id: &str) -> SecretKey {
        SecretKey::Profile(ProfileId(id.into()))
    }

    #[test]
    fn secrets_round_trip_through_the_file() -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("config/mailbridge/secrets.json");
        let store = FileStore::open(&path)?;
        assert!(!path.exists(), "opening alone must not create the file");
        assert_eq!(store.get(&key("a"))?, None);
        store.set(&key("a"), &Secret::new("alpha"))?;
        store.set(&key("b"), &Secret::new("beta"))?;
        store.set(&SecretKey::PairingToken, &Secret::new("token"))?;
        store.delete(&key("b"))?;
        store.delete(&key("never-set"))?;

        let reopened = FileStore::open(&path)?;
        assert_eq!(reopened.get(&key("a"))?, Some(Secret::new("alpha")));
        assert_eq!(reopened.get(&key("b"))?, None);
        let on_disk: BTreeMap<String, String> = serde_json::from_str(&fs::read_to_string(&path)?)?;
        let expected = [("pairing-token", "token"), ("profile:a", "alpha")]
            .map(|(k, v)| (k.to_string(), v.to_string()));
        assert_eq!(on_disk, BTreeMap::from(expected));
        assert_eq!(
            store.describe(),
            format!("the file {} (mode 0600)", path.display())
        );
        Ok(())
    }

    #[cfg(unix)]
    #[test]
    fn the_file_and_its_directory_are_created_private() -> anyhow::Result<()> {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("new-dir/secrets.json");
        let store = FileStore::open(&path)?;
        store.set(&key("a"), &Secret::new("alpha"))?;
        let mode = |path: &Path| fs::metadata(path).map(|m| m.permissions().mode() & 0o777);
        assert_eq!(mode(&path)?, 0o600);
        assert_eq!(mode(parent_dir(&path))?, 0o700);
        assert_eq!(mode(&store.lock_path())?, 0o600);
        Ok(())
    }

    #[cfg(unix)]
    #[test]
    fn files_others_can_reach_are_refused_with_the_fix() -> anyhow::Result<()> {
        use std::os::unix::fs::PermissionsExt as _;
        let cases = [
            (0o600, None),
            (0o400, None),
            (0o644, Some("can read it")),
            (0o640, Some("can read it")),
            (0o604, Some("can read it")),
            (0o620, Some("can change it")),
            (0o666, Some("can read and change it")),
            (0o610, Some("can reach it")),
        ];
        for (mode, refusal) in cases {
            let dir = tempfile::tempdir()?;
            let path = dir.path().join("secrets.json");
            let content = format!("{{\"profile:a\": \"{CANARY}\"}}\n");
            fs::write(&path, &content)?;
            fs::set_permissions(&path, fs::Permissions::from_mode(mode))?;
            match FileStore::open(&path) {
                Ok(store) => {
                    assert_eq!(refusal, None, "mode {mode:o} was accepted");
                    assert_eq!(store.get(&key("a"))?, Some(Secret::new(CANARY)));
                }
                Err(error) => {
                    let message = error.to_string();
                    let Some(refusal) = refusal else {
                        panic!("mode {mode:o} was refused: {message}");
                    };
                    assert!(
                        message.contains(&format!("mode {mode:04o}, so other users"))
                            && message.contains(refusal)
                            && message.contains(&format!("chmod 600 {}", path.display())),
                        "{message}"
                    );
                    assert!(!message.contains(CANARY));
                }
            }
            assert_eq!(fs::read_to_string(&path)?, content, "mode {mode:o}");
        }
        Ok(())
    }

    /// A file made unsafe after opening is refused at the next use, and not rewritten.
    #[cfg(unix)]
    #[test]
    fn a_file_loosened_while_open_is_refused_at_the_next_use() -> anyhow::Result<()> {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("secrets.json");
        let store = FileStore::open(&path)?;
        store.set(&key("a"), &Secret::new("alpha"))?;
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644))?;
        let before = fs::read(&path)?;
        for result in [
            store.get(&key("a")).map(|_| ()),
            store.set(&key("b"), &Secret::new("beta")),
            store.delete(&key("a")),
        ] {
            assert!(
                matches!(result, Err(StoreError::InsecureFile { mode: 0o644, .. })),
                "{result:?}"
            );
        }
        assert_eq!(fs::read(&path)?, before);
        Ok(())
    }

    /// Tests run as root here, so a file can be given to another user; elsewhere `chown` is not
    /// allowed and there is nothing to check.
    #[cfg(unix)]
    #[test]
    fn a_file_owned_by_someone_else_is_refused() -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("secrets.json");
        let store = FileStore::open(&path)?;
        store.set(&key("a"), &Secret::new(CANARY))?;
        if std::os::unix::fs::chown(&path, Some(1), None).is_err() {
            return Ok(());
        }
        let error = FileStore::open(&path).err();
        let Some(StoreError::WrongOwner { owner: 1, uid, .. }) = &error else {
            panic!("expected a refusal, got {error:?}");
        };
        let message = error.as_ref().map(ToString::to_string).unwrap_or_default();
        assert!(
            message.contains("belongs to user 1")
                && message.contains(&format!("chown {uid} {}", path.display())),
            "{message}"
        );
        assert!(!message.contains(CANARY));
        Ok(())
    }

    #[test]
    fn broken_files_are_refused_without_quoting_them() -> anyhow::Result<()> {
        let cases = [
            (format!("{{\"profile:a\": \"{CANARY}\""), "line 1"),
            (format!("\"{CANARY}\""), "expected an object of text values"),
            (
                format!("{{\"profile:a\": [\"{CANARY}\"]}}"),
                "expected an object",
            ),
            (format!("{{\"profile:a\": \"{CANARY}\",\n oops}}"), "line 2"),
        ];
        for (content, expected) in cases {
            let dir = tempfile::tempdir()?;
            let path = dir.path().join("secrets.json");
            private_file(&path)?;
            fs::write(&path, &content)?;
            let error = FileStore::open(&path).err();
            let message = error.as_ref().map(ToString::to_string).unwrap_or_default();
            assert!(
                matches!(error, Some(StoreError::BrokenSecretsFile { .. }))
                    && message.contains(expected),
                "{content}: {message}"
            );
            assert!(
                !message.contains(CANARY) && !format!("{error:?}").contains(CANARY),
                "{message}"
            );
        }
        // An empty file, as `touch` leaves it, is an empty store.
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("secrets.json");
        private_file(&path)?;
        assert_eq!(FileStore::open(&path)?.get(&key("a"))?, None);
        Ok(())
    }

    #[test]
    fn the_pairing_token_survives_a_restart_until_reset() -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("secrets.json");
        let first = pairing_token(&FileStore::open(&path)?)?;
        assert_eq!(first.expose().len(), 43);
        assert_eq!(pairing_token(&FileStore::open(&path)?)?, first);
        reset_pairing_token(&FileStore::open(&path)?)?;
        let second = pairing_token(&FileStore::open(&path)?)?;
        assert_ne!(second, first);
        assert_eq!(pairing_token(&FileStore::open(&path)?)?, second);
        Ok(())
    }

    #[test]
    fn concurrent_writers_lose_nothing() -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("secrets.json");
        // Each thread has its own store on the file, as separate processes would.
        std::thread::scope(|scope| {
            let writers: Vec<_> = (0..8)
                .map(|i| {
                    let path = &path;
                    scope.spawn(move || {
                        FileStore::open(path)?
                            .set(&key(&format!("p{i}")), &Secret::new(format!("s{i}")))
                    })
                })
                .collect();
            writers
                .into_iter()
                .try_for_each(|writer| match writer.join() {
                    Ok(result) => result,
                    Err(_) => panic!("a writer panicked"),
                })
        })?;
        let store = FileStore::open(&path)?;
        for i in 0..8 {
            assert_eq!(
                store.get(&key(&format!("p{i}")))?,
                Some(Secret::new(format!("s{i}")))
            );
        }
        Ok(())
    }
}
