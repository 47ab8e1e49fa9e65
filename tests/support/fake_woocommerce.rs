//! A local stand-in for a WooCommerce shop's REST API v3 (`/wp-json/wc/v3/…`), written
//! from WooCommerce's REST API reference: consumer key/secret by HTTP Basic auth or in the
//! query string (401 `woocommerce_rest_authentication_error` otherwise), orders as
//! WooCommerce sends them (string amounts, `billing`, `shipping`, `line_items`,
//! `meta_data`), `search`/`per_page`/`page` with the `X-WP-Total` / `X-WP-TotalPages` /
//! `Link` headers, `PUT /orders/{id}`, `GET /orders/{id}/refunds`,
//! `POST /orders/{id}/notes` (201), and WordPress's `rest_no_route` for anything else.

#![allow(dead_code)]

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

pub const KEY: &str = "ck_0123456789abcdef0123456789abcdef01234567";
pub const SECRET: &str = "cs_0123456789abcdef0123456789abcdef01234567";

#[derive(Default)]
pub struct Woo {
    pub orders: Mutex<Vec<Value>>,
    pub refunds: Mutex<HashMap<u64, Vec<Value>>>,
    pub notes: Mutex<HashMap<u64, Vec<Value>>>,
    /// `METHOD /path?query` of every request, in order.
    pub requests: Mutex<Vec<String>>,
    /// The key may only read (writes answer 401 as WooCommerce does).
    pub read_only: Mutex<bool>,
}

impl Woo {
    pub fn order(&self, id: u64) -> Option<Value> {
        self.orders
            .lock()
            .expect("orders")
            .iter()
            .find(|o| o["id"] == json!(id))
            .cloned()
    }

    pub fn requests(&self) -> Vec<String> {
        self.requests.lock().expect("requests").clone()
    }

    pub fn notes(&self, id: u64) -> Vec<Value> {
        self.notes
            .lock()
            .expect("notes")
            .get(&id)
            .cloned()
            .unwrap_or_default()
    }
}

pub struct FakeWoo {
    /// The site root, what `orders.base_url` names.
    pub base: String,
    pub shop: Arc<Woo>,
}

fn error(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        axum::Json(json!({"code": code, "message": message, "data": {"status": status.as_u16()}})),
    )
        .into_response()
}

fn no_route() -> Response {
    error(
        StatusCode::NOT_FOUND,
        "rest_no_route",
        "No route was found matching the URL and request method.",
    )
}

fn base64(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for c in bytes.chunks(3) {
        let n = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= c.len() {
                out.push(char::from(A[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// WooCommerce's check: Basic auth over HTTPS, or `consumer_key`/`consumer_secret` in
/// the query string.
fn authenticate(headers: &HeaderMap, q: &HashMap<String, String>) -> Result<(), Box<Response>> {
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "));
    let given = match (basic, q.get("consumer_key"), q.get("consumer_secret")) {
        (Some(b), _, _) => Some(b.to_owned()),
        (None, Some(k), Some(s)) => Some(base64(format!("{k}:{s}").as_bytes())),
        _ => None,
    };
    let refused = match given {
        None => error(
            StatusCode::UNAUTHORIZED,
            "woocommerce_rest_cannot_view",
            "Sorry, you cannot list resources.",
        ),
        Some(g) if g == base64(format!("{KEY}:{SECRET}").as_bytes()) => return Ok(()),
        // The first 42 bytes of "key:secret" are the key's: the key is right.
        Some(g) if g.get(..56) == base64(format!("{KEY}:{SECRET}").as_bytes()).get(..56) => error(
            StatusCode::UNAUTHORIZED,
            "woocommerce_rest_authentication_error",
            "Consumer secret is invalid.",
        ),
        Some(_) => error(
            StatusCode::UNAUTHORIZED,
            "woocommerce_rest_authentication_error",
            "Consumer key is invalid.",
        ),
    };
    Err(Box::new(refused))
}

fn matches_search(o: &Value, term: &str) -> bool {
    let term = term.to_lowercase();
    let fields = [
        &o["number"],
        &o["billing"]["email"],
        &o["billing"]["phone"],
        &o["billing"]["first_name"],
        &o["billing"]["last_name"],
        &o["shipping"]["address_1"],
    ];
    fields
        .iter()
        .filter_map(|v| v.as_str())
        .any(|f| f.to_lowercase().contains(&term))
        || term.parse::<u64>().ok() == o["id"].as_u64()
}

async fn handle(
    State(shop): State<Arc<Woo>>,
    method: Method,
    uri: Uri,
    Path(rest): Path<String>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    shop.requests.lock().expect("requests").push(format!(
        "{method} {}",
        uri.path_and_query().map(|p| p.as_str()).unwrap_or("")
    ));
    if let Err(refused) = authenticate(&headers, &q) {
        return *refused;
    }
    let parts: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
    let is_write = method != Method::GET;
    if is_write && *shop.read_only.lock().expect("flag") {
        return error(
            StatusCode::UNAUTHORIZED,
            "woocommerce_rest_authentication_error",
            "The API key provided does not have write permissions.",
        );
    }
    // WordPress routes ids by `(?P<id>[\d]+)`: anything else is no route at all.
    let id = parts.get(1).map(|s| s.parse::<u64>());
    match (method.as_str(), parts.as_slice(), id) {
        ("GET", ["orders"], _) => list(&shop, &q),
        (_, [_, _, ..], Some(Err(_))) => no_route(),
        ("GET", ["orders", _], Some(Ok(id))) => match shop.order(id) {
            Some(o) => axum::Json(o).into_response(),
            None => invalid_id(),
        },
        ("PUT", ["orders", _], Some(Ok(id))) => update(&shop, id, &body),
        ("GET", ["orders", _, "refunds"], Some(Ok(id))) => match shop.order(id) {
            Some(_) => axum::Json(
                shop.refunds
                    .lock()
                    .expect("refunds")
                    .get(&id)
                    .cloned()
                    .unwrap_or_default(),
            )
            .into_response(),
            None => invalid_id(),
        },
        ("POST", ["orders", _, "notes"], Some(Ok(id))) => add_note(&shop, id, &body),
        _ => no_route(),
    }
}

fn invalid_id() -> Response {
    error(
        StatusCode::NOT_FOUND,
        "woocommerce_rest_shop_order_invalid_id",
        "Invalid ID.",
    )
}

fn list(shop: &Woo, q: &HashMap<String, String>) -> Response {
    let per_page: usize = match q.get("per_page").map(|v| v.parse::<usize>()) {
        None => 10,
        Some(Ok(n)) if (1..=100).contains(&n) => n,
        Some(_) => {
            return error(
                StatusCode::BAD_REQUEST,
                "rest_invalid_param",
                "Invalid parameter(s): per_page",
            );
        }
    };
    let page: usize = q
        .get("page")
        .and_then(|v| v.parse().ok())
        .filter(|p| *p >= 1)
        .unwrap_or(1);
    let mut all: Vec<Value> = shop
        .orders
        .lock()
        .expect("orders")
        .iter()
        .filter(|o| q.get("search").is_none_or(|t| matches_search(o, t)))
        .cloned()
        .collect();
    all.sort_by(|a, b| b["date_created"].as_str().cmp(&a["date_created"].as_str()));
    let total = all.len();
    let pages = total.div_ceil(per_page).max(1);
    let chunk: Vec<Value> = all
        .into_iter()
        .skip((page - 1) * per_page)
        .take(per_page)
        .collect();
    let mut response = axum::Json(chunk).into_response();
    let h = response.headers_mut();
    h.insert("x-wp-total", HeaderValue::from(total));
    h.insert("x-wp-totalpages", HeaderValue::from(pages));
    if page < pages
        && let Ok(v) = HeaderValue::try_from(format!(
            "</wp-json/wc/v3/orders?page={}>; rel=\"next\"",
            page + 1
        ))
    {
        h.insert(header::LINK, v);
    }
    response
}

fn update(shop: &Woo, id: u64, body: &[u8]) -> Response {
    let Ok(change) = serde_json::from_slice::<Value>(body) else {
        return error(
            StatusCode::BAD_REQUEST,
            "rest_invalid_json",
            "Invalid JSON body passed.",
        );
    };
    let mut orders = shop.orders.lock().expect("orders");
    let Some(order) = orders.iter_mut().find(|o| o["id"] == json!(id)) else {
        return invalid_id();
    };
    if let Some(status) = change.get("status") {
        let known = [
            "pending",
            "processing",
            "on-hold",
            "completed",
            "cancelled",
            "refunded",
            "failed",
        ];
        if !status.as_str().is_some_and(|s| known.contains(&s)) {
            return error(
                StatusCode::BAD_REQUEST,
                "rest_invalid_param",
                "Invalid parameter(s): status",
            );
        }
        order["status"] = status.clone();
    }
    if let Some(Value::Object(fields)) = change.get("shipping") {
        for (k, v) in fields {
            order["shipping"][k] = v.clone();
        }
    }
    axum::Json(order.clone()).into_response()
}

fn add_note(shop: &Woo, id: u64, body: &[u8]) -> Response {
    if shop.order(id).is_none() {
        return invalid_id();
    }
    let change: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let Some(text) = change["note"].as_str().filter(|n| !n.is_empty()) else {
        return error(
            StatusCode::BAD_REQUEST,
            "rest_missing_callback_param",
            "Missing parameter(s): note",
        );
    };
    let mut notes = shop.notes.lock().expect("notes");
    let count: usize = notes.values().map(Vec::len).sum();
    let note = json!({
        "id": 300 + count,
        "author": "WooCommerce",
        "date_created": "2026-03-09T10:00:00",
        "note": text,
        "customer_note": change["customer_note"].as_bool().unwrap_or(false),
        "added_by_user": false
    });
    notes.entry(id).or_default().push(note.clone());
    (StatusCode::CREATED, axum::Json(note)).into_response()
}

/// Starts the stand-in on 127.0.0.1 with these orders.
pub async fn start(orders: Vec<Value>) -> FakeWoo {
    let shop = Arc::new(Woo {
        orders: Mutex::new(orders),
        ..Woo::default()
    });
    let app = Router::new()
        .route(
            "/wp-json/wc/v3/{*rest}",
            get(handle).put(handle).post(handle),
        )
        .fallback(|| async { no_route() })
        .with_state(Arc::clone(&shop));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind a local port");
    let addr = listener.local_addr().expect("local address");
    tokio::spawn(async move { axum::serve(listener, app).await });
    FakeWoo {
        base: format!("http://{addr}"),
        shop,
    }
}

/// A WooCommerce order as the API sends it.
pub fn order(id: u64, number: &str, status: &str, email: &str, phone: &str) -> Value {
    json!({
        "id": id,
        "parent_id": 0,
        "number": number,
        "order_key": format!("wc_order_{id}"),
        "created_via": "checkout",
        "version": "9.6.0",
        "status": status,
        "currency": "TRY",
        "date_created": "2026-03-06T10:00:00",
        "date_created_gmt": "2026-03-06T07:00:00",
        "date_modified": "2026-03-06T10:00:00",
        "date_completed": if status == "completed" { json!("2026-03-07T09:00:00") } else { Value::Null },
        "discount_total": "0.00",
        "shipping_total": "0.00",
        "total": "449.70",
        "total_tax": "0.00",
        "prices_include_tax": true,
        "customer_id": 0,
        "billing": {
            "first_name": "Ayşe", "last_name": "Yılmaz", "company": "",
            "address_1": "Moda Cad. 5", "address_2": "", "city": "İstanbul", "state": "TR34",
            "postcode": "34710", "country": "TR", "email": email, "phone": phone
        },
        "shipping": {
            "first_name": "Ayşe", "last_name": "Yılmaz", "company": "",
            "address_1": "Moda Cad. 5", "address_2": "", "city": "İstanbul", "state": "TR34",
            "postcode": "34710", "country": "TR", "phone": ""
        },
        "payment_method": "cod",
        "payment_method_title": "Kapıda ödeme",
        "line_items": [
            {"id": 11, "name": "Seramik kupa", "product_id": 93, "variation_id": 0, "quantity": 2,
             "tax_class": "", "subtotal": "299.80", "total": "299.80", "sku": "MUG-01", "price": 149.9},
            {"id": 12, "name": "Çay tabağı", "product_id": 94, "variation_id": 0, "quantity": 1,
             "tax_class": "", "subtotal": "149.90", "total": "149.90", "sku": "PLT-02", "price": 149.9}
        ],
        "meta_data": [],
        "refunds": []
    })
}

/// The Shipment Tracking extension's meta on an order.
pub fn with_tracking(mut order: Value, carrier: &str, number: &str) -> Value {
    order["meta_data"] = json!([{
        "id": 501,
        "key": "_wc_shipment_tracking_items",
        "value": [{
            "tracking_provider": "",
            "custom_tracking_provider": carrier,
            "custom_tracking_link": format!("https://track.example/{number}"),
            "tracking_number": number,
            "date_shipped": "1772841600",
            "tracking_id": "a1b2c3"
        }]
    }]);
    order
}
