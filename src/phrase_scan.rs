//! The `conversation:` phrase lists (stalls, goodbyes, insults, spam, clarify entries, …)
//! searched together: every phrase of every list in one automaton, so a message is scanned
//! once per turn instead of once per list.
//!
//! A scan gives, per list, the first listed phrase found in the message as whole words —
//! exactly what `Phrases::find` gives for that list alone (a unit test compares the two).
//!
//! Pure: built once with the bot, read-only afterwards.

use crate::bot::Phrases;
use crate::lang::Lang;
use aho_corasick::{AhoCorasick, MatchKind};
use std::collections::HashMap;

/// Lists a scan answers for; a bot with more (many `clarify` entries) searches the rest one
/// by one.
pub const MAX_LISTS: usize = 32;

/// Not found in the message (or the list is not in the scan).
const NONE: u32 = u32::MAX;

/// One automaton over the phrases of every indexed list.
#[derive(Debug, Default)]
pub struct PhraseScan {
    automaton: Option<AhoCorasick>,
    /// For each distinct phrase text: (list, position in that list) of each of its entries.
    refs: Vec<Vec<(u8, u32)>>,
    lists: usize,
}

/// What one scan found: per list, the position of its first phrase in the message.
#[derive(Debug, Clone, Copy)]
pub struct PhraseHits {
    first: [u32; MAX_LISTS],
    /// Whether a scan filled `first` (otherwise every list is searched on its own).
    scanned: bool,
}

impl Default for PhraseHits {
    fn default() -> Self {
        PhraseHits {
            first: [NONE; MAX_LISTS],
            scanned: false,
        }
    }
}

impl PhraseScan {
    /// Builds the automaton over `lists` (list `i` is the one `Phrases::slot` `i` names).
    pub fn new(lists: &[&Phrases]) -> PhraseScan {
        let mut index: HashMap<&str, usize> = HashMap::new();
        let mut texts: Vec<&str> = Vec::new();
        let mut refs: Vec<Vec<(u8, u32)>> = Vec::new();
        for (l, list) in lists.iter().take(MAX_LISTS).enumerate() {
            for (i, (_, text)) in list.phrases().iter().enumerate() {
                let slot = *index.entry(text.as_str()).or_insert_with(|| {
                    texts.push(text.as_str());
                    refs.push(Vec::new());
                    texts.len() - 1
                });
                refs[slot].push((l as u8, i as u32));
            }
        }
        let automaton = AhoCorasick::builder()
            .match_kind(MatchKind::Standard)
            .build(&texts)
            .ok();
        PhraseScan {
            automaton,
            refs,
            lists: lists.len().min(MAX_LISTS),
        }
    }

    /// How many lists the scan answers for.
    pub fn lists(&self) -> usize {
        self.lists
    }

    /// Every list's first phrase found in `folded` as whole words.
    pub fn scan(&self, folded: &str) -> PhraseHits {
        let Some(automaton) = &self.automaton else {
            return PhraseHits::default();
        };
        let mut hits = PhraseHits {
            first: [NONE; MAX_LISTS],
            scanned: true,
        };
        let text = folded.as_bytes();
        for m in automaton.find_overlapping_iter(folded) {
            let whole = (m.start() == 0 || text[m.start() - 1] == b' ')
                && (m.end() == text.len() || text[m.end()] == b' ');
            if !whole {
                continue;
            }
            for &(l, i) in &self.refs[m.pattern().as_usize()] {
                let f = &mut hits.first[usize::from(l)];
                *f = (*f).min(i);
            }
        }
        hits
    }
}

impl PhraseHits {
    /// The language of `list`'s first phrase in the message `folded` (whole words): from
    /// the scan when `list` is in it, else by searching `list` itself.
    pub fn find(&self, list: &Phrases, folded: &str) -> Option<Lang> {
        match list.slot() {
            Some(slot) if self.scanned && slot < MAX_LISTS => {
                let i = self.first[slot];
                if i == NONE {
                    return None;
                }
                list.phrases().get(i as usize).map(|(lang, _)| *lang)
            }
            _ => list.find(folded),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bot::ConversationWords;
    use crate::normalise::fold;

    fn list(phrases: &[(Lang, &str)]) -> Phrases {
        Phrases::new(phrases.iter().map(|(l, p)| (*l, fold(p))).collect())
    }

    #[test]
    fn one_scan_finds_what_each_list_finds_alone() {
        let words = ConversationWords {
            stall: list(&[
                (Lang::En, "wait"),
                (Lang::Tr, "bekle"),
                (Lang::En, "one sec"),
            ]),
            farewell: list(&[
                (Lang::En, "bye"),
                (Lang::Tr, "gorusuruz"),
                (Lang::En, "thanks bye"),
            ]),
            insult: list(&[(Lang::Tr, "salak"), (Lang::En, "stupid bot")]),
            spam: list(&[(Lang::En, "click here"), (Lang::En, "bye")]),
            clarify: vec![(
                list(&[(Lang::En, "order"), (Lang::Tr, "siparis")]),
                Vec::new(),
            )],
            ..ConversationWords::default()
        }
        .indexed();
        let all: Vec<&Phrases> = words.lists();
        assert!(all.iter().all(|l| l.slot().is_some()));
        for text in [
            "wait one sec",
            "ok thanks bye",
            "byebye",
            "salak bot",
            "stupid bot click here",
            "bekle siparis",
            "orders",
            "",
            "click",
        ] {
            let folded = fold(text);
            let hits = words.scan.scan(&folded);
            for l in &all {
                assert_eq!(hits.find(l, &folded), l.find(&folded), "{text:?}");
            }
            // Not scanned: each list on its own, the same answers.
            for l in &all {
                assert_eq!(PhraseHits::default().find(l, &folded), l.find(&folded));
            }
        }
        let folded = fold("thanks bye");
        let hits = words.scan.scan(&folded);
        assert_eq!(hits.find(&words.farewell, &folded), Some(Lang::En));
        assert_eq!(hits.find(&words.spam, &folded), Some(Lang::En));
        assert_eq!(hits.find(&words.insult, &folded), None);
    }
}
