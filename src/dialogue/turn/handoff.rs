//! The `handoff` step, and handing a conversation to a person from anywhere in a turn:
//! the event the team receives and what the customer is told.

use super::Turn;
use crate::bot::{Flow, StepKind};
use crate::dialogue::{Availability, Handoff, Request};

impl<'a> Turn<'a> {
    /// Hands the conversation to a person with the step's reason.
    pub(super) fn handoff_step(&mut self, flow: &'a Flow, index: usize) -> Option<Request> {
        let StepKind::Handoff { reason, say } = &flow.steps[index].kind else {
            return None;
        };
        self.handoff(reason, say.as_deref());
        self.finished = true;
        None
    }

    pub(super) fn handoff(&mut self, reason: &str, say: Option<&str>) {
        let intent = self
            .conv
            .flow
            .as_ref()
            .map(|p| p.intent.clone())
            .or_else(|| self.out.intent.clone());
        let topic = self
            .conv
            .flow
            .as_ref()
            .map(|p| p.topic.as_str())
            .filter(|t| !t.is_empty())
            .or(self.message.as_ref().map(|m| m.text.as_str()))
            .unwrap_or_default();
        let order_id = self.conv.slots.get("order_number").cloned();
        let summary = summary(
            intent.as_deref().unwrap_or(reason),
            order_id.as_deref(),
            topic,
        );
        let h = Handoff {
            id: String::new(),
            reason: reason.to_owned(),
            intent,
            order_id,
            summary,
        };
        self.say(say.unwrap_or("handoff"));
        match self.availability {
            Some(Availability::Open { .. }) => self.say("handoff_wait"),
            Some(Availability::Closed { .. }) => self.say("handoff_closed"),
            None => {}
        }
        self.conv.flow = None;
        self.conv.suspended.clear();
        self.conv.fallbacks = 0;
        self.conv.handoff = Some(h.clone());
        self.out.handoff = Some(h);
    }
}

/// One line for the agent: the intent, the order, and the customer's words.
fn summary(what: &str, order: Option<&str>, text: &str) -> String {
    let mut words: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if words.chars().count() > 140 {
        words = words.chars().take(139).collect::<String>() + "…";
    }
    match order {
        Some(o) => format!("{what} · order {o} · \"{words}\""),
        None => format!("{what} · \"{words}\""),
    }
}
