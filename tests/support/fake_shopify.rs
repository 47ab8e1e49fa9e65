//! A local stand-in for a Shopify shop's GraphQL Admin API, written from Shopify's API
//! reference: `POST /admin/api/{version}/graphql.json` with a JSON body
//! (`{"query", "variables"}`), the `X-Shopify-Access-Token` header (401 and
//! `{"errors": "[API] Invalid API key or access token …"}` otherwise), access scopes
//! (`ACCESS_DENIED`), the cost-based rate limit (a leaky bucket; `THROTTLED` with
//! `extensions.cost.throttleStatus` when a query does not fit), and the operations destek
//! sends — recognised by their operation name, since this is no GraphQL engine: `orders`
//! search (`name:`, `email:`), `orderCancel` (an asynchronous job), `job`, `order`,
//! `returnRequest`, `orderUpdate`, `shop`.

#![allow(dead_code)]

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use std::time::Instant;

pub const TOKEN: &str = "shpat_0123456789abcdef0123456789abcdef";
pub const VERSION: &str = "2025-01";

pub struct Bucket {
    pub maximum: f64,
    pub available: f64,
    pub restore_rate: f64,
    pub at: Instant,
}

pub struct Shopify {
    pub orders: Mutex<Vec<Value>>,
    pub scopes: Mutex<Vec<&'static str>>,
    pub bucket: Mutex<Bucket>,
    /// The operation name of every GraphQL call, THROTTLED ones included.
    pub calls: Mutex<Vec<String>>,
    /// Variables of every mutation, by operation name.
    pub mutations: Mutex<Vec<(String, Value)>>,
    pub jobs: Mutex<Vec<(String, String)>>,
    pub returns: Mutex<u32>,
}

impl Shopify {
    pub fn order(&self, name: &str) -> Option<Value> {
        self.orders
            .lock()
            .expect("orders")
            .iter()
            .find(|o| o["name"] == json!(name))
            .cloned()
    }

    pub fn calls(&self) -> Vec<String> {
        self.calls.lock().expect("calls").clone()
    }

    pub fn mutations(&self) -> Vec<(String, Value)> {
        self.mutations.lock().expect("mutations").clone()
    }

    /// Empties the bucket: the next call is THROTTLED until it refills.
    pub fn drain(&self, restore_rate: f64) {
        let mut b = self.bucket.lock().expect("bucket");
        b.available = 0.0;
        b.restore_rate = restore_rate;
        b.at = Instant::now();
    }
}

pub struct FakeShopify {
    /// `https://STORE.myshopify.com` stands here.
    pub base: String,
    pub shop: Arc<Shopify>,
}

/// What a call costs, as Shopify would calculate it for these documents.
fn cost(operation: &str) -> f64 {
    match operation {
        "FindOrders" => 62.0,
        "OrderCancel" | "ReturnRequest" | "OrderUpdate" => 10.0,
        "Ping" => 3.0,
        _ => 1.0,
    }
}

fn operation_name(query: &str) -> Option<String> {
    let rest = query
        .trim_start()
        .strip_prefix("query ")
        .or_else(|| query.trim_start().strip_prefix("mutation "))?;
    let name: String = rest
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    (!name.is_empty()).then_some(name)
}

fn cost_extension(requested: f64, actual: Option<f64>, b: &Bucket) -> Value {
    json!({"cost": {
        "requestedQueryCost": requested,
        "actualQueryCost": actual,
        "throttleStatus": {
            "maximumAvailable": b.maximum,
            "currentlyAvailable": b.available.floor(),
            "restoreRate": b.restore_rate
        }
    }})
}

fn graphql_error(message: &str, code: &str) -> Value {
    json!({"message": message, "extensions": {"code": code}})
}

async fn graphql(
    State(shop): State<Arc<Shopify>>,
    Path(version): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if version != VERSION {
        return (
            StatusCode::NOT_FOUND,
            axum::Json(json!({"errors": "Not Found"})),
        )
            .into_response();
    }
    let token = headers
        .get("x-shopify-access-token")
        .and_then(|v| v.to_str().ok());
    if token != Some(TOKEN) {
        return (
            StatusCode::UNAUTHORIZED,
            axum::Json(json!({"errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"})),
        )
            .into_response();
    }
    let json_body = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    let request: Value = match serde_json::from_slice(&body) {
        Ok(v) if json_body => v,
        _ => {
            return (
                StatusCode::BAD_REQUEST,
                axum::Json(json!({"errors": {"query": "Required parameter missing or invalid"}})),
            )
                .into_response();
        }
    };
    let query = request["query"].as_str().unwrap_or("");
    let vars = &request["variables"];
    let Some(op) = operation_name(query) else {
        return axum::Json(json!({"errors": [graphql_error("Parse error", "parseError")]}))
            .into_response();
    };
    shop.calls.lock().expect("calls").push(op.clone());
    // The leaky bucket: refilled by the time passed, then charged.
    let requested = cost(&op);
    let extensions = {
        let mut b = shop.bucket.lock().expect("bucket");
        let now = Instant::now();
        let refill = now.duration_since(b.at).as_secs_f64() * b.restore_rate;
        b.available = (b.available + refill).min(b.maximum);
        b.at = now;
        if b.available < requested {
            let ext = cost_extension(requested, None, &b);
            return axum::Json(json!({
                "errors": [{"message": "Throttled", "extensions": {"code": "THROTTLED",
                    "documentation": "https://shopify.dev/api/usage/limits#rate-limits"}}],
                "extensions": ext
            }))
            .into_response();
        }
        b.available -= requested;
        cost_extension(requested, Some(requested), &b)
    };
    let needs = if op.starts_with("Order") || op == "ReturnRequest" {
        if op == "OrderCancelledAt" {
            "read_orders"
        } else if op == "ReturnRequest" {
            "write_returns"
        } else {
            "write_orders"
        }
    } else {
        "read_orders"
    };
    if !shop.scopes.lock().expect("scopes").contains(&needs) {
        let mut e = graphql_error(
            &format!("Access denied. Required access: `{needs}` access scope."),
            "ACCESS_DENIED",
        );
        e["extensions"]["requiredAccess"] = json!(format!("`{needs}` access scope."));
        return axum::Json(json!({"errors": [e], "data": null, "extensions": extensions}))
            .into_response();
    }
    let data = match op.as_str() {
        "FindOrders" | "Ping" => Ok(find(&shop, vars, &op)),
        "OrderCancel" => Ok(cancel(&shop, vars)),
        "Job" => Ok(job(&shop, vars)),
        "OrderCancelledAt" => Ok(cancelled_at(&shop, vars)),
        "ReturnRequest" => Ok(return_request(&shop, vars)),
        "OrderUpdate" => Ok(update(&shop, vars)),
        other => Err(graphql_error(
            &format!("Field '{other}' doesn't exist on type 'QueryRoot'"),
            "undefinedField",
        )),
    };
    if op == "OrderCancel" || op == "ReturnRequest" || op == "OrderUpdate" {
        shop.mutations
            .lock()
            .expect("mutations")
            .push((op.clone(), vars.clone()));
    }
    match data {
        Ok(data) => axum::Json(json!({"data": data, "extensions": extensions})).into_response(),
        Err(e) => axum::Json(json!({"errors": [e], "extensions": extensions})).into_response(),
    }
}

/// Shopify's search syntax as destek uses it: `name:1001` (with or without `#`),
/// `email:"…"`, or a quoted free-text term.
fn matches(order: &Value, search: &str) -> bool {
    let unquote = |s: &str| s.trim().trim_matches('"').to_lowercase();
    if let Some(name) = search.strip_prefix("name:") {
        let name = unquote(name);
        let name = name.trim_start_matches('#');
        return order["name"]
            .as_str()
            .map(|n| n.trim_start_matches('#').to_lowercase())
            == Some(name.to_owned());
    }
    if let Some(email) = search.strip_prefix("email:") {
        return order["email"].as_str().map(str::to_lowercase) == Some(unquote(email));
    }
    let term = unquote(search);
    ["email", "phone", "name"]
        .iter()
        .filter_map(|k| order[*k].as_str())
        .any(|v| v.to_lowercase().contains(&term))
}

fn find(shop: &Shopify, vars: &Value, op: &str) -> Value {
    let orders = shop.orders.lock().expect("orders");
    if op == "Ping" {
        let newest = orders.last().map(|o| json!({"name": o["name"]}));
        return json!({"shop": {"name": "Demo Store"}, "orders": {"nodes": newest.into_iter().collect::<Vec<_>>()}});
    }
    let first = vars["first"].as_u64().unwrap_or(1) as usize;
    let search = vars["query"].as_str().unwrap_or("");
    let mut found: Vec<Value> = orders
        .iter()
        .filter(|o| matches(o, search))
        .cloned()
        .collect();
    found.sort_by(|a, b| b["createdAt"].as_str().cmp(&a["createdAt"].as_str()));
    found.truncate(first);
    json!({"orders": {"nodes": found}})
}

fn with_order<T>(shop: &Shopify, gid: &str, f: impl FnOnce(&mut Value) -> T) -> Option<T> {
    let mut orders = shop.orders.lock().expect("orders");
    orders.iter_mut().find(|o| o["id"] == json!(gid)).map(f)
}

fn cancel(shop: &Shopify, vars: &Value) -> Value {
    let gid = vars["orderId"].as_str().unwrap_or("");
    let state = with_order(shop, gid, |o| o["cancelledAt"].is_null());
    match state {
        None => json!({"orderCancel": {"job": null, "orderCancelUserErrors": [
            {"field": ["orderId"], "message": "Order does not exist", "code": "NOT_FOUND"}]}}),
        Some(false) => json!({"orderCancel": {"job": null, "orderCancelUserErrors": [
            {"field": ["orderId"], "message": "Cannot cancel an order that has already been canceled", "code": "INVALID"}]}}),
        Some(true) => {
            let mut jobs = shop.jobs.lock().expect("jobs");
            let id = format!("gid://shopify/Job/{}", jobs.len() + 1);
            jobs.push((id.clone(), gid.to_owned()));
            json!({"orderCancel": {"job": {"id": id, "done": false}, "orderCancelUserErrors": []}})
        }
    }
}

/// The cancellation job runs by the time it is first asked about.
fn job(shop: &Shopify, vars: &Value) -> Value {
    let id = vars["id"].as_str().unwrap_or("");
    let order = shop
        .jobs
        .lock()
        .expect("jobs")
        .iter()
        .find(|(j, _)| j == id)
        .map(|(_, o)| o.clone());
    match order {
        Some(gid) => {
            with_order(shop, &gid, |o| {
                o["cancelledAt"] = json!("2026-03-09T10:00:00Z");
                o["displayFinancialStatus"] = json!("REFUNDED");
            });
            json!({"job": {"id": id, "done": true}})
        }
        None => json!({"job": null}),
    }
}

fn cancelled_at(shop: &Shopify, vars: &Value) -> Value {
    let gid = vars["id"].as_str().unwrap_or("");
    let at = with_order(shop, gid, |o| o["cancelledAt"].clone());
    json!({"order": at.map(|c| json!({"id": gid, "cancelledAt": c}))})
}

fn return_request(shop: &Shopify, vars: &Value) -> Value {
    let input = &vars["input"];
    let gid = input["orderId"].as_str().unwrap_or("");
    let lines = input["returnLineItems"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let reasons = [
        "COLOR",
        "DEFECTIVE",
        "NOT_AS_DESCRIBED",
        "OTHER",
        "SIZE_TOO_LARGE",
        "SIZE_TOO_SMALL",
        "STYLE",
        "UNKNOWN",
        "UNWANTED",
        "WRONG_ITEM",
    ];
    let ok = with_order(shop, gid, |o| {
        let fulfilled: Vec<Value> = o["fulfillments"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|f| {
                f["fulfillmentLineItems"]["nodes"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default()
            })
            .map(|n| n["id"].clone())
            .collect();
        let valid = !lines.is_empty()
            && lines.iter().all(|l| {
                fulfilled.contains(&l["fulfillmentLineItemId"])
                    && l["quantity"].as_u64().is_some_and(|q| q >= 1)
                    && l["returnReason"]
                        .as_str()
                        .is_some_and(|r| reasons.contains(&r))
            });
        if valid {
            o["returnStatus"] = json!("RETURN_REQUESTED");
        }
        valid
    });
    if ok != Some(true) {
        return json!({"returnRequest": {"return": null, "userErrors": [
            {"field": ["input", "returnLineItems"], "message": "Return line items are invalid"}]}});
    }
    let mut n = shop.returns.lock().expect("returns");
    *n += 1;
    json!({"returnRequest": {"return": {"id": format!("gid://shopify/Return/{}", 900 + *n), "status": "REQUESTED"}, "userErrors": []}})
}

fn update(shop: &Shopify, vars: &Value) -> Value {
    let input = &vars["input"];
    let gid = input["id"].as_str().unwrap_or("");
    let done = with_order(shop, gid, |o| {
        if let Some(fields) = input["shippingAddress"].as_object() {
            for (k, v) in fields {
                o["shippingAddress"][k] = v.clone();
            }
        }
    });
    match done {
        Some(()) => json!({"orderUpdate": {"order": {"id": gid}, "userErrors": []}}),
        None => json!({"orderUpdate": {"order": null, "userErrors": [
            {"field": ["id"], "message": "Order does not exist"}]}}),
    }
}

pub async fn start(orders: Vec<Value>) -> FakeShopify {
    let shop = Arc::new(Shopify {
        orders: Mutex::new(orders),
        scopes: Mutex::new(vec![
            "read_orders",
            "write_orders",
            "read_returns",
            "write_returns",
        ]),
        bucket: Mutex::new(Bucket {
            maximum: 2000.0,
            available: 2000.0,
            restore_rate: 100.0,
            at: Instant::now(),
        }),
        calls: Mutex::new(Vec::new()),
        mutations: Mutex::new(Vec::new()),
        jobs: Mutex::new(Vec::new()),
        returns: Mutex::new(0),
    });
    let app = Router::new()
        .route("/admin/api/{version}/graphql.json", post(graphql))
        .with_state(Arc::clone(&shop));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind a local port");
    let addr = listener.local_addr().expect("local address");
    tokio::spawn(async move { axum::serve(listener, app).await });
    FakeShopify {
        base: format!("http://{addr}"),
        shop,
    }
}

/// An order as the GraphQL Admin API answers the fields destek asks for. `delivered`:
/// a fulfillment delivered on that day; `shipped`: one in transit; neither: unfulfilled.
pub fn order(number: u32, email: &str, fulfillment: Option<(&str, Option<&str>)>) -> Value {
    let gid = format!("gid://shopify/Order/{}", 5_000_000 + number);
    let fulfillments: Vec<Value> = fulfillment
        .map(|(shipped_on, delivered_on)| json!({
            "createdAt": format!("{shipped_on}T08:00:00Z"),
            "deliveredAt": delivered_on.map(|d| format!("{d}T15:00:00Z")),
            "estimatedDeliveryAt": null,
            "inTransitAt": format!("{shipped_on}T09:00:00Z"),
            "displayStatus": if delivered_on.is_some() { "DELIVERED" } else { "IN_TRANSIT" },
            "trackingInfo": [{"company": "UPS", "number": format!("1Z{number}"), "url": format!("https://ups.example/1Z{number}")}],
            "fulfillmentLineItems": {"nodes": [
                {"id": format!("gid://shopify/FulfillmentLineItem/{number}1"), "quantity": 1, "lineItem": {"sku": "JKT-09", "name": "Rain jacket"}}
            ]}
        }))
        .into_iter()
        .collect();
    json!({
        "id": gid,
        "name": format!("#{number}"),
        "email": email,
        "phone": "+12175550148",
        "createdAt": "2026-03-01T10:00:00Z",
        "cancelledAt": null,
        "displayFinancialStatus": "PAID",
        "displayFulfillmentStatus": if fulfillments.is_empty() { "UNFULFILLED" } else { "FULFILLED" },
        "returnStatus": "NO_RETURN",
        "currencyCode": "USD",
        "totalPriceSet": {"shopMoney": {"amount": "120.0", "currencyCode": "USD"}},
        "paymentGatewayNames": ["shopify_payments"],
        "shippingAddress": {"address1": "1 Main St", "address2": "Apt 2", "city": "Springfield",
            "province": "Illinois", "zip": "62704", "country": "United States", "phone": "+12175550148"},
        "billingAddress": {"phone": "+12175550148"},
        "lineItems": {"nodes": [{"sku": "JKT-09", "name": "Rain jacket", "quantity": 1,
            "originalUnitPriceSet": {"shopMoney": {"amount": "120.0"}}}]},
        "fulfillments": fulfillments,
        "refunds": []
    })
}
