//! Sorting a message's feature hashes, which are well mixed: a counting pass puts each in
//! its bucket by the top byte, and an insertion sort orders the few hashes that share one.
//! A sort is a sort: the result is the one `sort_unstable` gives, in about a third of the
//! time for the hundred-odd hashes of a message.

/// Below this the general sort is as fast.
const MIN_BUCKETED: usize = 32;
/// Above this the general sort, whose worst case is bounded (hashes that share their top
/// byte would make the insertion sort quadratic).
const MAX_BUCKETED: usize = 512;

/// Sorts `hashes`; `buf` is scratch space.
pub(super) fn sort_hashes(hashes: &mut [u64], buf: &mut Vec<u64>) {
    let n = hashes.len();
    if !(MIN_BUCKETED..=MAX_BUCKETED).contains(&n) {
        hashes.sort_unstable();
        return;
    }
    let mut starts = [0u16; 257];
    for &h in hashes.iter() {
        starts[(h >> 56) as usize + 1] += 1;
    }
    for i in 1..starts.len() {
        starts[i] += starts[i - 1];
    }
    buf.clear();
    buf.resize(n, 0);
    for &h in hashes.iter() {
        let b = (h >> 56) as usize;
        buf[usize::from(starts[b])] = h;
        starts[b] += 1;
    }
    // Buckets are in order; only hashes within one bucket can be out of order.
    for i in 1..n {
        let x = buf[i];
        let mut j = i;
        while j > 0 && buf[j - 1] > x {
            buf[j] = buf[j - 1];
            j -= 1;
        }
        buf[j] = x;
    }
    hashes.copy_from_slice(buf);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorts_like_the_standard_sort() {
        let mut x: u64 = 0x1234_5678_9ABC_DEF1;
        let mut buf = Vec::new();
        for n in [0, 1, 5, 31, 32, 33, 130, 512, 513, 2000] {
            let mut v: Vec<u64> = (0..n)
                .map(|i| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    // Repeats and shared top bytes too.
                    if i % 7 == 0 {
                        x & 0xFF00_0000_0000_00FF
                    } else {
                        x
                    }
                })
                .collect();
            let mut want = v.clone();
            want.sort_unstable();
            sort_hashes(&mut v, &mut buf);
            assert_eq!(v, want, "{n}");
        }
    }
}
