//! The `handoff` step, and handing a conversation to a person from anywhere in a turn:
//! the event the team receives and what the customer is told.

use super::Turn;
use crate::bot::{Flow, Route, StepKind};
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
        if self.conv.handoff.is_some() {
            // Already waiting for a person (a request answered meanwhile led here): the
            // open handoff stands, and the customer hears that it does.
            self.say_waiting();
            self.conv.flow = None;
            self.conv.fallbacks = 0;
            return;
        }
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
            Some(Availability::Away) if self.bot.templates.contains_key("handoff_away") => {
                self.say("handoff_away")
            }
            Some(Availability::Away) | None => {}
        }
        self.conv.flow = None;
        self.conv.suspended.clear();
        self.conv.fallbacks = 0;
        self.conv.handoff = Some(h.clone());
        self.out.handoff = Some(h);
    }
}

impl Turn<'_> {
    /// What a customer waiting for a person hears: when someone will answer, honestly.
    pub(super) fn say_waiting(&mut self) {
        let has = |id: &str| self.bot.templates.contains_key(id);
        match self.availability {
            // Outside business hours "shortly" would be wrong: when people are back.
            Some(Availability::Closed { .. }) if has("handoff_waiting_closed") => {
                self.say("handoff_waiting_closed")
            }
            // Nobody can read it right now: no promise of "shortly" either.
            Some(Availability::Away) if has("handoff_waiting_away") => {
                self.say("handoff_waiting_away")
            }
            _ => self.say("handoff_waiting"),
        }
    }

    /// Whether the bot answers this message itself while the customer waits for a person
    /// and nobody is online: a flow started meanwhile, or a short routine question — a status look-up, i.e. a
    /// flow that branches on what the order says and neither acts nor hands off ("where is
    /// my order", "where is my refund"). A longer message tells the person a story, and a
    /// general question ("how long will that take?") is usually about the wait: both are
    /// kept for the person.
    pub(super) fn routine_while_waiting(&self) -> bool {
        if self.conv.flow.is_some() {
            return true;
        }
        // Only when nobody can take the conversation now, as `handoff_away` promised: with
        // someone about to answer, or outside hours, the bot stays out of it and relays
        // ("I want my money back" after a complaint is for the person reading it).
        if !matches!(self.availability, Some(Availability::Away)) {
            return false;
        }
        let short = self
            .message
            .as_ref()
            .is_none_or(|m| m.text.split_whitespace().count() <= ROUTINE_WORDS);
        let crate::matcher::Decision::Intent(i) = self.decision() else {
            return false;
        };
        let Route::Flow(f) = &self.bot.intents[i].route else {
            return false;
        };
        let steps = &self.bot.flows[*f].steps;
        let acts = steps
            .iter()
            .any(|s| matches!(s.kind, StepKind::Action { .. } | StepKind::Handoff { .. }));
        let reports = steps
            .iter()
            .any(|s| matches!(&s.kind, StepKind::Branch { var, .. } if var.starts_with("order.")));
        short && reports && !acts
    }
}

/// A message of more words than this, while waiting for a person, is for the person.
const ROUTINE_WORDS: usize = 8;

/// The customer's words on one line, at most 140 characters.
fn clip(text: &str) -> String {
    let mut words: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if words.chars().count() > 140 {
        words = words.chars().take(139).collect::<String>() + "…";
    }
    words
}
