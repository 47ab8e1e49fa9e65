//! destek: a rule-based customer-service bot for online shops.
//!
//! The path of a message, and the module that owns each stage:
//!
//! ```text
//! channel (CLI chat today; HTTP widget and Telegram adapters plug in here)
//!   -> dialogue::Input
//!   -> normalise   language-aware folding (Turkish i, Persian letters/ZWNJ, digits)
//!   -> matcher     keywords in one aho-corasick automaton (typos corrected: typo) + a
//!                  RegexSet + example similarity (similarity, stem) -> Decision
//!   -> entities    order numbers, e-mails, phones
//!   -> dialogue    (Conversation, message) -> Outcome, as a resumable Turn; one module
//!                  per step kind (ask, verify, lookup, branch, action, say, handoff);
//!                  small talk in steer, a change of mind at a confirmation in mind
//!   -> engine      drives the Turn, calling orders::OrderBackend when it asks
//! ```
//!
//! `pack` reads the operator's YAML and compiles it into `bot::Bot`, an immutable
//! snapshot. `normalise`, `matcher`, `entities` and `dialogue` are pure: no I/O, no clock.
//! `phrase_scan` searches every `conversation:` phrase list of the pack in one automaton,
//! once per message; `words` counts words and finds question marks without decoding ASCII.
//! `convtest` runs YAML conversation tests and `eval` measures accuracy; `cli` is the
//! `destek` command line. `throttle` makes whoever fails order verifications wait longer
//! and longer; `textfile` reads outside files, locating bytes that are not UTF-8; `base64`
//! encodes for HTTP Basic auth and CSP hashes; `heap` gives a compile's freed memory back
//! to the OS.
//! `orders` holds the backends: SQLite, the shop's own API, WooCommerce and Shopify, the
//! networked ones over one `orders::transport`.
//! `agents` holds the built-in inbox's accounts (argon2id passwords, `destek agents`); the
//! inbox itself is served by `web` at `/agent`.
//! `notices` tells customers of order events (delays, shipping, refunds) before they ask:
//! only conversations that verified the order, through the store, on their own channel.
//! Its events come from the shop's API, a CSV, or WooCommerce's and Shopify's signed order
//! webhooks (`notices::webhooks`).
//! `store` keeps conversations and transcripts (SQLite: one writer thread with group
//! commit, conversations held in memory in `store::sqlite::cache`, who is online in
//! `store::sqlite::presence`); `web` runs a turn with
//! one commit, its customer's message stored first only before an action at the shop
//! (`web::message_first`).

pub mod agents;
pub mod base64;
pub mod bot;
pub mod cli;
pub mod config;
pub mod convtest;
pub mod dialogue;
pub mod engine;
pub mod entities;
pub mod eval;
pub mod handoff;
pub mod heap;
pub mod lang;
pub mod listen;
pub mod locale;
pub mod logging;
pub mod matcher;
pub mod normalise;
pub mod notices;
pub mod orders;
pub mod pack;
pub mod phrase_scan;
pub mod server;
pub mod shop;
pub mod similarity;
pub mod stem;
pub mod store;
pub mod telegram;
pub mod textfile;
pub mod throttle;
pub mod typo;
pub mod web;
pub mod words;

pub use bot::Bot;
pub use lang::Lang;
