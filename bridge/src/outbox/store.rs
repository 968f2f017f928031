//! The outbox's SQLite file: entries and their recipients, message bodies, the ledger of what
//! each account sent, and accounts paused by their server. WAL mode, so an entry committed
//! before its first byte goes out survives a crash of the process, and so other mailbridge
//! processes (a CLI `send --no-wait`) can enqueue while a `serve` delivers.
//!
//! **Invariant:** a file that cannot be read as an outbox is reported, never rewritten: no
//! schema statement runs until the file has been read as this outbox or found empty.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use diagnosis::Diagnosis;
use protocol::{
    EntryState, OutboxEntry, RecipientResult, RecipientState, StateCounts, TranscriptLine,
};
use rusqlite::config::DbConfig;
use rusqlite::{Connection, ErrorCode, OptionalExtension as _, Row, params};

use super::scheduler::DAY_MS;

/// The schema this code writes.
const SCHEMA_VERSION: i64 = 1;
/// SQLite's `application_id`, so another program's database is never taken for an outbox.
const APPLICATION_ID: i64 = 0x6d62_6f78; // "mbox"

/// How much the outbox may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bounds {
    /// Entries not yet sent, failed or cancelled.
    pub max_entries: u64,
    /// Bytes of message content kept for those entries.
    pub max_bytes: u64,
}

impl Default for Bounds {
    fn default() -> Bounds {
        Bounds {
            max_entries: 100_000,
            max_bytes: 2_000_000_000,
        }
    }
}

/// Why the outbox could not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(
        "the outbox database {} is damaged or is not a mailbridge outbox ({detail}); it was left as it is. Move it aside to start an empty outbox",
        path.display()
    )]
    Corrupt { path: PathBuf, detail: String },
    #[error(
        "the outbox database {} is locked by another program; close that program (an sqlite3 shell, a backup tool) and try again",
        path.display()
    )]
    Locked { path: PathBuf },
    #[error(
        "the outbox database {} was written by a newer mailbridge (schema {found}); update mailbridge",
        path.display()
    )]
    Newer { path: PathBuf, found: i64 },
    #[error(
        "the outbox is full: {detail}; nothing was queued. Wait for it to drain, or cancel entries"
    )]
    Full { detail: String },
    #[error("the outbox database {}: {detail}", path.display())]
    Sqlite { path: PathBuf, detail: String },
    #[error("cannot create {}: {detail}", path.display())]
    Io { path: PathBuf, detail: String },
}

/// A message to queue.
#[derive(Debug, Clone)]
pub struct NewEntry {
    pub profile_id: String,
    pub profile_name: String,
    pub account: String,
    pub message_id: String,
    pub subject: String,
    pub mail_from: String,
    pub recipients: Vec<String>,
    pub data: Vec<u8>,
}

/// An entry taken for sending: `state` is `sending` in the file until [`OutboxStore::finish`].
#[derive(Debug, Clone)]
pub struct Claimed {
    pub id: u64,
    pub profile_id: String,
    pub mail_from: String,
    /// `(position, address)` of the recipients this transaction carries.
    pub recipients: Vec<(u32, String)>,
    /// All the entry's pending recipients, this transaction's and any beyond it.
    pub pending_total: usize,
    /// Recipients accepted by earlier transactions.
    pub accepted_before: usize,
    pub data: Vec<u8>,
    pub attempts: u32,
    pub queued_ms: u64,
    pub keep_transcript: bool,
}

/// What an attempt did, for [`OutboxStore::finish`].
#[derive(Debug, Clone)]
pub struct Finished {
    pub state: EntryState,
    pub next_attempt_ms: Option<u64>,
    /// Whether the attempt counts (a stale pooled connection's does not).
    pub counted: bool,
    /// New states for recipients, by position, with the reply that decided each.
    pub recipients: Vec<(u32, RecipientState, Option<String>)>,
    pub last_reply: Option<String>,
    pub diagnosis: Option<Diagnosis>,
    pub transcript: Option<Vec<TranscriptLine>>,
    /// The server accepted the message for this many recipients: one message in the ledger.
    pub accepted: Vec<String>,
}

/// The outbox file. Calls block on SQLite; each is short.
#[derive(Debug)]
pub struct OutboxStore {
    path: PathBuf,
    connection: Connection,
    bounds: Bounds,
}

impl OutboxStore {
    /// Opens (or creates) the outbox at `path`.
    pub fn open(path: impl Into<PathBuf>, bounds: Bounds) -> Result<OutboxStore, StoreError> {
        let path = path.into();
        if let Some(dir) = path.parent().filter(|dir| !dir.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|error| StoreError::Io {
                path: dir.to_owned(),
                detail: error.to_string(),
            })?;
        }
        let connection = Connection::open(&path).map_err(|error| classify(&path, error))?;
        connection
            .busy_timeout(Duration::from_secs(5))
            .map_err(|error| classify(&path, error))?;
        // Every statement the deliverer runs stays prepared: with rusqlite's default of 16,
        // the dispatcher's and the page's queries pushed the hot ones out, to be parsed again.
        connection.set_prepared_statement_cache_capacity(64);
        // SQLite built with STAT4 (rusqlite's bundled one is) marks a statement for
        // re-preparing whenever a bound value could change its plan, which had the claim's
        // queries parsed again at every step; the plans here do not depend on the values.
        connection
            .set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)
            .map_err(|error| classify(&path, error))?;
        let mut store = OutboxStore {
            path,
            connection,
            bounds,
        };
        store.prepare()?;
        Ok(store)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn err(&self) -> impl Fn(rusqlite::Error) -> StoreError + '_ {
        |error| classify(&self.path, error)
    }

    fn prepare(&mut self) -> Result<(), StoreError> {
        let path = self.path.clone();
        // Reading the header first: a damaged file or another program's database fails here,
        // before anything could write to it.
        let read = |sql: &str| -> Result<i64, StoreError> {
            self.connection
                .query_row(sql, [], |row| row.get(0))
                .map_err(|error| classify(&path, error))
        };
        let application = read("PRAGMA application_id")?;
        let version = read("PRAGMA user_version")?;
        let tables = read("SELECT count(*) FROM sqlite_master")?;
        if application != APPLICATION_ID && tables > 0 {
            return Err(StoreError::Corrupt {
                path,
                detail: "it holds tables of another program".to_owned(),
            });
        }
        if version > SCHEMA_VERSION {
            return Err(StoreError::Newer {
                path,
                found: version,
            });
        }
        let check: String = self
            .connection
            .query_row("PRAGMA quick_check", [], |row| row.get(0))
            .map_err(self.err())?;
        if check != "ok" {
            return Err(StoreError::Corrupt {
                path,
                detail: check,
            });
        }
        self.connection
            .execute_batch(&format!(
                "PRAGMA journal_mode = WAL;
                 PRAGMA synchronous = NORMAL;
                 PRAGMA wal_autocheckpoint = 8192;
                 PRAGMA application_id = {APPLICATION_ID};
                 CREATE TABLE IF NOT EXISTS batches (
                     id INTEGER PRIMARY KEY,
                     created_ms INTEGER NOT NULL
                 );
                 CREATE TABLE IF NOT EXISTS entries (
                     id INTEGER PRIMARY KEY,
                     batch INTEGER NOT NULL,
                     profile_id TEXT NOT NULL,
                     profile_name TEXT NOT NULL,
                     account TEXT NOT NULL,
                     state TEXT NOT NULL,
                     message_id TEXT NOT NULL,
                     subject TEXT NOT NULL,
                     mail_from TEXT NOT NULL,
                     size INTEGER NOT NULL,
                     queued_ms INTEGER NOT NULL,
                     updated_ms INTEGER NOT NULL,
                     next_ms INTEGER,
                     attempts INTEGER NOT NULL DEFAULT 0,
                     last_reply TEXT,
                     diagnosis TEXT,
                     transcript TEXT,
                     keep_transcript INTEGER NOT NULL DEFAULT 0
                 );
                 CREATE INDEX IF NOT EXISTS entries_due ON entries (account, next_ms, id)
                     WHERE state IN ('queued', 'deferred');
                 -- No index on state alone: every change of state would rewrite it, three
                 -- times a message, and the lists by state are rare and may scan.
                 DROP INDEX IF EXISTS entries_state;
                 -- Content apart from the entry, so that listing never reads it; dropped once
                 -- the entry is final.
                 CREATE TABLE IF NOT EXISTS bodies (
                     entry INTEGER PRIMARY KEY,
                     data BLOB NOT NULL
                 );
                 CREATE TABLE IF NOT EXISTS recipients (
                     entry INTEGER NOT NULL,
                     pos INTEGER NOT NULL,
                     address TEXT NOT NULL,
                     state TEXT NOT NULL,
                     reply TEXT,
                     PRIMARY KEY (entry, pos)
                 ) WITHOUT ROWID;
                 -- One row per message a server accepted, written from its 250.
                 CREATE TABLE IF NOT EXISTS ledger (
                     account TEXT NOT NULL,
                     at_ms INTEGER NOT NULL,
                     entry INTEGER NOT NULL,
                     recipients INTEGER NOT NULL
                 );
                 CREATE INDEX IF NOT EXISTS ledger_time ON ledger (account, at_ms);
                 CREATE TABLE IF NOT EXISTS ledger_rcpt (
                     account TEXT NOT NULL,
                     at_ms INTEGER NOT NULL,
                     address TEXT NOT NULL
                 );
                 CREATE INDEX IF NOT EXISTS ledger_rcpt_time ON ledger_rcpt (account, at_ms);
                 -- A campaign is a batch with a name, its list's rows and a state; a paused
                 -- campaign's entries are not taken.
                 CREATE TABLE IF NOT EXISTS campaigns (
                     id INTEGER PRIMARY KEY,
                     batch INTEGER NOT NULL UNIQUE,
                     name TEXT NOT NULL,
                     profile_id TEXT NOT NULL,
                     state TEXT NOT NULL,
                     created_ms INTEGER NOT NULL
                 );
                 CREATE TABLE IF NOT EXISTS campaign_rows (
                     campaign INTEGER NOT NULL,
                     row INTEGER NOT NULL,
                     entry INTEGER NOT NULL,
                     address TEXT NOT NULL,
                     PRIMARY KEY (campaign, row)
                 ) WITHOUT ROWID;
                 CREATE TABLE IF NOT EXISTS pauses (
                     account TEXT PRIMARY KEY,
                     until_ms INTEGER NOT NULL,
                     reason TEXT NOT NULL
                 );
                 PRAGMA user_version = {SCHEMA_VERSION};"
            ))
            .map_err(self.err())
    }

    /// Queues `entries` as one batch, all or nothing, within the bounds.
    pub fn enqueue(
        &mut self,
        entries: &[NewEntry],
        now_ms: u64,
        hold_ms: u64,
    ) -> Result<(u64, Vec<u64>), StoreError> {
        let (batch, ids, _) = self.enqueue_with(entries, now_ms, hold_ms, None)?;
        Ok((batch, ids))
    }

    /// Queues `entries` as one batch and, with `campaign`, records the batch as that campaign
    /// in the same transaction, so a crash leaves both or neither. Returns the batch, the
    /// entries and the campaign's id.
    pub fn enqueue_with(
        &mut self,
        entries: &[NewEntry],
        now_ms: u64,
        hold_ms: u64,
        campaign: Option<NewCampaign<'_>>,
    ) -> Result<(u64, Vec<u64>, Option<u64>), StoreError> {
        let path = self.path.clone();
        let err = |error| classify(&path, error);
        let bounds = self.bounds;
        let tx = self.connection.transaction().map_err(err)?;
        let (count, bytes): (i64, i64) = tx
            .query_row(
                "SELECT count(*) FILTER (WHERE state != 'failed'), coalesce(sum(size), 0)
                 FROM entries WHERE state NOT IN ('sent', 'cancelled')",
                [],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .map_err(err)?;
        let adding = entries.len() as u64;
        let adding_bytes: u64 = entries.iter().map(|entry| entry.data.len() as u64).sum();
        if count as u64 + adding > bounds.max_entries {
            return Err(StoreError::Full {
                detail: format!(
                    "it holds {count} unsent entries, and {adding} more would pass its limit of {}",
                    bounds.max_entries
                ),
            });
        }
        if bytes as u64 + adding_bytes > bounds.max_bytes {
            return Err(StoreError::Full {
                detail: format!(
                    "it holds {bytes} bytes of messages, and {adding_bytes} more would pass its limit of {}",
                    bounds.max_bytes
                ),
            });
        }
        tx.execute(
            "INSERT INTO batches (created_ms) VALUES (?1)",
            [now_ms as i64],
        )
        .map_err(err)?;
        let batch = tx.last_insert_rowid();
        let mut ids = Vec::with_capacity(entries.len());
        {
            let mut insert = tx
                .prepare_cached(
                    "INSERT INTO entries (batch, profile_id, profile_name, account, state,
                         message_id, subject, mail_from, size, queued_ms, updated_ms, next_ms)
                     VALUES (?1, ?2, ?3, ?4, 'queued', ?5, ?6, ?7, ?8, ?9, ?9, ?10)",
                )
                .map_err(err)?;
            let mut body = tx
                .prepare_cached("INSERT INTO bodies (entry, data) VALUES (?1, ?2)")
                .map_err(err)?;
            let mut rcpt = tx
                .prepare_cached(
                    "INSERT INTO recipients (entry, pos, address, state)
                     VALUES (?1, ?2, ?3, 'pending')",
                )
                .map_err(err)?;
            for entry in entries {
                insert
                    .execute(params![
                        batch,
                        entry.profile_id,
                        entry.profile_name,
                        entry.account,
                        entry.message_id,
                        entry.subject,
                        entry.mail_from,
                        entry.data.len() as i64,
                        now_ms as i64,
                        now_ms.saturating_add(hold_ms) as i64,
                    ])
                    .map_err(err)?;
                let id = tx.last_insert_rowid();
                body.execute(params![id, entry.data]).map_err(err)?;
                for (pos, address) in entry.recipients.iter().enumerate() {
                    rcpt.execute(params![id, pos as i64, address])
                        .map_err(err)?;
                }
                ids.push(id as u64);
            }
        }
        let campaign_id = match campaign {
            None => None,
            Some(campaign) => {
                tx.execute(
                    "INSERT INTO campaigns (batch, name, profile_id, state, created_ms)
                     VALUES (?1, ?2, ?3, 'running', ?4)",
                    params![batch, campaign.name, campaign.profile_id, now_ms as i64],
                )
                .map_err(err)?;
                let id = tx.last_insert_rowid();
                let mut insert = tx
                    .prepare_cached(
                        "INSERT INTO campaign_rows (campaign, row, entry, address)
                         VALUES (?1, ?2, ?3, ?4)",
                    )
                    .map_err(err)?;
                for ((row, entry_id), entry) in campaign.rows.iter().zip(&ids).zip(entries) {
                    let address = entry.recipients.first().map(String::as_str).unwrap_or("");
                    insert
                        .execute(params![id, *row as i64, *entry_id as i64, address])
                        .map_err(err)?;
                }
                Some(id as u64)
            }
        };
        tx.commit().map_err(err)?;
        Ok((batch as u64, ids, campaign_id))
    }

    /// After a deliverer takes the outbox over: entries left `sending` go back to the queue,
    /// entries left `body_sent` become ambiguous. Returns how many of each.
    pub fn recover(&mut self, now_ms: u64) -> Result<(u64, u64), StoreError> {
        let path = self.path.clone();
        let err = |error| classify(&path, error);
        // One transaction: a second recovery after a crash in the middle of this one would
        // otherwise count the same messages twice.
        let tx = self.connection.transaction().map_err(err)?;
        let requeued = tx
            .execute(
                "UPDATE entries SET state = 'queued', updated_ms = ?1 WHERE state = 'sending'",
                [now_ms as i64],
            )
            .map_err(err)?;
        // A message whose end went out may have been delivered, and its ledger row may not
        // have been written (a sent message's record waits for the next one's commit): it
        // counts against the account's daily quota, so no later send can pass the limit.
        tx.execute(
            "INSERT INTO ledger_rcpt (account, at_ms, address)
                     SELECT e.account, ?1, lower(r.address)
                     FROM entries e JOIN recipients r ON r.entry = e.id
                     WHERE e.state = 'body_sent' AND r.state = 'pending'
                     AND NOT EXISTS (SELECT 1 FROM ledger l WHERE l.entry = e.id)",
            [now_ms as i64],
        )
        .map_err(err)?;
        tx.execute(
            "INSERT INTO ledger (account, at_ms, entry, recipients)
                     SELECT e.account, ?1, e.id,
                         (SELECT count(*) FROM recipients r
                          WHERE r.entry = e.id AND r.state = 'pending')
                     FROM entries e WHERE e.state = 'body_sent'
                     AND NOT EXISTS (SELECT 1 FROM ledger l WHERE l.entry = e.id)",
            [now_ms as i64],
        )
        .map_err(err)?;
        let ambiguous = tx
            .execute(
                "UPDATE entries SET state = 'ambiguous', updated_ms = ?1, next_ms = NULL,
                     last_reply = 'mailbridge stopped after the message went and before the \
                     server''s reply was recorded'
                 WHERE state = 'body_sent'",
                [now_ms as i64],
            )
            .map_err(err)?;
        tx.commit().map_err(err)?;
        Ok((requeued as u64, ambiguous as u64))
    }

    /// The accounts with entries due by `now_ms`, each with a profile that sends as it and how
    /// many are due.
    pub fn due_accounts(&self, now_ms: u64) -> Result<Vec<(String, String, u64)>, StoreError> {
        let mut statement = self
            .connection
            .prepare_cached(
                "SELECT account, min(profile_id), count(*) FROM entries
                 WHERE state IN ('queued', 'deferred') AND next_ms <= ?1
                 AND batch NOT IN (SELECT batch FROM campaigns WHERE state = 'paused')
                 GROUP BY account",
            )
            .map_err(self.err())?;
        let rows = statement
            .query_map([now_ms as i64], |row| {
                Ok((row.get(0)?, row.get(1)?, row.get::<_, i64>(2)? as u64))
            })
            .map_err(self.err())?;
        rows.collect::<Result<_, _>>().map_err(self.err())
    }

    /// A number that changes whenever another connection (another process) commits to the
    /// file, and only then (SQLite's `PRAGMA data_version`).
    pub fn data_version(&self) -> Result<i64, StoreError> {
        self.connection
            .prepare_cached("PRAGMA data_version")
            .and_then(|mut version| version.query_row([], |row| row.get(0)))
            .map_err(self.err())
    }

    /// When the next queued or deferred entry falls due, if any is waiting.
    pub fn next_due_ms(&self) -> Result<Option<u64>, StoreError> {
        self.connection
            .query_row(
                "SELECT min(next_ms) FROM entries WHERE state IN ('queued', 'deferred')
                 AND batch NOT IN (SELECT batch FROM campaigns WHERE state = 'paused')",
                [],
                |row| row.get::<_, Option<i64>>(0),
            )
            .map(|at| at.map(|at| at.max(0) as u64))
            .map_err(self.err())
    }

    /// When each account's next queued or deferred entry falls due.
    pub fn next_due_by_account(&self) -> Result<Vec<(String, u64)>, StoreError> {
        let mut statement = self
            .connection
            .prepare_cached(
                "SELECT account, min(next_ms) FROM entries
                 WHERE state IN ('queued', 'deferred') AND batch NOT IN (SELECT batch FROM campaigns WHERE state = 'paused') GROUP BY account",
            )
            .map_err(self.err())?;
        let rows = statement
            .query_map([], |row| {
                Ok((row.get(0)?, row.get::<_, i64>(1)?.max(0) as u64))
            })
            .map_err(self.err())?;
        rows.collect::<Result<_, _>>().map_err(self.err())
    }

    /// Takes the account's next due entry for sending, with at most `max_recipients` of its
    /// pending recipients, and marks it `sending`.
    pub fn claim(
        &mut self,
        account: &str,
        now_ms: u64,
        max_recipients: usize,
    ) -> Result<Option<Claimed>, StoreError> {
        Ok(self
            .claim_many(account, now_ms, max_recipients, 1)?
            .into_iter()
            .next())
    }

    /// Takes up to `limit` of the account's due entries in one transaction, oldest due first,
    /// each marked `sending`: a worker's next few messages for one commit instead of several.
    pub fn claim_many(
        &mut self,
        account: &str,
        now_ms: u64,
        max_recipients: usize,
        limit: usize,
    ) -> Result<Vec<Claimed>, StoreError> {
        let path = self.path.clone();
        let err = |error| classify(&path, error);
        let tx = self.connection.transaction().map_err(err)?;
        let rows = {
            let mut select = tx
                .prepare_cached(
                    "SELECT id, profile_id, mail_from, attempts, queued_ms, keep_transcript
                     FROM entries
                     WHERE account = ?1 AND state IN ('queued', 'deferred') AND next_ms <= ?2
                     AND batch NOT IN (SELECT batch FROM campaigns WHERE state = 'paused')
                     ORDER BY next_ms, id LIMIT ?3",
                )
                .map_err(err)?;
            let rows = select
                .query_map(
                    params![account, now_ms as i64, limit.max(1) as i64],
                    |row| {
                        Ok((
                            row.get::<_, i64>(0)?,
                            row.get::<_, String>(1)?,
                            row.get::<_, String>(2)?,
                            row.get::<_, u32>(3)?,
                            row.get::<_, i64>(4)?,
                            row.get::<_, bool>(5)?,
                        ))
                    },
                )
                .map_err(err)?;
            rows.collect::<Result<Vec<_>, _>>().map_err(err)?
        };
        let mut claimed = Vec::with_capacity(rows.len());
        for (id, profile_id, mail_from, attempts, queued_ms, keep_transcript) in rows {
            tx.prepare_cached(
                "UPDATE entries SET state = 'sending', updated_ms = ?2 WHERE id = ?1",
            )
            .and_then(|mut update| update.execute(params![id, now_ms as i64]))
            .map_err(err)?;
            let recipients = {
                let mut statement = tx
                    .prepare_cached(
                        "SELECT pos, address FROM recipients
                         WHERE entry = ?1 AND state = 'pending' ORDER BY pos LIMIT ?2",
                    )
                    .map_err(err)?;
                let rows = statement
                    .query_map(params![id, max_recipients.max(1) as i64], |row| {
                        Ok((row.get(0)?, row.get(1)?))
                    })
                    .map_err(err)?;
                rows.collect::<Result<Vec<_>, _>>().map_err(err)?
            };
            let (pending_total, accepted_before): (i64, i64) = tx
                .prepare_cached(
                    "SELECT count(*) FILTER (WHERE state = 'pending'),
                            count(*) FILTER (WHERE state = 'accepted')
                     FROM recipients WHERE entry = ?1",
                )
                .and_then(|mut count| count.query_row([id], |row| Ok((row.get(0)?, row.get(1)?))))
                .map_err(err)?;
            let data: Vec<u8> = tx
                .prepare_cached("SELECT data FROM bodies WHERE entry = ?1")
                .and_then(|mut body| body.query_row([id], |row| row.get(0)).optional())
                .map_err(err)?
                .unwrap_or_default();
            claimed.push(Claimed {
                id: id as u64,
                profile_id,
                mail_from,
                recipients,
                pending_total: pending_total as usize,
                accepted_before: accepted_before as usize,
                data,
                attempts,
                queued_ms: queued_ms.max(0) as u64,
                keep_transcript,
            });
        }
        tx.commit().map_err(err)?;
        Ok(claimed)
    }

    /// Puts entries taken for sending but not sent back in the queue, due at once, with no
    /// attempt counted.
    pub fn release(&mut self, ids: &[u64], now_ms: u64) -> Result<(), StoreError> {
        let path = self.path.clone();
        let err = |error| classify(&path, error);
        let tx = self.connection.transaction().map_err(err)?;
        for id in ids {
            tx.prepare_cached(
                "UPDATE entries SET state = 'queued', next_ms = ?2, updated_ms = ?2
                 WHERE id = ?1 AND state = 'sending'",
            )
            .and_then(|mut update| update.execute(params![*id as i64, now_ms as i64]))
            .map_err(err)?;
            // Given back because its campaign was cancelled meanwhile: it is cancelled too.
            let cancelled = tx
                .prepare_cached(
                    "UPDATE entries SET state = 'cancelled', next_ms = NULL, updated_ms = ?2
                     WHERE id = ?1 AND state = 'queued'
                     AND batch IN (SELECT batch FROM campaigns WHERE state = 'cancelled')",
                )
                .and_then(|mut update| update.execute(params![*id as i64, now_ms as i64]))
                .map_err(err)?;
            if cancelled > 0 {
                tx.prepare_cached("DELETE FROM bodies WHERE entry = ?1")
                    .and_then(|mut delete| delete.execute([*id as i64]))
                    .map_err(err)?;
            }
        }
        tx.commit().map_err(err)
    }

    /// Claims one given entry (the page's Send of it), if it is still waiting.
    pub fn claim_entry(
        &mut self,
        id: u64,
        now_ms: u64,
        max_recipients: usize,
    ) -> Result<Option<Claimed>, StoreError> {
        let account: Option<String> = self
            .connection
            .query_row(
                "SELECT account FROM entries WHERE id = ?1 AND state IN ('queued', 'deferred')",
                [id as i64],
                |row| row.get(0),
            )
            .optional()
            .map_err(self.err())?;
        let Some(account) = account else {
            return Ok(None);
        };
        // Bring it to the front of its account's queue, then take it.
        self.connection
            .execute("UPDATE entries SET next_ms = 0 WHERE id = ?1", [id as i64])
            .map_err(self.err())?;
        let claimed = self.claim(&account, now_ms, max_recipients)?;
        Ok(claimed.filter(|claimed| claimed.id == id))
    }

    /// Records that the end of the content is about to leave: from here a crash makes the entry
    /// ambiguous instead of queued.
    pub fn mark_body_sent(&mut self, id: u64) -> Result<(), StoreError> {
        self.connection
            .prepare_cached(
                "UPDATE entries SET state = 'body_sent' WHERE id = ?1 AND state = 'sending'",
            )
            .and_then(|mut update| update.execute([id as i64]))
            .map(drop)
            .map_err(self.err())
    }

    /// Writes the outcome of the previous message on a connection and marks the next one's
    /// content as sent, in one transaction: one commit per message instead of two. The
    /// previous message was already "body sent", so if this never commits it is ambiguous,
    /// never sent again.
    pub fn finish_then_mark(
        &mut self,
        previous: &PendingFinish,
        id: u64,
    ) -> Result<(), StoreError> {
        let path = self.path.clone();
        let tx = self
            .connection
            .transaction()
            .map_err(|error| classify(&path, error))?;
        write_finish(
            &tx,
            &path,
            previous.id,
            &previous.account,
            &previous.finished,
            previous.now_ms,
        )?;
        tx.prepare_cached(
            "UPDATE entries SET state = 'body_sent' WHERE id = ?1 AND state = 'sending'",
        )
        .and_then(|mut update| update.execute([id as i64]))
        .map_err(|error| classify(&path, error))?;
        tx.commit().map_err(|error| classify(&path, error))
    }

    /// Writes the outcome of an attempt, with the ledger row of an accepted message, at once.
    pub fn finish(
        &mut self,
        id: u64,
        account: &str,
        finished: &Finished,
        now_ms: u64,
    ) -> Result<(), StoreError> {
        let path = self.path.clone();
        let tx = self
            .connection
            .transaction()
            .map_err(|error| classify(&path, error))?;
        write_finish(&tx, &path, id, account, finished, now_ms)?;
        tx.commit().map_err(|error| classify(&path, error))
    }

    /// Times of the messages counted for `account` since `since_ms`.
    pub fn sent_times(&self, account: &str, since_ms: u64) -> Result<Vec<u64>, StoreError> {
        let mut statement = self
            .connection
            .prepare_cached("SELECT at_ms FROM ledger WHERE account = ?1 AND at_ms > ?2")
            .map_err(self.err())?;
        let rows = statement
            .query_map(params![account, since_ms as i64], |row| {
                row.get::<_, i64>(0)
            })
            .map_err(self.err())?;
        rows.map(|at| at.map(|at| at.max(0) as u64))
            .collect::<Result<_, _>>()
            .map_err(self.err())
    }

    /// (messages, recipients, unique recipients) counted for `account` since `since_ms`.
    pub fn ledger_counts(
        &self,
        account: &str,
        since_ms: u64,
    ) -> Result<(u64, u64, u64), StoreError> {
        let (messages, recipients): (i64, i64) = self
            .connection
            .query_row(
                "SELECT count(*), coalesce(sum(recipients), 0) FROM ledger
                 WHERE account = ?1 AND at_ms > ?2",
                params![account, since_ms as i64],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .map_err(self.err())?;
        let unique: i64 = self
            .connection
            .query_row(
                "SELECT count(DISTINCT address) FROM ledger_rcpt WHERE account = ?1 AND at_ms > ?2",
                params![account, since_ms as i64],
                |row| row.get(0),
            )
            .map_err(self.err())?;
        Ok((messages as u64, recipients as u64, unique as u64))
    }

    /// Messages any account sent since `since_ms`.
    pub fn sent_since(&self, since_ms: u64) -> Result<u64, StoreError> {
        self.connection
            .query_row(
                "SELECT count(*) FROM ledger WHERE at_ms > ?1",
                [since_ms as i64],
                |row| row.get::<_, i64>(0),
            )
            .map(|count| count as u64)
            .map_err(self.err())
    }

    /// Every account the ledger or the queue knows, with the names of its profiles.
    pub fn accounts(&self) -> Result<Vec<(String, Vec<String>)>, StoreError> {
        let mut statement = self
            .connection
            .prepare_cached(
                "SELECT account, group_concat(DISTINCT profile_name) FROM entries GROUP BY account",
            )
            .map_err(self.err())?;
        let rows = statement
            .query_map([], |row| {
                let names: Option<String> = row.get(1)?;
                Ok((
                    row.get::<_, String>(0)?,
                    names
                        .unwrap_or_default()
                        .split(',')
                        .map(str::to_owned)
                        .collect(),
                ))
            })
            .map_err(self.err())?;
        rows.collect::<Result<_, _>>().map_err(self.err())
    }

    /// A profile that sends as `account` (the newest entry's).
    pub fn profile_of_account(&self, account: &str) -> Result<Option<String>, StoreError> {
        self.connection
            .query_row(
                "SELECT profile_id FROM entries WHERE account = ?1 ORDER BY id DESC LIMIT 1",
                [account],
                |row| row.get(0),
            )
            .optional()
            .map_err(self.err())
    }

    /// Entries that are waiting to go, by account.
    pub fn waiting_by_account(&self) -> Result<HashMap<String, u64>, StoreError> {
        let mut statement = self
            .connection
            .prepare_cached(
                "SELECT account, count(*) FROM entries
                 WHERE state IN ('queued', 'deferred', 'sending', 'body_sent') GROUP BY account",
            )
            .map_err(self.err())?;
        let rows = statement
            .query_map([], |row| Ok((row.get(0)?, row.get::<_, i64>(1)? as u64)))
            .map_err(self.err())?;
        rows.collect::<Result<_, _>>().map_err(self.err())
    }

    pub fn pause(&mut self, account: &str, until_ms: u64, reason: &str) -> Result<(), StoreError> {
        self.connection
            .execute(
                "INSERT INTO pauses (account, until_ms, reason) VALUES (?1, ?2, ?3)
                 ON CONFLICT (account) DO UPDATE SET until_ms = ?2, reason = ?3",
                params![account, until_ms as i64, reason],
            )
            .map(drop)
            .map_err(self.err())
    }

    /// Pauses still in force at `now_ms`: account -> (until, reason).
    pub fn pauses(&self, now_ms: u64) -> Result<HashMap<String, (u64, String)>, StoreError> {
        let mut statement = self
            .connection
            .prepare_cached("SELECT account, until_ms, reason FROM pauses WHERE until_ms > ?1")
            .map_err(self.err())?;
        let rows = statement
            .query_map([now_ms as i64], |row| {
                Ok((
                    row.get::<_, String>(0)?,
                    (row.get::<_, i64>(1)?.max(0) as u64, row.get(2)?),
                ))
            })
            .map_err(self.err())?;
        rows.collect::<Result<_, _>>().map_err(self.err())
    }

    pub fn counts(&self) -> Result<StateCounts, StoreError> {
        self.state_counts("SELECT state, count(*) FROM entries GROUP BY state", [])
    }

    /// Entries by state from `sql`, which selects (state, count) rows.
    fn state_counts(
        &self,
        sql: &str,
        params: impl rusqlite::Params,
    ) -> Result<StateCounts, StoreError> {
        let mut statement = self.connection.prepare_cached(sql).map_err(self.err())?;
        let rows = statement
            .query_map(params, |row| {
                Ok((row.get::<_, String>(0)?, row.get::<_, i64>(1)?))
            })
            .map_err(self.err())?;
        let mut counts = StateCounts::default();
        for row in rows {
            let (state, count) = row.map_err(self.err())?;
            if let Some(state) = EntryState::parse(&state) {
                *counts.slot(state) = count as u64;
            }
        }
        Ok(counts)
    }

    /// The newest `limit` entries, only those in `state` when given, without transcripts.
    pub fn list(
        &self,
        state: Option<EntryState>,
        limit: usize,
    ) -> Result<Vec<OutboxEntry>, StoreError> {
        let mut statement = self
            .connection
            .prepare_cached(&format!(
                "SELECT {COLUMNS} FROM entries WHERE (?1 IS NULL OR state = ?1)
                 ORDER BY id DESC LIMIT ?2"
            ))
            .map_err(self.err())?;
        let rows = statement
            .query_map(
                params![state.map(EntryState::as_str), limit as i64],
                read_entry,
            )
            .map_err(self.err())?;
        let mut entries = rows.collect::<Result<Vec<_>, _>>().map_err(self.err())?;
        for entry in &mut entries {
            entry.recipients = self.recipients(entry.id)?;
            entry.transcript.clear();
        }
        Ok(entries)
    }

    pub fn get(&self, id: u64) -> Result<Option<OutboxEntry>, StoreError> {
        let entry = self
            .connection
            .query_row(
                &format!("SELECT {COLUMNS} FROM entries WHERE id = ?1"),
                [id as i64],
                read_entry,
            )
            .optional()
            .map_err(self.err())?;
        let Some(mut entry) = entry else {
            return Ok(None);
        };
        entry.recipients = self.recipients(id)?;
        Ok(Some(entry))
    }

    /// The states of several entries (missing ones left out).
    pub fn states(&self, ids: &[u64]) -> Result<HashMap<u64, EntryState>, StoreError> {
        let mut out = HashMap::new();
        let mut statement = self
            .connection
            .prepare_cached("SELECT state FROM entries WHERE id = ?1")
            .map_err(self.err())?;
        for &id in ids {
            let state: Option<String> = statement
                .query_row([id as i64], |row| row.get(0))
                .optional()
                .map_err(self.err())?;
            if let Some(state) = state.as_deref().and_then(EntryState::parse) {
                out.insert(id, state);
            }
        }
        Ok(out)
    }

    fn recipients(&self, id: u64) -> Result<Vec<RecipientResult>, StoreError> {
        let mut statement = self
            .connection
            .prepare_cached(
                "SELECT address, state, reply FROM recipients WHERE entry = ?1 ORDER BY pos",
            )
            .map_err(self.err())?;
        let rows = statement
            .query_map([id as i64], |row| {
                let state: String = row.get(1)?;
                Ok(RecipientResult {
                    address: row.get(0)?,
                    state: match state.as_str() {
                        "accepted" => RecipientState::Accepted,
                        "refused" => RecipientState::Refused,
                        _ => RecipientState::Pending,
                    },
                    reply: row.get(2)?,
                })
            })
            .map_err(self.err())?;
        rows.collect::<Result<_, _>>().map_err(self.err())
    }

    /// Moves the entries among `ids` that are in one of `from` to `to`, due now; returns the
    /// ids it moved. A move to a final state drops the content.
    pub fn move_entries(
        &mut self,
        ids: &[u64],
        from: &[EntryState],
        to: EntryState,
        now_ms: u64,
    ) -> Result<Vec<u64>, StoreError> {
        let path = self.path.clone();
        let err = |error| classify(&path, error);
        let tx = self.connection.transaction().map_err(err)?;
        let mut moved = Vec::new();
        for &id in ids {
            let state: Option<String> = tx
                .query_row(
                    "SELECT state FROM entries WHERE id = ?1",
                    [id as i64],
                    |row| row.get(0),
                )
                .optional()
                .map_err(err)?;
            let Some(state) = state.as_deref().and_then(EntryState::parse) else {
                continue;
            };
            if !from.contains(&state) {
                continue;
            }
            if !to.is_final() {
                let has_body: bool = tx
                    .query_row(
                        "SELECT count(*) > 0 FROM bodies WHERE entry = ?1",
                        [id as i64],
                        |row| row.get(0),
                    )
                    .map_err(err)?;
                if !has_body {
                    continue;
                }
            }
            tx.execute(
                "UPDATE entries SET state = ?2, next_ms = ?3, updated_ms = ?3 WHERE id = ?1",
                params![id as i64, to.as_str(), now_ms as i64],
            )
            .map_err(err)?;
            if to.is_final() {
                tx.execute("DELETE FROM bodies WHERE entry = ?1", [id as i64])
                    .map_err(err)?;
            } else {
                // A retried entry goes to every recipient not yet accepted.
                tx.execute(
                    "UPDATE recipients SET state = 'pending'
                     WHERE entry = ?1 AND state = 'refused'",
                    [id as i64],
                )
                .map_err(err)?;
            }
            moved.push(id);
        }
        tx.commit().map_err(err)?;
        Ok(moved)
    }

    /// Lifts a pause, as a retry by the user does.
    pub fn unpause(&mut self, account: &str) -> Result<(), StoreError> {
        self.connection
            .execute("DELETE FROM pauses WHERE account = ?1", [account])
            .map(drop)
            .map_err(self.err())
    }

    pub fn account_of(&self, id: u64) -> Result<Option<String>, StoreError> {
        self.connection
            .query_row(
                "SELECT account FROM entries WHERE id = ?1",
                [id as i64],
                |row| row.get(0),
            )
            .optional()
            .map_err(self.err())
    }

    /// Every campaign, newest first: (id, batch, name, profile, state, created).
    pub fn campaigns(&self) -> Result<Vec<CampaignRecord>, StoreError> {
        let mut statement = self
            .connection
            .prepare_cached(
                "SELECT id, batch, name, profile_id, state, created_ms FROM campaigns
                 ORDER BY id DESC",
            )
            .map_err(self.err())?;
        let rows = statement
            .query_map([], |row| {
                Ok(CampaignRecord {
                    id: row.get::<_, i64>(0)? as u64,
                    batch: row.get::<_, i64>(1)? as u64,
                    name: row.get(2)?,
                    profile_id: row.get(3)?,
                    state: row.get(4)?,
                    created_ms: row.get::<_, i64>(5)?.max(0) as u64,
                })
            })
            .map_err(self.err())?;
        rows.collect::<Result<_, _>>().map_err(self.err())
    }

    /// Sets a campaign's state (`running`, `paused`, `cancelled`); a cancelled one's entries
    /// that have not gone are cancelled with it. Returns false when there is no such campaign.
    pub fn set_campaign_state(
        &mut self,
        id: u64,
        state: &str,
        now_ms: u64,
    ) -> Result<bool, StoreError> {
        let path = self.path.clone();
        let err = |error| classify(&path, error);
        let tx = self.connection.transaction().map_err(err)?;
        let changed = tx
            .execute(
                "UPDATE campaigns SET state = ?2 WHERE id = ?1",
                params![id as i64, state],
            )
            .map_err(err)?;
        if changed > 0 && state == "cancelled" {
            tx.execute(
                "UPDATE entries SET state = 'cancelled', updated_ms = ?2, next_ms = NULL
                 WHERE batch = (SELECT batch FROM campaigns WHERE id = ?1)
                   AND state IN ('queued', 'deferred')",
                params![id as i64, now_ms as i64],
            )
            .map_err(err)?;
            tx.execute(
                "DELETE FROM bodies WHERE entry IN (SELECT id FROM entries
                     WHERE batch = (SELECT batch FROM campaigns WHERE id = ?1)
                       AND state = 'cancelled')",
                [id as i64],
            )
            .map_err(err)?;
        }
        tx.commit().map_err(err)?;
        Ok(changed > 0)
    }

    /// A batch's entries by state.
    pub fn batch_counts(&self, batch: u64) -> Result<StateCounts, StoreError> {
        self.state_counts(
            "SELECT state, count(*) FROM entries WHERE batch = ?1 GROUP BY state",
            [batch as i64],
        )
    }

    /// A campaign's results, row by row: (row, address, entry state, Message-ID, the last
    /// reply, when it last changed).
    pub fn campaign_results(&self, id: u64) -> Result<Vec<CampaignResult>, StoreError> {
        let mut statement = self
            .connection
            .prepare_cached(
                "SELECT r.row, r.address, e.state, e.message_id, e.last_reply, e.updated_ms
                 FROM campaign_rows r JOIN entries e ON e.id = r.entry
                 WHERE r.campaign = ?1 ORDER BY r.row",
            )
            .map_err(self.err())?;
        let rows = statement
            .query_map([id as i64], |row| {
                let state: String = row.get(2)?;
                Ok(CampaignResult {
                    row: row.get::<_, i64>(0)? as u64,
                    address: row.get(1)?,
                    state: EntryState::parse(&state).unwrap_or(EntryState::Failed),
                    message_id: row.get(3)?,
                    reply: row.get(4)?,
                    updated_ms: row.get::<_, i64>(5)?.max(0) as u64,
                })
            })
            .map_err(self.err())?;
        rows.collect::<Result<_, _>>().map_err(self.err())
    }

    /// Forgets ledger rows no window can count any more.
    pub fn prune(&mut self, now_ms: u64) -> Result<(), StoreError> {
        let before = now_ms.saturating_sub(2 * DAY_MS) as i64;
        self.connection
            .execute("DELETE FROM ledger WHERE at_ms < ?1", [before])
            .map_err(self.err())?;
        self.connection
            .execute("DELETE FROM ledger_rcpt WHERE at_ms < ?1", [before])
            .map(drop)
            .map_err(self.err())
    }
}

/// A campaign to record with its batch: each entry's row of the list, in entry order.
#[derive(Debug, Clone, Copy)]
pub struct NewCampaign<'a> {
    pub name: &'a str,
    pub profile_id: &'a str,
    pub rows: &'a [u64],
}

/// A campaign as the file keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CampaignRecord {
    pub id: u64,
    pub batch: u64,
    pub name: String,
    pub profile_id: String,
    /// `running`, `paused` or `cancelled`.
    pub state: String,
    pub created_ms: u64,
}

/// One row of a campaign's results.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CampaignResult {
    pub row: u64,
    pub address: String,
    pub state: EntryState,
    pub message_id: String,
    pub reply: Option<String>,
    pub updated_ms: u64,
}

const COLUMNS: &str = "id, batch, profile_id, profile_name, account, state, message_id, subject, \
                       size, queued_ms, updated_ms, next_ms, attempts, last_reply, diagnosis, \
                       transcript";

fn read_entry(row: &Row<'_>) -> rusqlite::Result<OutboxEntry> {
    let state: String = row.get(5)?;
    let diagnosis: Option<String> = row.get(14)?;
    let transcript: Option<String> = row.get(15)?;
    let state = EntryState::parse(&state).unwrap_or(EntryState::Failed);
    Ok(OutboxEntry {
        id: row.get::<_, i64>(0)? as u64,
        batch: row.get::<_, i64>(1)? as u64,
        profile_id: row.get(2)?,
        profile_name: row.get(3)?,
        account: row.get(4)?,
        state,
        message_id: row.get(6)?,
        subject: row.get(7)?,
        recipients: Vec::new(),
        size_bytes: row.get::<_, i64>(8)?.max(0) as u64,
        queued_at_unix_ms: row.get::<_, i64>(9)?.max(0) as u64,
        updated_at_unix_ms: row.get::<_, i64>(10)?.max(0) as u64,
        next_attempt_unix_ms: row
            .get::<_, Option<i64>>(11)?
            .filter(|_| matches!(state, EntryState::Queued | EntryState::Deferred))
            .map(|at| at.max(0) as u64),
        attempts: row.get(12)?,
        last_reply: row.get(13)?,
        diagnosis: diagnosis.and_then(|json| serde_json::from_str(&json).ok()),
        transcript: transcript
            .and_then(|json| serde_json::from_str(&json).ok())
            .unwrap_or_default(),
    })
}

fn recipient_state(state: RecipientState) -> &'static str {
    match state {
        RecipientState::Pending => "pending",
        RecipientState::Accepted => "accepted",
        RecipientState::Refused => "refused",
    }
}

fn classify(path: &Path, error: rusqlite::Error) -> StoreError {
    let path = path.to_owned();
    match error.sqlite_error_code() {
        Some(ErrorCode::NotADatabase | ErrorCode::DatabaseCorrupt) => StoreError::Corrupt {
            path,
            detail: error.to_string(),
        },
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => StoreError::Locked { path },
        _ => StoreError::Sqlite {
            path,
            detail: error.to_string(),
        },
    }
}

/// An attempt's outcome, with the ledger rows of an accepted message, inside `tx`.
fn write_finish(
    tx: &rusqlite::Transaction<'_>,
    path: &Path,
    id: u64,
    account: &str,
    finished: &Finished,
    now_ms: u64,
) -> Result<(), StoreError> {
    let err = |error| classify(path, error);
    let diagnosis = finished
        .diagnosis
        .as_ref()
        .and_then(|diagnosis| serde_json::to_string(diagnosis).ok());
    let transcript = finished
        .transcript
        .as_ref()
        .and_then(|lines| serde_json::to_string(lines).ok());
    tx.prepare_cached(
        "UPDATE entries SET state = ?2, next_ms = ?3, updated_ms = ?4,
             attempts = attempts + ?5,
             last_reply = coalesce(?6, last_reply),
             diagnosis = ?7,
             transcript = coalesce(?8, transcript)
         WHERE id = ?1",
    )
    .and_then(|mut update| {
        update.execute(params![
            id as i64,
            finished.state.as_str(),
            finished.next_attempt_ms.map(|at| at as i64),
            now_ms as i64,
            i64::from(finished.counted),
            finished.last_reply,
            diagnosis,
            transcript,
        ])
    })
    .map_err(err)?;
    {
        let mut update = tx
            .prepare_cached(
                "UPDATE recipients SET state = ?3, reply = ?4 WHERE entry = ?1 AND pos = ?2",
            )
            .map_err(err)?;
        for (pos, state, reply) in &finished.recipients {
            update
                .execute(params![id as i64, pos, recipient_state(*state), reply])
                .map_err(err)?;
        }
    }
    if !finished.accepted.is_empty() {
        tx.prepare_cached(
            "INSERT INTO ledger (account, at_ms, entry, recipients) VALUES (?1, ?2, ?3, ?4)",
        )
        .and_then(|mut insert| {
            insert.execute(params![
                account,
                now_ms as i64,
                id as i64,
                finished.accepted.len() as i64
            ])
        })
        .map_err(err)?;
        let mut rcpt = tx
            .prepare_cached("INSERT INTO ledger_rcpt (account, at_ms, address) VALUES (?1, ?2, ?3)")
            .map_err(err)?;
        for address in &finished.accepted {
            rcpt.execute(params![
                account,
                now_ms as i64,
                address.to_ascii_lowercase()
            ])
            .map_err(err)?;
        }
    }
    // A failed message keeps its content, so that Retry can send it once the cause is fixed;
    // cancelling it drops it. Until then it counts against the outbox's size bound.
    if matches!(finished.state, EntryState::Sent | EntryState::Cancelled) {
        tx.prepare_cached("DELETE FROM bodies WHERE entry = ?1")
            .and_then(|mut delete| delete.execute([id as i64]))
            .map_err(err)?;
    }
    Ok(())
}

/// A message's outcome kept back to be written with the next message's "body sent"
/// ([`OutboxStore::finish_then_mark`]).
#[derive(Debug, Clone)]
pub struct PendingFinish {
    pub id: u64,
    pub account: String,
    pub finished: Finished,
    pub now_ms: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(n: usize, recipients: &[&str]) -> NewEntry {
        NewEntry {
            profile_id: "p".into(),
            profile_name: "P".into(),
            account: "me@example.com via smtp.example.com".into(),
            message_id: format!("<{n}@test>"),
            subject: format!("message {n}"),
            mail_from: "me@example.com".into(),
            recipients: recipients.iter().map(|r| r.to_string()).collect(),
            data: vec![b'x'; 100],
        }
    }

    fn open(dir: &tempfile::TempDir, bounds: Bounds) -> OutboxStore {
        OutboxStore::open(dir.path().join("outbox.sqlite3"), bounds).expect("open")
    }

    #[test]
    fn an_enqueued_batch_is_claimed_in_order_and_finished() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut store = open(&dir, Bounds::default());
        let (batch, ids) = store
            .enqueue(
                &[entry(1, &["a@x.test"]), entry(2, &["b@x.test", "c@x.test"])],
                1_000,
                0,
            )
            .expect("enqueue");
        assert_eq!((batch, ids.len()), (1, 2));
        let account = "me@example.com via smtp.example.com";
        assert!(store.claim(account, 999, 100).expect("claim").is_none());
        let first = store
            .claim(account, 1_000, 100)
            .expect("claim")
            .expect("one");
        assert_eq!(first.id, ids[0]);
        assert_eq!(first.data.len(), 100);
        store.mark_body_sent(first.id).expect("mark");
        assert_eq!(store.counts().expect("counts").body_sent, 1);
        let finished = Finished {
            state: EntryState::Sent,
            next_attempt_ms: None,
            counted: true,
            recipients: vec![(0, RecipientState::Accepted, Some("250 ok".into()))],
            last_reply: Some("250 ok".into()),
            diagnosis: None,
            transcript: None,
            accepted: vec!["a@x.test".into()],
        };
        store
            .finish(first.id, account, &finished, 2_000)
            .expect("finish");
        assert_eq!(store.sent_times(account, 0).expect("times"), vec![2_000]);
        assert_eq!(store.ledger_counts(account, 0).expect("counts"), (1, 1, 1));
        let second = store.claim(account, 2_000, 1).expect("claim").expect("two");
        assert_eq!(second.recipients, vec![(0, "b@x.test".to_owned())]);
        let listed = store.list(None, 10).expect("list");
        assert_eq!(listed[0].state, EntryState::Sending);
        assert_eq!(listed[1].state, EntryState::Sent);
        assert_eq!(listed[1].recipients[0].state, RecipientState::Accepted);
    }

    #[test]
    fn a_failed_entry_keeps_its_content_so_retry_sends_it_again_and_cancel_drops_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut store = open(&dir, Bounds::default());
        let account = "me@example.com via smtp.example.com";
        let (_, ids) = store
            .enqueue(
                &[entry(1, &["a@x.test"]), entry(2, &["b@x.test"])],
                1_000,
                0,
            )
            .expect("enqueue");
        let failed = Finished {
            state: EntryState::Failed,
            next_attempt_ms: None,
            counted: true,
            recipients: vec![(0, RecipientState::Refused, Some("535 5.7.8 no".into()))],
            last_reply: Some("535 5.7.8 no".into()),
            diagnosis: None,
            transcript: None,
            accepted: vec![],
        };
        for _ in 0..2 {
            let claimed = store
                .claim(account, 1_000, 100)
                .expect("claim")
                .expect("one");
            store
                .finish(claimed.id, account, &failed, 1_500)
                .expect("finish");
        }
        assert_eq!(store.counts().expect("counts").failed, 2);
        // Retry: the first goes back to the queue and is sent with its content whole.
        let moved = store
            .move_entries(&[ids[0]], &[EntryState::Failed], EntryState::Queued, 2_000)
            .expect("retry");
        assert_eq!(moved, vec![ids[0]]);
        let again = store
            .claim(account, 2_000, 100)
            .expect("claim")
            .expect("retried");
        assert_eq!((again.id, again.data.len()), (ids[0], 100));
        assert_eq!(again.recipients, vec![(0, "a@x.test".to_owned())]);
        // Cancel: the second is dropped with its content, and cannot be retried after.
        store
            .move_entries(
                &[ids[1]],
                &[EntryState::Failed],
                EntryState::Cancelled,
                2_000,
            )
            .expect("cancel");
        let moved = store
            .move_entries(&[ids[1]], &[EntryState::Failed], EntryState::Queued, 2_000)
            .expect("retry");
        assert!(moved.is_empty());
    }

    #[test]
    fn entries_taken_together_and_not_sent_go_back_with_no_attempt_counted() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut store = open(&dir, Bounds::default());
        let account = "me@example.com via smtp.example.com";
        store
            .enqueue(
                &[
                    entry(1, &["a@x.test"]),
                    entry(2, &["b@x.test"]),
                    entry(3, &["c@x.test"]),
                ],
                0,
                0,
            )
            .expect("enqueue");
        let taken = store.claim_many(account, 0, 100, 2).expect("claim");
        assert_eq!(taken.len(), 2);
        assert_eq!(store.counts().expect("counts").sending, 2);
        let ids: Vec<u64> = taken.iter().map(|claimed| claimed.id).collect();
        store.release(&ids, 5).expect("release");
        let counts = store.counts().expect("counts");
        assert_eq!((counts.queued, counts.sending), (3, 0));
        let again = store.claim_many(account, 5, 100, 8).expect("claim");
        assert_eq!(again.len(), 3, "all three are due again");
        assert!(again.iter().all(|claimed| claimed.attempts == 0));
    }

    #[test]
    fn recovery_requeues_sending_and_holds_body_sent() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut store = open(&dir, Bounds::default());
        store
            .enqueue(&[entry(1, &["a@x.test"]), entry(2, &["b@x.test"])], 0, 0)
            .expect("enqueue");
        let account = "me@example.com via smtp.example.com";
        let a = store.claim(account, 0, 100).expect("claim").expect("a");
        let b = store.claim(account, 0, 100).expect("claim").expect("b");
        store.mark_body_sent(b.id).expect("mark");
        drop(store);
        let mut store = open(&dir, Bounds::default());
        assert_eq!(store.recover(5).expect("recover"), (1, 1));
        let states = store.states(&[a.id, b.id]).expect("states");
        assert_eq!(states[&a.id], EntryState::Queued);
        assert_eq!(states[&b.id], EntryState::Ambiguous);
        // It may have been delivered, so it counts against the day's quota.
        assert_eq!(store.ledger_counts(account, 0).expect("counts"), (1, 1, 1));
        // The user sends the ambiguous one again: it is queued with its Message-ID.
        let moved = store
            .move_entries(&[b.id], &[EntryState::Ambiguous], EntryState::Queued, 6)
            .expect("move");
        assert_eq!(moved, vec![b.id]);
        let again = store.get(b.id).expect("get").expect("entry");
        assert_eq!(again.message_id, "<2@test>");
    }

    #[test]
    fn a_full_outbox_refuses_a_batch_whole_and_keeps_what_it_holds() {
        let dir = tempfile::tempdir().expect("tempdir");
        let bounds = Bounds {
            max_entries: 3,
            max_bytes: 1_000,
        };
        let mut store = open(&dir, bounds);
        store
            .enqueue(&[entry(1, &["a@x.test"]), entry(2, &["a@x.test"])], 0, 0)
            .expect("enqueue");
        let error = store
            .enqueue(&[entry(3, &["a@x.test"]), entry(4, &["a@x.test"])], 0, 0)
            .expect_err("over the entry bound");
        assert!(error.to_string().contains("limit of 3"), "{error}");
        assert_eq!(store.counts().expect("counts").queued, 2);
        let mut big = entry(5, &["a@x.test"]);
        big.data = vec![b'y'; 900];
        let error = store
            .enqueue(&[big], 0, 0)
            .expect_err("over the byte bound");
        assert!(error.to_string().contains("bytes"), "{error}");
    }

    #[test]
    fn a_paused_campaign_is_not_taken_and_a_cancelled_one_goes_nowhere() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut store = open(&dir, Bounds::default());
        let account = "me@example.com via smtp.example.com";
        let campaign = NewCampaign {
            name: "News",
            profile_id: "p",
            rows: &[1, 2],
        };
        let (batch, ids, campaign) = store
            .enqueue_with(
                &[entry(1, &["a@x.test"]), entry(2, &["b@x.test"])],
                0,
                0,
                Some(campaign),
            )
            .expect("enqueue");
        let campaign = campaign.expect("a campaign");
        assert!(
            store
                .set_campaign_state(campaign, "paused", 1)
                .expect("pause")
        );
        assert!(store.claim(account, 10, 100).expect("claim").is_none());
        assert!(store.due_accounts(10).expect("due").is_empty());
        assert!(
            store
                .set_campaign_state(campaign, "running", 2)
                .expect("resume")
        );
        let first = store
            .claim(account, 10, 100)
            .expect("claim")
            .expect("taken");
        assert_eq!(first.id, ids[0]);
        assert!(
            store
                .set_campaign_state(campaign, "cancelled", 3)
                .expect("cancel")
        );
        let counts = store.batch_counts(batch).expect("counts");
        assert_eq!((counts.sending, counts.cancelled), (1, 1));
        let results = store.campaign_results(campaign).expect("results");
        assert_eq!(results.len(), 2);
        assert_eq!(
            (results[1].row, results[1].state),
            (2, EntryState::Cancelled)
        );
        assert!(!store.set_campaign_state(99, "paused", 4).expect("none"));
    }

    #[test]
    fn a_file_that_is_not_an_outbox_is_reported_and_left_alone() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("outbox.sqlite3");
        let junk = b"this is not a database, and it must stay as it is".repeat(100);
        std::fs::write(&path, &junk).expect("write");
        let error = OutboxStore::open(&path, Bounds::default()).expect_err("junk");
        assert!(matches!(error, StoreError::Corrupt { .. }), "{error}");
        assert!(error.to_string().contains("left as it is"), "{error}");
        assert_eq!(std::fs::read(&path).expect("read"), junk);
        // Another program's database.
        let other = dir.path().join("other.sqlite3");
        Connection::open(&other)
            .and_then(|db| db.execute_batch("CREATE TABLE notes (text TEXT)"))
            .expect("other db");
        let error = OutboxStore::open(&other, Bounds::default()).expect_err("other program");
        assert!(error.to_string().contains("another program"), "{error}");
    }
}
