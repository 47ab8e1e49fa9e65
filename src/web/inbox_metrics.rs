//! The human side on `/metrics`: time to the first human reply, handoffs waiting, handoffs
//! resolved and ratings per agent, failed sign-ins. Per process, like `metrics`.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// Upper bounds of the first-reply histogram, in seconds.
const BUCKETS: [f64; 8] = [30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0, 14400.0];

#[derive(Default)]
pub struct InboxMetrics {
    // std Mutexes: a map update per event, never held across an await.
    resolved: Mutex<BTreeMap<String, u64>>,
    /// Per agent: (sum of ratings, count).
    csat: Mutex<BTreeMap<String, (u64, u64)>>,
    first_reply_buckets: [AtomicU64; BUCKETS.len()],
    first_reply_count: AtomicU64,
    first_reply_sum_ms: AtomicU64,
    login_failures: AtomicU64,
}

fn label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

impl InboxMetrics {
    /// A handoff got its first human reply `ms` after it was made.
    pub fn first_reply(&self, ms: i64) {
        let ms = u64::try_from(ms).unwrap_or(0);
        let secs = ms as f64 / 1000.0;
        for (i, bound) in BUCKETS.iter().enumerate() {
            if secs <= *bound {
                self.first_reply_buckets[i].fetch_add(1, Ordering::Relaxed);
            }
        }
        self.first_reply_count.fetch_add(1, Ordering::Relaxed);
        self.first_reply_sum_ms.fetch_add(ms, Ordering::Relaxed);
    }

    pub fn resolved(&self, agent: &str) {
        if let Ok(mut m) = self.resolved.lock() {
            *m.entry(agent.to_owned()).or_default() += 1;
        }
    }

    /// A customer rated the help of `agent` (1–5).
    pub fn rating(&self, agent: &str, rating: u8) {
        if let Ok(mut m) = self.csat.lock() {
            let e = m.entry(agent.to_owned()).or_default();
            e.0 += u64::from(rating);
            e.1 += 1;
        }
    }

    pub fn login_failed(&self) {
        self.login_failures.fetch_add(1, Ordering::Relaxed);
    }

    /// The text-format lines; `waiting`/`assigned` are the queue now, `online` the agents
    /// with their inbox open.
    pub fn render(
        &self,
        waiting: Option<usize>,
        assigned: Option<usize>,
        online: Option<usize>,
    ) -> String {
        let mut out = String::new();
        let gauge = |out: &mut String, name: &str, help: &str, v: Option<usize>| {
            if let Some(v) = v {
                let _ = write!(
                    out,
                    "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {v}\n"
                );
            }
        };
        gauge(
            &mut out,
            "destek_handoffs_waiting",
            "Handoffs no agent has claimed yet.",
            waiting,
        );
        gauge(
            &mut out,
            "destek_handoffs_assigned",
            "Handoffs an agent has claimed, not yet resolved.",
            assigned,
        );
        gauge(
            &mut out,
            "destek_agents_online",
            "Agents with the inbox open.",
            online,
        );
        out.push_str(
            "# HELP destek_handoff_first_reply_seconds Time from a handoff to the first human reply.\n\
             # TYPE destek_handoff_first_reply_seconds histogram\n",
        );
        for (i, bound) in BUCKETS.iter().enumerate() {
            let _ = writeln!(
                out,
                "destek_handoff_first_reply_seconds_bucket{{le=\"{bound}\"}} {}",
                self.first_reply_buckets[i].load(Ordering::Relaxed)
            );
        }
        let count = self.first_reply_count.load(Ordering::Relaxed);
        let _ = write!(
            out,
            "destek_handoff_first_reply_seconds_bucket{{le=\"+Inf\"}} {count}\n\
             destek_handoff_first_reply_seconds_sum {}\n\
             destek_handoff_first_reply_seconds_count {count}\n",
            self.first_reply_sum_ms.load(Ordering::Relaxed) as f64 / 1000.0
        );
        out.push_str(
            "# HELP destek_handoffs_resolved_total Handoffs resolved, per agent.\n\
             # TYPE destek_handoffs_resolved_total counter\n",
        );
        if let Ok(m) = self.resolved.lock() {
            for (agent, n) in m.iter() {
                let _ = writeln!(
                    out,
                    "destek_handoffs_resolved_total{{agent=\"{}\"}} {n}",
                    label(agent)
                );
            }
        }
        out.push_str(
            "# HELP destek_agent_rating_sum Sum of customers' 1-5 ratings, per agent.\n\
             # TYPE destek_agent_rating_sum counter\n\
             # HELP destek_agent_rating_count Ratings received, per agent (CSAT = sum / count).\n\
             # TYPE destek_agent_rating_count counter\n",
        );
        if let Ok(m) = self.csat.lock() {
            for (agent, (sum, n)) in m.iter() {
                let a = label(agent);
                let _ = write!(
                    out,
                    "destek_agent_rating_sum{{agent=\"{a}\"}} {sum}\ndestek_agent_rating_count{{agent=\"{a}\"}} {n}\n"
                );
            }
        }
        let _ = write!(
            out,
            "# HELP destek_agent_login_failures_total Failed sign-ins to the inbox.\n\
             # TYPE destek_agent_login_failures_total counter\n\
             destek_agent_login_failures_total {}\n",
            self.login_failures.load(Ordering::Relaxed)
        );
        out
    }
}
