//! Fits the centroids into a linear model: an averaged perceptron, started from the
//! centroids and corrected on every example it ranks below another intent's. This is the
//! "linear model fitted at compile time" of the examples tier: it learns which n-grams tell
//! two close intents apart (a missing part vs a missing parcel), which averaging alone
//! cannot. Deterministic: a fixed number of passes, each in a pseudo-random order that
//! comes from the examples' own text, so adding or removing one example leaves every other
//! example's place in the order as it was: one new example changes the fit a little, not
//! as if the whole pack had been reshuffled.
//!
//! The weights are dense while fitting (features × centroids), so a pack whose product
//! exceeds `MAX_CELLS` keeps its plain centroids; that bound keeps compile time and memory
//! small for packs of thousands of intents.

/// Largest features × centroids fitted.
pub const MAX_CELLS: usize = 24_000_000;
const EPOCHS: usize = 10;
/// Fits averaged, each visiting the examples in its own order.
const RUNS: u64 = 4;
/// Largest features × centroids fitted more than once (the copies stay under ~50 MB).
const ENSEMBLE_CELLS: usize = 4_000_000;
const RATE: f32 = 0.2;
/// An example is corrected until its own intent leads by this much.
const MARGIN: f32 = 0.5;

/// `units`: unit example vectors; `gold`: each example's centroid; `keys`: a hash of each
/// example's text (its place in every pass); `class_of`: the class (intent) of each
/// centroid; `weights`: dense feature-major centroid weights, refined in place.
pub fn fit(
    units: &[&[(u32, f32)]],
    gold: &[u32],
    keys: &[u64],
    class_of: &[u32],
    weights: &mut [f32],
) {
    if weights.len() > ENSEMBLE_CELLS {
        fit_once(units, gold, keys, class_of, weights, 0);
        return;
    }
    // Several fits in different orders, averaged: a decision near the boundary no longer
    // depends on which order one fit happened to visit the examples in.
    let start = weights.to_vec();
    weights.iter_mut().for_each(|w| *w = 0.0);
    let mut run_weights = start.clone();
    for run in 0..RUNS {
        run_weights.copy_from_slice(&start);
        fit_once(units, gold, keys, class_of, &mut run_weights, run);
        for (w, r) in weights.iter_mut().zip(&run_weights) {
            *w += r / RUNS as f32;
        }
    }
}

fn fit_once(
    units: &[&[(u32, f32)]],
    gold: &[u32],
    keys: &[u64],
    class_of: &[u32],
    weights: &mut [f32],
    run: u64,
) {
    let c = class_of.len();
    if c == 0 || units.is_empty() {
        return;
    }
    let mut sums = vec![0f32; weights.len()];
    let mut scores = vec![0f32; c];
    let mut order: Vec<usize> = (0..units.len()).collect();
    let mut step = 1f32;
    for epoch in 0..EPOCHS as u64 {
        // Each pass sorts the examples by a mix of their text's hash and the pass number:
        // the same order on every machine, and stable when other examples come and go.
        let seed = (run * EPOCHS as u64 + epoch).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        order.sort_by_key(|&i| (mix(keys.get(i).copied().unwrap_or(i as u64) ^ seed), i));
        for &i in &order {
            let x = units[i];
            let g = gold[i] as usize;
            scores.iter_mut().for_each(|s| *s = 0.0);
            for &(f, v) in x {
                let row = &weights[f as usize * c..(f as usize + 1) * c];
                for (s, w) in scores.iter_mut().zip(row) {
                    *s += v * w;
                }
            }
            let own = class_of[g];
            let rival = (0..c)
                .filter(|&k| class_of[k] != own)
                .max_by(|&a, &b| scores[a].total_cmp(&scores[b]).then(b.cmp(&a)));
            if let Some(p) = rival
                && scores[g] - scores[p] < MARGIN
            {
                for &(f, v) in x {
                    let base = f as usize * c;
                    weights[base + g] += RATE * v;
                    weights[base + p] -= RATE * v;
                    sums[base + g] += step * RATE * v;
                    sums[base + p] -= step * RATE * v;
                }
            }
            step += 1.0;
        }
    }
    for (w, s) in weights.iter_mut().zip(&sums) {
        *w -= s / step;
    }
}

/// A 64-bit finaliser (SplitMix64): spreads a hash's bits so that sorting by it shuffles.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}
