//! The `action` step: cancel, start a return or change the address of the verified order,
//! after the customer confirmed it when the step asks them to.

use super::Turn;
use crate::bot::{ActionKind, Flow, StepKind};
use crate::dialogue::{FlowPos, Request};

impl<'a> Turn<'a> {
    /// Asks for confirmation when configured, then asks the backend to act.
    pub(super) fn action(
        &mut self,
        flow: &'a Flow,
        index: usize,
        pos: &FlowPos,
    ) -> Option<Request> {
        let StepKind::Action {
            action,
            slot,
            confirm,
            on_no,
        } = &flow.steps[index].kind
        else {
            return None;
        };
        // "Flat 7, not 9" — and "واحد ۴ نه ۶", whose "نه" is also a no: only that number
        // changes, and the address is read back again.
        let corrected = pos.waiting
            && !self.input_used
            && *action == ActionKind::ChangeAddress
            && self.correct_number_in("new_address");
        if corrected {
            self.input_used = true;
            self.reprompt = true;
        }
        let answer = match confirm {
            None => Some(true),
            Some(_) if pos.waiting && !self.input_used => self.confirmation(),
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
                            items: self.return_items(),
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
                        if created.is_some() {
                            self.remember_returned_item();
                        }
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
                if *action == ActionKind::ChangeAddress {
                    // The address was wrong: it is asked for again.
                    self.conv.slots.remove("new_address");
                }
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

    /// The SKUs of the item the customer chose to send back (`return_item`), if any.
    /// "Wait no, apt 12 not 21" at the address read-back: a correction of one of its
    /// numbers, whatever else the words read like (a stall, a no, a pending charge).
    pub(super) fn corrects_read_back_address(&self) -> bool {
        self.at_address_confirmation() && self.number_correction("new_address").is_some()
    }

    /// Whether the bot waits for a yes or no to the address it read back.
    fn at_address_confirmation(&self) -> bool {
        self.conv.flow.as_ref().is_some_and(|p| p.waiting)
            && matches!(
                self.current_step(),
                Some((
                    _,
                    StepKind::Action {
                        action: ActionKind::ChangeAddress,
                        confirm: Some(_),
                        ..
                    }
                ))
            )
    }

    fn return_items(&self) -> Vec<String> {
        let Some(name) = self.conv.slots.get("return_item") else {
            return Vec::new();
        };
        self.verified()
            .into_iter()
            .flat_map(|o| &o.items)
            .filter(|i| &i.name == name)
            .map(|i| i.sku.clone())
            .collect()
    }

    /// What went back, for the refund question that usually follows.
    fn remember_returned_item(&mut self) {
        let Some(name) = self.conv.slots.get("return_item").cloned() else {
            return;
        };
        let lang = self.out.lang;
        let amount = self.verified().and_then(|o| {
            o.items
                .iter()
                .find(|i| i.name == name)
                .map(|i| crate::locale::amount(i.price * f64::from(i.qty), lang))
        });
        if let Some(amount) = amount {
            self.conv.slots.insert("return.amount".into(), amount);
        }
        self.conv.slots.insert("return.item".into(), name);
    }
}
