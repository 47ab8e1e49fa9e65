//! The widget as a shop embeds it: a shop page on its own origin (a small static server
//! here) loads `widget.js` from `destek serve` with every option set, in headless
//! Chromium. For tr, fa (right to left) and en, on a desktop window and a 375×812 phone:
//! the welcome and its topic buttons, the launcher turning into a close button, the
//! teaser, the privacy line, timestamps, the "sent" state, the text box after a reload
//! (regression), a new conversation with its confirm, follow-up buttons, and axe-core at
//! 0 violations. Then: a message typed offline sent once when back, a failed one sent by
//! a tap, the unread count, title flash and sound, an attachment's thumbnail, and erasing
//! the conversation.

#[path = "support/browser.rs"]
mod browser;
#[path = "support/webdriver.rs"]
mod webdriver;

use browser::*;
use serde_json::{Value, json};
use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::time::Duration;

struct Lang {
    code: &'static str,
    now: &'static str,
    sent: &'static str,
    topic: &'static str,
    privacy: &'static str,
    close: &'static str,
    thanks: &'static str,
    restart_q: &'static str,
}

const LANGS: [Lang; 3] = [
    Lang {
        code: "tr",
        now: "şimdi",
        sent: "Gönderildi",
        topic: "Siparişim nerede?",
        privacy: "Gizlilik bildirimi",
        close: "Sohbeti kapat",
        thanks: "teşekkürler",
        restart_q: "Yeni bir konuşma başlatılsın mı?",
    },
    Lang {
        code: "fa",
        now: "اکنون",
        sent: "ارسال شد",
        topic: "سفارشم کجاست؟",
        privacy: "حریم خصوصی",
        close: "بستن گفتگو",
        thanks: "ممنون",
        restart_q: "گفتگوی تازه‌ای شروع شود؟",
    },
    Lang {
        code: "en",
        now: "now",
        sent: "Sent",
        topic: "Where is my order?",
        privacy: "Privacy notice",
        close: "Close chat",
        thanks: "thanks",
        restart_q: "Start a new conversation?",
    },
];

/// A shop's page on its own origin, embedding the widget with every option; `api` is
/// filled in once the server is up (its origin must be allowed before it starts).
fn shop_page(api: std::sync::Arc<std::sync::Mutex<String>>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind the shop page");
    let port = listener.local_addr().map(|a| a.port()).unwrap_or(0);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
            let mut buf = [0u8; 4096];
            let n = stream.read(&mut buf).unwrap_or(0);
            let req = String::from_utf8_lossy(&buf[..n]);
            let lang = ["tr", "fa", "en"]
                .into_iter()
                .find(|l| req.contains(&format!("lang={l}")))
                .unwrap_or("en");
            let api = api.lock().map(|a| a.clone()).unwrap_or_default();
            let html = format!(
                "<!doctype html><html lang=\"{lang}\"><head><meta charset=\"utf-8\">\
                 <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
                 <title>Shop</title></head><body><main><h1>Shop</h1><p>Products.</p></main>\
                 <script src=\"{api}/widget.js\" data-api=\"{api}\" data-lang=\"{lang}\" \
                 data-name=\"Demo Shop\" data-privacy-url=\"https://shop.example/privacy\" \
                 data-teaser-after=\"1\" data-sound=\"on\" async></script></body></html>"
            );
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n\
                 Content-Length: {}\r\nConnection: close\r\n\r\n{html}",
                html.len()
            );
        }
    });
    format!("http://127.0.0.1:{port}")
}

#[test]
fn widget_features_in_a_real_browser() {
    let Some(chromedriver) = chromedriver_or_skip() else {
        return;
    };
    let tmp = TempDir::new();
    let api = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let shop = shop_page(std::sync::Arc::clone(&api));
    let server = start_server_with(&tmp, &format!("  allowed_origins: [\"{shop}\"]\n"));
    if let Ok(mut a) = api.lock() {
        *a = server.url.clone();
    }
    let driver = start_chromedriver(&chromedriver, &tmp);
    let shots = target_dir();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    rt.block_on(async {
        let wd = WebDriver::new(&driver.url, &tmp).await;
        let axe = axe_source();
        for lang in &LANGS {
            for size in [None, Some((375, 812))] {
                each_language_and_screen(&wd, &shop, lang, size, axe.as_deref(), &shots).await;
            }
        }
        wd.viewport(None).await;
        let x = Ctx {
            wd: &wd,
            shop: &shop,
            api: &server.url,
        };
        offline_then_failed_then_retried(&x).await;
        attention(&x).await;
        attachment(&x, &tmp.path).await;
        erase(&x).await;
    });
    drop(driver);
    drop(server);
}

struct Ctx<'a> {
    wd: &'a WebDriver,
    shop: &'a str,
    api: &'a str,
}

/// A new visitor on the shop page in `lang`.
async fn fresh(wd: &WebDriver, shop: &str, lang: &str) {
    wd.navigate(&format!("{shop}/?lang={lang}")).await;
    wd.js("localStorage.clear(); sessionStorage.clear(); return true;")
        .await;
    wd.navigate(&format!("{shop}/?lang={lang}")).await;
    wait_loaded(wd).await;
}

/// Waits for the panel's opening animation to end (axe measures colours as they are).
async fn settled(wd: &WebDriver) {
    wd.wait_js(
        "the panel's animations to end",
        &format!(
            "{ROOT} return [...r.querySelectorAll('*')].every(e => \
             e.getAnimations().every(a => a.playState !== 'running' || a.effect.getTiming().iterations === Infinity));"
        ),
    )
    .await;
}

async fn open_panel(wd: &WebDriver) {
    wd.js(&format!(
        "{ROOT} if (r.querySelector('.panel').hidden) r.querySelector('.bubble').click(); return true;"
    ))
    .await;
    wd.wait_js(
        "the panel to open",
        &format!("{ROOT} return !r.querySelector('.panel').hidden;"),
    )
    .await;
}

/// The conversation the widget keeps: `(id, token)`.
async fn stored(wd: &WebDriver, api: &str) -> (String, String) {
    let v = wd
        .js(&format!(
            "return JSON.parse(localStorage.getItem('destek:{api}') || 'null');"
        ))
        .await;
    (
        v["id"].as_str().unwrap_or_default().to_owned(),
        v["token"].as_str().unwrap_or_default().to_owned(),
    )
}

async fn customer_messages(api: &str, id: &str, token: &str) -> Vec<String> {
    let v: Value = reqwest::Client::new()
        .get(format!("{api}/api/v1/conversations/{id}/transcript"))
        .bearer_auth(token)
        .send()
        .await
        .expect("transcript")
        .json()
        .await
        .unwrap_or_default();
    v["messages"]
        .as_array()
        .map(|m| {
            m.iter()
                .filter(|m| m["from"] == "customer")
                .filter_map(|m| m["text"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

async fn each_language_and_screen(
    wd: &WebDriver,
    shop: &str,
    l: &Lang,
    size: Option<(u32, u32)>,
    axe: Option<&str>,
    shots: &Path,
) {
    let lang = l.code;
    let screen = if size.is_some() { "phone" } else { "desktop" };
    let at = format!("{lang}/{screen}");
    wd.viewport(size).await;
    fresh(wd, shop, lang).await;

    // The teaser, after the configured second.
    let teaser = wd
        .wait_js(
            "the teaser bubble",
            &format!(
                "{ROOT} const t = r.querySelector('.teaser'); return !t.hidden && t.textContent;"
            ),
        )
        .await;
    assert!(
        teaser.as_str().is_some_and(|t| !t.is_empty()),
        "{at}: {teaser}"
    );

    // Open: the launcher turns into a close button, the welcome and its topics appear.
    let bubble = wd.widget_element(".bubble").await;
    wd.click(&bubble).await;
    let welcome = wd
        .wait_js(
            "the welcome with its topic buttons",
            &format!(
                "{ROOT} const m = r.querySelector('.msg.bot'); \
                 return m && [m.querySelector('.bubbletext').textContent, \
                 [...r.querySelectorAll('.quick .qr')].map(b => b.textContent)];"
            ),
        )
        .await;
    assert!(
        welcome[0].as_str().is_some_and(|t| t.contains("Demo Shop")),
        "{at}: {welcome}"
    );
    assert!(
        welcome[1]
            .as_array()
            .is_some_and(|b| b.iter().any(|x| x == l.topic)),
        "{at}: {welcome}"
    );
    let ui = wd
        .js(&format!(
            "{ROOT} const b = r.querySelector('.bubble'), p = r.querySelector('.privacy'), \
             t = r.querySelector('.msg time'); \
             return {{label: b.getAttribute('aria-label'), expanded: b.getAttribute('aria-expanded'), \
             teaser: r.querySelector('.teaser').hidden, privacy: p && p.textContent, \
             href: p && p.href, when: t.textContent, full: t.title}};"
        ))
        .await;
    assert_eq!(ui["label"], l.close, "{at}: the launcher closes now: {ui}");
    assert_eq!(ui["expanded"], "true", "{at}: {ui}");
    assert_eq!(ui["teaser"], true, "{at}: {ui}");
    assert_eq!(ui["privacy"], l.privacy, "{at}: {ui}");
    assert_eq!(ui["href"], "https://shop.example/privacy", "{at}: {ui}");
    assert_eq!(ui["when"], l.now, "{at}: a relative, localised time: {ui}");
    let full = ui["full"].as_str().unwrap_or_default();
    if lang == "fa" {
        assert!(
            full.chars().any(|c| ('۰'..='۹').contains(&c))
                && !full.chars().any(|c| c.is_ascii_digit()),
            "{at}: Persian digits: {full}"
        );
    } else {
        assert!(full.chars().any(|c| c.is_ascii_digit()), "{at}: {full}");
    }

    // A topic button: the customer's message is marked sent.
    let topic = wd
        .js_element(&format!(
            "{ROOT} return [...r.querySelectorAll('.quick .qr')].find(b => b.textContent === {});",
            json!(l.topic)
        ))
        .await;
    wd.click(&topic).await;
    let sent = wd
        .wait_js(
            "the customer's message marked sent",
            &format!(
                "{ROOT} const s = r.querySelector('.msg.customer .st'); \
                 return r.querySelectorAll('.msg.bot').length >= 2 && s && s.textContent;"
            ),
        )
        .await;
    assert_eq!(sent, l.sent, "{at}");

    // Regression: after a reload with the panel open the text box was 3 px high.
    let before = wd
        .js(&format!(
            "{ROOT} return r.querySelector('textarea').offsetHeight;"
        ))
        .await;
    wd.refresh().await;
    wait_loaded(wd).await;
    let after = wd
        .wait_js(
            "the panel open again after the reload",
            &format!(
                "{ROOT} const p = r.querySelector('.panel'); \
                 return !p.hidden && r.querySelectorAll('.msg').length >= 3 && \
                 r.querySelector('textarea').offsetHeight;"
            ),
        )
        .await;
    let (before, after) = (before.as_i64().unwrap_or(0), after.as_i64().unwrap_or(0));
    assert!(
        after >= 36 && (after - before).abs() <= 2,
        "{at}: regression_text_box_keeps_its_height_after_a_reload: {before} px before, {after} px after"
    );

    // axe-core: no violations with the panel open.
    if let Some(src) = axe {
        settled(wd).await;
        let v = axe_violations(wd, src).await;
        assert!(v.is_empty(), "{at}: axe-core violations:\n{}", v.join("\n"));
    }
    wd.screenshot(&shots.join(format!("widget-{lang}-{screen}.png")))
        .await;

    // A new conversation, after a confirm: "no" keeps this one, "yes" starts afresh.
    let first = wd.js("return localStorage.length;").await;
    assert_eq!(first, 1, "{at}");
    let restart = wd.widget_element(".head .new").await;
    wd.click(&restart).await;
    let q = wd
        .wait_js(
            "the confirm of a new conversation",
            &format!(
                "{ROOT} const c = r.querySelector('.confirm'); return !c.hidden && \
                 r.activeElement === c.querySelector('.yes') && c.querySelector('p').textContent;"
            ),
        )
        .await;
    assert!(
        q.as_str().is_some_and(|q| q.starts_with(l.restart_q)),
        "{at}: {q}"
    );
    if let Some(src) = axe {
        settled(wd).await;
        let v = axe_violations(wd, src).await;
        assert!(
            v.is_empty(),
            "{at}: axe-core with the confirm:\n{}",
            v.join("\n")
        );
    }
    let n = wd
        .js(&format!("{ROOT} return r.querySelectorAll('.msg').length;"))
        .await;
    let no = wd.widget_element(".confirm .no").await;
    wd.click(&no).await;
    let still = wd
        .js(&format!(
            "{ROOT} return [r.querySelector('.confirm').hidden, r.querySelectorAll('.msg').length];"
        ))
        .await;
    assert_eq!(still, json!([true, n]), "{at}");
    let old = wd
        .js("return localStorage.getItem(localStorage.key(0));")
        .await;
    wd.click(&restart).await;
    let yes = wd.widget_element(".confirm .yes").await;
    wd.click(&yes).await;
    wd.wait_js(
        "a new conversation with only its welcome",
        &format!(
            "{ROOT} const m = r.querySelectorAll('.msg'); \
             return m.length === 1 && m[0].classList.contains('bot') && \
             localStorage.getItem(localStorage.key(0)) !== {old};"
        ),
    )
    .await;

    // In the new conversation, a finished request ends with follow-up buttons.
    let input = wd.widget_element("textarea").await;
    wd.type_text(&input, &format!("{}\u{E007}", l.thanks)).await;
    let follow = wd
        .wait_js(
            "follow-up buttons under the answer to thanks",
            &format!(
                "{ROOT} const last = [...r.querySelectorAll('.log > *')].pop(); \
                 return r.querySelectorAll('.msg.bot').length >= 2 && last.className === 'quick' && \
                 [...last.querySelectorAll('.qr')].map(b => b.textContent);"
            ),
        )
        .await;
    assert!(
        follow
            .as_array()
            .is_some_and(|b| b.iter().any(|x| x == l.topic)),
        "{at}: {follow}"
    );
}

async fn offline(wd: &WebDriver, off: bool) {
    wd.cdp("Network.enable", json!({})).await;
    wd.cdp(
        "Network.emulateNetworkConditions",
        json!({"offline": off, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1}),
    )
    .await;
    wd.wait_js(
        "the browser to see the network change",
        &format!("return navigator.onLine === {};", !off),
    )
    .await;
}

/// Typed offline: queued, then sent once when back. Failing: "tap to retry", sent once by
/// the tap.
async fn offline_then_failed_then_retried(x: &Ctx<'_>) {
    let wd = x.wd;
    fresh(wd, x.shop, "tr").await;
    open_panel(wd).await;
    wait_bot_replies(wd, 1).await;
    let (id, token) = stored(wd, x.api).await;
    assert!(!id.is_empty(), "a conversation from the start");

    offline(wd, true).await;
    let input = wd.widget_element("textarea").await;
    wd.type_text(&input, "siparişim nerede\u{E007}").await;
    let queued = wd
        .wait_js(
            "the message queued while offline",
            &format!(
                "{ROOT} const s = r.querySelector('.msg.customer .st'); return s && s.textContent;"
            ),
        )
        .await;
    assert_eq!(queued, "Bağlantı bekleniyor…");
    offline(wd, false).await;
    wd.wait_js(
        "the queued message sent once the connection is back",
        &format!(
            "{ROOT} const s = r.querySelector('.msg.customer .st'); \
             return s && s.textContent === 'Gönderildi' && r.querySelectorAll('.msg.bot').length >= 2;"
        ),
    )
    .await;
    assert_eq!(
        customer_messages(x.api, &id, &token).await,
        ["siparişim nerede"],
        "sent once"
    );

    // The API unreachable, and no socket (as behind a proxy that drops them; the open one
    // closes when the network drops a moment): after its retries the message is marked
    // failed, and a tap sends it.
    wd.cdp("Network.setBlockedURLs", json!({"urls": ["*/messages*"]}))
        .await;
    wd.js("window.__WS = window.WebSocket; window.WebSocket = undefined; return true;")
        .await;
    offline(wd, true).await;
    offline(wd, false).await;
    wd.type_text(&input, "iade etmek istiyorum\u{E007}").await;
    let retry = wd
        .wait_js(
            "the message marked failed",
            &format!(
                "{ROOT} const b = r.querySelector('.msg.customer.failed .retry'); \
                 return b && !b.disabled && b.textContent;"
            ),
        )
        .await;
    assert_eq!(retry, "Gönderilemedi, tekrar denemek için dokunun");
    wd.cdp("Network.setBlockedURLs", json!({"urls": []})).await;
    wd.js("window.WebSocket = window.__WS; return true;").await;
    let tap = wd.widget_element(".msg.customer.failed .retry").await;
    wd.click(&tap).await;
    wd.wait_js(
        "the failed message sent by the tap",
        &format!(
            "{ROOT} return !r.querySelector('.msg.customer.failed') && \
             [...r.querySelectorAll('.msg.customer .st')].pop().textContent === 'Gönderildi';"
        ),
    )
    .await;
    assert_eq!(
        customer_messages(x.api, &id, &token).await,
        ["siparişim nerede", "iade etmek istiyorum"],
        "each message once"
    );
    wd.cdp("Network.disable", json!({})).await;
}

/// Replies while the panel is closed and the tab hidden: the count on the launcher, the
/// page title flashing, a sound; all cleared when the customer looks.
async fn attention(x: &Ctx<'_>) {
    let wd = x.wd;
    fresh(wd, x.shop, "en").await;
    open_panel(wd).await;
    wait_bot_replies(wd, 1).await;
    let input = wd.widget_element("textarea").await;
    wd.type_text(&input, "I want to talk to a person\u{E007}")
        .await;
    wait_bot_replies(wd, 2).await;
    let (id, _) = stored(wd, x.api).await;
    let close = wd.widget_element(".head .x").await;
    wd.click(&close).await;
    wd.js("window.__beeps = 0; const A = window.AudioContext; \
         window.AudioContext = function () { window.__beeps++; return new A(); }; return true;")
        .await;
    let agent = |text: &'static str| {
        let url = format!("{}/api/v1/handoffs/{id}/messages", x.api);
        async move {
            let r = reqwest::Client::new()
                .post(url)
                .bearer_auth(AGENT_TOKEN)
                .json(&json!({"text": text, "agent": "Sam Lee"}))
                .send()
                .await
                .expect("agent message");
            assert!(r.status().is_success(), "{}", r.status());
        }
    };
    agent("Hi, I'm Sam.").await;
    let badge = wd
        .wait_js(
            "the unread count on the launcher",
            &format!(
                "{ROOT} const d = r.querySelector('.dot'); \
                 return !d.hidden && [d.textContent, r.querySelector('.bubble').getAttribute('aria-label')];"
            ),
        )
        .await;
    assert_eq!(badge, json!(["1", "Open chat (1 new messages)"]));
    // The tab goes to the background.
    wd.js("window.__title = document.title; \
         Object.defineProperty(document, 'hidden', {configurable: true, get: () => true}); \
         document.dispatchEvent(new Event('visibilitychange')); return true;")
        .await;
    agent("Could you send a photo?").await;
    let flashed = wd
        .wait_js(
            "the page title to flash",
            "return document.title === '(2) New message' && window.__beeps;",
        )
        .await;
    assert!(
        flashed.as_i64().unwrap_or(0) >= 1,
        "a sound played: {flashed}"
    );
    // Back to the tab: the title is restored; opening clears the count.
    wd.js(
        "Object.defineProperty(document, 'hidden', {configurable: true, get: () => false}); \
         document.dispatchEvent(new Event('visibilitychange')); return true;",
    )
    .await;
    let title = wd.js("return [document.title, window.__title];").await;
    assert_eq!(title[0], title[1], "{title}");
    open_panel(wd).await;
    let cleared = wd
        .js(&format!(
            "{ROOT} return [r.querySelector('.dot').hidden, r.querySelector('.title').textContent, \
             r.querySelector('.avatar').textContent];"
        ))
        .await;
    assert_eq!(cleared, json!([true, "Sam Lee", "SL"]));
    settled(wd).await;
    wd.screenshot(&target_dir().join("widget-agent.png")).await;
}

/// A photo chosen with the attach button: uploaded, and shown as a thumbnail.
async fn attachment(x: &Ctx<'_>, tmp: &Path) {
    let wd = x.wd;
    fresh(wd, x.shop, "fa").await;
    open_panel(wd).await;
    wait_bot_replies(wd, 1).await;
    let photo = tmp.join("mug.png");
    std::fs::write(&photo, PNG).expect("write the photo");
    let file = wd.widget_element("input[type=file]").await;
    wd.type_text(&file, &photo.display().to_string()).await;
    let shown = wd
        .wait_js(
            "the photo's thumbnail in the customer's message",
            &format!(
                "{ROOT} const m = [...r.querySelectorAll('.msg.customer')].pop(); \
                 const img = m && m.querySelector('.att img'); \
                 return img && img.complete && img.naturalWidth > 0 && \
                 [m.querySelector('.bubbletext').textContent, img.alt];"
            ),
        )
        .await;
    assert_eq!(shown, json!(["📎 mug.png", "mug.png"]));
}

/// "Delete my conversation", confirmed: the server forgets it.
async fn erase(x: &Ctx<'_>) {
    let wd = x.wd;
    fresh(wd, x.shop, "en").await;
    open_panel(wd).await;
    wait_bot_replies(wd, 1).await;
    let (id, token) = stored(wd, x.api).await;
    let button = wd.widget_element(".erase").await;
    wd.click(&button).await;
    let yes = wd.widget_element(".confirm .yes").await;
    wd.click(&yes).await;
    wd.wait_js(
        "the conversation erased",
        &format!(
            "{ROOT} const n = r.querySelector('.notice'); \
             return n && n.textContent === 'Your conversation has been deleted.' && \
             !r.querySelector('.msg') && localStorage.length === 0;"
        ),
    )
    .await;
    let status = reqwest::Client::new()
        .get(format!("{}/api/v1/conversations/{id}/transcript", x.api))
        .bearer_auth(&token)
        .send()
        .await
        .expect("transcript")
        .status();
    assert_eq!(status.as_u16(), 404);
}

/// A 1×1 PNG.
const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89\0\0\0\rIDATx\x9cc\xf8\xcf\xc0\xf0\x1f\0\x05\0\x01\xff\x89\x99=\x1d\0\0\0\0IEND\xaeB`\x82";
