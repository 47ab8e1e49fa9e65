//! The chat widget in a real browser: `destek serve` on a free port, headless Chromium driven
//! through chromedriver with the W3C WebDriver HTTP protocol (a small client below, on
//! reqwest). A Turkish chat with a quick-reply button and a reload, a proactive notice
//! arriving in an open widget, then a Persian chat in a right-to-left panel; screenshots
//! go to `target/widget-tr.png` and `target/widget-fa.png`.
//!
//! Needs `/usr/bin/chromium` and `chromedriver` (`apt-get install chromium chromium-driver`);
//! without them the test prints SKIPPED and passes, unless `DESTEK_REQUIRE_ALL` is set.

#[path = "support/browser.rs"]
mod browser;
#[path = "support/webdriver.rs"]
mod webdriver;

use browser::*;
use serde_json::{Value, json};
use std::path::Path;

#[test]
fn widget_in_a_real_browser() {
    let Some(chromedriver) = chromedriver_or_skip() else {
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

    // The welcome, at once.
    wait_bot_replies(wd, 1).await;
    let chat = messages(wd).await;
    let welcome = chat[0][1].as_str().unwrap_or_default();
    assert!(welcome.contains("Demo Shop"), "welcome: {welcome}");

    // "slm": the greeting, with quick replies.
    let input = wd.widget_element("textarea").await;
    wd.type_text(&input, "slm\u{E007}").await;
    wait_bot_replies(wd, 2).await;
    let chat = messages(wd).await;
    assert_eq!(chat[1], json!(["customer", "slm"]), "{chat:?}");
    assert_eq!(chat[2][0], "bot", "{chat:?}");
    let greeting = chat[2][1].as_str().unwrap_or_default();
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
    wait_bot_replies(wd, 3).await;
    let chat = messages(wd).await;
    assert_eq!(chat[3], json!(["customer", labels[order]]), "{chat:?}");
    let ask = chat[4][1].as_str().unwrap_or_default().to_lowercase();
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
        &format!("{ROOT} return r.querySelectorAll('.msg').length >= 5;"),
    )
    .await;
    let after = messages(wd).await;
    assert_eq!(after.len(), 5, "{after:?}");
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
    let dl = wd.widget_element(".head .dl").await;
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
    wait_bot_replies(wd, 4).await;
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
    // The header says who has the conversation, with an initials avatar…
    let header = wd
        .js(&format!(
            "{ROOT} const a = r.querySelector('.avatar'); \
             return [r.querySelector('.title').textContent, a.hidden, a.textContent, \
             r.querySelector('.sub').textContent];"
        ))
        .await;
    assert_eq!(header, json!(["Ayşe", false, "A", "Temsilci"]), "{header}");
    // …across a reload too…
    wd.refresh().await;
    wait_loaded(wd).await;
    wd.wait_js(
        "the agent's name in the header after a reload",
        &format!("{ROOT} return r.querySelector('.title').textContent === 'Ayşe';"),
    )
    .await;
    // …and the assistant's again once the agent resolves it.
    let resp = reqwest::Client::new()
        .post(format!("{base}/api/v1/handoffs/{id}/resolve"))
        .bearer_auth(AGENT_TOKEN)
        .send()
        .await
        .expect("resolve");
    assert!(resp.status().is_success(), "resolve: {}", resp.status());
    let header = wd
        .wait_js(
            "the assistant's name back in the header",
            &format!(
                "{ROOT} return r.querySelector('.title').textContent === 'Demo Shop' && \
                 [r.querySelector('.avatar').hidden, r.querySelector('.sub').textContent];"
            ),
        )
        .await;
    assert_eq!(header, json!([true, "Asistan"]), "{header}");
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

    wait_bot_replies(wd, 1).await;
    let input = wd.widget_element("textarea").await;
    wd.type_text(&input, "سفارشم کجاست؟\u{E007}").await;
    wait_bot_replies(wd, 2).await;
    let chat = messages(wd).await;
    assert_eq!(chat[1], json!(["customer", "سفارشم کجاست؟"]), "{chat:?}");
    let ask = chat[2][1].as_str().unwrap_or_default();
    assert!(
        ask.contains("شماره سفارش"),
        "asks for the order number: {ask}"
    );

    wd.type_text(&input, "شماره سفارش ۴۵۸۲۱۹۳\u{E007}").await;
    wait_bot_replies(wd, 3).await;
    let chat = messages(wd).await;
    let verify = chat[4][1].as_str().unwrap_or_default();
    assert!(
        verify.contains("ایمیل") || verify.contains("تلفن"),
        "asks to verify (e-mail or phone): {verify}"
    );

    // A Latin order code inside Persian text.
    wd.type_text(&input, "کد سفارش من TR-55320 است\u{E007}")
        .await;
    wait_bot_replies(wd, 4).await;

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
            "width": 375, "height": 812, "deviceScaleFactor": 1, "mobile": true}}),
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
    assert_eq!(state["width"], 375, "{state}");
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
    wait_bot_replies(wd, 2).await;
    wd.type_text(&input, "ayse.yilmaz@example.com\u{E007}")
        .await;
    wait_bot_replies(wd, 3).await;
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
