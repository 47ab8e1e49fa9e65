//! The chat widget in a real browser: `destek serve` on a free port, headless Chromium driven
//! through chromedriver with the W3C WebDriver HTTP protocol (a small client below, on
//! reqwest). A Turkish chat with a quick-reply button and a reload, a proactive notice
//! arriving in an open widget, then a Persian chat in a right-to-left panel; screenshots
//! go to `target/widget-tr.png` and `target/widget-fa.png`.
//!
//! Needs `/usr/bin/chromium` and `chromedriver` (`apt-get install chromium chromium-driver`);
//! without them the test prints SKIPPED and passes, unless `DESTEK_REQUIRE_ALL` is set.

use serde_json::{Value, json};
use std::fs::File;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const CHROMIUM: &str = "/usr/bin/chromium";
const SKIPPED: &str =
    "SKIPPED: chromium/chromedriver not installed (apt-get install chromium chromium-driver)";
/// How long one step (a page load, a bot reply) may take.
const STEP: Duration = Duration::from_secs(20);
const AGENT_TOKEN: &str = "agent-secret-for-the-widget-test";
const EVENTS_TOKEN: &str = "events-secret-for-the-widget-test";

/// The widget's shadow root, for scripts run in the page.
const ROOT: &str = "const host = document.querySelector('destek-widget'); \
                    const r = host && host.shadowRoot;";

#[test]
fn widget_in_a_real_browser() {
    let Some(chromedriver) = find_chromedriver() else {
        if std::env::var_os("DESTEK_REQUIRE_ALL").is_some() {
            panic!("{SKIPPED}");
        }
        eprintln!("\n{}\n{SKIPPED}\n{}\n", "=".repeat(80), "=".repeat(80));
        return;
    };
    let tmp = TempDir::new();
    let server = start_server(&tmp);
    let driver = start_chromedriver(&chromedriver, &tmp);
    let shots = target_dir();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    rt.block_on(async {
        let wd = WebDriver::new(&driver.url, &tmp).await;
        turkish(&wd, &server.url, &shots, &tmp).await;
        notice(&wd, &server.url).await;
        persian(&wd, &server.url, &shots).await;
        mobile(&wd, &shots).await;
    });
    drop(driver);
    drop(server);
}

async fn turkish(wd: &WebDriver, base: &str, shots: &Path, tmp: &TempDir) {
    wd.navigate(&format!("{base}/")).await;
    wait_loaded(wd).await;
    let state = wd
        .js(&format!(
            "{ROOT} const b = r.querySelector('.bubble'), log = r.querySelector('.log'); \
             return {{tag: b.tagName, label: b.getAttribute('aria-label'), \
             expanded: b.getAttribute('aria-expanded'), panelHidden: r.querySelector('.panel').hidden, \
             role: log.getAttribute('role'), live: log.getAttribute('aria-live'), \
             dir: getComputedStyle(r.querySelector('.panel')).direction, \
             bubbleRight: b.getBoundingClientRect().left > innerWidth / 2}};"
        ))
        .await;
    assert_eq!(state["tag"], "BUTTON", "{state}");
    assert_eq!(
        state["label"], "Sohbeti aç",
        "the bubble speaks the widget's language: {state}"
    );
    assert_eq!(state["expanded"], "false", "{state}");
    assert_eq!(state["panelHidden"], true, "{state}");
    assert_eq!(state["role"], "log", "{state}");
    assert_eq!(state["live"], "polite", "{state}");
    assert_eq!(state["dir"], "ltr", "{state}");
    assert_eq!(
        state["bubbleRight"], true,
        "LTR: the bubble sits bottom right: {state}"
    );

    // Open: the focus moves to the text box.
    let bubble = wd.widget_element(".bubble").await;
    wd.click(&bubble).await;
    wd.wait_js(
        "the panel to open with the focus in the text box",
        &format!(
            "{ROOT} return !r.querySelector('.panel').hidden && \
             r.activeElement === r.querySelector('textarea');"
        ),
    )
    .await;

    // "slm": the greeting, with quick replies.
    let input = wd.widget_element("textarea").await;
    wd.type_text(&input, "slm\u{E007}").await;
    wait_bot_replies(wd, 1).await;
    let chat = messages(wd).await;
    assert_eq!(chat[0], json!(["customer", "slm"]), "{chat:?}");
    assert_eq!(chat[1][0], "bot", "{chat:?}");
    let greeting = chat[1][1].as_str().unwrap_or_default();
    assert!(greeting.contains("Merhaba"), "greeting: {greeting}");
    let labels = wd
        .js(&format!(
            "{ROOT} return [...r.querySelectorAll('.quick .qr')].map(b => b.textContent);"
        ))
        .await;
    let labels: Vec<String> = serde_json::from_value(labels).unwrap_or_default();
    assert!(!labels.is_empty(), "the greeting has quick-reply buttons");
    let order = labels
        .iter()
        .position(|l| l.contains("Sipariş"))
        .unwrap_or_else(|| panic!("an order-status button among {labels:?}"));

    // The order-status button: its label shows as the customer's message, the bot asks for
    // the order number.
    let button = wd
        .js_element(&format!(
            "{ROOT} return r.querySelectorAll('.quick .qr')[{order}];"
        ))
        .await;
    wd.click(&button).await;
    wait_bot_replies(wd, 2).await;
    let chat = messages(wd).await;
    assert_eq!(chat[2], json!(["customer", labels[order]]), "{chat:?}");
    let ask = chat[3][1].as_str().unwrap_or_default().to_lowercase();
    assert!(
        ask.contains("sipariş numara"),
        "asks for the order number: {ask}"
    );
    wd.screenshot(&shots.join("widget-tr.png")).await;

    // A reload keeps the conversation (and the open panel).
    wd.refresh().await;
    wait_loaded(wd).await;
    wd.wait_js(
        "the transcript to be re-rendered after the reload",
        &format!("{ROOT} return r.querySelectorAll('.msg').length >= 4;"),
    )
    .await;
    let after = messages(wd).await;
    assert_eq!(after.len(), 4, "{after:?}");
    for (i, (a, b)) in chat.iter().zip(&after).enumerate() {
        assert_eq!(a[0], b[0], "message {i} after reload: {after:?}");
    }
    assert_eq!(
        after, chat,
        "the same chat after the reload (a button press shows its label)"
    );
    let open = wd
        .js(&format!("{ROOT} return !r.querySelector('.panel').hidden;"))
        .await;
    assert_eq!(open, true, "the panel stays open across a reload");

    // The transcript download: a .txt with who said what, and when.
    let dl = wd.widget_element(".head .icon").await;
    wd.click(&dl).await;
    let file = wait_for_download(&tmp.path.join("downloads")).await;
    let text = std::fs::read_to_string(&file).unwrap_or_default();
    assert!(text.contains("] Siz: slm"), "transcript file:\n{text}");
    assert!(
        text.contains("] Demo Shop: Merhaba"),
        "transcript file:\n{text}"
    );
    assert!(
        text.contains(&format!("] Siz: {}\n", labels[order])),
        "a button press is written as its label:\n{text}"
    );
    assert!(
        text.lines()
            .filter(|l| l.starts_with("[20"))
            .all(|l| l.as_bytes().get(17) == Some(&b']')),
        "every line starts with [YYYY-MM-DD HH:MM]:\n{text}"
    );

    // A handoff, then a human agent writes: the message arrives live over the WebSocket
    // and shows the agent's name.
    let input = wd.widget_element("textarea").await;
    wd.type_text(&input, "temsilciye bağlan\u{E007}").await;
    wait_bot_replies(wd, 3).await;
    let id = wd
        .js("return JSON.parse(localStorage.getItem('destek:' + location.origin)).id;")
        .await;
    let id = id.as_str().unwrap_or_default();
    let resp = reqwest::Client::new()
        .post(format!("{base}/api/v1/handoffs/{id}/messages"))
        .bearer_auth(AGENT_TOKEN)
        .json(&json!({"text": "Merhaba, ben Ayşe. Siparişinize hemen bakıyorum.", "agent": "Ayşe"}))
        .send()
        .await
        .expect("agent message");
    let status = resp.status();
    let body: Value = resp.json().await.unwrap_or_default();
    assert!(status.is_success(), "agent message: {status} {body}");
    assert_eq!(
        body["delivered"], true,
        "a socket of the conversation was open: {body}"
    );
    let agent = wd
        .wait_js(
            "the agent's message",
            &format!(
                "{ROOT} const m = r.querySelector('.msg.agent'); \
                 return m && [m.querySelector('.who').textContent, \
                 m.querySelector('.bubbletext').textContent];"
            ),
        )
        .await;
    assert_eq!(
        agent,
        json!(["Ayşe", "Merhaba, ben Ayşe. Siparişinize hemen bakıyorum."])
    );
}

async fn persian(wd: &WebDriver, base: &str, shots: &Path) {
    // A new customer: no stored conversation, the widget in Persian via ?lang=fa.
    wd.js("localStorage.clear(); sessionStorage.clear(); return true;")
        .await;
    wd.navigate(&format!("{base}/?lang=fa")).await;
    wait_loaded(wd).await;
    let state = wd
        .js(&format!(
            "{ROOT} const b = r.querySelector('.bubble'); \
             return {{label: b.getAttribute('aria-label'), msgs: r.querySelectorAll('.msg').length, \
             bubbleLeft: b.getBoundingClientRect().right < innerWidth / 2}};"
        ))
        .await;
    assert_eq!(state["label"], "باز کردن گفتگو", "{state}");
    assert_eq!(state["msgs"], 0, "a new conversation: {state}");
    assert_eq!(
        state["bubbleLeft"], true,
        "RTL: the bubble sits bottom left: {state}"
    );
    let bubble = wd.widget_element(".bubble").await;
    wd.click(&bubble).await;
    wd.wait_js(
        "the Persian panel to open",
        &format!("{ROOT} return !r.querySelector('.panel').hidden;"),
    )
    .await;
    let dir = wd
        .js(&format!(
            "{ROOT} return getComputedStyle(r.querySelector('.panel')).direction;"
        ))
        .await;
    assert_eq!(dir, "rtl", "the panel's computed direction");

    let input = wd.widget_element("textarea").await;
    wd.type_text(&input, "سفارشم کجاست؟\u{E007}").await;
    wait_bot_replies(wd, 1).await;
    let chat = messages(wd).await;
    assert_eq!(chat[0], json!(["customer", "سفارشم کجاست؟"]), "{chat:?}");
    let ask = chat[1][1].as_str().unwrap_or_default();
    assert!(
        ask.contains("شماره سفارش"),
        "asks for the order number: {ask}"
    );

    wd.type_text(&input, "شماره سفارش ۴۵۸۲۱۹۳\u{E007}").await;
    wait_bot_replies(wd, 2).await;
    let chat = messages(wd).await;
    let verify = chat[3][1].as_str().unwrap_or_default();
    assert!(
        verify.contains("ایمیل") || verify.contains("تلفن"),
        "asks to verify (e-mail or phone): {verify}"
    );

    // A Latin order code inside Persian text.
    wd.type_text(&input, "کد سفارش من TR-55320 است\u{E007}")
        .await;
    wait_bot_replies(wd, 3).await;

    // Bidi, measured: each customer bubble is right-to-left, the Persian words stand to the
    // right of the number, and the number's characters run left to right.
    let layout = wd
        .js(&format!(
            "{ROOT} const rect = (node, a, b) => {{ const g = document.createRange(); \
             g.setStart(node, a); g.setEnd(node, b); return g.getBoundingClientRect(); }}; \
             const out = []; \
             for (const m of r.querySelectorAll('.msg.customer .bubbletext')) {{ \
               const bdi = m.querySelector('bdi'); if (!bdi) continue; \
               const t = bdi.firstChild, n = t.length; \
               const words = m.firstChild; \
               out.push({{ dir: getComputedStyle(m).direction, number: t.data, \
                 firstLeftOfLast: rect(t, 0, 1).left < rect(t, n - 1, n).left, \
                 wordsRightOfNumber: rect(words, 0, 1).left >= rect(t, n - 1, n).right }}); \
             }} return out;"
        ))
        .await;
    let layout = layout.as_array().cloned().unwrap_or_default();
    let numbers: Vec<&str> = layout.iter().filter_map(|l| l["number"].as_str()).collect();
    assert_eq!(numbers, ["۴۵۸۲۱۹۳", "TR-55320"], "{layout:?}");
    for l in &layout {
        assert_eq!(l["dir"], "rtl", "{l}");
        assert_eq!(l["firstLeftOfLast"], true, "digits keep their order: {l}");
        assert_eq!(
            l["wordsRightOfNumber"], true,
            "Persian words come first: {l}"
        );
    }
    wd.screenshot(&shots.join("widget-fa.png")).await;

    // Esc closes the panel and gives the focus back to the bubble.
    wd.type_text(&input, "\u{E00C}").await;
    wd.wait_js(
        "Esc to close the panel and focus the bubble",
        &format!(
            "{ROOT} return r.querySelector('.panel').hidden && \
             r.activeElement === r.querySelector('.bubble');"
        ),
    )
    .await;
}

/// A phone-sized viewport (Chromium keeps a headless window at least 500 px wide, so the
/// device metrics are emulated) with reduced motion: the open panel fills the screen at
/// once, without animation; the text box uses 16 px.
async fn mobile(wd: &WebDriver, shots: &Path) {
    wd.cmd(
        reqwest::Method::POST,
        "/goog/cdp/execute",
        Some(
            json!({"cmd": "Emulation.setDeviceMetricsOverride", "params": {
            "width": 390, "height": 760, "deviceScaleFactor": 1, "mobile": true}}),
        ),
    )
    .await;
    wd.cmd(
        reqwest::Method::POST,
        "/goog/cdp/execute",
        Some(json!({"cmd": "Emulation.setEmulatedMedia", "params": {
            "features": [{"name": "prefers-reduced-motion", "value": "reduce"}]}})),
    )
    .await;
    let bubble = wd.widget_element(".bubble").await;
    wd.click(&bubble).await;
    let state = wd
        .wait_js(
            "the panel to open full-screen",
            &format!(
                "{ROOT} const p = r.querySelector('.panel'); if (p.hidden) return null; \
                 const b = p.getBoundingClientRect(); \
                 return {{width: innerWidth, full: b.left === 0 && b.top === 0 && \
                 b.width === innerWidth && b.height === innerHeight, \
                 bubbleShown: r.querySelector('.bubble').offsetParent !== null, \
                 animation: getComputedStyle(p).animationName, \
                 font: getComputedStyle(r.querySelector('textarea')).fontSize}};"
            ),
        )
        .await;
    assert_eq!(state["width"], 390, "{state}");
    assert_eq!(state["full"], true, "full-screen panel: {state}");
    assert_eq!(state["bubbleShown"], false, "{state}");
    assert_eq!(state["animation"], "none", "reduced motion: {state}");
    assert_eq!(state["font"], "16px", "{state}");
    wd.screenshot(&shots.join("widget-mobile.png")).await;
}

/// A customer who verified an order hears of its delay while the page is open: the notice
/// arrives over the WebSocket and shows as an ordinary bot message with its buttons.
async fn notice(wd: &WebDriver, base: &str) {
    wd.js("localStorage.clear(); sessionStorage.clear(); return true;")
        .await;
    wd.navigate(&format!("{base}/")).await;
    wait_loaded(wd).await;
    let bubble = wd.widget_element(".bubble").await;
    wd.click(&bubble).await;
    let input = wd.widget_element("textarea").await;
    wd.type_text(&input, "siparişim nerede 48213977\u{E007}")
        .await;
    wait_bot_replies(wd, 1).await;
    wd.type_text(&input, "ayse.yilmaz@example.com\u{E007}")
        .await;
    wait_bot_replies(wd, 2).await;
    let before = messages(wd).await.len();
    let resp = reqwest::Client::new()
        .post(format!("{base}/api/v1/orders/48213977/events"))
        .bearer_auth(EVENTS_TOKEN)
        .json(&json!({"event": "delayed", "estimated_delivery": "2026-12-24"}))
        .send()
        .await
        .expect("order event");
    let body: Value = resp.json().await.unwrap_or_default();
    assert_eq!(body["notified"], 1, "{body}");
    let shown = wd
        .wait_js(
            "the notice in the open widget",
            &format!(
                "{ROOT} const m = [...r.querySelectorAll('.msg.bot')].pop(); \
                 const t = m && m.querySelector('.bubbletext').textContent; \
                 return t && t.includes('gecikiyor') && \
                 [t, [...r.querySelectorAll('.quick .qr')].map(b => b.textContent)];"
            ),
        )
        .await;
    let text = shown[0].as_str().unwrap_or_default();
    assert!(
        text.contains("24 Aralık 2026"),
        "the new date, in Turkish: {text}"
    );
    assert_eq!(
        shown[1],
        json!(["Bu sipariş hakkında sor", "Temsilciye bağlan"]),
        "{shown}"
    );
    assert_eq!(
        messages(wd).await.len(),
        before + 1,
        "one message, shown once"
    );
}

async fn wait_loaded(wd: &WebDriver) {
    wd.wait_js(
        "the widget to load (script, stylesheet, shadow root)",
        &format!(
            "{ROOT} return !!(r && r.querySelector('.root') && !r.querySelector('.root').hidden);"
        ),
    )
    .await;
}

/// Waits until `n` bot replies are shown and nothing is in flight.
async fn wait_bot_replies(wd: &WebDriver, n: usize) {
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
async fn messages(wd: &WebDriver) -> Vec<Value> {
    let v = wd
        .js(&format!(
            "{ROOT} return [...r.querySelectorAll('.msg')].map(m => \
             [m.classList[1], m.querySelector('.bubbletext').textContent]);"
        ))
        .await;
    v.as_array().cloned().unwrap_or_default()
}

async fn wait_for_download(dir: &Path) -> PathBuf {
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

// ---- processes ----

/// A child process killed on drop (also when the test panics); its log is printed then.
struct Proc {
    name: &'static str,
    child: Child,
    log: PathBuf,
    url: String,
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            let log = std::fs::read_to_string(&self.log).unwrap_or_default();
            let tail: String = log.lines().rev().take(40).collect::<Vec<_>>().join("\n");
            eprintln!(
                "--- last lines of the {} log (newest first) ---\n{tail}",
                self.name
            );
        }
    }
}

fn start_server(tmp: &TempDir) -> Proc {
    let config = tmp.path.join("destek.yaml");
    let db = tmp.path.join("destek.db");
    let agent = tmp.path.join("agent-token");
    std::fs::write(&agent, AGENT_TOKEN).expect("write agent token");
    let events = tmp.path.join("events-token");
    std::fs::write(&events, EVENTS_TOKEN).expect("write events token");
    std::fs::write(
        &config,
        format!(
            "web:\n  bind: \"127.0.0.1:0\"\nstorage:\n  url: \"sqlite://{}\"\n\
             handoff:\n  agent_token_file: \"{}\"\n\
             orders:\n  events_token_file: \"{}\"\n",
            db.display(),
            agent.display(),
            events.display()
        ),
    )
    .expect("write config");
    let log = tmp.path.join("server.log");
    let mut child = Command::new(env!("CARGO_BIN_EXE_destek"))
        .args(["serve", "--config"])
        .arg(&config)
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

fn find_chromedriver() -> Option<PathBuf> {
    if !Path::new(CHROMIUM).is_file() {
        return None;
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([
            PathBuf::from("/usr/bin"),
            PathBuf::from("/usr/lib/chromium"),
        ])
        .map(|d| d.join("chromedriver"))
        .find(|p| p.is_file())
}

fn start_chromedriver(bin: &Path, tmp: &TempDir) -> Proc {
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let log = tmp.path.join("chromedriver.log");
    let out = File::create(&log).expect("chromedriver log");
    let err = out.try_clone().expect("chromedriver log");
    let child = Command::new(bin)
        .arg(format!("--port={port}"))
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .expect("start chromedriver");
    let proc = Proc {
        name: "chromedriver",
        child,
        log,
        url: format!("http://127.0.0.1:{port}"),
    };
    let deadline = Instant::now() + STEP;
    loop {
        let status = raw_http(port, "GET", "/status").unwrap_or_default();
        if status.contains("\"ready\":true") || status.contains("\"ready\": true") {
            return proc;
        }
        assert!(
            Instant::now() < deadline,
            "chromedriver not ready on port {port}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A minimal blocking HTTP/1.1 request (used where no runtime is around: start-up, Drop).
fn raw_http(port: u16, method: &str, path: &str) -> Option<String> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    // Reads until the body is complete: chromedriver keeps the connection open.
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = s.read(&mut chunk).ok()?;
        buf.extend_from_slice(&chunk[..n]);
        let text = String::from_utf8_lossy(&buf).into_owned();
        if n == 0 {
            return Some(text);
        }
        if let Some(end) = text.find("\r\n\r\n") {
            let length = text[..end]
                .lines()
                .find_map(|l| {
                    let (k, v) = l.split_once(':')?;
                    k.eq_ignore_ascii_case("content-length")
                        .then(|| v.trim().parse::<usize>().ok())?
                })
                .unwrap_or(0);
            if buf.len() >= end + 4 + length {
                return Some(text);
            }
        }
    }
}

/// A fresh directory under the system temp dir, removed on drop.
struct TempDir {
    path: PathBuf,
}

impl TempDir {
    fn new() -> TempDir {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        let path =
            std::env::temp_dir().join(format!("destek-widget-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&path).expect("temp dir");
        TempDir { path }
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

fn target_dir() -> PathBuf {
    // target/debug/destek -> target
    let bin = Path::new(env!("CARGO_BIN_EXE_destek"));
    bin.ancestors()
        .nth(2)
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("target"))
}

// ---- W3C WebDriver client ----

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";
const SHADOW: &str = "shadow-6066-11e4-a52e-4f735466cecf";

/// One browser session; deleted on drop (which closes Chromium), also on panic.
struct WebDriver {
    http: reqwest::Client,
    base: String,
    session: String,
}

impl WebDriver {
    async fn new(base: &str, tmp: &TempDir) -> WebDriver {
        let profile = tmp.path.join("chromium-profile");
        let downloads = tmp.path.join("downloads");
        std::fs::create_dir_all(&downloads).expect("downloads dir");
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": CHROMIUM,
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--disable-quic", "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync",
                    format!("--user-data-dir={}", profile.display()), "--window-size=420,800",
                ],
                "prefs": {
                    "download.default_directory": downloads.display().to_string(),
                    "download.prompt_for_download": false,
                },
            },
        }}});
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .expect("http client");
        let mut wd = WebDriver {
            http,
            base: base.to_owned(),
            session: String::new(),
        };
        let v = wd.call(reqwest::Method::POST, "/session", Some(caps)).await;
        wd.session = v["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no sessionId in {v}"))
            .to_owned();
        wd
    }

    /// One command; panics with the driver's error. Returns the response's `value`.
    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}{path}", self.base);
        let mut req = self.http.request(method.clone(), &url);
        if let Some(b) = body {
            req = req.json(&b);
        } else if method == reqwest::Method::POST {
            req = req.json(&json!({}));
        }
        let resp = req
            .send()
            .await
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        let status = resp.status();
        let v: Value = resp.json().await.unwrap_or(Value::Null);
        assert!(
            status.is_success(),
            "{method} {path}: {status} {}",
            v["value"]
        );
        v["value"].clone()
    }

    async fn cmd(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let path = format!("/session/{}{path}", self.session);
        self.call(method, &path, body).await
    }

    async fn navigate(&self, url: &str) {
        self.cmd(reqwest::Method::POST, "/url", Some(json!({"url": url})))
            .await;
    }

    async fn refresh(&self) {
        self.cmd(reqwest::Method::POST, "/refresh", None).await;
    }

    async fn js(&self, script: &str) -> Value {
        self.cmd(
            reqwest::Method::POST,
            "/execute/sync",
            Some(json!({"script": script, "args": []})),
        )
        .await
    }

    /// An element returned by a script.
    async fn js_element(&self, script: &str) -> String {
        let v = self.js(script).await;
        v[ELEMENT]
            .as_str()
            .unwrap_or_else(|| panic!("the script returned no element: {v}"))
            .to_owned()
    }

    /// Polls `script` until it returns something other than null/false.
    async fn wait_js(&self, what: &str, script: &str) -> Value {
        let deadline = Instant::now() + STEP;
        loop {
            let v = self.js(script).await;
            if !(v.is_null() || v == Value::Bool(false)) {
                return v;
            }
            if Instant::now() > deadline {
                let page = self
                    .js(&format!(
                        "{ROOT} return r ? r.querySelector('.panel').innerText : 'no widget';"
                    ))
                    .await;
                panic!("timed out after {STEP:?} waiting for {what}; the panel shows:\n{page}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// An element inside the widget's shadow root, found the W3C way.
    async fn widget_element(&self, css: &str) -> String {
        let host = self
            .cmd(
                reqwest::Method::POST,
                "/element",
                Some(json!({"using": "css selector", "value": "destek-widget"})),
            )
            .await;
        let host = host[ELEMENT].as_str().unwrap_or_default().to_owned();
        let shadow = self
            .cmd(
                reqwest::Method::GET,
                &format!("/element/{host}/shadow"),
                None,
            )
            .await;
        let shadow = shadow[SHADOW].as_str().unwrap_or_default().to_owned();
        let el = self
            .cmd(
                reqwest::Method::POST,
                &format!("/shadow/{shadow}/element"),
                Some(json!({"using": "css selector", "value": css})),
            )
            .await;
        el[ELEMENT].as_str().unwrap_or_default().to_owned()
    }

    async fn click(&self, element: &str) {
        self.cmd(
            reqwest::Method::POST,
            &format!("/element/{element}/click"),
            None,
        )
        .await;
    }

    async fn type_text(&self, element: &str, text: &str) {
        self.cmd(
            reqwest::Method::POST,
            &format!("/element/{element}/value"),
            Some(json!({"text": text})),
        )
        .await;
    }

    async fn screenshot(&self, file: &Path) {
        let v = self.cmd(reqwest::Method::GET, "/screenshot", None).await;
        let png = base64_decode(v.as_str().unwrap_or_default());
        assert!(png.starts_with(b"\x89PNG"), "the screenshot is not a PNG");
        if let Some(dir) = file.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        std::fs::write(file, png).expect("write screenshot");
        eprintln!("screenshot: {}", file.display());
    }
}

impl Drop for WebDriver {
    fn drop(&mut self) {
        if self.session.is_empty() {
            return;
        }
        let port = self
            .base
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .unwrap_or(0);
        let _ = raw_http(port, "DELETE", &format!("/session/{}", self.session));
    }
}

fn base64_decode(s: &str) -> Vec<u8> {
    let val = |c: u8| match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    };
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0);
    for v in s.bytes().filter_map(val) {
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    out
}
