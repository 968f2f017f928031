//! The outbox's state machine: what an attempt's result makes of an entry, and when a deferred
//! entry goes again. Pure code: time comes in as milliseconds, randomness as a number.

use diagnosis::{Diagnosis, Reply, Retry};
use protocol::EntryState;

use crate::smtp::Error;

/// Retry timing: exponential from `first` up to `max`, with jitter, until `max_age` after the
/// entry was queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    pub first_ms: u64,
    pub max_ms: u64,
    pub max_age_ms: u64,
}

impl Default for Backoff {
    fn default() -> Backoff {
        Backoff {
            first_ms: 1_000,
            max_ms: 30 * 60 * 1_000,
            max_age_ms: 3 * 24 * 60 * 60 * 1_000,
        }
    }
}

impl Backoff {
    /// The wait after `attempts` failed attempts (1 for the first), between half and all of
    /// `first * 2^(attempts-1)` capped at `max`; `unit` in `[0, 1)` picks where, so that many
    /// entries deferred by one outage do not all come back at the same moment.
    pub fn delay_ms(&self, attempts: u32, unit: f64) -> u64 {
        let exponent = attempts.saturating_sub(1).min(40);
        let full = self
            .first_ms
            .saturating_mul(1u64 << exponent)
            .min(self.max_ms);
        let half = full / 2;
        half + ((full - half) as f64 * unit.clamp(0.0, 1.0)) as u64
    }
}

/// What the server's answer (or its silence) means for the entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Try again later (4xx, a lost connection before the end of the content).
    Transient,
    /// Give up on it (5xx, a message the server can never take).
    Permanent,
    /// The account is over its daily limit: wait for the window, do not count an attempt.
    OverQuota,
    /// The end of the content went out but no answer came back.
    Unknown,
}

/// Classifies a failure that came before the end of the content, or a refusal after it.
pub fn classify(error: &Error) -> Verdict {
    if let Some(reply) = reply_of(error)
        && diagnosis::quota_signal(reply) == Some(diagnosis::QuotaSignal::DailyLimit)
    {
        return Verdict::OverQuota;
    }
    match error.diagnosis().retry {
        Retry::Transient => Verdict::Transient,
        Retry::AfterQuotaWindow => Verdict::OverQuota,
        Retry::Permanent => match error {
            // A broken connection or a server that stopped answering is worth another try,
            // whatever the step.
            Error::ConnectionLost { .. } | Error::Unreachable { .. } => Verdict::Transient,
            Error::Failure(diagnosis::Failure::Timeout { .. }) => Verdict::Transient,
            _ => Verdict::Permanent,
        },
    }
}

/// The server's reply inside an error, when there is one.
pub fn reply_of(error: &Error) -> Option<&Reply> {
    match error {
        Error::Failure(diagnosis::Failure::Reply { reply, .. }) => Some(reply),
        Error::OAuthRejected { reply, .. } => Some(reply),
        _ => None,
    }
}

/// Whether the reply asks the client to slow down (421, 454, 450 4.2.1, 4.7.x).
pub fn is_throttle(error: &Error) -> bool {
    reply_of(error).is_some_and(|reply| {
        diagnosis::quota_signal(reply) == Some(diagnosis::QuotaSignal::Throttle)
    })
}

/// The entry's next state after an attempt whose recipients ended as counted.
#[derive(Debug, Clone, PartialEq)]
pub struct Next {
    pub state: EntryState,
    /// When a deferred entry goes again.
    pub next_attempt_ms: Option<u64>,
    pub diagnosis: Option<Diagnosis>,
}

/// What an attempt did, for [`after_attempt`].
#[derive(Debug, Clone)]
pub struct Attempt<'a> {
    /// Why the attempt did not take the pending recipients, when it did not.
    pub failure: Option<(&'a Error, Verdict)>,
    /// Recipients that still wait (neither accepted nor refused for good).
    pub pending: usize,
    /// Recipients the server has taken, over all attempts.
    pub accepted: usize,
    /// Attempts so far, this one included.
    pub attempts: u32,
    pub queued_at_ms: u64,
    pub now_ms: u64,
}

/// Decides what an entry becomes after an attempt; `unit` in `[0, 1)` is the backoff's jitter.
pub fn after_attempt(attempt: &Attempt<'_>, backoff: &Backoff, unit: f64) -> Next {
    let Attempt {
        failure,
        pending,
        accepted,
        attempts,
        queued_at_ms,
        now_ms,
    } = attempt.clone();
    let Some((error, verdict)) = failure else {
        return if pending > 0 {
            // More recipients than one transaction may carry: the rest go at once.
            Next {
                state: EntryState::Queued,
                next_attempt_ms: Some(now_ms),
                diagnosis: None,
            }
        } else if accepted > 0 {
            Next {
                state: EntryState::Sent,
                next_attempt_ms: None,
                diagnosis: None,
            }
        } else {
            Next {
                state: EntryState::Failed,
                next_attempt_ms: None,
                diagnosis: None,
            }
        };
    };
    let diagnosis = Some(error.diagnosis());
    match verdict {
        Verdict::Unknown => Next {
            state: EntryState::Ambiguous,
            next_attempt_ms: None,
            diagnosis,
        },
        Verdict::Permanent if pending == 0 && accepted > 0 => Next {
            state: EntryState::Sent,
            next_attempt_ms: None,
            diagnosis,
        },
        Verdict::Permanent => Next {
            state: EntryState::Failed,
            next_attempt_ms: None,
            diagnosis,
        },
        Verdict::OverQuota => Next {
            // The scheduler holds the account until its window frees; the entry waits.
            state: EntryState::Deferred,
            next_attempt_ms: Some(now_ms),
            diagnosis,
        },
        Verdict::Transient => {
            let at = now_ms.saturating_add(backoff.delay_ms(attempts, unit));
            if at.saturating_sub(queued_at_ms) > backoff.max_age_ms {
                Next {
                    state: EntryState::Failed,
                    next_attempt_ms: None,
                    diagnosis,
                }
            } else {
                Next {
                    state: EntryState::Deferred,
                    next_attempt_ms: Some(at),
                    diagnosis,
                }
            }
        }
    }
}

/// What an entry found in `state` when a deliverer takes over the outbox becomes: one left in
/// `Sending` never got to the end of its content, so sending it again is safe; one left in
/// `BodySent` may have been delivered, so it is held for the user.
pub fn after_crash(state: EntryState) -> Option<EntryState> {
    match state {
        EntryState::Sending => Some(EntryState::Queued),
        EntryState::BodySent => Some(EntryState::Ambiguous),
        _ => None,
    }
}

/// Which user actions apply to an entry in `state`.
pub fn can_retry(state: EntryState) -> bool {
    matches!(state, EntryState::Failed | EntryState::Deferred)
}

pub fn can_cancel(state: EntryState) -> bool {
    matches!(
        state,
        EntryState::Queued | EntryState::Deferred | EntryState::Failed | EntryState::Ambiguous
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use diagnosis::{Failure, Step};

    fn reply(text: &str) -> Error {
        Error::Failure(Failure::Reply {
            reply: Reply::parse(text).expect("a reply"),
            step: Some(Step::Mail),
        })
    }

    #[test]
    fn backoff_doubles_from_one_second_to_thirty_minutes_with_jitter() {
        let backoff = Backoff::default();
        let cases = [
            (1, 0.0, 500),
            (1, 0.999_999, 999),
            (2, 0.0, 1_000),
            (3, 0.5, 3_000),
            (12, 0.0, 900_000),
            (40, 1.0, 1_800_000),
            (u32::MAX, 1.0, 1_800_000),
        ];
        for (attempts, unit, expected) in cases {
            assert_eq!(
                backoff.delay_ms(attempts, unit),
                expected,
                "attempt {attempts}"
            );
        }
    }

    #[test]
    fn replies_are_classified_for_the_outbox() {
        let cases = [
            (
                "421 4.7.0 Try again later, closing connection.",
                Verdict::Transient,
            ),
            (
                "454 4.7.0 Too many login attempts, please try again later.",
                Verdict::Transient,
            ),
            (
                "550 5.4.5 Daily user sending limit exceeded.",
                Verdict::OverQuota,
            ),
            (
                "550 5.1.1 The email account that you tried to reach does not exist.",
                Verdict::Permanent,
            ),
            (
                "552 5.3.4 Your message exceeded Google's message size limits.",
                Verdict::Permanent,
            ),
        ];
        for (text, expected) in cases {
            assert_eq!(classify(&reply(text)), expected, "{text}");
        }
        let lost = Error::ConnectionLost {
            step: Step::Mail,
            detail: "reset".into(),
        };
        assert_eq!(classify(&lost), Verdict::Transient);
        assert!(is_throttle(&reply(
            "421 4.7.0 Try again later, closing connection."
        )));
        assert!(!is_throttle(&reply("550 5.1.1 no such user")));
    }

    #[test]
    fn an_attempt_decides_the_next_state() {
        let backoff = Backoff::default();
        let transient = reply("421 4.7.0 Try again later, closing connection.");
        let permanent = reply("550 5.1.1 The email account does not exist.");
        let day = 24 * 60 * 60 * 1_000;
        // (failure, pending, accepted, attempts, queued at, now) -> state, next attempt
        type Case<'a> = (
            Option<(&'a Error, Verdict)>,
            usize,
            usize,
            u32,
            u64,
            u64,
            EntryState,
            Option<u64>,
        );
        let cases: Vec<Case<'_>> = vec![
            (None, 0, 2, 1, 0, 10, EntryState::Sent, None),
            (None, 3, 100, 1, 0, 10, EntryState::Queued, Some(10)),
            (None, 0, 0, 1, 0, 10, EntryState::Failed, None),
            (
                Some((&transient, Verdict::Transient)),
                1,
                0,
                1,
                0,
                10,
                EntryState::Deferred,
                Some(510),
            ),
            (
                Some((&transient, Verdict::Transient)),
                1,
                0,
                2,
                0,
                3 * day,
                EntryState::Failed,
                None,
            ),
            (
                Some((&permanent, Verdict::Permanent)),
                1,
                0,
                1,
                0,
                10,
                EntryState::Failed,
                None,
            ),
            (
                Some((&permanent, Verdict::Permanent)),
                0,
                1,
                1,
                0,
                10,
                EntryState::Sent,
                None,
            ),
            (
                Some((&transient, Verdict::Unknown)),
                1,
                0,
                1,
                0,
                10,
                EntryState::Ambiguous,
                None,
            ),
            (
                Some((&transient, Verdict::OverQuota)),
                1,
                0,
                1,
                0,
                10,
                EntryState::Deferred,
                Some(10),
            ),
        ];
        for (i, (failure, pending, accepted, attempts, queued, now, state, at)) in
            cases.into_iter().enumerate()
        {
            let attempt = Attempt {
                failure,
                pending,
                accepted,
                attempts,
                queued_at_ms: queued,
                now_ms: now,
            };
            let next = after_attempt(&attempt, &backoff, 0.0);
            assert_eq!((next.state, next.next_attempt_ms), (state, at), "case {i}");
        }
    }

    #[test]
    fn a_crash_requeues_what_never_ended_and_holds_what_may_have_gone() {
        assert_eq!(after_crash(EntryState::Sending), Some(EntryState::Queued));
        assert_eq!(
            after_crash(EntryState::BodySent),
            Some(EntryState::Ambiguous)
        );
        for state in [
            EntryState::Queued,
            EntryState::Sent,
            EntryState::Deferred,
            EntryState::Failed,
            EntryState::Ambiguous,
            EntryState::Cancelled,
        ] {
            assert_eq!(after_crash(state), None, "{state:?}");
        }
    }
}
