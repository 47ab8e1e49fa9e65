//! The two passes over the examples that build the index, each split over two threads for
//! large packs (`std::thread::scope`), with the same result as one thread bit for bit:
//!
//! 1. `count_features`: every feature gets an id in the order it is first seen (examples
//!    in order, each example's features in hash order) and its document frequency. Each
//!    half numbers its own features; the second half's are then added in its own order,
//!    which is the order in which one thread would have met those not in the first half.
//!    Each example's features are kept as it met them (ids and counts, in hash order), so
//!    pass 2 reads them instead of cutting and sorting the text again.
//! 2. `centroids`: each (class, language) group's unit TF-IDF vectors and their mean.
//!    Groups are independent; each half of them is built whole, as one thread builds it,
//!    and the examples kept for fitting are joined in the same order.

use super::{features, for_each_counted, text_key, tf};
use crate::lang::Lang;
use crate::typo::IdMap;

/// Below this many examples one thread does it all (a thread costs more than it saves).
const MIN_PARALLEL: usize = 8_192;

/// In `Docs::features`, an id with this bit set is followed by its count (a feature met
/// once, most of them, is its id alone).
const COUNTED: u32 = 1 << 31;

/// Whether to split the work over two threads.
pub(super) fn two_threads(examples: usize) -> bool {
    examples >= MIN_PARALLEL && std::thread::available_parallelism().is_ok_and(|n| n.get() >= 2)
}

/// Each example's distinct features in hash order, as ids with their counts: example `i`
/// is `features[starts[i]..starts[i + 1]]`, an id alone for a count of 1, else the id with
/// `COUNTED` set and then the count.
#[derive(Default)]
pub(super) struct Docs {
    features: Vec<u32>,
    starts: Vec<usize>,
}

impl Docs {
    fn push(&mut self, id: u32, count: u32) {
        debug_assert!(id < COUNTED);
        if count == 1 {
            self.features.push(id);
        } else {
            self.features.push(id | COUNTED);
            self.features.push(count);
        }
    }

    /// Calls `f` with each (id, count) of example `i`, in hash order.
    fn for_each(&self, i: usize, mut f: impl FnMut(u32, u32)) {
        let doc = &self.features[self.starts[i]..self.starts[i + 1]];
        let mut at = 0;
        while at < doc.len() {
            let x = doc[at];
            if x & COUNTED == 0 {
                f(x, 1);
                at += 1;
            } else {
                f(x & !COUNTED, doc[at + 1]);
                at += 2;
            }
        }
    }
}

/// Feature ids (hash → id, in the order first seen) and document frequencies.
pub(super) struct Vocabulary {
    pub ids: IdMap<u32>,
    pub df: Vec<u32>,
    /// The hash of each id, in id order.
    hashes: Vec<u64>,
    /// Each example's features, for pass 2.
    pub docs: Docs,
}

fn count_part(examples: &[(usize, Lang, String)]) -> Vocabulary {
    let mut v = Vocabulary {
        ids: IdMap::default(),
        df: Vec::new(),
        hashes: Vec::new(),
        docs: Docs::default(),
    };
    v.docs.starts.reserve(examples.len() + 1);
    v.docs.starts.push(0);
    let mut hashes = Vec::new();
    let mut sorting = Vec::new();
    for (_, _, text) in examples {
        hashes.clear();
        features(text, &mut hashes);
        for_each_counted(&mut hashes, &mut sorting, |h, n| {
            let next = v.df.len() as u32;
            let id = *v.ids.entry(h).or_insert(next);
            if id == next {
                v.df.push(0);
                v.hashes.push(h);
            }
            v.df[id as usize] += 1;
            v.docs.push(id, n);
        });
        v.docs.starts.push(v.docs.features.len());
    }
    v
}

/// Pass 1 over `examples`, on two threads when `parallel`.
pub(super) fn count_features(examples: &[(usize, Lang, String)], parallel: bool) -> Vocabulary {
    if !parallel || examples.len() < 2 {
        return count_part(examples);
    }
    let (first, second) = examples.split_at(examples.len() / 2);
    let (mut v, rest) = std::thread::scope(|s| {
        let other = s.spawn(|| count_part(second));
        let v = count_part(first);
        (v, other.join())
    });
    let mut rest = match rest {
        Ok(rest) => rest,
        // The other half panicked (it cannot: no input reaches a panic); do it here.
        Err(_) => count_part(second),
    };
    v.ids.reserve(rest.hashes.len());
    // The id each of the second half's own ids gets.
    let mut global = Vec::with_capacity(rest.hashes.len());
    for (&h, &d) in rest.hashes.iter().zip(&rest.df) {
        let next = v.df.len() as u32;
        let id = *v.ids.entry(h).or_insert(next);
        if id == next {
            v.df.push(0);
            v.hashes.push(h);
        }
        v.df[id as usize] += d;
        global.push(id);
    }
    // The second half's examples, renumbered, after the first half's.
    let base = v.docs.features.len();
    let rd = &mut rest.docs;
    let mut at = 0;
    while at < rd.features.len() {
        let x = rd.features[at];
        rd.features[at] = global[(x & !COUNTED) as usize] | (x & COUNTED);
        at += if x & COUNTED == 0 { 1 } else { 2 };
    }
    v.docs.features.append(&mut rd.features);
    v.docs
        .starts
        .extend(rd.starts.iter().skip(1).map(|&s| base + s));
    v
}

/// Every centroid, and (when fitting) each example's unit vector, centroid and order key.
#[derive(Default)]
pub(super) struct Centroids {
    pub centroids: Vec<Vec<(u32, f32)>>,
    pub units: Vec<Vec<(u32, f32)>>,
    pub unit_gold: Vec<u32>,
    pub unit_keys: Vec<u64>,
}

/// What pass 2 reads.
pub(super) struct Pass2<'a> {
    pub examples: &'a [(usize, Lang, String)],
    pub gold: &'a [u32],
    /// Each example's features, from pass 1.
    pub docs: &'a Docs,
    pub idf: &'a [f32],
    pub fitting: bool,
}

/// Centroids by number: (centroid, its weights by feature id).
type Numbered = Vec<(u32, Vec<(u32, f32)>)>;

/// Pass 2 over `groups` (each the example indices of one centroid, in order): the
/// centroids as (centroid, vector), and the fitting data.
fn centroid_part(p: &Pass2, groups: &[&[usize]]) -> (Numbered, Centroids) {
    let mut out = Vec::with_capacity(groups.len());
    let mut fit = Centroids::default();
    let mut buf: Vec<(u32, f32)> = Vec::new();
    let mut unit: Vec<(u32, f32)> = Vec::new();
    for group in groups {
        buf.clear();
        for &i in group.iter() {
            unit.clear();
            // Every feature of every example has its id: pass 1 saw them all.
            p.docs
                .for_each(i, |f, n| unit.push((f, tf(n) * p.idf[f as usize])));
            let norm = unit.iter().map(|(_, t)| t * t).sum::<f32>().sqrt();
            if norm > 0.0 {
                unit.iter_mut().for_each(|(_, t)| *t /= norm);
            }
            buf.extend_from_slice(&unit);
            if p.fitting {
                fit.units.push(unit.clone());
                fit.unit_gold.push(p.gold[i]);
                fit.unit_keys.push(text_key(&p.examples[i].2, p.gold[i]));
            }
        }
        buf.sort_unstable_by_key(|&(f, _)| f);
        let mut c: Vec<(u32, f32)> = Vec::with_capacity(buf.len());
        for &(f, w) in &buf {
            match c.last_mut() {
                Some((last, sum)) if *last == f => *sum += w,
                _ => c.push((f, w)),
            }
        }
        let norm = c.iter().map(|(_, w)| w * w).sum::<f32>().sqrt();
        if norm > 0.0 {
            c.iter_mut().for_each(|(_, w)| *w /= norm);
        }
        if let Some(&first) = group.first() {
            out.push((p.gold[first], c));
        }
    }
    (out, fit)
}

/// Pass 2, one (class, language) group at a time, on two threads when `parallel`.
pub(super) fn centroids(p: &Pass2, n_centroids: usize, parallel: bool) -> Centroids {
    let mut order: Vec<usize> = (0..p.examples.len()).collect();
    order.sort_by_key(|&i| p.gold[i]);
    let groups: Vec<&[usize]> = order.chunk_by(|&a, &b| p.gold[a] == p.gold[b]).collect();
    // The split: the first group boundary past half of the examples.
    let mut split = groups.len();
    if parallel {
        let mut seen = 0;
        for (g, group) in groups.iter().enumerate() {
            if seen >= p.examples.len() / 2 {
                split = g;
                break;
            }
            seen += group.len();
        }
    }
    let (first, second) = groups.split_at(split);
    let (a, b) = if second.is_empty() {
        (centroid_part(p, first), (Vec::new(), Centroids::default()))
    } else {
        let (a, b) = std::thread::scope(|s| {
            let other = s.spawn(|| centroid_part(p, second));
            let a = centroid_part(p, first);
            (a, other.join())
        });
        // The other half cannot panic (no input reaches one); if it did, redo it here.
        (a, b.unwrap_or_else(|_| centroid_part(p, second)))
    };
    let mut out = Centroids {
        centroids: vec![Vec::new(); n_centroids],
        ..Centroids::default()
    };
    for (k, c) in a.0.into_iter().chain(b.0) {
        if let Some(slot) = out.centroids.get_mut(k as usize) {
            *slot = c;
        }
    }
    let (fa, fb) = (a.1, b.1);
    out.units = fa.units;
    out.units.extend(fb.units);
    out.unit_gold = fa.unit_gold;
    out.unit_gold.extend(fb.unit_gold);
    out.unit_keys = fa.unit_keys;
    out.unit_keys.extend(fb.unit_keys);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::normalise::fold;

    fn examples() -> Vec<(usize, Lang, String)> {
        let syllables = ["ka", "ri", "mo", "tu", "se", "la", "ne", "po", "şa", "çi"];
        let word = |i: usize| -> String {
            (0..3 + i % 2)
                .map(|k| syllables[(i * 7 + k * 3 + i / 5) % syllables.len()])
                .collect()
        };
        (0..500)
            .map(|i| {
                let text = format!("{} siparis {} {}", word(i), word(i / 3), word(i * 11));
                (i % 9, Lang::ALL[(i / 9) % 3], fold(&text))
            })
            .collect()
    }

    #[test]
    fn two_threads_number_and_count_features_as_one_does() {
        let ex = examples();
        let one = count_features(&ex, false);
        let two = count_features(&ex, true);
        assert_eq!(one.df, two.df);
        assert_eq!(one.hashes, two.hashes);
        for (h, id) in &one.ids {
            assert_eq!(two.ids.get(h), Some(id));
        }
        assert_eq!(one.ids.len(), two.ids.len());
        assert_eq!(one.docs.features, two.docs.features);
        assert_eq!(one.docs.starts, two.docs.starts);
    }

    #[test]
    fn kept_features_are_each_examples_counted_features() {
        let mut ex = examples();
        // A feature met more than once in one example.
        ex.push((0, Lang::Tr, fold("kargo kargo kargo nerede nerede")));
        for parallel in [false, true] {
            let v = count_features(&ex, parallel);
            let mut repeated = false;
            for (i, (_, _, text)) in ex.iter().enumerate() {
                let mut want = Vec::new();
                let mut hashes = Vec::new();
                features(text, &mut hashes);
                for_each_counted(&mut hashes, &mut Vec::new(), |h, n| {
                    want.push((v.ids[&h], n));
                    repeated |= n > 1;
                });
                let mut got = Vec::new();
                v.docs.for_each(i, |f, n| got.push((f, n)));
                assert_eq!(got, want, "{text:?}");
            }
            assert!(repeated);
        }
    }

    #[test]
    fn two_threads_build_the_same_centroids_bit_for_bit() {
        let ex = examples();
        let v = count_features(&ex, false);
        let idf: Vec<f32> = v.df.iter().map(|&d| 1.0 / (1.0 + d as f32)).collect();
        let gold: Vec<u32> = ex
            .iter()
            .map(|(c, l, _)| (c * 3 + l.index()) as u32)
            .collect();
        let p = Pass2 {
            examples: &ex,
            gold: &gold,
            docs: &v.docs,
            idf: &idf,
            fitting: true,
        };
        let bits = |c: &Centroids| {
            let vecs = |v: &Vec<Vec<(u32, f32)>>| -> Vec<Vec<(u32, u32)>> {
                v.iter()
                    .map(|x| x.iter().map(|&(f, w)| (f, w.to_bits())).collect())
                    .collect()
            };
            (
                vecs(&c.centroids),
                vecs(&c.units),
                c.unit_gold.clone(),
                c.unit_keys.clone(),
            )
        };
        let one = centroids(&p, 27, false);
        let two = centroids(&p, 27, true);
        assert!(one.centroids.iter().all(|c| !c.is_empty()));
        assert_eq!(bits(&one), bits(&two));
    }
}
