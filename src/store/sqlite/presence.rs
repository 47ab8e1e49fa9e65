//! Who was last seen in the inbox, held in memory: every customer turn asks whether anyone
//! is online (`web::inbox_live::availability`), and that answer would otherwise be a read
//! of SQLite per turn (the reader's pages emptied by the commit before it).
//!
//! What is held is every agent's `last_seen`, so the question "seen since when?" is answered
//! against the clock of the moment, and an agent whose heartbeat stopped still goes offline
//! on time. The writer thread forgets the list after any commit that may have changed it (a
//! heartbeat, an agent signing out or being removed, any free-form write) and before that
//! write is answered, so the next turn sees an agent who just opened or closed the inbox. A
//! read that missed keeps its list only if nothing was forgotten meanwhile (the generation is
//! unchanged). A write by another process (`destek agents …` on the same file) is seen at
//! the writer's next batch (`PRAGMA data_version`) or, at the latest, after `FRESH_FOR`.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

/// How long a list read from SQLite is used without a write of this process forgetting it.
const FRESH_FOR: Duration = Duration::from_secs(1);

/// Each agent's name and when they were last seen (ms since the epoch; 0: never or signed out).
pub(super) type Seen = Arc<[(String, i64)]>;

#[derive(Default)]
pub(super) struct Presence {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    /// Times the list was forgotten.
    generation: u64,
    held: Option<(Seen, Instant)>,
}

/// A miss: what to hand back to `fill` with the list read from SQLite.
pub(super) struct Missed(u64);

impl Presence {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The list, or a miss to fill after reading it.
    pub(super) fn get(&self) -> Result<Seen, Missed> {
        let inner = self.lock();
        match &inner.held {
            Some((seen, at)) if at.elapsed() < FRESH_FOR => Ok(Arc::clone(seen)),
            _ => Err(Missed(inner.generation)),
        }
    }

    /// Keeps a list read after a miss, unless it was forgotten since (it may be older than
    /// the write that made it forget).
    pub(super) fn fill(&self, missed: Missed, seen: &Seen) {
        let mut inner = self.lock();
        if inner.generation == missed.0 {
            inner.held = Some((Arc::clone(seen), Instant::now()));
        }
    }

    /// A write may have changed who was seen when.
    pub(super) fn forget(&self) {
        let mut inner = self.lock();
        inner.generation += 1;
        inner.held = None;
    }
}

/// The agents seen at or after `since`, by name.
pub(super) fn seen_since(seen: &Seen, since: i64) -> Vec<String> {
    // Read ordered by name.
    seen.iter()
        .filter(|(_, at)| *at >= since)
        .map(|(name, _)| name.clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(names: &[(&str, i64)]) -> Seen {
        names.iter().map(|(n, at)| ((*n).to_owned(), *at)).collect()
    }

    #[test]
    fn a_list_read_before_a_write_is_not_kept_after_it() {
        let p = Presence::default();
        let Err(missed) = p.get() else {
            panic!("nothing held yet")
        };
        // The writer commits a heartbeat while the read is under way.
        p.forget();
        p.fill(missed, &list(&[("ayse", 0)]));
        assert!(p.get().is_err(), "the older list must not be kept");

        let Err(missed) = p.get() else {
            panic!("still nothing held")
        };
        p.fill(missed, &list(&[("ayse", 100)]));
        let held = p.get().unwrap_or_else(|_| panic!("kept"));
        assert_eq!(seen_since(&held, 50), vec!["ayse".to_owned()]);
        assert!(seen_since(&held, 101).is_empty(), "offline once too old");
        p.forget();
        assert!(p.get().is_err());
    }
}
