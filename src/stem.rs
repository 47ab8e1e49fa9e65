//! Word stems: the same word in its inflected and colloquial forms meets in one stem.
//!
//! Stems work on folded tokens (see `normalise::fold`), where Turkish letters are already
//! plain Latin letters. That is why the Snowball Turkish stemmer does not fit here: its
//! vowel-harmony rules need ı, ö, ü, which folding has merged with i, o, u — and customers
//! type without them anyway. The rules below are small, deterministic and applied
//! identically to the pack's examples at compile time and to messages at run time.
//!
//! - Latin script (Turkish, English, Finglish): colloquial Turkish present tense is written
//!   out (`geliyo` → `geliyor`, `gelmiyom` → `gelmiyorum`), then the word is cut to its
//!   first five letters. Truncation is the classic stemmer for agglutinative Turkish and
//!   joins English inflections too (`returned`, `returning` → `retur`).
//! - Persian: the present-tense prefixes `می`/`نمی` and the common plural, possessive and
//!   object suffixes (`ها`, `هام`, `مون`, `تون`, `شون`, `رو`, `و`, `م`, `ت`, `ش`) come off,
//!   keeping at least three letters.
//!
//! Pure: no I/O, no global state.

use std::borrow::Cow;

/// Letters kept by the truncating Latin stemmer.
const LATIN_STEM: usize = 5;

/// The stem of one folded token; `None` when the stem is the token itself.
pub fn stem(token: &str) -> Option<Cow<'_, str>> {
    let first = token.chars().next()?;
    if first.is_ascii() {
        latin(token)
    } else {
        persian(token)
    }
}

fn latin(token: &str) -> Option<Cow<'_, str>> {
    if !token.bytes().all(|b| b.is_ascii_lowercase()) {
        return None;
    }
    match colloquial(token) {
        // The written-out form is longer than the token: both meet in its first letters.
        Some(w) if w.len() > LATIN_STEM => Some(Cow::Owned(w[..LATIN_STEM].to_owned())),
        Some(w) => Some(Cow::Owned(w)),
        None if token.len() > LATIN_STEM => Some(Cow::Borrowed(&token[..LATIN_STEM])),
        None => None,
    }
}

/// `geliyo`, `gelmiyom`, `biliyon`, `yapiyoz` → the written `-iyor` forms.
fn colloquial(token: &str) -> Option<String> {
    if token.len() < 5 {
        return None;
    }
    for (spoken, written) in [
        ("iyo", "iyor"),
        ("uyo", "uyor"),
        ("iyom", "iyorum"),
        ("uyom", "uyorum"),
        ("iyon", "iyorsun"),
        ("uyon", "uyorsun"),
        ("iyoz", "iyoruz"),
        ("uyoz", "uyoruz"),
    ] {
        if let Some(base) = token.strip_suffix(spoken) {
            return Some(format!("{base}{written}"));
        }
    }
    None
}

const PERSIAN_PREFIXES: [&str; 2] = ["نمی", "می"];

/// Longest first, so `هام` comes off before `ام` or `م`.
const PERSIAN_SUFFIXES: [&str; 16] = [
    "هاشون",
    "هاتون",
    "هامون",
    "هایی",
    "های",
    "هام",
    "هاش",
    "ها",
    "شون",
    "تون",
    "مون",
    "رو",
    "یم",
    "ید",
    "ام",
    "و",
];

/// One-letter possessives, taken only from longer words.
const PERSIAN_SHORT_SUFFIXES: [char; 3] = ['م', 'ت', 'ش'];

fn persian(token: &str) -> Option<Cow<'_, str>> {
    let letters = |s: &str| s.chars().count();
    let mut word = token;
    for p in PERSIAN_PREFIXES {
        if let Some(rest) = word.strip_prefix(p)
            && letters(rest) >= 3
        {
            word = rest;
            break;
        }
    }
    // Two rounds: `سفارشمو` → `سفارشم` → `سفارش`.
    for _ in 0..2 {
        let mut cut = false;
        for s in PERSIAN_SUFFIXES {
            if let Some(rest) = word.strip_suffix(s)
                && letters(rest) >= 3
            {
                word = rest;
                cut = true;
                break;
            }
        }
        if !cut
            && let Some(last) = word.chars().last()
            && PERSIAN_SHORT_SUFFIXES.contains(&last)
            && letters(word) >= 6
        {
            word = &word[..word.len() - last.len_utf8()];
            cut = true;
        }
        if !cut {
            break;
        }
    }
    (word != token).then_some(Cow::Borrowed(word))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn turkish_inflections_meet_in_one_stem() {
        assert_eq!(stem("siparisim").as_deref(), Some("sipar"));
        assert_eq!(stem("siparislerimin").as_deref(), Some("sipar"));
        assert_eq!(stem("kargo"), None);
        assert_eq!(stem("kargomu").as_deref(), Some("kargo"));
    }

    #[test]
    fn colloquial_turkish_is_written_out() {
        assert_eq!(colloquial("geliyo").as_deref(), Some("geliyor"));
        assert_eq!(colloquial("gelmiyom").as_deref(), Some("gelmiyorum"));
        assert_eq!(stem("geliyo"), stem("geliyor"));
        assert_eq!(colloquial("yo"), None);
    }

    #[test]
    fn english_inflections_meet_in_one_stem() {
        assert_eq!(stem("returned"), stem("returning"));
        assert_eq!(stem("order"), None);
    }

    #[test]
    fn persian_affixes_come_off() {
        assert_eq!(stem("سفارشمو").as_deref(), Some("سفارش"));
        assert_eq!(stem("سفارشام").as_deref(), Some("سفارش"));
        assert_eq!(stem("میخوام").as_deref(), Some("خوام"));
        assert_eq!(stem("بسته"), None);
    }

    #[test]
    fn digits_and_short_words_keep_their_form() {
        assert_eq!(stem("48213977"), None);
        assert_eq!(stem("ok"), None);
    }
}
