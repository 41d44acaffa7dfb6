//! A fast, deterministic hasher for the series and edge maps.
//!
//! std's default SipHash costs more than everything else on the hot path for
//! 50–100 byte series keys. This is the FxHash word mix (rustc's) with a
//! splitmix64 finalizer so that hashbrown's use of both the top and the low
//! bits is well distributed. It is not DoS-resistant; the maps it serves are
//! bounded by `max_series` and `max_items`, and there is no randomness source
//! to seed from inside a wasm guest anyway. Tempo hashes label sets with
//! unseeded xxhash for the same purpose.

use std::hash::{BuildHasherDefault, Hasher};

const K: u64 = 0x51_7c_c1_b7_27_22_0a_95;

#[derive(Default, Clone, Copy)]
pub(crate) struct FastHasher(u64);

impl FastHasher {
    #[inline]
    fn add(&mut self, w: u64) {
        self.0 = (self.0.rotate_left(5) ^ w).wrapping_mul(K);
    }
}

impl Hasher for FastHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            self.add(u64::from_le_bytes(c.try_into().unwrap_or([0; 8])));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut buf = [0u8; 8];
            buf[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(buf));
        }
        // Length last, so "ab" + "" and "a" + "b" style splits differ.
        self.add(bytes.len() as u64);
    }

    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }

    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }

    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }

    #[inline]
    fn finish(&self) -> u64 {
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

pub(crate) type FastBuild = BuildHasherDefault<FastHasher>;
pub(crate) type FastMap<K, V> = std::collections::HashMap<K, V, FastBuild>;

#[cfg(test)]
mod tests {
    use super::*;
    use std::hash::{BuildHasher, Hash};

    fn h<T: Hash>(t: T) -> u64 {
        FastBuild::default().hash_one(t)
    }

    #[test]
    fn distinguishes_close_keys() {
        assert_ne!(h(b"a".as_slice()), h(b"b".as_slice()));
        assert_ne!(h(b"abcdefgh".as_slice()), h(b"abcdefgh\0".as_slice()));
        assert_ne!(h((1u8, 2u8)), h((2u8, 1u8)));
        assert_eq!(h(b"same".as_slice()), h(b"same".as_slice()));
    }

    #[test]
    fn spreads_sequential_keys_over_low_bits() {
        let mut buckets = [0u32; 64];
        for i in 0..6400u32 {
            buckets[(h(i.to_le_bytes().as_slice()) & 63) as usize] += 1;
        }
        assert!(
            buckets.iter().all(|&b| (60..=140).contains(&b)),
            "{buckets:?}"
        );
    }
}
