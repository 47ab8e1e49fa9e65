//! Compiles the `conversation:` section: stall, farewell, insult, no-number and spam
//! phrases (folded like messages), the intents answered in passing, and the intent a bare
//! order number starts.

use super::diag::Diagnostics;
use super::raw::{self, PerLang, S};
use crate::bot::{ConversationWords, Phrases};
use crate::lang::Lang;
use crate::normalise::fold;

/// The section from whichever file sets it; set twice is an error, absent is empty.
pub(super) fn compile<'p>(
    sections: impl Iterator<Item = (&'p str, Option<&'p S<raw::ConversationWords>>)>,
    intent_ids: &dyn Fn(&str) -> bool,
    threshold: f32,
    d: &mut Diagnostics,
) -> ConversationWords {
    let mut found: Option<(&str, &raw::ConversationWords)> = None;
    for (path, section) in sections {
        let Some(section) = section else { continue };
        if let Some((prev, _)) = found {
            d.error(
                path,
                section.referenced,
                format!("`conversation` is set twice (first in {prev})"),
            );
            continue;
        }
        found = Some((path, &section.value));
    }
    let Some((path, c)) = found else {
        return ConversationWords {
            threshold,
            ..ConversationWords::default()
        };
    };
    let mut check_intent = |id: &S<String>, what: &str| {
        if !intent_ids(&id.value) {
            d.error(
                path,
                id.referenced,
                format!("`conversation.{what}` names unknown intent `{}`", id.value),
            );
        }
    };
    for id in &c.side_answers {
        check_intent(id, "side_answers");
    }
    if let Some(id) = &c.bare_order_number {
        check_intent(id, "bare_order_number");
    }
    for entry in &c.clarify {
        for id in &entry.value.ask {
            check_intent(id, "clarify.ask");
        }
    }
    for entry in c.clarify.iter().filter(|e| e.value.ask.len() < 2) {
        d.error(
            path,
            entry.referenced,
            "`conversation.clarify` needs at least two intents to ask between",
        );
    }
    ConversationWords {
        stall: phrases(&c.stall),
        farewell: phrases(&c.farewell),
        insult: phrases(&c.insult),
        no_number: phrases(&c.no_number),
        bot_question: phrases(&c.bot_question),
        spam: phrases(&c.spam),
        return_reason: phrases(&c.return_reason),
        address: phrases(&c.address),
        withdraw: phrases(&c.withdraw),
        last_digits: phrases(&c.last_digits),
        hesitate: sounds(&c.hesitate),
        clarify: c
            .clarify
            .iter()
            .map(|e| {
                (
                    phrases(&e.value.words),
                    e.value.ask.iter().map(|s| s.value.clone()).collect(),
                )
            })
            .collect(),
        side_answers: c.side_answers.iter().map(|s| s.value.clone()).collect(),
        bare_order_number: c.bare_order_number.as_ref().map(|s| s.value.clone()),
        threshold,
        scan: Default::default(),
    }
    .indexed()
}

/// Thinking sounds: folded like phrases, then each run of a repeated letter cut to one, as
/// `dialogue::turn::hesitate` reads a message's words ("hmmm" and "hmm" are one sound).
fn sounds(p: &PerLang<Vec<S<String>>>) -> Phrases {
    let mut out: Vec<(Lang, String)> = Vec::new();
    for (lang, sound) in phrases(p).phrases() {
        let once = crate::dialogue::sound_form(sound);
        if !out.iter().any(|(_, s)| *s == once) {
            out.push((*lang, once));
        }
    }
    Phrases::new(out)
}

fn phrases(p: &PerLang<Vec<S<String>>>) -> Phrases {
    let langs = [(Lang::Tr, &p.tr), (Lang::Fa, &p.fa), (Lang::En, &p.en)];
    let mut out = Vec::new();
    for (lang, list) in langs {
        for w in list.iter().flat_map(|l| l.value.iter()) {
            let f = fold(&w.value);
            if !f.is_empty() {
                out.push((lang, f));
            }
        }
    }
    Phrases::new(out)
}
