//! One turn of a conversation as a resumable state machine.
//!
//! `Turn::new` normalises and classifies the message once and decides where it goes
//! (answer, start or resume a flow, clarify, fall back, hand off). `poll` then runs flow
//! steps until the bot waits for the customer again, or until it needs the order backend,
//! in which case it returns `Poll::Need` and picks up at the same step after `feed`.

mod action;
mod ask;
mod branch;
mod confirm_question;
mod contact;
mod fetched;
mod guess;
mod handoff;
mod hesitate;
mod lookup;
mod message;
mod mind;
mod next_request;
mod payment;
mod route;
mod same_order;
mod say;
mod steer;
mod vars;
mod verify;

pub(crate) use hesitate::sound_form;
pub use vars::render_for_order;

use super::{
    Availability, Conversation, Input, MAX_MESSAGE_CHARS, Outcome, Poll, Reply, Request, Response,
};
use crate::bot::{Bot, Flow, StepKind};
use crate::entities::{Entity, EntityKind};
use crate::matcher::Classification;
use crate::normalise::{Normalised, normalise};
use crate::orders::{Order, ReturnCreated};
use jiff::civil::Date;

/// A flow that runs this many steps without waiting for the customer is looping.
const MAX_STEPS_PER_TURN: u32 = 64;

pub struct Turn<'a> {
    bot: &'a Bot,
    conv: &'a mut Conversation,
    message: Option<Message>,
    payload: Option<String>,
    /// The message has been used: by a step, or by an answer given in passing.
    input_used: bool,
    /// The customer must be asked the waiting step's question again.
    reprompt: bool,
    /// The customer said they do not have the order number: the question for it becomes
    /// where to find it, and an offer to find the order by e-mail or phone.
    no_number: bool,
    /// The message corrected the order number: the proof already tried is checked
    /// against the new one.
    corrected: bool,
    orders: fetched::Fetched,
    /// The order number of the last `Request::Verify`/`Request::Order`.
    requested: Option<String>,
    /// What the backend answered to `Request::OrdersByContact`.
    contact_orders: Option<Vec<Order>>,
    /// Whether the shop sent a one-time code (`Request::SendCode`).
    code_sent: Option<bool>,
    action: Option<Result<Option<ReturnCreated>, ()>>,
    out: Outcome,
    steps_run: u32,
    finished: bool,
    today: Option<Date>,
    availability: Option<Availability>,
    /// The customer's first message of the conversation ("iyi günler" then greets).
    opening: bool,
    /// The message asks about the order just discussed (`same_order`).
    follow_up: bool,
    /// The request this message interrupted asks its question again as soon as the
    /// interrupting one ends, without "shall we carry on?" (`same_order`).
    back_at_once: bool,
}

struct Message {
    text: String,
    norm: Normalised,
    class: Classification,
    entities: Vec<Entity>,
    /// The `conversation:` phrase lists found in `norm.folded` (one scan).
    phrases: crate::phrase_scan::PhraseHits,
}

/// What a customer offered to prove they own an order.
enum Proof {
    Email(String),
    PhoneLast4(String),
}

impl<'a> Turn<'a> {
    pub fn new(bot: &'a Bot, conv: &'a mut Conversation, input: &Input) -> Turn<'a> {
        let lang = conv.lang.or(input.lang_hint).unwrap_or(bot.default_lang);
        // The reply language is settled by the first customer message; nothing else has
        // happened before it.
        let opening = conv.lang.is_none() && conv.last_request.is_none() && conv.flow.is_none();
        let mut t = Turn {
            bot,
            conv,
            message: None,
            payload: input.payload.clone(),
            input_used: false,
            reprompt: false,
            no_number: false,
            corrected: false,
            orders: fetched::Fetched::default(),
            requested: None,
            contact_orders: None,
            code_sent: None,
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
            opening,
            follow_up: false,
            back_at_once: false,
        };
        let waiting_for_person = t.conv.handoff.is_some();
        if waiting_for_person {
            // A person has the conversation: the bot relays the message. Once an agent has
            // answered it stays silent; until then it answers routine requests itself and
            // otherwise tells the customer when someone will answer.
            t.out.relayed = true;
            if t.conv.agent_joined {
                t.finished = true;
                return t;
            }
            if input.text.is_none() && input.payload.is_none() {
                // A photo or a voice note is for the person (the transcript describes it).
                t.say_waiting();
                t.finished = true;
                return t;
            }
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
            if text.contains(|c: char| c.is_ascii_digit()) {
                t.conv.persian_digits = false;
            }
            if text.contains(|c| matches!(c, '\u{06F0}'..='\u{06F9}' | '\u{0660}'..='\u{0669}')) {
                t.conv.persian_digits = true;
            }
            let norm = normalise(text);
            let entities = bot.entities.extract(&norm, t.expecting());
            let order_number = entities.iter().any(|e| e.kind == EntityKind::OrderNumber);
            let mut class = bot.matcher.classify(&norm, order_number);
            steer::opening_greets(bot, &mut class, t.opening);
            let phrases = bot.words.scan.scan(&norm.folded);
            t.message = Some(Message {
                text: text.clone(),
                norm,
                class,
                entities,
                phrases,
            });
        } else if t.payload.is_none() {
            t.say("not_text");
            t.finished = true;
            return t;
        }
        t.settle_language(input.lang_hint);
        if waiting_for_person && !t.routine_while_waiting() {
            t.say_waiting();
            t.finished = true;
            return t;
        }
        t.route();
        t
    }

    /// Runs until the bot waits for the customer or needs the order backend.
    pub fn poll(&mut self) -> Poll {
        while !self.finished {
            if let Some(request) = self.verified_order_needed().or_else(|| self.step()) {
                if let Request::Verify(id) | Request::Order(id) = &request {
                    self.requested = Some(id.clone());
                }
                return Poll::Need(request);
            }
        }
        Poll::Done
    }

    /// Hands the turn what the backend answered to the last `Poll::Need`.
    pub fn feed(&mut self, response: Response) {
        match response {
            Response::Order(Ok(order)) => {
                if let Some(id) = self.requested.take() {
                    self.orders.insert(id, order);
                }
            }
            Response::Done(Ok(())) => self.action = Some(Ok(None)),
            Response::Return(Ok(created)) => self.action = Some(Ok(Some(created))),
            Response::Orders(Ok(found)) => self.contact_orders = Some(found),
            Response::Sent(Ok(sent)) => self.code_sent = Some(sent),
            Response::Order(Err(_))
            | Response::Done(Err(_))
            | Response::Return(Err(_))
            | Response::Orders(Err(_))
            | Response::Sent(Err(_)) => {
                self.backend_down();
            }
        }
    }

    pub fn finish(self) -> Outcome {
        // Outside a flow, a reply that asks whether to take the one action it offers as a
        // button ("shall I pass you to a person?") can be answered with a typed yes.
        let waiting = self.conv.flow.as_ref().is_some_and(|p| p.waiting);
        let offers: Vec<&str> = self
            .out
            .replies
            .last()
            .filter(|r| crate::words::has_question_mark(&r.text))
            .map(|r| {
                r.buttons
                    .iter()
                    .map(|b| b.payload.as_str())
                    .filter(|p| p.starts_with("intent:"))
                    .collect()
            })
            .unwrap_or_default();
        self.conv.offer = match offers.as_slice() {
            [one] if !waiting && self.conv.handoff.is_none() => Some((*one).to_owned()),
            _ => None,
        };
        self.out
    }
    // --- flow steps ------------------------------------------------------------------

    pub(super) fn current_step(&self) -> Option<(&'a Flow, &'a StepKind)> {
        let pos = self.conv.flow.as_ref()?;
        let flow = self.bot.flow(&pos.flow)?;
        let i = flow
            .step(&pos.step)
            .or_else(|| auto_step_index(&pos.step))?;
        Some((flow, &flow.steps.get(i)?.kind))
    }

    /// The verified order, when a flow is under way and this turn has not fetched it yet:
    /// confirmations and replies in a later turn show its items, amounts and dates, never
    /// a blank.
    fn verified_order_needed(&self) -> Option<Request> {
        self.conv.flow.as_ref()?;
        let id = self.conv.verified_order.as_ref()?;
        // Only while the flow is about that order (not while it asks for another one).
        let about_it = self.conv.slots.get("order_number") == Some(id);
        (about_it && !self.orders.contains_key(id)).then(|| Request::Order(id.clone()))
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
        match &flow.steps[index].kind {
            StepKind::Ask { .. } => self.ask(flow, index, &pos),
            StepKind::Verify { .. } => self.verify(flow, index, &pos),
            StepKind::Lookup { .. } => self.lookup(flow, index),
            StepKind::Branch { .. } => self.branch(flow, index),
            StepKind::Action { .. } => self.action(flow, index, &pos),
            StepKind::Say { .. } => self.say_step(flow, index),
            StepKind::Handoff { .. } => self.handoff_step(flow, index),
            StepKind::End { .. } => self.end_step(flow, index),
        }
    }

    /// The step needs the customer: ask (or ask again), count failures, hand off at the limit.
    pub(super) fn wait(
        &mut self,
        prompt: &str,
        reprompt: Option<&str>,
        max_attempts: u32,
        reason: &str,
    ) {
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

    pub(super) fn advance(&mut self, flow: &Flow, index: usize) {
        let next = flow.steps[index].next.unwrap_or(index + 1);
        self.goto(flow, next);
    }

    pub(super) fn goto(&mut self, flow: &Flow, index: usize) {
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
    pub(super) fn end_flow(&mut self) {
        if let Some(pos) = self.conv.flow.take() {
            self.conv.last_request = Some(last_request(&pos.intent, &pos.topic));
        }
        if self.back_at_once
            && let Some(mut pos) = self.conv.suspended.pop()
        {
            // A question about the order in the middle of a request: answered, and the
            // request asks its question again (its typed answers are still its own).
            self.back_at_once = false;
            pos.waiting = false;
            self.conv.flow = Some(pos);
            self.input_used = true;
            return;
        }
        // Free-text answers belong to the flow that asked; order numbers and e-mails stay
        // for the rest of the conversation.
        self.conv.slots.retain(|k, _| {
            matches!(k.as_str(), "order_number" | "email" | "phone") || k.starts_with("return.")
        });
        if self.start_next_request() {
            return;
        }
        if let Some(pos) = self.conv.suspended.pop() {
            // The customer decides whether the interrupted request still stands.
            self.say("resume_ask");
            self.conv.resume_pending = true;
            self.conv.flow = Some(pos);
            self.finished = true;
        } else {
            self.finished = true;
        }
    }

    pub(super) fn restart_vanished(&mut self) -> Option<Request> {
        self.conv.flow = None;
        self.conv.suspended.clear();
        self.say("flow_restart");
        self.finished = true;
        None
    }

    pub(super) fn backend_down(&mut self) {
        self.conv.flow = None;
        self.conv.suspended.clear();
        self.say("backend_down");
        self.finished = true;
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

/// `intent "the customer's words"`: the words one space apart, at most 140 characters of
/// them.
fn last_request(intent: &str, topic: &str) -> String {
    const MAX_CHARS: usize = 140;
    let mut out = String::with_capacity(intent.len() + 3 + topic.len().min(4 * MAX_CHARS));
    out.push_str(intent);
    out.push_str(" \"");
    let mut chars = 0;
    'words: for (i, w) in topic.split_whitespace().enumerate() {
        if i > 0 {
            if chars == MAX_CHARS {
                break;
            }
            out.push(' ');
            chars += 1;
        }
        for c in w.chars() {
            if chars == MAX_CHARS {
                break 'words;
            }
            out.push(c);
            chars += 1;
        }
    }
    out.push('"');
    out
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
    // "?" or "??" alone is a customer asking "hello?", not a file.
    control == 0
        && trimmed
            .chars()
            .any(|c| c.is_alphanumeric() || !c.is_ascii() || c == '?')
}

impl Reply {
    /// A plain text reply (used by channels for their own notices).
    pub fn text(text: impl Into<String>) -> Reply {
        Reply {
            text: text.into(),
            buttons: Vec::new(),
            template: String::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::last_request;

    /// What the summary held before: the words joined by one space, cut at 140 characters.
    fn joined(intent: &str, topic: &str) -> String {
        let words: String = topic.split_whitespace().collect::<Vec<_>>().join(" ");
        let words: String = words.chars().take(140).collect();
        format!("{intent} \"{words}\"")
    }

    #[test]
    fn the_last_request_keeps_the_words_one_space_apart_and_cut_at_140_characters() {
        let exact = "x".repeat(140);
        let long_word = "ş".repeat(150);
        let at_the_edge = format!("{} next", "y".repeat(140));
        let just_under = format!("{} z", "y".repeat(139));
        for topic in [
            "",
            "  where   is\tmy order\n ",
            "siparişim nerede 48213977",
            "سفارشم کجاست؟",
            exact.as_str(),
            long_word.as_str(),
            at_the_edge.as_str(),
            just_under.as_str(),
        ] {
            assert_eq!(
                last_request("order_status", topic),
                joined("order_status", topic)
            );
        }
        assert_eq!(last_request("a", "  b  c "), "a \"b c\"");
    }
}
