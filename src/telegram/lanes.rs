//! Per-chat FIFO workers: the items of one chat are handled in order, one at a time, while
//! different chats run in parallel. Used for incoming updates (a chat's turns in the order
//! the customer sent them) and for outgoing messages (one chat's pacing or `retry_after`
//! never holds up another chat).
//!
//! A worker exits after `IDLE` without work, so memory follows the chats that are active.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};

/// How long a chat's worker waits for more work before it exits.
const IDLE: Duration = Duration::from_secs(60);

pub(super) struct Lanes<T> {
    /// A std Mutex: held only to look up, insert or remove a sender, never across an await.
    senders: Mutex<HashMap<i64, UnboundedSender<T>>>,
}

impl<T: Send + 'static> Lanes<T> {
    pub(super) fn new() -> Arc<Lanes<T>> {
        Arc::new(Lanes {
            senders: Mutex::new(HashMap::new()),
        })
    }

    /// Queues `item` for `chat`, starting the chat's worker with `handle` if it has none.
    pub(super) fn push<H, F>(self: &Arc<Self>, chat: i64, item: T, handle: H)
    where
        H: FnMut(T) -> F + Send + 'static,
        F: Future<Output = ()> + Send + 'static,
    {
        let mut senders = match self.senders.lock() {
            Ok(s) => s,
            Err(poisoned) => poisoned.into_inner(),
        };
        // Sent under the lock: a worker retires only under the same lock and only when its
        // queue is empty, so an item is never pushed into a queue nobody will read.
        let item = match senders.get(&chat) {
            Some(tx) => match tx.send(item) {
                Ok(()) => return,
                Err(e) => e.0,
            },
            None => item,
        };
        let (tx, rx) = unbounded_channel();
        // Cannot fail: `rx` is alive.
        let _ = tx.send(item);
        senders.insert(chat, tx);
        tokio::spawn(Arc::clone(self).work(chat, rx, handle));
    }

    async fn work<H, F>(self: Arc<Self>, chat: i64, mut rx: UnboundedReceiver<T>, mut handle: H)
    where
        H: FnMut(T) -> F + Send + 'static,
        F: Future<Output = ()> + Send + 'static,
    {
        loop {
            match tokio::time::timeout(IDLE, rx.recv()).await {
                Ok(Some(item)) => handle(item).await,
                Ok(None) => return,
                Err(_idle) => {
                    if self.retire(chat, &rx) {
                        return;
                    }
                }
            }
        }
    }

    /// Removes the chat's sender if nothing is queued; returns whether the worker may exit.
    fn retire(&self, chat: i64, rx: &UnboundedReceiver<T>) -> bool {
        let mut senders = match self.senders.lock() {
            Ok(s) => s,
            Err(poisoned) => poisoned.into_inner(),
        };
        if !rx.is_empty() {
            return false;
        }
        senders.remove(&chat);
        true
    }
}
