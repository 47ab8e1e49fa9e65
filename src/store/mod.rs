//! Where conversations live: their dialogue state and every message (the transcript).
//!
//! One `Store` trait; SQLite (`sqlite`) is the embedded default. A customer's message is
//! committed before the turn runs, and the turn's replies and new state are committed
//! before they are sent, so a process killed at any moment loses nothing it acknowledged.

pub mod sqlite;

use crate::dialogue::{Conversation, ReplyButton};
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

pub trait Store: Send + Sync {
    fn create<'a>(&'a self, conversation: Stored) -> BoxFuture<'a, Result<(), StoreError>>;
    fn load<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<Option<Stored>, StoreError>>;
    /// Appends messages and, when given, replaces the state — in one transaction.
    fn commit<'a>(
        &'a self,
        id: &'a str,
        messages: Vec<Message>,
        state: Option<Conversation>,
    ) -> BoxFuture<'a, Result<(), StoreError>>;
    fn transcript<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<Vec<Message>, StoreError>>;
    /// Whether the store answers (for `/readyz`).
    fn ping(&self) -> BoxFuture<'_, Result<(), StoreError>>;
}

/// The current time as RFC 3339, for message timestamps.
pub fn now_rfc3339() -> String {
    jiff::Timestamp::now().to_string()
}
