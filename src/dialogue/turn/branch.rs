//! The `branch` step: go to the case that matches a variable's value.

use super::Turn;
use crate::bot::{Flow, StepKind};
use crate::dialogue::Request;

impl<'a> Turn<'a> {
    /// Jumps to the matching case, the `*` case, the default, or the next step.
    pub(super) fn branch(&mut self, flow: &'a Flow, index: usize) -> Option<Request> {
        let StepKind::Branch {
            var,
            cases,
            default,
        } = &flow.steps[index].kind
        else {
            return None;
        };
        let value = self.variable(var);
        let value = value.filter(|v| !v.is_empty());
        let target = cases
            .iter()
            .find(|(v, _)| Some(v.as_str()) == value.as_deref())
            .or_else(|| cases.iter().find(|(v, _)| v == "*" && value.is_some()))
            .map(|(_, t)| *t)
            .or(*default);
        match target {
            Some(t) => self.goto(flow, t),
            None => self.advance(flow, index),
        }
        None
    }
}
