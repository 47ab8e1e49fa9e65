//! Checkpoints off the commit path. The writer connection never checkpoints on a commit
//! (`wal_autocheckpoint = 0`). This thread, with its own connection, copies committed WAL
//! frames back into the database file every `INTERVAL` (`PRAGMA wal_checkpoint(PASSIVE)`,
//! which never blocks the writer or a reader).
//!
//! A checkpoint that overlaps a commit cannot finish the WAL, and SQLite only starts the WAL
//! over once a checkpoint has finished it, so under steady load the WAL would grow without
//! end. When it passes `FINISH_PAGES`, this thread asks the writer (`Checkpoints::due`) to
//! run one passive checkpoint itself, between two batches and after their replies are sent:
//! by then this thread has copied nearly every frame, so the writer's share is small, and
//! the next commit starts the WAL over.
//!
//! Durability is unchanged: a commit is on disk once its WAL frames are fsynced
//! (`synchronous = FULL`), before anyone is answered; a checkpoint only moves committed
//! pages into the main file. The thread stops when the store is dropped.

use crate::store::StoreError;
use rusqlite::Connection;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, mpsc};
use std::time::Duration;

/// How often the WAL is copied back.
const INTERVAL: Duration = Duration::from_millis(100);
/// WAL pages (4 KiB each) after which the writer finishes a checkpoint (16 MiB).
const FINISH_PAGES: i64 = 4_000;

/// The checkpoint thread's handle: dropping it stops the thread.
pub(super) struct Checkpoints {
    due: Arc<AtomicBool>,
    _stop: mpsc::Sender<()>,
}

impl Checkpoints {
    /// Starts the thread on its own connection to `path`.
    pub(super) fn start(path: &Path) -> Result<Checkpoints, StoreError> {
        let conn = super::open(path)?;
        let due = Arc::new(AtomicBool::new(false));
        let (stop, stopped) = mpsc::channel::<()>();
        let flag = Arc::clone(&due);
        std::thread::Builder::new()
            .name("destek-store-checkpoint".into())
            .spawn(move || run(&conn, &stopped, &flag))
            .map_err(|e| StoreError::Db(format!("cannot start the checkpoint thread: {e}")))?;
        Ok(Checkpoints { due, _stop: stop })
    }

    /// The flag the writer reads after each batch.
    pub(super) fn due(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.due)
    }
}

fn run(conn: &Connection, stopped: &mpsc::Receiver<()>, due: &AtomicBool) {
    while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(INTERVAL) {
        // (busy, frames in the WAL, frames copied); -1 when the database is not in WAL mode.
        let wal = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| r.get::<_, i64>(1));
        if wal.is_ok_and(|frames| frames >= FINISH_PAGES) {
            due.store(true, Ordering::Relaxed);
        }
    }
}

/// The writer's share: one passive checkpoint on its own connection, when asked for.
pub(super) fn finish_if_due(conn: &Connection, due: &AtomicBool) {
    if due.swap(false, Ordering::Relaxed) {
        let _ = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
    }
}
