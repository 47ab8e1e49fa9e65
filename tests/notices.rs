//! Proactive notices end to end: the order events API (auth, idempotency, bad input), who
//! hears a notice (only conversations that verified the order), the widget's live socket
//! and transcript, a Telegram chat through the fake Bot API (an outage delays, quiet hours
//! postpone), opt-out and the daily limit. Restarts and replicas: `notices_durable.rs`.
//! Real servers on 127.0.0.1 and real SQLite stores; every wait has a deadline.

#[path = "support/fake_telegram.rs"]
mod fake_telegram;
#[path = "support/server.rs"]
mod server;

use destek::notices::Settings;
use destek::notices::settings::QuietHours;
use destek::store::notices::{Notice, Stage};
use destek::telegram::{self, Mode};
use destek::web::{self, AppState, WebSettings};
use fake_telegram::{FakeTelegram, TOKEN};
use futures_util::StreamExt;
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Message as WsMessage;

const EVENTS: &str = "events-token-for-tests";
const WAIT: Duration = Duration::from_secs(10);
const ORDER: &str = "48213977";
const EMAIL: &str = "ayse.yilmaz@example.com";

fn settings() -> Settings {
    Settings {
        events_token: Some(EVENTS.into()),
        ..Settings::default()
    }
}

async fn start(name: &str, notices: Settings) -> server::Server {
    server::start(
        name,
        server::unlimited(),
        WebSettings {
            notices,
            ..WebSettings::default()
        },
    )
    .await
}

async fn event(
    s: &server::Server,
    order: &str,
    token: Option<&str>,
    key: Option<&str>,
    body: Value,
) -> (u16, Value) {
    let mut req = s
        .http
        .post(format!("{}/api/v1/orders/{order}/events", s.base))
        .json(&body);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if let Some(k) = key {
        req = req.header("Idempotency-Key", k);
    }
    let res = req.send().await.expect("request");
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

/// A conversation that proved it owns `order` with the order's e-mail.
async fn verified(s: &server::Server, order: &str, email: &str) -> (String, String) {
    s.verified(&format!("where is my order {order}"), email, order)
        .await
}

async fn transcript(s: &server::Server, id: &str, token: &str) -> Vec<Value> {
    s.transcript(id, token).await
}

fn bot_texts(messages: &[Value], fragment: &str) -> Vec<String> {
    messages
        .iter()
        .filter(|m| m["from"] == "bot")
        .filter_map(|m| m["text"].as_str())
        .filter(|t| t.contains(fragment))
        .map(str::to_owned)
        .collect()
}

async fn all_notices(state: &AppState) -> Vec<Notice> {
    state
        .shared()
        .store
        .notices()
        .expect("the store keeps notices")
        .notices(false, 100)
        .await
        .expect("notices")
}

async fn metrics(s: &server::Server) -> String {
    s.http
        .get(format!("{}/metrics", s.base))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text")
}

/// Delivers what is due, as the server's loop does every 250 ms.
async fn deliver(state: &AppState) -> usize {
    destek::notices::deliver::pass(state).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_events_api_is_off_without_a_token_and_checks_every_request() {
    let off = start("notices-off", Settings::default()).await;
    let (status, v) = event(&off, ORDER, Some(EVENTS), None, json!({"event": "shipped"})).await;
    assert_eq!(status, 403, "{v}");
    assert_eq!(v["error"], "disabled");

    let s = start("notices-auth", settings()).await;
    let shipped = json!({"event": "shipped"});
    let (status, v) = event(&s, ORDER, None, None, shipped.clone()).await;
    assert_eq!((status, v["error"].as_str()), (401, Some("unauthorized")));
    let (status, _) = event(&s, ORDER, Some("events-token-for-test"), None, shipped).await;
    assert_eq!(status, 401, "a token one character short is refused");

    let (status, v) = event(&s, ORDER, Some(EVENTS), None, json!({"event": "lost"})).await;
    assert_eq!(status, 400);
    assert!(
        v["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("out_for_delivery"),
        "{v}"
    );
    let (status, v) = event(
        &s,
        ORDER,
        Some(EVENTS),
        None,
        json!({"event": "shipped", "tracking_url": "javascript:alert(1)"}),
    )
    .await;
    assert_eq!(status, 400, "{v}");
    assert!(
        v["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("tracking_url")
    );
    let (status, v) = event(
        &s,
        ORDER,
        Some(EVENTS),
        None,
        json!({"event": "delayed", "estimated_delivery": "soon"}),
    )
    .await;
    assert_eq!(status, 400, "{v}");
    let (status, v) = event(
        &s,
        ORDER,
        Some(EVENTS),
        None,
        json!({"event": "shipped", "tracking_link": "https://x.example"}),
    )
    .await;
    assert_eq!(status, 400, "an unknown field is named, not ignored: {v}");

    // Nobody verified this order (nobody could: it does not exist).
    let (status, v) = event(
        &s,
        "99999999",
        Some(EVENTS),
        None,
        json!({"event": "delayed", "event_id": "e-1"}),
    )
    .await;
    assert_eq!(status, 202, "{v}");
    assert_eq!(v["notified"], 0);
    assert!(all_notices(&s.state).await.is_empty());
    assert!(
        metrics(&s)
            .await
            .contains(r#"destek_notices_skipped_total{reason="no_conversation"} 1"#)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_conversation_that_verified_the_order_hears_it_live_and_in_its_transcript() {
    let s = start("notices-widget", settings()).await;
    let (a, a_token) = verified(&s, ORDER, EMAIL).await;
    // Verified another order, and verified nothing: neither may hear of this one.
    let (b, b_token) = verified(&s, "SP-77410", "mehmet.kaya@example.com").await;
    let (c, c_token) = s.conversation().await;
    s.say(&c, &c_token, "hello").await;

    let url = format!(
        "ws://{}/api/v1/conversations/{a}/ws?token={a_token}",
        s.addr
    );
    let (mut ws, _) = tokio_tungstenite::connect_async(url)
        .await
        .expect("websocket");

    let body = json!({
        "event": "delayed",
        "event_id": "wh-1001",
        "estimated_delivery": "2026-12-24",
        "note": "snow in Erzurum",
    });
    let (status, v) = event(&s, ORDER, Some(EVENTS), None, body.clone()).await;
    assert_eq!((status, v["notified"].as_i64()), (202, Some(1)), "{v}");
    // The same event again (a retried webhook): nobody is told twice.
    let (status, v) = event(&s, ORDER, Some(EVENTS), None, body).await;
    assert_eq!((status, v["notified"].as_i64()), (202, Some(1)), "{v}");
    assert_eq!(v["duplicate"], true);
    assert_eq!(deliver(&s.state).await, 1);

    // Live, as an ordinary bot message the widget already shows.
    let frame = tokio::time::timeout(WAIT, async {
        loop {
            match ws.next().await {
                Some(Ok(WsMessage::Text(t))) => {
                    let v: Value = serde_json::from_str(&t).expect("json");
                    if v["notice"] == true {
                        break v;
                    }
                }
                Some(Ok(_)) => continue,
                other => panic!("socket closed: {other:?}"),
            }
        }
    })
    .await
    .expect("the notice arrives over the socket");
    assert_eq!(frame["type"], "replies");
    let text = frame["replies"][0]["text"].as_str().unwrap_or_default();
    assert!(text.contains("running late"), "{text}");
    assert!(text.contains("sorry"), "an apology for the delay: {text}");
    assert!(
        text.contains("24 December 2026"),
        "the new estimate: {text}"
    );
    let payloads: Vec<&str> = frame["replies"][0]["buttons"]
        .as_array()
        .map(|b| b.iter().filter_map(|b| b["payload"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(payloads, ["intent:order_status", "intent:human_agent"]);

    // In the transcript, once, with its buttons.
    let messages = transcript(&s, &a, &a_token).await;
    assert_eq!(bot_texts(&messages, "running late"), [text]);
    let last = messages.last().expect("messages");
    assert_eq!(last["buttons"].as_array().map(Vec::len), Some(2));
    // Nobody else heard a word of it.
    for (id, token) in [(&b, &b_token), (&c, &c_token)] {
        assert!(bot_texts(&transcript(&s, id, token).await, "running late").is_empty());
    }
    let notices = all_notices(&s.state).await;
    assert_eq!(notices.len(), 1);
    assert_eq!(notices[0].conversation_id, a);
    assert_eq!(notices[0].stage, Stage::Sent);

    // The button goes straight to the order: no number, no verification asked again.
    let (status, v) = s
        .post(
            &format!("/api/v1/conversations/{a}/messages"),
            Some(&a_token),
            json!({"payload": "intent:order_status", "label": "Ask about this order"}),
        )
        .await;
    assert_eq!(status, 200);
    let reply = server::reply_text(&v);
    assert!(
        !reply.contains("order number") && !reply.contains("last 4 digits"),
        "{reply}"
    );
    assert!(
        reply.contains(ORDER) || reply.contains("shipped"),
        "{reply}"
    );
    let m = metrics(&s).await;
    assert!(
        m.contains(r#"destek_notices_sent_total{channel="web",event="delayed"} 1"#),
        "{m}"
    );
    assert!(m.contains("destek_notice_replies_total 1"), "{m}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idempotency_key_notifies_once_and_a_reused_key_is_a_conflict() {
    let s = start("notices-idem", settings()).await;
    let (a, token) = verified(&s, ORDER, EMAIL).await;
    // No fields from the event: the order backend's tracking link and estimate fill in.
    let shipped = json!({"event": "shipped"});
    for _ in 0..2 {
        let (status, v) = event(&s, ORDER, Some(EVENTS), Some("k-77"), shipped.clone()).await;
        assert_eq!((status, v["notified"].as_i64()), (202, Some(1)), "{v}");
    }
    let (status, v) = event(
        &s,
        ORDER,
        Some(EVENTS),
        Some("k-77"),
        json!({"event": "delayed"}),
    )
    .await;
    assert_eq!(
        (status, v["error"].as_str()),
        (409, Some("idempotency_conflict"))
    );
    deliver(&s.state).await;
    deliver(&s.state).await;
    let said = bot_texts(&transcript(&s, &a, &token).await, "has shipped");
    assert_eq!(said.len(), 1, "{said:?}");
    assert!(said[0].contains("https://track.example/"), "{}", said[0]);
    assert!(
        !said[0].contains('—') && !said[0].contains('{'),
        "{}",
        said[0]
    );

    // An order with no tracking link anywhere: a variant without one, never a gap.
    let (b, b_token) = verified(&s, "SP-77410", "mehmet.kaya@example.com").await;
    let (status, _) = event(&s, "SP-77410", Some(EVENTS), None, shipped).await;
    assert_eq!(status, 202);
    deliver(&s.state).await;
    let said = bot_texts(&transcript(&s, &b, &b_token).await, "has shipped");
    assert_eq!(said.len(), 1, "{said:?}");
    assert!(
        !said[0].contains("track.example") && !said[0].contains('—'),
        "{}",
        said[0]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_opts_out_for_good_and_ordinary_words_do_not() {
    let s = start("notices-optout", settings()).await;
    let (a, token) = verified(&s, ORDER, EMAIL).await;
    let (d, d_token) = verified(&s, ORDER, EMAIL).await;
    let shipped = |id: &str| json!({"event": "shipped", "event_id": id});
    event(&s, ORDER, Some(EVENTS), None, shipped("s-1")).await;
    deliver(&s.state).await;
    assert_eq!(
        bot_texts(&transcript(&s, &a, &token).await, "has shipped").len(),
        1
    );

    let (_, v) = s.say(&a, &token, "please stop sending these").await;
    assert!(
        server::reply_text(&v).contains("won't send you order updates"),
        "{v}"
    );
    // Words that mean something else in an ordinary conversation opt nobody out.
    let (_, v) = s.say(&d, &d_token, "stop my order from being late").await;
    assert!(
        !server::reply_text(&v).contains("won't send you order updates"),
        "{v}"
    );

    // Kept: more talk, then more events, and still nothing for `a`.
    s.say(&a, &token, "hello").await;
    for id in ["o-1", "d-1"] {
        let body = json!({"event": if id == "o-1" {"out_for_delivery"} else {"delivered"}, "event_id": id});
        let (status, v) = event(&s, ORDER, Some(EVENTS), None, body).await;
        assert_eq!((status, v["notified"].as_i64()), (202, Some(2)), "{v}");
    }
    deliver(&s.state).await;
    let a_said = transcript(&s, &a, &token).await;
    assert!(bot_texts(&a_said, "out for delivery").is_empty());
    assert!(bot_texts(&a_said, "has been delivered").is_empty());
    let d_said = transcript(&s, &d, &d_token).await;
    assert_eq!(bot_texts(&d_said, "out for delivery").len(), 1);
    assert_eq!(bot_texts(&d_said, "has been delivered").len(), 1);
    let skipped: Vec<Notice> = all_notices(&s.state)
        .await
        .into_iter()
        .filter(|n| n.stage == Stage::Skipped)
        .collect();
    assert_eq!(skipped.len(), 2);
    assert!(
        skipped
            .iter()
            .all(|n| n.conversation_id == a && n.reason.as_deref() == Some("opted_out"))
    );
    assert!(
        metrics(&s)
            .await
            .contains(r#"destek_notices_skipped_total{reason="opted_out"} 2"#)
    );

    // "start" as the whole message turns them back on.
    let (_, v) = s.say(&a, &token, "start").await;
    assert!(
        server::reply_text(&v).contains("let you know here again"),
        "{v}"
    );
    let (_, v) = event(
        &s,
        ORDER,
        Some(EVENTS),
        None,
        json!({"event": "refund_issued", "event_id": "r-1"}),
    )
    .await;
    assert_eq!(v["notified"], 2, "{v}");
    deliver(&s.state).await;
    assert_eq!(
        bot_texts(&transcript(&s, &a, &token).await, "refunded").len(),
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_most_the_daily_limit_reaches_one_conversation() {
    let s = start(
        "notices-limit",
        Settings {
            max_per_day: 2,
            ..settings()
        },
    )
    .await;
    let (a, token) = verified(&s, ORDER, EMAIL).await;
    for (id, kind) in [
        ("1", "shipped"),
        ("2", "out_for_delivery"),
        ("3", "delivered"),
    ] {
        event(
            &s,
            ORDER,
            Some(EVENTS),
            None,
            json!({"event": kind, "event_id": id}),
        )
        .await;
    }
    deliver(&s.state).await;
    let said = transcript(&s, &a, &token).await;
    assert_eq!(bot_texts(&said, "has shipped").len(), 1);
    assert_eq!(bot_texts(&said, "out for delivery").len(), 1);
    assert!(bot_texts(&said, "has been delivered").is_empty());
    let reasons: Vec<Option<String>> = all_notices(&s.state)
        .await
        .into_iter()
        .filter(|n| n.stage == Stage::Skipped)
        .map(|n| n.reason)
        .collect();
    assert_eq!(reasons, [Some("daily_limit".to_owned())]);
}

/// A server with the Telegram channel against the fake Bot API.
struct Telegram {
    fake: FakeTelegram,
    state: AppState,
    base: String,
    http: reqwest::Client,
    _running: telegram::Running,
    db: std::path::PathBuf,
}

impl Drop for Telegram {
    fn drop(&mut self) {
        for ext in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{ext}", self.db.display()));
        }
    }
}

async fn telegram_server(name: &str, notices: Settings) -> Telegram {
    let db = std::env::temp_dir().join(format!("destek-notices-{name}-{}.db", std::process::id()));
    for ext in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{ext}", db.display()));
    }
    let store = destek::store::sqlite::SqliteStore::open(&db).expect("store");
    let state = AppState::new(
        server::bot(),
        store,
        std::sync::Arc::new(destek::orders::InMemoryOrders::demo(
            destek::orders::today_utc(),
        )),
        destek::web::rate::RateLimits::new(server::unlimited()),
        WebSettings {
            notices,
            ..WebSettings::default()
        },
    );
    let fake = FakeTelegram::start().await;
    let mut settings = telegram::Settings::new(TOKEN);
    settings.api_url = Some(fake.url.clone());
    settings.mode = Mode::Polling;
    settings.poll_timeout_secs = 1;
    let running = telegram::start(state.clone(), &settings)
        .await
        .expect("telegram channel starts");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let app = web::app(state.clone()).into_make_service_with_connect_info::<SocketAddr>();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Telegram {
        fake,
        state,
        base: format!("http://{addr}"),
        http: reqwest::Client::new(),
        _running: running,
        db,
    }
}

impl Telegram {
    /// Waits (with a deadline) for a message to `chat` containing `fragment`.
    async fn expect(&self, chat: i64, fragment: &str) -> fake_telegram::Sent {
        let deadline = Instant::now() + WAIT;
        loop {
            let sent = self.fake.sent_to(chat);
            if let Some(s) = sent.iter().find(|s| s.text.contains(fragment)) {
                return s.clone();
            }
            assert!(
                Instant::now() < deadline,
                "chat {chat}: nothing containing {fragment:?}; got {:#?}",
                sent.iter().map(|s| &s.text).collect::<Vec<_>>()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    async fn say(&self, chat: i64, text: &str, fragment: &str) {
        self.fake.push(json!({"message": {
            "message_id": 1, "date": 1_700_000_000, "text": text,
            "chat": {"id": chat, "type": "private", "first_name": "Customer"},
            "from": {"id": chat, "is_bot": false, "first_name": "Customer", "language_code": "en"},
        }}));
        self.expect(chat, fragment).await;
    }

    async fn event(&self, body: Value) -> Value {
        let res = self
            .http
            .post(format!("{}/api/v1/orders/{ORDER}/events", self.base))
            .bearer_auth(EVENTS)
            .json(&body)
            .send()
            .await
            .expect("request");
        assert_eq!(res.status().as_u16(), 202);
        res.json().await.expect("json")
    }

    fn count(&self, chat: i64, fragment: &str) -> usize {
        self.fake
            .sent_to(chat)
            .iter()
            .filter(|s| s.text.contains(fragment))
            .count()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_telegram_chat_receives_the_notice_and_an_outage_only_delays_it() {
    let t = telegram_server("tg", settings()).await;
    let chat = 4242;
    t.say(chat, &format!("where is my order {ORDER}"), "last 4 digits")
        .await;
    t.say(chat, EMAIL, "shipped").await;

    let v = t
        .event(json!({"event": "out_for_delivery", "tracking_url": "https://track.example/yk1"}))
        .await;
    assert_eq!(v["notified"], 1);
    deliver(&t.state).await;
    let sent = t.expect(chat, "out for delivery").await;
    assert!(
        sent.text.contains("https://track.example/yk1"),
        "{}",
        sent.text
    );
    let labels: Vec<String> = sent.buttons().into_iter().map(|(l, _)| l).collect();
    assert_eq!(labels, ["Ask about this order", "Talk to a person"]);

    // Telegram goes down: the notice waits in the transcript and is retried.
    t.fake.set_down(true);
    t.event(json!({"event": "delayed", "estimated_delivery": "2026-12-30"}))
        .await;
    deliver(&t.state).await;
    assert!(t.fake.refused_down() >= 1);
    assert_eq!(t.count(chat, "running late"), 0);
    let waiting: Vec<Notice> = all_notices(&t.state)
        .await
        .into_iter()
        .filter(|n| n.stage == Stage::Written)
        .collect();
    assert_eq!(waiting.len(), 1, "in the transcript, push pending");
    assert!(
        waiting[0].reason.is_some(),
        "the error is kept for operators"
    );
    t.fake.set_down(false);
    let deadline = Instant::now() + WAIT;
    while t.count(chat, "running late") == 0 {
        assert!(
            Instant::now() < deadline,
            "the notice never arrived after the outage"
        );
        deliver(&t.state).await;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Once, and marked sent: later passes send nothing more.
    deliver(&t.state).await;
    assert_eq!(t.count(chat, "running late"), 1);
    assert!(
        all_notices(&t.state)
            .await
            .iter()
            .all(|n| n.stage == Stage::Sent)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quiet_hours_hold_a_telegram_notice_until_morning() {
    // Quiet from an hour ago to an hour from now, whatever the time of the run.
    let now = jiff::Timestamp::now().to_zoned_datetime(jiff::tz::TimeZone::UTC);
    let hhmm = |h: i64| {
        let t = now.time();
        format!(
            "{:02}:{:02}",
            (i64::from(t.hour()) + 24 + h) % 24,
            t.minute()
        )
    };
    let quiet = QuietHours::parse(&format!("{}-{}", hhmm(-1), hhmm(1)), "UTC").expect("quiet");
    let until = quiet
        .until(jiff::Timestamp::now())
        .expect("now is quiet")
        .as_millisecond();
    let t = telegram_server(
        "tg-quiet",
        Settings {
            quiet: Some(quiet),
            ..settings()
        },
    )
    .await;
    let chat = 5151;
    t.say(chat, &format!("where is my order {ORDER}"), "last 4 digits")
        .await;
    t.say(chat, EMAIL, "shipped").await;
    let before = t.fake.sent_to(chat).len();
    t.event(json!({"event": "delayed"})).await;
    deliver(&t.state).await;
    deliver(&t.state).await;
    assert_eq!(
        t.fake.sent_to(chat).len(),
        before,
        "nothing sent in quiet hours"
    );
    let notices = all_notices(&t.state).await;
    assert_eq!(notices.len(), 1);
    assert_eq!(notices[0].stage, Stage::Pending);
    assert_eq!(
        notices[0].next_attempt_at, until,
        "due when quiet hours end"
    );
    assert_eq!(
        notices[0].attempts, 0,
        "a postponement is no failed attempt"
    );
    let m = t
        .http
        .get(format!("{}/metrics", t.base))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    assert!(m.contains("destek_notices_pending 1"), "{m}");
    assert!(
        m.contains(r#"destek_notices_skipped_total{reason="quiet_hours"} 1"#),
        "{m}"
    );
}

/// Regression: erasing a conversation left its verified-order row behind, so a customer who
/// asked to be forgotten still got the shop's notices about that order.
#[tokio::test(flavor = "multi_thread")]
async fn an_erased_conversation_hears_no_notice() {
    let s = start("notices-erased", settings()).await;
    let (id, token) = verified(&s, ORDER, EMAIL).await;
    let res = s
        .http
        .delete(format!("{}/api/v1/conversations/{id}", s.base))
        .bearer_auth(&token)
        .send()
        .await
        .expect("delete");
    assert_eq!(res.status().as_u16(), 200);
    let (status, v) = event(&s, ORDER, Some(EVENTS), None, json!({"event": "shipped"})).await;
    assert_eq!(status, 202, "{v}");
    assert_eq!(v["notified"], 0, "nobody is left to tell: {v}");
}
