//! Decisions that are only the examples' guess: while a flow waits for an answer, another
//! flow's intent needs the operator's keywords to take the conversation elsewhere; and a
//! short message goes to a person, or to a request that takes no order number next to
//! one, only on a keyword.

use super::Turn;
use crate::bot::{Route, StepKind};
use crate::entities::EntityKind;
use crate::matcher::Decision;

/// A message of at most this many words needs a keyword to go to a person.
const GUESS_WORDS: usize = 3;

impl Turn<'_> {
    /// While the bot waits for an answer (an order number, an item, a reason), another
    /// flow's intent that only the examples suggest ("the blue one" reads a little like a
    /// return) does not take the conversation elsewhere: the operator's keywords must say so.
    pub(super) fn keep_waiting_step(&self, decision: Decision) -> Decision {
        let Decision::Intent(i) = decision else {
            return decision;
        };
        // "Wait no, apt 12 not 21" at the address read-back corrects it, whatever its words
        // suggest ("wait" reads like a pending charge).
        if self.corrects_read_back_address() {
            return Decision::None;
        }
        let waiting = self.conv.flow.as_ref().is_some_and(|p| p.waiting);
        let Some((flow, step)) = self.current_step() else {
            return decision;
        };
        let asks = matches!(step, StepKind::Ask { .. });
        if !(waiting && asks) || self.intent_runs_flow(i, &flow.id) {
            return decision;
        }
        let threshold = self.bot.matcher.tuning().threshold;
        let keyword_backed = self
            .message
            .as_ref()
            .is_some_and(|m| m.class.keyword_backed(i, threshold));
        if keyword_backed || !matches!(self.bot.intents[i].route, Route::Flow(_)) {
            decision
        } else {
            Decision::None
        }
    }

    /// "The first one" reads a little like "zip broke the first time": outside a flow, a
    /// short message with not one keyword of a request that goes to a person (positive
    /// `priority`) does not hand the conversation over on the examples' say-so, with or
    /// without an order number in it ("and 5510662?" asks about that order); nor does one
    /// with an order number go to a request that takes none ("ya 7703002?" is no thanks). It is not
    /// understood, and the fallback offers a person on the next miss.
    pub(super) fn no_person_on_a_guess(&self, decision: Decision) -> Decision {
        let (Decision::Intent(i), Some(m)) = (decision, &self.message) else {
            return decision;
        };
        // While a flow waits, `keep_waiting_step` decides what its answer may start.
        if self.conv.flow.as_ref().is_some_and(|p| p.waiting) {
            return decision;
        }
        let score = m.class.scores.iter().find(|s| s.intent == i);
        let short = crate::words::count(&m.norm.folded) <= GUESS_WORDS;
        let no_keyword = score.is_none_or(|s| !s.decisive && s.keywords <= 0.0);
        // An order number says which order, not what is wrong with it ("and 5510662?"),
        // and not a thanks or a goodbye ("ya 7703002?"): a request that takes no order
        // number is only a guess next to one.
        let numbers_only = m.entities.iter().all(|e| e.kind == EntityKind::OrderNumber);
        let has_number = !m.entities.is_empty() && numbers_only;
        let takes_no_number = score.is_none_or(|s| s.entity <= 0.0);
        let guess_only = self.bot.intents[i].priority > 0 || (has_number && takes_no_number);
        if guess_only && short && no_keyword && numbers_only && self.payload.is_none() {
            Decision::None
        } else {
            decision
        }
    }
}
