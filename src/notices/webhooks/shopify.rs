//! A Shopify webhook delivery (topic in `X-Shopify-Topic`, the REST Admin API resource as
//! the body) read into notices:
//!
//! - `orders/*` (an order: `orders/updated`, `orders/fulfilled`, …): its most recently
//!   updated successful fulfillment, and its newest refund;
//! - `fulfillments/create`, `fulfillments/update` (a fulfillment named `#1001.1`, the
//!   order's name and the shipment's number): that fulfillment.
//!
//! A fulfillment's carrier status (`shipment_status`) gives the event: none yet,
//! `label_printed`, `label_purchased`, `confirmed`, `carrier_picked_up`, `in_transit` →
//! `shipped` with the tracking link; `out_for_delivery`; `delivered`; `delayed` → `delayed`
//! with the carrier's new estimate. `attempted_delivery`, `ready_for_pickup`, `picked_up`
//! and `failure` have no notice of their own. Each is keyed by the fulfillment's id (and a
//! delay by its estimate too), a refund by its id.
//!
//! The order is named as the Shopify backend names it: `name` without the `#`
//! (`orders::shopify::map::number`), the number the customer types.

use super::{Found, Reading, event, key, stale, text};
use crate::notices::EventKind;
use crate::orders::shopify::map::number;
use serde_json::Value;

/// Reads a signed delivery of `topic` at `now`. `Err`: the body is not what the topic
/// promises.
pub fn read(topic: Option<&str>, body: &[u8], now: jiff::Timestamp) -> Result<Reading, String> {
    let topic = topic.map(str::trim).unwrap_or_default();
    let (resource, action) = topic.split_once('/').unwrap_or((topic, ""));
    let kind = match (resource, action) {
        ("orders", "delete" | "edited") => None,
        ("orders", _) => Some(true),
        ("fulfillments", "create" | "update") => Some(false),
        _ => None,
    };
    let Some(is_order) = kind else {
        if topic.is_empty() {
            return Ok(Reading::Ignored(
                "no X-Shopify-Topic header: not a Shopify webhook delivery".into(),
            ));
        }
        return Ok(Reading::Ignored(format!(
            "topic `{topic}` carries no order number (use orders/updated and fulfillments/update)"
        )));
    };
    let v: Value = serde_json::from_slice(body)
        .ok()
        .filter(Value::is_object)
        .ok_or_else(|| format!("the body of a `{topic}` delivery is not a JSON object"))?;
    if is_order {
        from_order(&v, now)
    } else {
        from_fulfillment(&v, now)
    }
}

fn order_name(v: &Value) -> Option<String> {
    text(&v["name"])
        .map(|n| number(&n))
        .filter(|n| !n.is_empty())
        .or_else(|| text(&v["order_number"]))
        .filter(|n| !n.chars().any(char::is_control))
}

fn from_order(v: &Value, now: jiff::Timestamp) -> Result<Reading, String> {
    let order_id = order_name(v).ok_or("the order has no name")?;
    let mut found = Vec::new();
    let latest = v["fulfillments"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|f| succeeded(f))
        .max_by_key(|f| {
            (
                text(&f["updated_at"]).unwrap_or_default(),
                f["id"].as_u64().unwrap_or(0),
            )
        });
    if let Some(f) = latest {
        found.extend(shipment(&order_id, f, now));
    }
    let newest = v["refunds"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|r| refunded_money(r) && !stale(r["created_at"].as_str(), now))
        .filter_map(|r| Some((r["id"].as_u64().unwrap_or(0), text(&r["id"])?)))
        .max();
    if let Some((_, refund)) = newest {
        found.push(Found {
            order_id,
            event: event(EventKind::RefundIssued, None, None),
            key: key(&["shopify", "refund", &refund]),
        });
    }
    Ok(Reading::Events(found))
}

fn from_fulfillment(v: &Value, now: jiff::Timestamp) -> Result<Reading, String> {
    // `#1001.1`: the order's name, a dot, the shipment's number.
    let name = text(&v["name"]).ok_or("the fulfillment has no name")?;
    let order = match name.rsplit_once('.') {
        Some((order, n)) if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) => order,
        _ => return Err(format!("`{name}` is not a fulfillment name like #1001.1")),
    };
    let order_id = number(order);
    if order_id.is_empty() || order_id.chars().any(char::is_control) {
        return Err(format!("`{name}` is not a fulfillment name like #1001.1"));
    }
    if !succeeded(v) {
        return Ok(Reading::Events(Vec::new()));
    }
    Ok(Reading::Events(
        shipment(&order_id, v, now).into_iter().collect(),
    ))
}

/// A fulfillment that happened (not cancelled, failed or still pending).
fn succeeded(f: &Value) -> bool {
    matches!(f["status"].as_str(), None | Some("success"))
}

/// A refund that gave money back: one with no transactions listed counts, one whose
/// transactions all failed does not (a restock-only refund).
fn refunded_money(r: &Value) -> bool {
    match r["transactions"].as_array() {
        None => true,
        Some(t) if t.is_empty() => true,
        Some(t) => t.iter().any(|t| {
            t["kind"].as_str() == Some("refund")
                && matches!(t["status"].as_str(), None | Some("success"))
        }),
    }
}

fn shipment(order_id: &str, f: &Value, now: jiff::Timestamp) -> Option<Found> {
    let id = text(&f["id"]).or_else(|| text(&f["name"]))?;
    // A shipment whose last change is old is no news (an old order saved again).
    let changed = f["updated_at"].as_str().or(f["created_at"].as_str());
    if stale(changed, now) {
        return None;
    }
    let kind = match f["shipment_status"].as_str().map(str::trim) {
        None
        | Some(
            "" | "label_printed" | "label_purchased" | "confirmed" | "carrier_picked_up"
            | "in_transit",
        ) => EventKind::Shipped,
        Some("out_for_delivery") => EventKind::OutForDelivery,
        Some("delivered") => EventKind::Delivered,
        Some("delayed") => EventKind::Delayed,
        Some(_) => return None,
    };
    let url = text(&f["tracking_url"]).or_else(|| {
        f["tracking_urls"]
            .as_array()
            .and_then(|u| u.iter().find_map(text))
    });
    let eta = text(&f["estimated_delivery_at"]);
    let ev = event(kind, url.as_deref(), eta.as_deref());
    let key = match kind {
        // A new estimate is news; the same one again is not.
        EventKind::Delayed => key(&[
            "shopify",
            kind.as_str(),
            &id,
            ev.estimated_delivery.as_deref().unwrap_or("-"),
        ]),
        _ => key(&["shopify", kind.as_str(), &id]),
    };
    Some(Found {
        order_id: order_id.to_owned(),
        event: ev,
        key,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn found(topic: &str, body: Value) -> Vec<Found> {
        let now = "2026-12-07T12:00:00Z".parse().expect("now");
        match read(Some(topic), &serde_json::to_vec(&body).expect("json"), now) {
            Ok(Reading::Events(f)) => f,
            other => panic!("{other:?}"),
        }
    }

    fn fulfillment(id: u64, status: Option<&str>, updated: &str) -> Value {
        json!({"id": id, "order_id": 450789469, "name": "#1001.1", "status": "success",
               "shipment_status": status, "updated_at": updated,
               "tracking_url": "https://track.example/1Z1", "tracking_number": "1Z1"})
    }

    #[test]
    fn a_fulfillment_names_its_order_and_its_carrier_status_the_event() {
        let f = found(
            "fulfillments/update",
            fulfillment(255858046, Some("out_for_delivery"), "2026-12-07T10:00:00Z"),
        );
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].order_id, "1001");
        assert_eq!(f[0].event.event, EventKind::OutForDelivery);
        assert_eq!(f[0].key, "shopify:out_for_delivery:255858046");
        let f = found(
            "fulfillments/create",
            fulfillment(1, None, "2026-12-07T10:00:00Z"),
        );
        assert_eq!(f[0].event.event, EventKind::Shipped);
        assert_eq!(
            f[0].event.tracking_url.as_deref(),
            Some("https://track.example/1Z1")
        );
        for silent in ["failure", "attempted_delivery", "ready_for_pickup"] {
            assert!(
                found(
                    "fulfillments/update",
                    fulfillment(1, Some(silent), "2026-12-07")
                )
                .is_empty()
            );
        }
        let mut delayed = fulfillment(1, Some("delayed"), "2026-12-07");
        delayed["estimated_delivery_at"] = json!("2026-12-24T12:00:00Z");
        let f = found("fulfillments/update", delayed);
        assert_eq!(f[0].event.estimated_delivery.as_deref(), Some("2026-12-24"));
        assert_eq!(f[0].key, "shopify:delayed:1:2026-12-24");
        let mut cancelled = fulfillment(1, None, "2026-12-07");
        cancelled["status"] = json!("cancelled");
        assert!(found("fulfillments/update", cancelled).is_empty());
        let epoch = jiff::Timestamp::UNIX_EPOCH;
        assert!(read(Some("fulfillments/update"), br##"{"name":"#1001"}"##, epoch).is_err());
        // Delivered in March, updated again today for another reason: no news.
        assert!(
            found(
                "fulfillments/update",
                fulfillment(1, Some("delivered"), "2026-03-10T10:00:00Z")
            )
            .is_empty()
        );
    }

    #[test]
    fn an_order_gives_its_latest_shipment_and_newest_refund() {
        let order = json!({
            "id": 450789469, "name": "#1001", "order_number": 1001,
            "fulfillments": [
                fulfillment(1, Some("delivered"), "2026-12-01T10:00:00Z"),
                fulfillment(2, Some("in_transit"), "2026-12-06T10:00:00Z"),
            ],
            "refunds": [
                {"id": 509562969, "transactions": [{"kind": "refund", "status": "success"}]},
                {"id": 509562970, "transactions": [{"kind": "refund", "status": "failure"}]},
            ],
        });
        let f = found("orders/updated", order);
        let keys: Vec<&str> = f.iter().map(|f| f.key.as_str()).collect();
        assert_eq!(keys, ["shopify:shipped:2", "shopify:refund:509562969"]);
        assert!(f.iter().all(|f| f.order_id == "1001"));
        assert!(found("orders/create", json!({"name": "#1002"})).is_empty());
        assert!(matches!(
            read(Some("refunds/create"), b"{}", jiff::Timestamp::UNIX_EPOCH),
            Ok(Reading::Ignored(_))
        ));
        assert!(read(Some("orders/updated"), b"[]", jiff::Timestamp::UNIX_EPOCH).is_err());
    }
}
