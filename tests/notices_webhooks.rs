//! The shop platforms' order webhooks as a source of notices, end to end: a real server
//! on 127.0.0.1 with a real SQLite store, its orders from the local stand-ins for a
//! WooCommerce shop (tests/support/fake_woocommerce.rs) and a Shopify shop
//! (tests/support/fake_shopify.rs); deliveries signed as the platforms sign them
//! (base64 HMAC-SHA256 of the raw body); a widget conversation that verified the order
//! hears the notice in its transcript. Retries and resent states notify once; a bad
//! signature is refused and queues nothing; without a secret the endpoints are off.

#[path = "support/fake_shopify.rs"]
mod fake_shopify;
#[path = "support/fake_woocommerce.rs"]
mod fake_woocommerce;
#[path = "support/server.rs"]
mod server;

use destek::notices::Settings;
use destek::notices::webhooks::Secrets;
use destek::orders::OrderBackend;
use destek::web::WebSettings;
use destek::{Bot, pack};
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use server::Server;
use sha2::Sha256;
use std::sync::Arc;

const WOO_SECRET: &str = "wc-webhook-secret-for-tests";
const SHOP_SECRET: &str = "shpss_webhook_secret_for_tests";

/// `base64(HMAC-SHA256(body, secret))`, as WooCommerce and Shopify compute it.
fn sign(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("hmac key");
    mac.update(body);
    destek::base64::encode(&mac.finalize().into_bytes())
}

fn bot(short_order_format: &str) -> Bot {
    let options = pack::Options {
        short_order_formats: vec![short_order_format.to_owned()],
        ..pack::Options::default()
    };
    pack::compile(&pack::embedded(), &options)
        .bot
        .expect("default pack")
}

fn web(secrets: Secrets) -> WebSettings {
    WebSettings {
        notices: Settings {
            webhook_secrets: secrets,
            ..Settings::default()
        },
        ..WebSettings::default()
    }
}

/// POSTs `body` as is, with these headers; the status and the JSON answer.
async fn deliver_raw(
    s: &Server,
    path: &str,
    headers: &[(&str, String)],
    body: Vec<u8>,
) -> (u16, Value) {
    let mut req = s.http.post(format!("{}{path}", s.base)).body(body);
    for (k, v) in headers {
        req = req.header(*k, v);
    }
    let res = req.send().await.expect("request");
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

/// A WooCommerce delivery of `topic`, signed with `secret`.
async fn woo(s: &Server, secret: &str, topic: &str, delivery: u32, order: &Value) -> (u16, Value) {
    let body = serde_json::to_vec(order).expect("json");
    let headers = [
        ("content-type", "application/json".to_owned()),
        ("x-wc-webhook-source", "https://shop.example/".to_owned()),
        ("x-wc-webhook-topic", topic.to_owned()),
        ("x-wc-webhook-resource", "order".to_owned()),
        ("x-wc-webhook-event", "updated".to_owned()),
        ("x-wc-webhook-signature", sign(secret, &body)),
        ("x-wc-webhook-id", "17".to_owned()),
        ("x-wc-webhook-delivery-id", delivery.to_string()),
    ];
    deliver_raw(s, "/api/v1/webhooks/woocommerce", &headers, body).await
}

/// A Shopify delivery of `topic` with webhook id `id`, signed with `secret`.
async fn shopify(s: &Server, secret: &str, topic: &str, id: &str, payload: &Value) -> (u16, Value) {
    let body = serde_json::to_vec(payload).expect("json");
    let headers = [
        ("content-type", "application/json".to_owned()),
        ("x-shopify-topic", topic.to_owned()),
        ("x-shopify-hmac-sha256", sign(secret, &body)),
        ("x-shopify-shop-domain", "store.myshopify.com".to_owned()),
        ("x-shopify-api-version", "2025-01".to_owned()),
        ("x-shopify-webhook-id", id.to_owned()),
        (
            "x-shopify-event-id",
            format!("ev-{id}-{}", payload["id"].as_u64().unwrap_or(0)),
        ),
        ("x-shopify-triggered-at", at(0)),
    ];
    deliver_raw(s, "/api/v1/webhooks/shopify", &headers, body).await
}

async fn verified(s: &Server, ask: &str, email: &str, order: &str) -> (String, String) {
    s.verified(ask, email, order).await
}

async fn bot_texts(s: &Server, id: &str, token: &str, fragment: &str) -> Vec<String> {
    s.transcript(id, token)
        .await
        .iter()
        .filter(|m| m["from"] == "bot")
        .filter_map(|m| m["text"].as_str())
        .filter(|t| t.contains(fragment))
        .map(str::to_owned)
        .collect()
}

/// Delivers the due notices, as the server's loop does every 250 ms.
async fn deliver(s: &Server) -> usize {
    destek::notices::deliver::pass(&s.state).await
}

async fn queued(s: &Server) -> usize {
    s.state
        .shared()
        .store
        .notices()
        .expect("the store keeps notices")
        .notices(false, 100)
        .await
        .expect("notices")
        .len()
}

async fn woo_server(name: &str) -> (fake_woocommerce::FakeWoo, Server) {
    // Ayşe's order: id 8123, number 5522 (a sequential-number extension), processing.
    let ayse = fake_woocommerce::order(
        8123,
        "5522",
        "processing",
        "ayse@example.com",
        "0532 111 22 33",
    );
    let shop = fake_woocommerce::start(vec![ayse]).await;
    let orders: Arc<dyn OrderBackend> = Arc::new(
        destek::orders::woocommerce::WooCommerce::new(destek::orders::woocommerce::Settings {
            base_url: shop.base.clone(),
            consumer_key: fake_woocommerce::KEY.into(),
            consumer_secret: fake_woocommerce::SECRET.into(),
            query_string_auth: false,
            resilience: Default::default(),
        })
        .expect("a WooCommerce client"),
    );
    let secrets = Secrets {
        woocommerce: Some(WOO_SECRET.into()),
        shopify: None,
    };
    let s = server::start_with(
        name,
        bot(destek::orders::woocommerce::SHORT_ORDER_FORMAT),
        orders,
        server::unlimited(),
        web(secrets),
    )
    .await;
    (shop, s)
}

/// Replaces the shop's copy of order `id` (what the API answers from now on).
fn shop_changes(shop: &fake_woocommerce::FakeWoo, order: &Value) {
    let mut orders = shop.shop.orders.lock().expect("orders");
    for o in orders.iter_mut() {
        if o["id"] == order["id"] {
            *o = order.clone();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signed_woocommerce_delivery_tells_the_verified_conversation_once() {
    let (shop, s) = woo_server("wh-woo").await;
    let (a, a_token) = verified(&s, "where is my order 5522?", "ayse@example.com", "5522").await;
    // Asked about the order but never proved it: hears nothing.
    let (b, b_token) = s.conversation().await;
    s.say(&b, &b_token, "where is my order 5522?").await;

    // The ping WooCommerce sends when the webhook is saved: form-encoded, unsigned.
    let (status, v) = deliver_raw(
        &s,
        "/api/v1/webhooks/woocommerce",
        &[(
            "content-type",
            "application/x-www-form-urlencoded".to_owned(),
        )],
        b"webhook_id=17".to_vec(),
    )
    .await;
    assert_eq!(
        status, 200,
        "WooCommerce saves the webhook only on a 200: {v}"
    );

    // The shop ships with the Shipment Tracking extension and marks the order completed.
    let shipped = fake_woocommerce::with_tracking(
        fake_woocommerce::order(
            8123,
            "5522",
            "completed",
            "ayse@example.com",
            "0532 111 22 33",
        ),
        "Aras Kargo",
        "AR5522",
    );
    // Shipped now: old shipments are no news.
    let mut shipped = shipped;
    shipped["meta_data"][0]["value"][0]["date_shipped"] =
        json!(jiff::Timestamp::now().as_second().to_string());
    shop_changes(&shop, &shipped);

    // Signed with another secret, or not at all: refused, nothing queued.
    let (status, v) = woo(&s, "not-the-secret", "order.updated", 1, &shipped).await;
    assert_eq!((status, v["error"].as_str()), (401, Some("unauthorized")));
    assert!(
        v["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("X-WC-Webhook-Signature"),
        "{v}"
    );
    let body = serde_json::to_vec(&shipped).expect("json");
    let (status, _) = deliver_raw(
        &s,
        "/api/v1/webhooks/woocommerce",
        &[("x-wc-webhook-topic", "order.updated".to_owned())],
        body,
    )
    .await;
    assert_eq!(status, 401);
    // A signature over other bytes (the body changed on the way) is refused too.
    let mut tampered = shipped.clone();
    tampered["number"] = json!("5400");
    let good = sign(WOO_SECRET, &serde_json::to_vec(&shipped).expect("json"));
    let (status, _) = deliver_raw(
        &s,
        "/api/v1/webhooks/woocommerce",
        &[
            ("x-wc-webhook-topic", "order.updated".to_owned()),
            ("x-wc-webhook-signature", good),
        ],
        serde_json::to_vec(&tampered).expect("json"),
    )
    .await;
    assert_eq!(status, 401);
    assert_eq!(queued(&s).await, 0);

    let (status, v) = woo(&s, WOO_SECRET, "order.updated", 2, &shipped).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(
        (v["notified"].as_i64(), &v["events"]),
        (Some(1), &json!(["shipped"]))
    );
    // The same delivery retried, and the order saved again after an unrelated edit (a new
    // delivery id, the same status and tracking): nobody is told twice.
    let (status, v) = woo(&s, WOO_SECRET, "order.updated", 2, &shipped).await;
    assert_eq!((status, v["notified"].as_i64()), (200, Some(0)), "{v}");
    assert_eq!(v["duplicate"], true);
    let mut edited = shipped.clone();
    edited["customer_note"] = json!("Kapıya bırakabilirsiniz");
    edited["date_modified"] = json!("2026-03-07T11:00:00");
    let (status, v) = woo(&s, WOO_SECRET, "order.updated", 3, &edited).await;
    assert_eq!((status, v["notified"].as_i64()), (200, Some(0)), "{v}");

    assert_eq!(deliver(&s).await, 1);
    let told = bot_texts(&s, &a, &a_token, "has shipped").await;
    assert_eq!(told.len(), 1, "{told:?}");
    assert!(
        told[0].contains("5522") && told[0].contains("https://track.example/AR5522"),
        "the order number and the tracking link: {}",
        told[0]
    );
    assert!(bot_texts(&s, &b, &b_token, "has shipped").await.is_empty());

    // A refund is news of its own.
    let mut refunded = edited.clone();
    refunded["status"] = json!("refunded");
    refunded["refunds"] = json!([{"id": 731, "reason": "", "total": "-149.90"}]);
    shop.shop.refunds.lock().expect("refunds").insert(
        8123,
        vec![json!({"id": 731, "date_created": "2026-03-08T10:00:00", "amount": "149.90"})],
    );
    shop_changes(&shop, &refunded);
    let (status, v) = woo(&s, WOO_SECRET, "order.updated", 4, &refunded).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["events"], json!(["refund_issued"]));
    assert_eq!(deliver(&s).await, 1);
    let told = bot_texts(&s, &a, &a_token, "refunded").await;
    assert_eq!(told.len(), 1, "{told:?}");
    assert!(told[0].contains("149.9"), "{}", told[0]);

    // Topics and statuses that tell a customer nothing: 200, so WooCommerce keeps the
    // webhook, and nobody hears a word.
    let (status, v) = woo(&s, WOO_SECRET, "product.updated", 5, &json!({"id": 93})).await;
    assert_eq!((status, v["notified"].as_i64()), (200, Some(0)), "{v}");
    let on_hold = fake_woocommerce::order(
        8124,
        "5523",
        "on-hold",
        "ayse@example.com",
        "0532 111 22 33",
    );
    let (status, v) = woo(&s, WOO_SECRET, "order.created", 6, &on_hold).await;
    assert_eq!((status, v["notified"].as_i64()), (200, Some(0)), "{v}");
    // Signed, but no order: a clear 400.
    let (status, v) = woo(&s, WOO_SECRET, "order.updated", 7, &json!([1, 2])).await;
    assert_eq!(status, 400, "{v}");
    assert!(
        v["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("not a WooCommerce order")
    );
    assert_eq!(deliver(&s).await, 0);
    // What happened to the deliveries, for whoever watches the server.
    let metrics = s
        .http
        .get(format!("{}/metrics", s.base))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    for line in [
        r#"destek_notice_webhooks_total{platform="woocommerce",outcome="ping"} 1"#,
        r#"destek_notice_webhooks_total{platform="woocommerce",outcome="bad_signature"} 3"#,
        r#"destek_notice_webhooks_total{platform="woocommerce",outcome="event"} 2"#,
        r#"destek_notice_webhooks_total{platform="woocommerce",outcome="duplicate"} 2"#,
        r#"destek_notice_webhooks_total{platform="woocommerce",outcome="ignored"} 1"#,
        r#"destek_notice_webhooks_total{platform="woocommerce",outcome="no_event"} 1"#,
        r#"destek_notice_webhooks_total{platform="woocommerce",outcome="bad_request"} 1"#,
    ] {
        assert!(metrics.contains(line), "{line} in {metrics}");
    }
}

async fn shopify_server(name: &str) -> (fake_shopify::FakeShopify, Server) {
    let orders = vec![
        fake_shopify::order(1001, "tom@example.com", Some(("2026-12-05", None))),
        fake_shopify::order(1002, "tom@example.com", None),
    ];
    let shop = fake_shopify::start(orders).await;
    let backend: Arc<dyn OrderBackend> = Arc::new(
        destek::orders::shopify::Shopify::new(destek::orders::shopify::Settings {
            base_url: shop.base.clone(),
            token: fake_shopify::TOKEN.into(),
            api_version: destek::orders::shopify::API_VERSION.into(),
            resilience: Default::default(),
        })
        .expect("a Shopify client"),
    );
    let secrets = Secrets {
        woocommerce: None,
        shopify: Some(SHOP_SECRET.into()),
    };
    let s = server::start_with(
        name,
        bot(destek::orders::shopify::SHORT_ORDER_FORMAT),
        backend,
        server::unlimited(),
        web(secrets),
    )
    .await;
    (shop, s)
}

/// Now plus `minutes`, as Shopify writes times.
fn at(minutes: i64) -> String {
    (jiff::Timestamp::now() + jiff::SignedDuration::from_mins(minutes)).to_string()
}

/// A fulfillment of order #1001 as the REST Admin API writes it in webhooks.
fn fulfillment(shipment_status: Option<&str>, updated_at: &str) -> Value {
    json!({
        "id": 255858046,
        "order_id": 450789469,
        "status": "success",
        "created_at": at(-60 * 24),
        "service": "manual",
        "updated_at": updated_at,
        "tracking_company": "UPS",
        "shipment_status": shipment_status,
        "location_id": 905684977,
        "tracking_number": "1Z1001",
        "tracking_numbers": ["1Z1001"],
        "tracking_url": "https://ups.example/1Z1001",
        "tracking_urls": ["https://ups.example/1Z1001"],
        "receipt": {},
        "name": "#1001.1",
        "admin_graphql_api_id": "gid://shopify/Fulfillment/255858046",
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shopify_fulfillment_updates_reach_the_conversation_once_each() {
    let (_shop, s) = shopify_server("wh-shopify").await;
    let (a, a_token) = verified(&s, "hi, where is #1001?", "tom@example.com", "1001").await;
    // Verified another order of the same customer: hears nothing of #1001.
    let (b, b_token) = verified(&s, "where is my order 1002", "tom@example.com", "1002").await;

    let out = fulfillment(Some("out_for_delivery"), &at(0));
    let (status, v) = shopify(&s, "wrong", "fulfillments/update", "w-1", &out).await;
    assert_eq!(status, 401, "{v}");
    assert!(
        v["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("X-Shopify-Hmac-Sha256")
    );
    assert_eq!(queued(&s).await, 0);

    let (status, v) = shopify(&s, SHOP_SECRET, "fulfillments/update", "w-1", &out).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(
        (v["notified"].as_i64(), &v["events"]),
        (Some(1), &json!(["out_for_delivery"]))
    );
    // Shopify retries a delivery it thinks failed, with the same webhook id.
    let (status, v) = shopify(&s, SHOP_SECRET, "fulfillments/update", "w-1", &out).await;
    assert_eq!((status, v["notified"].as_i64()), (200, Some(0)), "{v}");
    assert_eq!(deliver(&s).await, 1);
    let told = bot_texts(&s, &a, &a_token, "out for delivery").await;
    assert_eq!(told.len(), 1, "{told:?}");
    assert!(told[0].contains("1001"), "{}", told[0]);

    let delivered = fulfillment(Some("delivered"), &at(1));
    let (status, v) = shopify(&s, SHOP_SECRET, "fulfillments/update", "w-2", &delivered).await;
    assert_eq!((status, v["notified"].as_i64()), (200, Some(1)), "{v}");
    // The order's own webhook about the same state (orders/updated after a tag was
    // added): the delivered fulfillment again, nothing new.
    let order = json!({
        "id": 450789469,
        "name": "#1001",
        "order_number": 1001,
        "email": "tom@example.com",
        "financial_status": "paid",
        "fulfillment_status": "fulfilled",
        "tags": "vip",
        "fulfillments": [delivered],
        "refunds": [],
        // A large order, as Shopify sends it whole: far over the API's 16 KB for chat
        // messages, read all the same.
        "line_items": (0..300)
            .map(|i| json!({"id": 866550311 + i, "title": "Rain jacket", "quantity": 1,
                            "sku": format!("JKT-{i:03}"), "price": "120.00",
                            "properties": [{"name": "engraving", "value": "Tom"}]}))
            .collect::<Vec<_>>(),
    });
    let size = serde_json::to_vec(&order).expect("json").len();
    assert!(size > 32 * 1024, "{size} bytes");
    let (status, v) = shopify(&s, SHOP_SECRET, "orders/updated", "w-3", &order).await;
    assert_eq!((status, v["notified"].as_i64()), (200, Some(0)), "{v}");
    assert_eq!(deliver(&s).await, 1);
    assert_eq!(
        bot_texts(&s, &a, &a_token, "has been delivered")
            .await
            .len(),
        1
    );
    for fragment in ["out for delivery", "has been delivered"] {
        assert!(bot_texts(&s, &b, &b_token, fragment).await.is_empty());
    }

    // Topics without an order number, and carrier statuses with no notice: 200, nothing.
    let (status, v) = shopify(
        &s,
        SHOP_SECRET,
        "refunds/create",
        "w-4",
        &json!({"id": 509562969, "order_id": 450789469}),
    )
    .await;
    assert_eq!((status, v["notified"].as_i64()), (200, Some(0)), "{v}");
    assert!(v["ignored"].as_str().is_some(), "{v}");
    let failed = fulfillment(Some("attempted_delivery"), &at(2));
    let (status, v) = shopify(&s, SHOP_SECRET, "fulfillments/update", "w-5", &failed).await;
    assert_eq!((status, v["notified"].as_i64()), (200, Some(0)), "{v}");
    assert_eq!(deliver(&s).await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_webhooks_are_off_without_a_secret() {
    let s = server::start("wh-off", server::unlimited(), WebSettings::default()).await;
    let (status, v) = deliver_raw(
        &s,
        "/api/v1/webhooks/woocommerce",
        &[],
        b"webhook_id=17".to_vec(),
    )
    .await;
    assert_eq!(
        (status, v["error"].as_str()),
        (404, Some("disabled")),
        "{v}"
    );
    assert!(
        v["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("DESTEK_NOTICES_WOOCOMMERCE_WEBHOOK_SECRET"),
        "{v}"
    );
    let out = fulfillment(Some("delivered"), &at(1));
    let (status, v) = shopify(&s, SHOP_SECRET, "fulfillments/update", "w-1", &out).await;
    assert_eq!(
        (status, v["error"].as_str()),
        (404, Some("disabled")),
        "{v}"
    );
    // One platform's secret opens only that platform's endpoint.
    let only_woo = server::start(
        "wh-only-woo",
        server::unlimited(),
        web(Secrets {
            woocommerce: Some(WOO_SECRET.into()),
            shopify: None,
        }),
    )
    .await;
    let (status, _) = shopify(&only_woo, WOO_SECRET, "fulfillments/update", "w-1", &out).await;
    assert_eq!(status, 404);
}

/// `destek` with only this configuration file (no `DESTEK_*` from the caller).
fn destek(config: &std::path::Path) -> std::process::Command {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_destek"));
    cmd.arg("--config").arg(config);
    for (k, _) in std::env::vars() {
        if k.starts_with("DESTEK_") || k == "TELOXIDE_TOKEN" {
            cmd.env_remove(k);
        }
    }
    cmd
}

#[test]
fn check_names_an_unreadable_secret_file_and_says_which_webhooks_are_on() {
    let dir = std::env::temp_dir().join(format!("destek-webhook-check-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    let config = dir.join("destek.yaml");
    let missing = dir.join("no-such-secret");
    std::fs::write(
        &config,
        format!(
            "storage: {{url: \"sqlite://{}\"}}\n\
             orders: {{source: memory}}\n\
             notices: {{woocommerce_webhook_secret_file: \"{}\"}}\n",
            dir.join("destek.db").display(),
            missing.display()
        ),
    )
    .expect("config");
    let out = destek(&config).arg("check").output().expect("destek check");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{out:?}");
    assert!(
        err.contains("notices.woocommerce_webhook_secret_file") && err.contains("no-such-secret"),
        "{err}"
    );

    std::fs::write(&missing, format!("{WOO_SECRET}\n")).expect("secret file");
    let out = destek(&config).arg("check").output().expect("destek check");
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{out:?}");
    assert!(
        said.contains("WooCommerce on at POST /api/v1/webhooks/woocommerce")
            && said.contains("Shopify off"),
        "{said}"
    );
    assert!(!said.contains(WOO_SECRET), "the secret is never printed");

    // The secret itself in the YAML is refused, naming where it belongs.
    std::fs::write(
        &config,
        "orders: {source: memory}\nnotices: {shopify_webhook_secret: \"shpss_x\"}\n",
    )
    .expect("config");
    let out = destek(&config).arg("check").output().expect("destek check");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("DESTEK_NOTICES_SHOPIFY_WEBHOOK_SECRET") && !err.contains("shpss_x"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
