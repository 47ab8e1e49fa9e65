//! The built-in inbox's API (design §5, agent side): the queue of handoffs, one handoff
//! with its transcript and the context the bot collected, claim, transfer, hand back to the
//! bot, quick replies; and the page at `/agent`.
//!
//! Every write of a conversation's state holds the conversation (`turn::hold`), like a
//! customer turn, so none overwrites another.

use super::AppState;
use super::agent_auth::{self, Who};
use super::error::ApiError;
use super::turn;
use crate::store::agents::{Filter, HandoffRow};
use crate::store::{Change, Message, Stored, now_rfc3339};
use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, Response};
use serde::Deserialize;
use serde_json::{Value, json};

const PAGE: &str = include_str!("../../web/agent.html");
const SCRIPT: &str = include_str!("../../web/agent.js");
const STYLE: &str = include_str!("../../web/agent.css");

/// Handoffs per list, at most.
const LIST_LIMIT: usize = 500;
/// Transcript messages shown with a handoff, the latest.
const TRANSCRIPT_LIMIT: usize = 200;

pub(super) async fn page() -> Html<&'static str> {
    Html(PAGE)
}

pub(super) async fn script() -> Response {
    super::api::asset("text/javascript; charset=utf-8", "no-cache", SCRIPT)
}

pub(super) async fn style() -> Response {
    super::api::asset("text/css; charset=utf-8", "no-cache", STYLE)
}

fn rfc3339(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| t.to_string())
        .unwrap_or_default()
}

/// A queue entry as the API shows it.
fn entry(row: &HandoffRow, now: i64) -> Value {
    let until = row.first_reply_at.or(row.closed_at).unwrap_or(now);
    json!({
        "handoff_id": row.handoff_id,
        "conversation_id": row.conversation_id,
        "channel": row.channel,
        "lang": row.lang,
        "reason": row.reason,
        "intent": row.intent,
        "order_id": row.order_id,
        "order_verified": row.verified,
        "summary": row.summary,
        "status": row.status,
        "agent": row.agent,
        "created_at": rfc3339(row.created_at),
        "closed_at": row.closed_at.map(rfc3339),
        "waiting_seconds": (until - row.created_at).max(0) / 1000,
    })
}

/// Midnight today in the shop's time zone (business hours), else UTC, in ms.
fn start_of_today(state: &AppState) -> i64 {
    let tz = state
        .shared()
        .settings
        .hours
        .as_ref()
        .map_or(jiff::tz::TimeZone::UTC, |h| h.tz.clone());
    let now = jiff::Timestamp::now().to_zoned_datetime(tz);
    now.start_of_day()
        .map(|d| d.timestamp().as_millisecond())
        .unwrap_or(0)
}

#[derive(Deserialize)]
pub(super) struct ListQuery {
    status: Option<String>,
}

/// `GET /api/v1/handoffs?status=waiting|assigned|open|resolved|mine`.
pub(super) async fn list(
    State(state): State<AppState>,
    Query(q): Query<ListQuery>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let who = agent_auth::authorize(&state, &headers, false).await?;
    let status = q.status.as_deref().unwrap_or("open");
    let (filter, mine) = match status {
        "waiting" => (Filter::Waiting, false),
        "assigned" => (Filter::Assigned, false),
        "open" => (Filter::Open, false),
        "resolved" => (Filter::ClosedSince(start_of_today(&state)), false),
        "mine" => (Filter::Assigned, true),
        other => {
            return Err(ApiError::bad_request(format!(
                "unknown status `{other}`: waiting, assigned, open, resolved or mine"
            )));
        }
    };
    let me = who.name().map(str::to_owned);
    if mine && me.is_none() {
        return Err(ApiError::bad_request(
            "`mine` needs a signed-in agent; the team token has no handoffs of its own",
        ));
    }
    let rows = state
        .shared()
        .store
        .inbox()
        .handoffs(filter, LIST_LIMIT)
        .await?;
    let now = crate::store::now_ms();
    let handoffs: Vec<Value> = rows
        .iter()
        .filter(|r| !mine || r.agent == me)
        .map(|r| entry(r, now))
        .collect();
    let online = super::inbox_live::online_agents(&state).await?;
    Ok(Json(json!({"handoffs": handoffs, "agents_online": online})))
}

/// The handoff row of an id, or 404.
async fn row_of(state: &AppState, handoff_id: &str) -> Result<HandoffRow, ApiError> {
    state
        .shared()
        .store
        .inbox()
        .handoff(handoff_id)
        .await?
        .ok_or_else(|| ApiError::not_found("no such handoff"))
}

/// `GET /api/v1/handoffs/{id}`: the entry, the transcript and what the bot collected.
pub(super) async fn show(
    State(state): State<AppState>,
    Path(handoff_id): Path<String>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    agent_auth::authorize(&state, &headers, false).await?;
    let row = row_of(&state, &handoff_id).await?;
    let shared = state.shared();
    let stored = shared
        .store
        .load(&row.conversation_id)
        .await?
        .ok_or_else(|| ApiError::not_found("no such conversation"))?;
    let page = shared
        .store
        .transcript_page(&row.conversation_id, None, TRANSCRIPT_LIMIT)
        .await?;
    let transcript: Vec<Message> = page.into_iter().map(|(_, m)| m).collect();
    let c = &stored.state;
    let mut v = entry(&row, crate::store::now_ms());
    v["transcript"] = json!(transcript);
    v["context"] = json!({
        "intent": row.intent,
        "order_id": row.order_id,
        "order_verified": row.verified,
        "verified_order": c.verified_order,
        "order_status": c.order_status,
        "verify_failures": c.verify_failures,
        "summary": row.summary,
        "previous_agent": c.helped_by,
        "current": c.handoff.as_ref().is_some_and(|h| h.id == row.handoff_id),
    });
    Ok(Json(v))
}

/// Loads the conversation of a handoff under its lock, and checks that the handoff is the
/// one open now.
async fn open_handoff(
    state: &AppState,
    handoff_id: &str,
) -> Result<(turn::Held, Stored), ApiError> {
    let conversation = handoff_id
        .split_once('.')
        .map_or(handoff_id, |(c, _)| c)
        .to_owned();
    let held = turn::hold(state, &conversation).await?;
    let stored = state
        .shared()
        .store
        .load(&conversation)
        .await?
        .ok_or_else(|| ApiError::not_found("no such handoff"))?;
    let current = stored.state.handoff.as_ref().map(|h| h.id.as_str());
    let is_current = match current {
        None => false,
        // A bare conversation id means its handoff now.
        Some(id) => id == handoff_id || !handoff_id.contains('.'),
    };
    if !is_current {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "not_handed_off",
            "this handoff is over: the conversation is not with a person",
        ));
    }
    Ok((held, stored))
}

/// Whether `who` may act on a handoff assigned to `assigned`: the team token always, an
/// agent when it is theirs or nobody's.
pub(super) fn may_act(who: &Who, assigned: Option<&str>) -> Result<(), ApiError> {
    match (who, assigned) {
        (Who::Agent(a), Some(other)) if a.name != other => Err(ApiError::new(
            StatusCode::CONFLICT,
            "claimed",
            format!("{other} has this conversation; ask them to transfer it"),
        )),
        _ => Ok(()),
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct ClaimBody {
    agent: Option<String>,
}

fn body_or_default<T: Default>(body: Result<Json<T>, JsonRejection>) -> Result<T, ApiError> {
    match body {
        Ok(Json(v)) => Ok(v),
        Err(JsonRejection::MissingJsonContentType(_)) => Ok(T::default()),
        Err(e) => super::api::json_body(Err(e)),
    }
}

async fn save_state(
    state: &AppState,
    stored: &Stored,
    messages: Vec<Message>,
) -> Result<(), ApiError> {
    state
        .shared()
        .store
        .commit(
            &stored.id,
            Change {
                messages,
                state: Some(stored.state.clone()),
                outbox: Vec::new(),
            },
        )
        .await?;
    Ok(())
}

fn updated(state: &AppState, stored: &Stored, handoff_id: &str) {
    super::live_bridge::publish(
        state,
        json!({
            "type": "handoff.updated",
            "handoff_id": handoff_id,
            "conversation_id": stored.id,
            "agent": stored.state.assigned_agent,
            "status": if stored.state.handoff.is_none() { "closed" } else if stored.state.assigned_agent.is_some() { "assigned" } else { "waiting" },
        }),
    );
}

/// `POST /api/v1/handoffs/{id}/claim` `{"agent"?}`: takes the handoff; a second agent's
/// claim is refused (409).
pub(super) async fn claim(
    State(state): State<AppState>,
    Path(handoff_id): Path<String>,
    headers: HeaderMap,
    body: Result<Json<ClaimBody>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let who = agent_auth::authorize(&state, &headers, true).await?;
    let req = body_or_default(body)?;
    let agent = match (&who, req.agent) {
        (Who::Agent(a), _) => a.name.clone(),
        (Who::Team, Some(name)) if !name.trim().is_empty() => name.trim().to_owned(),
        (Who::Team, _) => {
            return Err(ApiError::bad_request(
                "name the `agent` who claims it (the team token is not an agent)",
            ));
        }
    };
    let (held, mut stored) = open_handoff(&state, &handoff_id).await?;
    match stored.state.assigned_agent.as_deref() {
        Some(a) if a == agent => {}
        Some(other) => {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "claimed",
                format!("{other} has already claimed this conversation"),
            ));
        }
        None => {
            stored.state.assigned_agent = Some(agent.clone());
            save_state(&state, &stored, Vec::new()).await?;
        }
    }
    drop(held);
    updated(&state, &stored, &handoff_id);
    Ok(Json(json!({"claimed": true, "agent": agent})))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct TransferBody {
    agent: String,
}

/// `POST /api/v1/handoffs/{id}/transfer` `{"agent"}`: gives the handoff to another agent.
pub(super) async fn transfer(
    State(state): State<AppState>,
    Path(handoff_id): Path<String>,
    headers: HeaderMap,
    body: Result<Json<TransferBody>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let who = agent_auth::authorize(&state, &headers, true).await?;
    let target = super::api::json_body(body)?.agent.trim().to_owned();
    if state.shared().store.inbox().agent(&target).await?.is_none() {
        return Err(ApiError::not_found(format!("no agent named `{target}`")));
    }
    let (held, mut stored) = open_handoff(&state, &handoff_id).await?;
    may_act(&who, stored.state.assigned_agent.as_deref())?;
    stored.state.assigned_agent = Some(target.clone());
    save_state(&state, &stored, Vec::new()).await?;
    drop(held);
    updated(&state, &stored, &handoff_id);
    Ok(Json(json!({"transferred": true, "agent": target})))
}

/// `POST /api/v1/handoffs/{id}/release`: hands the conversation back to the bot (no
/// rating is asked: nothing was resolved).
pub(super) async fn release(
    State(state): State<AppState>,
    Path(handoff_id): Path<String>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let who = agent_auth::authorize(&state, &headers, true).await?;
    let (held, mut stored) = open_handoff(&state, &handoff_id).await?;
    may_act(&who, stored.state.assigned_agent.as_deref())?;
    let c = &mut stored.state;
    c.handoff = None;
    c.agent_joined = false;
    c.awaiting_rating = false;
    c.assigned_agent = None;
    let bot = state.bot();
    let lang = c.lang.or(stored.lang_hint).unwrap_or(bot.default_lang);
    let said = bot
        .templates
        .get("handoff_released")
        .map(|t| crate::dialogue::render(t, lang, &|_| None));
    let messages = said
        .iter()
        .map(|r| Message::from_bot(r, &now_rfc3339()))
        .collect();
    save_state(&state, &stored, messages).await?;
    drop(held);
    updated(&state, &stored, &handoff_id);
    let event = json!({
        "type": "replies",
        "replies": said.as_slice(),
        "handoff": false,
        "text": said.as_ref().map(|r| r.text.as_str()).unwrap_or_default(),
    });
    let delivered = state.deliver(&stored.channel, &stored.id, &event).await;
    Ok(Json(json!({"released": true, "delivered": delivered})))
}

#[derive(Deserialize)]
pub(super) struct RepliesQuery {
    lang: Option<String>,
}

/// `GET /api/v1/agent/replies?lang=tr`: the pack's quick replies (`quick_*` templates).
pub(super) async fn quick_replies(
    State(state): State<AppState>,
    Query(q): Query<RepliesQuery>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    agent_auth::authorize(&state, &headers, false).await?;
    let bot = state.bot();
    let lang = match q.lang.as_deref() {
        None | Some("") => bot.default_lang,
        Some(l) => crate::lang::Lang::parse(l)
            .ok_or_else(|| ApiError::bad_request(format!("unknown lang `{l}` (tr, fa or en)")))?,
    };
    let mut replies: Vec<(&String, String)> = bot
        .templates
        .iter()
        .filter(|(id, _)| id.starts_with("quick_"))
        .map(|(id, t)| (id, crate::dialogue::render(t, lang, &|_| None).text))
        .filter(|(_, text)| !text.trim().is_empty())
        .collect();
    replies.sort();
    let replies: Vec<Value> = replies
        .into_iter()
        .map(|(id, text)| json!({"id": id, "text": text}))
        .collect();
    Ok(Json(json!({"lang": lang.code(), "replies": replies})))
}

/// The agent to offer a new handoff to: the one who helped this customer last (in this
/// conversation, or with the same verified order), if their inbox is open now.
pub async fn follow_up(state: &AppState, conv: &crate::dialogue::Conversation) -> Option<String> {
    let mut candidate = conv.helped_by.clone();
    if candidate.is_none()
        && let Some(order) = conv.verified_order.as_deref()
    {
        candidate = state
            .shared()
            .store
            .inbox()
            .last_agent_for_order(order)
            .await
            .ok()
            .flatten();
    }
    let candidate = candidate?;
    let online = super::inbox_live::online_agents(state).await.ok()?;
    online.contains(&candidate).then_some(candidate)
}
