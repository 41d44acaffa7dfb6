//! Consistent hashing of trace ids onto upstreams: each upstream owns `POINTS` points
//! of a 64-bit ring (hashes of its name), a trace belongs to the first point at or after
//! its hash. Adding or removing an upstream moves only the traces of the arcs it gains
//! or loses (about 1/N of them); the rest keep their upstream.

use xxhash_rust::xxh3::{xxh3_64, xxh3_64_with_seed};

/// Points per upstream: enough that each one's share stays within a few percent.
const POINTS: u64 = 256;

#[derive(Debug, Clone, Default)]
pub(crate) struct Ring {
    /// (point, index into `members`), sorted by point.
    points: Vec<(u64, usize)>,
    members: Vec<String>,
}

impl Ring {
    /// A ring over `members` (their order does not matter).
    pub(crate) fn new(members: &[String]) -> Ring {
        let mut members = members.to_vec();
        members.sort();
        members.dedup();
        let mut points: Vec<(u64, usize)> = members
            .iter()
            .enumerate()
            .flat_map(|(index, name)| {
                (0..POINTS).map(move |seed| (xxh3_64_with_seed(name.as_bytes(), seed), index))
            })
            .collect();
        points.sort_unstable();
        Ring { points, members }
    }

    pub(crate) fn members(&self) -> &[String] {
        &self.members
    }

    /// The index (into `members`) of the upstream owning `trace_id`; `None` on an
    /// empty ring.
    pub(crate) fn owner(&self, trace_id: &[u8]) -> Option<usize> {
        if self.points.is_empty() {
            return None;
        }
        let hash = xxh3_64(trace_id);
        let at = self.points.partition_point(|(point, _)| *point < hash);
        let (_, member) = self.points[at % self.points.len()];
        Some(member)
    }

    /// The name of the upstream owning `trace_id`.
    #[cfg(test)]
    pub(crate) fn owner_name(&self, trace_id: &[u8]) -> Option<&str> {
        self.owner(trace_id)
            .map(|index| self.members[index].as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn names(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("http://10.0.0.{i}:4317")).collect()
    }

    fn trace(i: u64) -> [u8; 16] {
        let mut id = [0u8; 16];
        id[..8].copy_from_slice(&i.to_le_bytes());
        id[8..].copy_from_slice(&i.wrapping_mul(0x9E37_79B9_7F4A_7C15).to_be_bytes());
        id
    }

    #[test]
    fn shares_are_even_enough() {
        let ring = Ring::new(&names(3));
        let mut counts = [0usize; 3];
        for i in 0..30_000 {
            counts[ring.owner(&trace(i)).unwrap()] += 1;
        }
        for count in counts {
            assert!((7_000..13_000).contains(&count), "{counts:?}");
        }
    }

    #[test]
    fn order_of_members_does_not_matter() {
        let mut reversed = names(4);
        reversed.reverse();
        let (a, b) = (Ring::new(&names(4)), Ring::new(&reversed));
        for i in 0..1_000 {
            assert_eq!(a.owner_name(&trace(i)), b.owner_name(&trace(i)));
        }
    }

    #[test]
    fn empty_ring_has_no_owner() {
        assert_eq!(Ring::new(&[]).owner(&trace(1)), None);
    }

    proptest! {
        /// Removing one upstream moves only the traces it owned; adding it back restores
        /// every trace's owner.
        #[test]
        fn removing_an_upstream_moves_only_its_traces(n in 2usize..8, removed in 0usize..8, seed in any::<u64>()) {
            let removed = removed % n;
            let all = names(n);
            let mut rest = all.clone();
            let gone = rest.remove(removed);
            let (before, after) = (Ring::new(&all), Ring::new(&rest));
            for i in 0..500 {
                let id = trace(seed.wrapping_add(i));
                let owner = before.owner_name(&id).unwrap();
                if owner != gone {
                    prop_assert_eq!(after.owner_name(&id), Some(owner));
                }
            }
        }
    }
}
