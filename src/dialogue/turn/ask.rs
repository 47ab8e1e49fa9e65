//! The `ask` step: fill a slot from the message (an entity, free text or yes/no), or ask
//! for it and count the attempts.

use super::Turn;
use crate::bot::{Flow, SlotKind, StepKind};
use crate::dialogue::{FlowPos, Request};
use crate::entities::EntityKind;

impl<'a> Turn<'a> {
    /// Fills the step's slot, or asks for it.
    pub(super) fn ask(&mut self, flow: &'a Flow, index: usize, pos: &FlowPos) -> Option<Request> {
        let StepKind::Ask {
            slot,
            kind,
            prompt,
            reprompt,
            max_attempts,
        } = &flow.steps[index].kind
        else {
            return None;
        };
        if self.conv.slots.contains_key(slot) {
            self.advance(flow, index);
            return None;
        }
        let given = match kind {
            SlotKind::Entity(k) => self.entity(*k).map(|e| e.value.clone()),
            SlotKind::Text if pos.waiting && !self.input_used => {
                self.message.as_ref().map(|m| m.text.trim().to_owned())
            }
            SlotKind::Text => None,
            SlotKind::YesNo if pos.waiting && !self.input_used => self
                .yes_no()
                .map(|yes| if yes { "yes" } else { "no" }.to_owned()),
            SlotKind::YesNo => None,
        };
        if given.is_none() && *kind == SlotKind::Entity(EntityKind::OrderNumber) {
            if let Some(handled) = self.find_by_contact(pos.waiting) {
                if handled.is_none() && self.conv.slots.contains_key(slot) {
                    // Found and verified by contact: the flow goes on with that order.
                    self.advance(flow, index);
                }
                return handled;
            }
            let no_digits = self
                .message
                .as_ref()
                .is_some_and(|m| !m.norm.entity_text.chars().any(|c| c.is_ascii_digit()));
            if pos.waiting && !self.input_used && no_digits {
                // "The blue one": no number at all is no wrong number. Where to find
                // it, and the look-up by e-mail or phone, instead of a failed attempt.
                self.no_number = true;
                self.input_used = true;
                self.reprompt = true;
            }
        }
        match given {
            Some(v) if !v.is_empty() => {
                self.conv.slots.insert(slot.clone(), v);
                // An entity leaves the rest of the message for later steps (an
                // order number and an e-mail in one message); free text does not.
                if matches!(kind, SlotKind::Text | SlotKind::YesNo) {
                    self.input_used = true;
                }
                self.advance(flow, index);
            }
            _ if self.no_number && *kind == SlotKind::Entity(EntityKind::OrderNumber) => {
                // No number to give: where to find it, and the offer of a look-up by
                // e-mail or phone; not a failed attempt.
                self.wait("no_number", Some("no_number"), *max_attempts, "retry_limit");
            }
            _ => self.wait(prompt, reprompt.as_deref(), *max_attempts, "retry_limit"),
        }
        None
    }
}
