//! Fits the centroids into a linear model: an averaged perceptron, started from the
//! centroids and corrected on every example it ranks below another intent's. This is the
//! "linear model fitted at compile time" of the examples tier: it learns which n-grams tell
//! two close intents apart (a missing part vs a missing parcel), which averaging alone
//! cannot. Deterministic: a fixed number of passes in a fixed pseudo-random order.
//!
//! The weights are dense while fitting (features × centroids), so a pack whose product
//! exceeds `MAX_CELLS` keeps its plain centroids; that bound keeps compile time and memory
//! small for packs of thousands of intents.

/// Largest features × centroids fitted.
pub const MAX_CELLS: usize = 24_000_000;
const EPOCHS: usize = 10;
const RATE: f32 = 0.2;
/// An example is corrected until its own intent leads by this much.
const MARGIN: f32 = 0.5;

/// `units`: unit example vectors; `gold`: each example's centroid; `class_of`: the class
/// (intent) of each centroid; `weights`: dense feature-major centroid weights, refined in
/// place.
pub fn fit(units: &[&[(u32, f32)]], gold: &[u32], class_of: &[u32], weights: &mut [f32]) {
    let c = class_of.len();
    if c == 0 || units.is_empty() {
        return;
    }
    let mut sums = vec![0f32; weights.len()];
    let mut scores = vec![0f32; c];
    let mut order: Vec<usize> = (0..units.len()).collect();
    let mut rng: u64 = 0x2545_F491_4F6C_DD1D;
    let mut step = 1f32;
    for _ in 0..EPOCHS {
        // Fisher–Yates with a fixed LCG: the same order on every machine.
        for i in (1..order.len()).rev() {
            rng = rng
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            let j = (rng >> 33) as usize % (i + 1);
            order.swap(i, j);
        }
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
