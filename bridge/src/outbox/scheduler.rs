//! Pacing: a token bucket per sending account, the concurrency it may use (halved when the
//! server throttles, recovered slowly), and the rolling 24-hour quota read from the ledger.
//! Pure code: every function takes the time as milliseconds since the epoch.

/// Milliseconds in Gmail's rolling quota window.
pub const DAY_MS: u64 = 24 * 60 * 60 * 1_000;

/// Successful sends after which a throttled account gets one more connection back.
const RECOVER_AFTER: u32 = 20;

/// `per_minute` messages a minute, in bursts of a tenth of that, or of up to 5 for slow
/// rates (never more than a minute's worth).
#[derive(Debug, Clone, PartialEq)]
pub struct TokenBucket {
    capacity: f64,
    tokens: f64,
    per_ms: f64,
    last_ms: u64,
}

impl TokenBucket {
    pub fn per_minute(rate: u32, now_ms: u64) -> TokenBucket {
        let rate = f64::from(rate.max(1));
        let capacity = (rate / 10.0).max(rate.min(5.0));
        TokenBucket {
            capacity,
            tokens: capacity,
            per_ms: rate / 60_000.0,
            last_ms: now_ms,
        }
    }

    fn refill(&mut self, now_ms: u64) {
        let elapsed = now_ms.saturating_sub(self.last_ms) as f64;
        self.tokens = (self.tokens + elapsed * self.per_ms).min(self.capacity);
        self.last_ms = self.last_ms.max(now_ms);
    }

    /// Takes a token, or says when the next one is there.
    pub fn take(&mut self, now_ms: u64) -> Result<(), u64> {
        self.refill(now_ms);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Ok(())
        } else {
            // Less a hair, so that float rounding does not turn 1000 ms into 1001.
            let wait = ((1.0 - self.tokens) / self.per_ms - 1e-6).ceil() as u64;
            Err(now_ms + wait.max(1))
        }
    }

    /// Gives back a token taken for a send that did not happen.
    pub fn give_back(&mut self) {
        self.tokens = (self.tokens + 1.0).min(self.capacity);
    }
}

/// How many connections an account may use: its pool size, halved by each throttling reply
/// (never below one), and grown by one after every [`RECOVER_AFTER`] successes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Concurrency {
    pub current: u32,
    pub max: u32,
    successes: u32,
}

impl Concurrency {
    pub fn new(max: u32) -> Concurrency {
        let max = max.max(1);
        Concurrency {
            current: max,
            max,
            successes: 0,
        }
    }

    pub fn throttled(&mut self) {
        self.current = (self.current / 2).max(1);
        self.successes = 0;
    }

    pub fn succeeded(&mut self) {
        if self.current >= self.max {
            return;
        }
        self.successes += 1;
        if self.successes >= RECOVER_AFTER {
            self.current += 1;
            self.successes = 0;
        }
    }

    /// A new pool size from the profile, keeping any throttling in force.
    pub fn resize(&mut self, max: u32) {
        let max = max.max(1);
        if max != self.max {
            self.current = self.current.min(max);
            self.max = max;
        }
    }
}

/// An account's daily quota at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quota {
    pub limit: u64,
    /// Counted sends in the window, plus those in flight.
    pub used: u64,
    pub remaining: u64,
    /// When the next send beyond the limit may start: the oldest counted send turns 24 hours
    /// old (with nothing counted, a day after now).
    pub next_free_ms: u64,
}

/// The quota from the times of the sends counted in the last 24 hours (any order).
pub fn quota(limit: u64, sent_ms: &[u64], in_flight: u64, now_ms: u64) -> Quota {
    let start = now_ms.saturating_sub(DAY_MS);
    let oldest = sent_ms.iter().copied().filter(|&at| at > start).min();
    let counted = sent_ms.iter().filter(|&&at| at > start).count() as u64;
    window_quota(limit, counted, oldest, in_flight, now_ms)
}

/// The quota from a window already cut to the last 24 hours: how many sends it counts and
/// when the oldest was.
pub fn window_quota(
    limit: u64,
    counted: u64,
    oldest_ms: Option<u64>,
    in_flight: u64,
    now_ms: u64,
) -> Quota {
    let used = counted + in_flight;
    Quota {
        limit,
        used,
        remaining: limit.saturating_sub(used),
        next_free_ms: oldest_ms.unwrap_or(now_ms) + DAY_MS,
    }
}

/// The quota in words, as the Outbox view and `mailbridge outbox list` show it:
/// "412 of 500 left today; the other 88 go from 14:05 tomorrow".
pub fn quota_sentence(quota: &Quota, waiting: u64, now_ms: u64, offset_s: i64) -> String {
    let head = format!("{} of {} left today", quota.remaining, quota.limit);
    if waiting <= quota.remaining {
        return head;
    }
    let over = waiting - quota.remaining;
    let when = local_time(quota.next_free_ms, now_ms, offset_s);
    if quota.remaining == 0 {
        format!("{head}; the {over} waiting go from {when}")
    } else {
        format!("{head}; the other {over} go from {when}")
    }
}

/// `14:05` today, `14:05 tomorrow`, or `14:05 on 3 Dec` further off, in the offset given.
pub fn local_time(at_ms: u64, now_ms: u64, offset_s: i64) -> String {
    let local = |ms: u64| (ms / 1_000) as i64 + offset_s;
    let (at, now) = (local(at_ms), local(now_ms));
    let (day_at, day_now) = (at.div_euclid(86_400), now.div_euclid(86_400));
    let seconds = at.rem_euclid(86_400);
    let clock = format!("{:02}:{:02}", seconds / 3_600, seconds % 3_600 / 60);
    match day_at - day_now {
        ..=0 => clock,
        1 => format!("{clock} tomorrow"),
        _ => {
            let (_, month, day) = civil_from_days(day_at);
            const MONTHS: [&str; 12] = [
                "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
            ];
            format!("{clock} on {day} {}", MONTHS[(month - 1) as usize])
        }
    }
}

/// Days since 1970-01-01 to (year, month, day), after Howard Hinnant's `civil_from_days`.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// How long the pending entries take at `per_minute`, when they all fit in the quota.
pub fn eta_seconds(pending: u64, per_minute: u32, remaining: u64) -> Option<u64> {
    if pending > remaining {
        return None;
    }
    Some((pending * 60).div_ceil(u64::from(per_minute.max(1))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bucket_paces_and_bursts() {
        // 60 a minute: bursts of 6, then one a second.
        let mut bucket = TokenBucket::per_minute(60, 0);
        for _ in 0..6 {
            assert_eq!(bucket.take(0), Ok(()));
        }
        assert_eq!(bucket.take(0), Err(1_000));
        assert_eq!(bucket.take(999), Err(1_000));
        assert_eq!(bucket.take(1_000), Ok(()));
        bucket.give_back();
        assert_eq!(bucket.take(1_000), Ok(()));
        // A long quiet spell refills only up to the burst.
        let taken = (0..20).filter(|_| bucket.take(3_600_000).is_ok()).count();
        assert_eq!(taken, 6);
        // 20 a minute (Gmail's preset): a burst of 5, then one every 3 s.
        let mut slow = TokenBucket::per_minute(20, 0);
        assert_eq!((0..5).filter(|_| slow.take(0).is_ok()).count(), 5);
        assert_eq!(slow.take(0), Err(3_000));
        // 2 a minute: a burst of 2, then one every 30 s.
        let mut slower = TokenBucket::per_minute(2, 0);
        assert_eq!((0..5).filter(|_| slower.take(0).is_ok()).count(), 2);
        assert_eq!(slower.take(0), Err(30_000));
    }

    #[test]
    fn throttling_halves_the_connections_and_success_brings_them_back_slowly() {
        let mut concurrency = Concurrency::new(3);
        concurrency.throttled();
        assert_eq!(concurrency.current, 1);
        concurrency.throttled();
        assert_eq!(concurrency.current, 1);
        for _ in 0..RECOVER_AFTER - 1 {
            concurrency.succeeded();
        }
        assert_eq!(concurrency.current, 1);
        concurrency.succeeded();
        assert_eq!(concurrency.current, 2);
        for _ in 0..RECOVER_AFTER * 5 {
            concurrency.succeeded();
        }
        assert_eq!(concurrency.current, 3);
        concurrency.resize(2);
        assert_eq!((concurrency.current, concurrency.max), (2, 2));
    }

    #[test]
    fn the_quota_rolls_over_24_hours() {
        let now = 10 * DAY_MS;
        let hour = 3_600_000;
        // Three sends in the window (5 h, 2 h and 1 h ago), one from yesterday that no longer
        // counts, one in flight.
        let sent = [now - 2 * hour, now - DAY_MS - 1, now - 5 * hour, now - hour];
        let quota = quota(5, &sent, 1, now);
        assert_eq!((quota.used, quota.remaining), (4, 1));
        assert_eq!(quota.next_free_ms, now - 5 * hour + DAY_MS);
        let empty = super::quota(500, &[], 0, now);
        assert_eq!((empty.remaining, empty.next_free_ms), (500, now + DAY_MS));
        let over = super::quota(2, &sent, 0, now);
        assert_eq!(over.remaining, 0);
    }

    #[test]
    fn the_quota_is_said_in_words() {
        let now = 1_764_597_600_000; // 2025-12-01 14:00 UTC
        let quota = Quota {
            limit: 500,
            used: 88,
            remaining: 412,
            next_free_ms: now + DAY_MS + 5 * 60_000,
        };
        let cases = [
            (100, 0, "412 of 500 left today"),
            (
                500,
                0,
                "412 of 500 left today; the other 88 go from 14:05 tomorrow",
            ),
            (
                500,
                3_600,
                "412 of 500 left today; the other 88 go from 15:05 tomorrow",
            ),
        ];
        for (waiting, offset, expected) in cases {
            assert_eq!(quota_sentence(&quota, waiting, now, offset), expected);
        }
        let full = Quota {
            remaining: 0,
            used: 20,
            limit: 20,
            next_free_ms: now + 3 * DAY_MS,
        };
        assert_eq!(
            quota_sentence(&full, 10, now, 0),
            "0 of 20 left today; the 10 waiting go from 14:00 on 4 Dec"
        );
        assert_eq!(local_time(now + 60_000, now, 0), "14:01");
    }

    #[test]
    fn the_time_left_follows_the_pace_unless_the_quota_stops_it() {
        assert_eq!(eta_seconds(30, 60, 100), Some(30));
        assert_eq!(eta_seconds(1, 20, 100), Some(3));
        assert_eq!(eta_seconds(0, 20, 0), Some(0));
        assert_eq!(eta_seconds(30, 60, 20), None);
    }
}
