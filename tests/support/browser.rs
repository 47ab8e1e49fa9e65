//! Headless Chromium for the widget tests: `destek serve` on a free port, the widget's
//! shadow root and messages, axe-core (from npm, when installed) for accessibility checks.
//! The WebDriver client and chromedriver are `webdriver.rs`, which each test includes too.
//!
//! Needs `/usr/bin/chromium` and `chromedriver` (`apt-get install chromium chromium-driver`);
//! without them a test prints SKIPPED and passes, unless `DESTEK_REQUIRE_ALL` is set.

#![allow(dead_code)]

// The generic WebDriver client, chromedriver and temporary directories.
pub use crate::webdriver::*;

use serde_json::Value;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

pub const AGENT_TOKEN: &str = "agent-secret-for-the-widget-test";

/// The widget's shadow root, for scripts run in the page.
pub const ROOT: &str = "const host = document.querySelector('destek-widget'); \
                    const r = host && host.shadowRoot;";

/// chromedriver, or `None` after printing SKIPPED (a failure under `DESTEK_REQUIRE_ALL`).
pub fn chromedriver_or_skip() -> Option<PathBuf> {
    let found = find_chromedriver();
    if found.is_none() {
        if std::env::var_os("DESTEK_REQUIRE_ALL").is_some() {
            panic!("{SKIPPED}");
        }
        eprintln!("\n{}\n{SKIPPED}\n{}\n", "=".repeat(80), "=".repeat(80));
    }
    found
}

pub async fn wait_loaded(wd: &WebDriver) {
    wd.wait_js(
        "the widget to load (script, stylesheet, shadow root)",
        &format!(
            "{ROOT} return !!(r && r.querySelector('.root') && !r.querySelector('.root').hidden);"
        ),
    )
    .await;
}

/// Waits until `n` bot replies are shown and nothing is in flight.
pub async fn wait_bot_replies(wd: &WebDriver, n: usize) {
    wd.wait_js(
        &format!("{n} bot replies"),
        &format!(
            "{ROOT} return r.querySelectorAll('.msg.bot').length >= {n} && \
             !r.querySelector('.send').disabled;"
        ),
    )
    .await;
}

/// The chat as `[from, text]` pairs.
pub async fn messages(wd: &WebDriver) -> Vec<Value> {
    let v = wd
        .js(&format!(
            "{ROOT} return [...r.querySelectorAll('.msg')].map(m => \
             [m.classList[1], m.querySelector('.bubbletext').textContent]);"
        ))
        .await;
    v.as_array().cloned().unwrap_or_default()
}

pub async fn wait_for_download(dir: &Path) -> PathBuf {
    let deadline = Instant::now() + STEP;
    loop {
        let found = std::fs::read_dir(dir).ok().and_then(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| e.path())
                .find(|p| p.extension().is_some_and(|x| x == "txt"))
        });
        if let Some(p) = found {
            return p;
        }
        assert!(
            Instant::now() < deadline,
            "no .txt download appeared in {}",
            dir.display()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The bearer token of the order-events endpoint (proactive notices).
pub const EVENTS_TOKEN: &str = "events-secret-for-the-widget-test";

pub fn start_server(tmp: &TempDir) -> Proc {
    start_server_with(tmp, "")
}

/// `destek serve` with more keys of the `web:` section (lines indented by two spaces).
pub fn start_server_with(tmp: &TempDir, web_extra: &str) -> Proc {
    let config = tmp.path.join("destek.yaml");
    let db = tmp.path.join("destek.db");
    let agent = tmp.path.join("agent-token");
    std::fs::write(&agent, AGENT_TOKEN).expect("write agent token");
    std::fs::write(
        &config,
        format!(
            "web:\n  bind: \"127.0.0.1:0\"\n{web_extra}storage:\n  url: \"sqlite://{}\"\n\
             handoff:\n  agent_token_file: \"{}\"\n",
            db.display(),
            agent.display()
        ),
    )
    .expect("write config");
    let log = tmp.path.join("server.log");
    let mut child = Command::new(env!("CARGO_BIN_EXE_destek"))
        .args(["serve", "--config"])
        .arg(&config)
        // The order-events endpoint is on, so a test can send a proactive notice.
        .env("DESTEK_ORDERS_EVENTS_TOKEN", EVENTS_TOKEN)
        // The embedded default pack, not whatever intents/ and flows/ hold right now.
        .current_dir(&tmp.path)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(File::create(&log).expect("server log"))
        .spawn()
        .expect("start destek serve");
    let stdout = child.stdout.take().expect("server stdout");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        // Keeps reading after the address, so the server never blocks on a full pipe.
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(url) = line.strip_prefix("listening on ") {
                let _ = tx.send(url.trim().to_owned());
            }
        }
    });
    let mut proc = Proc {
        name: "destek serve",
        child,
        log,
        url: String::new(),
    };
    proc.url = rx
        .recv_timeout(Duration::from_secs(30))
        .unwrap_or_else(|e| panic!("`destek serve` printed no `listening on` line: {e}"));
    proc
}

/// axe-core's `axe.min.js` (npm's `axe-core`): `$DESTEK_AXE_JS`, else
/// `target/axe/node_modules/axe-core/axe.min.js` (`npm install --prefix target/axe
/// axe-core@4`). Missing, the accessibility checks are skipped, unless
/// `DESTEK_REQUIRE_ALL` is set.
pub fn axe_source() -> Option<String> {
    let path = std::env::var_os("DESTEK_AXE_JS")
        .map(PathBuf::from)
        .unwrap_or_else(|| target_dir().join("axe/node_modules/axe-core/axe.min.js"));
    match std::fs::read_to_string(&path) {
        Ok(s) => Some(s),
        Err(e) => {
            let msg = format!(
                "SKIPPED axe-core checks: {}: {e} (npm install --prefix target/axe axe-core@4)",
                path.display()
            );
            if std::env::var_os("DESTEK_REQUIRE_ALL").is_some() {
                panic!("{msg}");
            }
            eprintln!("{msg}");
            None
        }
    }
}

/// axe-core's violations on the page as it is now (WCAG 2.1 A and AA, and best practices),
/// each as `id: targets`.
pub async fn axe_violations(wd: &WebDriver, source: &str) -> Vec<String> {
    wd.js(&format!("{source}\n;return typeof axe;")).await;
    let v = wd
        .js_async(
            "const done = arguments[arguments.length - 1]; \
             axe.run(document, {resultTypes: ['violations']}).then(r => done(r.violations.map(v => \
               v.id + ' (' + v.impact + '): ' + v.nodes.map(n => JSON.stringify(n.target)).join(', ')))) \
             .catch(e => done(['axe failed: ' + e]));",
        )
        .await;
    serde_json::from_value(v).unwrap_or_else(|_| vec!["axe returned no list".into()])
}
