//! The decoder against inputs written by a small Thrift encoder of the tests' own (both
//! protocols), hostile lengths and nesting, and arbitrary bytes (property tests).

use proptest::prelude::*;

use super::*;
use crate::receiver::jaeger::model::{Batch, Log, Process, RefType, Span, SpanRef, Tag, TagValue};

/// Writes Thrift values in one protocol; field type codes are given for both.
trait Encoder {
    fn out(&mut self) -> &mut Vec<u8>;
    fn message(&mut self, name: &str, kind: u8);
    fn header(&mut self, binary_type: u8, compact_type: u8, id: i16);
    fn struct_begin(&mut self);
    fn struct_end(&mut self);
    fn i32(&mut self, value: i32);
    fn i64(&mut self, value: i64);
    fn double(&mut self, value: f64);
    fn bytes(&mut self, value: &[u8]);
    fn bool_field(&mut self, id: i16, value: bool);
    fn list(&mut self, binary_type: u8, compact_type: u8, length: usize);

    fn i32_field(&mut self, id: i16, value: i32) {
        self.header(8, 5, id);
        self.i32(value);
    }
    fn i64_field(&mut self, id: i16, value: i64) {
        self.header(10, 6, id);
        self.i64(value);
    }
    fn bytes_field(&mut self, id: i16, value: &[u8]) {
        self.header(11, 8, id);
        self.bytes(value);
    }
    fn struct_list_field(&mut self, id: i16, length: usize) {
        self.header(15, 9, id);
        self.list(12, 12, length);
    }
}

fn varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

fn zigzag(value: i64) -> u64 {
    ((value << 1) ^ (value >> 63)) as u64
}

#[derive(Default)]
struct Binary(Vec<u8>);

impl Encoder for Binary {
    fn out(&mut self) -> &mut Vec<u8> {
        &mut self.0
    }
    fn message(&mut self, name: &str, kind: u8) {
        self.i32((0x8001_0000u32 | u32::from(kind)) as i32);
        self.bytes(name.as_bytes());
        self.i32(7);
    }
    fn header(&mut self, binary_type: u8, _: u8, id: i16) {
        self.0.push(binary_type);
        self.0.extend_from_slice(&id.to_be_bytes());
    }
    fn struct_begin(&mut self) {}
    fn struct_end(&mut self) {
        self.0.push(0);
    }
    fn i32(&mut self, value: i32) {
        self.0.extend_from_slice(&value.to_be_bytes());
    }
    fn i64(&mut self, value: i64) {
        self.0.extend_from_slice(&value.to_be_bytes());
    }
    fn double(&mut self, value: f64) {
        self.0.extend_from_slice(&value.to_bits().to_be_bytes());
    }
    fn bytes(&mut self, value: &[u8]) {
        self.i32(value.len() as i32);
        self.0.extend_from_slice(value);
    }
    fn bool_field(&mut self, id: i16, value: bool) {
        self.header(2, 0, id);
        self.0.push(u8::from(value));
    }
    fn list(&mut self, binary_type: u8, _: u8, length: usize) {
        self.0.push(binary_type);
        self.i32(length as i32);
    }
}

#[derive(Default)]
struct Compact {
    out: Vec<u8>,
    last: Vec<i16>,
    current: i16,
}

impl Encoder for Compact {
    fn out(&mut self) -> &mut Vec<u8> {
        &mut self.out
    }
    fn message(&mut self, name: &str, kind: u8) {
        self.out.push(0x82);
        self.out.push((kind << 5) | 1);
        varint(&mut self.out, 7);
        self.bytes(name.as_bytes());
    }
    fn header(&mut self, _: u8, compact_type: u8, id: i16) {
        let delta = id - self.current;
        if (1..=15).contains(&delta) {
            self.out.push(((delta as u8) << 4) | compact_type);
        } else {
            self.out.push(compact_type);
            varint(&mut self.out, zigzag(i64::from(id)));
        }
        self.current = id;
    }
    fn struct_begin(&mut self) {
        self.last.push(self.current);
        self.current = 0;
    }
    fn struct_end(&mut self) {
        self.out.push(0);
        self.current = self.last.pop().unwrap();
    }
    fn i32(&mut self, value: i32) {
        varint(&mut self.out, zigzag(i64::from(value)));
    }
    fn i64(&mut self, value: i64) {
        varint(&mut self.out, zigzag(value));
    }
    fn double(&mut self, value: f64) {
        self.out.extend_from_slice(&value.to_bits().to_le_bytes());
    }
    fn bytes(&mut self, value: &[u8]) {
        varint(&mut self.out, value.len() as u64);
        self.out.extend_from_slice(value);
    }
    fn bool_field(&mut self, id: i16, value: bool) {
        self.header(0, if value { 1 } else { 2 }, id);
    }
    fn list(&mut self, _: u8, compact_type: u8, length: usize) {
        if length < 15 {
            self.out.push(((length as u8) << 4) | compact_type);
        } else {
            self.out.push(0xf0 | compact_type);
            varint(&mut self.out, length as u64);
        }
    }
}

fn encode_tags(encoder: &mut dyn Encoder, id: i16, tags: &[Tag]) {
    encoder.struct_list_field(id, tags.len());
    for tag in tags {
        encoder.struct_begin();
        encoder.bytes_field(1, tag.key.as_bytes());
        match &tag.value {
            TagValue::String(text) => {
                encoder.i32_field(2, 0);
                encoder.bytes_field(3, text.as_bytes());
            }
            TagValue::Float64(number) => {
                encoder.i32_field(2, 1);
                encoder.header(4, 7, 4);
                encoder.double(*number);
            }
            TagValue::Bool(flag) => {
                encoder.i32_field(2, 2);
                encoder.bool_field(5, *flag);
            }
            TagValue::Int64(number) => {
                encoder.i32_field(2, 3);
                encoder.i64_field(6, *number);
            }
            TagValue::Binary(bytes) => {
                encoder.i32_field(2, 4);
                encoder.bytes_field(7, bytes);
            }
            TagValue::Unknown(number) => encoder.i32_field(2, *number),
        }
        encoder.struct_end();
    }
}

fn encode_span(encoder: &mut dyn Encoder, span: &Span) {
    encoder.struct_begin();
    encoder.i64_field(1, span.trace_id_low as i64);
    encoder.i64_field(2, span.trace_id_high as i64);
    encoder.i64_field(3, span.span_id as i64);
    encoder.i64_field(4, span.parent_span_id as i64);
    encoder.bytes_field(5, span.operation_name.as_bytes());
    encoder.struct_list_field(6, span.references.len());
    for reference in &span.references {
        encoder.struct_begin();
        let ref_type = match reference.ref_type {
            RefType::ChildOf => 0,
            RefType::FollowsFrom => 1,
            RefType::Other(number) => number,
        };
        encoder.i32_field(1, ref_type);
        encoder.i64_field(2, reference.trace_id_low as i64);
        encoder.i64_field(3, reference.trace_id_high as i64);
        encoder.i64_field(4, reference.span_id as i64);
        encoder.struct_end();
    }
    encoder.i32_field(7, span.flags as i32);
    let start = (span.start_unix_nano / 1000) as i64;
    encoder.i64_field(8, start);
    encoder.i64_field(9, (span.end_unix_nano / 1000) as i64 - start);
    encode_tags(encoder, 10, &span.tags);
    encoder.struct_list_field(11, span.logs.len());
    for log in &span.logs {
        encoder.struct_begin();
        encoder.i64_field(1, (log.timestamp_unix_nano / 1000) as i64);
        encode_tags(encoder, 2, &log.fields);
        encoder.struct_end();
    }
    encoder.struct_end();
}

/// A `Batch` struct; `extra` writes more fields into it before its end.
fn encode_batch(encoder: &mut dyn Encoder, batch: &Batch, extra: fn(&mut dyn Encoder)) {
    encoder.struct_begin();
    let process = batch.process.clone().unwrap_or_default();
    encoder.header(12, 12, 1);
    encoder.struct_begin();
    encoder.bytes_field(1, process.service_name.as_bytes());
    encode_tags(encoder, 2, &process.tags);
    encoder.struct_end();
    encoder.struct_list_field(2, batch.spans.len());
    for span in &batch.spans {
        encode_span(encoder, span);
    }
    extra(encoder);
    encoder.struct_end();
}

fn emit_batch(encoder: &mut dyn Encoder, batch: &Batch) {
    encoder.message("emitBatch", 4);
    encoder.struct_begin();
    encoder.header(12, 12, 1);
    encode_batch(encoder, batch, |_| {});
    encoder.struct_end();
}

fn tag(key: &str, value: TagValue) -> Tag {
    Tag {
        key: key.to_owned(),
        value,
    }
}

fn sample() -> Batch {
    let span = Span {
        trace_id_high: 0x0102_0304_0506_0708,
        trace_id_low: u64::MAX - 5,
        span_id: 0xfedc_ba98_7654_3210,
        parent_span_id: 77,
        operation_name: "GET /pets ✓".to_owned(),
        references: vec![SpanRef {
            ref_type: RefType::FollowsFrom,
            trace_id_high: 1,
            trace_id_low: 2,
            span_id: 3,
        }],
        flags: 1,
        start_unix_nano: 1_700_000_000_123_456_000,
        end_unix_nano: 1_700_000_000_223_456_000,
        tags: vec![
            tag("s", TagValue::String("text".into())),
            tag("d", TagValue::Float64(-2.5)),
            tag("t", TagValue::Bool(true)),
            tag("f", TagValue::Bool(false)),
            tag("l", TagValue::Int64(i64::MIN)),
            tag("b", TagValue::Binary(vec![0, 255, 7])),
            tag("u", TagValue::Unknown(9)),
        ],
        logs: vec![Log {
            timestamp_unix_nano: 1_700_000_000_200_000_000,
            fields: vec![tag("event", TagValue::String("retry".into()))],
        }],
        process: None,
    };
    // 20 spans: the list length takes the long form in the compact protocol.
    let spans = (0..20)
        .map(|index| Span {
            span_id: span.span_id + index,
            ..span.clone()
        })
        .collect();
    Batch {
        process: Some(Process {
            service_name: "checkout".to_owned(),
            tags: vec![tag("hostname", TagValue::String("h1".into()))],
        }),
        spans,
    }
}

fn binary(batch: &Batch, extra: fn(&mut dyn Encoder)) -> Vec<u8> {
    let mut encoder = Binary::default();
    encode_batch(&mut encoder, batch, extra);
    encoder.0
}

fn compact(batch: &Batch, extra: fn(&mut dyn Encoder)) -> Vec<u8> {
    let mut encoder = Compact::default();
    encode_batch(&mut encoder, batch, extra);
    encoder.out
}

#[test]
fn both_protocols_read_every_field() {
    let batch = sample();
    let read = read_batch(&mut BinaryProtocol::new(&binary(&batch, |_| {}))).unwrap();
    assert_eq!(read, batch);
    let read = read_batch(&mut CompactProtocol::new(&compact(&batch, |_| {}))).unwrap();
    assert_eq!(read, batch);
}

#[test]
fn the_agent_message_carries_the_batch() {
    let batch = sample();
    let mut encoder = Compact::default();
    emit_batch(&mut encoder, &batch);
    assert_eq!(
        read_emit_batch(&mut CompactProtocol::new(&encoder.out)).unwrap(),
        batch
    );
    let mut encoder = Binary::default();
    emit_batch(&mut encoder, &batch);
    assert_eq!(
        read_emit_batch(&mut BinaryProtocol::new(&encoder.0)).unwrap(),
        batch
    );
}

#[test]
fn another_call_is_refused_by_name() {
    let mut encoder = Binary::default();
    encoder.message("emitZipkinBatch", 4);
    encoder.struct_begin();
    encoder.struct_end();
    let error = read_emit_batch(&mut BinaryProtocol::new(&encoder.0)).unwrap_err();
    assert_eq!(
        error.to_string(),
        "unexpected message `emitZipkinBatch` of type 4; expected the `emitBatch` call"
    );
}

#[test]
fn the_old_binary_message_header_is_read_too() {
    let mut encoder = Binary::default();
    encoder.bytes(b"emitBatch");
    encoder.out().push(4);
    encoder.i32(1);
    encoder.struct_begin();
    encoder.header(12, 12, 1);
    encode_batch(&mut encoder, &sample(), |_| {});
    encoder.struct_end();
    assert_eq!(
        read_emit_batch(&mut BinaryProtocol::new(&encoder.0)).unwrap(),
        sample()
    );
}

/// Fields the decoder does not know, of every type, nested.
fn unknown_fields(encoder: &mut dyn Encoder) {
    encoder.i64_field(3, 42); // seqNo
    encoder.header(12, 12, 4); // stats
    encoder.struct_begin();
    encoder.i64_field(1, 1);
    encoder.bool_field(9, true);
    encoder.header(4, 7, 10);
    encoder.double(1.5);
    encoder.header(15, 9, 11);
    encoder.list(11, 8, 2);
    encoder.bytes(b"a");
    encoder.bytes(b"b");
    encoder.struct_end();
    encoder.bytes_field(1000, b"far away");
    encoder.bool_field(1001, false);
}

#[test]
fn unknown_fields_are_skipped() {
    let batch = sample();
    assert_eq!(
        read_batch(&mut BinaryProtocol::new(&binary(&batch, unknown_fields))).unwrap(),
        batch
    );
    assert_eq!(
        read_batch(&mut CompactProtocol::new(&compact(&batch, unknown_fields))).unwrap(),
        batch
    );
}

#[test]
fn a_missing_required_field_is_named_with_its_path() {
    let mut encoder = Compact::default();
    encoder.struct_begin();
    encoder.header(12, 12, 1);
    encoder.struct_begin();
    encoder.bytes_field(1, b"svc");
    encoder.struct_end();
    encoder.struct_list_field(2, 1);
    encoder.struct_begin();
    encoder.i64_field(1, 1);
    encoder.struct_end();
    encoder.struct_end();
    let error = read_batch(&mut CompactProtocol::new(&encoder.out)).unwrap_err();
    assert_eq!(
        error.to_string(),
        "Batch.spans: element 0: Span: required field `traceIdHigh` is missing"
    );
}

#[test]
fn a_list_longer_than_the_input_is_refused_before_allocating() {
    let mut encoder = Binary::default();
    encoder.struct_begin();
    encoder.header(12, 12, 1);
    encoder.struct_begin();
    encoder.bytes_field(1, b"svc");
    encoder.struct_end();
    encoder.struct_list_field(2, i32::MAX as usize);
    let error = read_batch(&mut BinaryProtocol::new(&encoder.0)).unwrap_err();
    assert!(
        matches!(&error, ThriftError::In { field: "spans", source, .. }
            if matches!(**source, ThriftError::Length { length: 2_147_483_647, .. })),
        "{error}"
    );
    let mut encoder = Compact::default();
    encoder.struct_begin();
    encoder.struct_list_field(2, usize::MAX >> 2);
    let error = read_batch(&mut CompactProtocol::new(&encoder.out)).unwrap_err();
    assert!(error.to_string().contains("invalid length"), "{error}");
}

#[test]
fn deep_nesting_of_unknown_fields_is_refused() {
    let mut encoder = Compact::default();
    encoder.struct_begin();
    for _ in 0..100 {
        encoder.header(12, 12, 9);
        encoder.struct_begin();
    }
    let error = read_batch(&mut CompactProtocol::new(&encoder.out)).unwrap_err();
    assert_eq!(error, ThriftError::TooDeep);
}

#[test]
fn a_list_of_other_elements_is_refused() {
    let mut encoder = Binary::default();
    encoder.struct_begin();
    encoder.header(15, 9, 2);
    encoder.list(8, 5, 1);
    encoder.i32(1);
    let error = read_batch(&mut BinaryProtocol::new(&encoder.0)).unwrap_err();
    assert_eq!(
        error.to_string(),
        "Batch.spans: a list of I32 where a list of structs belongs"
    );
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = read_batch(&mut BinaryProtocol::new(&bytes));
        let _ = read_batch(&mut CompactProtocol::new(&bytes));
        let _ = read_emit_batch(&mut BinaryProtocol::new(&bytes));
        let _ = read_emit_batch(&mut CompactProtocol::new(&bytes));
    }

    #[test]
    fn damaged_batches_never_panic(
        flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
    ) {
        for mut bytes in [binary(&sample(), unknown_fields), compact(&sample(), unknown_fields)] {
            for (position, value) in &flips {
                let position = position.index(bytes.len());
                bytes[position] ^= value;
            }
            let _ = read_batch(&mut BinaryProtocol::new(&bytes));
            let _ = read_batch(&mut CompactProtocol::new(&bytes));
        }
    }

    #[test]
    fn a_truncated_batch_is_an_error(cut in any::<prop::sample::Index>()) {
        let bytes = binary(&sample(), unknown_fields);
        let end = cut.index(bytes.len());
        prop_assert!(read_batch(&mut BinaryProtocol::new(&bytes[..end])).is_err());
        let bytes = compact(&sample(), unknown_fields);
        let end = cut.index(bytes.len());
        prop_assert!(read_batch(&mut CompactProtocol::new(&bytes[..end])).is_err());
    }
}
