//! The postings of a small pack as dense rows: for each feature, its weight for every
//! centroid (zero where the sparse index has no posting), and a bit mask of the centroids
//! it has a posting for.
//!
//! A small pack keeps every posting, and each feature of a message reaches a large share of
//! its centroids; adding a whole row at once (a loop the compiler turns into vector
//! instructions) costs a fraction of following the postings one by one. The sums are the
//! same bit for bit: each centroid still adds its products in the order of the message's
//! features, and adding the zero of a missing posting changes no sum (no sum is ever −0:
//! every product is non-zero, and a sum that cancels rounds to +0). The masks say which
//! centroids a posting touched, as the sparse path's bits do.

/// Widest pack (centroids) stored densely: the masks are four 64-bit words.
pub(super) const MAX_WIDTH: usize = 256;
/// Most cells (rows × centroids) stored densely (32 MB of weights).
const MAX_CELLS: usize = 8_000_000;

#[derive(Debug, Default)]
pub(super) struct DenseRows {
    width: usize,
    weights: Vec<f32>,
    masks: Vec<[u64; 4]>,
}

impl DenseRows {
    /// From the sparse postings (`offsets[f]..offsets[f + 1]` of `entries` for feature
    /// `f`), or `None` when the pack is too wide or too large for rows. Row `r` belongs to
    /// the `r`-th feature that has postings; features without postings get no row.
    pub fn new(width: usize, offsets: &[u32], entries: &[(u32, f32)]) -> Option<DenseRows> {
        if width == 0 || width > MAX_WIDTH {
            return None;
        }
        let rows = offsets.windows(2).filter(|w| w[0] < w[1]).count();
        if rows.saturating_mul(width) > MAX_CELLS {
            return None;
        }
        let mut weights = vec![0f32; rows * width];
        let mut masks = vec![[0u64; 4]; rows];
        let mut r = 0;
        for w in offsets.windows(2) {
            let (a, b) = (w[0] as usize, w[1] as usize);
            if a >= b {
                continue;
            }
            let row = &mut weights[r * width..(r + 1) * width];
            for &(k, cw) in entries.get(a..b)? {
                let k = k as usize;
                *row.get_mut(k)? = cw;
                masks[r][k / 64] |= 1 << (k % 64);
            }
            r += 1;
        }
        Some(DenseRows {
            width,
            weights,
            masks,
        })
    }

    pub fn width(&self) -> usize {
        self.width
    }

    /// Reads the start and end of row `r` and its mask (see `FeatureTable::warm`).
    #[inline]
    pub fn warm(&self, r: usize) -> u64 {
        let at = |i: usize| self.weights.get(i).map_or(0, |w| u64::from(w.to_bits()));
        at(r * self.width) ^ at((r + 1) * self.width - 1) ^ self.masks.get(r).map_or(0, |m| m[0])
    }

    /// Adds `w` × row `r` to `acc` (`width` long) and marks the centroids it touches.
    #[inline]
    pub fn add(&self, r: usize, w: f32, acc: &mut [f32], touched: &mut [u64; 4]) {
        let start = r * self.width;
        let Some(row) = self.weights.get(start..start + self.width) else {
            return;
        };
        for (a, &cw) in acc.iter_mut().zip(row) {
            *a += w * cw;
        }
        if let Some(m) = self.masks.get(r) {
            for (t, &b) in touched.iter_mut().zip(m) {
                *t |= b;
            }
        }
    }
}

/// The centroids set in `mask`, in increasing order.
pub(super) fn each_set(mask: &[u64], mut f: impl FnMut(usize)) {
    for (i, &word) in mask.iter().enumerate() {
        let mut bits = word;
        while bits != 0 {
            f(i * 64 + bits.trailing_zeros() as usize);
            bits &= bits - 1;
        }
    }
}
