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
//! SQLite fsyncs the database file only at the end of a checkpoint that reached the end of
//! the WAL, which under load is only ever the writer's: every page this thread copied since
//! the last such checkpoint would wait in the OS for that one fsync, and the writer (with
//! every turn queued behind it) would wait 5–25 ms for it to be flushed. So this thread
//! flushes the database file itself (`fdatasync`) after each checkpoint that copied pages,
//! and the writer's share only flushes what was committed since.
//!
//! Durability is unchanged: a commit is on disk once its WAL frames are fsynced
//! (`synchronous = FULL`), before anyone is answered; a checkpoint only moves committed
//! pages into the main file, and SQLite still fsyncs it before the WAL starts over. The
//! thread stops when the store is dropped.

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
        // The same file, to flush what the checkpoints copied into it.
        let file = std::fs::File::open(path)
            .map_err(|e| StoreError::Db(format!("cannot open {}: {e}", path.display())))?;
        let due = Arc::new(AtomicBool::new(false));
        let (stop, stopped) = mpsc::channel::<()>();
        let flag = Arc::clone(&due);
        std::thread::Builder::new()
            .name("destek-store-checkpoint".into())
            .spawn(move || run(&conn, &file, &stopped, &flag))
            .map_err(|e| StoreError::Db(format!("cannot start the checkpoint thread: {e}")))?;
        Ok(Checkpoints { due, _stop: stop })
    }

    /// The flag the writer reads after each batch.
    pub(super) fn due(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.due)
    }
}

fn run(conn: &Connection, file: &std::fs::File, stopped: &mpsc::Receiver<()>, due: &AtomicBool) {
    // Frames copied as of the last flush, as the checkpoint counts them.
    let mut flushed = 0;
    while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(INTERVAL) {
        // (busy, frames in the WAL, frames copied); -1 when the database is not in WAL mode.
        let wal = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| {
            Ok((r.get::<_, i64>(1)?, r.get::<_, i64>(2)?))
        });
        let Ok((frames, copied)) = wal else {
            continue;
        };
        // The count starts again with the WAL; a flush with nothing new to flush is skipped.
        if copied > 0 && copied != flushed && file.sync_data().is_ok() {
            flushed = copied;
        }
        if frames >= FINISH_PAGES {
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
