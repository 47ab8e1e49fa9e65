//! The dialogue engine: (conversation state, message) → replies, next state, handoff.
//!
//! Pure. It never calls the order backend itself: a `Turn` is a small state machine that
//! returns `Poll::Need(Request)` when it needs order data or an action, and continues when
//! the driver (`engine::turn`) `feed`s it the `Response`. So it is tested with plain data
//! and imports nothing from axum, teloxide, reqwest or SQL.
//!
//! A conversation's state is data (`Conversation`): the flow and step it is in, the slots
//! it has filled, the order it has verified. It is serialisable so stores can keep it, and
//! it refers to flows and steps by id so it survives a reload of the pack.

mod notice;
mod template;
mod turn;

pub use notice::NoticeState;
pub use template::{placeholders, render};
pub(crate) use turn::sound_form;
pub use turn::{Turn, render_for_order};

use crate::lang::Lang;
use crate::orders::{BackendError, Contact, Order, ReturnCreated};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Messages longer than this (in characters) get a polite "too long" reply.
pub const MAX_MESSAGE_CHARS: usize = 2_000;

/// How many interrupted flows a conversation remembers to come back to.
pub const MAX_SUSPENDED: usize = 3;

/// Failed verifications a conversation may make, across flows, before a person takes over.
pub const MAX_VERIFY_FAILURES: u32 = 3;

/// Everything the bot remembers about one conversation.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Conversation {
    /// The reply language, once known (sticky).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lang: Option<Lang>,
    /// The flow in progress.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flow: Option<FlowPos>,
    /// Flows interrupted by a change of topic, most recent last.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub suspended: Vec<FlowPos>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub slots: BTreeMap<String, String>,
    /// The order number this customer has proved they own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verified_order: Option<String>,
    /// The proof the customer gave for it (`email:…` or `last4:…`; never shown): another
    /// order of theirs that carries the same e-mail or phone needs no second proof.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proof: Option<String>,
    /// Messages in a row that matched nothing.
    #[serde(default)]
    pub fallbacks: u32,
    /// Failed verifications in this conversation, across flows.
    #[serde(default)]
    pub verify_failures: u32,
    /// Set while a person has the conversation; the bot stays silent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub handoff: Option<Handoff>,
    /// An agent has answered in the current handoff.
    #[serde(default)]
    pub agent_joined: bool,
    /// Handoffs so far (numbers the next one's id).
    #[serde(default)]
    pub handoffs: u32,
    /// The agent who answered in the last handoff, named in the next one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_agent: Option<String>,
    /// A handoff was resolved and the bot asked for a 1–5 rating.
    #[serde(default)]
    pub awaiting_rating: bool,
    /// Spam messages so far: the first gets a short line, later ones a shorter one.
    #[serde(default)]
    pub spam_seen: u32,
    /// After a side question the bot asked whether to go on with the flow in progress.
    #[serde(default)]
    pub resume_pending: bool,
    /// The status of the verified order when the bot last looked it up, for the summary a
    /// person receives on handoff.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_status: Option<String>,
    /// The intents the last clarifying question offered: a typed answer with any
    /// evidence for one of them picks it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub offered: Vec<String>,
    /// The one action the last reply offered as a button (`intent:human_agent` under
    /// "shall I pass it to a person?"): a typed yes takes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offer: Option<String>,
    /// The last request that ran to its end (its intent and the customer's words), for
    /// the summary of a handoff asked for afterwards.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_request: Option<String>,
    /// The agent (account name) who has claimed the current handoff in the inbox.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assigned_agent: Option<String>,
    /// The agent (account name) who resolved the last handoff: offered the next one, and
    /// credited with its rating.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub helped_by: Option<String>,
    /// The customer writes numbers in Persian (or Arabic-Indic) digits: numbers are echoed
    /// back in those digits.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub persian_digits: bool,
    /// The ids clients gave their latest messages (`client_id`), newest last: a message
    /// sent again after a lost answer is recognised and not taken twice.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub client_ids: Vec<String>,
    /// Proactive notices: opted out, the latest ones, the one not answered yet.
    #[serde(default, skip_serializing_if = "NoticeState::is_empty")]
    pub notices: NoticeState,
}

/// Where a conversation is inside a flow.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FlowPos {
    pub flow: String,
    pub step: String,
    /// The intent that started the flow.
    pub intent: String,
    /// Failed answers to the current step.
    #[serde(default)]
    pub attempts: u32,
    /// The bot has asked this step's question and waits for the answer.
    #[serde(default)]
    pub waiting: bool,
    /// The message that started the flow, for the agent's summary on handoff.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub topic: String,
    /// The second request of a message that held two: not started yet, it starts when
    /// the requests before it have ended.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub queued: bool,
    /// The order number the queued request named, when it differs from the first's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_number: Option<String>,
}

/// Why and with what a conversation went to a person.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Handoff {
    /// `<conversation id>.<n>`, set by the server when the handoff is stored.
    #[serde(default)]
    pub id: String,
    pub reason: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub intent: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_id: Option<String>,
    /// One line for the agent: what the customer wants, in their words.
    #[serde(default)]
    pub summary: String,
}

/// One customer message as a channel delivers it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Input {
    pub text: Option<String>,
    /// A button's payload, when the customer pressed one.
    pub payload: Option<String>,
    /// The channel's idea of the customer's language (Telegram `language_code`, widget `lang`).
    pub lang_hint: Option<Lang>,
    /// Today in the shop's time zone, for late orders and return windows. The engine reads
    /// no clock: the driver fills this in.
    pub today: Option<jiff::civil::Date>,
    /// Whether people are at work now, for what a handed-off customer is told.
    pub availability: Option<Availability>,
}

/// Whether the human team is at work, as the driver sees it from business hours.
#[derive(Clone, Debug, PartialEq)]
pub enum Availability {
    Open {
        wait_minutes: u32,
    },
    /// Closed until this weekday (0 = Monday) and time (`09:00`), `days_ahead` from today.
    Closed {
        weekday: u8,
        time: String,
        days_ahead: u32,
    },
    /// Within business hours, but nobody can receive the conversation right now: no agent
    /// has the inbox open and no webhook is set. The customer is never told otherwise.
    Away,
}

impl Input {
    pub fn text(text: impl Into<String>) -> Input {
        Input {
            text: Some(text.into()),
            ..Input::default()
        }
    }

    pub fn payload(payload: impl Into<String>) -> Input {
        Input {
            payload: Some(payload.into()),
            ..Input::default()
        }
    }

    pub fn with_lang(mut self, lang: Option<Lang>) -> Input {
        self.lang_hint = lang;
        self
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Reply {
    pub text: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub buttons: Vec<ReplyButton>,
    /// The template this reply was rendered from, for tests that check what was said
    /// whatever the pack's wording; empty for replies not made from a template.
    #[serde(skip)]
    pub template: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReplyButton {
    pub label: String,
    pub payload: String,
}

/// What one turn produced.
#[derive(Clone, Debug, PartialEq)]
pub struct Outcome {
    pub replies: Vec<Reply>,
    pub lang: Lang,
    /// The intent the message was classified as, if any.
    pub intent: Option<String>,
    /// Set when this turn handed the conversation to a person.
    pub handoff: Option<Handoff>,
    /// The conversation was already with a person: the message is for the human side.
    pub relayed: bool,
    /// Order numbers a verification failed for in this turn (for the per-order limit).
    pub failed_verifications: Vec<String>,
    /// A 1–5 rating the customer gave after a handoff.
    pub rating: Option<u8>,
    /// The message matched nothing and the bot fell back.
    pub fallback: bool,
}

/// What a turn needs from the order backend before it can go on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Request {
    /// The order, to check the customer's proof against. A driver that limits attempts
    /// per order answers `Ok(None)` for a locked order: the check fails like any other.
    Verify(String),
    /// The order of a verified customer, to show.
    Order(String),
    Cancel(String),
    StartReturn {
        order_id: String,
        /// The SKUs of the items going back (empty: the whole order).
        items: Vec<String>,
        reason: String,
    },
    ChangeAddress {
        order_id: String,
        address: String,
    },
    /// The orders with this e-mail or phone, for a customer without the order number.
    OrdersByContact(Contact),
    /// A one-time code to this contact, where the shop sends them (`Response::Sent`).
    SendCode(Contact),
    /// The contact's orders if the code is the one sent (`Response::Orders`).
    CheckCode {
        contact: Contact,
        code: String,
    },
}

// One short-lived value per backend call: boxing the order would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq)]
pub enum Response {
    Order(Result<Option<Order>, BackendError>),
    /// A cancel or address change went through (or not).
    Done(Result<(), BackendError>),
    Return(Result<ReturnCreated, BackendError>),
    Orders(Result<Vec<Order>, BackendError>),
    /// Whether the shop sends one-time codes (and sent one, if an order has the contact).
    Sent(Result<bool, BackendError>),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Poll {
    Need(Request),
    Done,
}
