//! `POST /api/v1/webhooks/woocommerce` and `POST /api/v1/webhooks/shopify`: the shop
//! platforms' order webhooks as a source of notices (`notices::webhooks`). Each is off
//! (404) until its signing secret is configured. The signature is checked over the raw
//! bytes before anything is parsed (401 when wrong or missing); a delivery that tells
//! customers nothing is answered 200 with `notified: 0`, so the platform neither retries
//! it nor disables the webhook.

use super::AppState;
use super::error::ApiError;
use crate::notices::accept::{AcceptError, accept};
use crate::notices::webhooks::{self, Reading, shopify, woocommerce};
use crate::store::notices::Accepted;
use axum::Json;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::json;

/// The two routes, with a body limit fit for whole orders.
pub(super) fn routes() -> axum::Router<AppState> {
    axum::Router::new()
        .route("/api/v1/webhooks/woocommerce", post(woocommerce_delivery))
        .route("/api/v1/webhooks/shopify", post(shopify_delivery))
        .layer(DefaultBodyLimit::max(webhooks::MAX_BODY_BYTES))
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn disabled(platform: &str, setting: &str) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "disabled",
        format!(
            "the {platform} webhook is off: set notices.{setting}_webhook_secret_file or DESTEK_NOTICES_{}_WEBHOOK_SECRET",
            setting.to_uppercase()
        ),
    )
}

fn bad_signature(header: &str) -> ApiError {
    ApiError::new(
        StatusCode::UNAUTHORIZED,
        "unauthorized",
        format!("missing or wrong {header}: the body must be signed with the webhook's secret"),
    )
}

async fn woocommerce_delivery(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let settings = &state.shared().settings.notices;
    let Some(secret) = settings.webhook_secrets.woocommerce.as_deref() else {
        return Err(disabled("WooCommerce", "woocommerce"));
    };
    let metrics = &state.shared().metrics.notices;
    // Sent unsigned when the webhook is saved; anything but 200 and WooCommerce refuses
    // to save it. It does nothing.
    if woocommerce::is_ping(&body) {
        metrics.webhook("woocommerce", "ping");
        return Ok((StatusCode::OK, Json(json!({"ping": true, "notified": 0}))).into_response());
    }
    if !webhooks::signed(secret, &body, header(&headers, "x-wc-webhook-signature")) {
        metrics.webhook("woocommerce", "bad_signature");
        return Err(bad_signature("X-WC-Webhook-Signature"));
    }
    let topic = header(&headers, "x-wc-webhook-topic");
    let reading = woocommerce::read(topic, &body, jiff::Timestamp::now()).map_err(|e| {
        metrics.webhook("woocommerce", "bad_request");
        ApiError::bad_request(e)
    })?;
    let delivery = header(&headers, "x-wc-webhook-delivery-id");
    apply(&state, "woocommerce", topic, delivery, reading).await
}

async fn shopify_delivery(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let settings = &state.shared().settings.notices;
    let Some(secret) = settings.webhook_secrets.shopify.as_deref() else {
        return Err(disabled("Shopify", "shopify"));
    };
    let metrics = &state.shared().metrics.notices;
    if !webhooks::signed(secret, &body, header(&headers, "x-shopify-hmac-sha256")) {
        metrics.webhook("shopify", "bad_signature");
        return Err(bad_signature("X-Shopify-Hmac-Sha256"));
    }
    let topic = header(&headers, "x-shopify-topic");
    let reading = shopify::read(topic, &body, jiff::Timestamp::now()).map_err(|e| {
        metrics.webhook("shopify", "bad_request");
        ApiError::bad_request(e)
    })?;
    let delivery = header(&headers, "x-shopify-webhook-id");
    apply(&state, "shopify", topic, delivery, reading).await
}

/// Records each event once per key; answers 200 with how many conversations will hear.
async fn apply(
    state: &AppState,
    platform: &str,
    topic: Option<&str>,
    delivery: Option<&str>,
    reading: Reading,
) -> Result<Response, ApiError> {
    let shared = state.shared();
    let topic = topic.unwrap_or("-");
    let delivery = delivery.unwrap_or("-");
    let found = match reading {
        Reading::Ignored(why) => {
            tracing::info!(platform, topic, delivery, reason = %why, "order webhook ignored");
            shared.metrics.notices.webhook(platform, "ignored");
            return Ok((
                StatusCode::OK,
                Json(json!({"notified": 0, "events": [], "ignored": why})),
            )
                .into_response());
        }
        Reading::Events(found) => found,
    };
    let (mut notified, mut events, mut repeats) = (0usize, Vec::new(), 0usize);
    for f in &found {
        let accepted = accept(
            shared.store.as_ref(),
            &shared.settings.notices,
            &f.order_id,
            &f.event,
            Some(&f.key),
            crate::store::now_ms(),
        )
        .await;
        match accepted {
            Ok(Accepted::New(n)) => {
                if n == 0 {
                    shared.metrics.notices.skipped("no_conversation", 1);
                }
                notified += n;
                events.push(f.event.event.as_str());
                tracing::info!(
                    platform,
                    topic,
                    delivery,
                    order = %f.order_id,
                    event = f.event.event.as_str(),
                    notified = n,
                    "order event from a webhook"
                );
            }
            // Told before (a retry, or the same state sent again after an edit).
            Ok(Accepted::Repeat(_) | Accepted::Conflict) | Err(AcceptError::Conflict) => {
                repeats += 1;
            }
            Err(AcceptError::Unsupported) => {
                return Err(ApiError::new(
                    StatusCode::NOT_IMPLEMENTED,
                    "unsupported",
                    "this store keeps no notices",
                ));
            }
            Err(AcceptError::Store(e)) => return Err(ApiError::from(e)),
        }
    }
    let outcome = if !events.is_empty() {
        "event"
    } else if repeats > 0 {
        "duplicate"
    } else {
        "no_event"
    };
    shared.metrics.notices.webhook(platform, outcome);
    Ok((
        StatusCode::OK,
        Json(json!({
            "notified": notified,
            "events": events,
            "duplicate": repeats > 0 && events.is_empty(),
        })),
    )
        .into_response())
}
