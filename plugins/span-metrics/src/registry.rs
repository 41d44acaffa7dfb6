//! Series storage shared by both processors: a map from series key to series,
//! the active-series budget behind `max_series`, and staleness.
//!
//! This is the part of Tempo's `modules/generator/registry` the processors
//! rely on: series are created on first observation if the limiter allows
//! (`onAddSerie`), refused ones are counted
//! (`tempo_metrics_generator_registry_series_limited_total`), and series not
//! updated within `stale_duration` are removed (`removeStaleSeries`).

use crate::hash::FastMap;
use crate::labels::label_pairs;

/// Active-series accounting across every metric of the plugin.
#[derive(Debug, Default)]
pub struct Budget {
    /// 0 = unlimited.
    pub max: usize,
    pub active: usize,
    /// Series creations refused because of `max`.
    pub limited: u64,
}

impl Budget {
    pub fn new(max: usize) -> Self {
        Self {
            max,
            ..Self::default()
        }
    }

    /// Reserve `cost` series, or count a refusal. All-or-nothing: a label set
    /// gets all its series (calls, size, every bucket) or none, so a family
    /// is never half present.
    fn try_add(&mut self, cost: usize) -> bool {
        if self.max != 0 && self.active + cost > self.max {
            self.limited += 1;
            return false;
        }
        self.active += cost;
        true
    }

    fn release(&mut self, cost: usize) {
        self.active = self.active.saturating_sub(cost);
    }
}

/// A series key as the index holds it: compared word by word ([`KeyBytes`]).
#[derive(PartialEq, Eq, Hash)]
struct SeriesKey(Box<[u8]>);

/// Series key bytes with an equality that compares 8 bytes at a time: a lookup compares the
/// whole key of the series it finds, on every span, and in wasm `memcmp` goes byte by byte.
#[derive(Eq)]
#[repr(transparent)]
struct KeyBytes([u8]);

/// As the bytes hash, so that a [`SeriesKey`] and its [`KeyBytes`] hash alike.
impl std::hash::Hash for KeyBytes {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.0.hash(state);
    }
}

impl KeyBytes {
    #[allow(unsafe_code)] // a transparent-wrapper cast; see SAFETY below
    fn new(bytes: &[u8]) -> &KeyBytes {
        // SAFETY: `KeyBytes` is a `repr(transparent)` wrapper of `[u8]`, so the two references
        // have the same layout and metadata.
        unsafe { &*(bytes as *const [u8] as *const KeyBytes) }
    }
}

impl PartialEq for KeyBytes {
    fn eq(&self, other: &KeyBytes) -> bool {
        let (a, b) = (&self.0, &other.0);
        if a.len() != b.len() {
            return false;
        }
        let (a_words, b_words) = (a.chunks_exact(8), b.chunks_exact(8));
        let tails_equal = a_words.remainder() == b_words.remainder();
        let word = |chunk: &[u8]| u64::from_le_bytes(chunk.try_into().unwrap_or([0; 8]));
        tails_equal && a_words.zip(b_words).all(|(x, y)| word(x) == word(y))
    }
}

impl std::borrow::Borrow<KeyBytes> for SeriesKey {
    fn borrow(&self) -> &KeyBytes {
        KeyBytes::new(&self.0)
    }
}

pub(crate) struct Entry<V> {
    key: Box<[u8]>,
    cost: usize,
    pub labels: Vec<(String, String)>,
    pub last_updated: u64,
    pub value: V,
}

/// All series of one label layout (one processor's metric group).
pub(crate) struct SeriesMap<V> {
    /// Label names in key order.
    names: Vec<String>,
    index: FastMap<SeriesKey, usize>,
    entries: Vec<Entry<V>>,
}

impl<V> SeriesMap<V> {
    pub(crate) fn new(names: Vec<String>) -> Self {
        Self {
            names,
            index: FastMap::default(),
            entries: Vec::new(),
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// The series for `key`, created with `init` if the budget allows
    /// `cost` more Prometheus series; `None` when refused. Marks it updated
    /// at `now`.
    pub(crate) fn get_or_create(
        &mut self,
        key: &[u8],
        now: u64,
        budget: &mut Budget,
        cost: usize,
        init: impl FnOnce() -> V,
    ) -> Option<&mut V> {
        let idx = match self.index.get(KeyBytes::new(key)) {
            Some(&i) => i,
            None => {
                if !budget.try_add(cost) {
                    return None;
                }
                let key: Box<[u8]> = key.into();
                let labels = label_pairs(&self.names, &key);
                self.entries.push(Entry {
                    key: key.clone(),
                    cost,
                    labels,
                    last_updated: now,
                    value: init(),
                });
                let i = self.entries.len() - 1;
                self.index.insert(SeriesKey(key), i);
                i
            }
        };
        let e = &mut self.entries[idx];
        e.last_updated = e.last_updated.max(now);
        Some(&mut e.value)
    }

    /// Remove series last updated before `cutoff`; returns how many.
    pub(crate) fn remove_stale(&mut self, cutoff: u64, budget: &mut Budget) -> usize {
        let mut removed = 0;
        let mut i = 0;
        while i < self.entries.len() {
            if self.entries[i].last_updated < cutoff {
                let gone = self.entries.swap_remove(i);
                self.index.remove(KeyBytes::new(&gone.key));
                if let Some(moved) = self.entries.get(i) {
                    self.index.insert(SeriesKey(moved.key.clone()), i);
                }
                budget.release(gone.cost);
                removed += 1;
            } else {
                i += 1;
            }
        }
        removed
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = &Entry<V>> {
        self.entries.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::labels::KeyBuilder;

    fn key(v: &str) -> Vec<u8> {
        let mut k = KeyBuilder::new(100);
        k.push(v);
        k.as_bytes().to_vec()
    }

    #[test]
    fn budget_refuses_whole_label_sets_and_counts() {
        let mut budget = Budget::new(10);
        let mut m: SeriesMap<u32> = SeriesMap::new(vec!["a".into()]);
        assert!(
            m.get_or_create(&key("x"), 1, &mut budget, 4, || 0)
                .is_some()
        );
        assert!(
            m.get_or_create(&key("y"), 1, &mut budget, 4, || 0)
                .is_some()
        );
        assert_eq!(budget.active, 8);
        assert!(
            m.get_or_create(&key("z"), 1, &mut budget, 4, || 0)
                .is_none()
        );
        assert!(
            m.get_or_create(&key("z"), 1, &mut budget, 4, || 0)
                .is_none()
        );
        assert_eq!(budget.limited, 2);
        // Existing series still update at the cap.
        *m.get_or_create(&key("x"), 2, &mut budget, 4, || 0).unwrap() += 5;
        assert_eq!(m.len(), 2);
        assert_eq!(budget.limited, 2);
    }

    #[test]
    fn stale_series_are_removed_and_release_budget() {
        let mut budget = Budget::new(0);
        let mut m: SeriesMap<u32> = SeriesMap::new(vec!["a".into()]);
        for (i, v) in ["p", "q", "r"].iter().enumerate() {
            m.get_or_create(&key(v), i as u64 * 10, &mut budget, 3, || 0);
        }
        assert_eq!(m.remove_stale(15, &mut budget), 2);
        assert_eq!(m.len(), 1);
        assert_eq!(budget.active, 3);
        let e = m.iter().next().unwrap();
        assert_eq!(e.labels, vec![("a".to_owned(), "r".to_owned())]);
        // The moved entry is still found by key.
        *m.get_or_create(&key("r"), 30, &mut budget, 3, || 0)
            .unwrap() = 9;
        assert_eq!(m.len(), 1);
        assert_eq!(m.iter().next().unwrap().value, 9);
    }
}
