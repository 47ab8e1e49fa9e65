//! When a turn's writes reach the store: the customer's message is on disk before anything
//! of the turn is acknowledged — with the replies in one commit, or on its own before an
//! action at the shop — and the SQLite store's conversations held in memory never differ
//! from what is committed.

#[path = "support/server.rs"]
mod support;

use destek::orders::{
    BackendError, BoxFuture, Contact, InMemoryOrders, Order, OrderBackend, ReturnCreated, today_utc,
};
use destek::store::sqlite::SqliteStore;
use destek::store::{Change, Sender, Store, Stored};
use serde_json::Value;
use std::sync::{Arc, Mutex, OnceLock};
use support::{reply_text, start_with, unlimited, with_agent};

/// The demo orders; on a cancellation, notes the customer's messages the store already holds.
struct Watching {
    orders: InMemoryOrders,
    store: OnceLock<Arc<dyn Store>>,
    conversation: OnceLock<String>,
    seen_at_cancel: Mutex<Option<Vec<String>>>,
}

impl OrderBackend for Watching {
    fn order<'a>(
        &'a self,
        order_id: &'a str,
    ) -> BoxFuture<'a, Result<Option<Order>, BackendError>> {
        self.orders.order(order_id)
    }

    fn cancel<'a>(&'a self, order_id: &'a str) -> BoxFuture<'a, Result<(), BackendError>> {
        Box::pin(async move {
            if let (Some(store), Some(id)) = (self.store.get(), self.conversation.get()) {
                let said: Vec<String> = store
                    .transcript(id)
                    .await
                    .map_err(|e| BackendError(e.to_string()))?
                    .into_iter()
                    .filter(|m| m.from == Sender::Customer)
                    .map(|m| m.text)
                    .collect();
                if let Ok(mut seen) = self.seen_at_cancel.lock() {
                    *seen = Some(said);
                }
            }
            self.orders.cancel(order_id).await
        })
    }

    fn start_return<'a>(
        &'a self,
        order_id: &'a str,
        items: Vec<String>,
        reason: String,
    ) -> BoxFuture<'a, Result<ReturnCreated, BackendError>> {
        self.orders.start_return(order_id, items, reason)
    }

    fn change_address<'a>(
        &'a self,
        order_id: &'a str,
        address: String,
    ) -> BoxFuture<'a, Result<(), BackendError>> {
        self.orders.change_address(order_id, address)
    }

    fn orders_by_contact<'a>(
        &'a self,
        contact: Contact,
    ) -> BoxFuture<'a, Result<Vec<Order>, BackendError>> {
        self.orders.orders_by_contact(contact)
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_customers_yes_is_stored_before_the_shop_cancels_the_order() {
    let backend = Arc::new(Watching {
        orders: InMemoryOrders::demo(today_utc()),
        store: OnceLock::new(),
        conversation: OnceLock::new(),
        seen_at_cancel: Mutex::new(None),
    });
    let s = start_with(
        "cancel-after-commit",
        support::bot(),
        Arc::clone(&backend) as Arc<dyn OrderBackend>,
        unlimited(),
        with_agent(),
    )
    .await;
    let _ = backend.store.set(Arc::clone(&s.state.shared().store));
    let (id, token) = s.conversation().await;
    let _ = backend.conversation.set(id.clone());
    for text in [
        "I want to cancel my order SP-77410",
        "mehmet.kaya@example.com",
    ] {
        let (status, v) = s.say(&id, &token, text).await;
        assert_eq!(status, 200, "{v}");
    }
    let (status, v) = s.say(&id, &token, "yes").await;
    assert_eq!(status, 200, "{v}");
    let seen = backend
        .seen_at_cancel
        .lock()
        .map(|s| s.clone())
        .unwrap_or_default()
        .unwrap_or_else(|| panic!("the order was not cancelled: {}", reply_text(&v)));
    assert_eq!(
        seen.last().map(String::as_str),
        Some("yes"),
        "the message that asked for the cancellation is stored before the shop hears of it: {seen:?}"
    );
    // And it is stored once, not again with the replies.
    let (_, tr) = s
        .get(
            &format!("/api/v1/conversations/{id}/transcript"),
            Some(&token),
        )
        .await;
    let yes = tr["messages"]
        .as_array()
        .map(|m| m.iter().filter(|m| m["text"] == "yes").count())
        .unwrap_or_default();
    assert_eq!(yes, 1, "{tr}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_handoff_event_carries_the_message_that_asked_for_a_person() {
    // The message that asks for a person is committed with the turn's replies, after the
    // webhook event is made: the event's transcript must still have it.
    let mut settings = with_agent();
    settings.webhook = Some(destek::handoff::WebhookSettings {
        url: "http://127.0.0.1:9/hook".into(),
        secret: "webhook-secret".into(),
        timeout: std::time::Duration::from_secs(1),
    });
    let s = start_with(
        "handoff-first-message",
        support::bot(),
        Arc::new(InMemoryOrders::demo(today_utc())),
        unlimited(),
        settings,
    )
    .await;
    let (id, token) = s.conversation().await;
    let asked = "can i talk to an actual human pls";
    let (status, v) = s.say(&id, &token, asked).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["handoff"], true, "{v}");
    let deliveries = s
        .state
        .shared()
        .store
        .deliveries(false, 10)
        .await
        .expect("deliveries");
    let created = deliveries
        .iter()
        .filter_map(|d| serde_json::from_str::<Value>(&d.body).ok())
        .find(|e| e["event"] == "handoff.created")
        .expect("a handoff.created event");
    let said: Vec<&Value> = created["transcript"]
        .as_array()
        .map(|t| t.iter().filter(|m| m["from"] == "customer").collect())
        .unwrap_or_default();
    assert_eq!(said.len(), 1, "{created}");
    assert_eq!(said[0]["text"], asked, "{created}");
    // The transcript the customer sees has it once, before the replies.
    let (_, tr) = s
        .get(
            &format!("/api/v1/conversations/{id}/transcript"),
            Some(&token),
        )
        .await;
    let messages = tr["messages"].as_array().cloned().unwrap_or_default();
    let at = messages
        .iter()
        .position(|m| m["text"] == asked)
        .expect("the message in the transcript");
    assert!(
        messages[at + 1..].iter().all(|m| m["from"] == "bot"),
        "{tr}"
    );
    assert!(at + 1 < messages.len(), "replies follow it: {tr}");
}

fn temp_db(name: &str) -> std::path::PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or_default();
    std::env::temp_dir().join(format!(
        "destek-commits-{name}-{}-{nanos}.db",
        std::process::id()
    ))
}

fn stored(id: &str) -> Stored {
    Stored {
        id: id.into(),
        channel: "web".into(),
        lang_hint: None,
        token_hash: [7; 32],
        state: destek::dialogue::Conversation::default(),
    }
}

fn with_slot(value: &str) -> Change {
    let mut state = destek::dialogue::Conversation::default();
    state.slots.insert("order_id".into(), value.into());
    Change {
        state: Some(state),
        ..Change::default()
    }
}

async fn slot(store: &SqliteStore, id: &str) -> Option<String> {
    store
        .load(id)
        .await
        .expect("load")
        .and_then(|s| s.state.slots.get("order_id").cloned())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_conversation_read_is_what_was_last_committed() {
    let db = temp_db("cache");
    let store = SqliteStore::open(&db).expect("store");
    store.create(stored("c1")).await.expect("create");
    assert_eq!(slot(&store, "c1").await, None);
    store.commit("c1", with_slot("111")).await.expect("commit");
    assert_eq!(slot(&store, "c1").await.as_deref(), Some("111"));
    // A commit that fails changes nothing.
    assert!(store.commit("nobody", with_slot("999")).await.is_err());
    assert_eq!(slot(&store, "c1").await.as_deref(), Some("111"));
    assert_eq!(
        store.token_hash("c1").await.expect("token hash"),
        Some([7; 32])
    );
    // Erased: gone, token and all.
    assert!(store.erase("c1").await.expect("erase"));
    assert!(store.load("c1").await.expect("load").is_none());
    assert_eq!(store.token_hash("c1").await.expect("token hash"), None);

    // Reopened on the same file (a restart), every conversation reads as committed.
    store.create(stored("c2")).await.expect("create");
    store.commit("c2", with_slot("222")).await.expect("commit");
    drop(store);
    let reopened = SqliteStore::open(&db).expect("reopen");
    assert_eq!(slot(&reopened, "c2").await.as_deref(), Some("222"));

    // Another connection writes the file (another process): this one's next write sees
    // it, and what it holds in memory is dropped.
    let other = SqliteStore::open(&db).expect("a second store");
    other.commit("c2", with_slot("333")).await.expect("commit");
    reopened.create(stored("c3")).await.expect("create");
    assert_eq!(slot(&reopened, "c2").await.as_deref(), Some("333"));
    drop((reopened, other));
    for ext in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{ext}", db.display()));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn turns_after_an_agents_reply_see_the_state_the_inbox_wrote() {
    // The inbox writes conversation state through its own statements; the next customer
    // turn must read that state, not an older one held in memory.
    let s = start_with(
        "cache-inbox",
        support::bot(),
        Arc::new(InMemoryOrders::demo(today_utc())),
        unlimited(),
        with_agent(),
    )
    .await;
    let (id, token) = s.conversation().await;
    let (_, v) = s
        .say(&id, &token, "can i talk to an actual human pls")
        .await;
    assert_eq!(v["handoff"], true, "{v}");
    let handoff_id = v["handoff_id"].as_str().map(str::to_owned);
    let handoff_id = handoff_id.unwrap_or_else(|| format!("{id}.1"));
    assert_eq!(s.resolve(&handoff_id).await, 200);
    let (status, v) = s.say(&id, &token, "how much is shipping").await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["handoff"], false, "resolved by the agent: {v}");
    assert!(!reply_text(&v).is_empty(), "{v}");
}
