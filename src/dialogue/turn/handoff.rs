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
        let mut parts: Vec<String> = vec![intent.clone().unwrap_or_else(|| reason.to_owned())];
        if let Some(o) = &order_id {
            let verified = self.conv.verified_order.as_deref() == Some(o.as_str());
            let status = verified
                .then(|| {
                    self.orders
                        .get(o)
                        .and_then(|x| x.as_ref())
                        .map(|x| x.status.as_str().to_owned())
                        .or_else(|| self.conv.order_status.clone())
                })
                .flatten();
            parts.push(match (verified, status) {
                (true, Some(st)) => format!("order {o} (verified, {st})"),
                (true, None) => format!("order {o} (verified)"),
                (false, _) => format!("order {o} (not verified)"),
            });
        }
        if let Some(p) = &self.conv.flow {
            parts.push(format!("in {} at step {}", p.flow, p.step));
        }
        // What the customer typed for the flow (a new address, a reason) travels along.
        for (k, v) in &self.conv.slots {
            let known = matches!(k.as_str(), "order_number" | "email" | "phone");
            let internal =
                k.starts_with("return.") || k.starts_with("proof.") || k.starts_with("contact.");
            if !known && !internal && v.chars().count() > 3 {
                parts.push(format!("{k}: \"{}\"", clip(v)));
            }
        }
        if self.conv.verify_failures > 0 {
            parts.push(format!(
                "verification failed {}× (no order data shown)",
                self.conv.verify_failures
            ));
        }
        if !topic.trim().is_empty() {
            parts.push(format!("\"{}\"", clip(topic)));
        }
        if self.conv.flow.is_none()
            && let Some(last) = &self.conv.last_request
        {
            // Asked for after a request ran to its end: what that request was.
            parts.push(format!("after {last}"));
        }
        if let Some(m) = &self.message
            && m.text != topic
        {
            parts.push(format!("last message: \"{}\"", clip(&m.text)));
        }
        let summary = parts.join(" · ");
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

/// The customer's words on one line, at most 140 characters.
fn clip(text: &str) -> String {
    let mut words: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if words.chars().count() > 140 {
        words = words.chars().take(139).collect::<String>() + "…";
    }
    words
}
