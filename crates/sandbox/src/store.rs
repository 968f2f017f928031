//! The capture store: every accepted message, kept in SQLite in the data directory so the
//! inbox and the daily quota survive a restart.
//!
//! [`MessageSummary`] and [`CapturedMessage`] are the `protocol` crate's types, so the bridge
//! hands them to the web page as they are.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use rusqlite::{Connection, OptionalExtension, params};
use tokio::sync::broadcast;

use crate::Error;
use crate::message;
use crate::placement::Placement;
pub use protocol::{Attachment, CapturedMessage, Envelope, HeaderLine, MessageSummary};

/// The length of Gmail's rolling quota window.
pub const DAY_MS: u64 = 24 * 60 * 60 * 1000;

/// A message the SMTP session accepted, before it has an id.
#[derive(Debug, Clone)]
pub(crate) struct NewMessage {
    pub envelope: Envelope,
    pub raw: Vec<u8>,
    pub tls_version: Option<String>,
    pub auth_mechanism: Option<String>,
    /// Where the IMAP side files it (Spam or the Inbox, and the tab).
    pub placement: Placement,
    /// Whether it counts against the daily sending quota: a bounce report the sandbox
    /// writes itself does not.
    pub counts_as_send: bool,
}

/// A stored message as the IMAP side lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filed {
    pub id: u64,
    pub received_unix_ms: u64,
    pub size_bytes: u64,
    pub placement: Placement,
}

/// The capture store. Cheap to clone; all clones share one database connection.
///
/// Methods block on SQLite for a few milliseconds; async callers with many messages to read
/// may prefer `tokio::task::spawn_blocking`.
#[derive(Debug, Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    conn: Mutex<Connection>,
    capacity: usize,
    path: PathBuf,
    arrivals: broadcast::Sender<MessageSummary>,
}

impl Store {
    /// Opens (or creates) the store at `path`, keeping at most `capacity` messages: the oldest
    /// are evicted first.
    pub fn open(path: impl AsRef<Path>, capacity: usize) -> Result<Store, Error> {
        let path = path.as_ref().to_owned();
        let store_error = |source| Error::Store {
            path: path.clone(),
            source,
        };
        let conn = Connection::open(&path).map_err(store_error)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .map_err(store_error)?;
        // WAL lets the inbox read while a session writes, and survives a crash mid-write.
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(store_error)?;
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS messages (
                 id INTEGER PRIMARY KEY AUTOINCREMENT,
                 received_ms INTEGER NOT NULL,
                 header_from TEXT NOT NULL,
                 header_to TEXT NOT NULL,
                 subject TEXT NOT NULL,
                 mail_from TEXT NOT NULL,
                 rcpt_to TEXT NOT NULL,
                 tls_version TEXT,
                 auth_mechanism TEXT,
                 raw BLOB NOT NULL,
                 message_id TEXT
             );
             -- The quota counts sends, not stored messages: eviction must not give quota back.
             CREATE TABLE IF NOT EXISTS sends (received_ms INTEGER NOT NULL);
             CREATE INDEX IF NOT EXISTS sends_by_time ON sends (received_ms);",
        )
        .map_err(store_error)?;
        // Stores made before Message-IDs were kept beside the message get the column; their
        // old rows leave it empty, and `message_ids` reads those from the message itself.
        let has_message_id = conn
            .prepare("SELECT 1 FROM pragma_table_info('messages') WHERE name = 'message_id'")
            .and_then(|mut statement| statement.exists([]))
            .map_err(store_error)?;
        if !has_message_id {
            conn.execute("ALTER TABLE messages ADD COLUMN message_id TEXT", [])
                .map_err(store_error)?;
        }
        // Likewise the placement (JSON); older rows read as the Inbox's Primary tab.
        let has_placement = conn
            .prepare("SELECT 1 FROM pragma_table_info('messages') WHERE name = 'placement'")
            .and_then(|mut statement| statement.exists([]))
            .map_err(store_error)?;
        if !has_placement {
            conn.execute("ALTER TABLE messages ADD COLUMN placement TEXT", [])
                .map_err(store_error)?;
        }
        let (arrivals, _) = broadcast::channel(64);
        Ok(Store {
            inner: Arc::new(Inner {
                conn: Mutex::new(conn),
                capacity: capacity.max(1),
                path,
                arrivals,
            }),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Every stored message, newest first.
    pub fn list(&self) -> Result<Vec<MessageSummary>, Error> {
        let conn = self.conn();
        let mut statement = conn
            .prepare(
                "SELECT id, received_ms, header_from, header_to, subject, length(raw)
                 FROM messages ORDER BY id DESC",
            )
            .map_err(|e| self.error(e))?;
        let rows = statement
            .query_map([], summary_from_row)
            .map_err(|e| self.error(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.error(e))
    }

    /// Every stored message with where the IMAP side files it, newest first.
    pub fn filed(&self) -> Result<Vec<Filed>, Error> {
        let conn = self.conn();
        let mut statement = conn
            .prepare(
                "SELECT id, received_ms, length(raw), placement FROM messages ORDER BY id DESC",
            )
            .map_err(|e| self.error(e))?;
        let rows = statement
            .query_map([], |row| {
                let placement: Option<String> = row.get(3)?;
                Ok(Filed {
                    id: row.get::<_, i64>(0)? as u64,
                    received_unix_ms: row.get::<_, i64>(1)? as u64,
                    size_bytes: row.get::<_, i64>(2)? as u64,
                    placement: placement
                        .and_then(|json| serde_json::from_str(&json).ok())
                        .unwrap_or_default(),
                })
            })
            .map_err(|e| self.error(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.error(e))
    }

    /// The Message-ID of every stored message, newest first, without its angle brackets
    /// (`1234.abc@example.com` for `<1234.abc@example.com>`), duplicates kept: what a test
    /// counts to find a message captured twice. Cheap for thousands of messages, because the
    /// ids are kept beside the messages and no message is parsed. A message without a
    /// Message-ID (the session refuses those) is left out.
    pub fn message_ids(&self) -> Result<Vec<String>, Error> {
        let conn = self.conn();
        let mut statement = conn
            .prepare(
                "SELECT message_id, CASE WHEN message_id IS NULL THEN CAST(raw AS BLOB) END
                 FROM messages ORDER BY id DESC",
            )
            .map_err(|e| self.error(e))?;
        let rows = statement
            .query_map([], |row| {
                let id: Option<String> = row.get(0)?;
                let raw: Option<Vec<u8>> = row.get(1)?;
                Ok(id.or_else(|| raw.as_deref().and_then(message::message_id)))
            })
            .map_err(|e| self.error(e))?;
        let mut ids = Vec::new();
        for id in rows {
            ids.extend(id.map_err(|e| self.error(e))?);
        }
        Ok(ids)
    }

    /// One message, parsed; `None` when there is no such id (never was, or evicted).
    pub fn get(&self, id: u64) -> Result<Option<CapturedMessage>, Error> {
        let row = self
            .conn()
            .query_row(
                "SELECT id, received_ms, header_from, header_to, subject, length(raw),
                        mail_from, rcpt_to, tls_version, auth_mechanism, raw
                 FROM messages WHERE id = ?1",
                [id as i64],
                |row| {
                    Ok((
                        summary_from_row(row)?,
                        row.get::<_, String>(6)?,
                        row.get::<_, String>(7)?,
                        row.get::<_, Option<String>>(8)?,
                        row.get::<_, Option<String>>(9)?,
                        row.get::<_, Vec<u8>>(10)?,
                    ))
                },
            )
            .optional()
            .map_err(|e| self.error(e))?;
        let Some((summary, mail_from, rcpt_to, tls_version, auth_mechanism, raw)) = row else {
            return Ok(None);
        };
        let parsed = message::parse(&raw);
        Ok(Some(CapturedMessage {
            summary,
            envelope: Envelope {
                mail_from,
                rcpt_to: serde_json::from_str(&rcpt_to).unwrap_or_default(),
            },
            tls_version,
            auth_mechanism,
            headers: parsed.headers,
            text: parsed.text,
            html: parsed.html,
            attachments: parsed.attachments,
            raw: String::from_utf8_lossy(&raw).into_owned(),
        }))
    }

    /// The exact bytes received after DATA (dot-unstuffed) or in BDAT chunks (as sent), for
    /// "show original" and downloads.
    pub fn raw(&self, id: u64) -> Result<Option<Vec<u8>>, Error> {
        self.conn()
            .query_row(
                "SELECT raw FROM messages WHERE id = ?1",
                [id as i64],
                |row| row.get(0),
            )
            .optional()
            .map_err(|e| self.error(e))
    }

    /// How many messages are stored.
    pub fn count(&self) -> Result<usize, Error> {
        self.conn()
            .query_row("SELECT count(*) FROM messages", [], |row| {
                row.get::<_, i64>(0)
            })
            .map(|n| n as usize)
            .map_err(|e| self.error(e))
    }

    /// Deletes one message; `false` when there was none. The quota still counts it.
    pub fn delete(&self, id: u64) -> Result<bool, Error> {
        self.conn()
            .execute("DELETE FROM messages WHERE id = ?1", [id as i64])
            .map(|n| n > 0)
            .map_err(|e| self.error(e))
    }

    /// Empties the inbox. The quota still counts what was sent, as Gmail's would.
    pub fn clear(&self) -> Result<(), Error> {
        self.conn()
            .execute("DELETE FROM messages", [])
            .map(drop)
            .map_err(|e| self.error(e))
    }

    /// Messages accepted since `since_unix_ms`, deleted or evicted ones included: what the
    /// daily limit counts.
    pub fn sent_since(&self, since_unix_ms: u64) -> Result<u64, Error> {
        self.conn()
            .query_row(
                "SELECT count(*) FROM sends WHERE received_ms >= ?1",
                [since_unix_ms as i64],
                |row| row.get::<_, i64>(0),
            )
            .map(|n| n as u64)
            .map_err(|e| self.error(e))
    }

    /// A stream of every message accepted from now on. A receiver that falls more than 64
    /// messages behind gets `RecvError::Lagged` and should re-read [`Store::list`].
    pub fn subscribe(&self) -> broadcast::Receiver<MessageSummary> {
        self.inner.arrivals.subscribe()
    }

    #[cfg(test)]
    pub(crate) fn insert(&self, new: NewMessage) -> Result<MessageSummary, Error> {
        self.insert_at(new, now_ms(), None)?
            .ok_or_else(|| self.error(rusqlite::Error::QueryReturnedNoRows))
    }

    /// Stores the message unless `daily_limit` sends were counted in the last 24 hours;
    /// `None` then. The count and the insert are one transaction, so sessions committing at
    /// the same moment cannot pass the limit together.
    pub(crate) fn insert_within(
        &self,
        new: NewMessage,
        daily_limit: Option<u64>,
    ) -> Result<Option<MessageSummary>, Error> {
        self.insert_at(new, now_ms(), daily_limit)
    }

    fn insert_at(
        &self,
        new: NewMessage,
        received_ms: u64,
        daily_limit: Option<u64>,
    ) -> Result<Option<MessageSummary>, Error> {
        let (header_from, header_to, subject) = message::summary_fields(&new.raw);
        let message_id = message::message_id(&new.raw);
        let from = header_from.unwrap_or_else(|| new.envelope.mail_from.clone());
        let to = if header_to.is_empty() {
            new.envelope.rcpt_to.clone()
        } else {
            header_to
        };
        let to_json = serde_json::to_string(&to).unwrap_or_else(|_| "[]".to_owned());
        let rcpt_json =
            serde_json::to_string(&new.envelope.rcpt_to).unwrap_or_else(|_| "[]".to_owned());
        let mut conn = self.conn();
        let tx = conn.transaction().map_err(|e| self.error(e))?;
        if let Some(limit) = daily_limit {
            let sent: i64 = tx
                .query_row(
                    "SELECT count(*) FROM sends WHERE received_ms >= ?1",
                    [received_ms.saturating_sub(DAY_MS) as i64],
                    |row| row.get(0),
                )
                .map_err(|e| self.error(e))?;
            if sent as u64 >= limit {
                return Ok(None);
            }
        }
        tx.execute(
            "INSERT INTO messages (received_ms, header_from, header_to, subject, mail_from,
                                   rcpt_to, tls_version, auth_mechanism, raw, message_id,
                                   placement)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            params![
                received_ms as i64,
                from,
                to_json,
                subject,
                new.envelope.mail_from,
                rcpt_json,
                new.tls_version,
                new.auth_mechanism,
                new.raw,
                message_id,
                serde_json::to_string(&new.placement).ok(),
            ],
        )
        .map_err(|e| self.error(e))?;
        let id = tx.last_insert_rowid() as u64;
        // Ids only grow (AUTOINCREMENT), so the oldest beyond the capacity are those at or
        // below this one: a range on the key, not a pass over everything kept.
        tx.execute(
            "DELETE FROM messages WHERE id <= ?1",
            [id as i64 - self.inner.capacity as i64],
        )
        .map_err(|e| self.error(e))?;
        if new.counts_as_send {
            tx.execute(
                "INSERT INTO sends (received_ms) VALUES (?1)",
                [received_ms as i64],
            )
            .map_err(|e| self.error(e))?;
        }
        tx.execute(
            "DELETE FROM sends WHERE received_ms < ?1",
            [received_ms.saturating_sub(DAY_MS) as i64],
        )
        .map_err(|e| self.error(e))?;
        tx.commit().map_err(|e| self.error(e))?;
        drop(conn);
        let summary = MessageSummary {
            id,
            received_unix_ms: received_ms,
            from,
            to,
            subject,
            size_bytes: new.raw.len() as u64,
        };
        // Nobody listening is normal (no inbox open), not an error.
        let _ = self.inner.arrivals.send(summary.clone());
        Ok(Some(summary))
    }

    fn conn(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock leaves SQLite consistent (every write is a
        // transaction), so a poisoned lock is safe to keep using.
        self.inner
            .conn
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn error(&self, source: rusqlite::Error) -> Error {
        Error::Store {
            path: self.inner.path.clone(),
            source,
        }
    }
}

fn summary_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<MessageSummary> {
    let to: String = row.get(3)?;
    Ok(MessageSummary {
        id: row.get::<_, i64>(0)? as u64,
        received_unix_ms: row.get::<_, i64>(1)? as u64,
        from: row.get(2)?,
        to: serde_json::from_str(&to).unwrap_or_default(),
        subject: row.get(4)?,
        size_bytes: row.get::<_, i64>(5)? as u64,
    })
}

pub(crate) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_store(name: &str, capacity: usize) -> (Store, PathBuf) {
        let dir = std::env::temp_dir().join(format!(
            "sandbox-store-{name}-{}-{}",
            std::process::id(),
            now_ms()
        ));
        std::fs::create_dir_all(&dir).expect("create temp dir");
        let store = Store::open(dir.join("messages.sqlite3"), capacity).expect("open store");
        (store, dir)
    }

    fn new_message(subject: &str) -> NewMessage {
        NewMessage {
            envelope: Envelope {
                mail_from: "ann@example.com".into(),
                rcpt_to: vec!["bob@example.com".into(), "hidden@example.com".into()],
            },
            raw: format!(
                "From: Ann <ann@example.com>\r\nTo: bob@example.com\r\nSubject: {subject}\r\n\
                 Message-ID: <{subject}@x>\r\n\r\nbody\r\n"
            )
            .into_bytes(),
            tls_version: Some("TLSv1.3".into()),
            auth_mechanism: Some("PLAIN".into()),
            placement: Placement::default(),
            counts_as_send: true,
        }
    }

    #[test]
    fn oldest_messages_are_evicted_but_still_count_for_the_quota() {
        let (store, dir) = temp_store("evict", 2);
        for subject in ["one", "two", "three"] {
            store.insert(new_message(subject)).expect("insert");
        }
        let subjects: Vec<_> = store
            .list()
            .expect("list")
            .into_iter()
            .map(|s| s.subject)
            .collect();
        assert_eq!(subjects, ["three", "two"]);
        assert_eq!(store.sent_since(0).expect("count"), 3);
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn message_ids_are_listed_with_duplicates_and_stay_bounded() {
        let (store, dir) = temp_store("ids", 3);
        for subject in ["one", "two", "two", "three"] {
            store.insert(new_message(subject)).expect("insert");
        }
        assert_eq!(
            store.message_ids().expect("ids"),
            ["three@x", "two@x", "two@x"],
            "newest first, the evicted one gone"
        );
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn a_store_from_before_message_ids_gets_them_from_the_messages() {
        let dir = std::env::temp_dir().join(format!(
            "sandbox-store-old-{}-{}",
            std::process::id(),
            now_ms()
        ));
        std::fs::create_dir_all(&dir).expect("create temp dir");
        let path = dir.join("messages.sqlite3");
        {
            let old = Connection::open(&path).expect("open");
            old.execute_batch(
                "CREATE TABLE messages (
                     id INTEGER PRIMARY KEY AUTOINCREMENT, received_ms INTEGER NOT NULL,
                     header_from TEXT NOT NULL, header_to TEXT NOT NULL, subject TEXT NOT NULL,
                     mail_from TEXT NOT NULL, rcpt_to TEXT NOT NULL, tls_version TEXT,
                     auth_mechanism TEXT, raw BLOB NOT NULL);
                 INSERT INTO messages (received_ms, header_from, header_to, subject, mail_from,
                                       rcpt_to, raw)
                 VALUES (1, 'a', '[]', 's', 'a', '[]', 'Message-ID: <old@x>

hi');",
            )
            .expect("an old store");
        }
        let store = Store::open(&path, 10).expect("reopen");
        store.insert(new_message("new")).expect("insert");
        assert_eq!(store.message_ids().expect("ids"), ["new@x", "old@x"]);
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn the_quota_window_rolls() {
        let (store, dir) = temp_store("window", 10);
        let now = now_ms();
        store
            .insert_at(new_message("old"), now - DAY_MS - 1, None)
            .expect("insert old");
        store
            .insert_at(new_message("recent"), now - 1000, None)
            .expect("insert recent");
        assert_eq!(store.sent_since(now - DAY_MS).expect("count"), 1);
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn a_message_past_the_daily_limit_is_not_stored() {
        let (store, dir) = temp_store("limit", 10);
        for n in 0..2 {
            let kept = store
                .insert_within(new_message(&format!("m{n}")), Some(2))
                .expect("insert");
            assert!(kept.is_some(), "message {n} is within the limit");
        }
        let third = store
            .insert_within(new_message("m2"), Some(2))
            .expect("insert");
        assert_eq!(third, None);
        assert_eq!(store.message_ids().expect("ids").len(), 2);
        assert!(
            store
                .insert_within(new_message("m3"), None)
                .expect("insert")
                .is_some()
        );
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn summary_and_envelope_round_trip_through_json() {
        let (store, dir) = temp_store("json", 10);
        let mut arrivals = store.subscribe();
        let summary = store.insert(new_message("hello")).expect("insert");
        assert_eq!(arrivals.try_recv().expect("notified"), summary);
        assert_eq!(summary.from, "Ann <ann@example.com>");
        assert_eq!(summary.to, ["bob@example.com"]);
        let message = store.get(summary.id).expect("get").expect("exists");
        assert_eq!(message.envelope.rcpt_to.len(), 2);
        let json = serde_json::to_value(&message).expect("serialize");
        assert_eq!(
            json["summary"]["received_unix_ms"],
            summary.received_unix_ms
        );
        assert_eq!(json["envelope"]["mail_from"], "ann@example.com");
        let back: CapturedMessage = serde_json::from_value(json).expect("deserialize");
        assert_eq!(back, message);
        let attachment = Attachment {
            filename: Some("a.txt".into()),
            content_type: "text/plain".into(),
            size_bytes: 2,
            content: b"hi".to_vec(),
        };
        let json = serde_json::to_value(&attachment).expect("serialize");
        assert_eq!(json["content_base64"], "aGk=");
        assert!(store.delete(summary.id).expect("delete"));
        assert_eq!(store.get(summary.id).expect("get"), None);
        let _ = std::fs::remove_dir_all(dir);
    }
}
