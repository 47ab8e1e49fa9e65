//! One GraphQL call to Shopify's Admin API: a JSON POST to
//! `/admin/api/{version}/graphql.json` with `X-Shopify-Access-Token`, through the shared
//! transport, and the cost-based rate limit: a `THROTTLED` answer is retried after the
//! time the bucket needs to refill (`extensions.cost.throttleStatus`), with backoff.

use crate::orders::BackendError;
use crate::orders::transport::{Answer, Transport};
use reqwest::{Method, StatusCode, Url};
use serde_json::{Value, json};
use std::time::Duration;

/// Attempts after a THROTTLED answer before giving up: a customer is waiting.
pub const THROTTLE_RETRIES: u32 = 3;
/// The longest pause for the bucket to refill before a retry.
const MAX_THROTTLE_WAIT: Duration = Duration::from_secs(2);
/// The shortest one, and the step of the backoff.
const MIN_THROTTLE_WAIT: Duration = Duration::from_millis(50);

pub struct Graphql {
    pub endpoint: Url,
    pub transport: Transport,
}

/// How long the bucket needs before a query of the requested cost fits, from
/// `extensions.cost`: (requested − available) / restore rate, at least the backoff step
/// for this attempt, at most [`MAX_THROTTLE_WAIT`].
pub fn throttle_wait(extensions: &Value, attempt: u32) -> Duration {
    let cost = &extensions["cost"];
    let requested = cost["requestedQueryCost"].as_f64().unwrap_or(0.0);
    let status = &cost["throttleStatus"];
    let available = status["currentlyAvailable"].as_f64().unwrap_or(0.0);
    let restore = status["restoreRate"].as_f64().unwrap_or(0.0);
    let refill = if restore > 0.0 {
        Duration::from_secs_f64(((requested - available).max(0.0) / restore).min(60.0))
    } else {
        MAX_THROTTLE_WAIT
    };
    refill
        .max(MIN_THROTTLE_WAIT * (attempt + 1))
        .min(MAX_THROTTLE_WAIT)
}

/// Error codes of a GraphQL answer (`errors[].extensions.code`), and their messages.
fn errors(body: &Value) -> Vec<(String, String)> {
    body["errors"]
        .as_array()
        .map(|list| {
            list.iter()
                .map(|e| {
                    (
                        e["extensions"]["code"].as_str().unwrap_or("").to_owned(),
                        e["message"].as_str().unwrap_or("").to_owned(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// An HTTP refusal in plain words.
fn refusal(answer: &Answer) -> BackendError {
    let detail = serde_json::from_slice::<Value>(&answer.body)
        .ok()
        .and_then(|v| match &v["errors"] {
            Value::String(s) => Some(s.clone()),
            Value::Array(list) => list
                .first()
                .and_then(|e| e["message"].as_str())
                .map(str::to_owned),
            _ => None,
        })
        .map(|m| format!(" ({m})"))
        .unwrap_or_default();
    let hint = match answer.status {
        StatusCode::UNAUTHORIZED => {
            "; the access token is wrong or was revoked: copy the Admin API access token \
             of the app again (Settings > Apps and sales channels > Develop apps)"
        }
        StatusCode::FORBIDDEN => "; the app lacks an access scope (read_orders, write_orders, …)",
        StatusCode::NOT_FOUND => {
            "; no shop or API version at this address: check orders.base_url \
             (https://STORE.myshopify.com) and orders.api_version"
        }
        StatusCode::PAYMENT_REQUIRED => "; the shop is frozen (unpaid) or closed",
        StatusCode::LOCKED => "; the shop is locked",
        _ => "",
    };
    BackendError(format!("Shopify refused: {}{detail}{hint}", answer.status))
}

impl Graphql {
    /// Runs `query` and returns its `data`. `repeatable` (a query, not a mutation) lets
    /// the transport retry a failed connection; a THROTTLED answer is always retried,
    /// since Shopify ran nothing.
    pub async fn call(
        &self,
        query: &str,
        variables: Value,
        repeatable: bool,
    ) -> Result<Value, BackendError> {
        let body = json!({ "query": query, "variables": variables });
        let mut attempt = 0;
        loop {
            let answer = self
                .transport
                .send(Method::POST, self.endpoint.clone(), Some(&body), repeatable)
                .await?;
            if !answer.status.is_success() {
                return Err(refusal(&answer));
            }
            let value: Value = serde_json::from_slice(&answer.body)
                .map_err(|e| BackendError(format!("Shopify sent a malformed answer: {e}")))?;
            let errors = errors(&value);
            if errors.iter().any(|(code, _)| code == "THROTTLED") {
                if attempt >= THROTTLE_RETRIES {
                    return Err(BackendError(format!(
                        "Shopify is rate-limiting the app (THROTTLED after {} attempts)",
                        attempt + 1
                    )));
                }
                let wait = throttle_wait(&value["extensions"], attempt);
                tracing::info!(?wait, attempt, "Shopify throttled a call; retrying");
                tokio::time::sleep(wait).await;
                attempt += 1;
                continue;
            }
            if let Some((code, message)) = errors.first() {
                let hint = if code == "ACCESS_DENIED" {
                    "; the app lacks an access scope: give it read_orders, write_orders, \
                     read_returns and write_returns"
                } else {
                    ""
                };
                return Err(BackendError(format!(
                    "Shopify answered an error: {message}{}{hint}",
                    if code.is_empty() {
                        String::new()
                    } else {
                        format!(" ({code})")
                    }
                )));
            }
            return Ok(value["data"].clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wait_is_what_the_bucket_needs_within_bounds() {
        let ext = json!({"cost": {"requestedQueryCost": 60, "actualQueryCost": null,
            "throttleStatus": {"maximumAvailable": 100.0, "currentlyAvailable": 10, "restoreRate": 100.0}}});
        assert_eq!(throttle_wait(&ext, 0), Duration::from_millis(500));
        let full = json!({"cost": {"requestedQueryCost": 5,
            "throttleStatus": {"maximumAvailable": 100.0, "currentlyAvailable": 50, "restoreRate": 100.0}}});
        assert_eq!(throttle_wait(&full, 1), MIN_THROTTLE_WAIT * 2);
        let slow = json!({"cost": {"requestedQueryCost": 1000,
            "throttleStatus": {"maximumAvailable": 1000.0, "currentlyAvailable": 0, "restoreRate": 50.0}}});
        assert_eq!(throttle_wait(&slow, 0), MAX_THROTTLE_WAIT);
        assert_eq!(throttle_wait(&Value::Null, 0), MAX_THROTTLE_WAIT);
    }
}
