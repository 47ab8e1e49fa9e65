//! A fake Telegram Bot API server for the tests: axum on 127.0.0.1:0 speaking the real JSON
//! protocol at `/bot<TOKEN>/<method>` — getMe, getUpdates (offset, long-poll timeout),
//! sendMessage, answerCallbackQuery, setWebhook, deleteWebhook — and a 429 with
//! `retry_after` on demand. It records what the bot sent so tests can wait for it.

#![allow(dead_code)]

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::Notify;

pub const TOKEN: &str = "123456:TEST-token";
pub const BOT_ID: i64 = 999;
pub const BOT_USERNAME: &str = "destek_test_bot";

/// A message the bot sent, as the fake recorded it.
#[derive(Clone, Debug)]
pub struct Sent {
    pub chat_id: i64,
    pub text: String,
    pub reply_markup: Option<Value>,
    /// The Message object returned to the bot (what a callback query carries).
    pub message: Value,
    pub at: Instant,
}

impl Sent {
    /// `(label, callback_data)` of the inline keyboard's buttons.
    pub fn buttons(&self) -> Vec<(String, String)> {
        let rows = self.reply_markup.as_ref().map(|m| &m["inline_keyboard"]);
        rows.and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_array)
            .flatten()
            .map(|b| {
                (
                    b["text"].as_str().unwrap_or_default().to_owned(),
                    b["callback_data"].as_str().unwrap_or_default().to_owned(),
                )
            })
            .collect()
    }
}

#[derive(Default)]
struct Recorded {
    queue: Vec<Value>,
    next_update_id: i64,
    next_message_id: i64,
    sent: Vec<Sent>,
    answered: Vec<String>,
    webhook: Option<(String, Option<String>)>,
    webhook_deleted: bool,
    /// chat -> how many sendMessage calls still get a 429.
    fail: HashMap<i64, u32>,
    /// When each 429 was returned, per chat.
    refused: Vec<(i64, Instant)>,
    /// file_id -> the file's bytes, for getFile and the file download.
    files: HashMap<String, Vec<u8>>,
    /// While set, every sendMessage gets a 502 (Telegram is down).
    down: bool,
    /// sendMessage calls refused while down.
    refused_down: u32,
}

struct Inner {
    rec: Mutex<Recorded>,
    changed: Notify,
}

#[derive(Clone)]
pub struct FakeTelegram {
    pub url: String,
    inner: Arc<Inner>,
}

impl FakeTelegram {
    pub async fn start() -> FakeTelegram {
        let inner = Arc::new(Inner {
            rec: Mutex::new(Recorded {
                next_update_id: 1000,
                next_message_id: 1,
                ..Recorded::default()
            }),
            changed: Notify::new(),
        });
        let app = Router::new()
            .route("/{bot}/{method}", post(api).get(api))
            .route("/file/{bot}/{*path}", axum::routing::get(file))
            .with_state(Arc::clone(&inner));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind fake telegram");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        FakeTelegram {
            url: format!("http://{addr}/"),
            inner,
        }
    }

    /// A file the Bot API holds (a photo a customer sent), for getFile.
    pub fn add_file(&self, file_id: &str, data: &[u8]) {
        self.rec().files.insert(file_id.to_owned(), data.to_vec());
    }

    fn rec(&self) -> std::sync::MutexGuard<'_, Recorded> {
        self.inner.rec.lock().expect("fake state")
    }

    /// Queues an update for getUpdates; `body` is the update without `update_id`.
    /// Returns the full update.
    pub fn push(&self, body: Value) -> Value {
        let update = {
            let mut r = self.rec();
            r.next_update_id += 1;
            let mut u = body;
            u["update_id"] = json!(r.next_update_id);
            r.queue.push(u.clone());
            u
        };
        self.inner.changed.notify_waiters();
        update
    }

    /// Queues an update exactly as given (a repeated `update_id`, say).
    pub fn push_raw(&self, update: Value) {
        self.rec().queue.push(update);
        self.inner.changed.notify_waiters();
    }

    /// The next `n` sendMessage calls for `chat` get a 429 with `retry_after: 1`.
    pub fn refuse_sends(&self, chat: i64, n: u32) {
        self.rec().fail.insert(chat, n);
    }

    /// An outage: while `down`, every sendMessage gets a 502 Bad Gateway.
    pub fn set_down(&self, down: bool) {
        self.rec().down = down;
    }

    /// How many sendMessage calls the outage refused.
    pub fn refused_down(&self) -> u32 {
        self.rec().refused_down
    }

    pub fn sent_to(&self, chat: i64) -> Vec<Sent> {
        self.rec()
            .sent
            .iter()
            .filter(|s| s.chat_id == chat)
            .cloned()
            .collect()
    }

    pub fn refused(&self) -> Vec<(i64, Instant)> {
        self.rec().refused.clone()
    }

    pub fn answered(&self) -> Vec<String> {
        self.rec().answered.clone()
    }

    pub fn webhook(&self) -> Option<(String, Option<String>)> {
        self.rec().webhook.clone()
    }

    pub fn webhook_deleted(&self) -> bool {
        self.rec().webhook_deleted
    }

    /// A callback_query update pressing the button `label` on a message the bot sent.
    pub fn press(&self, sent: &Sent, label: &str, user: Value) -> Value {
        let data = sent
            .buttons()
            .into_iter()
            .find(|(l, _)| l == label)
            .map(|(_, d)| d)
            .unwrap_or_else(|| panic!("no button {label:?} in {:?}", sent.buttons()));
        let id = format!("cb-{}", sent.message["message_id"]);
        self.push(json!({"callback_query": {
            "id": id, "from": user, "chat_instance": "ci",
            "message": sent.message, "data": data,
        }}))
    }
}

/// `GET /file/bot<token>/files/<file_id>`: the file's bytes.
async fn file(
    State(inner): State<Arc<Inner>>,
    Path((bot, path)): Path<(String, String)>,
) -> Response {
    let id = path.strip_prefix("files/").unwrap_or_default();
    let data = inner.rec.lock().expect("fake state").files.get(id).cloned();
    match data {
        Some(d) if bot == format!("bot{TOKEN}") => d.into_response(),
        _ => StatusCode::NOT_FOUND.into_response(),
    }
}

fn ok(result: Value) -> Response {
    axum::Json(json!({"ok": true, "result": result})).into_response()
}

async fn api(
    State(inner): State<Arc<Inner>>,
    Path((bot, method)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if bot != format!("bot{TOKEN}") {
        let body = json!({"ok": false, "error_code": 401, "description": "Unauthorized"});
        return (StatusCode::UNAUTHORIZED, axum::Json(body)).into_response();
    }
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let req: Value = match content_type.split_once("boundary=") {
        // teloxide sends setWebhook as multipart/form-data (it may carry a certificate).
        Some((_, boundary)) => form_fields(&body, boundary.trim_matches('"')),
        None => serde_json::from_slice(&body).unwrap_or_else(|_| json!({})),
    };
    // Method names are case-insensitive in the Bot API (teloxide sends `GetMe`).
    match method.to_ascii_lowercase().as_str() {
        "getme" => ok(json!({
            "id": BOT_ID, "is_bot": true, "first_name": "Destek", "username": BOT_USERNAME,
            "can_join_groups": true, "can_read_all_group_messages": false,
            "supports_inline_queries": false, "can_connect_to_business": false,
            "has_main_web_app": false,
        })),
        "getupdates" => get_updates(&inner, &req).await,
        // https://core.telegram.org/bots/api#getfile: a File with the path to download from
        // https://api.telegram.org/file/bot<token>/<file_path>.
        "getfile" => {
            let id = req["file_id"].as_str().unwrap_or_default().to_owned();
            let size = inner
                .rec
                .lock()
                .expect("fake state")
                .files
                .get(&id)
                .map(Vec::len);
            match size {
                Some(n) => ok(json!({"file_id": id, "file_unique_id": format!("u-{id}"),
                                     "file_size": n, "file_path": format!("files/{id}")})),
                None => {
                    let body = json!({"ok": false, "error_code": 400,
                                      "description": "Bad Request: invalid file_id"});
                    (StatusCode::BAD_REQUEST, axum::Json(body)).into_response()
                }
            }
        }
        "sendmessage" => send_message(&inner, &req),
        "answercallbackquery" => {
            let id = req["callback_query_id"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            inner.rec.lock().expect("fake state").answered.push(id);
            ok(json!(true))
        }
        "setwebhook" => {
            let url = req["url"].as_str().unwrap_or_default().to_owned();
            let secret = req["secret_token"].as_str().map(str::to_owned);
            inner.rec.lock().expect("fake state").webhook = Some((url, secret));
            ok(json!(true))
        }
        "deletewebhook" => {
            let mut r = inner.rec.lock().expect("fake state");
            r.webhook = None;
            r.webhook_deleted = true;
            ok(json!(true))
        }
        _ => {
            let body = json!({"ok": false, "error_code": 404, "description": "Not Found"});
            (StatusCode::NOT_FOUND, axum::Json(body)).into_response()
        }
    }
}

/// Confirms the updates below `offset`, then returns the rest — holding the request until
/// one is queued or `timeout` seconds pass, as Telegram does.
async fn get_updates(inner: &Inner, req: &Value) -> Response {
    let offset = req["offset"].as_i64().unwrap_or(0);
    let timeout = Duration::from_secs(req["timeout"].as_u64().unwrap_or(0));
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let notified = inner.changed.notified();
        tokio::pin!(notified);
        // Registered before looking, so a push between the look and the wait is not missed.
        notified.as_mut().enable();
        let ready: Vec<Value> = {
            let mut r = inner.rec.lock().expect("fake state");
            if offset > 0 {
                r.queue
                    .retain(|u| u["update_id"].as_i64().unwrap_or(0) >= offset);
            }
            r.queue.clone()
        };
        if !ready.is_empty() {
            return ok(Value::Array(ready));
        }
        if tokio::time::timeout_at(deadline, notified).await.is_err() {
            return ok(json!([]));
        }
    }
}

fn send_message(inner: &Inner, req: &Value) -> Response {
    let Some(chat_id) = req["chat_id"].as_i64() else {
        let body =
            json!({"ok": false, "error_code": 400, "description": "Bad Request: chat not found"});
        return (StatusCode::BAD_REQUEST, axum::Json(body)).into_response();
    };
    let mut r = inner.rec.lock().expect("fake state");
    if r.down {
        r.refused_down += 1;
        let body = json!({"ok": false, "error_code": 502, "description": "Bad Gateway"});
        return (StatusCode::BAD_GATEWAY, axum::Json(body)).into_response();
    }
    if let Some(n) = r.fail.get_mut(&chat_id).filter(|n| **n > 0) {
        *n -= 1;
        r.refused.push((chat_id, Instant::now()));
        let body = json!({
            "ok": false, "error_code": 429,
            "description": "Too Many Requests: retry after 1",
            "parameters": {"retry_after": 1},
        });
        return (StatusCode::TOO_MANY_REQUESTS, axum::Json(body)).into_response();
    }
    let message_id = r.next_message_id;
    r.next_message_id += 1;
    let chat = if chat_id < 0 {
        json!({"id": chat_id, "type": "group", "title": "Group"})
    } else {
        json!({"id": chat_id, "type": "private", "first_name": "Customer"})
    };
    // A date of 0 would mark the message inaccessible in callback queries.
    let date = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(1, |d| d.as_secs());
    let mut message = json!({
        "message_id": message_id, "date": date, "chat": chat,
        "from": {"id": BOT_ID, "is_bot": true, "first_name": "Destek", "username": BOT_USERNAME},
        "text": req["text"],
    });
    let reply_markup = req.get("reply_markup").cloned().filter(|m| !m.is_null());
    if let Some(m) = &reply_markup {
        message["reply_markup"] = m.clone();
    }
    r.sent.push(Sent {
        chat_id,
        text: req["text"].as_str().unwrap_or_default().to_owned(),
        reply_markup,
        message: message.clone(),
        at: Instant::now(),
    });
    ok(message)
}

/// The text fields of a multipart/form-data body, as a JSON object.
fn form_fields(body: &[u8], boundary: &str) -> Value {
    let body = String::from_utf8_lossy(body);
    let mut fields = serde_json::Map::new();
    for part in body.split(&format!("--{boundary}")) {
        let Some((head, value)) = part.split_once("\r\n\r\n") else {
            continue;
        };
        let Some(name) = head
            .split("name=\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
        else {
            continue;
        };
        let value = value.trim_end_matches("\r\n").to_owned();
        fields.insert(name.to_owned(), Value::String(value));
    }
    Value::Object(fields)
}
