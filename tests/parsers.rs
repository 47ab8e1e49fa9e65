//! Property tests of the parsers that take outside input (issue 15): the YAML pack, the
//! configuration, the orders CSV, raw bytes as UTF-8, reverse-proxy headers and API bodies.
//! Whatever they are given they answer, never panic or hang, and their errors say where.

#[path = "support/server.rs"]
mod server;

use destek::config::Config;
use destek::orders::sqlite::{ImportError, SqliteOrders};
use destek::pack::{self, Source};
use destek::web::proxy::{Cidr, client_ip};
use proptest::prelude::*;
use std::net::IpAddr;

/// An edit of a text: cut a range, insert a string, or duplicate a line.
#[derive(Debug, Clone)]
enum Edit {
    Cut(usize, usize),
    Insert(usize, String),
    DuplicateLine(usize),
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (any::<usize>(), 0usize..40).prop_map(|(a, n)| Edit::Cut(a, n)),
        (any::<usize>(), "[ -~\n:\\-\\[\\]{}\"'#&*!|>%@`]{0,12}")
            .prop_map(|(a, s)| Edit::Insert(a, s)),
        any::<usize>().prop_map(Edit::DuplicateLine),
    ]
}

fn apply(text: &str, e: &Edit) -> String {
    let boundary = |at: usize| {
        let mut at = at % (text.len() + 1);
        while !text.is_char_boundary(at) {
            at -= 1;
        }
        at
    };
    match e {
        Edit::Cut(a, n) => {
            let start = boundary(*a);
            let end = boundary(start + n);
            format!("{}{}", &text[..start], &text[end.max(start)..])
        }
        Edit::Insert(a, s) => {
            let at = boundary(*a);
            format!("{}{s}{}", &text[..at], &text[at..])
        }
        Edit::DuplicateLine(n) => {
            let lines: Vec<&str> = text.lines().collect();
            if lines.is_empty() {
                return text.to_owned();
            }
            let i = n % lines.len();
            let mut out: Vec<&str> = lines[..=i].to_vec();
            out.extend_from_slice(&lines[i..]);
            out.join("\n")
        }
    }
}

/// `file:line:col: ` with numbers from 1.
fn located(s: &str, file: &str) -> bool {
    let Some(rest) = s.strip_prefix(file).and_then(|r| r.strip_prefix(':')) else {
        return false;
    };
    let mut parts = rest.splitn(3, ':');
    let line = parts.next().and_then(|l| l.parse::<u64>().ok());
    let col = parts.next().and_then(|c| c.parse::<u64>().ok());
    matches!((line, col), (Some(l), Some(c)) if l >= 1 && c >= 1)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// A mutated pack compiles or is refused with located errors; it never panics.
    #[test]
    fn a_mutated_pack_is_compiled_or_refused_with_locations(
        file in 0usize..64,
        edits in prop::collection::vec(edit(), 1..4),
    ) {
        let mut sources = pack::embedded();
        let i = file % sources.len();
        let mut text = sources[i].text.clone();
        for e in &edits {
            text = apply(&text, e);
        }
        sources[i] = Source { path: sources[i].path.clone(), text };
        let compiled = pack::compile(&sources, &pack::Options::default());
        if compiled.bot.is_none() {
            prop_assert!(!compiled.diagnostics.is_empty());
        }
        for d in &compiled.diagnostics {
            prop_assert!(d.line >= 1 && d.col >= 1, "{d}");
            prop_assert!(sources.iter().any(|s| s.path == d.file), "{d}");
        }
    }

    /// Any bytes: UTF-8 or the line and column of the first bad byte.
    #[test]
    fn bytes_are_utf8_or_located(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        match destek::textfile::utf8(bytes.clone()) {
            Ok(s) => prop_assert_eq!(s.as_bytes(), bytes.as_slice()),
            Err(bad) => {
                prop_assert!(std::str::from_utf8(&bytes).is_err());
                let lines = bytes.iter().filter(|b| **b == b'\n').count() + 1;
                prop_assert!(bad.line >= 1 && bad.line <= lines);
                prop_assert!(bad.column >= 1);
            }
        }
    }

    /// Any CSV text: imported, or refused at a line of the file.
    #[test]
    fn a_csv_is_imported_or_refused_at_a_line(
        rows in prop::collection::vec("[ -~\n\r\"\u{0}çşğ۱]{0,120}", 0..6),
    ) {
        let header = "order_id,status,email,phone,placed_at,shipped_at,delivered_at,\
            estimated_delivery,carrier,tracking_number,tracking_url,total,currency,payment_method,items";
        let text = format!("{header}\n{}", rows.join("\n"));
        let orders = SqliteOrders::open_in_memory().map_err(|e| TestCaseError::fail(e.to_string()))?;
        match orders.import_csv(text.as_bytes()) {
            Ok(_) => {}
            Err(ImportError::Invalid(e)) => {
                prop_assert!(e.line >= 1 && e.line <= text.lines().count() + 1, "{e}");
            }
            Err(other) => prop_assert!(false, "{other}"),
        }
    }

    /// Any configuration text: loaded, or refused naming the file (and, for YAML
    /// errors, the line and column).
    #[test]
    fn a_configuration_is_loaded_or_refused_with_its_location(
        text in "[ -~\n]{0,200}",
    ) {
        let path = std::env::temp_dir().join(format!("destek-prop-config-{}.yaml", std::process::id()));
        std::fs::write(&path, &text).map_err(|e| TestCaseError::fail(e.to_string()))?;
        if let Err(e) = Config::load(Some(&path)) {
            let file = path.display().to_string();
            if e.starts_with(&file) {
                prop_assert!(located(&e, &file), "{e}");
            }
        }
    }

    /// Any forwarded-for header from a trusted proxy gives some address; from anyone else
    /// the peer. Any CIDR text parses or is refused.
    #[test]
    fn forwarded_headers_never_panic(
        xff in "[ -~]{0,80}",
        fwd in "[ -~]{0,80}",
        cidr in "[0-9a-f:./]{0,24}",
    ) {
        let _ = cidr.parse::<Cidr>();
        let proxies: Vec<Cidr> = vec!["127.0.0.0/8".parse().map_err(TestCaseError::fail)?];
        let mut headers = axum::http::HeaderMap::new();
        if let Ok(v) = xff.parse() {
            headers.insert("x-forwarded-for", v);
        }
        if let Ok(v) = fwd.parse() {
            headers.insert("forwarded", v);
        }
        let outsider: IpAddr = "198.51.100.1".parse().map_err(|_| TestCaseError::fail("ip"))?;
        prop_assert_eq!(client_ip(outsider, &headers, &proxies), outsider);
        let proxy: IpAddr = "127.0.0.1".parse().map_err(|_| TestCaseError::fail("ip"))?;
        let _ = client_ip(proxy, &headers, &proxies);
    }
}

/// Any body sent to the API gets a 2xx or a 4xx with JSON `{"error", "detail"}`, never a
/// 5xx or a dropped connection.
#[test]
fn any_api_body_gets_an_answer_or_a_json_4xx() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let s = rt.block_on(server::start(
        "prop-api",
        server::unlimited(),
        Default::default(),
    ));
    let (id, token) = rt.block_on(s.conversation());
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig::with_cases(64));
    let bodies = prop_oneof![
        prop::collection::vec(any::<u8>(), 0..200),
        "\\{\"(text|payload|label|lang)\": ?(\"[ -~]{0,20}\"|[0-9]{1,4}|null|\\[\\]|\\{\\})\\}"
            .prop_map(String::into_bytes),
    ];
    let result = runner.run(&bodies, |body| {
        for path in [
            "/api/v1/conversations".to_owned(),
            format!("/api/v1/conversations/{id}/messages"),
        ] {
            let (status, v) = rt
                .block_on(async {
                    let res = s
                        .http
                        .post(format!("{}{path}", s.base))
                        .bearer_auth(&token)
                        .header("content-type", "application/json")
                        .body(body.clone())
                        .send()
                        .await
                        .map_err(|e| e.to_string())?;
                    let status = res.status().as_u16();
                    let v: serde_json::Value = res.json().await.unwrap_or(serde_json::Value::Null);
                    Ok::<_, String>((status, v))
                })
                .map_err(TestCaseError::fail)?;
            prop_assert!(status < 500, "{path}: {status} {v}");
            if status >= 400 {
                prop_assert!(
                    v["error"].is_string() && v["detail"].is_string(),
                    "{path}: {v}"
                );
            }
        }
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}
