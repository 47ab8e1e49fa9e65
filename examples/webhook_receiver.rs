//! A minimal receiver of destek's handoff webhook, to show integrators how to verify a
//! delivery. Run it with `DESTEK_HANDOFF_SECRET=… cargo run --example webhook_receiver`,
//! then point `handoff.webhook_url` at `http://127.0.0.1:9000/destek`.
//!
//! Verification, in order:
//! 1. `X-Destek-Timestamp` is recent (here: within 5 minutes), so old deliveries cannot be
//!    replayed;
//! 2. `X-Destek-Signature` equals `sha256=` + hex HMAC-SHA256(secret, timestamp + "." + body),
//!    compared in constant time;
//! 3. `X-Destek-Delivery` has not been seen before: destek retries until it gets a 2xx, with
//!    the same id, so a receiver must accept each id once (answer 2xx again, do nothing).

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::collections::HashSet;
use std::sync::{Arc, Mutex};

struct Receiver {
    secret: String,
    // A real receiver keeps these in its database, with the handoff it created.
    seen: Mutex<HashSet<String>>,
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name)?.to_str().ok()
}

async fn destek(State(r): State<Arc<Receiver>>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let (Some(delivery), Some(timestamp), Some(signature)) = (
        header(&headers, "x-destek-delivery"),
        header(&headers, "x-destek-timestamp"),
        header(&headers, "x-destek-signature"),
    ) else {
        return StatusCode::BAD_REQUEST;
    };
    let Ok(ts) = timestamp.parse::<i64>() else {
        return StatusCode::BAD_REQUEST;
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    if (now - ts).abs() > 300 {
        return StatusCode::UNAUTHORIZED;
    }
    let Some(hex) = signature.strip_prefix("sha256=") else {
        return StatusCode::UNAUTHORIZED;
    };
    let Ok(given) = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(hex.get(i..i + 2).unwrap_or("zz"), 16))
        .collect::<Result<Vec<u8>, _>>()
    else {
        return StatusCode::UNAUTHORIZED;
    };
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(r.secret.as_bytes()) else {
        return StatusCode::INTERNAL_SERVER_ERROR;
    };
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(&body);
    // `verify_slice` compares in constant time.
    if mac.verify_slice(&given).is_err() {
        return StatusCode::UNAUTHORIZED;
    }
    let first_time = r
        .seen
        .lock()
        .is_ok_and(|mut s| s.insert(delivery.to_owned()));
    if first_time {
        println!("{delivery}: {}", String::from_utf8_lossy(&body));
    }
    StatusCode::OK
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let secret = std::env::var("DESTEK_HANDOFF_SECRET")
        .map_err(|_| "set DESTEK_HANDOFF_SECRET to the secret destek signs with")?;
    let state = Arc::new(Receiver {
        secret,
        seen: Mutex::new(HashSet::new()),
    });
    let app = Router::new()
        .route("/destek", post(destek))
        .with_state(state);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:9000").await?;
    println!("receiving on http://127.0.0.1:9000/destek");
    axum::serve(listener, app).await?;
    Ok(())
}
