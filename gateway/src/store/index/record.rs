//! The record of one write (`writes` family): its distinct posting ids, its traces,
//! and per trace which of those posting ids its spans in this write hold (a bitset).
//!
//! `version:u8 | n:u32 | n × posting_id:u64 | t:u32 | t × (trace_id:16 | ⌈n/8⌉ bitset bytes)`,
//! integers big-endian, posting ids sorted.

use crate::model::{TRACE_ID_LEN, TraceId};

const VERSION: u8 = 1;

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct WriteRecord {
    /// Sorted, distinct.
    pub postings: Vec<u64>,
    /// Each trace of the write, with bit i set when it holds `postings[i]`.
    pub traces: Vec<(TraceId, Vec<u8>)>,
}

impl WriteRecord {
    /// Builds the record from each trace's posting ids.
    pub fn new(traces: Vec<(TraceId, Vec<u64>)>) -> WriteRecord {
        let mut postings: Vec<u64> = traces
            .iter()
            .flat_map(|(_, ids)| ids.iter().copied())
            .collect();
        postings.sort_unstable();
        postings.dedup();
        let bytes = postings.len().div_ceil(8);
        let traces = traces
            .into_iter()
            .map(|(trace, ids)| {
                let mut bits = vec![0u8; bytes];
                for id in ids {
                    if let Ok(index) = postings.binary_search(&id) {
                        bits[index / 8] |= 1 << (index % 8);
                    }
                }
                (trace, bits)
            })
            .collect();
        WriteRecord { postings, traces }
    }

    pub fn encode(&self) -> Vec<u8> {
        let bitset = self.postings.len().div_ceil(8);
        let mut out = Vec::with_capacity(
            9 + self.postings.len() * 8 + self.traces.len() * (TRACE_ID_LEN + bitset),
        );
        out.push(VERSION);
        out.extend_from_slice(&(self.postings.len() as u32).to_be_bytes());
        for id in &self.postings {
            out.extend_from_slice(&id.to_be_bytes());
        }
        out.extend_from_slice(&(self.traces.len() as u32).to_be_bytes());
        for (trace, bits) in &self.traces {
            out.extend_from_slice(&trace.0);
            out.extend_from_slice(bits);
        }
        out
    }

    pub fn decode(bytes: &[u8]) -> Option<WriteRecord> {
        let (&version, mut rest) = bytes.split_first()?;
        if version != VERSION {
            return None;
        }
        let mut take = |n: usize| -> Option<&[u8]> {
            let (head, tail) = rest.split_at_checked(n)?;
            rest = tail;
            Some(head)
        };
        let count = u32::from_be_bytes(take(4)?.try_into().ok()?) as usize;
        let mut postings = Vec::with_capacity(count.min(1 << 16));
        for _ in 0..count {
            postings.push(u64::from_be_bytes(take(8)?.try_into().ok()?));
        }
        let bitset = count.div_ceil(8);
        let traces_count = u32::from_be_bytes(take(4)?.try_into().ok()?) as usize;
        let mut traces = Vec::with_capacity(traces_count.min(1 << 16));
        for _ in 0..traces_count {
            let trace = TraceId::from_slice(take(TRACE_ID_LEN)?)?;
            traces.push((trace, take(bitset)?.to_vec()));
        }
        rest.is_empty().then_some(WriteRecord { postings, traces })
    }

    /// The traces that hold, for every condition, at least one of its posting ids (all
    /// traces when there are no conditions).
    pub fn traces_matching(&self, conditions: &[Vec<u64>]) -> Vec<TraceId> {
        let indexes: Vec<Vec<usize>> = conditions
            .iter()
            .map(|ids| {
                ids.iter()
                    .filter_map(|id| self.postings.binary_search(id).ok())
                    .collect()
            })
            .collect();
        self.traces
            .iter()
            .filter(|(_, bits)| {
                indexes.iter().all(|any_of| {
                    any_of.iter().any(|&i| {
                        bits.get(i / 8)
                            .is_some_and(|byte| byte & (1 << (i % 8)) != 0)
                    })
                })
            })
            .map(|(trace, _)| *trace)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn records_round_trip_and_answer_like_sets(
            traces in proptest::collection::btree_map(any::<u8>(), proptest::collection::btree_set(0u64..20, 0..8), 0..12),
            wanted in proptest::collection::vec(proptest::collection::vec(0u64..24, 1..3), 0..3),
        ) {
            let input: Vec<(TraceId, Vec<u64>)> = traces
                .iter()
                .map(|(t, ids)| (TraceId([*t; 16]), ids.iter().copied().collect()))
                .collect();
            let record = WriteRecord::new(input.clone());
            prop_assert_eq!(WriteRecord::decode(&record.encode()), Some(record.clone()));
            let expected: Vec<TraceId> = input
                .iter()
                .filter(|(_, ids)| wanted.iter().all(|any_of| any_of.iter().any(|id| ids.contains(id))))
                .map(|(t, _)| *t)
                .collect();
            prop_assert_eq!(record.traces_matching(&wanted), expected);
        }

        #[test]
        fn decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..100)) {
            let _ = WriteRecord::decode(&bytes);
        }
    }
}
