//! The `ask` step: fill a slot from the message (an entity, free text or yes/no), or ask
//! for it and count the attempts.

use super::Turn;
use crate::bot::{ConversationWords, Flow, SlotKind, StepKind};
use crate::dialogue::{FlowPos, ReplyButton, Request};
use crate::entities::EntityKind;
use crate::normalise::fold;

/// Set once an address slot has been filled: the first message is not read for one again.
/// An internal slot (`contact.`), never in a handoff summary.
const ADDRESS_READ: &str = "contact.address_read";

/// An answer of at most this many words may name an item by a word of three letters.
const SHORT_ITEM_ANSWER_WORDS: usize = 3;

impl<'a> Turn<'a> {
    /// Fills the step's slot, or asks for it.
    pub(super) fn ask(&mut self, flow: &'a Flow, index: usize, pos: &FlowPos) -> Option<Request> {
        let StepKind::Ask {
            slot,
            kind,
            prompt,
            reprompt,
            max_attempts,
        } = &flow.steps[index].kind
        else {
            return None;
        };
        if self.conv.slots.contains_key(slot) {
            self.advance(flow, index);
            return None;
        }
        if *kind == SlotKind::Entity(EntityKind::OrderNumber)
            && self.conv.slots.contains_key("contact.orders")
        {
            // The customer is choosing among the orders their e-mail and phone matched.
            let handled = self.find_by_contact(pos.waiting);
            if self.conv.slots.contains_key(slot) {
                self.advance(flow, index);
            }
            return handled.flatten();
        }
        if *kind == SlotKind::Entity(EntityKind::OrderNumber)
            && self.conv.slots.contains_key(super::contact::CODE)
            && let Some(handled) = self.find_by_contact(pos.waiting)
        {
            // A one-time code is awaited: "482917" is the code, not an order number.
            if self.conv.slots.contains_key(slot) {
                self.advance(flow, index);
            }
            return handled;
        }
        let given = match kind {
            SlotKind::Entity(k) => self.entity(*k).map(|e| e.value.clone()),
            SlotKind::Text if pos.waiting && !self.input_used => self
                .payload
                .clone()
                .or_else(|| self.message.as_ref().map(|m| m.text.trim().to_owned())),
            SlotKind::Text => None,
            SlotKind::YesNo if pos.waiting && !self.input_used => self
                .yes_no()
                .map(|yes| if yes { "yes" } else { "no" }.to_owned()),
            SlotKind::YesNo => None,
            SlotKind::OrderItem => self.order_item(pos),
        };
        let given = given
            .or_else(|| self.reason_given_up_front(slot, pos))
            .or_else(|| self.address_given_up_front(slot, pos));
        if given.is_none() && *kind == SlotKind::Entity(EntityKind::OrderNumber) {
            if let Some(handled) = self.find_by_contact(pos.waiting) {
                if handled.is_none() && self.conv.slots.contains_key(slot) {
                    // Found and verified by contact: the flow goes on with that order.
                    self.advance(flow, index);
                }
                return handled;
            }
            let no_digits = self
                .message
                .as_ref()
                .is_some_and(|m| !m.norm.entity_text.chars().any(|c| c.is_ascii_digit()));
            if pos.waiting && !self.input_used && no_digits {
                // "The blue one": no number at all is no wrong number. Where to find
                // it, and the look-up by e-mail or phone, instead of a failed attempt.
                self.no_number = true;
                self.input_used = true;
                self.reprompt = true;
            }
        }
        match given {
            Some(v) if !v.is_empty() => {
                if slot.contains("address") {
                    self.conv
                        .slots
                        .insert(ADDRESS_READ.to_owned(), String::new());
                }
                self.conv.slots.insert(slot.clone(), v);
                // An entity leaves the rest of the message for later steps (an
                // order number and an e-mail in one message); free text does not.
                if matches!(kind, SlotKind::Text | SlotKind::YesNo | SlotKind::OrderItem) {
                    self.input_used = true;
                }
                self.advance(flow, index);
            }
            _ if self.no_number && *kind == SlotKind::Entity(EntityKind::OrderNumber) => {
                // No number to give: where to find it, and the offer of a look-up by
                // e-mail or phone; not a failed attempt.
                self.wait("no_number", Some("no_number"), *max_attempts, "retry_limit");
            }
            _ => {
                let said = self.out.replies.len();
                self.wait(prompt, reprompt.as_deref(), *max_attempts, "retry_limit");
                if *kind == SlotKind::OrderItem && self.out.replies.len() > said {
                    self.offer_items();
                }
            }
        }
        None
    }

    /// "I want to return my mug, it's the wrong colour", or "the jacket, it's too tight" as
    /// the answer to which item: the customer already said why
    /// (`conversation.return_reason`), so the bot does not ask again.
    fn reason_given_up_front(&self, slot: &str, pos: &FlowPos) -> Option<String> {
        if slot != "return_reason" || pos.waiting {
            return None;
        }
        let says_why = |text: &str| {
            ConversationWords::find(&self.bot.words.return_reason, &fold(text))
                .map(|_| text.trim().to_owned())
        };
        says_why(&pos.topic).or_else(|| says_why(&self.message.as_ref()?.text))
    }

    /// "Moved last week, the new one is 118 Birch Ave Apt 7, Springfield": the message
    /// that started the flow already holds the address (`conversation.address` words and a
    /// number), so it is read back instead of asked for — also when the order was verified
    /// in a later message. It starts at the first number or the first word right before a
    /// street word. Once an address was given, a no to it asks for it: the first message
    /// is not read again.
    fn address_given_up_front(&self, slot: &str, pos: &FlowPos) -> Option<String> {
        if !slot.contains("address") || pos.waiting || self.conv.slots.contains_key(ADDRESS_READ) {
            return None;
        }
        let words = &self.bot.words.address;
        let tokens: Vec<&str> = pos.topic.split_whitespace().collect();
        let is_street = |t: &str| {
            let f = fold(t);
            !f.is_empty() && ConversationWords::find(words, &f).is_some()
        };
        if !tokens.iter().any(|t| is_street(t)) {
            return None;
        }
        // The order number in the same message is not part of the address.
        let order = self
            .conv
            .slots
            .get("order_number")
            .cloned()
            .unwrap_or_default();
        let after_order = tokens
            .iter()
            .rposition(|t| !order.is_empty() && t.contains(order.as_str()))
            .map_or(0, |i| i + 1);
        let start = (after_order..tokens.len()).find(|&i| {
            tokens[i].chars().any(|c| c.is_numeric())
                || is_street(tokens[i])
                || tokens.get(i + 1).is_some_and(|t| is_street(t))
        })?;
        let address = tokens[start..].join(" ");
        address.chars().any(char::is_numeric).then(|| {
            address
                .trim_matches(|c: char| c == ',' || c == '.')
                .to_owned()
        })
    }

    /// The item of the verified order the message names: its button, words of its name,
    /// or the only item there is.
    fn order_item(&self, pos: &FlowPos) -> Option<String> {
        let order = self.verified()?;
        if let [only] = order.items.as_slice() {
            return Some(only.name.clone());
        }
        if !pos.waiting {
            // "Bir de pantolonu iade etmek istiyorum": the item named in the message that
            // asked for the return is not asked for again.
            return self.item_named(order, &fold(&pos.topic));
        }
        if self.input_used {
            return None;
        }
        if let Some(sku) = self
            .payload
            .as_deref()
            .and_then(|p| p.strip_prefix("item:"))
        {
            return order
                .items
                .iter()
                .find(|i| i.sku == sku)
                .map(|i| i.name.clone());
        }
        self.item_named(order, &self.message.as_ref()?.norm.folded)
    }

    /// The one item of `order` whose name `folded` mentions (a word of four letters or
    /// more, or a suffixed form of one: "pantolonu"). A short answer may name it by a
    /// shorter word, written out whole ("شال", "the mug").
    fn item_named(&self, order: &crate::orders::Order, folded: &str) -> Option<String> {
        let short_answer = crate::words::count(folded) <= SHORT_ITEM_ANSWER_WORDS;
        let named: Vec<&crate::orders::Item> = order
            .items
            .iter()
            .filter(|i| {
                fold(&i.name)
                    .split_whitespace()
                    .filter(|w| w.chars().all(char::is_alphabetic))
                    .any(|w| {
                        let long = w.chars().count() >= 4;
                        folded.split_whitespace().any(|m| {
                            (m == w && (long || (short_answer && w.chars().count() >= 3)))
                                || (long && m.len() >= 5 && (m.starts_with(w) || w.starts_with(m)))
                        })
                    })
            })
            .collect();
        match named.as_slice() {
            [one] => Some(one.name.clone()),
            _ => None,
        }
    }

    /// A button per item of the verified order under the question just asked.
    fn offer_items(&mut self) {
        let Some(order) = self.verified() else {
            return;
        };
        let lang = self.out.lang;
        let buttons: Vec<ReplyButton> = order
            .items
            .iter()
            .map(|i| ReplyButton {
                label: format!("{} · {}", i.name, crate::locale::amount(i.price, lang)),
                payload: format!("item:{}", i.sku),
            })
            .collect();
        if let Some(last) = self.out.replies.last_mut() {
            last.buttons.splice(0..0, buttons);
        }
    }
}
