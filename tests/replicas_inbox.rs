//! The inbox across two `destek serve` replicas on one PostgreSQL: an agent's reply sent
//! through one replica reaches the customer's WebSocket open on the other (LISTEN/NOTIFY);
//! an agent signed in on one replica counts as online for a customer on the other; a
//! handoff made on one replica appears live in an inbox connected to the other.
//!
//! Needs PostgreSQL's server binaries, like `tests/replicas.rs`; without them the test says
//! SKIPPED on stderr and passes, unless DESTEK_REQUIRE_ALL is set.

#[path = "support/pg.rs"]
mod pg;

use futures_util::StreamExt;
use pg::{Api, Cluster, pg_bin_or_skip, replica_with};
use serde_json::{Value, json};
use std::process::Command;
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message as WsMessage;

const AGENT: &str = "replicas-inbox-token";

#[test]
fn an_agents_reply_crosses_replicas() {
    let Some(bin) = pg_bin_or_skip() else {
        return;
    };
    let cluster = Cluster::start(bin);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(cluster.create_database("destek"));
    let config = cluster.replica_config("destek", "");
    let mut add = Command::new(env!("CARGO_BIN_EXE_destek"));
    for (k, _) in std::env::vars() {
        if k.starts_with("DESTEK_") {
            add.env_remove(k);
        }
    }
    let out = add
        .args(["--config", &config.display().to_string()])
        .args(["agents", "add", "ayse", "--display", "Ayşe K."])
        .output()
        .expect("destek agents add");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let password = stdout
        .lines()
        .find_map(|l| l.strip_prefix("password: "))
        .expect("a password")
        .trim()
        .to_owned();

    let env = [("DESTEK_HANDOFF_AGENT_TOKEN", AGENT)];
    let a = replica_with(&config, &env);
    let b = replica_with(&config, &env);
    let api = Api {
        http: reqwest::Client::builder()
            .timeout(Duration::from_secs(20))
            .build()
            .expect("client"),
        bases: [a.base.clone(), b.base.clone()],
    };
    rt.block_on(async {
        // The agent signs in on replica B and opens the inbox's live stream there.
        let res = api
            .http
            .post(format!("{}/api/v1/agent/session", api.bases[1]))
            .json(&json!({"name": "ayse", "password": password}))
            .send()
            .await
            .expect("login");
        assert_eq!(res.status().as_u16(), 200);
        let cookie = res
            .headers()
            .get("set-cookie")
            .and_then(|v| v.to_str().ok())
            .and_then(|c| c.split(';').next())
            .expect("cookie")
            .to_owned();
        let mut inbox = api
            .http
            .get(format!("{}/api/v1/agent/events", api.bases[1]))
            .header("cookie", &cookie)
            .send()
            .await
            .expect("events");
        assert_eq!(inbox.status().as_u16(), 200);

        // The customer on replica A, with the widget's WebSocket open there.
        let (id, token) = api.create(0).await;
        let host = api.bases[0].trim_start_matches("http://");
        let (mut ws, _) = tokio_tungstenite::connect_async(format!(
            "ws://{host}/api/v1/conversations/{id}/ws?token={token}"
        ))
        .await
        .expect("websocket");
        let said = api
            .say(0, &id, &token, "I want to talk to a real person")
            .await;
        assert!(
            said.iter().any(|s| s.contains("online now")),
            "the agent on the other replica is online: {said:?}"
        );

        // The inbox on B hears of the handoff made on A.
        let mut heard = String::new();
        let got = tokio::time::timeout(Duration::from_secs(15), async {
            while let Ok(Some(chunk)) = inbox.chunk().await {
                heard.push_str(&String::from_utf8_lossy(&chunk));
                if heard.contains("handoff.created") && heard.contains(&id) {
                    return true;
                }
            }
            false
        })
        .await;
        assert_eq!(got, Ok(true), "the inbox on B got: {heard}");

        // The queue is the same through A (PostgreSQL queries of the inbox).
        let list: Value = api
            .http
            .get(format!("{}/api/v1/handoffs?status=waiting", api.bases[0]))
            .bearer_auth(AGENT)
            .send()
            .await
            .expect("list")
            .json()
            .await
            .expect("json");
        let handoff_id = list["handoffs"][0]["handoff_id"]
            .as_str()
            .expect("a waiting handoff")
            .to_owned();
        assert_eq!(
            list["handoffs"][0]["conversation_id"],
            id.as_str(),
            "{list}"
        );
        assert_eq!(list["agents_online"], json!(["ayse"]), "{list}");
        let one: Value = api
            .http
            .get(format!("{}/api/v1/handoffs/{handoff_id}", api.bases[0]))
            .bearer_auth(AGENT)
            .send()
            .await
            .expect("show")
            .json()
            .await
            .expect("json");
        assert!(
            one["transcript"].as_array().is_some_and(|t| t.len() >= 2),
            "{one}"
        );

        // The agent answers through B; the customer's socket on A receives it.
        let res = api
            .http
            .post(format!("{}/api/v1/handoffs/{id}/messages", api.bases[1]))
            .header("cookie", &cookie)
            .header("x-destek-inbox", "1")
            .json(&json!({"text": "Hello from the other replica"}))
            .send()
            .await
            .expect("agent message");
        assert_eq!(res.status().as_u16(), 200);
        let event = tokio::time::timeout(Duration::from_secs(15), async {
            while let Some(Ok(m)) = ws.next().await {
                if let WsMessage::Text(t) = m {
                    let v: Value = serde_json::from_str(&t).unwrap_or_default();
                    if v["type"] == "agent" {
                        return Some(v);
                    }
                }
            }
            None
        })
        .await
        .ok()
        .flatten()
        .expect("the agent's reply on the customer's socket");
        assert_eq!(event["text"], "Hello from the other replica");
        assert_eq!(event["agent"], "Ayşe K.");

        // Resolved through B, the rating request reaches the socket on A too.
        let res = api
            .http
            .post(format!("{}/api/v1/handoffs/{id}/resolve", api.bases[1]))
            .bearer_auth(AGENT)
            .send()
            .await
            .expect("resolve");
        assert_eq!(res.status().as_u16(), 200);
        let rating = tokio::time::timeout(Duration::from_secs(15), async {
            while let Some(Ok(m)) = ws.next().await {
                if let WsMessage::Text(t) = m {
                    let v: Value = serde_json::from_str(&t).unwrap_or_default();
                    if v["type"] == "replies" {
                        return Some(v);
                    }
                }
            }
            None
        })
        .await
        .ok()
        .flatten()
        .expect("the rating request on the customer's socket");
        assert!(
            rating["text"].as_str().unwrap_or_default().contains("1"),
            "{rating}"
        );
        let resolved: Value = api
            .http
            .get(format!("{}/api/v1/handoffs?status=resolved", api.bases[0]))
            .bearer_auth(AGENT)
            .send()
            .await
            .expect("list")
            .json()
            .await
            .expect("json");
        assert_eq!(resolved["handoffs"][0]["status"], "resolved", "{resolved}");
        assert_eq!(resolved["handoffs"][0]["agent"], "ayse", "{resolved}");
    });
    drop((a, b));
}
