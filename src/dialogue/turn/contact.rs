//! Finding an order without its number: the customer gives the e-mail or the phone on it,
//! then the other factor (the last four digits of the phone, or the e-mail). Until both
//! match the bot says nothing about whether an order exists; a mismatch counts as a
//! failed verification.

use super::{Proof, Turn};
use crate::dialogue::{MAX_VERIFY_FAILURES, Request};
use crate::entities::{EntityKind, phone_last4};
use crate::orders::{Contact, Order, phone_key};

/// The slot holding the first factor while the bot asks for the second (never shown).
const FIRST: &str = "contact.first";

impl Turn<'_> {
    /// Runs the look-up by contact inside the step that asks for the order number.
    /// `None`: the message has nothing for it; `Some(request)`: handled (the request, if
    /// any, goes to the backend).
    pub(super) fn find_by_contact(&mut self, waiting: bool) -> Option<Option<Request>> {
        if self.input_used || self.message.is_none() {
            return None;
        }
        let first = self.conv.slots.get(FIRST).and_then(|v| contact_of(v));
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
        self.conv.slots.remove(FIRST);
        let matching: Vec<Order> = found
            .into_iter()
            .filter(|o| first.matches(o) && proves(&proof, o))
            .collect();
        match matching.into_iter().next() {
            Some(order) => {
                let id = order.order_id.clone();
                self.conv.slots.insert("order_number".into(), id.clone());
                self.conv.verified_order = Some(id.clone());
                self.orders.insert(id, Some(order));
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
