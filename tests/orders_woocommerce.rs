//! `orders.source: woocommerce` against a local stand-in for a WooCommerce shop's REST API
//! (tests/support/fake_woocommerce.rs): whole conversations through destek's HTTP API —
//! status after verification and nothing before, cancel, address change, a return as a
//! private order note — and the backend's own answers to a bad key, a read-only key,
//! pagination and query-string keys.

#[path = "support/fake_woocommerce.rs"]
mod fake;
#[path = "support/server.rs"]
mod server;

use destek::orders::transport::Resilience;
use destek::orders::woocommerce::{SHORT_ORDER_FORMAT, Settings, WooCommerce};
use destek::orders::{Contact, OrderBackend, OrderStatus, today_utc};
use destek::{Bot, pack};
use serde_json::{Value, json};
use server::{Server, unlimited};
use std::sync::Arc;

fn settings(base: &str) -> Settings {
    Settings {
        base_url: base.to_owned(),
        consumer_key: fake::KEY.into(),
        consumer_secret: fake::SECRET.into(),
        query_string_auth: false,
        resilience: Resilience::default(),
    }
}

fn backend(base: &str) -> WooCommerce {
    WooCommerce::new(settings(base)).expect("a WooCommerce client")
}

/// The default pack with WooCommerce's short order numbers, as `destek serve` builds it.
fn bot() -> Bot {
    let options = pack::Options {
        short_order_formats: vec![SHORT_ORDER_FORMAT.to_owned()],
        ..pack::Options::default()
    };
    pack::compile(&pack::embedded(), &options)
        .bot
        .expect("default pack")
}

/// Ayşe's order: id 8123, number 5522 (a sequential-number extension), processing. Order
/// id 5522 is someone else's (number 5400), shipped with tracking: asking WooCommerce for
/// id 5522 finds the wrong order.
fn shop_orders() -> Vec<Value> {
    let ayse = fake::order(
        8123,
        "5522",
        "processing",
        "ayse@example.com",
        "0532 111 22 33",
    );
    let mut other = fake::with_tracking(
        fake::order(
            5522,
            "5400",
            "completed",
            "ali@example.com",
            "0555 444 33 22",
        ),
        "Yurtiçi Kargo",
        "YK5400",
    );
    other["line_items"][0]["name"] = json!("Gizli ürün");
    let shipped = fake::with_tracking(
        fake::order(77, "77", "completed", "ayse@example.com", "0532 111 22 33"),
        "Aras Kargo",
        "AR77",
    );
    // Completed without tracking: delivered, today, so a return is within the window.
    let mut delivered = fake::order(90, "90", "completed", "ayse@example.com", "0532 111 22 33");
    delivered["date_completed"] = json!(format!("{}T09:00:00", today_utc()));
    vec![ayse, other, shipped, delivered]
}

async fn start(name: &str) -> (fake::FakeWoo, Server) {
    let shop = fake::start(shop_orders()).await;
    let orders: Arc<dyn OrderBackend> = Arc::new(backend(&shop.base));
    let server = server::start_with(name, bot(), orders, unlimited(), Default::default()).await;
    (shop, server)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_status_comes_only_after_verification_and_for_the_number_typed() {
    let (shop, server) = start("woo-status").await;
    let (id, token) = server.conversation_in("en").await;
    let first = server.reply(&id, &token, "where is my order 5522?").await;
    assert!(first.contains("e-mail"), "asks to verify: {first}");
    for secret in ["Seramik", "Gizli", "5400", "processing", "prepared"] {
        assert!(
            !first.contains(secret),
            "nothing before verification: {first}"
        );
    }
    let wrong = server.reply(&id, &token, "ali@example.com").await;
    assert!(wrong.contains("don't match"), "{wrong}");
    assert!(
        !wrong.contains("Yurtiçi") && !wrong.contains("prepared"),
        "{wrong}"
    );
    let status = server.reply(&id, &token, "ayse@example.com").await;
    assert!(
        status.contains("5522") && status.contains("being prepared"),
        "{status}"
    );
    // Order id 5522 is another order; the number 5522 was found by search.
    let requests = shop.shop.requests();
    assert!(
        requests
            .iter()
            .any(|r| r.starts_with("GET /wp-json/wc/v3/orders/5522")),
        "{requests:?}"
    );
    assert!(
        requests
            .iter()
            .any(|r| r.starts_with("GET /wp-json/wc/v3/orders?search=5522")),
        "{requests:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_turkish_customer_with_a_short_number_hears_the_tracking() {
    let (_shop, server) = start("woo-tracking").await;
    let (id, token) = server.conversation_in("tr").await;
    let first = server.reply(&id, &token, "siparişim 77 nerede").await;
    assert!(!first.contains("AR77"), "{first}");
    let status = server.reply(&id, &token, "2233").await;
    assert!(
        status.contains("Aras Kargo") && status.contains("https://track.example/AR77"),
        "{status}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_processing_order_is_cancelled_with_a_put() {
    let (shop, server) = start("woo-cancel").await;
    let (id, token) = server.conversation_in("en").await;
    server
        .reply(&id, &token, "please cancel my order 5522")
        .await;
    let confirm = server.reply(&id, &token, "ayse@example.com").await;
    assert!(confirm.contains("cancel order 5522"), "{confirm}");
    assert_eq!(
        shop.shop.order(8123).map(|o| o["status"].clone()),
        Some(json!("processing")),
        "nothing changes before the yes"
    );
    let done = server.press(&id, &token, "yes").await;
    assert!(done.contains("is cancelled"), "{done}");
    assert_eq!(
        shop.shop.order(8123).map(|o| o["status"].clone()),
        Some(json!("cancelled"))
    );
    assert!(
        shop.shop
            .requests()
            .iter()
            .any(|r| r == "PUT /wp-json/wc/v3/orders/8123")
    );
}

#[tokio::test]
async fn a_shipped_order_cannot_be_cancelled_by_the_backend_either() {
    let shop = fake::start(shop_orders()).await;
    let woo = backend(&shop.base);
    let err = woo.cancel("77").await.expect_err("completed");
    assert!(err.0.contains("completed"), "{err}");
    assert!(
        !shop.shop.requests().iter().any(|r| r.starts_with("PUT")),
        "no change was sent"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_new_address_replaces_the_street_lines() {
    let (shop, server) = start("woo-address").await;
    let (id, token) = server.conversation_in("en").await;
    server
        .reply(
            &id,
            &token,
            "I need to change the delivery address of order 5522",
        )
        .await;
    let ask = server.reply(&id, &token, "ayse@example.com").await;
    assert!(ask.contains("new delivery address"), "{ask}");
    let confirm = server
        .reply(&id, &token, "Bağdat Cad. 100 Daire 4, Kadıköy")
        .await;
    assert!(confirm.contains("Bağdat Cad. 100"), "{confirm}");
    let done = server.press(&id, &token, "yes").await;
    assert!(done.contains("is now"), "{done}");
    let order = shop.shop.order(8123).expect("the order");
    assert_eq!(
        order["shipping"]["address_1"],
        json!("Bağdat Cad. 100 Daire 4, Kadıköy")
    );
    assert_eq!(
        order["shipping"]["city"],
        json!("İstanbul"),
        "the rest stays"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_return_becomes_a_private_order_note_whose_id_is_the_return_code() {
    let (shop, server) = start("woo-return").await;
    let (id, token) = server.conversation_in("en").await;
    server
        .reply(&id, &token, "I want to return something from order 90")
        .await;
    let which = server.reply(&id, &token, "ayse@example.com").await;
    assert!(which.contains("Which item"), "{which}");
    let why = server.reply(&id, &token, "Seramik kupa").await;
    assert!(why.contains("Why"), "{why}");
    let done = server.press(&id, &token, "reason:size").await;
    let notes = shop.shop.notes(90);
    assert_eq!(notes.len(), 1, "{notes:?}");
    let note = &notes[0];
    assert_eq!(note["customer_note"], json!(false), "a private note");
    let text = note["note"].as_str().unwrap_or("");
    assert!(
        text.contains("Seramik kupa") && text.contains("MUG-01"),
        "{text}"
    );
    assert!(!text.contains("Çay tabağı"), "only the chosen item: {text}");
    let code = note["id"].to_string();
    assert!(done.contains(&format!("Return code: {code}")), "{done}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_key_is_a_clear_error_and_a_polite_reply() {
    let shop = fake::start(shop_orders()).await;
    let wrong = WooCommerce::new(Settings {
        consumer_secret: "cs_wrong".into(),
        ..settings(&shop.base)
    })
    .expect("client");
    let err = wrong.order("5522").await.expect_err("401");
    assert!(err.0.contains("401"), "{err}");
    assert!(err.0.contains("consumer key or secret"), "{err}");
    assert!(
        !err.0.contains("cs_wrong"),
        "the secret is never in an error"
    );
    let ping = wrong.ping().await.expect_err("401");
    assert!(ping.0.contains("Consumer secret is invalid"), "{ping}");

    let orders: Arc<dyn OrderBackend> = Arc::new(wrong);
    let server =
        server::start_with("woo-badkey", bot(), orders, unlimited(), Default::default()).await;
    let (id, token) = server.conversation_in("en").await;
    server.reply(&id, &token, "where is my order 5522?").await;
    let reply = server.reply(&id, &token, "ayse@example.com").await;
    assert!(reply.contains("can't reach our order system"), "{reply}");
}

#[tokio::test]
async fn ping_reads_one_order_and_names_a_wrong_url() {
    let shop = fake::start(shop_orders()).await;
    let ok = backend(&shop.base).ping().await.expect("ping");
    assert!(ok.contains("4 orders"), "{ok}");
    let wrong = backend(&format!("{}/shop", shop.base)).ping().await;
    let err = wrong.expect_err("no route");
    assert!(err.0.contains("base_url"), "{err}");
}

#[tokio::test]
async fn a_read_only_key_says_so_when_it_must_write() {
    let shop = fake::start(shop_orders()).await;
    *shop.shop.read_only.lock().expect("flag") = true;
    let err = backend(&shop.base).cancel("5522").await.expect_err("401");
    assert!(err.0.contains("read-only"), "{err}");
}

#[tokio::test]
async fn keys_in_the_query_string_when_the_server_drops_the_header() {
    let shop = fake::start(shop_orders()).await;
    let woo = WooCommerce::new(Settings {
        query_string_auth: true,
        ..settings(&shop.base)
    })
    .expect("client");
    let order = woo.order("77").await.expect("lookup").expect("order 77");
    assert_eq!(order.status, OrderStatus::Shipped);
    assert_eq!(order.tracking_number.as_deref(), Some("AR77"));
}

#[tokio::test]
async fn orders_by_contact_follow_the_pages_and_keep_only_that_customer() {
    let mut orders = shop_orders();
    for i in 0..25u64 {
        let mut o = fake::order(
            1000 + i,
            &(1000 + i).to_string(),
            "completed",
            "mehmet@example.com",
            "0555 000 00 00",
        );
        o["date_created"] = json!(format!("2026-02-{:02}T10:00:00", 1 + i));
        orders.push(o);
    }
    // Someone whose address mentions the e-mail's text is found by WooCommerce's search
    // but is not this customer.
    let mut lookalike = fake::order(
        2000,
        "2000",
        "processing",
        "not.mehmet@example.org",
        "0555 999 00 00",
    );
    lookalike["shipping"]["address_1"] = json!("mehmet@example.com sokak");
    orders.push(lookalike);
    let shop = fake::start(orders).await;
    let found = backend(&shop.base)
        .orders_by_contact(Contact::Email("Mehmet@Example.com".into()))
        .await
        .expect("lookup");
    assert_eq!(found.len(), 25);
    assert_eq!(found[0].order_id, "1024", "newest first");
    let pages: Vec<String> = shop
        .shop
        .requests()
        .into_iter()
        .filter(|r| r.contains("search=Mehmet"))
        .collect();
    assert_eq!(pages.len(), 2, "{pages:?}");
}

#[tokio::test]
async fn an_unknown_number_is_no_order() {
    let shop = fake::start(shop_orders()).await;
    assert_eq!(backend(&shop.base).order("4444").await, Ok(None));
    assert_eq!(
        backend(&shop.base)
            .order("5400")
            .await
            .map(|o| o.map(|o| o.email)),
        Ok(Some("ali@example.com".into()))
    );
}

#[tokio::test]
async fn a_shop_that_is_down_is_retried_then_the_circuit_opens() {
    // Nothing listens on port 1 of this machine.
    let woo = WooCommerce::new(Settings {
        resilience: Resilience {
            breaker_threshold: 2,
            ..Resilience::default()
        },
        ..settings("http://127.0.0.1:1")
    })
    .expect("client");
    for _ in 0..2 {
        let err = woo.order("5522").await.expect_err("down");
        assert!(err.0.contains("cannot connect"), "{err}");
    }
    let err = woo.order("5522").await.expect_err("open circuit");
    assert!(err.0.contains("circuit open"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_persian_customer_with_a_short_number_in_persian_digits() {
    let (shop, server) = start("woo-fa").await;
    let (id, token) = server.conversation_in("fa").await;
    let first = server.reply(&id, &token, "سفارش ۵۵۲۲ کجاست؟").await;
    assert!(
        !first.contains("Seramik"),
        "nothing before verification: {first}"
    );
    let status = server.reply(&id, &token, "ayse@example.com").await;
    // Echoed in the digits the customer typed.
    assert!(status.contains("۵۵۲۲"), "{status}");
    assert!(
        shop.shop
            .requests()
            .iter()
            .any(|r| r.starts_with("GET /wp-json/wc/v3/orders/5522")),
        "the number was read from Persian digits"
    );
}
