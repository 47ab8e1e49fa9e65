//! `orders.source: shopify` against a local stand-in for a shop's GraphQL Admin API
//! (tests/support/fake_shopify.rs): conversations through destek's HTTP API — status by
//! the order name after verification, cancel (an asynchronous job), address change,
//! return — and the backend's answers to a bad token, a missing scope and throttling.

#[path = "support/fake_shopify.rs"]
mod fake;
#[path = "support/server.rs"]
mod server;

use destek::orders::shopify::{API_VERSION, SHORT_ORDER_FORMAT, Settings, Shopify};
use destek::orders::transport::Resilience;
use destek::orders::{Contact, OrderBackend, OrderStatus, today_utc};
use destek::{Bot, pack};
use serde_json::{Value, json};
use server::{Server, unlimited};
use std::sync::Arc;

fn settings(base: &str) -> Settings {
    Settings {
        base_url: base.to_owned(),
        token: fake::TOKEN.into(),
        api_version: API_VERSION.into(),
        resilience: Resilience::default(),
    }
}

fn backend(base: &str) -> Shopify {
    Shopify::new(settings(base)).expect("a Shopify client")
}

fn bot() -> Bot {
    let options = pack::Options {
        short_order_formats: vec![SHORT_ORDER_FORMAT.to_owned()],
        ..pack::Options::default()
    };
    pack::compile(&pack::embedded(), &options)
        .bot
        .expect("default pack")
}

/// #1001 in transit with UPS, #1002 paid and unfulfilled, #1003 delivered today.
fn shop_orders() -> Vec<Value> {
    let today = today_utc().to_string();
    vec![
        fake::order(1001, "tom@example.com", Some(("2026-03-02", None))),
        fake::order(1002, "tom@example.com", None),
        fake::order(
            1003,
            "tom@example.com",
            Some((today.as_str(), Some(today.as_str()))),
        ),
    ]
}

async fn start(name: &str) -> (fake::FakeShopify, Server) {
    let shop = fake::start(shop_orders()).await;
    assert_eq!(
        fake::VERSION,
        API_VERSION,
        "the stand-in speaks the pinned version"
    );
    let orders: Arc<dyn OrderBackend> = Arc::new(backend(&shop.base));
    let server = server::start_with(name, bot(), orders, unlimited(), Default::default()).await;
    (shop, server)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_status_of_a_named_order_comes_after_verification() {
    let (shop, server) = start("shopify-status").await;
    let (id, token) = server.conversation().await;
    let first = server.reply(&id, &token, "hi, where is #1001?").await;
    assert!(first.contains("e-mail"), "{first}");
    assert!(
        !first.contains("UPS") && !first.contains("1Z1001"),
        "{first}"
    );
    let status = server.reply(&id, &token, "tom@example.com").await;
    assert!(
        status.contains("1001")
            && status.contains("UPS")
            && status.contains("https://ups.example/1Z1001"),
        "{status}"
    );
    assert!(shop.shop.calls().iter().all(|c| c == "FindOrders"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancel_runs_order_cancel_and_waits_for_its_job() {
    let (shop, server) = start("shopify-cancel").await;
    let (id, token) = server.conversation().await;
    server
        .reply(&id, &token, "I want to cancel my order 1002")
        .await;
    let confirm = server.reply(&id, &token, "tom@example.com").await;
    assert!(confirm.contains("cancel order 1002"), "{confirm}");
    assert!(shop.shop.mutations().is_empty(), "nothing before the yes");
    let done = server.press(&id, &token, "yes").await;
    assert!(done.contains("is cancelled"), "{done}");
    let mutations = shop.shop.mutations();
    assert_eq!(mutations.len(), 1);
    assert_eq!(mutations[0].0, "OrderCancel");
    assert_eq!(
        mutations[0].1["orderId"],
        json!("gid://shopify/Order/5001002")
    );
    assert!(
        shop.shop.calls().contains(&"Job".to_owned()),
        "the job was asked about"
    );
    let order = shop.shop.order("#1002").expect("order");
    assert!(!order["cancelledAt"].is_null());
}

#[tokio::test]
async fn a_cancelled_order_is_refused_with_shopifys_words() {
    let mut orders = shop_orders();
    orders[1]["cancelledAt"] = json!("2026-03-02T00:00:00Z");
    let shop = fake::start(orders).await;
    let err = backend(&shop.base)
        .cancel("1002")
        .await
        .expect_err("cancelled");
    assert!(err.0.contains("already cancelled"), "{err}");
    assert!(shop.shop.mutations().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_address_changes_with_order_update() {
    let (shop, server) = start("shopify-address").await;
    let (id, token) = server.conversation().await;
    server
        .reply(
            &id,
            &token,
            "please change the shipping address for order #1002",
        )
        .await;
    let ask = server.reply(&id, &token, "tom@example.com").await;
    assert!(ask.contains("new delivery address"), "{ask}");
    server
        .reply(&id, &token, "118 Birch Ave Apt 7, Springfield IL 62711")
        .await;
    let done = server.press(&id, &token, "yes").await;
    assert!(done.contains("is now"), "{done}");
    let order = shop.shop.order("#1002").expect("order");
    assert_eq!(
        order["shippingAddress"]["address1"],
        json!("118 Birch Ave Apt 7, Springfield IL 62711")
    );
    assert_eq!(order["shippingAddress"]["address2"], json!(""));
    assert_eq!(
        order["shippingAddress"]["zip"],
        json!("62704"),
        "the rest stays"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_return_is_requested_for_the_fulfilled_line_item() {
    let (shop, server) = start("shopify-return").await;
    let (id, token) = server.conversation().await;
    server
        .reply(&id, &token, "I'd like to return order #1003")
        .await;
    let why = server.reply(&id, &token, "tom@example.com").await;
    assert!(
        why.contains("Why are you returning the Rain jacket"),
        "one item: {why}"
    );
    let done = server.press(&id, &token, "reason:size").await;
    assert!(done.contains("Return code: 901"), "{done}");
    let mutations = shop.shop.mutations();
    let (op, vars) = mutations.last().expect("a mutation");
    assert_eq!(op, "ReturnRequest");
    assert_eq!(
        vars["input"]["returnLineItems"][0]["fulfillmentLineItemId"],
        json!("gid://shopify/FulfillmentLineItem/10031")
    );
}

#[tokio::test]
async fn a_throttled_query_is_retried_once_the_bucket_refills() {
    let shop = fake::start(shop_orders()).await;
    // Empty bucket, 200 points a second: the 62-point search fits after about 0.3 s.
    shop.shop.drain(200.0);
    let order = backend(&shop.base)
        .order("#1001")
        .await
        .expect("answered after the wait")
        .expect("order #1001");
    assert_eq!(order.status, OrderStatus::Shipped);
    let calls = shop.shop.calls();
    assert!(calls.len() >= 2, "throttled, then retried: {calls:?}");
    assert!(calls.iter().all(|c| c == "FindOrders"));
}

#[tokio::test]
async fn a_bucket_that_does_not_refill_in_time_is_a_clear_error() {
    let shop = fake::start(shop_orders()).await;
    shop.shop.drain(0.0);
    let err = backend(&shop.base)
        .order("#1001")
        .await
        .expect_err("throttled");
    assert!(err.0.contains("THROTTLED"), "{err}");
    assert_eq!(shop.shop.calls().len(), 4, "one try and three retries");
}

#[tokio::test]
async fn a_bad_token_and_a_missing_scope_are_named() {
    let shop = fake::start(shop_orders()).await;
    let wrong = Shopify::new(Settings {
        token: "shpat_wrong".into(),
        ..settings(&shop.base)
    })
    .expect("client");
    let err = wrong.ping().await.expect_err("401");
    assert!(
        err.0.contains("401") && err.0.contains("access token"),
        "{err}"
    );
    assert!(!err.0.contains("shpat_wrong"));

    shop.shop
        .scopes
        .lock()
        .expect("scopes")
        .retain(|s| *s != "read_orders");
    let err = backend(&shop.base).ping().await.expect_err("scope");
    assert!(
        err.0.contains("ACCESS_DENIED") && err.0.contains("read_orders"),
        "{err}"
    );

    let wrong_version = Shopify::new(Settings {
        api_version: "2019-04".into(),
        ..settings(&shop.base)
    })
    .expect("client");
    let err = wrong_version.ping().await.expect_err("404");
    assert!(err.0.contains("api_version"), "{err}");
}

#[tokio::test]
async fn ping_names_the_shop() {
    let shop = fake::start(shop_orders()).await;
    let ok = backend(&shop.base).ping().await.expect("ping");
    assert!(ok.contains("Demo Store") && ok.contains("#1003"), "{ok}");
}

#[tokio::test]
async fn orders_by_email_newest_first_and_only_that_customer() {
    let mut orders = shop_orders();
    orders.push(fake::order(1004, "someone@example.com", None));
    orders[2]["createdAt"] = json!("2026-03-05T10:00:00Z");
    let shop = fake::start(orders).await;
    let found = backend(&shop.base)
        .orders_by_contact(Contact::Email("Tom@Example.com".into()))
        .await
        .expect("lookup");
    let ids: Vec<&str> = found.iter().map(|o| o.order_id.as_str()).collect();
    assert_eq!(ids[0], "1003", "newest first: {ids:?}");
    assert_eq!(found.len(), 3);
    assert_eq!(backend(&shop.base).order("9999").await, Ok(None));
}

#[tokio::test]
async fn a_name_that_could_change_the_search_is_no_order_and_no_call() {
    let shop = fake::start(shop_orders()).await;
    let shopify = backend(&shop.base);
    for typed in ["1001 OR email:tom@example.com", "1001\" OR \"", "*"] {
        assert_eq!(shopify.order(typed).await, Ok(None), "{typed}");
    }
    assert!(shop.shop.calls().is_empty());
}
