//! Long polling: getUpdates with the offset after the highest update seen, so Telegram
//! forgets what we have taken, and a timeout so an idle bot makes one request per period.

use super::Channel;
use std::sync::Arc;
use std::time::Duration;
use teloxide::RequestError;
use teloxide::payloads::GetUpdatesSetters;
use teloxide::requests::Requester;

/// Runs until the task is aborted.
pub(super) async fn run(channel: Arc<Channel>, timeout_secs: u32) {
    let mut offset: i32 = 0;
    let mut failures: u32 = 0;
    loop {
        let answer = channel
            .bot
            .get_updates()
            .offset(offset)
            .timeout(timeout_secs)
            .await;
        match answer {
            Ok(updates) => {
                failures = 0;
                for update in updates {
                    // Telegram's ids fit in an i32 (the offset's type); one that does not
                    // cannot be confirmed and is skipped.
                    let Some(next) = i32::try_from(update.id.0)
                        .ok()
                        .and_then(|i| i.checked_add(1))
                    else {
                        continue;
                    };
                    // An update below the offset was handed to us before: a server that
                    // repeats itself must not make us answer twice.
                    if next <= offset {
                        continue;
                    }
                    offset = next;
                    channel.dispatch(update);
                }
            }
            Err(RequestError::RetryAfter(s)) => tokio::time::sleep(s.duration()).await,
            Err(e) => {
                failures = failures.saturating_add(1);
                crate::logging::warn(format_args!("telegram: getUpdates failed: {e}"));
                // 1, 2, 4 … 30 s: a Bot API outage is not hammered.
                let secs = 1u64 << failures.min(5);
                tokio::time::sleep(Duration::from_secs(secs.min(30))).await;
            }
        }
    }
}
