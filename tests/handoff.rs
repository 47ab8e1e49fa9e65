//! Handoffs reach the human queue over a signed webhook and are never lost: a real receiver
//! on 127.0.0.1 that fails, hangs and comes back; a restart in the middle of retries; each
//! delivery id accepted once; messages while waiting; the agent's reply; the rating; the
//! agent named in the next handoff; business hours.

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use destek::handoff::hours::BusinessHours;
use destek::handoff::{WebhookSettings, outbox, signature};
use destek::orders::{InMemoryOrders, today_utc};
use destek::store::Store;
use destek::store::sqlite::SqliteStore;
use destek::web::rate::{RateConfig, RateLimits};
use destek::web::{self, AppState, WebSettings};
use destek::{Bot, pack};
use serde_json::{Value, json};
use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const SECRET: &str = "webhook-secret";
const AGENT: &str = "agent-token";

const OK: u8 = 0;
const FAIL: u8 = 1;
const HANG: u8 = 2;

/// The human queue: verifies every signature, accepts each delivery id once.
#[derive(Default)]
struct Receiver {
    mode: AtomicU8,
    attempts: Mutex<Vec<String>>,
    accepted: Mutex<Vec<Value>>,
    seen: Mutex<HashSet<String>>,
    bad_signatures: Mutex<u32>,
}

async fn receive(State(r): State<Arc<Receiver>>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let (delivery, ts, sig) = (
        header("x-destek-delivery"),
        header("x-destek-timestamp"),
        header("x-destek-signature"),
    );
    let body = String::from_utf8_lossy(&body).into_owned();
    if r.attempts
        .lock()
        .map(|mut a| a.push(delivery.clone()))
        .is_err()
    {
        return StatusCode::INTERNAL_SERVER_ERROR;
    }
    match r.mode.load(Ordering::SeqCst) {
        FAIL => return StatusCode::INTERNAL_SERVER_ERROR,
        HANG => {
            tokio::time::sleep(Duration::from_secs(5)).await;
            return StatusCode::OK;
        }
        _ => {}
    }
    let expected = ts
        .parse::<i64>()
        .map(|t| signature(SECRET, t, &body))
        .unwrap_or_default();
    if expected != sig {
        if let Ok(mut n) = r.bad_signatures.lock() {
            *n += 1;
        }
        return StatusCode::UNAUTHORIZED;
    }
    let first_time = r.seen.lock().is_ok_and(|mut s| s.insert(delivery));
    if first_time
        && let (Ok(v), Ok(mut a)) = (serde_json::from_str::<Value>(&body), r.accepted.lock())
    {
        a.push(v);
    }
    StatusCode::OK
}

struct Setup {
    rt: tokio::runtime::Runtime,
    receiver: Arc<Receiver>,
    settings: WebhookSettings,
    db: std::path::PathBuf,
}

impl Drop for Setup {
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

fn setup(name: &str) -> Setup {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let receiver = Arc::new(Receiver::default());
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let app = Router::new()
        .route("/hook", post(receive))
        .with_state(Arc::clone(&receiver));
    rt.spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Setup {
        rt,
        receiver,
        settings: WebhookSettings {
            url: format!("http://{addr}/hook"),
            secret: SECRET.into(),
            timeout: Duration::from_millis(300),
        },
        db: std::env::temp_dir().join(format!("destek-handoff-{name}-{}.db", std::process::id())),
    }
}

/// A destek server on its own port over the setup's database.
struct Destek {
    base: String,
    store: Arc<SqliteStore>,
}

impl Setup {
    fn destek(&self, hours: Option<BusinessHours>) -> Destek {
        let store = SqliteStore::open(&self.db).expect("store");
        let state = AppState::new(
            bot(),
            store.clone(),
            Arc::new(InMemoryOrders::demo(today_utc())),
            RateLimits::new(RateConfig {
                per_ip_per_minute: 0,
                per_conversation_per_minute: 0,
            }),
            WebSettings {
                allowed_origins: Vec::new(),
                agent_token: Some(AGENT.into()),
                webhook: Some(self.settings.clone()),
                hours,
                wait_minutes: 7,
                ..WebSettings::default()
            },
        );
        let listener = self
            .rt
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        self.rt.spawn(async move {
            let app = web::app(state).into_make_service_with_connect_info::<SocketAddr>();
            let _ = axum::serve(listener, app).await;
        });
        Destek {
            base: format!("http://{addr}"),
            store,
        }
    }

    fn post(&self, url: String, token: &str, body: Value) -> Value {
        self.rt.block_on(async {
            let res = reqwest::Client::new()
                .post(url)
                .bearer_auth(token)
                .json(&body)
                .send()
                .await
                .expect("request");
            assert!(res.status().is_success(), "{}", res.status());
            res.json().await.expect("json")
        })
    }

    fn conversation(&self, d: &Destek, lang: &str) -> (String, String) {
        let v: Value = self.rt.block_on(async {
            reqwest::Client::new()
                .post(format!("{}/api/v1/conversations", d.base))
                .json(&json!({"lang": lang}))
                .send()
                .await
                .expect("create")
                .json()
                .await
                .expect("json")
        });
        (
            v["conversation_id"].as_str().expect("id").to_owned(),
            v["token"].as_str().expect("token").to_owned(),
        )
    }

    fn say(&self, d: &Destek, id: &str, token: &str, text: &str) -> Value {
        self.post(
            format!("{}/api/v1/conversations/{id}/messages", d.base),
            token,
            json!({"text": text}),
        )
    }

    /// One delivery pass, as the server's loop makes it.
    fn pass(&self, store: &dyn Store) -> usize {
        self.rt
            .block_on(outbox::pass(store, &reqwest::Client::new(), &self.settings))
    }

    fn accepted(&self) -> Vec<Value> {
        self.receiver
            .accepted
            .lock()
            .map(|a| a.clone())
            .unwrap_or_default()
    }
}

fn text(v: &Value) -> String {
    v["replies"]
        .as_array()
        .map(|r| {
            r.iter()
                .filter_map(|x| x["text"].as_str())
                .collect::<Vec<_>>()
                .join("\n")
        })
        .unwrap_or_default()
}

#[test]
fn a_handoff_survives_a_failing_hanging_receiver_and_a_restart_and_arrives_once() {
    let s = setup("retries");
    let first = s.destek(None);
    let (id, token) = s.conversation(&first, "en");
    s.say(&first, &id, &token, "where is my order 48213977");
    let v = s.say(&first, &id, &token, "this is useless, get me a real person");
    assert_eq!(v["handoff"], true);
    assert!(text(&v).contains("about 7 minutes"), "{v}");

    s.receiver.mode.store(FAIL, Ordering::SeqCst);
    assert_eq!(s.pass(first.store.as_ref()), 0);
    s.receiver.mode.store(HANG, Ordering::SeqCst);
    s.rt.block_on(first.store.retry_deliveries(None))
        .expect("retry");
    assert_eq!(s.pass(first.store.as_ref()), 0);
    let pending =
        s.rt.block_on(first.store.deliveries(true, 10))
            .expect("list");
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].attempts, 2);
    assert_eq!(pending[0].last_error.as_deref(), Some("timed out"));
    assert!(
        pending[0].next_attempt_at > destek::store::now_ms(),
        "backed off"
    );

    let backoff_until = pending[0].next_attempt_at;

    // Restart: a new store and server over the same database; the receiver is back.
    drop(first);
    let second = s.destek(None);
    s.receiver.mode.store(OK, Ordering::SeqCst);
    // The backoff is kept in the database, so it outlives the restart. (Starting the second
    // server compiles the pack, which on a loaded machine can take longer than the backoff
    // itself: the pass below is only sure to find nothing due while the backoff runs.)
    let after_restart =
        s.rt.block_on(second.store.deliveries(true, 10))
            .expect("list");
    assert_eq!(after_restart.len(), 1);
    assert_eq!(
        after_restart[0].next_attempt_at, backoff_until,
        "the backoff survives the restart"
    );
    if destek::store::now_ms() + 500 < backoff_until {
        assert_eq!(
            s.pass(second.store.as_ref()),
            0,
            "not due yet: backoff holds"
        );
    }
    s.rt.block_on(second.store.retry_deliveries(None))
        .expect("retry");
    assert_eq!(s.pass(second.store.as_ref()), 1);
    assert_eq!(s.pass(second.store.as_ref()), 0, "delivered once");

    let attempts = s
        .receiver
        .attempts
        .lock()
        .map(|a| a.clone())
        .unwrap_or_default();
    assert_eq!(attempts.len(), 3);
    assert!(
        attempts.iter().all(|d| *d == attempts[0]),
        "the same delivery id on every retry"
    );
    assert_eq!(
        s.receiver.bad_signatures.lock().map(|n| *n).unwrap_or(99),
        0
    );
    let accepted = s.accepted();
    assert_eq!(accepted.len(), 1);
    let e = &accepted[0];
    assert_eq!(e["event"], "handoff.created");
    assert_eq!(e["conversation_id"], id.as_str());
    assert_eq!(e["reason"], "customer_request");
    assert_eq!(e["order_id"], "48213977");
    assert_eq!(e["handoff_id"], format!("{id}.1").as_str());
    let transcript = e["transcript"].as_array().expect("transcript");
    // The welcome first, then the customer's first message.
    assert_eq!(transcript[0]["from"], "bot");
    assert_eq!(transcript[1]["text"], "where is my order 48213977");
    assert!(transcript.iter().any(|m| m["from"] == "bot"));
}

#[test]
fn while_waiting_then_agent_then_rating_then_the_agent_is_named_next_time() {
    let s = setup("lifecycle");
    let d = s.destek(None);
    let (id, token) = s.conversation(&d, "tr");
    let v = s.say(&d, &id, &token, "müşteri temsilcisine bağlanmak istiyorum");
    assert_eq!(v["handoff"], true);
    let v = s.say(&d, &id, &token, "ne kadar sürer?");
    assert_eq!(v["handoff"], true);
    assert!(text(&v).contains("kısa süre"), "{v}");
    s.pass(d.store.as_ref());
    let events: Vec<String> = s
        .accepted()
        .iter()
        .map(|e| e["event"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(events, ["handoff.created", "handoff.message"]);
    assert_eq!(s.accepted()[1]["transcript"][0]["text"], "ne kadar sürer?");

    let handoff_id = s.accepted()[0]["handoff_id"]
        .as_str()
        .expect("id")
        .to_owned();
    s.post(
        format!("{}/api/v1/handoffs/{handoff_id}/messages", d.base),
        AGENT,
        json!({"text": "Merhaba, ben Ayşe. Hemen bakıyorum.", "agent": "Ayşe"}),
    );
    let r = s.post(
        format!("{}/api/v1/handoffs/{handoff_id}/resolve", d.base),
        AGENT,
        json!({}),
    );
    assert_eq!(r["resolved"], true);
    let v = s.say(&d, &id, &token, "5");
    assert!(
        text(&v).contains("Geri bildiriminiz için teşekkürler"),
        "{v}"
    );
    assert_eq!(v["handoff"], false);
    s.say(&d, &id, &token, "yine bir temsilci istiyorum");
    s.pass(d.store.as_ref());
    let accepted = s.accepted();
    let rated = accepted
        .iter()
        .find(|e| e["event"] == "handoff.rated")
        .expect("rated");
    assert_eq!(rated["rating"], 5);
    assert_eq!(rated["customer"]["previous_agent"], "Ayşe");
    let second = accepted
        .iter()
        .filter(|e| e["event"] == "handoff.created")
        .nth(1)
        .expect("a second handoff");
    assert_eq!(second["customer"]["previous_agent"], "Ayşe");
    assert_eq!(second["handoff_id"], format!("{id}.2").as_str());
}

#[test]
fn outside_business_hours_the_customer_hears_when_a_person_will_answer() {
    let s = setup("hours");
    let today = today_utc();
    let days: Vec<(String, String)> = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
        .iter()
        .map(|d| ((*d).to_owned(), "09:00-10:00".to_owned()))
        .collect();
    let holidays: Vec<String> = (0..2)
        .filter_map(|n| today.checked_add(jiff::Span::new().days(n)).ok())
        .map(|d| d.to_string())
        .collect();
    let hours = BusinessHours::parse("UTC", &days, &holidays, 5).expect("hours");
    let d = s.destek(Some(hours));
    let (id, token) = s.conversation(&d, "en");
    let v = s.say(&d, &id, &token, "talk to a human");
    assert_eq!(v["handoff"], true);
    let said = text(&v);
    assert!(said.contains("offline right now"), "{said}");
    assert!(said.contains("at 09:00"), "{said}");
}
