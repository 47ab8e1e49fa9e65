//! A question about the order while the bot waits for the yes to an action on it: "are
//! you sure I get my money back?", "param ne zaman yatar?" at "shall I cancel it?". The
//! confirmation itself holds the answer (the order, its items, the amount and when the
//! money comes back), so the bot asks it again; a look-up of the order's refund now would
//! only say there is none yet, and the cancellation would wait behind "shall we carry on?".

use super::Turn;
use crate::bot::{Route, StepKind};
use crate::entities::EntityKind;
use crate::matcher::Decision;

impl Turn<'_> {
    /// At a confirmation, a request that only reads the same order (its status, its
    /// refund) asks about what is being confirmed: the confirmation is asked again, and
    /// nothing counts as an answer. A request that does something else ("change the
    /// address instead") or names another order goes its own way.
    pub(super) fn question_at_confirmation(&mut self, decision: Decision) -> Decision {
        let Decision::Intent(i) = decision else {
            return decision;
        };
        if !self.conv.flow.as_ref().is_some_and(|p| p.waiting) {
            return decision;
        }
        let Some((
            current,
            StepKind::Action {
                confirm: Some(_), ..
            },
        )) = self.current_step()
        else {
            return decision;
        };
        let Route::Flow(f) = self.bot.intents[i].route else {
            return decision;
        };
        let asked = &self.bot.flows[f];
        let reads_only = asked
            .steps
            .iter()
            .all(|s| !matches!(s.kind, StepKind::Action { .. }));
        let same_order = self.entity(EntityKind::OrderNumber).is_none_or(|e| {
            self.conv.slots.get("order_number").map(String::as_str) == Some(e.value.as_str())
        });
        if asked.id == current.id || !reads_only || !same_order || self.confirmation().is_some() {
            return decision;
        }
        self.out.intent = None;
        self.input_used = true;
        self.reprompt = true;
        Decision::None
    }
}
