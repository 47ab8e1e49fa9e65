//! The two connection pools of the PostgreSQL store: connections made on demand up to a
//! bound, kept while healthy, given back only after a clean use (dropped otherwise, which
//! ends their session and anything it held).

use super::{ACQUIRE_TIMEOUT, db, error_text};
use crate::store::StoreError;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_postgres::{Client, NoTls, Statement};

/// A connection and the statements prepared on it.
pub(super) struct Conn {
    pub(super) client: Client,
    statements: HashMap<&'static str, Statement>,
}

impl Conn {
    pub(super) async fn prepare(&mut self, sql: &'static str) -> Result<Statement, StoreError> {
        if let Some(s) = self.statements.get(sql) {
            return Ok(s.clone());
        }
        let s = self.client.prepare(sql).await.map_err(db)?;
        self.statements.insert(sql, s.clone());
        Ok(s)
    }
}

pub(super) struct Pool {
    config: tokio_postgres::Config,
    /// Run on every new connection.
    setup: Option<&'static str>,
    // A std Mutex: held only to push or pop, never across an await.
    idle: Mutex<Vec<Conn>>,
    permits: Arc<Semaphore>,
}

/// A connection taken from a pool. Dropped, it closes the connection; `release` gives it
/// back for reuse.
pub(super) struct Lease {
    pub(super) conn: Conn,
    pool: Arc<Pool>,
    _permit: OwnedSemaphorePermit,
}

impl Lease {
    pub(super) fn release(self) {
        if self.conn.client.is_closed() {
            return;
        }
        if let Ok(mut idle) = self.pool.idle.lock() {
            idle.push(self.conn);
        }
    }
}

impl Pool {
    pub(super) fn new(
        config: tokio_postgres::Config,
        size: usize,
        setup: Option<&'static str>,
    ) -> Arc<Pool> {
        Arc::new(Pool {
            config,
            setup,
            idle: Mutex::new(Vec::new()),
            permits: Arc::new(Semaphore::new(size)),
        })
    }

    pub(super) async fn get(self: &Arc<Self>) -> Result<Lease, StoreError> {
        let permit =
            tokio::time::timeout(ACQUIRE_TIMEOUT, Arc::clone(&self.permits).acquire_owned())
                .await
                .map_err(|_| {
                    StoreError::Db("timed out waiting for a free database connection".into())
                })?
                .map_err(|_| StoreError::Closed)?;
        let reused = loop {
            let conn = self.idle.lock().map_err(|_| StoreError::Closed)?.pop();
            match conn {
                Some(c) if c.client.is_closed() => continue,
                other => break other,
            }
        };
        let conn = match reused {
            Some(c) => c,
            None => self.connect().await?,
        };
        Ok(Lease {
            conn,
            pool: Arc::clone(self),
            _permit: permit,
        })
    }

    async fn connect(&self) -> Result<Conn, StoreError> {
        let (client, connection) = self.config.connect(NoTls).await.map_err(db)?;
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                crate::logging::warn(format!("postgres connection closed: {}", error_text(&e)));
            }
        });
        if let Some(sql) = self.setup {
            client.batch_execute(sql).await.map_err(db)?;
        }
        Ok(Conn {
            client,
            statements: HashMap::new(),
        })
    }
}
