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

mod fit;

use crate::lang::Lang;
use crate::stem::stem;
use crate::typo::IdMap;
use std::cell::RefCell;

/// Smallest centroid weight kept in the index: the rest is noise that only costs time.
const MIN_WEIGHT: f32 = 0.004;
const NGRAMS: std::ops::RangeInclusive<usize> = 3..=5;

/// A class is an intent index, or `classes - 1` for out-of-scope examples.
#[derive(Debug, Default)]
pub struct SimilarityIndex {
    features: IdMap<u32>,
    idf: Vec<f32>,
    /// Feature `f`'s postings are `entries[offsets[f]..offsets[f + 1]]`.
    offsets: Vec<u32>,
    entries: Vec<(u32, f32)>,
    classes: usize,
    /// What a feature no example has weighs in a message's norm.
    unknown_idf: f32,
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

thread_local! {
    static SCRATCH: RefCell<Scratch> = const { RefCell::new(Scratch { acc: Vec::new(), seen: Vec::new(), touched: Vec::new(), hashes: Vec::new() }) };
}

/// Reused between messages on one thread, so scoring allocates little.
struct Scratch {
    acc: Vec<f32>,
    seen: Vec<bool>,
    touched: Vec<u32>,
    hashes: Vec<u64>,
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

/// Every feature of a folded text, as hashes (repeats kept).
pub fn features(folded: &str, out: &mut Vec<u64>) {
    let mut chars: Vec<u32> = Vec::with_capacity(32);
    for token in folded.split(' ').filter(|t| !t.is_empty()) {
        if token.bytes().any(|b| b.is_ascii_digit()) {
            out.push(mix(4, 0));
            continue;
        }
        let h = hash_str(token);
        out.push(mix(1, h));
        let s = stem(token);
        out.push(mix(2, s.as_deref().map_or(h, hash_str)));
        chars.clear();
        chars.push(u32::from(' '));
        chars.extend(token.chars().map(u32::from));
        chars.push(u32::from(' '));
        for n in NGRAMS {
            if chars.len() < n {
                break;
            }
            for w in chars.windows(n) {
                let g = w.iter().fold(0x2545_F491_4F6C_DD1D_u64, |h, &c| {
                    h.wrapping_mul(0x9E37_79B9_7F4A_7C15)
                        .wrapping_add(u64::from(c))
                });
                out.push(mix(8 + n as u64, g));
            }
        }
    }
}

/// Sorted (feature, count) pairs of a list of hashes.
fn counted(hashes: &mut [u64]) -> Vec<(u64, u32)> {
    hashes.sort_unstable();
    let mut out: Vec<(u64, u32)> = Vec::with_capacity(hashes.len());
    for &h in hashes.iter() {
        match out.last_mut() {
            Some((last, n)) if *last == h => *n += 1,
            _ => out.push((h, 1)),
        }
    }
    out
}

fn tf(count: u32) -> f32 {
    1.0 + (count as f32).ln()
}

impl SimilarityIndex {
    /// `examples`: (class, language, folded text); `classes`: how many classes there are.
    pub fn new(examples: &[(usize, Lang, String)], classes: usize) -> SimilarityIndex {
        let mut ids: IdMap<u32> = IdMap::default();
        let mut df: Vec<u32> = Vec::new();
        let mut docs: Vec<Vec<(u32, u32)>> = Vec::with_capacity(examples.len());
        let mut hashes = Vec::new();
        for (_, _, text) in examples {
            hashes.clear();
            features(text, &mut hashes);
            let doc: Vec<(u32, u32)> = counted(&mut hashes)
                .into_iter()
                .map(|(h, n)| {
                    let next = ids.len() as u32;
                    let id = *ids.entry(h).or_insert(next);
                    if id == next {
                        df.push(0);
                    }
                    df[id as usize] += 1;
                    (id, n)
                })
                .collect();
            docs.push(doc);
        }
        let n_docs = examples.len() as f32;
        let idf: Vec<f32> = df
            .iter()
            .map(|&d| ((1.0 + n_docs) / (1.0 + d as f32)).ln() + 1.0)
            .collect();
        let unknown_idf = ((1.0 + n_docs) / 1.0).ln() + 1.0;

        // Each example as a unit vector.
        let units: Vec<Vec<(u32, f32)>> = docs
            .iter()
            .map(|doc| {
                let v: Vec<(u32, f32)> = doc
                    .iter()
                    .map(|&(f, n)| (f, tf(n) * idf[f as usize]))
                    .collect();
                let norm = v.iter().map(|(_, w)| w * w).sum::<f32>().sqrt();
                v.into_iter()
                    .map(|(f, w)| (f, if norm > 0.0 { w / norm } else { 0.0 }))
                    .collect()
            })
            .collect();
        // Centroid of each (class, language): the mean of its unit example vectors.
        let n_centroids = classes * 3;
        let gold: Vec<u32> = examples
            .iter()
            .map(|(class, lang, _)| (class * 3 + lang.index()) as u32)
            .collect();
        let mut sums: Vec<IdMap<f32>> = (0..n_centroids).map(|_| IdMap::default()).collect();
        for (unit, &g) in units.iter().zip(&gold) {
            let c = &mut sums[g as usize];
            for &(f, w) in unit {
                *c.entry(u64::from(f)).or_insert(0.0) += w;
            }
        }
        let mut postings: Vec<Vec<(u32, f32)>> = vec![Vec::new(); ids.len()];
        let cells = ids.len().saturating_mul(n_centroids);
        if cells > 0 && cells <= fit::MAX_CELLS {
            let mut dense = vec![0f32; cells];
            for (centroid, sum) in sums.iter().enumerate() {
                let norm = sum.values().map(|v| v * v).sum::<f32>().sqrt();
                if norm > 0.0 {
                    for (&f, &v) in sum {
                        dense[f as usize * n_centroids + centroid] = v / norm;
                    }
                }
            }
            let class_of: Vec<u32> = (0..n_centroids as u32).map(|k| k / 3).collect();
            fit::fit(&units, &gold, &class_of, &mut dense);
            for (f, row) in dense.chunks(n_centroids).enumerate() {
                for (centroid, &v) in row.iter().enumerate() {
                    if v.abs() >= MIN_WEIGHT {
                        postings[f].push((centroid as u32, v));
                    }
                }
            }
        } else {
            for (centroid, sum) in sums.iter().enumerate() {
                let norm = sum.values().map(|v| v * v).sum::<f32>().sqrt();
                if norm == 0.0 {
                    continue;
                }
                let mut kept: Vec<(u64, f32)> = sum
                    .iter()
                    .map(|(&f, &v)| (f, v / norm))
                    .filter(|&(_, v)| v >= MIN_WEIGHT)
                    .collect();
                kept.sort_unstable_by_key(|&(f, _)| f);
                for (f, v) in kept {
                    postings[f as usize].push((centroid as u32, v));
                }
            }
        }
        let mut offsets = Vec::with_capacity(postings.len() + 1);
        let mut entries = Vec::with_capacity(postings.iter().map(Vec::len).sum());
        offsets.push(0);
        for p in postings {
            entries.extend(p);
            offsets.push(entries.len() as u32);
        }
        SimilarityIndex {
            features: ids,
            idf,
            offsets,
            entries,
            classes,
            unknown_idf,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Feature count, for `check` and memory estimates.
    pub fn feature_count(&self) -> usize {
        self.idf.len()
    }

    /// The message's weighted features and its norm (unknown features count in the norm:
    /// a message mostly about something else is not close to anything).
    fn vector(&self, hashes: &mut [u64]) -> (Vec<(u32, f32)>, f32) {
        let mut norm2 = 0.0f32;
        let mut v = Vec::with_capacity(hashes.len());
        for (h, n) in counted(hashes) {
            match self.features.get(&h) {
                Some(&f) => {
                    let w = tf(n) * self.idf[f as usize];
                    norm2 += w * w;
                    v.push((f, w));
                }
                None => norm2 += (tf(n) * self.unknown_idf).powi(2),
            }
        }
        (v, norm2.sqrt())
    }

    /// The best centroid of every class with any shared feature, best first.
    pub fn score(&self, folded: &str) -> Vec<ClassScore> {
        if self.entries.is_empty() {
            return Vec::new();
        }
        SCRATCH.with(|cell| {
            let Ok(mut scratch) = cell.try_borrow_mut() else {
                return Vec::new();
            };
            let Scratch {
                acc,
                seen,
                touched,
                hashes,
            } = &mut *scratch;
            if acc.len() < self.classes * 3 {
                acc.resize(self.classes * 3, 0.0);
                seen.resize(self.classes * 3, false);
            }
            hashes.clear();
            features(folded, hashes);
            let (v, norm) = self.vector(hashes);
            if norm == 0.0 {
                return Vec::new();
            }
            for (f, w) in v {
                let f = f as usize;
                let (a, b) = (self.offsets[f] as usize, self.offsets[f + 1] as usize);
                for &(c, cw) in &self.entries[a..b] {
                    let i = c as usize;
                    if !seen[i] {
                        seen[i] = true;
                        touched.push(c);
                    }
                    acc[i] += w * cw;
                }
            }
            let mut best: Vec<ClassScore> = Vec::with_capacity(touched.len());
            for &c in touched.iter() {
                let cosine = acc[c as usize] / norm;
                acc[c as usize] = 0.0;
                seen[c as usize] = false;
                let class = c as usize / 3;
                let lang = Lang::ALL[c as usize % 3];
                match best.iter_mut().find(|s| s.class == class) {
                    Some(s) if s.cosine >= cosine => {}
                    Some(s) => {
                        s.cosine = cosine;
                        s.lang = lang;
                    }
                    None => best.push(ClassScore {
                        class,
                        lang,
                        cosine,
                    }),
                }
            }
            touched.clear();
            best.sort_by(|a, b| b.cosine.total_cmp(&a.cosine).then(a.class.cmp(&b.class)));
            best
        })
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
        let s = index().score(&fold("siparisimin kargosu nerde"));
        assert_eq!(s[0].class, 0);
        assert_eq!(s[0].lang, Lang::Tr);
    }

    #[test]
    fn a_typo_still_lands_near_its_example() {
        let s = index().score(&fold("i wnat to retrun it"));
        assert_eq!(s[0].class, 1);
    }

    #[test]
    fn an_unrelated_message_is_not_close_to_anything() {
        let s = index().score(&fold("bugün hava çok güzel değil mi"));
        assert!(s.first().is_none_or(|s| s.cosine < 0.2), "{s:?}");
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
