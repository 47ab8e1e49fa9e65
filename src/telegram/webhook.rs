//! Webhook mode: Telegram POSTs each update to our server with the secret token we gave
//! setWebhook in `X-Telegram-Bot-Api-Secret-Token`. The token is compared in constant time
//! (as SHA-256 digests, so the length does not show either); anything else gets 401.

use super::Channel;
use crate::web::constant_time_eq;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use sha2::{Digest, Sha256};
use std::sync::Arc;
use teloxide::types::Update;

const SECRET_HEADER: &str = "x-telegram-bot-api-secret-token";

/// Updates are small; this leaves room for long messages with many entities.
const MAX_UPDATE_BYTES: usize = 1024 * 1024;

#[derive(Clone)]
struct Hook {
    channel: Arc<Channel>,
    secret_digest: [u8; 32],
}

/// The route to serve: the path of `webhook_url`, or `DEFAULT_WEBHOOK_PATH`.
pub(super) fn path(webhook_url: Option<&str>) -> Result<String, String> {
    let Some(url) = webhook_url else {
        return Ok(super::DEFAULT_WEBHOOK_PATH.to_owned());
    };
    let url = reqwest::Url::parse(url).map_err(|e| format!("telegram.webhook_url: {e}"))?;
    Ok(match url.path() {
        "" | "/" => super::DEFAULT_WEBHOOK_PATH.to_owned(),
        p => p.to_owned(),
    })
}

pub(super) fn router(channel: Arc<Channel>, path: &str, secret: &str) -> Router {
    Router::new()
        .route(path, post(receive))
        .layer(DefaultBodyLimit::max(MAX_UPDATE_BYTES))
        .with_state(Hook {
            channel,
            secret_digest: Sha256::digest(secret.as_bytes()).into(),
        })
}

async fn receive(State(hook): State<Hook>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let presented = headers
        .get(SECRET_HEADER)
        .map(|v| v.as_bytes())
        .unwrap_or_default();
    let digest: [u8; 32] = Sha256::digest(presented).into();
    if presented.is_empty() || !constant_time_eq(&digest, &hook.secret_digest) {
        return StatusCode::UNAUTHORIZED;
    }
    match serde_json::from_slice::<Update>(&body) {
        Ok(update) => hook.channel.dispatch(update),
        // Telegram would only send it again: acknowledge and say so in the log.
        Err(e) => crate::logging::warn(format_args!("telegram: unreadable webhook update: {e}")),
    }
    StatusCode::OK
}
