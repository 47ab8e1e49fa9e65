//! The site-chat server (design §5): the HTTP API, the WebSocket, the widget and the demo
//! page. `app(state)` builds the router; `destek serve` and the tests share it.
//!
//! Every customer turn goes through `turn::run`: one conversation's turns never
//! interleave, the customer's message is committed before the turn acts at the shop or
//! answers (`message_first`), and the replies are committed before they are sent.

mod agent_auth;
mod api;
pub mod attachments;
mod auth;
mod client_id;
mod client_ip;
mod error;
mod forget;
pub mod headers;
pub mod inbox;
pub mod inbox_live;
pub mod inbox_metrics;
pub mod live;
pub mod live_bridge;
mod message_first;
pub mod metrics;
mod notices;
pub mod proxy;
pub mod rate;
pub mod reload;
pub mod turn;
pub mod verify;
mod webhooks;
pub mod welcome;
mod ws;

pub use auth::constant_time_eq;
pub use error::ApiError;
pub use turn::{Caller, Said};

use crate::bot::Bot;
use crate::orders::{BoxFuture, OrderBackend};
use crate::store::Store;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, Method, header};
use axum::routing::{delete, get, post};
use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use tower_http::cors::{AllowOrigin, CorsLayer};

/// Request bodies larger than this are refused with 413 before they are parsed.
pub const MAX_BODY_BYTES: usize = 16 * 1024;

/// Everything a request handler needs. Cloned per request (all fields are shared).
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Shared>,
}

pub struct Shared {
    /// The compiled pack. A reload swaps the `Arc`; a turn in progress keeps the snapshot
    /// it started with. A std RwLock: held only to clone the `Arc`.
    bot: RwLock<Arc<Bot>>,
    pub store: Arc<dyn Store>,
    pub orders: Arc<dyn OrderBackend>,
    pub rate: rate::RateLimits,
    locks: turn::ConversationLocks,
    pub live: live::Live,
    pub metrics: metrics::Metrics,
    pub settings: WebSettings,
    /// How to reach a customer outside a request, per channel other than the widget
    /// (whose sockets are in `live`). A std RwLock: written once at start-up.
    outbound: RwLock<HashMap<String, Arc<dyn Outbound>>>,
    /// The built-in inbox: live events to open inboxes, its metrics.
    pub inbox: inbox_live::Hub,
}

/// A channel that can send a message to a customer at any time (an agent's reply).
pub trait Outbound: Send + Sync {
    /// Returns whether the message was handed to the channel.
    fn send<'a>(&'a self, conversation_id: &'a str, text: &'a str) -> BoxFuture<'a, bool>;

    /// Sends a reply with its buttons and waits until the channel accepted it (a proactive
    /// notice is marked sent only then); `Err` says what went wrong, to retry later.
    fn send_reply<'a>(
        &'a self,
        conversation_id: &'a str,
        reply: &'a crate::dialogue::Reply,
    ) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(async move {
            if self.send(conversation_id, &reply.text).await {
                Ok(())
            } else {
                Err("the channel did not take the message".into())
            }
        })
    }
}

/// The web part of the configuration.
#[derive(Clone, Debug, Default)]
pub struct WebSettings {
    /// Origins allowed to call the API from a browser (CORS). Empty: same origin only.
    pub allowed_origins: Vec<String>,
    /// Bearer token of the agent endpoints; without one they are disabled.
    pub agent_token: Option<String>,
    /// Where handoff events go; without it none are queued.
    pub webhook: Option<crate::handoff::WebhookSettings>,
    /// When people are at work; without it they always are.
    pub hours: Option<crate::handoff::hours::BusinessHours>,
    /// The wait a handed-off customer is told inside business hours.
    pub wait_minutes: u32,
    /// Bearer token of `/admin/*`; without one those endpoints are disabled.
    pub admin_token: Option<String>,
    /// Where `/admin/reload` reads the pack from.
    pub pack: Option<reload::PackSource>,
    /// Reverse proxies whose `X-Forwarded-For`/`Forwarded` is believed.
    pub trusted_proxies: Vec<proxy::Cidr>,
    /// Bounds on open WebSockets.
    pub sockets: live::SocketLimits,
    /// Customers' attachments: where they are kept, how large they may be.
    pub attachments: attachments::Settings,
    /// Do not serve the demo shop page at `/` (production).
    pub no_demo_page: bool,
    /// Proactive notices: the events token, the window, quiet hours, the daily limit.
    pub notices: crate::notices::Settings,
}

impl AppState {
    pub fn new(
        bot: Bot,
        store: Arc<dyn Store>,
        orders: Arc<dyn OrderBackend>,
        rate: rate::RateLimits,
        settings: WebSettings,
    ) -> AppState {
        AppState {
            inner: Arc::new(Shared {
                bot: RwLock::new(Arc::new(bot)),
                store,
                orders,
                rate,
                locks: turn::ConversationLocks::default(),
                live: live::Live::default(),
                metrics: metrics::Metrics::default(),
                settings,
                outbound: RwLock::new(HashMap::new()),
                inbox: inbox_live::Hub::default(),
            }),
        }
    }

    /// The current snapshot of the bot.
    pub fn bot(&self) -> Arc<Bot> {
        match self.inner.bot.read() {
            Ok(b) => Arc::clone(&b),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    /// Swaps in a new snapshot; conversations carry on with it from their next turn.
    pub fn replace_bot(&self, bot: Bot) {
        let new = Arc::new(bot);
        match self.inner.bot.write() {
            Ok(mut b) => *b = new,
            Err(poisoned) => *poisoned.into_inner() = new,
        }
    }

    pub fn shared(&self) -> &Shared {
        &self.inner
    }

    /// Whether people are at work now (reads the clock: this is the driver's side).
    pub fn availability(&self) -> crate::dialogue::Availability {
        let s = &self.inner.settings;
        match &s.hours {
            Some(h) => h.availability(jiff::Timestamp::now()),
            None => crate::dialogue::Availability::Open {
                wait_minutes: s.wait_minutes,
            },
        }
    }

    /// Registers how to reach the customers of a channel (e.g. `telegram`).
    pub fn register_outbound(&self, channel: &str, outbound: Arc<dyn Outbound>) {
        if let Ok(mut m) = self.inner.outbound.write() {
            m.insert(channel.to_owned(), outbound);
        }
    }

    /// How to reach the customers of `channel` outside a request, when it is running.
    pub fn outbound(&self, channel: &str) -> Option<Arc<dyn Outbound>> {
        self.inner
            .outbound
            .read()
            .ok()
            .and_then(|m| m.get(channel).cloned())
    }

    /// Sends an agent's message to a customer on whatever channel they use.
    pub async fn deliver(
        &self,
        channel: &str,
        conversation_id: &str,
        event: &serde_json::Value,
    ) -> bool {
        if channel == "web" {
            // The customer's socket may be open on another replica.
            live_bridge::relay(self, conversation_id, event);
            return self.inner.live.send(conversation_id, event.to_string());
        }
        let outbound = self
            .inner
            .outbound
            .read()
            .ok()
            .and_then(|m| m.get(channel).cloned());
        let text = event["text"].as_str().unwrap_or_default();
        match outbound {
            Some(o) => o.send(conversation_id, text).await,
            None => false,
        }
    }

    /// Loads a conversation, creating it for a channel that addresses customers by its own
    /// ids (a Telegram chat is a conversation).
    pub async fn ensure_conversation(
        &self,
        id: &str,
        channel: &str,
        lang_hint: Option<crate::lang::Lang>,
    ) -> Result<(), ApiError> {
        if self.inner.store.load(id).await?.is_none() {
            self.inner
                .store
                .create(crate::store::Stored {
                    id: id.to_owned(),
                    channel: channel.to_owned(),
                    lang_hint,
                    // Such conversations are reached only through their channel; the token
                    // is random and never handed out.
                    token_hash: auth::hash(&auth::new_token()),
                    state: Default::default(),
                })
                .await?;
        }
        Ok(())
    }
}

/// The router: API, WebSocket, widget, demo page, health.
pub fn app(state: AppState) -> Router {
    let cors = cors(&state.shared().settings.allowed_origins);
    let security = Arc::new(headers::SecurityHeaders::new(
        &state.shared().settings.allowed_origins,
        api::DEMO_PAGE,
    ));
    let api = Router::new()
        .route("/api/v1/conversations", post(api::create_conversation))
        .route(
            "/api/v1/conversations/{id}/messages",
            post(api::post_message),
        )
        .route(
            "/api/v1/conversations/{id}/transcript",
            get(api::transcript),
        )
        .route("/api/v1/conversations/{id}/ws", get(ws::upgrade))
        .route("/api/v1/handoffs/{id}/messages", post(api::agent_message))
        .route("/api/v1/handoffs/{id}/resolve", post(api::resolve_handoff))
        .route("/admin/reload", post(api::admin_reload))
        .route("/api/v1/handoffs", get(inbox::list))
        .route("/api/v1/handoffs/{id}", get(inbox::show))
        .route("/api/v1/handoffs/{id}/claim", post(inbox::claim))
        .route("/api/v1/handoffs/{id}/transfer", post(inbox::transfer))
        .route("/api/v1/handoffs/{id}/release", post(inbox::release))
        .route(
            "/api/v1/agent/session",
            post(agent_auth::login)
                .get(agent_auth::me)
                .delete(agent_auth::logout),
        )
        .route("/agent/login", post(agent_auth::login))
        .route("/agent/logout", post(agent_auth::logout))
        .route("/api/v1/agent/events", get(inbox_live::events))
        .route("/api/v1/agent/replies", get(inbox::quick_replies))
        .route(
            "/api/v1/conversations/{id}",
            delete(forget::delete_conversation),
        )
        .route(
            "/api/v1/conversations/{id}/attachments/{attachment_id}",
            get(attachments::download),
        )
        .route(
            "/api/v1/orders/{order_id}/events",
            post(notices::order_event),
        )
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        // Reads its body itself, up to `web.attachment_max_mb`.
        .route(
            "/api/v1/conversations/{id}/attachments",
            post(attachments::upload),
        )
        // Whole orders from the shop platforms: a larger body limit of their own.
        .merge(webhooks::routes());
    let api = match cors {
        Some(c) => api.layer(c),
        None => api,
    };
    let demo = !state.shared().settings.no_demo_page;
    let router = Router::new().merge(api);
    let router = if demo {
        router.route("/", get(api::demo_page))
    } else {
        router
    };
    router
        .route("/widget.js", get(api::widget_js))
        .route("/widget.css", get(api::widget_css))
        .route("/agent", get(inbox::page))
        .route("/agent.js", get(inbox::script))
        .route("/agent.css", get(inbox::style))
        .route("/healthz", get(api::healthz))
        .route("/readyz", get(api::readyz))
        .route("/metrics", get(api::metrics))
        .fallback(api::not_found)
        .layer(axum::middleware::map_response(error::json_errors))
        .layer(axum::middleware::map_response_with_state(
            security,
            headers::add,
        ))
        .with_state(state)
}

fn cors(origins: &[String]) -> Option<CorsLayer> {
    if origins.is_empty() {
        return None;
    }
    let layer = CorsLayer::new()
        .allow_methods([Method::GET, Method::POST, Method::DELETE])
        .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE]);
    if origins.iter().any(|o| o == "*") {
        return Some(layer.allow_origin(AllowOrigin::any()));
    }
    let list: Vec<HeaderValue> = origins
        .iter()
        .filter_map(|o| HeaderValue::from_str(o.trim_end_matches('/')).ok())
        .collect();
    Some(layer.allow_origin(list))
}

/// The inbox's lines of `/metrics`: the queue now, agents online, and the counters.
async fn inbox_metrics_text(state: &AppState) -> String {
    use crate::store::agents::Filter;
    let inbox = state.shared().store.inbox();
    let waiting = inbox
        .handoffs(Filter::Waiting, 100_000)
        .await
        .ok()
        .map(|h| h.len());
    let assigned = inbox
        .handoffs(Filter::Assigned, 100_000)
        .await
        .ok()
        .map(|h| h.len());
    let online = inbox_live::online_agents(state).await.ok().map(|a| a.len());
    state
        .shared()
        .inbox
        .metrics
        .render(waiting, assigned, online)
}
