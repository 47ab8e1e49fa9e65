//! Security headers on a real server: a Content-Security-Policy that the demo page and the
//! widget keep to, `nosniff`, no referrer, and framing only by the allowed origins.

#[path = "support/server.rs"]
mod server;

use destek::web::WebSettings;
use destek::web::headers::csp_hash;
use server::{start, unlimited};

async fn fetch(s: &server::Server, path: &str) -> (reqwest::header::HeaderMap, String) {
    let res = s
        .http
        .get(format!("{}{path}", s.base))
        .send()
        .await
        .expect("request");
    let headers = res.headers().clone();
    (headers, res.text().await.unwrap_or_default())
}

fn header<'a>(h: &'a reqwest::header::HeaderMap, name: &str) -> &'a str {
    h.get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}

/// The sources a CSP directive allows.
fn directive<'a>(csp: &'a str, name: &str) -> Vec<&'a str> {
    csp.split(';')
        .map(str::trim)
        .find_map(|d| {
            d.strip_prefix(name)
                .map(|rest| rest.split_whitespace().collect())
        })
        .unwrap_or_default()
}

/// Issue 15, item 9: no security headers at all. Every answer (page, script, API error)
/// now carries a CSP, `nosniff` and a referrer policy.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_answer_carries_security_headers() {
    let s = start("headers", unlimited(), WebSettings::default()).await;
    for path in [
        "/",
        "/widget.js",
        "/widget.css",
        "/api/v1/conversations",
        "/healthz",
    ] {
        let (h, _) = fetch(&s, path).await;
        assert_eq!(header(&h, "x-content-type-options"), "nosniff", "{path}");
        assert_eq!(header(&h, "referrer-policy"), "no-referrer", "{path}");
        let csp = header(&h, "content-security-policy");
        assert_eq!(directive(csp, "script-src"), ["'self'"], "{path}: {csp}");
        assert_eq!(directive(csp, "object-src"), ["'none'"], "{path}: {csp}");
    }
}

/// Issue 15, item 9: the demo page and the widget keep to the policy: no inline script,
/// no style attribute, no event-handler attribute; the page's `<style>` is allowed by its
/// hash; the widget builds its DOM without `innerHTML` or `eval`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_page_and_widget_keep_to_the_content_security_policy() {
    let s = start("csp", unlimited(), WebSettings::default()).await;
    let (h, page) = fetch(&s, "/").await;
    let csp = header(&h, "content-security-policy").to_owned();
    let styles = directive(&csp, "style-src");
    let mut rest = page.as_str();
    let mut blocks = 0;
    while let Some(start) = rest.find("<style>") {
        let body = &rest[start + 7..];
        let end = body.find("</style>").expect("closed style");
        assert!(styles.contains(&csp_hash(&body[..end]).as_str()), "{csp}");
        blocks += 1;
        rest = &body[end..];
    }
    assert_eq!(blocks, 1);
    assert!(
        !page.contains(" style="),
        "a style attribute needs 'unsafe-inline'"
    );
    for tag in page.split("<script").skip(1) {
        let open = tag.split('>').next().unwrap_or_default();
        assert!(
            open.contains(" src=\"/"),
            "an inline or foreign script: <script{open}>"
        );
    }
    let lower = page.to_ascii_lowercase();
    for handler in [" onclick=", " onload=", " onerror=", "javascript:"] {
        assert!(!lower.contains(handler), "{handler}");
    }
    let (_, widget) = fetch(&s, "/widget.js").await;
    for banned in [
        "innerHTML",
        "eval(",
        "new Function",
        "setAttribute('style'",
        "cssText",
    ] {
        assert!(!widget.contains(banned), "widget.js uses {banned}");
    }
    assert_eq!(directive(&csp, "connect-src"), ["'self'"]);
}

/// Issue 15, item 9: framing follows `web.allowed_origins`: only this origin by default,
/// this origin and the listed shops when there are some.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn frames_are_allowed_only_for_the_allowed_origins() {
    let s = start("frames-none", unlimited(), WebSettings::default()).await;
    let (h, _) = fetch(&s, "/").await;
    assert_eq!(
        directive(header(&h, "content-security-policy"), "frame-ancestors"),
        ["'self'"]
    );
    assert_eq!(header(&h, "x-frame-options"), "SAMEORIGIN");

    let settings = WebSettings {
        allowed_origins: vec![
            "https://shop.example/".into(),
            "https://m.shop.example".into(),
        ],
        ..WebSettings::default()
    };
    let s = start("frames-shop", unlimited(), settings).await;
    let (h, _) = fetch(&s, "/").await;
    assert_eq!(
        directive(header(&h, "content-security-policy"), "frame-ancestors"),
        ["'self'", "https://shop.example", "https://m.shop.example"]
    );
    assert_eq!(header(&h, "x-frame-options"), "");
}
