//! The PostgreSQL side of proactive notices (`store::notices`), shared by replicas: due
//! notices are claimed with `FOR UPDATE SKIP LOCKED` and a lease (as the outbox is), and a
//! notice is written into its conversation only while still `pending`, in the same
//! transaction as the message and the state — so each is said once.

use super::{PgStore, db, state_json};
use crate::dialogue::Conversation;
use crate::orders::BoxFuture;
use crate::store::notices::{Accepted, NewEvent, Notice, NoticeStore, Stage};
use crate::store::{Message, StoreError};
use tokio_postgres::Row;

/// Keeps `verified_orders` in step with a committed state that holds a verified order.
pub(super) const INDEX_VERIFIED: &str =
    "INSERT INTO verified_orders (order_id, conversation_id, verified_at) VALUES ($1, $2, $3)
     ON CONFLICT (order_id, conversation_id) DO UPDATE SET verified_at = EXCLUDED.verified_at";
const EVENT_SEEN: &str = "SELECT body_hash, notified FROM notice_events WHERE key = $1";
/// Takes the event's key first: of two requests with one key, the second waits here and
/// then finds the first one's row.
const INSERT_EVENT: &str =
    "INSERT INTO notice_events (key, order_id, event, body_hash, notified, received_at)
     VALUES ($1, $2, $3, $4, 0, $5) ON CONFLICT (key) DO NOTHING";
const SET_NOTIFIED: &str = "UPDATE notice_events SET notified = $2 WHERE key = $1";
const RECIPIENTS: &str = "SELECT conversation_id FROM verified_orders
     WHERE order_id = $1 AND verified_at >= $2 ORDER BY conversation_id";
const INSERT_NOTICE: &str =
    "INSERT INTO notices (id, event_key, conversation_id, order_id, event, body,
                          next_attempt_at, created_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $7)";
const CLAIM: &str = "WITH due AS (
         SELECT id, next_attempt_at FROM notices
         WHERE stage IN ('pending', 'written') AND next_attempt_at <= $1
         ORDER BY next_attempt_at, seq
         LIMIT $2
         FOR UPDATE SKIP LOCKED
     )
     UPDATE notices n SET next_attempt_at = $3 FROM due WHERE n.id = due.id
     RETURNING n.id, n.event_key, n.conversation_id, n.order_id, n.event, n.body,
               n.stage, n.reply, n.reason, n.attempts, due.next_attempt_at,
               n.created_at, n.sent_at";
const WRITE: &str = "UPDATE notices SET stage = $2, reply = $3, sent_at = $4, reason = NULL
     WHERE id = $1 AND stage = 'pending'";
const INSERT_MESSAGE: &str =
    "INSERT INTO messages (conversation_id, sender, text, buttons, agent, at)
     VALUES ($1, $2, $3, $4, $5, $6)";
const UPDATE_STATE: &str = "UPDATE conversations SET state = $2, updated_at = now() WHERE id = $1";
const SKIP: &str = "UPDATE notices SET stage = 'skipped', reason = $2
     WHERE id = $1 AND stage IN ('pending', 'written')";
const DEFER: &str = "UPDATE notices SET next_attempt_at = $2, attempts = attempts + $3,
         reason = COALESCE($4, reason)
     WHERE id = $1";
const SENT: &str = "UPDATE notices SET stage = 'sent', attempts = attempts + 1, reason = NULL,
         sent_at = $2
     WHERE id = $1";
const UNDELIVERED: &str = "SELECT n.id, n.event_key, n.conversation_id, n.order_id, n.event,
         n.body, n.stage, n.reply, n.reason, n.attempts, n.next_attempt_at, n.created_at,
         n.sent_at
     FROM notices n WHERE stage IN ('pending', 'written')
     ORDER BY created_at DESC, seq DESC LIMIT $1";
const ALL: &str = "SELECT n.id, n.event_key, n.conversation_id, n.order_id, n.event,
         n.body, n.stage, n.reply, n.reason, n.attempts, n.next_attempt_at, n.created_at,
         n.sent_at
     FROM notices n ORDER BY created_at DESC, seq DESC LIMIT $1";

fn notice(r: &Row) -> Result<Notice, StoreError> {
    let attempts: i32 = r.try_get(9).map_err(db)?;
    let stage: String = r.try_get(6).map_err(db)?;
    Ok(Notice {
        id: r.try_get(0).map_err(db)?,
        event_key: r.try_get(1).map_err(db)?,
        conversation_id: r.try_get(2).map_err(db)?,
        order_id: r.try_get(3).map_err(db)?,
        event: r.try_get(4).map_err(db)?,
        body: r.try_get(5).map_err(db)?,
        stage: Stage::parse(&stage),
        reply: r.try_get(7).map_err(db)?,
        reason: r.try_get(8).map_err(db)?,
        attempts: u32::try_from(attempts).unwrap_or(0),
        next_attempt_at: r.try_get(10).map_err(db)?,
        created_at: r.try_get(11).map_err(db)?,
        sent_at: r.try_get(12).map_err(db)?,
    })
}

impl PgStore {
    async fn accept(&self, e: NewEvent) -> Result<Accepted, StoreError> {
        let mut lease = self.queries.get().await?;
        let conn = &mut lease.conn;
        let insert_event = conn.prepare(INSERT_EVENT).await?;
        let seen = conn.prepare(EVENT_SEEN).await?;
        let recipients = conn.prepare(RECIPIENTS).await?;
        let insert = conn.prepare(INSERT_NOTICE).await?;
        let set_notified = conn.prepare(SET_NOTIFIED).await?;
        let tx = conn.client.transaction().await.map_err(db)?;
        let new = tx
            .execute(
                &insert_event,
                &[&e.key, &e.order_id, &e.event, &e.body_hash, &e.now_ms],
            )
            .await
            .map_err(db)?;
        let accepted = if new == 0 {
            let row = tx.query_one(&seen, &[&e.key]).await.map_err(db)?;
            let hash: String = row.try_get(0).map_err(db)?;
            let notified: i32 = row.try_get(1).map_err(db)?;
            if hash == e.body_hash {
                Accepted::Repeat(usize::try_from(notified).unwrap_or(0))
            } else {
                Accepted::Conflict
            }
        } else {
            let rows = tx
                .query(&recipients, &[&e.order_id, &e.since_ms])
                .await
                .map_err(db)?;
            for r in &rows {
                let conversation: String = r.try_get(0).map_err(db)?;
                let id = uuid::Uuid::new_v4().to_string();
                tx.execute(
                    &insert,
                    &[
                        &id,
                        &e.key,
                        &conversation,
                        &e.order_id,
                        &e.event,
                        &e.body,
                        &e.now_ms,
                    ],
                )
                .await
                .map_err(db)?;
            }
            let n = i32::try_from(rows.len()).unwrap_or(i32::MAX);
            tx.execute(&set_notified, &[&e.key, &n]).await.map_err(db)?;
            Accepted::New(rows.len())
        };
        tx.commit().await.map_err(db)?;
        lease.release();
        Ok(accepted)
    }

    async fn write(
        &self,
        id: &str,
        conversation_id: &str,
        message: Message,
        state: Conversation,
        reply: String,
        stage: Stage,
    ) -> Result<bool, StoreError> {
        let state = state_json(&state)?;
        let buttons = if message.buttons.is_empty() {
            None
        } else {
            Some(
                serde_json::to_string(&message.buttons)
                    .map_err(|e| StoreError::Corrupt(e.to_string()))?,
            )
        };
        let mut lease = self.queries.get().await?;
        let conn = &mut lease.conn;
        let write = conn.prepare(WRITE).await?;
        let insert = conn.prepare(INSERT_MESSAGE).await?;
        let update = conn.prepare(UPDATE_STATE).await?;
        let tx = conn.client.transaction().await.map_err(db)?;
        let now = crate::store::now_ms();
        let n = tx
            .execute(&write, &[&id, &stage.as_str(), &reply, &now])
            .await
            .map_err(db)?;
        if n == 0 {
            tx.rollback().await.map_err(db)?;
            lease.release();
            return Ok(false);
        }
        tx.execute(
            &insert,
            &[
                &conversation_id,
                &message.from.as_str(),
                &message.text,
                &buttons,
                &message.agent,
                &message.at,
            ],
        )
        .await
        .map_err(db)?;
        let updated = tx
            .execute(&update, &[&conversation_id, &state])
            .await
            .map_err(db)?;
        if updated == 0 {
            return Err(StoreError::Db(format!("no conversation {conversation_id}")));
        }
        tx.commit().await.map_err(db)?;
        lease.release();
        Ok(true)
    }
}

impl NoticeStore for PgStore {
    fn accept_event(&self, event: NewEvent) -> BoxFuture<'_, Result<Accepted, StoreError>> {
        Box::pin(self.accept(event))
    }

    fn claim_notices(
        &self,
        now_ms: i64,
        limit: usize,
        lease_until: i64,
    ) -> BoxFuture<'_, Result<Vec<Notice>, StoreError>> {
        Box::pin(async move {
            let limit = i64::try_from(limit).unwrap_or(i64::MAX);
            let rows = self.rows(CLAIM, &[&now_ms, &limit, &lease_until]).await?;
            let mut due = rows.iter().map(notice).collect::<Result<Vec<_>, _>>()?;
            due.sort_by_key(|n| (n.next_attempt_at, n.created_at));
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
        Box::pin(self.write(id, conversation_id, message, state, reply, stage))
    }

    fn skip_notice<'a>(
        &'a self,
        id: &'a str,
        reason: &'a str,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            self.exec(SKIP, &[&id, &reason]).await?;
            Ok(())
        })
    }

    fn defer_notice<'a>(
        &'a self,
        id: &'a str,
        next_attempt_at: i64,
        error: Option<String>,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            let failed = i32::from(error.is_some());
            self.exec(DEFER, &[&id, &next_attempt_at, &failed, &error])
                .await?;
            Ok(())
        })
    }

    fn notice_sent<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            self.exec(SENT, &[&id, &crate::store::now_ms()]).await?;
            Ok(())
        })
    }

    fn notices(
        &self,
        undelivered_only: bool,
        limit: usize,
    ) -> BoxFuture<'_, Result<Vec<Notice>, StoreError>> {
        Box::pin(async move {
            let limit = i64::try_from(limit).unwrap_or(i64::MAX);
            let sql = if undelivered_only { UNDELIVERED } else { ALL };
            let rows = self.rows(sql, &[&limit]).await?;
            rows.iter().map(notice).collect()
        })
    }
}
