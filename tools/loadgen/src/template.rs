//! Pre-encoded request templates that are re-stamped cheaply before every send.
//!
//! Generating and encoding a realistic request costs far more CPU than sending it, and the load
//! generator shares two cores with the gateway. So requests are generated once; before each send
//! only the fixed-width fields change: trace ids (16 bytes), span and parent span ids (8 bytes) and
//! timestamps (`fixed64`). Their byte offsets are found once by walking the protobuf wire format,
//! so a send costs a memcpy plus a few hundred small writes.

use std::collections::HashMap;

use anyhow::{Context, Result, bail, ensure};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use prost::Message;

/// Where one span sits in its template: which trace slot and which fresh span id it gets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct SpanSlot {
    trace: usize,
    span: usize,
    parent: Option<usize>,
}

/// A generated request plus everything needed to re-stamp it.
pub(crate) struct Template {
    /// The request as generated (used by the `generated` client, which encodes on every send).
    pub message: ExportTraceServiceRequest,
    /// The request's protobuf bytes with the template's own ids and times.
    pub encoded: Vec<u8>,
    /// Number of distinct traces (fresh trace ids needed per send).
    pub trace_count: usize,
    /// Number of spans (fresh span ids needed per send).
    pub span_count: usize,
    /// Every span in message order (the order of `resource_spans → scope_spans → spans`).
    spans: Vec<SpanSlot>,
    /// (byte offset, trace slot) of every 16-byte trace id in `encoded`.
    trace_id_offsets: Vec<(usize, usize)>,
    /// (byte offset, span slot) of every 8-byte span id and parent span id in `encoded`.
    span_id_offsets: Vec<(usize, usize)>,
    /// Byte offsets of every `fixed64` timestamp (span start/end, event time) in `encoded`.
    timestamp_offsets: Vec<usize>,
}

/// Fresh ids for one send, indexed by the template's trace and span slots.
#[derive(Default)]
pub(crate) struct FreshIds {
    pub trace_ids: Vec<[u8; 16]>,
    pub span_ids: Vec<[u8; 8]>,
}

impl Template {
    pub(crate) fn new(message: ExportTraceServiceRequest) -> Result<Self> {
        let encoded = message.encode_to_vec();
        let mut trace_slots: HashMap<Vec<u8>, usize> = HashMap::new();
        let mut span_slots: HashMap<Vec<u8>, usize> = HashMap::new();
        for span in all_spans(&message) {
            let trace_count = trace_slots.len();
            trace_slots
                .entry(span.trace_id.clone())
                .or_insert(trace_count);
            let span_count = span_slots.len();
            let previous = span_slots.insert(span.span_id.clone(), span_count);
            ensure!(
                previous.is_none(),
                "template has a duplicate span id {}",
                hex::encode(&span.span_id)
            );
            ensure!(span.trace_id.len() == 16, "trace id must be 16 bytes");
            ensure!(span.span_id.len() == 8, "span id must be 8 bytes");
        }
        let mut spans = Vec::new();
        for span in all_spans(&message) {
            let parent = if span.parent_span_id.is_empty() {
                None
            } else {
                let parent = span_slots
                    .get(&span.parent_span_id)
                    .context("parent span id names no span of the template")?;
                Some(*parent)
            };
            spans.push(SpanSlot {
                trace: trace_slots[&span.trace_id],
                span: span_slots[&span.span_id],
                parent,
            });
        }

        let mut template = Template {
            message,
            trace_count: trace_slots.len(),
            span_count: span_slots.len(),
            spans,
            trace_id_offsets: Vec::new(),
            span_id_offsets: Vec::new(),
            timestamp_offsets: Vec::new(),
            encoded: Vec::new(),
        };
        template.find_offsets(&encoded, &trace_slots, &span_slots)?;
        template.encoded = encoded;
        Ok(template)
    }

    /// Walks `ExportTraceServiceRequest → ResourceSpans(1) → ScopeSpans(2) → Span(2)` and records
    /// where the patchable fields are.
    fn find_offsets(
        &mut self,
        encoded: &[u8],
        trace_slots: &HashMap<Vec<u8>, usize>,
        span_slots: &HashMap<Vec<u8>, usize>,
    ) -> Result<()> {
        for resource_spans in nested(encoded, 0..encoded.len(), 1)? {
            for scope_spans in nested(encoded, resource_spans, 2)? {
                for span in nested(encoded, scope_spans, 2)? {
                    self.find_span_offsets(encoded, span, trace_slots, span_slots)?;
                }
            }
        }
        ensure!(
            self.span_id_offsets.len()
                == self.span_count + self.spans.iter().filter(|s| s.parent.is_some()).count(),
            "wire walk found a different number of span ids than the message has"
        );
        Ok(())
    }

    fn find_span_offsets(
        &mut self,
        encoded: &[u8],
        span: std::ops::Range<usize>,
        trace_slots: &HashMap<Vec<u8>, usize>,
        span_slots: &HashMap<Vec<u8>, usize>,
    ) -> Result<()> {
        for field in FieldIter::new(encoded, span) {
            match field? {
                (1, FieldValue::Bytes(range)) => {
                    let slot = trace_slots
                        .get(&encoded[range.clone()])
                        .context("unknown trace id")?;
                    self.trace_id_offsets.push((range.start, *slot));
                }
                (2 | 4, FieldValue::Bytes(range)) if !range.is_empty() => {
                    let slot = span_slots
                        .get(&encoded[range.clone()])
                        .context("unknown span id")?;
                    self.span_id_offsets.push((range.start, *slot));
                }
                (7 | 8, FieldValue::Fixed64(offset)) => self.timestamp_offsets.push(offset),
                (11, FieldValue::Bytes(event)) => {
                    for event_field in FieldIter::new(encoded, event) {
                        if let (1, FieldValue::Fixed64(offset)) = event_field? {
                            self.timestamp_offsets.push(offset);
                        }
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// Copies the template into `out` and stamps fresh ids and shifted times into it.
    pub(crate) fn stamp_bytes(&self, out: &mut Vec<u8>, ids: &FreshIds, time_shift_nanos: u64) {
        debug_assert!(ids.trace_ids.len() >= self.trace_count);
        debug_assert!(ids.span_ids.len() >= self.span_count);
        out.clear();
        out.extend_from_slice(&self.encoded);
        for &(offset, slot) in &self.trace_id_offsets {
            out[offset..offset + 16].copy_from_slice(&ids.trace_ids[slot]);
        }
        for &(offset, slot) in &self.span_id_offsets {
            out[offset..offset + 8].copy_from_slice(&ids.span_ids[slot]);
        }
        for &offset in &self.timestamp_offsets {
            let field = &mut out[offset..offset + 8];
            let mut value = [0u8; 8];
            value.copy_from_slice(field);
            let shifted = u64::from_le_bytes(value).wrapping_add(time_shift_nanos);
            field.copy_from_slice(&shifted.to_le_bytes());
        }
    }

    /// Clones the message and stamps the same fresh ids and times into it (the slow path, as an
    /// SDK would pay it: allocation plus an encode inside tonic).
    pub(crate) fn stamp_message(
        &self,
        ids: &FreshIds,
        time_shift_nanos: u64,
    ) -> ExportTraceServiceRequest {
        let mut message = self.message.clone();
        let spans = message
            .resource_spans
            .iter_mut()
            .flat_map(|resource_spans| &mut resource_spans.scope_spans)
            .flat_map(|scope_spans| &mut scope_spans.spans);
        for (span, slot) in spans.zip(&self.spans) {
            span.trace_id.copy_from_slice(&ids.trace_ids[slot.trace]);
            span.span_id.copy_from_slice(&ids.span_ids[slot.span]);
            if let Some(parent) = slot.parent {
                span.parent_span_id.copy_from_slice(&ids.span_ids[parent]);
            }
            span.start_time_unix_nano = span.start_time_unix_nano.wrapping_add(time_shift_nanos);
            span.end_time_unix_nano = span.end_time_unix_nano.wrapping_add(time_shift_nanos);
            for event in &mut span.events {
                event.time_unix_nano = event.time_unix_nano.wrapping_add(time_shift_nanos);
            }
        }
        message
    }
}

fn all_spans(
    message: &ExportTraceServiceRequest,
) -> impl Iterator<Item = &opentelemetry_proto::tonic::trace::v1::Span> {
    message
        .resource_spans
        .iter()
        .flat_map(|resource_spans| &resource_spans.scope_spans)
        .flat_map(|scope_spans| &scope_spans.spans)
}

/// Produces trace and span ids that are unique within a run and look random.
///
/// The high half of a trace id is a bijective mix of `(stream, counter)`, so no two trace ids of
/// one generator, or of generators with different stream numbers, are equal.
pub(crate) struct IdGenerator {
    seed: u64,
    stream: u64,
    trace_counter: u64,
    span_counter: u64,
}

impl IdGenerator {
    /// `stream` must differ between generators of one run (the sender task index); `seed` should be
    /// random per run so that runs do not repeat ids.
    pub(crate) fn new(seed: u64, stream: u64) -> Self {
        IdGenerator {
            seed,
            stream,
            trace_counter: 0,
            span_counter: 0,
        }
    }

    pub(crate) fn fill(&mut self, ids: &mut FreshIds, trace_count: usize, span_count: usize) {
        ids.trace_ids.clear();
        ids.span_ids.clear();
        for _ in 0..trace_count {
            let sequence = (self.stream << 40) | self.trace_counter;
            self.trace_counter += 1;
            let high = mix64(sequence ^ self.seed);
            let low = mix64(sequence.wrapping_add(self.seed.rotate_left(17)) ^ 0x5bd1_e995);
            let mut id = [0u8; 16];
            id[..8].copy_from_slice(&high.to_be_bytes());
            id[8..].copy_from_slice(&low.to_be_bytes());
            ids.trace_ids.push(id);
        }
        for _ in 0..span_count {
            let sequence = (self.stream << 40) | self.span_counter;
            self.span_counter += 1;
            let id = mix64(sequence ^ self.seed.rotate_left(31)).max(1);
            ids.span_ids.push(id.to_be_bytes());
        }
    }
}

/// The splitmix64 finaliser: a bijection on u64 with good avalanche.
fn mix64(value: u64) -> u64 {
    let mut z = value.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The value of one protobuf field; ranges and offsets are absolute in the walked buffer.
#[derive(Debug, PartialEq, Eq)]
enum FieldValue {
    Varint(u64),
    Fixed64(usize),
    Fixed32(usize),
    Bytes(std::ops::Range<usize>),
}

/// Iterates the fields of one protobuf message laid out in `buf[range]`.
struct FieldIter<'a> {
    buf: &'a [u8],
    position: usize,
    end: usize,
}

impl<'a> FieldIter<'a> {
    fn new(buf: &'a [u8], range: std::ops::Range<usize>) -> Self {
        FieldIter {
            buf,
            position: range.start,
            end: range.end,
        }
    }

    fn varint(&mut self) -> Result<u64> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let Some(&byte) = self
                .buf
                .get(self.position)
                .filter(|_| self.position < self.end)
            else {
                bail!("truncated varint at {}", self.position);
            };
            self.position += 1;
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        bail!("varint too long at {}", self.position)
    }

    fn skip(&mut self, length: usize) -> Result<usize> {
        let start = self.position;
        ensure!(
            length <= self.end - start,
            "field of {length} bytes overruns its message at {start}"
        );
        self.position += length;
        Ok(start)
    }

    fn next_field(&mut self) -> Result<(u32, FieldValue)> {
        let key = self.varint()?;
        let field_number = (key >> 3) as u32;
        let value = match key & 7 {
            0 => FieldValue::Varint(self.varint()?),
            1 => FieldValue::Fixed64(self.skip(8)?),
            2 => {
                let length = self.varint()? as usize;
                let start = self.skip(length)?;
                FieldValue::Bytes(start..start + length)
            }
            5 => FieldValue::Fixed32(self.skip(4)?),
            wire_type => bail!("unsupported wire type {wire_type} at {}", self.position),
        };
        Ok((field_number, value))
    }
}

impl Iterator for FieldIter<'_> {
    type Item = Result<(u32, FieldValue)>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.position >= self.end {
            return None;
        }
        let field = self.next_field();
        if field.is_err() {
            // Stop after the first error.
            self.position = self.end;
        }
        Some(field)
    }
}

/// The byte ranges of every embedded message with `field_number` inside `buf[range]`.
fn nested(
    buf: &[u8],
    range: std::ops::Range<usize>,
    field_number: u32,
) -> Result<Vec<std::ops::Range<usize>>> {
    let mut ranges = Vec::new();
    for field in FieldIter::new(buf, range) {
        if let (number, FieldValue::Bytes(inner)) = field?
            && number == field_number
        {
            ranges.push(inner);
        }
    }
    Ok(ranges)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{SeedableRng, rngs::SmallRng};
    use spangate_loadgen::generate::{Shape, build_request};
    use std::collections::HashSet;

    const NOW: u64 = 1_750_000_000_000_000_000;

    fn template(seed: u64) -> Template {
        let mut rng = SmallRng::seed_from_u64(seed);
        let shape = Shape {
            services: 10,
            spans_per_trace: 10,
            traces_per_request: 10,
        };
        Template::new(build_request(&mut rng, &shape, NOW)).expect("template")
    }

    #[test]
    fn stamped_bytes_equal_the_stamped_message() {
        let template = template(7);
        let mut generator = IdGenerator::new(42, 3);
        let mut ids = FreshIds::default();
        generator.fill(&mut ids, template.trace_count, template.span_count);
        let mut bytes = Vec::new();
        template.stamp_bytes(&mut bytes, &ids, 5_000_000_000);
        let from_bytes = ExportTraceServiceRequest::decode(bytes.as_slice()).expect("decodes");
        let from_message = template.stamp_message(&ids, 5_000_000_000);
        assert_eq!(from_bytes, from_message);
        assert_ne!(from_bytes, template.message);
    }

    #[test]
    fn stamping_keeps_parent_links_and_shifts_every_time() {
        let template = template(8);
        let mut generator = IdGenerator::new(1, 0);
        let mut ids = FreshIds::default();
        generator.fill(&mut ids, template.trace_count, template.span_count);
        let stamped = template.stamp_message(&ids, 1_000);
        let old: Vec<_> = all_spans(&template.message).collect();
        let new: Vec<_> = all_spans(&stamped).collect();
        let new_ids: HashSet<&[u8]> = new.iter().map(|span| span.span_id.as_slice()).collect();
        for (old_span, new_span) in old.iter().zip(&new) {
            assert_eq!(
                new_span.start_time_unix_nano,
                old_span.start_time_unix_nano + 1_000
            );
            assert_eq!(
                new_span.end_time_unix_nano,
                old_span.end_time_unix_nano + 1_000
            );
            if !new_span.parent_span_id.is_empty() {
                assert!(new_ids.contains(new_span.parent_span_id.as_slice()));
            }
            for (old_event, new_event) in old_span.events.iter().zip(&new_span.events) {
                assert_eq!(new_event.time_unix_nano, old_event.time_unix_nano + 1_000);
            }
        }
        // Spans of one template trace still share one (fresh) trace id.
        let old_traces: HashSet<&[u8]> = old.iter().map(|span| span.trace_id.as_slice()).collect();
        let new_traces: HashSet<&[u8]> = new.iter().map(|span| span.trace_id.as_slice()).collect();
        assert_eq!(old_traces.len(), new_traces.len());
        assert!(old_traces.is_disjoint(&new_traces));
    }

    #[test]
    fn generated_ids_are_unique_across_sends_and_streams() {
        let mut trace_ids = HashSet::new();
        let mut ids = FreshIds::default();
        for stream in 0..4 {
            let mut generator = IdGenerator::new(99, stream);
            let mut span_ids = HashSet::new();
            for _ in 0..1_000 {
                generator.fill(&mut ids, 10, 100);
                for id in &ids.trace_ids {
                    assert!(trace_ids.insert(*id), "duplicate trace id");
                }
                for id in &ids.span_ids {
                    assert_ne!(*id, [0u8; 8]);
                    span_ids.insert(*id);
                }
            }
            assert_eq!(span_ids.len(), 100_000);
        }
    }

    #[test]
    fn field_iterator_rejects_truncated_input() {
        // Field 1, length-delimited, claims 5 bytes but has 2.
        let buf = [0x0a, 0x05, 0x01, 0x02];
        let fields: Vec<_> = FieldIter::new(&buf, 0..buf.len()).collect();
        assert_eq!(fields.len(), 1);
        assert!(fields[0].is_err());
        // Varint and fixed32 fields are walked over.
        let buf = [0x08, 0x96, 0x01, 0x15, 1, 2, 3, 4];
        let fields: Vec<_> = FieldIter::new(&buf, 0..buf.len())
            .map(|field| field.expect("valid"))
            .collect();
        assert_eq!(
            fields,
            vec![(1, FieldValue::Varint(150)), (2, FieldValue::Fixed32(4))]
        );
    }
}
