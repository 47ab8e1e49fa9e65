//! Rate limits per client IP and per conversation: token buckets, refilled continuously.
//! Idle buckets are forgotten after a minute and the number of keys is bounded.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Limits in events per minute; 0 disables a limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateConfig {
    pub per_ip_per_minute: u32,
    pub per_conversation_per_minute: u32,
}

impl Default for RateConfig {
    fn default() -> Self {
        RateConfig {
            per_ip_per_minute: 120,
            per_conversation_per_minute: 30,
        }
    }
}

#[derive(Debug)]
pub struct RateLimits {
    ip: Buckets,
    conversation: Buckets,
}

impl RateLimits {
    pub fn new(c: RateConfig) -> RateLimits {
        RateLimits {
            ip: Buckets::new(c.per_ip_per_minute),
            conversation: Buckets::new(c.per_conversation_per_minute),
        }
    }

    pub fn allow_ip(&self, ip: &str) -> bool {
        self.ip.take(ip)
    }

    pub fn allow_conversation(&self, id: &str) -> bool {
        self.conversation.take(id)
    }

    /// Keys held (per IP, per conversation): bounded by `MAX_KEYS` each.
    pub fn keys(&self) -> (usize, usize) {
        (self.ip.len(), self.conversation.len())
    }
}

#[derive(Debug)]
struct Buckets {
    per_minute: u32,
    // A std Mutex: one map update per request, never held across an await.
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    buckets: HashMap<String, (f64, Instant)>,
    pruned: Instant,
}

/// A bucket idle this long is full again (its capacity refills in a minute), so it is
/// forgotten: an entry lives at most this long after its key's last request.
const FORGET_AFTER: Duration = Duration::from_secs(60);
/// Idle buckets are swept at least this often…
const PRUNE_EVERY: Duration = Duration::from_secs(30);
/// …and, above this many keys, as often as once a second.
const PRUNE_ABOVE: usize = 50_000;
/// The most keys kept: past it, a new key (a client never seen in the last minute) is
/// refused until entries expire. Bounds the memory of a flood from many addresses.
pub const MAX_KEYS: usize = 200_000;

impl Buckets {
    fn new(per_minute: u32) -> Buckets {
        Buckets {
            per_minute,
            state: Mutex::new(State {
                buckets: HashMap::new(),
                pruned: Instant::now(),
            }),
        }
    }

    fn take(&self, key: &str) -> bool {
        if self.per_minute == 0 {
            return true;
        }
        let Ok(mut state) = self.state.lock() else {
            return true;
        };
        let now = Instant::now();
        let since_prune = now.duration_since(state.pruned);
        if since_prune >= PRUNE_EVERY
            || (state.buckets.len() > PRUNE_ABOVE && since_prune >= Duration::from_secs(1))
        {
            state
                .buckets
                .retain(|_, (_, t)| now.duration_since(*t) < FORGET_AFTER);
            state.pruned = now;
        }
        let capacity = f64::from(self.per_minute);
        let rate = capacity / 60.0;
        if state.buckets.len() >= MAX_KEYS && !state.buckets.contains_key(key) {
            return false;
        }
        let (tokens, last) = state
            .buckets
            .entry(key.to_owned())
            .or_insert((capacity, now));
        *tokens = (*tokens + now.duration_since(*last).as_secs_f64() * rate).min(capacity);
        *last = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            true
        } else {
            false
        }
    }

    fn len(&self) -> usize {
        self.state.lock().map_or(0, |s| s.buckets.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_beyond_the_limit_is_refused_per_key() {
        let limits = RateLimits::new(RateConfig {
            per_ip_per_minute: 3,
            per_conversation_per_minute: 0,
        });
        assert!((0..3).all(|_| limits.allow_ip("1.2.3.4")));
        assert!(!limits.allow_ip("1.2.3.4"));
        assert!(limits.allow_ip("5.6.7.8"));
        assert!((0..1000).all(|_| limits.allow_conversation("c")));
    }

    #[test]
    fn the_number_of_keys_is_bounded() {
        let limits = RateLimits::new(RateConfig {
            per_ip_per_minute: 10,
            per_conversation_per_minute: 0,
        });
        let admitted = (0..MAX_KEYS + 1000)
            .filter(|n| limits.allow_ip(&n.to_string()))
            .count();
        assert_eq!(admitted, MAX_KEYS);
        assert_eq!(limits.keys().0, MAX_KEYS);
        // A key already known is still served.
        assert!(limits.allow_ip("7"));
    }
}
