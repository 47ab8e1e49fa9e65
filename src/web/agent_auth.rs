//! Who may answer customers: an agent signed in to the inbox (a session cookie) or an
//! integration holding the team token (`handoff.agent_token_file`, a bearer token).
//!
//! Sessions: a random token in an `HttpOnly; SameSite=Strict` cookie (`Secure` behind
//! https), stored only as its SHA-256. A write made with the cookie must also carry the
//! `X-Destek-Inbox` header and, when the browser names an `Origin`, come from this host:
//! another site can neither send the header without a CORS preflight nor make the browser
//! attach the cookie. Logins are limited per account and client IP, and per IP, with waits
//! that grow after a few failures; another IP's failures never keep the rightful agent out.

use super::AppState;
use super::auth;
use super::client_ip::ClientIp;
use super::error::ApiError;
use crate::store::agents::Agent;
use crate::throttle::{Failures, Policy};
use axum::Json;
use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;
use std::time::Duration;

/// The session cookie's name.
pub const COOKIE: &str = "destek_agent";
/// The header a cookie-authenticated write must carry.
pub const CSRF_HEADER: &str = "x-destek-inbox";
/// How long a session lasts.
pub const SESSION: Duration = Duration::from_secs(12 * 3600);

/// Per account and client IP: a few free tries, then waits from 2 s doubling to 5 min.
pub const LOGIN_PER_ACCOUNT: Policy = Policy {
    free: 5,
    first_wait: Duration::from_secs(2),
    max_wait: Duration::from_secs(300),
    window: Duration::from_secs(3600),
};
/// Per client IP across accounts (guessing many names from one address).
pub const LOGIN_PER_IP: Policy = Policy {
    free: 20,
    first_wait: Duration::from_secs(2),
    max_wait: Duration::from_secs(300),
    window: Duration::from_secs(3600),
};

/// Who is answering.
#[derive(Clone, Debug)]
pub enum Who {
    /// An agent signed in to the inbox.
    Agent(Agent),
    /// The team token: an integration, naming its agent in the request if it likes.
    Team,
}

impl Who {
    /// The account name, for a signed-in agent.
    pub fn name(&self) -> Option<&str> {
        match self {
            Who::Agent(a) => Some(&a.name),
            Who::Team => None,
        }
    }
}

fn cookie_token(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| {
            let (k, v) = pair.trim().split_once('=')?;
            (k == COOKIE && !v.is_empty()).then_some(v)
        })
}

/// Whether a cookie-authenticated write comes from the inbox page itself.
fn same_origin_write(headers: &HeaderMap) -> bool {
    if !headers.contains_key(CSRF_HEADER) {
        return false;
    }
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return true;
    };
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let origin_host = origin
        .split_once("://")
        .map_or(origin, |(_, rest)| rest)
        .trim_end_matches('/');
    !host.is_empty() && origin_host.eq_ignore_ascii_case(host)
}

/// The agent of the request's session cookie, if any (reads only).
pub async fn session_agent(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<Option<Agent>, ApiError> {
    let Some(token) = cookie_token(headers) else {
        return Ok(None);
    };
    Ok(state
        .shared()
        .store
        .inbox()
        .session(auth::hash(token))
        .await?)
}

/// Authenticates an agent endpoint: the team token, or a session (for `write`s, with the
/// CSRF checks).
pub async fn authorize(
    state: &AppState,
    headers: &HeaderMap,
    write: bool,
) -> Result<Who, ApiError> {
    let team = state.shared().settings.agent_token.as_deref();
    if let Some(presented) = auth::bearer(headers) {
        if team.is_none() {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "disabled",
                "the team token is off: set handoff.agent_token_file, or sign in at /agent",
            ));
        }
        return if auth::secret_matches(Some(presented), team) {
            Ok(Who::Team)
        } else {
            Err(ApiError::unauthorized())
        };
    }
    let Some(agent) = session_agent(state, headers).await? else {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "sign in at /agent, or send the team token as a bearer token",
        ));
    };
    if write && !same_origin_write(headers) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "csrf",
            format!(
                "a write from the inbox must carry the {CSRF_HEADER} header and come from this site"
            ),
        ));
    }
    Ok(Who::Agent(agent))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Login {
    name: String,
    password: String,
}

fn secure(headers: &HeaderMap) -> bool {
    let proto = |name| {
        headers
            .get(name)
            .and_then(|v: &HeaderValue| v.to_str().ok())
            .unwrap_or_default()
            .to_ascii_lowercase()
    };
    proto("x-forwarded-proto") == "https" || proto("forwarded").contains("proto=https")
}

fn set_cookie(token: &str, max_age: u64, secure: bool) -> String {
    format!(
        "{COOKIE}={token}; Path=/; Max-Age={max_age}; HttpOnly; SameSite=Strict{}",
        if secure { "; Secure" } else { "" }
    )
}

/// The waits of the login keys of `name` from `ip`: `Some(wait)` when an attempt must not
/// be checked now.
async fn login_wait(state: &AppState, keys: &[String]) -> Result<Option<Duration>, ApiError> {
    let store = &state.shared().store;
    let now = crate::store::now_ms();
    let window = LOGIN_PER_IP.window.as_millis() as i64;
    let failures = store.verify_failures(keys, now - window).await?;
    let waits = [LOGIN_PER_ACCOUNT, LOGIN_PER_IP]
        .iter()
        .zip(
            failures
                .iter()
                .copied()
                .chain(std::iter::repeat(Failures::default())),
        )
        .filter_map(|(p, f)| p.remaining(f, now))
        .max();
    Ok(waits)
}

pub(super) async fn login(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    body: Result<Json<Login>, JsonRejection>,
) -> Result<Response, ApiError> {
    let req = super::api::json_body(body)?;
    let name = req.name.trim().to_owned();
    let keys = [format!("login:{name}|{ip}"), format!("login-ip:{ip}")];
    if let Some(wait) = login_wait(&state, &keys).await? {
        let secs = wait.as_secs().max(1);
        let mut res = ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            format!("too many failed sign-ins; try again in {secs} s"),
        )
        .into_response();
        if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
            res.headers_mut().insert(header::RETRY_AFTER, v);
        }
        return Ok(res);
    }
    let store = &state.shared().store;
    let found = store.inbox().agent(&name).await?;
    let password = req.password;
    let (agent, hash) = match found {
        Some((a, h)) => (Some(a), h),
        None => (None, crate::agents::no_account_hash().to_owned()),
    };
    // argon2 is slow on purpose: off the async workers.
    let ok = tokio::task::spawn_blocking(move || crate::agents::verify_password(&password, &hash))
        .await
        .map_err(ApiError::internal)?;
    let agent = match agent {
        Some(a) if ok => a,
        _ => {
            let now = crate::store::now_ms();
            store
                .record_verify_failure(&keys, now, now - LOGIN_PER_IP.window.as_millis() as i64)
                .await?;
            state.shared().inbox.metrics.login_failed();
            return Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "wrong name or password",
            ));
        }
    };
    store.inbox().forget_failures(&keys[0]).await?;
    let token = auth::new_token();
    let expires = crate::store::now_ms() + SESSION.as_millis() as i64;
    store
        .inbox()
        .create_session(auth::hash(&token), &agent.name, expires)
        .await?;
    crate::logging::info(format!("inbox: {} signed in", agent.name));
    let cookie = set_cookie(&token, SESSION.as_secs(), secure(&headers));
    Ok((
        [(header::SET_COOKIE, cookie)],
        Json(json!({"agent": agent})),
    )
        .into_response())
}

pub(super) async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    if let Some(token) = cookie_token(&headers) {
        if !same_origin_write(&headers) {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "csrf",
                format!("sign out from the inbox (the {CSRF_HEADER} header is missing)"),
            ));
        }
        let inbox = state.shared().store.inbox();
        if let Some(agent) = inbox.session(auth::hash(token)).await? {
            inbox.touch_agent(&agent.name, 0).await?;
        }
        inbox.end_session(auth::hash(token)).await?;
    }
    Ok((
        [(header::SET_COOKIE, set_cookie("", 0, secure(&headers)))],
        Json(json!({"signed_out": true})),
    )
        .into_response())
}

pub(super) async fn me(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<serde_json::Value>, ApiError> {
    match session_agent(&state, &headers).await? {
        Some(agent) => Ok(Json(json!({"agent": agent}))),
        None => Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "not signed in",
        )),
    }
}
