//! Handing conversations to people (design §6): the webhook events, their signature, the
//! durable outbox that delivers them, and business hours.
//!
//! Events are written to the store's outbox in the same transaction as the turn that caused
//! them (`web::turn`), and `outbox::run` delivers them with exponential backoff and jitter
//! until the receiver answers 2xx — across restarts, with the same `X-Destek-Delivery` id
//! on every attempt.

pub mod hours;
pub mod outbox;

use crate::dialogue::Handoff;
use crate::store::{Message, OutboxEntry};
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

/// Where and how events are delivered.
#[derive(Clone)]
pub struct WebhookSettings {
    pub url: String,
    /// The HMAC key; never logged.
    pub secret: String,
    /// How long one delivery may take before it counts as failed.
    pub timeout: std::time::Duration,
}

impl std::fmt::Debug for WebhookSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookSettings")
            .field("url", &self.url)
            .field("secret", &"<set>")
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// `sha256=<hex HMAC-SHA256(secret, timestamp + "." + body)>`.
pub fn signature(secret: &str, timestamp: i64, body: &str) -> String {
    let mut mac = match Hmac::<Sha256>::new_from_slice(secret.as_bytes()) {
        Ok(m) => m,
        // HMAC takes keys of any length; this arm cannot be reached.
        Err(_) => return String::new(),
    };
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body.as_bytes());
    let bytes = mac.finalize().into_bytes();
    let mut hex = String::with_capacity(71);
    hex.push_str("sha256=");
    for b in bytes {
        hex.push_str(&format!("{b:02x}"));
    }
    hex
}

/// What every event says about the conversation.
pub struct Context<'a> {
    pub conversation_id: &'a str,
    pub channel: &'a str,
    pub lang: Option<&'a str>,
    pub handoff: &'a Handoff,
    pub previous_agent: Option<&'a str>,
}

fn transcript(messages: &[Message]) -> Value {
    Value::Array(
        messages
            .iter()
            .map(|m| json!({"from": m.from.as_str(), "text": m.text, "at": m.at}))
            .collect(),
    )
}

/// An outbox entry for an event: `handoff.created` (with the whole transcript),
/// `handoff.message` (a customer's message while waiting) or `handoff.rated`.
pub fn event(
    name: &str,
    cx: &Context<'_>,
    messages: &[Message],
    rating: Option<u8>,
) -> OutboxEntry {
    let h = cx.handoff;
    let mut body = json!({
        "event": name,
        "handoff_id": h.id,
        "conversation_id": cx.conversation_id,
        "channel": cx.channel,
        "lang": cx.lang,
        "reason": h.reason,
        "intent": h.intent,
        "summary": h.summary,
        "customer": {
            "conversation_id": cx.conversation_id,
            "channel": cx.channel,
            "previous_agent": cx.previous_agent,
        },
        "transcript": transcript(messages),
        "created_at": crate::store::now_rfc3339(),
    });
    if let Some(order) = &h.order_id {
        body["order_id"] = json!(order);
    }
    if let Some(r) = rating {
        body["rating"] = json!(r);
    }
    OutboxEntry {
        id: uuid::Uuid::new_v4().to_string(),
        event: name.to_owned(),
        body: body.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_is_hmac_sha256_of_timestamp_dot_body() {
        // Reference value from an independent implementation (Python's hmac module).
        assert_eq!(
            signature("s3cret", 1_700_000_000, r#"{"a":1}"#),
            "sha256=1698a50bc74d1ff1db85c4e0a5297c2ad9fdba245d5737cdb789e4cc6e098940"
        );
        assert_ne!(
            signature("s3cret", 1_700_000_001, r#"{"a":1}"#),
            signature("s3cret", 1_700_000_000, r#"{"a":1}"#)
        );
    }
}
