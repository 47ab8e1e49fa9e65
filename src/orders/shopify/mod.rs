//! `Shopify`: orders from a Shopify shop through the GraphQL Admin API at a pinned
//! version ([`API_VERSION`]), with the app's Admin API access token. Calls go through the
//! shared transport (timeouts, retries, circuit breaker) and respect the cost-based rate
//! limit (`graphql`).
//!
//! - An order is found by the name the customer types (`#1001` or `1001`):
//!   `orders(first: …, query: "name:1001")`, then the exact name.
//! - Cancel: `orderCancel`, which Shopify runs as a background job: the job is asked after
//!   briefly; a job still running counts as requested (Shopify finishes it).
//! - Return: `returnRequest` for the fulfilled line items; address: `orderUpdate` with
//!   `shippingAddress`.

mod graphql;
pub mod map;
mod query;

use super::transport::{Resilience, Transport, join, platform_url, secret_header};
use super::{BackendError, BoxFuture, Contact, Order, OrderBackend, ReturnCreated, newest_first};
use graphql::Graphql;
use map::ShOrder;
use reqwest::header::{HeaderMap, HeaderName};
use serde_json::{Value, json};
use std::fmt;
use std::time::Duration;

/// The Admin API version destek is written against.
pub const API_VERSION: &str = "2025-01";

/// Shopify names orders from #1001: four-digit names count where the context says so.
pub const SHORT_ORDER_FORMAT: &str = "[1-9][0-9]{3}";

/// How often, and how far apart, a cancellation job is asked whether it has run.
const JOB_POLLS: u32 = 3;
const JOB_POLL_GAP: Duration = Duration::from_millis(250);

#[derive(Clone, PartialEq)]
pub struct Settings {
    /// `https://STORE.myshopify.com`.
    pub base_url: String,
    /// The app's Admin API access token (`shpat_…`).
    pub token: String,
    pub api_version: String,
    pub resilience: Resilience,
}

/// Written by hand so the token never reaches a log.
impl fmt::Debug for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("shopify::Settings")
            .field("base_url", &self.base_url)
            .field("token", &"<redacted>")
            .field("api_version", &self.api_version)
            .field("resilience", &self.resilience)
            .finish()
    }
}

pub struct Shopify {
    api: Graphql,
}

impl fmt::Debug for Shopify {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Shopify")
            .field("endpoint", &self.api.endpoint.as_str())
            .finish_non_exhaustive()
    }
}

/// `userErrors` / `orderCancelUserErrors` of a mutation payload, as one error.
fn user_errors(payload: &Value, key: &str, what: &str) -> Result<(), BackendError> {
    let messages: Vec<&str> = payload[key]
        .as_array()
        .map(|l| l.iter().filter_map(|e| e["message"].as_str()).collect())
        .unwrap_or_default();
    if messages.is_empty() {
        Ok(())
    } else {
        Err(BackendError(format!(
            "Shopify refused {what}: {}",
            messages.join("; ")
        )))
    }
}

impl Shopify {
    pub fn new(settings: Settings) -> Result<Self, BackendError> {
        let root = platform_url(&settings.base_url, "Shopify")?;
        let endpoint = join(
            &root,
            &["admin", "api", &settings.api_version, "graphql.json"],
        )?;
        let mut headers = HeaderMap::new();
        let (name, value) = secret_header(
            HeaderName::from_static("x-shopify-access-token"),
            &settings.token,
            "the Shopify access token",
        )?;
        headers.insert(name, value);
        Ok(Shopify {
            api: Graphql {
                endpoint,
                transport: Transport::new("Shopify", settings.resilience, headers)?,
            },
        })
    }

    async fn search(&self, query: &str, first: u32) -> Result<Vec<ShOrder>, BackendError> {
        let data = self
            .api
            .call(
                &query::find_orders(),
                json!({ "query": query, "first": first }),
                true,
            )
            .await?;
        let nodes = data["orders"]["nodes"].clone();
        serde_json::from_value(nodes)
            .map_err(|e| BackendError(format!("Shopify sent a malformed order list: {e}")))
    }

    /// The order whose name the customer typed.
    async fn find(&self, number: &str) -> Result<Option<ShOrder>, BackendError> {
        let number = map::number(number);
        // A name is letters, digits and a few separators: nothing that could change the
        // search query's meaning.
        let plain = |c: char| c.is_alphanumeric() || matches!(c, '-' | '_' | '.');
        if number.is_empty() || !number.chars().all(plain) {
            return Ok(None);
        }
        let found = self.search(&format!("name:{number}"), 5).await?;
        Ok(found
            .into_iter()
            .find(|o| map::number(&o.name).eq_ignore_ascii_case(&number)))
    }

    async fn existing(&self, number: &str) -> Result<ShOrder, BackendError> {
        self.find(number)
            .await?
            .ok_or_else(|| BackendError(format!("Shopify has no order named {number}")))
    }

    /// One authenticated read, for `destek orders ping`.
    pub async fn ping(&self) -> Result<String, BackendError> {
        let data = self.api.call(query::PING, json!({}), true).await?;
        let shop = data["shop"]["name"].as_str().unwrap_or("the shop");
        Ok(match data["orders"]["nodes"][0]["name"].as_str() {
            Some(name) => format!("Shopify answered: {shop}, newest order {name}"),
            None => format!("Shopify answered: {shop}, no orders yet"),
        })
    }

    /// Asks the cancellation job a few times; a job that has run is checked against the
    /// order. `Ok(false)`: still running (requested).
    async fn cancellation_done(&self, job: &Value, order_gid: &str) -> Result<bool, BackendError> {
        let Some(job_id) = job["id"].as_str() else {
            return Ok(false);
        };
        let mut done = job["done"].as_bool().unwrap_or(false);
        let mut polls = 0;
        while !done && polls < JOB_POLLS {
            tokio::time::sleep(JOB_POLL_GAP).await;
            let data = self
                .api
                .call(query::JOB, json!({ "id": job_id }), true)
                .await?;
            done = data["job"]["done"].as_bool().unwrap_or(false);
            polls += 1;
        }
        if !done {
            return Ok(false);
        }
        let data = self
            .api
            .call(query::ORDER_CANCELLED_AT, json!({ "id": order_gid }), true)
            .await?;
        if data["order"]["cancelledAt"].is_null() {
            return Err(BackendError(
                "Shopify ran the cancellation but the order is not cancelled".into(),
            ));
        }
        Ok(true)
    }
}

impl OrderBackend for Shopify {
    fn order<'a>(
        &'a self,
        order_id: &'a str,
    ) -> BoxFuture<'a, Result<Option<Order>, BackendError>> {
        Box::pin(async move { Ok(self.find(order_id).await?.map(|o| map::order(&o))) })
    }

    fn cancel<'a>(&'a self, order_id: &'a str) -> BoxFuture<'a, Result<(), BackendError>> {
        Box::pin(async move {
            let order = self.existing(order_id).await?;
            if order.cancelled_at.is_some() {
                return Err(BackendError(format!(
                    "order {order_id} is already cancelled"
                )));
            }
            let data = self
                .api
                .call(
                    query::ORDER_CANCEL,
                    json!({
                        "orderId": order.id,
                        "staffNote": "Cancelled at the customer's request in the destek chat",
                    }),
                    false,
                )
                .await?;
            let payload = &data["orderCancel"];
            user_errors(payload, "orderCancelUserErrors", "the cancellation")?;
            if self.cancellation_done(&payload["job"], &order.id).await? {
                tracing::info!(order = order_id, "Shopify cancelled the order");
            } else {
                tracing::info!(
                    order = order_id,
                    "Shopify accepted the cancellation; its job is still running"
                );
            }
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
            let order = self.existing(order_id).await?;
            let lines = map::returnable(&order, &items);
            if lines.is_empty() {
                return Err(BackendError(format!(
                    "order {order_id} has no fulfilled items to return"
                )));
            }
            let note: String = reason.trim().chars().take(300).collect();
            let line_items: Vec<Value> = lines
                .iter()
                .map(|(id, qty)| {
                    json!({
                        "fulfillmentLineItemId": id,
                        "quantity": qty,
                        "returnReason": "OTHER",
                        "customerNote": note,
                    })
                })
                .collect();
            let data = self
                .api
                .call(
                    query::RETURN_REQUEST,
                    json!({ "input": { "orderId": order.id, "returnLineItems": line_items } }),
                    false,
                )
                .await?;
            let payload = &data["returnRequest"];
            user_errors(payload, "userErrors", "the return request")?;
            let gid = payload["return"]["id"]
                .as_str()
                .ok_or_else(|| BackendError("Shopify accepted the return but sent no id".into()))?;
            Ok(ReturnCreated {
                // `gid://shopify/Return/123` → `123`, what the shop admin shows.
                return_id: gid.rsplit('/').next().unwrap_or(gid).to_owned(),
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
            let order = self.existing(order_id).await?;
            if order.cancelled_at.is_some() || !order.fulfillments.is_empty() {
                return Err(BackendError(format!(
                    "order {order_id} has shipped or is cancelled; its address cannot change"
                )));
            }
            // The customer writes the address as one line: it replaces the street lines.
            let input = json!({
                "id": order.id,
                "shippingAddress": { "address1": address.trim(), "address2": "" },
            });
            let data = self
                .api
                .call(query::ORDER_UPDATE, json!({ "input": input }), false)
                .await?;
            user_errors(&data["orderUpdate"], "userErrors", "the address change")
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
            if term.is_empty() || term.contains(['"', '\\']) {
                return Ok(Vec::new());
            }
            let query = match &contact {
                Contact::Email(_) => format!("email:\"{term}\""),
                Contact::Phone(_) => format!("\"{term}\""),
            };
            let mut found: Vec<Order> = self
                .search(&query, 20)
                .await?
                .iter()
                .map(map::order)
                .filter(|o| contact.matches(o))
                .collect();
            newest_first(&mut found);
            Ok(found)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_endpoint_is_the_pinned_graphql_path_and_the_token_stays_hidden() {
        let settings = Settings {
            base_url: "https://demo.myshopify.com".into(),
            token: "shpat_secret".into(),
            api_version: API_VERSION.into(),
            resilience: Resilience::default(),
        };
        assert!(!format!("{settings:?}").contains("shpat_secret"));
        let shop = Shopify::new(settings).expect("client");
        assert_eq!(
            shop.api.endpoint.as_str(),
            "https://demo.myshopify.com/admin/api/2025-01/graphql.json"
        );
        assert!(!format!("{shop:?}").contains("shpat_secret"));
    }
}
