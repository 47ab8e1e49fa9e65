//! Where a message goes: the reply language, the decision (an intent, a clarifying
//! question, nothing), corrections to what the conversation holds, and whether the message
//! answers the question the bot is waiting on.

use super::super::template::render;
use super::Turn;
use crate::bot::{ActionKind, Route, SlotKind, StepKind};
use crate::dialogue::{FlowPos, MAX_SUSPENDED};
use crate::entities::EntityKind;
use crate::lang::Lang;
use crate::matcher::Decision;

/// A message in another language switches the reply language from this many words on.
const SWITCH_WORDS: usize = 4;
/// Words only one language's examples use that a message needs to be told that language by
/// its words alone.
const MIN_LANGUAGE_VOTES: u16 = 2;

/// A message needs this many words to hold a general question beside its request.
const SIDE_ANSWER_MIN_WORDS: usize = 3;

/// A general question only the examples suggest is answered beside a request when it
/// scores at least this share of the request.
const SIDE_SHARE: f32 = 0.8;

/// From the second message in a row that matches nothing, the bot offers a person.
const FALLBACKS_BEFORE_OFFER: u32 = 2;

impl<'a> Turn<'a> {
    pub(super) fn expecting(&self) -> Option<EntityKind> {
        match self.current_step()?.1 {
            StepKind::Ask {
                kind: SlotKind::Entity(k),
                ..
            } => Some(*k),
            _ => None,
        }
    }

    /// The reply language: the channel's hint or the message's evidence at first; later, a
    /// sentence in another language switches it (a one-word "merci", a number or an
    /// e-mail does not).
    pub(super) fn settle_language(&mut self, hint: Option<Lang>) {
        let detected = self.message.as_ref().and_then(|m| {
            if m.norm.arabic_script {
                return Some(Lang::Fa);
            }
            // The matched evidence of every tier: intent keywords, then the small talk
            // (a Turkish insult typed without Turkish letters is still Turkish).
            let w = &self.bot.words;
            let phrase = [&w.insult, &w.stall, &w.farewell, &w.no_number, &w.spam]
                .into_iter()
                .find_map(|list| m.phrases.find(list, &m.norm.folded));
            // A matched intent speaks for the language; weak evidence under the threshold
            // ("bot" in "salak bot ya") gives way to a whole phrase of small talk.
            // Else the words themselves: a sentence that names no request ("sorry, I'll go
            // on in English, my keyboard…") is still in a language.
            // An e-mail, a phone or an order number is no sentence: "ayse.yilmaz@…" in an
            // English conversation stays English.
            let words = || {
                if !m.entities.is_empty() {
                    return None;
                }
                let votes = self.bot.matcher.language_votes(&m.norm.folded);
                let best = Lang::ALL.into_iter().max_by_key(|l| votes[l.index()])?;
                let runner_up = Lang::ALL
                    .into_iter()
                    .filter(|&l| l != best)
                    .map(|l| votes[l.index()])
                    .max()
                    .unwrap_or(0);
                (votes[best.index()] >= MIN_LANGUAGE_VOTES && votes[best.index()] > runner_up)
                    .then_some(best)
            };
            match m.class.decision {
                Decision::Intent(_) => m.class.lang.or(phrase).or_else(words),
                _ => phrase.or(m.class.lang).or_else(words),
            }
        });
        let sentence = self
            .message
            .as_ref()
            .is_some_and(|m| crate::words::count_with_letters(&m.norm.folded) >= SWITCH_WORDS);
        // A switch also needs the words: more of them only the new language's examples use
        // than only the current one's ("ok so i wait till wednesday. thank you, teşekkürler"
        // stays English).
        let words_agree = |d: Lang, current: Lang| {
            self.message.as_ref().is_none_or(|m| {
                let votes = self.bot.matcher.language_votes(&m.norm.folded);
                m.norm.arabic_script || votes[d.index()] > votes[current.index()]
            })
        };
        let lang = match (self.conv.lang, detected) {
            (Some(current), Some(d)) if d != current && sentence && words_agree(d, current) => {
                Some(d)
            }
            (Some(current), _) => Some(current),
            (None, d) => hint.or(d),
        };
        if let Some(lang) = lang {
            self.conv.lang = Some(lang);
            self.out.lang = lang;
        }
    }

    pub(super) fn decision(&self) -> Decision {
        if let Some(id) = self
            .payload
            .as_deref()
            .and_then(|p| p.strip_prefix("intent:"))
        {
            return self.bot.intent(id).map_or(Decision::None, Decision::Intent);
        }
        self.message
            .as_ref()
            .map_or(Decision::None, |m| m.class.decision)
    }

    /// No request, or one only the examples suggest: "بله لطفا پیگیری کنید" (yes, please
    /// follow it up) reads a little like a cancellation, but it answers the offer.
    fn only_examples_suggest_a_request(&self) -> bool {
        let threshold = self.bot.matcher.tuning().threshold;
        match self.decision() {
            Decision::None => true,
            Decision::Intent(i) => self
                .message
                .as_ref()
                .is_some_and(|m| !m.class.keyword_backed(i, threshold)),
            Decision::Clarify(..) => false,
        }
    }

    /// The message asks what the request that just ended asked, about the same order.
    fn asks_again(&self) -> bool {
        let Decision::Intent(i) = self.decision() else {
            return false;
        };
        let last = self
            .conv
            .last_request
            .as_deref()
            .and_then(|r| r.split(' ').next());
        let other_order = self
            .entity(EntityKind::OrderNumber)
            .is_some_and(|e| self.conv.verified_order.as_deref() != Some(e.value.as_str()));
        last == Some(self.bot.intents[i].id.as_str()) && !other_order
    }

    pub(super) fn route(&mut self) {
        let offer = self.conv.offer.take();
        if let Some(payload) = offer
            && self.payload.is_none()
            && ((self.only_examples_suggest_a_request() && self.yes_no() == Some(true))
                || self.asks_again())
        {
            // "Shall I pass it to a person?" — "yes please": the offered button. Or the same
            // request again ("delivered? I've looked everywhere, it isn't here"): the answer
            // did not help, so the step it offered is what the customer needs.
            self.payload = Some(payload);
        }
        let decision = self.answer_to_clarify(self.decision());
        let decision = self.change_of_mind(decision);
        let decision = self.question_at_confirmation(decision);
        let decision = self.about_the_same_order(decision);
        let decision = self.request_over_side_question(decision);
        let decision = self.keep_waiting_step(decision);
        let decision = self.about_the_order_in_progress(decision);
        let decision = self.no_person_on_a_guess(decision);
        if let Decision::Intent(i) = decision {
            self.out.intent = Some(self.bot.intents[i].id.clone());
            self.conv.fallbacks = 0;
        }
        if self.steer(decision) {
            return;
        }
        if self.apply_corrections() && self.conv.flow.is_some() {
            // The message corrected the flow in progress; the flow carries on with it, and
            // the customer hears the corrected number back.
            self.corrected = true;
            self.say("corrected_number");
            // "Sorry, it's 2218049, I swapped two digits" is about the flow in progress,
            // whatever else its words suggest; only a request for a person goes elsewhere.
            let to_person = matches!(decision, Decision::Intent(i)
                if matches!(self.bot.intents[i].route, Route::Handoff { .. }));
            if !to_person {
                return;
            }
        }
        let waiting = self.conv.flow.as_ref().is_some_and(|p| p.waiting);
        if waiting {
            if self.answers_waiting_step(decision) {
                // An answer to the question asked ("48213977", "sipariş no 48213977"), not a
                // new request, even when it reads like one of the flow's own intent. A
                // general question beside a number or an e-mail ("48213977, and do you
                // take PayPal?") is answered too.
                self.out.intent = None;
                let gives_entity = self.expecting().is_some()
                    || matches!(self.current_step(), Some((_, StepKind::Verify { .. })));
                let flow_intent = self
                    .conv
                    .flow
                    .as_ref()
                    .and_then(|p| self.bot.intent(&p.intent));
                if gives_entity && let Some(i) = flow_intent {
                    self.side_answer(i);
                }
                return;
            }
            match decision {
                // The flow's own intent again ("daire 7 değil 9"): the waiting step reads it.
                Decision::Intent(i)
                    if self
                        .current_step()
                        .is_some_and(|(flow, _)| self.intent_runs_flow(i, &flow.id)) =>
                {
                    self.out.intent = None;
                }
                Decision::Intent(i) => self.start_intent(i),
                Decision::Clarify(a, b) => {
                    self.clarify(a, b);
                    self.input_used = true;
                }
                // Not an answer and nothing else: the step counts a failed attempt.
                Decision::None => {}
            }
            return;
        }
        match decision {
            Decision::Intent(i) => self.start_intent(i),
            Decision::Clarify(a, b) => {
                self.clarify(a, b);
                self.finished = self.conv.flow.is_none();
            }
            Decision::None => {
                self.input_used = true;
                self.out.fallback = true;
                self.conv.fallbacks += 1;
                // A real request the bot does not understand earns the offer of a person
                // (a button), never an automatic handoff.
                if self.conv.fallbacks >= FALLBACKS_BEFORE_OFFER {
                    self.say("fallback_person");
                } else {
                    self.say("fallback");
                }
                self.finished = true;
            }
        }
    }

    /// "Sorry, it's 1029384765": an order number, e-mail or phone in the message replaces
    /// the one the conversation holds, and a flow in progress starts over so later steps
    /// (verification above all) see the new value.
    pub(super) fn apply_corrections(&mut self) -> bool {
        let Some(m) = &self.message else {
            return false;
        };
        if self.awaiting_text()
            || m.phrases
                .find(&self.bot.words.address, &m.norm.folded)
                .is_some()
        {
            // An address is an answer, not a correction: its postcode or house number is
            // never taken for an order number (also in a message that reads like one).
            return false;
        }
        let mut changed = false;
        for e in &m.entities {
            let slot = match e.kind {
                EntityKind::OrderNumber => "order_number",
                EntityKind::Email => "email",
                EntityKind::Phone => "phone",
            };
            if let Some(v) = self.conv.slots.get_mut(slot)
                && *v != e.value
            {
                *v = e.value.clone();
                changed |= e.kind == EntityKind::OrderNumber;
            }
        }
        if !changed {
            return false;
        }
        // What was learnt about the old order does not carry over to the new one.
        self.conv.slots.retain(|k, _| !k.starts_with("return."));
        let first = self
            .conv
            .flow
            .as_ref()
            .and_then(|p| self.bot.flow(&p.flow))
            .and_then(|f| f.steps.first());
        if let (Some(first), Some(p)) = (first, self.conv.flow.as_mut()) {
            p.step = first.id.clone();
            p.attempts = 0;
            p.waiting = false;
        }
        true
    }

    /// The bot waits for free text (an address), or for the yes to one it read back.
    fn awaiting_text(&self) -> bool {
        if !self.conv.flow.as_ref().is_some_and(|p| p.waiting) {
            return false;
        }
        matches!(
            self.current_step().map(|(_, k)| k),
            Some(
                StepKind::Ask {
                    kind: SlotKind::Text,
                    ..
                } | StepKind::Action {
                    action: ActionKind::ChangeAddress,
                    confirm: Some(_),
                    ..
                }
            )
        )
    }

    /// Does this message answer the question the bot is waiting on?
    pub(super) fn answers_waiting_step(&self, decision: Decision) -> bool {
        let Some((flow, step)) = self.current_step() else {
            return false;
        };
        let other_intent = match decision {
            Decision::Intent(i) => !self.intent_runs_flow(i, &flow.id),
            Decision::Clarify(..) => true,
            Decision::None => false,
        };
        match step {
            StepKind::Ask {
                kind: SlotKind::Entity(k),
                ..
            } => self.entity(*k).is_some(),
            StepKind::Ask {
                kind: SlotKind::Text,
                ..
            } => self.message.is_some() && !other_intent,
            StepKind::Ask {
                kind: SlotKind::YesNo,
                ..
            } => self.yes_no().is_some(),
            StepKind::Ask {
                kind: SlotKind::OrderItem,
                ..
            } => {
                self.payload
                    .as_deref()
                    .is_some_and(|p| p.starts_with("item:"))
                    || (self.message.is_some() && !other_intent)
            }
            StepKind::Verify { .. } => self.proof().is_some() || !other_intent,
            StepKind::Action { .. } => self.confirmation().is_some(),
            _ => false,
        }
    }

    pub(super) fn intent_runs_flow(&self, intent: usize, flow: &str) -> bool {
        matches!(self.bot.intents[intent].route, Route::Flow(f) if self.bot.flows[f].id == flow)
    }

    pub(super) fn start_intent(&mut self, i: usize) {
        let (i, second) = self.order_of_two(i);
        let intent = &self.bot.intents[i];
        if second.is_some() || self.out.intent.is_some() {
            self.out.intent = Some(intent.id.clone());
        }
        match &intent.route {
            Route::Answer(t) => {
                self.say(t);
                self.input_used = true;
                if self.conv.flow.as_ref().is_some_and(|p| p.waiting) && !self.closing(i) {
                    // A side question in the middle of a request: answered, then the
                    // customer decides whether to go on.
                    self.say("resume_ask");
                    self.conv.resume_pending = true;
                }
                self.finished = true;
            }
            Route::Handoff { reason, answer } => {
                self.input_used = true;
                self.handoff(reason, answer.as_deref());
                self.finished = true;
            }
            Route::Flow(f) => {
                let flow = &self.bot.flows[*f];
                if let Some(pos) = self.conv.flow.take() {
                    if pos.flow == flow.id {
                        // Asked again for what is already under way: carry on.
                        self.input_used = pos.waiting;
                        self.reprompt = pos.waiting;
                        self.conv.flow = Some(pos);
                        return;
                    }
                    self.conv.suspended.push(pos);
                    if self.conv.suspended.len() > MAX_SUSPENDED {
                        self.conv.suspended.remove(0);
                    }
                }
                let Some(first) = flow.steps.first() else {
                    self.finished = true;
                    return;
                };
                self.conv.flow = Some(FlowPos {
                    flow: flow.id.clone(),
                    step: first.id.clone(),
                    intent: intent.id.clone(),
                    attempts: 0,
                    waiting: false,
                    topic: self
                        .message
                        .as_ref()
                        .map(|m| m.text.clone())
                        .unwrap_or_default(),
                    queued: false,
                    order_number: None,
                });
                self.side_answer(i);
                if let Some(second) = second {
                    self.queue_request(second);
                }
            }
        }
    }

    /// After "which one is it about?", a typed answer that matched nothing but has some
    /// evidence for one of the offered intents ("the money", "how much is it") picks it.
    fn answer_to_clarify(&mut self, decision: Decision) -> Decision {
        let offered = std::mem::take(&mut self.conv.offered);
        let (Decision::None, Some(m)) = (decision, &self.message) else {
            return decision;
        };
        m.class
            .scores
            .iter()
            .filter(|s| !s.vetoed && s.score > 0.0)
            .filter(|s| offered.contains(&self.bot.intents[s.intent].id))
            .max_by(|a, b| a.score.total_cmp(&b.score))
            .map_or(decision, |s| Decision::Intent(s.intent))
    }

    /// "When will my order ship? Do you take cash on delivery?": when the matcher picks the
    /// general question but the message also starts a request, the request leads and the
    /// question is answered in passing (`side_answer`).
    fn request_over_side_question(&self, decision: Decision) -> Decision {
        let words = &self.bot.words;
        let is_side = |i: usize| words.side_answers.contains(&self.bot.intents[i].id);
        let is_flow = |i: usize| matches!(self.bot.intents[i].route, Route::Flow(_));
        // "Shipping fee? and when does order 52004718 arrive": a request and a general
        // question that score too close to call are both asked, so nothing needs asking.
        if let Decision::Clarify(a, b) = decision
            && !self.conv.flow.as_ref().is_some_and(|p| p.waiting)
        {
            return match (is_side(a) && is_flow(b), is_side(b) && is_flow(a)) {
                (true, _) => Decision::Intent(b),
                (_, true) => Decision::Intent(a),
                _ => decision,
            };
        }
        let (Decision::Intent(i), Some(m)) = (decision, &self.message) else {
            return decision;
        };
        if !words.side_answers.contains(&self.bot.intents[i].id)
            || self.conv.flow.as_ref().is_some_and(|p| p.waiting)
        {
            return decision;
        }
        // The request needs evidence of its own: a fair share of the side question's, and
        // not closer to the out-of-scope examples.
        let side = m.class.score_of(i);
        m.class
            .scores
            .iter()
            .filter(|s| s.intent != i && !s.vetoed && !s.out_of_scope)
            .filter(|s| s.score >= words.threshold.max(0.4 * side))
            .find(|s| matches!(self.bot.intents[s.intent].route, Route::Flow(_)))
            .map_or(decision, |s| Decision::Intent(s.intent))
    }

    /// "Where is my order, and do you take PayPal?": a general question asked next to the
    /// request is answered in the same reply (`conversation.side_answers`).
    fn side_answer(&mut self, started: usize) {
        let Some(m) = &self.message else {
            return;
        };
        if self.follow_up {
            return;
        }
        // One or two words hold one request: "ödeme" is asked about, not answered twice.
        if crate::words::count(&m.norm.folded) < SIDE_ANSWER_MIN_WORDS {
            return;
        }
        let words = &self.bot.words;
        // The question needs evidence of its own: a keyword of it ("paypal"), or examples
        // nearly as close as the request's ("when will my order arrive" reads a little like
        // "how long does delivery take", but it asks one thing).
        let request = m.class.score_of(started);
        let own = |s: &&crate::matcher::Score| {
            s.decisive || s.keywords > 0.0 || s.score >= SIDE_SHARE * request
        };
        let side = m
            .class
            .scores
            .iter()
            .filter(|s| s.intent != started && !s.vetoed && !s.out_of_scope)
            .filter(|s| s.score >= words.threshold)
            .filter(own)
            .find(|s| words.side_answers.contains(&self.bot.intents[s.intent].id))
            .map(|s| s.intent);
        if let Some(Route::Answer(t)) = side.map(|i| &self.bot.intents[i].route) {
            self.say(t);
        }
    }

    /// Thanks and goodbyes close a conversation rather than interrupt it.
    pub(super) fn closing(&self, intent: usize) -> bool {
        matches!(self.bot.intents[intent].id.as_str(), "thanks" | "goodbye")
    }

    /// One clarifying question with a button per intent (`clarify_options`).
    pub(super) fn clarify_among(&mut self, ids: &[String]) {
        let lang = self.out.lang;
        let before = self.out.replies.len();
        self.say("clarify_options");
        let buttons: Vec<crate::dialogue::ReplyButton> = ids
            .iter()
            .filter_map(|id| self.bot.intent(id))
            .map(|i| crate::dialogue::ReplyButton {
                label: self.bot.intents[i].label(lang).to_owned(),
                payload: format!("intent:{}", self.bot.intents[i].id),
            })
            .collect();
        if self.out.replies.len() > before
            && let Some(last) = self.out.replies.last_mut()
        {
            last.buttons.splice(0..0, buttons);
        }
        self.conv.offered = ids.to_vec();
    }

    pub(super) fn clarify(&mut self, a: usize, b: usize) {
        let lang = self.out.lang;
        let (ia, ib) = (&self.bot.intents[a], &self.bot.intents[b]);
        let Some(t) = self.bot.templates.get("clarify") else {
            return;
        };
        let (la, lb) = (ia.label(lang).to_owned(), ib.label(lang).to_owned());
        let mut reply = render(t, lang, &|v| match v {
            "intent_a" => Some(la.clone()),
            "intent_b" => Some(lb.clone()),
            _ => None,
        });
        let offered = [(la.clone(), &ia.id), (lb.clone(), &ib.id)].map(|(label, id)| {
            crate::dialogue::ReplyButton {
                label,
                payload: format!("intent:{id}"),
            }
        });
        reply.buttons.splice(0..0, offered);
        reply.template = "clarify".to_owned();
        self.out.replies.push(reply);
    }
}
