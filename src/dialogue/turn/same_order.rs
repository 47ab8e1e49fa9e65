//! "Ne zaman gelir peki?" right after the bot told the customer where their order is: a
//! follow-up about the order just discussed, not a general question about delivery times
//! and not a miss. Alone, those words read like "when does the PS5 come back in stock"; after
//! an order was verified and its request answered, they ask about that order.

use super::Turn;
use crate::matcher::Decision;

/// A follow-up this long at most; a longer message says what it is about.
const FOLLOW_UP_WORDS: usize = 6;

impl Turn<'_> {
    /// Outside a flow, once a request about the verified order has ended: a short message
    /// with no number of its own and a keyword of the pack's order request
    /// (`conversation.bare_order_number`) asks about that order again, when nothing else
    /// was understood or only a general question (`side_answers`) that its examples
    /// alone suggest.
    pub(super) fn about_the_same_order(&mut self, decision: Decision) -> Decision {
        let Some(m) = &self.message else {
            return decision;
        };
        if self.conv.flow.is_some()
            || self.conv.verified_order.is_none()
            || self.conv.last_request.is_none()
            || !m.entities.is_empty()
            || self.payload.is_some()
            || crate::words::count(&m.norm.folded) > FOLLOW_UP_WORDS
        {
            return decision;
        }
        let Some(order) = self.bare_order_intent() else {
            return decision;
        };
        let general = match decision {
            Decision::None => true,
            // On its examples alone: "kargo ücreti ne kadar" names its own question.
            Decision::Intent(i) => {
                self.bot
                    .words
                    .side_answers
                    .contains(&self.bot.intents[i].id)
                    && !m.class.keyword_backed(i, f32::MIN_POSITIVE)
            }
            Decision::Clarify(..) => false,
        };
        let named = m
            .class
            .scores
            .iter()
            .any(|s| s.intent == order && !s.vetoed && s.keywords > 0.0);
        if general && named {
            // The general question it read like is not answered beside it.
            self.follow_up = true;
            Decision::Intent(order)
        } else {
            decision
        }
    }
}
