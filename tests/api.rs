//! The site-chat HTTP API (design §5) against a real server on 127.0.0.1, with a real
//! SQLite store: what the widget and integrators rely on, and how bad input is refused.

use destek::orders::{InMemoryOrders, today_utc};
use destek::store::sqlite::SqliteStore;
use destek::web::rate::{RateConfig, RateLimits};
use destek::web::{self, AppState, WebSettings};
use destek::{Bot, pack};
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

struct Server {
    base: String,
    client: reqwest::Client,
    db: PathBuf,
    _rt: tokio::runtime::Runtime,
}

impl Drop for Server {
    fn drop(&mut self) {
        for ext in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{ext}", self.db.display()));
        }
    }
}

fn bot() -> Bot {
    pack::compile(&pack::embedded(), &pack::Options::default())
        .bot
        .expect("default pack")
}

fn start(name: &str, rate: RateConfig, settings: WebSettings) -> Server {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let db = std::env::temp_dir().join(format!("destek-api-{name}-{}.db", std::process::id()));
    let store = SqliteStore::open(&db).expect("store");
    let state = AppState::new(
        bot(),
        store,
        Arc::new(InMemoryOrders::demo(today_utc())),
        RateLimits::new(rate),
        settings,
    );
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    rt.spawn(async move {
        let app = web::app(state).into_make_service_with_connect_info::<SocketAddr>();
        let _ = axum::serve(listener, app).await;
    });
    Server {
        base: format!("http://{addr}"),
        client: reqwest::Client::new(),
        db,
        _rt: rt,
    }
}

fn unlimited() -> RateConfig {
    RateConfig {
        per_ip_per_minute: 0,
        per_conversation_per_minute: 0,
    }
}

impl Server {
    fn run<F: std::future::Future>(&self, f: F) -> F::Output {
        self._rt.block_on(f)
    }

    fn post(&self, path: &str, token: Option<&str>, body: Value) -> (u16, Value) {
        self.run(async {
            let mut req = self.client.post(format!("{}{path}", self.base)).json(&body);
            if let Some(t) = token {
                req = req.bearer_auth(t);
            }
            let res = req.send().await.expect("request");
            let status = res.status().as_u16();
            (status, res.json().await.unwrap_or(Value::Null))
        })
    }

    fn get(&self, path: &str) -> (u16, String) {
        self.run(async {
            let res = self
                .client
                .get(format!("{}{path}", self.base))
                .send()
                .await
                .expect("request");
            (res.status().as_u16(), res.text().await.unwrap_or_default())
        })
    }

    fn conversation(&self, lang: &str) -> (String, String) {
        let (status, v) = self.post("/api/v1/conversations", None, json!({"lang": lang}));
        assert_eq!(status, 201, "{v}");
        (
            v["conversation_id"].as_str().expect("id").to_owned(),
            v["token"].as_str().expect("token").to_owned(),
        )
    }

    fn say(&self, id: &str, token: &str, text: &str) -> Value {
        let (status, v) = self.post(
            &format!("/api/v1/conversations/{id}/messages"),
            Some(token),
            json!({"text": text}),
        );
        assert_eq!(status, 200, "{v}");
        v
    }
}

fn reply_text(v: &Value) -> String {
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

#[test]
fn a_conversation_through_the_api_in_turkish_with_its_transcript() {
    let s = start("flow", unlimited(), WebSettings::default());
    let (id, token) = s.conversation("tr");
    let v = s.say(&id, &token, "slm");
    assert!(reply_text(&v).contains("Merhaba"), "{v}");
    assert!(
        !v["replies"][0]["buttons"]
            .as_array()
            .expect("buttons")
            .is_empty()
    );
    assert_eq!(v["handoff"], false);
    let v = s.say(&id, &token, "siparişim nerede 48213977");
    assert!(reply_text(&v).contains("son 4 hanesini"), "{v}");
    let v = s.say(&id, &token, "ayse.yilmaz@example.com");
    assert!(reply_text(&v).contains("Yurtiçi Kargo"), "{v}");

    let (status, body) = s.get(&format!(
        "/api/v1/conversations/{id}/transcript?token={token}"
    ));
    assert_eq!(status, 200);
    let t: Value = serde_json::from_str(&body).expect("json");
    let msgs = t["messages"].as_array().expect("messages");
    assert_eq!(msgs.len(), 7, "{t}");
    assert_eq!(msgs[0]["from"], "bot", "the welcome: {t}");
    assert_eq!(msgs[1]["from"], "customer");
    assert_eq!(msgs[1]["text"], "slm");
    assert_eq!(msgs[2]["from"], "bot");
    assert_eq!(t["lang"], "tr");
}

#[test]
fn a_button_payload_is_a_turn() {
    let s = start("button", unlimited(), WebSettings::default());
    let (id, token) = s.conversation("en");
    let (status, v) = s.post(
        &format!("/api/v1/conversations/{id}/messages"),
        Some(&token),
        json!({"payload": "intent:order_status", "label": "Where is my order?"}),
    );
    assert_eq!(status, 200);
    assert!(reply_text(&v).contains("order number"), "{v}");
    let (_, body) = s.get(&format!(
        "/api/v1/conversations/{id}/transcript?token={token}"
    ));
    let t: Value = serde_json::from_str(&body).expect("json");
    assert_eq!(
        t["messages"][1]["text"], "Where is my order?",
        "the transcript shows what the customer pressed"
    );
}

#[test]
fn bad_requests_get_a_4xx_with_a_reason() {
    let s = start("bad", unlimited(), WebSettings::default());
    let (id, token) = s.conversation("en");
    let path = format!("/api/v1/conversations/{id}/messages");

    let (status, v) = s.post(&path, Some("wrong"), json!({"text": "hi"}));
    assert_eq!((status, v["error"].as_str()), (401, Some("unauthorized")));
    let (status, v) = s.post(&path, None, json!({"text": "hi"}));
    assert_eq!((status, v["error"].as_str()), (401, Some("unauthorized")));
    let (status, v) = s.post(
        "/api/v1/conversations/nope/messages",
        Some(&token),
        json!({"text": "hi"}),
    );
    assert_eq!((status, v["error"].as_str()), (404, Some("not_found")));
    let (status, v) = s.post(&path, Some(&token), json!({"text": "a", "payload": "b"}));
    assert_eq!(status, 400, "{v}");
    let (status, v) = s.post(&path, Some(&token), json!({"txt": "typo"}));
    assert_eq!(status, 400, "{v}");
    assert!(
        v["detail"].as_str().is_some_and(|d| d.contains("txt")),
        "{v}"
    );
    let (status, v) = s.post("/api/v1/conversations", None, json!({"lang": "de"}));
    assert_eq!(status, 400, "{v}");

    let (status, v) = s.run(async {
        let res = s
            .client
            .post(format!("{}{path}", s.base))
            .bearer_auth(&token)
            .header("content-type", "application/json")
            .body("{not json")
            .send()
            .await
            .expect("request");
        (
            res.status().as_u16(),
            res.json::<Value>().await.unwrap_or(Value::Null),
        )
    });
    assert_eq!((status, v["error"].as_str()), (400, Some("bad_request")));

    let huge = "x".repeat(web::MAX_BODY_BYTES + 1);
    let (status, v) = s.post(&path, Some(&token), json!({"text": huge}));
    assert_eq!(
        (status, v["error"].as_str()),
        (413, Some("too_large")),
        "{v}"
    );

    let (status, body) = s.get("/api/v1/nothing-here");
    assert_eq!(status, 404);
    assert!(body.contains("not_found"));
}

#[test]
fn an_overlong_or_binary_message_gets_a_polite_reply() {
    let s = start("long", unlimited(), WebSettings::default());
    let (id, token) = s.conversation("en");
    let v = s.say(&id, &token, &"where is my order ".repeat(200));
    assert!(reply_text(&v).contains("too long"), "{v}");
    let v = s.say(&id, &token, "\u{0}\u{1}\u{2}\u{7f}");
    assert!(reply_text(&v).contains("only read text"), "{v}");
}

#[test]
fn rate_limits_per_conversation_and_per_ip() {
    let s = start(
        "rate",
        RateConfig {
            per_ip_per_minute: 0,
            per_conversation_per_minute: 3,
        },
        WebSettings::default(),
    );
    let (id, token) = s.conversation("en");
    for _ in 0..3 {
        s.say(&id, &token, "hello");
    }
    let (status, v) = s.post(
        &format!("/api/v1/conversations/{id}/messages"),
        Some(&token),
        json!({"text": "hello"}),
    );
    assert_eq!((status, v["error"].as_str()), (429, Some("rate_limited")));
    // Another conversation is not affected.
    let (id2, token2) = s.conversation("en");
    s.say(&id2, &token2, "hello");

    let s = start(
        "rate-ip",
        RateConfig {
            per_ip_per_minute: 2,
            per_conversation_per_minute: 0,
        },
        WebSettings::default(),
    );
    s.conversation("en");
    s.conversation("en");
    let (status, _) = s.post("/api/v1/conversations", None, json!({}));
    assert_eq!(status, 429);
}

#[test]
fn agent_endpoints_refuse_without_their_token() {
    let s = start(
        "agent",
        unlimited(),
        WebSettings {
            allowed_origins: Vec::new(),
            agent_token: Some("agent-secret".into()),
            ..WebSettings::default()
        },
    );
    let (id, token) = s.conversation("en");
    let path = format!("/api/v1/handoffs/{id}/messages");
    let (status, _) = s.post(&path, None, json!({"text": "hi"}));
    assert_eq!(status, 401);
    let (status, _) = s.post(&path, Some(&token), json!({"text": "hi"}));
    assert_eq!(status, 401, "a customer token is not an agent token");
    let (status, v) = s.post(&path, Some("agent-secret"), json!({"text": "hi"}));
    assert_eq!((status, v["error"].as_str()), (409, Some("not_handed_off")));

    // After a handoff the agent's reply lands in the transcript, and resolve ends it.
    let v = s.say(&id, &token, "talk to a human");
    assert_eq!(v["handoff"], true);
    let (status, _) = s.post(
        &path,
        Some("agent-secret"),
        json!({"text": "Hi, I'm Ayşe", "agent": "Ayşe"}),
    );
    assert_eq!(status, 200);
    let (_, body) = s.get(&format!(
        "/api/v1/conversations/{id}/transcript?token={token}"
    ));
    assert!(body.contains("Hi, I'm Ayşe"), "{body}");
    let (status, _) = s.post(
        &format!("/api/v1/handoffs/{id}/resolve"),
        Some("agent-secret"),
        json!({}),
    );
    assert_eq!(status, 200);
    let v = s.say(&id, &token, "hello");
    assert_eq!(v["handoff"], false);

    let s = start("agent-off", unlimited(), WebSettings::default());
    let (status, v) = s.post(
        "/api/v1/handoffs/x/messages",
        Some("anything"),
        json!({"text": "hi"}),
    );
    assert_eq!((status, v["error"].as_str()), (403, Some("disabled")));
}

#[test]
fn cors_allows_only_the_configured_origins() {
    let s = start(
        "cors",
        unlimited(),
        WebSettings {
            allowed_origins: vec!["https://shop.example".into()],
            ..WebSettings::default()
        },
    );
    let origin_of = |origin: &str| {
        s.run(async {
            let res = s
                .client
                .request(
                    reqwest::Method::OPTIONS,
                    format!("{}/api/v1/conversations", s.base),
                )
                .header("origin", origin)
                .header("access-control-request-method", "POST")
                .send()
                .await
                .expect("preflight");
            res.headers()
                .get("access-control-allow-origin")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        })
    };
    assert_eq!(
        origin_of("https://shop.example").as_deref(),
        Some("https://shop.example")
    );
    assert_eq!(origin_of("https://evil.example"), None);
}

#[test]
fn health_widget_and_demo_page_are_served() {
    let s = start("static", unlimited(), WebSettings::default());
    assert_eq!(s.get("/healthz"), (200, "ok".to_owned()));
    assert_eq!(s.get("/readyz"), (200, "ready".to_owned()));
    let (status, _) = s.get("/widget.js");
    assert_eq!(status, 200);
    let (status, _) = s.get("/");
    assert_eq!(status, 200);
}

#[test]
fn metrics_count_messages_fallbacks_and_handoffs() {
    let s = start("metrics", unlimited(), WebSettings::default());
    let (id, token) = s.conversation("en");
    s.say(&id, &token, "hello");
    s.say(&id, &token, "do you sell bicycles");
    s.say(&id, &token, "talk to a human");
    let (status, body) = s.get("/metrics");
    assert_eq!(status, 200);
    for line in [
        r#"destek_messages_total{channel="web",lang="en",intent="greeting"} 1"#,
        "destek_fallbacks_total 1",
        r#"destek_handoffs_total{reason="customer_request"} 1"#,
        "destek_turn_seconds_count 3",
        "destek_outbox_backlog 0",
    ] {
        assert!(body.contains(line), "missing {line} in:\n{body}");
    }
}
