//! Typo tolerance for keywords: a message word that is one edit away from a keyword word of
//! 5+ letters (two edits for 8+) is read as that keyword word.
//!
//! Built once at compile time in the SymSpell manner: every keyword word is stored under the
//! hashes of its deletions (one letter for words of 5–7 letters, up to two for 8+). At run
//! time an unknown message word looks up the hashes of its own deletions — a few dozen hash
//! probes, never a scan of the vocabulary — and each candidate is confirmed by a real edit
//! distance (optimal string alignment, so a swap of two letters is one edit).
//!
//! Only words the pack has never seen are corrected: a word that occurs in any keyword,
//! negative keyword or example is taken as written, so `kargo pantolon` stays what it is.
//! A word equally close to two keyword words is left alone.
//!
//! Pure: no I/O, no global state.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// Shortest keyword word that tolerates one typo.
pub const MIN_LEN: usize = 5;
/// Shortest keyword word that tolerates two.
pub const TWO_EDITS_LEN: usize = 8;
/// Shortest keyword word a misspelt word start may be read as.
const PREFIX_TARGET_LEN: usize = 6;
/// Word prefixes tried for keywords that match at a word start (`iade` in `iadem`).
const PREFIX_LENS: std::ops::RangeInclusive<usize> = 5..=9;

/// The keys are already well-mixed hashes: hashing them again would only cost time.
#[derive(Default)]
pub(crate) struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

pub(crate) type IdMap<V> = HashMap<u64, V, BuildHasherDefault<IdHasher>>;

const P: u64 = 0x9E37_79B9_7F4A_7C15;
const SEED: u64 = 0x51_7CC1_B727_220A;

/// Polynomial hash of a letter sequence; deletions are hashed from prefix and suffix sums.
fn hash_chars(cs: &[u32]) -> u64 {
    cs.iter().fold(SEED, |h, &c| {
        h.wrapping_mul(P).wrapping_add(u64::from(c) + 1)
    })
}

#[derive(Debug, Default)]
pub struct TypoIndex {
    words: Vec<Vec<u32>>,
    texts: Vec<String>,
    /// Per deletion hash, its words: a range of `delete_ids`.
    deletes: IdMap<(u32, u32)>,
    delete_ids: Vec<u32>,
    known: IdMap<()>,
}

/// One correction made in a message, for `explain`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Correction {
    pub from: String,
    pub to: String,
}

impl TypoIndex {
    /// `targets`: the words of positive keywords; `known`: every word the pack uses.
    pub fn new<'a>(
        targets: impl IntoIterator<Item = &'a str>,
        known: impl IntoIterator<Item = &'a str>,
    ) -> TypoIndex {
        let mut ix = TypoIndex::default();
        for w in known {
            // `hash_chars` of the word's letters, without collecting them.
            let hash = w.chars().fold(SEED, |h, c| {
                h.wrapping_mul(P).wrapping_add(u64::from(c) + 1)
            });
            ix.known.insert(hash, ());
        }
        let mut seen: IdMap<()> = IdMap::default();
        // (deletion hash, word) pairs, grouped by hash at the end: one list for all
        // instead of one allocation per hash.
        let mut pairs: Vec<(u64, u32)> = Vec::new();
        for w in targets {
            let cs: Vec<u32> = w.chars().map(u32::from).collect();
            if cs.len() < MIN_LEN || !w.chars().all(char::is_alphabetic) {
                continue;
            }
            if seen.insert(hash_chars(&cs), ()).is_some() {
                continue;
            }
            let id = ix.words.len() as u32;
            let mut keys = Vec::new();
            deletion_hashes(&cs, cs.len() >= TWO_EDITS_LEN, &mut keys);
            keys.sort_unstable();
            keys.dedup();
            pairs.extend(keys.iter().map(|&k| (k, id)));
            ix.words.push(cs);
            ix.texts.push(w.to_owned());
        }
        // Within a hash, its words in the order they came (ids increase).
        pairs.sort_unstable();
        ix.delete_ids.reserve(pairs.len());
        ix.deletes.reserve(pairs.len() / 2);
        for group in pairs.chunk_by(|a, b| a.0 == b.0) {
            let start = ix.delete_ids.len() as u32;
            ix.delete_ids.extend(group.iter().map(|&(_, id)| id));
            ix.deletes.insert(group[0].0, (start, group.len() as u32));
        }
        ix
    }

    pub fn is_empty(&self) -> bool {
        self.words.is_empty()
    }

    /// The keyword word this unknown word was meant to be, with the rest of the word (a
    /// suffix) kept: `begnmedim` → `begenmedim` when `begenm` is a keyword word.
    pub fn correct(&self, word: &str) -> Option<String> {
        if self.words.is_empty() {
            return None;
        }
        // Most words are known: decide that without allocating (the hash is `hash_chars`).
        let (mut len, mut hash) = (0, SEED);
        for c in word.chars() {
            if !c.is_alphabetic() {
                return None;
            }
            len += 1;
            hash = hash.wrapping_mul(P).wrapping_add(u64::from(c) + 1);
        }
        if len < MIN_LEN - 1 || self.known.contains_key(&hash) {
            return None;
        }
        let cs: Vec<u32> = word.chars().map(u32::from).collect();
        let mut keys = Vec::new();
        // The whole word first, then its prefixes (keywords match at a word start).
        let mut lens: Vec<usize> = vec![cs.len()];
        lens.extend(PREFIX_LENS.filter(|&l| l < cs.len()));
        for len in lens {
            let part = &cs[..len];
            keys.clear();
            keys.push(hash_chars(part));
            deletion_hashes(part, len >= TWO_EDITS_LEN - 1, &mut keys);
            let mut best: Option<(usize, u32)> = None;
            let mut tie = false;
            for k in &keys {
                let ids = self.deletes.get(k).and_then(|&(start, n)| {
                    self.delete_ids
                        .get(start as usize..start as usize + n as usize)
                });
                for &id in ids.unwrap_or_default() {
                    let target = &self.words[id as usize];
                    let allowed = if target.len() >= TWO_EDITS_LEN { 2 } else { 1 };
                    let Some(d) = distance(part, target, allowed) else {
                        continue;
                    };
                    if d == 0 {
                        continue;
                    }
                    match best {
                        Some((bd, bid)) if bid == id || bd < d => {}
                        Some((bd, _)) if bd == d => tie = true,
                        _ => {
                            best = Some((d, id));
                            tie = false;
                        }
                    }
                }
            }
            if let Some((_, id)) = best {
                if tie {
                    return None;
                }
                // A misspelt start of a longer word ("persi|an" → "mersi") is only trusted
                // for keyword words long enough to be unmistakable.
                if len < cs.len() && self.words[id as usize].len() < PREFIX_TARGET_LEN {
                    continue;
                }
                let rest: String = word.chars().skip(len).collect();
                return Some(format!("{}{rest}", self.texts[id as usize]));
            }
        }
        None
    }
}

/// Hashes of `cs` with one letter deleted, and with two when `two` is set.
fn deletion_hashes(cs: &[u32], two: bool, out: &mut Vec<u64>) {
    let n = cs.len();
    let mut buf: Vec<u32> = Vec::with_capacity(n);
    for i in 0..n {
        buf.clear();
        buf.extend(cs[..i].iter().chain(&cs[i + 1..]));
        out.push(hash_chars(&buf));
        if two {
            // `buf` is `cs` without `i`; dropping its `j - 1` drops `cs[j]`.
            for j in i..n - 1 {
                let h = buf[..j].iter().chain(&buf[j + 1..]).fold(SEED, |h, &c| {
                    h.wrapping_mul(P).wrapping_add(u64::from(c) + 1)
                });
                out.push(h);
            }
        }
    }
}

/// Optimal string alignment distance, or `None` when it exceeds `max`.
fn distance(a: &[u32], b: &[u32], max: usize) -> Option<usize> {
    if a.len().abs_diff(b.len()) > max {
        return None;
    }
    let (n, m) = (a.len(), b.len());
    let mut prev2 = vec![0usize; m + 1];
    let mut prev: Vec<usize> = (0..=m).collect();
    let mut cur = vec![0usize; m + 1];
    for i in 1..=n {
        cur[0] = i;
        let mut row_min = cur[0];
        for j in 1..=m {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(prev2[j - 2] + 1);
            }
            cur[j] = v;
            row_min = row_min.min(v);
        }
        if row_min > max {
            return None;
        }
        std::mem::swap(&mut prev2, &mut prev);
        std::mem::swap(&mut prev, &mut cur);
    }
    (prev[m] <= max).then_some(prev[m])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ix() -> TypoIndex {
        TypoIndex::new(
            [
                "cancel",
                "refund",
                "delivered",
                "begenm",
                "kargo",
                "siparis",
            ],
            [
                "cancel",
                "refund",
                "delivered",
                "begenm",
                "kargo",
                "siparis",
                "pantolon",
                "karga",
            ],
        )
    }

    #[test]
    fn one_edit_on_a_five_letter_word() {
        let ix = ix();
        assert_eq!(ix.correct("cancle").as_deref(), Some("cancel"));
        assert_eq!(ix.correct("refnd").as_deref(), Some("refund"));
        assert_eq!(ix.correct("sipairs").as_deref(), Some("siparis"));
    }

    #[test]
    fn two_edits_only_on_long_words() {
        let ix = ix();
        assert_eq!(ix.correct("dlivred").as_deref(), Some("delivered"));
        assert_eq!(ix.correct("cnacle"), None);
    }

    #[test]
    fn a_suffix_after_a_misspelt_stem_is_kept() {
        assert_eq!(ix().correct("begnmedim").as_deref(), Some("begenmedim"));
    }

    #[test]
    fn known_words_and_short_words_are_never_corrected() {
        let ix = ix();
        assert_eq!(
            ix.correct("karga"),
            None,
            "a word the pack uses is taken as written"
        );
        assert_eq!(ix.correct("kargo"), None);
        assert_eq!(ix.correct("car"), None);
        assert_eq!(ix.correct("48213977"), None);
    }

    #[test]
    fn distance_counts_a_swap_as_one_edit() {
        let a: Vec<u32> = "ab".chars().map(u32::from).collect();
        let b: Vec<u32> = "ba".chars().map(u32::from).collect();
        assert_eq!(distance(&a, &b, 1), Some(1));
    }
}
