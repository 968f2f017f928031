//! The outbox as the page knows it: the latest summary (from lists, enqueues, progress and the
//! bridge's notices), the newest entries, the entry opened in detail, and what each entry
//! offers to do. Plain Rust, like the rest of `state`, so its tests run natively.

use std::rc::Rc;

use protocol::{
    EntryState, Operation, OperationError, OutboxEntry, OutboxSummary, QuotaView, RequestId,
    StateCounts,
};

use super::Loadable;

/// The list is read again at most this often while the counts change.
pub const RELOAD_EVERY_MS: u32 = 500;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Outbox {
    /// `None` until the bridge has said anything about the outbox.
    pub summary: Option<OutboxSummary>,
    /// The newest entries first, only those in `filter`.
    pub entries: Loadable<Rc<Vec<OutboxEntry>>>,
    /// The state the list was asked for (`None`: all of them).
    pub filter: Option<EntryState>,
    /// The entry opened in detail.
    pub open: Option<OpenEntry>,
    /// The counts as the list was read. When the summary's differ, the list is out of date.
    listed_counts: Option<StateCounts>,
    /// The list request whose answer becomes the list; an older one's brings only its summary.
    latest_list: Option<RequestId>,
}

/// The outbox entry opened in detail, with its recipients and transcript.
#[derive(Debug, Clone, PartialEq)]
pub struct OpenEntry {
    pub id: u64,
    pub content: Loadable<Rc<OutboxEntry>>,
}

impl Outbox {
    /// A list was asked for; until it comes, the old one stays on screen if it is of the
    /// same filter.
    pub(super) fn listing(&mut self, id: RequestId, filter: Option<EntryState>) {
        self.latest_list = Some(id);
        if filter != self.filter || !matches!(self.entries, Loadable::Ready(_)) {
            self.entries = Loadable::Loading;
        }
        self.filter = filter;
    }

    pub(super) fn listed(
        &mut self,
        id: RequestId,
        summary: OutboxSummary,
        mut entries: Vec<OutboxEntry>,
    ) {
        if self.latest_list == Some(id) {
            self.latest_list = None;
            self.listed_counts = Some(summary.counts);
            entries.sort_by_key(|entry| std::cmp::Reverse((entry.queued_at_unix_ms, entry.id)));
            self.entries = Loadable::Ready(Rc::new(entries));
        }
        self.summary = Some(summary);
    }

    pub(super) fn list_failed(&mut self, id: RequestId, error: OperationError) {
        if self.latest_list == Some(id) {
            self.latest_list = None;
            self.listed_counts = None;
            self.entries = Loadable::Failed(error);
        }
    }

    /// News about the whole outbox: a notice, a batch's progress, an enqueue's answer.
    pub(super) fn summarised(&mut self, summary: OutboxSummary) {
        self.summary = Some(summary);
    }

    pub(super) fn quotas(&mut self, quotas: Vec<QuotaView>) {
        if let Some(summary) = self.summary.as_mut() {
            summary.quotas = quotas;
        }
    }

    pub(super) fn opening(&mut self, id: u64) {
        // A re-read (after a retry) keeps showing the entry until the new one arrives.
        match &self.open {
            Some(open) if open.id == id && matches!(open.content, Loadable::Ready(_)) => {}
            _ => {
                self.open = Some(OpenEntry {
                    id,
                    content: Loadable::Loading,
                });
            }
        }
    }

    pub(super) fn opened(&mut self, entry: OutboxEntry) {
        if let Some(open) = self.open.as_mut().filter(|open| open.id == entry.id) {
            open.content = Loadable::Ready(Rc::new(entry));
        }
    }

    pub(super) fn open_failed(&mut self, id: u64, error: OperationError) {
        if let Some(open) = self.open.as_mut().filter(|open| open.id == id) {
            open.content = Loadable::Failed(error);
        }
    }

    pub(super) fn close(&mut self) {
        self.open = None;
    }

    /// A list request is on its way.
    pub fn is_listing(&self) -> bool {
        self.latest_list.is_some()
    }

    /// The counts moved since the list was read, and no newer list is on its way.
    pub fn is_stale(&self) -> bool {
        match (&self.summary, self.listed_counts) {
            (Some(summary), Some(listed)) => summary.counts != listed && !self.is_listing(),
            _ => false,
        }
    }
}

/// What the user can do with an entry, by its state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryAction {
    /// Failed or deferred: send it now.
    Retry,
    /// Queued or deferred: take it out before it goes.
    Cancel,
    /// Ambiguous: send it again with the same Message-ID, which lets a receiving server drop
    /// the copy if the first did arrive.
    SendAgain,
    /// Ambiguous: leave it as it is, taking it that the first try arrived.
    Drop,
}

impl EntryAction {
    /// The actions an entry in `state` offers, in the order the page shows them.
    pub fn offered(state: EntryState) -> &'static [EntryAction] {
        match state {
            EntryState::Failed => &[EntryAction::Retry],
            EntryState::Deferred => &[EntryAction::Retry, EntryAction::Cancel],
            EntryState::Queued => &[EntryAction::Cancel],
            EntryState::Ambiguous => &[EntryAction::SendAgain, EntryAction::Drop],
            EntryState::Sending
            | EntryState::BodySent
            | EntryState::Sent
            | EntryState::Cancelled => &[],
        }
    }

    /// The button's words.
    pub fn label(self) -> &'static str {
        match self {
            EntryAction::Retry => "Retry",
            EntryAction::Cancel => "Cancel",
            EntryAction::SendAgain => "Send again (same Message-ID)",
            EntryAction::Drop => "Drop",
        }
    }

    /// The class the button and its `data-action` carry.
    pub fn name(self) -> &'static str {
        match self {
            EntryAction::Retry => "retry",
            EntryAction::Cancel => "cancel",
            EntryAction::SendAgain => "send-again",
            EntryAction::Drop => "drop",
        }
    }

    pub fn operation(self, ids: Vec<u64>) -> Operation {
        match self {
            EntryAction::Retry => Operation::RetryEntries { ids },
            EntryAction::Cancel => Operation::CancelEntries { ids },
            EntryAction::SendAgain => Operation::ReleaseAmbiguous { ids, resend: true },
            EntryAction::Drop => Operation::ReleaseAmbiguous { ids, resend: false },
        }
    }
}

/// How far the outbox is: `(sent, of)`, where cancelled entries count for neither.
pub fn progress(counts: &StateCounts) -> (u64, u64) {
    (counts.sent, counts.total().saturating_sub(counts.cancelled))
}

/// The states that have entries, with how many, in the protocol's order.
pub fn nonzero_counts(counts: &StateCounts) -> Vec<(EntryState, u64)> {
    EntryState::ALL
        .into_iter()
        .map(|state| (state, counts.get(state)))
        .filter(|(_, count)| *count > 0)
        .collect()
}

/// How long the rest takes, in words: `about 3 minutes left`; `None` when nothing waits.
pub fn time_left(summary: &OutboxSummary) -> Option<String> {
    if summary.counts.pending() == 0 {
        return None;
    }
    Some(match summary.eta_seconds {
        Some(0..60) => "less than a minute left".to_owned(),
        Some(seconds @ 60..3600) => format!("about {} minutes left", seconds.div_ceil(60)),
        Some(seconds) => {
            let minutes = seconds.div_ceil(60);
            format!("about {} h {} min left", minutes / 60, minutes % 60)
        }
        None if summary
            .quotas
            .iter()
            .any(|quota| quota.paused_until_unix_ms.is_some()) =>
        {
            "waiting until the server lets the account send again".to_owned()
        }
        None => "waiting for the daily limit".to_owned(),
    })
}

/// How long to wait before reading the list again, given when it was last asked for.
pub fn reload_wait_ms(last_ms: Option<f64>, now_ms: f64) -> u32 {
    match last_ms {
        None => 0,
        Some(last) => {
            let since = (now_ms - last).max(0.0);
            let every = f64::from(RELOAD_EVERY_MS);
            if since >= every {
                0
            } else {
                // In (0, 500]: the cast cannot overflow or go negative.
                (every - since).ceil() as u32
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use protocol::{Deliverer, Notice, Outcome, ServerMessage};
    use yew::Reducible;

    use super::*;
    use crate::state::{Action, State};

    fn summary(counts: StateCounts) -> OutboxSummary {
        OutboxSummary {
            counts,
            rate_per_minute: 0,
            eta_seconds: None,
            quotas: vec![],
            deliverer: Deliverer::Here,
        }
    }

    fn counts(queued: u64, sent: u64) -> StateCounts {
        StateCounts {
            queued,
            sent,
            ..StateCounts::default()
        }
    }

    fn entry(id: u64, state: EntryState, queued_at: u64) -> OutboxEntry {
        OutboxEntry {
            id,
            batch: 1,
            profile_id: "sandbox".into(),
            profile_name: "Sandbox".into(),
            account: "me@127.0.0.1".into(),
            state,
            message_id: format!("<{id}@example.com>"),
            subject: format!("entry {id}"),
            recipients: vec![],
            size_bytes: 100,
            queued_at_unix_ms: queued_at,
            updated_at_unix_ms: queued_at,
            next_attempt_unix_ms: None,
            attempts: 0,
            last_reply: None,
            diagnosis: None,
            transcript: vec![],
        }
    }

    fn run(state: State, actions: Vec<Action>) -> State {
        let mut state = Rc::new(state);
        for action in actions {
            state = state.reduce(action);
        }
        Rc::unwrap_or_clone(state)
    }

    fn list(id: u64, filter: Option<EntryState>) -> Action {
        Action::Requested {
            id: RequestId(id),
            operation: Operation::ListOutbox {
                state: filter,
                limit: 100,
            },
        }
    }

    fn listed(id: u64, counts: StateCounts, entries: Vec<OutboxEntry>) -> Action {
        Action::Received(ServerMessage::Done {
            id: RequestId(id),
            outcome: Outcome::Outbox {
                summary: summary(counts),
                entries,
            },
        })
    }

    fn notice(counts: StateCounts) -> Action {
        Action::Received(ServerMessage::Notice {
            notice: Notice::Outbox {
                summary: summary(counts),
            },
        })
    }

    #[test]
    fn a_summary_notice_updates_the_counts_and_marks_the_list_stale() {
        let state = run(
            State::new(true),
            vec![
                list(1, None),
                listed(
                    1,
                    counts(2, 0),
                    vec![
                        entry(1, EntryState::Queued, 10),
                        entry(2, EntryState::Queued, 20),
                    ],
                ),
            ],
        );
        assert!(!state.outbox.is_stale());
        let Loadable::Ready(entries) = &state.outbox.entries else {
            panic!("expected the list, got {:?}", state.outbox.entries);
        };
        let ids: Vec<u64> = entries.iter().map(|entry| entry.id).collect();
        assert_eq!(ids, [2, 1], "newest first");

        let state = run(state, vec![notice(counts(1, 1))]);
        let shown = state.outbox.summary.as_ref().map(|summary| summary.counts);
        assert_eq!(shown, Some(counts(1, 1)));
        assert!(state.outbox.is_stale(), "the counts moved since the list");
        // The list stays on screen while the new one loads, and nothing asks twice.
        let state = run(state, vec![list(2, None)]);
        assert!(matches!(state.outbox.entries, Loadable::Ready(_)));
        assert!(!state.outbox.is_stale());
        let state = run(state, vec![listed(2, counts(1, 1), vec![])]);
        assert!(!state.outbox.is_stale());
    }

    #[test]
    fn only_the_newest_list_request_becomes_the_list() {
        let state = run(
            State::new(true),
            vec![
                list(1, None),
                list(2, Some(EntryState::Failed)),
                listed(2, counts(1, 0), vec![entry(7, EntryState::Failed, 5)]),
                // The older answer comes late: its summary is news, its entries are not.
                listed(1, counts(3, 0), vec![entry(8, EntryState::Queued, 9)]),
            ],
        );
        assert_eq!(state.outbox.filter, Some(EntryState::Failed));
        let Loadable::Ready(entries) = &state.outbox.entries else {
            panic!("expected the list, got {:?}", state.outbox.entries);
        };
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0].id, 7);
        assert_eq!(
            state.outbox.summary.map(|summary| summary.counts),
            Some(counts(3, 0))
        );
    }

    #[test]
    fn each_state_offers_its_actions() {
        let cases: [(EntryState, &[EntryAction]); 8] = [
            (EntryState::Queued, &[EntryAction::Cancel]),
            (EntryState::Sending, &[]),
            (EntryState::BodySent, &[]),
            (EntryState::Sent, &[]),
            (
                EntryState::Deferred,
                &[EntryAction::Retry, EntryAction::Cancel],
            ),
            (EntryState::Failed, &[EntryAction::Retry]),
            (
                EntryState::Ambiguous,
                &[EntryAction::SendAgain, EntryAction::Drop],
            ),
            (EntryState::Cancelled, &[]),
        ];
        for (state, expected) in cases {
            assert_eq!(EntryAction::offered(state), expected, "{state:?}");
        }
        // An ambiguous entry goes again only when asked to, with its own Message-ID kept.
        assert_eq!(
            EntryAction::SendAgain.operation(vec![4]),
            Operation::ReleaseAmbiguous {
                ids: vec![4],
                resend: true
            }
        );
        assert_eq!(
            EntryAction::Drop.operation(vec![4]),
            Operation::ReleaseAmbiguous {
                ids: vec![4],
                resend: false
            }
        );
    }

    #[test]
    fn the_progress_leaves_cancelled_entries_out() {
        let counts = StateCounts {
            queued: 2,
            sent: 5,
            failed: 1,
            cancelled: 4,
            ..StateCounts::default()
        };
        assert_eq!(progress(&counts), (5, 8));
        assert_eq!(progress(&StateCounts::default()), (0, 0));
        assert_eq!(
            nonzero_counts(&counts),
            [
                (EntryState::Queued, 2),
                (EntryState::Sent, 5),
                (EntryState::Failed, 1),
                (EntryState::Cancelled, 4)
            ]
        );
    }

    #[test]
    fn the_time_left_reads_well() {
        let check = |pending: u64, eta: Option<u64>, paused: bool, expected: Option<&str>| {
            let mut summary = summary(counts(pending, 3));
            summary.eta_seconds = eta;
            if paused {
                summary.quotas.push(QuotaView {
                    account: "me@gmail.com".into(),
                    profiles: vec!["Work".into()],
                    daily_limit: 500,
                    sent_24h: 500,
                    recipients_24h: 500,
                    unique_recipients_24h: 400,
                    remaining: 0,
                    waiting: pending,
                    next_free_unix_ms: None,
                    paused_until_unix_ms: Some(1),
                    pause_reason: Some("550 5.4.5 Daily user sending limit exceeded".into()),
                    concurrency: 0,
                    max_concurrency: 1,
                    summary: String::new(),
                });
            }
            assert_eq!(
                time_left(&summary).as_deref(),
                expected,
                "{pending} pending, eta {eta:?}"
            );
        };
        check(0, None, false, None);
        check(2, Some(20), false, Some("less than a minute left"));
        check(2, Some(61), false, Some("about 2 minutes left"));
        check(
            2,
            Some(3 * 3600 + 5 * 60),
            false,
            Some("about 3 h 5 min left"),
        );
        check(2, None, false, Some("waiting for the daily limit"));
        check(
            2,
            None,
            true,
            Some("waiting until the server lets the account send again"),
        );
    }

    #[test]
    fn reloads_wait_out_the_throttle() {
        let cases = [
            (None, 1000.0, 0),
            (Some(1000.0), 1000.0, 500),
            (Some(1000.0), 1200.0, 300),
            (Some(1000.0), 1500.0, 0),
            (Some(1000.0), 9000.0, 0),
            // A clock that went backwards waits the whole pause, no more.
            (Some(2000.0), 1000.0, 500),
        ];
        for (last, now, expected) in cases {
            assert_eq!(reload_wait_ms(last, now), expected, "{last:?} {now}");
        }
    }
}
