//! The inbox's live side: events pushed to open inboxes (Server-Sent Events), who is
//! signed in right now (presence), and so whether a handed-off customer can honestly be
//! told that someone is there.
//!
//! Presence is a heartbeat in the store (`agents.last_seen`), written while an agent's
//! inbox holds its event stream open, so every replica sees the same agents online.

use super::AppState;
use super::agent_auth::{self, Who};
use super::error::ApiError;
use crate::dialogue::Availability;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;
use tokio::sync::broadcast;

/// An open inbox renews its agent's presence this often.
pub const HEARTBEAT: Duration = Duration::from_secs(15);
/// An agent counts as online this long after their inbox's last heartbeat.
pub const ONLINE_FOR: Duration = Duration::from_secs(45);

pub struct Hub {
    events: broadcast::Sender<String>,
    /// Open event streams per agent in this process.
    // A std Mutex: a counter update, never held across an await.
    open: Mutex<HashMap<String, u32>>,
    pub metrics: super::inbox_metrics::InboxMetrics,
    /// This process among the replicas (its own broadcasts come back to it).
    pub replica: String,
}

impl Default for Hub {
    fn default() -> Self {
        Hub {
            events: broadcast::channel(256).0,
            open: Mutex::new(HashMap::new()),
            metrics: Default::default(),
            replica: uuid::Uuid::new_v4().simple().to_string(),
        }
    }
}

impl Hub {
    /// Tells every open inbox of this process (`live_bridge::publish` tells all replicas) (`{"type": "handoff.created", …}`).
    pub fn publish(&self, event: serde_json::Value) {
        let _ = self.events.send(event.to_string());
    }

    fn opened(&self, agent: &str) {
        if let Ok(mut m) = self.open.lock() {
            *m.entry(agent.to_owned()).or_default() += 1;
        }
    }

    /// Returns whether that was the agent's last open stream here.
    fn closed(&self, agent: &str) -> bool {
        let Ok(mut m) = self.open.lock() else {
            return false;
        };
        match m.get_mut(agent) {
            Some(n) if *n > 1 => {
                *n -= 1;
                false
            }
            _ => {
                m.remove(agent);
                true
            }
        }
    }
}

/// The agents online now (their inbox open, on any replica).
pub async fn online_agents(state: &AppState) -> Result<Vec<String>, ApiError> {
    let since = crate::store::now_ms() - ONLINE_FOR.as_millis() as i64;
    Ok(state
        .shared()
        .store
        .inbox()
        .agents_seen_since(since)
        .await?)
}

/// Whether a handoff made now reaches someone: an agent in the inbox, or the webhook.
pub async fn someone_can_answer(state: &AppState) -> bool {
    state.shared().settings.webhook.is_some()
        || online_agents(state)
            .await
            .is_ok_and(|online| !online.is_empty())
}

/// Business hours, and within them whether anyone can receive a handoff now: nobody is
/// ever told a person is there when none is.
pub async fn availability(state: &AppState) -> Availability {
    match state.availability() {
        Availability::Open { .. } if !someone_can_answer(state).await => Availability::Away,
        other => other,
    }
}

/// Ends an agent's presence when their last stream in this process closes.
struct Presence {
    state: AppState,
    agent: Option<String>,
}

impl Drop for Presence {
    fn drop(&mut self) {
        let Some(agent) = self.agent.take() else {
            return;
        };
        if !self.state.shared().inbox.closed(&agent) {
            return;
        }
        let state = self.state.clone();
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn(async move {
                let _ = state.shared().store.inbox().touch_agent(&agent, 0).await;
            });
        }
    }
}

/// `GET /api/v1/agent/events`: the inbox's live updates as Server-Sent Events.
pub(super) async fn events(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let who = agent_auth::authorize(&state, &headers, false).await?;
    let agent = match &who {
        Who::Agent(a) => {
            // Online from the moment the stream is open.
            state
                .shared()
                .store
                .inbox()
                .touch_agent(&a.name, crate::store::now_ms())
                .await?;
            state.shared().inbox.opened(&a.name);
            Some(a.name.clone())
        }
        Who::Team => None,
    };
    let rx = state.shared().inbox.events.subscribe();
    let presence = Presence {
        state: state.clone(),
        agent,
    };
    let mut beat = tokio::time::interval(HEARTBEAT);
    beat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let stream = futures_util::stream::unfold(
        (rx, beat, presence, true),
        |(mut rx, mut beat, presence, first)| async move {
            if first {
                let hello = Event::default().event("ready").data("{}");
                return Some((
                    Ok::<_, std::convert::Infallible>(hello),
                    (rx, beat, presence, false),
                ));
            }
            loop {
                tokio::select! {
                    got = rx.recv() => match got {
                        Ok(data) => {
                            let ev = Event::default().event("inbox").data(data);
                            return Some((Ok(ev), (rx, beat, presence, false)));
                        }
                        // Missed some: the page reloads its lists on any event.
                        Err(broadcast::error::RecvError::Lagged(_)) => {
                            let ev = Event::default().event("inbox").data("{\"type\":\"lagged\"}");
                            return Some((Ok(ev), (rx, beat, presence, false)));
                        }
                        Err(broadcast::error::RecvError::Closed) => return None,
                    },
                    _ = beat.tick() => {
                        if let Some(agent) = &presence.agent {
                            let store = &presence.state.shared().store;
                            let _ = store.inbox().touch_agent(agent, crate::store::now_ms()).await;
                        }
                    }
                }
            }
        },
    );
    Ok(Sse::new(stream)
        .keep_alive(KeepAlive::new().interval(HEARTBEAT))
        .into_response())
}
