//! The inbox's tables in SQLite: agents, sessions, the handoff queue. Writes go through
//! the writer thread like every other write.

use super::writer::Write;
use super::{SqliteStore, db, presence};
use crate::orders::BoxFuture;
use crate::store::StoreError;
use crate::store::agents::{Agent, AgentStore, Filter, HandoffRow, HandoffState};
use rusqlite::{Connection, OptionalExtension, params};
use tokio::sync::oneshot;

/// Writes the handoff row of a conversation's new state (inside the commit's savepoint).
pub(super) fn sync_handoff(
    conn: &Connection,
    id: &str,
    state: &crate::dialogue::Conversation,
) -> Result<(), StoreError> {
    let now = crate::store::now_ms();
    match HandoffState::of(state) {
        HandoffState::Open {
            id: handoff_id,
            lang,
            reason,
            intent,
            order_id,
            verified,
            summary,
            status,
            agent,
            answered,
        } => {
            conn.prepare_cached(
                "INSERT INTO handoffs (id, conversation_id, channel, lang, reason, intent, order_id,
                     verified, summary, status, agent, created_at, first_reply_at)
                 SELECT ?1, ?2, channel, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11,
                        CASE WHEN ?12 THEN ?11 END
                 FROM conversations WHERE id = ?2
                 ON CONFLICT (id) DO UPDATE SET lang = excluded.lang, order_id = excluded.order_id,
                     verified = excluded.verified, status = excluded.status, agent = excluded.agent,
                     first_reply_at = COALESCE(handoffs.first_reply_at,
                                               CASE WHEN ?12 THEN ?11 END)",
            )
            .map_err(db)?
            .execute(params![
                handoff_id, id, lang, reason, intent, order_id, verified, summary, status, agent,
                now, answered
            ])
            .map_err(db)?;
        }
        HandoffState::Closed { status } => {
            conn.prepare_cached(
                "UPDATE handoffs SET status = ?2, closed_at = ?3
                 WHERE conversation_id = ?1 AND status IN ('waiting', 'assigned')",
            )
            .map_err(db)?
            .execute(params![id, status, now])
            .map_err(db)?;
        }
    }
    Ok(())
}

const HANDOFF_COLUMNS: &str = "id, conversation_id, channel, lang, reason, intent, order_id, verified, summary, status, agent, created_at, first_reply_at, closed_at";

fn handoff_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<HandoffRow> {
    Ok(HandoffRow {
        handoff_id: r.get(0)?,
        conversation_id: r.get(1)?,
        channel: r.get(2)?,
        lang: r.get(3)?,
        reason: r.get(4)?,
        intent: r.get(5)?,
        order_id: r.get(6)?,
        verified: r.get(7)?,
        summary: r.get(8)?,
        status: r.get(9)?,
        agent: r.get(10)?,
        created_at: r.get(11)?,
        first_reply_at: r.get(12)?,
        closed_at: r.get(13)?,
    })
}

fn agent_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Agent> {
    Ok(Agent {
        name: r.get(0)?,
        display: r.get(1)?,
        lang: r.get(2)?,
        last_seen: r.get(3)?,
    })
}

impl SqliteStore {
    /// Runs `f` on the writer thread, in its own savepoint of the next group commit.
    pub(super) async fn run(
        &self,
        f: impl Fn(&Connection) -> Result<usize, StoreError> + Send + 'static,
    ) -> Result<usize, StoreError> {
        let (reply, done) = oneshot::channel();
        {
            let tx = self.writes.lock().map_err(|_| StoreError::Closed)?;
            tx.send(Write::Run {
                f: Box::new(f),
                reply,
            })
            .map_err(|_| StoreError::Closed)?;
        }
        done.await.map_err(|_| StoreError::Closed)?
    }
}

impl AgentStore for SqliteStore {
    fn add_agent<'a>(
        &'a self,
        agent: &'a Agent,
        password_hash: &'a str,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        let (a, hash) = (agent.clone(), password_hash.to_owned());
        Box::pin(async move {
            let n = self
                .run(move |conn| {
                    conn.execute(
                        "INSERT INTO agents (name, display, lang, password_hash, created_at)
                         VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (name) DO NOTHING",
                        params![a.name, a.display, a.lang, hash, crate::store::now_ms()],
                    )
                    .map_err(db)
                })
                .await?;
            Ok(n == 1)
        })
    }

    fn remove_agent<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<bool, StoreError>> {
        let name = name.to_owned();
        Box::pin(async move {
            let n = self
                .run(move |conn| {
                    conn.execute("DELETE FROM agent_sessions WHERE agent = ?1", params![name])
                        .map_err(db)?;
                    conn.execute("DELETE FROM agents WHERE name = ?1", params![name])
                        .map_err(db)
                })
                .await?;
            Ok(n == 1)
        })
    }

    fn set_password<'a>(
        &'a self,
        name: &'a str,
        password_hash: &'a str,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        let (name, hash) = (name.to_owned(), password_hash.to_owned());
        Box::pin(async move {
            let n = self
                .run(move |conn| {
                    conn.execute("DELETE FROM agent_sessions WHERE agent = ?1", params![name])
                        .map_err(db)?;
                    conn.execute(
                        "UPDATE agents SET password_hash = ?2 WHERE name = ?1",
                        params![name, hash],
                    )
                    .map_err(db)
                })
                .await?;
            Ok(n == 1)
        })
    }

    fn agents(&self) -> BoxFuture<'_, Result<Vec<Agent>, StoreError>> {
        Box::pin(self.read(|conn| {
            let mut stmt = conn
                .prepare_cached("SELECT name, display, lang, last_seen FROM agents ORDER BY name")
                .map_err(db)?;
            let rows = stmt.query_map([], agent_row).map_err(db)?;
            rows.collect::<Result<Vec<_>, _>>().map_err(db)
        }))
    }

    fn agent<'a>(
        &'a self,
        name: &'a str,
    ) -> BoxFuture<'a, Result<Option<(Agent, String)>, StoreError>> {
        let name = name.to_owned();
        Box::pin(self.read(move |conn| {
            conn.prepare_cached(
                "SELECT name, display, lang, last_seen, password_hash FROM agents WHERE name = ?1",
            )
            .map_err(db)?
            .query_row(params![name], |r| {
                Ok((agent_row(r)?, r.get::<_, String>(4)?))
            })
            .optional()
            .map_err(db)
        }))
    }

    fn create_session<'a>(
        &'a self,
        token_hash: [u8; 32],
        agent: &'a str,
        expires_at: i64,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        let agent = agent.to_owned();
        Box::pin(async move {
            self.run(move |conn| {
                let now = crate::store::now_ms();
                conn.execute(
                    "DELETE FROM agent_sessions WHERE expires_at < ?1",
                    params![now],
                )
                .map_err(db)?;
                conn.execute(
                    "INSERT INTO agent_sessions (token_hash, agent, created_at, expires_at)
                     VALUES (?1, ?2, ?3, ?4)",
                    params![&token_hash[..], agent, now, expires_at],
                )
                .map_err(db)
            })
            .await?;
            Ok(())
        })
    }

    fn session(&self, token_hash: [u8; 32]) -> BoxFuture<'_, Result<Option<Agent>, StoreError>> {
        Box::pin(self.read(move |conn| {
            conn.prepare_cached(
                "SELECT a.name, a.display, a.lang, a.last_seen FROM agent_sessions s
                 JOIN agents a ON a.name = s.agent
                 WHERE s.token_hash = ?1 AND s.expires_at > ?2",
            )
            .map_err(db)?
            .query_row(params![&token_hash[..], crate::store::now_ms()], agent_row)
            .optional()
            .map_err(db)
        }))
    }

    fn end_session(&self, token_hash: [u8; 32]) -> BoxFuture<'_, Result<(), StoreError>> {
        Box::pin(async move {
            self.run(move |conn| {
                conn.execute(
                    "DELETE FROM agent_sessions WHERE token_hash = ?1",
                    params![&token_hash[..]],
                )
                .map_err(db)
            })
            .await?;
            Ok(())
        })
    }

    fn touch_agent<'a>(&'a self, name: &'a str, at: i64) -> BoxFuture<'a, Result<(), StoreError>> {
        let name = name.to_owned();
        Box::pin(self.write(move |reply| Write::Seen { name, at, reply }))
    }

    fn agents_seen_since(&self, since: i64) -> BoxFuture<'_, Result<Vec<String>, StoreError>> {
        let missed = match self.presence.get() {
            Ok(seen) => {
                return Box::pin(std::future::ready(Ok(presence::seen_since(&seen, since))));
            }
            Err(missed) => missed,
        };
        Box::pin(async move {
            let seen: presence::Seen = self
                .read(|conn| {
                    let mut stmt = conn
                        .prepare_cached("SELECT name, last_seen FROM agents ORDER BY name")
                        .map_err(db)?;
                    let rows = stmt
                        .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))
                        .map_err(db)?;
                    rows.collect::<Result<_, _>>().map_err(db)
                })
                .await?;
            self.presence.fill(missed, &seen);
            Ok(presence::seen_since(&seen, since))
        })
    }

    fn handoffs(
        &self,
        filter: Filter,
        limit: usize,
    ) -> BoxFuture<'_, Result<Vec<HandoffRow>, StoreError>> {
        Box::pin(self.read_bulk(move |conn| {
            let statuses = filter.statuses();
            let since = match filter {
                Filter::ClosedSince(t) => t,
                _ => i64::MIN,
            };
            let sql = format!(
                "SELECT {HANDOFF_COLUMNS} FROM handoffs
                 WHERE status IN ('{}') AND COALESCE(closed_at, created_at) >= ?1
                 ORDER BY created_at {} LIMIT ?2",
                statuses.join("','"),
                if matches!(filter, Filter::ClosedSince(_)) {
                    "DESC"
                } else {
                    "ASC"
                }
            );
            let mut stmt = conn.prepare_cached(&sql).map_err(db)?;
            let rows = stmt
                .query_map(
                    params![since, i64::try_from(limit).unwrap_or(i64::MAX)],
                    handoff_row,
                )
                .map_err(db)?;
            rows.collect::<Result<Vec<_>, _>>().map_err(db)
        }))
    }

    fn handoff<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<Option<HandoffRow>, StoreError>> {
        let id = id.to_owned();
        Box::pin(self.read(move |conn| {
            conn.prepare_cached(&format!(
                "SELECT {HANDOFF_COLUMNS} FROM handoffs WHERE id = ?1"
            ))
            .map_err(db)?
            .query_row(params![id], handoff_row)
            .optional()
            .map_err(db)
        }))
    }

    fn last_agent_for_order<'a>(
        &'a self,
        order_id: &'a str,
    ) -> BoxFuture<'a, Result<Option<String>, StoreError>> {
        let order_id = order_id.to_owned();
        Box::pin(self.read(move |conn| {
            conn.prepare_cached(
                "SELECT agent FROM handoffs
                 WHERE order_id = ?1 AND verified = 1 AND agent IS NOT NULL AND closed_at IS NOT NULL
                 ORDER BY closed_at DESC LIMIT 1",
            )
            .map_err(db)?
            .query_row(params![order_id], |r| r.get::<_, String>(0))
            .optional()
            .map_err(db)
        }))
    }

    fn forget_failures<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<(), StoreError>> {
        let key = key.to_owned();
        Box::pin(async move {
            self.run(move |conn| {
                conn.execute("DELETE FROM verify_failures WHERE key = ?1", params![key])
                    .map_err(db)
            })
            .await?;
            Ok(())
        })
    }
}
