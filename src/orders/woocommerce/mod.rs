//! `WooCommerce`: orders from a WooCommerce shop through its REST API v3
//! (`{base_url}/wp-json/wc/v3/…`), authenticated with a consumer key and secret (HTTP
//! Basic auth over HTTPS, or the keys in the query string where the site's server drops
//! the Authorization header). Calls go through the shared [`Transport`]: the same
//! timeouts, retries and circuit breaker as the HTTP backend.
//!
//! - An order is found by the number the customer typed: `GET /orders/{n}` when that
//!   order's `number` is `n`, else `GET /orders?search=n` (sequential-number extensions
//!   make the number differ from the id).
//! - Cancel and address change: `PUT /orders/{id}`, only while the order is pending,
//!   processing or on hold. A return request becomes a private order note
//!   (`POST /orders/{id}/notes`); its id is the return id.

pub mod map;

use super::transport::{Answer, Resilience, Transport, basic_auth, join, platform_url};
use super::{BackendError, BoxFuture, Contact, Order, OrderBackend, ReturnCreated, newest_first};
use map::{CHANGEABLE, WcOrder, WcRefund};
use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode, Url};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use std::fmt;

/// WooCommerce numbers orders from 1: numbers below 10000 (longer ones are order numbers
/// anyway) count where the context says so.
pub const SHORT_ORDER_FORMAT: &str = "[1-9][0-9]{0,3}";

/// The most pages of search results read for one lookup by contact.
const MAX_PAGES: u32 = 3;
/// Orders per page of a search (WooCommerce allows up to 100).
const PER_PAGE: &str = "20";

#[derive(Clone)]
pub struct Settings {
    /// The site root, e.g. `https://shop.example`.
    pub base_url: String,
    pub consumer_key: String,
    pub consumer_secret: String,
    /// Send the keys as `consumer_key`/`consumer_secret` query parameters instead of
    /// Basic auth (for servers that strip the Authorization header).
    pub query_string_auth: bool,
    pub resilience: Resilience,
}

/// Written by hand so the keys never reach a log.
impl fmt::Debug for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("woocommerce::Settings")
            .field("base_url", &self.base_url)
            .field("consumer_key", &"<redacted>")
            .field("consumer_secret", &"<redacted>")
            .field("query_string_auth", &self.query_string_auth)
            .field("resilience", &self.resilience)
            .finish()
    }
}

impl PartialEq for Settings {
    fn eq(&self, other: &Self) -> bool {
        self.base_url == other.base_url
            && self.consumer_key == other.consumer_key
            && self.consumer_secret == other.consumer_secret
            && self.query_string_auth == other.query_string_auth
            && self.resilience == other.resilience
    }
}

pub struct WooCommerce {
    /// `{base_url}/wp-json/wc/v3`.
    api: Url,
    transport: Transport,
    /// The keys for the query string, when that is how the site takes them.
    query_keys: Option<(String, String)>,
}

impl fmt::Debug for WooCommerce {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WooCommerce")
            .field("api", &self.api.as_str())
            .finish_non_exhaustive()
    }
}

/// WooCommerce's error body: `{"code", "message", "data": {"status"}}`.
fn wc_error(body: &[u8]) -> (String, String) {
    let v: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let text = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
    (text("code"), text("message"))
}

/// A refusal in plain words, for the log and `destek orders ping`.
fn refusal(what: &str, answer: &Answer) -> BackendError {
    let (code, message) = wc_error(&answer.body);
    let hint = match answer.status {
        StatusCode::UNAUTHORIZED if message.contains("write") || code.contains("cannot_edit") => {
            "the API key is read-only: create a key with Read/Write permission \
             (WooCommerce > Settings > Advanced > REST API)"
        }
        StatusCode::UNAUTHORIZED => {
            "the consumer key or secret is wrong, or the server drops the Authorization \
             header (try orders.query_string_auth: true)"
        }
        StatusCode::FORBIDDEN => {
            "the key's user may not do this: the key needs Read/Write permission and a user \
             who can manage WooCommerce"
        }
        StatusCode::NOT_FOUND if code == "rest_no_route" || code.is_empty() => {
            "no WooCommerce REST API at this address: check orders.base_url (the site root) \
             and that WooCommerce is active with pretty permalinks"
        }
        _ => "",
    };
    let detail = if message.is_empty() {
        String::new()
    } else {
        format!(" ({code}: {message})")
    };
    let hint = if hint.is_empty() {
        String::new()
    } else {
        format!("; {hint}")
    };
    BackendError(format!(
        "WooCommerce refused {what}: {}{detail}{hint}",
        answer.status
    ))
}

fn parse<T: DeserializeOwned>(what: &str, body: &[u8]) -> Result<T, BackendError> {
    serde_json::from_slice(body)
        .map_err(|e| BackendError(format!("WooCommerce sent a malformed {what}: {e}")))
}

impl WooCommerce {
    pub fn new(settings: Settings) -> Result<Self, BackendError> {
        let root = platform_url(&settings.base_url, "WooCommerce")?;
        let api = join(&root, &["wp-json", "wc", "v3"])?;
        let mut headers = HeaderMap::new();
        let query_keys = if settings.query_string_auth {
            Some((settings.consumer_key, settings.consumer_secret))
        } else {
            let (name, value) = basic_auth(&settings.consumer_key, &settings.consumer_secret)?;
            headers.insert(name, value);
            None
        };
        Ok(WooCommerce {
            api,
            transport: Transport::new("WooCommerce", settings.resilience, headers)?,
            query_keys,
        })
    }

    fn url(&self, segments: &[&str], query: &[(&str, &str)]) -> Result<Url, BackendError> {
        let mut url = join(&self.api, segments)?;
        if !query.is_empty() || self.query_keys.is_some() {
            let mut pairs = url.query_pairs_mut();
            for (k, v) in query {
                pairs.append_pair(k, v);
            }
            if let Some((key, secret)) = &self.query_keys {
                pairs.append_pair("consumer_key", key);
                pairs.append_pair("consumer_secret", secret);
            }
        }
        Ok(url)
    }

    async fn get(&self, segments: &[&str], query: &[(&str, &str)]) -> Result<Answer, BackendError> {
        let url = self.url(segments, query)?;
        self.transport.send(Method::GET, url, None, true).await
    }

    /// A change; never retried.
    async fn write(
        &self,
        method: Method,
        segments: &[&str],
        body: Value,
    ) -> Result<Answer, BackendError> {
        let url = self.url(segments, &[])?;
        self.transport.send(method, url, Some(&body), false).await
    }

    /// The order whose number the customer typed, as WooCommerce sends it.
    async fn find(&self, number: &str) -> Result<Option<WcOrder>, BackendError> {
        let number = number.trim();
        if number.is_empty() {
            return Ok(None);
        }
        if number.bytes().all(|b| b.is_ascii_digit()) {
            let answer = self.get(&["orders", number], &[]).await?;
            match answer.status {
                s if s.is_success() => {
                    let order: WcOrder = parse("order", &answer.body)?;
                    // With sequential numbers, order id 5522 may be another order.
                    if order.number.trim().is_empty() || order.number.trim() == number {
                        return Ok(Some(order));
                    }
                }
                StatusCode::NOT_FOUND if wc_error(&answer.body).0 != "rest_no_route" => {}
                // `invalid_id`-style refusals on a numeric id read as "no such order".
                StatusCode::BAD_REQUEST => {}
                _ => return Err(refusal(&format!("the lookup of order {number}"), &answer)),
            }
        }
        let answer = self
            .get(&["orders"], &[("search", number), ("per_page", PER_PAGE)])
            .await?;
        if !answer.status.is_success() {
            return Err(refusal(&format!("the search for order {number}"), &answer));
        }
        let found: Vec<WcOrder> = parse("order list", &answer.body)?;
        Ok(found.into_iter().find(|o| {
            let n = if o.number.trim().is_empty() {
                o.id.to_string()
            } else {
                o.number.trim().to_owned()
            };
            n.eq_ignore_ascii_case(number)
        }))
    }

    async fn refunds(&self, order: &WcOrder) -> Result<Vec<WcRefund>, BackendError> {
        if order.refunds.is_empty() {
            return Ok(Vec::new());
        }
        let id = order.id.to_string();
        let answer = self.get(&["orders", &id, "refunds"], &[]).await?;
        if !answer.status.is_success() {
            return Err(refusal(&format!("the refunds of order {id}"), &answer));
        }
        parse("refund list", &answer.body)
    }

    /// The order, refused unless it is still pending, processing or on hold.
    async fn changeable(&self, number: &str, what: &str) -> Result<WcOrder, BackendError> {
        let order = self
            .find(number)
            .await?
            .ok_or_else(|| BackendError(format!("WooCommerce has no order {number}")))?;
        if !CHANGEABLE.contains(&order.status.as_str()) {
            return Err(BackendError(format!(
                "order {number} is {} in WooCommerce; it can no longer {what}",
                order.status
            )));
        }
        Ok(order)
    }

    fn expect_success(&self, what: &str, answer: Answer) -> Result<Answer, BackendError> {
        if answer.status.is_success() {
            Ok(answer)
        } else {
            Err(refusal(what, &answer))
        }
    }

    /// One authenticated read (the newest order, if any), for `destek orders ping`:
    /// says in plain words what is wrong.
    pub async fn ping(&self) -> Result<String, BackendError> {
        let answer = self.get(&["orders"], &[("per_page", "1")]).await?;
        if !answer.status.is_success() {
            return Err(refusal("reading orders", &answer));
        }
        let list: Vec<WcOrder> = parse("order list", &answer.body).map_err(|_| {
            BackendError(
                "the answer is not WooCommerce's order list: check orders.base_url (the site \
                 root, not an admin page)"
                    .into(),
            )
        })?;
        let total = answer
            .headers
            .get("x-wp-total")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        Ok(match (total, list.first()) {
            (Some(n), Some(o)) => format!(
                "WooCommerce answered: {n} orders, the newest is {}",
                if o.number.is_empty() {
                    o.id.to_string()
                } else {
                    o.number.clone()
                }
            ),
            (_, None) => "WooCommerce answered: the key works; the shop has no orders yet".into(),
            (None, Some(_)) => "WooCommerce answered: the key can read orders".into(),
        })
    }
}

impl OrderBackend for WooCommerce {
    fn order<'a>(
        &'a self,
        order_id: &'a str,
    ) -> BoxFuture<'a, Result<Option<Order>, BackendError>> {
        Box::pin(async move {
            let Some(order) = self.find(order_id).await? else {
                return Ok(None);
            };
            let refunds = self.refunds(&order).await?;
            Ok(Some(map::order(&order, &refunds)))
        })
    }

    fn cancel<'a>(&'a self, order_id: &'a str) -> BoxFuture<'a, Result<(), BackendError>> {
        Box::pin(async move {
            let order = self.changeable(order_id, "be cancelled").await?;
            let id = order.id.to_string();
            let answer = self
                .write(
                    Method::PUT,
                    &["orders", &id],
                    json!({ "status": "cancelled" }),
                )
                .await?;
            self.expect_success(&format!("to cancel order {order_id}"), answer)?;
            Ok(())
        })
    }

    fn start_return<'a>(
        &'a self,
        order_id: &'a str,
        items: Vec<String>,
        reason: String,
    ) -> BoxFuture<'a, Result<ReturnCreated, BackendError>> {
        Box::pin(async move {
            let order = self
                .find(order_id)
                .await?
                .ok_or_else(|| BackendError(format!("WooCommerce has no order {order_id}")))?;
            let mapped = map::order(&order, &[]);
            let names: Vec<String> = mapped
                .items
                .iter()
                .filter(|i| items.is_empty() || items.contains(&i.sku))
                .map(|i| format!("{} × {} (SKU {})", i.qty, i.name, i.sku))
                .collect();
            let reason = reason.trim();
            let note = format!(
                "Return requested by the customer in the destek chat.\nItems: {}\nReason: {}",
                if names.is_empty() {
                    "the whole order".to_owned()
                } else {
                    names.join("; ")
                },
                if reason.is_empty() { "-" } else { reason }
            );
            let id = order.id.to_string();
            let answer = self
                .write(
                    Method::POST,
                    &["orders", &id, "notes"],
                    json!({ "note": note, "customer_note": false }),
                )
                .await?;
            let answer =
                self.expect_success(&format!("the return note on order {order_id}"), answer)?;
            let created: Value = parse("order note", &answer.body)?;
            let note_id = match created.get("id") {
                Some(Value::Number(n)) => n.to_string(),
                Some(Value::String(s)) if !s.is_empty() => s.clone(),
                _ => {
                    return Err(BackendError(
                        "WooCommerce created the return note but sent no id".into(),
                    ));
                }
            };
            Ok(ReturnCreated {
                return_id: note_id,
                label_url: None,
            })
        })
    }

    fn change_address<'a>(
        &'a self,
        order_id: &'a str,
        address: String,
    ) -> BoxFuture<'a, Result<(), BackendError>> {
        Box::pin(async move {
            let order = self
                .changeable(order_id, "have its address changed")
                .await?;
            let id = order.id.to_string();
            // The customer writes the address as one line: it replaces the street lines;
            // name, city, postcode and country stay as they were.
            let body = json!({ "shipping": { "address_1": address.trim(), "address_2": "" } });
            let answer = self.write(Method::PUT, &["orders", &id], body).await?;
            self.expect_success(&format!("the new address of order {order_id}"), answer)?;
            Ok(())
        })
    }

    fn orders_by_contact<'a>(
        &'a self,
        contact: Contact,
    ) -> BoxFuture<'a, Result<Vec<Order>, BackendError>> {
        Box::pin(async move {
            let term = match &contact {
                Contact::Email(e) => e.trim().to_owned(),
                Contact::Phone(p) => p.trim().to_owned(),
            };
            let mut found = Vec::new();
            let mut page = 1;
            loop {
                let page_text = page.to_string();
                let answer = self
                    .get(
                        &["orders"],
                        &[
                            ("search", term.as_str()),
                            ("per_page", PER_PAGE),
                            ("page", page_text.as_str()),
                        ],
                    )
                    .await?;
                if !answer.status.is_success() {
                    return Err(refusal("the search for orders by contact", &answer));
                }
                let list: Vec<WcOrder> = parse("order list", &answer.body)?;
                found.extend(
                    list.iter()
                        .map(|o| map::order(o, &[]))
                        .filter(|o| contact.matches(o)),
                );
                let pages = answer
                    .headers
                    .get("x-wp-totalpages")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.trim().parse::<u32>().ok())
                    .unwrap_or(1);
                if page >= pages || page >= MAX_PAGES || list.is_empty() {
                    break;
                }
                page += 1;
            }
            newest_first(&mut found);
            Ok(found)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(query: bool) -> Settings {
        Settings {
            base_url: "https://shop.example/".into(),
            consumer_key: "ck_secret".into(),
            consumer_secret: "cs_secret".into(),
            query_string_auth: query,
            resilience: Resilience::default(),
        }
    }

    #[test]
    fn the_api_lives_under_wp_json_and_keys_stay_out_of_debug() {
        let wc = WooCommerce::new(settings(false)).expect("client");
        let url = wc.url(&["orders", "12"], &[]).map(|u| u.to_string());
        assert_eq!(
            url,
            Ok("https://shop.example/wp-json/wc/v3/orders/12".into())
        );
        assert!(!format!("{wc:?}").contains("secret"));
        assert!(!format!("{:?}", settings(false)).contains("ck_secret"));
    }

    #[test]
    fn query_string_keys_when_asked() {
        let wc = WooCommerce::new(settings(true)).expect("client");
        let url = wc
            .url(&["orders"], &[("search", "a@b.c")])
            .map(|u| u.to_string());
        assert_eq!(
            url,
            Ok("https://shop.example/wp-json/wc/v3/orders?search=a%40b.c&consumer_key=ck_secret&consumer_secret=cs_secret".into())
        );
    }

    #[test]
    fn plain_http_is_refused_off_this_machine() {
        let s = Settings {
            base_url: "http://shop.example".into(),
            ..settings(false)
        };
        assert!(WooCommerce::new(s).is_err());
    }
}
