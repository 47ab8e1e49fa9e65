//! When a customer's message is stored within its turn.
//!
//! "Acknowledged" is what the customer or the shop can see: the turn's answer, and any
//! action at the shop (a cancellation, a return, an address change, a one-time code sent or
//! checked). The message is durable before either:
//!
//! - Usually the turn does nothing at the shop: its message is committed together with the
//!   replies and the new state, in one transaction, before the answer is sent — one commit
//!   (one fsync) per turn instead of two.
//! - Before the turn's first action at the shop, `MessageFirst` commits the message on its
//!   own and waits for it; if that commit fails, the action is not taken. Lookups (an order,
//!   the orders of a contact) change nothing, so they wait for no commit.
//!
//! A process that dies before the commit loses a message it never acknowledged: the
//! request fails and the client sends it again (with its client id, taken once).

use crate::orders::{BackendError, BoxFuture, Contact, Order, OrderBackend, ReturnCreated};
use crate::store::{Change, Store, StoreError};
use std::sync::{Mutex, PoisonError};

/// The order backend a turn's engine sees: actions wait for the customer's message to be
/// committed, lookups go straight through.
pub(super) struct MessageFirst<'a> {
    inner: &'a dyn OrderBackend,
    store: &'a dyn Store,
    id: &'a str,
    /// The customer's message (and the state with its client id), until it is committed.
    pending: Mutex<Option<Change>>,
    /// Why that commit failed, if it did: the turn fails with it.
    failed: Mutex<Option<StoreError>>,
}

/// What is left after the engine ran.
pub(super) struct Left {
    /// The customer's message, not yet committed: it goes into the turn's final commit.
    pub pending: Option<Change>,
    /// The commit made before an action failed: the turn must fail.
    pub failed: Option<StoreError>,
}

impl<'a> MessageFirst<'a> {
    pub(super) fn new(
        inner: &'a dyn OrderBackend,
        store: &'a dyn Store,
        id: &'a str,
        message: Change,
    ) -> MessageFirst<'a> {
        MessageFirst {
            inner,
            store,
            id,
            pending: Mutex::new(Some(message)),
            failed: Mutex::new(None),
        }
    }

    pub(super) fn finish(self) -> Left {
        Left {
            pending: self
                .pending
                .into_inner()
                .unwrap_or_else(PoisonError::into_inner),
            failed: self
                .failed
                .into_inner()
                .unwrap_or_else(PoisonError::into_inner),
        }
    }

    /// Commits the customer's message if it is not yet; `Err` when it could not be.
    async fn before_action(&self) -> Result<(), BackendError> {
        let pending = self
            .pending
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(change) = pending
            && let Err(e) = self.store.commit(self.id, change).await
        {
            let said = e.to_string();
            *self.failed.lock().unwrap_or_else(PoisonError::into_inner) = Some(e);
            return Err(BackendError(said));
        }
        match &*self.failed.lock().unwrap_or_else(PoisonError::into_inner) {
            Some(e) => Err(BackendError(e.to_string())),
            None => Ok(()),
        }
    }
}

impl OrderBackend for MessageFirst<'_> {
    fn order<'b>(
        &'b self,
        order_id: &'b str,
    ) -> BoxFuture<'b, Result<Option<Order>, BackendError>> {
        self.inner.order(order_id)
    }

    fn orders_by_contact<'b>(
        &'b self,
        contact: Contact,
    ) -> BoxFuture<'b, Result<Vec<Order>, BackendError>> {
        self.inner.orders_by_contact(contact)
    }

    fn cancel<'b>(&'b self, order_id: &'b str) -> BoxFuture<'b, Result<(), BackendError>> {
        Box::pin(async move {
            self.before_action().await?;
            self.inner.cancel(order_id).await
        })
    }

    fn start_return<'b>(
        &'b self,
        order_id: &'b str,
        items: Vec<String>,
        reason: String,
    ) -> BoxFuture<'b, Result<ReturnCreated, BackendError>> {
        Box::pin(async move {
            self.before_action().await?;
            self.inner.start_return(order_id, items, reason).await
        })
    }

    fn change_address<'b>(
        &'b self,
        order_id: &'b str,
        address: String,
    ) -> BoxFuture<'b, Result<(), BackendError>> {
        Box::pin(async move {
            self.before_action().await?;
            self.inner.change_address(order_id, address).await
        })
    }

    fn send_code<'b>(&'b self, contact: Contact) -> BoxFuture<'b, Result<bool, BackendError>> {
        Box::pin(async move {
            self.before_action().await?;
            self.inner.send_code(contact).await
        })
    }

    fn check_code<'b>(
        &'b self,
        contact: Contact,
        code: String,
    ) -> BoxFuture<'b, Result<Vec<Order>, BackendError>> {
        Box::pin(async move {
            self.before_action().await?;
            self.inner.check_code(contact, code).await
        })
    }
}
