//! The delivery loop: takes due outbox entries from the store, POSTs them signed, and
//! records each attempt. A failed delivery is retried with exponential backoff and jitter;
//! nothing is ever dropped, and operators see and retry stuck ones with `destek handoffs`.

use super::{WebhookSettings, signature};
use crate::store::{Delivery, Store, now_ms};
use std::sync::Arc;
use std::time::Duration;

/// How long one delivery may take before it counts as failed, unless configured.
pub const DELIVERY_TIMEOUT: Duration = Duration::from_secs(10);
const POLL: Duration = Duration::from_millis(250);
const BATCH: usize = 32;
const MAX_BACKOFF_MS: i64 = 60 * 60 * 1000;

/// Milliseconds until the next attempt after `attempts` failures: 1 s, 2 s, 4 s … capped at
/// an hour, plus up to 25% jitter so many stuck deliveries do not retry in step.
pub fn backoff_ms(attempts: u32, jitter: f64) -> i64 {
    let base = 1000i64
        .saturating_mul(1i64 << attempts.min(22))
        .min(MAX_BACKOFF_MS);
    base + (base as f64 * 0.25 * jitter.clamp(0.0, 1.0)) as i64
}

/// Delivers one entry; `Err` carries what went wrong, for the operator.
pub async fn deliver(
    client: &reqwest::Client,
    settings: &WebhookSettings,
    d: &Delivery,
) -> Result<(), String> {
    let timestamp = jiff::Timestamp::now().as_second();
    let res = client
        .post(&settings.url)
        .timeout(settings.timeout)
        .header("content-type", "application/json")
        .header("X-Destek-Delivery", &d.id)
        .header("X-Destek-Timestamp", timestamp.to_string())
        .header(
            "X-Destek-Signature",
            signature(&settings.secret, timestamp, &d.body),
        )
        .body(d.body.clone())
        .send()
        .await
        .map_err(|e| {
            if e.is_timeout() {
                "timed out".to_owned()
            } else if e.is_connect() {
                "connection failed".to_owned()
            } else {
                "request failed".to_owned()
            }
        })?;
    if res.status().is_success() {
        Ok(())
    } else {
        Err(format!("receiver answered {}", res.status()))
    }
}

/// Rounds of one pass at most: each round takes the oldest due entry of every conversation,
/// so a conversation with several queued events needs one round per event.
const MAX_ROUNDS: usize = 64;

/// One pass: delivers every due entry, a conversation's in the order they were written.
/// Returns how many were delivered.
pub async fn pass(
    store: &dyn Store,
    client: &reqwest::Client,
    settings: &WebhookSettings,
) -> usize {
    let mut delivered = 0;
    for _ in 0..MAX_ROUNDS {
        let (due, now) = round(store, client, settings).await;
        delivered += now;
        // Stop when nothing was due, or nothing got through (the receiver is down).
        if due == 0 || now == 0 {
            break;
        }
    }
    delivered
}

/// One round: the due entries the store hands out now. Returns (due, delivered).
async fn round(
    store: &dyn Store,
    client: &reqwest::Client,
    settings: &WebhookSettings,
) -> (usize, usize) {
    let due = match store.due_deliveries(now_ms(), BATCH).await {
        Ok(d) => d,
        Err(e) => {
            crate::logging::error(format!("outbox: {e}"));
            return (0, 0);
        }
    };
    let count = due.len();
    let mut delivered = 0;
    for d in due {
        let outcome = deliver(client, settings, &d).await;
        let next = now_ms() + backoff_ms(d.attempts, jitter());
        if outcome.is_ok() {
            delivered += 1;
        } else if let Err(e) = &outcome {
            crate::logging::warn(format!(
                "handoff delivery {} ({}) attempt {} failed: {e}",
                d.id,
                d.event,
                d.attempts + 1
            ));
        }
        if let Err(e) = store.record_attempt(&d.id, outcome, next).await {
            crate::logging::error(format!("outbox: {e}"));
        }
    }
    (count, delivered)
}

/// Runs until `stop` resolves, then makes one last pass so nothing due is left behind.
pub async fn run(
    store: Arc<dyn Store>,
    settings: WebhookSettings,
    stop: impl std::future::Future<Output = ()>,
) {
    let client = reqwest::Client::new();
    let mut stop = std::pin::pin!(stop);
    loop {
        pass(store.as_ref(), &client, &settings).await;
        tokio::select! {
            () = &mut stop => break,
            () = tokio::time::sleep(POLL) => {}
        }
    }
    pass(store.as_ref(), &client, &settings).await;
}

/// A number in [0, 1) that differs between calls, for jitter (not for security).
fn jitter() -> f64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    f64::from(nanos % 1_000_000) / 1_000_000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_with_jitter_and_is_capped() {
        assert_eq!(backoff_ms(0, 0.0), 1_000);
        assert_eq!(backoff_ms(3, 0.0), 8_000);
        assert_eq!(backoff_ms(3, 1.0), 10_000);
        assert_eq!(backoff_ms(40, 0.0), MAX_BACKOFF_MS);
    }
}
