//! The Telegram channel (issue 5): a Telegram chat is a conversation (`tg-<chat_id>`) run
//! by the same engine and store as the site chat.
//!
//! ```text
//! polling::run (getUpdates)  ─┐
//!                             ├─> Channel::dispatch ─> seen (update_id once) ─> per-chat lane
//! webhook::router (POST)     ─┘        └─ answerCallbackQuery at once
//!   lane: inbound::handle ─> web::turn::run ─> send::Outgoing (per-chat lane + global bucket)
//! ```
//!
//! teloxide provides the Bot API types and requests; the update loop and the webhook handler
//! are ours, so the secret check is constant-time and every update goes through one
//! dispatch with one de-duplication.

mod files;
mod inbound;
mod keyboard;
mod lanes;
mod polling;
mod seen;
mod send;
mod transcript;
mod webhook;

use crate::orders::BoxFuture;
use crate::web::{AppState, Outbound};
use axum::Router;
use std::sync::Arc;
use teloxide::Bot;
use teloxide::payloads::SetWebhookSetters;
use teloxide::requests::Requester;
use teloxide::types::{Update, UpdateKind};
use tokio::task::JoinHandle;

/// The channel name in the store and in `AppState::register_outbound`.
pub const CHANNEL: &str = "telegram";

/// Where the webhook is served when `webhook_url` does not say.
pub const DEFAULT_WEBHOOK_PATH: &str = "/telegram/webhook";

/// How updates reach us.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Mode {
    /// getUpdates in a loop: works behind NAT, no public URL needed.
    #[default]
    Polling,
    /// Telegram POSTs updates to our server (`webhook_url`), authenticated by the secret token.
    Webhook,
}

/// The `telegram:` section of the configuration.
#[derive(Clone, PartialEq)]
pub struct Settings {
    pub token: String,
    /// A self-hosted Bot API server (or a test's fake); Telegram's own when `None`.
    pub api_url: Option<String>,
    pub mode: Mode,
    /// The public URL Telegram should POST to; when set, `start` registers it (setWebhook).
    pub webhook_url: Option<String>,
    /// Required in webhook mode: Telegram sends it in `X-Telegram-Bot-Api-Secret-Token`.
    pub secret_token: Option<String>,
    /// getUpdates long-poll timeout. Below teloxide's 17 s HTTP client timeout.
    pub poll_timeout_secs: u32,
}

impl Settings {
    pub fn new(token: impl Into<String>) -> Settings {
        Settings {
            token: token.into(),
            api_url: None,
            mode: Mode::Polling,
            webhook_url: None,
            secret_token: None,
            poll_timeout_secs: 10,
        }
    }
}

// Hand-written so neither secret reaches a log through `{:?}`.
impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("token", &"<set>")
            .field("api_url", &self.api_url)
            .field("mode", &self.mode)
            .field("webhook_url", &self.webhook_url)
            .field("secret_token", &self.secret_token.as_ref().map(|_| "<set>"))
            .finish_non_exhaustive()
    }
}

/// A started channel. Dropping it stops polling; the webhook router, if any, is to be merged
/// into the server's router.
pub struct Running {
    pub webhook: Option<Router>,
    poller: Option<JoinHandle<()>>,
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(p) = &self.poller {
            p.abort();
        }
    }
}

/// Everything the update handlers share.
pub(crate) struct Channel {
    bot: Bot,
    state: AppState,
    /// The bot's @username, lowercased, for mentions in groups.
    username: String,
    bot_user_id: u64,
    seen: seen::Seen,
    inbound: Arc<lanes::Lanes<Update>>,
    outgoing: send::Outgoing,
    keyboards: keyboard::Keyboards,
}

/// Connects to the Bot API (getMe), registers the channel for agents' replies and starts
/// receiving updates: a polling task, or a router for the webhook.
pub async fn start(state: AppState, settings: &Settings) -> Result<Running, String> {
    let mut bot = Bot::new(&settings.token);
    if let Some(url) = &settings.api_url {
        let url = reqwest::Url::parse(url).map_err(|e| format!("telegram.api_url: {e}"))?;
        bot = bot.set_api_url(url);
    }
    let me = bot
        .get_me()
        .await
        .map_err(|e| format!("telegram getMe: {e}"))?;
    let channel = Arc::new(Channel {
        bot: bot.clone(),
        state: state.clone(),
        username: me.username().to_lowercase(),
        bot_user_id: me.user.id.0,
        seen: seen::Seen::new(4096),
        inbound: lanes::Lanes::new(),
        outgoing: send::Outgoing::new(bot.clone(), send::Limits::default()),
        keyboards: keyboard::Keyboards::default(),
    });
    state.register_outbound(CHANNEL, Arc::new(AgentReplies(Arc::clone(&channel))));
    match settings.mode {
        Mode::Polling => {
            // getUpdates is refused while a webhook is set.
            bot.delete_webhook()
                .await
                .map_err(|e| format!("telegram deleteWebhook: {e}"))?;
            let poller = tokio::spawn(polling::run(channel, settings.poll_timeout_secs));
            Ok(Running {
                webhook: None,
                poller: Some(poller),
            })
        }
        Mode::Webhook => {
            let secret = settings
                .secret_token
                .clone()
                .ok_or("telegram webhook mode needs a secret token")?;
            let path = webhook::path(settings.webhook_url.as_deref())?;
            if let Some(url) = &settings.webhook_url {
                let url =
                    reqwest::Url::parse(url).map_err(|e| format!("telegram.webhook_url: {e}"))?;
                bot.set_webhook(url)
                    .secret_token(secret.clone())
                    .await
                    .map_err(|e| format!("telegram setWebhook: {e}"))?;
            }
            Ok(Running {
                webhook: Some(webhook::router(channel, &path, &secret)),
                poller: None,
            })
        }
    }
}

/// `tg-<chat_id>`.
pub fn conversation_id(chat_id: i64) -> String {
    format!("tg-{chat_id}")
}

fn chat_of_conversation(id: &str) -> Option<i64> {
    id.strip_prefix("tg-")?.parse().ok()
}

impl Channel {
    /// Every update, polled or posted, comes through here exactly once.
    fn dispatch(self: &Arc<Self>, update: Update) {
        if !self.seen.first_time(update.id.0) {
            return;
        }
        if let UpdateKind::CallbackQuery(q) = &update.kind {
            // Answered before the turn runs so the button's spinner stops at once, even while
            // the chat's lane is busy.
            let answer = self.bot.answer_callback_query(q.id.clone());
            tokio::spawn(async move {
                if let Err(e) = answer.await {
                    crate::logging::warn(format_args!("telegram: answerCallbackQuery failed: {e}"));
                }
            });
        }
        let Some(chat) = update.chat().map(|c| c.id.0) else {
            return;
        };
        let channel = Arc::clone(self);
        self.inbound.push(chat, update, move |u| {
            let channel = Arc::clone(&channel);
            async move { inbound::handle(&channel, u).await }
        });
    }
}

/// Agents' replies during a handoff, queued like any other message to the chat.
struct AgentReplies(Arc<Channel>);

impl Outbound for AgentReplies {
    fn send<'a>(&'a self, conversation_id: &'a str, text: &'a str) -> BoxFuture<'a, bool> {
        Box::pin(async move {
            match chat_of_conversation(conversation_id) {
                Some(chat) => {
                    self.0.outgoing.text(chat, text, None);
                    true
                }
                None => false,
            }
        })
    }

    fn send_reply<'a>(
        &'a self,
        conversation_id: &'a str,
        reply: &'a crate::dialogue::Reply,
    ) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(async move {
            let chat = chat_of_conversation(conversation_id)
                .ok_or_else(|| format!("{conversation_id} is not a Telegram chat"))?;
            let keyboard = self.0.keyboards.markup(&reply.buttons);
            self.0.outgoing.confirmed(chat, &reply.text, keyboard).await
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversation_ids_round_trip() {
        assert_eq!(
            chat_of_conversation(&conversation_id(-100123)),
            Some(-100123)
        );
        assert_eq!(chat_of_conversation("web-1"), None);
    }

    #[test]
    fn debug_hides_secrets() {
        let mut s = Settings::new("123:SECRET");
        s.secret_token = Some("hush".into());
        let shown = format!("{s:?}");
        assert!(
            !shown.contains("SECRET") && !shown.contains("hush"),
            "{shown}"
        );
    }
}
