//! One update of one chat: what the customer said, as a turn of the conversation, and the
//! replies queued for sending. Runs in the chat's lane, so a chat's updates go in order.

use super::{Channel, keyboard, transcript};
use crate::lang::Lang;
use crate::web::{Caller, Said, turn};
use teloxide::types::{CallbackQuery, Message, Update, UpdateKind};

/// The payload `/start` and `/help` run: the greeting, with the main topics as buttons.
const GREETING: &str = "intent:greeting";
const HUMAN: &str = "intent:human_agent";

pub(super) async fn handle(channel: &Channel, update: Update) {
    match update.kind {
        UpdateKind::Message(m) => message(channel, &m).await,
        UpdateKind::CallbackQuery(q) => callback(channel, &q).await,
        // Edits, channel posts, member changes …: not something a customer said to us.
        _ => {}
    }
}

/// What a message amounts to.
#[derive(Debug, PartialEq)]
enum Incoming {
    Start(String),
    Human(String),
    Transcript,
    Text(String),
    /// A photo, sticker, voice note or file: kept in the transcript as `description` (with
    /// the file id, so a person can open it on handoff); a caption is answered as text.
    Media {
        description: String,
        caption: Option<String>,
    },
    Ignored,
}

async fn message(channel: &Channel, m: &Message) {
    if m.from.as_ref().is_some_and(|u| u.is_bot) {
        return;
    }
    let incoming = classify(m, &channel.username, channel.bot_user_id);
    if incoming == Incoming::Ignored {
        return;
    }
    let chat = m.chat.id.0;
    let id = super::conversation_id(chat);
    let lang = m
        .from
        .as_ref()
        .and_then(|u| u.language_code.as_deref())
        .and_then(Lang::parse);
    if let Err(e) = channel
        .state
        .ensure_conversation(&id, super::CHANNEL, lang)
        .await
    {
        crate::logging::warn(format_args!("telegram: conversation {id}: {e:?}"));
        return;
    }
    let said = match incoming {
        Incoming::Start(cmd) => Said::Button(GREETING.into(), Some(cmd)),
        Incoming::Human(cmd) => Said::Button(HUMAN.into(), Some(cmd)),
        Incoming::Transcript => return send_transcript(channel, chat, &id).await,
        Incoming::Text(t) => Said::Text(t),
        Incoming::Media {
            description,
            caption,
        } => {
            // A photo or document is kept, and linked in the transcript, when it can be.
            let description = super::files::keep(channel, &id, m)
                .await
                .unwrap_or(description);
            match caption {
                // A photo with a caption is a message: the caption is what the customer says.
                Some(c) if !c.trim().is_empty() => Said::Text(format!("{description} {c}")),
                _ => Said::Media(description),
            }
        }
        Incoming::Ignored => return,
    };
    run_turn(channel, chat, &id, said).await;
}

async fn callback(channel: &Channel, q: &CallbackQuery) {
    // Answered already (`Channel::dispatch`). A press on a message we cannot see, or on a
    // button this process did not make, has nothing to run.
    let Some(msg) = q.message.as_ref() else {
        return;
    };
    let Some(data) = q.data.as_deref() else {
        return;
    };
    let Some(payload) = channel.keyboards.payload(data) else {
        return;
    };
    let chat = msg.chat().id.0;
    let id = super::conversation_id(chat);
    let lang = q.from.language_code.as_deref().and_then(Lang::parse);
    if let Err(e) = channel
        .state
        .ensure_conversation(&id, super::CHANNEL, lang)
        .await
    {
        crate::logging::warn(format_args!("telegram: conversation {id}: {e:?}"));
        return;
    }
    let label = msg
        .regular_message()
        .and_then(|m| keyboard::label(m.reply_markup(), data));
    run_turn(channel, chat, &id, Said::Button(payload, label)).await;
}

async fn run_turn(channel: &Channel, chat: i64, id: &str, said: Said) {
    match turn::run(&channel.state, id, Caller::Trusted, said).await {
        Ok(outcome) => {
            for r in &outcome.replies {
                let keyboard = channel.keyboards.markup(&r.buttons);
                channel.outgoing.text(chat, &r.text, keyboard);
            }
        }
        Err(e) => crate::logging::warn(format_args!("telegram: turn of {id}: {e:?}")),
    }
}

async fn send_transcript(channel: &Channel, chat: i64, id: &str) {
    match channel.state.shared().store.transcript(id).await {
        Ok(lines) => {
            for text in transcript::messages(&lines) {
                channel.outgoing.text(chat, &text, None);
            }
        }
        Err(e) => crate::logging::warn(format_args!("telegram: transcript of {id}: {e}")),
    }
}

/// Reads a message: commands, text, media; in a group only what is addressed to us.
fn classify(m: &Message, username: &str, bot_user_id: u64) -> Incoming {
    let private = m.chat.is_private();
    let replied_to_us = m
        .reply_to_message()
        .and_then(|r| r.from.as_ref())
        .is_some_and(|u| u.id.0 == bot_user_id);
    let mention = format!("@{username}");
    let text = m.text().or(m.caption()).unwrap_or_default();
    let mentioned = contains_ignore_case(text, &mention);

    if let Some(t) = m.text()
        && let Some(command) = t.strip_prefix('/')
    {
        let (word, args) = command
            .split_once(char::is_whitespace)
            .unwrap_or((command, ""));
        let (name, target) = word.split_once('@').unwrap_or((word, ""));
        // `/start@other_bot` is for another bot in the group.
        if !target.is_empty() && !target.eq_ignore_ascii_case(username) {
            return Incoming::Ignored;
        }
        let shown = format!("/{name}");
        match name.to_ascii_lowercase().as_str() {
            "start" | "help" => return Incoming::Start(shown),
            "human" => return Incoming::Human(shown),
            "transcript" => return Incoming::Transcript,
            // An unknown command is read as text, without the slash word.
            _ if !args.trim().is_empty() => return Incoming::Text(args.trim().to_owned()),
            _ => {}
        }
    }
    if !private && !mentioned && !replied_to_us {
        return Incoming::Ignored;
    }
    let caption = m
        .caption()
        .map(|c| strip_mention(c, &mention))
        .filter(|c| !c.is_empty());
    if let Some(description) = media(m) {
        return Incoming::Media {
            description,
            caption,
        };
    }
    match m.text() {
        Some(t) => Incoming::Text(strip_mention(t, &mention)),
        None => Incoming::Ignored,
    }
}

/// `[photo file_id=…]` and the like, for the transcript.
fn media(m: &Message) -> Option<String> {
    if let Some(sizes) = m.photo() {
        // The last size is the largest.
        let id = sizes
            .last()
            .map(|p| p.file.id.0.as_str())
            .unwrap_or_default();
        return Some(format!("[photo file_id={id}]"));
    }
    if let Some(s) = m.sticker() {
        let emoji = s.emoji.as_deref().unwrap_or_default();
        return Some(format!("[sticker {emoji} file_id={}]", s.file.id.0));
    }
    if let Some(v) = m.voice() {
        return Some(format!("[voice file_id={}]", v.file.id.0));
    }
    if let Some(d) = m.document() {
        let name = d.file_name.as_deref().unwrap_or_default();
        return Some(format!("[document {name} file_id={}]", d.file.id.0));
    }
    if let Some(v) = m.video() {
        return Some(format!("[video file_id={}]", v.file.id.0));
    }
    if let Some(v) = m.video_note() {
        return Some(format!("[video_note file_id={}]", v.file.id.0));
    }
    if let Some(a) = m.audio() {
        return Some(format!("[audio file_id={}]", a.file.id.0));
    }
    if let Some(a) = m.animation() {
        return Some(format!("[animation file_id={}]", a.file.id.0));
    }
    None
}

fn contains_ignore_case(text: &str, needle: &str) -> bool {
    text.to_lowercase().contains(&needle.to_lowercase())
}

/// The message without our @mention (Telegram usernames are ASCII, so byte offsets of the
/// lowercased text match the original).
fn strip_mention(text: &str, mention: &str) -> String {
    let lower = text.to_ascii_lowercase();
    let mention = mention.to_ascii_lowercase();
    let mut out = String::with_capacity(text.len());
    let mut rest = 0;
    for (i, _) in lower.match_indices(&mention) {
        out.push_str(&text[rest..i]);
        rest = i + mention.len();
    }
    out.push_str(&text[rest..]);
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(chat: serde_json::Value, extra: serde_json::Value) -> Message {
        let mut m = serde_json::json!({
            "message_id": 1, "date": 0, "chat": chat,
            "from": {"id": 7, "is_bot": false, "first_name": "A", "language_code": "tr"},
        });
        if let (Some(m), Some(extra)) = (m.as_object_mut(), extra.as_object()) {
            m.extend(extra.clone());
        }
        match serde_json::from_value(m) {
            Ok(m) => m,
            Err(e) => panic!("test message: {e}"),
        }
    }

    fn private() -> serde_json::Value {
        serde_json::json!({"id": 7, "type": "private", "first_name": "A"})
    }

    fn group() -> serde_json::Value {
        serde_json::json!({"id": -100, "type": "group", "title": "G"})
    }

    fn read(chat: serde_json::Value, extra: serde_json::Value) -> Incoming {
        classify(&msg(chat, extra), "destek_bot", 99)
    }

    #[test]
    fn commands_text_and_media() {
        use serde_json::json;
        assert_eq!(
            read(private(), json!({"text": "/start"})),
            Incoming::Start("/start".into())
        );
        assert_eq!(
            read(private(), json!({"text": "/help@Destek_Bot"})),
            Incoming::Start("/help".into())
        );
        assert_eq!(
            read(private(), json!({"text": "/human"})),
            Incoming::Human("/human".into())
        );
        assert_eq!(
            read(private(), json!({"text": "/transcript"})),
            Incoming::Transcript
        );
        assert_eq!(
            read(private(), json!({"text": "kargom nerede"})),
            Incoming::Text("kargom nerede".into())
        );
        let photo = json!({"photo": [
            {"file_id": "small", "file_unique_id": "s", "width": 1, "height": 1},
            {"file_id": "BIG", "file_unique_id": "b", "width": 9, "height": 9}
        ]});
        assert_eq!(
            read(private(), photo),
            Incoming::Media {
                description: "[photo file_id=BIG]".into(),
                caption: None
            }
        );
    }

    #[test]
    fn groups_need_a_mention_a_reply_or_our_command() {
        use serde_json::json;
        assert_eq!(
            read(group(), json!({"text": "hello all"})),
            Incoming::Ignored
        );
        assert_eq!(
            read(group(), json!({"text": "/start@other_bot"})),
            Incoming::Ignored
        );
        assert_eq!(
            read(group(), json!({"text": "@Destek_Bot where is my order"})),
            Incoming::Text("where is my order".into())
        );
        let reply = json!({"text": "48213977", "reply_to_message": {
            "message_id": 0, "date": 0, "chat": group(), "text": "number?",
            "from": {"id": 99, "is_bot": true, "first_name": "B"}
        }});
        assert_eq!(read(group(), reply), Incoming::Text("48213977".into()));
    }
}
