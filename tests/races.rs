//! Writes of one conversation's state never overwrite each other: an agent's resolve or
//! message racing a customer's turn is serialised with it, on a real server.

#[path = "support/server.rs"]
mod server;

use server::{reply_text, start, unlimited, with_agent};

/// Issue 15, item 1: a resolve racing an agent's message and a customer's message
/// answered 200 and left the conversation handed off for good (every later message got
/// `replies: []`).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn resolve_racing_messages_never_strands_the_customer() {
    let s = start("resolve-race", unlimited(), with_agent()).await;
    let mut stranded = 0;
    let rounds = 40;
    for round in 0..rounds {
        let (id, token) = s.conversation().await;
        let (status, v) = s.say(&id, &token, "talk to a human").await;
        assert_eq!((status, &v["handoff"]), (200, &serde_json::json!(true)));
        let agent_text = format!("on it {round}");
        let (resolved, _, _) = tokio::join!(
            s.resolve(&id),
            s.agent_says(&id, &agent_text),
            s.say(&id, &token, "are you there?"),
        );
        assert_eq!(resolved, 200);
        let (status, v) = s.say(&id, &token, "hello").await;
        assert_eq!(status, 200, "{v}");
        if reply_text(&v).is_empty() || v["handoff"] == true {
            stranded += 1;
        }
    }
    assert_eq!(stranded, 0, "{stranded} of {rounds} customers stranded");
}
