//! Counters of notices for `/metrics`: sent (by channel and event), skipped (by reason:
//! `no_conversation`, `opted_out`, `daily_limit`, `no_template`, `quiet_hours` — the last
//! counts each postponement), and customers' replies to notices.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Default)]
pub struct NoticeMetrics {
    // std Mutexes: one increment at a time, never held across an await.
    sent: Mutex<BTreeMap<(String, String), u64>>,
    skipped: Mutex<BTreeMap<String, u64>>,
    replies: AtomicU64,
    /// Order webhook deliveries by platform and outcome.
    webhooks: Mutex<BTreeMap<(String, String), u64>>,
}

fn bump<K: Ord>(m: &Mutex<BTreeMap<K, u64>>, key: K, n: u64) {
    if let Ok(mut m) = m.lock() {
        *m.entry(key).or_default() += n;
    }
}

fn label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

impl NoticeMetrics {
    pub fn sent(&self, channel: &str, event: &str) {
        bump(&self.sent, (channel.to_owned(), event.to_owned()), 1);
    }

    pub fn skipped(&self, reason: &str, n: u64) {
        bump(&self.skipped, reason.to_owned(), n);
    }

    pub fn reply(&self) {
        self.replies.fetch_add(1, Ordering::Relaxed);
    }

    /// A delivery of a platform's order webhook: `notified`, `duplicate`, `nothing_new`,
    /// `ignored` (a topic not read), `bad_signature`, `bad_request`.
    pub fn webhook(&self, platform: &str, outcome: &str) {
        bump(&self.webhooks, (platform.to_owned(), outcome.to_owned()), 1);
    }

    /// The text exposition of the counters.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# HELP destek_notices_sent_total Proactive notices said to customers, by channel and event."
        );
        let _ = writeln!(out, "# TYPE destek_notices_sent_total counter");
        if let Ok(m) = self.sent.lock() {
            for ((channel, event), n) in m.iter() {
                let _ = writeln!(
                    out,
                    "destek_notices_sent_total{{channel=\"{}\",event=\"{}\"}} {n}",
                    label(channel),
                    label(event)
                );
            }
        }
        let _ = writeln!(
            out,
            "# HELP destek_notices_skipped_total Notices not said (no_conversation, opted_out, daily_limit, no_template) or postponed (quiet_hours), by reason."
        );
        let _ = writeln!(out, "# TYPE destek_notices_skipped_total counter");
        if let Ok(m) = self.skipped.lock() {
            for (reason, n) in m.iter() {
                let _ = writeln!(
                    out,
                    "destek_notices_skipped_total{{reason=\"{}\"}} {n}",
                    label(reason)
                );
            }
        }
        let _ = writeln!(
            out,
            "# HELP destek_notice_replies_total Customer messages answering a notice."
        );
        let _ = writeln!(out, "# TYPE destek_notice_replies_total counter");
        let _ = writeln!(
            out,
            "destek_notice_replies_total {}",
            self.replies.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            out,
            "# HELP destek_notice_webhooks_total Order webhook deliveries from the shop platforms, by outcome."
        );
        let _ = writeln!(out, "# TYPE destek_notice_webhooks_total counter");
        if let Ok(m) = self.webhooks.lock() {
            for ((platform, outcome), n) in m.iter() {
                let _ = writeln!(
                    out,
                    "destek_notice_webhooks_total{{platform=\"{}\",outcome=\"{}\"}} {n}",
                    label(platform),
                    label(outcome)
                );
            }
        }
        out
    }
}
