//! Rate limits per client IP and per conversation: token buckets, refilled continuously.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

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
}

#[derive(Debug)]
struct Buckets {
    per_minute: u32,
    // A std Mutex: one map update per request, never held across an await.
    buckets: Mutex<HashMap<String, (f64, Instant)>>,
}

/// Buckets idle this long are full again and may be forgotten.
const FORGET_AFTER_SECS: f64 = 120.0;
const PRUNE_ABOVE: usize = 100_000;

impl Buckets {
    fn new(per_minute: u32) -> Buckets {
        Buckets {
            per_minute,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    fn take(&self, key: &str) -> bool {
        if self.per_minute == 0 {
            return true;
        }
        let Ok(mut map) = self.buckets.lock() else {
            return true;
        };
        let now = Instant::now();
        let capacity = f64::from(self.per_minute);
        let rate = capacity / 60.0;
        if map.len() > PRUNE_ABOVE {
            map.retain(|_, (_, t)| now.duration_since(*t).as_secs_f64() < FORGET_AFTER_SECS);
        }
        let (tokens, last) = map.entry(key.to_owned()).or_insert((capacity, now));
        *tokens = (*tokens + now.duration_since(*last).as_secs_f64() * rate).min(capacity);
        *last = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            true
        } else {
            false
        }
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
}
