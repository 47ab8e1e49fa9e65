//! Migrations of the PostgreSQL store: SQL files in `migrations/postgres/`, each applied
//! once, under an advisory lock so replicas starting together do not race.

use super::{db, error_text};
use crate::store::StoreError;
use tokio_postgres::Client;

const MIGRATIONS: [(i32, &str); 6] = [
    (
        1,
        include_str!("../../../migrations/postgres/0001_conversations.sql"),
    ),
    (
        2,
        include_str!("../../../migrations/postgres/0002_outbox.sql"),
    ),
    (
        3,
        include_str!("../../../migrations/postgres/0003_verify_failures.sql"),
    ),
    (
        4,
        include_str!("../../../migrations/postgres/0004_outbox_order.sql"),
    ),
    (
        5,
        include_str!("../../../migrations/postgres/0005_agents.sql"),
    ),
    (
        6,
        include_str!("../../../migrations/postgres/0006_notices.sql"),
    ),
];
/// The two-key advisory lock held while migrating, so replicas starting together apply
/// each migration once. The two-key form never collides with the one-key (`bigint`)
/// locks of conversations.
const MIGRATION_LOCK: (i32, i32) = (0x6465_7374, 1); // "dest", 1

pub(super) async fn migrate(client: &mut Client) -> Result<(), StoreError> {
    let (k1, k2) = MIGRATION_LOCK;
    client
        .execute("SELECT pg_advisory_lock($1, $2)", &[&k1, &k2])
        .await
        .map_err(db)?;
    let applied = apply_migrations(client).await;
    // On any error the caller drops the connection, which frees the lock too.
    client
        .execute("SELECT pg_advisory_unlock($1, $2)", &[&k1, &k2])
        .await
        .map_err(db)?;
    applied
}

async fn apply_migrations(client: &mut Client) -> Result<(), StoreError> {
    client
        .batch_execute(
            "CREATE TABLE IF NOT EXISTS destek_migrations (
                 version    INTEGER PRIMARY KEY,
                 applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
             )",
        )
        .await
        .map_err(db)?;
    for (version, sql) in MIGRATIONS {
        let tx = client.transaction().await.map_err(db)?;
        let done = tx
            .query_opt(
                "SELECT 1 FROM destek_migrations WHERE version = $1",
                &[&version],
            )
            .await
            .map_err(db)?
            .is_some();
        if !done {
            tx.batch_execute(sql)
                .await
                .map_err(|e| StoreError::Db(format!("migration {version}: {}", error_text(&e))))?;
            tx.execute(
                "INSERT INTO destek_migrations (version) VALUES ($1)",
                &[&version],
            )
            .await
            .map_err(db)?;
        }
        tx.commit().await.map_err(db)?;
    }
    Ok(())
}
