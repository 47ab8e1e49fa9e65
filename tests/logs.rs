//! The server's logs through `tracing`: each customer turn is a `turn` span with its
//! conversation id, channel, intent and latency, and no line carries a customer's e-mail
//! or phone.

#[path = "support/server.rs"]
mod server;

use destek::logging::Masking;
use destek::web::WebSettings;
use server::{start, unlimited};
use std::io::{self, Write};
use std::sync::{Arc, Mutex};

#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        if let Ok(mut v) = self.0.lock() {
            v.extend_from_slice(b);
        }
        Ok(b.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_turn_is_a_span_with_conversation_channel_intent_and_latency() {
    let buf = Buffer::default();
    let out = buf.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new("destek=debug"))
        .with_writer(Masking::new(move || out.clone()))
        .json()
        .flatten_event(true)
        .with_current_span(true)
        .finish();
    tracing::subscriber::set_global_default(subscriber).expect("the only subscriber");

    let s = start("logs", unlimited(), WebSettings::default()).await;
    let (id, token) = s.conversation().await;
    s.say(&id, &token, "where is my order 48213977").await;
    s.say(
        &id,
        &token,
        "ayse.yilmaz@example.com, call me on +90 532 111 22 33",
    )
    .await;

    let text = buf
        .0
        .lock()
        .map(|v| String::from_utf8_lossy(&v).into_owned())
        .unwrap_or_default();
    let turns: Vec<serde_json::Value> = text
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["message"] == "turn")
        .collect();
    assert_eq!(turns.len(), 2, "{text}");
    let span = &turns[0]["span"];
    assert_eq!(span["name"], "turn");
    assert_eq!(span["conversation"], id.as_str());
    assert_eq!(span["channel"], "web");
    assert_eq!(span["intent"], "order_status");
    assert!(
        span["latency_ms"].as_f64().is_some_and(|ms| ms > 0.0),
        "{span}"
    );
    for raw in ["ayse.yilmaz", "532 111 22 33"] {
        assert!(!text.contains(raw), "{raw} in the logs");
    }
}
