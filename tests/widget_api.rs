//! The server side of the chat widget, over real HTTP on 127.0.0.1 with a real SQLite
//! store: the welcome a conversation opens with, follow-up buttons, client message ids,
//! attachments, erasing a conversation, the production switches, and the regressions of
//! amounts and Persian digits.

#[path = "support/server.rs"]
mod support;

use destek::Lang;
use destek::orders::{demo_orders, today_utc};
use destek::web::WebSettings;
use serde_json::{Value, json};
use std::path::PathBuf;
use support::{AGENT, reply_text, start, unlimited, with_agent};

fn temp_dir(name: &str) -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let d = std::env::temp_dir().join(format!("destek-{name}-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

async fn open(s: &support::Server, lang: &str) -> (String, String, Value) {
    let (status, v) = s
        .post("/api/v1/conversations", None, json!({"lang": lang}))
        .await;
    assert_eq!(status, 201, "{v}");
    (
        v["conversation_id"].as_str().unwrap_or_default().to_owned(),
        v["token"].as_str().unwrap_or_default().to_owned(),
        v,
    )
}

fn labels(reply: &Value) -> Vec<String> {
    reply["buttons"]
        .as_array()
        .map(|b| {
            b.iter()
                .filter_map(|x| x["label"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_conversation_opens_with_the_welcome_and_the_main_topics_in_its_language() {
    let s = start("welcome", unlimited(), with_agent()).await;
    for (lang, words, topic) in [
        ("tr", "Demo Shop", "Siparişim nerede?"),
        ("fa", "Demo Shop", "سفارشم کجاست؟"),
        ("en", "Demo Shop", "Where is my order?"),
    ] {
        let (id, token, v) = open(&s, lang).await;
        let replies = v["replies"].as_array().cloned().unwrap_or_default();
        assert_eq!(replies.len(), 1, "{lang}: {v}");
        let text = replies[0]["text"].as_str().unwrap_or_default();
        assert!(text.contains(words), "{lang}: {text}");
        assert!(
            labels(&replies[0]).contains(&topic.to_owned()),
            "{lang}: {v}"
        );
        // The transcript keeps it.
        let (status, tr) = s
            .get(
                &format!("/api/v1/conversations/{id}/transcript"),
                Some(&token),
            )
            .await;
        assert_eq!(status, 200);
        assert_eq!(tr["messages"][0]["from"], "bot", "{tr}");
        assert_eq!(tr["messages"][0]["text"], text, "{tr}");
        assert_eq!(tr["messages"][0]["buttons"], replies[0]["buttons"], "{tr}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_finished_request_ends_with_follow_up_buttons_not_a_dead_end() {
    let s = start("followup", unlimited(), with_agent()).await;
    let (id, token, _) = open(&s, "tr").await;
    let (status, v) = s.say(&id, &token, "teşekkürler").await;
    assert_eq!(status, 200, "{v}");
    let last = v["replies"]
        .as_array()
        .and_then(|r| r.last().cloned())
        .unwrap_or_default();
    assert!(
        labels(&last).iter().any(|l| l == "Temsilciye bağlan"),
        "follow-up buttons under the answer: {v}"
    );
    // A question the bot waits on gets none: the customer is to answer it.
    let (_, v) = s.say(&id, &token, "siparişim nerede").await;
    let last = v["replies"]
        .as_array()
        .and_then(|r| r.last().cloned())
        .unwrap_or_default();
    assert!(labels(&last).is_empty(), "{v}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_message_sent_again_with_its_client_id_is_taken_once() {
    let s = start("client-id", unlimited(), with_agent()).await;
    let (id, token, _) = open(&s, "en").await;
    let path = format!("/api/v1/conversations/{id}/messages");
    let body = json!({"text": "where is my order", "client_id": "m-1"});
    let (status, first) = s.post(&path, Some(&token), body.clone()).await;
    assert_eq!(status, 200, "{first}");
    assert!(!reply_text(&first).is_empty(), "{first}");
    let (status, again) = s.post(&path, Some(&token), body).await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(again["duplicate"], true, "{again}");
    assert_eq!(again["replies"], json!([]), "{again}");
    let (_, tr) = s
        .get(
            &format!("/api/v1/conversations/{id}/transcript"),
            Some(&token),
        )
        .await;
    let customer: Vec<&Value> = tr["messages"]
        .as_array()
        .map(|m| m.iter().filter(|m| m["from"] == "customer").collect())
        .unwrap_or_default();
    assert_eq!(customer.len(), 1, "taken once: {tr}");
    let (status, bad) = s
        .post(
            &path,
            Some(&token),
            json!({"text": "hi", "client_id": "no spaces allowed"}),
        )
        .await;
    assert_eq!(status, 400, "{bad}");
    assert_eq!(bad["error"], "bad_request", "{bad}");
}

#[tokio::test(flavor = "multi_thread")]
async fn regression_persian_digits_are_echoed_in_persian_digits() {
    let s = start("fa-digits", unlimited(), with_agent()).await;
    let (id, token, _) = open(&s, "fa").await;
    s.say(&id, &token, "سفارشم کجاست؟").await;
    s.say(&id, &token, "شماره سفارش ۴۵۸۲۱۹۳").await;
    let (status, v) = s.say(&id, &token, "۶۷۸۹").await;
    assert_eq!(status, 200, "{v}");
    let text = reply_text(&v);
    assert!(text.contains("۴۵۸۲۱۹۳"), "echoed in Persian digits: {text}");
    // (A tracking link keeps its own digits: it is an address, not a number to read.)
    let words = text.split("http").next().unwrap_or_default();
    assert!(!words.contains("4582193"), "not in Latin digits: {text}");
    // Typed in Latin digits, it comes back in them.
    let (id, token, _) = open(&s, "fa").await;
    s.say(&id, &token, "سفارشم کجاست؟").await;
    s.say(&id, &token, "شماره سفارش 4582193").await;
    let (_, v) = s.say(&id, &token, "6789").await;
    let text = reply_text(&v);
    assert!(text.contains("4582193"), "{text}");
}

#[test]
fn regression_amounts_show_one_format_and_the_shops_currency() {
    let bot = support::bot();
    let order = demo_orders(today_utc())
        .into_iter()
        .find(|o| o.order_id == "48213977")
        .expect("a demo order");
    for (lang, sep) in [(Lang::Tr, ','), (Lang::En, '.')] {
        let (reply, _) =
            destek::dialogue::render_for_order(&bot, "confirm_cancel", lang, &order, None)
                .expect("confirm_cancel renders");
        assert!(reply.text.contains(" TL"), "{lang:?}: {}", reply.text);
        assert!(!reply.text.contains("TRY"), "{lang:?}: {}", reply.text);
        let total = destek::locale::money(order.total, lang);
        assert!(total.contains(sep), "{total}");
        assert!(reply.text.contains(&total), "{lang:?}: {}", reply.text);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn regression_shipping_amounts_read_like_order_amounts() {
    let s = start("amounts", unlimited(), with_agent()).await;
    let (id, token, _) = open(&s, "tr").await;
    let (_, v) = s.say(&id, &token, "kargo ücreti ne kadar").await;
    let text = reply_text(&v);
    assert!(
        text.contains("49,90 TL") && text.contains("500,00 TL"),
        "{text}"
    );
}

const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89\0\0\0\rIDATx\x9cc\xf8\xcf\xc0\xf0\x1f\0\x05\0\x01\xff\x89\x99=\x1d\0\0\0\0IEND\xaeB`\x82";

fn attachments_on(dir: &std::path::Path) -> WebSettings {
    let mut s = with_agent();
    s.attachments.dir = Some(dir.to_owned());
    s.attachments.max_bytes = 64 * 1024;
    s.attachments.public_url = Some("https://bot.example".into());
    s.webhook = Some(destek::handoff::WebhookSettings {
        url: "http://127.0.0.1:9/hook".into(),
        secret: "webhook-secret".into(),
        timeout: std::time::Duration::from_secs(1),
    });
    s
}

async fn upload(
    s: &support::Server,
    id: &str,
    token: &str,
    name: &str,
    mime: &str,
    data: Vec<u8>,
) -> (u16, Value) {
    // multipart/form-data as a browser's FormData sends it (RFC 7578).
    let boundary = "----destekTestBoundary7MA4YWxkTrZu0gW";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n\
         Content-Type: {mime}\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(&data);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let res = s
        .http
        .post(format!("{}/api/v1/conversations/{id}/attachments", s.base))
        .bearer_auth(token)
        .header(
            "content-type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(body)
        .send()
        .await
        .expect("upload");
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread")]
async fn attachments_are_sniffed_limited_and_served_only_to_their_conversation() {
    let dir = temp_dir("attachments");
    let s = start("attachments", unlimited(), attachments_on(&dir)).await;
    let (id, token, _) = open(&s, "en").await;
    let (other, other_token, _) = open(&s, "en").await;

    let (status, v) = upload(&s, &id, &token, "broken mug.png", "image/png", PNG.to_vec()).await;
    assert_eq!(status, 201, "{v}");
    assert_eq!(v["content_type"], "image/png", "{v}");
    assert_eq!(v["size"], PNG.len(), "{v}");
    let url = v["url"].as_str().unwrap_or_default().to_owned();
    let aid = v["attachment_id"].as_str().unwrap_or_default().to_owned();
    assert_eq!(url, format!("/api/v1/conversations/{id}/attachments/{aid}"));

    let get = |token: Option<String>, path: String| {
        let http = s.http.clone();
        let base = s.base.clone();
        async move {
            let mut req = http.get(format!("{base}{path}"));
            if let Some(t) = token {
                req = req.bearer_auth(t);
            }
            let res = req.send().await.expect("get");
            let status = res.status().as_u16();
            let ct = res
                .headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned();
            (status, ct, res.bytes().await.unwrap_or_default().to_vec())
        }
    };
    let (status, ct, body) = get(Some(token.clone()), url.clone()).await;
    assert_eq!((status, ct.as_str()), (200, "image/png"));
    assert_eq!(body, PNG);
    let (status, _, _) = get(Some(AGENT.into()), url.clone()).await;
    assert_eq!(status, 200, "the agent team's token opens it too");
    let (status, _, _) = get(None, url.clone()).await;
    assert_eq!(status, 401);
    let (status, _, _) = get(Some(other_token.clone()), url.clone()).await;
    assert_eq!(status, 401, "another conversation's token does not");
    let (status, _, _) = get(
        Some(other_token.clone()),
        format!("/api/v1/conversations/{other}/attachments/{aid}"),
    )
    .await;
    assert_eq!(status, 404, "nor under its own id");

    // The customer's message names it.
    let (_, tr) = s
        .get(
            &format!("/api/v1/conversations/{id}/transcript"),
            Some(&token),
        )
        .await;
    let last = tr["messages"]
        .as_array()
        .and_then(|m| m.last().cloned())
        .unwrap_or_default();
    assert_eq!(last["from"], "customer", "{tr}");
    assert_eq!(last["text"], format!("📎 broken_mug.png {url}"), "{tr}");

    // An HTML page called a PNG is refused; so is anything too large.
    let (status, v) = upload(
        &s,
        &id,
        &token,
        "photo.png",
        "image/png",
        b"<html><script>alert(1)</script></html>".to_vec(),
    )
    .await;
    assert_eq!(status, 415, "{v}");
    assert_eq!(v["error"], "unsupported_media_type", "{v}");
    let mut big = PNG.to_vec();
    big.resize(200 * 1024, 0);
    let (status, v) = upload(&s, &id, &token, "big.png", "image/png", big).await;
    assert_eq!(status, 413, "{v}");
    assert_eq!(v["error"], "too_large", "{v}");
    let (status, _) = upload(&s, &id, "wrong", "a.png", "image/png", PNG.to_vec()).await;
    assert_eq!(status, 401);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_person_who_has_the_conversation_gets_a_signed_url_of_the_attachment() {
    let dir = temp_dir("attachments-hook");
    let s = start("attachments-hook", unlimited(), attachments_on(&dir)).await;
    let (id, token, _) = open(&s, "en").await;
    let (status, v) = s.say(&id, &token, "I want to talk to a person").await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["handoff"], true, "{v}");
    let (status, v) = upload(
        &s,
        &id,
        &token,
        "receipt.pdf",
        "application/pdf",
        b"%PDF-1.4\n%%EOF".to_vec(),
    )
    .await;
    assert_eq!(status, 201, "{v}");
    let deliveries = s
        .state
        .shared()
        .store
        .deliveries(false, 100)
        .await
        .expect("deliveries");
    let event = deliveries
        .iter()
        .find(|d| d.event == "handoff.message" && d.body.contains("attachments"))
        .expect("a handoff.message event for the attachment");
    let body: Value = serde_json::from_str(&event.body).expect("json");
    let url = body["attachments"][0]["url"].as_str().unwrap_or_default();
    assert!(
        url.starts_with("https://bot.example/api/v1/conversations/"),
        "{url}"
    );
    assert!(url.contains("sig="), "{url}");
    assert_eq!(body["attachments"][0]["content_type"], "application/pdf");
    let text = body["transcript"][0]["text"].as_str().unwrap_or_default();
    assert!(
        text.contains("sig="),
        "the transcript line is signed too: {text}"
    );
    // The signed URL opens it without a token; a tampered one does not.
    let local = url.replace("https://bot.example", &s.base);
    let res = s.http.get(&local).send().await.expect("get");
    assert_eq!(res.status().as_u16(), 200);
    assert_eq!(
        res.bytes().await.unwrap_or_default().as_ref(),
        b"%PDF-1.4\n%%EOF"
    );
    let tampered = local.replace("sig=", "sig=0");
    let res = s.http.get(&tampered).send().await.expect("get");
    assert_eq!(res.status().as_u16(), 401);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread")]
async fn deleting_a_conversation_erases_its_messages_and_attachments() {
    let dir = temp_dir("erase");
    let s = start("erase", unlimited(), attachments_on(&dir)).await;
    let (id, token, _) = open(&s, "tr").await;
    s.say(&id, &token, "siparişim nerede").await;
    let (status, _) = upload(&s, &id, &token, "a.png", "image/png", PNG.to_vec()).await;
    assert_eq!(status, 201);
    assert!(dir.join(&id).is_dir());
    let url = format!("{}/api/v1/conversations/{id}", s.base);
    let res = s
        .http
        .delete(&url)
        .bearer_auth("wrong")
        .send()
        .await
        .expect("delete");
    assert_eq!(res.status().as_u16(), 401);
    let res = s
        .http
        .delete(&url)
        .bearer_auth(&token)
        .send()
        .await
        .expect("delete");
    assert_eq!(res.status().as_u16(), 200);
    let v: Value = res.json().await.unwrap_or_default();
    assert_eq!(v["erased"], true, "{v}");
    assert!(!dir.join(&id).exists(), "the attachments are gone");
    let (status, _) = s
        .get(
            &format!("/api/v1/conversations/{id}/transcript"),
            Some(&token),
        )
        .await;
    assert_eq!(status, 404, "the messages are gone");
    assert!(
        s.state
            .shared()
            .store
            .transcript(&id)
            .await
            .expect("read")
            .is_empty(),
        "nothing left in the store"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_demo_page_can_be_turned_off() {
    let s = start("demo-page", unlimited(), with_agent()).await;
    let res = s
        .http
        .get(format!("{}/", s.base))
        .send()
        .await
        .expect("get");
    assert_eq!(res.status().as_u16(), 200);
    let mut off = with_agent();
    off.no_demo_page = true;
    let s = start("no-demo-page", unlimited(), off).await;
    let res = s
        .http
        .get(format!("{}/", s.base))
        .send()
        .await
        .expect("get");
    assert_eq!(res.status().as_u16(), 404);
    let res = s
        .http
        .get(format!("{}/widget.js", s.base))
        .send()
        .await
        .expect("get");
    assert_eq!(res.status().as_u16(), 200, "the widget is still served");
}

#[test]
fn production_switches_are_off_by_default_with_the_shops_own_orders() {
    let dir = temp_dir("switches");
    let load = |yaml: &str| {
        let path = dir.join("destek.yaml");
        std::fs::write(&path, yaml).expect("write");
        destek::config::Config::load(Some(&path)).expect("config")
    };
    let c = load("storage: {url: \"sqlite:///tmp/x/shop.db\"}\n");
    assert!(c.demo_page && c.seed_demo, "a trial on the embedded orders");
    assert_eq!(
        c.attachments.dir.as_deref(),
        Some(std::path::Path::new("/tmp/x/shop-attachments")),
        "attachments beside the SQLite file"
    );
    let c = load("orders: {source: http, base_url: \"http://127.0.0.1:1\"}\n");
    assert!(!c.demo_page && !c.seed_demo, "the shop's own orders");
    let c = load("web: {demo_page: false, attachment_max_mb: 2}\norders: {seed_demo: false}\n");
    assert!(!c.demo_page && !c.seed_demo);
    assert_eq!(c.attachments.max_bytes, 2 * 1024 * 1024);
    let c = load("web: {demo_page: true}\norders: {source: memory}\n");
    assert!(c.demo_page);
    let _ = std::fs::remove_dir_all(&dir);
}
