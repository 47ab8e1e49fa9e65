//! `Store::erase` on PostgreSQL: a conversation's state, messages, webhook deliveries and
//! failed verifications go in one statement; another conversation keeps everything.
//!
//! Needs PostgreSQL's server binaries, like `tests/replicas.rs`; without them the test says
//! SKIPPED on stderr and passes, unless DESTEK_REQUIRE_ALL is set.

#[path = "support/pg.rs"]
mod pg;

use destek::store::postgres::PgStore;
use destek::store::{Change, Message, OutboxEntry, Sender, Store, Stored, now_ms, now_rfc3339};
use pg::{Cluster, pg_bin_or_skip};

fn conversation(id: &str) -> Stored {
    Stored {
        id: id.into(),
        channel: "web".into(),
        lang_hint: None,
        token_hash: [7; 32],
        state: Default::default(),
    }
}

fn message(text: &str) -> Message {
    Message {
        from: Sender::Customer,
        text: text.into(),
        buttons: Vec::new(),
        agent: None,
        at: now_rfc3339(),
    }
}

#[test]
fn erasing_a_conversation_on_postgres_leaves_nothing_of_it() {
    let Some(bin) = pg_bin_or_skip() else {
        return;
    };
    let cluster = Cluster::start(bin);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let store = PgStore::connect(&cluster.url("postgres"))
            .await
            .expect("connect");
        for id in ["gone", "kept"] {
            store.create(conversation(id)).await.expect("create");
            store
                .commit(
                    id,
                    Change {
                        messages: vec![message("my e-mail is a@b.example"), message("hi")],
                        state: None,
                        outbox: vec![OutboxEntry {
                            id: format!("delivery-{id}"),
                            event: "handoff.created".into(),
                            body: "{}".into(),
                        }],
                    },
                )
                .await
                .expect("commit");
            store
                .record_verify_failure(&[format!("conversation:{id}")], now_ms(), 0)
                .await
                .expect("failure");
        }
        assert!(store.erase("gone").await.expect("erase"));
        assert!(store.load("gone").await.expect("load").is_none());
        assert!(store.transcript("gone").await.expect("read").is_empty());
        let left = store.deliveries(false, 100).await.expect("deliveries");
        assert_eq!(
            left.iter()
                .map(|d| d.conversation_id.as_str())
                .collect::<Vec<_>>(),
            ["kept"]
        );
        let failures = store
            .verify_failures(&["conversation:gone".into(), "conversation:kept".into()], 0)
            .await
            .expect("failures");
        assert_eq!(failures.len(), 2);
        assert_eq!(
            failures[0].count, 0,
            "the erased conversation's failures are gone"
        );
        assert_eq!(failures[1].count, 1, "the other's stay");
        assert!(store.load("kept").await.expect("load").is_some());
        assert_eq!(store.transcript("kept").await.expect("read").len(), 2);
        assert!(
            !store.erase("gone").await.expect("erase again"),
            "already gone"
        );
    });
}
