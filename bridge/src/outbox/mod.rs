//! The durable outbox: every send goes through it. A message is committed to SQLite before its
//! first byte goes to a server, keeps the Message-ID it was queued with across retries, and is
//! never silently sent twice: one left half-way by a crash either goes back to the queue (the
//! server never got the end of it) or is held as ambiguous for the user to decide.
//!
//! One process delivers an outbox at a time: the holder of an OS file lock beside the
//! database. Others (a CLI `send --no-wait`, a second `serve`) only enqueue, and say who
//! delivers.
//!
//! # Layout
//! - `state`: the state machine: what an attempt's result makes of an entry, the backoff.
//! - `scheduler`: pacing: the token bucket, the concurrency, the rolling 24-hour quota.
//! - `store`: the SQLite file: entries, recipients, bodies, the ledger, pauses.
//! - `deliver`: the deliverer: per-account pools of connections that take due entries.
//! - `lock`: the file lock that makes one process the deliverer.

mod deliver;
mod lock;
pub mod scheduler;
pub mod state;
pub mod store;

use std::collections::{HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::{SystemTime, UNIX_EPOCH};

use diagnosis::Diagnosis;
use profile::Limits;
use protocol::{Deliverer, EntryState, Notice, OutboxEntry, OutboxSummary, QuotaView, StateCounts};
use tokio::sync::{Notify, broadcast, watch};

use crate::lock as guard;
use crate::smtp::{Credentials, Target, Timeouts};

pub use deliver::{Attempted, DeliveryHandle};
pub use store::{Bounds, NewEntry, StoreError};

use scheduler::{Concurrency, DAY_MS, TokenBucket};
use state::Backoff;
use store::OutboxStore;

/// How the outbox is set up.
#[derive(Debug, Clone, Copy, Default)]
pub struct OutboxConfig {
    pub bounds: Bounds,
    pub backoff: Backoff,
    pub timeouts: Timeouts,
}

/// The entries an action changed, and those it left with the reason.
pub type Changes = (Vec<u64>, Vec<(u64, String)>);

/// Everything the deliverer needs to send as one profile.
#[derive(Debug, Clone)]
pub struct Sender {
    pub profile_name: String,
    pub target: Target,
    pub credentials: Credentials,
    pub limits: Limits,
    /// Connections at once, and messages on one before it is closed and opened anew.
    pub connections: u32,
    pub messages_per_connection: u32,
    /// Recipients in one transaction; more are sent in further transactions.
    pub max_recipients: usize,
}

/// Where the deliverer finds profiles and their secrets (the bridge).
pub trait Senders: Send + Sync {
    /// The sender for a profile, or why it cannot send (a missing secret, a deleted profile).
    fn sender(&self, profile_id: &str) -> Result<Sender, Box<Diagnosis>>;
}

/// The account a profile's messages count against: its user on its server.
pub fn account_of(username: &str, host: &str) -> String {
    format!(
        "{} via {}",
        username.trim(),
        host.trim().to_ascii_lowercase()
    )
}

/// The local time zone's offset, read before the runtime starts its threads (see
/// `cli::run`); UTC when it could not be read.
static LOCAL_OFFSET_S: OnceLock<i64> = OnceLock::new();

pub fn set_local_offset(seconds: i64) {
    let _ = LOCAL_OFFSET_S.set(seconds);
}

pub fn local_offset() -> i64 {
    LOCAL_OFFSET_S.get().copied().unwrap_or(0)
}

pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| elapsed.as_millis() as u64)
        .unwrap_or_default()
}

/// Pacing state of one account, in memory while this process delivers.
#[derive(Debug)]
struct Account {
    bucket: TokenBucket,
    per_minute: u32,
    daily: u64,
    concurrency: Concurrency,
    in_flight: u32,
    workers: u32,
    /// Times of the sends counted in the last 24 hours, oldest first.
    sent: VecDeque<u64>,
    /// After failures that any entry would meet (a refused connection, a throttling reply),
    /// the account waits until then, backing off further with each one in a row.
    hold_until: u64,
    failures: u32,
}

impl Account {
    fn prune(&mut self, now_ms: u64) {
        let start = now_ms.saturating_sub(DAY_MS);
        while self.sent.front().is_some_and(|&at| at <= start) {
            self.sent.pop_front();
        }
    }

    fn quota(&mut self, now_ms: u64) -> scheduler::Quota {
        self.prune(now_ms);
        scheduler::window_quota(
            self.daily,
            self.sent.len() as u64,
            self.sent.front().copied(),
            u64::from(self.in_flight),
            now_ms,
        )
    }
}

/// The outbox of one data directory.
pub struct Outbox {
    store: Mutex<OutboxStore>,
    lock_path: PathBuf,
    config: OutboxConfig,
    accounts: Mutex<HashMap<String, Account>>,
    /// The file lock, while this process delivers.
    lock: Mutex<Option<lock::FileLock>>,
    /// Wakes the deliverer: something was queued or released.
    wake: Notify,
    /// The summary, while something changes.
    notices: broadcast::Sender<Notice>,
    dirty: AtomicBool,
    /// Keep every entry's transcript, not only those of failures (`--keep-transcripts`).
    keep_transcripts: AtomicBool,
    /// Goes up when a campaign is paused, resumed or cancelled: workers then give back the
    /// entries they took and claim again.
    holds: AtomicU64,
    stop: watch::Sender<bool>,
}

impl Outbox {
    /// Opens the outbox in `data_dir` (`outbox.sqlite3`, `outbox.lock`).
    pub fn open(data_dir: &Path, config: OutboxConfig) -> Result<Arc<Outbox>, StoreError> {
        let (notices, _) = broadcast::channel(16);
        let store = OutboxStore::open(data_dir.join("outbox.sqlite3"), config.bounds)?;
        Ok(Arc::new(Outbox {
            store: Mutex::new(store),
            lock_path: data_dir.join("outbox.lock"),
            config,
            accounts: Mutex::new(HashMap::new()),
            lock: Mutex::new(None),
            wake: Notify::new(),
            notices,
            dirty: AtomicBool::new(true),
            keep_transcripts: AtomicBool::new(false),
            holds: AtomicU64::new(0),
            stop: watch::channel(false).0,
        }))
    }

    /// The outbox's summaries as it changes.
    pub fn subscribe(&self) -> broadcast::Receiver<Notice> {
        self.notices.subscribe()
    }

    pub fn path(&self) -> PathBuf {
        guard(&self.store).path().to_owned()
    }

    /// Queues a batch, all or nothing. The deliverer (here or in another process) takes it,
    /// `hold_ms` from now.
    pub fn enqueue(
        &self,
        entries: &[NewEntry],
        hold_ms: u64,
    ) -> Result<(u64, Vec<u64>), StoreError> {
        let result = guard(&self.store).enqueue(entries, now_ms(), hold_ms)?;
        self.changed();
        Ok(result)
    }

    fn changed(&self) {
        self.dirty.store(true, Ordering::Relaxed);
        self.wake.notify_one();
        if !self.is_deliverer() {
            lock::nudge(&self.lock_path);
        }
    }

    /// Tries to become this outbox's deliverer. On success the entries a dead deliverer left
    /// half-way are recovered (see [`state::after_crash`]) and their numbers returned.
    pub fn try_take_over(&self) -> Result<Option<(u64, u64)>, StoreError> {
        let mut held = guard(&self.lock);
        if held.is_some() {
            return Ok(Some((0, 0)));
        }
        match lock::FileLock::try_acquire(&self.lock_path) {
            Ok(Some(file)) => {
                *held = Some(file);
                drop(held);
                let recovered = guard(&self.store).recover(now_ms())?;
                // What this process knew of the ledger may be stale: read it again.
                guard(&self.accounts).clear();
                self.changed();
                Ok(Some(recovered))
            }
            Ok(None) => Ok(None),
            Err(error) => Err(StoreError::Io {
                path: self.lock_path.clone(),
                detail: error.to_string(),
            }),
        }
    }

    /// Keeps the redacted transcript of every entry sent from now on, not only of those that
    /// failed.
    pub fn keep_transcripts(&self, keep: bool) {
        self.keep_transcripts.store(keep, Ordering::Relaxed);
    }

    /// Whether this process delivers.
    pub fn is_deliverer(&self) -> bool {
        guard(&self.lock).is_some()
    }

    /// Who delivers, in words.
    pub fn deliverer(&self) -> Deliverer {
        if self.is_deliverer() {
            return Deliverer::Here;
        }
        match lock::holder(&self.lock_path) {
            Some(detail) => Deliverer::Elsewhere { detail },
            None => Deliverer::Nobody,
        }
    }

    /// Asks the deliverer's tasks to stop after the message each is sending.
    pub fn stop(&self) {
        let _ = self.stop.send(true);
        self.wake.notify_waiters();
    }

    pub fn list(
        &self,
        state: Option<EntryState>,
        limit: usize,
    ) -> Result<Vec<OutboxEntry>, StoreError> {
        guard(&self.store).list(state, limit)
    }

    pub fn get(&self, id: u64) -> Result<Option<OutboxEntry>, StoreError> {
        guard(&self.store).get(id)
    }

    pub fn counts(&self) -> Result<StateCounts, StoreError> {
        guard(&self.store).counts()
    }

    /// Retries failed and deferred entries now, lifting their accounts' pauses.
    pub fn retry(&self, ids: &[u64]) -> Result<Changes, StoreError> {
        let result = self.apply(
            ids,
            &[EntryState::Failed, EntryState::Deferred],
            EntryState::Queued,
            "only failed or waiting entries can be retried",
        )?;
        let mut store = guard(&self.store);
        for id in &result.0 {
            if let Some(account) = store.account_of(*id)? {
                store.unpause(&account)?;
            }
        }
        Ok(result)
    }

    pub fn cancel(&self, ids: &[u64]) -> Result<Changes, StoreError> {
        self.apply(
            ids,
            &[
                EntryState::Queued,
                EntryState::Deferred,
                EntryState::Failed,
                EntryState::Ambiguous,
            ],
            EntryState::Cancelled,
            "only entries that have not been sent can be cancelled",
        )
    }

    /// Ambiguous entries: queued again with their Message-ID, or dropped (cancelled).
    pub fn release(&self, ids: &[u64], resend: bool) -> Result<Changes, StoreError> {
        let to = if resend {
            EntryState::Queued
        } else {
            EntryState::Cancelled
        };
        self.apply(
            ids,
            &[EntryState::Ambiguous],
            to,
            "only ambiguous entries are released",
        )
    }

    fn apply(
        &self,
        ids: &[u64],
        from: &[EntryState],
        to: EntryState,
        why_not: &str,
    ) -> Result<Changes, StoreError> {
        let mut store = guard(&self.store);
        let before = store.states(ids)?;
        let moved = store.move_entries(ids, from, to, now_ms())?;
        drop(store);
        let unchanged = ids
            .iter()
            .filter(|id| !moved.contains(id))
            .map(|&id| {
                let why = match before.get(&id) {
                    None => "there is no such entry".to_owned(),
                    Some(state) => format!("it is {} and {why_not}", state.label()),
                };
                (id, why)
            })
            .collect();
        self.changed();
        Ok((moved, unchanged))
    }

    /// Queues a campaign's messages as one batch and records the campaign, with each entry's
    /// row of the list and address. Returns the campaign's id and its entries.
    pub fn enqueue_campaign(
        &self,
        name: &str,
        profile_id: &str,
        entries: &[NewEntry],
        rows: &[u64],
    ) -> Result<(u64, Vec<u64>), StoreError> {
        let campaign = store::NewCampaign {
            name,
            profile_id,
            rows,
        };
        let (_, ids, id) = guard(&self.store).enqueue_with(entries, now_ms(), 0, Some(campaign))?;
        self.changed();
        Ok((id.unwrap_or_default(), ids))
    }

    pub fn campaigns(&self) -> Result<Vec<store::CampaignRecord>, StoreError> {
        guard(&self.store).campaigns()
    }

    /// Pauses (`paused`), resumes (`running`) or cancels (`cancelled`) a campaign.
    /// Lifts an account's pause, when what made it (a refused sign-in) may be fixed: its
    /// profile or secret changed.
    pub fn lift_pause(&self, account: &str) -> Result<(), StoreError> {
        let mut store = guard(&self.store);
        // A daily-limit pause stays: only time lifts it.
        let refused = store
            .pauses(now_ms())?
            .get(account)
            .is_some_and(|(_, reason)| reason.starts_with(deliver::REFUSED_FOR_GOOD));
        if refused {
            store.unpause(account)?;
            drop(store);
            self.changed();
        }
        Ok(())
    }

    pub fn set_campaign_state(&self, id: u64, state: &str) -> Result<bool, StoreError> {
        let changed = guard(&self.store).set_campaign_state(id, state, now_ms())?;
        // Workers give back what they took and have not sent, so a pause or a cancel holds
        // from the next message on, not after the entries already taken.
        self.holds.fetch_add(1, Ordering::Relaxed);
        self.changed();
        Ok(changed)
    }

    pub fn batch_counts(&self, batch: u64) -> Result<StateCounts, StoreError> {
        guard(&self.store).batch_counts(batch)
    }

    pub fn campaign_results(&self, id: u64) -> Result<Vec<store::CampaignResult>, StoreError> {
        guard(&self.store).campaign_results(id)
    }

    /// The outbox at a glance. `senders` gives each account's limits (from its profiles).
    pub fn summary(&self, senders: &dyn Senders) -> Result<OutboxSummary, StoreError> {
        let now = now_ms();
        let store = guard(&self.store);
        let counts = store.counts()?;
        let rate_per_minute = store.sent_since(now.saturating_sub(60_000))?;
        let waiting = store.waiting_by_account()?;
        let pauses = store.pauses(now)?;
        let mut quotas = Vec::new();
        let mut eta: Option<u64> = Some(0);
        for (account, profiles) in store.accounts()? {
            let (messages, recipients, unique) =
                store.ledger_counts(&account, now.saturating_sub(DAY_MS))?;
            let waiting_here = waiting.get(&account).copied().unwrap_or(0);
            let profile_id = store.profile_of_account(&account)?;
            let sender = profile_id.and_then(|id| senders.sender(&id).ok());
            let (daily, per_minute, max_concurrency) = sender
                .as_ref()
                .map(|s| {
                    (
                        u64::from(s.limits.daily),
                        s.limits.per_minute,
                        s.connections,
                    )
                })
                .unwrap_or((0, 1, 1));
            let times = store.sent_times(&account, now.saturating_sub(DAY_MS))?;
            let quota = scheduler::quota(daily, &times, 0, now);
            let concurrency = guard(&self.accounts)
                .get(&account)
                .map(|state| state.concurrency.current)
                .unwrap_or(max_concurrency);
            let paused = pauses.get(&account);
            eta = match (eta, paused) {
                (Some(so_far), None) => {
                    scheduler::eta_seconds(waiting_here, per_minute, quota.remaining)
                        .map(|here| so_far.max(here))
                }
                _ if waiting_here == 0 => eta,
                _ => None,
            };
            quotas.push(QuotaView {
                summary: scheduler::quota_sentence(&quota, waiting_here, now, local_offset()),
                account,
                profiles,
                daily_limit: daily,
                sent_24h: messages,
                recipients_24h: recipients,
                unique_recipients_24h: unique,
                remaining: quota.remaining,
                waiting: waiting_here,
                next_free_unix_ms: (waiting_here > quota.remaining).then_some(quota.next_free_ms),
                paused_until_unix_ms: paused.map(|(until, _)| *until),
                pause_reason: paused.map(|(_, reason)| reason.clone()),
                concurrency,
                max_concurrency,
            });
        }
        drop(store);
        Ok(OutboxSummary {
            counts,
            rate_per_minute,
            eta_seconds: if counts.pending() == 0 { Some(0) } else { eta },
            quotas,
            deliverer: self.deliverer(),
        })
    }

    /// Publishes the summary as a notice when something changed since the last one.
    fn publish(&self, senders: &dyn Senders) {
        if !self.dirty.swap(false, Ordering::Relaxed) || self.notices.receiver_count() == 0 {
            return;
        }
        if let Ok(summary) = self.summary(senders) {
            let _ = self.notices.send(Notice::Outbox { summary });
        }
    }

    /// Starts delivering in the background: takes the lock (or waits for it, saying who holds
    /// it), then sends due entries until [`Outbox::stop`].
    pub fn start(self: &Arc<Self>, senders: Weak<dyn Senders>) -> DeliveryHandle {
        deliver::start(self.clone(), senders)
    }
}
