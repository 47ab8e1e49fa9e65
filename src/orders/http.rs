//! `HttpOrders`: orders from the shop's own API (design §7), with a per-request timeout,
//! retries for lookups, and a circuit breaker so a failing shop API costs the customer
//! no waiting once it is known to be down.
//!
//! The API: `GET {base}/orders/{id}` answers an `Order` as JSON (404: no such order);
//! `POST {base}/orders/{id}/cancel`; `POST {base}/orders/{id}/returns` with
//! `{"items": [...], "reason": "..."}` answers `{"return_id": ..., "label_url": ...}`;
//! `POST {base}/orders/{id}/address` with `{"address": "..."}`. Every request carries
//! `Authorization: Bearer {token}` when a token is configured.

use super::{BackendError, BoxFuture, Contact, Order, OrderBackend, ReturnCreated, newest_first};
use reqwest::header::{self, HeaderMap, HeaderValue};
use reqwest::{Client, Method, StatusCode, Url};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use std::fmt;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// The pause before the n-th retry is n times this: short, since a customer is waiting.
const BACKOFF: Duration = Duration::from_millis(100);

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
    client: Client,
    base: Url,
    timeout: Duration,
    retries: u32,
    breaker: Breaker,
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
        headers.insert(header::ACCEPT, HeaderValue::from_static("application/json"));
        if let Some(token) = &config.token {
            let mut value = HeaderValue::try_from(format!("Bearer {token}")).map_err(|_| {
                BackendError("shop API token has characters not allowed in a header".into())
            })?;
            // Keeps the value out of the header map's Debug output.
            value.set_sensitive(true);
            headers.insert(header::AUTHORIZATION, value);
        }
        let client = Client::builder()
            .default_headers(headers)
            .user_agent(concat!("destek/", env!("CARGO_PKG_VERSION")))
            .timeout(config.timeout)
            .connect_timeout(config.timeout)
            .build()
            .map_err(|e| BackendError(format!("cannot build the HTTP client: {e}")))?;
        Ok(HttpOrders {
            client,
            base,
            timeout: config.timeout,
            retries: config.retries,
            breaker: Breaker::new(config.breaker_threshold, config.breaker_cooldown),
        })
    }

    /// `{base}/orders/{order_id}[/{action}]`, the id percent-encoded as one path segment.
    fn url(&self, order_id: &str, action: Option<&str>) -> Result<Url, BackendError> {
        // The url crate drops `.` and `..` segments, and an empty one would name the list.
        if matches!(order_id, "" | "." | "..") {
            return Err(BackendError(format!(
                "order id {order_id:?} cannot be put in a URL"
            )));
        }
        let mut url = self.base.clone();
        url.path_segments_mut()
            .map_err(|()| BackendError("shop API base_url cannot take a path".into()))?
            .pop_if_empty()
            .push("orders")
            .push(order_id)
            .extend(action);
        Ok(url)
    }

    /// Sends one call through the breaker, retrying a GET, and returns any answer below
    /// 500. Only failing to get an answer (transport, timeout, 5xx, 429) counts against
    /// the breaker: a 4xx or a malformed body is an error, but the server is up.
    async fn send(
        &self,
        method: Method,
        url: Url,
        body: Option<Value>,
    ) -> Result<(StatusCode, Vec<u8>), BackendError> {
        let what = format!("{method} {}", url.path());
        self.breaker.allow()?;
        let retries = if method == Method::GET {
            self.retries
        } else {
            0
        };
        let mut attempt = 0;
        let result = loop {
            let result = self
                .attempt(method.clone(), url.clone(), body.as_ref())
                .await;
            let transient = match &result {
                Ok((status, _)) => status.is_server_error(),
                Err(e) => e.is_connect() || e.is_timeout(),
            };
            if !transient || attempt >= retries {
                break result;
            }
            attempt += 1;
            tokio::time::sleep(BACKOFF * attempt).await;
        };
        match result {
            Ok((status, _))
                if status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS =>
            {
                self.breaker.failure();
                Err(BackendError(format!("shop API {what}: answered {status}")))
            }
            Ok(answer) => {
                self.breaker.success();
                Ok(answer)
            }
            Err(e) => {
                self.breaker.failure();
                Err(BackendError(format!(
                    "shop API {what}: {}",
                    self.describe(&e)
                )))
            }
        }
    }

    async fn attempt(
        &self,
        method: Method,
        url: Url,
        body: Option<&Value>,
    ) -> Result<(StatusCode, Vec<u8>), reqwest::Error> {
        let mut request = self.client.request(method, url);
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await?;
        let status = response.status();
        Ok((status, response.bytes().await?.to_vec()))
    }

    fn describe(&self, e: &reqwest::Error) -> String {
        if e.is_timeout() {
            format!("no answer within {:?}", self.timeout)
        } else if e.is_connect() {
            "cannot connect".into()
        } else {
            e.to_string()
        }
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
            let mut url = self.base.clone();
            url.path_segments_mut()
                .map_err(|()| BackendError("shop API base_url cannot take a path".into()))?
                .pop_if_empty()
                .push("orders");
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
}

/// A circuit breaker counting consecutive failed calls. Monotonic time (`Instant`), so a
/// wall-clock jump can neither hold it open nor close it early.
#[derive(Debug)]
struct Breaker {
    threshold: u32,
    cooldown: Duration,
    // A std Mutex: held only to read or flip the state, never across an await.
    state: Mutex<State>,
}

#[derive(Debug, Clone, Copy)]
enum State {
    Closed {
        failures: u32,
    },
    /// Failing fast until `until`.
    Open {
        until: Instant,
    },
    /// One trial call is under way. Should it never report (its future dropped), another
    /// trial is let through a cooldown after this one started.
    HalfOpen {
        trial_started: Instant,
    },
}

impl Breaker {
    fn new(threshold: u32, cooldown: Duration) -> Self {
        Breaker {
            threshold: threshold.max(1),
            cooldown,
            state: Mutex::new(State::Closed { failures: 0 }),
        }
    }

    fn with<T>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        // The state is a plain value, always whole: a poisoned lock is still good.
        f(&mut self.state.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// Whether a call may go out now.
    fn allow(&self) -> Result<(), BackendError> {
        let now = Instant::now();
        self.with(|state| match *state {
            State::Closed { .. } => Ok(()),
            State::Open { until } if now < until => Err(()),
            State::HalfOpen { trial_started } if now < trial_started + self.cooldown => Err(()),
            State::Open { .. } | State::HalfOpen { .. } => {
                *state = State::HalfOpen { trial_started: now };
                Ok(())
            }
        })
        .map_err(|()| BackendError("shop API circuit open after repeated failures".into()))
    }

    fn success(&self) {
        self.with(|state| *state = State::Closed { failures: 0 });
    }

    fn failure(&self) {
        let now = Instant::now();
        self.with(|state| {
            *state = match *state {
                State::Closed { failures } if failures + 1 < self.threshold => State::Closed {
                    failures: failures + 1,
                },
                State::Closed { .. } | State::HalfOpen { .. } => State::Open {
                    until: now + self.cooldown,
                },
                // A call let through before the circuit opened: the cooldown stands.
                open @ State::Open { .. } => open,
            }
        });
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

    #[test]
    fn breaker_opens_after_threshold_and_half_opens_after_cooldown() {
        let breaker = Breaker::new(2, Duration::from_millis(20));
        breaker.failure();
        assert!(breaker.allow().is_ok());
        breaker.failure();
        assert!(breaker.allow().is_err());
        std::thread::sleep(Duration::from_millis(30));
        assert!(breaker.allow().is_ok(), "the trial call");
        assert!(breaker.allow().is_err(), "only one trial at a time");
        breaker.success();
        assert!(breaker.allow().is_ok());
    }
}
