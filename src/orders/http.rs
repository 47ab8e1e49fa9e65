//! `HttpOrders`: orders from the shop's own API (design §7), with a per-request timeout,
//! retries for lookups, and a circuit breaker so a failing shop API costs the customer
//! no waiting once it is known to be down.
//!
//! The API: `GET {base}/orders/{id}` answers an `Order` as JSON (404: no such order);
//! `POST {base}/orders/{id}/cancel`; `POST {base}/orders/{id}/returns` with
//! `{"items": [...], "reason": "..."}` answers `{"return_id": ..., "label_url": ...}`;
//! `POST {base}/orders/{id}/address` with `{"address": "..."}`. Every request carries
//! `Authorization: Bearer {token}` when a token is configured.

use super::transport::{Resilience, Transport, join, secret_header};
use super::{BackendError, BoxFuture, Contact, Order, OrderBackend, ReturnCreated, newest_first};
use reqwest::header::{self, HeaderMap};
use reqwest::{Method, StatusCode, Url};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use std::fmt;
use std::time::Duration;

#[derive(Clone)]
pub struct HttpOrdersConfig {
    /// The API root, e.g. `https://shop.example/api`; paths are appended to it.
    pub base_url: String,
    pub token: Option<String>,
    /// For one request, from connecting to the end of the body.
    pub timeout: Duration,
    /// Extra attempts for a lookup (GET) after a connect error, a timeout or a 5xx.
    /// Changes (POST) are never retried: they might have happened.
    pub retries: u32,
    /// Consecutive failed calls that open the circuit.
    pub breaker_threshold: u32,
    /// How long an open circuit fails fast before it lets one trial call through.
    pub breaker_cooldown: Duration,
}

impl HttpOrdersConfig {
    /// The defaults: no token, 3 s timeout, 2 retries, open after 5 failures for 30 s.
    pub fn new(base_url: impl Into<String>) -> Self {
        HttpOrdersConfig {
            base_url: base_url.into(),
            token: None,
            timeout: Duration::from_secs(3),
            retries: 2,
            breaker_threshold: 5,
            breaker_cooldown: Duration::from_secs(30),
        }
    }
}

/// Written by hand so the token never reaches a log.
impl fmt::Debug for HttpOrdersConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpOrdersConfig")
            .field("base_url", &self.base_url)
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field("timeout", &self.timeout)
            .field("retries", &self.retries)
            .field("breaker_threshold", &self.breaker_threshold)
            .field("breaker_cooldown", &self.breaker_cooldown)
            .finish()
    }
}

#[derive(Debug)]
pub struct HttpOrders {
    base: Url,
    transport: Transport,
}

impl HttpOrders {
    pub fn new(config: HttpOrdersConfig) -> Result<Self, BackendError> {
        let base = Url::parse(&config.base_url)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https"))
            .ok_or_else(|| {
                BackendError(format!(
                    "shop API base_url {:?} is not an http(s) URL",
                    config.base_url
                ))
            })?;
        let mut headers = HeaderMap::new();
        if let Some(token) = &config.token {
            let (name, value) = secret_header(
                header::AUTHORIZATION,
                &format!("Bearer {token}"),
                "shop API token",
            )?;
            headers.insert(name, value);
        }
        let resilience = Resilience {
            timeout: config.timeout,
            retries: config.retries,
            breaker_threshold: config.breaker_threshold,
            breaker_cooldown: config.breaker_cooldown,
        };
        Ok(HttpOrders {
            base,
            transport: Transport::new("shop API", resilience, headers)?,
        })
    }

    /// `{base}/orders/{order_id}[/{action}]`, the id percent-encoded as one path segment.
    fn url(&self, order_id: &str, action: Option<&str>) -> Result<Url, BackendError> {
        let mut segments = vec!["orders", order_id];
        segments.extend(action);
        join(&self.base, &segments)
            .map_err(|_| BackendError(format!("order id {order_id:?} cannot be put in a URL")))
    }

    /// One call; a GET is retried, a change never is.
    async fn send(
        &self,
        method: Method,
        url: Url,
        body: Option<Value>,
    ) -> Result<(StatusCode, Vec<u8>), BackendError> {
        let repeatable = method == Method::GET;
        let answer = self
            .transport
            .send(method, url, body.as_ref(), repeatable)
            .await?;
        Ok((answer.status, answer.body))
    }

    /// A POST that expects a 2xx answer.
    async fn post(
        &self,
        order_id: &str,
        action: &str,
        body: Value,
    ) -> Result<Vec<u8>, BackendError> {
        let url = self.url(order_id, Some(action))?;
        let (status, body) = self.send(Method::POST, url, Some(body)).await?;
        if status.is_success() {
            Ok(body)
        } else {
            Err(BackendError(format!(
                "shop API refused to {action} order {order_id}: {status}"
            )))
        }
    }
}

fn parse<T: DeserializeOwned>(what: &str, body: &[u8]) -> Result<T, BackendError> {
    serde_json::from_slice(body)
        .map_err(|e| BackendError(format!("shop API sent a malformed {what}: {e}")))
}

impl OrderBackend for HttpOrders {
    fn order<'a>(
        &'a self,
        order_id: &'a str,
    ) -> BoxFuture<'a, Result<Option<Order>, BackendError>> {
        Box::pin(async move {
            let url = self.url(order_id, None)?;
            let (status, body) = self.send(Method::GET, url, None).await?;
            match status {
                StatusCode::NOT_FOUND => Ok(None),
                s if s.is_success() => parse("order", &body).map(Some),
                s => Err(BackendError(format!(
                    "shop API refused the lookup of order {order_id}: {s}"
                ))),
            }
        })
    }

    fn cancel<'a>(&'a self, order_id: &'a str) -> BoxFuture<'a, Result<(), BackendError>> {
        Box::pin(async move {
            self.post(order_id, "cancel", json!({})).await?;
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
            let body = json!({ "items": items, "reason": reason });
            let answer = self.post(order_id, "returns", body).await?;
            parse("return", &answer)
        })
    }

    fn orders_by_contact<'a>(
        &'a self,
        contact: Contact,
    ) -> BoxFuture<'a, Result<Vec<Order>, BackendError>> {
        Box::pin(async move {
            let mut url = join(&self.base, &["orders"])?;
            match &contact {
                Contact::Email(e) => url.query_pairs_mut().append_pair("email", e),
                Contact::Phone(p) => url.query_pairs_mut().append_pair("phone", p),
            };
            let (status, body) = self.send(Method::GET, url, None).await?;
            match status {
                StatusCode::NOT_FOUND => Ok(Vec::new()),
                s if s.is_success() => {
                    let mut found: Vec<Order> = parse::<Vec<Order>>("order list", &body)?
                        .into_iter()
                        .filter(|o| contact.matches(o))
                        .collect();
                    newest_first(&mut found);
                    Ok(found)
                }
                s => Err(BackendError(format!(
                    "shop API refused the lookup of orders by contact: {s}"
                ))),
            }
        })
    }

    fn change_address<'a>(
        &'a self,
        order_id: &'a str,
        address: String,
    ) -> BoxFuture<'a, Result<(), BackendError>> {
        Box::pin(async move {
            self.post(order_id, "address", json!({ "address": address }))
                .await?;
            Ok(())
        })
    }

    /// `POST {base}/verification-codes` `{"phone"}`: 2xx when the shop texts codes (whether
    /// or not an order has the phone); 404 or 501 when it does not.
    fn send_code<'a>(&'a self, contact: Contact) -> BoxFuture<'a, Result<bool, BackendError>> {
        Box::pin(async move {
            let Contact::Phone(phone) = contact else {
                return Ok(false);
            };
            let url = join(&self.base, &["verification-codes"])?;
            let (status, _) = self
                .send(Method::POST, url, Some(json!({ "phone": phone })))
                .await?;
            match status {
                StatusCode::NOT_FOUND | StatusCode::NOT_IMPLEMENTED => Ok(false),
                s if s.is_success() => Ok(true),
                s => Err(BackendError(format!(
                    "shop API refused to send a one-time code: {s}"
                ))),
            }
        })
    }

    /// `POST {base}/verification-codes/check` `{"phone", "code"}`: 200 with the phone's
    /// orders when the code is right, an empty array (or 404/422) when it is not.
    fn check_code<'a>(
        &'a self,
        contact: Contact,
        code: String,
    ) -> BoxFuture<'a, Result<Vec<Order>, BackendError>> {
        Box::pin(async move {
            let Contact::Phone(phone) = &contact else {
                return Ok(Vec::new());
            };
            let url = join(&self.base, &["verification-codes", "check"])?;
            let body = json!({ "phone": phone, "code": code });
            let (status, body) = self.send(Method::POST, url, Some(body)).await?;
            match status {
                StatusCode::NOT_FOUND | StatusCode::UNPROCESSABLE_ENTITY => Ok(Vec::new()),
                s if s.is_success() => {
                    let mut found: Vec<Order> = parse::<Vec<Order>>("order list", &body)?
                        .into_iter()
                        .filter(|o| contact.matches(o))
                        .collect();
                    newest_first(&mut found);
                    Ok(found)
                }
                s => Err(BackendError(format!(
                    "shop API refused the check of a one-time code: {s}"
                ))),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_ids_are_one_encoded_path_segment() {
        let orders = HttpOrders::new(HttpOrdersConfig::new("http://shop.test/api/"));
        let url = orders.and_then(|o| o.url("a/b c?#%", Some("cancel")));
        let url = url.map(|u| u.to_string());
        assert_eq!(
            url,
            Ok("http://shop.test/api/orders/a%2Fb%20c%3F%23%25/cancel".into())
        );
    }

    #[test]
    fn dot_segments_are_refused() {
        let orders = HttpOrders::new(HttpOrdersConfig::new("http://shop.test"));
        assert!(orders.and_then(|o| o.url("..", None)).is_err());
    }

    #[test]
    fn debug_hides_the_token() {
        let config = HttpOrdersConfig {
            token: Some("s3cret".into()),
            ..HttpOrdersConfig::new("http://shop.test")
        };
        assert!(!format!("{config:?}").contains("s3cret"));
        let orders = HttpOrders::new(config);
        assert!(!format!("{orders:?}").contains("s3cret"));
    }
}
