//! Orders as the shop's backend describes them (design §7), the `OrderBackend` trait the
//! engine's driver calls, and an in-memory backend holding the demo orders.
//!
//! Nothing here decides what a customer may see: verification lives in the dialogue.

mod breaker;
pub mod csv;
pub mod http;
pub mod ping;
pub mod shopify;
pub mod sqlite;
pub mod texted_codes;
pub mod transport;
pub mod woocommerce;

use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Order {
    pub order_id: String,
    pub status: OrderStatus,
    pub email: String,
    pub phone: String,
    pub placed_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shipped_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivered_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub estimated_delivery: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub carrier: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracking_number: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracking_url: Option<String>,
    #[serde(default)]
    pub items: Vec<Item>,
    pub total: f64,
    pub currency: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund: Option<Refund>,
    /// How the customer paid (`card`, `cash_on_delivery`, `bank_transfer`, `paypal`,
    /// `wallet`): decides how long a refund takes. An extension of the design §7 contract.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_method: Option<String>,
    /// The delivery address, when the backend shares it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    Placed,
    Processing,
    Shipped,
    OutForDelivery,
    Delivered,
    Cancelled,
    Returned,
}

impl OrderStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            OrderStatus::Placed => "placed",
            OrderStatus::Processing => "processing",
            OrderStatus::Shipped => "shipped",
            OrderStatus::OutForDelivery => "out_for_delivery",
            OrderStatus::Delivered => "delivered",
            OrderStatus::Cancelled => "cancelled",
            OrderStatus::Returned => "returned",
        }
    }

    pub const ALL: [&'static str; 7] = [
        "placed",
        "processing",
        "shipped",
        "out_for_delivery",
        "delivered",
        "cancelled",
        "returned",
    ];
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Item {
    pub sku: String,
    pub name: String,
    pub qty: u32,
    pub price: f64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Refund {
    pub status: String,
    pub amount: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issued_at: Option<String>,
}

/// What the backend answers to a return request.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReturnCreated {
    pub return_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label_url: Option<String>,
}

/// The shop's systems could not answer. The customer is told so and offered a person;
/// the detail goes to the log, never to the customer.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("order backend unavailable: {0}")]
pub struct BackendError(pub String);

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Where orders come from. Boxed futures keep the trait usable as `dyn OrderBackend`.
pub trait OrderBackend: Send + Sync {
    /// `Ok(None)` when no such order exists.
    fn order<'a>(&'a self, order_id: &'a str)
    -> BoxFuture<'a, Result<Option<Order>, BackendError>>;
    fn cancel<'a>(&'a self, order_id: &'a str) -> BoxFuture<'a, Result<(), BackendError>>;
    fn start_return<'a>(
        &'a self,
        order_id: &'a str,
        items: Vec<String>,
        reason: String,
    ) -> BoxFuture<'a, Result<ReturnCreated, BackendError>>;
    /// Changes the delivery address of an order that has not shipped.
    fn change_address<'a>(
        &'a self,
        order_id: &'a str,
        address: String,
    ) -> BoxFuture<'a, Result<(), BackendError>>;
    /// The orders with this e-mail or phone on them, newest first (design §7,
    /// `GET {base_url}/orders?email=…&phone=…`), for a customer without the order number.
    /// The dialogue reveals none of them until the other factor matches too.
    fn orders_by_contact<'a>(
        &'a self,
        contact: Contact,
    ) -> BoxFuture<'a, Result<Vec<Order>, BackendError>>;
    /// Shops that verify a phone with a one-time code by SMS: sends one to this contact if
    /// an order carries it. `Ok(true)` whenever the shop sends codes at all — whether an
    /// order exists or not — so the answer reveals nothing; `Ok(false)`: the shop does not
    /// (the bot asks for the other factor instead).
    fn send_code<'a>(&'a self, _contact: Contact) -> BoxFuture<'a, Result<bool, BackendError>> {
        Box::pin(std::future::ready(Ok(false)))
    }
    /// The orders of this contact when `code` is the one the shop sent it; none otherwise.
    fn check_code<'a>(
        &'a self,
        _contact: Contact,
        _code: String,
    ) -> BoxFuture<'a, Result<Vec<Order>, BackendError>> {
        Box::pin(std::future::ready(Ok(Vec::new())))
    }
}

/// What a customer gave to find their orders without the number.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Contact {
    Email(String),
    Phone(String),
}

impl Contact {
    /// Whether `order` carries this contact: e-mails compared without case, phones by
    /// their last ten digits (country codes and leading zeros aside).
    pub fn matches(&self, order: &Order) -> bool {
        match self {
            Contact::Email(e) => order.email.trim().eq_ignore_ascii_case(e.trim()),
            Contact::Phone(p) => {
                let (a, b) = (phone_key(p), phone_key(&order.phone));
                a.len() >= 7 && a == b
            }
        }
    }
}

/// The last ten digits of a phone number.
pub fn phone_key(phone: &str) -> String {
    let digits: Vec<char> = phone.chars().filter(char::is_ascii_digit).collect();
    digits[digits.len().saturating_sub(10)..].iter().collect()
}

/// Newest first, then by id, so every backend lists a customer's orders alike.
pub fn newest_first(orders: &mut [Order]) {
    orders.sort_by(|a, b| {
        b.placed_at
            .cmp(&a.placed_at)
            .then_with(|| a.order_id.cmp(&b.order_id))
    });
}

/// Orders held in memory: the demo orders for `chat`, `test` and the benchmarks.
#[derive(Debug, Default)]
pub struct InMemoryOrders {
    // A std Mutex: critical sections are a map lookup, never held across an await.
    orders: Mutex<HashMap<String, Order>>,
    /// Open returns: order id, item SKUs, return id.
    returns: Mutex<Vec<(String, Vec<String>, String)>>,
}

impl InMemoryOrders {
    pub fn new(orders: impl IntoIterator<Item = Order>) -> Self {
        InMemoryOrders {
            orders: Mutex::new(
                orders
                    .into_iter()
                    .map(|o| (o.order_id.clone(), o))
                    .collect(),
            ),
            returns: Mutex::new(Vec::new()),
        }
    }

    /// The demo orders, dated relative to `today`.
    pub fn demo(today: Date) -> Self {
        Self::new(demo_orders(today))
    }

    fn with<T>(&self, f: impl FnOnce(&mut HashMap<String, Order>) -> T) -> Result<T, BackendError> {
        let mut guard = self
            .orders
            .lock()
            .map_err(|_| BackendError("order store poisoned".into()))?;
        Ok(f(&mut guard))
    }
}

impl OrderBackend for InMemoryOrders {
    fn order<'a>(
        &'a self,
        order_id: &'a str,
    ) -> BoxFuture<'a, Result<Option<Order>, BackendError>> {
        let r = self.with(|m| m.get(order_id).cloned());
        Box::pin(std::future::ready(r))
    }

    fn cancel<'a>(&'a self, order_id: &'a str) -> BoxFuture<'a, Result<(), BackendError>> {
        let r = self
            .with(|m| match m.get_mut(order_id) {
                Some(o) if matches!(o.status, OrderStatus::Placed | OrderStatus::Processing) => {
                    o.status = OrderStatus::Cancelled;
                    Ok(())
                }
                Some(o) => Err(BackendError(format!(
                    "order {} cannot be cancelled in status {}",
                    o.order_id,
                    o.status.as_str()
                ))),
                None => Err(BackendError(format!("no order {order_id}"))),
            })
            .and_then(|r| r);
        Box::pin(std::future::ready(r))
    }

    fn start_return<'a>(
        &'a self,
        order_id: &'a str,
        items: Vec<String>,
        _reason: String,
    ) -> BoxFuture<'a, Result<ReturnCreated, BackendError>> {
        let r = match self.returns.lock() {
            Ok(mut open) => {
                // One open return per order item (an empty list is the whole order).
                let existing = open.iter().find(|(o, theirs, _)| {
                    o == order_id
                        && (theirs.is_empty()
                            || items.is_empty()
                            || theirs.iter().any(|i| items.contains(i)))
                });
                let return_id = match existing {
                    Some((_, _, id)) => id.clone(),
                    None => {
                        let id = format!("R-{}-{}", order_id, open.len() + 1);
                        open.push((order_id.to_owned(), items, id.clone()));
                        id
                    }
                };
                Ok(ReturnCreated {
                    return_id,
                    label_url: Some(format!("https://shop.example/returns/{order_id}/label.pdf")),
                })
            }
            Err(_) => Err(BackendError("return list poisoned".into())),
        };
        Box::pin(std::future::ready(r))
    }

    fn orders_by_contact<'a>(
        &'a self,
        contact: Contact,
    ) -> BoxFuture<'a, Result<Vec<Order>, BackendError>> {
        let r = self.with(|m| {
            let mut found: Vec<Order> =
                m.values().filter(|o| contact.matches(o)).cloned().collect();
            newest_first(&mut found);
            found
        });
        Box::pin(std::future::ready(r))
    }

    fn change_address<'a>(
        &'a self,
        order_id: &'a str,
        address: String,
    ) -> BoxFuture<'a, Result<(), BackendError>> {
        let r = self
            .with(|m| match m.get_mut(order_id) {
                Some(o) if matches!(o.status, OrderStatus::Placed | OrderStatus::Processing) => {
                    o.address = Some(address);
                    Ok(())
                }
                Some(o) => Err(BackendError(format!(
                    "order {} has shipped; its address cannot change",
                    o.order_id
                ))),
                None => Err(BackendError(format!("no order {order_id}"))),
            })
            .and_then(|r| r);
        Box::pin(std::future::ready(r))
    }
}

/// A demo order; dates are days relative to today so the demo never goes stale.
struct Demo {
    id: &'static str,
    status: OrderStatus,
    email: &'static str,
    phone: &'static str,
    placed: i32,
    shipped: Option<i32>,
    delivered: Option<i32>,
    eta: Option<i32>,
    item: (&'static str, &'static str, u32, f64),
    currency: &'static str,
}

fn day(today: Date, offset: i32) -> String {
    today
        .checked_add(jiff::Span::new().days(i64::from(offset)))
        .unwrap_or(today)
        .to_string()
}

impl Demo {
    fn build(&self, today: Date) -> Order {
        let (sku, name, qty, price) = self.item;
        let shipped = self.shipped.is_some();
        let plain = self.id.replace('-', "");
        Order {
            order_id: self.id.into(),
            status: self.status,
            email: self.email.into(),
            phone: self.phone.into(),
            placed_at: day(today, self.placed),
            shipped_at: self.shipped.map(|d| day(today, d)),
            delivered_at: self.delivered.map(|d| day(today, d)),
            estimated_delivery: self.eta.map(|d| day(today, d)),
            carrier: shipped.then(|| "Yurtiçi Kargo".to_owned()),
            tracking_number: shipped.then(|| format!("YK{plain}")),
            tracking_url: shipped
                .then(|| format!("https://track.example/{}", plain.to_lowercase())),
            items: vec![Item {
                sku: sku.into(),
                name: name.into(),
                qty,
                price,
            }],
            total: f64::from(qty) * price,
            currency: self.currency.into(),
            refund: None,
            payment_method: Some(
                if self.id == "773456" {
                    "cash_on_delivery"
                } else {
                    "card"
                }
                .to_owned(),
            ),
            address: None,
        }
    }
}

/// Demo orders, fictitious, covering every status the default pack talks about and the
/// situations of the example conversations. `today` anchors their dates.
pub fn demo_orders(today: Date) -> Vec<Order> {
    use OrderStatus::*;
    let d = |id, status, email, phone, placed, shipped, delivered, eta, item| Demo {
        id,
        status,
        email,
        phone,
        placed,
        shipped,
        delivered,
        eta,
        item,
        currency: "TRY",
    };
    let mut demos = vec![
        d(
            "48213977",
            Shipped,
            "ayse.yilmaz@example.com",
            "+90 532 111 22 33",
            -3,
            Some(-1),
            None,
            Some(2),
            ("MUG-01", "Seramik kupa", 2, 149.90),
        ),
        d(
            "SP-77410",
            Processing,
            "mehmet.kaya@example.com",
            "0555 123 45 67",
            -1,
            None,
            None,
            Some(4),
            ("TSH-22", "Pamuklu tişört", 1, 349.00),
        ),
        d(
            "TR-55320",
            Delivered,
            "zeynep.demir@example.com",
            "+90 544 987 65 43",
            -6,
            Some(-3),
            Some(0),
            None,
            ("GLS-06", "Su bardağı 6'lı", 1, 289.00),
        ),
        d(
            "60042317",
            Shipped,
            "can.ozturk@example.com",
            "+90 533 444 55 66",
            -16,
            Some(-14),
            None,
            Some(-10),
            ("LMP-03", "Masa lambası", 1, 799.00),
        ),
        d(
            "4582193",
            OutForDelivery,
            "sara.ahmadi@example.com",
            "09123456789",
            -4,
            Some(-2),
            None,
            Some(0),
            ("BAG-10", "کیف چرمی", 1, 1890.00),
        ),
        d(
            "334512",
            Delivered,
            "ali.rezaei@example.com",
            "09351112233",
            -9,
            Some(-7),
            Some(-5),
            None,
            ("SHO-41", "کفش ورزشی", 1, 2450.00),
        ),
        d(
            "221098",
            Processing,
            "maryam.k@example.com",
            "09123456789",
            -1,
            None,
            None,
            Some(3),
            ("HDP-02", "هدفون بی‌سیم", 1, 3200.00),
        ),
        d(
            "IR-3320",
            Processing,
            "sara.m@example.com",
            "09129876543",
            -1,
            None,
            None,
            Some(4),
            ("SCF-07", "شال نخی", 1, 640.00),
        ),
        d(
            "773456",
            Placed,
            "reza.karimi@example.com",
            "+98 935 222 3344",
            0,
            None,
            None,
            Some(6),
            ("SHO-42", "کفش کتانی", 1, 2100.00),
        ),
        d(
            "A77310",
            Shipped,
            "tom.h@example.com",
            "+1 415 555 0134",
            -3,
            Some(-1),
            None,
            Some(2),
            ("JKT-09", "Rain jacket", 1, 120.00),
        ),
        d(
            "30991",
            Returned,
            "jane.smith@example.com",
            "+1 212 555 0188",
            -30,
            Some(-28),
            Some(-25),
            None,
            ("DRS-14", "Linen dress", 1, 89.99),
        ),
        d(
            "4410928",
            Shipped,
            "mike.b@example.com",
            "+1 646 555 0111",
            -2,
            Some(-1),
            None,
            Some(3),
            ("MSE-05", "Wireless mouse", 1, 39.99),
        ),
        d(
            "WX-5521",
            Delivered,
            "emma.w@example.com",
            "+44 20 7946 0958",
            -5,
            Some(-3),
            Some(-1),
            None,
            ("MUG-02", "Stoneware mug", 1, 24.00),
        ),
        d(
            "552013",
            Shipped,
            "john.smith@example.com",
            "+1 415 555 0123",
            -9,
            Some(-7),
            None,
            Some(-1),
            ("HDP-03", "Headphones", 1, 89.99),
        ),
    ];
    for demo in demos.iter_mut() {
        if matches!(demo.id, "A77310" | "30991" | "4410928" | "552013") {
            demo.currency = "USD";
        }
        if demo.id == "WX-5521" {
            demo.currency = "GBP";
        }
    }
    let mut orders: Vec<Order> = demos.iter().map(|d| d.build(today)).collect();
    if let Some(o) = orders.iter_mut().find(|o| o.order_id == "30991") {
        o.refund = Some(Refund {
            status: "issued".into(),
            amount: 89.99,
            issued_at: Some(day(today, -3)),
        });
    }
    orders
}

/// Today's date in UTC: the anchor for demo orders (read at the edges, never in the engine).
pub fn today_utc() -> Date {
    jiff::Timestamp::now()
        .to_zoned_datetime(jiff::tz::TimeZone::UTC)
        .date()
}

#[cfg(test)]
mod contact_tests {
    use super::{Contact, demo_orders, phone_key};

    #[test]
    fn a_contact_matches_by_email_case_or_the_last_ten_digits_of_the_phone() {
        let mut order = demo_orders(jiff::civil::date(2026, 3, 9))
            .into_iter()
            .next()
            .expect("a demo order");
        order.email = "Zeynep@Example.org".into();
        order.phone = "0541 276 33 18".into();
        assert!(Contact::Email("zeynep@example.org".into()).matches(&order));
        assert!(Contact::Phone("+90 (541) 276-3318".into()).matches(&order));
        // The same last four digits on another number is someone else.
        assert!(!Contact::Phone("+90 555 276 33 18".into()).matches(&order));
        assert_eq!(phone_key("+1 (646) 555-0172"), "6465550172");
    }
}
