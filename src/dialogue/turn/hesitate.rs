//! "Hmm", "hımm", "umm", "همم": a customer thinking out loud. It names no request and
//! answers nothing, so it is neither a miss (no fallback, no step towards offering a
//! person) nor an answer to the question the bot is waiting on (never a yes, never a
//! failed attempt): the bot waits, or asks what else it can do.

/// The sounds of thinking, folded and with each run of a repeated letter cut to one
/// ("hmmm" → "hm", "hıımm" → "him", "اممم" → "ام").
const SOUNDS: &[&str] = &[
    "hm", "hmh", "mh", "m", "um", "uhm", "uh", "erm", "eh", "ah", "him", "ih", "هم", "ام", "اوم",
    "هوم", "ا", "ه",
];

/// The most thinking sounds one message is read as ("hmm hmm ok" is more).
const MAX_WORDS: usize = 3;

/// Whether the folded message is only sounds of thinking (and dots or question marks,
/// which folding drops).
pub(super) fn is_hesitation(folded: &str) -> bool {
    let mut words = 0;
    for word in folded.split_whitespace() {
        words += 1;
        if words > MAX_WORDS {
            return false;
        }
        let mut once = String::with_capacity(word.len());
        for c in word.chars() {
            if !once.ends_with(c) {
                once.push(c);
            }
        }
        if !SOUNDS.contains(&once.as_str()) {
            return false;
        }
    }
    words > 0
}

#[cfg(test)]
mod tests {
    use super::is_hesitation;
    use crate::normalise::normalise;

    fn hesitates(text: &str) -> bool {
        is_hesitation(&normalise(text).folded)
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
}
