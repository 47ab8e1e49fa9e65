//! A WooCommerce webhook delivery (topic in `X-WC-Webhook-Topic`, the order resource of
//! REST API v3 as the body) read into notices, the way the WooCommerce backend reads the
//! same order (`orders::woocommerce::map`):
//!
//! - the Shipment Tracking extension's latest shipment on a `processing` or `completed`
//!   order → `shipped` with its link (keyed by the tracking number);
//! - `completed` without tracking, or an extension's `delivered` status → `delivered`;
//!   an extension's `shipped` / `out-for-delivery` status → `shipped` / `out_for_delivery`;
//! - the newest entry of `refunds` → `refund_issued` (keyed by the refund id).
//!
//! Everything else (`pending`, `on-hold`, `cancelled`, `failed`, a plain `processing`)
//! tells the customer nothing new. WooCommerce knows no delays: none are made up.
//!
//! The order is named by its `number` (what the customer sees and types), else its id.
//! The ping WooCommerce sends when a webhook is saved (`webhook_id=N`, form-encoded and
//! unsigned) is recognised by [`is_ping`].

use super::{Found, Reading, event, key, stale, text};
use crate::notices::EventKind;
use crate::orders::OrderStatus;
use crate::orders::woocommerce::map::{self, WcOrder};

/// Whether the body is the ping of a newly saved webhook: `webhook_id=<digits>`.
pub fn is_ping(body: &[u8]) -> bool {
    body.trim_ascii()
        .strip_prefix(b"webhook_id=")
        .is_some_and(|id| !id.is_empty() && id.len() <= 20 && id.iter().all(u8::is_ascii_digit))
}

/// Reads a signed delivery of `topic` at `now`. `Err`: the body is no WooCommerce order.
pub fn read(topic: Option<&str>, body: &[u8], now: jiff::Timestamp) -> Result<Reading, String> {
    let topic = topic.map(str::trim).unwrap_or_default();
    match topic.split_once('.') {
        Some(("order", "created" | "updated" | "restored")) => {}
        _ if topic.is_empty() => {
            return Ok(Reading::Ignored(
                "no X-WC-Webhook-Topic header: not a WooCommerce webhook delivery".into(),
            ));
        }
        _ => {
            return Ok(Reading::Ignored(format!(
                "topic `{topic}` tells customers nothing (use order.updated)"
            )));
        }
    }
    let order: WcOrder = serde_json::from_slice(body).map_err(|e| {
        format!(
            "the body of a `{topic}` delivery is not a WooCommerce order (REST API v3 JSON): {e}"
        )
    })?;
    let order_id = if order.number.trim().is_empty() {
        order.id.to_string()
    } else {
        order.number.trim().to_owned()
    };
    if order_id == "0" || order_id.chars().any(char::is_control) {
        return Err("the order has neither a number nor an id".into());
    }
    let mut found = Vec::new();
    let track = map::tracking(&order.meta_data);
    let status = map::status(order.status.trim(), track.is_some());
    let url = track.as_ref().and_then(|t| t.url.as_deref());
    let shipment = track
        .as_ref()
        .and_then(|t| t.number.as_deref().or(t.url.as_deref()))
        .unwrap_or("-");
    let kind = match status {
        OrderStatus::Shipped => Some(EventKind::Shipped),
        OrderStatus::OutForDelivery => Some(EventKind::OutForDelivery),
        OrderStatus::Delivered => Some(EventKind::Delivered),
        _ => None,
    };
    // When it happened, where WooCommerce says: the tracking entry's shipping date, the
    // completion date.
    let since = match kind {
        Some(EventKind::Shipped) => track.as_ref().and_then(|t| t.shipped_on.as_deref()),
        Some(EventKind::Delivered) => order.date_completed.as_deref(),
        _ => None,
    };
    if let Some(kind) = kind.filter(|_| !stale(since, now)) {
        let shipment = if kind == EventKind::Shipped {
            shipment
        } else {
            "-"
        };
        found.push(Found {
            order_id: order_id.clone(),
            event: event(kind, url, None),
            key: key(&["woocommerce", kind.as_str(), shipment]),
        });
    }
    // The newest refund; older ones were told of when they were made.
    let newest = order
        .refunds
        .iter()
        .filter_map(|r| {
            let id = text(&r["id"])?;
            Some((id.parse::<u64>().unwrap_or(0), id))
        })
        .max();
    if let Some((_, refund)) = newest {
        found.push(Found {
            order_id,
            event: event(EventKind::RefundIssued, None, None),
            key: key(&["woocommerce", "refund", &refund]),
        });
    }
    Ok(Reading::Events(found))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn events(status: &str, extra: serde_json::Value) -> Vec<Found> {
        let mut order = json!({"id": 8123, "number": "5522", "status": status});
        if let (Some(o), Some(e)) = (order.as_object_mut(), extra.as_object()) {
            o.extend(e.clone());
        }
        let body = serde_json::to_vec(&order).expect("json");
        match read(Some("order.updated"), &body, now()) {
            Ok(Reading::Events(f)) => f,
            other => panic!("{other:?}"),
        }
    }

    fn now() -> jiff::Timestamp {
        "2026-12-07T12:00:00Z".parse().expect("now")
    }

    fn tracked(shipped: &str) -> serde_json::Value {
        json!({"meta_data": [{"key": "_wc_shipment_tracking_items", "value": [{
            "tracking_provider": "", "custom_tracking_provider": "Aras Kargo",
            "custom_tracking_link": "https://kargo.example/AR1", "tracking_number": "AR1",
            "date_shipped": shipped, "tracking_id": "abc"}]}]})
    }

    #[test]
    fn statuses_become_the_notices_the_backend_would_tell() {
        // Shipped 2026-12-06, the day before `now`.
        let shipped = events("completed", tracked("1796536000"));
        assert_eq!(shipped.len(), 1);
        assert_eq!(shipped[0].order_id, "5522");
        assert_eq!(shipped[0].event.event, EventKind::Shipped);
        assert_eq!(
            shipped[0].event.tracking_url.as_deref(),
            Some("https://kargo.example/AR1")
        );
        assert_eq!(shipped[0].key, "woocommerce:shipped:AR1");
        assert_eq!(
            events("completed", json!({}))[0].key,
            "woocommerce:delivered:-"
        );
        // Shipped in March, completed in March: an edit today is no news.
        assert!(events("completed", tracked("1772841600")).is_empty());
        assert!(
            events(
                "completed",
                json!({"date_completed": "2026-03-07T09:00:00"})
            )
            .is_empty()
        );
        for quiet in ["pending", "processing", "on-hold", "cancelled", "failed"] {
            assert!(events(quiet, json!({})).is_empty(), "{quiet}");
        }
        let refunded = events(
            "refunded",
            json!({"refunds": [{"id": 730, "total": "-5.00"}, {"id": 731, "total": "-9.50"}]}),
        );
        assert_eq!(refunded.len(), 1);
        assert_eq!(refunded[0].event.event, EventKind::RefundIssued);
        assert_eq!(refunded[0].key, "woocommerce:refund:731");
    }

    #[test]
    fn pings_other_topics_and_bad_bodies() {
        assert!(is_ping(b"webhook_id=17"));
        assert!(!is_ping(b"webhook_id="));
        assert!(!is_ping(br#"{"webhook_id":17}"#));
        assert!(matches!(
            read(Some("product.updated"), b"{}", now()),
            Ok(Reading::Ignored(_))
        ));
        assert!(matches!(read(None, b"{}", now()), Ok(Reading::Ignored(_))));
        let e = read(Some("order.updated"), b"webhook_id=17", now()).unwrap_err();
        assert!(e.contains("not a WooCommerce order"), "{e}");
        // No number: the id is the number.
        let f = events("completed", json!({"number": ""}));
        assert_eq!(f[0].order_id, "8123");
    }
}
