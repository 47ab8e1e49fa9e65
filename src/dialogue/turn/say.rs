//! The `say` and `end` steps: a reply, and the end of the flow.

use super::Turn;
use crate::bot::{Flow, StepKind};
use crate::dialogue::Request;

impl<'a> Turn<'a> {
    /// Says a template and goes on.
    pub(super) fn say_step(&mut self, flow: &'a Flow, index: usize) -> Option<Request> {
        let StepKind::Say { template } = &flow.steps[index].kind else {
            return None;
        };
        self.say(template);
        self.advance(flow, index);
        None
    }

    /// Says an optional template and ends the flow.
    pub(super) fn end_step(&mut self, flow: &'a Flow, index: usize) -> Option<Request> {
        let StepKind::End { say } = &flow.steps[index].kind else {
            return None;
        };
        if let Some(t) = say {
            self.say(t);
        }
        self.end_flow();
        None
    }
}
