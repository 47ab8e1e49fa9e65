//! Live events between replicas sharing a PostgreSQL store: what one replica sends to a
//! conversation's sockets or to the inboxes is also broadcast through the store
//! (`AgentStore::broadcast`, `NOTIFY`), and every other replica hands it to its own sockets
//! and inboxes. With SQLite there is one process and nothing to relay.

use super::AppState;
use serde_json::{Value, json};

/// Tells the open inboxes of every replica (`{"type": "handoff.created", …}`).
pub fn publish(state: &AppState, event: Value) {
    state.shared().inbox.publish(event.clone());
    broadcast(state, json!({"kind": "inbox", "event": event}));
}

/// Sends a conversation's event to its sockets on the other replicas.
pub fn relay(state: &AppState, conversation_id: &str, event: &Value) {
    broadcast(
        state,
        json!({"kind": "conversation", "conversation_id": conversation_id, "event": event}),
    );
}

fn broadcast(state: &AppState, mut message: Value) {
    message["from"] = json!(state.shared().inbox.replica);
    let state = state.clone();
    tokio::spawn(async move {
        let payload = message.to_string();
        if let Err(e) = state.shared().store.inbox().broadcast(&payload).await {
            crate::logging::warn(format!("live events: {e}"));
        }
    });
}

/// Hands other replicas' events to this one's sockets and inboxes, while the store
/// delivers them (forever with PostgreSQL; at once returns with SQLite).
pub async fn run(state: AppState) {
    let Some(mut events) = state.shared().store.inbox().listen() else {
        return;
    };
    while let Some(payload) = events.recv().await {
        let Ok(m) = serde_json::from_str::<Value>(&payload) else {
            continue;
        };
        if m["from"].as_str() == Some(state.shared().inbox.replica.as_str()) {
            continue;
        }
        match m["kind"].as_str() {
            Some("inbox") => state.shared().inbox.publish(m["event"].clone()),
            Some("conversation") => {
                if let Some(id) = m["conversation_id"].as_str() {
                    state.shared().live.send(id, m["event"].to_string());
                }
            }
            _ => {}
        }
    }
}
