//! Span metrics: calls and summed duration per
//! (service.name, span name, kind, status), aggregated across batches until
//! `drain` (the plugin's `flush`).

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use crate::{KIND_COUNT, STATUS_COUNT};

/// One aggregated series, in a form every design converts to and from.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Point {
    pub service_name: String,
    pub span_name: String,
    pub kind: u8,
    pub status: u8,
    pub calls: u64,
    pub duration_sum_nanos: u64,
}

#[derive(Clone, Copy, Default)]
struct Series {
    calls: u64,
    duration_sum_nanos: u64,
}

/// Series for one (service, span name): indexed by `kind * STATUS_COUNT + status`.
type Cells = [Series; KIND_COUNT * STATUS_COUNT];

/// Span name → its series.
type ByName = HashMap<Box<[u8]>, Cells, Fnv>;

/// Nested maps keyed by bytes so a lookup never allocates (only a new
/// (service, name) pair copies its strings) and so column-based guests can
/// aggregate straight from their byte blobs without UTF-8 checks.
#[derive(Default)]
pub struct Aggregator {
    by_service: HashMap<Box<[u8]>, ByName, Fnv>,
}

impl Aggregator {
    pub fn observe(&mut self, service: &[u8], name: &[u8], kind: u8, status: u8, duration: u64) {
        let names = match self.by_service.get_mut(service) {
            Some(names) => names,
            None => self.by_service.entry(service.into()).or_default(),
        };
        let cells = match names.get_mut(name) {
            Some(cells) => cells,
            None => names
                .entry(name.into())
                .or_insert_with(|| [Series::default(); KIND_COUNT * STATUS_COUNT]),
        };
        let cell = &mut cells[usize::from(kind.min(KIND_COUNT as u8 - 1)) * STATUS_COUNT
            + usize::from(status.min(STATUS_COUNT as u8 - 1))];
        cell.calls += 1;
        cell.duration_sum_nanos += duration;
    }

    /// Returns every non-empty series, sorted, and resets the aggregator.
    pub fn drain(&mut self) -> Vec<Point> {
        let mut points = Vec::new();
        for (service, names) in self.by_service.drain() {
            let service = String::from_utf8_lossy(&service);
            for (name, cells) in names {
                let name = String::from_utf8_lossy(&name);
                for (i, cell) in cells.iter().enumerate().filter(|(_, c)| c.calls > 0) {
                    points.push(Point {
                        service_name: service.to_string(),
                        span_name: name.to_string(),
                        kind: (i / STATUS_COUNT) as u8,
                        status: (i % STATUS_COUNT) as u8,
                        calls: cell.calls,
                        duration_sum_nanos: cell.duration_sum_nanos,
                    });
                }
            }
        }
        points.sort();
        points
    }
}

/// FNV-1a: a cheap, deterministic hasher for short keys. (std's SipHash with
/// random keys would also pull `wasi:random` into every guest.)
pub type Fnv = BuildHasherDefault<FnvHasher>;

pub struct FnvHasher(u64);

impl Default for FnvHasher {
    fn default() -> Self {
        Self(0xcbf2_9ce4_8422_2325)
    }
}

impl Hasher for FnvHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aggregates_per_series_and_resets() {
        let mut agg = Aggregator::default();
        agg.observe(b"svc", b"GET /", 2, 0, 10);
        agg.observe(b"svc", b"GET /", 2, 0, 5);
        agg.observe(b"svc", b"GET /", 2, 2, 7);
        let points = agg.drain();
        assert_eq!(points.len(), 2);
        assert_eq!((points[0].calls, points[0].duration_sum_nanos), (2, 15));
        assert_eq!((points[1].status, points[1].calls), (2, 1));
        assert!(agg.drain().is_empty());
    }
}
