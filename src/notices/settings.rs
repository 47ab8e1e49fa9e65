//! How notices behave: the events token, who counts as having verified an order (the
//! window), quiet hours in the shop's time zone and the daily limit per conversation.

use jiff::Timestamp;
use jiff::civil::Time;
use jiff::tz::TimeZone;
use serde::Deserialize;
use serde::de::IgnoredAny;

/// Days after a conversation last held an order verified during which it hears of it.
pub const DEFAULT_WINDOW_DAYS: u32 = 90;
/// Notices one conversation receives per 24 hours at most, unless configured.
pub const DEFAULT_MAX_PER_DAY: u32 = 3;

#[derive(Clone)]
pub struct Settings {
    /// Bearer token of `POST /api/v1/orders/{id}/events`; without one the endpoint is off.
    pub events_token: Option<String>,
    pub window_days: u32,
    /// When pushes (Telegram) wait; `None`: never.
    pub quiet: Option<QuietHours>,
    /// Notices per conversation per 24 hours; 0: no limit.
    pub max_per_day: u32,
    /// Signing secrets of the shop platforms' order webhooks (`notices::webhooks`); without
    /// one, that platform's webhook endpoint is off.
    pub webhook_secrets: super::webhooks::Secrets,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            events_token: None,
            window_days: DEFAULT_WINDOW_DAYS,
            quiet: None,
            max_per_day: DEFAULT_MAX_PER_DAY,
            webhook_secrets: Default::default(),
        }
    }
}

// Hand-written so the token can never reach a log through `{:?}`.
impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("events_token", &self.events_token.as_ref().map(|_| "<set>"))
            .field("window_days", &self.window_days)
            .field("quiet", &self.quiet)
            .field("max_per_day", &self.max_per_day)
            .field("webhook_secrets", &self.webhook_secrets)
            .finish()
    }
}

/// A daily stretch of time (`21:00-09:00` runs over midnight) in a time zone.
#[derive(Clone, Debug)]
pub struct QuietHours {
    pub start: Time,
    pub end: Time,
    pub tz: TimeZone,
}

impl QuietHours {
    /// Parses `HH:MM-HH:MM` in the time zone named `tz` (IANA, e.g. `Europe/Istanbul`).
    pub fn parse(spec: &str, tz: &str) -> Result<QuietHours, String> {
        let tz = TimeZone::get(tz).map_err(|e| format!("notices.timezone: `{tz}`: {e}"))?;
        let (a, b) = spec
            .split_once('-')
            .ok_or_else(|| format!("notices.quiet_hours: `{spec}` is not like 21:00-09:00"))?;
        let time = |s: &str| {
            s.trim()
                .parse::<Time>()
                .map_err(|e| format!("notices.quiet_hours: `{}`: {e}", s.trim()))
        };
        let (start, end) = (time(a)?, time(b)?);
        if start == end {
            return Err(format!(
                "notices.quiet_hours: `{spec}` starts when it ends; leave the key out for none"
            ));
        }
        Ok(QuietHours { start, end, tz })
    }

    /// When `now` falls in quiet hours: the moment they end.
    pub fn until(&self, now: Timestamp) -> Option<Timestamp> {
        let here = now.to_zoned_datetime(self.tz.clone());
        let (date, t) = (here.date(), here.time());
        let end_on = |d: jiff::civil::Date| {
            d.to_datetime(self.end)
                .to_zoned_datetime(self.tz.clone())
                .ok()
                .map(|z| z.timestamp())
        };
        if self.start < self.end {
            (self.start <= t && t < self.end)
                .then(|| end_on(date))
                .flatten()
        } else if t >= self.start {
            date.tomorrow().ok().and_then(end_on)
        } else if t < self.end {
            end_on(date)
        } else {
            None
        }
    }
}

/// The `notices:` section of `destek.yaml`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawNotices {
    window_days: Option<u32>,
    /// `HH:MM-HH:MM`, or `off`.
    quiet_hours: Option<String>,
    /// Defaults to `handoff.timezone`, then UTC.
    timezone: Option<String>,
    max_per_day: Option<u32>,
    /// The order webhooks' signing secrets: from files (or `DESTEK_NOTICES_*` variables),
    /// never from the YAML itself.
    woocommerce_webhook_secret_file: Option<String>,
    woocommerce_webhook_secret: Option<IgnoredAny>,
    shopify_webhook_secret_file: Option<String>,
    shopify_webhook_secret: Option<IgnoredAny>,
}

/// The default quiet hours: no pushes between 21:00 and 09:00 shop time.
pub const DEFAULT_QUIET_HOURS: &str = "21:00-09:00";

/// Builds the settings from the `notices:` section, the events token and the shop's time
/// zone (`handoff.timezone`), with `DESTEK_NOTICES_*` overrides read through `env`.
pub fn from_raw(
    raw: Option<RawNotices>,
    events_token: Option<String>,
    shop_timezone: Option<&str>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Settings, String> {
    let raw = raw.unwrap_or_default();
    let number = |key: &str, v: Option<u32>| -> Result<Option<u32>, String> {
        match env(key) {
            Some(s) => s
                .trim()
                .parse()
                .map(Some)
                .map_err(|_| format!("DESTEK_{key}: `{s}` is not a whole number")),
            None => Ok(v),
        }
    };
    let window_days =
        number("NOTICES_WINDOW_DAYS", raw.window_days)?.unwrap_or(DEFAULT_WINDOW_DAYS);
    if window_days == 0 {
        return Err("notices.window_days: must be at least 1".into());
    }
    let max_per_day =
        number("NOTICES_MAX_PER_DAY", raw.max_per_day)?.unwrap_or(DEFAULT_MAX_PER_DAY);
    let tz = env("NOTICES_TIMEZONE")
        .or(raw.timezone)
        .or(shop_timezone.map(str::to_owned))
        .unwrap_or_else(|| "UTC".into());
    let spec = env("NOTICES_QUIET_HOURS")
        .or(raw.quiet_hours)
        .unwrap_or_else(|| DEFAULT_QUIET_HOURS.into());
    let quiet = match spec.trim() {
        "off" | "none" | "" => None,
        s => Some(QuietHours::parse(s, &tz)?),
    };
    Ok(Settings {
        events_token: events_token.filter(|t| !t.is_empty()),
        window_days,
        quiet,
        max_per_day,
        webhook_secrets: super::webhooks::Secrets::load(
            [
                (
                    raw.woocommerce_webhook_secret.is_some(),
                    raw.woocommerce_webhook_secret_file,
                ),
                (
                    raw.shopify_webhook_secret.is_some(),
                    raw.shopify_webhook_secret_file,
                ),
            ],
            env,
        )?,
    })
}

/// `orders.events_token` is a secret: refused in the YAML.
pub fn token_in_yaml(t: &Option<IgnoredAny>) -> Result<(), String> {
    if t.is_some() {
        return Err("`orders.events_token` is a secret and is not read from the configuration file: set DESTEK_ORDERS_EVENTS_TOKEN or `orders.events_token_file`".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> Timestamp {
        s.parse().expect("timestamp")
    }

    #[test]
    fn quiet_hours_over_midnight_end_next_morning() {
        let q = QuietHours::parse("21:00-09:00", "Europe/Istanbul").expect("parse");
        // 22:30 in Istanbul (UTC+3) waits until 09:00 the next day.
        assert_eq!(
            q.until(at("2026-12-07T19:30:00Z")),
            Some(at("2026-12-08T06:00:00Z"))
        );
        // 07:00 waits until 09:00 the same day; noon is not quiet.
        assert_eq!(
            q.until(at("2026-12-07T04:00:00Z")),
            Some(at("2026-12-07T06:00:00Z"))
        );
        assert_eq!(q.until(at("2026-12-07T09:00:00Z")), None);
    }

    #[test]
    fn settings_take_defaults_yaml_and_environment_in_that_order() {
        let none = |_: &str| None;
        let s = from_raw(None, Some("t".into()), Some("Europe/Istanbul"), &none).expect("ok");
        assert_eq!((s.window_days, s.max_per_day), (90, 3));
        let q = s.quiet.expect("quiet hours by default");
        assert_eq!(q.tz.iana_name(), Some("Europe/Istanbul"));
        let env = |k: &str| match k {
            "NOTICES_QUIET_HOURS" => Some("off".to_owned()),
            "NOTICES_MAX_PER_DAY" => Some("0".to_owned()),
            _ => None,
        };
        let s = from_raw(None, None, None, &env).expect("ok");
        assert!(s.quiet.is_none() && s.max_per_day == 0 && s.events_token.is_none());
        let bad = |k: &str| (k == "NOTICES_WINDOW_DAYS").then(|| "ninety".to_owned());
        let e = from_raw(None, None, None, &bad).unwrap_err();
        assert!(e.contains("DESTEK_NOTICES_WINDOW_DAYS"), "{e}");
        assert!(
            token_in_yaml(&Some(IgnoredAny))
                .unwrap_err()
                .contains("events_token_file")
        );
        assert!(
            !format!(
                "{:?}",
                from_raw(None, Some("s3cret".into()), None, &none).expect("ok")
            )
            .contains("s3cret")
        );
    }

    #[test]
    fn quiet_hours_within_a_day_and_bad_specs() {
        let q = QuietHours::parse("13:00-14:00", "UTC").expect("parse");
        assert_eq!(
            q.until(at("2026-12-07T13:15:00Z")),
            Some(at("2026-12-07T14:00:00Z"))
        );
        assert_eq!(q.until(at("2026-12-07T14:00:00Z")), None);
        assert!(QuietHours::parse("9-5", "UTC").is_err());
        assert!(QuietHours::parse("09:00-09:00", "UTC").is_err());
        assert!(QuietHours::parse("21:00-09:00", "Mars/Olympus").is_err());
    }
}
