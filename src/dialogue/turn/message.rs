//! What the message offers a step: entities, proof of ownership, yes or no.

use super::{Proof, Turn};
use crate::entities::{Entity, EntityKind, phone_last4};

/// A yes or no typed as an answer has at most this many words ("evet, iptal et lütfen").
const MAX_YES_NO_WORDS: usize = 5;

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
        // question, so a year in "2024-88172" is never taken for them; or named as them
        // ("no 27730418, son 4 hane 7788") next to the order number.
        let m = self.message.as_ref()?;
        let asked = self.conv.flow.as_ref().is_some_and(|p| p.waiting);
        if !asked
            && m.phrases
                .find(&self.bot.words.last_digits, &m.norm.folded)
                .is_none()
        {
            return None;
        }
        let in_order_number = |t: &str| {
            m.entities
                .iter()
                .any(|e| e.kind == EntityKind::OrderNumber && e.value.contains(t))
        };
        m.norm
            .entity_text
            .split(|c: char| !c.is_ascii_digit())
            .find(|t| t.len() == 4 && (asked || !in_order_number(t)))
            .map(|t| Proof::PhoneLast4(t.to_owned()))
    }

    pub(super) fn yes_no(&self) -> Option<bool> {
        match self.payload.as_deref() {
            Some("yes") => return Some(true),
            Some("no") => return Some(false),
            _ => {}
        }
        let m = self.message.as_ref()?;
        let folded = &m.norm.folded;
        // "Ok but what if it doesn't drop off?" is a new question, not a yes: an answer
        // to a yes/no question is short and asks nothing back.
        let words = crate::words::count(folded);
        if words > MAX_YES_NO_WORDS || (words > 2 && crate::words::has_question_mark(&m.text)) {
            return None;
        }
        let has = |words: &[String]| words.iter().any(|w| has_words(folded, w));
        match (has(&self.bot.yes), has(&self.bot.no)) {
            (true, false) => Some(true),
            (false, true) => Some(false),
            _ => None,
        }
    }

    /// The verified order, when this turn has it.
    pub(super) fn verified(&self) -> Option<&crate::orders::Order> {
        let id = self.conv.verified_order.as_ref()?;
        self.orders.get(id)?.as_ref()
    }

    /// "Daire 7 değil 9", "پلاک ۲۳ هست نه ۳۲": a message with two numbers, one of which is
    /// in the text slot and one not, replaces the first with the second there and nowhere
    /// else. Returns whether the slot changed.
    pub(super) fn correct_number_in(&mut self, slot: &str) -> bool {
        match self.number_correction(slot) {
            Some(fixed) => {
                self.conv.slots.insert(slot.to_owned(), fixed);
                true
            }
            None => false,
        }
    }

    /// The slot's text with the message's correction applied, when the message is one.
    pub(super) fn number_correction(&self, slot: &str) -> Option<String> {
        let m = self.message.as_ref()?;
        let numbers: Vec<&str> = m
            .norm
            .entity_text
            .split(|c: char| !c.is_ascii_digit())
            .filter(|t| !t.is_empty())
            .collect();
        let [a, b] = numbers[..] else {
            return None;
        };
        let text = self.conv.slots.get(slot)?;
        let runs = digit_runs(text);
        let has = |n: &str| runs.iter().any(|(_, _, v)| v == n);
        let (old, new) = match (has(a), has(b)) {
            (true, false) => (a, b),
            (false, true) => (b, a),
            _ => return None,
        };
        let (start, end, _) = runs.into_iter().find(|(_, _, v)| v == old)?;
        let chars: Vec<char> = text.chars().collect();
        // The new number in the digits the address is written in (۲۳ next to ۱۴).
        let zero = match chars.get(start) {
            Some(c) if ('۰'..='۹').contains(c) => '۰',
            Some(c) if ('٠'..='٩').contains(c) => '٠',
            _ => '0',
        };
        let new: Vec<char> = new
            .chars()
            .map(|d| {
                d.to_digit(10)
                    .and_then(|n| char::from_u32(zero as u32 + n))
                    .unwrap_or(d)
            })
            .collect();
        Some(
            chars[..start]
                .iter()
                .chain(new.iter())
                .chain(chars[end..].iter())
                .collect(),
        )
    }
}

/// Runs of digits in any script: (start, end) in chars, and the value in ASCII digits.
fn digit_runs(text: &str) -> Vec<(usize, usize, String)> {
    let mut out = Vec::new();
    let mut current: Option<(usize, String)> = None;
    for (i, c) in text.chars().enumerate() {
        match (
            c.to_digit(10).or_else(|| other_script_digit(c)),
            current.as_mut(),
        ) {
            (Some(d), Some((_, s))) => s.push(char::from(b'0' + d as u8)),
            (Some(d), None) => current = Some((i, char::from(b'0' + d as u8).to_string())),
            (None, _) => {
                if let Some((start, s)) = current.take() {
                    out.push((start, i, s));
                }
            }
        }
    }
    if let Some((start, s)) = current {
        out.push((start, text.chars().count(), s));
    }
    out
}

/// Persian (۰–۹) and Arabic-Indic (٠–٩) digits.
fn other_script_digit(c: char) -> Option<u32> {
    match c {
        '۰'..='۹' => Some(c as u32 - '۰' as u32),
        '٠'..='٩' => Some(c as u32 - '٠' as u32),
        _ => None,
    }
}

/// Whether `text` holds `words` as whole words: equal to it, or found with a space or an
/// end of the text on each side. Compares in place at each word start, so a turn
/// allocates nothing for it.
pub(super) fn has_words(text: &str, words: &str) -> bool {
    let t = text.as_bytes();
    let mut word_starts = std::iter::once(0).chain(
        t.iter()
            .enumerate()
            .filter(|&(_, &b)| b == b' ')
            .map(|(i, _)| i + 1),
    );
    let w = words.as_bytes();
    word_starts.any(|start| {
        let end = start + w.len();
        // The first byte rules most word starts out before a full comparison.
        (w.is_empty() || t.get(start) == w.first())
            && t.get(start..end) == Some(w)
            && (end == t.len() || t[end] == b' ')
    })
}

#[cfg(test)]
mod tests {
    use super::{digit_runs, has_words};
    use proptest::prelude::*;

    proptest! {
        /// The same answer as the four searches it replaces.
        #[test]
        fn has_words_is_whole_word_search(text in "[ab ]{0,8}", words in "[ab ]{0,3}") {
            let w = &words;
            let expected = text == *w
                || text.starts_with(&format!("{w} "))
                || text.ends_with(&format!(" {w}"))
                || text.contains(&format!(" {w} "));
            prop_assert_eq!(has_words(&text, w), expected);
        }
    }

    #[test]
    fn yes_words_are_found_whole() {
        assert!(has_words("evet iptal et", "evet"));
        assert!(has_words("tamam evet", "evet"));
        assert!(has_words("ok", "ok"));
        assert!(!has_words("okay", "ok"));
        assert!(has_words("بله حتما", "بله"));
    }

    #[test]
    fn digit_runs_read_every_script() {
        let runs = digit_runs("Daire 7, Kadıköy 34710");
        let values: Vec<&str> = runs.iter().map(|(_, _, v)| v.as_str()).collect();
        assert_eq!(values, ["7", "34710"]);
        let runs = digit_runs("کوچه ۱۴، پلاک ۳۲");
        let values: Vec<&str> = runs.iter().map(|(_, _, v)| v.as_str()).collect();
        assert_eq!(values, ["14", "32"]);
    }
}
