//! One turn of a conversation as a resumable state machine.
//!
//! `Turn::new` normalises and classifies the message once and decides where it goes
//! (answer, start or resume a flow, clarify, fall back, hand off). `poll` then runs flow
//! steps until the bot waits for the customer again, or until it needs the order backend,
//! in which case it returns `Poll::Need` and picks up at the same step after `feed`.

use super::template::render;
use super::{
    Availability, Conversation, FlowPos, Handoff, Input, MAX_MESSAGE_CHARS, MAX_SUSPENDED,
    MAX_VERIFY_FAILURES, Outcome, Poll, Reply, Request, Response,
};
use crate::bot::{ActionKind, Bot, Flow, Route, SlotKind, StepKind};
use crate::entities::{Entity, EntityKind, phone_last4};
use crate::lang::Lang;
use crate::matcher::{Classification, Decision};
use crate::normalise::{Normalised, normalise};
use crate::orders::{Order, OrderStatus, ReturnCreated};
use jiff::civil::Date;
use std::collections::HashMap;

/// A flow that runs this many steps without waiting for the customer is looping.
const MAX_STEPS_PER_TURN: u32 = 64;
/// Two messages in a row that match nothing go to a person.
const FALLBACKS_BEFORE_HANDOFF: u32 = 2;

pub struct Turn<'a> {
    bot: &'a Bot,
    conv: &'a mut Conversation,
    message: Option<Message>,
    payload: Option<String>,
    /// The message has been used: by a step, or by an answer given in passing.
    input_used: bool,
    /// The customer must be asked the waiting step's question again.
    reprompt: bool,
    orders: HashMap<String, Option<Order>>,
    action: Option<Result<Option<ReturnCreated>, ()>>,
    out: Outcome,
    steps_run: u32,
    finished: bool,
    today: Option<Date>,
    availability: Option<Availability>,
}

struct Message {
    text: String,
    norm: Normalised,
    class: Classification,
    entities: Vec<Entity>,
}

/// What a customer offered to prove they own an order.
enum Proof {
    Email(String),
    PhoneLast4(String),
}

impl<'a> Turn<'a> {
    pub fn new(bot: &'a Bot, conv: &'a mut Conversation, input: &Input) -> Turn<'a> {
        let lang = conv.lang.or(input.lang_hint).unwrap_or(bot.default_lang);
        let mut t = Turn {
            bot,
            conv,
            message: None,
            payload: input.payload.clone(),
            input_used: false,
            reprompt: false,
            orders: HashMap::new(),
            action: None,
            out: Outcome {
                replies: Vec::new(),
                lang,
                intent: None,
                handoff: None,
                relayed: false,
                failed_verifications: Vec::new(),
                rating: None,
                fallback: false,
            },
            steps_run: 0,
            finished: false,
            today: input.today,
            availability: input.availability.clone(),
        };
        if t.conv.handoff.is_some() {
            // A person has the conversation: the bot relays the message and, until an agent
            // has answered, only tells the customer that one is on the way.
            t.out.relayed = true;
            if !t.conv.agent_joined {
                t.say("handoff_waiting");
            }
            t.finished = true;
            return t;
        }
        if t.conv.awaiting_rating {
            // The question is asked once: anything but a rating is an ordinary message.
            t.conv.awaiting_rating = false;
            if let Some(n) = rating(input) {
                t.out.rating = Some(n);
                t.say("rating_thanks");
                t.finished = true;
                return t;
            }
        }
        if let Some(text) = &input.text {
            if text.chars().count() > MAX_MESSAGE_CHARS {
                t.say("message_too_long");
                t.finished = true;
                return t;
            }
            if !looks_like_text(text) {
                t.say("not_text");
                t.finished = true;
                return t;
            }
            let norm = normalise(text);
            let entities = bot.entities.extract(&norm, t.expecting());
            let order_number = entities.iter().any(|e| e.kind == EntityKind::OrderNumber);
            let class = bot.matcher.classify_with(&norm, order_number);
            t.message = Some(Message {
                text: text.clone(),
                norm,
                class,
                entities,
            });
        } else if t.payload.is_none() {
            t.say("not_text");
            t.finished = true;
            return t;
        }
        t.settle_language(input.lang_hint);
        t.route();
        t
    }

    /// Runs until the bot waits for the customer or needs the order backend.
    pub fn poll(&mut self) -> Poll {
        while !self.finished {
            if let Some(request) = self.step() {
                return Poll::Need(request);
            }
        }
        Poll::Done
    }

    /// Hands the turn what the backend answered to the last `Poll::Need`.
    pub fn feed(&mut self, response: Response) {
        match response {
            Response::Order(Ok(order)) => {
                if let Some(id) = self.pending_order_id() {
                    self.orders.insert(id, order);
                }
            }
            Response::Done(Ok(())) => self.action = Some(Ok(None)),
            Response::Return(Ok(created)) => self.action = Some(Ok(Some(created))),
            Response::Order(Err(_)) | Response::Done(Err(_)) | Response::Return(Err(_)) => {
                self.backend_down();
            }
        }
    }

    pub fn finish(self) -> Outcome {
        self.out
    }

    // --- routing ---------------------------------------------------------------------

    fn expecting(&self) -> Option<EntityKind> {
        match self.current_step()?.1 {
            StepKind::Ask {
                kind: SlotKind::Entity(k),
                ..
            } => Some(*k),
            _ => None,
        }
    }

    fn settle_language(&mut self, hint: Option<Lang>) {
        if let Some(lang) = self.conv.lang {
            self.out.lang = lang;
            return;
        }
        let detected = self.message.as_ref().and_then(|m| {
            if m.norm.arabic_script {
                Some(Lang::Fa)
            } else {
                m.class.lang
            }
        });
        if let Some(lang) = hint.or(detected) {
            self.conv.lang = Some(lang);
            self.out.lang = lang;
        }
    }

    fn decision(&self) -> Decision {
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

    fn route(&mut self) {
        let decision = self.decision();
        if let Decision::Intent(i) = decision {
            self.out.intent = Some(self.bot.intents[i].id.clone());
            self.conv.fallbacks = 0;
        }
        if self.apply_corrections() && self.conv.flow.is_some() && decision == Decision::None {
            // The message corrected the flow in progress; the flow carries on with it.
            return;
        }
        let waiting = self.conv.flow.as_ref().is_some_and(|p| p.waiting);
        if waiting {
            if self.answers_waiting_step(decision) {
                // An answer to the question asked ("48213977", "sipariş no 48213977"), not a
                // new request, even when it reads like one of the flow's own intent.
                self.out.intent = None;
                return;
            }
            match decision {
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
                if self.conv.fallbacks >= FALLBACKS_BEFORE_HANDOFF {
                    self.handoff("fallback", None);
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
    fn apply_corrections(&mut self) -> bool {
        let Some(m) = &self.message else {
            return false;
        };
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

    /// Does this message answer the question the bot is waiting on?
    fn answers_waiting_step(&self, decision: Decision) -> bool {
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
            StepKind::Verify { .. } => self.proof().is_some() || !other_intent,
            StepKind::Action { .. } => self.yes_no().is_some(),
            _ => false,
        }
    }

    fn intent_runs_flow(&self, intent: usize, flow: &str) -> bool {
        matches!(self.bot.intents[intent].route, Route::Flow(f) if self.bot.flows[f].id == flow)
    }

    fn start_intent(&mut self, i: usize) {
        let intent = &self.bot.intents[i];
        match &intent.route {
            Route::Answer(t) => {
                self.say(t);
                self.input_used = true;
                if self.conv.flow.as_ref().is_some_and(|p| p.waiting) {
                    self.reprompt = true;
                } else {
                    self.finished = true;
                }
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
                });
            }
        }
    }

    fn clarify(&mut self, a: usize, b: usize) {
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
        let offered =
            [(la.clone(), &ia.id), (lb.clone(), &ib.id)].map(|(label, id)| super::ReplyButton {
                label,
                payload: format!("intent:{id}"),
            });
        reply.buttons.splice(0..0, offered);
        self.out.replies.push(reply);
    }

    // --- flow steps ------------------------------------------------------------------

    fn current_step(&self) -> Option<(&'a Flow, &'a StepKind)> {
        let pos = self.conv.flow.as_ref()?;
        let flow = self.bot.flow(&pos.flow)?;
        let i = flow
            .step(&pos.step)
            .or_else(|| auto_step_index(&pos.step))?;
        Some((flow, &flow.steps.get(i)?.kind))
    }

    /// Runs one step. Returns a request when the step needs the backend.
    fn step(&mut self) -> Option<Request> {
        self.steps_run += 1;
        let Some(pos) = self.conv.flow.clone() else {
            self.finished = true;
            return None;
        };
        let bot = self.bot;
        let Some(flow) = bot.flow(&pos.flow) else {
            return self.restart_vanished();
        };
        let Some(index) = flow
            .step(&pos.step)
            .or_else(|| auto_step_index(&pos.step))
            .filter(|&i| i < flow.steps.len())
        else {
            return self.restart_vanished();
        };
        if self.steps_run > MAX_STEPS_PER_TURN {
            return self.restart_vanished();
        }
        let step = &flow.steps[index];
        match &step.kind {
            StepKind::Ask {
                slot,
                kind,
                prompt,
                reprompt,
                max_attempts,
            } => {
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
                    _ => self.wait(prompt, reprompt.as_deref(), *max_attempts, "retry_limit"),
                }
                None
            }
            StepKind::Verify {
                slot,
                prompt,
                reprompt,
                max_attempts,
            } => {
                let Some(number) = self.conv.slots.get(slot).cloned() else {
                    return self.restart_vanished();
                };
                if self.conv.verified_order.as_deref() == Some(number.as_str()) {
                    self.advance(flow, index);
                    return None;
                }
                let proof = if self.input_used { None } else { self.proof() };
                let garbage = pos.waiting && !self.input_used && proof.is_none();
                if proof.is_none() && !garbage {
                    self.wait(
                        prompt,
                        reprompt.as_deref(),
                        *max_attempts,
                        "verification_failed",
                    );
                    return None;
                }
                let Some(order) = self.orders.get(&number) else {
                    return Some(Request::Verify(number));
                };
                let ok = match (order, proof) {
                    (Some(o), Some(Proof::Email(e))) => o.email.eq_ignore_ascii_case(&e),
                    (Some(o), Some(Proof::PhoneLast4(d))) => {
                        phone_last4(&o.phone).is_some_and(|p| p == d)
                    }
                    _ => false,
                };
                if ok {
                    self.conv.verified_order = Some(number);
                    self.input_used = true;
                    self.advance(flow, index);
                } else {
                    // Unknown order, locked order and wrong proof read the same: nothing
                    // is revealed.
                    self.conv.verify_failures += 1;
                    self.out.failed_verifications.push(number);
                    if self.conv.verify_failures >= MAX_VERIFY_FAILURES {
                        self.input_used = true;
                        self.handoff("verification_failed", None);
                        self.finished = true;
                    } else {
                        self.wait(
                            prompt,
                            reprompt.as_deref(),
                            *max_attempts,
                            "verification_failed",
                        );
                    }
                }
                None
            }
            StepKind::Lookup { slot } => {
                let Some(number) = self.conv.slots.get(slot).cloned() else {
                    return self.restart_vanished();
                };
                if self.conv.verified_order.as_deref() != Some(number.as_str()) {
                    // `check` makes every lookup follow a verify; this is the belt to its braces.
                    self.handoff("unverified_lookup", None);
                    self.finished = true;
                    return None;
                }
                match self.orders.get(&number) {
                    None => Some(Request::Order(number)),
                    Some(None) => {
                        self.backend_down();
                        None
                    }
                    Some(Some(_)) => {
                        self.advance(flow, index);
                        None
                    }
                }
            }
            StepKind::Branch {
                var,
                cases,
                default,
            } => {
                let value = self.variable(var);
                let value = value.filter(|v| !v.is_empty());
                let target = cases
                    .iter()
                    .find(|(v, _)| Some(v.as_str()) == value.as_deref())
                    .or_else(|| cases.iter().find(|(v, _)| v == "*" && value.is_some()))
                    .map(|(_, t)| *t)
                    .or(*default);
                match target {
                    Some(t) => self.goto(flow, t),
                    None => self.advance(flow, index),
                }
                None
            }
            StepKind::Action {
                action,
                slot,
                confirm,
                on_no,
            } => {
                let answer = match confirm {
                    None => Some(true),
                    Some(_) if pos.waiting && !self.input_used => self.yes_no(),
                    Some(_) => None,
                };
                match answer {
                    Some(true) => {
                        let Some(number) = self.conv.slots.get(slot).cloned() else {
                            return self.restart_vanished();
                        };
                        if self.conv.verified_order.as_deref() != Some(number.as_str()) {
                            self.handoff("unverified_action", None);
                            self.finished = true;
                            return None;
                        }
                        match self.action.take() {
                            None => Some(match action {
                                ActionKind::CancelOrder => Request::Cancel(number),
                                ActionKind::StartReturn => Request::StartReturn {
                                    order_id: number,
                                    reason: self
                                        .conv
                                        .slots
                                        .get("return_reason")
                                        .cloned()
                                        .unwrap_or_default(),
                                },
                                ActionKind::ChangeAddress => Request::ChangeAddress {
                                    order_id: number,
                                    address: self
                                        .conv
                                        .slots
                                        .get("new_address")
                                        .cloned()
                                        .unwrap_or_default(),
                                },
                            }),
                            Some(Ok(created)) => {
                                self.input_used = true;
                                if let Some(c) = created {
                                    self.conv
                                        .slots
                                        .insert("return.return_id".into(), c.return_id);
                                    if let Some(url) = c.label_url {
                                        self.conv.slots.insert("return.label_url".into(), url);
                                    }
                                }
                                // The order changed: fetch it afresh if a later step needs it.
                                self.orders.remove(&number);
                                self.advance(flow, index);
                                None
                            }
                            Some(Err(())) => {
                                self.backend_down();
                                None
                            }
                        }
                    }
                    Some(false) => {
                        self.input_used = true;
                        match on_no {
                            Some(t) => self.goto(flow, *t),
                            None => self.end_flow(),
                        }
                        None
                    }
                    None => {
                        self.wait(
                            confirm.as_deref().unwrap_or_default(),
                            None,
                            3,
                            "retry_limit",
                        );
                        None
                    }
                }
            }
            StepKind::Say { template } => {
                self.say(template);
                self.advance(flow, index);
                None
            }
            StepKind::Handoff { reason, say } => {
                self.handoff(reason, say.as_deref());
                self.finished = true;
                None
            }
            StepKind::End { say } => {
                if let Some(t) = say {
                    self.say(t);
                }
                self.end_flow();
                None
            }
        }
    }

    /// The step needs the customer: ask (or ask again), count failures, hand off at the limit.
    fn wait(&mut self, prompt: &str, reprompt: Option<&str>, max_attempts: u32, reason: &str) {
        let Some(pos) = self.conv.flow.as_mut() else {
            self.finished = true;
            return;
        };
        if !pos.waiting {
            pos.waiting = true;
            pos.attempts = 0;
            self.say(prompt);
        } else if !self.input_used {
            self.input_used = true;
            pos.attempts += 1;
            if pos.attempts >= max_attempts {
                self.handoff(reason, None);
            } else {
                self.say(reprompt.unwrap_or(prompt));
            }
        } else if self.reprompt {
            self.reprompt = false;
            self.say(prompt);
        }
        self.finished = true;
    }

    fn advance(&mut self, flow: &Flow, index: usize) {
        let next = flow.steps[index].next.unwrap_or(index + 1);
        self.goto(flow, next);
    }

    fn goto(&mut self, flow: &Flow, index: usize) {
        match (flow.steps.get(index), self.conv.flow.as_mut()) {
            (Some(step), Some(pos)) => {
                pos.step = step.id.clone();
                pos.attempts = 0;
                pos.waiting = false;
            }
            _ => self.end_flow(),
        }
    }

    /// Ends the current flow and goes back to the one it interrupted, if any.
    fn end_flow(&mut self) {
        self.conv.flow = None;
        // Free-text answers belong to the flow that asked; order numbers and e-mails stay
        // for the rest of the conversation.
        self.conv.slots.retain(|k, _| {
            matches!(k.as_str(), "order_number" | "email" | "phone") || k.starts_with("return.")
        });
        if let Some(pos) = self.conv.suspended.pop() {
            self.say("resume");
            self.reprompt = pos.waiting;
            self.conv.flow = Some(pos);
        } else {
            self.finished = true;
        }
    }

    fn restart_vanished(&mut self) -> Option<Request> {
        self.conv.flow = None;
        self.conv.suspended.clear();
        self.say("flow_restart");
        self.finished = true;
        None
    }

    fn backend_down(&mut self) {
        self.conv.flow = None;
        self.conv.suspended.clear();
        self.say("backend_down");
        self.finished = true;
    }

    fn handoff(&mut self, reason: &str, say: Option<&str>) {
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

    // --- the message -----------------------------------------------------------------

    fn entity(&self, kind: EntityKind) -> Option<&Entity> {
        self.message
            .as_ref()?
            .entities
            .iter()
            .find(|e| e.kind == kind)
    }

    fn proof(&self) -> Option<Proof> {
        if let Some(e) = self.entity(EntityKind::Email) {
            return Some(Proof::Email(e.value.clone()));
        }
        if let Some(p) = self.entity(EntityKind::Phone) {
            return phone_last4(&p.value).map(Proof::PhoneLast4);
        }
        // The last four digits alone, as the bot asks for them: only as an answer to the
        // question, so a year in "2024-88172" is never taken for them.
        if !self.conv.flow.as_ref().is_some_and(|p| p.waiting) {
            return None;
        }
        let m = self.message.as_ref()?;
        m.norm
            .entity_text
            .split(|c: char| !c.is_ascii_digit())
            .find(|t| t.len() == 4)
            .map(|t| Proof::PhoneLast4(t.to_owned()))
    }

    fn yes_no(&self) -> Option<bool> {
        match self.payload.as_deref() {
            Some("yes") => return Some(true),
            Some("no") => return Some(false),
            _ => {}
        }
        let folded = &self.message.as_ref()?.norm.folded;
        let has = |words: &[String]| {
            words.iter().any(|w| {
                folded == w
                    || folded.starts_with(&format!("{w} "))
                    || folded.ends_with(&format!(" {w}"))
                    || folded.contains(&format!(" {w} "))
            })
        };
        match (has(&self.bot.yes), has(&self.bot.no)) {
            (true, false) => Some(true),
            (false, true) => Some(false),
            _ => None,
        }
    }

    fn pending_order_id(&self) -> Option<String> {
        let (_, step) = self.current_step()?;
        let slot = match step {
            StepKind::Verify { slot, .. } | StepKind::Lookup { slot } => slot,
            _ => return None,
        };
        self.conv.slots.get(slot).cloned()
    }

    // --- replies ---------------------------------------------------------------------

    fn say(&mut self, template: &str) {
        let Some(t) = self.bot.templates.get(template) else {
            return;
        };
        let reply = render(t, self.out.lang, &|v| self.display(v));
        self.out.replies.push(reply);
    }

    /// A variable as a reply shows it: dates and amounts the way the reply language writes
    /// them (`variable` gives the raw value that branches compare).
    fn display(&self, name: &str) -> Option<String> {
        let lang = self.out.lang;
        let raw = self.variable(name)?;
        let is_date = matches!(
            name,
            "order.placed_at"
                | "order.shipped_at"
                | "order.delivered_at"
                | "order.estimated_delivery"
                | "order.refund.issued_at"
                | "order.return_deadline"
        );
        let is_amount = matches!(
            name,
            "order.total"
                | "order.refund.amount"
                | "shop.shipping_fee"
                | "shop.free_shipping_threshold"
        );
        if is_date && let Some(d) = date_of(Some(&raw)) {
            return Some(crate::locale::date(d, lang));
        }
        if is_amount && let Ok(v) = raw.parse::<f64>() {
            return Some(crate::locale::amount(v, lang));
        }
        Some(raw)
    }

    /// A template variable: a slot, a shop setting, or a field of the verified order.
    fn variable(&self, name: &str) -> Option<String> {
        if let Some(v) = self.conv.slots.get(name) {
            return Some(v.clone());
        }
        if name == "shop.payment_methods" {
            let names: Vec<String> = self
                .bot
                .shop
                .payment_methods
                .iter()
                .map(|code| {
                    self.bot
                        .templates
                        .get(&format!("payment_method_{code}"))
                        .map_or_else(|| code.clone(), |t| t.text[self.out.lang.index()].clone())
                })
                .collect();
            return Some(names.join(", "));
        }
        if name.starts_with("shop.") {
            return self.bot.shop.variable(name);
        }
        match (name, &self.availability) {
            ("handoff.wait_minutes", Some(Availability::Open { wait_minutes })) => {
                return Some(wait_minutes.to_string());
            }
            (
                "handoff.opens_at",
                Some(Availability::Closed {
                    weekday,
                    time,
                    days_ahead,
                }),
            ) => {
                return Some(crate::locale::opens_at(
                    self.out.lang,
                    *weekday,
                    time,
                    *days_ahead,
                ));
            }
            _ => {}
        }
        let field = name.strip_prefix("order.")?;
        let verified = self.conv.verified_order.as_ref()?;
        let order = self.orders.get(verified)?.as_ref()?;
        match field {
            "late" => {
                let late = matches!(
                    order.status,
                    OrderStatus::Placed
                        | OrderStatus::Processing
                        | OrderStatus::Shipped
                        | OrderStatus::OutForDelivery
                ) && date_of(order.estimated_delivery.as_deref())
                    .zip(self.today)
                    .is_some_and(|(eta, today)| eta < today);
                Some(yes_no_word(late))
            }
            "return_deadline" => self.return_deadline(order).map(|d| d.to_string()),
            "return_open" => {
                let open = order.status == OrderStatus::Delivered
                    && self
                        .return_deadline(order)
                        .zip(self.today)
                        .is_none_or(|(deadline, today)| today <= deadline);
                Some(yes_no_word(open))
            }
            "refund_days" => self.bot.shop.refund_days(order.payment_method.as_deref()),
            _ => order_field(order, field),
        }
    }

    fn return_deadline(&self, order: &Order) -> Option<Date> {
        let delivered = date_of(order.delivered_at.as_deref())?;
        delivered
            .checked_add(jiff::Span::new().days(i64::from(self.bot.shop.return_window_days)))
            .ok()
    }
}

/// A 1–5 rating: the `rating:N` button, or a message that is just the number (any digit
/// script, stars allowed).
fn rating(input: &Input) -> Option<u8> {
    if let Some(n) = input
        .payload
        .as_deref()
        .and_then(|p| p.strip_prefix("rating:"))
    {
        return n.parse().ok().filter(|n| (1..=5).contains(n));
    }
    let text = input.text.as_deref()?;
    let n = crate::normalise::normalise(text);
    let stars = text.chars().filter(|&c| c == '⭐' || c == '★').count();
    if stars > 0 && n.folded.is_empty() {
        return u8::try_from(stars).ok().filter(|n| (1..=5).contains(n));
    }
    match n.folded.as_str() {
        d @ ("1" | "2" | "3" | "4" | "5") => d.parse().ok(),
        _ => None,
    }
}

fn yes_no_word(b: bool) -> String {
    if b { "yes" } else { "no" }.to_owned()
}

/// The date part of an ISO date or timestamp from the backend.
fn date_of(s: Option<&str>) -> Option<Date> {
    let s = s?;
    s.get(..10).unwrap_or(s).parse().ok()
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

fn order_field(o: &Order, field: &str) -> Option<String> {
    Some(match field {
        "order_id" => o.order_id.clone(),
        "status" => o.status.as_str().to_owned(),
        "placed_at" => o.placed_at.clone(),
        "shipped_at" => o.shipped_at.clone()?,
        "delivered_at" => o.delivered_at.clone()?,
        "estimated_delivery" => o.estimated_delivery.clone()?,
        "carrier" => o.carrier.clone()?,
        "tracking_number" => o.tracking_number.clone()?,
        "tracking_url" => o.tracking_url.clone()?,
        "items" => o
            .items
            .iter()
            .map(|i| {
                if i.qty > 1 {
                    format!("{} × {}", i.qty, i.name)
                } else {
                    i.name.clone()
                }
            })
            .collect::<Vec<_>>()
            .join(", "),
        "total" => format!("{:.2}", o.total),
        "currency" => o.currency.clone(),
        "refund.status" => o.refund.as_ref()?.status.clone(),
        "refund.amount" => format!("{:.2}", o.refund.as_ref()?.amount),
        "refund.issued_at" => o.refund.as_ref()?.issued_at.clone()?,
        "payment_method" => o.payment_method.clone()?,
        _ => return None,
    })
}

/// Steps without an `id` are named `#1`, `#2`, … by position.
fn auto_step_index(id: &str) -> Option<usize> {
    id.strip_prefix('#')?.parse::<usize>().ok()?.checked_sub(1)
}

/// Binary junk or control characters are not a message to classify.
fn looks_like_text(text: &str) -> bool {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return false;
    }
    let control = trimmed
        .chars()
        .filter(|c| c.is_control() && !c.is_whitespace())
        .count();
    control == 0
        && trimmed
            .chars()
            .any(|c| c.is_alphanumeric() || !c.is_ascii())
}

impl Reply {
    /// A plain text reply (used by channels for their own notices).
    pub fn text(text: impl Into<String>) -> Reply {
        Reply {
            text: text.into(),
            buttons: Vec::new(),
        }
    }
}
