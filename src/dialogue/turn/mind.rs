//! A customer changing their mind at a confirmation: "hmm let me think.. no, keep it"
//! declines however many words it takes; "no, don't cancel it, just change the address"
//! drops the request awaiting its yes and starts the one named instead.

use super::Turn;
use super::message::has_words;
use crate::bot::{Route, StepKind};
use crate::matcher::Decision;

/// The most words of a message read as declining a confirmation.
const MAX_DECLINE_WORDS: usize = 12;

impl Turn<'_> {
    /// The answer to "shall I cancel it?": a yes or a no, or a longer change of mind. Only
    /// a no may be that long (a yes that acts at the shop must be a plain one), and only a
    /// no that names no other request: that one goes to the request (`change_of_mind`).
    pub(super) fn confirmation(&self) -> Option<bool> {
        self.yes_no().or_else(|| {
            let m = self.message.as_ref()?;
            if crate::words::count(&m.norm.folded) > MAX_DECLINE_WORDS
                || crate::words::has_question_mark(&m.text)
                || self.other_request_named().is_some()
            {
                return None;
            }
            self.declines().then_some(false)
        })
    }

    /// "No, don't cancel it, just change the address" while the bot waits for a yes: the
    /// request awaiting it is dropped (nothing is done at the shop) and the other starts.
    pub(super) fn change_of_mind(&mut self, decision: Decision) -> Decision {
        let confirming = self.conv.flow.as_ref().is_some_and(|p| p.waiting)
            && matches!(
                self.current_step(),
                Some((
                    _,
                    StepKind::Action {
                        confirm: Some(_),
                        ..
                    }
                ))
            );
        if !confirming || !self.declines() {
            return decision;
        }
        match self.other_request_named() {
            Some(i) => {
                self.conv.flow = None;
                Decision::Intent(i)
            }
            None => decision,
        }
    }

    /// A no-word and no yes-word in the message.
    pub(super) fn declines(&self) -> bool {
        let Some(m) = &self.message else {
            return false;
        };
        let folded = &m.norm.folded;
        let has = |words: &[String]| words.iter().any(|w| has_words(folded, w));
        has(&self.bot.no) && !has(&self.bot.yes)
    }

    /// A request with a flow of its own, other than the flow under way, that the
    /// operator's keywords name in the message.
    pub(super) fn other_request_named(&self) -> Option<usize> {
        let m = self.message.as_ref()?;
        let threshold = self.bot.matcher.tuning().threshold;
        let current = self.current_step().map(|(flow, _)| flow.id.as_str());
        m.class
            .scores
            .iter()
            .filter(|s| !s.vetoed && !s.out_of_scope && (s.decisive || s.keywords >= threshold))
            .filter(|s| current.is_none_or(|f| !self.intent_runs_flow(s.intent, f)))
            .find(|s| matches!(self.bot.intents[s.intent].route, Route::Flow(_)))
            .map(|s| s.intent)
    }
}
