//! What an outsider can do to other people's conversations and to the server, on a real
//! server on 127.0.0.1: the limits hold the attacker, never the rightful customer.

#[path = "support/server.rs"]
mod server;

use destek::web::WebSettings;
use destek::web::rate::RateConfig;
use futures_util::{SinkExt, StreamExt};
use server::start;
use tokio_tungstenite::tungstenite::Message as WsMessage;

/// Issue 15, item 2: 40 posts with a wrong token used up the conversation's limit, and
/// its owner got 429.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_token_posts_do_not_use_up_the_owners_limit() {
    let rate = RateConfig {
        per_ip_per_minute: 0,
        per_conversation_per_minute: 3,
    };
    let s = start("wrong-token", rate, WebSettings::default()).await;
    let (id, token) = s.conversation().await;
    for _ in 0..40 {
        let (status, v) = s.say(&id, "not-the-token", "hello").await;
        assert_eq!((status, v["error"].as_str()), (401, Some("unauthorized")));
    }
    for _ in 0..3 {
        let (status, v) = s.say(&id, &token, "hello").await;
        assert_eq!(status, 200, "{v}");
    }
    let (status, _) = s.say(&id, &token, "hello").await;
    assert_eq!(status, 429, "the owner's own limit still holds");
}

fn per_ip(n: u32) -> RateConfig {
    RateConfig {
        per_ip_per_minute: n,
        per_conversation_per_minute: 0,
    }
}

/// Sends `n` messages over one socket; returns how many were answered `rate_limited`.
async fn ws_limited(s: &server::Server, id: &str, token: &str, n: usize) -> usize {
    let url = format!("ws://{}/api/v1/conversations/{id}/ws?token={token}", s.addr);
    let (mut ws, _) = tokio_tungstenite::connect_async(url)
        .await
        .expect("websocket");
    let mut limited = 0;
    for _ in 0..n {
        ws.send(WsMessage::text(r#"{"text":"hello"}"#))
            .await
            .expect("send");
        let reply = loop {
            match ws.next().await {
                Some(Ok(WsMessage::Text(t))) => break t.to_string(),
                Some(Ok(_)) => continue,
                other => panic!("socket closed: {other:?}"),
            }
        };
        let v: serde_json::Value = serde_json::from_str(&reply).expect("json");
        if v["error"] == "rate_limited" {
            limited += 1;
        }
    }
    limited
}

/// Issue 15, item 3: messages over a WebSocket skipped the per-IP limit (477 verification
/// attempts in 20 s against 90 over HTTP).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_messages_count_against_the_per_ip_limit() {
    let s = start("ws-ip", per_ip(6), WebSettings::default()).await;
    // One request for the conversation, one for the upgrade: four messages left.
    let (id, token) = s.conversation().await;
    assert_eq!(ws_limited(&s, &id, &token, 10).await, 6);
}

/// Issue 15, item 3: transcript reads and WebSocket upgrades were not limited at all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transcript_reads_and_websocket_upgrades_count_against_the_per_ip_limit() {
    let s = start("read-ip", per_ip(4), WebSettings::default()).await;
    let (id, token) = s.conversation().await;
    let path = format!("/api/v1/conversations/{id}/transcript");
    for _ in 0..3 {
        assert_eq!(s.get(&path, Some(&token)).await.0, 200);
    }
    let (status, v) = s.get(&path, Some(&token)).await;
    assert_eq!((status, v["error"].as_str()), (429, Some("rate_limited")));
    let url = format!("ws://{}/api/v1/conversations/{id}/ws?token={token}", s.addr);
    match tokio_tungstenite::connect_async(url).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(res)) => {
            assert_eq!(res.status().as_u16(), 429);
        }
        other => panic!("the upgrade was not refused: {:?}", other.map(|r| r.1)),
    }
}

async fn create_from(s: &server::Server, forwarded_for: &str) -> u16 {
    s.http
        .post(format!("{}/api/v1/conversations", s.base))
        .header("x-forwarded-for", forwarded_for)
        .json(&serde_json::json!({}))
        .send()
        .await
        .expect("request")
        .status()
        .as_u16()
}

/// Issue 15, item 4: behind a reverse proxy every customer shared one per-IP limit (the
/// key was the proxy's address). With `web.trusted_proxies`, the forwarded address is the
/// key; from anyone else the header is ignored, so it cannot be used to dodge the limit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behind_a_trusted_proxy_each_customer_has_their_own_limit() {
    let settings = WebSettings {
        trusted_proxies: vec!["127.0.0.0/8".parse().expect("cidr")],
        ..WebSettings::default()
    };
    let s = start("proxy", per_ip(2), settings).await;
    for customer in ["203.0.113.1", "203.0.113.2", "2001:db8::7"] {
        assert_eq!(create_from(&s, customer).await, 201);
        assert_eq!(
            create_from(&s, &format!("{customer}, 127.0.0.1")).await,
            201
        );
        assert_eq!(create_from(&s, customer).await, 429, "{customer}");
    }

    let s = start("no-proxy", per_ip(2), WebSettings::default()).await;
    assert_eq!(create_from(&s, "203.0.113.1").await, 201);
    assert_eq!(create_from(&s, "203.0.113.2").await, 201);
    assert_eq!(
        create_from(&s, "203.0.113.3").await,
        429,
        "an untrusted peer's X-Forwarded-For is ignored"
    );
}
