//! The `lookup` step: fetch the verified order so later steps and templates can use it.

use super::Turn;
use crate::bot::{Flow, StepKind};
use crate::dialogue::Request;

impl<'a> Turn<'a> {
    /// Fetches the verified order; an order that is not verified goes to a person.
    pub(super) fn lookup(&mut self, flow: &'a Flow, index: usize) -> Option<Request> {
        let StepKind::Lookup { slot } = &flow.steps[index].kind else {
            return None;
        };
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
            Some(Some(order)) => {
                self.conv.order_status = Some(order.status.as_str().to_owned());
                self.advance(flow, index);
                None
            }
        }
    }
}
