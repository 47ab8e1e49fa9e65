//! Conversations held in memory, so a turn reads its conversation without SQLite: a read
//! after a commit would find its connection's page cache emptied (in WAL mode a connection
//! drops its pages whenever the database changed) and parse the state's JSON again.
//!
//! Only what the database holds is ever here. The writer thread updates an entry after the
//! commit that wrote it and before it answers the write, so the next turn of a conversation
//! (which waits for that answer) reads what was committed. A read that missed fills the
//! entry from SQLite only if no batch was committed between its read and the fill (the
//! generation is unchanged); otherwise a commit could be overwritten by the older row.
//! Writes the writer cannot follow (the inbox's and the notices' own statements, another
//! process writing the file) empty the whole cache. At most `CAPACITY` conversations are
//! held; past that an arbitrary one makes room.

use crate::dialogue::Conversation;
use crate::store::Stored;
use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

/// Conversations held at most (a few KiB each).
const CAPACITY: usize = 4_096;

#[derive(Default)]
pub(super) struct Cache {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    /// Batches committed so far.
    generation: u64,
    entries: HashMap<String, Stored>,
}

/// A miss: what to hand back to `fill` with the row read from SQLite.
pub(super) struct Missed(u64);

impl Cache {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The conversation, or a miss to fill after reading it.
    pub(super) fn get(&self, id: &str) -> Result<Stored, Missed> {
        let inner = self.lock();
        inner
            .entries
            .get(id)
            .cloned()
            .ok_or(Missed(inner.generation))
    }

    /// The conversation's token hash, if it is held.
    pub(super) fn token_hash(&self, id: &str) -> Option<[u8; 32]> {
        self.lock().entries.get(id).map(|s| s.token_hash)
    }

    /// Keeps a conversation read from SQLite after a miss, unless a batch was committed
    /// since (the row may be older than that commit).
    pub(super) fn fill(&self, missed: Missed, stored: &Stored) {
        let mut inner = self.lock();
        if inner.generation == missed.0 {
            make_room(&mut inner.entries);
            inner.entries.insert(stored.id.clone(), stored.clone());
        }
    }

    /// The writer's hold on the cache for one committed batch.
    pub(super) fn batch(&self) -> Batch<'_> {
        let mut inner = self.lock();
        inner.generation += 1;
        Batch { inner }
    }
}

fn make_room(entries: &mut HashMap<String, Stored>) {
    if entries.len() >= CAPACITY
        && let Some(id) = entries.keys().next().cloned()
    {
        entries.remove(&id);
    }
}

/// What one committed batch changed.
pub(super) struct Batch<'a> {
    inner: MutexGuard<'a, Inner>,
}

impl Batch<'_> {
    pub(super) fn created(&mut self, stored: Stored) {
        make_room(&mut self.inner.entries);
        self.inner.entries.insert(stored.id.clone(), stored);
    }

    /// A new state; a conversation not held stays so (its other columns are not known here).
    pub(super) fn committed(&mut self, id: &str, state: Conversation) {
        if let Some(s) = self.inner.entries.get_mut(id) {
            s.state = state;
        }
    }

    pub(super) fn erased(&mut self, id: &str) {
        self.inner.entries.remove(id);
    }

    /// A write the cache cannot follow.
    pub(super) fn clear(&mut self) {
        self.inner.entries.clear();
    }
}
