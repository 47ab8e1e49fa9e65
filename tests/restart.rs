//! A server killed with SIGKILL mid-conversation loses nothing it acknowledged, and after a
//! restart the conversation carries on where it was.

use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

struct Serve {
    child: Child,
    base: String,
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(config: &std::path::Path) -> Serve {
    let mut child = Command::new(env!("CARGO_BIN_EXE_destek"))
        .args(["--config", &config.display().to_string(), "serve"])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
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
    // Keep draining stdout so the child never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    Serve { child, base }
}

fn post(base: &str, path: &str, token: Option<&str>, body: Value) -> Value {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let mut req = reqwest::Client::new()
            .post(format!("{base}{path}"))
            .json(&body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let res = req.send().await.expect("request");
        assert!(res.status().is_success(), "{}", res.status());
        res.json().await.expect("json")
    })
}

#[test]
fn sigkill_loses_nothing_and_the_conversation_continues() {
    let dir = std::env::temp_dir().join(format!("destek-restart-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let config = dir.join("destek.yaml");
    std::fs::write(
        &config,
        format!(
            "storage: {{url: \"sqlite://{}\"}}\nweb: {{bind: \"127.0.0.1:0\"}}\n",
            dir.join("destek.db").display()
        ),
    )
    .expect("config");

    let first = serve(&config);
    let c = post(
        &first.base,
        "/api/v1/conversations",
        None,
        json!({"lang": "en"}),
    );
    let id = c["conversation_id"].as_str().expect("id").to_owned();
    let token = c["token"].as_str().expect("token").to_owned();
    let path = format!("/api/v1/conversations/{id}/messages");
    let v = post(
        &first.base,
        &path,
        Some(&token),
        json!({"text": "where is my order 48213977"}),
    );
    assert!(v.to_string().contains("last 4 digits"), "{v}");
    // SIGKILL: no shutdown, no flush.
    drop(first);

    let second = serve(&config);
    let v = post(
        &second.base,
        &path,
        Some(&token),
        json!({"text": "ayse.yilmaz@example.com"}),
    );
    assert!(
        v.to_string().contains("shipped"),
        "the flow should continue at verification after the restart: {v}"
    );
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let t: Value = rt.block_on(async {
        reqwest::get(format!(
            "{}/api/v1/conversations/{id}/transcript?token={token}",
            second.base
        ))
        .await
        .expect("transcript")
        .json()
        .await
        .expect("json")
    });
    let texts: Vec<&str> = t["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .filter_map(|m| m["text"].as_str())
        .collect();
    // The welcome the conversation opened with, then the two turns.
    assert_eq!(texts.len(), 5, "{texts:?}");
    assert_eq!(texts[1], "where is my order 48213977");
    assert_eq!(texts[3], "ayse.yilmaz@example.com");
    drop(second);
    let _ = std::fs::remove_dir_all(&dir);
}
