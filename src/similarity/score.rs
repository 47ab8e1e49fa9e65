//! Scoring a message against the index: its features, their IDF and postings, the dot
//! product with every centroid they reach, and the best centroid of each class.
//!
//! The order of every floating-point addition is fixed (each centroid adds its products in
//! the order of the message's sorted feature hashes), so the scores are the same on every
//! machine and whichever path (sparse postings or dense rows) computes them.

use super::dense::{self, DenseRows};
use super::{ClassScore, SimilarityIndex, features, for_each_run, sort, tf};
use crate::lang::Lang;
use std::cell::RefCell;

thread_local! {
    static SCRATCH: RefCell<Scratch> = const { RefCell::new(Scratch {
        acc: Vec::new(),
        reached: Vec::new(),
        crossed: Vec::new(),
        hashes: Vec::new(),
        found: Vec::new(),
        place: Vec::new(),
        dense: Vec::new(),
        sorting: Vec::new(),
    }) };
}

/// Reused between messages on one thread, so scoring allocates nothing once warm.
struct Scratch {
    /// Per centroid, the dot product so far (sparse postings).
    acc: Vec<f32>,
    /// One bit per centroid: reached by a posting of the message's features.
    reached: Vec<u64>,
    /// The centroids whose dot product rose past the floor.
    crossed: Vec<u32>,
    hashes: Vec<u64>,
    /// The message's known features, in hash order: postings range and weight.
    found: Vec<(u32, u32, f32)>,
    /// Per class, its index in the result being built (`u32::MAX`: none yet).
    place: Vec<u32>,
    /// Per centroid, the dot product so far (dense rows).
    dense: Vec<f32>,
    /// Room for sorting `hashes`.
    sorting: Vec<u64>,
}

/// Keeps the best centroid of each class that can count.
struct Best<'a> {
    best: Vec<ClassScore>,
    place: &'a mut Vec<u32>,
    norm: f32,
    min_cosine: f32,
    /// A dot product below this is surely under `min_cosine` (a margin far wider than the
    /// division's rounding), so most centroids are passed over without dividing.
    min_dot: f32,
    always: usize,
    /// The centroids of class `always`.
    always_centroids: std::ops::Range<usize>,
}

impl Best<'_> {
    #[inline]
    fn consider(&mut self, centroid: usize, dot: f32) {
        if dot < self.min_dot && !self.always_centroids.contains(&centroid) {
            return;
        }
        let class = centroid / 3;
        let cosine = if self.norm > 0.0 {
            dot / self.norm
        } else {
            0.0
        };
        if cosine <= self.min_cosine && class != self.always {
            return;
        }
        let lang = Lang::ALL[centroid % 3];
        match self.best.get_mut(self.place[class] as usize) {
            Some(s) => {
                if cosine > s.cosine {
                    s.cosine = cosine;
                    s.lang = lang;
                }
            }
            None => {
                self.place[class] = self.best.len() as u32;
                self.best.push(ClassScore {
                    class,
                    lang,
                    cosine,
                });
            }
        }
    }

    fn finish(self) -> Vec<ClassScore> {
        let Best {
            mut best, place, ..
        } = self;
        for s in &best {
            place[s.class] = u32::MAX;
        }
        best.sort_by(|a, b| b.cosine.total_cmp(&a.cosine).then(a.class.cmp(&b.class)));
        best
    }
}

impl SimilarityIndex {
    /// The best centroid of every class scoring above `min_cosine` (and of class `always`,
    /// whatever it scores), best first.
    pub fn score(&self, folded: &str, min_cosine: f32, always: usize) -> Vec<ClassScore> {
        if self.postings == 0 {
            return Vec::new();
        }
        SCRATCH.with(|cell| {
            let Ok(mut scratch) = cell.try_borrow_mut() else {
                return Vec::new();
            };
            let Scratch {
                acc,
                reached,
                crossed,
                hashes,
                found,
                place,
                dense,
                sorting,
            } = &mut *scratch;
            hashes.clear();
            features(folded, hashes);
            sort::sort_hashes(hashes, sorting);
            let warm = hashes.iter().fold(0, |x, &h| x ^ self.features.warm(h));
            std::hint::black_box(warm);
            // First every lookup (independent of each other, so their memory reads
            // overlap), then the postings, in the same order as the features.
            let mut norm2 = 0.0f32;
            found.clear();
            for_each_run(hashes, |h, count| match self.features.get(h) {
                Some(s) => {
                    let w = tf(count) * s.idf;
                    norm2 += w * w;
                    if s.start < s.end {
                        found.push((s.start, s.end, w));
                    }
                }
                None => norm2 += (tf(count) * self.unknown_idf).powi(2),
            });
            if place.len() < self.classes {
                place.resize(self.classes, u32::MAX);
            }
            let norm = norm2.sqrt();
            let mut best = Best {
                best: Vec::new(),
                place,
                norm,
                min_cosine,
                min_dot: if norm > 0.0 {
                    let at = min_cosine * norm;
                    at - at.abs() * 1e-4
                } else {
                    f32::INFINITY
                },
                always,
                always_centroids: always.saturating_mul(3)
                    ..always.saturating_mul(3).saturating_add(3),
            };
            match &self.dense {
                Some(rows) => score_dense(rows, found, dense, &mut best),
                None => self.score_sparse(found, acc, reached, crossed, &mut best),
            }
            best.finish()
        })
    }
}

impl SimilarityIndex {
    /// The dot products through the sparse postings. When every posting is positive (an
    /// unfitted pack's centroids are means of positive vectors) and so is the floor, a dot
    /// product only grows: the centroids that can count are those whose sum rises past the
    /// floor, noted as it happens, and the sums are then cleared at once. Otherwise every
    /// reached centroid is marked with a bit and looked at. Both add each centroid's
    /// products in the same order, so the sums are the same bits.
    fn score_sparse(
        &self,
        found: &[(u32, u32, f32)],
        acc: &mut Vec<f32>,
        reached: &mut Vec<u64>,
        crossed: &mut Vec<u32>,
        best: &mut Best,
    ) {
        let n = self.classes * 3;
        if acc.len() < n {
            acc.resize(n, 0.0);
        }
        let acc = &mut acc[..n];
        // Each feature's postings in memory at once (see `FeatureTable::warm`).
        let warm = found.iter().fold(0, |x, &(a, _, _)| {
            x ^ self.entries.get(a as usize).map_or(0, |e| e.0)
        });
        std::hint::black_box(warm);
        let postings = |a: u32, b: u32| self.entries.get(a as usize..b as usize).unwrap_or(&[]);
        let min_dot = best.min_dot;
        if self.rising && min_dot > 0.0 {
            crossed.clear();
            for &(a, b, w) in found {
                for &(c, cw) in postings(a, b) {
                    let Some(cell) = acc.get_mut(c as usize) else {
                        continue;
                    };
                    let before = *cell;
                    *cell += w * cw;
                    if *cell >= min_dot && before < min_dot {
                        crossed.push(c);
                    }
                }
            }
            for &c in crossed.iter() {
                best.consider(c as usize, acc[c as usize]);
            }
            // The class `always` counts whatever it scores, once reached.
            for c in best.always_centroids.clone() {
                if acc.get(c).is_some_and(|&dot| dot > 0.0 && dot < min_dot) {
                    best.consider(c, acc[c]);
                }
            }
            acc.fill(0.0);
            return;
        }
        let words = n.div_ceil(64);
        if reached.len() < words {
            reached.resize(words, 0);
        }
        // A reached centroid is marked with a bit, not listed: no branch on whether it was
        // reached before, which no processor can predict.
        for &(a, b, w) in found {
            for &(c, cw) in postings(a, b) {
                let c = c as usize;
                if let Some(cell) = acc.get_mut(c) {
                    *cell += w * cw;
                    reached[c / 64] |= 1 << (c % 64);
                }
            }
        }
        // Only what can count: classes above `min_cosine`, and the class `always`; each
        // reached centroid is read once and cleared.
        dense::each_set(&reached[..words], |c| {
            best.consider(c, std::mem::take(&mut acc[c]));
        });
        reached[..words].fill(0);
    }
}

fn score_dense(rows: &DenseRows, found: &[(u32, u32, f32)], acc: &mut Vec<f32>, best: &mut Best) {
    acc.clear();
    acc.resize(rows.width(), 0.0);
    let mut touched = [0u64; 4];
    let warm = found
        .iter()
        .fold(0, |x, &(row, _, _)| x ^ rows.warm(row as usize));
    std::hint::black_box(warm);
    for &(row, _, w) in found {
        rows.add(row as usize, w, acc, &mut touched);
    }
    dense::each_set(&touched, |c| best.consider(c, acc[c]));
}
