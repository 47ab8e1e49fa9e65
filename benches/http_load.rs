//! Load generator for the site-chat API: `cargo bench --bench http_load`.
//!
//! Starts `destek`'s server in this process on 127.0.0.1 with a durable SQLite store in a
//! temporary file (or targets `DESTEK_LOAD_URL`), opens `DESTEK_LOAD_CONVERSATIONS`
//! conversations (default 1,000) and drives them for `DESTEK_LOAD_SECONDS` (default 10)
//! with `DESTEK_LOAD_CONCURRENCY` requests in flight (default 64; each worker owns a share
//! of the conversations and takes them in turn, so no conversation has two turns at once),
//! then prints turns/s and latency percentiles.
//! Client and server share the machine's cores, so the figures are a floor.
//!
//! `DESTEK_LOAD_SERVE=FILE` instead starts the same server, opens the conversations, writes
//! one `id token` line per conversation to FILE, prints `ready URL` and serves until
//! SIGTERM or Ctrl-C: an external load generator drives it (`bash bench/wrk.sh`).

use destek::orders::{InMemoryOrders, today_utc};
use destek::pack;
use destek::store::sqlite::SqliteStore;
use destek::web::rate::{RateConfig, RateLimits};
use destek::web::{self, AppState, WebSettings};
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

const MESSAGES: &[&str] = &[
    "hello",
    "where is my order 48213977",
    "ayse.yilmaz@example.com",
    "how much is shipping",
    "siparişim nerede",
    "سفارشم کجاست؟",
    "thanks",
];

fn env_or(key: &str, default: u64) -> u64 {
    std::env::var(key)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let conversations = env_or("DESTEK_LOAD_CONVERSATIONS", 1_000) as usize;
    let concurrency = (env_or("DESTEK_LOAD_CONCURRENCY", 64) as usize).clamp(1, conversations);
    let seconds = env_or("DESTEK_LOAD_SECONDS", 10);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    if let Ok(file) = std::env::var("DESTEK_LOAD_SERVE") {
        rt.block_on(serve_only(conversations, file.into()));
        return;
    }
    rt.block_on(run(
        conversations,
        concurrency,
        Duration::from_secs(seconds),
    ));
}

async fn start_server() -> (String, std::path::PathBuf) {
    let db = std::env::temp_dir().join(format!("destek-load-{}.db", std::process::id()));
    let bot = pack::compile(&pack::embedded(), &pack::Options::default())
        .bot
        .expect("default pack");
    let state = AppState::new(
        bot,
        SqliteStore::open(&db).expect("store"),
        Arc::new(InMemoryOrders::demo(today_utc())),
        RateLimits::new(RateConfig {
            per_ip_per_minute: 0,
            per_conversation_per_minute: 0,
        }),
        WebSettings::default(),
    );
    let listener = destek::listen::listen("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let app = web::app(state).into_make_service_with_connect_info::<SocketAddr>();
        let _ = axum::serve(listener, app).await;
    });
    (format!("http://{addr}"), db)
}

async fn open_conversations(
    client: &reqwest::Client,
    base: &str,
    conversations: usize,
) -> Vec<(String, String)> {
    let mut convs = Vec::with_capacity(conversations);
    for _ in 0..conversations {
        let v: Value = client
            .post(format!("{base}/api/v1/conversations"))
            .json(&json!({"lang": "en"}))
            .send()
            .await
            .expect("create")
            .json()
            .await
            .expect("json");
        convs.push((
            v["conversation_id"].as_str().unwrap_or_default().to_owned(),
            v["token"].as_str().unwrap_or_default().to_owned(),
        ));
    }
    convs
}

/// The server alone, for an external load generator.
async fn serve_only(conversations: usize, file: std::path::PathBuf) {
    let (base, db) = start_server().await;
    let client = reqwest::Client::new();
    let convs = open_conversations(&client, &base, conversations).await;
    let lines: String = convs
        .iter()
        .map(|(id, token)| format!("{id} {token}\n"))
        .collect();
    std::fs::write(&file, lines).expect("write the conversations file");
    println!("ready {base}");
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("SIGTERM handler");
    tokio::select! {
        _ = term.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
    for ext in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{ext}", db.display()));
    }
}

async fn run(conversations: usize, concurrency: usize, duration: Duration) {
    let (base, db) = match std::env::var("DESTEK_LOAD_URL") {
        Ok(url) => (url, None),
        Err(_) => {
            let (b, d) = start_server().await;
            (b, Some(d))
        }
    };
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(conversations)
        .build()
        .expect("client");
    let convs = open_conversations(&client, &base, conversations).await;
    let deadline = Instant::now() + duration;
    let started = Instant::now();
    let mut shares: Vec<Vec<(String, String)>> = vec![Vec::new(); concurrency];
    for (i, c) in convs.into_iter().enumerate() {
        shares[i % concurrency].push(c);
    }
    let mut tasks = Vec::new();
    for (w, share) in shares.into_iter().enumerate() {
        let client = client.clone();
        let base = base.clone();
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut errors = 0u64;
            let mut n = w;
            while Instant::now() < deadline {
                let (id, token) = &share[n % share.len()];
                let text = MESSAGES[n % MESSAGES.len()];
                n += 1;
                let t = Instant::now();
                let ok = client
                    .post(format!("{base}/api/v1/conversations/{id}/messages"))
                    .bearer_auth(token)
                    .json(&json!({"text": text}))
                    .send()
                    .await
                    .is_ok_and(|r| r.status().is_success());
                latencies.push(t.elapsed());
                errors += u64::from(!ok);
            }
            (latencies, errors)
        }));
    }
    let mut all = Vec::new();
    let mut errors = 0;
    for t in tasks {
        if let Ok((l, e)) = t.await {
            all.extend(l);
            errors += e;
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    all.sort();
    let pct = |p: f64| {
        all.get(((all.len() as f64 * p) as usize).min(all.len().saturating_sub(1)))
            .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    };
    println!(
        "conversations {conversations}, {concurrency} in flight: {} turns in {elapsed:.1} s = {:.0} turns/s; p50 {:.2} ms, p99 {:.2} ms; {errors} errors",
        all.len(),
        all.len() as f64 / elapsed,
        pct(0.50),
        pct(0.99),
    );
    if let Some(db) = db {
        for ext in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{ext}", db.display()));
        }
    }
}
