//! Two requests in one message: "iade etmek istiyorum, bir de diğer siparişim 48213390'ı
//! iptal edin". The first request starts; the second is told back to the customer at once
//! ("then I'll see to cancelling order 48213390") and waits at the bottom of the
//! interrupted requests. When everything before it has ended, it starts on its own, with
//! its own order number, and the bot says so.

use super::Turn;
use crate::bot::Route;
use crate::dialogue::FlowPos;
use crate::entities::EntityKind;

impl Turn<'_> {
    /// Another request with a flow of its own that one of the operator's keywords names by
    /// itself, on words of its own (not the words that named `decided`: "iade" names a
    /// return and a refund at once, "پول مرجوعی" a refund and not a return).
    fn second_request(&self, decided: usize) -> Option<usize> {
        let m = self.message.as_ref()?;
        let Route::Flow(decided_flow) = self.bot.intents[decided].route else {
            return None;
        };
        let spans: Vec<(usize, usize)> = m
            .class
            .hits
            .iter()
            .filter(|h| h.intent == decided && !h.negative)
            .map(|h| (h.start, h.end))
            .collect();
        let overlaps = |start: usize, end: usize| spans.iter().any(|&(s, e)| start < e && s < end);
        m.class
            .scores
            .iter()
            .filter(|s| s.intent != decided && !s.vetoed)
            .filter(|s| self.bot.intents[s.intent].priority >= 0)
            .filter(
                |s| matches!(self.bot.intents[s.intent].route, Route::Flow(f) if f != decided_flow),
            )
            .find(|s| {
                self.naming_hit(s.intent)
                    .is_some_and(|(start, end)| !overlaps(start, end))
            })
            .map(|s| s.intent)
    }

    /// Where the first keyword that names `intent` by itself starts and ends.
    fn naming_hit(&self, intent: usize) -> Option<(usize, usize)> {
        let m = self.message.as_ref()?;
        let threshold = self.bot.matcher.tuning().threshold;
        m.class
            .hits
            .iter()
            .filter(|h| h.intent == intent && !h.negative && (h.decisive || h.weight >= threshold))
            .map(|h| (h.start, h.end))
            .min()
    }

    /// Of two requests in one message, the one to start now and the one to queue: the one
    /// that goes to a person first, then the one named first ("iade etmek istiyorum, bir de
    /// diğerini iptal edin" returns first, whichever the matcher scored higher). A request
    /// that goes to a person takes the other into its summary instead: nothing is queued.
    /// A message with a no in it ("yok, iptal etmeyeyim, adresi değiştirsem yeter") names
    /// one request it wants and one it does not.
    pub(super) fn order_of_two(&self, decided: usize) -> (usize, Option<usize>) {
        if self.payload.is_some()
            || self.conv.flow.as_ref().is_some_and(|p| p.waiting)
            || self.declines()
        {
            return (decided, None);
        }
        let Some(other) = self.second_request(decided) else {
            return (decided, None);
        };
        let priority = |i: usize| self.bot.intents[i].priority;
        let position = |i: usize| self.naming_hit(i).map_or(usize::MAX, |(start, _)| start);
        let first = if priority(other) > priority(decided)
            || (priority(other) == priority(decided) && position(other) < position(decided))
        {
            other
        } else {
            decided
        };
        let second = if first == other { decided } else { other };
        if priority(first) > 0 {
            (first, None)
        } else {
            (first, Some(second))
        }
    }

    /// The second request waits for its turn at the bottom of the interrupted requests,
    /// with the message's other order number when there is one, and the customer hears
    /// that it will come.
    pub(super) fn queue_request(&mut self, second: usize) {
        let Some(m) = &self.message else {
            return;
        };
        // The first request takes the message's first order number; another one is the
        // second request's.
        let mut numbers = m
            .entities
            .iter()
            .filter(|e| e.kind == EntityKind::OrderNumber)
            .map(|e| e.value.clone());
        let first = numbers.next();
        let order_number = numbers.find(|n| Some(n) != first.as_ref());
        let intent = &self.bot.intents[second];
        let Route::Flow(f) = intent.route else {
            return;
        };
        let flow = &self.bot.flows[f];
        let Some(first_step) = flow.steps.first() else {
            return;
        };
        let queued = FlowPos {
            flow: flow.id.clone(),
            step: first_step.id.clone(),
            intent: intent.id.clone(),
            attempts: 0,
            waiting: false,
            topic: m.text.clone(),
            queued: true,
            order_number,
        };
        // One message's second request at a time: a later one replaces it.
        self.conv.suspended.retain(|p| !p.queued);
        self.conv.suspended.insert(0, queued);
        self.say(if self.next_request_variable("next_order").is_some() {
            "next_request_order"
        } else {
            "next_request"
        });
    }

    /// When the request in progress has ended and the next one to come back to is a
    /// queued second request: it starts now, on its own order number, and the steps of
    /// this turn go on with it. `false` when the next one is not queued.
    pub(super) fn start_next_request(&mut self) -> bool {
        if !self.conv.suspended.last().is_some_and(|p| p.queued) {
            return false;
        }
        self.say(if self.next_request_variable("next_order").is_some() {
            "next_request_start_order"
        } else {
            "next_request_start"
        });
        let Some(mut pos) = self.conv.suspended.pop() else {
            return false;
        };
        if let Some(number) = pos.order_number.take() {
            self.conv.slots.insert("order_number".to_owned(), number);
        }
        pos.queued = false;
        self.conv.flow = Some(pos);
        // The message went to the request that ended; the next one asks for what it needs.
        self.input_used = true;
        true
    }

    /// `next_request` (the queued request's label) and `next_order` (its order number).
    pub(super) fn next_request_variable(&self, name: &str) -> Option<String> {
        let pos = self.conv.suspended.iter().rev().find(|p| p.queued)?;
        match name {
            "next_request" => self
                .bot
                .intent(&pos.intent)
                .map(|i| self.bot.intents[i].label(self.out.lang).to_owned()),
            "next_order" => pos.order_number.clone(),
            _ => None,
        }
    }
}
