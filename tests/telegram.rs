//! The Telegram channel end to end: our server and channel against a fake Bot API server
//! (`support/fake_telegram.rs`) speaking the real JSON protocol, with a real SQLite store and
//! the demo orders. Every wait has a deadline.

#[path = "support/fake_telegram.rs"]
mod fake_telegram;

use destek::orders::{InMemoryOrders, today_utc};
use destek::store::sqlite::SqliteStore;
use destek::telegram::{self, Mode, Running, Settings};
use destek::web::rate::{RateConfig, RateLimits};
use destek::web::{self, AppState, WebSettings};
use destek::{Bot, pack};
use fake_telegram::{BOT_USERNAME, FakeTelegram, TOKEN};
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

const AGENT_TOKEN: &str = "agent-token-for-tests";
const SECRET: &str = "webhook-secret_1";
const WAIT: Duration = Duration::from_secs(8);

struct Harness {
    // Dropped first: stops polling before the runtime goes.
    running: Option<Running>,
    fake: FakeTelegram,
    base: String,
    client: reqwest::Client,
    db: PathBuf,
    rt: tokio::runtime::Runtime,
}

impl Drop for Harness {
    fn drop(&mut self) {
        self.running.take();
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

fn start(name: &str, mode: Mode) -> Harness {
    start_with(
        name,
        mode,
        WebSettings {
            agent_token: Some(AGENT_TOKEN.into()),
            ..WebSettings::default()
        },
    )
}

fn start_with(name: &str, mode: Mode, web_settings: WebSettings) -> Harness {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let db = std::env::temp_dir().join(format!("destek-tg-{name}-{}.db", std::process::id()));
    for ext in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{ext}", db.display()));
    }
    let store = SqliteStore::open(&db).expect("store");
    let state = AppState::new(
        bot(),
        store,
        Arc::new(InMemoryOrders::demo(today_utc())),
        RateLimits::new(RateConfig {
            per_ip_per_minute: 0,
            per_conversation_per_minute: 0,
        }),
        web_settings,
    );
    let (fake, running, base) = rt.block_on(async {
        let fake = FakeTelegram::start().await;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let mut settings = Settings::new(TOKEN);
        settings.api_url = Some(fake.url.clone());
        settings.mode = mode;
        settings.poll_timeout_secs = 2;
        if mode == Mode::Webhook {
            settings.webhook_url = Some("https://shop.example/tg/hook".to_owned());
            settings.secret_token = Some(SECRET.into());
        }
        let running = telegram::start(state.clone(), &settings)
            .await
            .expect("telegram channel starts");
        let mut app = web::app(state);
        if let Some(hook) = running.webhook.clone() {
            app = app.merge(hook);
        }
        tokio::spawn(async move {
            let app = app.into_make_service_with_connect_info::<SocketAddr>();
            let _ = axum::serve(listener, app).await;
        });
        (fake, running, format!("http://{addr}"))
    });
    Harness {
        running: Some(running),
        fake,
        base,
        client: reqwest::Client::new(),
        db,
        rt,
    }
}

fn user(id: i64, lang: Option<&str>) -> Value {
    let mut u = json!({"id": id, "is_bot": false, "first_name": "Customer"});
    if let Some(l) = lang {
        u["language_code"] = json!(l);
    }
    u
}

fn private_chat(id: i64) -> Value {
    json!({"id": id, "type": "private", "first_name": "Customer"})
}

/// A `message` update body (without `update_id`).
fn message(chat: Value, from: Value, extra: Value) -> Value {
    let mut m = json!({"message_id": 1, "date": 1_700_000_000, "chat": chat, "from": from});
    if let (Some(m), Some(extra)) = (m.as_object_mut(), extra.as_object()) {
        m.extend(extra.clone());
    }
    json!({ "message": m })
}

fn text(chat: i64, lang: Option<&str>, text: &str) -> Value {
    let mut extra = json!({ "text": text });
    if let Some(cmd) = text.strip_prefix('/') {
        let len = cmd.split_whitespace().next().map_or(0, str::len) + 1;
        extra["entities"] = json!([{"type": "bot_command", "offset": 0, "length": len}]);
    }
    message(private_chat(chat), user(chat, lang), extra)
}

impl Harness {
    fn run<F: std::future::Future>(&self, f: F) -> F::Output {
        self.rt.block_on(f)
    }

    /// Waits for a message to `chat` after the first `after` that contains `fragment`;
    /// returns the texts of all messages after `after` by then.
    fn expect(&self, chat: i64, after: usize, fragment: &str) -> Vec<String> {
        self.run(async {
            let deadline = Instant::now() + WAIT;
            loop {
                let texts: Vec<String> = self
                    .fake
                    .sent_to(chat)
                    .into_iter()
                    .skip(after)
                    .map(|s| s.text)
                    .collect();
                if texts.iter().any(|t| t.contains(fragment)) {
                    return texts;
                }
                if Instant::now() > deadline {
                    panic!("chat {chat}: no reply containing {fragment:?}; got {texts:#?}");
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
    }

    /// Sends `text` from a private chat and waits for a reply containing `fragment`.
    fn say(&self, chat: i64, lang: Option<&str>, said: &str, fragment: &str) -> Vec<String> {
        let before = self.fake.sent_to(chat).len();
        self.fake.push(text(chat, lang, said));
        self.expect(chat, before, fragment)
    }

    fn settle(&self) {
        self.run(async { tokio::time::sleep(Duration::from_millis(600)).await });
    }

    fn post(&self, path: &str, headers: &[(&str, &str)], body: &Value) -> (u16, Value) {
        self.run(async {
            let mut req = self
                .client
                .post(format!("{}{path}", self.base))
                .json(body)
                .timeout(WAIT);
            for (k, v) in headers {
                req = req.header(*k, *v);
            }
            let resp = req.send().await.expect("request");
            let status = resp.status().as_u16();
            let body = resp.json().await.unwrap_or(Value::Null);
            (status, body)
        })
    }
}

#[test]
fn turkish_conversation_with_buttons_order_status_and_transcript() {
    let h = start("tr", Mode::Polling);
    let chat = 501;
    assert!(
        h.fake.webhook_deleted(),
        "polling starts with deleteWebhook"
    );

    let greeting = h.say(chat, Some("tr"), "/start", "Size nasıl yardımcı olabilirim");
    assert_eq!(greeting.len(), 1, "{greeting:?}");
    let sent = h.fake.sent_to(chat);
    let buttons = sent[0].buttons();
    assert!(
        buttons
            .iter()
            .any(|(l, d)| l == "Siparişim nerede?" && d == "intent:order_status"),
        "{buttons:?}"
    );

    let press = h
        .fake
        .press(&sent[0], "Siparişim nerede?", user(chat, Some("tr")));
    h.expect(chat, 1, "Sipariş numaranızı");
    let callback_id = press["callback_query"]["id"].as_str().unwrap_or_default();
    assert!(h.fake.answered().iter().any(|id| id == callback_id));

    h.say(chat, Some("tr"), "48213977", "e-posta adresinizi");
    let status = h.say(chat, Some("tr"), "ayse.yilmaz@example.com", "yola çıktı");
    assert!(status.concat().contains("Yurtiçi Kargo"), "{status:?}");

    let transcript = h.say(chat, Some("tr"), "/transcript", "ayse.yilmaz@example.com");
    let all = transcript.concat();
    // The pressed button's label, not its payload, is what the customer said.
    assert!(all.contains("👤 Siparişim nerede?"), "{all}");
    assert!(all.contains("🤖 Merhaba!"), "{all}");
    assert!(!all.contains("intent:order_status"), "{all}");
}

#[test]
fn persian_question_gets_a_persian_answer() {
    let h = start("fa", Mode::Polling);
    h.say(602, None, "سفارشم کجاست؟", "شماره سفارشتان");
}

#[test]
fn english_handoff_then_an_agent_reply_reaches_the_chat() {
    let h = start("en", Mode::Polling);
    let chat = 703;
    h.say(
        chat,
        Some("en-GB"),
        "talk to a human",
        "passing you to a member of our team",
    );
    h.settle();
    let before = h.fake.sent_to(chat).len();
    let (status, body) = h.post(
        &format!(
            "/api/v1/handoffs/{}/messages",
            telegram::conversation_id(chat)
        ),
        &[("authorization", &format!("Bearer {AGENT_TOKEN}"))],
        &json!({"text": "Hi, Sam here. Let me look.", "agent": "Sam"}),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["delivered"], json!(true));
    h.expect(chat, before, "Hi, Sam here. Let me look.");
}

#[test]
fn webhook_mode_checks_the_secret_and_processes_an_update_once() {
    let h = start("webhook", Mode::Webhook);
    let chat = 804;
    assert_eq!(
        h.fake.webhook(),
        Some((
            "https://shop.example/tg/hook".to_owned(),
            Some(SECRET.to_owned())
        ))
    );
    let mut update = text(chat, Some("en"), "/start");
    update["update_id"] = json!(77);

    let (status, _) = h.post("/tg/hook", &[], &update);
    assert_eq!(status, 401);
    let (status, _) = h.post(
        "/tg/hook",
        &[("x-telegram-bot-api-secret-token", "wrong")],
        &update,
    );
    assert_eq!(status, 401);
    h.settle();
    assert!(h.fake.sent_to(chat).is_empty());

    let right = [("x-telegram-bot-api-secret-token", SECRET)];
    let (status, _) = h.post("/tg/hook", &right, &update);
    assert_eq!(status, 200);
    h.expect(chat, 0, "How can I help you?");
    // Telegram retrying the same update: acknowledged, not answered again.
    let (status, _) = h.post("/tg/hook", &right, &update);
    assert_eq!(status, 200);
    h.settle();
    assert_eq!(h.fake.sent_to(chat).len(), 1);
}

#[test]
fn a_repeated_update_id_is_processed_once_in_polling() {
    let h = start("dup", Mode::Polling);
    let chat = 905;
    let mut update = text(chat, Some("en"), "/start");
    update["update_id"] = json!(5000);
    h.fake.push_raw(update.clone());
    h.fake.push_raw(update);
    h.expect(chat, 0, "How can I help you?");
    h.settle();
    assert_eq!(h.fake.sent_to(chat).len(), 1);
}

#[test]
fn a_photo_gets_the_not_text_answer_and_is_kept_for_the_agent() {
    let h = start("photo", Mode::Polling);
    let chat = 1006;
    h.fake.push(message(
        private_chat(chat),
        user(chat, Some("tr")),
        json!({"photo": [
            {"file_id": "PHOTO-small", "file_unique_id": "s", "width": 90, "height": 90},
            {"file_id": "PHOTO-big", "file_unique_id": "b", "width": 800, "height": 800}
        ]}),
    ));
    h.expect(chat, 0, "yalnızca yazılı mesajları");
    let transcript = h.say(chat, Some("tr"), "/transcript", "PHOTO-big");
    assert!(
        transcript.concat().contains("👤 [photo file_id=PHOTO-big]"),
        "{transcript:?}"
    );
}

/// A 1×1 PNG.
const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89\0\0\0\rIDATx\x9cc\xf8\xcf\xc0\xf0\x1f\0\x05\0\x01\xff\x89\x99=\x1d\0\0\0\0IEND\xaeB`\x82";

#[test]
fn a_photo_and_a_document_are_fetched_with_get_file_and_kept_like_the_widgets() {
    let dir = std::env::temp_dir().join(format!("destek-tg-files-{}", std::process::id()));
    let mut settings = WebSettings {
        agent_token: Some(AGENT_TOKEN.into()),
        ..WebSettings::default()
    };
    settings.attachments.dir = Some(dir.clone());
    let h = start_with("files", Mode::Polling, settings);
    let chat = 1016;
    h.fake.add_file("PHOTO-big", PNG);
    h.fake.add_file("DOC-1", b"%PDF-1.4\n%%EOF");
    h.fake.add_file("DOC-2", b"MZ\x90\0 not a pdf");
    h.fake.push(message(
        private_chat(chat),
        user(chat, Some("en")),
        json!({"photo": [
            {"file_id": "PHOTO-small", "file_unique_id": "s", "width": 90, "height": 90},
            {"file_id": "PHOTO-big", "file_unique_id": "b", "width": 800, "height": 800}
        ]}),
    ));
    h.expect(chat, 0, "text messages");
    h.fake.push(message(
        private_chat(chat),
        user(chat, Some("en")),
        json!({"document": {"file_id": "DOC-1", "file_unique_id": "d1",
                            "file_name": "receipt.pdf", "mime_type": "application/pdf"},
               "caption": "my receipt"}),
    ));
    h.expect(chat, 1, "");
    // A file that is not an accepted kind stays a file id.
    h.fake.push(message(
        private_chat(chat),
        user(chat, Some("en")),
        json!({"document": {"file_id": "DOC-2", "file_unique_id": "d2",
                            "file_name": "invoice.pdf.exe"}}),
    ));
    h.expect(chat, 2, "text messages");
    let id = format!("tg-{chat}");
    let folder = dir.join(&id);
    let mut kept: Vec<Vec<u8>> = std::fs::read_dir(&folder)
        .map(|d| {
            d.filter_map(Result::ok)
                .filter_map(|e| std::fs::read(e.path()).ok())
                .collect()
        })
        .unwrap_or_default();
    kept.sort();
    assert_eq!(
        kept,
        [b"%PDF-1.4\n%%EOF".to_vec(), PNG.to_vec()],
        "{}",
        folder.display()
    );
    let transcript = h.say(chat, Some("en"), "/transcript", "invoice.pdf.exe");
    let all = transcript.concat();
    assert!(
        all.contains(&format!(
            "👤 📎 photo.jpg /api/v1/conversations/{id}/attachments/"
        )),
        "{transcript:?}"
    );
    assert!(
        all.contains("📎 receipt.pdf /api/v1/conversations/"),
        "{transcript:?}"
    );
    assert!(all.contains("my receipt"), "{transcript:?}");
    assert!(
        all.contains("[document invoice.pdf.exe file_id=DOC-2]"),
        "{transcript:?}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_group_message_is_ignored_unless_the_bot_is_addressed() {
    let h = start("group", Mode::Polling);
    let group = -1107;
    let chat = json!({"id": group, "type": "group", "title": "Friends"});
    h.fake.push(message(
        chat.clone(),
        user(11, Some("en")),
        json!({"text": "hello everyone"}),
    ));
    h.fake.push(message(
        chat,
        user(11, Some("en")),
        json!({"text": format!("@{BOT_USERNAME} hello"),
               "entities": [{"type": "mention", "offset": 0, "length": 16}]}),
    ));
    h.expect(group, 0, "How can I help you?");
    h.settle();
    // The group's updates run in order: had the first been answered, it would be here too.
    assert_eq!(h.fake.sent_to(group).len(), 1);
}

#[test]
fn a_429_is_retried_after_retry_after_without_delaying_other_chats() {
    let h = start("429", Mode::Polling);
    let (busy, other) = (1208, 1209);
    h.fake.refuse_sends(busy, 1);
    h.fake.push(text(busy, Some("en"), "/start"));
    h.run(async { tokio::time::sleep(Duration::from_millis(200)).await });
    h.fake.push(text(other, Some("en"), "/start"));
    h.expect(other, 0, "How can I help you?");
    h.expect(busy, 0, "How can I help you?");

    let refused = h.fake.refused();
    assert_eq!(refused.len(), 1, "{refused:?}");
    let busy_sent = h.fake.sent_to(busy)[0].at;
    let other_sent = h.fake.sent_to(other)[0].at;
    assert!(
        busy_sent.duration_since(refused[0].1) >= Duration::from_millis(950),
        "retried before retry_after"
    );
    assert!(
        other_sent < busy_sent,
        "the other chat waited for the busy one"
    );
}

#[test]
fn the_configuration_refuses_a_token_in_the_yaml() {
    let path = std::env::temp_dir().join(format!("destek-tg-config-{}.yaml", std::process::id()));
    std::fs::write(&path, "telegram:\n  token: \"123:abc\"\n").expect("write config");
    let err = destek::config::Config::load(Some(&path)).expect_err("token in YAML");
    assert!(err.contains("DESTEK_TELEGRAM_TOKEN"), "{err}");
    let _ = std::fs::remove_file(&path);
}

#[test]
fn the_configuration_reads_the_section_and_wants_a_secret_for_webhooks() {
    let dir = std::env::temp_dir();
    let pid = std::process::id();
    let token = dir.join(format!("destek-tg-token-{pid}"));
    let secret = dir.join(format!("destek-tg-secret-{pid}"));
    let config = dir.join(format!("destek-tg-config-webhook-{pid}.yaml"));
    std::fs::write(&token, "123:abc\n").expect("write token");
    std::fs::write(&secret, "s3cret_-x\n").expect("write secret");
    let section = format!(
        "telegram:\n  token_file: {}\n  mode: webhook\n  webhook_url: https://shop.example/hook\n",
        token.display()
    );
    std::fs::write(&config, &section).expect("write config");
    let err = destek::config::Config::load(Some(&config)).expect_err("no secret");
    assert!(err.contains("DESTEK_TELEGRAM_SECRET_TOKEN"), "{err}");

    let with_secret = format!("{section}  secret_token_file: {}\n", secret.display());
    std::fs::write(&config, with_secret).expect("write config");
    let c = destek::config::Config::load(Some(&config)).expect("config");
    let t = c.telegram.clone().expect("telegram on");
    assert_eq!(t.token, "123:abc");
    assert_eq!(t.mode, Mode::Webhook);
    assert_eq!(t.secret_token.as_deref(), Some("s3cret_-x"));
    assert!(!format!("{c:?}").contains("123:abc"));
    for f in [token, secret, config] {
        let _ = std::fs::remove_file(f);
    }
}
