//! The shop platforms' order webhooks as a source of notices: WooCommerce
//! (`POST /api/v1/webhooks/woocommerce`) and Shopify (`POST /api/v1/webhooks/shopify`).
//!
//! Both sign the raw request body the same way — `base64(HMAC-SHA256(body, secret))` in
//! `X-WC-Webhook-Signature` or `X-Shopify-Hmac-Sha256` — and [`signed`] checks that over
//! the exact bytes received, in constant time, before anything is parsed. The platform's
//! payload is then read into [`Found`] events (`woocommerce::read`, `shopify::read`), each
//! with a key made of what it says (order, event, shipment or refund id): a retried
//! delivery, and an `order.updated` sent again for an unrelated edit, carry the same keys
//! and notify nobody twice (`notices::accept` keeps one record per key).
//!
//! Only what the platform states becomes a notice: a tracked shipment, out for delivery,
//! delivered, a refund, and a delay only where Shopify's carrier status says `delayed`.

pub mod shopify;
pub mod woocommerce;

use super::event::{MAX_ID_CHARS, RawEvent};
use super::{EventKind, OrderEvent};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

/// A shipment, delivery or refund whose last change is older than this is not news: an
/// old order saved again (a note, a tag), or the first delivery after a webhook is set up,
/// tells nobody about it.
pub const STALE_AFTER_DAYS: i64 = 14;

/// Whether the platform's time `when` (RFC 3339, or a date-time or date without a zone)
/// is older than [`STALE_AFTER_DAYS`] at `now`. A time that cannot be read is not stale.
pub(crate) fn stale(when: Option<&str>, now: jiff::Timestamp) -> bool {
    let Some(when) = when.map(str::trim).filter(|w| !w.is_empty()) else {
        return false;
    };
    let at = when.parse::<jiff::Timestamp>().ok().or_else(|| {
        when.get(..10)?
            .parse::<jiff::civil::Date>()
            .ok()?
            .to_datetime(jiff::civil::Time::midnight())
            .to_zoned_datetime(jiff::tz::TimeZone::UTC)
            .ok()
            .map(|z| z.timestamp())
    });
    at.is_some_and(|at| now.as_second() - at.as_second() > STALE_AFTER_DAYS * 24 * 60 * 60)
}

/// Request bodies larger than this are refused (413): a large order with many line
/// items and meta fields stays well below it.
pub const MAX_BODY_BYTES: usize = 2 * 1024 * 1024;

/// The signing secrets, one per platform; `None`: that webhook is off.
#[derive(Clone, Default, PartialEq)]
pub struct Secrets {
    pub woocommerce: Option<String>,
    pub shopify: Option<String>,
}

// Hand-written so a secret can never reach a log through `{:?}`.
impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let set = |s: &Option<String>| s.as_ref().map(|_| "<set>");
        f.debug_struct("Secrets")
            .field("woocommerce", &set(&self.woocommerce))
            .field("shopify", &set(&self.shopify))
            .finish()
    }
}

impl Secrets {
    /// Reads `[woocommerce, shopify]`, each given as (whether the secret itself was put in
    /// the YAML, its `*_file` key): `DESTEK_NOTICES_<PLATFORM>_WEBHOOK_SECRET` first, then
    /// the file. A secret in the YAML, or a file that cannot be read, is an error that
    /// names the key.
    pub fn load(
        raw: [(bool, Option<String>); 2],
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Secrets, String> {
        let [woo, shop] = raw;
        Ok(Secrets {
            woocommerce: one("woocommerce", woo, env)?,
            shopify: one("shopify", shop, env)?,
        })
    }
}

impl Secrets {
    /// Whether any platform's webhook is on.
    pub fn any(&self) -> bool {
        self.woocommerce.is_some() || self.shopify.is_some()
    }

    /// One line for `destek check`: which endpoints are on.
    pub fn summary(&self) -> String {
        let state = |s: &Option<String>, path: &str| match s {
            Some(_) => format!("on at POST {path}"),
            None => "off".to_owned(),
        };
        format!(
            "order webhooks: WooCommerce {}, Shopify {} (see docs/notices.md)",
            state(&self.woocommerce, "/api/v1/webhooks/woocommerce"),
            state(&self.shopify, "/api/v1/webhooks/shopify")
        )
    }
}

fn one(
    platform: &str,
    (in_yaml, file): (bool, Option<String>),
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<String>, String> {
    let key = format!("notices.{platform}_webhook_secret");
    let var = format!("DESTEK_NOTICES_{}_WEBHOOK_SECRET", platform.to_uppercase());
    if in_yaml {
        return Err(format!(
            "`{key}` is a secret and is not read from the configuration file: set {var} or `{key}_file`"
        ));
    }
    let value = match (env(&var["DESTEK_".len()..]), file) {
        (Some(v), _) => v,
        (None, Some(path)) => std::fs::read_to_string(&path)
            .map_err(|e| format!("{key}_file: cannot read `{path}`: {e}"))?,
        (None, None) => return Ok(None),
    };
    let value = value.trim().to_owned();
    Ok((!value.is_empty()).then_some(value))
}

/// `base64(HMAC-SHA256(body, secret))`, the signature both platforms send.
pub fn signature(secret: &str, body: &[u8]) -> String {
    let mut mac = match Hmac::<Sha256>::new_from_slice(secret.as_bytes()) {
        Ok(m) => m,
        // HMAC takes keys of any length; this arm cannot be reached.
        Err(_) => return String::new(),
    };
    mac.update(body);
    crate::base64::encode(&mac.finalize().into_bytes())
}

/// Whether `presented` (the header's value) is the body's signature under `secret`,
/// compared in constant time.
pub fn signed(secret: &str, body: &[u8], presented: Option<&str>) -> bool {
    let Some(presented) = presented.map(str::trim).filter(|p| !p.is_empty()) else {
        return false;
    };
    let expected = signature(secret, body);
    !expected.is_empty() && crate::web::constant_time_eq(presented.as_bytes(), expected.as_bytes())
}

/// One notice a delivery calls for.
#[derive(Clone, Debug, PartialEq)]
pub struct Found {
    /// The order number customers type and conversations verified.
    pub order_id: String,
    pub event: OrderEvent,
    /// What makes this event itself (platform, event, shipment or refund): the
    /// idempotency key.
    pub key: String,
}

/// What a delivery says.
#[derive(Debug, PartialEq)]
pub enum Reading {
    /// Events to notify (possibly none: nothing a customer needs to hear).
    Events(Vec<Found>),
    /// A topic or payload that is no order event; the reason, for the answer and the log.
    Ignored(String),
}

/// An event with the platform's extra facts, each dropped rather than failing the whole
/// notice when it does not pass `RawEvent::check` (a tracking link that is no http URL).
pub(crate) fn event(kind: EventKind, tracking_url: Option<&str>, eta: Option<&str>) -> OrderEvent {
    let raw = |url: Option<&str>, eta: Option<&str>| RawEvent {
        event: Some(kind.as_str().to_owned()),
        tracking_url: url.map(str::to_owned),
        estimated_delivery: eta.map(str::to_owned),
        ..RawEvent::default()
    };
    raw(tracking_url, eta)
        .check()
        .or_else(|_| raw(None, eta).check())
        .or_else(|_| raw(tracking_url, None).check())
        .unwrap_or(OrderEvent {
            event: kind,
            event_id: None,
            estimated_delivery: None,
            tracking_url: None,
            note: None,
        })
}

/// `platform:part:part…`, hashed when too long to keep as an idempotency key.
pub(crate) fn key(parts: &[&str]) -> String {
    let joined = parts.join(":");
    if joined.chars().count() <= MAX_ID_CHARS && !joined.chars().any(char::is_control) {
        return joined;
    }
    let digest = Sha256::digest(joined.as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("{}:{hex}", parts.first().copied().unwrap_or("webhook"))
}

/// A JSON value as text: strings trimmed, numbers written out; empty is none.
pub(crate) fn text(v: &serde_json::Value) -> Option<String> {
    match v {
        serde_json::Value::String(s) => {
            let s = s.trim();
            (!s.is_empty()).then(|| s.to_owned())
        }
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_are_base64_hmac_sha256_of_the_raw_body() {
        // RFC 4231, test case 2: key "Jefe", "what do ya want for nothing?".
        let sig = signature("Jefe", b"what do ya want for nothing?");
        assert_eq!(sig, "W9zBRr9gdU5qBCQmCJV1x1oAPwidJzmDnexYuWTsOEM=");
        assert!(signed("Jefe", b"what do ya want for nothing?", Some(&sig)));
        assert!(!signed("Jefe", b"what do ya want for nothing!", Some(&sig)));
        assert!(!signed("jefe", b"what do ya want for nothing?", Some(&sig)));
        assert!(!signed("Jefe", b"", None));
        assert!(!signed("Jefe", b"", Some("")));
    }

    #[test]
    fn secrets_come_from_the_environment_or_a_file_never_the_yaml() {
        let none = |_: &str| None;
        assert_eq!(
            Secrets::load([(false, None), (false, None)], &none),
            Ok(Secrets::default())
        );
        let env = |k: &str| (k == "NOTICES_SHOPIFY_WEBHOOK_SECRET").then(|| " shpss_1 ".into());
        let s = Secrets::load([(false, None), (false, None)], &env).expect("ok");
        assert_eq!(s.shopify.as_deref(), Some("shpss_1"));
        assert!(!format!("{s:?}").contains("shpss_1"));
        let e = Secrets::load([(true, None), (false, None)], &none).unwrap_err();
        assert!(
            e.contains("DESTEK_NOTICES_WOOCOMMERCE_WEBHOOK_SECRET")
                && e.contains("woocommerce_webhook_secret_file"),
            "{e}"
        );
        let e = Secrets::load(
            [
                (false, Some("/nonexistent/wc-secret".into())),
                (false, None),
            ],
            &none,
        )
        .unwrap_err();
        assert!(
            e.contains("notices.woocommerce_webhook_secret_file") && e.contains("/nonexistent"),
            "{e}"
        );
    }

    #[test]
    fn old_facts_are_stale() {
        let now: jiff::Timestamp = "2026-12-07T12:00:00Z".parse().expect("now");
        assert!(!stale(Some("2026-12-01T10:00:00-05:00"), now));
        assert!(stale(Some("2026-11-01T10:00:00-05:00"), now));
        assert!(stale(Some("2026-03-07T09:00:00"), now));
        assert!(!stale(Some("2026-12-06"), now));
        assert!(!stale(Some("whenever"), now));
        assert!(!stale(None, now));
    }

    #[test]
    fn a_bad_tracking_link_is_dropped_not_the_notice() {
        let e = event(EventKind::Shipped, Some("javascript:alert(1)"), None);
        assert_eq!((e.event, e.tracking_url), (EventKind::Shipped, None));
        let e = event(
            EventKind::Delayed,
            Some("https://track.example/1"),
            Some("2026-12-24T10:00:00-05:00"),
        );
        assert_eq!(e.estimated_delivery.as_deref(), Some("2026-12-24"));
        assert!(key(&["shopify", &"x".repeat(300)]).len() < 80);
    }
}
