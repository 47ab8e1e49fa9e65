//! One HTTP client for every order backend that calls the shop over the network (the
//! shop's own API, WooCommerce, Shopify): a per-request timeout, retries of calls that are
//! safe to repeat, and a circuit breaker, so that every platform fails the same way.

use super::BackendError;
use super::breaker::Breaker;
use reqwest::header::{self, HeaderMap, HeaderName, HeaderValue};
use reqwest::{Client, Method, StatusCode, Url};
use serde_json::Value;
use std::time::Duration;

/// The pause before the n-th retry is n times this: short, since a customer is waiting.
pub(crate) const BACKOFF: Duration = Duration::from_millis(100);

/// How calls are sent and how hard they are tried: the settings every networked backend
/// shares.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Resilience {
    /// For one request, from connecting to the end of the body.
    pub timeout: Duration,
    /// Extra attempts for a call that is safe to repeat after a connect error, a timeout
    /// or a 5xx. Changes are never retried: they might have happened.
    pub retries: u32,
    /// Consecutive failed calls that open the circuit.
    pub breaker_threshold: u32,
    /// How long an open circuit fails fast before it lets one trial call through.
    pub breaker_cooldown: Duration,
}

impl Default for Resilience {
    /// 3 s timeout, 2 retries, open after 5 failures for 30 s.
    fn default() -> Self {
        Resilience {
            timeout: Duration::from_secs(3),
            retries: 2,
            breaker_threshold: 5,
            breaker_cooldown: Duration::from_secs(30),
        }
    }
}

/// An answer below 500 (a 5xx or 429 is an error by the time it reaches the caller).
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

#[derive(Debug)]
pub struct Transport {
    client: Client,
    timeout: Duration,
    retries: u32,
    breaker: Breaker,
    /// How errors name the other side: "shop API", "WooCommerce", "Shopify".
    label: &'static str,
}

impl Transport {
    /// `headers` go on every request; mark secret ones sensitive (see [`secret_header`]).
    pub fn new(
        label: &'static str,
        resilience: Resilience,
        mut headers: HeaderMap,
    ) -> Result<Self, BackendError> {
        headers
            .entry(header::ACCEPT)
            .or_insert(HeaderValue::from_static("application/json"));
        let client = Client::builder()
            .default_headers(headers)
            .user_agent(concat!("destek/", env!("CARGO_PKG_VERSION")))
            .timeout(resilience.timeout)
            .connect_timeout(resilience.timeout)
            .build()
            .map_err(|e| BackendError(format!("cannot build the HTTP client: {e}")))?;
        Ok(Transport {
            client,
            timeout: resilience.timeout,
            retries: resilience.retries,
            breaker: Breaker::new(resilience.breaker_threshold, resilience.breaker_cooldown),
            label,
        })
    }

    pub fn label(&self) -> &'static str {
        self.label
    }

    /// Sends one call through the breaker, retrying it when `repeatable`, and returns any
    /// answer below 500. Only failing to get an answer (transport, timeout, 5xx, 429)
    /// counts against the breaker: a 4xx or a malformed body is an error, but the server
    /// is up.
    pub async fn send(
        &self,
        method: Method,
        url: Url,
        body: Option<&Value>,
        repeatable: bool,
    ) -> Result<Answer, BackendError> {
        let what = format!("{method} {}", url.path());
        self.breaker.allow()?;
        let retries = if repeatable { self.retries } else { 0 };
        let mut attempt = 0;
        let result = loop {
            let result = self.attempt(method.clone(), url.clone(), body).await;
            let transient = match &result {
                Ok(answer) => answer.status.is_server_error(),
                Err(e) => e.is_connect() || e.is_timeout(),
            };
            if !transient || attempt >= retries {
                break result;
            }
            attempt += 1;
            tokio::time::sleep(BACKOFF * attempt).await;
        };
        let label = self.label;
        match result {
            Ok(answer)
                if answer.status.is_server_error()
                    || answer.status == StatusCode::TOO_MANY_REQUESTS =>
            {
                self.breaker.failure();
                Err(BackendError(format!(
                    "{label} {what}: answered {}",
                    answer.status
                )))
            }
            Ok(answer) => {
                self.breaker.success();
                Ok(answer)
            }
            Err(e) => {
                self.breaker.failure();
                Err(BackendError(format!(
                    "{label} {what}: {}",
                    self.describe(e)
                )))
            }
        }
    }

    async fn attempt(
        &self,
        method: Method,
        url: Url,
        body: Option<&Value>,
    ) -> Result<Answer, reqwest::Error> {
        let mut request = self.client.request(method, url);
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await?;
        let status = response.status();
        let headers = response.headers().clone();
        Ok(Answer {
            status,
            headers,
            body: response.bytes().await?.to_vec(),
        })
    }

    fn describe(&self, e: reqwest::Error) -> String {
        if e.is_timeout() {
            format!("no answer within {:?}", self.timeout)
        } else if e.is_connect() {
            "cannot connect".into()
        } else {
            // Without the URL: it may carry query-string keys.
            e.without_url().to_string()
        }
    }
}

/// A header value that never shows in `Debug` output.
pub fn secret_header(
    name: HeaderName,
    value: &str,
    what: &str,
) -> Result<(HeaderName, HeaderValue), BackendError> {
    let mut v = HeaderValue::try_from(value)
        .map_err(|_| BackendError(format!("{what} has characters not allowed in a header")))?;
    v.set_sensitive(true);
    Ok((name, v))
}

/// `Authorization: Basic …` for a user and password (RFC 7617).
pub fn basic_auth(user: &str, password: &str) -> Result<(HeaderName, HeaderValue), BackendError> {
    let encoded = crate::base64::encode(format!("{user}:{password}").as_bytes());
    secret_header(
        header::AUTHORIZATION,
        &format!("Basic {encoded}"),
        "the API key",
    )
}

/// A platform's base URL: https, or plain http only to this machine (a local stand-in or
/// a tunnel), since the keys travel with every request.
pub fn platform_url(raw: &str, what: &str) -> Result<Url, BackendError> {
    let url = Url::parse(raw)
        .map_err(|e| BackendError(format!("{what} base_url {raw:?} is not a URL: {e}")))?;
    let local = matches!(url.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
    match url.scheme() {
        "https" => Ok(url),
        "http" if local => Ok(url),
        "http" => Err(BackendError(format!(
            "{what} base_url {raw:?} is plain http: the API keys would travel unencrypted; \
             use https (plain http is accepted only for localhost)"
        ))),
        other => Err(BackendError(format!(
            "{what} base_url {raw:?} has scheme {other}; use https"
        ))),
    }
}

/// Appends path segments to `base`, each percent-encoded as one segment; `.`, `..` and
/// empty segments are refused (the url crate would drop or merge them).
pub fn join(base: &Url, segments: &[&str]) -> Result<Url, BackendError> {
    if let Some(bad) = segments.iter().find(|s| matches!(**s, "" | "." | "..")) {
        return Err(BackendError(format!("{bad:?} cannot be put in a URL path")));
    }
    let mut url = base.clone();
    url.path_segments_mut()
        .map_err(|()| BackendError("the base_url cannot take a path".into()))?
        .pop_if_empty()
        .extend(segments);
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_only_to_this_machine() {
        assert!(platform_url("https://shop.example", "WooCommerce").is_ok());
        assert!(platform_url("http://127.0.0.1:8080", "WooCommerce").is_ok());
        assert!(platform_url("http://localhost", "WooCommerce").is_ok());
        assert!(platform_url("http://[::1]:9", "WooCommerce").is_ok());
        let err = platform_url("http://shop.example", "WooCommerce").expect_err("plain http");
        assert!(err.0.contains("https"), "{err}");
        assert!(platform_url("ftp://shop.example", "WooCommerce").is_err());
        assert!(platform_url("shop.example", "WooCommerce").is_err());
    }

    #[test]
    fn segments_are_encoded_and_dots_refused() {
        let base = Url::parse("https://shop.example/wp-json/").expect("url");
        let url = join(&base, &["orders", "a/b c?#%"]).map(|u| u.to_string());
        assert_eq!(
            url,
            Ok("https://shop.example/wp-json/orders/a%2Fb%20c%3F%23%25".into())
        );
        assert!(join(&base, &["orders", ".."]).is_err());
    }
}
