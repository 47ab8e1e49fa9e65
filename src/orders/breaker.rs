//! The circuit breaker every order backend that calls the shop over the network shares:
//! after repeated failures it fails fast, so a shop that is down costs the customer no
//! waiting, and after a cooldown one trial call finds out whether it is back.

use super::BackendError;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// A circuit breaker counting consecutive failed calls. Monotonic time (`Instant`), so a
/// wall-clock jump can neither hold it open nor close it early.
#[derive(Debug)]
pub(crate) struct Breaker {
    threshold: u32,
    cooldown: Duration,
    // A std Mutex: held only to read or flip the state, never across an await.
    state: Mutex<State>,
}

#[derive(Debug, Clone, Copy)]
enum State {
    Closed {
        failures: u32,
    },
    /// Failing fast until `until`.
    Open {
        until: Instant,
    },
    /// One trial call is under way. Should it never report (its future dropped), another
    /// trial is let through a cooldown after this one started.
    HalfOpen {
        trial_started: Instant,
    },
}

impl Breaker {
    pub(crate) fn new(threshold: u32, cooldown: Duration) -> Self {
        Breaker {
            threshold: threshold.max(1),
            cooldown,
            state: Mutex::new(State::Closed { failures: 0 }),
        }
    }

    fn with<T>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        // The state is a plain value, always whole: a poisoned lock is still good.
        f(&mut self.state.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// Whether a call may go out now.
    pub(crate) fn allow(&self) -> Result<(), BackendError> {
        let now = Instant::now();
        self.with(|state| match *state {
            State::Closed { .. } => Ok(()),
            State::Open { until } if now < until => Err(()),
            State::HalfOpen { trial_started } if now < trial_started + self.cooldown => Err(()),
            State::Open { .. } | State::HalfOpen { .. } => {
                *state = State::HalfOpen { trial_started: now };
                Ok(())
            }
        })
        .map_err(|()| BackendError("shop API circuit open after repeated failures".into()))
    }

    pub(crate) fn success(&self) {
        self.with(|state| *state = State::Closed { failures: 0 });
    }

    pub(crate) fn failure(&self) {
        let now = Instant::now();
        self.with(|state| {
            *state = match *state {
                State::Closed { failures } if failures + 1 < self.threshold => State::Closed {
                    failures: failures + 1,
                },
                State::Closed { .. } | State::HalfOpen { .. } => State::Open {
                    until: now + self.cooldown,
                },
                // A call let through before the circuit opened: the cooldown stands.
                open @ State::Open { .. } => open,
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn breaker_opens_after_threshold_and_half_opens_after_cooldown() {
        let breaker = Breaker::new(2, Duration::from_millis(20));
        breaker.failure();
        assert!(breaker.allow().is_ok());
        breaker.failure();
        assert!(breaker.allow().is_err());
        std::thread::sleep(Duration::from_millis(30));
        assert!(breaker.allow().is_ok(), "the trial call");
        assert!(breaker.allow().is_err(), "only one trial at a time");
        breaker.success();
        assert!(breaker.allow().is_ok());
    }
}
