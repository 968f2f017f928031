//! Receiving mailboxes (`mailboxes.json`, beside `profiles.json`, in the team file format of
//! `profile::MailboxFile`, which has no field for a secret), and the verdicts found there
//! (`verdicts.sqlite3` in the data directory, by Message-ID, with the redacted IMAP
//! transcript), beside the bounces matched to sent messages (by Message-ID and recipient).

use std::collections::HashMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use profile::{MailboxFile, Problem, ReceivingMailbox};
use protocol::{BounceView, VerifyReport};
use rusqlite::{Connection, OptionalExtension as _, params};

use super::write_atomic;

/// Why the mailboxes file or the verdicts could not be used.
#[derive(Debug, thiserror::Error)]
pub enum MailboxError {
    #[error(
        "the mailboxes file {} cannot be read, so mailbridge will not change it:{}\nFix: correct \
         the file (or move it away to start with no mailboxes), then try again",
        .path.display(),
        .problems.iter().map(|p| format!("\n  {p}")).collect::<String>()
    )]
    Broken {
        path: PathBuf,
        problems: Vec<Problem>,
    },
    #[error("{}", .0.iter().map(|p| p.to_string()).collect::<Vec<_>>().join("; "))]
    Invalid(Vec<Problem>),
    #[error("{action} {}: {reason}", .path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        reason: String,
    },
}

/// The receiving mailboxes, read from the file at each call, so two processes agree.
#[derive(Debug, Clone)]
pub struct MailboxStore {
    path: PathBuf,
}

impl MailboxStore {
    pub fn new(path: impl Into<PathBuf>) -> MailboxStore {
        MailboxStore { path: path.into() }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn list(&self) -> Result<Vec<ReceivingMailbox>, MailboxError> {
        let text = match fs::read_to_string(&self.path) {
            Ok(text) => text,
            Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(error) => {
                return Err(MailboxError::Io {
                    action: "cannot read",
                    path: self.path.clone(),
                    reason: error.to_string(),
                });
            }
        };
        MailboxFile::parse(&text)
            .map(|file| file.mailboxes)
            .map_err(|problems| MailboxError::Broken {
                path: self.path.clone(),
                problems,
            })
    }

    /// By id, else by name (ignoring case).
    pub fn find(&self, key: &str) -> Result<Option<ReceivingMailbox>, MailboxError> {
        let mailboxes = self.list()?;
        Ok(mailboxes
            .iter()
            .find(|m| m.id == key)
            .or_else(|| mailboxes.iter().find(|m| m.name.eq_ignore_ascii_case(key)))
            .cloned())
    }

    /// Adds or replaces (by id) a mailbox; an invalid one changes nothing.
    pub fn save(&self, mailbox: ReceivingMailbox) -> Result<(), MailboxError> {
        mailbox.validate().map_err(MailboxError::Invalid)?;
        let mut mailboxes = self.list()?;
        match mailboxes.iter_mut().find(|m| m.id == mailbox.id) {
            Some(existing) => *existing = mailbox,
            None => mailboxes.push(mailbox),
        }
        self.write(mailboxes)
    }

    /// Whether one was there.
    pub fn delete(&self, id: &str) -> Result<bool, MailboxError> {
        let mut mailboxes = self.list()?;
        let before = mailboxes.len();
        mailboxes.retain(|m| m.id != id);
        if mailboxes.len() == before {
            return Ok(false);
        }
        self.write(mailboxes)?;
        Ok(true)
    }

    /// The team file: the definitions, never a secret.
    pub fn export(&self) -> Result<String, MailboxError> {
        let file = MailboxFile::new(self.list()?);
        Ok(serde_json::to_string_pretty(&file).unwrap_or_default())
    }

    /// Adds every mailbox of a team file (replacing those with the same id), or nothing.
    pub fn import(&self, text: &str) -> Result<usize, MailboxError> {
        let file = MailboxFile::parse(text).map_err(MailboxError::Invalid)?;
        let count = file.mailboxes.len();
        let mut mailboxes = self.list()?;
        for mailbox in file.mailboxes {
            mailboxes.retain(|m| m.id != mailbox.id);
            mailboxes.push(mailbox);
        }
        self.write(mailboxes)?;
        Ok(count)
    }

    fn write(&self, mailboxes: Vec<ReceivingMailbox>) -> Result<(), MailboxError> {
        let text = serde_json::to_string_pretty(&MailboxFile::new(mailboxes)).unwrap_or_default();
        write_atomic(&self.path, text.as_bytes(), 0o644).map_err(|error| MailboxError::Io {
            action: "cannot write",
            path: self.path.clone(),
            reason: error.to_string(),
        })
    }
}

/// The verdicts found, newest kept per Message-ID and mailbox.
pub struct VerdictStore {
    connection: Connection,
}

impl VerdictStore {
    pub fn open(path: &Path) -> Result<VerdictStore, MailboxError> {
        let sqlite = |error: rusqlite::Error| MailboxError::Io {
            action: "cannot open the verdicts in",
            path: path.to_owned(),
            reason: error.to_string(),
        };
        if let Some(dir) = path.parent() {
            let _ = fs::create_dir_all(dir);
        }
        let connection = Connection::open(path).map_err(sqlite)?;
        connection
            .execute_batch(
                "PRAGMA busy_timeout = 5000;
                 CREATE TABLE IF NOT EXISTS verdicts (
                     message_id TEXT NOT NULL,
                     mailbox TEXT NOT NULL,
                     at_unix_ms INTEGER NOT NULL,
                     report TEXT NOT NULL,
                     PRIMARY KEY (message_id, mailbox)
                 );
                 CREATE TABLE IF NOT EXISTS bounces (
                     message_id TEXT NOT NULL,
                     recipient TEXT NOT NULL,
                     bounce TEXT NOT NULL,
                     PRIMARY KEY (message_id, recipient)
                 );",
            )
            .map_err(sqlite)?;
        Ok(VerdictStore { connection })
    }

    pub fn put(
        &self,
        message_id: &str,
        mailbox: &str,
        at_unix_ms: i64,
        report: &VerifyReport,
    ) -> Result<(), MailboxError> {
        let json = serde_json::to_string(report).unwrap_or_default();
        self.connection
            .execute(
                "INSERT OR REPLACE INTO verdicts (message_id, mailbox, at_unix_ms, report)
                 VALUES (?1, ?2, ?3, ?4)",
                params![bare(message_id), mailbox, at_unix_ms, json],
            )
            .map(|_| ())
            .map_err(|error| MailboxError::Io {
                action: "cannot store a verdict in",
                path: PathBuf::from("verdicts.sqlite3"),
                reason: error.to_string(),
            })
    }

    /// Every verdict for a Message-ID, newest first.
    pub fn for_message(&self, message_id: &str) -> Result<Vec<VerifyReport>, MailboxError> {
        let io = |error: rusqlite::Error| MailboxError::Io {
            action: "cannot read the verdicts in",
            path: PathBuf::from("verdicts.sqlite3"),
            reason: error.to_string(),
        };
        let mut statement = self
            .connection
            .prepare("SELECT report FROM verdicts WHERE message_id = ?1 ORDER BY at_unix_ms DESC")
            .map_err(io)?;
        let rows = statement
            .query_map([bare(message_id)], |row| row.get::<_, String>(0))
            .map_err(io)?;
        let mut reports = Vec::new();
        for row in rows {
            if let Some(report) = row.ok().and_then(|json| serde_json::from_str(&json).ok()) {
                reports.push(report);
            }
        }
        Ok(reports)
    }

    /// Keeps a bounce matched to a sent message (a later report for the same recipient
    /// replaces it: a delay followed by a failure shows the failure).
    pub fn put_bounce(&self, bounce: &BounceView) -> Result<(), MailboxError> {
        let json = serde_json::to_string(bounce).unwrap_or_default();
        self.connection
            .execute(
                "INSERT OR REPLACE INTO bounces (message_id, recipient, bounce)
                 VALUES (?1, ?2, ?3)",
                params![
                    bare(&bounce.message_id),
                    bounce.recipient.to_ascii_lowercase(),
                    json
                ],
            )
            .map(|_| ())
            .map_err(|error| MailboxError::Io {
                action: "cannot store a bounce in",
                path: PathBuf::from("verdicts.sqlite3"),
                reason: error.to_string(),
            })
    }

    /// The bounces kept for these Message-IDs, by bare Message-ID.
    pub fn bounces_for<'a>(
        &self,
        message_ids: impl IntoIterator<Item = &'a str>,
    ) -> Result<HashMap<String, Vec<BounceView>>, MailboxError> {
        let io = |error: rusqlite::Error| MailboxError::Io {
            action: "cannot read the bounces in",
            path: PathBuf::from("verdicts.sqlite3"),
            reason: error.to_string(),
        };
        let mut statement = self
            .connection
            .prepare_cached("SELECT bounce FROM bounces WHERE message_id = ?1 ORDER BY recipient")
            .map_err(io)?;
        let mut found: HashMap<String, Vec<BounceView>> = HashMap::new();
        for id in message_ids {
            let id = bare(id);
            let rows = statement
                .query_map([id], |row| row.get::<_, String>(0))
                .map_err(io)?;
            for row in rows {
                if let Some(bounce) = row.ok().and_then(|json| serde_json::from_str(&json).ok()) {
                    found.entry(id.to_owned()).or_default().push(bounce);
                }
            }
        }
        Ok(found)
    }

    /// The newest verdict for a Message-ID at one mailbox.
    pub fn get(&self, message_id: &str, mailbox: &str) -> Option<VerifyReport> {
        self.connection
            .query_row(
                "SELECT report FROM verdicts WHERE message_id = ?1 AND mailbox = ?2",
                params![bare(message_id), mailbox],
                |row| row.get::<_, String>(0),
            )
            .optional()
            .ok()
            .flatten()
            .and_then(|json| serde_json::from_str(&json).ok())
    }
}

fn bare(id: &str) -> &str {
    let id = id.trim();
    id.strip_prefix('<')
        .and_then(|id| id.strip_suffix('>'))
        .unwrap_or(id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use profile::MailboxPreset;

    #[test]
    fn mailboxes_are_saved_found_exported_and_a_broken_file_is_kept() {
        let dir = tempfile::tempdir().expect("dir");
        let store = MailboxStore::new(dir.path().join("mailboxes.json"));
        assert_eq!(store.list().expect("empty").len(), 0);
        let gmail =
            ReceivingMailbox::from_preset(MailboxPreset::Gmail, "g", "My Gmail", "me@gmail.com");
        store.save(gmail.clone()).expect("save");
        assert_eq!(store.find("my gmail").expect("find"), Some(gmail.clone()));
        assert_eq!(store.find("g").expect("find"), Some(gmail.clone()));
        let mut bad = gmail.clone();
        bad.port = 0;
        assert!(matches!(store.save(bad), Err(MailboxError::Invalid(_))));
        let exported = store.export().expect("export");
        let other = MailboxStore::new(dir.path().join("other.json"));
        assert_eq!(other.import(&exported).expect("import"), 1);
        assert_eq!(other.list().expect("list"), [gmail]);
        assert!(store.delete("g").expect("delete"));
        assert!(!store.delete("g").expect("delete again"));
        std::fs::write(store.path(), "{ not json").expect("break it");
        let error = store
            .save(ReceivingMailbox::from_preset(
                MailboxPreset::Yahoo,
                "y",
                "Y",
                "me@yahoo.com",
            ))
            .expect_err("broken");
        assert!(error.to_string().contains("will not change it"), "{error}");
        assert_eq!(
            std::fs::read_to_string(store.path()).expect("kept"),
            "{ not json"
        );
    }

    #[test]
    fn verdicts_are_kept_by_message_id_and_mailbox() {
        let dir = tempfile::tempdir().expect("dir");
        let store = VerdictStore::open(&dir.path().join("verdicts.sqlite3")).expect("open");
        let report = VerifyReport {
            verdict: None,
            error: None,
            transcript: Vec::new(),
        };
        store.put("<1@x>", "g", 1, &report).expect("put");
        store.put("1@x", "y", 2, &report).expect("put");
        assert_eq!(store.for_message("1@x").expect("read").len(), 2);
        assert!(store.get("<1@x>", "g").is_some());
        assert!(store.get("2@x", "g").is_none());
    }
}
