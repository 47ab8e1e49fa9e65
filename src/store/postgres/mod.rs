//! The PostgreSQL store, for several replicas sharing one database (`storage.url:
//! postgres://…`).
//!
//! Two small connection pools: one for queries and transactions, one for the
//! per-conversation advisory locks that serialise turns across replicas (a session-level
//! lock lives on its connection, so that connection is held for the whole turn).
//! Connections are made on demand up to a bound and kept while healthy. A pooled
//! connection goes back to its pool only after the operation that used it finished
//! cleanly; after an error or a cancelled future it is dropped, which ends its session:
//! no half-done transaction and no advisory lock can outlive its owner.

mod agents;
mod listen;
mod migrate;
mod notices;
mod pool;

use super::{Change, Delivery, Message, Sender, Store, StoreError, Stored, TurnGuard};
use crate::orders::BoxFuture;
use pool::{Lease, Pool};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;
use tokio_postgres::Row;

/// Connections for queries and transactions, per process.
const QUERY_CONNECTIONS: usize = 8;
/// Connections holding conversation locks, per process: turns in flight at once beyond
/// this wait for one to be free.
const LOCK_CONNECTIONS: usize = 24;
/// How long to wait for a free pooled connection before failing the operation.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a turn waits for another replica's turn of the same conversation (set as the
/// lock connections' `lock_timeout`).
const LOCK_WAIT: &str = "SET lock_timeout = '30s'";
/// A claimed outbox entry stays hidden from other replicas this long, plus one delivery
/// timeout per entry of the batch (a pass delivers its batch one after another).
const LEASE_MS: i64 = 30_000;

fn db(e: tokio_postgres::Error) -> StoreError {
    StoreError::Db(error_text(&e))
}

/// The error with its causes (tokio-postgres' own text is only the kind: "db error").
pub(crate) fn error_text(e: &tokio_postgres::Error) -> String {
    let mut text = e.to_string();
    let mut cause = std::error::Error::source(e);
    while let Some(c) = cause {
        text.push_str(": ");
        text.push_str(&c.to_string());
        cause = c.source();
    }
    text
}

pub struct PgStore {
    queries: Arc<Pool>,
    locks: Arc<Pool>,
    /// For the LISTEN connection of live events (`listen`).
    config: tokio_postgres::Config,
}

impl PgStore {
    /// Connects, applies the migrations not yet applied (under an advisory lock, so
    /// replicas starting together do not race) and returns the store. `url` is
    /// `postgres://user[:password]@host[:port]/database[?…]` (libpq's URL form; no TLS).
    pub async fn connect(url: &str) -> Result<Arc<PgStore>, StoreError> {
        let mut config = tokio_postgres::Config::from_str(url)
            .map_err(|e| StoreError::Db(format!("storage.url: {}", error_text(&e))))?;
        if config.get_application_name().is_none() {
            config.application_name("destek");
        }
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_secs(10));
        }
        let queries = Pool::new(config.clone(), QUERY_CONNECTIONS, None);
        let locks = Pool::new(config.clone(), LOCK_CONNECTIONS, Some(LOCK_WAIT));
        let mut lease = queries.get().await?;
        migrate::migrate(&mut lease.conn.client).await?;
        lease.release();
        Ok(Arc::new(PgStore {
            queries,
            locks,
            config,
        }))
    }
}

/// The advisory-lock key of a conversation: 64-bit FNV-1a of its id. Two ids sharing a
/// key only make their turns wait for each other.
fn lock_key(id: &str) -> i64 {
    let h = id.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    h as i64
}

/// Holds a conversation's advisory lock; dropping it unlocks in the background.
struct ConversationLock {
    lease: Option<Lease>,
    key: i64,
}

impl Drop for ConversationLock {
    fn drop(&mut self) {
        let Some(mut lease) = self.lease.take() else {
            return;
        };
        let key = self.key;
        // Without a runtime the lease is dropped: closing the session frees the lock.
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                let unlocked = match lease.conn.prepare("SELECT pg_advisory_unlock($1)").await {
                    Ok(s) => lease.conn.client.query_one(&s, &[&key]).await.map_err(db),
                    Err(e) => Err(e),
                };
                match unlocked.map(|row| row.try_get::<_, bool>(0)) {
                    Ok(Ok(true)) => lease.release(),
                    // Not unlocked, or unsure: drop the connection, ending the session and
                    // with it any lock it still holds.
                    Ok(_) => crate::logging::warn("postgres: conversation lock was not held"),
                    Err(e) => crate::logging::warn(format!("postgres: unlocking: {e}")),
                }
            });
        }
    }
}

fn state_json(state: &crate::dialogue::Conversation) -> Result<String, StoreError> {
    serde_json::to_string(state).map_err(|e| StoreError::Corrupt(e.to_string()))
}

fn sender(s: &str) -> Sender {
    match s {
        "bot" => Sender::Bot,
        "agent" => Sender::Agent,
        _ => Sender::Customer,
    }
}

fn delivery(r: &Row) -> Result<Delivery, StoreError> {
    let attempts: i32 = r.try_get(4).map_err(db)?;
    Ok(Delivery {
        id: r.try_get(0).map_err(db)?,
        conversation_id: r.try_get(1).map_err(db)?,
        event: r.try_get(2).map_err(db)?,
        body: r.try_get(3).map_err(db)?,
        attempts: u32::try_from(attempts).unwrap_or(0),
        next_attempt_at: r.try_get(5).map_err(db)?,
        delivered_at: r.try_get(6).map_err(db)?,
        last_error: r.try_get(7).map_err(db)?,
        created_at: r.try_get(8).map_err(db)?,
    })
}

const INSERT_CONVERSATION: &str =
    "INSERT INTO conversations (id, channel, lang_hint, token_hash, state)
     VALUES ($1, $2, $3, $4, $5)";
const LOAD: &str = "SELECT channel, token_hash, state, lang_hint FROM conversations WHERE id = $1";
/// A turn checks the token before it takes the lock: the hash alone, not the state's JSON.
const TOKEN_HASH: &str = "SELECT token_hash FROM conversations WHERE id = $1";
const INSERT_MESSAGE: &str =
    "INSERT INTO messages (conversation_id, sender, text, buttons, agent, at)
     VALUES ($1, $2, $3, $4, $5, $6)";
const UPDATE_STATE: &str = "UPDATE conversations SET state = $2, updated_at = now() WHERE id = $1";
const INSERT_OUTBOX: &str =
    "INSERT INTO outbox (id, conversation_id, event, body, next_attempt_at, created_at)
     VALUES ($1, $2, $3, $4, $5, $5)";
/// Claims due entries. `FOR UPDATE SKIP LOCKED` makes replicas claiming at the same moment
/// take disjoint rows instead of waiting for (and then delivering) the same ones; moving
/// `next_attempt_at` to the end of a lease keeps a row claimed after this statement
/// commits, while the HTTP delivery runs outside any transaction. `record_attempt` then
/// sets the real outcome. If the replica dies mid-delivery, the lease runs out and another
/// replica retries the entry (with the same delivery id, so the receiver accepts it once).
/// A row another replica claimed a moment ago is re-checked against the WHERE clause after
/// its lock is granted and no longer matches. The entry's due time is returned as it was.
/// Only the oldest undelivered entry of a conversation is claimed (a claimed one is still
/// undelivered), so a conversation's events arrive in the order they were written.
const CLAIM_DUE: &str = "WITH due AS (
         SELECT id, next_attempt_at FROM outbox o
         WHERE delivered_at IS NULL AND next_attempt_at <= $1
           AND NOT EXISTS (
               SELECT 1 FROM outbox p
               WHERE p.conversation_id = o.conversation_id
                 AND p.delivered_at IS NULL AND p.seq < o.seq)
         ORDER BY next_attempt_at, created_at
         LIMIT $2
         FOR UPDATE SKIP LOCKED
     )
     UPDATE outbox o SET next_attempt_at = $3
     FROM due WHERE o.id = due.id
     RETURNING o.id, o.conversation_id, o.event, o.body, o.attempts, due.next_attempt_at,
               o.delivered_at, o.last_error, o.created_at";
const DELIVERED: &str = "UPDATE outbox
     SET delivered_at = COALESCE(delivered_at, $2), attempts = attempts + 1, last_error = NULL
     WHERE id = $1";
const FAILED: &str =
    "UPDATE outbox SET attempts = attempts + 1, last_error = $2, next_attempt_at = $3
     WHERE id = $1 AND delivered_at IS NULL";
const ALL_DELIVERIES: &str = "SELECT id, conversation_id, event, body, attempts, next_attempt_at, delivered_at, last_error, created_at
     FROM outbox ORDER BY created_at DESC LIMIT $1";
const UNDELIVERED: &str = "SELECT id, conversation_id, event, body, attempts, next_attempt_at, delivered_at, last_error, created_at
     FROM outbox WHERE delivered_at IS NULL ORDER BY created_at DESC LIMIT $1";
const RETRY_ONE: &str =
    "UPDATE outbox SET next_attempt_at = $2 WHERE id = $1 AND delivered_at IS NULL";
/// One statement, so one transaction: the conversation and everything kept about it.
const ERASE: &str = "WITH m AS (DELETE FROM messages WHERE conversation_id = $1), \
     o AS (DELETE FROM outbox WHERE conversation_id = $1), \
     v AS (DELETE FROM verify_failures WHERE key = $2), \
     h AS (DELETE FROM handoffs WHERE conversation_id = $1), \
     w AS (DELETE FROM verified_orders WHERE conversation_id = $1), \
     n AS (DELETE FROM notices WHERE conversation_id = $1) \
     DELETE FROM conversations WHERE id = $1";
const RETRY_ALL: &str = "UPDATE outbox SET next_attempt_at = $1 WHERE delivered_at IS NULL";
const TRANSCRIPT: &str = "SELECT sender, text, buttons, agent, at FROM messages
     WHERE conversation_id = $1 ORDER BY seq";
const LOCK: &str = "SELECT pg_advisory_lock($1)";
const TRANSCRIPT_PAGE: &str = "SELECT seq, sender, text, buttons, agent, at FROM messages
     WHERE conversation_id = $1 AND seq < $2 ORDER BY seq DESC LIMIT $3";
const FORGET_FAILURES: &str = "DELETE FROM verify_failures WHERE at < $1";
const INSERT_FAILURE: &str = "INSERT INTO verify_failures (key, at) VALUES ($1, $2)";
const COUNT_FAILURES: &str =
    "SELECT COUNT(*), MAX(at) FROM verify_failures WHERE key = $1 AND at >= $2";

impl PgStore {
    async fn commit_change(&self, id: &str, change: Change) -> Result<(), StoreError> {
        let Change {
            messages,
            state,
            outbox,
        } = change;
        let conv = state;
        let verified = conv.as_ref().and_then(|s| s.verified_order.clone());
        let state = conv.as_ref().map(state_json).transpose()?;
        let mut rows = Vec::with_capacity(messages.len());
        for m in messages {
            let buttons = if m.buttons.is_empty() {
                None
            } else {
                Some(
                    serde_json::to_string(&m.buttons)
                        .map_err(|e| StoreError::Corrupt(e.to_string()))?,
                )
            };
            rows.push((m, buttons));
        }
        let mut lease = self.queries.get().await?;
        let conn = &mut lease.conn;
        let insert = conn.prepare(INSERT_MESSAGE).await?;
        let update = conn.prepare(UPDATE_STATE).await?;
        let queue = conn.prepare(INSERT_OUTBOX).await?;
        let index = conn.prepare(notices::INDEX_VERIFIED).await?;
        let tx = conn.client.transaction().await.map_err(db)?;
        // One after another, so `seq` follows the order of the messages.
        for (m, buttons) in &rows {
            tx.execute(
                &insert,
                &[&id, &m.from.as_str(), &m.text, buttons, &m.agent, &m.at],
            )
            .await
            .map_err(db)?;
        }
        if let Some(order) = &verified {
            tx.execute(&index, &[order, &id, &super::now_ms()])
                .await
                .map_err(db)?;
        }
        if let Some(state) = &state {
            let n = tx.execute(&update, &[&id, state]).await.map_err(db)?;
            if n == 0 {
                return Err(StoreError::Db(format!("no conversation {id}")));
            }
        }
        if let Some(conv) = &conv {
            agents::sync_handoff(&tx, id, conv).await?;
        }
        let now_ms = super::now_ms();
        for e in &outbox {
            tx.execute(&queue, &[&e.id, &id, &e.event, &e.body, &now_ms])
                .await
                .map_err(db)?;
        }
        tx.commit().await.map_err(db)?;
        lease.release();
        Ok(())
    }

    /// Runs one statement returning rows on a pooled connection.
    async fn rows(
        &self,
        sql: &'static str,
        params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
    ) -> Result<Vec<Row>, StoreError> {
        let mut lease = self.queries.get().await?;
        let stmt = lease.conn.prepare(sql).await?;
        let rows = lease.conn.client.query(&stmt, params).await.map_err(db)?;
        lease.release();
        Ok(rows)
    }

    /// Runs one statement on a pooled connection; returns the rows it affected.
    async fn exec(
        &self,
        sql: &'static str,
        params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
    ) -> Result<u64, StoreError> {
        let mut lease = self.queries.get().await?;
        let stmt = lease.conn.prepare(sql).await?;
        let n = lease.conn.client.execute(&stmt, params).await.map_err(db)?;
        lease.release();
        Ok(n)
    }
}

impl Store for PgStore {
    fn lock_conversation<'a>(
        &'a self,
        id: &'a str,
    ) -> BoxFuture<'a, Result<TurnGuard, StoreError>> {
        Box::pin(async move {
            let key = lock_key(id);
            let mut lease = self.locks.get().await?;
            let stmt = lease.conn.prepare(LOCK).await?;
            // Should this future be dropped while waiting, the lease drops and closes its
            // connection: once the server grants the lock the session ends and frees it.
            lease
                .conn
                .client
                .execute(&stmt, &[&key])
                .await
                .map_err(db)?;
            Ok(Box::new(ConversationLock {
                lease: Some(lease),
                key,
            }) as TurnGuard)
        })
    }

    fn create<'a>(&'a self, s: Stored) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            let state = state_json(&s.state)?;
            let lang = s.lang_hint.map(|l| l.code());
            self.exec(
                INSERT_CONVERSATION,
                &[&s.id, &s.channel, &lang, &&s.token_hash[..], &state],
            )
            .await?;
            Ok(())
        })
    }

    fn load<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<Option<Stored>, StoreError>> {
        Box::pin(async move {
            let rows = self.rows(LOAD, &[&id]).await?;
            let Some(row) = rows.first() else {
                return Ok(None);
            };
            let channel: String = row.try_get(0).map_err(db)?;
            let hash: Vec<u8> = row.try_get(1).map_err(db)?;
            let state: String = row.try_get(2).map_err(db)?;
            let lang_hint: Option<String> = row.try_get(3).map_err(db)?;
            let token_hash: [u8; 32] = hash
                .try_into()
                .map_err(|_| StoreError::Corrupt("token hash is not 32 bytes".into()))?;
            let state =
                serde_json::from_str(&state).map_err(|e| StoreError::Corrupt(e.to_string()))?;
            Ok(Some(Stored {
                id: id.to_owned(),
                channel,
                lang_hint: lang_hint.as_deref().and_then(crate::lang::Lang::parse),
                token_hash,
                state,
            }))
        })
    }

    fn token_hash<'a>(
        &'a self,
        id: &'a str,
    ) -> BoxFuture<'a, Result<Option<[u8; 32]>, StoreError>> {
        Box::pin(async move {
            let rows = self.rows(TOKEN_HASH, &[&id]).await?;
            let Some(row) = rows.first() else {
                return Ok(None);
            };
            let hash: Vec<u8> = row.try_get(0).map_err(db)?;
            hash.try_into()
                .map(Some)
                .map_err(|_| StoreError::Corrupt("token hash is not 32 bytes".into()))
        })
    }

    fn commit<'a>(&'a self, id: &'a str, change: Change) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(self.commit_change(id, change))
    }

    fn due_deliveries(
        &self,
        now_ms: i64,
        limit: usize,
    ) -> BoxFuture<'_, Result<Vec<Delivery>, StoreError>> {
        Box::pin(async move {
            let limit = i64::try_from(limit).unwrap_or(i64::MAX);
            let per_entry =
                i64::try_from(crate::handoff::outbox::DELIVERY_TIMEOUT.as_millis()).unwrap_or(0);
            let lease_until = now_ms
                .saturating_add(LEASE_MS)
                .saturating_add(per_entry.saturating_mul(limit.min(1_000)));
            let rows = self
                .rows(CLAIM_DUE, &[&now_ms, &limit, &lease_until])
                .await?;
            let mut due = rows.iter().map(delivery).collect::<Result<Vec<_>, _>>()?;
            due.sort_by_key(|d| (d.next_attempt_at, d.created_at));
            Ok(due)
        })
    }

    fn record_attempt<'a>(
        &'a self,
        id: &'a str,
        outcome: Result<(), String>,
        next_attempt_at: i64,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            match outcome {
                Ok(()) => self.exec(DELIVERED, &[&id, &super::now_ms()]).await?,
                Err(e) => self.exec(FAILED, &[&id, &e, &next_attempt_at]).await?,
            };
            Ok(())
        })
    }

    fn deliveries(
        &self,
        undelivered_only: bool,
        limit: usize,
    ) -> BoxFuture<'_, Result<Vec<Delivery>, StoreError>> {
        Box::pin(async move {
            let limit = i64::try_from(limit).unwrap_or(i64::MAX);
            let sql = if undelivered_only {
                UNDELIVERED
            } else {
                ALL_DELIVERIES
            };
            let rows = self.rows(sql, &[&limit]).await?;
            rows.iter().map(delivery).collect()
        })
    }

    fn retry_deliveries<'a>(
        &'a self,
        id: Option<&'a str>,
    ) -> BoxFuture<'a, Result<usize, StoreError>> {
        Box::pin(async move {
            // Makes leased entries due too: an operator's retry may repeat a delivery in
            // flight, which the receiver recognises by its delivery id.
            let now = super::now_ms();
            let n = match id {
                Some(id) => self.exec(RETRY_ONE, &[&id, &now]).await?,
                None => self.exec(RETRY_ALL, &[&now]).await?,
            };
            Ok(usize::try_from(n).unwrap_or(usize::MAX))
        })
    }

    fn transcript_page<'a>(
        &'a self,
        id: &'a str,
        before: Option<i64>,
        limit: usize,
    ) -> BoxFuture<'a, Result<Vec<(i64, Message)>, StoreError>> {
        Box::pin(async move {
            let before = before.unwrap_or(i64::MAX);
            let limit = i64::try_from(limit).unwrap_or(i64::MAX);
            let rows = self.rows(TRANSCRIPT_PAGE, &[&id, &before, &limit]).await?;
            let mut out = Vec::with_capacity(rows.len());
            for r in &rows {
                let from: String = r.try_get(1).map_err(db)?;
                let buttons: Option<String> = r.try_get(3).map_err(db)?;
                let buttons = match buttons {
                    Some(b) => {
                        serde_json::from_str(&b).map_err(|e| StoreError::Corrupt(e.to_string()))?
                    }
                    None => Vec::new(),
                };
                out.push((
                    r.try_get(0).map_err(db)?,
                    Message {
                        from: sender(&from),
                        text: r.try_get(2).map_err(db)?,
                        buttons,
                        agent: r.try_get(4).map_err(db)?,
                        at: r.try_get(5).map_err(db)?,
                    },
                ));
            }
            out.reverse();
            Ok(out)
        })
    }

    fn transcript<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<Vec<Message>, StoreError>> {
        Box::pin(async move {
            let rows = self.rows(TRANSCRIPT, &[&id]).await?;
            let mut out = Vec::with_capacity(rows.len());
            for r in &rows {
                let from: String = r.try_get(0).map_err(db)?;
                let buttons: Option<String> = r.try_get(2).map_err(db)?;
                let buttons = match buttons {
                    Some(b) => {
                        serde_json::from_str(&b).map_err(|e| StoreError::Corrupt(e.to_string()))?
                    }
                    None => Vec::new(),
                };
                out.push(Message {
                    from: sender(&from),
                    text: r.try_get(1).map_err(db)?,
                    buttons,
                    agent: r.try_get(3).map_err(db)?,
                    at: r.try_get(4).map_err(db)?,
                });
            }
            Ok(out)
        })
    }

    fn record_verify_failure<'a>(
        &'a self,
        keys: &'a [String],
        at_ms: i64,
        forget_before_ms: i64,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            let mut lease = self.queries.get().await?;
            let conn = &mut lease.conn;
            let forget = conn.prepare(FORGET_FAILURES).await?;
            let insert = conn.prepare(INSERT_FAILURE).await?;
            let tx = conn.client.transaction().await.map_err(db)?;
            tx.execute(&forget, &[&forget_before_ms])
                .await
                .map_err(db)?;
            for key in keys {
                tx.execute(&insert, &[key, &at_ms]).await.map_err(db)?;
            }
            tx.commit().await.map_err(db)?;
            lease.release();
            Ok(())
        })
    }

    fn verify_failures<'a>(
        &'a self,
        keys: &'a [String],
        since_ms: i64,
    ) -> BoxFuture<'a, Result<Vec<crate::throttle::Failures>, StoreError>> {
        Box::pin(async move {
            let mut out = Vec::with_capacity(keys.len());
            for key in keys {
                let rows = self.rows(COUNT_FAILURES, &[key, &since_ms]).await?;
                let (count, latest_ms): (i64, Option<i64>) = match rows.first() {
                    Some(r) => (r.try_get(0).map_err(db)?, r.try_get(1).map_err(db)?),
                    None => (0, None),
                };
                out.push(crate::throttle::Failures {
                    count: u32::try_from(count).unwrap_or(u32::MAX),
                    latest_ms,
                });
            }
            Ok(out)
        })
    }

    fn ping(&self) -> BoxFuture<'_, Result<(), StoreError>> {
        Box::pin(async move {
            let lease = self.queries.get().await?;
            lease
                .conn
                .client
                .simple_query("SELECT 1")
                .await
                .map_err(db)?;
            lease.release();
            Ok(())
        })
    }

    fn inbox(&self) -> &dyn crate::store::agents::AgentStore {
        self
    }

    fn erase<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(async move {
            let key = format!("conversation:{id}");
            Ok(self.exec(ERASE, &[&id, &key]).await? > 0)
        })
    }

    fn notices(&self) -> Option<&dyn super::notices::NoticeStore> {
        Some(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_keys_are_stable_and_spread() {
        assert_eq!(lock_key("abc"), lock_key("abc"));
        assert_ne!(lock_key("abc"), lock_key("abd"));
    }
}
