//! Proactive notices (design §10): the shop reports an order event (delayed, shipped, out
//! for delivery, delivered, refund issued) and every conversation that verified that order
//! hears of it on its own channel, in its language, from pack templates.
//!
//! - `event`: the event as the shop sends it, checked field by field.
//! - `accept`: records an event once per idempotency key and queues one notice per
//!   conversation that verified the order within the window (`store::notices`).
//! - `deliver`: the delivery loop — takes due notices, writes each into its conversation
//!   under the conversation's turn lock (transcript and state in one transaction), pushes
//!   it live to the widget or sends it to Telegram; quiet hours and a daily limit apply.
//! - `render`: picks the template variant whose values are all known, so nothing renders
//!   blank.
//! - `optout`: "stop", "dur", "لغو", "unsubscribe" turn notices off for a conversation.
//! - `batch`: the CSV of `destek notify`; `command`: `destek notices` and `destek notify`;
//!   `metrics`: counters for `/metrics`.
//! - `webhooks`: WooCommerce and Shopify order webhooks (signed) read into events.

pub mod accept;
pub mod batch;
pub mod command;
pub mod deliver;
pub mod event;
pub mod metrics;
pub mod optout;
pub mod render;
pub mod settings;
pub mod webhooks;

pub use event::{EventKind, OrderEvent};
pub use settings::Settings;
