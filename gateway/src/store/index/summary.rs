//! Per-trace summaries: what search results show about a trace (root service and name,
//! start, duration, span and error counts per service) and what trace-level conditions
//! (`traceDuration`, `rootServiceName`, ...) are checked against before a trace is read.
//!
//! A trace's spans arrive over many writes, so each write adds a partial summary with
//! RocksDB's merge operator and reads see them folded together. Merging is associative
//! and commutative: earliest start, latest end, the root's names from whichever part saw
//! the root span, counts added up.

use std::collections::BTreeMap;

use rocksdb::MergeOperands;

/// Span and error counts of one service in a trace (Tempo's `serviceStats`), and its
/// longest span, so a span-duration condition (`duration > 100ms`) rules a trace out
/// without reading it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ServiceStats {
    pub span_count: u32,
    pub error_count: u32,
    /// Longest span duration (end − start, 0 if end < start); [`UNKNOWN_SPAN_NANOS`]
    /// for summaries written before it was recorded.
    pub max_span_nanos: u64,
}

/// `max_span_nanos` of a summary written before the field existed: rules nothing out.
pub(super) const UNKNOWN_SPAN_NANOS: u64 = u64::MAX;

/// The longest of two span maxima, unknown if either is.
fn longest(a: u64, b: u64) -> u64 {
    if a == UNKNOWN_SPAN_NANOS || b == UNKNOWN_SPAN_NANOS {
        UNKNOWN_SPAN_NANOS
    } else {
        a.max(b)
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TraceSummary {
    pub start_unix_nano: u64,
    pub end_unix_nano: u64,
    /// Set once a span without a parent was stored.
    pub root: Option<RootSpan>,
    pub services: BTreeMap<String, ServiceStats>,
    /// First and last ingest time (unix seconds) of the trace's writes; `None` for
    /// summaries written before it was recorded. Retention drops a summary once the
    /// last is older than the horizon.
    pub ingest_seconds: Option<(u32, u32)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RootSpan {
    pub service_name: String,
    pub name: String,
}

impl TraceSummary {
    /// Folds one span in (without allocating for a service already counted).
    pub fn add_span(
        &mut self,
        service: &str,
        name: &str,
        is_root: bool,
        is_error: bool,
        start: u64,
        end: u64,
    ) {
        let end = end.max(start);
        if self.is_empty() {
            self.start_unix_nano = start;
            self.end_unix_nano = end;
        } else {
            self.start_unix_nano = self.start_unix_nano.min(start);
            self.end_unix_nano = self.end_unix_nano.max(end);
        }
        if is_root {
            self.offer_root(service, name);
        }
        let stats = match self.services.get_mut(service) {
            Some(stats) => stats,
            None => self.services.entry(service.to_owned()).or_default(),
        };
        stats.span_count = stats.span_count.saturating_add(1);
        stats.error_count = stats.error_count.saturating_add(u32::from(is_error));
        stats.max_span_nanos = longest(stats.max_span_nanos, end - start);
    }

    fn is_empty(&self) -> bool {
        self.services.is_empty() && self.root.is_none()
    }

    /// Records the write's ingest time (unix seconds).
    pub fn set_ingest_seconds(&mut self, seconds: u32) {
        self.ingest_seconds = Some((seconds, seconds));
    }

    /// When the trace was last written (unix seconds); for summaries that did not record
    /// it, the end of its latest span.
    pub fn last_ingest_seconds(&self) -> u64 {
        self.ingest_seconds
            .map_or(self.end_unix_nano / 1_000_000_000, |(_, last)| {
                u64::from(last)
            })
    }

    /// Two roots (a client re-sending a root with another name) keep the smaller, so
    /// the result does not depend on the order parts arrive in.
    fn offer_root(&mut self, service: &str, name: &str) {
        let replace = match &self.root {
            None => true,
            Some(root) => (service, name) < (root.service_name.as_str(), root.name.as_str()),
        };
        if replace {
            self.root = Some(RootSpan {
                service_name: service.to_owned(),
                name: name.to_owned(),
            });
        }
    }

    pub fn span_count(&self) -> u64 {
        self.services
            .values()
            .map(|s| u64::from(s.span_count))
            .sum()
    }

    pub fn has_error(&self) -> bool {
        self.services.values().any(|s| s.error_count > 0)
    }

    pub fn duration_nanos(&self) -> u64 {
        self.end_unix_nano.saturating_sub(self.start_unix_nano)
    }

    /// Folds `other` into `self`.
    pub fn merge(&mut self, other: &TraceSummary) {
        if other.is_empty() {
            return;
        }
        if self.is_empty() {
            self.start_unix_nano = other.start_unix_nano;
            self.end_unix_nano = other.end_unix_nano;
        } else {
            self.start_unix_nano = self.start_unix_nano.min(other.start_unix_nano);
            self.end_unix_nano = self.end_unix_nano.max(other.end_unix_nano);
        }
        self.ingest_seconds = match (self.ingest_seconds, other.ingest_seconds) {
            (Some((a_first, a_last)), Some((b_first, b_last))) => {
                Some((a_first.min(b_first), a_last.max(b_last)))
            }
            (known, None) | (None, known) => known,
        };
        if let Some(root) = &other.root {
            self.offer_root(&root.service_name, &root.name);
        }
        for (service, stats) in &other.services {
            let entry = self.services.entry(service.clone()).or_default();
            entry.span_count = entry.span_count.saturating_add(stats.span_count);
            entry.error_count = entry.error_count.saturating_add(stats.error_count);
            entry.max_span_nanos = longest(entry.max_span_nanos, stats.max_span_nanos);
        }
    }

    /// Whether some span — of `service` if given — may last at least `min_nanos`.
    /// Never a false "no": a summary written before span maxima were recorded says yes.
    pub fn may_have_span_of_at_least(&self, service: Option<&str>, min_nanos: u64) -> bool {
        let reaches = |stats: &ServiceStats| stats.max_span_nanos >= min_nanos;
        match service {
            Some(service) => self.services.get(service).is_some_and(reaches),
            None => self.services.values().any(reaches),
        }
    }

    /// `start:u64 | end:u64 | root flag:u8 [| root service | root name] | n:u32 |
    /// n × (service | spans:u32 | errors:u32) | n × longest span:u64 [| first ingest:u32 |
    /// last ingest:u32]`, strings as `len:u32 | bytes`, all BE. Summaries written before
    /// the longest spans (or the ingest times) were recorded end earlier; they decode
    /// with those unknown.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(64);
        out.extend_from_slice(&self.start_unix_nano.to_be_bytes());
        out.extend_from_slice(&self.end_unix_nano.to_be_bytes());
        match &self.root {
            Some(root) => {
                out.push(1);
                put_str(&mut out, &root.service_name);
                put_str(&mut out, &root.name);
            }
            None => out.push(0),
        }
        out.extend_from_slice(&(self.services.len() as u32).to_be_bytes());
        for (service, stats) in &self.services {
            put_str(&mut out, service);
            out.extend_from_slice(&stats.span_count.to_be_bytes());
            out.extend_from_slice(&stats.error_count.to_be_bytes());
        }
        for stats in self.services.values() {
            out.extend_from_slice(&stats.max_span_nanos.to_be_bytes());
        }
        if let Some((first, last)) = self.ingest_seconds {
            out.extend_from_slice(&first.to_be_bytes());
            out.extend_from_slice(&last.to_be_bytes());
        }
        out
    }

    pub fn decode(bytes: &[u8]) -> Option<TraceSummary> {
        let mut reader = Reader(bytes);
        let start_unix_nano = reader.u64()?;
        let end_unix_nano = reader.u64()?;
        let root = match reader.u8()? {
            0 => None,
            1 => Some(RootSpan {
                service_name: reader.string()?,
                name: reader.string()?,
            }),
            _ => return None,
        };
        let count = reader.u32()?;
        let mut services = BTreeMap::new();
        for _ in 0..count {
            let service = reader.string()?;
            let stats = ServiceStats {
                span_count: reader.u32()?,
                error_count: reader.u32()?,
                max_span_nanos: UNKNOWN_SPAN_NANOS,
            };
            services.insert(service, stats);
        }
        let maxima_len = services.len() * 8;
        if reader.0.len() == maxima_len || reader.0.len() == maxima_len + 8 {
            for stats in services.values_mut() {
                stats.max_span_nanos = reader.u64()?;
            }
        }
        let ingest_seconds = match reader.0.len() {
            0 => None,
            _ => Some((reader.u32()?, reader.u32()?)),
        };
        reader.0.is_empty().then_some(TraceSummary {
            start_unix_nano,
            end_unix_nano,
            root,
            services,
            ingest_seconds,
        })
    }
}

fn put_str(out: &mut Vec<u8>, text: &str) {
    out.extend_from_slice(&(text.len() as u32).to_be_bytes());
    out.extend_from_slice(text.as_bytes());
}

struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Option<&[u8]> {
        if self.0.len() < n {
            return None;
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Some(head)
    }
    fn u8(&mut self) -> Option<u8> {
        Some(self.take(1)?[0])
    }
    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_be_bytes(self.take(4)?.try_into().ok()?))
    }
    fn u64(&mut self) -> Option<u64> {
        Some(u64::from_be_bytes(self.take(8)?.try_into().ok()?))
    }
    fn string(&mut self) -> Option<String> {
        let length = self.u32()? as usize;
        String::from_utf8(self.take(length)?.to_vec()).ok()
    }
}

/// RocksDB's merge of summary parts. An undecodable part (never written by this code)
/// is skipped rather than failing every read of the trace.
pub(crate) fn merge_summaries(
    _key: &[u8],
    existing: Option<&[u8]>,
    operands: &MergeOperands,
) -> Option<Vec<u8>> {
    let mut merged = existing.and_then(TraceSummary::decode).unwrap_or_default();
    for operand in operands {
        if let Some(part) = TraceSummary::decode(operand) {
            merged.merge(&part);
        }
    }
    Some(merged.encode())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn of_span(
        service: &str,
        name: &str,
        root: bool,
        error: bool,
        start: u64,
        end: u64,
    ) -> TraceSummary {
        let mut summary = TraceSummary::default();
        summary.add_span(service, name, root, error, start, end);
        summary
    }

    fn part() -> impl Strategy<Value = TraceSummary> {
        (
            "[a-c]{1,2}",
            "[x-z]{1,2}",
            any::<bool>(),
            any::<bool>(),
            0u64..1000,
            0u64..1000,
            proptest::option::of((0u32..100, 0u32..100)),
        )
            .prop_map(|(service, name, root, error, start, length, ingest)| {
                let mut summary = of_span(&service, &name, root, error, start, start + length);
                summary.ingest_seconds = ingest.map(|(a, b)| (a.min(b), a.max(b)));
                summary
            })
    }

    proptest! {
        #[test]
        fn encoding_round_trips(parts in proptest::collection::vec(part(), 1..5)) {
            let mut summary = TraceSummary::default();
            for p in &parts { summary.merge(p); }
            prop_assert_eq!(TraceSummary::decode(&summary.encode()), Some(summary));
        }

        /// The merged summary does not depend on the order parts were written in.
        #[test]
        fn merging_is_order_independent(mut parts in proptest::collection::vec(part(), 1..6), seed in any::<u64>()) {
            let fold = |parts: &[TraceSummary]| {
                let mut summary = TraceSummary::default();
                for p in parts { summary.merge(p); }
                summary
            };
            let forward = fold(&parts);
            let rotation = (seed % parts.len() as u64) as usize;
            parts.rotate_left(rotation);
            parts.reverse();
            prop_assert_eq!(fold(&parts), forward.clone());
            prop_assert_eq!(forward.span_count(), parts.len() as u64);
        }

        #[test]
        fn decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..80)) {
            let _ = TraceSummary::decode(&bytes);
        }
    }

    #[test]
    fn ingest_times_merge_to_first_and_last_and_older_summaries_fall_back_to_the_end() {
        let mut summary = of_span("api", "GET", false, false, 100, 7_000_000_000);
        assert_eq!(summary.last_ingest_seconds(), 7);
        let mut later = of_span("api", "GET", false, false, 100, 200);
        later.set_ingest_seconds(50);
        summary.merge(&later);
        let mut earlier = of_span("db", "GET", false, false, 100, 200);
        earlier.set_ingest_seconds(20);
        summary.merge(&earlier);
        assert_eq!(summary.ingest_seconds, Some((20, 50)));
        assert_eq!(summary.last_ingest_seconds(), 50);
        let decoded = TraceSummary::decode(&summary.encode()).unwrap();
        assert_eq!(decoded, summary);
    }

    #[test]
    fn merge_keeps_the_earliest_start_and_latest_end() {
        let mut summary = of_span("api", "GET", false, false, 100, 200);
        summary.merge(&of_span("db", "SELECT", false, true, 50, 120));
        summary.merge(&of_span("api", "root", true, false, 40, 300));
        assert_eq!((summary.start_unix_nano, summary.end_unix_nano), (40, 300));
        assert_eq!(summary.root.as_ref().map(|r| r.name.as_str()), Some("root"));
        assert_eq!(summary.services["api"].span_count, 2);
        assert_eq!(summary.services["db"].error_count, 1);
        assert!(summary.has_error());
        assert_eq!(summary.duration_nanos(), 260);
    }

    #[test]
    fn longest_spans_are_kept_per_service() {
        let mut summary = of_span("api", "GET", false, false, 100, 200);
        summary.merge(&of_span("db", "SELECT", false, false, 50, 120));
        summary.merge(&of_span("api", "root", true, false, 40, 300));
        // An end before the start counts as 0 long, as the evaluator reads it.
        summary.merge(&of_span("cache", "get", false, false, 90, 80));
        assert_eq!(summary.services["api"].max_span_nanos, 260);
        assert_eq!(summary.services["db"].max_span_nanos, 70);
        assert_eq!(summary.services["cache"].max_span_nanos, 0);
        assert!(summary.may_have_span_of_at_least(Some("db"), 70));
        assert!(!summary.may_have_span_of_at_least(Some("db"), 71));
        assert!(!summary.may_have_span_of_at_least(Some("other"), 0));
        assert!(summary.may_have_span_of_at_least(None, 260));
        assert!(!summary.may_have_span_of_at_least(None, 261));
    }

    #[test]
    fn summaries_written_before_longest_spans_decode_as_unknown() {
        let mut summary = of_span("api", "GET", true, false, 100, 200);
        summary.merge(&of_span("db", "SELECT", false, false, 120, 130));
        let current = summary.encode();
        // The earlier layout: the same without the trailing maxima.
        let earlier = &current[..current.len() - 2 * 8];
        let decoded = TraceSummary::decode(earlier).unwrap();
        assert_eq!(decoded.services["db"].span_count, 1);
        assert_eq!(decoded.services["db"].max_span_nanos, UNKNOWN_SPAN_NANOS);
        assert!(decoded.may_have_span_of_at_least(Some("db"), 1_000_000));
        // Unknown stays unknown when newer parts are merged in.
        let mut merged = decoded;
        merged.merge(&of_span("db", "SELECT", false, false, 0, 5));
        assert_eq!(merged.services["db"].max_span_nanos, UNKNOWN_SPAN_NANOS);
    }
}
