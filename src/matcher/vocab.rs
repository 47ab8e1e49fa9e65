//! Which language a message's words belong to, by the pack's own examples: a word only one
//! language's examples use votes for that language. "ok so i wait till wednesday. thank you,
//! teşekkürler" is English with one Turkish word, though the Turkish word is the one the
//! thanks intent matched.

use crate::lang::Lang;
use crate::typo::IdHasher;
use std::collections::HashMap;
use std::hash::BuildHasherDefault;

/// Words are hashed with FNV-1a (`IdHasher`): short, and not chosen by an attacker.
type Words = HashMap<Box<str>, u8, BuildHasherDefault<IdHasher>>;

/// The examples' words, each with the languages that use it (one bit per language).
#[derive(Debug, Default)]
pub struct LangVocab {
    words: Words,
}

impl LangVocab {
    /// From folded examples; words of one letter and numbers are left out.
    pub fn new<'a>(examples: impl Iterator<Item = (Lang, &'a str)>) -> LangVocab {
        let mut words = Words::default();
        for (lang, text) in examples {
            for w in text.split(' ').filter(|w| counts(w)) {
                // Most words repeat: only a new one is copied.
                match words.get_mut(w) {
                    Some(bits) => *bits |= 1 << lang.index(),
                    None => {
                        words.insert(w.into(), 1 << lang.index());
                    }
                }
            }
        }
        LangVocab { words }
    }

    /// For each language, how many words of the folded message only its examples use.
    pub fn votes(&self, folded: &str) -> [u16; 3] {
        let mut votes = [0u16; 3];
        for w in folded.split(' ').filter(|w| counts(w)) {
            if let Some(&bits) = self.words.get(w)
                && bits.count_ones() == 1
            {
                votes[bits.trailing_zeros() as usize] += 1;
            }
        }
        votes
    }
}

fn counts(word: &str) -> bool {
    word.chars().count() > 1 && word.chars().any(char::is_alphabetic)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_one_language_uses_vote_for_it_and_shared_words_do_not() {
        let v = LangVocab::new(
            [
                (Lang::En, "ok thank you so much"),
                (Lang::En, "i will wait"),
                (Lang::Tr, "tesekkurler ok"),
            ]
            .into_iter(),
        );
        let votes = v.votes("ok so i wait thank you tesekkurler");
        assert_eq!(votes[Lang::En.index()], 4, "so, wait, thank, you");
        assert_eq!(votes[Lang::Tr.index()], 1, "tesekkurler");
        assert_eq!(votes[Lang::Fa.index()], 0);
    }
}
