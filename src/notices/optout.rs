//! Opting out of notices: "stop", "dur", "لغو", "unsubscribe". These words mean other
//! things in ordinary conversation ("stop my order"), so they opt out only as the whole
//! message, or — in a conversation that has received a notice — alongside nothing but
//! words about the notices themselves ("please stop sending these"). The opt-out is
//! kept in the conversation's state and the customer is told so; "start" as the whole
//! message of a conversation that opted out turns notices back on.

use crate::bot::Bot;
use crate::dialogue::{Conversation, Input, Outcome, render};
use crate::lang::Lang;
use crate::normalise::fold;

/// The words that opt out, with the language each is written in.
const WORDS: &[(&str, Lang)] = &[
    ("stop", Lang::En),
    ("unsubscribe", Lang::En),
    ("dur", Lang::Tr),
    ("durdur", Lang::Tr),
    ("لغو", Lang::Fa),
];

/// Words that turn notices back on, as the whole message of a conversation that opted out.
const BACK_ON: &[(&str, Lang)] = &[
    ("start", Lang::En),
    ("subscribe", Lang::En),
    ("başla", Lang::Tr),
    ("basla", Lang::Tr),
    ("شروع", Lang::Fa),
];

/// Whether `text` asks for notices again (only asked of a conversation that opted out).
pub fn opt_in(text: &str) -> Option<Lang> {
    let folded = fold(text);
    let words: Vec<&str> = folded.split_whitespace().collect();
    let [only] = words.as_slice() else {
        return None;
    };
    BACK_ON
        .iter()
        .find(|(w, _)| fold(w) == *only)
        .map(|(_, lang)| *lang)
}

/// Words that may stand beside an opt-out word in a conversation that received a notice:
/// politeness and words for the notices themselves, never an order, a product or a verb
/// about an order.
const ABOUT_NOTICES: &[&str] = &[
    "please",
    "pls",
    "plz",
    "just",
    "now",
    "notices",
    "notice",
    "notifications",
    "notification",
    "messages",
    "message",
    "updates",
    "update",
    "sending",
    "send",
    "these",
    "this",
    "them",
    "those",
    "it",
    "me",
    "no",
    "more",
    "thanks",
    "thank",
    "you",
    "ok",
    "lütfen",
    "artık",
    "bildirim",
    "bildirimler",
    "bildirimleri",
    "mesaj",
    "mesajlar",
    "mesajları",
    "bana",
    "gönderme",
    "göndermeyin",
    "teşekkürler",
    "tamam",
    "لطفا",
    "لطفاً",
    "پیام",
    "پیامها",
    "پیام‌ها",
    "اطلاع",
    "اطلاعیه",
    "رسانی",
    "اطلاع‌رسانی",
    "اشتراک",
    "دیگه",
    "دیگر",
    "ممنون",
    "مرسی",
];

/// Whether `text` opts out of notices; `after_notice`: the conversation received one.
/// Returns the language of the opt-out word.
pub fn opt_out(text: &str, after_notice: bool) -> Option<Lang> {
    let folded = fold(text);
    let words: Vec<&str> = folded.split_whitespace().collect();
    let word_lang = |w: &str| {
        WORDS
            .iter()
            .find(|(o, _)| fold(o) == w)
            .map(|(_, lang)| *lang)
    };
    if let [only] = words.as_slice() {
        return word_lang(only);
    }
    if !after_notice || words.len() > 8 {
        return None;
    }
    let about: Vec<String> = ABOUT_NOTICES.iter().map(|w| fold(w)).collect();
    let mut lang = None;
    for w in &words {
        match word_lang(w) {
            Some(l) => lang = lang.or(Some(l)),
            None if about.iter().any(|a| a == w) => {}
            None => return None,
        }
    }
    lang
}

/// Before the engine runs a customer's turn: notes that a notice was answered (returns
/// `true` in the second place), and handles an opt-out (returns its outcome; the engine
/// is then not run). A conversation with a person is left to the person.
pub fn before_turn(bot: &Bot, conv: &mut Conversation, input: &Input) -> (Option<Outcome>, bool) {
    let answered = conv.notices.unanswered.take().is_some();
    if conv.handoff.is_some() {
        return (None, answered);
    }
    let Some(text) = input.text.as_deref() else {
        return (None, answered);
    };
    let (word_lang, template) = if conv.notices.off {
        match opt_in(text) {
            Some(l) => (l, super::render::OPTED_IN),
            None => return (None, answered),
        }
    } else {
        match opt_out(text, conv.notices.received > 0) {
            Some(l) => (l, super::render::OPTED_OUT),
            None => return (None, answered),
        }
    };
    conv.notices.off = template == super::render::OPTED_OUT;
    let lang = conv.lang.or(input.lang_hint).unwrap_or(word_lang);
    let replies = bot
        .templates
        .get(template)
        .map(|t| render(t, lang, &|name| bot.shop.variable(name)))
        .into_iter()
        .collect();
    let outcome = Outcome {
        replies,
        lang,
        intent: Some(
            if conv.notices.off {
                "notices_off"
            } else {
                "notices_on"
            }
            .into(),
        ),
        handoff: None,
        relayed: false,
        failed_verifications: Vec::new(),
        rating: None,
        fallback: false,
    };
    (Some(outcome), answered)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_whole_message_opts_out_in_any_conversation() {
        assert_eq!(opt_out("STOP", false), Some(Lang::En));
        assert_eq!(opt_out("Dur.", false), Some(Lang::Tr));
        assert_eq!(opt_out("لغو", false), Some(Lang::Fa));
        assert_eq!(opt_out("unsubscribe!", false), Some(Lang::En));
    }

    #[test]
    fn ordinary_messages_with_the_words_do_not() {
        assert_eq!(opt_out("please stop sending these", false), None);
        assert_eq!(opt_out("stop my order 48213977", true), None);
        assert_eq!(opt_out("siparişimi durdur", true), None);
        assert_eq!(opt_out("سفارشم را لغو کن", true), None);
        assert_eq!(opt_out("where is my order", true), None);
    }

    #[test]
    fn only_a_whole_start_turns_them_back_on() {
        assert_eq!(opt_in("Start"), Some(Lang::En));
        assert_eq!(opt_in("başla"), Some(Lang::Tr));
        assert_eq!(opt_in("شروع"), Some(Lang::Fa));
        assert_eq!(opt_in("start my return"), None);
    }

    #[test]
    fn after_a_notice_a_short_request_about_notices_does() {
        assert_eq!(opt_out("please stop sending these", true), Some(Lang::En));
        assert_eq!(opt_out("bildirimleri durdur lütfen", true), Some(Lang::Tr));
        assert_eq!(opt_out("لطفا اطلاع رسانی لغو", true), Some(Lang::Fa));
    }
}
