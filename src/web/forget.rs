//! `DELETE /api/v1/conversations/{id}` (the conversation's token): a customer's right to
//! be forgotten. The conversation's state, messages, webhook deliveries and attachments
//! are erased while its turn lock is held, so no turn writes into it meanwhile; the token
//! stops working.

use super::AppState;
use super::auth;
use super::client_ip::ClientIp;
use super::error::ApiError;
use super::turn;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use serde_json::{Value, json};

pub(super) async fn delete_conversation(
    State(state): State<AppState>,
    Path(id): Path<String>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let shared = state.shared();
    if !shared.rate.allow_ip(&ip) {
        return Err(ApiError::rate_limited());
    }
    let stored = shared
        .store
        .load(&id)
        .await?
        .ok_or_else(|| ApiError::not_found("no such conversation"))?;
    if !auth::token_matches(auth::bearer(&headers), &stored.token_hash) {
        return Err(ApiError::unauthorized());
    }
    let held = turn::hold(&state, &id).await?;
    super::attachments::erase(&state, &id).await?;
    let erased = shared.store.erase(&id).await?;
    drop(held);
    tracing::info!(conversation = %id, "conversation erased at the customer's request");
    Ok(Json(json!({"erased": erased})))
}
