//! Proactive notices are durable: a server SIGKILLed right after accepting an event, or
//! stopped while a batch is queued, loses nothing and says each notice once after the
//! restart; two replicas on one PostgreSQL say each notice once between them.
//!
//! The replica test needs PostgreSQL's server binaries; without them it says SKIPPED on
//! stderr and passes, unless DESTEK_REQUIRE_ALL is set.

#[path = "support/pg.rs"]
mod pg;

use serde_json::{Value, json};
use std::time::{Duration, Instant};

const EVENTS: &str = "events-token-for-tests";
const WAIT: Duration = Duration::from_secs(20);
const ORDER: &str = "48213977";
const EMAIL: &str = "ayse.yilmaz@example.com";

/// One `destek serve` process, SIGKILLed on drop.
struct Serve {
    child: std::process::Child,
    base: String,
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn destek(config: &std::path::Path) -> std::process::Command {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_destek"));
    cmd.arg("--config").arg(config);
    // Only this test's configuration counts.
    for (k, _) in std::env::vars() {
        if k.starts_with("DESTEK_") || k == "TELOXIDE_TOKEN" {
            cmd.env_remove(k);
        }
    }
    cmd
}

fn serve(config: &std::path::Path) -> Serve {
    use std::io::{BufRead, BufReader};
    let mut child = destek(config)
        .arg("serve")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::inherit())
        .spawn()
        .expect("start destek serve");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let base = loop {
        let line = lines
            .next()
            .expect("destek serve exited before listening")
            .expect("read stdout");
        if let Some(url) = line.strip_prefix("listening on ") {
            break url.trim().to_owned();
        }
    };
    std::thread::spawn(move || for _ in lines {});
    Serve { child, base }
}

async fn post(base: &str, path: &str, token: &str, body: Value) -> Value {
    let res = reqwest::Client::new()
        .post(format!("{base}{path}"))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .expect("request");
    assert!(res.status().is_success(), "{path}: {}", res.status());
    res.json().await.expect("json")
}

async fn texts(base: &str, id: &str, token: &str) -> Vec<String> {
    let v: Value = reqwest::Client::new()
        .get(format!("{base}/api/v1/conversations/{id}/transcript"))
        .bearer_auth(token)
        .send()
        .await
        .expect("transcript")
        .json()
        .await
        .expect("json");
    v["messages"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|m| m["from"] == "bot")
        .filter_map(|m| m["text"].as_str().map(str::to_owned))
        .collect()
}

/// Waits until `destek notices` reports nothing pending: from then on nothing more can be
/// said, so counting what was said is final.
fn settled(config: &std::path::Path) {
    let deadline = Instant::now() + WAIT;
    loop {
        let out = destek(config)
            .arg("notices")
            .output()
            .expect("destek notices");
        assert!(out.status.success(), "{out:?}");
        if String::from_utf8_lossy(&out.stdout).contains("no pending notices") {
            return;
        }
        assert!(Instant::now() < deadline, "notices still pending: {out:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn notices_survive_a_sigkill_and_a_stopped_server_and_are_said_once() {
    let dir = std::env::temp_dir().join(format!("destek-notices-restart-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    let token_file = dir.join("events.token");
    std::fs::write(&token_file, format!("{EVENTS}\n")).expect("token file");
    let config = dir.join("destek.yaml");
    std::fs::write(
        &config,
        format!(
            "storage: {{url: \"sqlite://{}\"}}\n\
             web: {{bind: \"127.0.0.1:0\", watch: false}}\n\
             orders: {{source: memory, events_token_file: \"{}\"}}\n\
             notices: {{quiet_hours: \"off\"}}\n",
            dir.join("destek.db").display(),
            token_file.display()
        ),
    )
    .expect("config");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");

    let first = serve(&config);
    let (id, token) = rt.block_on(async {
        let c: Value = reqwest::Client::new()
            .post(format!("{}/api/v1/conversations", first.base))
            .json(&json!({"lang": "en"}))
            .send()
            .await
            .expect("create")
            .json()
            .await
            .expect("json");
        let id = c["conversation_id"].as_str().expect("id").to_owned();
        let token = c["token"].as_str().expect("token").to_owned();
        let path = format!("/api/v1/conversations/{id}/messages");
        post(
            &first.base,
            &path,
            &token,
            json!({"text": format!("where is my order {ORDER}")}),
        )
        .await;
        let v = post(&first.base, &path, &token, json!({"text": EMAIL})).await;
        assert!(v.to_string().contains("shipped"), "{v}");
        (id, token)
    });
    // An event, then SIGKILL at once: whatever the loop had done by then, nothing is lost.
    rt.block_on(post(
        &first.base,
        &format!("/api/v1/orders/{ORDER}/events"),
        EVENTS,
        json!({"event": "shipped", "event_id": "sh-1"}),
    ));
    drop(first);

    // While no server runs, a batch queues the next event.
    let csv = dir.join("events.csv");
    std::fs::write(
        &csv,
        format!("order_id,event,event_id,estimated_delivery\n{ORDER},delayed,dl-1,2026-12-29\n"),
    )
    .expect("csv");
    let out = destek(&config)
        .arg("notify")
        .arg(&csv)
        .output()
        .expect("destek notify");
    assert!(out.status.success(), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("1 conversation(s) to notify"),
        "{out:?}"
    );
    let pending = destek(&config)
        .arg("notices")
        .output()
        .expect("destek notices");
    assert!(
        String::from_utf8_lossy(&pending.stdout).contains("delayed"),
        "the batch's notice is listed as pending: {pending:?}"
    );
    // The same batch again is recognised by its event ids.
    let again = destek(&config)
        .arg("notify")
        .arg(&csv)
        .output()
        .expect("notify");
    assert!(
        String::from_utf8_lossy(&again.stdout).contains("seen before"),
        "{again:?}"
    );

    let second = serve(&config);
    settled(&config);
    let said = rt.block_on(texts(&second.base, &id, &token));
    let count = |f: &str| said.iter().filter(|t| t.contains(f)).count();
    assert_eq!(count("has shipped"), 1, "{said:#?}");
    assert_eq!(count("running late"), 1, "{said:#?}");
    drop(second);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn two_replicas_on_one_postgres_say_each_notice_once() {
    let Some(bin) = pg::pg_bin_or_skip() else {
        return;
    };
    let cluster = pg::Cluster::start(bin);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(cluster.create_database("destek"));
    let config = cluster.replica_config(
        "destek",
        "notices: {quiet_hours: \"off\", max_per_day: 0}\n",
    );
    let env = [("DESTEK_ORDERS_EVENTS_TOKEN", EVENTS)];
    let replicas = [
        pg::replica_with(&config, &env),
        pg::replica_with(&config, &env),
    ];
    let api = pg::Api {
        http: reqwest::Client::new(),
        bases: [replicas[0].base.clone(), replicas[1].base.clone()],
    };
    let (id, token) = rt.block_on(async {
        let (id, token) = api.create(0).await;
        api.say(0, &id, &token, &format!("where is my order {ORDER}"))
            .await;
        let said = api.say(1, &id, &token, EMAIL).await;
        assert!(said.concat().contains("shipped"), "{said:?}");
        (id, token)
    });
    // Six events, each sent to both replicas (a retrying shop), both delivering at once.
    rt.block_on(async {
        for n in 0..6 {
            for r in [n % 2, (n + 1) % 2] {
                let v = post(
                    &api.bases[r],
                    &format!("/api/v1/orders/{ORDER}/events"),
                    EVENTS,
                    json!({"event": "delayed", "event_id": format!("d-{n}"),
                           "estimated_delivery": format!("2026-12-{:02}", 20 + n)}),
                )
                .await;
                assert_eq!(v["notified"], 1, "{v}");
            }
        }
    });
    settled_with(&config, &env);
    let said = rt.block_on(api.transcript(&id, &token));
    let notices: Vec<&String> = said
        .iter()
        .filter(|(from, text)| from == "bot" && text.contains("running late"))
        .map(|(_, text)| text)
        .collect();
    assert_eq!(notices.len(), 6, "{notices:#?}");
    for n in 0..6 {
        let date = format!("{} December 2026", 20 + n);
        assert_eq!(
            notices.iter().filter(|t| t.contains(&date)).count(),
            1,
            "{date}: {notices:#?}"
        );
    }
}

fn settled_with(config: &std::path::Path, env: &[(&str, &str)]) {
    let deadline = Instant::now() + WAIT;
    loop {
        let mut cmd = destek(config);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let out = cmd.arg("notices").output().expect("destek notices");
        assert!(out.status.success(), "{out:?}");
        if String::from_utf8_lossy(&out.stdout).contains("no pending notices") {
            return;
        }
        assert!(Instant::now() < deadline, "notices still pending: {out:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
}
