//! The examples index's feature table: feature hash → (id, IDF, postings), one flat
//! open-addressing table, so looking a feature up touches one slot instead of a hash map's
//! control bytes and bucket, then the IDF and the offsets arrays.
//!
//! Keys are already well-mixed 64-bit hashes (`similarity::mix`); the table compares the
//! whole hash, so it answers exactly what a map keyed by the hash would.

/// A slot: `id == EMPTY` when free.
#[derive(Debug, Clone, Copy)]
pub(super) struct Slot {
    pub hash: u64,
    pub idf: f32,
    pub id: u32,
    /// The feature's postings are `entries[start..end]`.
    pub start: u32,
    pub end: u32,
}

const EMPTY: u32 = u32::MAX;

const FREE: Slot = Slot {
    hash: 0,
    idf: 0.0,
    id: EMPTY,
    start: 0,
    end: 0,
};

#[derive(Debug, Default)]
pub(super) struct FeatureTable {
    slots: Vec<Slot>,
    mask: usize,
}

impl FeatureTable {
    /// Room for `n` features at most half full.
    pub fn with_features(n: usize) -> FeatureTable {
        let size = (n.max(1) * 2).next_power_of_two();
        FeatureTable {
            slots: vec![FREE; size],
            mask: size - 1,
        }
    }

    /// Inserts a feature not yet in the table.
    pub fn insert(&mut self, slot: Slot) {
        let mut i = slot.hash as usize & self.mask;
        while self.slots[i].id != EMPTY {
            i = (i + 1) & self.mask;
        }
        self.slots[i] = slot;
    }

    /// Reads the slot where a lookup of `hash` starts. Done for all of a message's
    /// features before any lookup, their memory reads wait together instead of one after
    /// the other (the lookups' branches would keep the processor from running ahead).
    #[inline]
    pub fn warm(&self, hash: u64) -> u64 {
        self.slots
            .get(hash as usize & self.mask)
            .map_or(0, |s| s.hash)
    }

    #[inline]
    pub fn get(&self, hash: u64) -> Option<&Slot> {
        if self.slots.is_empty() {
            return None;
        }
        let mut i = hash as usize & self.mask;
        loop {
            let s = &self.slots[i];
            if s.id == EMPTY {
                return None;
            }
            if s.hash == hash {
                return Some(s);
            }
            i = (i + 1) & self.mask;
        }
    }
}
