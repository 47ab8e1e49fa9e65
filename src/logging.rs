//! Logs: one line per event on stderr, as text or JSON (`log.format: json`), with e-mail
//! addresses and phone numbers masked in every line whatever the caller passed in —
//! customers' contact details never reach a log file.

use std::fmt::Display;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};

static JSON: AtomicBool = AtomicBool::new(false);

/// Chooses the format for the rest of the process.
pub fn init(json: bool) {
    JSON.store(json, Ordering::Relaxed);
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    Info,
    Warn,
    Error,
}

impl Level {
    fn as_str(self) -> &'static str {
        match self {
            Level::Info => "info",
            Level::Warn => "warn",
            Level::Error => "error",
        }
    }
}

pub fn info(msg: impl Display) {
    log(Level::Info, msg);
}

pub fn warn(msg: impl Display) {
    log(Level::Warn, msg);
}

pub fn error(msg: impl Display) {
    log(Level::Error, msg);
}

pub fn log(level: Level, msg: impl Display) {
    eprintln!(
        "{}",
        line(level, &msg.to_string(), JSON.load(Ordering::Relaxed))
    );
}

/// One formatted, masked log line.
pub fn line(level: Level, msg: &str, json: bool) -> String {
    let ts = jiff::Timestamp::now();
    let msg = mask(msg);
    if json {
        serde_json::json!({"ts": ts.to_string(), "level": level.as_str(), "msg": msg}).to_string()
    } else {
        format!("{ts} {:<5} {msg}", level.as_str())
    }
}

fn email_re() -> &'static regex::Regex {
    static RE: OnceLock<regex::Regex> = OnceLock::new();
    RE.get_or_init(|| {
        regex::Regex::new(
            r"([A-Za-z0-9._%+\-])[A-Za-z0-9._%+\-]*@([A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)+)",
        )
        .expect("a constant, valid pattern")
    })
}

fn phone_re() -> &'static regex::Regex {
    static RE: OnceLock<regex::Regex> = OnceLock::new();
    // A phone: + or 0 then 9+ more digits, with spaces, dots, dashes or parentheses between.
    RE.get_or_init(|| {
        regex::Regex::new(r"(?:\+|\b0)[0-9][0-9 ().\-]{7,}[0-9]")
            .expect("a constant, valid pattern")
    })
}

/// `ayse.yilmaz@example.com` → `a***@example.com`; `+90 532 111 22 33` → `***2233`.
pub fn mask(s: &str) -> String {
    let s = email_re().replace_all(s, "$1***@$2");
    phone_re()
        .replace_all(&s, |c: &regex::Captures<'_>| {
            let digits: String = c[0].chars().filter(char::is_ascii_digit).collect();
            if digits.len() < 10 {
                return c[0].to_owned();
            }
            format!("***{}", &digits[digits.len() - 4..])
        })
        .into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contact_details_are_masked_and_order_numbers_kept() {
        assert_eq!(
            mask("verify ayse.yilmaz@example.com for order 48213977"),
            "verify a***@example.com for order 48213977"
        );
        assert_eq!(mask("phone +90 532 111 22 33 ok"), "phone ***2233 ok");
        assert_eq!(mask("call 0555 123 45 67"), "call ***4567");
        assert_eq!(mask("order 114-3928475-2201"), "order 114-3928475-2201");
    }

    #[test]
    fn json_lines_are_json() {
        let l = line(Level::Warn, "a@b.co \"quoted\"", true);
        let v: serde_json::Value = serde_json::from_str(&l).expect("json");
        assert_eq!(v["level"], "warn");
        assert_eq!(v["msg"], "a***@b.co \"quoted\"");
    }
}
