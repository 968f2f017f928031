//! The app's state: one value, changed only by [`Action`]s, so every panel reads the same facts.
//!
//! The reducer is plain Rust with no browser calls, so its tests run natively with `cargo test`.
//!
//! # Layout
//! - `outbox`: the outbox's part of the state, and what each entry offers to do.

mod outbox;

use std::collections::BTreeMap;
use std::rc::Rc;

use protocol::{
    CapturedMessage, CheckReport, Direction, ErrorKind, HistoryEntry, MessageSummary, Notice,
    Operation, OperationError, Outcome, ProfileView, Progress, QueuedReport, RequestId,
    SecretState, SendReport, ServerMessage, StepReport, TranscriptLine,
};
use yew::Reducible;

pub use outbox::{EntryAction, Outbox, nonzero_counts, progress, reload_wait_ms, time_left};

/// The close code the bridge uses for every pairing failure (wrong token, or too many tries).
pub const CLOSE_PAIRING_FAILED: u16 = 4401;
/// The close code after the bridge refused the page's protocol version.
pub const CLOSE_VERSION_MISMATCH: u16 = 4400;

/// Where the connection to the bridge stands.
#[derive(Debug, Clone, PartialEq)]
pub enum Connection {
    /// The page was opened without `#pair=...` and this tab remembers no token.
    NoToken,
    Connecting,
    Connected {
        bridge_version: String,
        /// Where the bridge keeps secrets, in words.
        secret_store: String,
    },
    /// The connection dropped after it was open; the page tries again in `retry_in_ms`.
    Lost {
        retry_in_ms: u32,
    },
    /// Nothing answered at `/ws`; the page tries again in `retry_in_ms`.
    NoBridge {
        retry_in_ms: u32,
    },
    /// The bridge refused the pairing token (close code 4401). The page does not retry by
    /// itself: every wrong try counts towards the bridge's lockout.
    Refused,
    /// The page and the bridge speak different protocol versions.
    Incompatible {
        message: String,
        fix: Option<String>,
    },
}

/// Something the page asked for, while it loads and once it has arrived.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum Loadable<T> {
    #[default]
    Idle,
    Loading,
    Ready(T),
    Failed(OperationError),
}

/// The check, send or test send started last, with its live steps and transcript. One runs at a
/// time, and the transcript panel shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct Run {
    pub id: RequestId,
    /// Kept so that "Try again" repeats exactly what ran.
    pub operation: Operation,
    /// DNS, TCP, TLS, EHLO, AUTH, ... as they finish (a check streams them).
    pub steps: Vec<StepReport>,
    pub transcript: Vec<TranscriptLine>,
    /// `None` while the bridge is still working.
    pub result: Option<Result<Outcome, OperationError>>,
    /// A send with "verify at": what the receiving mailbox showed (the send's own outcome is
    /// `result`).
    pub verified: Option<Rc<protocol::SentAndVerified>>,
}

impl Run {
    pub fn is_test(&self) -> bool {
        matches!(self.operation, Operation::SendTest { .. })
    }

    pub fn is_check(&self) -> bool {
        matches!(self.operation, Operation::CheckConnection { .. })
    }

    pub fn is_running(&self) -> bool {
        self.result.is_none()
    }

    /// The send's report, once the server accepted the message.
    pub fn sent(&self) -> Option<&SendReport> {
        match &self.result {
            Some(Ok(Outcome::Sent(report))) => Some(report),
            _ => None,
        }
    }

    /// The send's report when the message could not go at once and waits in the outbox.
    pub fn queued(&self) -> Option<&QueuedReport> {
        match &self.result {
            Some(Ok(Outcome::Queued(report))) => Some(report),
            _ => None,
        }
    }

    /// The check's report, once it finished (a failed check is a report too).
    pub fn checked(&self) -> Option<&CheckReport> {
        match &self.result {
            Some(Ok(Outcome::Checked(report))) => Some(report),
            _ => None,
        }
    }

    pub fn error(&self) -> Option<&OperationError> {
        match &self.result {
            Some(Err(error)) => Some(error),
            _ => None,
        }
    }
}

/// The sandbox message opened in the inbox.
#[derive(Debug, Clone, PartialEq)]
pub struct OpenMessage {
    pub id: u64,
    pub content: Loadable<Rc<CapturedMessage>>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct State {
    pub connection: Connection,
    pub profiles: Loadable<Rc<Vec<ProfileView>>>,
    pub run: Option<Run>,
    /// Newest first.
    pub history: Loadable<Rc<Vec<HistoryEntry>>>,
    /// Newest first.
    pub inbox: Loadable<Rc<Vec<MessageSummary>>>,
    pub message: Option<OpenMessage>,
    pub outbox: Outbox,
    /// A failure that belongs to no request, such as a message the bridge could not read.
    pub alert: Option<String>,
    /// A consent waiting for the browser: the request, and the URL to open.
    pub consent: Option<(RequestId, String)>,
    /// What each request in flight is for, so that its failure lands in the right panel.
    pending: BTreeMap<RequestId, Purpose>,
}

/// What a request was for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Purpose {
    Profiles,
    Run,
    History,
    Inbox,
    Message(u64),
    OutboxList,
    OutboxEntry(u64),
    Other,
}

impl Purpose {
    fn of(operation: &Operation) -> Purpose {
        match operation {
            Operation::ListProfiles => Purpose::Profiles,
            Operation::Send { .. }
            | Operation::SendVerifyingAt { .. }
            | Operation::SendTest { .. }
            | Operation::CheckConnection { .. } => Purpose::Run,
            Operation::ReadHistory { .. } => Purpose::History,
            Operation::ListSandboxMessages => Purpose::Inbox,
            Operation::ReadSandboxMessage { id } => Purpose::Message(*id),
            Operation::ListOutbox { .. } => Purpose::OutboxList,
            Operation::ReadOutboxEntry { id } => Purpose::OutboxEntry(*id),
            _ => Purpose::Other,
        }
    }
}

pub enum Action {
    Connecting,
    /// A message from the bridge.
    Received(ServerMessage),
    /// A message from the bridge that the page could not read.
    Unreadable(String),
    /// The socket closed. `opened` says whether it had opened at all; `retry_in_ms` is `None`
    /// when the page will not try again by itself.
    Closed {
        code: u16,
        opened: bool,
        retry_in_ms: Option<u32>,
    },
    /// The page sent a request (or found it could not, and a `Failed` follows).
    Requested {
        id: RequestId,
        operation: Operation,
    },
    CloseMessage,
    CloseOutboxEntry,
    DismissAlert,
}

impl State {
    /// The state of a page that has a pairing token (`true`) or has none.
    pub fn new(has_token: bool) -> State {
        State {
            connection: if has_token {
                Connection::Connecting
            } else {
                Connection::NoToken
            },
            profiles: Loadable::Idle,
            run: None,
            history: Loadable::Idle,
            inbox: Loadable::Idle,
            message: None,
            outbox: Outbox::default(),
            alert: None,
            consent: None,
            pending: BTreeMap::new(),
        }
    }

    pub fn is_connected(&self) -> bool {
        matches!(self.connection, Connection::Connected { .. })
    }

    fn apply(&mut self, action: Action) {
        match action {
            Action::Connecting => self.connection = Connection::Connecting,
            Action::Received(message) => self.receive(message),
            Action::Unreadable(detail) => {
                self.alert = Some(format!(
                    "The page could not read a message from the bridge ({detail}). Reload the page; if it happens again, the page and the bridge may be different versions."
                ));
            }
            Action::Closed {
                code,
                opened,
                retry_in_ms,
            } => self.closed(code, opened, retry_in_ms),
            Action::Requested { id, operation } => self.requested(id, operation),
            Action::CloseMessage => self.message = None,
            Action::CloseOutboxEntry => self.outbox.close(),
            Action::DismissAlert => self.alert = None,
        }
    }

    fn requested(&mut self, id: RequestId, operation: Operation) {
        let purpose = Purpose::of(&operation);
        self.pending.insert(id, purpose);
        match purpose {
            // A refresh keeps showing the old list until the new one arrives.
            Purpose::Profiles if !matches!(self.profiles, Loadable::Ready(_)) => {
                self.profiles = Loadable::Loading;
            }
            Purpose::Inbox if !matches!(self.inbox, Loadable::Ready(_)) => {
                self.inbox = Loadable::Loading;
            }
            Purpose::History if !matches!(self.history, Loadable::Ready(_)) => {
                self.history = Loadable::Loading;
            }
            Purpose::Run => {
                self.run = Some(Run {
                    id,
                    operation,
                    steps: Vec::new(),
                    transcript: Vec::new(),
                    result: None,
                    verified: None,
                });
            }
            Purpose::Message(message) => {
                self.message = Some(OpenMessage {
                    id: message,
                    content: Loadable::Loading,
                });
            }
            Purpose::OutboxList => {
                if let Operation::ListOutbox { state, .. } = operation {
                    self.outbox.listing(id, state);
                }
            }
            Purpose::OutboxEntry(entry) => self.outbox.opening(entry),
            Purpose::Profiles | Purpose::History | Purpose::Inbox | Purpose::Other => {}
        }
    }

    fn receive(&mut self, message: ServerMessage) {
        match message {
            ServerMessage::Welcome {
                bridge_version,
                secret_store,
                ..
            } => {
                self.connection = Connection::Connected {
                    bridge_version,
                    secret_store,
                };
                self.alert = None;
            }
            ServerMessage::Progress { id, progress } => self.progress(id, progress),
            ServerMessage::Done { id, outcome } => {
                self.pending.remove(&id);
                self.done(id, outcome);
            }
            ServerMessage::Failed {
                id: Some(id),
                error,
            } => {
                let purpose = self.pending.remove(&id).unwrap_or(Purpose::Other);
                self.failed(id, purpose, error);
            }
            ServerMessage::Failed { id: None, error } => {
                if error.kind == ErrorKind::VersionMismatch {
                    self.connection = Connection::Incompatible {
                        message: error.message,
                        fix: error.fix,
                    };
                } else {
                    self.alert = Some(match error.fix {
                        Some(fix) => format!("{} {fix}", sentence(&error.message)),
                        None => sentence(&error.message),
                    });
                }
            }
            ServerMessage::Notice {
                notice: Notice::SandboxMessageArrived { summary },
            } => {
                // Before the list arrives there is nothing to add to; the list will have it.
                if let Loadable::Ready(messages) = &mut self.inbox
                    && !messages.iter().any(|known| known.id == summary.id)
                {
                    Rc::make_mut(messages).insert(0, summary);
                }
            }
            ServerMessage::Notice {
                notice: Notice::Outbox { summary },
            } => self.outbox.summarised(summary),
        }
    }

    fn progress(&mut self, id: RequestId, progress: Progress) {
        if let Progress::Consent { url, .. } = progress {
            self.consent = Some((id, url));
            return;
        }
        let Some(run) = self.run.as_mut().filter(|run| run.id == id) else {
            return;
        };
        match progress {
            Progress::Transcript(line) => run.transcript.push(line),
            Progress::Retry {
                attempt,
                wait_ms,
                reason,
            } => {
                let at_ms = run.transcript.last().map_or(0, |line| line.at_ms);
                run.transcript.push(TranscriptLine {
                    at_ms,
                    direction: Direction::Note,
                    text: format!(
                        "attempt {attempt} failed ({reason}); trying again in {} s",
                        crate::format::one_decimal(wait_ms, 1000)
                    ),
                });
            }
            Progress::Step(step) => {
                // A step is reported when it starts and again when it ends, and may happen
                // twice (EHLO before and after STARTTLS): an end replaces its running start.
                match run.steps.iter_mut().rev().find(|known| {
                    known.step == step.step && known.status == protocol::StepStatus::Running
                }) {
                    Some(known) => *known = step,
                    None => run.steps.push(step),
                }
            }
            Progress::Upload { .. } | Progress::Consent { .. } => {}
        }
    }

    fn done(&mut self, id: RequestId, outcome: Outcome) {
        if self
            .consent
            .as_ref()
            .is_some_and(|(waiting, _)| *waiting == id)
        {
            self.consent = None;
        }
        match outcome {
            Outcome::OAuthClientSet { profile } => self.done(id, Outcome::Saved { profile }),
            Outcome::OAuthConnected { profile, health }
            | Outcome::TokenHealth { profile, health } => {
                if let Loadable::Ready(profiles) = &mut self.profiles
                    && let Some(view) = Rc::make_mut(profiles)
                        .iter_mut()
                        .find(|view| view.profile.id == profile)
                {
                    view.token = Some(health);
                }
            }
            Outcome::Profiles { profiles } => self.profiles = Loadable::Ready(Rc::new(profiles)),
            Outcome::Saved { profile } => {
                if let Loadable::Ready(profiles) = &mut self.profiles {
                    let profiles = Rc::make_mut(profiles);
                    match profiles
                        .iter_mut()
                        .find(|known| known.profile.id == profile.profile.id)
                    {
                        Some(known) => *known = profile,
                        None => profiles.push(profile),
                    }
                }
            }
            Outcome::Deleted { profile } => {
                if let Loadable::Ready(profiles) = &mut self.profiles {
                    Rc::make_mut(profiles).retain(|known| known.profile.id != profile);
                }
            }
            Outcome::SecretSet { profile } => self.set_secret_state(&profile, SecretState::Stored),
            Outcome::SecretCleared { profile } => {
                self.set_secret_state(&profile, SecretState::Missing);
            }
            Outcome::History { mut entries } => {
                entries.sort_by_key(|entry| std::cmp::Reverse((entry.at_unix_ms, entry.id)));
                self.history = Loadable::Ready(Rc::new(entries));
            }
            Outcome::SandboxMessages { mut messages } => {
                messages.sort_by_key(|m| std::cmp::Reverse((m.received_unix_ms, m.id)));
                self.inbox = Loadable::Ready(Rc::new(messages));
            }
            Outcome::SandboxMessage { message } => {
                if let Some(open) = self
                    .message
                    .as_mut()
                    .filter(|open| open.id == message.summary.id)
                {
                    open.content = Loadable::Ready(Rc::from(message));
                }
            }
            outcome @ (Outcome::Sent(_) | Outcome::Queued(_) | Outcome::Checked(_)) => {
                if let Some(run) = self.run.as_mut().filter(|run| run.id == id) {
                    run.result = Some(Ok(outcome));
                }
            }
            // A send with "verify at": the send is the run's result, the verdict beside it.
            Outcome::SentAndVerified { mut results } => {
                if let Some(run) = self.run.as_mut().filter(|run| run.id == id)
                    && !results.is_empty()
                {
                    let mut done = results.remove(0);
                    if let Some(send) = done.send.take() {
                        run.result = Some(Ok(*send));
                    }
                    run.verified = Some(Rc::new(done));
                }
            }
            Outcome::Outbox { summary, entries } => self.outbox.listed(id, summary, entries),
            Outcome::OutboxEntry { entry } => self.outbox.opened(*entry),
            Outcome::Enqueued { summary, .. } => self.outbox.summarised(summary),
            Outcome::Quotas { quotas } => self.outbox.quotas(quotas),
            // The Outbox view shows what changed (see `Bridge::call`) and reads the list again.
            Outcome::OutboxChanged { .. } => {}
            _ => {}
        }
    }

    fn set_secret_state(&mut self, id: &profile::ProfileId, secret: SecretState) {
        if let Loadable::Ready(profiles) = &mut self.profiles
            && let Some(view) = Rc::make_mut(profiles)
                .iter_mut()
                .find(|view| &view.profile.id == id)
        {
            view.secret = secret;
        }
    }

    fn failed(&mut self, id: RequestId, purpose: Purpose, error: OperationError) {
        if self
            .consent
            .as_ref()
            .is_some_and(|(waiting, _)| *waiting == id)
        {
            self.consent = None;
        }
        match purpose {
            Purpose::Profiles => self.profiles = Loadable::Failed(error),
            Purpose::Inbox => self.inbox = Loadable::Failed(error),
            Purpose::History => self.history = Loadable::Failed(error),
            Purpose::Run => {
                if let Some(run) = self.run.as_mut().filter(|run| run.id == id) {
                    run.result = Some(Err(error));
                }
            }
            Purpose::OutboxList => self.outbox.list_failed(id, error),
            Purpose::OutboxEntry(entry) => self.outbox.open_failed(entry, error),
            Purpose::Message(message) => {
                if let Some(open) = self.message.as_mut().filter(|open| open.id == message) {
                    open.content = Loadable::Failed(error);
                }
            }
            // The component that asked shows the failure (see `Bridge::call`).
            Purpose::Other => {}
        }
    }

    fn closed(&mut self, code: u16, opened: bool, retry_in_ms: Option<u32>) {
        self.connection = match (code, retry_in_ms) {
            (CLOSE_PAIRING_FAILED, _) => Connection::Refused,
            (CLOSE_VERSION_MISMATCH, _) => match &self.connection {
                // The bridge said why in a `Failed` just before closing; keep its words.
                incompatible @ Connection::Incompatible { .. } => incompatible.clone(),
                _ => Connection::Incompatible {
                    message: "the bridge speaks a different protocol version than this page".into(),
                    fix: Some(
                        "Reload the page; if that does not help, update and restart mailbridge."
                            .into(),
                    ),
                },
            },
            (_, Some(retry_in_ms)) if opened => Connection::Lost { retry_in_ms },
            (_, Some(retry_in_ms)) => Connection::NoBridge { retry_in_ms },
            // The page retries on every other close; this only guards a future caller.
            (_, None) => Connection::NoBridge { retry_in_ms: 0 },
        };
        // Whatever was in flight will never be answered on this connection.
        for (id, purpose) in std::mem::take(&mut self.pending) {
            let sending = self
                .run
                .as_ref()
                .is_some_and(|run| run.id == id && !run.is_check());
            let error = connection_lost(purpose, sending);
            self.failed(id, purpose, error);
        }
    }
}

impl Reducible for State {
    type Action = Action;

    fn reduce(self: Rc<Self>, action: Action) -> Rc<Self> {
        let mut state = Rc::unwrap_or_clone(self);
        state.apply(action);
        Rc::new(state)
    }
}

/// The error shown for a request whose connection closed before its answer came.
/// `sending` says whether the request was a send, which may have gone through.
fn connection_lost(purpose: Purpose, sending: bool) -> OperationError {
    let error = OperationError::new(
        ErrorKind::Internal,
        "the connection to the bridge closed before the answer arrived",
    );
    match purpose {
        // Sending again blindly could deliver the message twice.
        Purpose::Run if sending => error.with_fix(
            "The message may have been sent. Check the sandbox inbox or the recipient's mailbox before you send it again.",
        ),
        Purpose::Run => error.with_fix(
            "Press Check connection again once the top of the page says Connected.",
        ),
        _ => error.with_fix("It is asked for again once the page has reconnected."),
    }
}

/// The bridge writes messages as lowercase clauses; panels show them as sentences.
pub fn sentence(text: &str) -> String {
    let mut chars = text.chars();
    let mut out: String = match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => return String::new(),
    };
    if !out.ends_with(['.', '!', '?']) {
        out.push('.');
    }
    out
}

#[cfg(test)]
mod tests {
    use diagnosis::{Diagnosis, Retry};
    use profile::ProfileId;
    use protocol::{Draft, Operation, OperationError, ServerMessage};

    use super::*;

    fn reduce(state: State, actions: Vec<Action>) -> State {
        let mut state = Rc::new(state);
        for action in actions {
            state = state.reduce(action);
        }
        Rc::unwrap_or_clone(state)
    }

    fn connected() -> State {
        reduce(
            State::new(true),
            vec![Action::Received(ServerMessage::Welcome {
                protocol: protocol::PROTOCOL_VERSION,
                bridge_version: "0.1.0".into(),
                secret_store: "OS keyring".into(),
            })],
        )
    }

    fn state_with(run: Run) -> State {
        let mut state = connected();
        state.pending.insert(run.id, Purpose::Run);
        state.run = Some(run);
        state
    }

    fn send(id: u64) -> Action {
        Action::Requested {
            id: RequestId(id),
            operation: Operation::Send {
                profile: ProfileId("sandbox".into()),
                draft: Draft::default(),
            },
        }
    }

    fn summary(id: u64, at: u64) -> MessageSummary {
        MessageSummary {
            id,
            received_unix_ms: at,
            from: "ann@example.com".into(),
            to: vec!["bob@example.com".into()],
            subject: format!("message {id}"),
            size_bytes: 100,
        }
    }

    fn line(at_ms: u64, direction: Direction, text: &str) -> TranscriptLine {
        TranscriptLine {
            at_ms,
            direction,
            text: text.into(),
        }
    }

    #[test]
    fn a_send_collects_its_transcript_and_then_its_report() {
        let report = SendReport {
            message_id: "<1@example.com>".into(),
            reply: "250 2.0.0 OK".into(),
            attempts: 1,
            recipients: vec!["bob@example.com".into()],
            warnings: vec![],
            history_id: 1,
        };
        let state = reduce(
            connected(),
            vec![
                send(1),
                Action::Received(ServerMessage::Progress {
                    id: RequestId(1),
                    progress: Progress::Transcript(line(3, Direction::Client, "EHLO x")),
                }),
                // Another operation's lines stay out of this transcript.
                Action::Received(ServerMessage::Progress {
                    id: RequestId(9),
                    progress: Progress::Transcript(line(4, Direction::Server, "250 other")),
                }),
                Action::Received(ServerMessage::Done {
                    id: RequestId(1),
                    outcome: Outcome::Sent(report.clone()),
                }),
            ],
        );
        let run = state.run.expect("a send run");
        assert_eq!(run.transcript, vec![line(3, Direction::Client, "EHLO x")]);
        assert_eq!(run.sent(), Some(&report));
        assert!(state.pending.is_empty());
    }

    #[test]
    fn a_queued_send_is_a_result_not_a_failure() {
        let report = QueuedReport {
            entry: 12,
            message_id: "<12@example.com>".into(),
            recipients: vec!["bob@example.com".into()],
            state: protocol::EntryState::Deferred,
            reason: "Gmail said 421 try again later; retrying at 10:42".into(),
            next_attempt_unix_ms: Some(1_800_000_000_000),
            diagnosis: None,
            warnings: vec![],
        };
        let state = reduce(
            connected(),
            vec![
                send(1),
                Action::Received(ServerMessage::Done {
                    id: RequestId(1),
                    outcome: Outcome::Queued(report.clone()),
                }),
            ],
        );
        let run = state.run.expect("a send run");
        assert!(!run.is_running());
        assert_eq!(run.queued(), Some(&report));
        assert_eq!(run.sent(), None);
        assert_eq!(run.error(), None);
    }

    #[test]
    fn a_failed_send_keeps_its_diagnosis() {
        let diagnosis = Diagnosis {
            title: "Username and password not accepted".into(),
            what_happened: "Gmail refused the sign-in.".into(),
            likely_cause: "The App Password is wrong.".into(),
            fix: vec!["Make a new App Password.".into()],
            help_link: None,
            retry: Retry::Permanent,
            reply: Some("535 5.7.8 ...".into()),
        };
        let state = reduce(
            connected(),
            vec![
                send(2),
                Action::Received(ServerMessage::Failed {
                    id: Some(RequestId(2)),
                    error: OperationError::smtp(diagnosis.clone()),
                }),
            ],
        );
        let error = match state.run.and_then(|run| run.result) {
            Some(Err(error)) => error,
            other => panic!("expected a failure, got {other:?}"),
        };
        assert_eq!(error.diagnosis.as_deref(), Some(&diagnosis));
    }

    #[test]
    fn closes_are_told_apart() {
        let check = |code, opened, retry, expected: Connection| {
            let state = reduce(
                State::new(true),
                vec![Action::Closed {
                    code,
                    opened,
                    retry_in_ms: retry,
                }],
            );
            assert_eq!(state.connection, expected, "code {code}, opened {opened}");
        };
        check(4401, true, None, Connection::Refused);
        check(
            1006,
            false,
            Some(500),
            Connection::NoBridge { retry_in_ms: 500 },
        );
        check(
            1001,
            true,
            Some(1000),
            Connection::Lost { retry_in_ms: 1000 },
        );
        check(
            1006,
            true,
            Some(2000),
            Connection::Lost { retry_in_ms: 2000 },
        );
    }

    #[test]
    fn a_version_mismatch_keeps_the_bridges_words() {
        let state = reduce(
            State::new(true),
            vec![
                Action::Received(ServerMessage::Failed {
                    id: None,
                    error: OperationError::version_mismatch(0),
                }),
                Action::Closed {
                    code: 4400,
                    opened: true,
                    retry_in_ms: None,
                },
            ],
        );
        let Connection::Incompatible { message, fix } = state.connection else {
            panic!("expected Incompatible, got {:?}", state.connection);
        };
        assert!(message.contains("version 0"), "{message}");
        assert!(fix.is_some_and(|fix| fix.contains("Reload")));
    }

    #[test]
    fn a_lost_connection_fails_what_was_in_flight() {
        let state = reduce(
            connected(),
            vec![
                send(3),
                Action::Requested {
                    id: RequestId(4),
                    operation: Operation::ListProfiles,
                },
                Action::Closed {
                    code: 1006,
                    opened: true,
                    retry_in_ms: Some(500),
                },
            ],
        );
        match state.run.and_then(|run| run.result) {
            Some(Err(error)) => assert!(
                error
                    .fix
                    .is_some_and(|fix| fix.contains("may have been sent")),
                "a lost send must warn that it may have gone through"
            ),
            other => panic!("expected a failure, got {other:?}"),
        }
        assert!(matches!(state.profiles, Loadable::Failed(_)));
        assert!(state.pending.is_empty());
    }

    #[test]
    fn a_lost_check_does_not_say_a_message_may_have_gone() {
        let state = reduce(
            connected(),
            vec![
                Action::Requested {
                    id: RequestId(11),
                    operation: Operation::CheckConnection {
                        profile: ProfileId("sandbox".into()),
                    },
                },
                Action::Closed {
                    code: 1006,
                    opened: true,
                    retry_in_ms: Some(500),
                },
            ],
        );
        let fix = state
            .run
            .and_then(|run| run.error().and_then(|error| error.fix.clone()))
            .unwrap_or_default();
        assert!(fix.contains("Check connection again"), "{fix}");
    }

    #[test]
    fn arriving_mail_goes_to_the_top_of_the_inbox_once() {
        let state = reduce(
            connected(),
            vec![
                Action::Requested {
                    id: RequestId(5),
                    operation: Operation::ListSandboxMessages,
                },
                Action::Received(ServerMessage::Done {
                    id: RequestId(5),
                    outcome: Outcome::SandboxMessages {
                        messages: vec![summary(1, 10), summary(2, 20)],
                    },
                }),
                Action::Received(ServerMessage::Notice {
                    notice: Notice::SandboxMessageArrived {
                        summary: summary(3, 30),
                    },
                }),
                Action::Received(ServerMessage::Notice {
                    notice: Notice::SandboxMessageArrived {
                        summary: summary(3, 30),
                    },
                }),
            ],
        );
        let Loadable::Ready(messages) = state.inbox else {
            panic!("expected the inbox, got {:?}", state.inbox);
        };
        let ids: Vec<u64> = messages.iter().map(|m| m.id).collect();
        assert_eq!(ids, [3, 2, 1]);
    }

    #[test]
    fn a_refresh_keeps_the_old_list_on_screen() {
        let state = reduce(
            connected(),
            vec![
                Action::Received(ServerMessage::Done {
                    id: RequestId(6),
                    outcome: Outcome::Profiles { profiles: vec![] },
                }),
                Action::Requested {
                    id: RequestId(7),
                    operation: Operation::ListProfiles,
                },
            ],
        );
        assert!(matches!(state.profiles, Loadable::Ready(_)));
    }

    #[test]
    fn a_check_keeps_the_latest_report_of_each_step() {
        let step = |status, duration_ms| StepReport {
            step: diagnosis::Step::Tls,
            status,
            duration_ms,
            detail: String::new(),
            reply: None,
        };
        let state = reduce(
            connected(),
            vec![
                Action::Requested {
                    id: RequestId(8),
                    operation: Operation::CheckConnection {
                        profile: ProfileId("sandbox".into()),
                    },
                },
                Action::Received(ServerMessage::Progress {
                    id: RequestId(8),
                    progress: Progress::Step(step(protocol::StepStatus::Running, 0)),
                }),
                Action::Received(ServerMessage::Progress {
                    id: RequestId(8),
                    progress: Progress::Step(step(protocol::StepStatus::Ok, 12)),
                }),
            ],
        );
        let run = state.run.expect("a check run");
        assert!(run.is_check() && run.is_running());
        assert_eq!(run.steps, vec![step(protocol::StepStatus::Ok, 12)]);

        // The same step again (EHLO after STARTTLS) is a new line, not a replacement.
        let state = reduce(
            state_with(run),
            vec![Action::Received(ServerMessage::Progress {
                id: RequestId(8),
                progress: Progress::Step(step(protocol::StepStatus::Ok, 3)),
            })],
        );
        let steps = state.run.map(|run| run.steps).unwrap_or_default();
        assert_eq!(steps.len(), 2);
    }

    #[test]
    fn saved_deleted_and_secret_outcomes_update_the_list() {
        let view = |id: &str, secret| ProfileView {
            profile: profile::Profile::sandbox(ProfileId(id.into()), id, 2587),
            secret,
            warnings: vec![],
            token: None,
        };
        let done = |id, outcome| {
            Action::Received(ServerMessage::Done {
                id: RequestId(id),
                outcome,
            })
        };
        let mut renamed = view("a", SecretState::Missing);
        renamed.profile.name = "A, renamed".into();
        let state = reduce(
            connected(),
            vec![
                done(
                    1,
                    Outcome::Profiles {
                        profiles: vec![view("a", SecretState::Missing)],
                    },
                ),
                done(
                    2,
                    Outcome::Saved {
                        profile: view("b", SecretState::Missing),
                    },
                ),
                done(3, Outcome::Saved { profile: renamed }),
                done(
                    4,
                    Outcome::SecretSet {
                        profile: ProfileId("b".into()),
                    },
                ),
                done(
                    5,
                    Outcome::Deleted {
                        profile: ProfileId("a".into()),
                    },
                ),
            ],
        );
        let Loadable::Ready(profiles) = state.profiles else {
            panic!("expected the list, got {:?}", state.profiles);
        };
        assert_eq!(profiles.len(), 1);
        assert_eq!(profiles[0].profile.id.as_str(), "b");
        assert_eq!(profiles[0].secret, SecretState::Stored);
    }

    #[test]
    fn a_consent_waits_for_its_answer_and_the_answer_sets_the_token_health() {
        let view = ProfileView {
            profile: profile::Profile::sandbox(ProfileId("s".into()), "S", 2587),
            secret: SecretState::Stored,
            warnings: vec![],
            token: Some(Box::new(protocol::TokenHealthView::new(
                protocol::TokenState::NeedsConsent,
            ))),
        };
        let waiting = reduce(
            connected(),
            vec![
                Action::Received(ServerMessage::Done {
                    id: RequestId(1),
                    outcome: Outcome::Profiles {
                        profiles: vec![view],
                    },
                }),
                Action::Received(ServerMessage::Progress {
                    id: RequestId(2),
                    progress: Progress::Consent {
                        url: "https://accounts.example/auth?state=x".into(),
                        redirect_uri: "http://127.0.0.1:4000/".into(),
                        timeout_s: 300,
                    },
                }),
            ],
        );
        assert_eq!(
            waiting.consent,
            Some((RequestId(2), "https://accounts.example/auth?state=x".into()))
        );
        let connected = reduce(
            waiting,
            vec![Action::Received(ServerMessage::Done {
                id: RequestId(2),
                outcome: Outcome::OAuthConnected {
                    profile: ProfileId("s".into()),
                    health: Box::new(protocol::TokenHealthView::new(
                        protocol::TokenState::Healthy,
                    )),
                },
            })],
        );
        assert_eq!(connected.consent, None);
        let Loadable::Ready(profiles) = &connected.profiles else {
            panic!("no list");
        };
        assert_eq!(
            profiles[0].token.as_ref().map(|token| token.state),
            Some(protocol::TokenState::Healthy)
        );
    }

    #[test]
    fn messages_become_sentences() {
        assert_eq!(sentence("the page is offline"), "The page is offline.");
        assert_eq!(sentence("Done."), "Done.");
        assert_eq!(sentence(""), "");
    }
}
