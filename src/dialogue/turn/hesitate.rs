//! "Hmm", "hımm", "umm", "همم": a customer thinking out loud. It names no request and
//! answers nothing, so it is neither a miss (no fallback, no step towards offering a
//! person) nor an answer to the question the bot is waiting on (never a yes, never a
//! failed attempt): the bot waits, or asks what else it can do. The sounds are the pack's
//! `conversation.hesitate` list.

use crate::bot::Phrases;

/// The most thinking sounds one message is read as ("hmm hmm ok" is more).
const MAX_WORDS: usize = 3;

/// A folded word with each run of a repeated letter cut to one ("hmmm" → "hm", "hıımm"
/// → "him", "اممم" → "ام"): the form `sounds` holds and a message's words are compared in.
pub(crate) fn sound_form(word: &str) -> String {
    let mut once = String::with_capacity(word.len());
    for c in word.chars() {
        if !once.ends_with(c) {
            once.push(c);
        }
    }
    once
}

/// Whether the folded message is only sounds of thinking (and dots or question marks,
/// which folding drops); `sounds` are in `sound_form`.
pub(super) fn is_hesitation(folded: &str, sounds: &Phrases) -> bool {
    let mut words = 0;
    for word in folded.split_whitespace() {
        words += 1;
        if words > MAX_WORDS {
            return false;
        }
        let once = sound_form(word);
        if !sounds.phrases().iter().any(|(_, s)| *s == once) {
            return false;
        }
    }
    words > 0
}

#[cfg(test)]
mod tests {
    use super::{is_hesitation, sound_form};
    use crate::bot::Phrases;
    use crate::lang::Lang;
    use crate::normalise::{fold, normalise};

    /// The default pack's sounds, as its `conversation.hesitate` lists them.
    fn sounds() -> Phrases {
        let listed = [
            "hmm", "hmh", "mhh", "m", "umm", "uhm", "uh", "erm", "eh", "ah", "hımm", "ıhh", "همم",
            "امم", "اوم", "هوم", "ا", "ه",
        ];
        Phrases::new(
            listed
                .iter()
                .map(|s| (Lang::En, sound_form(&fold(s))))
                .collect(),
        )
    }

    fn hesitates(text: &str) -> bool {
        is_hesitation(&normalise(text).folded, &sounds())
    }

    #[test]
    fn sounds_of_thinking_in_each_language_are_hesitation() {
        for text in [
            "hmm", "Hmmm...", "hm?", "ummm", "HIMM", "hımm", "همم", "اممم", "hmm hmm",
        ] {
            assert!(hesitates(text), "{text}");
        }
    }

    #[test]
    fn words_answers_and_requests_are_not() {
        for text in [
            "",
            "ok",
            "hmm ok",
            "evet",
            "no",
            "hmm where is my order",
            "him please",
            "hmm hmm hmm hmm",
        ] {
            assert!(!hesitates(text), "{text}");
        }
    }

    #[test]
    fn a_pack_without_the_list_hears_no_hesitation() {
        assert!(!is_hesitation(
            &normalise("hmm").folded,
            &Phrases::default()
        ));
    }
}
