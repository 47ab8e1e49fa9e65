//! What the store keeps for proactive notices (`crate::notices`): which conversations
//! verified which order, the order events the shop reported (one per idempotency key) and
//! one notice per (event, conversation), delivered like the outbox — claimed, retried,
//! never lost, and written into a conversation once.

use super::{Message, StoreError};
use crate::dialogue::Conversation;
use crate::orders::BoxFuture;
use serde::Serialize;

/// Where a notice is on its way to the customer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Stage {
    /// Nothing said yet.
    Pending,
    /// In the transcript; a push channel (Telegram) still has to send it.
    Written,
    Sent,
    /// Not said, for a reason (opted out, daily limit, no conversation, no template).
    Skipped,
}

impl Stage {
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Pending => "pending",
            Stage::Written => "written",
            Stage::Sent => "sent",
            Stage::Skipped => "skipped",
        }
    }

    pub fn parse(s: &str) -> Stage {
        match s {
            "written" => Stage::Written,
            "sent" => Stage::Sent,
            "skipped" => Stage::Skipped,
            _ => Stage::Pending,
        }
    }
}

/// An order event to record.
#[derive(Clone, Debug)]
pub struct NewEvent {
    /// `<order id>\n<event id or Idempotency-Key>`; a random one when the shop gave none.
    pub key: String,
    pub order_id: String,
    pub event: String,
    /// SHA-256 (hex) of the event's fields: the same key with other fields is a conflict.
    pub body_hash: String,
    /// The event's fields as JSON, copied into each notice.
    pub body: String,
    /// Only conversations that verified the order at or after this time hear of it.
    pub since_ms: i64,
    pub now_ms: i64,
}

/// What recording an event did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Accepted {
    /// New: this many notices were queued.
    New(usize),
    /// Seen before under this key: the count queued then; nothing new.
    Repeat(usize),
    /// Seen before under this key with other fields.
    Conflict,
}

/// One notice as stored.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Notice {
    pub id: String,
    #[serde(skip)]
    pub event_key: String,
    pub conversation_id: String,
    pub order_id: String,
    pub event: String,
    /// The event's fields (JSON).
    #[serde(skip)]
    pub body: String,
    pub stage: Stage,
    /// The rendered reply (JSON), once written.
    #[serde(skip)]
    pub reply: Option<String>,
    /// Why it was skipped, or the last delivery error.
    pub reason: Option<String>,
    pub attempts: u32,
    /// Unix milliseconds.
    pub next_attempt_at: i64,
    pub created_at: i64,
    pub sent_at: Option<i64>,
}

pub trait NoticeStore: Send + Sync {
    /// Records the event and queues a notice for every conversation that verified its
    /// order since `since_ms` — in one transaction. A key seen before queues nothing.
    fn accept_event(&self, event: NewEvent) -> BoxFuture<'_, Result<Accepted, StoreError>>;
    /// Due notices (pending or written, `next_attempt_at <= now_ms`), oldest first, each
    /// claimed until `lease_until` so no other replica takes it meanwhile.
    fn claim_notices(
        &self,
        now_ms: i64,
        limit: usize,
        lease_until: i64,
    ) -> BoxFuture<'_, Result<Vec<Notice>, StoreError>>;
    /// Writes a pending notice into its conversation: appends `message`, replaces the
    /// state and moves the notice to `stage` (written or sent) with its `reply` — in one
    /// transaction, and only if the notice is still pending. Returns whether it was.
    fn write_notice<'a>(
        &'a self,
        id: &'a str,
        conversation_id: &'a str,
        message: Message,
        state: Conversation,
        reply: String,
        stage: Stage,
    ) -> BoxFuture<'a, Result<bool, StoreError>>;
    /// Marks a notice skipped, with the reason.
    fn skip_notice<'a>(
        &'a self,
        id: &'a str,
        reason: &'a str,
    ) -> BoxFuture<'a, Result<(), StoreError>>;
    /// Makes a notice due again at `next_attempt_at`; `error` (a failed push) counts an
    /// attempt, `None` (quiet hours) does not.
    fn defer_notice<'a>(
        &'a self,
        id: &'a str,
        next_attempt_at: i64,
        error: Option<String>,
    ) -> BoxFuture<'a, Result<(), StoreError>>;
    /// A written notice reached its channel.
    fn notice_sent<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<(), StoreError>>;
    /// Notices for operators: the undelivered ones (pending or written), or all; newest first.
    fn notices(
        &self,
        undelivered_only: bool,
        limit: usize,
    ) -> BoxFuture<'_, Result<Vec<Notice>, StoreError>>;
}
