//! The delivery loop of notices. Each due notice is claimed (with a lease, so replicas on
//! one PostgreSQL never take the same one), then:
//!
//! 1. written into its conversation under the conversation's turn lock: the message goes
//!    into the transcript and the state (the order verified and in context, the daily
//!    count) is saved in the same transaction that marks the notice written — only if it
//!    is still pending, so it is said once;
//! 2. pushed: live over the conversation's WebSockets (the widget also finds it in the
//!    transcript), or sent to the chat through the channel's `Outbound` (Telegram), where
//!    a failure is retried with backoff and quiet hours postpone the push to the morning.
//!
//! A restart between the steps resumes at the step the store records.

use super::render;
use super::{EventKind, OrderEvent};
use crate::handoff::outbox::backoff_ms;
use crate::store::notices::{Notice, NoticeStore, Stage};
use crate::store::{Message, now_ms, now_rfc3339};
use crate::web::AppState;
use serde_json::json;
use std::time::Duration;

const POLL: Duration = Duration::from_millis(250);
const BATCH: usize = 32;
/// A claimed notice stays hidden from other replicas this long.
const LEASE_MS: i64 = 60_000;
/// Rounds of one pass at most.
const MAX_ROUNDS: usize = 64;
/// How long the order backend may take to fill in a notice's details.
const ORDER_LOOKUP: Duration = Duration::from_secs(3);
const DAY_MS: i64 = 24 * 60 * 60 * 1000;
/// Failed attempts after which a notice is given up (`undeliverable`).
const MAX_ATTEMPTS: u32 = 60;

/// Runs until `stop` resolves, then makes one last pass.
pub async fn run(state: AppState, stop: impl std::future::Future<Output = ()>) {
    let mut stop = std::pin::pin!(stop);
    loop {
        pass(&state).await;
        tokio::select! {
            () = &mut stop => break,
            () = tokio::time::sleep(POLL) => {}
        }
    }
    pass(&state).await;
}

/// Delivers what is due now; returns how many notices were handled.
pub async fn pass(state: &AppState) -> usize {
    let Some(store) = state.shared().store.notices() else {
        return 0;
    };
    let mut handled = 0;
    for _ in 0..MAX_ROUNDS {
        let now = now_ms();
        let due = match store.claim_notices(now, BATCH, now + LEASE_MS).await {
            Ok(d) => d,
            Err(e) => {
                crate::logging::error(format!("notices: {e}"));
                break;
            }
        };
        let count = due.len();
        // A conversation's notices one after another, in the order they were queued;
        // different conversations at once, so a slow chat holds up no other.
        let mut groups: Vec<Vec<Notice>> = Vec::new();
        for n in due {
            match groups
                .iter_mut()
                .find(|g| g[0].conversation_id == n.conversation_id)
            {
                Some(g) => g.push(n),
                None => groups.push(vec![n]),
            }
        }
        let mut tasks = tokio::task::JoinSet::new();
        for group in groups {
            let state = state.clone();
            tasks.spawn(async move {
                if let Some(store) = state.shared().store.notices() {
                    for n in group {
                        handle(&state, store, n).await;
                    }
                }
            });
        }
        while tasks.join_next().await.is_some() {}
        handled += count;
        if count < BATCH {
            break;
        }
    }
    handled
}

async fn handle(state: &AppState, store: &dyn NoticeStore, n: Notice) {
    let result = match n.stage {
        Stage::Pending => write(state, store, &n).await,
        Stage::Written => push(state, store, &n).await,
        Stage::Sent | Stage::Skipped => Ok(()),
    };
    if let Err(e) = result {
        crate::logging::warn(format!(
            "notice {} to conversation {}: {e}",
            n.id, n.conversation_id
        ));
        if n.attempts + 1 >= MAX_ATTEMPTS {
            // About two days of hourly retries: the chat is gone (a blocked bot, a
            // deleted chat); the notice is given up, visible in `destek notices --all`.
            let _ = skip(state, store, &n, "undeliverable").await;
            return;
        }
        let next = now_ms() + backoff_ms(n.attempts, jitter());
        if let Err(e) = store.defer_notice(&n.id, next, Some(e)).await {
            crate::logging::error(format!("notices: {e}"));
        }
    }
}

async fn skip(
    state: &AppState,
    store: &dyn NoticeStore,
    n: &Notice,
    reason: &str,
) -> Result<(), String> {
    state.shared().metrics.notices.skipped(reason, 1);
    store
        .skip_notice(&n.id, reason)
        .await
        .map_err(|e| e.to_string())
}

/// When pushes must wait for the end of quiet hours: that moment in Unix milliseconds.
fn quiet_until(state: &AppState) -> Option<i64> {
    let quiet = state.shared().settings.notices.quiet.as_ref()?;
    quiet
        .until(jiff::Timestamp::now())
        .map(|t| t.as_millisecond())
}

/// Step 1: the notice into its conversation, under the conversation's turn lock.
async fn write(state: &AppState, store: &dyn NoticeStore, n: &Notice) -> Result<(), String> {
    let shared = state.shared();
    let event: OrderEvent = match serde_json::from_str(&n.body) {
        Ok(e) => e,
        Err(_) => return skip(state, store, n, "unreadable").await,
    };
    // Looked up before the conversation is held: the backend may be slow.
    let order = match tokio::time::timeout(ORDER_LOOKUP, shared.orders.order(&n.order_id)).await {
        Ok(Ok(o)) => o,
        // The event alone still makes a notice; the variants cover what it lacks.
        _ => None,
    };
    let held = crate::web::turn::hold(state, &n.conversation_id)
        .await
        .map_err(|e| e.detail)?;
    let Some(stored) = shared
        .store
        .load(&n.conversation_id)
        .await
        .map_err(|e| e.to_string())?
    else {
        return skip(state, store, n, "no_conversation").await;
    };
    let mut conv = stored.state;
    if conv.notices.off {
        return skip(state, store, n, "opted_out").await;
    }
    let pushed = stored.channel != "web";
    if pushed && let Some(until) = quiet_until(state) {
        drop(held);
        shared.metrics.notices.skipped("quiet_hours", 1);
        return store
            .defer_notice(&n.id, until, None)
            .await
            .map_err(|e| e.to_string());
    }
    let now = now_ms();
    conv.notices.recent_ms.retain(|t| *t > now - DAY_MS);
    let max = shared.settings.notices.max_per_day;
    if max > 0 && conv.notices.recent_ms.len() >= max as usize {
        return skip(state, store, n, "daily_limit").await;
    }
    let bot = state.bot();
    let lang = conv.lang.or(stored.lang_hint).unwrap_or(bot.default_lang);
    let kind = event.event;
    let var = |name: &str| render::variable(&bot, lang, &n.order_id, &event, order.as_ref(), name);
    let Some((_, reply)) = render::notice(&bot, kind, lang, &var) else {
        crate::logging::warn(format!(
            "notices: the pack has no `{}` template; notice {} not said",
            render::template_id(kind),
            n.id
        ));
        return skip(state, store, n, "no_template").await;
    };
    conv.notices.received += 1;
    conv.notices.recent_ms.push(now);
    conv.notices.unanswered = Some(n.order_id.clone());
    // A reply continues with the order verified and in context — unless the customer is
    // in the middle of something else, which the notice must not derail.
    if conv.flow.is_none() && conv.handoff.is_none() {
        conv.verified_order = Some(n.order_id.clone());
        conv.slots.insert("order_number".into(), n.order_id.clone());
    }
    let message = Message::from_bot(&reply, &now_rfc3339());
    let stage = if pushed { Stage::Written } else { Stage::Sent };
    let reply_json = serde_json::to_string(&reply).map_err(|e| e.to_string())?;
    let wrote = store
        .write_notice(&n.id, &n.conversation_id, message, conv, reply_json, stage)
        .await
        .map_err(|e| e.to_string())?;
    drop(held);
    if !wrote {
        // Another replica said it first.
        return Ok(());
    }
    if pushed {
        let mut written = n.clone();
        written.stage = Stage::Written;
        written.reply = serde_json::to_string(&reply).ok();
        return push(state, store, &written).await;
    }
    shared.live.send(
        &n.conversation_id,
        json!({"type": "replies", "replies": [reply], "handoff": false, "notice": true})
            .to_string(),
    );
    shared.metrics.notices.sent(&stored.channel, kind.as_str());
    Ok(())
}

/// Step 2 for a push channel: send the written notice to the chat.
async fn push(state: &AppState, store: &dyn NoticeStore, n: &Notice) -> Result<(), String> {
    let shared = state.shared();
    if let Some(until) = quiet_until(state) {
        shared.metrics.notices.skipped("quiet_hours", 1);
        return store
            .defer_notice(&n.id, until, None)
            .await
            .map_err(|e| e.to_string());
    }
    let Some(stored) = shared
        .store
        .load(&n.conversation_id)
        .await
        .map_err(|e| e.to_string())?
    else {
        return skip(state, store, n, "no_conversation").await;
    };
    let reply: crate::dialogue::Reply = n
        .reply
        .as_deref()
        .and_then(|r| serde_json::from_str(r).ok())
        .ok_or("the written notice has no readable reply")?;
    let outbound = state
        .outbound(&stored.channel)
        .ok_or_else(|| format!("the {} channel is not running", stored.channel))?;
    outbound.send_reply(&n.conversation_id, &reply).await?;
    store.notice_sent(&n.id).await.map_err(|e| e.to_string())?;
    let kind = EventKind::parse(&n.event).map_or("unknown", EventKind::as_str);
    shared.metrics.notices.sent(&stored.channel, kind);
    Ok(())
}

/// A number in [0, 1) that differs between calls, for jitter (not for security).
fn jitter() -> f64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    f64::from(nanos % 1_000_000) / 1_000_000.0
}
