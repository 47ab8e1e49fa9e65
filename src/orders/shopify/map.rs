//! A Shopify order (GraphQL Admin API JSON) as destek's `Order`: status from
//! `cancelledAt`, `returnStatus`, the fulfillments and `displayFulfillmentStatus` /
//! `displayFinancialStatus`; tracking from `fulfillments.trackingInfo`; refunds from
//! `refunds`. Pure: no I/O.

use crate::orders::{Item, Order, OrderStatus, Refund};
use serde::Deserialize;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ShOrder {
    /// `gid://shopify/Order/…`.
    pub id: String,
    /// `#1001`.
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub created_at: Option<String>,
    pub cancelled_at: Option<String>,
    pub display_financial_status: Option<String>,
    pub display_fulfillment_status: Option<String>,
    pub return_status: Option<String>,
    pub currency_code: Option<String>,
    pub total_price_set: Option<MoneyBag>,
    pub payment_gateway_names: Vec<String>,
    pub shipping_address: Option<Address>,
    pub billing_address: Option<Address>,
    pub line_items: Nodes<LineItem>,
    pub fulfillments: Vec<Fulfillment>,
    pub refunds: Vec<ShRefund>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Nodes<T> {
    pub nodes: Vec<T>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct MoneyBag {
    pub shop_money: Money,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Money {
    /// A decimal written as a string ("10.00").
    pub amount: String,
    pub currency_code: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Address {
    pub address1: Option<String>,
    pub address2: Option<String>,
    pub city: Option<String>,
    pub province: Option<String>,
    pub zip: Option<String>,
    pub country: Option<String>,
    pub phone: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct LineItem {
    pub sku: Option<String>,
    pub name: String,
    pub quantity: u32,
    pub original_unit_price_set: Option<MoneyBag>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Fulfillment {
    pub created_at: Option<String>,
    pub delivered_at: Option<String>,
    pub estimated_delivery_at: Option<String>,
    pub in_transit_at: Option<String>,
    pub display_status: Option<String>,
    pub tracking_info: Vec<TrackingInfo>,
    pub fulfillment_line_items: Nodes<FulfillmentLineItem>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct TrackingInfo {
    pub company: Option<String>,
    pub number: Option<String>,
    pub url: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct FulfillmentLineItem {
    pub id: String,
    pub quantity: u32,
    pub line_item: Option<LineItem>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ShRefund {
    pub created_at: Option<String>,
    pub total_refunded_set: Option<MoneyBag>,
}

/// The number the customer types for a name: `#1001` → `1001`.
pub fn number(name: &str) -> String {
    name.trim().trim_start_matches('#').trim().to_owned()
}

fn day(date: &str) -> String {
    date.get(..10).unwrap_or(date).to_owned()
}

fn money(m: Option<&MoneyBag>) -> f64 {
    m.and_then(|m| m.shop_money.amount.trim().parse().ok())
        .unwrap_or(0.0)
}

fn text(s: &Option<String>) -> Option<String> {
    s.as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// The newest fulfillment, the one a customer asks about.
fn latest(o: &ShOrder) -> Option<&Fulfillment> {
    o.fulfillments
        .iter()
        .max_by(|a, b| a.created_at.cmp(&b.created_at))
}

pub fn status(o: &ShOrder) -> OrderStatus {
    if o.cancelled_at.is_some() {
        return OrderStatus::Cancelled;
    }
    if o.return_status.as_deref() == Some("RETURNED") {
        return OrderStatus::Returned;
    }
    if let Some(f) = latest(o) {
        if f.delivered_at.is_some() || f.display_status.as_deref() == Some("DELIVERED") {
            return OrderStatus::Delivered;
        }
        if f.display_status.as_deref() == Some("OUT_FOR_DELIVERY") {
            return OrderStatus::OutForDelivery;
        }
        if !matches!(
            f.display_status.as_deref(),
            Some("CANCELED" | "FAILURE" | "NOT_DELIVERED")
        ) {
            return OrderStatus::Shipped;
        }
    }
    match o.display_fulfillment_status.as_deref() {
        Some("FULFILLED" | "PARTIALLY_FULFILLED") => OrderStatus::Shipped,
        Some("RESTOCKED") => OrderStatus::Cancelled,
        _ => match o.display_financial_status.as_deref() {
            Some("PENDING" | "AUTHORIZED" | "EXPIRED" | "PARTIALLY_PAID") => OrderStatus::Placed,
            Some("REFUNDED" | "VOIDED") => OrderStatus::Cancelled,
            _ => OrderStatus::Processing,
        },
    }
}

fn payment_kind(gateways: &[String]) -> Option<String> {
    let g = gateways.first()?.to_ascii_lowercase();
    let kind = if g.contains("cash on delivery") || g.contains("cod") {
        "cash_on_delivery"
    } else if g.contains("bank") {
        "bank_transfer"
    } else if g.contains("paypal") {
        "paypal"
    } else if g.contains("shopify_payments") || g.contains("stripe") || g.contains("card") {
        "card"
    } else {
        return None;
    };
    Some(kind.to_owned())
}

fn address_line(a: &Address) -> Option<String> {
    let place = [text(&a.zip), text(&a.city)]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    let parts: Vec<String> = [
        text(&a.address1),
        text(&a.address2),
        Some(place).filter(|p| !p.is_empty()),
        text(&a.province),
        text(&a.country),
    ]
    .into_iter()
    .flatten()
    .collect();
    (!parts.is_empty()).then(|| parts.join(", "))
}

pub fn order(o: &ShOrder) -> Order {
    let f = latest(o);
    let track = f.and_then(|f| f.tracking_info.first());
    let refunds: Vec<&ShRefund> = o.refunds.iter().collect();
    let refund = (!refunds.is_empty()).then(|| Refund {
        status: "issued".into(),
        amount: refunds
            .iter()
            .map(|r| money(r.total_refunded_set.as_ref()))
            .sum(),
        issued_at: refunds
            .iter()
            .filter_map(|r| r.created_at.as_deref())
            .max()
            .map(day),
    });
    let currency = o
        .total_price_set
        .as_ref()
        .and_then(|t| t.shop_money.currency_code.clone())
        .or_else(|| o.currency_code.clone())
        .unwrap_or_default();
    Order {
        order_id: number(&o.name),
        status: status(o),
        email: text(&o.email).unwrap_or_default(),
        phone: text(&o.phone)
            .or_else(|| o.billing_address.as_ref().and_then(|a| text(&a.phone)))
            .or_else(|| o.shipping_address.as_ref().and_then(|a| text(&a.phone)))
            .unwrap_or_default(),
        placed_at: o.created_at.as_deref().map(day).unwrap_or_default(),
        shipped_at: f.and_then(|f| {
            f.in_transit_at
                .as_deref()
                .or(f.created_at.as_deref())
                .map(day)
        }),
        delivered_at: f.and_then(|f| f.delivered_at.as_deref().map(day)),
        estimated_delivery: f.and_then(|f| f.estimated_delivery_at.as_deref().map(day)),
        carrier: track.and_then(|t| text(&t.company)),
        tracking_number: track.and_then(|t| text(&t.number)),
        tracking_url: track.and_then(|t| text(&t.url)),
        items: o
            .line_items
            .nodes
            .iter()
            .map(|li| Item {
                sku: text(&li.sku).unwrap_or_else(|| li.name.clone()),
                name: li.name.clone(),
                qty: li.quantity,
                price: money(li.original_unit_price_set.as_ref()),
            })
            .collect(),
        total: money(o.total_price_set.as_ref()),
        currency,
        refund,
        payment_method: payment_kind(&o.payment_gateway_names),
        address: o.shipping_address.as_ref().and_then(address_line),
    }
}

/// The fulfilled line items to send back for these SKUs (all when none are named), as
/// `(fulfillmentLineItemId, quantity)`.
pub fn returnable(o: &ShOrder, skus: &[String]) -> Vec<(String, u32)> {
    o.fulfillments
        .iter()
        .flat_map(|f| &f.fulfillment_line_items.nodes)
        .filter(|fli| {
            skus.is_empty()
                || fli.line_item.as_ref().is_some_and(|li| {
                    let sku = text(&li.sku).unwrap_or_else(|| li.name.clone());
                    skus.contains(&sku)
                })
        })
        .map(|fli| (fli.id.clone(), fli.quantity.max(1)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sh(v: serde_json::Value) -> ShOrder {
        serde_json::from_value(v).expect("a Shopify order")
    }

    #[test]
    fn a_fulfilled_order_with_tracking_and_a_refund() {
        let o = sh(json!({
            "id": "gid://shopify/Order/1", "name": "#1001", "email": "tom@example.com",
            "phone": null, "createdAt": "2026-03-01T10:00:00Z", "cancelledAt": null,
            "displayFinancialStatus": "PARTIALLY_REFUNDED", "displayFulfillmentStatus": "FULFILLED",
            "returnStatus": "NO_RETURN", "currencyCode": "USD",
            "totalPriceSet": {"shopMoney": {"amount": "120.00", "currencyCode": "USD"}},
            "paymentGatewayNames": ["shopify_payments"],
            "shippingAddress": {"address1": "1 Main St", "city": "Springfield", "zip": "62704", "country": "United States", "phone": "+1 217 555 0148"},
            "lineItems": {"nodes": [{"sku": "JKT-09", "name": "Rain jacket", "quantity": 1, "originalUnitPriceSet": {"shopMoney": {"amount": "120.00"}}}]},
            "fulfillments": [{"createdAt": "2026-03-02T09:00:00Z", "deliveredAt": null, "estimatedDeliveryAt": "2026-03-06T00:00:00Z",
              "inTransitAt": "2026-03-03T08:00:00Z", "displayStatus": "IN_TRANSIT",
              "trackingInfo": [{"company": "UPS", "number": "1Z999", "url": "https://ups.example/1Z999"}],
              "fulfillmentLineItems": {"nodes": [{"id": "gid://shopify/FulfillmentLineItem/7", "quantity": 1, "lineItem": {"sku": "JKT-09", "name": "Rain jacket"}}]}}],
            "refunds": [{"createdAt": "2026-03-04T10:00:00Z", "totalRefundedSet": {"shopMoney": {"amount": "20.00"}}}]
        }));
        let order = order(&o);
        assert_eq!(order.order_id, "1001");
        assert_eq!(order.status, OrderStatus::Shipped);
        assert_eq!(order.phone, "+1 217 555 0148");
        assert_eq!(order.shipped_at.as_deref(), Some("2026-03-03"));
        assert_eq!(order.estimated_delivery.as_deref(), Some("2026-03-06"));
        assert_eq!(order.carrier.as_deref(), Some("UPS"));
        assert_eq!(order.tracking_number.as_deref(), Some("1Z999"));
        assert_eq!(order.currency, "USD");
        assert!((order.total - 120.0).abs() < 1e-9);
        assert_eq!(order.payment_method.as_deref(), Some("card"));
        let refund = order.refund.expect("a refund");
        assert!((refund.amount - 20.0).abs() < 1e-9);
        assert_eq!(
            returnable(&o, &["JKT-09".into()]),
            vec![("gid://shopify/FulfillmentLineItem/7".into(), 1)]
        );
        assert!(returnable(&o, &["OTHER".into()]).is_empty());
    }

    #[test]
    fn statuses() {
        let base = |v: serde_json::Value| status(&sh(v));
        assert_eq!(
            base(json!({"cancelledAt": "2026-03-01T00:00:00Z"})),
            OrderStatus::Cancelled
        );
        assert_eq!(
            base(
                json!({"displayFinancialStatus": "PENDING", "displayFulfillmentStatus": "UNFULFILLED"})
            ),
            OrderStatus::Placed
        );
        assert_eq!(
            base(
                json!({"displayFinancialStatus": "PAID", "displayFulfillmentStatus": "UNFULFILLED"})
            ),
            OrderStatus::Processing
        );
        assert_eq!(
            base(json!({"fulfillments": [{"displayStatus": "OUT_FOR_DELIVERY"}]})),
            OrderStatus::OutForDelivery
        );
        assert_eq!(
            base(json!({"fulfillments": [{"deliveredAt": "2026-03-05T00:00:00Z"}]})),
            OrderStatus::Delivered
        );
        assert_eq!(
            base(json!({"returnStatus": "RETURNED"})),
            OrderStatus::Returned
        );
    }
}
