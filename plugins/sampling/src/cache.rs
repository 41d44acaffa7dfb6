//! A bounded cache of recent per-trace decisions.
//!
//! Rate-limited head sampling and tail sampling both decide once per trace, and every later span
//! of that trace must follow the same decision. Remembering every trace forever is unbounded, so
//! this keeps the recent ones only.
//!
//! It is a two-generation approximation of LRU: inserts go to the *young* map; when it holds half
//! the capacity, the *old* map is discarded and the young one becomes old. A hit in the old map
//! promotes the entry back to young. Guarantees: at most `capacity` entries (rounded up to an
//! even number), O(1) operations with no per-hit bookkeeping (a true LRU needs a linked list or a
//! recency queue), and any trace touched within the last `capacity / 2` inserts is still
//! remembered. That is what matters here: a trace's spans arrive close together.

use std::collections::HashMap;

use crate::model::TraceId;

/// Remembers a value per trace id for recently seen traces; see the module docs for the policy.
#[derive(Debug, Clone)]
pub struct DecisionCache<V> {
    young: HashMap<TraceId, V>,
    old: HashMap<TraceId, V>,
    /// Size of one generation: half the capacity, rounded up.
    generation_size: usize,
    /// Entries forgotten so far by discarding the old generation (for the caller's counters).
    forgotten: u64,
}

impl<V: Clone> DecisionCache<V> {
    /// A cache holding at most `capacity` entries, rounded up to an even number (`0` disables
    /// it: nothing is remembered).
    pub fn new(capacity: usize) -> DecisionCache<V> {
        DecisionCache {
            young: HashMap::new(),
            old: HashMap::new(),
            generation_size: capacity.div_ceil(2),
            forgotten: 0,
        }
    }

    /// The remembered value for `trace_id`, refreshing its recency.
    pub fn get(&mut self, trace_id: &TraceId) -> Option<V> {
        if let Some(value) = self.young.get(trace_id) {
            return Some(value.clone());
        }
        let value = self.old.remove(trace_id)?;
        self.insert(*trace_id, value.clone());
        Some(value)
    }

    /// Remembers `value` for `trace_id`, replacing any previous value.
    pub fn insert(&mut self, trace_id: TraceId, value: V) {
        if self.generation_size == 0 {
            return;
        }
        self.old.remove(&trace_id);
        if self.young.len() >= self.generation_size && !self.young.contains_key(&trace_id) {
            self.forgotten += self.old.len() as u64;
            self.old = std::mem::take(&mut self.young);
        }
        self.young.insert(trace_id, value);
    }

    /// Number of entries currently remembered.
    pub fn len(&self) -> usize {
        self.young.len() + self.old.len()
    }

    /// Whether nothing is remembered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Entries forgotten so far to stay within capacity.
    pub fn forgotten(&self) -> u64 {
        self.forgotten
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u32) -> TraceId {
        let mut id = [0u8; 16];
        id[12..].copy_from_slice(&n.to_be_bytes());
        id
    }

    #[test]
    fn never_exceeds_capacity() {
        let mut cache = DecisionCache::new(10);
        for n in 0..1000 {
            cache.insert(id(n), n);
            assert!(cache.len() <= 10);
        }
        assert_eq!(cache.forgotten() + cache.len() as u64, 1000);
    }

    #[test]
    fn remembers_the_last_half_capacity_inserts() {
        let mut cache = DecisionCache::new(100);
        for n in 0..1000 {
            cache.insert(id(n), n);
        }
        for n in 950..1000 {
            assert_eq!(cache.get(&id(n)), Some(n));
        }
        assert_eq!(cache.get(&id(0)), None);
    }

    #[test]
    fn a_hit_refreshes_recency() {
        let mut cache = DecisionCache::new(4);
        cache.insert(id(1), 1);
        for n in 100..200 {
            cache.insert(id(n), n);
            assert_eq!(cache.get(&id(1)), Some(1), "kept alive by use");
        }
    }

    #[test]
    fn zero_capacity_remembers_nothing() {
        let mut cache = DecisionCache::new(0);
        cache.insert(id(1), true);
        assert_eq!(cache.get(&id(1)), None);
        assert!(cache.is_empty());
    }

    #[test]
    fn replacing_keeps_one_entry() {
        let mut cache = DecisionCache::new(4);
        cache.insert(id(1), 1);
        cache.insert(id(1), 2);
        assert_eq!(cache.len(), 1);
        assert_eq!(cache.get(&id(1)), Some(2));
    }
}
