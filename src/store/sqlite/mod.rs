//! The SQLite store: WAL, one writer thread doing group commit, a few reader connections.
//!
//! Every write goes to the writer thread over a channel. The thread takes whatever writes
//! are waiting, applies each in its own savepoint inside one transaction and commits once
//! (`synchronous = FULL`: the commit is on disk before anyone is answered). Many concurrent
//! turns thus share one fsync without any write being acknowledged before it is durable.

mod agents;
mod cache;
mod checkpoint;
mod notices;
mod presence;
mod writer;

use super::{Change, Delivery, Message, Sender, Store, StoreError, Stored};
use crate::orders::BoxFuture;
use crate::throttle::Failures;
use rusqlite::{Connection, OptionalExtension, params};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, mpsc};
use tokio::sync::oneshot;
use writer::{Encoded, NewConversation, Reply, Write, write_loop};

const MIGRATIONS: [&str; 6] = [
    include_str!("../../../migrations/store/0001_conversations.sql"),
    include_str!("../../../migrations/store/0002_outbox.sql"),
    include_str!("../../../migrations/store/0003_verify_failures.sql"),
    include_str!("../../../migrations/store/0004_outbox_order.sql"),
    include_str!("../../../migrations/store/0005_agents.sql"),
    include_str!("../../../migrations/store/0006_notices.sql"),
];
const READERS: usize = 4;
/// Connections for long reads (transcripts, delivery lists), on the blocking pool: at most
/// this many run at once, and they never hold up the quick reads of a turn.
const BULK_READERS: usize = 2;

pub struct SqliteStore {
    writes: Mutex<mpsc::Sender<Write>>,
    // std Mutexes: each guards one connection for one short blocking query, always on a
    // blocking thread, never across an await.
    readers: Arc<[Mutex<Connection>]>,
    next_reader: std::sync::atomic::AtomicUsize,
    bulk: Arc<[Mutex<Connection>]>,
    /// One permit per bulk connection; waiting for one costs no thread.
    bulk_permits: Arc<tokio::sync::Semaphore>,
    /// The checkpoint thread; stops when the store is dropped.
    _checkpoints: checkpoint::Checkpoints,
    /// Conversations as last committed, kept by the writer thread (`cache`).
    cache: Arc<cache::Cache>,
    /// Who was last seen in the inbox, forgotten by the writer thread (`presence`).
    presence: Arc<presence::Presence>,
}

fn db(e: rusqlite::Error) -> StoreError {
    StoreError::Db(e.to_string())
}

fn open(path: &Path) -> Result<Connection, StoreError> {
    let conn = Connection::open(path).map_err(db)?;
    conn.execute_batch(
        "PRAGMA journal_mode = WAL;
         PRAGMA synchronous = FULL;
         PRAGMA busy_timeout = 5000;
         PRAGMA foreign_keys = ON;",
    )
    .map_err(db)?;
    Ok(conn)
}

impl SqliteStore {
    /// Opens (creating if needed) the database file and starts the writer thread.
    pub fn open(path: impl AsRef<Path>) -> Result<Arc<SqliteStore>, StoreError> {
        let path: PathBuf = path.as_ref().to_owned();
        let writer = open(&path)?;
        for m in MIGRATIONS {
            writer.execute_batch(m).map_err(db)?;
        }
        // Checkpoints run on their own thread (`checkpoint`), not on a commit. Every
        // statement the writer runs stays prepared.
        writer
            .execute_batch("PRAGMA wal_autocheckpoint = 0; PRAGMA journal_size_limit = 67108864;")
            .map_err(db)?;
        writer.set_prepared_statement_cache_capacity(32);
        let checkpoints = checkpoint::Checkpoints::start(&path)?;
        let checkpoint_due = checkpoints.due();
        let readers = (0..READERS)
            .map(|_| open(&path).map(Mutex::new))
            .collect::<Result<Vec<_>, _>>()?;
        let bulk = (0..BULK_READERS)
            .map(|_| open(&path).map(Mutex::new))
            .collect::<Result<Vec<_>, _>>()?;
        let (tx, rx) = mpsc::channel();
        let cache = Arc::new(cache::Cache::default());
        let kept = Arc::clone(&cache);
        let presence = Arc::new(presence::Presence::default());
        let forgets = Arc::clone(&presence);
        std::thread::Builder::new()
            .name("destek-store-writer".into())
            .spawn(move || write_loop(writer, rx, checkpoint_due, kept, forgets))
            .map_err(|e| StoreError::Db(format!("cannot start the writer thread: {e}")))?;
        Ok(Arc::new(SqliteStore {
            writes: Mutex::new(tx),
            readers: readers.into(),
            next_reader: std::sync::atomic::AtomicUsize::new(0),
            bulk: bulk.into(),
            bulk_permits: Arc::new(tokio::sync::Semaphore::new(BULK_READERS)),
            _checkpoints: checkpoints,
            cache,
            presence,
        }))
    }

    async fn write(&self, make: impl FnOnce(Reply) -> Write) -> Result<(), StoreError> {
        let (reply, done) = oneshot::channel();
        {
            let tx = self.writes.lock().map_err(|_| StoreError::Closed)?;
            tx.send(make(reply)).map_err(|_| StoreError::Closed)?;
        }
        done.await.map_err(|_| StoreError::Closed)?
    }

    async fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let i = self
            .next_reader
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            % self.readers.len();
        // Reads by primary key take microseconds in WAL mode (they never wait for the
        // writer), less than handing them to the blocking pool would cost.
        let guard = self.readers[i].lock().map_err(|_| StoreError::Closed)?;
        f(&guard)
    }

    /// A read that may take long: waits for a bulk connection without holding a thread,
    /// then runs on the blocking pool.
    async fn read_bulk<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let permit = Arc::clone(&self.bulk_permits)
            .acquire_owned()
            .await
            .map_err(|_| StoreError::Closed)?;
        let bulk = Arc::clone(&self.bulk);
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            // A permit is held, so one of the connections is free.
            let guard = bulk
                .iter()
                .find_map(|c| c.try_lock().ok())
                .map_or_else(|| bulk[0].lock().map_err(|_| StoreError::Closed), Ok)?;
            f(&guard)
        })
        .await
        .map_err(|_| StoreError::Closed)?
    }

    /// A conversation's row, read from SQLite.
    async fn read_row(&self, id: String) -> Result<Option<Stored>, StoreError> {
        self.read(move |conn| {
            let row = conn
                .prepare_cached(
                    "SELECT channel, token_hash, state, lang_hint FROM conversations WHERE id = ?1",
                )
                .map_err(db)?
                .query_row(params![id], |r| {
                    // The hash and the state are read where SQLite holds them, not copied.
                    let hash: Option<[u8; 32]> = r.get_ref(1)?.as_blob()?.try_into().ok();
                    let state: Result<crate::dialogue::Conversation, serde_json::Error> =
                        serde_json::from_str(r.get_ref(2)?.as_str()?);
                    Ok((
                        r.get::<_, String>(0)?,
                        hash,
                        state,
                        r.get_ref(3)?
                            .as_str_or_null()?
                            .and_then(crate::lang::Lang::parse),
                    ))
                })
                .optional()
                .map_err(db)?;
            let Some((channel, hash, state, lang_hint)) = row else {
                return Ok(None);
            };
            let token_hash =
                hash.ok_or_else(|| StoreError::Corrupt("token hash is not 32 bytes".into()))?;
            let state = state.map_err(|e| StoreError::Corrupt(e.to_string()))?;
            Ok(Some(Stored {
                id,
                channel,
                lang_hint,
                token_hash,
                state,
            }))
        })
        .await
    }
}

fn delivery(r: &rusqlite::Row<'_>) -> rusqlite::Result<Delivery> {
    Ok(Delivery {
        id: r.get(0)?,
        conversation_id: r.get(1)?,
        event: r.get(2)?,
        body: r.get(3)?,
        attempts: r.get(4)?,
        next_attempt_at: r.get(5)?,
        delivered_at: r.get(6)?,
        last_error: r.get(7)?,
        created_at: r.get(8)?,
    })
}

const DELIVERY_COLUMNS: &str = "id, conversation_id, event, body, attempts, next_attempt_at, delivered_at, last_error, created_at";

fn sender(s: &str) -> Sender {
    match s {
        "bot" => Sender::Bot,
        "agent" => Sender::Agent,
        _ => Sender::Customer,
    }
}

impl Store for SqliteStore {
    fn lock_conversation<'a>(
        &'a self,
        _id: &'a str,
    ) -> BoxFuture<'a, Result<super::TurnGuard, StoreError>> {
        // One process owns a SQLite file; `web::turn`'s in-process lock is enough.
        Box::pin(std::future::ready(Ok(Box::new(()) as super::TurnGuard)))
    }

    fn create<'a>(&'a self, conversation: Stored) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            let state = writer::state_json(&conversation.state)?;
            let new = Box::new(NewConversation {
                stored: conversation,
                state,
            });
            self.write(move |reply| Write::Create(new, reply)).await
        })
    }

    fn load<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<Option<Stored>, StoreError>> {
        let missed = match self.cache.get(id) {
            Ok(stored) => return Box::pin(std::future::ready(Ok(Some(stored)))),
            Err(missed) => missed,
        };
        let cache = Arc::clone(&self.cache);
        let id = id.to_owned();
        Box::pin(async move {
            let stored = self.read_row(id).await?;
            if let Some(s) = &stored {
                cache.fill(missed, s);
            }
            Ok(stored)
        })
    }

    fn token_hash<'a>(
        &'a self,
        id: &'a str,
    ) -> BoxFuture<'a, Result<Option<[u8; 32]>, StoreError>> {
        if let Some(hash) = self.cache.token_hash(id) {
            return Box::pin(std::future::ready(Ok(Some(hash))));
        }
        let id = id.to_owned();
        Box::pin(self.read(move |conn| {
            let hash = conn
                .prepare_cached("SELECT token_hash FROM conversations WHERE id = ?1")
                .map_err(db)?
                .query_row(params![id], |r| {
                    Ok(<[u8; 32]>::try_from(r.get_ref(0)?.as_blob()?).ok())
                })
                .optional()
                .map_err(db)?;
            match hash {
                None => Ok(None),
                Some(Some(h)) => Ok(Some(h)),
                Some(None) => Err(StoreError::Corrupt("token hash is not 32 bytes".into())),
            }
        }))
    }

    fn commit<'a>(&'a self, id: &'a str, change: Change) -> BoxFuture<'a, Result<(), StoreError>> {
        let id = id.to_owned();
        Box::pin(async move {
            // The JSON is made here, so the single writer thread only writes.
            let change = Encoded::new(change)?;
            self.write(move |reply| Write::Commit { id, change, reply })
                .await
        })
    }

    fn due_deliveries(
        &self,
        now_ms: i64,
        limit: usize,
    ) -> BoxFuture<'_, Result<Vec<Delivery>, StoreError>> {
        Box::pin(self.read(move |conn| {
            let sql = format!(
                "SELECT {DELIVERY_COLUMNS} FROM outbox o
                 WHERE delivered_at IS NULL AND next_attempt_at <= ?1
                   AND NOT EXISTS (
                       SELECT 1 FROM outbox p
                       WHERE p.conversation_id = o.conversation_id
                         AND p.delivered_at IS NULL AND p.rowid < o.rowid)
                 ORDER BY next_attempt_at LIMIT ?2"
            );
            let mut stmt = conn.prepare_cached(&sql).map_err(db)?;
            let rows = stmt
                .query_map(params![now_ms, limit as i64], delivery)
                .map_err(db)?;
            rows.collect::<Result<Vec<_>, _>>().map_err(db)
        }))
    }

    fn record_attempt<'a>(
        &'a self,
        id: &'a str,
        outcome: Result<(), String>,
        next_attempt_at: i64,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        let id = id.to_owned();
        Box::pin(self.write(move |reply| Write::Attempt {
            id,
            outcome,
            next_attempt_at,
            reply,
        }))
    }

    fn deliveries(
        &self,
        undelivered_only: bool,
        limit: usize,
    ) -> BoxFuture<'_, Result<Vec<Delivery>, StoreError>> {
        Box::pin(self.read_bulk(move |conn| {
            let filter = if undelivered_only {
                "WHERE delivered_at IS NULL"
            } else {
                ""
            };
            let sql = format!(
                "SELECT {DELIVERY_COLUMNS} FROM outbox {filter} ORDER BY created_at DESC LIMIT ?1"
            );
            let mut stmt = conn.prepare(&sql).map_err(db)?;
            let rows = stmt
                .query_map(params![limit as i64], delivery)
                .map_err(db)?;
            rows.collect::<Result<Vec<_>, _>>().map_err(db)
        }))
    }

    fn retry_deliveries<'a>(
        &'a self,
        id: Option<&'a str>,
    ) -> BoxFuture<'a, Result<usize, StoreError>> {
        let id = id.map(str::to_owned);
        Box::pin(async move {
            let (reply, done) = oneshot::channel();
            {
                let tx = self.writes.lock().map_err(|_| StoreError::Closed)?;
                tx.send(Write::Retry { id, reply })
                    .map_err(|_| StoreError::Closed)?;
            }
            done.await.map_err(|_| StoreError::Closed)?
        })
    }

    fn transcript_page<'a>(
        &'a self,
        id: &'a str,
        before: Option<i64>,
        limit: usize,
    ) -> BoxFuture<'a, Result<Vec<(i64, Message)>, StoreError>> {
        let id = id.to_owned();
        let before = before.unwrap_or(i64::MAX);
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        Box::pin(self.read_bulk(move |conn| {
            let mut stmt = conn
                .prepare_cached(
                    "SELECT seq, sender, text, buttons, agent, at FROM messages
                     WHERE conversation_id = ?1 AND seq < ?2 ORDER BY seq DESC LIMIT ?3",
                )
                .map_err(db)?;
            let rows = stmt
                .query_map(params![id, before, limit], |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, Option<String>>(3)?,
                        r.get::<_, Option<String>>(4)?,
                        r.get::<_, String>(5)?,
                    ))
                })
                .map_err(db)?;
            let mut out = Vec::new();
            for row in rows {
                let (seq, from, text, buttons, agent, at) = row.map_err(db)?;
                let buttons = match buttons {
                    Some(b) => {
                        serde_json::from_str(&b).map_err(|e| StoreError::Corrupt(e.to_string()))?
                    }
                    None => Vec::new(),
                };
                out.push((
                    seq,
                    Message {
                        from: sender(&from),
                        text,
                        buttons,
                        agent,
                        at,
                    },
                ));
            }
            out.reverse();
            Ok(out)
        }))
    }

    fn transcript<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<Vec<Message>, StoreError>> {
        let id = id.to_owned();
        Box::pin(self.read_bulk(move |conn| {
            let mut stmt = conn
                .prepare_cached(
                    "SELECT sender, text, buttons, agent, at FROM messages
                     WHERE conversation_id = ?1 ORDER BY seq",
                )
                .map_err(db)?;
            let rows = stmt
                .query_map(params![id], |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, Option<String>>(2)?,
                        r.get::<_, Option<String>>(3)?,
                        r.get::<_, String>(4)?,
                    ))
                })
                .map_err(db)?;
            let mut out = Vec::new();
            for row in rows {
                let (from, text, buttons, agent, at) = row.map_err(db)?;
                let buttons = match buttons {
                    Some(b) => {
                        serde_json::from_str(&b).map_err(|e| StoreError::Corrupt(e.to_string()))?
                    }
                    None => Vec::new(),
                };
                out.push(Message {
                    from: sender(&from),
                    text,
                    buttons,
                    agent,
                    at,
                });
            }
            Ok(out)
        }))
    }

    fn record_verify_failure<'a>(
        &'a self,
        keys: &'a [String],
        at_ms: i64,
        forget_before_ms: i64,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        let keys = keys.to_vec();
        Box::pin(self.write(move |reply| Write::VerifyFailure {
            keys,
            at_ms,
            forget_before_ms,
            reply,
        }))
    }

    fn verify_failures<'a>(
        &'a self,
        keys: &'a [String],
        since_ms: i64,
    ) -> BoxFuture<'a, Result<Vec<Failures>, StoreError>> {
        let keys = keys.to_vec();
        Box::pin(self.read(move |conn| {
            let mut stmt = conn
                .prepare_cached(
                    "SELECT COUNT(*), MAX(at) FROM verify_failures WHERE key = ?1 AND at >= ?2",
                )
                .map_err(db)?;
            keys.iter()
                .map(|key| {
                    stmt.query_row(params![key, since_ms], |r| {
                        Ok(Failures {
                            count: r.get(0)?,
                            latest_ms: r.get(1)?,
                        })
                    })
                    .map_err(db)
                })
                .collect()
        }))
    }

    fn ping(&self) -> BoxFuture<'_, Result<(), StoreError>> {
        Box::pin(self.read(|conn| conn.query_row("SELECT 1", [], |_| Ok(())).map_err(db)))
    }

    fn inbox(&self) -> &dyn crate::store::agents::AgentStore {
        self
    }

    fn erase<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<bool, StoreError>> {
        let id = id.to_owned();
        Box::pin(async move {
            let (reply, done) = oneshot::channel();
            {
                let tx = self.writes.lock().map_err(|_| StoreError::Closed)?;
                tx.send(Write::Erase { id, reply })
                    .map_err(|_| StoreError::Closed)?;
            }
            Ok(done.await.map_err(|_| StoreError::Closed)?? > 0)
        })
    }

    fn notices(&self) -> Option<&dyn super::notices::NoticeStore> {
        Some(self)
    }
}
