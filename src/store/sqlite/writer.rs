//! The writer thread of the SQLite store: takes whatever writes are waiting, applies each
//! in its own savepoint inside one transaction and commits once (`synchronous = FULL`), so
//! many concurrent turns share one fsync and no write is acknowledged before it is durable.
//!
//! The thread does only what must be serial: every statement is prepared once and cached
//! (transaction and savepoint statements included), the JSON of states and buttons is made
//! by the caller before the write is queued (`Encoded`), and checkpoints run on their own
//! thread (`checkpoint`), never on a commit.

use super::cache::Cache;
use super::db;
use super::presence::Presence;
use crate::store::{Change, Message, OutboxEntry, StoreError, Stored};
use rusqlite::{Connection, params};
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, mpsc};
use tokio::sync::oneshot;

/// Writes committed together at most; bounds the latency of the first one in a batch.
const MAX_BATCH: usize = 512;

pub(super) type Reply = oneshot::Sender<Result<(), StoreError>>;

/// A conversation ready to insert: its state already JSON.
pub(super) struct NewConversation {
    pub stored: Stored,
    pub state: String,
}

/// A `Change` with its JSON made: each message's buttons and the new state.
pub(super) struct Encoded {
    messages: Vec<(Message, Option<String>)>,
    /// The new state as JSON, and the state itself (its verified order and handoff go to
    /// their own tables).
    state: Option<(String, Box<crate::dialogue::Conversation>)>,
    outbox: Vec<OutboxEntry>,
}

pub(super) fn state_json(state: &crate::dialogue::Conversation) -> Result<String, StoreError> {
    serde_json::to_string(state).map_err(|e| StoreError::Corrupt(e.to_string()))
}

impl Encoded {
    /// Runs on the caller's thread, so the writer thread only writes.
    pub(super) fn new(change: Change) -> Result<Encoded, StoreError> {
        let Change {
            messages,
            state,
            outbox,
        } = change;
        let messages = messages
            .into_iter()
            .map(|m| {
                let buttons = if m.buttons.is_empty() {
                    None
                } else {
                    Some(
                        serde_json::to_string(&m.buttons)
                            .map_err(|e| StoreError::Corrupt(e.to_string()))?,
                    )
                };
                Ok((m, buttons))
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        let state = match state {
            Some(s) => Some((state_json(&s)?, Box::new(s))),
            None => None,
        };
        Ok(Encoded {
            messages,
            state,
            outbox,
        })
    }
}

pub(super) enum Write {
    Create(Box<NewConversation>, Reply),
    Commit {
        id: String,
        change: Encoded,
        reply: Reply,
    },
    Attempt {
        id: String,
        outcome: Result<(), String>,
        next_attempt_at: i64,
        reply: Reply,
    },
    Retry {
        id: Option<String>,
        reply: oneshot::Sender<Result<usize, StoreError>>,
    },
    VerifyFailure {
        keys: Vec<String>,
        at_ms: i64,
        forget_before_ms: i64,
        reply: Reply,
    },
    /// Any other write (the inbox's accounts and sessions): returns the rows it changed.
    Run {
        f: RunFn,
        reply: oneshot::Sender<Result<usize, StoreError>>,
    },
    Erase {
        id: String,
        reply: oneshot::Sender<Result<usize, StoreError>>,
    },
    /// An agent's heartbeat (`at` ms since the epoch; 0 when they left): only the agents
    /// table changes, so held conversations stay and only who is online is forgotten.
    Seen {
        name: String,
        at: i64,
        reply: Reply,
    },
}

pub(super) type RunFn = Box<dyn Fn(&Connection) -> Result<usize, StoreError> + Send>;

pub(super) fn write_loop(
    mut conn: Connection,
    rx: mpsc::Receiver<Write>,
    checkpoint_due: Arc<AtomicBool>,
    cache: Arc<Cache>,
    presence: Arc<Presence>,
) {
    let mut seen_version = data_version(&conn);
    while let Ok(first) = rx.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(w) => batch.push(w),
                Err(_) => break,
            }
        }
        // Another connection (another process) wrote: what is held may be older.
        let version = data_version(&conn);
        if version != seen_version {
            cache.batch().clear();
            presence.forget();
            seen_version = version;
        }
        let results = apply_batch(&mut conn, &batch);
        // The caches follow the commit before anyone hears of it.
        remember(&cache, &mut batch, &results);
        if batch
            .iter()
            .any(|w| matches!(w, Write::Run { .. } | Write::Seen { .. }))
        {
            presence.forget();
        }
        for (w, r) in batch.into_iter().zip(results) {
            match w {
                Write::Create(_, reply)
                | Write::Commit { reply, .. }
                | Write::Attempt { reply, .. }
                | Write::VerifyFailure { reply, .. }
                | Write::Seen { reply, .. } => {
                    let _ = reply.send(r.map(|_| ()));
                }
                Write::Retry { reply, .. }
                | Write::Run { reply, .. }
                | Write::Erase { reply, .. } => {
                    let _ = reply.send(r);
                }
            }
        }
        // Everyone in the batch has been answered; the next batch waits, no reply does.
        super::checkpoint::finish_if_due(&conn, &checkpoint_due);
    }
}

/// Changes whenever another connection commits (never for this one's own commits); `None`
/// if it cannot be read, which empties the cache at the next batch that can.
fn data_version(conn: &Connection) -> Option<i64> {
    conn.prepare_cached("PRAGMA data_version")
        .and_then(|mut s| s.query_row([], |r| r.get(0)))
        .ok()
}

/// Tells the cache what a committed batch changed.
fn remember(cache: &Cache, batch: &mut [Write], results: &[Result<usize, StoreError>]) {
    let mut held = cache.batch();
    for (w, r) in batch.iter_mut().zip(results) {
        match w {
            // Whatever a free-form write did, it may have touched a conversation.
            Write::Run { .. } => held.clear(),
            _ if r.is_err() => {}
            Write::Create(c, _) => held.created(c.stored.clone()),
            Write::Commit { id, change, .. } => {
                if let Some((_, state)) = change.state.take() {
                    held.committed(id, *state);
                }
            }
            Write::Erase { id, .. } => held.erased(id),
            Write::Attempt { .. }
            | Write::Retry { .. }
            | Write::VerifyFailure { .. }
            | Write::Seen { .. } => {}
        }
    }
}

/// Runs one cached statement without parameters (transaction control).
fn run(conn: &Connection, sql: &str) -> Result<(), StoreError> {
    conn.prepare_cached(sql)
        .and_then(|mut s| s.execute([]))
        .map(|_| ())
        .map_err(db)
}

/// Applies every write in its own savepoint, so one bad write fails alone, then commits
/// the lot. If the commit fails, every write in the batch fails.
fn apply_batch(conn: &mut Connection, batch: &[Write]) -> Vec<Result<usize, StoreError>> {
    let fail_all = |e: StoreError| -> Vec<Result<usize, StoreError>> {
        let msg = e.to_string();
        batch
            .iter()
            .map(|_| Err(StoreError::Db(msg.clone())))
            .collect()
    };
    if let Err(e) = run(conn, "BEGIN") {
        return fail_all(e);
    }
    // Every write of a batch is committed at the same moment.
    let now = crate::store::now_rfc3339();
    let mut results = Vec::with_capacity(batch.len());
    for w in batch {
        let r = run(conn, "SAVEPOINT one_write").and_then(|()| match apply(conn, w, &now) {
            Ok(n) => run(conn, "RELEASE one_write").map(|()| n),
            Err(e) => {
                // Undo this write only; the rest of the batch goes on.
                let _ = run(conn, "ROLLBACK TO one_write")
                    .and_then(|()| run(conn, "RELEASE one_write"));
                Err(e)
            }
        });
        results.push(r);
    }
    match run(conn, "COMMIT") {
        Ok(()) => results,
        Err(e) => {
            let _ = run(conn, "ROLLBACK");
            fail_all(e)
        }
    }
}

/// Applies one write; returns the rows it affected where that matters (retries).
fn apply(conn: &Connection, w: &Write, now: &str) -> Result<usize, StoreError> {
    match w {
        Write::Create(c, _) => {
            let s = &c.stored;
            conn.prepare_cached(
                "INSERT INTO conversations (id, channel, lang_hint, token_hash, state, created_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)",
            )
            .and_then(|mut st| {
                st.execute(params![
                    s.id,
                    s.channel,
                    s.lang_hint.map(|l| l.code()),
                    &s.token_hash[..],
                    c.state,
                    now
                ])
            })
            .map_err(db)?;
        }
        Write::Commit { id, change, .. } => {
            let Encoded {
                messages,
                state,
                outbox,
            } = change;
            let mut insert = conn
                .prepare_cached(
                    "INSERT INTO messages (conversation_id, sender, text, buttons, agent, at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                )
                .map_err(db)?;
            for (m, buttons) in messages {
                insert
                    .execute(params![id, m.from.as_str(), m.text, buttons, m.agent, m.at])
                    .map_err(db)?;
            }
            if let Some((state, conv)) = state {
                if let Some(order) = &conv.verified_order {
                    conn.prepare_cached(
                        "INSERT INTO verified_orders (order_id, conversation_id, verified_at)
                         VALUES (?1, ?2, ?3)
                         ON CONFLICT (order_id, conversation_id)
                         DO UPDATE SET verified_at = excluded.verified_at",
                    )
                    .map_err(db)?
                    .execute(params![order, id, crate::store::now_ms()])
                    .map_err(db)?;
                }
                let n = conn
                    .prepare_cached(
                        "UPDATE conversations SET state = ?2, updated_at = ?3 WHERE id = ?1",
                    )
                    .and_then(|mut st| st.execute(params![id, state, now]))
                    .map_err(db)?;
                if n == 0 {
                    return Err(StoreError::Db(format!("no conversation {id}")));
                }
                super::agents::sync_handoff(conn, id, conv)?;
            }
            if !outbox.is_empty() {
                let now_ms = crate::store::now_ms();
                let mut insert = conn
                    .prepare_cached(
                        "INSERT INTO outbox (id, conversation_id, event, body, next_attempt_at, created_at)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
                    )
                    .map_err(db)?;
                for e in outbox {
                    insert
                        .execute(params![e.id, id, e.event, e.body, now_ms])
                        .map_err(db)?;
                }
            }
        }
        Write::Attempt {
            id,
            outcome,
            next_attempt_at,
            ..
        } => {
            match outcome {
                Ok(()) => conn
                    .prepare_cached(
                        "UPDATE outbox SET delivered_at = ?2, attempts = attempts + 1, last_error = NULL
                         WHERE id = ?1",
                    )
                    .and_then(|mut st| st.execute(params![id, crate::store::now_ms()])),
                Err(e) => conn
                    .prepare_cached(
                        "UPDATE outbox SET attempts = attempts + 1, last_error = ?2, next_attempt_at = ?3
                         WHERE id = ?1",
                    )
                    .and_then(|mut st| st.execute(params![id, e, next_attempt_at])),
            }
            .map_err(db)?;
        }
        Write::Erase { id, .. } => {
            conn.execute(
                "DELETE FROM messages WHERE conversation_id = ?1",
                params![id],
            )
            .map_err(db)?;
            conn.execute("DELETE FROM outbox WHERE conversation_id = ?1", params![id])
                .map_err(db)?;
            // What the inbox and the notices keep of it goes too.
            for table in ["handoffs", "verified_orders", "notices"] {
                conn.execute(
                    &format!("DELETE FROM {table} WHERE conversation_id = ?1"),
                    params![id],
                )
                .map_err(db)?;
            }
            conn.execute(
                "DELETE FROM verify_failures WHERE key = ?1",
                params![format!("conversation:{id}")],
            )
            .map_err(db)?;
            return conn
                .execute("DELETE FROM conversations WHERE id = ?1", params![id])
                .map_err(db);
        }
        Write::Retry { id, .. } => {
            let now_ms = crate::store::now_ms();
            let n = match id {
                Some(id) => conn
                    .prepare_cached(
                        "UPDATE outbox SET next_attempt_at = ?2 WHERE id = ?1 AND delivered_at IS NULL",
                    )
                    .and_then(|mut st| st.execute(params![id, now_ms])),
                None => conn
                    .prepare_cached(
                        "UPDATE outbox SET next_attempt_at = ?1 WHERE delivered_at IS NULL",
                    )
                    .and_then(|mut st| st.execute(params![now_ms])),
            }
            .map_err(db)?;
            return Ok(n);
        }
        Write::VerifyFailure {
            keys,
            at_ms,
            forget_before_ms,
            ..
        } => {
            conn.prepare_cached("DELETE FROM verify_failures WHERE at < ?1")
                .map_err(db)?
                .execute(params![forget_before_ms])
                .map_err(db)?;
            let mut insert = conn
                .prepare_cached("INSERT INTO verify_failures (key, at) VALUES (?1, ?2)")
                .map_err(db)?;
            for key in keys {
                insert.execute(params![key, at_ms]).map_err(db)?;
            }
        }
        Write::Run { f, .. } => return f(conn),
        Write::Seen { name, at, .. } => {
            conn.prepare_cached("UPDATE agents SET last_seen = ?2 WHERE name = ?1")
                .and_then(|mut st| st.execute(params![name, at]))
                .map_err(db)?;
        }
    }
    Ok(0)
}
