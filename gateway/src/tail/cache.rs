//! Decisions already applied, remembered so that spans arriving after a trace's
//! decision follow it. Bounded: the oldest decision is forgotten first, and a span of a
//! forgotten trace starts a new pending trace (decided again, as after a restart).

use std::collections::{HashMap, VecDeque};

use crate::model::TailVerdict;
use crate::model::TraceId;

pub(super) struct DecisionCache {
    capacity: usize,
    verdicts: HashMap<TraceId, TailVerdict>,
    /// Insertion order, for FIFO eviction; each id appears once.
    order: VecDeque<TraceId>,
}

impl DecisionCache {
    pub(super) fn new(capacity: usize) -> DecisionCache {
        DecisionCache {
            capacity,
            verdicts: HashMap::new(),
            order: VecDeque::new(),
        }
    }

    pub(super) fn get(&self, trace_id: &TraceId) -> Option<&TailVerdict> {
        self.verdicts.get(trace_id)
    }

    pub(super) fn insert(&mut self, trace_id: TraceId, verdict: TailVerdict) {
        if self.capacity == 0 {
            return;
        }
        if self.verdicts.insert(trace_id, verdict).is_none() {
            self.order.push_back(trace_id);
        }
        while self.verdicts.len() > self.capacity {
            let Some(oldest) = self.order.pop_front() else {
                break;
            };
            self.verdicts.remove(&oldest);
        }
        debug_assert_eq!(self.verdicts.len(), self.order.len());
    }

    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.verdicts.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(byte: u8) -> TraceId {
        TraceId([byte; 16])
    }

    #[test]
    fn forgets_the_oldest_decision_first() {
        let mut cache = DecisionCache::new(2);
        cache.insert(id(1), TailVerdict::Drop);
        cache.insert(id(2), TailVerdict::Drop);
        // Deciding a trace again updates it without making it younger or duplicating it.
        cache.insert(id(1), TailVerdict::Keep { policy: "p".into() });
        assert_eq!(cache.len(), 2);
        cache.insert(id(3), TailVerdict::Drop);
        assert_eq!(cache.get(&id(1)), None);
        assert_eq!(cache.get(&id(2)), Some(&TailVerdict::Drop));
        assert_eq!(cache.get(&id(3)), Some(&TailVerdict::Drop));
        assert_eq!(cache.len(), 2);
    }

    #[test]
    fn zero_capacity_remembers_nothing() {
        let mut cache = DecisionCache::new(0);
        cache.insert(id(1), TailVerdict::Drop);
        assert_eq!(cache.get(&id(1)), None);
        assert_eq!(cache.len(), 0);
    }
}
