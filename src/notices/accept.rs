//! Recording an order event: once per idempotency key (the event's `event_id`, else the
//! request's `Idempotency-Key`), queuing a notice for every conversation that verified the
//! order within the window — in one transaction, so a crash queues all or nothing.

use super::{OrderEvent, Settings};
use crate::store::notices::{Accepted, NewEvent};
use crate::store::{Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum AcceptError {
    #[error("this store keeps no notices")]
    Unsupported,
    #[error("this idempotency key was used before for a different event")]
    Conflict,
    #[error(transparent)]
    Store(#[from] StoreError),
}

const DAY_MS: i64 = 24 * 60 * 60 * 1000;

/// Records `event` for `order_id`; returns how many conversations will hear of it (for a
/// repeat: how many did the first time).
pub async fn accept(
    store: &dyn Store,
    settings: &Settings,
    order_id: &str,
    event: &OrderEvent,
    idempotency_key: Option<&str>,
    now_ms: i64,
) -> Result<Accepted, AcceptError> {
    let notices = store.notices().ok_or(AcceptError::Unsupported)?;
    let key = match event
        .event_id
        .as_deref()
        .or(idempotency_key.map(str::trim).filter(|k| !k.is_empty()))
    {
        Some(k) => format!("{order_id}\n{k}"),
        // No key: every request is an event of its own.
        None => format!("{order_id}\n~{}", uuid::Uuid::new_v4()),
    };
    let body = serde_json::to_string(event).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let accepted = notices
        .accept_event(NewEvent {
            key,
            order_id: order_id.to_owned(),
            event: event.event.as_str().to_owned(),
            body_hash: event.fingerprint(order_id),
            body,
            since_ms: now_ms.saturating_sub(i64::from(settings.window_days) * DAY_MS),
            now_ms,
        })
        .await?;
    match accepted {
        Accepted::Conflict => Err(AcceptError::Conflict),
        a => Ok(a),
    }
}
