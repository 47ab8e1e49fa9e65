//! Failed order verifications, and how they slow down whoever makes them.
//!
//! A verification that fails is counted against the conversation it came from and, on the
//! server, against the client's IP address. Past a few free failures, each key must wait
//! before its next attempt is checked, twice as long after every further failure. An
//! attempt made during the wait is not checked (it fails, saying nothing about the order).
//! Nothing is counted per order number: a stranger guessing at an order never locks its
//! owner out; the owner, in their own conversation, is checked at once.

use crate::orders::BoxFuture;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Failures of one key within the window.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Failures {
    pub count: u32,
    /// When the latest failure was, in Unix milliseconds.
    pub latest_ms: Option<i64>,
}

/// How many failures a key has for free and how the wait grows after them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Policy {
    /// Failures before any wait.
    pub free: u32,
    /// The wait after the first failure beyond the free ones; doubled after each further.
    pub first_wait: Duration,
    pub max_wait: Duration,
    /// Failures older than this are forgotten.
    pub window: Duration,
}

impl Policy {
    /// Per conversation. The dialogue hands a conversation to a person after its third
    /// failure; these waits apply when the customer carries on after that.
    pub const CONVERSATION: Policy = Policy {
        free: 3,
        first_wait: Duration::from_secs(30),
        max_wait: Duration::from_secs(15 * 60),
        window: Duration::from_secs(3600),
    };
    /// Per client IP address: more free failures, as a shop's customers may share one.
    pub const IP: Policy = Policy {
        free: 10,
        first_wait: Duration::from_secs(30),
        max_wait: Duration::from_secs(15 * 60),
        window: Duration::from_secs(3600),
    };
    /// Never waits (for tests of the dialogue's own limits).
    pub const NONE: Policy = Policy {
        free: u32::MAX,
        first_wait: Duration::ZERO,
        max_wait: Duration::ZERO,
        window: Duration::from_secs(1),
    };

    /// How long after its latest failure a key with `count` failures must wait.
    pub fn wait_after(&self, count: u32) -> Duration {
        if count < self.free {
            return Duration::ZERO;
        }
        let doublings = (count - self.free).min(20);
        self.first_wait
            .saturating_mul(1u32 << doublings)
            .min(self.max_wait)
    }

    /// How much of the wait is left at `now_ms`; `None` when an attempt may be checked.
    pub fn remaining(&self, f: Failures, now_ms: i64) -> Option<Duration> {
        let wait = self.wait_after(f.count);
        let latest = f.latest_ms?;
        let elapsed = u64::try_from(now_ms.saturating_sub(latest)).unwrap_or(0);
        let left = wait.saturating_sub(Duration::from_millis(elapsed));
        (!left.is_zero()).then_some(left)
    }
}

/// Asked by the engine before an order verification is checked, told after one failed.
pub trait VerifyGate: Send + Sync {
    /// `Some(wait)`: do not check an attempt now.
    fn throttled(&self) -> BoxFuture<'_, Option<Duration>>;
    fn failed(&self) -> BoxFuture<'_, ()>;
}

/// An in-memory gate with one key, for one process talking to one customer (`destek
/// chat`, conversation tests).
#[derive(Debug)]
pub struct VerifyLimiter {
    policy: Policy,
    // A std Mutex: held for a vector update, never across an await.
    failures: Mutex<Vec<Instant>>,
}

impl Default for VerifyLimiter {
    fn default() -> Self {
        VerifyLimiter::new(Policy::CONVERSATION)
    }
}

impl VerifyLimiter {
    pub fn new(policy: Policy) -> Self {
        VerifyLimiter {
            policy,
            failures: Mutex::new(Vec::new()),
        }
    }

    fn wait_now(&self, now: Instant) -> Option<Duration> {
        let Ok(mut times) = self.failures.lock() else {
            return Some(self.policy.first_wait);
        };
        times.retain(|t| now.saturating_duration_since(*t) < self.policy.window);
        let count = u32::try_from(times.len()).unwrap_or(u32::MAX);
        let latest = times.last()?;
        let left = self
            .policy
            .wait_after(count)
            .saturating_sub(now.saturating_duration_since(*latest));
        (!left.is_zero()).then_some(left)
    }
}

impl VerifyGate for VerifyLimiter {
    fn throttled(&self) -> BoxFuture<'_, Option<Duration>> {
        Box::pin(std::future::ready(self.wait_now(Instant::now())))
    }

    fn failed(&self) -> BoxFuture<'_, ()> {
        let now = Instant::now();
        if let Ok(mut times) = self.failures.lock() {
            times.retain(|t| now.saturating_duration_since(*t) < self.policy.window);
            times.push(now);
        }
        Box::pin(std::future::ready(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_start_after_the_free_failures_and_double_up_to_a_cap() {
        let p = Policy::CONVERSATION;
        let secs: Vec<u64> = (0..9).map(|n| p.wait_after(n).as_secs()).collect();
        assert_eq!(secs, [0, 0, 0, 30, 60, 120, 240, 480, 900]);
        assert_eq!(p.wait_after(u32::MAX), p.max_wait);
        let f = Failures {
            count: 4,
            latest_ms: Some(1_000_000),
        };
        assert_eq!(
            p.remaining(f, 1_000_000 + 15_000),
            Some(Duration::from_secs(45))
        );
        assert_eq!(p.remaining(f, 1_000_000 + 60_000), None);
        assert_eq!(p.remaining(Failures::default(), 0), None);
    }
}
