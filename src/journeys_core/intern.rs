//! Interning names into dense `u16` ids, and the small fast hasher used for integer keys.
//!
//! Policy: ids are given in order of first sight, 0 upwards. A sort holds at most 65,534 names;
//! any further name gets [`OVERFLOW_ID`], shown as [`OVERFLOW_NAME`]. Lookups use a private
//! open-addressing table (load ≤ 1/4) keyed by a multiplicative hash of the length and the
//! first and last eight bytes, because the
//! row form interns three names per event and must stay cheap.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// The id given to names beyond the 65,534th of one sort; shown as [`OVERFLOW_NAME`]. Ids
/// `OVERFLOW_ID - 1` and up are never given to a name.
pub const OVERFLOW_ID: u16 = u16::MAX;
/// The label of [`OVERFLOW_ID`].
pub const OVERFLOW_NAME: &str = "(other)";

/// A tiny, fast multiplicative hasher (the "Fx" scheme: 8 bytes per step) for the short names
/// and integer keys hashed here. Not DoS-resistant; keys are bounded by the caller's own data.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct FastHasher(u64);

impl FastHasher {
    #[inline]
    fn mix(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

impl Hasher for FastHasher {
    #[inline]
    fn finish(&self) -> u64 {
        self.0
    }
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.mix(u64::from_le_bytes(w));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut w = [0u8; 8];
            w[..rest.len()].copy_from_slice(rest);
            self.mix(u64::from_le_bytes(w));
        }
    }
    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.mix(u64::from(i));
    }
    #[inline]
    fn write_u16(&mut self, i: u16) {
        self.mix(u64::from(i));
    }
    #[inline]
    fn write_u32(&mut self, i: u32) {
        self.mix(u64::from(i));
    }
    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.mix(i);
    }
    #[inline]
    fn write_u128(&mut self, i: u128) {
        self.mix(i as u64);
        self.mix((i >> 64) as u64);
    }
    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.mix(i as u64);
    }
}

/// `HashMap` with the fast hasher.
pub(crate) type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<FastHasher>>;

/// Hash a name from its length and its first and last 8 bytes (no loop: names are short and
/// collisions only cost a comparison), then a final avalanche.
fn hash_name(name: &str) -> u64 {
    let bytes = name.as_bytes();
    let (head, tail) = match (bytes.first_chunk::<8>(), bytes.last_chunk::<8>()) {
        (Some(h), Some(t)) => (u64::from_le_bytes(*h), u64::from_le_bytes(*t)),
        _ => {
            let mut w = [0u8; 8];
            for (d, s) in w.iter_mut().zip(bytes) {
                *d = *s;
            }
            (u64::from_le_bytes(w), 0)
        }
    };
    let mut x = head.wrapping_mul(0x9e37_79b9_7f4a_7c15)
        ^ tail.rotate_left(23).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95)
        ^ bytes.len() as u64;
    x ^= x >> 29;
    x = x.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x ^ (x >> 32)
}

/// Names of one sort (kinds, actions or departments) ↔ dense ids.
#[derive(Debug, Clone, Default)]
pub(crate) struct Interner {
    names: Vec<Box<str>>,
    /// Open addressing: 0 = empty, else `tag << 16 | (id + 1)`.
    slots: Vec<u32>,
}

impl Interner {
    /// The slot holding `name`, or the empty slot where it would go.
    fn find(&self, name: &str, hash: u64) -> (usize, Option<u16>) {
        let mask = self.slots.len().wrapping_sub(1);
        let tag = (hash >> 48) as u32;
        let mut i = (hash as usize) & mask;
        for _ in 0..self.slots.len() {
            let slot = self.slots.get(i).copied().unwrap_or(0);
            if slot == 0 {
                return (i, None);
            }
            if slot >> 16 == tag {
                let id = (slot & 0xffff) as u16 - 1;
                if self.names.get(usize::from(id)).is_some_and(|n| **n == *name) {
                    return (i, Some(id));
                }
            }
            i = (i + 1) & mask;
        }
        (usize::MAX, None)
    }

    /// The id of `name`, interning it if new.
    pub(crate) fn intern(&mut self, name: &str) -> u16 {
        let hash = hash_name(name);
        let (slot, found) = self.find(name, hash);
        if let Some(id) = found {
            return id;
        }
        let Ok(id) = u16::try_from(self.names.len()) else {
            return OVERFLOW_ID;
        };
        if id >= OVERFLOW_ID - 1 {
            return OVERFLOW_ID;
        }
        self.names.push(name.into());
        if self.names.len() * 4 > self.slots.len() {
            self.rebuild();
        } else if let Some(s) = self.slots.get_mut(slot) {
            *s = ((hash >> 48) as u32) << 16 | (u32::from(id) + 1);
        }
        id
    }

    /// Re-lay the table at four times the names (at least 32 slots).
    fn rebuild(&mut self) {
        let size = (self.names.len() * 4).next_power_of_two().max(32);
        self.slots = vec![0; size];
        let mask = size - 1;
        for (id, name) in self.names.iter().enumerate() {
            let hash = hash_name(name);
            let mut i = (hash as usize) & mask;
            while self.slots.get(i).is_some_and(|s| *s != 0) {
                i = (i + 1) & mask;
            }
            if let Some(s) = self.slots.get_mut(i) {
                *s = ((hash >> 48) as u32) << 16 | (id as u32 + 1);
            }
        }
    }

    /// The id of `name` if interned.
    pub(crate) fn get(&self, name: &str) -> Option<u16> {
        if self.slots.is_empty() {
            return None;
        }
        self.find(name, hash_name(name)).1
    }

    /// The name of `id` ([`OVERFLOW_NAME`] if unknown).
    pub(crate) fn name(&self, id: u16) -> &str {
        self.names.get(usize::from(id)).map_or(OVERFLOW_NAME, |n| n)
    }

    /// How many names.
    pub(crate) fn len(&self) -> usize {
        self.names.len()
    }
}
