//! The built-in inbox through a real server: agents sign in (argon2, session cookie,
//! CSRF header), see the queue, claim (a second claim is refused), answer under their
//! display name, transfer, resolve, hand back; the team token keeps working; sign-ins are
//! limited per account and IP without locking the rightful agent out; the customer is told
//! someone is online only while an agent has the inbox open, and routine questions are
//! answered while waiting; ratings and first replies reach /metrics.

#[path = "support/server.rs"]
mod server;

use destek::store::agents::Agent;
use destek::web::WebSettings;
use serde_json::{Value, json};
use server::{AGENT, Server, reply_text, start, unlimited, with_agent};

const PASSWORD: &str = "correct-horse-battery";

async fn add_agent(s: &Server, name: &str, display: &str) {
    let hash = destek::agents::hash_password(PASSWORD).expect("hash");
    let added = s
        .state
        .shared()
        .store
        .inbox()
        .add_agent(
            &Agent {
                name: name.into(),
                display: display.into(),
                lang: "en".into(),
                last_seen: 0,
            },
            &hash,
        )
        .await
        .expect("add");
    assert!(added);
}

/// Signs in; returns the `Cookie` header value and the `Set-Cookie` line.
async fn sign_in(
    s: &Server,
    name: &str,
    password: &str,
    ip: Option<&str>,
) -> (u16, String, String) {
    let mut req = s
        .http
        .post(format!("{}/api/v1/agent/session", s.base))
        .json(&json!({"name": name, "password": password}));
    if let Some(ip) = ip {
        req = req.header("x-forwarded-for", ip);
    }
    let res = req.send().await.expect("login");
    let status = res.status().as_u16();
    let set = res
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let cookie = set.split(';').next().unwrap_or_default().to_owned();
    (status, cookie, set)
}

/// A request as the inbox page makes it: the cookie and the CSRF header.
async fn inbox(
    s: &Server,
    method: &str,
    path: &str,
    cookie: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let url = format!("{}{path}", s.base);
    let mut req = match method {
        "GET" => s.http.get(url),
        _ => s.http.post(url),
    };
    req = req.header("cookie", cookie).header("x-destek-inbox", "1");
    if let Some(b) = body {
        req = req.json(&b);
    }
    let res = req.send().await.expect("request");
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

/// Holds the agent's live event stream open (they are online while it is).
async fn go_online(s: &Server, cookie: &str) -> reqwest::Response {
    let res = s
        .http
        .get(format!("{}/api/v1/agent/events", s.base))
        .header("cookie", cookie)
        .send()
        .await
        .expect("events");
    assert_eq!(res.status().as_u16(), 200);
    res
}

async fn metrics(s: &Server) -> String {
    s.http
        .get(format!("{}/metrics", s.base))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread")]
async fn an_agent_signs_in_claims_answers_and_resolves() {
    let s = start("inbox-flow", unlimited(), with_agent()).await;
    add_agent(&s, "ayse", "Ayşe K.").await;
    add_agent(&s, "bora", "Bora").await;

    let (status, _, _) = sign_in(&s, "ayse", "wrong password", None).await;
    assert_eq!(status, 401);
    let (status, ayse, set) = sign_in(&s, "ayse", PASSWORD, None).await;
    assert_eq!(status, 200);
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Strict"),
        "{set}"
    );
    assert!(!set.contains("Secure"), "plain http: {set}");
    let (_, bora, _) = sign_in(&s, "bora", PASSWORD, None).await;
    let _online = go_online(&s, &ayse).await;

    let (id, token) = s.conversation().await;
    let (_, v) = s.say(&id, &token, "I want to talk to a real person").await;
    assert_eq!(v["handoff"], true);
    assert!(reply_text(&v).contains("online"), "an agent is in: {v}");

    // The queue, as the issue specifies it.
    let (status, list) = inbox(&s, "GET", "/api/v1/handoffs?status=waiting", &ayse, None).await;
    assert_eq!(status, 200, "{list}");
    let h = &list["handoffs"][0];
    let handoff_id = h["handoff_id"].as_str().expect("handoff id").to_owned();
    assert_eq!(h["conversation_id"], id.as_str());
    assert_eq!(
        (h["status"].as_str(), h["lang"].as_str()),
        (Some("waiting"), Some("en"))
    );
    for field in [
        "channel",
        "reason",
        "intent",
        "order_id",
        "summary",
        "agent",
        "created_at",
        "waiting_seconds",
    ] {
        assert!(h.get(field).is_some(), "{field} missing: {h}");
    }

    // A write with the cookie but without the inbox's header is refused (CSRF).
    let res = s
        .http
        .post(format!("{}/api/v1/handoffs/{handoff_id}/claim", s.base))
        .header("cookie", &ayse)
        .json(&json!({}))
        .send()
        .await
        .expect("claim");
    assert_eq!(res.status().as_u16(), 403);
    // So is one from another site's page.
    let res = s
        .http
        .post(format!("{}/api/v1/handoffs/{handoff_id}/claim", s.base))
        .header("cookie", &ayse)
        .header("x-destek-inbox", "1")
        .header("origin", "https://evil.example")
        .json(&json!({}))
        .send()
        .await
        .expect("claim");
    assert_eq!(res.status().as_u16(), 403);

    let claim = format!("/api/v1/handoffs/{handoff_id}/claim");
    let (status, v) = inbox(&s, "POST", &claim, &ayse, Some(json!({}))).await;
    assert_eq!(status, 200, "{v}");
    let (status, v) = inbox(&s, "POST", &claim, &bora, Some(json!({}))).await;
    assert_eq!((status, v["error"].as_str()), (409, Some("claimed")), "{v}");
    let (status, v) = inbox(
        &s,
        "POST",
        &format!("/api/v1/handoffs/{handoff_id}/messages"),
        &bora,
        Some(json!({"text": "me too"})),
    )
    .await;
    assert_eq!(status, 409, "bora may not answer ayse's customer: {v}");

    let (_, mine) = inbox(&s, "GET", "/api/v1/handoffs?status=mine", &ayse, None).await;
    assert_eq!(mine["handoffs"].as_array().map(Vec::len), Some(1));
    let (_, mine) = inbox(&s, "GET", "/api/v1/handoffs?status=mine", &bora, None).await;
    assert_eq!(mine["handoffs"].as_array().map(Vec::len), Some(0));

    let (status, v) = inbox(
        &s,
        "POST",
        &format!("/api/v1/handoffs/{handoff_id}/messages"),
        &ayse,
        Some(json!({"text": "Hello, I'm looking into it."})),
    )
    .await;
    assert_eq!((status, v["agent"].as_str()), (200, Some("Ayşe K.")), "{v}");

    // The conversation view: transcript with the agent's name, the context.
    let (status, one) = inbox(
        &s,
        "GET",
        &format!("/api/v1/handoffs/{handoff_id}"),
        &ayse,
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(one["status"], "assigned");
    assert_eq!(one["agent"], "ayse");
    let transcript = one["transcript"].as_array().expect("transcript");
    let last = transcript.last().expect("a message");
    assert_eq!(
        (last["from"].as_str(), last["agent"].as_str()),
        (Some("agent"), Some("Ayşe K."))
    );
    assert!(
        transcript
            .iter()
            .any(|m| m["text"] == "I want to talk to a real person")
    );
    assert!(one["context"].get("verify_failures").is_some());

    // Once the agent has answered the bot stays silent.
    let (_, v) = s.say(&id, &token, "thanks, waiting").await;
    assert_eq!(reply_text(&v), "");

    let (status, _) = inbox(
        &s,
        "POST",
        &format!("/api/v1/handoffs/{handoff_id}/resolve"),
        &ayse,
        Some(json!({})),
    )
    .await;
    assert_eq!(status, 200);
    let (_, v) = s.say(&id, &token, "5").await;
    assert!(!reply_text(&v).is_empty());
    let (_, resolved) = inbox(&s, "GET", "/api/v1/handoffs?status=resolved", &ayse, None).await;
    assert_eq!(resolved["handoffs"][0]["status"], "resolved");
    assert_eq!(resolved["handoffs"][0]["agent"], "ayse");

    let m = metrics(&s).await;
    assert!(
        m.contains("destek_handoffs_resolved_total{agent=\"ayse\"} 1"),
        "{m}"
    );
    assert!(
        m.contains("destek_agent_rating_sum{agent=\"ayse\"} 5"),
        "{m}"
    );
    assert!(
        m.contains("destek_handoff_first_reply_seconds_count 1"),
        "{m}"
    );
    assert!(m.contains("destek_handoffs_waiting 0"), "{m}");

    // The same customer asks again: offered to ayse, who helped last and is online.
    let (_, v) = s.say(&id, &token, "I want to talk to a real person").await;
    assert_eq!(v["handoff"], true);
    let (_, mine) = inbox(&s, "GET", "/api/v1/handoffs?status=mine", &ayse, None).await;
    assert_eq!(mine["handoffs"].as_array().map(Vec::len), Some(1), "{mine}");

    // Transfer to bora, who may then hand it back to the bot.
    let second = mine["handoffs"][0]["handoff_id"]
        .as_str()
        .expect("id")
        .to_owned();
    let (status, v) = inbox(
        &s,
        "POST",
        &format!("/api/v1/handoffs/{second}/transfer"),
        &ayse,
        Some(json!({"agent": "nobody-here"})),
    )
    .await;
    assert_eq!(status, 404, "{v}");
    let (status, _) = inbox(
        &s,
        "POST",
        &format!("/api/v1/handoffs/{second}/transfer"),
        &ayse,
        Some(json!({"agent": "bora"})),
    )
    .await;
    assert_eq!(status, 200);
    let (status, _) = inbox(
        &s,
        "POST",
        &format!("/api/v1/handoffs/{second}/release"),
        &ayse,
        Some(json!({})),
    )
    .await;
    assert_eq!(status, 409, "no longer ayse's");
    let (status, v) = inbox(
        &s,
        "POST",
        &format!("/api/v1/handoffs/{second}/release"),
        &bora,
        Some(json!({})),
    )
    .await;
    assert_eq!(status, 200, "{v}");
    let (_, v) = s.say(&id, &token, "where is my order").await;
    assert_eq!(v["handoff"], false);
    assert!(
        reply_text(&v).contains("order number"),
        "the bot answers again: {v}"
    );
    let (status, _) = inbox(
        &s,
        "POST",
        &format!("/api/v1/handoffs/{second}/release"),
        &bora,
        Some(json!({})),
    )
    .await;
    assert_eq!(status, 409, "already handed back");

    // Signed out, the cookie opens nothing.
    let res = s
        .http
        .delete(format!("{}/api/v1/agent/session", s.base))
        .header("cookie", &ayse)
        .header("x-destek-inbox", "1")
        .send()
        .await
        .expect("logout");
    assert_eq!(res.status().as_u16(), 200);
    let (status, _) = inbox(&s, "GET", "/api/v1/handoffs", &ayse, None).await;
    assert_eq!(status, 401);
}

#[tokio::test(flavor = "multi_thread")]
async fn nobody_is_promised_when_nobody_is_in_and_routine_questions_get_answers() {
    let s = start("inbox-honest", unlimited(), WebSettings::default()).await;
    add_agent(&s, "ayse", "Ayşe").await;
    let (id, token) = s.conversation().await;
    let (_, v) = s.say(&id, &token, "I want to talk to a real person").await;
    assert_eq!(v["handoff"], true);
    let text = reply_text(&v);
    assert!(!text.contains("online now"), "nobody is in: {text}");
    assert!(text.contains("Nobody from our team is online"), "{text}");

    // While waiting, a message for the person is kept, without a promise of "shortly"…
    let (_, v) = s
        .say(&id, &token, "the box was open when it came, I'm upset")
        .await;
    let text = reply_text(&v);
    assert!(text.contains("nobody is online right now"), "{text}");
    // …and a routine question is still answered by the bot.
    let (_, v) = s.say(&id, &token, "where is my order").await;
    let text = reply_text(&v);
    assert!(text.contains("order number"), "{text}");
    assert!(!text.contains("passed your message on"), "{text}");

    // The handoff is still waiting for a person, in the queue.
    let (_, ayse, _) = sign_in(&s, "ayse", PASSWORD, None).await;
    let (_, list) = inbox(&s, "GET", "/api/v1/handoffs?status=waiting", &ayse, None).await;
    assert_eq!(list["handoffs"].as_array().map(Vec::len), Some(1), "{list}");

    // With the inbox open, the next customer hears someone is there.
    let online = go_online(&s, &ayse).await;
    let (id2, token2) = s.conversation().await;
    let (_, v) = s
        .say(&id2, &token2, "I want to talk to a real person")
        .await;
    assert!(reply_text(&v).contains("online now"), "{v}");
    let m = metrics(&s).await;
    assert!(m.contains("destek_agents_online 1"), "{m}");
    assert!(m.contains("destek_handoffs_waiting 2"), "{m}");

    // Closing it takes the agent offline again.
    drop(online);
    let mut away = false;
    for _ in 0..100 {
        let (id3, token3) = s.conversation().await;
        let (_, v) = s
            .say(&id3, &token3, "I want to talk to a real person")
            .await;
        if reply_text(&v).contains("Nobody from our team is online") {
            away = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(away, "the agent's inbox closed");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_team_token_still_answers_for_integrations() {
    let s = start("inbox-team", unlimited(), with_agent()).await;
    let (id, token) = s.conversation().await;
    let (_, v) = s.say(&id, &token, "I want to talk to a real person").await;
    assert_eq!(v["handoff"], true);
    let (status, list) = s.get("/api/v1/handoffs?status=open", Some(AGENT)).await;
    assert_eq!(status, 200);
    let handoff_id = list["handoffs"][0]["handoff_id"]
        .as_str()
        .expect("id")
        .to_owned();
    let (status, _) = s.get("/api/v1/handoffs", Some("wrong")).await;
    assert_eq!(status, 401);
    let (status, _) = s.get("/api/v1/handoffs", None).await;
    assert_eq!(status, 401);
    let (status, v) = s
        .post(
            &format!("/api/v1/handoffs/{handoff_id}/claim"),
            Some(AGENT),
            json!({}),
        )
        .await;
    assert_eq!(status, 400, "the team token names its agent: {v}");
    let (status, _) = s
        .post(
            &format!("/api/v1/handoffs/{handoff_id}/claim"),
            Some(AGENT),
            json!({"agent": "helpdesk"}),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(s.agent_says(&handoff_id, "Hi from the helpdesk").await, 200);
    let (status, one) = s
        .get(&format!("/api/v1/handoffs/{handoff_id}"), Some(AGENT))
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        one["transcript"]
            .as_array()
            .and_then(|t| t.last())
            .map(|m| m["agent"].clone()),
        Some(json!("Ayşe"))
    );
    let (status, v) = s.get("/api/v1/handoffs?status=sideways", Some(AGENT)).await;
    assert_eq!((status, v["error"].as_str()), (400, Some("bad_request")));
    assert_eq!(s.resolve(&handoff_id).await, 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn failed_sign_ins_slow_the_guesser_not_the_agent() {
    let settings = WebSettings {
        trusted_proxies: vec!["127.0.0.1/32".parse().expect("cidr")],
        ..WebSettings::default()
    };
    let s = start("inbox-throttle", unlimited(), settings).await;
    add_agent(&s, "ayse", "Ayşe").await;
    let attacker = Some("203.0.113.9");
    let mut limited = None;
    for i in 0..8 {
        let (status, _, _) = sign_in(&s, "ayse", &format!("guess{i}"), attacker).await;
        if status == 429 {
            limited = Some(i);
            break;
        }
        assert_eq!(status, 401);
    }
    assert_eq!(limited, Some(5), "five free guesses, then a wait");
    // Even the right password waits, from the guesser's address.
    let (status, _, _) = sign_in(&s, "ayse", PASSWORD, attacker).await;
    assert_eq!(status, 429);
    // The agent, from their own address, signs in at once.
    let (status, cookie, _) = sign_in(&s, "ayse", PASSWORD, Some("198.51.100.7")).await;
    assert_eq!(status, 200);
    let (status, _) = inbox(&s, "GET", "/api/v1/handoffs", &cookie, None).await;
    assert_eq!(status, 200);
    let m = metrics(&s).await;
    assert!(m.contains("destek_agent_login_failures_total 5"), "{m}");
    // Behind https the cookie is Secure.
    let res = s
        .http
        .post(format!("{}/api/v1/agent/session", s.base))
        .header("x-forwarded-proto", "https")
        .header("x-forwarded-for", "198.51.100.7")
        .json(&json!({"name": "ayse", "password": PASSWORD}))
        .send()
        .await
        .expect("login");
    let set = res
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(set.contains("; Secure"), "{set}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_inbox_page_and_quick_replies_are_served() {
    let s = start("inbox-page", unlimited(), WebSettings::default()).await;
    add_agent(&s, "ayse", "Ayşe").await;
    let page = s
        .http
        .get(format!("{}/agent", s.base))
        .send()
        .await
        .expect("page");
    assert_eq!(page.status().as_u16(), 200);
    assert!(page.text().await.unwrap_or_default().contains("/agent.js"));
    let (_, cookie, _) = sign_in(&s, "ayse", PASSWORD, None).await;
    for (lang, word) in [("tr", "Merhaba"), ("fa", "سلام"), ("en", "Hello")] {
        let (status, v) = inbox(
            &s,
            "GET",
            &format!("/api/v1/agent/replies?lang={lang}"),
            &cookie,
            None,
        )
        .await;
        assert_eq!(status, 200);
        assert!(
            v["replies"].as_array().is_some_and(|r| r
                .iter()
                .any(|q| q["text"].as_str().unwrap_or_default().contains(word))),
            "{v}"
        );
    }
    let (status, _) = inbox(&s, "GET", "/api/v1/agent/replies?lang=xx", &cookie, None).await;
    assert_eq!(status, 400);
}

#[test]
fn serve_warns_when_handoffs_reach_no_one() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    let db = std::env::temp_dir().join(format!("destek-inbox-warn-{}.db", std::process::id()));
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_destek"));
    for (k, _) in std::env::vars() {
        if k.starts_with("DESTEK_") {
            cmd.env_remove(k);
        }
    }
    let mut child = cmd
        .arg("serve")
        .env("DESTEK_WEB_BIND", "127.0.0.1:0")
        .env("DESTEK_ORDERS_SOURCE", "memory")
        .env("DESTEK_STORAGE_URL", format!("sqlite://{}", db.display()))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run destek");
    let stderr = child.stderr.take().expect("stderr");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if line.starts_with("warning: handoffs reach no one") {
                let _ = tx.send(line);
            }
        }
    });
    let warned = rx.recv_timeout(std::time::Duration::from_secs(30));
    let _ = child.kill();
    let _ = child.wait();
    for ext in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{ext}", db.display()));
    }
    let line = warned.expect("a warning that handoffs reach no one");
    assert!(line.contains("destek agents add"), "{line}");
}
