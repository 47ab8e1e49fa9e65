//! The conversation WebSocket: customer messages in, bot and agent replies out. Sockets
//! are bounded per conversation, per client IP and in all (`live`), and an idle one is
//! closed.

use super::AppState;
use super::client_ip::ClientIp;
use super::error::ApiError;
use super::live::{Joined, Live, Refused};
use super::turn::{self, Said};
use axum::extract::ws::{CloseFrame, Message as WsMessage, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;
use tokio::sync::broadcast;
use tokio::time::{Instant, sleep_until};

#[derive(Deserialize)]
pub(super) struct TokenQuery {
    token: Option<String>,
}

#[derive(Deserialize)]
struct Incoming {
    text: Option<String>,
    payload: Option<String>,
    label: Option<String>,
    client_id: Option<String>,
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
    // The place is taken before the upgrade, so a refusal is a plain 429/503; should the
    // upgrade never complete, dropping the closure gives the place back.
    let joined = match Live::join(&state, &id, &ip) {
        Ok(j) => j,
        Err(refused) => return refusal(refused).into_response(),
    };
    // Frames a little over the limit are read and refused with a close code (1009); far
    // over it, the protocol layer gives up and the socket is closed the same way.
    ws.max_message_size(4 * super::MAX_BODY_BYTES)
        .max_frame_size(4 * super::MAX_BODY_BYTES)
        .on_upgrade(move |socket| session(socket, state, id, token.unwrap_or_default(), ip, joined))
}

fn refusal(r: Refused) -> ApiError {
    let (status, detail) = match r {
        Refused::Conversation => (
            StatusCode::TOO_MANY_REQUESTS,
            "this conversation has too many sockets open",
        ),
        Refused::Ip => (
            StatusCode::TOO_MANY_REQUESTS,
            "too many sockets open from this address",
        ),
        Refused::Server => (
            StatusCode::SERVICE_UNAVAILABLE,
            "the server has too many sockets open; try again later",
        ),
    };
    ApiError::new(status, "too_many_sockets", detail)
}

/// Close code 1001: going away (here: the socket was idle).
const IDLE: u16 = 1001;

async fn session(
    mut socket: WebSocket,
    state: AppState,
    id: String,
    token: String,
    ip: String,
    mut joined: Joined,
) {
    let idle = state.shared().settings.sockets.idle;
    let ping_every = idle / 3;
    let mut last_heard = Instant::now();
    let mut next_ping = last_heard + ping_every;
    loop {
        tokio::select! {
            () = sleep_until(next_ping), if !idle.is_zero() => {
                if last_heard.elapsed() >= idle {
                    close(&mut socket, IDLE, "idle").await;
                    break;
                }
                next_ping = Instant::now() + ping_every;
                if socket.send(WsMessage::Ping(Default::default())).await.is_err() {
                    break;
                }
            }
            incoming = socket.recv() => {
                last_heard = Instant::now();
                let msg = match incoming {
                    Some(Ok(msg)) => msg,
                    Some(Err(e)) => {
                        // The protocol layer's size limit ("Space limit exceeded: Message
                        // too long"); any other error ends the socket without a word.
                        let text = e.to_string();
                        if text.contains("Space limit") || text.contains("too long") {
                            close(&mut socket, TOO_BIG, &too_big()).await;
                        }
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
            event = joined.events.recv() => {
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
    let incoming = match serde_json::from_str::<Incoming>(frame) {
        Ok(i) => i,
        Err(e) => return error_event(&ApiError::bad_request(format!("not JSON: {e}"))),
    };
    let client_id = match super::client_id::check(incoming.client_id.as_deref()) {
        Ok(c) => c,
        Err(e) => return error_event(&e),
    };
    let said = match Ok::<_, ApiError>(incoming) {
        Ok(Incoming { text: Some(t), .. }) => Said::Text(t),
        Ok(Incoming {
            payload: Some(p),
            label,
            ..
        }) => Said::Button(p, label),
        Ok(_) => {
            return error_event(&ApiError::bad_request("send {\"text\"} or {\"payload\"}"));
        }
        Err(e) => return error_event(&e),
    };
    match turn::run_once(
        state,
        id,
        turn::Caller::Token {
            token: Some(token),
            ip,
        },
        said,
        client_id,
    )
    .await
    {
        Ok(None) => {
            let mut d = super::client_id::duplicate();
            d["type"] = json!("replies");
            d.to_string()
        }
        Ok(Some(out)) => json!({
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
