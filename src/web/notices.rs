//! `POST /api/v1/orders/{order_id}/events`: the shop reports an order event and every
//! conversation that verified the order hears of it (`crate::notices`). Off unless an
//! events token is configured; the token is compared in constant time.

use super::AppState;
use super::api::json_body;
use super::auth;
use super::error::ApiError;
use crate::notices::accept::{AcceptError, accept};
use crate::notices::event::{MAX_ID_CHARS, RawEvent, order_id as check_order_id};
use crate::store::notices::Accepted;
use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

pub(super) async fn order_event(
    State(state): State<AppState>,
    Path(order_id): Path<String>,
    headers: HeaderMap,
    body: Result<Json<RawEvent>, JsonRejection>,
) -> Result<Response, ApiError> {
    let settings = &state.shared().settings.notices;
    let Some(token) = settings.events_token.as_deref() else {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "disabled",
            "order events are off: set orders.events_token_file or DESTEK_ORDERS_EVENTS_TOKEN",
        ));
    };
    if !auth::secret_matches(auth::bearer(&headers), Some(token)) {
        return Err(ApiError::unauthorized());
    }
    let order_id = check_order_id(&order_id).map_err(ApiError::bad_request)?;
    let event = json_body(body)?.check().map_err(ApiError::bad_request)?;
    let key = match headers.get("idempotency-key") {
        None => None,
        Some(v) => {
            let k = v
                .to_str()
                .ok()
                .map(str::trim)
                .filter(|k| !k.is_empty() && k.chars().count() <= MAX_ID_CHARS)
                .ok_or_else(|| {
                    ApiError::bad_request(format!(
                        "Idempotency-Key must be 1 to {MAX_ID_CHARS} visible ASCII characters"
                    ))
                })?;
            Some(k.to_owned())
        }
    };
    let shared = state.shared();
    let accepted = accept(
        shared.store.as_ref(),
        settings,
        &order_id,
        &event,
        key.as_deref(),
        crate::store::now_ms(),
    )
    .await
    .map_err(|e| match e {
        AcceptError::Conflict => ApiError::new(
            StatusCode::CONFLICT,
            "idempotency_conflict",
            "this event_id or Idempotency-Key was used before for a different event of this order",
        ),
        AcceptError::Unsupported => ApiError::new(
            StatusCode::NOT_IMPLEMENTED,
            "unsupported",
            "this store keeps no notices",
        ),
        AcceptError::Store(e) => ApiError::from(e),
    })?;
    let (notified, repeat) = match accepted {
        Accepted::New(n) => {
            if n == 0 {
                shared.metrics.notices.skipped("no_conversation", 1);
            }
            tracing::info!(
                order = %order_id,
                event = event.event.as_str(),
                notified = n,
                "order event"
            );
            (n, false)
        }
        Accepted::Repeat(n) => (n, true),
        Accepted::Conflict => (0, true),
    };
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({"notified": notified, "duplicate": repeat})),
    )
        .into_response())
}
