//! HTTP handlers of the API, the widget and the health endpoints.

use super::AppState;
use super::auth;
use super::client_ip::ClientIp;
use super::error::ApiError;
use super::turn::{self, Said};
use crate::lang::Lang;
use crate::store::{Change, Message, Sender, Stored, now_rfc3339};
use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

const WIDGET_JS: &str = include_str!("../../web/widget.js");
const WIDGET_CSS: &str = include_str!("../../web/widget.css");
pub(super) const DEMO_PAGE: &str = include_str!("../../web/index.html");

pub(super) fn json_body<T>(body: Result<Json<T>, JsonRejection>) -> Result<T, ApiError> {
    match body {
        Ok(Json(v)) => Ok(v),
        Err(JsonRejection::MissingJsonContentType(_)) => Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send JSON with Content-Type: application/json",
        )),
        Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            format!("the body is over {} bytes", super::MAX_BODY_BYTES),
        )),
        Err(e) => Err(ApiError::bad_request(e.body_text())),
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct NewConversation {
    lang: Option<String>,
}

pub(super) async fn create_conversation(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let shared = state.shared();
    if !shared.rate.allow_ip(&ip) {
        return Err(ApiError::rate_limited());
    }
    // The body is optional: `{}`, `{"lang": "fa"}` or nothing at all.
    let req: NewConversation = if body.iter().all(u8::is_ascii_whitespace) {
        NewConversation::default()
    } else {
        serde_json::from_slice(&body)
            .map_err(|e| ApiError::bad_request(format!("invalid JSON body: {e}")))?
    };
    let lang_hint =
        match req.lang.as_deref() {
            None | Some("") => None,
            Some(l) => Some(Lang::parse(l).ok_or_else(|| {
                ApiError::bad_request(format!("unknown lang `{l}` (tr, fa or en)"))
            })?),
        };
    let token = auth::new_token();
    let id = uuid::Uuid::new_v4().simple().to_string();
    shared
        .store
        .create(Stored {
            id: id.clone(),
            channel: "web".into(),
            lang_hint,
            token_hash: auth::hash(&token),
            state: Default::default(),
        })
        .await?;
    // The opening message (welcome, with the main topics as buttons) is part of the
    // transcript like any reply.
    let bot = state.bot();
    let replies = super::welcome::opening(&bot, lang_hint.unwrap_or(bot.default_lang));
    if !replies.is_empty() {
        let held = turn::hold(&state, &id).await?;
        let at = now_rfc3339();
        let messages = replies.iter().map(|r| Message::from_bot(r, &at)).collect();
        shared.store.commit(&id, Change::messages(messages)).await?;
        drop(held);
    }
    Ok((
        StatusCode::CREATED,
        Json(json!({"conversation_id": id, "token": token, "replies": replies})),
    )
        .into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct PostMessage {
    text: Option<String>,
    payload: Option<String>,
    /// The pressed button's label, for the transcript.
    label: Option<String>,
    /// The client's id for this message: sent again (after a lost answer), it is not
    /// taken twice.
    client_id: Option<String>,
}

pub(super) async fn post_message(
    State(state): State<AppState>,
    Path(id): Path<String>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    body: Result<Json<PostMessage>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    if !state.shared().rate.allow_ip(&ip) {
        return Err(ApiError::rate_limited());
    }
    let body = json_body(body)?;
    let client_id = super::client_id::check(body.client_id.as_deref())?;
    let said = match body {
        PostMessage {
            text: Some(t),
            payload: None,
            label: None,
            ..
        } => Said::Text(t),
        PostMessage {
            text: None,
            payload: Some(p),
            label,
            ..
        } => Said::Button(p, label),
        _ => {
            return Err(ApiError::bad_request(
                "send `text`, or `payload` with an optional `label`",
            ));
        }
    };
    let out = turn::run_once(
        &state,
        &id,
        turn::Caller::Token {
            token: auth::bearer(&headers),
            ip: &ip,
        },
        said,
        client_id,
    )
    .await?;
    let Some(out) = out else {
        return Ok(Json(super::client_id::duplicate()));
    };
    Ok(Json(json!({
        "replies": out.replies,
        "handoff": out.handoff.is_some() || out.relayed,
    })))
}

#[derive(Deserialize)]
pub(super) struct TranscriptQuery {
    token: Option<String>,
    /// Only messages before this position (the `before` of the previous page).
    before: Option<i64>,
    limit: Option<usize>,
}

/// Messages per transcript page, unless `?limit=` asks for fewer.
pub const TRANSCRIPT_PAGE: usize = 200;

pub(super) async fn transcript(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<TranscriptQuery>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let shared = state.shared();
    if !shared.rate.allow_ip(&ip) {
        return Err(ApiError::rate_limited());
    }
    let stored = shared
        .store
        .load(&id)
        .await?
        .ok_or_else(|| ApiError::not_found("no such conversation"))?;
    let token = auth::bearer(&headers).or(q.token.as_deref());
    if !auth::token_matches(token, &stored.token_hash) {
        return Err(ApiError::unauthorized());
    }
    let limit = q.limit.unwrap_or(TRANSCRIPT_PAGE).clamp(1, TRANSCRIPT_PAGE);
    // One more than asked for says whether there is an earlier page.
    let mut page = shared
        .store
        .transcript_page(&id, q.before, limit + 1)
        .await?;
    let more = page.len() > limit;
    if more {
        page.remove(0);
    }
    let before = more.then(|| page.first().map(|(seq, _)| *seq)).flatten();
    let messages: Vec<_> = page.into_iter().map(|(_, m)| m).collect();
    Ok(Json(json!({
        "conversation_id": id,
        "lang": stored.state.lang.or(stored.lang_hint),
        "handoff": stored.state.handoff.is_some(),
        "messages": messages,
        "before": before,
    })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct AgentMessage {
    text: String,
    agent: Option<String>,
}

/// The conversation of a handoff id (`<conversation id>.<n>`; a bare conversation id is
/// accepted too).
fn conversation_of(handoff_id: &str) -> &str {
    handoff_id
        .split_once('.')
        .map_or(handoff_id, |(conversation, _)| conversation)
}

/// An agent's reply, relayed to the customer at once on their channel.
pub(super) async fn agent_message(
    State(state): State<AppState>,
    Path(handoff_id): Path<String>,
    headers: HeaderMap,
    body: Result<Json<AgentMessage>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let who = super::agent_auth::authorize(&state, &headers, true).await?;
    let req = json_body(body)?;
    if req.text.trim().is_empty() {
        return Err(ApiError::bad_request("`text` is empty"));
    }
    let id = conversation_of(&handoff_id).to_owned();
    let shared = state.shared();
    // Loaded and written back under the conversation's lock, like a customer turn.
    let held = turn::hold(&state, &id).await?;
    let mut stored = shared
        .store
        .load(&id)
        .await?
        .ok_or_else(|| ApiError::not_found("no such handoff"))?;
    if stored.state.handoff.is_none() {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "not_handed_off",
            "this conversation is not with a person",
        ));
    }
    super::inbox::may_act(&who, stored.state.assigned_agent.as_deref())?;
    // A signed-in agent answers under their display name and, answering, takes the
    // conversation; an integration names its agent in the request.
    let shown = match &who {
        super::agent_auth::Who::Agent(a) => {
            stored.state.assigned_agent = Some(a.name.clone());
            Some(a.display.clone())
        }
        super::agent_auth::Who::Team => req
            .agent
            .as_ref()
            .map(|n| n.trim().to_owned())
            .filter(|n| !n.is_empty()),
    };
    let first_reply = !stored.state.agent_joined;
    stored.state.agent_joined = true;
    if let Some(name) = &shown {
        stored.state.last_agent = Some(name.clone());
    }
    let handoff_id = stored
        .state
        .handoff
        .as_ref()
        .map(|h| h.id.clone())
        .unwrap_or_default();
    let msg = Message {
        from: Sender::Agent,
        text: req.text.clone(),
        buttons: Vec::new(),
        agent: shown.clone(),
        at: now_rfc3339(),
    };
    shared
        .store
        .commit(
            &id,
            Change {
                messages: vec![msg],
                state: Some(stored.state),
                outbox: Vec::new(),
            },
        )
        .await?;
    drop(held);
    if first_reply && let Ok(Some(row)) = shared.store.inbox().handoff(&handoff_id).await {
        shared
            .inbox
            .metrics
            .first_reply(crate::store::now_ms() - row.created_at);
    }
    super::live_bridge::publish(
        &state,
        json!({
            "type": "handoff.message",
            "handoff_id": handoff_id,
            "conversation_id": id,
            "from": "agent",
        }),
    );
    let delivered = state
        .deliver(
            &stored.channel,
            &id,
            &json!({"type": "agent", "text": req.text, "agent": shown}),
        )
        .await;
    Ok(Json(json!({"delivered": delivered, "agent": shown})))
}

/// Ends a handoff: the bot takes the conversation back and asks for a 1–5 rating.
pub(super) async fn resolve_handoff(
    State(state): State<AppState>,
    Path(handoff_id): Path<String>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let who = super::agent_auth::authorize(&state, &headers, true).await?;
    let id = conversation_of(&handoff_id).to_owned();
    let shared = state.shared();
    // Loaded and written back under the conversation's lock, like a customer turn.
    let held = turn::hold(&state, &id).await?;
    let mut stored = shared
        .store
        .load(&id)
        .await?
        .ok_or_else(|| ApiError::not_found("no such handoff"))?;
    super::inbox::may_act(&who, stored.state.assigned_agent.as_deref())?;
    let Some(closed) = stored.state.handoff.take() else {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "not_handed_off",
            "this conversation is not with a person",
        ));
    };
    // Credited with the rating to come, and offered this customer's next handoff.
    let helper = stored
        .state
        .assigned_agent
        .take()
        .or_else(|| who.name().map(str::to_owned));
    shared
        .inbox
        .metrics
        .resolved(helper.as_deref().unwrap_or("team"));
    stored.state.helped_by = helper;
    stored.state.agent_joined = false;
    stored.state.awaiting_rating = true;
    let bot = state.bot();
    let lang = stored
        .state
        .lang
        .or(stored.lang_hint)
        .unwrap_or(bot.default_lang);
    let ask = bot
        .templates
        .get("rating_request")
        .map(|t| crate::dialogue::render(t, lang, &|_| None));
    let messages = ask
        .iter()
        .map(|r| Message::from_bot(r, &now_rfc3339()))
        .collect();
    shared
        .store
        .commit(
            &id,
            Change {
                messages,
                state: Some(stored.state),
                outbox: Vec::new(),
            },
        )
        .await?;
    drop(held);
    super::live_bridge::publish(
        &state,
        json!({
            "type": "handoff.updated",
            "handoff_id": closed.id,
            "conversation_id": id,
            "status": "closed",
        }),
    );
    let event = json!({
        "type": "replies",
        "replies": ask.as_slice(),
        "handoff": false,
        "text": ask.as_ref().map(|r| r.text.as_str()).unwrap_or_default(),
    });
    let delivered = state.deliver(&stored.channel, &id, &event).await;
    Ok(Json(json!({"resolved": true, "delivered": delivered})))
}

/// Reloads the pack from its directories; a pack with errors is refused (422) and the
/// running one stays.
pub(super) async fn admin_reload(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let settings = &state.shared().settings;
    if settings.admin_token.is_none() {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "disabled",
            "admin endpoints are off: set web.admin_token_file or DESTEK_WEB_ADMIN_TOKEN",
        ));
    }
    if !auth::secret_matches(auth::bearer(&headers), settings.admin_token.as_deref()) {
        return Err(ApiError::unauthorized());
    }
    let Some(source) = settings.pack.clone() else {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "no_pack_dirs",
            "the server runs the embedded pack; there is nothing to reload",
        ));
    };
    let strings =
        |ds: &[crate::pack::Diagnostic]| ds.iter().map(ToString::to_string).collect::<Vec<_>>();
    match super::reload::reload_off_runtime(state.clone(), source)
        .await
        .map_err(ApiError::internal)?
    {
        super::reload::Reloaded::Swapped { intents, warnings } => Ok(Json(json!({
            "reloaded": true,
            "intents": intents,
            "warnings": strings(&warnings),
        }))
        .into_response()),
        super::reload::Reloaded::Refused(diagnostics) => Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            Json(json!({
                "error": "invalid_pack",
                "detail": "the pack has errors; the previous one is still running",
                "diagnostics": strings(&diagnostics),
            })),
        )
            .into_response()),
    }
}

pub(super) async fn demo_page() -> Html<&'static str> {
    Html(DEMO_PAGE)
}

/// An embedded script or stylesheet, with its type and how long browsers may keep it.
pub(super) fn asset(
    content_type: &'static str,
    cache: &'static str,
    body: &'static str,
) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, cache),
        ],
        body,
    )
        .into_response()
}

pub(super) async fn widget_js() -> Response {
    asset(
        "text/javascript; charset=utf-8",
        "public, max-age=300",
        WIDGET_JS,
    )
}

pub(super) async fn widget_css() -> Response {
    asset("text/css; charset=utf-8", "public, max-age=300", WIDGET_CSS)
}

pub(super) async fn healthz() -> &'static str {
    "ok"
}

pub(super) async fn readyz(State(state): State<AppState>) -> Result<&'static str, ApiError> {
    state.shared().store.ping().await?;
    Ok("ready")
}

pub(super) async fn metrics(State(state): State<AppState>) -> Response {
    let shared = state.shared();
    let backlog = shared
        .store
        .deliveries(true, 100_000)
        .await
        .ok()
        .map(|d| d.len());
    let inbox = super::inbox_metrics_text(&state).await;
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        {
            let live = shared.live.stats();
            format!(
                "{}{inbox}# HELP destek_websockets_open Open WebSockets.\n\
                 # TYPE destek_websockets_open gauge\n\
                 destek_websockets_open {}\n\
                 # HELP destek_websocket_conversations Conversations with a WebSocket open.\n\
                 # TYPE destek_websocket_conversations gauge\n\
                 destek_websocket_conversations {}\n{}",
                shared.metrics.render(backlog),
                live.sockets,
                live.conversations,
                notices_pending(shared).await
            )
        },
    )
        .into_response()
}

/// The gauge of notices not yet delivered, when the store keeps notices.
async fn notices_pending(shared: &super::Shared) -> String {
    let Some(store) = shared.store.notices() else {
        return String::new();
    };
    match store.notices(true, 100_000).await {
        Ok(n) => format!(
            "# HELP destek_notices_pending Proactive notices not yet delivered (waiting for quiet hours to end, for a channel, or due now).\n\
             # TYPE destek_notices_pending gauge\n\
             destek_notices_pending {}\n",
            n.len()
        ),
        Err(_) => String::new(),
    }
}

pub(super) async fn not_found() -> ApiError {
    ApiError::not_found("no such endpoint")
}
