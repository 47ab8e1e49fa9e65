//! The server's verification gate: failures counted in the store, per conversation and
//! per client IP, so the waits they cause outlive a restart and hold on every replica.

use crate::orders::BoxFuture;
use crate::store::{Store, now_ms};
use crate::throttle::{Policy, VerifyGate};
use std::sync::Arc;
use std::time::Duration;

pub struct StoreGate {
    store: Arc<dyn Store>,
    keys: Vec<String>,
    policies: Vec<Policy>,
}

impl StoreGate {
    /// The gate of one turn: the conversation's key and, when known, the client's IP.
    pub fn new(store: Arc<dyn Store>, conversation_id: &str, ip: Option<&str>) -> StoreGate {
        let mut keys = vec![format!("conversation:{conversation_id}")];
        let mut policies = vec![Policy::CONVERSATION];
        if let Some(ip) = ip {
            keys.push(format!("ip:{ip}"));
            policies.push(Policy::IP);
        }
        StoreGate {
            store,
            keys,
            policies,
        }
    }

    fn window(&self) -> Duration {
        self.policies
            .iter()
            .map(|p| p.window)
            .max()
            .unwrap_or_default()
    }
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

impl VerifyGate for StoreGate {
    fn throttled(&self) -> BoxFuture<'_, Option<Duration>> {
        Box::pin(async move {
            let now = now_ms();
            let since = now.saturating_sub(millis(self.window()));
            match self.store.verify_failures(&self.keys, since).await {
                Ok(failures) => failures
                    .into_iter()
                    .zip(&self.policies)
                    .filter_map(|(f, p)| p.remaining(f, now))
                    .max(),
                Err(e) => {
                    // Unsure: the attempt is not checked (the customer may try again).
                    crate::logging::warn(format!("verification failures unreadable: {e}"));
                    Some(Duration::from_secs(1))
                }
            }
        })
    }

    fn failed(&self) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            let now = now_ms();
            let forget = now.saturating_sub(millis(self.window()));
            if let Err(e) = self
                .store
                .record_verify_failure(&self.keys, now, forget)
                .await
            {
                crate::logging::warn(format!("verification failure not recorded: {e}"));
            }
        })
    }
}
