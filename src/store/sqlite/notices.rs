//! The SQLite side of proactive notices (`store::notices`): every write goes through the
//! writer thread (`Write::Run`), so it shares the group commit and is on disk before it
//! is acknowledged.

use super::{SqliteStore, db};
use crate::dialogue::Conversation;
use crate::orders::BoxFuture;
use crate::store::notices::{Accepted, NewEvent, Notice, NoticeStore, Stage};
use crate::store::{Message, StoreError};
use rusqlite::{Connection, OptionalExtension, params};
use std::sync::{Arc, Mutex};

const COLUMNS: &str = "id, event_key, conversation_id, order_id, event, body, stage, reply, \
                       reason, attempts, next_attempt_at, created_at, sent_at";

fn notice(r: &rusqlite::Row<'_>) -> rusqlite::Result<Notice> {
    Ok(Notice {
        id: r.get(0)?,
        event_key: r.get(1)?,
        conversation_id: r.get(2)?,
        order_id: r.get(3)?,
        event: r.get(4)?,
        body: r.get(5)?,
        stage: Stage::parse(&r.get::<_, String>(6)?),
        reply: r.get(7)?,
        reason: r.get(8)?,
        attempts: r.get(9)?,
        next_attempt_at: r.get(10)?,
        created_at: r.get(11)?,
        sent_at: r.get(12)?,
    })
}

fn corrupt(e: serde_json::Error) -> StoreError {
    StoreError::Corrupt(e.to_string())
}

fn accept(conn: &Connection, e: &NewEvent) -> Result<Accepted, StoreError> {
    let seen: Option<(String, i64)> = conn
        .prepare_cached("SELECT body_hash, notified FROM notice_events WHERE key = ?1")
        .map_err(db)?
        .query_row(params![e.key], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()
        .map_err(db)?;
    if let Some((hash, notified)) = seen {
        return Ok(if hash == e.body_hash {
            Accepted::Repeat(usize::try_from(notified).unwrap_or(0))
        } else {
            Accepted::Conflict
        });
    }
    let conversations: Vec<String> = conn
        .prepare_cached(
            "SELECT conversation_id FROM verified_orders
             WHERE order_id = ?1 AND verified_at >= ?2 ORDER BY conversation_id",
        )
        .map_err(db)?
        .query_map(params![e.order_id, e.since_ms], |r| r.get(0))
        .map_err(db)?
        .collect::<Result<_, _>>()
        .map_err(db)?;
    let mut insert = conn
        .prepare_cached(
            "INSERT INTO notices (id, event_key, conversation_id, order_id, event, body,
                                  next_attempt_at, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7)",
        )
        .map_err(db)?;
    for c in &conversations {
        insert
            .execute(params![
                uuid::Uuid::new_v4().to_string(),
                e.key,
                c,
                e.order_id,
                e.event,
                e.body,
                e.now_ms
            ])
            .map_err(db)?;
    }
    conn.prepare_cached(
        "INSERT INTO notice_events (key, order_id, event, body_hash, notified, received_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )
    .map_err(db)?
    .execute(params![
        e.key,
        e.order_id,
        e.event,
        e.body_hash,
        conversations.len() as i64,
        e.now_ms
    ])
    .map_err(db)?;
    Ok(Accepted::New(conversations.len()))
}

impl NoticeStore for SqliteStore {
    fn accept_event(&self, event: NewEvent) -> BoxFuture<'_, Result<Accepted, StoreError>> {
        Box::pin(async move {
            let out = Arc::new(Mutex::new(Accepted::New(0)));
            let cell = Arc::clone(&out);
            self.run(move |conn| {
                let a = accept(conn, &event)?;
                if let Ok(mut c) = cell.lock() {
                    *c = a;
                }
                Ok(0)
            })
            .await?;
            let a = *out.lock().map_err(|_| StoreError::Closed)?;
            Ok(a)
        })
    }

    fn claim_notices(
        &self,
        now_ms: i64,
        limit: usize,
        lease_until: i64,
    ) -> BoxFuture<'_, Result<Vec<Notice>, StoreError>> {
        Box::pin(async move {
            let out = Arc::new(Mutex::new(Vec::new()));
            let cell = Arc::clone(&out);
            let limit = i64::try_from(limit).unwrap_or(i64::MAX);
            self.run(move |conn| {
                let sql = format!(
                    "SELECT {COLUMNS} FROM notices
                     WHERE stage IN ('pending', 'written') AND next_attempt_at <= ?1
                     ORDER BY next_attempt_at, created_at, rowid LIMIT ?2"
                );
                let due: Vec<Notice> = conn
                    .prepare_cached(&sql)
                    .map_err(db)?
                    .query_map(params![now_ms, limit], notice)
                    .map_err(db)?
                    .collect::<Result<_, _>>()
                    .map_err(db)?;
                let mut lease = conn
                    .prepare_cached("UPDATE notices SET next_attempt_at = ?2 WHERE id = ?1")
                    .map_err(db)?;
                for n in &due {
                    lease.execute(params![n.id, lease_until]).map_err(db)?;
                }
                if let Ok(mut c) = cell.lock() {
                    *c = due;
                }
                Ok(0)
            })
            .await?;
            let due = std::mem::take(&mut *out.lock().map_err(|_| StoreError::Closed)?);
            Ok(due)
        })
    }

    fn write_notice<'a>(
        &'a self,
        id: &'a str,
        conversation_id: &'a str,
        message: Message,
        state: Conversation,
        reply: String,
        stage: Stage,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        let id = id.to_owned();
        let conversation_id = conversation_id.to_owned();
        Box::pin(async move {
            let state = serde_json::to_string(&state).map_err(corrupt)?;
            let buttons = if message.buttons.is_empty() {
                None
            } else {
                Some(serde_json::to_string(&message.buttons).map_err(corrupt)?)
            };
            let n = self
                .run(move |conn| {
                    let now = crate::store::now_ms();
                    let n = conn
                        .prepare_cached(
                            "UPDATE notices SET stage = ?2, reply = ?3, sent_at = ?4, reason = NULL
                             WHERE id = ?1 AND stage = 'pending'",
                        )
                        .map_err(db)?
                        .execute(params![id, stage.as_str(), reply, now])
                        .map_err(db)?;
                    if n == 0 {
                        return Ok(0);
                    }
                    conn.prepare_cached(
                        "INSERT INTO messages (conversation_id, sender, text, buttons, agent, at)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    )
                    .map_err(db)?
                    .execute(params![
                        conversation_id,
                        message.from.as_str(),
                        message.text,
                        buttons,
                        message.agent,
                        message.at
                    ])
                    .map_err(db)?;
                    let updated = conn
                        .prepare_cached(
                            "UPDATE conversations SET state = ?2, updated_at = ?3 WHERE id = ?1",
                        )
                        .map_err(db)?
                        .execute(params![conversation_id, state, crate::store::now_rfc3339()])
                        .map_err(db)?;
                    if updated == 0 {
                        return Err(StoreError::Db(format!("no conversation {conversation_id}")));
                    }
                    Ok(1)
                })
                .await?;
            Ok(n == 1)
        })
    }

    fn skip_notice<'a>(
        &'a self,
        id: &'a str,
        reason: &'a str,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        let (id, reason) = (id.to_owned(), reason.to_owned());
        Box::pin(async move {
            self.run(move |conn| {
                conn.prepare_cached(
                    "UPDATE notices SET stage = 'skipped', reason = ?2
                     WHERE id = ?1 AND stage IN ('pending', 'written')",
                )
                .map_err(db)?
                .execute(params![id, reason])
                .map_err(db)
            })
            .await?;
            Ok(())
        })
    }

    fn defer_notice<'a>(
        &'a self,
        id: &'a str,
        next_attempt_at: i64,
        error: Option<String>,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        let id = id.to_owned();
        Box::pin(async move {
            self.run(move |conn| {
                let failed = i64::from(error.is_some());
                conn.prepare_cached(
                    "UPDATE notices SET next_attempt_at = ?2, attempts = attempts + ?3,
                            reason = COALESCE(?4, reason)
                     WHERE id = ?1",
                )
                .map_err(db)?
                .execute(params![id, next_attempt_at, failed, error])
                .map_err(db)
            })
            .await?;
            Ok(())
        })
    }

    fn notice_sent<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<(), StoreError>> {
        let id = id.to_owned();
        Box::pin(async move {
            self.run(move |conn| {
                conn.prepare_cached(
                    "UPDATE notices SET stage = 'sent', attempts = attempts + 1, reason = NULL,
                            sent_at = ?2
                     WHERE id = ?1",
                )
                .map_err(db)?
                .execute(params![id, crate::store::now_ms()])
                .map_err(db)
            })
            .await?;
            Ok(())
        })
    }

    fn notices(
        &self,
        undelivered_only: bool,
        limit: usize,
    ) -> BoxFuture<'_, Result<Vec<Notice>, StoreError>> {
        Box::pin(self.read_bulk(move |conn| {
            let filter = if undelivered_only {
                "WHERE stage IN ('pending', 'written')"
            } else {
                ""
            };
            let sql = format!(
                "SELECT {COLUMNS} FROM notices {filter} ORDER BY created_at DESC, rowid DESC LIMIT ?1"
            );
            let mut stmt = conn.prepare(&sql).map_err(db)?;
            let rows = stmt
                .query_map(params![limit as i64], notice)
                .map_err(db)?;
            rows.collect::<Result<Vec<_>, _>>().map_err(db)
        }))
    }
}
