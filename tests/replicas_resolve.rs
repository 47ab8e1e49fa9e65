//! A handoff resolved on one replica while the other takes an agent's message and a
//! customer's: on PostgreSQL the three are serialised by the conversation's advisory lock.
//!
//! Needs PostgreSQL's server binaries, like `tests/replicas.rs`; without them the test says
//! SKIPPED on stderr and passes, unless DESTEK_REQUIRE_ALL is set.

#[path = "support/pg.rs"]
mod pg;

use pg::{Api, Cluster, pg_bin_or_skip, replica_with};
use serde_json::{Value, json};
use std::time::Duration;

const AGENT: &str = "replicas-agent-token";

/// Issue 15, item 1 on PostgreSQL: a resolve on one replica racing an agent's message and
/// a customer's message on the other left the conversation handed off for good (44 of 50).
/// The resolve and the agent's message now hold the conversation's advisory lock.
#[test]
fn resolve_racing_messages_on_two_replicas_never_strands_the_customer() {
    let Some(bin) = pg_bin_or_skip() else {
        return;
    };
    let cluster = Cluster::start(bin);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(cluster.create_database("destek"));
    let config = cluster.replica_config("destek", "");
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
    let post = |replica: usize, path: String, token: &'static str, body: Value| {
        let api = api.clone();
        async move {
            let res = api
                .http
                .post(format!("{}{path}", api.bases[replica]))
                .bearer_auth(token)
                .json(&body)
                .send()
                .await
                .expect("request");
            res.status().as_u16()
        }
    };
    let rounds = 30;
    let stranded = rt.block_on(async {
        let mut stranded = 0;
        for round in 0..rounds {
            let (id, token) = api.create(round % 2).await;
            api.say(0, &id, &token, "talk to a human").await;
            let customer = api
                .http
                .post(format!(
                    "{}/api/v1/conversations/{id}/messages",
                    api.bases[1]
                ))
                .bearer_auth(&token)
                .json(&json!({"text": "are you there?"}))
                .send();
            let (resolved, _, _) = tokio::join!(
                post(
                    0,
                    format!("/api/v1/handoffs/{id}/resolve"),
                    AGENT,
                    json!({})
                ),
                post(
                    1,
                    format!("/api/v1/handoffs/{id}/messages"),
                    AGENT,
                    json!({"text": "on it"})
                ),
                customer,
            );
            assert_eq!(resolved, 200);
            let res = api
                .http
                .post(format!(
                    "{}/api/v1/conversations/{id}/messages",
                    api.bases[round % 2]
                ))
                .bearer_auth(&token)
                .json(&json!({"text": "hello"}))
                .send()
                .await
                .expect("hello");
            let v: Value = res.json().await.expect("json");
            if v["replies"].as_array().is_none_or(Vec::is_empty) || v["handoff"] == true {
                stranded += 1;
            }
        }
        stranded
    });
    drop((a, b));
    assert_eq!(stranded, 0, "{stranded} of {rounds} customers stranded");
}
