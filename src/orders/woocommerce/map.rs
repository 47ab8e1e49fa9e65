//! A WooCommerce order (REST API v3 JSON) as destek's `Order`: statuses, line items,
//! the Shipment Tracking extension's meta, refunds, the billing contact and the shipping
//! address. Pure: no I/O.

use crate::orders::{Item, Order, OrderStatus, Refund};
use serde::Deserialize;
use serde_json::Value;

/// The parts of a WooCommerce order destek reads. Unknown fields are ignored; missing
/// ones take their defaults, since extensions and old versions leave some out.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct WcOrder {
    pub id: u64,
    /// The number the shop shows the customer; differs from `id` with sequential-number
    /// extensions.
    pub number: String,
    pub status: String,
    pub currency: String,
    pub date_created: Option<String>,
    pub date_completed: Option<String>,
    pub total: Value,
    pub billing: WcAddress,
    pub shipping: WcAddress,
    pub payment_method: String,
    pub line_items: Vec<WcLineItem>,
    pub meta_data: Vec<WcMeta>,
    /// Summaries of the refunds; the amounts are read from `/orders/{id}/refunds`.
    pub refunds: Vec<Value>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct WcAddress {
    pub first_name: String,
    pub last_name: String,
    pub company: String,
    pub address_1: String,
    pub address_2: String,
    pub city: String,
    pub state: String,
    pub postcode: String,
    pub country: String,
    pub email: Option<String>,
    pub phone: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct WcLineItem {
    pub name: String,
    pub product_id: u64,
    pub quantity: Value,
    pub sku: Option<String>,
    /// The unit price (a number, not a string, in v3).
    pub price: Value,
    pub total: Value,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct WcMeta {
    pub key: String,
    pub value: Value,
}

/// One refund from `GET /orders/{id}/refunds`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct WcRefund {
    pub date_created: Option<String>,
    pub amount: Value,
}

/// The statuses in which WooCommerce lets a customer's order still be cancelled or its
/// address changed: nothing has left the warehouse.
pub const CHANGEABLE: [&str; 3] = ["pending", "processing", "on-hold"];

/// WooCommerce's status as one of destek's. `shipped` says the Shipment Tracking
/// extension recorded a shipment: shops that use it mark an order `completed` when it
/// leaves (the extension mails the tracking then), so a tracked `completed` order is on
/// its way; without tracking, `completed` is the end of the order: delivered.
pub fn status(wc: &str, shipped: bool) -> OrderStatus {
    match wc {
        "pending" | "on-hold" | "checkout-draft" => OrderStatus::Placed,
        "processing" if shipped => OrderStatus::Shipped,
        "processing" => OrderStatus::Processing,
        "completed" if shipped => OrderStatus::Shipped,
        "completed" => OrderStatus::Delivered,
        "shipped" => OrderStatus::Shipped,
        "out-for-delivery" => OrderStatus::OutForDelivery,
        "delivered" => OrderStatus::Delivered,
        "cancelled" | "failed" => OrderStatus::Cancelled,
        "refunded" if shipped => OrderStatus::Returned,
        "refunded" => OrderStatus::Cancelled,
        // A status an extension added: the order exists and is being handled.
        _ => OrderStatus::Processing,
    }
}

/// A money amount WooCommerce writes as a string ("29.35") or a number.
pub fn amount(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// The date part of a WooCommerce date ("2026-03-10T12:00:00").
fn day(date: &str) -> String {
    date.get(..10).unwrap_or(date).to_owned()
}

/// The latest shipment of the Shipment Tracking extension (`_wc_shipment_tracking_items`).
#[derive(Debug, Default, PartialEq)]
pub struct Tracking {
    pub carrier: Option<String>,
    pub number: Option<String>,
    pub url: Option<String>,
    pub shipped_on: Option<String>,
}

pub fn tracking(meta: &[WcMeta]) -> Option<Tracking> {
    let items = meta
        .iter()
        .find(|m| m.key == "_wc_shipment_tracking_items")?
        .value
        .as_array()?;
    let last = items.last()?;
    let text = |k: &str| {
        last.get(k)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    let shipped_on = match last.get("date_shipped") {
        Some(Value::String(s)) => s.trim().parse::<i64>().ok(),
        Some(Value::Number(n)) => n.as_i64(),
        _ => None,
    }
    .and_then(|secs| jiff::Timestamp::from_second(secs).ok())
    .map(|t| {
        t.to_zoned_datetime(jiff::tz::TimeZone::UTC)
            .date()
            .to_string()
    });
    Some(Tracking {
        carrier: text("custom_tracking_provider").or_else(|| text("tracking_provider")),
        number: text("tracking_number"),
        url: text("custom_tracking_link"),
        shipped_on,
    })
}

/// WooCommerce's payment gateway id as the kinds destek's refund times know.
fn payment_kind(gateway: &str) -> Option<String> {
    let kind = match gateway {
        "cod" => "cash_on_delivery",
        "bacs" | "cheque" => "bank_transfer",
        "paypal" | "ppec_paypal" | "ppcp-gateway" => "paypal",
        g if g.starts_with("stripe") || g == "woocommerce_payments" || g.contains("card") => "card",
        _ => return None,
    };
    Some(kind.to_owned())
}

/// The shipping address on one line, empty parts left out.
pub fn address_line(a: &WcAddress) -> Option<String> {
    let place = [a.postcode.trim(), a.city.trim()]
        .into_iter()
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    let parts: Vec<&str> = [
        a.address_1.trim(),
        a.address_2.trim(),
        place.as_str(),
        a.state.trim(),
        a.country.trim(),
    ]
    .into_iter()
    .filter(|s| !s.is_empty())
    .collect();
    (!parts.is_empty()).then(|| parts.join(", "))
}

/// The order as destek sees it; `refunds` from `/orders/{id}/refunds` when fetched.
pub fn order(wc: &WcOrder, refunds: &[WcRefund]) -> Order {
    let track = tracking(&wc.meta_data);
    let shipped = track.is_some();
    let status = status(&wc.status, shipped);
    let completed_on = wc.date_completed.as_deref().map(day);
    let shipped_at = track.as_ref().and_then(|t| t.shipped_on.clone());
    let delivered_at = (status == OrderStatus::Delivered)
        .then_some(completed_on)
        .flatten();
    let items = wc
        .line_items
        .iter()
        .map(|li| {
            let qty = amount(&li.quantity).unwrap_or(1.0).max(0.0) as u32;
            let price = amount(&li.price)
                .or_else(|| amount(&li.total).map(|t| t / f64::from(qty.max(1))))
                .unwrap_or(0.0);
            Item {
                sku: li
                    .sku
                    .clone()
                    .filter(|s| !s.trim().is_empty())
                    .unwrap_or_else(|| li.product_id.to_string()),
                name: li.name.clone(),
                qty,
                price,
            }
        })
        .collect();
    let refunded: f64 = refunds
        .iter()
        .filter_map(|r| amount(&r.amount))
        .map(f64::abs)
        .sum();
    let refund = (!refunds.is_empty()).then(|| Refund {
        status: "issued".into(),
        amount: refunded,
        issued_at: refunds
            .iter()
            .filter_map(|r| r.date_created.as_deref())
            .max()
            .map(day),
    });
    let number = if wc.number.trim().is_empty() {
        wc.id.to_string()
    } else {
        wc.number.trim().to_owned()
    };
    Order {
        order_id: number,
        status,
        email: wc.billing.email.clone().unwrap_or_default(),
        phone: wc
            .billing
            .phone
            .clone()
            .filter(|p| !p.trim().is_empty())
            .or_else(|| wc.shipping.phone.clone())
            .unwrap_or_default(),
        placed_at: wc.date_created.as_deref().map(day).unwrap_or_default(),
        shipped_at,
        delivered_at,
        estimated_delivery: None,
        carrier: track.as_ref().and_then(|t| t.carrier.clone()),
        tracking_number: track.as_ref().and_then(|t| t.number.clone()),
        tracking_url: track.and_then(|t| t.url),
        items,
        total: amount(&wc.total).unwrap_or(0.0),
        currency: wc.currency.clone(),
        refund,
        payment_method: payment_kind(&wc.payment_method),
        address: address_line(&wc.shipping),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn wc(v: Value) -> WcOrder {
        serde_json::from_value(v).expect("a WooCommerce order")
    }

    #[test]
    fn statuses_map_to_what_the_customer_is_told() {
        assert_eq!(status("pending", false), OrderStatus::Placed);
        assert_eq!(status("on-hold", false), OrderStatus::Placed);
        assert_eq!(status("processing", false), OrderStatus::Processing);
        assert_eq!(status("processing", true), OrderStatus::Shipped);
        assert_eq!(status("completed", true), OrderStatus::Shipped);
        assert_eq!(status("completed", false), OrderStatus::Delivered);
        assert_eq!(status("cancelled", false), OrderStatus::Cancelled);
        assert_eq!(status("failed", false), OrderStatus::Cancelled);
        assert_eq!(status("refunded", false), OrderStatus::Cancelled);
        assert_eq!(status("refunded", true), OrderStatus::Returned);
        assert_eq!(status("wc-custom", false), OrderStatus::Processing);
    }

    #[test]
    fn an_order_with_tracking_items_and_refunds() {
        let o = wc(json!({
            "id": 8123, "number": "5522", "status": "completed", "currency": "TRY",
            "date_created": "2026-03-01T10:00:00", "date_completed": "2026-03-03T09:00:00",
            "total": "449.80", "payment_method": "cod",
            "billing": {"email": "ayse@example.com", "phone": "0532 111 22 33"},
            "shipping": {"address_1": "Moda Cad. 5", "city": "Kadıköy", "postcode": "34710", "country": "TR"},
            "line_items": [{"name": "Kupa", "product_id": 12, "quantity": 2, "sku": "", "price": 149.9, "total": "299.80"}],
            "meta_data": [{"id": 1, "key": "_wc_shipment_tracking_items", "value": [
                {"tracking_provider": "", "custom_tracking_provider": "Yurtiçi Kargo",
                 "custom_tracking_link": "https://track.example/YK1", "tracking_number": "YK1",
                 "date_shipped": "1772496000"}
            ]}]
        }));
        let refunds = vec![WcRefund {
            date_created: Some("2026-03-05T08:00:00".into()),
            amount: json!("149.90"),
        }];
        let order = order(&o, &refunds);
        assert_eq!(order.order_id, "5522");
        assert_eq!(order.status, OrderStatus::Shipped);
        assert_eq!(order.placed_at, "2026-03-01");
        assert_eq!(order.shipped_at.as_deref(), Some("2026-03-03"));
        assert_eq!(order.carrier.as_deref(), Some("Yurtiçi Kargo"));
        assert_eq!(order.tracking_number.as_deref(), Some("YK1"));
        assert_eq!(order.items[0].sku, "12");
        assert_eq!(order.items[0].qty, 2);
        assert!((order.total - 449.8).abs() < 1e-9);
        assert_eq!(order.payment_method.as_deref(), Some("cash_on_delivery"));
        assert_eq!(
            order.address.as_deref(),
            Some("Moda Cad. 5, 34710 Kadıköy, TR")
        );
        let refund = order.refund.expect("a refund");
        assert!((refund.amount - 149.9).abs() < 1e-9);
        assert_eq!(refund.issued_at.as_deref(), Some("2026-03-05"));
    }

    #[test]
    fn a_bare_order_keeps_its_id_as_number_and_no_tracking() {
        let order = order(&wc(json!({"id": 77, "status": "processing"})), &[]);
        assert_eq!(order.order_id, "77");
        assert_eq!(order.status, OrderStatus::Processing);
        assert_eq!(order.carrier, None);
        assert_eq!(order.refund, None);
        assert_eq!(order.address, None);
    }
}
