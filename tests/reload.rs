//! Hot reload: a broken pack is refused with every error at its file:line:col and the
//! running bot keeps its old snapshot; a good one goes live without a restart, by the
//! admin endpoint or by the directory watcher; a conversation in a flow carries on.

use destek::orders::{InMemoryOrders, today_utc};
use destek::store::sqlite::SqliteStore;
use destek::web::rate::{RateConfig, RateLimits};
use destek::web::reload::{PackSource, watch};
use destek::web::{self, AppState, WebSettings};
use destek::{Bot, pack};
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

const ADMIN: &str = "admin-token";

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for e in std::fs::read_dir(from).expect("read dir").flatten() {
        std::fs::copy(e.path(), to.join(e.file_name())).expect("copy");
    }
}

struct Fixture {
    rt: tokio::runtime::Runtime,
    base: String,
    dir: PathBuf,
    state: AppState,
    source: PackSource,
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn fixture(name: &str) -> Fixture {
    let dir = std::env::temp_dir().join(format!("destek-reload-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    copy_dir(Path::new("intents"), &dir.join("intents"));
    copy_dir(Path::new("flows"), &dir.join("flows"));
    let source = PackSource {
        intents_dir: dir.join("intents"),
        flows_dir: dir.join("flows"),
        options: pack::Options::default(),
    };
    let sources = pack::read_dirs(&[&source.intents_dir, &source.flows_dir]).expect("pack");
    let bot: Bot = pack::compile(&sources, &source.options)
        .bot
        .expect("pack compiles");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let state = AppState::new(
        bot,
        SqliteStore::open(dir.join("destek.db")).expect("store"),
        Arc::new(InMemoryOrders::demo(today_utc())),
        RateLimits::new(RateConfig {
            per_ip_per_minute: 0,
            per_conversation_per_minute: 0,
        }),
        WebSettings {
            admin_token: Some(ADMIN.into()),
            pack: Some(source.clone()),
            ..WebSettings::default()
        },
    );
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let app = web::app(state.clone()).into_make_service_with_connect_info::<SocketAddr>();
    rt.spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Fixture {
        rt,
        base: format!("http://{addr}"),
        dir,
        state,
        source,
    }
}

impl Fixture {
    fn post(&self, path: &str, token: Option<&str>, body: Value) -> (u16, Value) {
        self.rt.block_on(async {
            let mut req = reqwest::Client::new()
                .post(format!("{}{path}", self.base))
                .json(&body);
            if let Some(t) = token {
                req = req.bearer_auth(t);
            }
            let res = req.send().await.expect("request");
            (
                res.status().as_u16(),
                res.json().await.unwrap_or(Value::Null),
            )
        })
    }

    fn conversation(&self) -> (String, String) {
        let (_, v) = self.post("/api/v1/conversations", None, json!({"lang": "en"}));
        (
            v["conversation_id"].as_str().expect("id").to_owned(),
            v["token"].as_str().expect("token").to_owned(),
        )
    }

    fn say(&self, id: &str, token: &str, text: &str) -> String {
        let (status, v) = self.post(
            &format!("/api/v1/conversations/{id}/messages"),
            Some(token),
            json!({"text": text}),
        );
        assert_eq!(status, 200, "{v}");
        v["replies"]
            .as_array()
            .map(|r| {
                r.iter()
                    .filter_map(|x| x["text"].as_str())
                    .collect::<Vec<_>>()
                    .join("\n")
            })
            .unwrap_or_default()
    }

    fn edit(&self, file: &str, from: &str, to: &str) {
        let path = self.dir.join(file);
        let text = std::fs::read_to_string(&path).expect("read");
        assert!(text.contains(from), "{from} not in {file}");
        std::fs::write(&path, text.replacen(from, to, 1)).expect("write");
    }
}

const OLD: &str = "For your security, please type the e-mail address on the order";
const NEW: &str = "To keep your order safe, please type the e-mail address on the order";

#[test]
fn a_broken_pack_is_refused_and_a_fixed_one_goes_live_mid_conversation() {
    let f = fixture("admin");
    let (id, token) = f.conversation();
    assert!(
        f.say(&id, &token, "where is my order")
            .contains("order number")
    );

    let (status, _) = f.post("/admin/reload", None, json!({}));
    assert_eq!(status, 401);
    let (status, _) = f.post("/admin/reload", Some(&token), json!({}));
    assert_eq!(status, 401, "a customer token is not the admin token");

    f.edit(
        "flows/order_status.yaml",
        "      - verify: order_number",
        "      - verify: [order_number",
    );
    let (status, v) = f.post("/admin/reload", Some(ADMIN), json!({}));
    assert_eq!(status, 422, "{v}");
    let diagnostics = v["diagnostics"].to_string();
    assert!(diagnostics.contains("order_status.yaml:"), "{diagnostics}");
    assert!(diagnostics.contains(": error: "), "{diagnostics}");
    assert!(
        f.say(&id, &token, "48213977").contains(OLD),
        "the old pack still runs"
    );

    f.edit(
        "flows/order_status.yaml",
        "      - verify: [order_number",
        "      - verify: order_number",
    );
    f.edit("flows/order_status.yaml", OLD, NEW);
    let (status, v) = f.post("/admin/reload", Some(ADMIN), json!({}));
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["reloaded"], true);
    // The conversation was waiting for verification; it carries on with the new wording
    // (words without an e-mail or digits are asked again, not counted as a failure).
    assert!(f.say(&id, &token, "hmm").contains(NEW));
    let (id2, token2) = f.conversation();
    assert!(
        f.say(&id2, &token2, "where is my order 48213977")
            .contains(NEW)
    );
}

#[test]
fn the_watcher_reloads_after_an_edit_and_keeps_the_old_pack_on_errors() {
    let f = fixture("watch");
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    f.rt.spawn(watch(
        f.state.clone(),
        f.source.clone(),
        Duration::from_millis(50),
        Duration::from_millis(50),
        async move {
            let _ = stop_rx.await;
        },
    ));
    let wait_for = |want: &str| {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let (id, token) = f.conversation();
            let said = f.say(&id, &token, "where is my order 48213977");
            if said.contains(want) {
                return;
            }
            assert!(Instant::now() < deadline, "still saying: {said}");
            std::thread::sleep(Duration::from_millis(50));
        }
    };
    f.edit("flows/order_status.yaml", OLD, NEW);
    wait_for(NEW);
    // A broken edit: the bot keeps the last good pack.
    f.edit("flows/order_status.yaml", "templates:", "templates: [");
    std::thread::sleep(Duration::from_millis(400));
    wait_for(NEW);
    let _ = stop_tx.send(());
}

/// A reload compiled the pack on the runtime's own thread: every turn queued there waited
/// for the whole compile (the default pack ~0.7 s, thousands of intents seconds). On a
/// runtime with one thread, the reload must leave it free while the pack compiles, the old
/// pack answering until the new one is swapped in.
#[test]
fn regression_a_reload_compiles_off_the_runtime_so_turns_go_on() {
    let f = fixture("off-runtime");
    f.edit("flows/order_status.yaml", OLD, NEW);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let (state, source) = (f.state.clone(), f.source.clone());
    rt.block_on(async move {
        let before = state.bot();
        let reloading = tokio::spawn(web::reload::reload_off_runtime(state.clone(), source));
        // The one thread runs the reload task until it waits for the compile, then this.
        tokio::task::yield_now().await;
        assert!(!reloading.is_finished(), "the compile held the runtime");
        assert!(
            Arc::ptr_eq(&before, &state.bot()),
            "the old pack answers while the new one compiles"
        );
        let reloaded = reloading.await.expect("task").expect("reload");
        assert!(
            matches!(reloaded, web::reload::Reloaded::Swapped { .. }),
            "{reloaded:?}"
        );
        assert!(!Arc::ptr_eq(&before, &state.bot()), "the new pack is in");
    });
}
