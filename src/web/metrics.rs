//! Prometheus metrics (`GET /metrics`), kept in memory per process: messages by channel,
//! language and intent; fallbacks, handoffs and the containment they imply; turn latency;
//! the outbox backlog; ratings. Written as Prometheus' text format by hand — a few
//! counters need no library.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Upper bounds of the turn-latency histogram, in seconds.
const BUCKETS: [f64; 10] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0];

#[derive(Default)]
pub struct Metrics {
    // std Mutexes: a map increment per turn, never held across an await.
    messages: Mutex<BTreeMap<(String, String, String), u64>>,
    handoffs: Mutex<BTreeMap<String, u64>>,
    ratings: Mutex<BTreeMap<u8, u64>>,
    fallbacks: AtomicU64,
    turns: AtomicU64,
    latency_buckets: [AtomicU64; BUCKETS.len()],
    latency_sum_micros: AtomicU64,
    /// Proactive notices: sent, skipped, replies.
    pub notices: crate::notices::metrics::NoticeMetrics,
}

fn bump<K: Ord>(m: &Mutex<BTreeMap<K, u64>>, key: K) {
    if let Ok(mut m) = m.lock() {
        *m.entry(key).or_default() += 1;
    }
}

/// Escapes a label value for the text format.
fn label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

impl Metrics {
    /// Records one customer turn.
    pub fn turn(
        &self,
        channel: &str,
        lang: &str,
        intent: Option<&str>,
        fallback: bool,
        took: Duration,
    ) {
        let intent = intent.unwrap_or("none");
        bump(
            &self.messages,
            (channel.to_owned(), lang.to_owned(), intent.to_owned()),
        );
        if fallback {
            self.fallbacks.fetch_add(1, Ordering::Relaxed);
        }
        self.turns.fetch_add(1, Ordering::Relaxed);
        let secs = took.as_secs_f64();
        for (i, bound) in BUCKETS.iter().enumerate() {
            if secs <= *bound {
                self.latency_buckets[i].fetch_add(1, Ordering::Relaxed);
            }
        }
        self.latency_sum_micros
            .fetch_add(took.as_micros() as u64, Ordering::Relaxed);
    }

    pub fn handoff(&self, reason: &str) {
        bump(&self.handoffs, reason.to_owned());
    }

    pub fn rating(&self, stars: u8) {
        bump(&self.ratings, stars);
    }

    /// The text exposition; `backlog` is the outbox's undelivered count, read by the caller.
    pub fn render(&self, backlog: Option<usize>) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# HELP destek_messages_total Customer messages by channel, language and matched intent (none: no intent)."
        );
        let _ = writeln!(out, "# TYPE destek_messages_total counter");
        if let Ok(m) = self.messages.lock() {
            for ((channel, lang, intent), n) in m.iter() {
                let _ = writeln!(
                    out,
                    "destek_messages_total{{channel=\"{}\",lang=\"{}\",intent=\"{}\"}} {n}",
                    label(channel),
                    label(lang),
                    label(intent)
                );
            }
        }
        let turns = self.turns.load(Ordering::Relaxed);
        let fallbacks = self.fallbacks.load(Ordering::Relaxed);
        let handoffs: u64 = self.handoffs.lock().map(|m| m.values().sum()).unwrap_or(0);
        let _ = writeln!(
            out,
            "# HELP destek_fallbacks_total Messages that matched no intent."
        );
        let _ = writeln!(out, "# TYPE destek_fallbacks_total counter");
        let _ = writeln!(out, "destek_fallbacks_total {fallbacks}");
        let _ = writeln!(
            out,
            "# HELP destek_handoffs_total Conversations handed to a person, by reason."
        );
        let _ = writeln!(out, "# TYPE destek_handoffs_total counter");
        if let Ok(m) = self.handoffs.lock() {
            for (reason, n) in m.iter() {
                let _ = writeln!(
                    out,
                    "destek_handoffs_total{{reason=\"{}\"}} {n}",
                    label(reason)
                );
            }
        }
        let rate = |n: u64| {
            if turns == 0 {
                0.0
            } else {
                n as f64 / turns as f64
            }
        };
        let _ = writeln!(
            out,
            "# HELP destek_fallback_rate Share of turns that matched no intent."
        );
        let _ = writeln!(out, "# TYPE destek_fallback_rate gauge");
        let _ = writeln!(out, "destek_fallback_rate {:.6}", rate(fallbacks));
        let _ = writeln!(
            out,
            "# HELP destek_handoff_rate Share of turns that handed off."
        );
        let _ = writeln!(out, "# TYPE destek_handoff_rate gauge");
        let _ = writeln!(out, "destek_handoff_rate {:.6}", rate(handoffs));
        let _ = writeln!(
            out,
            "# HELP destek_containment_rate Share of turns the bot handled without a person (1 - handoff rate)."
        );
        let _ = writeln!(out, "# TYPE destek_containment_rate gauge");
        let _ = writeln!(out, "destek_containment_rate {:.6}", 1.0 - rate(handoffs));
        let _ = writeln!(
            out,
            "# HELP destek_turn_seconds Time to answer a customer message."
        );
        let _ = writeln!(out, "# TYPE destek_turn_seconds histogram");
        for (i, bound) in BUCKETS.iter().enumerate() {
            let _ = writeln!(
                out,
                "destek_turn_seconds_bucket{{le=\"{bound}\"}} {}",
                self.latency_buckets[i].load(Ordering::Relaxed)
            );
        }
        let _ = writeln!(out, "destek_turn_seconds_bucket{{le=\"+Inf\"}} {turns}");
        let _ = writeln!(
            out,
            "destek_turn_seconds_sum {:.6}",
            self.latency_sum_micros.load(Ordering::Relaxed) as f64 / 1e6
        );
        let _ = writeln!(out, "destek_turn_seconds_count {turns}");
        if let Some(b) = backlog {
            let _ = writeln!(
                out,
                "# HELP destek_outbox_backlog Handoff webhook deliveries not yet accepted by the receiver."
            );
            let _ = writeln!(out, "# TYPE destek_outbox_backlog gauge");
            let _ = writeln!(out, "destek_outbox_backlog {b}");
        }
        let _ = writeln!(
            out,
            "# HELP destek_ratings_total Ratings customers gave after a handoff, by stars."
        );
        let _ = writeln!(out, "# TYPE destek_ratings_total counter");
        if let Ok(m) = self.ratings.lock() {
            for (stars, n) in m.iter() {
                let _ = writeln!(out, "destek_ratings_total{{stars=\"{stars}\"}} {n}");
            }
        }
        out.push_str(&self.notices.render());
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_turns_and_renders_the_text_format() {
        let m = Metrics::default();
        m.turn(
            "web",
            "tr",
            Some("order_status"),
            false,
            Duration::from_millis(3),
        );
        m.turn("web", "tr", None, true, Duration::from_millis(30));
        m.handoff("fallback");
        m.rating(5);
        let text = m.render(Some(2));
        assert!(
            text.contains(
                r#"destek_messages_total{channel="web",lang="tr",intent="order_status"} 1"#
            )
        );
        assert!(text.contains("destek_fallbacks_total 1"));
        assert!(text.contains(r#"destek_handoffs_total{reason="fallback"} 1"#));
        assert!(text.contains("destek_handoff_rate 0.500000"));
        assert!(text.contains(r#"destek_turn_seconds_bucket{le="0.005"} 1"#));
        assert!(text.contains(r#"destek_turn_seconds_bucket{le="0.05"} 2"#));
        assert!(text.contains("destek_outbox_backlog 2"));
        assert!(text.contains(r#"destek_ratings_total{stars="5"} 1"#));
    }
}
