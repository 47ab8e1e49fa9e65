//! The conversation WebSocket: customer messages in, bot and agent replies out.
//!
//! `Live` keeps one broadcast channel per conversation with an open socket, so an agent's
//! reply reaches the customer at once.

use super::AppState;
use super::client_ip::ClientIp;
use super::error::ApiError;
use super::turn::{self, Said};
use axum::extract::ws::{CloseFrame, Message as WsMessage, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;
use std::collections::HashMap;
use std::sync::Mutex;
use tokio::sync::broadcast;

/// Broadcast channels of conversations with a socket open.
#[derive(Default)]
pub struct Live {
    // A std Mutex: a map lookup per event, never held across an await.
    channels: Mutex<HashMap<String, broadcast::Sender<String>>>,
}

impl Live {
    pub fn subscribe(&self, id: &str) -> broadcast::Receiver<String> {
        match self.channels.lock() {
            Ok(mut m) => m
                .entry(id.to_owned())
                .or_insert_with(|| broadcast::channel(64).0)
                .subscribe(),
            Err(_) => broadcast::channel(1).1,
        }
    }

    /// Sends an event to every open socket of the conversation; returns whether any got it.
    pub fn send(&self, id: &str, event: String) -> bool {
        let Ok(mut m) = self.channels.lock() else {
            return false;
        };
        let delivered = m.get(id).is_some_and(|tx| tx.send(event).is_ok());
        m.retain(|_, tx| tx.receiver_count() > 0);
        delivered
    }
}

#[derive(Deserialize)]
pub(super) struct TokenQuery {
    token: Option<String>,
}

#[derive(Deserialize)]
struct Incoming {
    text: Option<String>,
    payload: Option<String>,
    label: Option<String>,
}

pub(super) async fn upgrade(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<TokenQuery>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Response {
    let token = q
        .token
        .or_else(|| super::auth::bearer(&headers).map(str::to_owned));
    if !state.shared().rate.allow_ip(&ip) {
        return ApiError::rate_limited().into_response();
    }
    // Authenticate before upgrading, so a wrong token gets a plain 401.
    match state.shared().store.load(&id).await {
        Ok(Some(stored)) => {
            let ok = super::auth::token_matches(token.as_deref(), &stored.token_hash);
            if !ok {
                return ApiError::unauthorized().into_response();
            }
        }
        Ok(None) => return ApiError::not_found("no such conversation").into_response(),
        Err(e) => return ApiError::from(e).into_response(),
    }
    // Frames a little over the limit are read and refused with a close code (1009); far
    // over it, the protocol layer gives up and the socket is closed the same way.
    ws.max_message_size(4 * super::MAX_BODY_BYTES)
        .max_frame_size(4 * super::MAX_BODY_BYTES)
        .on_upgrade(move |socket| session(socket, state, id, token.unwrap_or_default(), ip))
}

async fn session(mut socket: WebSocket, state: AppState, id: String, token: String, ip: String) {
    let mut live = state.shared().live.subscribe(&id);
    loop {
        tokio::select! {
            incoming = socket.recv() => {
                let msg = match incoming {
                    Some(Ok(msg)) => msg,
                    Some(Err(_)) => {
                        close(&mut socket, TOO_BIG, &too_big()).await;
                        break;
                    }
                    None => break,
                };
                let text = match msg {
                    WsMessage::Text(t) if t.len() > super::MAX_BODY_BYTES => {
                        close(&mut socket, TOO_BIG, &too_big()).await;
                        break;
                    }
                    WsMessage::Text(t) => t.to_string(),
                    WsMessage::Close(_) => break,
                    _ => continue,
                };
                let reply = handle(&state, &id, &token, &ip, &text).await;
                if socket.send(WsMessage::Text(reply.into())).await.is_err() {
                    break;
                }
            }
            event = live.recv() => {
                match event {
                    Ok(e) => {
                        if socket.send(WsMessage::Text(e.into())).await.is_err() {
                            break;
                        }
                    }
                    Err(broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(broadcast::error::RecvError::Closed) => break,
                }
            }
        }
    }
}

async fn handle(state: &AppState, id: &str, token: &str, ip: &str, frame: &str) -> String {
    // A message over the socket counts like one over HTTP.
    if !state.shared().rate.allow_ip(ip) {
        return error_event(&ApiError::rate_limited());
    }
    let said = match serde_json::from_str::<Incoming>(frame) {
        Ok(Incoming { text: Some(t), .. }) => Said::Text(t),
        Ok(Incoming {
            payload: Some(p),
            label,
            ..
        }) => Said::Button(p, label),
        Ok(_) => {
            return error_event(&ApiError::bad_request("send {\"text\"} or {\"payload\"}"));
        }
        Err(e) => return error_event(&ApiError::bad_request(format!("not JSON: {e}"))),
    };
    match turn::run(
        state,
        id,
        turn::Caller::Token {
            token: Some(token),
            ip,
        },
        said,
    )
    .await
    {
        Ok(out) => json!({
            "type": "replies",
            "replies": out.replies,
            "handoff": out.handoff.is_some() || out.relayed,
        })
        .to_string(),
        Err(e) => error_event(&e),
    }
}

/// Close code 1009: the message is too big to process.
const TOO_BIG: u16 = 1009;

fn too_big() -> String {
    format!("message over {} bytes", super::MAX_BODY_BYTES)
}

/// Sends a close frame with a code and reason; a socket already gone is left alone.
async fn close(socket: &mut WebSocket, code: u16, reason: &str) {
    let frame = CloseFrame {
        code,
        reason: reason.into(),
    };
    let _ = socket.send(WsMessage::Close(Some(frame))).await;
}

fn error_event(e: &ApiError) -> String {
    json!({"type": "error", "error": e.error, "detail": e.detail}).to_string()
}
