//! Recently processed update ids, so an update Telegram sends twice (a webhook retried after
//! a timeout, a getUpdates answer repeated after a lost confirmation) runs one turn.

use std::collections::{HashSet, VecDeque};
use std::sync::Mutex;

pub(super) struct Seen {
    cap: usize,
    /// A std Mutex: held for a set lookup, never across an await.
    ids: Mutex<(HashSet<u32>, VecDeque<u32>)>,
}

impl Seen {
    pub(super) fn new(cap: usize) -> Seen {
        Seen {
            cap,
            ids: Mutex::new((HashSet::new(), VecDeque::new())),
        }
    }

    /// Records `id`; false when it was already recorded. Remembers the last `cap` ids.
    pub(super) fn first_time(&self, id: u32) -> bool {
        let mut guard = match self.ids.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        let (set, order) = &mut *guard;
        if !set.insert(id) {
            return false;
        }
        order.push_back(id);
        if order.len() > self.cap
            && let Some(old) = order.pop_front()
        {
            set.remove(&old);
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_counts_once_within_the_window() {
        let seen = Seen::new(2);
        assert!(seen.first_time(1));
        assert!(!seen.first_time(1));
        assert!(seen.first_time(2));
        assert!(seen.first_time(3));
        // 1 fell out of the window.
        assert!(seen.first_time(1));
    }
}
