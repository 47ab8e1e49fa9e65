//! Counting the words of a text the way `str::split_whitespace` splits them, without
//! decoding characters when the text is ASCII (every folded message that has no Persian
//! letters): the dialogue counts words several times a turn. And whether a text asks
//! something (a `?` or the Persian `؟`), found with a byte search.

/// `text.split_whitespace().count()`.
pub fn count(text: &str) -> usize {
    if !text.is_ascii() {
        return text.split_whitespace().count();
    }
    count_ascii(text.as_bytes(), |_| true)
}

/// How many of `text`'s words have a letter (`char::is_alphabetic`):
/// `text.split_whitespace().filter(|w| w.chars().any(char::is_alphabetic)).count()`.
pub fn count_with_letters(text: &str) -> usize {
    if !text.is_ascii() {
        return text
            .split_whitespace()
            .filter(|w| w.chars().any(char::is_alphabetic))
            .count();
    }
    count_ascii(text.as_bytes(), |w| w.iter().any(u8::is_ascii_alphabetic))
}

/// Whether `text` has a `?` or a `؟`: `text.contains(['?', '؟'])`, which decodes every
/// character, as one byte search (`؟` is the bytes D8 9F; D8 never ends a character).
pub fn has_question_mark(text: &str) -> bool {
    let bytes = text.as_bytes();
    let mut at = 0;
    while let Some(i) = memchr::memchr2(b'?', 0xD8, &bytes[at..]) {
        let i = at + i;
        if bytes[i] == b'?' || bytes.get(i + 1) == Some(&0x9F) {
            return true;
        }
        at = i + 1;
    }
    false
}

/// ASCII whitespace as `char::is_whitespace` has it (which `u8::is_ascii_whitespace`
/// differs from: it leaves out the vertical tab).
fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0B | 0x0C | b'\r')
}

fn count_ascii(text: &[u8], keep: impl Fn(&[u8]) -> bool) -> usize {
    text.split(|&b| is_space(b))
        .filter(|w| !w.is_empty() && keep(w))
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_as_split_whitespace_does() {
        for text in [
            "",
            " ",
            "one",
            "  two  words ",
            "tab\tand\nnew\x0Bline\x0C\r end",
            "sipariş no 48213977",
            "48213977 12",
            "ok 1 2 three",
            "سفارشم کجاست",
            "a\u{00A0}b c",
        ] {
            assert_eq!(count(text), text.split_whitespace().count(), "{text:?}");
            let letters = text
                .split_whitespace()
                .filter(|w| w.chars().any(char::is_alphabetic))
                .count();
            assert_eq!(count_with_letters(text), letters, "{text:?}");
        }
    }

    #[test]
    fn finds_question_marks_as_contains_does() {
        for text in [
            "",
            "?",
            "where is it?",
            "سفارشم کجاست؟",
            "سفارشم کجاست",
            "siparişim nerede",
            "ؠ؟",
            "\u{061E}\u{0620}",
            "ok؟ sure",
        ] {
            assert_eq!(
                has_question_mark(text),
                text.contains(['?', '؟']),
                "{text:?}"
            );
        }
    }
}
