//! The driver: runs a dialogue `Turn` to completion, calling the order backend whenever
//! the turn asks for it. The only place where the pure engine meets I/O.

use crate::bot::Bot;
use crate::dialogue::{Conversation, Input, Outcome, Poll, Request, Response, Turn};
use crate::matcher::Classification;
use crate::normalise::{Normalised, normalise};
use crate::orders::OrderBackend;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// One customer message through the whole engine: normalise, match, dialogue, backend.
/// `limiter` caps failed verifications per order number across conversations.
pub async fn turn(
    bot: &Bot,
    conv: &mut Conversation,
    input: &Input,
    backend: &dyn OrderBackend,
    limiter: &VerifyLimiter,
) -> Outcome {
    let now = Instant::now();
    let mut input = input.clone();
    if input.today.is_none() {
        input.today = Some(crate::orders::today_utc());
    }
    let mut t = Turn::new(bot, conv, &input);
    let outcome = loop {
        match t.poll() {
            Poll::Done => break t.finish(),
            Poll::Need(request) => {
                let response = match request {
                    Request::Verify(id) if limiter.locked(&id, now) => Response::Order(Ok(None)),
                    Request::Verify(id) | Request::Order(id) => {
                        Response::Order(backend.order(&id).await)
                    }
                    Request::Cancel(id) => Response::Done(backend.cancel(&id).await),
                    Request::StartReturn {
                        order_id,
                        items,
                        reason,
                    } => Response::Return(backend.start_return(&order_id, items, reason).await),
                    Request::ChangeAddress { order_id, address } => {
                        Response::Done(backend.change_address(&order_id, address).await)
                    }
                    Request::OrdersByContact(contact) => {
                        Response::Orders(backend.orders_by_contact(contact).await)
                    }
                };
                t.feed(response);
            }
        }
    };
    for id in &outcome.failed_verifications {
        limiter.record_failure(id, now);
    }
    outcome
}

/// Failed verifications per order number in a sliding window: after `max` failures within
/// `window`, every further attempt on that order fails without being checked, whichever
/// conversation it comes from (order-number enumeration).
#[derive(Debug)]
pub struct VerifyLimiter {
    max: usize,
    window: Duration,
    // A std Mutex: held for a map update, never across an await.
    failures: Mutex<HashMap<String, Vec<Instant>>>,
}

impl Default for VerifyLimiter {
    fn default() -> Self {
        VerifyLimiter::new(3, Duration::from_secs(3600))
    }
}

impl VerifyLimiter {
    pub fn new(max: usize, window: Duration) -> Self {
        VerifyLimiter {
            max,
            window,
            failures: Mutex::new(HashMap::new()),
        }
    }

    pub fn locked(&self, order_id: &str, now: Instant) -> bool {
        let Ok(mut map) = self.failures.lock() else {
            return true;
        };
        match map.get_mut(order_id) {
            Some(times) => {
                times.retain(|t| now.saturating_duration_since(*t) < self.window);
                times.len() >= self.max
            }
            None => false,
        }
    }

    pub fn record_failure(&self, order_id: &str, now: Instant) {
        if let Ok(mut map) = self.failures.lock() {
            let times = map.entry(order_id.to_owned()).or_default();
            times.retain(|t| now.saturating_duration_since(*t) < self.window);
            times.push(now);
        }
    }
}

/// Normalises and classifies a message without touching any conversation (`explain`, `eval`).
pub fn classify(bot: &Bot, text: &str) -> (Normalised, Classification) {
    let n = normalise(text);
    let c = bot.matcher.classify(&n);
    (n, c)
}
