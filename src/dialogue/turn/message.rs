//! What the message offers a step: entities, proof of ownership, yes or no.

use super::{Proof, Turn};
use crate::entities::{Entity, EntityKind, phone_last4};

impl Turn<'_> {
    pub(super) fn entity(&self, kind: EntityKind) -> Option<&Entity> {
        self.message
            .as_ref()?
            .entities
            .iter()
            .find(|e| e.kind == kind)
    }

    pub(super) fn proof(&self) -> Option<Proof> {
        if let Some(e) = self.entity(EntityKind::Email) {
            return Some(Proof::Email(e.value.clone()));
        }
        if let Some(p) = self.entity(EntityKind::Phone) {
            return phone_last4(&p.value).map(Proof::PhoneLast4);
        }
        // The last four digits alone, as the bot asks for them: only as an answer to the
        // question, so a year in "2024-88172" is never taken for them.
        if !self.conv.flow.as_ref().is_some_and(|p| p.waiting) {
            return None;
        }
        let m = self.message.as_ref()?;
        m.norm
            .entity_text
            .split(|c: char| !c.is_ascii_digit())
            .find(|t| t.len() == 4)
            .map(|t| Proof::PhoneLast4(t.to_owned()))
    }

    pub(super) fn yes_no(&self) -> Option<bool> {
        match self.payload.as_deref() {
            Some("yes") => return Some(true),
            Some("no") => return Some(false),
            _ => {}
        }
        let folded = &self.message.as_ref()?.norm.folded;
        let has = |words: &[String]| {
            words.iter().any(|w| {
                folded == w
                    || folded.starts_with(&format!("{w} "))
                    || folded.ends_with(&format!(" {w}"))
                    || folded.contains(&format!(" {w} "))
            })
        };
        match (has(&self.bot.yes), has(&self.bot.no)) {
            (true, false) => Some(true),
            (false, true) => Some(false),
            _ => None,
        }
    }
}
