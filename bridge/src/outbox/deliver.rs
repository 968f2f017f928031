//! The deliverer: while this process holds the outbox's lock, a dispatcher starts workers for
//! each account with entries due, up to the account's concurrency. A worker keeps one
//! connection open across messages (at most the profile's messages per connection, then QUIT
//! and a new one), takes the next due entry its account's pace and quota allow, sends it with
//! one pipelined transaction, and records what became of every recipient.

use std::collections::VecDeque;
use std::sync::{Arc, Weak};
use std::time::Duration;

use diagnosis::{Failure, Step};
use protocol::{EntryState, Progress, RecipientState, TranscriptLine};
use tokio::sync::mpsc::UnboundedSender;

use super::scheduler::{Concurrency, DAY_MS, TokenBucket, local_time};
use super::state::{self, Verdict};
use super::store::{Claimed, Finished, OutboxStore, PendingFinish};
use super::{Account, Outbox, Sender, Senders, local_offset, now_ms};
use crate::lock as guard;
use crate::smtp::{Error, Recorder, RetryPolicy, Session, TxResult};

/// How often the dispatcher asks SQLite whether another process wrote to the outbox.
const EXTERNAL_POLL_MS: u64 = 50;

/// How the pause of an account whose sign-in was refused for good begins.
pub(super) const REFUSED_FOR_GOOD: &str = "The server refused this account for good";

/// How long an account whose sign-in was refused for good waits, unless its profile or
/// secret changes or the user retries first.
const SIGN_IN_PAUSE_MS: u64 = 60 * 60 * 1_000;

/// A worker with nothing due keeps its connection this long before it says QUIT.
const KEEP_IDLE_MS: u64 = 2_000;

/// Entries a worker takes in one transaction: one commit for several messages' claims. A
/// paused or cancelled campaign may still see this many per worker go.
const CLAIM_BATCH: usize = 8;

/// The running deliverer.
pub struct DeliveryHandle {
    task: tokio::task::JoinHandle<()>,
    outbox: Arc<Outbox>,
}

impl DeliveryHandle {
    /// Stops taking entries, lets each worker finish the message it is sending (at most
    /// `limit`), and says QUIT.
    pub async fn stop(self, limit: Duration) {
        self.outbox.stop();
        let _ = tokio::time::timeout(limit, self.task).await;
    }
}

/// What one attempt made of an entry.
#[derive(Debug, Clone)]
pub struct Attempted {
    pub state: EntryState,
    pub attempts: u32,
    pub reply: Option<String>,
    pub error: Option<Error>,
    pub next_attempt_ms: Option<u64>,
    pub accepted: Vec<String>,
    pub transcript: Vec<TranscriptLine>,
}

pub(super) fn start(outbox: Arc<Outbox>, senders: Weak<dyn Senders>) -> DeliveryHandle {
    let task = tokio::spawn(run(outbox.clone(), senders));
    DeliveryHandle { task, outbox }
}

async fn run(outbox: Arc<Outbox>, senders: Weak<dyn Senders>) {
    let mut stop = outbox.stop.subscribe();
    // Other processes' enqueues wake this one at once (`lock::nudge`); the poll of SQLite's
    // data_version below still finds them where signals are not available.
    #[cfg(unix)]
    let mut nudges =
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::window_change()).ok();
    #[cfg(not(unix))]
    let mut nudges: Option<Never> = None;
    let mut said = false;
    loop {
        match outbox.try_take_over() {
            Ok(Some(_)) => break,
            Ok(None) if !said => {
                said = true;
                if let protocol::Deliverer::Elsewhere { detail } = outbox.deliverer() {
                    tracing::warn!("{detail}; this one takes over if it stops");
                }
            }
            Ok(None) => {}
            Err(error) => tracing::error!("the outbox cannot be delivered: {error}"),
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(2)) => {}
            _ = stop.changed() => return,
        }
    }
    loop {
        if *stop.borrow() {
            break;
        }
        let Some(senders) = senders.upgrade() else {
            break;
        };
        let now = now_ms();
        let mut wake_at = now + 1_000;
        let due = guard(&outbox.store).due_accounts(now);
        match due {
            Ok(due) => {
                for (account, profile_id, count) in due {
                    let sender = match senders.sender(&profile_id) {
                        Ok(sender) => sender,
                        Err(diagnosis) => {
                            fail_profile(&outbox, &account, &profile_id, diagnosis);
                            continue;
                        }
                    };
                    let (spawn, at) = outbox.plan_workers(&account, &sender, count, now);
                    if let Some(at) = at {
                        wake_at = wake_at.min(at.max(now + 10));
                    }
                    for index in spawn {
                        tokio::spawn(worker(
                            outbox.clone(),
                            Arc::downgrade(&senders),
                            account.clone(),
                            sender.clone(),
                            index,
                        ));
                    }
                }
            }
            Err(error) => tracing::error!("reading the outbox: {error}"),
        }
        // Entries due now are the workers' to take; only one due later brings the next pass
        // forward. Looking again sooner would scan the queue, store locked, many times a
        // second while the workers wait for it.
        if let Ok(Some(at)) = guard(&outbox.store).next_due_ms()
            && at > now
        {
            wake_at = wake_at.min(at);
        }
        outbox.publish(senders.as_ref());
        drop(senders);
        let sleep = Duration::from_millis(wake_at.saturating_sub(now).clamp(10, 1_000));
        let until = tokio::time::Instant::now() + sleep;
        let seen = guard(&outbox.store).data_version().ok();
        loop {
            let nudge = async {
                match nudges.as_mut() {
                    Some(nudges) => drop(nudges.recv().await),
                    None => std::future::pending().await,
                }
            };
            let slice = until
                .saturating_duration_since(tokio::time::Instant::now())
                .min(Duration::from_millis(EXTERNAL_POLL_MS));
            tokio::select! {
                _ = outbox.wake.notified() => {
                    // Coalesce a burst of enqueues and finished sends into one pass.
                    tokio::time::sleep(Duration::from_millis(5)).await;
                    break;
                }
                _ = tokio::time::sleep(slice) => {
                    // Another process (`mailbridge send`) may have queued something: SQLite
                    // says so without a scan.
                    let now_seen = guard(&outbox.store).data_version().ok();
                    if tokio::time::Instant::now() >= until || now_seen != seen {
                        break;
                    }
                }
                _ = stop.changed() => break,
                // Another process queued something and said so (`lock::nudge`).
                () = nudge => break,
            }
        }
        if *stop.borrow() {
            break;
        }
    }
    // Let the workers finish the message each is on.
    for _ in 0..600 {
        let busy: u32 = guard(&outbox.accounts).values().map(|a| a.workers).sum();
        if busy == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Entries whose profile cannot send (deleted, no secret) fail with the reason, so the user
/// sees it and can retry them once it is fixed.
fn fail_profile(
    outbox: &Outbox,
    account: &str,
    profile_id: &str,
    diagnosis: Box<diagnosis::Diagnosis>,
) {
    let now = now_ms();
    let mut store = guard(&outbox.store);
    while let Ok(Some(claimed)) = store.claim(account, now, usize::MAX) {
        let finished = Finished {
            state: EntryState::Failed,
            next_attempt_ms: None,
            counted: false,
            recipients: Vec::new(),
            last_reply: None,
            diagnosis: Some(*diagnosis.clone()),
            transcript: None,
            accepted: Vec::new(),
        };
        if claimed.profile_id != profile_id {
            // Another profile of the same account: leave it for its own pass.
            let _ = store.finish(
                claimed.id,
                account,
                &Finished {
                    state: EntryState::Queued,
                    next_attempt_ms: Some(now + 1),
                    diagnosis: None,
                    ..finished
                },
                now,
            );
            break;
        }
        let _ = store.finish(claimed.id, account, &finished, now);
    }
    drop(store);
    outbox.changed();
}

/// What an attempt brought back, for [`Outbox::settle`].
struct Tried {
    /// The reply to each RCPT, in order.
    replies: Vec<diagnosis::Reply>,
    /// The reply that took the message, or what kept it from the pending recipients.
    result: Result<diagnosis::Reply, (Error, Verdict)>,
    transcript: Vec<TranscriptLine>,
    /// Whether it counts as an attempt (a stale pooled connection's does not).
    counted: bool,
}

/// What a worker should do next.
enum Next {
    Entries(Vec<Claimed>),
    Wait(u64),
    Done,
}

impl Outbox {
    fn account_state<T>(
        &self,
        account: &str,
        sender: &Sender,
        now: u64,
        with: impl FnOnce(&mut Account) -> T,
    ) -> T {
        let known = guard(&self.accounts).contains_key(account);
        let sent = if known {
            Vec::new()
        } else {
            let mut times = guard(&self.store)
                .sent_times(account, now.saturating_sub(DAY_MS))
                .unwrap_or_default();
            times.sort_unstable();
            times
        };
        let mut accounts = guard(&self.accounts);
        let state = accounts
            .entry(account.to_owned())
            .or_insert_with(|| Account {
                bucket: TokenBucket::per_minute(sender.limits.per_minute, now),
                per_minute: sender.limits.per_minute,
                daily: u64::from(sender.limits.daily),
                concurrency: Concurrency::new(sender.connections),
                in_flight: 0,
                workers: 0,
                sent: sent.into(),
                hold_until: 0,
                failures: 0,
            });
        if state.per_minute != sender.limits.per_minute {
            state.per_minute = sender.limits.per_minute;
            state.bucket = TokenBucket::per_minute(sender.limits.per_minute, now);
        }
        state.daily = u64::from(sender.limits.daily);
        state.concurrency.resize(sender.connections);
        with(state)
    }

    /// How many workers to start for an account with `due` entries, and when to look again
    /// if it must wait.
    fn plan_workers(
        &self,
        account: &str,
        sender: &Sender,
        due: u64,
        now: u64,
    ) -> (Vec<u32>, Option<u64>) {
        if let Some(until) = self.paused_until(account, now) {
            return (Vec::new(), Some(until));
        }
        self.account_state(account, sender, now, |state| {
            if state.hold_until > now {
                return (Vec::new(), Some(state.hold_until));
            }
            let quota = state.quota(now);
            if quota.remaining == 0 {
                return (Vec::new(), Some(quota.next_free_ms));
            }
            let want = state
                .concurrency
                .current
                .min(u32::try_from(due).unwrap_or(u32::MAX))
                .min(u32::try_from(quota.remaining).unwrap_or(u32::MAX));
            let start = state.workers;
            let spawn: Vec<u32> = (start..want.max(start)).collect();
            state.workers += spawn.len() as u32;
            (spawn, None)
        })
    }

    fn paused_until(&self, account: &str, now: u64) -> Option<u64> {
        guard(&self.store)
            .pauses(now)
            .ok()
            .and_then(|pauses| pauses.get(account).map(|(until, _)| *until))
    }

    /// Why an account cannot send now, with when it can: a pause, a hold after failures, the
    /// daily quota or the pace.
    fn blocked(&self, account: &str, sender: &Sender, now: u64, take_token: bool) -> Option<u64> {
        if let Some(until) = self.paused_until(account, now) {
            return Some(until);
        }
        self.account_state(account, sender, now, |state| {
            if state.hold_until > now {
                return Some(state.hold_until);
            }
            let quota = state.quota(now);
            if quota.remaining == 0 {
                return Some(quota.next_free_ms);
            }
            if take_token && let Err(at) = state.bucket.take(now) {
                return Some(at);
            }
            state.in_flight += 1;
            None
        })
    }

    /// The worker's next entries: up to `want` at once, as many as the account's pace and
    /// quota allow, taken in one transaction.
    fn next_for(&self, account: &str, sender: &Sender, index: u32, want: usize) -> Next {
        let now = now_ms();
        let too_many = self.account_state(account, sender, now, |state| {
            index >= state.concurrency.current
        });
        if too_many || *self.stop.borrow() {
            return Next::Done;
        }
        if let Some(at) = self.paused_until(account, now) {
            return Next::Wait(at);
        }
        let granted = self.account_state(account, sender, now, |state| {
            if state.hold_until > now {
                return Err(state.hold_until);
            }
            let quota = state.quota(now);
            if quota.remaining == 0 {
                return Err(quota.next_free_ms);
            }
            let most = usize::try_from(quota.remaining)
                .unwrap_or(usize::MAX)
                .min(want.max(1));
            let mut granted = 0;
            while granted < most {
                match state.bucket.take(now) {
                    Ok(()) => granted += 1,
                    Err(at) if granted == 0 => return Err(at),
                    Err(_) => break,
                }
            }
            state.in_flight += granted as u32;
            Ok(granted)
        });
        let granted = match granted {
            Ok(granted) => granted,
            Err(at) => return Next::Wait(at),
        };
        let claimed = guard(&self.store).claim_many(account, now, sender.max_recipients, granted);
        let taken = claimed.as_ref().map_or(0, Vec::len);
        if taken < granted {
            self.unreserve(account, sender, granted - taken);
        }
        match claimed {
            Ok(claimed) if !claimed.is_empty() => Next::Entries(claimed),
            other => {
                if let Err(error) = other {
                    tracing::error!("taking entries from the outbox: {error}");
                }
                Next::Done
            }
        }
    }

    /// Gives back the pace and quota held for `n` messages that were not sent.
    fn unreserve(&self, account: &str, sender: &Sender, n: usize) {
        self.account_state(account, sender, now_ms(), |state| {
            state.in_flight = state.in_flight.saturating_sub(n as u32);
            for _ in 0..n {
                state.bucket.give_back();
            }
        });
    }

    /// Entries a worker took but did not send go back to the queue.
    fn give_back(&self, account: &str, sender: &Sender, left: Vec<Claimed>) {
        if left.is_empty() {
            return;
        }
        let ids: Vec<u64> = left.iter().map(|claimed| claimed.id).collect();
        if let Err(error) = guard(&self.store).release(&ids, now_ms()) {
            tracing::error!("putting entries back in the outbox: {error}");
        }
        self.unreserve(account, sender, ids.len());
    }

    /// Records an attempt: the entry's next state, its recipients, the ledger, the account's
    /// pacing. `failure` is the error that kept the attempt from the pending recipients.
    /// Records an attempt. With `kept_back`, a sent message's record may wait there to be
    /// written with the next message's "body sent" ([`OutboxStore::finish_then_mark`]).
    fn settle(
        &self,
        account: &str,
        sender: &Sender,
        claimed: &Claimed,
        tried: Tried,
        kept_back: Option<&mut Option<PendingFinish>>,
    ) -> Attempted {
        let Tried {
            replies: rcpt_replies,
            result,
            transcript,
            counted,
        } = tried;
        let now = now_ms();
        let mut recipients = Vec::new();
        let mut accepted = Vec::new();
        let mut transient_rcpt: Option<Error> = None;
        let delivered = result.is_ok();
        for ((pos, address), reply) in claimed.recipients.iter().zip(&rcpt_replies) {
            let text = Some(reply.to_string().replace("\r\n", " "));
            if reply.code / 100 == 2 {
                if delivered {
                    recipients.push((*pos, RecipientState::Accepted, text));
                    accepted.push(address.clone());
                }
            } else if reply.code >= 500 {
                recipients.push((*pos, RecipientState::Refused, text));
            } else {
                recipients.push((*pos, RecipientState::Pending, text));
                transient_rcpt.get_or_insert_with(|| {
                    Error::Failure(Failure::Reply {
                        reply: reply.clone(),
                        step: Some(Step::Rcpt),
                    })
                });
            }
        }
        let refused = recipients
            .iter()
            .filter(|(_, state, _)| *state == RecipientState::Refused)
            .count();
        let pending = claimed
            .pending_total
            .saturating_sub(accepted.len() + refused);
        let accepted_total = claimed.accepted_before + accepted.len();
        let (reply, failure) = match result {
            Ok(reply) => (
                Some(reply.to_string()),
                transient_rcpt.map(|error| (error, Verdict::Transient)),
            ),
            Err((error, verdict)) => {
                let reply = state::reply_of(&error).map(|reply| reply.to_string());
                // A recipient refused for now wins over the others' permanent refusals: it
                // is worth another attempt.
                match (verdict, transient_rcpt) {
                    (Verdict::Permanent, Some(transient)) if pending > 0 => {
                        (reply, Some((transient, Verdict::Transient)))
                    }
                    (verdict, _) => (reply, Some((error, verdict))),
                }
            }
        };
        let attempts = claimed.attempts + u32::from(counted);
        let next = state::after_attempt(
            &state::Attempt {
                failure: failure
                    .as_ref()
                    .map(|(error, verdict)| (error, verdict.clone())),
                pending,
                accepted: accepted_total,
                attempts: attempts.max(1),
                queued_at_ms: claimed.queued_ms,
                now_ms: now,
            },
            &self.config.backoff,
            rand::random::<f64>(),
        );
        let (next_state, next_attempt_ms) = if counted {
            (next.state, next.next_attempt_ms)
        } else {
            // A pooled connection that had gone stale: the message never left, so it goes
            // again at once on a new connection, with no attempt counted.
            (EntryState::Queued, Some(now))
        };
        let keep = self
            .keep_transcripts
            .load(std::sync::atomic::Ordering::Relaxed)
            || claimed.keep_transcript
            || !matches!(next_state, EntryState::Sent | EntryState::Queued);
        let error = failure.map(|(error, _)| error);
        let throttled = error.as_ref().is_some_and(state::is_throttle);
        let over_quota = next.state == EntryState::Deferred
            && error
                .as_ref()
                .is_some_and(|error| state::classify(error) == Verdict::OverQuota);
        let early = error.as_ref().is_some_and(|error| {
            matches!(
                error.step(),
                Some(
                    Step::Dns
                        | Step::Tcp
                        | Step::Tls
                        | Step::Greeting
                        | Step::Ehlo
                        | Step::StartTls
                        | Step::Auth
                        | Step::Mail
                )
            )
        });
        // A sign-in or connection the server refuses for good would meet every entry the
        // same way: in the background the account pauses (one refusal, not one per entry) until
        // its profile or secret changes, or an entry is retried.
        let refused_for_good =
            kept_back.is_some() && counted && early && next.state == EntryState::Failed;
        let pause_until = self.account_state(account, sender, now, |state| {
            state.in_flight = state.in_flight.saturating_sub(1);
            if !accepted.is_empty() {
                state.sent.push_back(now);
                state.concurrency.succeeded();
                state.failures = 0;
            }
            if throttled {
                state.concurrency.throttled();
            }
            if counted
                && (throttled || (early && next.state == EntryState::Deferred && !over_quota))
            {
                // The account, not only the entry, waits: the next entry would meet the same.
                state.failures += 1;
                state.hold_until =
                    now + self.config.backoff.delay_ms(state.failures, rand::random());
            }
            over_quota.then(|| state.quota(now).next_free_ms.max(now + 60_000))
        });
        let finished = Finished {
            state: next_state,
            next_attempt_ms,
            counted,
            recipients,
            last_reply: reply.clone(),
            diagnosis: next.diagnosis,
            transcript: keep.then(|| transcript.clone()),
            accepted: accepted.clone(),
        };
        let mut store = guard(&self.store);
        match kept_back {
            // A message that went, with nothing else to record, waits for the next one's
            // commit: it is "body sent" already, so a crash meanwhile leaves it ambiguous,
            // never sent twice.
            Some(slot) if next_state == EntryState::Sent && pause_until.is_none() => {
                let earlier = slot.replace(PendingFinish {
                    id: claimed.id,
                    account: account.to_owned(),
                    finished,
                    now_ms: now,
                });
                if let Some(earlier) = earlier {
                    write_pending(&mut store, &earlier);
                }
            }
            _ => {
                if let Err(error) = store.finish(claimed.id, account, &finished, now) {
                    tracing::error!("recording entry {} in the outbox: {error}", claimed.id);
                }
            }
        }
        if let Some(until) = pause_until {
            let reason = format!(
                "The server says this account is over its daily sending limit; sending resumes at {}.",
                local_time(until, now, local_offset())
            );
            if let Err(error) = store.pause(account, until, &reason) {
                tracing::error!("pausing {account}: {error}");
            }
        } else if refused_for_good {
            let reply = reply
                .as_deref()
                .unwrap_or("the server refused the connection");
            let reason = format!(
                "{REFUSED_FOR_GOOD} ({}); the other messages wait. Fix the profile or its \
                 password, then retry the failed message.",
                reply.lines().next().unwrap_or(reply).trim()
            );
            if let Err(error) = store.pause(account, now + SIGN_IN_PAUSE_MS, &reason) {
                tracing::error!("pausing {account}: {error}");
            }
        }
        drop(store);
        // Only the summary is stale: the workers go on by themselves, and waking the
        // dispatcher for every message would make it scan the queue once per message.
        self.dirty.store(true, std::sync::atomic::Ordering::Relaxed);
        Attempted {
            state: next_state,
            attempts,
            reply,
            error,
            next_attempt_ms,
            accepted,
            transcript,
        }
    }

    /// Sends one entry now, on a connection of its own that streams its steps and transcript
    /// to `progress`: the page's Send and the CLI's `send`. Transient failures are retried in
    /// place as `retry` allows; after that the entry stays deferred in the outbox.
    pub async fn send_now(
        &self,
        id: u64,
        account: &str,
        sender: &Sender,
        progress: Option<UnboundedSender<Progress>>,
        retry: &RetryPolicy,
    ) -> Option<Attempted> {
        let mut rec = Recorder::new(progress, false);
        let mut attempt = 1;
        loop {
            let now = now_ms();
            if let Some(at) = self.blocked(account, sender, now, false) {
                // Over the quota, paused or held: it waits in the outbox.
                let entry = guard(&self.store).get(id).ok().flatten()?;
                return Some(Attempted {
                    state: entry.state,
                    attempts: entry.attempts,
                    reply: entry.last_reply,
                    error: None,
                    next_attempt_ms: Some(at),
                    accepted: Vec::new(),
                    transcript: rec.into_lines(),
                });
            }
            let claimed = guard(&self.store).claim_entry(id, now, sender.max_recipients);
            let Ok(Some(claimed)) = claimed else {
                self.account_state(account, sender, now, |state| {
                    state.in_flight = state.in_flight.saturating_sub(1);
                });
                return None;
            };
            let (replies, result, back) = match Session::open_with(
                &sender.target,
                &sender.credentials,
                &self.config.timeouts,
                rec,
            )
            .await
            {
                Ok(mut session) => {
                    let (replies, result) = self.transact(&mut session, &claimed, &mut None).await;
                    session.close().await;
                    (replies, result, session.into_parts().0)
                }
                Err((error, back)) => {
                    let verdict = state::classify(&error);
                    (Vec::new(), Err((error, verdict)), back)
                }
            };
            rec = back;
            let lines = rec.lines().to_vec();
            let tried = Tried {
                replies,
                result,
                transcript: lines,
                counted: true,
            };
            let attempted = self.settle(account, sender, &claimed, tried, None);
            if attempted.state == EntryState::Queued && attempted.error.is_none() {
                // More recipients than one transaction carries: the next group goes now.
                continue;
            }
            let wait = retry.delay(attempt);
            let again = attempted.state == EntryState::Deferred
                && attempt < retry.attempts
                && rec.elapsed().saturating_add(wait) <= retry.max_total
                && attempted
                    .error
                    .as_ref()
                    .is_some_and(|error| state::classify(error) == Verdict::Transient);
            if !again {
                return Some(Attempted {
                    transcript: rec.into_lines(),
                    ..attempted
                });
            }
            attempt += 1;
            let reason = attempted
                .error
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default();
            rec.retry(attempt, wait, reason);
            tokio::time::sleep(wait).await;
            // The account's hold is for the background; this retry is the user's.
            self.account_state(account, sender, now_ms(), |state| state.hold_until = 0);
        }
    }

    /// One transaction for `claimed` on `session`, with the body marked as sent at the right
    /// moment.
    async fn transact(
        &self,
        session: &mut Session,
        claimed: &Claimed,
        pending: &mut Option<PendingFinish>,
    ) -> (
        Vec<diagnosis::Reply>,
        Result<diagnosis::Reply, (Error, Verdict)>,
    ) {
        let rcpts: Vec<String> = claimed
            .recipients
            .iter()
            .map(|(_, address)| address.clone())
            .collect();
        let store = &self.store;
        let id = claimed.id;
        let mut mark = move || {
            let mut store = guard(store);
            match pending.take() {
                Some(previous) => match store.finish_then_mark(&previous, id) {
                    Ok(()) => true,
                    Err(error) => {
                        tracing::error!("recording entry {} in the outbox: {error}", previous.id);
                        write_pending(&mut store, &previous);
                        store.mark_body_sent(id).is_ok()
                    }
                },
                None => store.mark_body_sent(id).is_ok(),
            }
        };
        let tx = session
            .deliver(&claimed.mail_from, &rcpts, &claimed.data, &mut mark)
            .await;
        let result = match tx.result {
            TxResult::Accepted(reply) => Ok(reply),
            TxResult::Refused(error) => {
                let verdict = match &error {
                    // Every recipient refused for good is the message's end; one refused for
                    // now is sorted out recipient by recipient.
                    Error::Failure(Failure::Reply {
                        step: Some(Step::Rcpt),
                        reply,
                    }) if reply.code >= 500 => Verdict::Permanent,
                    error => state::classify(error),
                };
                Err((error, verdict))
            }
            TxResult::Unknown(error) => Err((error, Verdict::Unknown)),
        };
        (tx.rcpt_replies, result)
    }

    /// The earliest time a waiting entry can go, with the pauses, holds and quotas that keep
    /// accounts back; `None` when nothing waits.
    pub fn next_send_ms(&self) -> Option<u64> {
        let now = now_ms();
        let store = guard(&self.store);
        let due = store.next_due_by_account().ok()?;
        let pauses = store.pauses(now).ok()?;
        drop(store);
        let mut accounts = guard(&self.accounts);
        due.into_iter()
            .map(|(account, mut at)| {
                if let Some((until, _)) = pauses.get(&account) {
                    at = at.max(*until);
                }
                if let Some(state) = accounts.get_mut(&account) {
                    at = at.max(state.hold_until);
                    let quota = state.quota(now);
                    if quota.remaining == 0 {
                        at = at.max(quota.next_free_ms);
                    }
                }
                at
            })
            .min()
    }

    /// Waits until entry `id` has left the queue and the wire (sent, failed, deferred,
    /// ambiguous or cancelled), for at most `limit`; another process may be delivering it.
    pub async fn wait_for(&self, id: u64, limit: Duration) -> Option<protocol::OutboxEntry> {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let entry = guard(&self.store).get(id).ok().flatten()?;
            let moving = matches!(
                entry.state,
                EntryState::Queued | EntryState::Sending | EntryState::BodySent
            );
            if !moving || tokio::time::Instant::now() >= deadline {
                return Some(entry);
            }
            // One row by its key: cheap enough to ask often, and the user is waiting.
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

async fn worker(
    outbox: Arc<Outbox>,
    senders: Weak<dyn Senders>,
    account: String,
    sender: Sender,
    index: u32,
) {
    let mut session: Option<(String, Session, u32)> = None;
    // Entries taken but not yet sent: they go back to the queue if this worker stops first.
    let mut taken: VecDeque<Claimed> = VecDeque::new();
    // The last sent message's record, written with the next one's "body sent".
    let mut pending: Option<PendingFinish> = None;
    let mut holds = outbox.holds.load(std::sync::atomic::Ordering::Relaxed);
    loop {
        let now_holds = outbox.holds.load(std::sync::atomic::Ordering::Relaxed);
        if now_holds != holds {
            // A campaign was paused or cancelled: what was taken goes back and is claimed
            // again under the new state.
            holds = now_holds;
            outbox.give_back(&account, &sender, taken.drain(..).collect());
        }
        if taken.is_empty() {
            match outbox.next_for(&account, &sender, index, CLAIM_BATCH) {
                Next::Entries(entries) => taken.extend(entries),
                Next::Wait(at) if at.saturating_sub(now_ms()) <= KEEP_IDLE_MS => {
                    // Nothing follows at once, so the last message is recorded now.
                    if let Some(last) = pending.take() {
                        write_pending(&mut guard(&outbox.store), &last);
                    }
                    let wait = Duration::from_millis(at.saturating_sub(now_ms()).max(1));
                    tokio::select! {
                        _ = tokio::time::sleep(wait) => {}
                        _ = outbox.wake.notified() => {}
                    }
                    continue;
                }
                Next::Wait(_) | Next::Done => break,
            }
        }
        if *outbox.stop.borrow() {
            break;
        }
        let Some(claimed) = taken.pop_front() else {
            continue;
        };
        // The entry's own profile: several profiles may send as one account.
        let own = if claimed.profile_id == session.as_ref().map_or("", |(p, _, _)| p.as_str()) {
            Ok(sender.clone())
        } else {
            match senders.upgrade() {
                Some(senders) => senders.sender(&claimed.profile_id),
                None => break,
            }
        };
        let own = match own {
            Ok(own) => own,
            Err(diagnosis) => {
                let error = Error::Invalid {
                    detail: diagnosis.title.clone(),
                };
                outbox.settle(
                    &account,
                    &sender,
                    &claimed,
                    Tried {
                        replies: Vec::new(),
                        result: Err((error, Verdict::Permanent)),
                        transcript: Vec::new(),
                        counted: true,
                    },
                    None,
                );
                continue;
            }
        };
        let reusable = session.as_ref().is_some_and(|(profile, open, used)| {
            *profile == claimed.profile_id
                && open.is_open()
                && *used < own.messages_per_connection.max(1)
        });
        if !reusable {
            if let Some((_, mut old, _)) = session.take() {
                old.close().await;
            }
            let rec = Recorder::new(None, false);
            match Session::open_with(&own.target, &own.credentials, &outbox.config.timeouts, rec)
                .await
            {
                Ok(opened) => session = Some((claimed.profile_id.clone(), opened, 0)),
                Err((error, rec)) => {
                    let verdict = state::classify(&error);
                    outbox.settle(
                        &account,
                        &sender,
                        &claimed,
                        Tried {
                            replies: Vec::new(),
                            result: Err((error, verdict)),
                            transcript: rec.into_lines(),
                            counted: true,
                        },
                        Some(&mut pending),
                    );
                    // The next entries would meet the same: they go back to the queue, and
                    // the account's hold decides when it is tried again.
                    break;
                }
            }
        }
        let Some((_, open, used)) = session.as_mut() else {
            continue;
        };
        let reused = *used > 0;
        *used += 1;
        let (replies, result) = outbox.transact(open, &claimed, &mut pending).await;
        let stale = reused
            && matches!(
                &result,
                Err((
                    Error::ConnectionLost {
                        step: Step::Mail | Step::Rcpt,
                        ..
                    },
                    Verdict::Transient
                ))
            );
        let lines = open.take_transcript();
        let tried = Tried {
            replies,
            result,
            transcript: lines,
            counted: !stale,
        };
        outbox.settle(&account, &sender, &claimed, tried, Some(&mut pending));
        if !open.is_open() {
            session = None;
        }
    }
    if let Some(last) = pending.take() {
        write_pending(&mut guard(&outbox.store), &last);
    }
    outbox.give_back(&account, &sender, taken.into_iter().collect());
    if let Some((_, mut open, _)) = session.take() {
        open.close().await;
    }
    outbox.account_state(&account, &sender, now_ms(), |state| {
        state.workers = state.workers.saturating_sub(1);
    });
    outbox.changed();
}

/// Writes a record kept back for the next message's commit.
fn write_pending(store: &mut OutboxStore, pending: &PendingFinish) {
    if let Err(error) = store.finish(
        pending.id,
        &pending.account,
        &pending.finished,
        pending.now_ms,
    ) {
        tracing::error!("recording entry {} in the outbox: {error}", pending.id);
    }
}

/// What waits for a nudge where there are no signals: nothing ever arrives.
#[cfg(not(unix))]
struct Never;

#[cfg(not(unix))]
impl Never {
    async fn recv(&mut self) -> Option<()> {
        std::future::pending().await
    }
}
