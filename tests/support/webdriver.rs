//! A small W3C WebDriver client on reqwest, chromedriver and headless Chromium, for the
//! browser tests (the same protocol as `tests/widget_browser.rs`).

#![allow(dead_code)]

use serde_json::{Value, json};
use std::fs::File;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

pub const CHROMIUM: &str = "/usr/bin/chromium";
pub const SKIPPED: &str =
    "SKIPPED: chromium/chromedriver not installed (apt-get install chromium chromium-driver)";
/// How long one step (a page load, a reply) may take.
pub const STEP: Duration = Duration::from_secs(20);

pub struct Proc {
    pub name: &'static str,
    pub child: Child,
    pub log: PathBuf,
    pub url: String,
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

pub fn find_chromedriver() -> Option<PathBuf> {
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

pub fn start_chromedriver(bin: &Path, tmp: &TempDir) -> Proc {
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
pub fn raw_http(port: u16, method: &str, path: &str) -> Option<String> {
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
pub struct TempDir {
    pub path: PathBuf,
}

impl TempDir {
    pub fn new() -> TempDir {
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

pub fn target_dir() -> PathBuf {
    // target/debug/destek -> target
    let bin = Path::new(env!("CARGO_BIN_EXE_destek"));
    bin.ancestors()
        .nth(2)
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("target"))
}

// ---- W3C WebDriver client ----

pub const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";
pub const SHADOW: &str = "shadow-6066-11e4-a52e-4f735466cecf";

/// One browser session; deleted on drop (which closes Chromium), also on panic.
pub struct WebDriver {
    pub http: reqwest::Client,
    pub base: String,
    pub session: String,
}

impl WebDriver {
    pub async fn new(base: &str, tmp: &TempDir) -> WebDriver {
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
    pub async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
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

    pub async fn cmd(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let path = format!("/session/{}{path}", self.session);
        self.call(method, &path, body).await
    }

    pub async fn navigate(&self, url: &str) {
        self.cmd(reqwest::Method::POST, "/url", Some(json!({"url": url})))
            .await;
    }

    pub async fn refresh(&self) {
        self.cmd(reqwest::Method::POST, "/refresh", None).await;
    }

    pub async fn js(&self, script: &str) -> Value {
        self.cmd(
            reqwest::Method::POST,
            "/execute/sync",
            Some(json!({"script": script, "args": []})),
        )
        .await
    }

    /// An element returned by a script.
    /// An asynchronous script: it ends by calling `arguments[arguments.length - 1]`.
    pub async fn js_async(&self, script: &str) -> Value {
        self.cmd(
            reqwest::Method::POST,
            "/execute/async",
            Some(json!({"script": script, "args": []})),
        )
        .await
    }

    /// A Chrome DevTools command.
    pub async fn cdp(&self, cmd: &str, params: Value) -> Value {
        self.cmd(
            reqwest::Method::POST,
            "/goog/cdp/execute",
            Some(json!({"cmd": cmd, "params": params})),
        )
        .await
    }

    /// Emulates a screen of this size (`mobile`: a phone), or the window's own when `None`.
    pub async fn viewport(&self, size: Option<(u32, u32)>) {
        match size {
            Some((width, height)) => {
                self.cdp(
                    "Emulation.setDeviceMetricsOverride",
                    json!({"width": width, "height": height, "deviceScaleFactor": 1,
                           "mobile": width < 500}),
                )
                .await
            }
            None => {
                self.cdp("Emulation.clearDeviceMetricsOverride", json!({}))
                    .await
            }
        };
    }

    /// An element returned by a script.
    pub async fn js_element(&self, script: &str) -> String {
        let v = self.js(script).await;
        v[ELEMENT]
            .as_str()
            .unwrap_or_else(|| panic!("the script returned no element: {v}"))
            .to_owned()
    }

    /// Polls `script` until it returns something other than null/false.
    pub async fn wait_js(&self, what: &str, script: &str) -> Value {
        let deadline = Instant::now() + STEP;
        loop {
            let v = self.js(script).await;
            if !(v.is_null() || v == Value::Bool(false)) {
                return v;
            }
            if Instant::now() > deadline {
                let page = self
                    .js("const host = document.querySelector('destek-widget'); \
                         const r = host && host.shadowRoot; \
                         return r ? r.querySelector('.panel').innerText : document.body.innerText;")
                    .await;
                panic!("timed out after {STEP:?} waiting for {what}; the page shows:\n{page}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// An element inside the widget's shadow root, found the W3C way.
    pub async fn widget_element(&self, css: &str) -> String {
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

    pub async fn click(&self, element: &str) {
        self.cmd(
            reqwest::Method::POST,
            &format!("/element/{element}/click"),
            None,
        )
        .await;
    }

    pub async fn type_text(&self, element: &str, text: &str) {
        self.cmd(
            reqwest::Method::POST,
            &format!("/element/{element}/value"),
            Some(json!({"text": text})),
        )
        .await;
    }

    /// The handle of the current window.
    pub async fn window(&self) -> String {
        let v = self.cmd(reqwest::Method::GET, "/window", None).await;
        v.as_str().unwrap_or_default().to_owned()
    }

    /// Opens a new window and switches to it; returns its handle.
    pub async fn new_window(&self) -> String {
        let v = self
            .cmd(
                reqwest::Method::POST,
                "/window/new",
                Some(json!({"type": "window"})),
            )
            .await;
        let handle = v["handle"].as_str().unwrap_or_default().to_owned();
        self.switch_to(&handle).await;
        handle
    }

    pub async fn switch_to(&self, handle: &str) {
        self.cmd(
            reqwest::Method::POST,
            "/window",
            Some(json!({"handle": handle})),
        )
        .await;
    }

    pub async fn set_size(&self, width: u32, height: u32) {
        self.cmd(
            reqwest::Method::POST,
            "/window/rect",
            Some(json!({"width": width, "height": height})),
        )
        .await;
    }

    /// An element of the page (not in a shadow root).
    pub async fn element(&self, css: &str) -> String {
        let el = self
            .cmd(
                reqwest::Method::POST,
                "/element",
                Some(json!({"using": "css selector", "value": css})),
            )
            .await;
        el[ELEMENT].as_str().unwrap_or_default().to_owned()
    }

    pub async fn screenshot(&self, file: &Path) {
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

pub fn base64_decode(s: &str) -> Vec<u8> {
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
