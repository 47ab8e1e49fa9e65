//! What a new conversation opens with (the pack's `welcome` template, else its `greeting`,
//! with the main topics as buttons), and the follow-up buttons a finished request ends
//! with instead of a dead end (the buttons of the pack's `followup` template).

use crate::bot::Bot;
use crate::dialogue::{Conversation, Outcome, Reply, render};
use crate::lang::Lang;

/// The replies a new conversation opens with, in `lang`; none when the pack has neither a
/// `welcome` nor a `greeting` template.
pub fn opening(bot: &Bot, lang: Lang) -> Vec<Reply> {
    let Some((id, t)) = ["welcome", "greeting"]
        .iter()
        .find_map(|id| bot.templates.get(*id).map(|t| (*id, t)))
    else {
        return Vec::new();
    };
    let mut reply = render(t, lang, &|v| bot.shop.variable(v));
    reply.template = id.to_owned();
    vec![reply]
}

/// After a request ran to its end (no flow waiting for an answer, nobody else holding the
/// conversation) and its last reply offers nothing to press, that reply gets the
/// `followup` template's buttons.
pub fn follow_up(bot: &Bot, conv: &Conversation, outcome: &mut Outcome) {
    let finished = conv.flow.is_none()
        && conv.handoff.is_none()
        && !conv.awaiting_rating
        && !outcome.relayed
        && outcome.handoff.is_none()
        && outcome.intent.as_deref().is_some_and(|i| i != "goodbye");
    if !finished || outcome.replies.iter().any(|r| !r.buttons.is_empty()) {
        return;
    }
    let Some(t) = bot.templates.get("followup") else {
        return;
    };
    let buttons = render(t, outcome.lang, &|v| bot.shop.variable(v)).buttons;
    if let Some(last) = outcome.replies.last_mut() {
        last.buttons = buttons;
    }
}
