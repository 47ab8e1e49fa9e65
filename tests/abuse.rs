//! What an outsider can do to other people's conversations and to the server, on a real
//! server on 127.0.0.1: the limits hold the attacker, never the rightful customer.

#[path = "support/server.rs"]
mod server;

use destek::web::WebSettings;
use destek::web::rate::RateConfig;
use server::start;

/// Issue 15, item 2: 40 posts with a wrong token used up the conversation's limit, and
/// its owner got 429.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_token_posts_do_not_use_up_the_owners_limit() {
    let rate = RateConfig {
        per_ip_per_minute: 0,
        per_conversation_per_minute: 3,
        ..RateConfig::default()
    };
    let s = start("wrong-token", rate, WebSettings::default()).await;
    let (id, token) = s.conversation().await;
    for _ in 0..40 {
        let (status, v) = s.say(&id, "not-the-token", "hello").await;
        assert_eq!((status, v["error"].as_str()), (401, Some("unauthorized")));
    }
    for _ in 0..3 {
        let (status, v) = s.say(&id, &token, "hello").await;
        assert_eq!(status, 200, "{v}");
    }
    let (status, _) = s.say(&id, &token, "hello").await;
    assert_eq!(status, 429, "the owner's own limit still holds");
}
