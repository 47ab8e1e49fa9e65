//! The writer thread of the SQLite store: takes whatever writes are waiting, applies each
//! in its own savepoint inside one transaction and commits once (`synchronous = FULL`), so
//! many concurrent turns share one fsync and no write is acknowledged before it is durable.

use super::db;
use crate::store::{Change, StoreError, Stored};
use rusqlite::{Connection, params};
use std::sync::mpsc;
use tokio::sync::oneshot;

/// Writes committed together at most; bounds the latency of the first one in a batch.
const MAX_BATCH: usize = 512;

pub(super) type Reply = oneshot::Sender<Result<(), StoreError>>;

pub(super) enum Write {
    Create(Stored, Reply),
    Commit {
        id: String,
        change: Change,
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
}

pub(super) type RunFn = Box<dyn Fn(&Connection) -> Result<usize, StoreError> + Send>;

pub(super) fn write_loop(mut conn: Connection, rx: mpsc::Receiver<Write>) {
    while let Ok(first) = rx.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(w) => batch.push(w),
                Err(_) => break,
            }
        }
        let results = apply_batch(&mut conn, &batch);
        for (w, r) in batch.into_iter().zip(results) {
            match w {
                Write::Create(_, reply)
                | Write::Commit { reply, .. }
                | Write::Attempt { reply, .. }
                | Write::VerifyFailure { reply, .. } => {
                    let _ = reply.send(r.map(|_| ()));
                }
                Write::Retry { reply, .. }
                | Write::Run { reply, .. }
                | Write::Erase { reply, .. } => {
                    let _ = reply.send(r);
                }
            }
        }
    }
}

/// Applies every write in its own savepoint, so one bad write fails alone, then commits
/// the lot. If the commit fails, every write in the batch fails.
fn apply_batch(conn: &mut Connection, batch: &[Write]) -> Vec<Result<usize, StoreError>> {
    let mut tx = match conn.transaction() {
        Ok(tx) => tx,
        Err(e) => {
            let msg = e.to_string();
            return batch
                .iter()
                .map(|_| Err(StoreError::Db(msg.clone())))
                .collect();
        }
    };
    let mut results = Vec::with_capacity(batch.len());
    for w in batch {
        let r = match tx.savepoint() {
            Ok(sp) => match apply(&sp, w) {
                Ok(n) => sp.commit().map(|()| n).map_err(db),
                Err(e) => Err(e),
            },
            Err(e) => Err(db(e)),
        };
        results.push(r);
    }
    match tx.commit() {
        Ok(()) => results,
        Err(e) => {
            let msg = e.to_string();
            results
                .into_iter()
                .map(|_| Err(StoreError::Db(msg.clone())))
                .collect()
        }
    }
}

fn state_json(state: &crate::dialogue::Conversation) -> Result<String, StoreError> {
    serde_json::to_string(state).map_err(|e| StoreError::Corrupt(e.to_string()))
}

/// Applies one write; returns the rows it affected where that matters (retries).
fn apply(conn: &Connection, w: &Write) -> Result<usize, StoreError> {
    let now = crate::store::now_rfc3339();
    match w {
        Write::Create(s, _) => {
            conn.execute(
                "INSERT INTO conversations (id, channel, lang_hint, token_hash, state, created_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)",
                params![
                    s.id,
                    s.channel,
                    s.lang_hint.map(|l| l.code()),
                    &s.token_hash[..],
                    state_json(&s.state)?,
                    now
                ],
            )
            .map_err(db)?;
        }
        Write::Commit { id, change, .. } => {
            let Change {
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
            for m in messages {
                let buttons = if m.buttons.is_empty() {
                    None
                } else {
                    Some(
                        serde_json::to_string(&m.buttons)
                            .map_err(|e| StoreError::Corrupt(e.to_string()))?,
                    )
                };
                insert
                    .execute(params![id, m.from.as_str(), m.text, buttons, m.agent, m.at])
                    .map_err(db)?;
            }
            if let Some(state) = state {
                if let Some(order) = &state.verified_order {
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
                    .execute(
                        "UPDATE conversations SET state = ?2, updated_at = ?3 WHERE id = ?1",
                        params![id, state_json(state)?, now],
                    )
                    .map_err(db)?;
                if n == 0 {
                    return Err(StoreError::Db(format!("no conversation {id}")));
                }
                super::agents::sync_handoff(conn, id, state)?;
            }
            let now_ms = crate::store::now_ms();
            for e in outbox {
                conn.execute(
                    "INSERT INTO outbox (id, conversation_id, event, body, next_attempt_at, created_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
                    params![e.id, id, e.event, e.body, now_ms],
                )
                .map_err(db)?;
            }
        }
        Write::Attempt {
            id,
            outcome,
            next_attempt_at,
            ..
        } => {
            match outcome {
                Ok(()) => conn.execute(
                    "UPDATE outbox SET delivered_at = ?2, attempts = attempts + 1, last_error = NULL
                     WHERE id = ?1",
                    params![id, crate::store::now_ms()],
                ),
                Err(e) => conn.execute(
                    "UPDATE outbox SET attempts = attempts + 1, last_error = ?2, next_attempt_at = ?3
                     WHERE id = ?1",
                    params![id, e, next_attempt_at],
                ),
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
                Some(id) => conn.execute(
                    "UPDATE outbox SET next_attempt_at = ?2 WHERE id = ?1 AND delivered_at IS NULL",
                    params![id, now_ms],
                ),
                None => conn.execute(
                    "UPDATE outbox SET next_attempt_at = ?1 WHERE delivered_at IS NULL",
                    params![now_ms],
                ),
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
    }
    Ok(0)
}
