//! A real server on 127.0.0.1 with a real SQLite store, for the tests that attack it.

#![allow(dead_code)]

use destek::orders::{InMemoryOrders, today_utc};
use destek::store::sqlite::SqliteStore;
use destek::web::rate::{RateConfig, RateLimits};
use destek::web::{self, AppState, WebSettings};
use destek::{Bot, pack};
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

pub const AGENT: &str = "agent-secret";

pub struct Server {
    pub base: String,
    pub addr: SocketAddr,
    pub http: reqwest::Client,
    pub state: AppState,
    db: PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        for ext in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{ext}", self.db.display()));
        }
    }
}

pub fn bot() -> Bot {
    pack::compile(&pack::embedded(), &pack::Options::default())
        .bot
        .expect("default pack")
}

pub fn unlimited() -> RateConfig {
    RateConfig {
        per_ip_per_minute: 0,
        per_conversation_per_minute: 0,
    }
}

pub fn with_agent() -> WebSettings {
    WebSettings {
        agent_token: Some(AGENT.into()),
        ..WebSettings::default()
    }
}

/// Starts a server on the current (multi-threaded) runtime.
pub async fn start(name: &str, rate: RateConfig, settings: WebSettings) -> Server {
    let orders = Arc::new(InMemoryOrders::demo(today_utc()));
    start_with(name, bot(), orders, rate, settings).await
}

/// Starts a server with this bot and order backend.
pub async fn start_with(
    name: &str,
    bot: Bot,
    orders: Arc<dyn destek::orders::OrderBackend>,
    rate: RateConfig,
    settings: WebSettings,
) -> Server {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or_default();
    let db = std::env::temp_dir().join(format!(
        "destek-attack-{name}-{}-{nanos}.db",
        std::process::id()
    ));
    let store = SqliteStore::open(&db).expect("store");
    let state = AppState::new(bot, store, orders, RateLimits::new(rate), settings);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let app = web::app(state.clone()).into_make_service_with_connect_info::<SocketAddr>();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Server {
        base: format!("http://{addr}"),
        addr,
        http: reqwest::Client::new(),
        state,
        db,
    }
}

impl Server {
    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> (u16, Value) {
        let mut req = self.http.post(format!("{}{path}", self.base)).json(&body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let res = req.send().await.expect("request");
        let status = res.status().as_u16();
        (status, res.json().await.unwrap_or(Value::Null))
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> (u16, Value) {
        let mut req = self.http.get(format!("{}{path}", self.base));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let res = req.send().await.expect("request");
        let status = res.status().as_u16();
        (status, res.json().await.unwrap_or(Value::Null))
    }

    pub async fn conversation(&self) -> (String, String) {
        self.conversation_in("en").await
    }

    /// A new widget conversation in `lang`: its id and token.
    pub async fn conversation_in(&self, lang: &str) -> (String, String) {
        let (status, v) = self
            .post("/api/v1/conversations", None, json!({"lang": lang}))
            .await;
        assert_eq!(status, 201, "{v}");
        (
            v["conversation_id"].as_str().expect("id").to_owned(),
            v["token"].as_str().expect("token").to_owned(),
        )
    }

    pub async fn say(&self, id: &str, token: &str, text: &str) -> (u16, Value) {
        self.post(
            &format!("/api/v1/conversations/{id}/messages"),
            Some(token),
            json!({"text": text}),
        )
        .await
    }

    /// The bot's answer to `text` (the texts of its replies), asserting a 200.
    pub async fn reply(&self, id: &str, token: &str, text: &str) -> String {
        let (status, v) = self.say(id, token, text).await;
        assert_eq!(status, 200, "{v}");
        reply_text(&v)
    }

    /// The bot's answer to a button press, asserting a 200.
    pub async fn press(&self, id: &str, token: &str, payload: &str) -> String {
        let (status, v) = self
            .post(
                &format!("/api/v1/conversations/{id}/messages"),
                Some(token),
                json!({"payload": payload}),
            )
            .await;
        assert_eq!(status, 200, "{v}");
        reply_text(&v)
    }

    /// A conversation that said `ask` and proved it owns `order` with `email`.
    pub async fn verified(&self, ask: &str, email: &str, order: &str) -> (String, String) {
        let (id, token) = self.conversation().await;
        let (status, v) = self.say(&id, &token, ask).await;
        assert_eq!(status, 200, "{v}");
        let (status, v) = self.say(&id, &token, email).await;
        assert_eq!(status, 200, "{v}");
        let stored = self
            .state
            .shared()
            .store
            .load(&id)
            .await
            .expect("load")
            .expect("conversation");
        assert_eq!(
            stored.state.verified_order.as_deref(),
            Some(order),
            "verification failed: {v}"
        );
        (id, token)
    }

    /// Every message of the conversation's transcript.
    pub async fn transcript(&self, id: &str, token: &str) -> Vec<Value> {
        let (status, v) = self
            .get(
                &format!("/api/v1/conversations/{id}/transcript"),
                Some(token),
            )
            .await;
        assert_eq!(status, 200, "{v}");
        v["messages"].as_array().cloned().unwrap_or_default()
    }

    pub async fn resolve(&self, id: &str) -> u16 {
        self.post(
            &format!("/api/v1/handoffs/{id}/resolve"),
            Some(AGENT),
            json!({}),
        )
        .await
        .0
    }

    pub async fn agent_says(&self, id: &str, text: &str) -> u16 {
        self.post(
            &format!("/api/v1/handoffs/{id}/messages"),
            Some(AGENT),
            json!({"text": text, "agent": "Ayşe"}),
        )
        .await
        .0
    }
}

pub fn reply_text(v: &Value) -> String {
    v["replies"]
        .as_array()
        .map(|rs| {
            rs.iter()
                .filter_map(|r| r["text"].as_str())
                .collect::<Vec<_>>()
                .join("\n")
        })
        .unwrap_or_default()
}
