//! The `verify` step: the customer proves they own the order (its e-mail, or the last four
//! digits of its phone). Unknown orders, locked orders and wrong proof read the same.

use super::Proof;
use super::Turn;
use crate::bot::{Flow, StepKind};
use crate::dialogue::MAX_VERIFY_FAILURES;
use crate::dialogue::{FlowPos, Request};
use crate::entities::{EntityKind, phone_last4};

impl<'a> Turn<'a> {
    /// Checks the proof against the order, asking for it when the message has none.
    pub(super) fn verify(
        &mut self,
        flow: &'a Flow,
        index: usize,
        pos: &FlowPos,
    ) -> Option<Request> {
        let StepKind::Verify {
            slot,
            prompt,
            reprompt,
            max_attempts,
        } = &flow.steps[index].kind
        else {
            return None;
        };
        let Some(number) = self.conv.slots.get(slot).cloned() else {
            return self.restart_vanished();
        };
        if self.conv.verified_order.as_deref() == Some(number.as_str()) {
            self.advance(flow, index);
            return None;
        }
        let mut proof = if self.input_used { None } else { self.proof() };
        if proof.is_none() && self.corrected {
            // "Sorry, it's 2218049": the e-mail already given is checked against the
            // corrected number, so the customer need not type it again.
            proof = self.tried_proof();
        }
        // What looks like the proof asked for: an e-mail, a phone, four digits. The order
        // number typed again, or words, are no attempt.
        let offered = self.message.as_ref().is_some_and(|m| {
            m.norm.entity_text.contains('@')
                || m.entities.iter().any(|e| e.kind == EntityKind::Phone)
                || m.norm
                    .entity_text
                    .split(|c: char| !c.is_ascii_digit())
                    .any(|t| t.len() == 4)
        });
        let garbage = pos.waiting && !self.input_used && proof.is_none() && offered;
        if proof.is_none() && !garbage && !pos.waiting {
            // Another order of a customer who has proved an e-mail or phone: the proof
            // already given is tried on it, silently. A match verifies it; anything else
            // asks as usual and counts nothing.
            if let Some(known) = self.conv.proof.as_deref().and_then(proof_of) {
                let Some(order) = self.orders.get(&number) else {
                    return Some(Request::Verify(number));
                };
                if order.as_ref().is_some_and(|o| proves(o, &known)) {
                    self.conv.slots.remove(TRIED);
                    self.conv.verified_order = Some(number);
                    self.advance(flow, index);
                    return None;
                }
            }
        }
        if pos.waiting && !self.input_used && proof.is_none() && !offered {
            // Words without an e-mail or digits are no attempt at verifying: the question
            // is asked again and nothing is counted.
            self.input_used = true;
            self.reprompt = true;
        }
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
        let proof_tried = proof.as_ref().map(slot_of);
        let ok = match (order, &proof) {
            (Some(o), Some(p)) => proves(o, p),
            _ => false,
        };
        if ok {
            self.conv.slots.remove(TRIED);
            self.conv.verified_order = Some(number);
            self.conv.proof = proof_tried;
            self.input_used = true;
            self.advance(flow, index);
        } else {
            // Unknown order, locked order and wrong proof read the same: nothing
            // is revealed.
            self.conv.verify_failures += 1;
            self.out.failed_verifications.push(number);
            if let Some(p) = &proof_tried {
                self.conv.slots.insert(TRIED.into(), p.clone());
            }
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

    /// The proof of the last failed verification, if the customer gave one.
    fn tried_proof(&self) -> Option<Proof> {
        proof_of(self.conv.slots.get(TRIED)?)
    }
}

/// Whether the proof is the order's: its e-mail, or the last four digits of its phone.
pub(super) fn proves(order: &crate::orders::Order, proof: &Proof) -> bool {
    match proof {
        Proof::Email(e) => order.email.eq_ignore_ascii_case(e),
        Proof::PhoneLast4(d) => phone_last4(&order.phone).is_some_and(|p| p == *d),
    }
}

/// A proof kept as `email:…` or `last4:…`.
fn proof_of(kept: &str) -> Option<Proof> {
    if let Some(e) = kept.strip_prefix("email:") {
        return Some(Proof::Email(e.to_owned()));
    }
    kept.strip_prefix("last4:")
        .map(|d| Proof::PhoneLast4(d.to_owned()))
}

/// The slot keeping the proof of the last failed verification (never shown).
const TRIED: &str = "proof.tried";

pub(super) fn slot_of(p: &Proof) -> String {
    match p {
        Proof::Email(e) => format!("email:{e}"),
        Proof::PhoneLast4(d) => format!("last4:{d}"),
    }
}
