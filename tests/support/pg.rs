//! A temporary PostgreSQL cluster and `destek serve` replicas on it, for the tests that
//! run several replicas (127.0.0.1 only; killed and removed on drop).

#![allow(dead_code)]

use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

pub const SECRET: &str = "replicas-webhook-secret";
pub const SKIP: &str =
    "SKIPPED: PostgreSQL server binaries not installed (apt-get install postgresql)";

/// The directory holding initdb, pg_ctl and postgres: on PATH, or Debian's
/// /usr/lib/postgresql/<version>/bin (newest first).
/// The server binaries, or `None` after saying SKIPPED on stderr (a failure under
/// `DESTEK_REQUIRE_ALL`).
pub fn pg_bin_or_skip() -> Option<PathBuf> {
    let bin = pg_bin();
    if bin.is_none() {
        if std::env::var_os("DESTEK_REQUIRE_ALL").is_some() {
            panic!("{SKIP}");
        }
        eprintln!("\n{SKIP}\n");
    }
    bin
}

pub fn pg_bin() -> Option<PathBuf> {
    let has_all = |d: &Path| {
        ["initdb", "pg_ctl", "postgres"]
            .iter()
            .all(|b| d.join(b).is_file())
    };
    let on_path = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .unwrap_or_default();
    if let Some(d) = on_path.into_iter().find(|d| has_all(d)) {
        return Some(d);
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(Result::ok)
        .filter_map(|e| {
            let v = e.file_name().to_str()?.parse::<u32>().ok()?;
            Some((v, e.path().join("bin")))
        })
        .filter(|(_, d)| has_all(d))
        .collect();
    versions.sort();
    versions.pop().map(|(_, d)| d)
}

pub fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

pub fn check(what: &str, out: std::io::Result<Output>) {
    let out = out.unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(
        out.status.success(),
        "{what} failed ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A temporary cluster, stopped and deleted on drop.
pub struct Cluster {
    pub bin: PathBuf,
    pub dir: PathBuf,
    /// initdb refuses to run as root: then every postgres command runs as `nobody`.
    pub root: bool,
    pub port: u16,
}

impl Cluster {
    pub fn command(&self, program: &str) -> Command {
        let program = self.bin.join(program);
        if self.root {
            let mut c = Command::new("runuser");
            c.args(["-u", "nobody", "--"]).arg(program);
            c
        } else {
            Command::new(program)
        }
    }

    pub fn data(&self) -> PathBuf {
        self.dir.join("data")
    }

    pub fn start(bin: PathBuf) -> Cluster {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let dir =
            std::env::temp_dir().join(format!("destek-replicas-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let cluster = Cluster {
            bin,
            dir,
            root: is_root(),
            port: free_port(),
        };
        if cluster.root {
            check(
                "chown nobody",
                Command::new("chown")
                    .arg("nobody:")
                    .arg(&cluster.dir)
                    .output(),
            );
        }
        check(
            "initdb",
            cluster
                .command("initdb")
                .arg("-D")
                .arg(cluster.data())
                .args([
                    "-U",
                    "destek",
                    "--auth=trust",
                    "-E",
                    "UTF8",
                    "--locale=C",
                    "--no-sync",
                ])
                .output(),
        );
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200",
            cluster.port,
            cluster.dir.display()
        );
        check(
            "pg_ctl start",
            cluster
                .command("pg_ctl")
                .arg("-D")
                .arg(cluster.data())
                .arg("-l")
                .arg(cluster.dir.join("postgres.log"))
                .args(["-o", &options, "-w", "-t", "30", "start"])
                .stdin(Stdio::null())
                .output(),
        );
        cluster
    }

    pub fn url(&self, db: &str) -> String {
        format!("postgres://destek@127.0.0.1:{}/{db}", self.port)
    }

    /// `CREATE DATABASE name`, over a connection of its own.
    pub async fn create_database(&self, name: &str) {
        let (client, connection) =
            tokio_postgres::connect(&self.url("postgres"), tokio_postgres::NoTls)
                .await
                .expect("connect to the test cluster");
        tokio::spawn(connection);
        client
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .await
            .expect("create database");
    }

    /// A `destek.yaml` for replicas sharing database `db`: no rate limits, orders in memory,
    /// and `extra` (whole lines) after that.
    pub fn replica_config(&self, db: &str, extra: &str) -> PathBuf {
        let config = self.dir.join("destek.yaml");
        std::fs::write(
            &config,
            format!(
                "storage: {{url: \"{}\"}}\n\
                 web: {{bind: \"127.0.0.1:0\", per_ip_per_minute: 0, per_conversation_per_minute: 0, watch: false}}\n\
                 orders: {{source: memory}}\n{extra}",
                self.url(db)
            ),
        )
        .expect("config");
        config
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = self
            .command("pg_ctl")
            .arg("-D")
            .arg(self.data())
            .args(["-m", "immediate", "-w", "stop"])
            .stdin(Stdio::null())
            .output();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// One `destek serve`, killed on drop.
pub struct Replica {
    pub child: Child,
    pub base: String,
}

impl Drop for Replica {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn replica(config: &Path) -> Replica {
    replica_with(config, &[])
}

pub fn replica_with(config: &Path, env: &[(&str, &str)]) -> Replica {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_destek"));
    cmd.args(["--config", &config.display().to_string(), "serve"])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    // Only this test's configuration counts.
    for (k, _) in std::env::vars() {
        if k.starts_with("DESTEK_") || k == "TELOXIDE_TOKEN" {
            cmd.env_remove(k);
        }
    }
    cmd.env("DESTEK_HANDOFF_SECRET", SECRET);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("start destek serve");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut sent = false;
        // Keeps draining stdout so the child never blocks on a full pipe.
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if !sent && let Some(url) = line.strip_prefix("listening on ") {
                let _ = tx.send(url.trim().to_owned());
                sent = true;
            }
        }
    });
    let mut r = Replica {
        child,
        base: String::new(),
    };
    r.base = rx
        .recv_timeout(Duration::from_secs(30))
        .expect("destek serve did not print `listening on` within 30 s");
    r
}

#[derive(Clone)]
pub struct Api {
    pub http: reqwest::Client,
    pub bases: [String; 2],
}

impl Api {
    pub async fn create(&self, replica: usize) -> (String, String) {
        let v: Value = self
            .http
            .post(format!("{}/api/v1/conversations", self.bases[replica]))
            .json(&json!({"lang": "en"}))
            .send()
            .await
            .expect("create conversation")
            .json()
            .await
            .expect("json");
        (
            v["conversation_id"].as_str().expect("id").to_owned(),
            v["token"].as_str().expect("token").to_owned(),
        )
    }

    /// Sends one message; returns the bot's reply texts.
    pub async fn say(&self, replica: usize, id: &str, token: &str, text: &str) -> Vec<String> {
        let res = self
            .http
            .post(format!(
                "{}/api/v1/conversations/{id}/messages",
                self.bases[replica]
            ))
            .bearer_auth(token)
            .json(&json!({ "text": text }))
            .send()
            .await
            .expect("post message");
        assert!(res.status().is_success(), "{text}: {}", res.status());
        let v: Value = res.json().await.expect("json");
        let replies = v["replies"].as_array().expect("replies");
        assert!(!replies.is_empty(), "{text}: no reply");
        replies
            .iter()
            .map(|r| r["text"].as_str().expect("reply text").to_owned())
            .collect()
    }

    /// The transcript as (from, text), the same through both replicas.
    pub async fn transcript(&self, id: &str, token: &str) -> Vec<(String, String)> {
        let mut seen = Vec::new();
        for base in &self.bases {
            let v: Value = self
                .http
                .get(format!("{base}/api/v1/conversations/{id}/transcript"))
                .bearer_auth(token)
                .send()
                .await
                .expect("transcript")
                .json()
                .await
                .expect("json");
            let messages: Vec<(String, String)> = v["messages"]
                .as_array()
                .expect("messages")
                .iter()
                .map(|m| {
                    (
                        m["from"].as_str().unwrap_or_default().to_owned(),
                        m["text"].as_str().unwrap_or_default().to_owned(),
                    )
                })
                .collect();
            seen.push(messages);
        }
        assert_eq!(seen[0], seen[1], "the replicas disagree on {id}");
        seen.swap_remove(0)
    }
}
