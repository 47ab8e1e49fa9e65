//! Where conversations live: their dialogue state and every message (the transcript).
//!
//! One `Store` trait; SQLite (`sqlite`) is the embedded default. A customer's message is
//! committed before the turn acts at the shop or answers (with the replies when it does
//! not act, `web::message_first`), and the turn's replies and new state are committed
//! before they are sent, so a process killed at any moment loses nothing it acknowledged.

pub mod agents;
pub mod notices;
pub mod postgres;
pub mod sqlite;

use crate::dialogue::{Conversation, Reply, ReplyButton};
use crate::orders::BoxFuture;
use serde::{Deserialize, Serialize};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("storage: {0}")]
    Db(String),
    #[error("stored conversation state is unreadable: {0}")]
    Corrupt(String),
    #[error("the store is shutting down")]
    Closed,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Sender {
    Customer,
    Bot,
    Agent,
}

impl Sender {
    pub fn as_str(self) -> &'static str {
        match self {
            Sender::Customer => "customer",
            Sender::Bot => "bot",
            Sender::Agent => "agent",
        }
    }
}

/// One line of a transcript.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Message {
    pub from: Sender,
    pub text: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub buttons: Vec<ReplyButton>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<String>,
    /// RFC 3339.
    pub at: String,
}

impl Message {
    /// A bot reply as it goes into the transcript.
    pub fn from_bot(reply: &Reply, at: &str) -> Message {
        Message {
            from: Sender::Bot,
            text: reply.text.clone(),
            buttons: reply.buttons.clone(),
            agent: None,
            at: at.to_owned(),
        }
    }
}

/// A conversation as stored.
#[derive(Clone, Debug)]
pub struct Stored {
    pub id: String,
    pub channel: String,
    /// The language the channel announced (widget `lang`, Telegram `language_code`).
    pub lang_hint: Option<crate::lang::Lang>,
    /// SHA-256 of the conversation's bearer token; the token itself is never stored.
    pub token_hash: [u8; 32],
    pub state: Conversation,
}

/// What one transaction writes for a conversation.
#[derive(Clone, Debug, Default)]
pub struct Change {
    pub messages: Vec<Message>,
    /// The new dialogue state, when it changed.
    pub state: Option<Conversation>,
    /// Webhook deliveries caused by this change.
    pub outbox: Vec<OutboxEntry>,
}

impl Change {
    pub fn messages(messages: Vec<Message>) -> Change {
        Change {
            messages,
            ..Change::default()
        }
    }
}

/// A webhook delivery to make.
#[derive(Clone, Debug, PartialEq)]
pub struct OutboxEntry {
    /// The delivery id (a UUID), the same on every retry.
    pub id: String,
    pub event: String,
    /// The JSON body, exactly as signed and sent.
    pub body: String,
}

/// A webhook delivery as stored, with its attempts.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Delivery {
    pub id: String,
    pub conversation_id: String,
    pub event: String,
    #[serde(skip)]
    pub body: String,
    pub attempts: u32,
    /// Unix milliseconds.
    pub next_attempt_at: i64,
    pub delivered_at: Option<i64>,
    pub last_error: Option<String>,
    pub created_at: i64,
}

/// Held while a turn runs; dropping it lets the next turn of the conversation in.
pub type TurnGuard = Box<dyn Send>;

pub trait Store: Send + Sync {
    /// Serialises the turns of one conversation across every process sharing the store
    /// (several replicas on one database). Within a process `web::turn` already does; a
    /// single-process store returns at once.
    fn lock_conversation<'a>(&'a self, id: &'a str)
    -> BoxFuture<'a, Result<TurnGuard, StoreError>>;
    fn create<'a>(&'a self, conversation: Stored) -> BoxFuture<'a, Result<(), StoreError>>;
    fn load<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<Option<Stored>, StoreError>>;
    /// The conversation's token hash alone (a turn checks it before taking the turn lock);
    /// `None` when there is no such conversation.
    fn token_hash<'a>(
        &'a self,
        id: &'a str,
    ) -> BoxFuture<'a, Result<Option<[u8; 32]>, StoreError>> {
        Box::pin(async move { Ok(self.load(id).await?.map(|s| s.token_hash)) })
    }
    /// Appends messages, replaces the state when given and queues webhook deliveries — in
    /// one transaction.
    fn commit<'a>(&'a self, id: &'a str, change: Change) -> BoxFuture<'a, Result<(), StoreError>>;
    /// Undelivered deliveries due at `now_ms`, oldest first; of each conversation only its
    /// oldest undelivered one, so its events arrive in the order they were written.
    fn due_deliveries(
        &self,
        now_ms: i64,
        limit: usize,
    ) -> BoxFuture<'_, Result<Vec<Delivery>, StoreError>>;
    /// Records an attempt: delivered, or failed with the error and the time of the next try.
    fn record_attempt<'a>(
        &'a self,
        id: &'a str,
        outcome: Result<(), String>,
        next_attempt_at: i64,
    ) -> BoxFuture<'a, Result<(), StoreError>>;
    /// Deliveries for operators: the undelivered ones, or all, newest first.
    fn deliveries(
        &self,
        undelivered_only: bool,
        limit: usize,
    ) -> BoxFuture<'_, Result<Vec<Delivery>, StoreError>>;
    /// Makes undelivered deliveries (one, or all) due now; returns how many.
    fn retry_deliveries<'a>(
        &'a self,
        id: Option<&'a str>,
    ) -> BoxFuture<'a, Result<usize, StoreError>>;
    fn transcript<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<Vec<Message>, StoreError>>;
    /// At most `limit` messages, the latest before position `before` (all when `None`),
    /// oldest first, each with its position (to page further back).
    fn transcript_page<'a>(
        &'a self,
        id: &'a str,
        before: Option<i64>,
        limit: usize,
    ) -> BoxFuture<'a, Result<Vec<(i64, Message)>, StoreError>>;
    /// Records a failed order verification under each key (`conversation:<id>`,
    /// `ip:<address>`), and forgets failures from before `forget_before_ms`.
    fn record_verify_failure<'a>(
        &'a self,
        keys: &'a [String],
        at_ms: i64,
        forget_before_ms: i64,
    ) -> BoxFuture<'a, Result<(), StoreError>>;
    /// Per key, in order: the failures from `since_ms` on.
    fn verify_failures<'a>(
        &'a self,
        keys: &'a [String],
        since_ms: i64,
    ) -> BoxFuture<'a, Result<Vec<crate::throttle::Failures>, StoreError>>;
    /// Whether the store answers (for `/readyz`).
    fn ping(&self) -> BoxFuture<'_, Result<(), StoreError>>;
    /// The built-in inbox's accounts, sessions and handoff queue.
    fn inbox(&self) -> &dyn agents::AgentStore;
    /// Forgets a conversation: its state, every message, its webhook deliveries and its
    /// failed verifications, in one transaction. Returns whether it existed.
    fn erase<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<bool, StoreError>>;
    /// Proactive notices, when this store keeps them.
    fn notices(&self) -> Option<&dyn notices::NoticeStore> {
        None
    }
}

/// The current time in Unix milliseconds, for the outbox.
pub fn now_ms() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}

/// The current time as RFC 3339, for message timestamps.
pub fn now_rfc3339() -> String {
    jiff::Timestamp::now().to_string()
}
