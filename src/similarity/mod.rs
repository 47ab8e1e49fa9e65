//! The examples tier: every example of every intent (and every out-of-scope example) is
//! evidence. At compile time each example becomes a TF-IDF vector of its features — the
//! character 3-, 4- and 5-grams of each word (with its edges), the word and its stem — and
//! the examples of one intent in one language are averaged into a unit centroid. A message
//! is scored by its cosine similarity with every centroid, through an inverted index from
//! feature to centroids, so the cost follows the message's features, not the pack's size.
//!
//! Character n-grams survive Turkish and Persian suffixes and most typos by construction;
//! stems join the colloquial and inflected forms (`stem`). Deterministic: the same pack
//! gives the same index and the same scores on every machine.
//!
//! Pure: no I/O, no global state (a thread-local scratch buffer only).

mod dense;
mod fit;
mod passes;
mod score;
mod sort;
mod table;

use crate::lang::Lang;
use crate::stem::stem;
use dense::DenseRows;
use table::{FeatureTable, Slot};

/// Smallest centroid weight kept in the index: the rest is noise that only costs time.
const MIN_WEIGHT: f32 = 0.004;
/// Postings kept per feature: a feature shared by more centroids than this tells little
/// apart, and reading its whole list would cost every message time. A small pack (up to
/// `SMALL_PACK` centroids) keeps them all.
const MAX_POSTINGS: usize = 12;
const SMALL_PACK: usize = 256;
/// Index entries a large (unfitted) pack may hold; each centroid keeps its share, and at
/// least `MIN_KEPT` features.
const MAX_ENTRIES: usize = 1_500_000;
const MIN_KEPT: usize = 48;
/// Character n-grams from 3 to 5 letters (a word's edges count as letters).
const NGRAM_MIN: usize = 3;
const NGRAM_MAX: usize = 5;
const NGRAM_SEED: u64 = 0x2545_F491_4F6C_DD1D;

/// A class is an intent index, or `classes - 1` for out-of-scope examples.
#[derive(Debug, Default)]
pub struct SimilarityIndex {
    /// Each feature's id, IDF and postings (a range of `entries`).
    features: FeatureTable,
    entries: Vec<(u32, f32)>,
    classes: usize,
    /// What a feature no example has weighs in a message's norm.
    unknown_idf: f32,
    /// How many postings the index holds (in `entries`, or in `dense`).
    postings: usize,
    /// A small pack's postings as dense rows; a slot's `start` is then its row.
    dense: Option<DenseRows>,
    /// Every sparse posting is positive, so a message's dot products only grow.
    rising: bool,
}

/// The best centroid of one class.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ClassScore {
    pub class: usize,
    pub lang: Lang,
    pub cosine: f32,
}

/// An example and how close it is to a message, for `explain`.
#[derive(Debug, Clone, PartialEq)]
pub struct Near {
    pub class: usize,
    pub lang: Lang,
    pub text: String,
    pub cosine: f32,
}

fn mix(kind: u64, h: u64) -> u64 {
    // A final avalanche so that nearby inputs land far apart in the feature map.
    let mut x = h ^ kind.wrapping_mul(0xA076_1D64_78BD_642F);
    x ^= x >> 33;
    x = x.wrapping_mul(0xFF51_AFD7_ED55_8CCD);
    x ^= x >> 33;
    x
}

fn hash_str(s: &str) -> u64 {
    s.bytes().fold(0xCBF2_9CE4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01B3)
    })
}

/// Letters of a word (with its two edges) held on the stack when computing n-grams.
const WORD_ON_STACK: usize = 64;

/// Every feature of a folded text, as hashes (repeats kept).
pub fn features(folded: &str, out: &mut Vec<u64>) {
    let mut stack = [0u32; WORD_ON_STACK];
    let mut heap: Vec<u32> = Vec::new();
    for token in folded.split(' ').filter(|t| !t.is_empty()) {
        if token.bytes().any(|b| b.is_ascii_digit()) {
            out.push(mix(4, 0));
            continue;
        }
        let h = hash_str(token);
        out.push(mix(1, h));
        let s = stem(token);
        out.push(mix(2, s.as_deref().map_or(h, hash_str)));
        // The word's letters between two spaces (its edges), without allocating for
        // ordinary words; ASCII words need no decoding.
        let chars: &[u32] = if token.len() + 2 <= WORD_ON_STACK {
            let mut len = 1;
            stack[0] = u32::from(b' ');
            if token.is_ascii() {
                for b in token.bytes() {
                    stack[len] = u32::from(b);
                    len += 1;
                }
            } else {
                for c in token.chars() {
                    stack[len] = u32::from(c);
                    len += 1;
                }
            }
            stack[len] = u32::from(b' ');
            &stack[..=len]
        } else {
            heap.clear();
            heap.push(u32::from(' '));
            heap.extend(token.chars().map(u32::from));
            heap.push(u32::from(' '));
            &heap
        };
        // A window's hash folds its letters from a fixed seed, so a 4-gram's hash is its
        // 3-gram's taken one letter further, and a 5-gram's its 4-gram's (the order they
        // come out in does not matter: they are sorted).
        let step = |h: u64, c: u32| {
            h.wrapping_mul(0x9E37_79B9_7F4A_7C15)
                .wrapping_add(u64::from(c))
        };
        for (i, w) in chars.windows(NGRAM_MIN).enumerate() {
            let mut g = w.iter().fold(NGRAM_SEED, |h, &c| step(h, c));
            out.push(mix(8 + NGRAM_MIN as u64, g));
            for (n, &c) in (NGRAM_MIN + 1..=NGRAM_MAX).zip(&chars[i + NGRAM_MIN..]) {
                g = step(g, c);
                out.push(mix(8 + n as u64, g));
            }
        }
    }
}

/// Calls `f` with each distinct hash and how often it occurs (sorts `hashes`).
fn for_each_counted(hashes: &mut [u64], buf: &mut Vec<u64>, f: impl FnMut(u64, u32)) {
    sort::sort_hashes(hashes, buf);
    for_each_run(hashes, f);
}

/// `for_each_counted` over hashes already sorted.
fn for_each_run(hashes: &[u64], mut f: impl FnMut(u64, u32)) {
    let mut i = 0;
    while i < hashes.len() {
        let h = hashes[i];
        let mut j = i + 1;
        while j < hashes.len() && hashes[j] == h {
            j += 1;
        }
        f(h, (j - i) as u32);
        i = j;
    }
}

#[inline]
fn tf(count: u32) -> f32 {
    // ln(1) is exactly 0: most features occur once, and skip the logarithm.
    if count == 1 {
        1.0
    } else {
        1.0 + (count as f32).ln()
    }
}

/// FNV-1a of an example's text and centroid: its place in the fitting order.
fn text_key(text: &str, gold: u32) -> u64 {
    let mut h: u64 = 0xCBF2_9CE4_8422_2325 ^ u64::from(gold);
    for b in text.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01B3);
    }
    h
}

impl SimilarityIndex {
    /// `examples`: (class, language, folded text); `classes`: how many classes there are.
    pub fn new(examples: &[(usize, Lang, String)], classes: usize) -> SimilarityIndex {
        SimilarityIndex::build(examples, classes, true, 2)
    }

    /// `new`, with the postings kept sparse when `dense_rows` is off (to compare the two),
    /// on one thread or (for a large pack) two.
    fn build(
        examples: &[(usize, Lang, String)],
        classes: usize,
        dense_rows: bool,
        threads: usize,
    ) -> SimilarityIndex {
        // Pass 1: the feature ids and how many examples have each.
        let parallel = threads > 1 && passes::two_threads(examples.len());
        let passes::Vocabulary { ids, df, docs, .. } = passes::count_features(examples, parallel);
        let n_docs = examples.len() as f32;
        let idf: Vec<f32> = df
            .iter()
            .map(|&d| ((1.0 + n_docs) / (1.0 + d as f32)).ln() + 1.0)
            .collect();
        let unknown_idf = (1.0 + n_docs).ln() + 1.0;
        let n_centroids = classes * 3;
        let cells = ids.len().saturating_mul(n_centroids);
        let fitting = cells > 0 && cells <= fit::MAX_CELLS;
        let gold: Vec<u32> = examples
            .iter()
            .map(|(class, lang, _)| (class * 3 + lang.index()) as u32)
            .collect();
        // Pass 2, one (class, language) at a time: each example as a unit TF-IDF vector
        // (kept only for fitting), and the centroid, the mean of its examples' vectors.
        let passes::Centroids {
            centroids,
            units,
            unit_gold,
            unit_keys,
        } = passes::centroids(
            &passes::Pass2 {
                examples,
                gold: &gold,
                docs: &docs,
                idf: &idf,
                fitting,
            },
            n_centroids,
            parallel,
        );
        drop(docs);
        let mut triples: Vec<(u32, u32, f32)> = Vec::new();
        if fitting {
            let mut dense = vec![0f32; cells];
            for (k, c) in centroids.iter().enumerate() {
                for &(f, w) in c {
                    dense[f as usize * n_centroids + k] = w;
                }
            }
            let class_of: Vec<u32> = (0..n_centroids as u32).map(|k| k / 3).collect();
            let units: Vec<&[(u32, f32)]> = units.iter().map(Vec::as_slice).collect();
            fit::fit(&units, &unit_gold, &unit_keys, &class_of, &mut dense);
            for (f, row) in dense.chunks(n_centroids).enumerate() {
                for (k, &w) in row.iter().enumerate() {
                    if w.abs() >= MIN_WEIGHT {
                        triples.push((f as u32, k as u32, w));
                    }
                }
            }
        } else {
            // A large pack keeps each centroid's strongest features only: the common
            // n-grams every intent shares weigh little and would only cost time.
            let keep = (MAX_ENTRIES / n_centroids.max(1)).max(MIN_KEPT);
            for (k, mut c) in centroids.into_iter().enumerate() {
                if c.len() > keep {
                    c.select_nth_unstable_by(keep, |a, b| b.1.total_cmp(&a.1));
                    c.truncate(keep);
                }
                triples.extend(
                    c.into_iter()
                        .filter(|&(_, w)| w >= MIN_WEIGHT)
                        .map(|(f, w)| (f, k as u32, w)),
                );
            }
        }
        // The inverted index: postings per feature, the strongest `cap` of each.
        triples.sort_unstable_by(|a, b| a.0.cmp(&b.0).then(b.2.abs().total_cmp(&a.2.abs())));
        let mut offsets = Vec::with_capacity(ids.len() + 1);
        let mut entries = Vec::with_capacity(triples.len());
        offsets.push(0u32);
        let cap = if n_centroids <= SMALL_PACK {
            usize::MAX
        } else {
            MAX_POSTINGS
        };
        let mut at = 0;
        for f in 0..ids.len() as u32 {
            let start = at;
            while at < triples.len() && triples[at].0 == f {
                at += 1;
            }
            entries.extend(triples[start..at].iter().take(cap).map(|&(_, k, w)| (k, w)));
            offsets.push(entries.len() as u32);
        }
        let postings = entries.len();
        let rising = entries.iter().all(|&(_, w)| w > 0.0);
        let dense = DenseRows::new(n_centroids, &offsets, &entries).filter(|_| dense_rows);
        if dense.is_some() {
            // A feature's row: the how-manieth feature with postings it is.
            let mut row = 0;
            for f in 0..ids.len() {
                let has = offsets[f] < offsets[f + 1];
                offsets[f] = row;
                row += u32::from(has);
            }
            offsets[ids.len()] = row;
            entries = Vec::new();
        }
        let mut features = FeatureTable::with_features(ids.len());
        for (&hash, &id) in &ids {
            let f = id as usize;
            features.insert(Slot {
                hash,
                idf: idf[f],
                id,
                start: offsets[f],
                end: offsets[f + 1],
            });
        }
        SimilarityIndex {
            features,
            entries,
            classes,
            unknown_idf,
            postings,
            dense,
            rising,
        }
    }

    /// The message's weighted features and its norm (unknown features count in the norm:
    /// a message mostly about something else is not close to anything).
    fn vector(&self, hashes: &mut [u64]) -> (Vec<(u32, f32)>, f32) {
        let mut norm2 = 0.0f32;
        let mut v = Vec::with_capacity(hashes.len());
        for_each_counted(hashes, &mut Vec::new(), |h, n| match self.features.get(h) {
            Some(s) => {
                let w = tf(n) * s.idf;
                norm2 += w * w;
                v.push((s.id, w));
            }
            None => norm2 += (tf(n) * self.unknown_idf).powi(2),
        });
        (v, norm2.sqrt())
    }

    /// The `k` examples closest to a message (re-weighted on the fly; for `explain`).
    pub fn nearest(&self, folded: &str, examples: &[(usize, Lang, String)], k: usize) -> Vec<Near> {
        let unit = |text: &str| {
            let mut hashes = Vec::new();
            features(text, &mut hashes);
            let (mut v, norm) = self.vector(&mut hashes);
            if norm > 0.0 {
                v.iter_mut().for_each(|(_, w)| *w /= norm);
            }
            v.sort_unstable_by_key(|&(f, _)| f);
            v
        };
        let m = unit(folded);
        let mut near: Vec<Near> = examples
            .iter()
            .map(|(class, lang, text)| {
                let e = unit(text);
                let (mut i, mut j, mut dot) = (0, 0, 0.0f32);
                while i < m.len() && j < e.len() {
                    match m[i].0.cmp(&e[j].0) {
                        std::cmp::Ordering::Less => i += 1,
                        std::cmp::Ordering::Greater => j += 1,
                        std::cmp::Ordering::Equal => {
                            dot += m[i].1 * e[j].1;
                            i += 1;
                            j += 1;
                        }
                    }
                }
                Near {
                    class: *class,
                    lang: *lang,
                    text: text.clone(),
                    cosine: dot,
                }
            })
            .collect();
        near.sort_by(|a, b| b.cosine.total_cmp(&a.cosine));
        near.truncate(k);
        near
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::normalise::fold;

    fn index() -> SimilarityIndex {
        let ex = |class, lang, t: &str| (class, lang, fold(t));
        SimilarityIndex::new(
            &[
                ex(0, Lang::Tr, "siparişim nerede"),
                ex(0, Lang::Tr, "kargom hala gelmedi"),
                ex(0, Lang::En, "where is my order"),
                ex(1, Lang::Tr, "iade etmek istiyorum"),
                ex(1, Lang::En, "i want to return this"),
                ex(2, Lang::Tr, "kargo pantolon var mı"),
            ],
            3,
        )
    }

    #[test]
    fn an_inflected_form_is_closest_to_its_intent() {
        let s = index().score(&fold("siparisimin kargosu nerde"), f32::MIN, usize::MAX);
        assert_eq!(s[0].class, 0);
        assert_eq!(s[0].lang, Lang::Tr);
    }

    #[test]
    fn a_typo_still_lands_near_its_example() {
        let s = index().score(&fold("i wnat to retrun it"), f32::MIN, usize::MAX);
        assert_eq!(s[0].class, 1);
    }

    #[test]
    fn an_unrelated_message_is_not_close_to_anything() {
        let s = index().score(&fold("bugün hava çok güzel değil mi"), f32::MIN, usize::MAX);
        assert!(s.first().is_none_or(|s| s.cosine < 0.2), "{s:?}");
    }

    /// The n-grams by their definition: every window of 3, 4 and 5 letters of the word
    /// between two spaces, each hashed from the seed.
    fn reference_features(folded: &str) -> Vec<u64> {
        let mut out = Vec::new();
        for token in folded.split(' ').filter(|t| !t.is_empty()) {
            if token.bytes().any(|b| b.is_ascii_digit()) {
                out.push(mix(4, 0));
                continue;
            }
            let h = hash_str(token);
            out.push(mix(1, h));
            out.push(mix(2, stem(token).as_deref().map_or(h, hash_str)));
            let chars: Vec<u32> = std::iter::once(' ')
                .chain(token.chars())
                .chain(std::iter::once(' '))
                .map(u32::from)
                .collect();
            for n in NGRAM_MIN..=NGRAM_MAX {
                for w in chars.windows(n) {
                    let g = w.iter().fold(NGRAM_SEED, |h, &c| {
                        h.wrapping_mul(0x9E37_79B9_7F4A_7C15)
                            .wrapping_add(u64::from(c))
                    });
                    out.push(mix(8 + n as u64, g));
                }
            }
        }
        out.sort_unstable();
        out
    }

    #[test]
    fn features_are_the_ngrams_of_their_definition() {
        let long = "abcdefghij".repeat(8);
        for text in [
            "siparisim nerede",
            "a ab abc",
            "سفارشم کجاست",
            "order 48213977 is late",
            long.as_str(),
            "",
        ] {
            let folded = fold(text);
            let mut got = Vec::new();
            features(&folded, &mut got);
            got.sort_unstable();
            assert_eq!(got, reference_features(&folded), "{text:?}");
        }
    }

    /// Three classes in three languages, for comparing two ways of scoring.
    fn three_classes() -> Vec<(usize, Lang, String)> {
        let ex = |class, lang, t: &str| (class, lang, fold(t));
        vec![
            ex(0, Lang::Tr, "siparişim nerede"),
            ex(0, Lang::Tr, "kargom hala gelmedi"),
            ex(0, Lang::En, "where is my order"),
            ex(1, Lang::Tr, "iade etmek istiyorum"),
            ex(1, Lang::En, "i want to return this"),
            ex(1, Lang::Fa, "می‌خوام پسش بدم"),
            ex(2, Lang::Tr, "kargo pantolon var mı"),
            ex(2, Lang::En, "what a nice day"),
        ]
    }

    /// Messages scored by both ways in those comparisons.
    const PROBES: [&str; 5] = [
        "siparisimin kargosu nerde",
        "i wnat to retrun it",
        "پسش بدم",
        "where is the pantolon i want to return",
        "bugün hava çok güzel",
    ];

    #[test]
    fn dense_rows_score_exactly_as_the_sparse_postings() {
        let examples = three_classes();
        let dense = SimilarityIndex::build(&examples, 3, true, 1);
        let sparse = SimilarityIndex::build(&examples, 3, false, 1);
        assert!(dense.dense.is_some() && sparse.dense.is_none());
        for text in PROBES {
            let bits = |ix: &SimilarityIndex| -> Vec<(usize, Lang, u32)> {
                ix.score(&fold(text), f32::MIN, 2)
                    .iter()
                    .map(|c| (c.class, c.lang, c.cosine.to_bits()))
                    .collect()
            };
            let want = bits(&sparse);
            assert!(!want.is_empty(), "{text:?}");
            assert_eq!(bits(&dense), want, "{text:?}");
        }
    }

    /// The rising path (every posting positive) notes the centroids that pass the floor as
    /// their sums grow; it must find exactly what marking every reached centroid finds.
    #[test]
    fn rising_sums_score_exactly_as_marking_every_reached_centroid() {
        let examples = three_classes();
        let positive = |rising: bool| {
            let mut ix = SimilarityIndex::build(&examples, 3, false, 1);
            ix.entries
                .iter_mut()
                .for_each(|e| e.1 = e.1.abs().max(MIN_WEIGHT));
            ix.rising = rising;
            ix
        };
        let (rising, marking) = (positive(true), positive(false));
        for text in PROBES {
            for (floor, always) in [(0.05, usize::MAX), (0.3, 2), (0.9, 0), (f32::MIN, 1)] {
                let bits = |ix: &SimilarityIndex| -> Vec<(usize, Lang, u32)> {
                    ix.score(&fold(text), floor, always)
                        .iter()
                        .map(|c| (c.class, c.lang, c.cosine.to_bits()))
                        .collect()
                };
                assert_eq!(bits(&rising), bits(&marking), "{text:?} {floor} {always}");
            }
        }
    }

    #[test]
    fn nearest_examples_are_ranked() {
        let ix = index();
        let ex: Vec<(usize, Lang, String)> = vec![
            (0, Lang::En, fold("where is my order")),
            (1, Lang::En, fold("i want to return this")),
        ];
        let near = ix.nearest(&fold("where is the order"), &ex, 2);
        assert_eq!(near[0].class, 0);
        assert!(near[0].cosine > near[1].cosine);
    }
}
