//! Logs through `tracing`: one line per event on stderr, as text or JSON (`log.format:
//! json`), filtered by `RUST_LOG` (default `info`), with e-mail addresses and phone numbers
//! masked in every line — by the writer, so whatever an event or a span carries (a
//! dependency's too), customers' contact details never reach a log file. Each customer
//! turn is a `turn` span with its conversation id, channel, intent and latency (logged at
//! `debug`).

use std::fmt::Display;
use std::io::{self, Write};
use std::sync::OnceLock;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

/// Installs the process's subscriber: text or JSON lines, masked, filtered by `RUST_LOG`.
pub fn init(json: bool) {
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter())
        .with_writer(Masking::new(io::stderr))
        .with_target(false);
    // Fails only when a subscriber is already installed (tests); that one stays.
    let _ = if json {
        builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .try_init()
    } else {
        builder.try_init()
    };
}

/// `RUST_LOG`, or `info`. A `RUST_LOG` that does not parse is reported and `info` used.
pub fn filter() -> EnvFilter {
    match std::env::var("RUST_LOG") {
        Err(_) => EnvFilter::new("info"),
        Ok(spec) => EnvFilter::try_new(&spec).unwrap_or_else(|e| {
            eprintln!("RUST_LOG: `{spec}`: {e}; logging at info");
            EnvFilter::new("info")
        }),
    }
}

pub fn info(msg: impl Display) {
    tracing::info!("{msg}");
}

pub fn warn(msg: impl Display) {
    tracing::warn!("{msg}");
}

pub fn error(msg: impl Display) {
    tracing::error!("{msg}");
}

/// A `MakeWriter` whose lines are masked before they reach `inner`.
#[derive(Clone, Debug)]
pub struct Masking<M> {
    inner: M,
}

impl<M> Masking<M> {
    pub fn new(inner: M) -> Masking<M> {
        Masking { inner }
    }
}

impl<'a, M: MakeWriter<'a>> MakeWriter<'a> for Masking<M> {
    type Writer = MaskedLine<M::Writer>;

    fn make_writer(&'a self) -> Self::Writer {
        MaskedLine {
            buf: Vec::new(),
            out: self.inner.make_writer(),
        }
    }
}

/// One formatted event, collected, then masked and written whole when dropped.
pub struct MaskedLine<W: Write> {
    buf: Vec<u8>,
    out: W,
}

impl<W: Write> Write for MaskedLine<W> {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<W: Write> Drop for MaskedLine<W> {
    fn drop(&mut self) {
        let text = String::from_utf8_lossy(&self.buf);
        let _ = self.out.write_all(mask(&text).as_bytes());
        let _ = self.out.flush();
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

/// Digits right after `4.` are the fraction of a number (a latency of `4.0099999999`), not
/// a phone starting with 0.
fn is_decimal_fraction(s: &str, start: usize) -> bool {
    let b = s.as_bytes();
    start >= 2
        && b.get(start) == Some(&b'0')
        && b[start - 1] == b'.'
        && b[start - 2].is_ascii_digit()
}

/// `ayse.yilmaz@example.com` → `a***@example.com`; `+90 532 111 22 33` → `***2233`.
pub fn mask(s: &str) -> String {
    let s = email_re().replace_all(s, "$1***@$2");
    phone_re()
        .replace_all(&s, |c: &regex::Captures<'_>| {
            let digits: String = c[0].chars().filter(char::is_ascii_digit).collect();
            if digits.len() < 10 || is_decimal_fraction(&s, c.get(0).map_or(0, |m| m.start())) {
                return c[0].to_owned();
            }
            format!("***{}", &digits[digits.len() - 4..])
        })
        .into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

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
    fn regression_a_latency_with_many_decimals_is_not_masked_as_a_phone() {
        let line = r#"{"latency_ms":4.0099999999999998,"phone":"0555 123 45 67"}"#;
        assert_eq!(
            mask(line),
            r#"{"latency_ms":4.0099999999999998,"phone":"***4567"}"#
        );
    }

    /// Log lines written into memory, through the same masking writer as stderr.
    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl Write for Buffer {
        fn write(&mut self, b: &[u8]) -> io::Result<usize> {
            if let Ok(mut v) = self.0.lock() {
                v.extend_from_slice(b);
            }
            Ok(b.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl Buffer {
        fn text(&self) -> String {
            self.0
                .lock()
                .map(|v| String::from_utf8_lossy(&v).into_owned())
                .unwrap_or_default()
        }
    }

    fn capture(json: bool, filter: &str, f: impl FnOnce()) -> String {
        let buf = Buffer::default();
        let out = buf.clone();
        let builder = tracing_subscriber::fmt()
            .with_env_filter(EnvFilter::new(filter))
            .with_writer(Masking::new(move || out.clone()))
            .with_target(false);
        if json {
            tracing::subscriber::with_default(
                builder
                    .json()
                    .flatten_event(true)
                    .with_current_span(true)
                    .finish(),
                f,
            );
        } else {
            tracing::subscriber::with_default(builder.finish(), f);
        }
        buf.text()
    }

    #[test]
    fn every_line_is_masked_whatever_carries_the_contact_details() {
        for json in [false, true] {
            let text = capture(json, "info", || {
                let span = tracing::info_span!("turn", customer = "ayse.yilmaz@example.com");
                let _in = span.enter();
                tracing::warn!(
                    phone = "+90 532 111 22 33",
                    "write to bob.smith@example.org"
                );
                info("call 0555 123 45 67");
            });
            for raw in ["ayse.yilmaz@", "bob.smith@", "532 111 22 33", "0555 123"] {
                assert!(!text.contains(raw), "{raw} in {text}");
            }
            for masked in ["b***@example.org", "***2233", "***4567"] {
                assert!(text.contains(masked), "{masked} not in {text}");
            }
            if json {
                for line in text.lines() {
                    let v: serde_json::Value = serde_json::from_str(line).unwrap_or_default();
                    assert!(v["level"].is_string(), "not JSON: {line}");
                }
            }
        }
    }

    #[test]
    fn the_filter_is_rust_log_style() {
        let text = capture(false, "warn,destek=error", || {
            info("not shown");
            warn("not shown either");
            error("shown");
        });
        assert_eq!(text.lines().count(), 1, "{text}");
        assert!(text.contains("shown"));
    }
}
