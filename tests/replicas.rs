//! Two `destek serve` replicas on one temporary PostgreSQL cluster: interleaved messages
//! for one conversation and for several are neither lost, duplicated nor reordered, turns
//! never interleave, and every handoff reaches the webhook receiver once.
//!
//! Needs PostgreSQL's server binaries (initdb, pg_ctl, postgres; Debian's `postgresql`).
//! Without them the test says SKIPPED on stderr and passes, unless DESTEK_REQUIRE_ALL is
//! set.

#[path = "support/pg.rs"]
mod pg;

use pg::{Api, Cluster, SECRET, pg_bin_or_skip, replica};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The human queue: checks signatures, counts attempts per delivery id, keeps the events
/// it accepted (each delivery id once).
#[derive(Default)]
struct Receiver {
    attempts: Mutex<HashMap<String, u32>>,
    accepted: Mutex<Vec<(String, Value)>>,
    bad: Mutex<u32>,
}

async fn receive(State(r): State<Arc<Receiver>>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let delivery = header("x-destek-delivery");
    let body = String::from_utf8_lossy(&body).into_owned();
    let expected = header("x-destek-timestamp")
        .parse::<i64>()
        .map(|t| destek::handoff::signature(SECRET, t, &body))
        .unwrap_or_default();
    if expected != header("x-destek-signature") {
        if let Ok(mut n) = r.bad.lock() {
            *n += 1;
        }
        return StatusCode::UNAUTHORIZED;
    }
    // Slow enough that an entry the other replica did not see as claimed would be sent
    // again by its next outbox pass (every 250 ms) while this one is in flight.
    tokio::time::sleep(Duration::from_millis(400)).await;
    let first = match r.attempts.lock() {
        Ok(mut a) => {
            let n = a.entry(delivery.clone()).or_insert(0);
            *n += 1;
            *n == 1
        }
        Err(_) => return StatusCode::INTERNAL_SERVER_ERROR,
    };
    if first && let (Ok(v), Ok(mut a)) = (serde_json::from_str::<Value>(&body), r.accepted.lock()) {
        a.push((delivery, v));
    }
    StatusCode::OK
}

/// Splits a transcript into turns (the customer's text, the bot's replies) and checks that
/// every customer message is followed by at least one bot reply before the next one.
fn turns(id: &str, transcript: &[(String, String)]) -> Vec<(String, Vec<String>)> {
    let mut out: Vec<(String, Vec<String>)> = Vec::new();
    for (from, text) in transcript {
        match from.as_str() {
            "customer" => {
                if let Some((prev, replies)) = out.last() {
                    assert!(
                        !replies.is_empty(),
                        "{id}: turns interleave: `{prev}` has no reply before `{text}`"
                    );
                }
                out.push((text.clone(), Vec::new()));
            }
            // Before the first customer message there is none: the welcome a conversation
            // opens with is not a reply.
            "bot" => {
                if let Some((_, replies)) = out.last_mut() {
                    replies.push(text.clone());
                }
            }
            other => panic!("{id}: unexpected sender {other}"),
        }
    }
    if let Some((last, replies)) = out.last() {
        assert!(!replies.is_empty(), "{id}: `{last}` has no reply");
    }
    out
}

/// Checks that the transcript holds exactly the messages sent, once each, each followed
/// by the replies its own request got.
fn check_turns(
    id: &str,
    transcript: &[(String, String)],
    sent: &HashMap<String, Vec<String>>,
) -> Vec<String> {
    let turns = turns(id, transcript);
    let mut order = Vec::new();
    for (text, replies) in &turns {
        let Some(expected) = sent.get(text) else {
            panic!("{id}: `{text}` in the transcript was never sent");
        };
        assert_eq!(
            replies, expected,
            "{id}: `{text}` is not followed by its own replies"
        );
        order.push(text.clone());
    }
    let mut unique = order.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(
        unique.len(),
        order.len(),
        "{id}: duplicated messages: {order:?}"
    );
    assert_eq!(order.len(), sent.len(), "{id}: lost messages: {order:?}");
    order
}

fn position(order: &[String], text: &str) -> usize {
    order
        .iter()
        .position(|t| t == text)
        .unwrap_or_else(|| panic!("`{text}` is missing"))
}

/// The `Store` contract on PostgreSQL directly: migrations twice, commit and transcript,
/// the outbox claim and its lease, failures, retries, the operator's list.
async fn store_contract(url: &str) {
    use destek::store::postgres::PgStore;
    use destek::store::{Change, Message, OutboxEntry, Sender, Store, Stored, now_ms};
    let store = PgStore::connect(url).await.expect("connect");
    let other = PgStore::connect(url)
        .await
        .expect("migrations are idempotent");
    store.ping().await.expect("ping");
    assert!(store.load("nobody").await.expect("load").is_none());

    // Issue 15, item 7: failed verifications are shared by replicas (one replica records,
    // the other sees them) and old ones are forgotten.
    let keys = vec!["ip:192.0.2.1".to_owned(), "conversation:x".to_owned()];
    let t = now_ms();
    store
        .record_verify_failure(&keys, t - 5_000, t - 3_600_000)
        .await
        .expect("record");
    store
        .record_verify_failure(&keys[..1], t, t - 3_600_000)
        .await
        .expect("record");
    let seen = other
        .verify_failures(&keys, t - 3_600_000)
        .await
        .expect("count");
    assert_eq!(
        seen.iter()
            .map(|f| (f.count, f.latest_ms))
            .collect::<Vec<_>>(),
        [(2, Some(t)), (1, Some(t - 5_000))]
    );
    other
        .record_verify_failure(&keys[1..], t + 1, t - 1_000)
        .await
        .expect("record and forget");
    let seen = store.verify_failures(&keys, 0).await.expect("count");
    assert_eq!(seen[0].count, 1, "failures before the window are forgotten");
    assert_eq!(seen[1].count, 1);
    let conv = |id: &str| Stored {
        id: id.into(),
        channel: "web".into(),
        lang_hint: None,
        token_hash: [7; 32],
        state: Default::default(),
    };
    store.create(conv("c1")).await.expect("create");
    assert!(store.create(conv("c1")).await.is_err(), "a duplicate id");
    let msg = |from, text: &str| Message {
        from,
        text: text.into(),
        buttons: Vec::new(),
        agent: None,
        at: "2026-01-01T00:00:00Z".into(),
    };
    let state = destek::dialogue::Conversation {
        handoffs: 3,
        ..Default::default()
    };
    // The conversation lock holds across stores (replicas) until its guard drops.
    let guard = store.lock_conversation("c1").await.expect("lock");
    let waiting =
        tokio::time::timeout(Duration::from_millis(300), other.lock_conversation("c1")).await;
    assert!(
        waiting.is_err(),
        "two replicas held one conversation's lock"
    );
    let elsewhere = other
        .lock_conversation("c2")
        .await
        .expect("another conversation");
    drop(elsewhere);
    drop(guard);
    let guard = tokio::time::timeout(Duration::from_secs(5), other.lock_conversation("c1"))
        .await
        .expect("the lock is freed when its guard drops")
        .expect("lock");
    drop(guard);
    store
        .commit("c1", Change::messages(vec![msg(Sender::Customer, "one")]))
        .await
        .expect("commit");
    store
        .commit(
            "c1",
            Change {
                messages: vec![msg(Sender::Bot, "two"), msg(Sender::Bot, "three")],
                state: Some(state.clone()),
                outbox: vec![OutboxEntry {
                    id: "d1".into(),
                    event: "handoff.created".into(),
                    body: "{}".into(),
                }],
            },
        )
        .await
        .expect("commit");
    // A failed commit writes nothing: the state update names no conversation.
    let failed = Change {
        messages: Vec::new(),
        state: Some(state.clone()),
        outbox: vec![OutboxEntry {
            id: "d2".into(),
            event: "handoff.created".into(),
            body: "{}".into(),
        }],
    };
    assert!(store.commit("missing", failed).await.is_err());
    let texts: Vec<String> = store
        .transcript("c1")
        .await
        .expect("transcript")
        .into_iter()
        .map(|m| m.text)
        .collect();
    assert_eq!(texts, ["one", "two", "three"]);
    // Issue 15, item 5: transcripts in pages, the latest first, on PostgreSQL too.
    let page = other.transcript_page("c1", None, 2).await.expect("page");
    let texts: Vec<&str> = page.iter().map(|(_, m)| m.text.as_str()).collect();
    assert_eq!(texts, ["two", "three"]);
    let earlier = other
        .transcript_page("c1", Some(page[0].0), 2)
        .await
        .expect("earlier page");
    let texts: Vec<&str> = earlier.iter().map(|(_, m)| m.text.as_str()).collect();
    assert_eq!(texts, ["one"]);
    let loaded = store.load("c1").await.expect("load").expect("stored");
    assert_eq!(loaded.state, state);
    assert_eq!(loaded.token_hash, [7; 32]);
    // The turn's token check reads the hash alone, on either replica; an unknown id has none.
    assert_eq!(other.token_hash("c1").await.expect("hash"), Some([7; 32]));
    assert_eq!(other.token_hash("no-such").await.expect("hash"), None);

    let now = now_ms();
    let due = store.due_deliveries(now, 10).await.expect("due");
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].id, "d1");
    assert_eq!(due[0].conversation_id, "c1");
    // Claimed: hidden from every other pass until its lease runs out.
    assert!(store.due_deliveries(now, 10).await.expect("due").is_empty());
    store
        .record_attempt("d1", Err("receiver answered 500".into()), now + 60_000)
        .await
        .expect("attempt");
    assert!(
        store
            .due_deliveries(now_ms(), 10)
            .await
            .expect("due")
            .is_empty()
    );
    let pending = store.deliveries(true, 10).await.expect("list");
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].attempts, 1);
    assert_eq!(
        pending[0].last_error.as_deref(),
        Some("receiver answered 500")
    );
    assert_eq!(store.retry_deliveries(Some("d1")).await.expect("retry"), 1);
    let due = store.due_deliveries(now_ms(), 10).await.expect("due");
    assert_eq!(due.len(), 1);
    store
        .record_attempt("d1", Ok(()), 0)
        .await
        .expect("attempt");
    assert!(store.deliveries(true, 10).await.expect("list").is_empty());
    let all = store.deliveries(false, 10).await.expect("list");
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].attempts, 2);
    assert!(all[0].delivered_at.is_some());
    assert_eq!(store.retry_deliveries(None).await.expect("retry"), 0);
}

#[test]
fn two_replicas_share_one_postgres_without_losing_or_reordering_turns() {
    let Some(bin) = pg_bin_or_skip() else {
        return;
    };
    let started = Instant::now();
    let cluster = Cluster::start(bin);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        cluster.create_database("destek").await;
        cluster.create_database("contract").await;
        store_contract(&cluster.url("contract")).await;
    });

    let receiver = Arc::new(Receiver::default());
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .expect("bind receiver");
    let hook = listener.local_addr().expect("addr");
    let app = Router::new()
        .route("/hook", post(receive))
        .with_state(Arc::clone(&receiver));
    rt.spawn(async move {
        let _ = axum::serve(listener, app).await;
    });

    let config = cluster.replica_config(
        "destek",
        &format!("handoff: {{webhook_url: \"http://{hook}/hook\"}}\n"),
    );
    // Started together: both migrate the empty database under the advisory lock.
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(|| replica(&config));
        let b = s.spawn(|| replica(&config));
        (a.join().expect("replica a"), b.join().expect("replica b"))
    });
    let api = Api {
        http: reqwest::Client::builder()
            .timeout(Duration::from_secs(20))
            .build()
            .expect("client"),
        bases: [a.base.clone(), b.base.clone()],
    };

    let work = async {
        // One conversation, 20 messages from 4 clients, 4 in flight at once, alternating
        // replicas; each client sends its messages one after another.
        let (shared_id, shared_token) = api.create(0).await;
        let mut clients = Vec::new();
        for c in 1..=4usize {
            let (api, id, token) = (api.clone(), shared_id.clone(), shared_token.clone());
            clients.push(tokio::spawn(async move {
                let mut sent = Vec::new();
                for n in (c..=20).step_by(4) {
                    let text = format!("hello {n}");
                    let replies = api.say(n % 2, &id, &token, &text).await;
                    sent.push((text, replies));
                }
                sent
            }));
        }
        // Different conversations, each from one client, alternating replicas.
        let mut solos = Vec::new();
        for k in 1..=6usize {
            let api = api.clone();
            solos.push(tokio::spawn(async move {
                let (id, token) = api.create(k % 2).await;
                let mut sent = Vec::new();
                for j in 1..=5usize {
                    let text = format!("hello {}", 100 * k + j);
                    let replies = api.say((k + j) % 2, &id, &token, &text).await;
                    sent.push((text, replies));
                }
                (id, token, sent)
            }));
        }
        // Handoffs spread over both replicas.
        let mut handoffs = Vec::new();
        for h in 0..6usize {
            let api = api.clone();
            handoffs.push(tokio::spawn(async move {
                let (id, token) = api.create(h % 2).await;
                let first = api.say(h % 2, &id, &token, "hello").await;
                let second = api.say((h + 1) % 2, &id, &token, "talk to a human").await;
                let sent = vec![
                    ("hello".to_owned(), first),
                    ("talk to a human".to_owned(), second),
                ];
                (id, token, sent)
            }));
        }

        let mut per_client = Vec::new();
        let mut shared_sent = HashMap::new();
        for c in clients {
            let sent = c.await.expect("client task");
            per_client.push(sent.iter().map(|(t, _)| t.clone()).collect::<Vec<_>>());
            shared_sent.extend(sent);
        }
        let transcript = api.transcript(&shared_id, &shared_token).await;
        let order = check_turns(&shared_id, &transcript, &shared_sent);
        assert_eq!(order.len(), 20);
        for texts in &per_client {
            let at: Vec<usize> = texts.iter().map(|t| position(&order, t)).collect();
            assert!(
                at.windows(2).all(|w| w[0] < w[1]),
                "a client's messages are out of order: {texts:?} in {order:?}"
            );
        }

        for s in solos {
            let (id, token, sent) = s.await.expect("solo task");
            let texts: Vec<String> = sent.iter().map(|(t, _)| t.clone()).collect();
            let transcript = api.transcript(&id, &token).await;
            let order = check_turns(&id, &transcript, &sent.into_iter().collect());
            assert_eq!(order, texts, "{id}: reordered");
        }

        let mut handed_off = Vec::new();
        for h in handoffs {
            let (id, token, sent) = h.await.expect("handoff task");
            let texts: Vec<String> = sent.iter().map(|(t, _)| t.clone()).collect();
            let transcript = api.transcript(&id, &token).await;
            let order = check_turns(&id, &transcript, &sent.into_iter().collect());
            assert_eq!(order, texts, "{id}: reordered");
            handed_off.push(id);
        }

        // Every handoff.created reaches the receiver, once.
        let created = |r: &Receiver| -> Vec<(String, String)> {
            r.accepted
                .lock()
                .map(|a| {
                    a.iter()
                        .filter(|(_, v)| v["event"] == "handoff.created")
                        .map(|(d, v)| {
                            (
                                v["conversation_id"].as_str().unwrap_or_default().to_owned(),
                                d.clone(),
                            )
                        })
                        .collect()
                })
                .unwrap_or_default()
        };
        let deadline = Instant::now() + Duration::from_secs(15);
        while created(&receiver).len() < handed_off.len() && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        // A few more outbox passes of both replicas: a second delivery would show now.
        tokio::time::sleep(Duration::from_millis(1_500)).await;
        let created = created(&receiver);
        for id in &handed_off {
            let n = created.iter().filter(|(c, _)| c == id).count();
            assert_eq!(
                n, 1,
                "{id}: handoff.created accepted {n} times: {created:?}"
            );
        }
        assert_eq!(created.len(), handed_off.len(), "{created:?}");
        let attempts = receiver
            .attempts
            .lock()
            .map(|a| a.clone())
            .unwrap_or_default();
        for (delivery, n) in &attempts {
            assert_eq!(*n, 1, "delivery {delivery} was sent {n} times");
        }
        assert_eq!(
            receiver.bad.lock().map(|n| *n).unwrap_or(1),
            0,
            "bad signatures"
        );
    };
    rt.block_on(async {
        tokio::time::timeout(Duration::from_secs(60), work)
            .await
            .expect("the replicas test took over 60 s");
    });
    drop((a, b));
    eprintln!("replicas test took {:?}", started.elapsed());
}
