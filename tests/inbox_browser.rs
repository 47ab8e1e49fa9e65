//! The built-in inbox in a real browser: `destek agents add` makes an account, `destek
//! serve` runs on a free port, and headless Chromium (through chromedriver) holds two
//! windows — the agent's inbox and a customer's widget. The agent signs in, a handoff
//! appears live (no reload) with a title alert, the agent answers with a quick reply's
//! neighbour text, the customer's widget shows the reply under the agent's name, the agent
//! resolves and the customer is asked for a rating. Then the inbox at 375px wide.
//! Screenshots: `target/inbox-tr.png`, `target/inbox-375.png`.
//!
//! Needs `/usr/bin/chromium` and `chromedriver`; without them the test prints SKIPPED and
//! passes, unless `DESTEK_REQUIRE_ALL` is set.

#[path = "support/webdriver.rs"]
mod webdriver;

use serde_json::Value;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;
use webdriver::{Proc, SKIPPED, TempDir, WebDriver};

/// The widget's shadow root, for scripts run in the customer's page.
const ROOT: &str = "const host = document.querySelector('destek-widget'); \
                    const r = host && host.shadowRoot;";

#[test]
fn an_agent_answers_a_customer_in_the_browser() {
    let Some(chromedriver) = webdriver::find_chromedriver() else {
        if std::env::var_os("DESTEK_REQUIRE_ALL").is_some() {
            panic!("{SKIPPED}");
        }
        eprintln!("\n{}\n{SKIPPED}\n{}\n", "=".repeat(80), "=".repeat(80));
        return;
    };
    let tmp = TempDir::new();
    let config = write_config(&tmp);
    let password = add_agent(&config, &tmp);
    let server = start_server(&config, &tmp);
    let driver = webdriver::start_chromedriver(&chromedriver, &tmp);
    let shots = webdriver::target_dir();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    rt.block_on(async {
        let wd = WebDriver::new(&driver.url, &tmp).await;
        wd.set_size(1100, 800).await;
        let base = server.url.clone();

        // The agent signs in; the inbox speaks the agent's language (tr).
        let inbox = wd.window().await;
        wd.navigate(&format!("{base}/agent")).await;
        wd.wait_js("the sign-in form", "return !document.getElementById('login').hidden;")
            .await;
        let name = wd.element("#name").await;
        wd.type_text(&name, "ayse").await;
        let pw = wd.element("#password").await;
        wd.type_text(&pw, &password).await;
        let submit = wd.element("#sign-in").await;
        wd.click(&submit).await;
        wd.wait_js(
            "the inbox to open and its live stream to connect",
            "return !document.getElementById('app').hidden && \
             document.getElementById('live').getAttribute('data-state') === 'on';",
        )
        .await;
        let ui = wd
            .js("return {who: document.getElementById('who').textContent, \
                 tab: document.querySelector('[data-tab=waiting]').textContent, \
                 lang: document.documentElement.lang};")
            .await;
        assert_eq!(ui["who"], "Ayşe K.", "{ui}");
        assert_eq!(ui["lang"], "tr", "{ui}");
        assert!(ui["tab"].as_str().unwrap_or_default().contains("Bekleyen"), "{ui}");
        let empty = wd.js("return document.querySelectorAll('#items .item').length;").await;
        assert_eq!(empty, 0);

        // A customer asks for a person in the widget: someone is online, and says so.
        let customer = wd.new_window().await;
        wd.navigate(&format!("{base}/")).await;
        wd.wait_js(
            "the widget to load",
            &format!("{ROOT} return !!(r && r.querySelector('.root') && !r.querySelector('.root').hidden);"),
        )
        .await;
        let bubble = wd.widget_element(".bubble").await;
        wd.click(&bubble).await;
        let input = wd.widget_element("textarea").await;
        wd.type_text(&input, "temsilciye bağlan\u{E007}").await;
        let said = wd
            .wait_js(
                "the handoff reply",
                &format!(
                    "{ROOT} const b = [...r.querySelectorAll('.msg.bot .bubbletext')]; \
                     return b.length >= 2 && b.map(x => x.textContent).join('\\n');"
                ),
            )
            .await;
        let said = said.as_str().unwrap_or_default();
        assert!(said.contains("çevrimiçi"), "an agent is in the inbox: {said}");

        // The inbox shows it without a reload, and the title calls for attention.
        wd.switch_to(&inbox).await;
        wd.wait_js(
            "the new handoff to appear in the waiting tab",
            "return document.querySelectorAll('#items .item').length === 1;",
        )
        .await;
        let title = wd.js("return document.title;").await;
        assert!(title.as_str().unwrap_or_default().starts_with("(1)"), "title alert: {title}");
        let item = wd.element("#items .item").await;
        wd.click(&item).await;
        wd.wait_js(
            "the conversation with its transcript and quick replies",
            "return [...document.querySelectorAll('#transcript .msg.customer')] \
               .some(m => m.textContent.includes('temsilciye bağlan')) && \
             document.querySelectorAll('#quick button').length > 0;",
        )
        .await;
        let dirs = wd
            .js("return [...document.querySelectorAll('#transcript .msg')].every(m => m.dir === 'auto');")
            .await;
        assert_eq!(dirs, true, "each message sets its own direction");
        let reply = wd.element("#reply").await;
        wd.type_text(&reply, "Merhaba, ben Ayşe. Siparişinize hemen bakıyorum.").await;
        let send = wd.element("#send").await;
        wd.click(&send).await;
        wd.wait_js(
            "the reply in the agent's transcript",
            "return [...document.querySelectorAll('#transcript .msg.agent')] \
               .some(m => m.textContent.includes('hemen bakıyorum') && m.textContent.includes('Ayşe K.'));",
        )
        .await;
        wd.screenshot(&shots.join("inbox-tr.png")).await;

        // The customer's widget shows it live, under the agent's name.
        wd.switch_to(&customer).await;
        let shown = wd
            .wait_js(
                "the agent's reply in the widget",
                &format!(
                    "{ROOT} const m = [...r.querySelectorAll('.msg.agent')].pop(); \
                     return m && {{text: m.querySelector('.bubbletext').textContent, \
                     who: m.querySelector('.who') && m.querySelector('.who').textContent}};"
                ),
            )
            .await;
        assert!(
            shown["text"].as_str().unwrap_or_default().contains("hemen bakıyorum"),
            "{shown}"
        );
        assert_eq!(shown["who"], "Ayşe K.", "{shown}");

        // The agent resolves; the customer is asked for a rating.
        wd.switch_to(&inbox).await;
        let resolve = wd
            .js("const b = document.getElementById('resolve'); \
                 return {visible: !!b.offsetParent, disabled: b.disabled, \
                 rect: JSON.stringify(b.getBoundingClientRect()), inner: innerWidth};")
            .await;
        assert_eq!((resolve["visible"].clone(), resolve["disabled"].clone()), (Value::Bool(true), Value::Bool(false)), "{resolve}");
        wd.js("document.getElementById('resolve').click(); return true;").await;
        wd.wait_js(
            "the handoff to leave the open queue",
            "return document.querySelector('[data-count=open]').textContent === '';",
        )
        .await;
        wd.switch_to(&customer).await;
        wd.wait_js(
            "the rating request in the widget",
            &format!(
                "{ROOT} return [...r.querySelectorAll('.msg.bot .bubbletext')] \
                 .some(b => b.textContent.includes('1') && b.textContent.includes('5') && b.textContent.includes('puan'));"
            ),
        )
        .await;

        // The inbox on a phone: nothing wider than the screen.
        wd.switch_to(&inbox).await;
        wd.set_size(375, 740).await;
        // One pane at a time: the conversation, then "back" to the queue.
        let queue_shown = wd
            .js("return getComputedStyle(document.querySelector('.queue')).display !== 'none';")
            .await;
        assert_eq!(queue_shown, false, "a phone shows the open conversation alone");
        let back = wd.element("#back").await;
        wd.click(&back).await;
        let tab = wd.element("[data-tab=resolved]").await;
        wd.click(&tab).await;
        wd.wait_js(
            "the resolved handoff under 'resolved today'",
            "return document.querySelectorAll('#items .item').length === 1;",
        )
        .await;
        let width: Value = wd
            .js("return [document.documentElement.scrollWidth, window.innerWidth];")
            .await;
        let (scroll, inner) = (width[0].as_i64().unwrap_or(0), width[1].as_i64().unwrap_or(0));
        assert!(scroll <= inner, "no horizontal scrolling at 375px: {width}");
        wd.screenshot(&shots.join("inbox-375.png")).await;
    });
    drop(driver);
    drop(server);
}

fn write_config(tmp: &TempDir) -> std::path::PathBuf {
    let config = tmp.path.join("destek.yaml");
    let db = tmp.path.join("destek.db");
    std::fs::write(
        &config,
        format!(
            "web:\n  bind: \"127.0.0.1:0\"\nstorage:\n  url: \"sqlite://{}\"\n",
            db.display()
        ),
    )
    .expect("write config");
    config
}

fn destek(config: &std::path::Path, tmp: &TempDir) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_destek"));
    for (k, _) in std::env::vars() {
        if k.starts_with("DESTEK_") {
            cmd.env_remove(k);
        }
    }
    cmd.arg("--config").arg(config).current_dir(&tmp.path);
    cmd
}

/// `destek agents add`; returns the password it prints once.
fn add_agent(config: &std::path::Path, tmp: &TempDir) -> String {
    let out = destek(config, tmp)
        .args([
            "agents",
            "add",
            "ayse",
            "--display",
            "Ayşe K.",
            "--lang",
            "tr",
        ])
        .output()
        .expect("destek agents add");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let password = stdout
        .lines()
        .find_map(|l| l.strip_prefix("password: "))
        .unwrap_or_else(|| panic!("no password printed: {stdout}"))
        .trim()
        .to_owned();
    let again = destek(config, tmp)
        .args(["agents", "add", "ayse"])
        .output()
        .expect("destek agents add");
    assert!(!again.status.success(), "a name is added once");
    let list = destek(config, tmp)
        .args(["agents", "list"])
        .output()
        .expect("destek agents list");
    let list = String::from_utf8_lossy(&list.stdout).into_owned();
    assert!(
        list.contains("ayse\tAyşe K.\ttr\tnever signed in"),
        "{list}"
    );
    assert!(!list.contains(&password), "the password is shown only once");
    password
}

fn start_server(config: &std::path::Path, tmp: &TempDir) -> Proc {
    let log = tmp.path.join("server.log");
    let mut child = destek(config, tmp)
        .arg("serve")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(File::create(&log).expect("server log"))
        .spawn()
        .expect("start destek serve");
    let stdout = child.stdout.take().expect("server stdout");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
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
