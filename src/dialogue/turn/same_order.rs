//! "Ne zaman gelir peki?" about the order the customer has verified: a follow-up about that
//! order, not a general question about delivery times and not a miss. Alone, those words
//! read like "when does the PS5 come back in stock"; after an order was verified and its
//! request answered, or while another request about it waits for an answer (an address,
//! a yes to a cancellation), they ask about that order.

use super::Turn;
use crate::bot::StepKind;
use crate::matcher::Decision;

/// A follow-up this long at most; a longer message says what it is about.
const FOLLOW_UP_WORDS: usize = 6;

/// In the middle of a request a question comes with a word or two more ("راستی اگه لغو
/// نکنم کی میرسه دستم؟").
const MID_REQUEST_WORDS: usize = 8;

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
        match self.asks_about_the_order(decision) {
            Some(order) => {
                // The general question it read like is not answered beside it.
                self.follow_up = true;
                Decision::Intent(order)
            }
            None => decision,
        }
    }

    /// While a request about the verified order waits for an answer, the same question
    /// ("when will it arrive?") is about that order too: the order request runs for it,
    /// and the waiting request asks its question again at once (`back_at_once`), instead
    /// of the general delivery times and "shall we carry on?". A message with a street
    /// word or a digit is an answer (an address), not this question.
    pub(super) fn about_the_order_in_progress(&mut self, decision: Decision) -> Decision {
        let (Some(m), Some(pos)) = (&self.message, &self.conv.flow) else {
            return decision;
        };
        let about_verified = self.conv.verified_order.is_some()
            && self.conv.slots.get("order_number") == self.conv.verified_order.as_ref();
        // Cheapest first: most messages in a flow stop before the address words are searched.
        if !pos.waiting
            || !about_verified
            || !m.entities.is_empty()
            || self.payload.is_some()
            || m.norm.folded.bytes().any(|b| b.is_ascii_digit())
            || crate::words::count(&m.norm.folded) > MID_REQUEST_WORDS
            || m.phrases
                .find(&self.bot.words.address, &m.norm.folded)
                .is_some()
            || matches!(self.current_step(), Some((_, StepKind::Verify { .. })))
        {
            return decision;
        }
        let Some(order) = self.asks_about_the_order(decision) else {
            return decision;
        };
        if self
            .current_step()
            .is_some_and(|(flow, _)| self.intent_runs_flow(order, &flow.id))
        {
            return decision;
        }
        self.follow_up = true;
        self.back_at_once = true;
        Decision::Intent(order)
    }

    /// The pack's order request, when the message names it by a keyword and otherwise
    /// holds nothing but a general question (`side_answers`) its examples alone suggest,
    /// or nothing understood at all (with some evidence of such a question).
    fn asks_about_the_order(&self, decision: Decision) -> Option<usize> {
        let m = self.message.as_ref()?;
        let order = self.bare_order_intent()?;
        let side = |i: usize| {
            self.bot
                .words
                .side_answers
                .contains(&self.bot.intents[i].id)
        };
        let general = match decision {
            Decision::None => true,
            // On its examples alone: "kargo ücreti ne kadar" names its own question.
            Decision::Intent(i) => side(i) && !m.class.keyword_backed(i, f32::MIN_POSITIVE),
            Decision::Clarify(..) => false,
        };
        let named = m
            .class
            .scores
            .iter()
            .any(|s| s.intent == order && !s.vetoed && s.keywords > 0.0);
        (general && named).then_some(order)
    }
}
