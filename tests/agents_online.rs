//! Whether anyone is online is asked on every customer turn and held in memory by the
//! SQLite store; the held answer must still follow every change at once: an agent who just
//! opened the inbox is online for the very next turn, one who closed it is not, and an
//! agent removed or added by another process on the same file is seen too.

use destek::store::Store;
use destek::store::agents::Agent;
use destek::store::sqlite::SqliteStore;
use std::sync::Arc;
use std::time::Duration;

fn db(name: &str) -> std::path::PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or_default();
    std::env::temp_dir().join(format!(
        "destek-online-{name}-{}-{nanos}.db",
        std::process::id()
    ))
}

async fn add(store: &Arc<SqliteStore>, name: &str) {
    let agent = Agent {
        name: name.into(),
        display: name.into(),
        lang: "en".into(),
        last_seen: 0,
    };
    let added = store
        .inbox()
        .add_agent(&agent, "not a real hash")
        .await
        .expect("add");
    assert!(added);
}

/// Who counts as online now, as a customer's turn asks it.
async fn online(store: &Arc<SqliteStore>) -> Vec<String> {
    let since = destek::store::now_ms() - 45_000;
    store.inbox().agents_seen_since(since).await.expect("read")
}

#[tokio::test(flavor = "multi_thread")]
async fn a_held_answer_follows_agents_coming_and_going() {
    let store = SqliteStore::open(db("follow")).expect("store");
    add(&store, "ayse").await;
    add(&store, "bora").await;
    // Asked (and held) while nobody is in.
    assert!(online(&store).await.is_empty());
    assert!(online(&store).await.is_empty());

    // Ayşe opens the inbox: the very next question sees her.
    let now = destek::store::now_ms();
    store.inbox().touch_agent("ayse", now).await.expect("touch");
    assert_eq!(online(&store).await, vec!["ayse"]);
    store.inbox().touch_agent("bora", now).await.expect("touch");
    assert_eq!(online(&store).await, vec!["ayse", "bora"]);

    // Bora closes it: gone at once, while Ayşe stays.
    store.inbox().touch_agent("bora", 0).await.expect("touch");
    assert_eq!(online(&store).await, vec!["ayse"]);

    // An agent whose heartbeat stopped goes offline on time, however the answer is held.
    let long_ago = destek::store::now_ms() - 60_000;
    store
        .inbox()
        .touch_agent("ayse", long_ago)
        .await
        .expect("touch");
    assert!(online(&store).await.is_empty());
    store.inbox().touch_agent("ayse", now).await.expect("touch");
    assert_eq!(online(&store).await, vec!["ayse"]);
    let since_later = now + 1;
    assert!(
        store
            .inbox()
            .agents_seen_since(since_later)
            .await
            .expect("read")
            .is_empty(),
        "seen before that moment"
    );

    // Removed (with the inbox still open): not online any more.
    assert!(store.inbox().remove_agent("ayse").await.expect("remove"));
    assert!(online(&store).await.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn another_process_on_the_same_file_is_seen() {
    let path = db("other");
    let server = SqliteStore::open(&path).expect("store");
    add(&server, "ayse").await;
    assert!(online(&server).await.is_empty(), "held: nobody");

    // `destek agents …` or a heartbeat written through another connection to the file.
    let other = SqliteStore::open(&path).expect("second store");
    other
        .inbox()
        .touch_agent("ayse", destek::store::now_ms())
        .await
        .expect("touch");
    let mut seen = false;
    for _ in 0..100 {
        if online(&server).await == vec!["ayse"] {
            seen = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(seen, "the other connection's heartbeat was never seen");
}
