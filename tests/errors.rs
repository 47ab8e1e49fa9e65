//! Errors a client or an operator can act on: every API error is JSON `{"error",
//! "detail"}`, a WebSocket says why it closes, and a file that is not UTF-8 or an order id
//! that cannot be typed is refused with its location.

#[path = "support/server.rs"]
mod server;

use destek::orders::sqlite::{ImportError, SqliteOrders};
use destek::web::WebSettings;
use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use server::{start, unlimited};
use tokio_tungstenite::tungstenite::Message as WsMessage;

async fn raw(
    s: &server::Server,
    method: reqwest::Method,
    path: &str,
    body: Vec<u8>,
) -> (u16, String, Value) {
    let res = s
        .http
        .request(method, format!("{}{path}", s.base))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .expect("request");
    let status = res.status().as_u16();
    let ctype = res
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    (status, ctype, res.json().await.unwrap_or(Value::Null))
}

/// Issue 15, item 8: 405 answered with an empty body, and a body over 16 KiB got
/// `413 text/plain`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn method_not_allowed_and_too_large_answer_json_errors() {
    let s = start("errors-json", unlimited(), WebSettings::default()).await;
    let (status, ctype, v) = raw(
        &s,
        reqwest::Method::GET,
        "/api/v1/conversations",
        Vec::new(),
    )
    .await;
    assert_eq!((status, ctype.as_str()), (405, "application/json"));
    assert_eq!(v["error"], "method_not_allowed");
    assert!(
        v["detail"].as_str().is_some_and(|d| d.contains("method")),
        "{v}"
    );

    let big = vec![b' '; 20 * 1024];
    let (status, ctype, v) = raw(
        &s,
        reqwest::Method::POST,
        "/api/v1/conversations",
        big.clone(),
    )
    .await;
    assert_eq!((status, ctype.as_str()), (413, "application/json"), "{v}");
    assert_eq!(v["error"], "too_large");

    let (id, token) = s.conversation().await;
    let text = "a".repeat(20 * 1024);
    let (status, v) = s.say(&id, &token, &text).await;
    assert_eq!((status, v["error"].as_str()), (413, Some("too_large")));

    // A malformed WebSocket request and an unknown path are JSON too.
    let (status, ctype, v) = raw(
        &s,
        reqwest::Method::GET,
        &format!("/api/v1/conversations/{id}/ws?token={token}"),
        Vec::new(),
    )
    .await;
    assert_eq!(
        (status / 100, ctype.as_str()),
        (4, "application/json"),
        "{v}"
    );
    assert!(v["detail"].is_string(), "{v}");
    let (status, _, v) = raw(&s, reqwest::Method::GET, "/nothing/here", Vec::new()).await;
    assert_eq!((status, v["error"].as_str()), (404, Some("not_found")));
}

/// Issue 15, item 8: a WebSocket frame over 16 KiB dropped the connection with no close
/// code. The server now closes with 1009 and says why.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_websocket_message_closes_with_code_1009() {
    let s = start("errors-ws", unlimited(), WebSettings::default()).await;
    let (id, token) = s.conversation().await;
    for size in [17 * 1024, 200 * 1024] {
        let url = format!("ws://{}/api/v1/conversations/{id}/ws?token={token}", s.addr);
        let (mut ws, _) = tokio_tungstenite::connect_async(url)
            .await
            .expect("websocket");
        let frame = format!(r#"{{"text":"{}"}}"#, "a".repeat(size));
        let _ = ws.send(WsMessage::text(frame)).await;
        let closed = loop {
            match ws.next().await {
                Some(Ok(WsMessage::Close(frame))) => break frame,
                Some(Ok(_)) => continue,
                other => panic!("{size} bytes: no close frame: {other:?}"),
            }
        };
        let frame = closed.expect("a close code");
        assert_eq!(u16::from(frame.code), 1009, "{size} bytes");
        assert!(frame.reason.contains("16384"), "{}", frame.reason);
    }
}

fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("destek-errors-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// Issue 15, item 8: invalid UTF-8 in a pack file gave no line or column.
#[test]
fn invalid_utf8_in_a_pack_file_names_file_line_and_column() {
    let dir = temp_dir("pack");
    let file = dir.join("greeting.yaml");
    std::fs::write(&file, b"intents:\n  - id: gr\xfceting\n").expect("write");
    let err = destek::pack::read_dirs(&[dir.as_path()])
        .map(|_| ())
        .map_err(|e| e.to_string());
    let expected = format!("{}:2:11: error: byte 0xfc is not UTF-8", file.display());
    assert!(
        err.as_ref().err().is_some_and(|e| e.starts_with(&expected)),
        "{err:?}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

const HEADER: &str = "order_id,status,email,phone,placed_at,shipped_at,delivered_at,\
    estimated_delivery,carrier,tracking_number,tracking_url,total,currency,payment_method,items";

/// Issue 15, item 8: the CSV import took NUL bytes and line breaks inside an order id, and
/// invalid UTF-8 without a location.
#[test]
fn csv_import_refuses_control_characters_in_order_ids_and_locates_bad_bytes() {
    let orders = SqliteOrders::open_in_memory().expect("database");
    let row = "A-1,placed,a@example.com,,2025-03-01,,,,,,,10,USD,,X:Thing:1:10";
    for id in ["A\u{0}1", "\"A\n1\"", "\"A\r1\""] {
        let csv = format!("{HEADER}\n{}\n", row.replacen("A-1", id, 1));
        match orders.import_csv(csv.as_bytes()) {
            Err(ImportError::Invalid(e)) => {
                assert_eq!((e.line, e.column), (2, Some("order_id")), "{e}");
                assert!(e.message.contains("control character"), "{e}");
            }
            other => panic!("{id:?} was accepted: {other:?}"),
        }
    }
    let mut csv = format!("{HEADER}\n{row}\n").into_bytes();
    let at = HEADER.len() + 1 + row.find("Thing").expect("Thing");
    csv[at] = 0xff;
    match orders.import_csv(csv.as_slice()) {
        Err(ImportError::Invalid(e)) => assert_eq!(
            e.to_string(),
            format!(
                "line 2: column {}: byte 0xff is not UTF-8",
                row.find("Thing").unwrap_or(0) + 1
            )
        ),
        other => panic!("bad bytes were accepted: {other:?}"),
    }
}
