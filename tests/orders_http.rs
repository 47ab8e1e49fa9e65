//! `HttpOrders` against a real shop API: an axum server on 127.0.0.1 started by each test,
//! answering per order id (a normal order, 404, 500, slow, malformed JSON) and counting
//! the requests that reach it.

use axum::Json;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use destek::orders::http::{HttpOrders, HttpOrdersConfig};
use destek::orders::{Item, Order, OrderBackend, OrderStatus, ReturnCreated};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const TOKEN: &str = "s3cret-t0ken";

/// The shop's side: how often each order id was asked for, and the POST bodies received.
#[derive(Default)]
struct Shop {
    hits: Mutex<HashMap<String, u32>>,
    posts: Mutex<Vec<(String, Value)>>,
}

impl Shop {
    fn hit(&self, id: &str) {
        let mut hits = self.hits.lock().expect("hits");
        *hits.entry(id.to_owned()).or_default() += 1;
    }

    fn hits(&self, id: &str) -> u32 {
        self.hits
            .lock()
            .expect("hits")
            .get(id)
            .copied()
            .unwrap_or(0)
    }
}

fn authorised(headers: &HeaderMap) -> bool {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        == Some(&format!("Bearer {TOKEN}"))
}

/// An order as a shop would send it: optional fields left out, `payment_method` included.
fn order_json(id: &str) -> Value {
    json!({
        "order_id": id,
        "status": "shipped",
        "email": "ayse@example.com",
        "phone": "+90 532 111 22 33",
        "placed_at": "2025-03-10",
        "shipped_at": "2025-03-12",
        "carrier": "Yurtiçi Kargo",
        "items": [{"sku": "MUG-01", "name": "Seramik kupa", "qty": 2, "price": 149.9}],
        "total": 299.8,
        "currency": "TRY",
        "payment_method": "card"
    })
}

fn expected_order(id: &str) -> Order {
    Order {
        order_id: id.into(),
        status: OrderStatus::Shipped,
        email: "ayse@example.com".into(),
        phone: "+90 532 111 22 33".into(),
        placed_at: "2025-03-10".into(),
        shipped_at: Some("2025-03-12".into()),
        delivered_at: None,
        estimated_delivery: None,
        carrier: Some("Yurtiçi Kargo".into()),
        tracking_number: None,
        tracking_url: None,
        items: vec![Item {
            sku: "MUG-01".into(),
            name: "Seramik kupa".into(),
            qty: 2,
            price: 149.9,
        }],
        total: 299.8,
        currency: "TRY".into(),
        refund: None,
        payment_method: Some("card".into()),
        address: None,
    }
}

async fn get_order(
    State(shop): State<Arc<Shop>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    shop.hit(&id);
    if !authorised(&headers) {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    match id.as_str() {
        "100" | "a/b c?#%" => Json(order_json(&id)).into_response(),
        "500" => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
        "slow" => {
            tokio::time::sleep(Duration::from_secs(10)).await;
            Json(order_json(&id)).into_response()
        }
        "bad-json" => {
            let headers = [(header::CONTENT_TYPE, "application/json")];
            (headers, r#"{"order_id": "bad-json", "status": "#).into_response()
        }
        _ => StatusCode::NOT_FOUND.into_response(),
    }
}

/// `GET /orders?email=…` / `?phone=…`: one order for Ayşe's e-mail or phone, plus one
/// for someone else that a careless shop might send along.
async fn orders_by_contact(
    State(shop): State<Arc<Shop>>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    shop.hit("by-contact");
    if !authorised(&headers) {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    let ours = q.get("email").map(String::as_str) == Some("AYSE@example.com")
        || q.get("phone").map(String::as_str) == Some("05321112233");
    if !ours {
        return Json(json!([])).into_response();
    }
    let mut other = order_json("999");
    other["email"] = json!("someone.else@example.com");
    other["phone"] = json!("+90 555 000 00 00");
    Json(json!([order_json("100"), other])).into_response()
}

/// The POST routes: `action` is the last path segment, the body must be what the bot
/// is expected to send.
async fn post_action(
    State(shop): State<Arc<Shop>>,
    Path((id, action)): Path<(String, String)>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    shop.hit(&id);
    if !authorised(&headers) {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    shop.posts
        .lock()
        .expect("posts")
        .push((format!("{id}/{action}"), body.clone()));
    match (id.as_str(), action.as_str()) {
        ("500", _) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
        ("100", "cancel") if body == json!({}) => StatusCode::NO_CONTENT.into_response(),
        ("shipped", "cancel") => StatusCode::CONFLICT.into_response(),
        ("100", "returns") if body == json!({"items": ["MUG-01"], "reason": "too small"}) => {
            Json(json!({"return_id": "R-100-1", "label_url": "https://shop.test/l/1.pdf"}))
                .into_response()
        }
        ("bad-json", "returns") => "not json".into_response(),
        ("100", "address") if body == json!({"address": "Moda Cad. 5, Kadıköy"}) => {
            StatusCode::OK.into_response()
        }
        _ => StatusCode::BAD_REQUEST.into_response(),
    }
}

/// `POST /verification-codes`: the shop texts a code (it says 202 whatever the phone).
async fn send_code(
    State(shop): State<Arc<Shop>>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    shop.hit("send-code");
    if !authorised(&headers) {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    shop.posts
        .lock()
        .expect("posts")
        .push(("verification-codes".into(), body));
    StatusCode::ACCEPTED.into_response()
}

/// `POST /verification-codes/check`: 482917 is the code texted to Ayşe's phone; the shop
/// answers with her orders (and, carelessly, someone else's).
async fn check_code(headers: HeaderMap, Json(body): Json<Value>) -> Response {
    if !authorised(&headers) {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    if body != json!({"phone": "05321112233", "code": "482917"}) {
        return Json(json!([])).into_response();
    }
    let mut other = order_json("999");
    other["phone"] = json!("+90 555 000 00 00");
    Json(json!([order_json("100"), other])).into_response()
}

/// Starts the shop API under `/api` on a free local port; returns its base URL.
async fn serve() -> (String, Arc<Shop>) {
    let shop = Arc::new(Shop::default());
    let api = Router::new()
        .route("/orders", get(orders_by_contact))
        .route("/orders/{id}", get(get_order))
        .route("/orders/{id}/{action}", post(post_action))
        .route("/verification-codes", post(send_code))
        .route("/verification-codes/check", post(check_code))
        .with_state(Arc::clone(&shop));
    let app = Router::new().nest("/api", api);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind a local port");
    let addr = listener.local_addr().expect("local address");
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}/api"), shop)
}

fn config(base_url: &str) -> HttpOrdersConfig {
    HttpOrdersConfig {
        token: Some(TOKEN.into()),
        ..HttpOrdersConfig::new(base_url)
    }
}

fn client(config: HttpOrdersConfig) -> HttpOrders {
    HttpOrders::new(config).expect("client")
}

#[tokio::test]
async fn an_order_is_fetched_with_the_bearer_token() {
    let (base, shop) = serve().await;
    let orders = client(config(&base));
    assert_eq!(orders.order("100").await, Ok(Some(expected_order("100"))));
    assert_eq!(shop.hits("100"), 1);
}

#[tokio::test]
async fn without_the_token_the_shop_says_401_and_it_is_not_retried() {
    let (base, shop) = serve().await;
    let orders = client(HttpOrdersConfig::new(&base));
    let err = orders.order("100").await.expect_err("401");
    assert!(err.0.contains("401"), "{err}");
    assert_eq!(shop.hits("100"), 1);
}

#[tokio::test]
async fn the_order_id_is_one_percent_encoded_segment() {
    let (base, _shop) = serve().await;
    let orders = client(config(&base));
    let order = orders.order("a/b c?#%").await;
    assert_eq!(order, Ok(Some(expected_order("a/b c?#%"))));
}

#[tokio::test]
async fn an_unknown_order_is_none() {
    let (base, shop) = serve().await;
    let orders = client(config(&base));
    assert_eq!(orders.order("404").await, Ok(None));
    assert_eq!(shop.hits("404"), 1);
}

#[tokio::test]
async fn a_failing_lookup_is_retried_then_fails_without_naming_the_token() {
    let (base, shop) = serve().await;
    let orders = client(HttpOrdersConfig {
        retries: 2,
        ..config(&base)
    });
    let err = orders.order("500").await.expect_err("500");
    assert_eq!(shop.hits("500"), 3, "one try and two retries");
    assert!(err.0.contains("500"), "{err}");
    assert!(!err.to_string().contains(TOKEN));
}

#[tokio::test]
async fn changes_are_never_retried() {
    let (base, shop) = serve().await;
    let orders = client(config(&base));
    assert!(orders.cancel("500").await.is_err());
    assert_eq!(shop.hits("500"), 1);
}

#[tokio::test]
async fn a_slow_shop_times_out_quickly() {
    let (base, shop) = serve().await;
    let orders = client(HttpOrdersConfig {
        timeout: Duration::from_millis(200),
        retries: 1,
        ..config(&base)
    });
    let started = Instant::now();
    let err = orders.order("slow").await.expect_err("timeout");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(shop.hits("slow"), 2, "a timeout is retried");
    assert!(err.0.contains("no answer within"), "{err}");
}

#[tokio::test]
async fn malformed_json_is_an_error() {
    let (base, _shop) = serve().await;
    let orders = client(config(&base));
    let err = orders.order("bad-json").await.expect_err("malformed order");
    assert!(err.0.contains("malformed order"), "{err}");
    let err = orders.start_return("bad-json", vec![], "x".into()).await;
    assert!(err.is_err());
}

#[tokio::test]
async fn the_breaker_fails_fast_then_lets_a_trial_through() {
    let (base, shop) = serve().await;
    let orders = client(HttpOrdersConfig {
        retries: 0,
        breaker_threshold: 3,
        breaker_cooldown: Duration::from_millis(200),
        ..config(&base)
    });
    for _ in 0..3 {
        assert!(orders.order("500").await.is_err());
    }
    assert_eq!(shop.hits("500"), 3);

    // Open: calls fail without reaching the shop, whatever the order.
    assert!(orders.order("500").await.is_err());
    assert!(orders.order("100").await.is_err());
    assert_eq!((shop.hits("500"), shop.hits("100")), (3, 0));

    // Half-open: one trial; it fails, so the circuit opens again.
    tokio::time::sleep(Duration::from_millis(250)).await;
    assert!(orders.order("500").await.is_err());
    assert_eq!(shop.hits("500"), 4);
    assert!(orders.order("100").await.is_err());
    assert_eq!(shop.hits("100"), 0);

    // The next trial succeeds and closes it: calls reach the shop again.
    tokio::time::sleep(Duration::from_millis(250)).await;
    assert_eq!(orders.order("100").await, Ok(Some(expected_order("100"))));
    assert!(orders.order("500").await.is_err());
    assert!(orders.order("404").await.is_ok());
    assert_eq!(
        (shop.hits("100"), shop.hits("500"), shop.hits("404")),
        (1, 5, 1)
    );
}

#[tokio::test]
async fn cancel_returns_and_address_send_their_bodies() {
    let (base, shop) = serve().await;
    let orders = client(config(&base));
    assert_eq!(orders.cancel("100").await, Ok(()));
    let refused = orders.cancel("shipped").await.expect_err("409");
    assert!(refused.0.contains("409"), "{refused}");

    let created = orders
        .start_return("100", vec!["MUG-01".into()], "too small".into())
        .await;
    let expected = ReturnCreated {
        return_id: "R-100-1".into(),
        label_url: Some("https://shop.test/l/1.pdf".into()),
    };
    assert_eq!(created, Ok(expected));

    let address = "Moda Cad. 5, Kadıköy".to_owned();
    assert_eq!(orders.change_address("100", address).await, Ok(()));
    assert!(orders.change_address("100", "wrong".into()).await.is_err());

    let posts = shop.posts.lock().expect("posts").clone();
    let paths: Vec<_> = posts.iter().map(|(path, _)| path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "100/cancel",
            "shipped/cancel",
            "100/returns",
            "100/address",
            "100/address"
        ]
    );
    assert_eq!(posts[3].1, json!({"address": "Moda Cad. 5, Kadıköy"}));
}

#[tokio::test]
async fn orders_are_found_by_email_or_phone_and_only_those_carrying_it() {
    use destek::orders::Contact;
    let (base, shop) = serve().await;
    let orders = client(config(&base));
    let by_email = orders
        .orders_by_contact(Contact::Email("AYSE@example.com".into()))
        .await
        .expect("lookup by e-mail");
    assert_eq!(by_email, vec![expected_order("100")]);
    let by_phone = orders
        .orders_by_contact(Contact::Phone("05321112233".into()))
        .await
        .expect("lookup by phone");
    assert_eq!(by_phone, vec![expected_order("100")]);
    let none = orders
        .orders_by_contact(Contact::Email("nobody@example.com".into()))
        .await
        .expect("lookup of an unknown contact");
    assert!(none.is_empty());
    assert_eq!(shop.hits("by-contact"), 3);
}

#[tokio::test]
async fn one_time_codes_are_sent_and_checked_by_the_shop() {
    use destek::orders::Contact;
    let (base, shop) = serve().await;
    let orders = client(config(&base));
    let phone = Contact::Phone("05321112233".into());
    assert!(orders.send_code(phone.clone()).await.expect("send"));
    assert_eq!(
        shop.posts.lock().expect("posts").last(),
        Some(&(
            "verification-codes".to_owned(),
            json!({"phone": "05321112233"})
        ))
    );
    let wrong = orders
        .check_code(phone.clone(), "111111".into())
        .await
        .expect("check a wrong code");
    assert!(wrong.is_empty(), "a wrong code opens nothing");
    let right = orders
        .check_code(phone, "482917".into())
        .await
        .expect("check the right code");
    assert_eq!(
        right,
        vec![expected_order("100")],
        "only orders carrying the phone"
    );
    // A shop without the endpoint does not text codes: the bot asks for the e-mail instead.
    let plain = client(config(&format!("{base}/no-codes")));
    assert!(
        !plain
            .send_code(Contact::Phone("05321112233".into()))
            .await
            .expect("send")
    );
    assert!(
        !orders
            .send_code(Contact::Email("AYSE@example.com".into()))
            .await
            .expect("an e-mail gets no code")
    );
}
