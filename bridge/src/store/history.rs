//! The history of sends, newest first, in SQLite: bounded, and kept across restarts.
//!
//! Each entry is a row whose structured parts (recipients, outcome, transcript) are JSON
//! columns, so the row follows `protocol::HistoryEntry` without a table per part. SQLite's
//! `user_version` holds the schema version, so a later release can migrate old files.

use std::path::{Path, PathBuf};

use protocol::{HistoryEntry, HistoryOutcome, TranscriptLine};
use rusqlite::{Connection, OptionalExtension as _, Row, params};

use super::StoreError;

/// How many entries the bridge keeps unless told otherwise.
pub const DEFAULT_CAPACITY: usize = 1000;

/// The schema this code writes; older files are migrated up to it when opened.
const SCHEMA_VERSION: i64 = 1;

const COLUMNS: &str = "id, at_unix_ms, profile_id, profile_name, recipients, subject, \
                       message_id, attempts, outcome, transcript";

/// The newest `capacity` sends. The calls block on SQLite; the server runs them with
/// `spawn_blocking`.
#[derive(Debug)]
pub struct HistoryStore {
    path: PathBuf,
    connection: Connection,
    capacity: usize,
}

impl HistoryStore {
    /// Opens (or creates) the history at `path`, keeping the newest `capacity` entries (at
    /// least one). A file from a newer mailbridge is refused rather than misread.
    pub fn open(path: impl Into<PathBuf>, capacity: usize) -> Result<HistoryStore, StoreError> {
        let path = path.into();
        if let Some(dir) = path.parent().filter(|dir| !dir.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(StoreError::io("create the directory", dir))?;
        }
        let connection = Connection::open(&path).map_err(sqlite(&path))?;
        let mut store = HistoryStore {
            path,
            connection,
            capacity: capacity.max(1),
        };
        store.prepare()?;
        // A smaller capacity than last time takes effect at once.
        store.evict().map_err(sqlite(&store.path))?;
        Ok(store)
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Adds `entry` (its `id` is ignored) and returns the id it was given. Ids only grow, even
    /// across evictions, so an id never comes to mean another send. The oldest entries beyond
    /// the capacity are dropped.
    pub fn append(&mut self, entry: HistoryEntry) -> Result<u64, StoreError> {
        let recipients = to_json(&entry.recipients);
        let outcome = to_json(&StoredOutcome::from(entry.outcome.clone()));
        let transcript = to_json(&entry.transcript);
        let path = self.path.clone();
        let transaction = self.connection.transaction().map_err(sqlite(&path))?;
        transaction
            .execute(
                "INSERT INTO history (at_unix_ms, profile_id, profile_name, recipients, subject, \
                 message_id, attempts, outcome, transcript) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                params![
                    i64::try_from(entry.at_unix_ms).unwrap_or(i64::MAX),
                    entry.profile_id,
                    entry.profile_name,
                    recipients,
                    entry.subject,
                    entry.message_id,
                    entry.attempts,
                    outcome,
                    transcript,
                ],
            )
            .map_err(sqlite(&path))?;
        let id = transaction.last_insert_rowid();
        evict(&transaction, self.capacity).map_err(sqlite(&path))?;
        transaction.commit().map_err(sqlite(&path))?;
        Ok(u64::try_from(id).unwrap_or_default())
    }

    /// The newest `limit` entries, newest first.
    pub fn list(&self, limit: usize) -> Result<Vec<HistoryEntry>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let mut statement = self
            .connection
            .prepare_cached(&format!(
                "SELECT {COLUMNS} FROM history ORDER BY id DESC LIMIT ?1"
            ))
            .map_err(sqlite(&self.path))?;
        let rows = statement
            .query_map([limit], read_row)
            .map_err(sqlite(&self.path))?;
        rows.map(|row| self.decode(row.map_err(sqlite(&self.path))?))
            .collect()
    }

    /// The entry with id `id`, if it is still kept.
    pub fn get(&self, id: u64) -> Result<Option<HistoryEntry>, StoreError> {
        let Ok(id) = i64::try_from(id) else {
            return Ok(None);
        };
        let row = self
            .connection
            .query_row(
                &format!("SELECT {COLUMNS} FROM history WHERE id = ?1"),
                [id],
                read_row,
            )
            .optional()
            .map_err(sqlite(&self.path))?;
        row.map(|row| self.decode(row)).transpose()
    }

    /// Sets up a new file, migrates an older one, or refuses a newer one.
    fn prepare(&mut self) -> Result<(), StoreError> {
        let path = self.path.clone();
        // WAL lets the command line read while the server writes; a busy file is waited for
        // rather than failed.
        self.connection
            .pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get::<_, String>(0))
            .map_err(sqlite(&path))?;
        self.connection
            .busy_timeout(std::time::Duration::from_secs(5))
            .map_err(sqlite(&path))?;
        let found: i64 = self
            .connection
            .pragma_query_value(None, "user_version", |row| row.get(0))
            .map_err(sqlite(&path))?;
        if found > SCHEMA_VERSION {
            return Err(StoreError::NewerHistory {
                path,
                found,
                supported: SCHEMA_VERSION,
            });
        }
        if found < 1 {
            let transaction = self.connection.transaction().map_err(sqlite(&path))?;
            transaction
                .execute_batch(
                    "CREATE TABLE IF NOT EXISTS history (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        at_unix_ms INTEGER NOT NULL,
                        profile_id TEXT NOT NULL,
                        profile_name TEXT NOT NULL,
                        recipients TEXT NOT NULL,
                        subject TEXT NOT NULL,
                        message_id TEXT,
                        attempts INTEGER NOT NULL,
                        outcome TEXT NOT NULL,
                        transcript TEXT NOT NULL
                    );
                    PRAGMA user_version = 1;",
                )
                .map_err(sqlite(&path))?;
            transaction.commit().map_err(sqlite(&path))?;
        }
        // Migrations from version 1 onwards go here, one `if found < n` block each.
        Ok(())
    }

    fn evict(&self) -> rusqlite::Result<()> {
        evict(&self.connection, self.capacity)
    }

    fn decode(&self, row: RawRow) -> Result<HistoryEntry, StoreError> {
        let broken = |reason: String| StoreError::BrokenHistoryEntry {
            path: self.path.clone(),
            id: row.id,
            reason,
        };
        let recipients: Vec<String> = serde_json::from_str(&row.recipients)
            .map_err(|error| broken(format!("recipients: {error}")))?;
        let outcome: HistoryOutcome = serde_json::from_str::<StoredOutcome>(&row.outcome)
            .map_err(|error| broken(format!("outcome: {error}")))?
            .into();
        let transcript: Vec<TranscriptLine> = serde_json::from_str(&row.transcript)
            .map_err(|error| broken(format!("transcript: {error}")))?;
        Ok(HistoryEntry {
            id: u64::try_from(row.id).unwrap_or_default(),
            at_unix_ms: u64::try_from(row.at_unix_ms).unwrap_or_default(),
            profile_id: row.profile_id,
            profile_name: row.profile_name,
            recipients,
            subject: row.subject,
            message_id: row.message_id,
            attempts: row.attempts,
            outcome,
            transcript,
            bounces: Vec::new(),
        })
    }
}

/// A row as stored, before its JSON columns are decoded.
struct RawRow {
    id: i64,
    at_unix_ms: i64,
    profile_id: String,
    profile_name: String,
    recipients: String,
    subject: String,
    message_id: Option<String>,
    attempts: u32,
    outcome: String,
    transcript: String,
}

fn read_row(row: &Row<'_>) -> rusqlite::Result<RawRow> {
    Ok(RawRow {
        id: row.get(0)?,
        at_unix_ms: row.get(1)?,
        profile_id: row.get(2)?,
        profile_name: row.get(3)?,
        recipients: row.get(4)?,
        subject: row.get(5)?,
        message_id: row.get(6)?,
        attempts: row.get(7)?,
        outcome: row.get(8)?,
        transcript: row.get(9)?,
    })
}

/// Drops all but the newest `capacity` entries.
fn evict(connection: &Connection, capacity: usize) -> rusqlite::Result<()> {
    // The id of the oldest entry to keep; NULL (and so no deletion) while there are fewer.
    connection.execute(
        "DELETE FROM history WHERE id < \
         (SELECT id FROM history ORDER BY id DESC LIMIT 1 OFFSET ?1)",
        [i64::try_from(capacity.saturating_sub(1)).unwrap_or(i64::MAX)],
    )?;
    Ok(())
}

/// The outcome as the `outcome` column holds it (`{"result": "sent", "reply": ...}`). The
/// protocol's `HistoryOutcome` is tagged differently on the wire, and the database keeps the
/// form it was written in.
#[derive(serde::Serialize, serde::Deserialize)]
#[serde(tag = "result", rename_all = "snake_case")]
enum StoredOutcome {
    Sent { reply: String },
    Failed { diagnosis: diagnosis::Diagnosis },
}

impl From<HistoryOutcome> for StoredOutcome {
    fn from(outcome: HistoryOutcome) -> StoredOutcome {
        match outcome {
            HistoryOutcome::Sent { reply } => StoredOutcome::Sent { reply },
            HistoryOutcome::Failed { diagnosis } => StoredOutcome::Failed { diagnosis },
        }
    }
}

impl From<StoredOutcome> for HistoryOutcome {
    fn from(outcome: StoredOutcome) -> HistoryOutcome {
        match outcome {
            StoredOutcome::Sent { reply } => HistoryOutcome::Sent { reply },
            StoredOutcome::Failed { diagnosis } => HistoryOutcome::Failed { diagnosis },
        }
    }
}

fn to_json<T: serde::Serialize>(value: &T) -> String {
    // These protocol types have string keys only and derive Serialize, so this cannot fail;
    // were it ever to, an empty JSON value would surface as a decode error naming the entry.
    serde_json::to_string(value).unwrap_or_default()
}

fn sqlite(path: &Path) -> impl Fn(rusqlite::Error) -> StoreError {
    let path = path.to_path_buf();
    move |source| StoreError::History {
        path: path.clone(),
        source,
    }
}

#[cfg(test)]
mod tests {
    use protocol::Direction;

    use super::*;

    fn entry(n: u64) -> HistoryEntry {
        HistoryEntry {
            id: 0,
            at_unix_ms: 1_700_000_000_000 + n,
            profile_id: "team-gmail".into(),
            profile_name: "Team Gmail".into(),
            recipients: vec![format!("to{n}@example.com"), "Bcc <bcc@example.com>".into()],
            subject: format!("Report {n} — “Ünïcode” ✉"),
            message_id: Some(format!("<{n}@mailbridge.test>")),
            attempts: 1,
            outcome: HistoryOutcome::Sent {
                reply: "250 2.0.0 OK  1700000000 a1-2000000000000000000xx.123 - gsmtp".into(),
            },
            transcript: vec![
                TranscriptLine {
                    at_ms: 0,
                    direction: Direction::Note,
                    text: "TLS established (TLSv1.3)".into(),
                },
                TranscriptLine {
                    at_ms: 12,
                    direction: Direction::Client,
                    text: "AUTH PLAIN ****".into(),
                },
                TranscriptLine {
                    at_ms: 40,
                    direction: Direction::Server,
                    text: "235 2.7.0 Accepted".into(),
                },
            ],
            bounces: Vec::new(),
        }
    }

    fn ids(entries: &[HistoryEntry]) -> Vec<u64> {
        entries.iter().map(|e| e.id).collect()
    }

    #[test]
    fn entries_round_trip_newest_first() -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        let mut store = HistoryStore::open(dir.path().join("data/history.sqlite3"), 10)?;
        assert!(store.list(10)?.is_empty());
        let diagnosis = diagnosis::explain(
            "535-5.7.8 Username and Password not accepted. For more information, go to\r\n\
             535 5.7.8  https://support.google.com/mail/?p=BadCredentials - gsmtp",
        )?;
        let failed = HistoryEntry {
            message_id: None,
            attempts: 3,
            outcome: HistoryOutcome::Failed { diagnosis },
            transcript: Vec::new(),
            ..entry(2)
        };
        let first = store.append(entry(1))?;
        let second = store.append(failed.clone())?;
        assert!(second > first);
        assert_eq!(
            store.get(first)?,
            Some(HistoryEntry {
                id: first,
                ..entry(1)
            })
        );
        assert_eq!(
            store.get(second)?,
            Some(HistoryEntry {
                id: second,
                ..failed
            })
        );
        assert_eq!(store.get(second + 1)?, None);
        assert_eq!(store.get(u64::MAX)?, None);
        assert_eq!(ids(&store.list(10)?), [second, first]);
        assert_eq!(ids(&store.list(1)?), [second]);
        assert!(store.list(0)?.is_empty());
        Ok(())
    }

    #[test]
    fn only_the_newest_entries_are_kept() -> anyhow::Result<()> {
        let cases = [(1, 5), (3, 2), (3, 3), (3, 10), (0, 2)];
        for (capacity, appended) in cases {
            let dir = tempfile::tempdir()?;
            let mut store = HistoryStore::open(dir.path().join("history.sqlite3"), capacity)?;
            let mut appended_ids = Vec::new();
            for n in 0..appended {
                appended_ids.push(store.append(entry(n))?);
            }
            let kept = appended.min(capacity.max(1) as u64) as usize;
            let expected: Vec<u64> = appended_ids.iter().rev().take(kept).copied().collect();
            assert_eq!(
                ids(&store.list(usize::MAX)?),
                expected,
                "capacity {capacity}, {appended} appended"
            );
            if let Some(&oldest) = appended_ids.first().filter(|_| appended as usize > kept) {
                assert_eq!(store.get(oldest)?, None);
            }
        }
        Ok(())
    }

    #[test]
    fn history_survives_reopening_and_ids_never_repeat() -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("history.sqlite3");
        let mut store = HistoryStore::open(&path, 3)?;
        for n in 0..5 {
            store.append(entry(n))?;
        }
        let before = store.list(10)?;
        drop(store);

        let mut reopened = HistoryStore::open(&path, 3)?;
        assert_eq!(reopened.list(10)?, before);
        let next = reopened.append(entry(9))?;
        assert!(before.iter().all(|e| e.id < next), "{next} reused an id");
        drop(reopened);

        // Reopening with a smaller capacity drops the oldest at once.
        let smaller = HistoryStore::open(&path, 1)?;
        assert_eq!(ids(&smaller.list(10)?), [next]);
        Ok(())
    }

    #[test]
    fn the_outcome_column_keeps_its_stored_form() -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("history.sqlite3");
        let mut store = HistoryStore::open(&path, 10)?;
        let id = store.append(entry(1))?;
        drop(store);
        // Files written before the wire format changed hold this form, and still must.
        let connection = Connection::open(&path)?;
        let stored: String = connection.query_row(
            "SELECT outcome FROM history WHERE id = ?1",
            [i64::try_from(id)?],
            |row| row.get(0),
        )?;
        assert!(stored.starts_with(r#"{"result":"sent","#), "{stored}");
        drop(connection);
        let listed = HistoryStore::open(&path, 10)?.list(10)?;
        assert!(
            matches!(&listed[0].outcome, HistoryOutcome::Sent { reply } if reply.starts_with("250")),
            "{listed:?}"
        );
        Ok(())
    }

    #[test]
    fn the_schema_version_is_recorded_and_newer_files_are_refused() -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("history.sqlite3");
        drop(HistoryStore::open(&path, 10)?);
        let connection = Connection::open(&path)?;
        let version: i64 = connection.pragma_query_value(None, "user_version", |r| r.get(0))?;
        let mode: String = connection.pragma_query_value(None, "journal_mode", |r| r.get(0))?;
        assert_eq!((version, mode.as_str()), (SCHEMA_VERSION, "wal"));
        connection.pragma_update(None, "user_version", 7)?;
        drop(connection);

        let error = HistoryStore::open(&path, 10).err();
        let message = error.as_ref().map(ToString::to_string).unwrap_or_default();
        assert!(
            matches!(error, Some(StoreError::NewerHistory { found: 7, .. }))
                && message.contains("update mailbridge")
                && message.contains(&path.display().to_string()),
            "{message}"
        );
        Ok(())
    }

    #[test]
    fn a_damaged_entry_is_reported_by_its_id() -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("history.sqlite3");
        let mut store = HistoryStore::open(&path, 10)?;
        let id = store.append(entry(1))?;
        store.connection.execute(
            "UPDATE history SET outcome = '{' WHERE id = ?1",
            [id as i64],
        )?;
        for result in [store.get(id).map(|_| ()), store.list(10).map(|_| ())] {
            let message = result.err().map(|e| e.to_string()).unwrap_or_default();
            assert!(
                message.contains(&format!("entry {id} of the history"))
                    && message.contains("outcome"),
                "{message}"
            );
        }
        Ok(())
    }
}
