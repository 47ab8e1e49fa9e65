//! What the built-in inbox keeps: agent accounts (argon2 password hashes), their sessions
//! (SHA-256 of the cookie token only) and the queue of handoffs.
//!
//! A handoff row mirrors the conversation state it belongs to and is written in the same
//! transaction as that state (`HandoffState::of`, called by each store's commit), so the
//! queue never disagrees with the conversations.

use crate::dialogue::Conversation;
use crate::orders::BoxFuture;
use crate::store::StoreError;
use serde::Serialize;

/// An agent account as listed (never with its password hash).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Agent {
    pub name: String,
    /// The name the customer sees next to the agent's replies.
    pub display: String,
    /// The language of the inbox's interface for this agent.
    pub lang: String,
    /// Unix milliseconds of the last sign of life from an open inbox; 0 when never.
    pub last_seen: i64,
}

/// A handoff in the queue.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct HandoffRow {
    pub handoff_id: String,
    pub conversation_id: String,
    pub channel: String,
    pub lang: Option<String>,
    pub reason: String,
    pub intent: Option<String>,
    pub order_id: Option<String>,
    /// Whether the customer proved they own `order_id`.
    pub verified: bool,
    pub summary: String,
    /// `waiting`, `assigned`, `resolved` or `released` (handed back to the bot).
    pub status: String,
    pub agent: Option<String>,
    /// Unix milliseconds.
    pub created_at: i64,
    pub first_reply_at: Option<i64>,
    pub closed_at: Option<i64>,
}

/// Which handoffs to list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Filter {
    Waiting,
    Assigned,
    /// Waiting or assigned.
    Open,
    /// Resolved or released, closed at or after the given Unix milliseconds.
    ClosedSince(i64),
}

impl Filter {
    /// The statuses this filter takes, as SQL text.
    pub fn statuses(self) -> &'static [&'static str] {
        match self {
            Filter::Waiting => &["waiting"],
            Filter::Assigned => &["assigned"],
            Filter::Open => &["waiting", "assigned"],
            Filter::ClosedSince(_) => &["resolved", "released"],
        }
    }
}

/// What a committed conversation state says about its handoff row.
#[derive(Clone, Debug, PartialEq)]
pub enum HandoffState {
    /// A handoff is open: insert its row, or update its status and agent.
    Open {
        id: String,
        lang: Option<String>,
        reason: String,
        intent: Option<String>,
        order_id: Option<String>,
        verified: bool,
        summary: String,
        status: &'static str,
        agent: Option<String>,
        /// An agent has answered: the first time this is written is the first reply.
        answered: bool,
    },
    /// No handoff: close any open row of the conversation with this status.
    Closed { status: &'static str },
}

impl HandoffState {
    pub fn of(conv: &Conversation) -> HandoffState {
        match &conv.handoff {
            Some(h) if !h.id.is_empty() => HandoffState::Open {
                id: h.id.clone(),
                lang: conv.lang.map(|l| l.code().to_owned()),
                reason: h.reason.clone(),
                intent: h.intent.clone(),
                order_id: h.order_id.clone(),
                verified: h.order_id.is_some() && h.order_id == conv.verified_order,
                summary: h.summary.clone(),
                status: if conv.assigned_agent.is_some() {
                    "assigned"
                } else {
                    "waiting"
                },
                agent: conv.assigned_agent.clone(),
                answered: conv.agent_joined,
            },
            // A resolve asks for a rating; a hand-back to the bot does not.
            _ => HandoffState::Closed {
                status: if conv.awaiting_rating {
                    "resolved"
                } else {
                    "released"
                },
            },
        }
    }
}

/// The inbox's part of a store.
pub trait AgentStore: Send + Sync {
    /// Creates an account; `Ok(false)` when the name is taken.
    fn add_agent<'a>(
        &'a self,
        agent: &'a Agent,
        password_hash: &'a str,
    ) -> BoxFuture<'a, Result<bool, StoreError>>;
    /// Removes an account and its sessions; `Ok(false)` when there was none.
    fn remove_agent<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<bool, StoreError>>;
    /// Replaces the password and ends every session; `Ok(false)` when there is no such agent.
    fn set_password<'a>(
        &'a self,
        name: &'a str,
        password_hash: &'a str,
    ) -> BoxFuture<'a, Result<bool, StoreError>>;
    fn agents(&self) -> BoxFuture<'_, Result<Vec<Agent>, StoreError>>;
    /// The account and its password hash.
    fn agent<'a>(
        &'a self,
        name: &'a str,
    ) -> BoxFuture<'a, Result<Option<(Agent, String)>, StoreError>>;
    fn create_session<'a>(
        &'a self,
        token_hash: [u8; 32],
        agent: &'a str,
        expires_at: i64,
    ) -> BoxFuture<'a, Result<(), StoreError>>;
    /// The agent of an unexpired session.
    fn session(&self, token_hash: [u8; 32]) -> BoxFuture<'_, Result<Option<Agent>, StoreError>>;
    fn end_session(&self, token_hash: [u8; 32]) -> BoxFuture<'_, Result<(), StoreError>>;
    /// Records a sign of life from an agent's open inbox (0 to say it closed).
    fn touch_agent<'a>(&'a self, name: &'a str, at: i64) -> BoxFuture<'a, Result<(), StoreError>>;
    /// Agents with a sign of life at or after `since` (ms).
    fn agents_seen_since(&self, since: i64) -> BoxFuture<'_, Result<Vec<String>, StoreError>>;
    fn handoffs(
        &self,
        filter: Filter,
        limit: usize,
    ) -> BoxFuture<'_, Result<Vec<HandoffRow>, StoreError>>;
    fn handoff<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<Option<HandoffRow>, StoreError>>;
    /// The latest closed handoff about this order that an agent had.
    fn last_agent_for_order<'a>(
        &'a self,
        order_id: &'a str,
    ) -> BoxFuture<'a, Result<Option<String>, StoreError>>;
    /// Forgets the failed logins of a key (after a successful login).
    fn forget_failures<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<(), StoreError>>;
    /// Sends a live event to every process sharing the store (PostgreSQL `NOTIFY`); a
    /// store only one process uses has nobody to tell.
    fn broadcast<'a>(&'a self, _payload: &'a str) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(std::future::ready(Ok(())))
    }
    /// The live events other processes `broadcast`, for as long as the receiver is kept
    /// (`None` for a store only one process uses).
    fn listen(&self) -> Option<tokio::sync::mpsc::Receiver<String>> {
        None
    }
}

/// The PostgreSQL channel of live events.
pub const LIVE_CHANNEL: &str = "destek_live";
/// `NOTIFY` payloads are limited to 8,000 bytes; a larger event is not sent.
pub const MAX_BROADCAST_BYTES: usize = 7_900;
