//! An order event as the shop reports it (`POST /api/v1/orders/{id}/events`, a CSV row),
//! checked so a bad field is refused with a clear message before anything is queued.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// What happened to the order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    Delayed,
    Shipped,
    OutForDelivery,
    Delivered,
    RefundIssued,
}

pub const EVENT_NAMES: &str = "delayed, shipped, out_for_delivery, delivered, refund_issued";

impl EventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Delayed => "delayed",
            EventKind::Shipped => "shipped",
            EventKind::OutForDelivery => "out_for_delivery",
            EventKind::Delivered => "delivered",
            EventKind::RefundIssued => "refund_issued",
        }
    }

    pub fn parse(s: &str) -> Option<EventKind> {
        Some(match s.trim() {
            "delayed" => EventKind::Delayed,
            "shipped" => EventKind::Shipped,
            "out_for_delivery" => EventKind::OutForDelivery,
            "delivered" => EventKind::Delivered,
            "refund_issued" => EventKind::RefundIssued,
            _ => return None,
        })
    }
}

/// Longest order id, event id and note accepted.
pub const MAX_ID_CHARS: usize = 128;
pub const MAX_NOTE_CHARS: usize = 500;
pub const MAX_URL_CHARS: usize = 2_000;

/// A checked event.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OrderEvent {
    pub event: EventKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_id: Option<String>,
    /// `YYYY-MM-DD`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub estimated_delivery: Option<String>,
    /// An `http(s)` URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracking_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// The fields as sent, before checking.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawEvent {
    pub event: Option<String>,
    pub event_id: Option<String>,
    pub estimated_delivery: Option<String>,
    pub tracking_url: Option<String>,
    pub note: Option<String>,
}

fn present(v: Option<String>) -> Option<String> {
    v.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty())
}

/// Checks an order id from a path or a CSV cell.
pub fn order_id(raw: &str) -> Result<String, String> {
    let id = raw.trim();
    if id.is_empty() {
        return Err("the order id is empty".into());
    }
    if id.chars().count() > MAX_ID_CHARS || id.chars().any(char::is_control) {
        return Err(format!(
            "the order id must be at most {MAX_ID_CHARS} printable characters"
        ));
    }
    Ok(id.to_owned())
}

impl RawEvent {
    /// Checks every field; the error names the field and what is expected.
    pub fn check(self) -> Result<OrderEvent, String> {
        let event = match present(self.event) {
            None => return Err(format!("`event` is missing (one of {EVENT_NAMES})")),
            Some(e) => EventKind::parse(&e)
                .ok_or_else(|| format!("`event`: `{e}` is not one of {EVENT_NAMES}"))?,
        };
        let event_id = present(self.event_id);
        if let Some(id) = &event_id
            && (id.chars().count() > MAX_ID_CHARS || id.chars().any(char::is_control))
        {
            return Err(format!(
                "`event_id` must be at most {MAX_ID_CHARS} printable characters"
            ));
        }
        let estimated_delivery = match present(self.estimated_delivery) {
            None => None,
            Some(d) => Some(date(&d).ok_or_else(|| {
                format!("`estimated_delivery`: `{d}` is not a date like 2026-12-24")
            })?),
        };
        let tracking_url = match present(self.tracking_url) {
            None => None,
            Some(u) => {
                let ok = u.chars().count() <= MAX_URL_CHARS
                    && reqwest::Url::parse(&u)
                        .is_ok_and(|p| matches!(p.scheme(), "http" | "https") && p.has_host());
                if !ok {
                    return Err(format!(
                        "`tracking_url` must be an http or https URL of at most {MAX_URL_CHARS} characters"
                    ));
                }
                Some(u)
            }
        };
        let note = present(self.note);
        if note
            .as_ref()
            .is_some_and(|n| n.chars().count() > MAX_NOTE_CHARS)
        {
            return Err(format!(
                "`note` must be at most {MAX_NOTE_CHARS} characters"
            ));
        }
        Ok(OrderEvent {
            event,
            event_id,
            estimated_delivery,
            tracking_url,
            note,
        })
    }
}

/// `YYYY-MM-DD`, or the date part of an RFC 3339 time.
fn date(s: &str) -> Option<String> {
    if let Ok(d) = s.parse::<jiff::civil::Date>() {
        return Some(d.to_string());
    }
    if let Ok(t) = s.parse::<jiff::Timestamp>() {
        return Some(
            t.to_zoned_datetime(jiff::tz::TimeZone::UTC)
                .date()
                .to_string(),
        );
    }
    None
}

impl OrderEvent {
    /// SHA-256 (hex) of what the customer would be told: the same idempotency key with
    /// other fields is a conflict, not a repeat.
    pub fn fingerprint(&self, order_id: &str) -> String {
        let mut h = Sha256::new();
        for part in [
            Some(order_id),
            Some(self.event.as_str()),
            self.estimated_delivery.as_deref(),
            self.tracking_url.as_deref(),
            self.note.as_deref(),
        ] {
            h.update(part.unwrap_or("\u{0}").as_bytes());
            h.update([0x1f]);
        }
        h.finalize().iter().map(|b| format!("{b:02x}")).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(event: &str) -> RawEvent {
        RawEvent {
            event: Some(event.into()),
            ..RawEvent::default()
        }
    }

    #[test]
    fn fields_are_checked_with_clear_messages() {
        assert_eq!(
            raw("shipped").check().map(|e| e.event),
            Ok(EventKind::Shipped)
        );
        assert!(
            raw("lost")
                .check()
                .unwrap_err()
                .contains("out_for_delivery")
        );
        let mut r = raw("delayed");
        r.estimated_delivery = Some("next week".into());
        assert!(r.check().unwrap_err().contains("estimated_delivery"));
        let mut r = raw("shipped");
        r.tracking_url = Some("javascript:alert(1)".into());
        assert!(r.check().unwrap_err().contains("tracking_url"));
        let mut r = raw("delayed");
        r.estimated_delivery = Some("2026-12-24T10:00:00Z".into());
        assert_eq!(
            r.check().ok().and_then(|e| e.estimated_delivery).as_deref(),
            Some("2026-12-24")
        );
        assert!(order_id("  ").is_err());
    }

    #[test]
    fn fingerprints_differ_by_what_the_customer_hears() {
        let a = raw("delayed").check().expect("ok");
        let mut b = a.clone();
        b.estimated_delivery = Some("2026-12-24".into());
        assert_eq!(a.fingerprint("1"), a.fingerprint("1"));
        assert_ne!(a.fingerprint("1"), b.fingerprint("1"));
        assert_ne!(a.fingerprint("1"), a.fingerprint("2"));
    }
}
