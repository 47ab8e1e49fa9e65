//! The inbox's tables in PostgreSQL (mirrors `store::sqlite::agents`), shared by every
//! replica: an agent signed in on one replica is seen online by all.

use super::{PgStore, db};
use crate::orders::BoxFuture;
use crate::store::StoreError;
use crate::store::agents::{Agent, AgentStore, Filter, HandoffRow, HandoffState};
use tokio_postgres::Row;

const UPSERT_HANDOFF: &str = "INSERT INTO handoffs (id, conversation_id, channel, lang, reason,
         intent, order_id, verified, summary, status, agent, created_at, first_reply_at)
     SELECT $1::TEXT, $2::TEXT, channel, $3::TEXT, $4::TEXT, $5::TEXT, $6::TEXT, $7::BOOLEAN,
            $8::TEXT, $9::TEXT, $10::TEXT, $11::BIGINT,
            CASE WHEN $12::BOOLEAN THEN $11::BIGINT END
     FROM conversations WHERE id = $2::TEXT
     ON CONFLICT (id) DO UPDATE SET lang = excluded.lang, order_id = excluded.order_id,
         verified = excluded.verified, status = excluded.status, agent = excluded.agent,
         first_reply_at = COALESCE(handoffs.first_reply_at,
                                   CASE WHEN $12::BOOLEAN THEN $11::BIGINT END)";
const CLOSE_HANDOFFS: &str = "UPDATE handoffs SET status = $2, closed_at = $3
     WHERE conversation_id = $1 AND status IN ('waiting', 'assigned')";

/// Writes the handoff row of a conversation's new state, inside the commit's transaction.
pub(super) async fn sync_handoff(
    tx: &tokio_postgres::Transaction<'_>,
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
            tx.execute(
                UPSERT_HANDOFF,
                &[
                    &handoff_id,
                    &id,
                    &lang,
                    &reason,
                    &intent,
                    &order_id,
                    &verified,
                    &summary,
                    &status,
                    &agent,
                    &now,
                    &answered,
                ],
            )
            .await
            .map_err(db)?;
        }
        HandoffState::Closed { status } => {
            tx.execute(CLOSE_HANDOFFS, &[&id, &status, &now])
                .await
                .map_err(db)?;
        }
    }
    Ok(())
}

fn handoff_row(r: &Row) -> Result<HandoffRow, StoreError> {
    Ok(HandoffRow {
        handoff_id: r.try_get(0).map_err(db)?,
        conversation_id: r.try_get(1).map_err(db)?,
        channel: r.try_get(2).map_err(db)?,
        lang: r.try_get(3).map_err(db)?,
        reason: r.try_get(4).map_err(db)?,
        intent: r.try_get(5).map_err(db)?,
        order_id: r.try_get(6).map_err(db)?,
        verified: r.try_get(7).map_err(db)?,
        summary: r.try_get(8).map_err(db)?,
        status: r.try_get(9).map_err(db)?,
        agent: r.try_get(10).map_err(db)?,
        created_at: r.try_get(11).map_err(db)?,
        first_reply_at: r.try_get(12).map_err(db)?,
        closed_at: r.try_get(13).map_err(db)?,
    })
}

fn agent_row(r: &Row) -> Result<Agent, StoreError> {
    Ok(Agent {
        name: r.try_get(0).map_err(db)?,
        display: r.try_get(1).map_err(db)?,
        lang: r.try_get(2).map_err(db)?,
        last_seen: r.try_get(3).map_err(db)?,
    })
}

const OPEN_ASC: &str = "SELECT id, conversation_id, channel, lang, reason, intent, order_id, verified, summary, status, agent, created_at, first_reply_at, closed_at
     FROM handoffs WHERE status = ANY($1) ORDER BY created_at ASC LIMIT $2";
const CLOSED_DESC: &str = "SELECT id, conversation_id, channel, lang, reason, intent, order_id, verified, summary, status, agent, created_at, first_reply_at, closed_at
     FROM handoffs WHERE status = ANY($1) AND closed_at >= $3 ORDER BY created_at DESC LIMIT $2";
const ONE: &str = "SELECT id, conversation_id, channel, lang, reason, intent, order_id, verified, summary, status, agent, created_at, first_reply_at, closed_at
     FROM handoffs WHERE id = $1";

impl AgentStore for PgStore {
    fn add_agent<'a>(
        &'a self,
        a: &'a Agent,
        password_hash: &'a str,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(async move {
            let n = self
                .exec(
                    "INSERT INTO agents (name, display, lang, password_hash, created_at)
                     VALUES ($1, $2, $3, $4, $5) ON CONFLICT (name) DO NOTHING",
                    &[
                        &a.name,
                        &a.display,
                        &a.lang,
                        &password_hash,
                        &crate::store::now_ms(),
                    ],
                )
                .await?;
            Ok(n == 1)
        })
    }

    fn remove_agent<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(async move {
            // Sessions go with the account (ON DELETE CASCADE).
            let n = self
                .exec("DELETE FROM agents WHERE name = $1", &[&name])
                .await?;
            Ok(n == 1)
        })
    }

    fn set_password<'a>(
        &'a self,
        name: &'a str,
        password_hash: &'a str,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(async move {
            self.exec("DELETE FROM agent_sessions WHERE agent = $1", &[&name])
                .await?;
            let n = self
                .exec(
                    "UPDATE agents SET password_hash = $2 WHERE name = $1",
                    &[&name, &password_hash],
                )
                .await?;
            Ok(n == 1)
        })
    }

    fn agents(&self) -> BoxFuture<'_, Result<Vec<Agent>, StoreError>> {
        Box::pin(async move {
            self.rows(
                "SELECT name, display, lang, last_seen FROM agents ORDER BY name",
                &[],
            )
            .await?
            .iter()
            .map(agent_row)
            .collect()
        })
    }

    fn agent<'a>(
        &'a self,
        name: &'a str,
    ) -> BoxFuture<'a, Result<Option<(Agent, String)>, StoreError>> {
        Box::pin(async move {
            let rows = self
                .rows(
                    "SELECT name, display, lang, last_seen, password_hash FROM agents WHERE name = $1",
                    &[&name],
                )
                .await?;
            match rows.first() {
                Some(r) => Ok(Some((agent_row(r)?, r.try_get(4).map_err(db)?))),
                None => Ok(None),
            }
        })
    }

    fn create_session<'a>(
        &'a self,
        token_hash: [u8; 32],
        agent: &'a str,
        expires_at: i64,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            let now = crate::store::now_ms();
            self.exec("DELETE FROM agent_sessions WHERE expires_at < $1", &[&now])
                .await?;
            self.exec(
                "INSERT INTO agent_sessions (token_hash, agent, created_at, expires_at)
                 VALUES ($1, $2, $3, $4)",
                &[&&token_hash[..], &agent, &now, &expires_at],
            )
            .await?;
            Ok(())
        })
    }

    fn session(&self, token_hash: [u8; 32]) -> BoxFuture<'_, Result<Option<Agent>, StoreError>> {
        Box::pin(async move {
            let rows = self
                .rows(
                    "SELECT a.name, a.display, a.lang, a.last_seen FROM agent_sessions s
                     JOIN agents a ON a.name = s.agent
                     WHERE s.token_hash = $1 AND s.expires_at > $2",
                    &[&&token_hash[..], &crate::store::now_ms()],
                )
                .await?;
            rows.first().map(agent_row).transpose()
        })
    }

    fn end_session(&self, token_hash: [u8; 32]) -> BoxFuture<'_, Result<(), StoreError>> {
        Box::pin(async move {
            self.exec(
                "DELETE FROM agent_sessions WHERE token_hash = $1",
                &[&&token_hash[..]],
            )
            .await?;
            Ok(())
        })
    }

    fn touch_agent<'a>(&'a self, name: &'a str, at: i64) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            self.exec(
                "UPDATE agents SET last_seen = $2 WHERE name = $1",
                &[&name, &at],
            )
            .await?;
            Ok(())
        })
    }

    fn agents_seen_since(&self, since: i64) -> BoxFuture<'_, Result<Vec<String>, StoreError>> {
        Box::pin(async move {
            self.rows(
                "SELECT name FROM agents WHERE last_seen >= $1 ORDER BY name",
                &[&since],
            )
            .await?
            .iter()
            .map(|r| r.try_get(0).map_err(db))
            .collect()
        })
    }

    fn handoffs(
        &self,
        filter: Filter,
        limit: usize,
    ) -> BoxFuture<'_, Result<Vec<HandoffRow>, StoreError>> {
        Box::pin(async move {
            let statuses: Vec<&str> = filter.statuses().to_vec();
            let limit = i64::try_from(limit).unwrap_or(i64::MAX);
            let rows = match filter {
                Filter::ClosedSince(t) => self.rows(CLOSED_DESC, &[&statuses, &limit, &t]).await?,
                _ => self.rows(OPEN_ASC, &[&statuses, &limit]).await?,
            };
            rows.iter().map(handoff_row).collect()
        })
    }

    fn handoff<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<Option<HandoffRow>, StoreError>> {
        Box::pin(async move {
            let rows = self.rows(ONE, &[&id]).await?;
            rows.first().map(handoff_row).transpose()
        })
    }

    fn last_agent_for_order<'a>(
        &'a self,
        order_id: &'a str,
    ) -> BoxFuture<'a, Result<Option<String>, StoreError>> {
        Box::pin(async move {
            let rows = self
                .rows(
                    "SELECT agent FROM handoffs
                     WHERE order_id = $1 AND verified AND agent IS NOT NULL AND closed_at IS NOT NULL
                     ORDER BY closed_at DESC LIMIT 1",
                    &[&order_id],
                )
                .await?;
            rows.first().map(|r| r.try_get(0).map_err(db)).transpose()
        })
    }

    fn broadcast<'a>(&'a self, payload: &'a str) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(self.notify(payload))
    }

    fn listen(&self) -> Option<tokio::sync::mpsc::Receiver<String>> {
        Some(self.subscribe())
    }

    fn forget_failures<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            self.exec("DELETE FROM verify_failures WHERE key = $1", &[&key])
                .await?;
            Ok(())
        })
    }
}
