//! Small talk that steers the conversation rather than naming a request (the
//! `conversation:` section of the pack): a yes or no to resuming after a side question,
//! spam, stalls, insults, "I don't have the number", thanks with a goodbye, and a message
//! that is only an order number. None of these counts as a failed attempt or a miss.

use super::Turn;
use crate::bot::{Bot, ConversationWords, Phrases, Route, StepKind};
use crate::entities::EntityKind;
use crate::matcher::{Classification, Decision};
use crate::phrase_scan::PhraseHits;

/// The payload of the "find my order by e-mail or phone" button.
const LOOKUP_BY_CONTACT: &str = "lookup:contact";

/// An e-mail or phone with at most this many words around it is a contact given alone.
const CONTACT_ALONE_WORDS: usize = 4;

/// "Are you a bot?" is a short question; a longer message with those words is about more.
const BOT_QUESTION_WORDS: usize = 8;

/// A message of at most this many words may be asked about (`conversation.clarify`).
const CLARIFY_WORDS: usize = 3;

impl<'a> Turn<'a> {
    /// Handles the message when it steers; `true` when routing is done.
    pub(super) fn steer(&mut self, decision: Decision) -> bool {
        if self.resume_answer() {
            return true;
        }
        if self.payload.as_deref() == Some(LOOKUP_BY_CONTACT) {
            // The "find it by e-mail or phone" button: where the number is, and the offer.
            return self.start_without_number();
        }
        let Some(m) = &self.message else {
            return false;
        };
        let words = &self.bot.words;
        let folded = m.norm.folded.clone();
        let has_entities = !m.entities.is_empty();
        // An order number with no request around it ("4412093", "order 5908316. 19 days.
        // what is going on") asks where that order is; so does an e-mail or a phone alone
        // (the order is looked up by it, then verified with the other factor).
        let only_number = m.entities.len() == 1
            && (m.entities[0].kind == EntityKind::OrderNumber
                || crate::words::count(&folded) <= CONTACT_ALONE_WORDS);
        let intent = match decision {
            Decision::Intent(i) => Some(i),
            _ => None,
        };
        let hits = m.phrases;
        let has = |list: &Phrases| hits.find(list, &folded).is_some();
        // An intent chosen on its examples alone gives way to a steering phrase ("salak bot
        // ya" reads like a complaint, but it is an insult); one the operator's keywords
        // chose does not.
        let threshold = self.bot.matcher.tuning().threshold;
        let weak = intent.is_none_or(|i| !m.class.keyword_backed(i, threshold));
        // "👍" or "🙏" alone answers what the bot said: no spam (a row of emoji is). While
        // the bot waits for a number or an e-mail it keeps waiting; at any other question
        // it asks it again (an emoji confirms nothing); otherwise it asks what else it can
        // do.
        // "Hmm" is the same: the customer is thinking.
        if is_reaction(&m.text, &folded)
            || super::hesitate::is_hesitation(&folded, &self.bot.words.hesitate)
        {
            self.out.intent = None;
            let waiting = self.conv.flow.as_ref().is_some_and(|p| p.waiting);
            if waiting && self.expecting().is_none() {
                self.input_used = true;
                self.reprompt = true;
                return true;
            }
            self.say(if waiting { "stall" } else { "followup" });
            return self.done();
        }
        if is_spam(&m.text, &folded, intent.is_some(), words, &hits) {
            let template = if self.conv.spam_seen == 0 {
                "spam"
            } else {
                "spam_again"
            };
            self.conv.spam_seen += 1;
            self.out.intent = None;
            self.say(template);
            return self.done();
        }
        if self.withdraws(has_entities) {
            // "Nvm, how long does delivery take?", "ولش کن، اپراتور میخوام": the request
            // is dropped and the one named instead is what the customer wants now.
            let instead = intent.filter(|&i| {
                self.bot.intents[i].priority >= 0
                    && self
                        .current_step()
                        .is_none_or(|(flow, _)| !self.intent_runs_flow(i, &flow.id))
            });
            self.conv.flow = None;
            if instead.is_some() {
                return false;
            }
            self.say("resume_dropped");
            return self.done();
        }
        // "Ok" while the bot waits for a number or an e-mail: the customer is getting it.
        let waiting_for_entity =
            self.conv.flow.as_ref().is_some_and(|p| p.waiting) && self.expecting().is_some();
        let just_ok = crate::words::count(&folded) <= 2 && self.yes_no() == Some(true);
        // "Wait no, apt 12 not 21" at the address read-back is a correction, not a stall.
        let correcting = self.corrects_read_back_address();
        // "Actually wait, where is it now?" asks something: a request, however weak, with
        // a question mark is no stall.
        let asks = intent.is_some() && crate::words::has_question_mark(&m.text);
        if weak
            && !has_entities
            && !correcting
            && !asks
            && (has(&words.stall) || (waiting_for_entity && just_ok))
        {
            self.say("stall");
            return self.done();
        }
        // "Tmm", "okey" after an answer, matching nothing: an acknowledgement, not a miss.
        let in_flow = self.conv.flow.as_ref().is_some_and(|p| p.waiting);
        if matches!(decision, Decision::None) && just_ok && !has_entities && !in_flow {
            self.say("followup");
            return self.done();
        }
        // "Are you a bot?" — yes, honestly, and a person is one tap away. Not a handoff: the
        // customer asked what they are talking to, not for someone else.
        if !has_entities
            && crate::words::count(&folded) <= BOT_QUESTION_WORDS
            && has(&words.bot_question)
            && self.bot.templates.contains_key("bot_identity")
        {
            self.out.intent = None;
            self.say("bot_identity");
            return self.done();
        }
        if weak && !has_entities && has(&words.insult) {
            self.say("insult");
            return self.done();
        }
        // A short message that could mean several requests: one question, with buttons.
        // Not when the operator's keywords name the request ("kargo ücreti", "payment
        // failed"): the clarify word is only part of it.
        let short = crate::words::count(&folded) <= CLARIFY_WORDS;
        let waiting = self.conv.flow.as_ref().is_some_and(|p| p.waiting);
        if short && weak && !has_entities && !waiting {
            let options = words
                .clarify
                .iter()
                .find(|(phrases, _)| has(phrases))
                .map(|(_, ask)| ask.clone());
            if let Some(options) = options {
                self.clarify_among(&options);
                return self.done();
            }
        }
        if has(&words.no_number) && !has_entities {
            self.no_number = true;
            // "Where is the order number?" while the bot waits for it answers that question
            // (its words may read like "where is my order"), it starts nothing new.
            if let Some(i) = intent
                .filter(|&i| matches!(self.bot.intents[i].route, Route::Flow(_)))
                .filter(|_| !waiting)
            {
                self.start_intent(i);
                self.input_used = true;
                return true;
            }
            if self.conv.flow.is_some() {
                self.input_used = true;
                self.reprompt = true;
                return true;
            }
            if self.start_without_number() {
                return true;
            }
        }
        // Thanks with a goodbye closes warmly, without "anything else?". A general question
        // asked on the way out ("thanks, just tell me the shipping fee, bye") is answered
        // first; a request for which the bot must ask ("which one?", a flow) is no goodbye,
        // and neither is a greeting ("Merhabalar, iyi günler" opens a conversation).
        if has(&words.farewell)
            && let Some(asked) = self.asked_on_the_way_out(decision)
            && let Some(bye) = self.bot.intent("goodbye")
            && let Route::Answer(t) = &self.bot.intents[bye].route
        {
            if let Some(answer) = asked {
                self.say(answer);
            }
            // A greeting's words that leave are a goodbye.
            if intent.is_some_and(|i| self.bot.intents[i].id == "greeting") {
                self.out.intent = Some(self.bot.intents[bye].id.clone());
            }
            self.say(t);
            return self.done();
        }
        if intent.is_none()
            && self.conv.flow.is_none()
            && only_number
            && let Some(i) = self.bare_order_intent()
        {
            self.out.intent = Some(self.bot.intents[i].id.clone());
            // Another order than the one discussed before ("and 5510662?"): that one.
            self.apply_corrections();
            self.start_intent(i);
            return true;
        }
        false
    }

    /// With a goodbye in the message: `None` when the message is no goodbye (a greeting, a
    /// request that starts a flow, a question too close to call), else the template of the
    /// general question to answer before it, if any.
    fn asked_on_the_way_out(&self, decision: Decision) -> Option<Option<&'a str>> {
        let bot: &'a crate::bot::Bot = self.bot;
        match decision {
            Decision::None => Some(None),
            Decision::Clarify(..) => None,
            Decision::Intent(i) if self.closing(i) => Some(None),
            // "Merhabalar, iyi günler" greets; "…allahaısmarladık, iyi akşamlar" has only
            // the words both ways and leaves — unless it opens the conversation: a first
            // "iyi günler" is hello.
            // A first message that also says a goodbye no greeting shares ("…,
            // allahaısmarladık, iyi akşamlar") leaves all the same.
            Decision::Intent(i) if bot.intents[i].id == "greeting" => ((!self.opening
                || self.farewell_beyond_greeting(i))
                && !self.greets_beyond_farewell(i))
            .then_some(None),
            Decision::Intent(i) => match &bot.intents[i].route {
                Route::Answer(t) => Some(Some(t.as_str())),
                _ => None,
            },
        }
    }

    /// "Never mind" while the bot asks for something (the order number, an e-mail, an
    /// item, a reason, an address): the customer drops the request
    /// (`conversation.withdraw`), unless the message names another one or gives what was
    /// asked. "Vazgeçtim" (I changed my mind) is a reason for a return, not a withdrawal.
    fn withdraws(&self, has_entities: bool) -> bool {
        let Some(m) = &self.message else {
            return false;
        };
        let step = self
            .conv
            .flow
            .as_ref()
            .filter(|p| p.waiting)
            .and_then(|_| self.current_step())
            .map(|(_, kind)| kind);
        let asking = matches!(step, Some(StepKind::Ask { .. } | StepKind::Verify { .. }));
        let a_reason = || {
            matches!(step, Some(StepKind::Ask { slot, .. }) if slot == "return_reason")
                && m.phrases
                    .find(&self.bot.words.return_reason, &m.norm.folded)
                    .is_some()
        };
        asking
            && !has_entities
            && !a_reason()
            && m.phrases
                .find(&self.bot.words.withdraw, &m.norm.folded)
                .is_some()
            && self.other_request_named().is_none()
    }

    /// A keyword of `greeting` in the message that is not also a goodbye ("merhaba", not
    /// "iyi akşamlar").
    fn greets_beyond_farewell(&self, greeting: usize) -> bool {
        let Some(m) = &self.message else {
            return false;
        };
        let folded = &m.norm.folded;
        m.class.hits.iter().any(|h| {
            h.intent == greeting
                && !h.negative
                && folded
                    .get(h.start..h.end)
                    .is_some_and(|t| self.bot.words.farewell.find(t).is_none())
        })
    }

    /// A `conversation.farewell` phrase outside every greeting keyword of the message
    /// ("allahaısmarladık", not the "iyi akşamlar" that also greets).
    fn farewell_beyond_greeting(&self, greeting: usize) -> bool {
        let Some(m) = &self.message else {
            return false;
        };
        let mut rest = m.norm.folded.clone().into_bytes();
        for h in m
            .class
            .hits
            .iter()
            .filter(|h| h.intent == greeting && !h.negative)
        {
            if let Some(span) = rest.get_mut(h.start..h.end) {
                span.fill(b' ');
            }
        }
        // Blanking whole hits keeps the text UTF-8 (hits start and end on characters).
        String::from_utf8(rest).is_ok_and(|rest| self.bot.words.farewell.find(&rest).is_some())
    }

    /// The intent `conversation.bare_order_number` names (an order number on its own).
    pub(super) fn bare_order_intent(&self) -> Option<usize> {
        let id = self.bot.words.bare_order_number.as_deref()?;
        self.bot.intent(id)
    }

    /// Starts `conversation.bare_order_number` for a customer without the number: the
    /// question for it becomes `no_number`.
    fn start_without_number(&mut self) -> bool {
        let Some(i) = self.bare_order_intent() else {
            return false;
        };
        self.no_number = true;
        self.out.intent = Some(self.bot.intents[i].id.clone());
        self.start_intent(i);
        self.input_used = true;
        true
    }

    /// The message is used up and the bot waits for the next one; the flow in progress,
    /// if any, stays where it is.
    fn done(&mut self) -> bool {
        self.input_used = true;
        self.finished = true;
        true
    }

    /// After "shall we go on?": yes asks the pending step's question again (a yes to going
    /// on never answers that question), no drops the flow.
    fn resume_answer(&mut self) -> bool {
        if !self.conv.resume_pending {
            return false;
        }
        self.conv.resume_pending = false;
        if self.conv.flow.is_none() {
            return false;
        }
        // "Tmm sağolun, hoşçakalın": an ok with a goodbye leaves, it does not go on.
        let leaving = self.message.as_ref().is_some_and(|m| {
            m.phrases
                .find(&self.bot.words.farewell, &m.norm.folded)
                .is_some()
        });
        match self.yes_no() {
            Some(true) if leaving => false,
            Some(true) => {
                self.input_used = true;
                self.reprompt = true;
                true
            }
            Some(false) => {
                self.conv.flow = None;
                self.say("resume_dropped");
                self.done()
            }
            None => false,
        }
    }
}

/// Emoji in a message with no words that make a row of spam.
const EMOJI_ROW: usize = 3;

/// One or two emoji and nothing else ("👍", "🙏🙏", "👍🏻", "❤️"): skin tones, variation
/// selectors and joiners are part of the emoji before them.
fn is_reaction(text: &str, folded: &str) -> bool {
    if !folded.trim().is_empty() {
        return false;
    }
    let emoji = text
        .chars()
        .filter(|&c| !c.is_whitespace())
        .filter(|&c| !matches!(c, '\u{FE0F}' | '\u{200D}' | '\u{1F3FB}'..='\u{1F3FF}'))
        .try_fold(0usize, |n, c| {
            (!c.is_ascii() && !c.is_alphanumeric()).then_some(n + 1)
        });
    emoji.is_some_and(|n| (1..EMOJI_ROW).contains(&n))
}

/// Spam: a known spam phrase; a link in a message that names no request; a row of emoji
/// with no words; or gibberish (a long run of letters without vowels).
fn is_spam(
    text: &str,
    folded: &str,
    names_request: bool,
    words: &ConversationWords,
    hits: &PhraseHits,
) -> bool {
    if hits.find(&words.spam, folded).is_some() {
        return true;
    }
    // A link has a `.` or a `:`: a message without one (a byte search) has no link.
    let link = text.bytes().any(|b| b == b'.' || b == b':')
        && text.split_whitespace().any(|w| {
            // A link has a `.` or a `:`, and lower-casing never makes one: most words skip it.
            if !w.contains(['.', ':']) {
                return false;
            }
            let w = w.to_lowercase();
            !w.contains('@')
                && (w.contains("http://") || w.contains("https://") || w.starts_with("www.") || {
                    let host = w.trim_matches(|c: char| !c.is_alphanumeric());
                    host.contains('.')
                        && host.rsplit('.').next().is_some_and(|tld| {
                            matches!(
                                tld,
                                "com" | "net" | "org" | "ir" | "tr" | "io" | "ly" | "me"
                            )
                        })
                        && host.chars().filter(|c| c.is_ascii_digit()).count() == 0
                })
        });
    if link && !names_request {
        return true;
    }
    // Only emoji (or other symbols), nothing a word is made of.
    let emoji = || {
        text.chars()
            .any(|c| !c.is_ascii() && !c.is_alphanumeric() && !c.is_whitespace())
    };
    if folded.trim().is_empty() && emoji() {
        return true;
    }
    !names_request
        && crate::words::count(folded) == 1
        && folded.chars().count() >= 8
        && folded.chars().all(|c| c.is_ascii_lowercase())
        && folded.chars().filter(|c| "aeiou".contains(*c)).count() * 8 < folded.chars().count()
}

/// "İyi günler" is hello and goodbye at once: opening a conversation, a goodbye that a
/// greeting keyword also names is a greeting.
pub(super) fn opening_greets(bot: &Bot, class: &mut Classification, opening: bool) {
    if !opening {
        return;
    }
    let (Some(bye), Some(hello)) = (bot.intent("goodbye"), bot.intent("greeting")) else {
        return;
    };
    if class.decision == Decision::Intent(bye)
        && class.hits.iter().any(|h| h.intent == hello && !h.negative)
    {
        class.decision = Decision::Intent(hello);
    }
}

#[cfg(test)]
mod tests {
    use super::is_spam;
    use crate::bot::ConversationWords;
    use crate::lang::Lang;
    use crate::normalise::normalise;

    fn spam(text: &str, names_request: bool) -> bool {
        let words = ConversationWords {
            spam: crate::bot::Phrases::new(vec![(Lang::En, "click here".into())]),
            ..ConversationWords::default()
        }
        .indexed();
        let folded = normalise(text).folded;
        let hits = words.scan.scan(&folded);
        is_spam(text, &folded, names_request, &words, &hits)
    }

    #[test]
    fn links_emoji_rows_gibberish_and_spam_phrases_are_spam() {
        assert!(spam("CLICK HERE for a free phone", true));
        assert!(spam("win big >> http://prize.example.net/win", false));
        assert!(spam("follow us: follower-arzan.example.net", false));
        assert!(spam("🌹🌹🌹🌹🌹", false));
        assert!(spam("jkdfjkdjfkdjfkdjf", false));
    }

    #[test]
    fn one_or_two_emoji_are_a_reaction_a_row_is_not() {
        use super::is_reaction;
        let reaction = |t: &str| is_reaction(t, &normalise(t).folded);
        assert!(reaction("👍"));
        assert!(reaction("🙏🙏"));
        assert!(reaction("👍🏻"));
        assert!(reaction("❤️"));
        assert!(!reaction("🌹🌹🌹🌹🌹"));
        assert!(!reaction("👍 ok"));
        assert!(!reaction("?"));
        assert!(!reaction(""));
    }

    #[test]
    fn real_messages_are_not_spam() {
        // An e-mail address is not a link; a tracking link next to a request is a request.
        assert!(!spam("ayse.yilmaz@example.com", false));
        assert!(!spam("where is my parcel https://track.example/123", true));
        assert!(!spam("siparisim nerede", false));
        assert!(!spam("strength", false));
    }
}
