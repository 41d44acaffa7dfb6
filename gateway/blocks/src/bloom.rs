//! The trace-id bloom filter of a block: answers "certainly not here" for most
//! trace-by-id lookups without reading a chunk.
//!
//! Classic bloom filter with double hashing over the xxh3-128 of the trace id (ids come
//! from clients; a sequential or constant-prefix id must spread as well as a random one).
//! 10 bits per trace and 7 probes: ~1% false positives.

use crate::BlockError;
use crate::varint::{self, Reader};

const BITS_PER_ITEM: usize = 10;
const PROBES: u32 = 7;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Bloom {
    bits: Vec<u64>,
    probes: u32,
}

fn hashes(trace_id: &[u8; 16]) -> (u64, u64) {
    let hash = xxhash_rust::xxh3::xxh3_128(trace_id);
    (hash as u64, ((hash >> 64) as u64) | 1)
}

impl Bloom {
    pub(crate) fn with_capacity(items: usize) -> Bloom {
        let words = (items.max(1) * BITS_PER_ITEM).div_ceil(64);
        Bloom {
            bits: vec![0; words],
            probes: PROBES,
        }
    }

    fn positions(&self, trace_id: &[u8; 16]) -> impl Iterator<Item = usize> + use<> {
        let (h1, h2) = hashes(trace_id);
        let bit_count = (self.bits.len() * 64) as u64;
        (0..u64::from(self.probes))
            .map(move |i| (h1.wrapping_add(i.wrapping_mul(h2)) % bit_count) as usize)
    }

    pub(crate) fn insert(&mut self, trace_id: &[u8; 16]) {
        for position in self.positions(trace_id) {
            self.bits[position / 64] |= 1 << (position % 64);
        }
    }

    pub(crate) fn may_contain(&self, trace_id: &[u8; 16]) -> bool {
        self.positions(trace_id)
            .all(|position| self.bits[position / 64] & (1 << (position % 64)) != 0)
    }

    pub(crate) fn encode(&self, out: &mut Vec<u8>) {
        varint::put(out, u64::from(self.probes));
        varint::put(out, self.bits.len() as u64);
        for word in &self.bits {
            out.extend_from_slice(&word.to_le_bytes());
        }
    }

    pub(crate) fn decode(reader: &mut Reader<'_>) -> Result<Bloom, BlockError> {
        let probes = u32::try_from(reader.get()?)
            .ok()
            .filter(|p| (1..=32).contains(p))
            .ok_or(BlockError::Corrupt("bloom probe count"))?;
        let words = reader.get_len(reader.remaining() / 8)?;
        if words == 0 {
            return Err(BlockError::Corrupt("empty bloom filter"));
        }
        let bits = (0..words)
            .map(|_| reader.array::<8>().map(u64::from_le_bytes))
            .collect::<Result<_, _>>()?;
        Ok(Bloom { bits, probes })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_every_inserted_id_and_few_others() {
        let ids: Vec<[u8; 16]> = (0u128..10_000).map(u128::to_be_bytes).collect();
        let mut bloom = Bloom::with_capacity(ids.len());
        ids.iter().for_each(|id| bloom.insert(id));
        assert!(ids.iter().all(|id| bloom.may_contain(id)));
        let false_positives = (10_000u128..20_000)
            .filter(|i| bloom.may_contain(&i.to_be_bytes()))
            .count();
        assert!(
            false_positives < 300,
            "{false_positives} false positives in 10,000"
        );
        let mut encoded = Vec::new();
        bloom.encode(&mut encoded);
        assert_eq!(Bloom::decode(&mut Reader::new(&encoded)).unwrap(), bloom);
    }
}
