//! Outgoing messages within Telegram's limits: about one message a second per chat (short
//! bursts allowed) and about 30 a second overall. Each chat has its own queue (a lane), so a
//! chat that waits — for its own pace or for a 429's `retry_after` — holds up no other chat;
//! the global bucket is shared by all lanes.

use super::lanes::Lanes;
use std::sync::Arc;
use std::time::Duration;
use teloxide::Bot;
use teloxide::RequestError;
use teloxide::payloads::SendMessageSetters;
use teloxide::requests::Requester;
use teloxide::types::{ChatId, InlineKeyboardMarkup};
use tokio::sync::Mutex;
use tokio::time::Instant;

/// Telegram refuses texts over 4,096 UTF-16 units; chunks are cut well below that in chars.
pub(super) const MAX_TEXT_CHARS: usize = 3_500;

/// Attempts per message: a 429 or a refused connection is retried, anything else is not.
const MAX_ATTEMPTS: u32 = 5;

#[derive(Clone, Copy, Debug)]
pub(super) struct Limits {
    pub per_chat_burst: f64,
    pub per_chat_per_second: f64,
    pub global_burst: f64,
    pub global_per_second: f64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            per_chat_burst: 3.0,
            per_chat_per_second: 1.0,
            global_burst: 30.0,
            global_per_second: 30.0,
        }
    }
}

struct OutMessage {
    text: String,
    keyboard: Option<InlineKeyboardMarkup>,
    /// Told whether Telegram accepted the message (a proactive notice waits for it).
    done: Option<tokio::sync::oneshot::Sender<Result<(), String>>>,
}

pub(super) struct Outgoing {
    bot: Bot,
    limits: Limits,
    lanes: Arc<Lanes<OutMessage>>,
    global: Arc<Bucket>,
}

impl Outgoing {
    pub(super) fn new(bot: Bot, limits: Limits) -> Outgoing {
        Outgoing {
            bot,
            limits,
            lanes: Lanes::new(),
            global: Arc::new(Bucket::new(limits.global_burst, limits.global_per_second)),
        }
    }

    /// Queues `text` for `chat` (cut into chunks if long; the keyboard goes on the last one).
    /// Returns at once; the chat's lane sends in order.
    pub(super) fn text(&self, chat: i64, text: &str, keyboard: Option<InlineKeyboardMarkup>) {
        let mut chunks = chunks(text, MAX_TEXT_CHARS);
        let last = chunks.pop();
        for c in chunks {
            self.push(chat, c, None);
        }
        if let Some(c) = last {
            self.push(chat, c, keyboard);
        }
    }

    /// Queues `text` for `chat` like `text`, and resolves once Telegram accepted every
    /// chunk, or with the error that stopped one.
    pub(super) async fn confirmed(
        &self,
        chat: i64,
        text: &str,
        keyboard: Option<InlineKeyboardMarkup>,
    ) -> Result<(), String> {
        let mut chunks = chunks(text, MAX_TEXT_CHARS);
        let last = chunks.pop();
        let mut waits = Vec::new();
        for c in chunks {
            let (tx, rx) = tokio::sync::oneshot::channel();
            self.push_with(chat, c, None, Some(tx));
            waits.push(rx);
        }
        if let Some(c) = last {
            let (tx, rx) = tokio::sync::oneshot::channel();
            self.push_with(chat, c, keyboard, Some(tx));
            waits.push(rx);
        }
        for w in waits {
            w.await.map_err(|_| "the send queue stopped".to_owned())??;
        }
        Ok(())
    }

    fn push(&self, chat: i64, text: String, keyboard: Option<InlineKeyboardMarkup>) {
        self.push_with(chat, text, keyboard, None);
    }

    fn push_with(
        &self,
        chat: i64,
        text: String,
        keyboard: Option<InlineKeyboardMarkup>,
        done: Option<tokio::sync::oneshot::Sender<Result<(), String>>>,
    ) {
        let bot = self.bot.clone();
        let global = Arc::clone(&self.global);
        // Used only if this push starts the chat's lane: the lane keeps it as the chat's pace.
        let pace = Arc::new(Bucket::new(
            self.limits.per_chat_burst,
            self.limits.per_chat_per_second,
        ));
        self.lanes.push(
            chat,
            OutMessage {
                text,
                keyboard,
                done,
            },
            move |m| deliver(bot.clone(), chat, m, Arc::clone(&pace), Arc::clone(&global)),
        );
    }
}

async fn deliver(bot: Bot, chat: i64, mut msg: OutMessage, pace: Arc<Bucket>, global: Arc<Bucket>) {
    let done = msg.done.take();
    let outcome = attempts(bot, chat, &msg, pace, global).await;
    if let Some(done) = done {
        let _ = done.send(outcome);
    }
}

/// Sends one message, retrying what is safe to retry; `Err` says why it was not sent.
async fn attempts(
    bot: Bot,
    chat: i64,
    msg: &OutMessage,
    pace: Arc<Bucket>,
    global: Arc<Bucket>,
) -> Result<(), String> {
    for attempt in 1..=MAX_ATTEMPTS {
        pace.take().await;
        global.take().await;
        let mut req = bot.send_message(ChatId(chat), msg.text.clone());
        if let Some(k) = &msg.keyboard {
            req = req.reply_markup(k.clone());
        }
        match req.await {
            Ok(_) => return Ok(()),
            Err(RequestError::RetryAfter(s)) => tokio::time::sleep(s.duration()).await,
            // Only a connection that was never made is safe to retry: any later failure may
            // have delivered the message, and a duplicate is worse than a gap we log.
            Err(RequestError::Network(e)) if e.is_connect() => {
                tokio::time::sleep(Duration::from_secs(u64::from(attempt))).await;
            }
            Err(e) => {
                crate::logging::warn(format_args!(
                    "telegram: sendMessage to chat {chat} failed: {e}"
                ));
                return Err(format!("sendMessage failed: {e}"));
            }
        }
    }
    crate::logging::warn(format_args!(
        "telegram: sendMessage to chat {chat}: gave up after {MAX_ATTEMPTS} attempts"
    ));
    Err(format!(
        "sendMessage: gave up after {MAX_ATTEMPTS} attempts"
    ))
}

/// Cuts `text` into pieces of at most `max` chars, at a line break when there is one.
pub(super) fn chunks(text: &str, max: usize) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while rest.chars().count() > max {
        let cut = rest.char_indices().nth(max).map_or(rest.len(), |(i, _)| i);
        let at = rest[..cut].rfind('\n').filter(|&i| i > 0).unwrap_or(cut);
        out.push(rest[..at].to_owned());
        rest = rest[at..].trim_start_matches('\n');
    }
    if !rest.is_empty() || out.is_empty() {
        out.push(rest.to_owned());
    }
    out
}

/// A token bucket that waits instead of refusing.
struct Bucket {
    burst: f64,
    per_second: f64,
    /// (tokens, last refill). A tokio Mutex held while waiting, so waiters go in turn.
    state: Mutex<(f64, Instant)>,
}

impl Bucket {
    fn new(burst: f64, per_second: f64) -> Bucket {
        Bucket {
            burst,
            per_second,
            state: Mutex::new((burst, Instant::now())),
        }
    }

    async fn take(&self) {
        let mut s = self.state.lock().await;
        loop {
            let now = Instant::now();
            let refill = now.duration_since(s.1).as_secs_f64() * self.per_second;
            s.0 = (s.0 + refill).min(self.burst);
            s.1 = now;
            if s.0 >= 1.0 {
                s.0 -= 1.0;
                return;
            }
            let wait = (1.0 - s.0) / self.per_second;
            tokio::time::sleep(Duration::from_secs_f64(wait)).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_cut_at_line_breaks_and_keep_everything() {
        assert_eq!(chunks("short", 10), vec!["short"]);
        assert_eq!(chunks("", 10), vec![""]);
        assert_eq!(chunks("aaaa\nbbbb\ncccc", 10), vec!["aaaa\nbbbb", "cccc"]);
        let long = "ş".repeat(25);
        let parts = chunks(&long, 10);
        assert_eq!(parts.len(), 3);
        assert_eq!(parts.concat(), long);
    }

    #[tokio::test]
    async fn the_bucket_allows_a_burst_then_paces() {
        let b = Bucket::new(2.0, 20.0);
        let start = Instant::now();
        for _ in 0..2 {
            b.take().await;
        }
        assert!(start.elapsed() < Duration::from_millis(30));
        for _ in 0..2 {
            b.take().await;
        }
        // Two more tokens at 20/s: about 100 ms.
        let took = start.elapsed();
        assert!(took >= Duration::from_millis(90), "{took:?}");
        assert!(took < Duration::from_millis(1_000), "{took:?}");
    }
}
