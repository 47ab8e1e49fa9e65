//! Finding an order without its number: the customer gives the e-mail or the phone on it,
//! then the other factor (the last four digits of the phone, or the e-mail). Until both
//! match the bot says nothing about whether an order exists; a mismatch counts as a
//! failed verification. A shop that texts one-time codes (`OrderBackend::send_code`) gets
//! the code asked for instead of the e-mail after a phone number.

use super::{Proof, Turn};
use crate::dialogue::{MAX_VERIFY_FAILURES, ReplyButton, Request};
use crate::entities::{EntityKind, phone_last4};
use crate::normalise::fold;
use crate::orders::{Contact, Order, phone_key};

/// The slot holding the first factor while the bot asks for the second (never shown).
const FIRST: &str = "contact.first";
/// The order numbers both factors matched, while the customer picks one (never shown
/// before both matched).
const CHOICES: &str = "contact.orders";
/// Set while the shop's one-time code to the phone in `FIRST` is awaited.
pub(super) const CODE: &str = "contact.code";
/// A one-time code has this many digits.
const CODE_DIGITS: std::ops::RangeInclusive<usize> = 4..=8;

impl Turn<'_> {
    /// Runs the look-up by contact inside the step that asks for the order number.
    /// `None`: the message has nothing for it; `Some(request)`: handled (the request, if
    /// any, goes to the backend).
    pub(super) fn find_by_contact(&mut self, waiting: bool) -> Option<Option<Request>> {
        if self.conv.slots.contains_key(CHOICES) {
            return self.choose_order();
        }
        if self.input_used || self.message.is_none() {
            return None;
        }
        let first = self.conv.slots.get(FIRST).and_then(|v| contact_of(v));
        if waiting
            && let Some(first) = &first
            && self.conv.slots.contains_key(CODE)
            && let Some(code) = self.code_in_message()
        {
            return Some(self.check_code(first.clone(), code));
        }
        let Some(first) = first else {
            // The first factor: an e-mail or a full phone number instead of the number.
            let contact = if let Some(e) = self.entity(EntityKind::Email) {
                Contact::Email(e.value.clone())
            } else if let Some(p) = self.entity(EntityKind::Phone) {
                Contact::Phone(p.value.clone())
            } else {
                return None;
            };
            let ask = match contact {
                Contact::Email(_) => "ask_other_factor_phone",
                // A shop that texts one-time codes verifies the phone with one; the reply
                // is the same whether or not an order carries the number.
                Contact::Phone(_) if self.bot.templates.contains_key("code_sent") => {
                    match self.code_sent.take() {
                        None => return Some(Some(Request::SendCode(contact))),
                        Some(true) => {
                            self.conv.slots.insert(CODE.into(), "sent".into());
                            "code_sent"
                        }
                        Some(false) => "ask_other_factor_email",
                    }
                }
                Contact::Phone(_) => "ask_other_factor_email",
            };
            self.conv.slots.insert(FIRST.into(), slot_of(&contact));
            self.say(ask);
            self.input_used = true;
            if let Some(p) = self.conv.flow.as_mut() {
                p.waiting = true;
            }
            self.finished = true;
            return Some(None);
        };
        if !waiting {
            return None;
        }
        let proof = self.proof()?;
        let Some(found) = self.contact_orders.take() else {
            return Some(Some(Request::OrdersByContact(first)));
        };
        self.input_used = true;
        let matching: Vec<Order> = found
            .into_iter()
            .filter(|o| first.matches(o) && proves(&proof, o))
            .collect();
        if matching.len() > 1 {
            // Both factors match several orders: all of them are the customer's, so they
            // may be listed; the customer picks one.
            let ids: Vec<&str> = matching.iter().map(|o| o.order_id.as_str()).collect();
            self.conv.slots.insert(CHOICES.into(), ids.join(","));
            self.offer_orders(&matching);
            self.finished = true;
            return Some(None);
        }
        self.conv.slots.remove(FIRST);
        self.conv.slots.remove(CODE);
        match matching.into_iter().next() {
            Some(order) => {
                self.select(order);
                Some(None)
            }
            None => {
                self.conv.verify_failures += 1;
                if self.conv.verify_failures >= MAX_VERIFY_FAILURES {
                    self.handoff("verification_failed", None);
                } else {
                    self.say("contact_no_match");
                }
                self.finished = true;
                Some(None)
            }
        }
    }
}

impl Turn<'_> {
    /// The one-time code typed: a run of 4–8 digits (in any script) and nothing else that
    /// is a number.
    fn code_in_message(&self) -> Option<String> {
        let m = self.message.as_ref()?;
        let mut runs = m
            .norm
            .entity_text
            .split(|c: char| !c.is_ascii_digit())
            .filter(|t| !t.is_empty());
        let code = runs.next()?;
        (CODE_DIGITS.contains(&code.len()) && runs.next().is_none()).then(|| code.to_owned())
    }

    /// Checks a typed one-time code with the shop: the contact's orders when it is right; a
    /// wrong code counts as a failed verification.
    fn check_code(&mut self, first: Contact, code: String) -> Option<Request> {
        let Some(found) = self.contact_orders.take() else {
            return Some(Request::CheckCode {
                contact: first,
                code,
            });
        };
        self.input_used = true;
        let mine: Vec<Order> = found.into_iter().filter(|o| first.matches(o)).collect();
        if mine.is_empty() {
            self.conv.verify_failures += 1;
            self.out
                .failed_verifications
                .push(format!("code:{}", slot_of(&first)));
            if self.conv.verify_failures >= MAX_VERIFY_FAILURES {
                self.handoff("verification_failed", None);
            } else {
                self.say("code_wrong");
            }
            self.finished = true;
            return None;
        }
        self.conv.slots.remove(CODE);
        if mine.len() > 1 {
            let ids: Vec<&str> = mine.iter().map(|o| o.order_id.as_str()).collect();
            self.conv.slots.insert(CHOICES.into(), ids.join(","));
            self.offer_orders(&mine);
            self.finished = true;
            return None;
        }
        self.conv.slots.remove(FIRST);
        if let Some(order) = mine.into_iter().next() {
            self.select(order);
        }
        None
    }

    /// The customer picks one of the orders both factors matched: by its button, its
    /// number, or words of an item in it. Anything else shows the choice again.
    fn choose_order(&mut self) -> Option<Option<Request>> {
        let choices: Vec<String> = self
            .conv
            .slots
            .get(CHOICES)?
            .split(',')
            .map(str::to_owned)
            .collect();
        let first = self.conv.slots.get(FIRST).and_then(|v| contact_of(v))?;
        let Some(found) = self.contact_orders.take() else {
            return Some(Some(Request::OrdersByContact(first)));
        };
        let mine: Vec<Order> = found
            .into_iter()
            .filter(|o| choices.contains(&o.order_id))
            .collect();
        let by_payload = self
            .payload
            .as_deref()
            .and_then(|p| p.strip_prefix("order:"))
            .map(str::to_owned);
        let by_number = self
            .entity(EntityKind::OrderNumber)
            .map(|e| e.value.clone());
        let folded = self
            .message
            .as_ref()
            .map(|m| m.norm.folded.clone())
            .unwrap_or_default();
        let by_words: Vec<&Order> = mine
            .iter()
            .filter(|o| {
                o.items.iter().any(|i| {
                    fold(&i.name)
                        .split_whitespace()
                        .filter(|w| w.chars().count() >= 4)
                        .any(|w| folded.split_whitespace().any(|m| m == w))
                })
            })
            .collect();
        let chosen = by_payload
            .or(by_number)
            .and_then(|id| mine.iter().find(|o| o.order_id == id))
            .or(match by_words.as_slice() {
                [one] => Some(*one),
                _ => None,
            })
            .cloned();
        self.input_used = true;
        match chosen {
            Some(order) => {
                self.conv.slots.remove(CHOICES);
                self.conv.slots.remove(FIRST);
                self.select(order);
            }
            None => {
                self.offer_orders(&mine);
                if let Some(p) = self.conv.flow.as_mut() {
                    p.waiting = true;
                }
                self.finished = true;
            }
        }
        Some(None)
    }

    /// The found order becomes the conversation's verified order.
    fn select(&mut self, order: Order) {
        let id = order.order_id.clone();
        self.conv.slots.insert("order_number".into(), id.clone());
        self.conv.verified_order = Some(id.clone());
        // The phone was proved (with the e-mail, or by a code texted to it): another order
        // with that phone needs no second proof.
        self.conv.proof = crate::entities::phone_last4(&order.phone)
            .map(|d| super::verify::slot_of(&super::Proof::PhoneLast4(d)));
        self.orders.insert(id, Some(order));
    }

    /// `choose_order`, with a button per order: its number, items and total.
    fn offer_orders(&mut self, orders: &[Order]) {
        let lang = self.out.lang;
        let before = self.out.replies.len();
        self.say("choose_order");
        let buttons: Vec<ReplyButton> = orders
            .iter()
            .map(|o| {
                let items: Vec<&str> = o.items.iter().map(|i| i.name.as_str()).collect();
                ReplyButton {
                    label: format!(
                        "{} · {} · {} {}",
                        o.order_id,
                        items.join(", "),
                        crate::locale::money(o.total, lang),
                        self.bot.shop.currency_for(&o.currency)
                    ),
                    payload: format!("order:{}", o.order_id),
                }
            })
            .collect();
        if self.out.replies.len() > before
            && let Some(last) = self.out.replies.last_mut()
        {
            last.buttons.splice(0..0, buttons);
        }
    }
}

/// Whether the second factor fits the order.
fn proves(proof: &Proof, order: &Order) -> bool {
    match proof {
        Proof::Email(e) => order.email.trim().eq_ignore_ascii_case(e.trim()),
        Proof::PhoneLast4(d) => phone_last4(&order.phone).is_some_and(|p| &p == d),
    }
}

fn slot_of(c: &Contact) -> String {
    match c {
        Contact::Email(e) => format!("email:{e}"),
        Contact::Phone(p) => format!("phone:{}", phone_key(p)),
    }
}

fn contact_of(v: &str) -> Option<Contact> {
    if let Some(e) = v.strip_prefix("email:") {
        return Some(Contact::Email(e.to_owned()));
    }
    v.strip_prefix("phone:")
        .map(|p| Contact::Phone(p.to_owned()))
}
