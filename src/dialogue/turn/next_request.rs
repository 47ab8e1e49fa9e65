//! Two requests in one message: "iade etmek istiyorum, bir de diğer siparişim 48213390'ı
//! iptal edin". The first request starts; the second is told back to the customer at once
//! ("then I'll see to cancelling order 48213390") and waits at the bottom of the
//! interrupted requests. When everything before it has ended, it starts on its own, with
//! its own order number, and the bot says so.

use super::Turn;
use crate::bot::Route;
use crate::dialogue::FlowPos;
use crate::entities::{Entity, EntityKind};

/// Words that join a second request to the first ("…, bir de diğer siparişimi iptal edin",
/// "…, and also change the address", "راستی …"), folded. A request is only split in two
/// at one of them: "iptal ettiğim siparişin parası" and "return it and get a refund" ask
/// one thing.
const JOINERS: &[&str] = &[
    "also",
    "plus",
    "as well",
    "btw",
    "by the way",
    "another thing",
    "other",
    "bir de",
    "bi de",
    "birde",
    "bide",
    "ayrica",
    "hem de",
    "bu arada",
    "diger",
    "digerini",
    "digerinin",
    "همچنین",
    "راستی",
    "ضمنا",
    "هم",
    "دیگه",
    "دیگر",
    "دیگرم",
    "ham",
    "dige",
    "rasti",
];

impl Turn<'_> {
    /// The flow request the operator's keywords name in `folded[from..to]` (their weights,
    /// each keyword once, reach the threshold), `decided` first, else the best named. An
    /// order number on that side adds what it adds to each intent ("3301245 nerde": a weak
    /// keyword next to a number asks about it).
    fn named_between(&self, from: usize, to: usize, decided: usize) -> Option<usize> {
        let m = self.message.as_ref()?;
        let threshold = self.bot.matcher.tuning().threshold;
        let folded = m.norm.folded.as_str();
        let has_number = m
            .entities
            .iter()
            .filter(|e| e.kind == EntityKind::OrderNumber)
            .filter_map(|e| digits_at(folded, &e.value, from))
            .any(|(_, end)| end <= to);
        let number_adds = |i: usize| {
            m.class
                .scores
                .iter()
                .find(|s| s.intent == i)
                .map_or(0.0, |s| s.entity)
        };
        // The keywords' weight on this side, each keyword once.
        let weight = |i: usize| {
            let mut seen: Vec<&str> = Vec::new();
            let mut total = 0.0;
            for h in m.class.hits.iter() {
                if h.intent != i || h.negative || h.start < from || h.end > to {
                    continue;
                }
                if h.decisive {
                    return f32::INFINITY;
                }
                let text = folded.get(h.start..h.end).unwrap_or_default();
                if !seen.contains(&text) {
                    seen.push(text);
                    total += h.weight;
                }
            }
            total
        };
        // Named: a keyword, and with the number beside it enough evidence. The number
        // alone names nothing, and never ranks one request over another.
        let named = |i: usize| {
            let w = weight(i);
            let number = if has_number { number_adds(i) } else { 0.0 };
            w > 0.0 && w + number >= threshold
        };
        let flow = |i: usize| matches!(self.bot.intents[i].route, Route::Flow(_));
        let live = |i: usize| m.class.scores.iter().any(|s| s.intent == i && !s.vetoed);
        if flow(decided) && named(decided) {
            return Some(decided);
        }
        m.class
            .scores
            .iter()
            .map(|s| s.intent)
            .filter(|&i| flow(i) && live(i) && self.bot.intents[i].priority >= 0 && named(i))
            .map(|i| (i, weight(i)))
            .max_by(|a, b| a.1.total_cmp(&b.1))
            .map(|(i, _)| i)
    }

    /// Two flow requests joined by a joining word, each named by the operator's keywords
    /// on its own side of it: the one before it and the one after. Two order numbers are a
    /// join too ("1234567 nerde, 7654321 iptal edin", "where's 1234567, cancel 7654321"):
    /// the message is cut right after the first or right before the second.
    fn two_requests(&self, decided: usize) -> Option<(usize, usize)> {
        let m = self.message.as_ref()?;
        let folded = m.norm.folded.as_str();
        let flow_of = |i: usize| match self.bot.intents[i].route {
            Route::Flow(f) => Some(f),
            _ => None,
        };
        let mut splits = joiners(folded);
        splits.extend(between_numbers(folded, &m.entities).map(|at| (at, at)));
        for (at, end) in splits {
            let (Some(a), Some(b)) = (
                self.named_between(0, at, decided),
                self.named_between(end, folded.len(), decided),
            ) else {
                continue;
            };
            if flow_of(a) != flow_of(b) {
                return Some((a, b));
            }
        }
        None
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
            || !matches!(self.bot.intents[decided].route, Route::Flow(_))
            || self.declines()
        {
            return (decided, None);
        }
        let Some((before, after)) = self.two_requests(decided) else {
            return (decided, None);
        };
        let priority = |i: usize| self.bot.intents[i].priority;
        let (first, second) = if priority(after) > priority(before) {
            (after, before)
        } else {
            (before, after)
        };
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

/// With two different order numbers in the message: where the word after the first one
/// starts and where the word holding the second one starts, in `folded`.
fn between_numbers(folded: &str, entities: &[Entity]) -> impl Iterator<Item = usize> {
    let mut numbers = entities
        .iter()
        .filter(|e| e.kind == EntityKind::OrderNumber)
        .map(|e| e.value.as_str());
    let first = numbers.next();
    let second = numbers.find(|n| Some(*n) != first);
    let cuts = match (first, second) {
        (Some(a), Some(b)) => digits_at(folded, a, 0).and_then(|(_, a_end)| {
            let (b_start, _) = digits_at(folded, b, a_end)?;
            let word_start = folded[..b_start].rfind(' ').map_or(0, |i| i + 1);
            Some([a_end, word_start])
        }),
        _ => None,
    };
    cuts.into_iter()
        .flatten()
        .filter(|&at| at > 0 && at < folded.len())
}

/// Where the digits of order number `number` stand in `folded`, searching from `from`.
fn digits_at(folded: &str, number: &str, from: usize) -> Option<(usize, usize)> {
    let digits: String = number.chars().filter(char::is_ascii_digit).collect();
    if digits.is_empty() {
        return None;
    }
    let start = from + folded.get(from..)?.find(&digits)?;
    Some((start, start + digits.len()))
}

/// Where each joining word starts and ends in `folded` (whole words).
fn joiners(folded: &str) -> Vec<(usize, usize)> {
    let bytes = folded.as_bytes();
    let mut found = Vec::new();
    for start in std::iter::once(0).chain(
        bytes
            .iter()
            .enumerate()
            .filter(|&(_, &b)| b == b' ')
            .map(|(i, _)| i + 1),
    ) {
        for joiner in JOINERS {
            let end = start + joiner.len();
            if folded.get(start..end) == Some(joiner) && (end == bytes.len() || bytes[end] == b' ')
            {
                found.push((start, end));
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::{between_numbers, joiners};
    use crate::entities::{Entity, EntityKind};

    fn number(value: &str) -> Entity {
        Entity {
            kind: EntityKind::OrderNumber,
            value: value.to_owned(),
            start: 0,
            end: 0,
        }
    }

    #[test]
    fn two_order_numbers_cut_after_the_first_and_before_the_second() {
        let text = "3301245 nerde 3301246 iptal edin";
        let cuts: Vec<usize> =
            between_numbers(text, &[number("3301245"), number("3301246")]).collect();
        assert_eq!(cuts, vec![7, 14]);
        let one: Vec<usize> = between_numbers(text, &[number("3301245")]).collect();
        assert!(one.is_empty());
        let same: Vec<usize> =
            between_numbers(text, &[number("3301245"), number("3301245")]).collect();
        assert!(same.is_empty());
    }

    #[test]
    fn joining_words_are_found_as_whole_words() {
        assert_eq!(joiners("iade etmek istiyorum bi de iptal"), vec![(21, 26)]);
        assert_eq!(joiners("where is it and also cancel"), vec![(16, 20)]);
        assert!(joiners("alsop bidet otherwise").is_empty());
        assert!(joiners("").is_empty());
    }
}
