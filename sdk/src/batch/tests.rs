use proptest::prelude::*;

use super::*;
use crate::bindings::types::{AttributeColumns, StringColumn, ValueKind};

fn strings(values: &[&str]) -> StringColumn {
    let mut bytes = Vec::new();
    let mut offsets = vec![0];
    for value in values {
        bytes.extend_from_slice(value.as_bytes());
        offsets.push(bytes.len() as u32);
    }
    StringColumn { bytes, offsets }
}

fn no_strings() -> StringColumn {
    StringColumn {
        bytes: Vec::new(),
        offsets: Vec::new(),
    }
}

fn no_attributes() -> AttributeColumns {
    AttributeColumns {
        owner_offsets: Vec::new(),
        key: Vec::new(),
        keys: no_strings(),
        kind: Vec::new(),
        strings: no_strings(),
        ints: Vec::new(),
        doubles: Vec::new(),
    }
}

fn empty_batch(len: u32) -> types::SpanBatch {
    types::SpanBatch {
        len,
        trace_id_hi: Vec::new(),
        trace_id_lo: Vec::new(),
        span_id: Vec::new(),
        parent_span_id: Vec::new(),
        services: no_strings(),
        service_index: Vec::new(),
        names: no_strings(),
        kind: Vec::new(),
        start_unix_nanos: Vec::new(),
        end_unix_nanos: Vec::new(),
        status: Vec::new(),
        status_messages: no_strings(),
        size: Vec::new(),
        span_attributes: no_attributes(),
        event_offsets: Vec::new(),
        event_names: no_strings(),
        event_attributes: no_attributes(),
        link_offsets: Vec::new(),
        link_attributes: no_attributes(),
        resource_index: Vec::new(),
        resource_attributes: no_attributes(),
    }
}

/// Two spans, every column filled by hand as the WIT comments lay them out.
fn hand_built() -> types::SpanBatch {
    let mut raw = empty_batch(2);
    raw.trace_id_hi = vec![0x0102, 0];
    raw.trace_id_lo = vec![0x0304, 9];
    raw.span_id = vec![11, 12];
    raw.parent_span_id = vec![0, 11];
    raw.services = strings(&["checkout", "cart"]);
    raw.service_index = vec![1, 0];
    raw.names = strings(&["GET /", "SELECT é"]);
    raw.kind = vec![SpanKind::Server, SpanKind::Client];
    raw.start_unix_nanos = vec![100, 500];
    raw.end_unix_nanos = vec![300, 400];
    raw.status = vec![StatusCode::Ok, StatusCode::Error];
    raw.status_messages = strings(&["", "boom"]);
    raw.size = vec![120, 80];
    // Span 0: http.method=GET, retries=3; span 1: ratio=0.5, cached=true, tags=["a"].
    raw.span_attributes = AttributeColumns {
        owner_offsets: vec![0, 2, 5],
        key: vec![0, 1, 2, 3, 4],
        keys: strings(&["http.method", "retries", "ratio", "cached", "tags"]),
        kind: vec![
            ValueKind::Str,
            ValueKind::Int,
            ValueKind::Double,
            ValueKind::Boolean,
            ValueKind::Json,
        ],
        strings: strings(&["GET", "", "", "", "[\"a\"]"]),
        ints: vec![0, 3, 0, 1, 0],
        doubles: vec![0.0, 0.0, 0.5, 0.0, 0.0],
    };
    // Span 0 has events 0 and 1, span 1 has none.
    raw.event_offsets = vec![0, 2, 2];
    raw.event_names = strings(&["retry", "exception"]);
    raw.event_attributes = AttributeColumns {
        owner_offsets: vec![0, 0, 1],
        key: vec![0],
        keys: strings(&["exception.type"]),
        kind: vec![ValueKind::Str],
        strings: strings(&["Timeout"]),
        ints: vec![0],
        doubles: vec![0.0],
    };
    // Span 1 has link 0.
    raw.link_offsets = vec![0, 0, 1];
    raw.link_attributes = AttributeColumns {
        owner_offsets: vec![0, 1],
        key: vec![0],
        keys: strings(&["link.kind"]),
        kind: vec![ValueKind::Str],
        strings: strings(&["follows"]),
        ints: vec![0],
        doubles: vec![0.0],
    };
    // Both spans share resource 0.
    raw.resource_index = vec![0, 0];
    raw.resource_attributes = AttributeColumns {
        owner_offsets: vec![0, 1],
        key: vec![0],
        keys: strings(&["host.name"]),
        kind: vec![ValueKind::Str],
        strings: strings(&["web-1"]),
        ints: vec![0],
        doubles: vec![0.0],
    };
    raw
}

#[test]
fn fields_read_from_their_columns() {
    let batch = SpanBatch::from_wit(hand_built());
    assert_eq!(batch.len(), 2);
    let first = batch.span(0);
    let second = batch.span(1);
    assert_eq!(first.index(), 0);
    assert_eq!(first.trace_id(), TraceId((0x0102u128 << 64) | 0x0304));
    assert_eq!(second.trace_id(), TraceId(9));
    assert_eq!((first.span_id(), second.span_id()), (11, 12));
    assert_eq!(first.parent_span_id(), None);
    assert_eq!(second.parent_span_id(), Some(11));
    assert_eq!(
        (first.service_name(), second.service_name()),
        ("cart", "checkout")
    );
    assert_eq!((first.name(), second.name()), ("GET /", "SELECT é"));
    assert_eq!(
        (first.kind(), second.kind()),
        (SpanKind::Server, SpanKind::Client)
    );
    assert_eq!(
        (first.start_unix_nanos(), first.end_unix_nanos()),
        (100, 300)
    );
    assert_eq!(first.duration_nanos(), 200);
    assert_eq!(second.duration_nanos(), 0, "end before start saturates");
    assert_eq!(
        (first.status(), second.status()),
        (StatusCode::Ok, StatusCode::Error)
    );
    assert_eq!(
        (first.status_message(), second.status_message()),
        ("", "boom")
    );
    assert_eq!((first.size(), second.size()), (120, 80));
    assert_eq!(second.resource_index(), 0);
}

#[test]
fn attributes_read_each_kind_with_global_rows() {
    let batch = SpanBatch::from_wit(hand_built());
    let first: Vec<Attribute<'_>> = batch.span(0).attributes().collect();
    assert_eq!(
        first,
        [
            Attribute {
                row: 0,
                key: "http.method",
                value: Value::Str("GET")
            },
            Attribute {
                row: 1,
                key: "retries",
                value: Value::Int(3)
            },
        ]
    );
    let second = batch.span(1).attributes();
    assert_eq!(second.len(), 3);
    let rows: Vec<u32> = second.clone().map(|attribute| attribute.row).collect();
    assert_eq!(rows, [2, 3, 4]);
    assert_eq!(second.get("ratio"), Some(Value::Double(0.5)));
    assert_eq!(second.get("cached"), Some(Value::Bool(true)));
    assert_eq!(second.get("tags"), Some(Value::Json("[\"a\"]")));
    assert_eq!(
        second.get("tags").unwrap().as_str(),
        None,
        "json is not a string"
    );
    assert_eq!(second.get("http.method"), None, "another span's attribute");
    assert_eq!(
        batch.span(0).attributes().get_str("http.method"),
        Some("GET")
    );
}

#[test]
fn resource_events_and_links_read_through_their_offsets() {
    let batch = SpanBatch::from_wit(hand_built());
    for span in batch.spans() {
        assert_eq!(
            span.resource_attributes().get_str("host.name"),
            Some("web-1")
        );
    }
    let events: Vec<EventView<'_>> = batch.span(0).events().collect();
    assert_eq!(events.len(), 2);
    assert_eq!((events[0].index, events[0].name), (0, "retry"));
    assert_eq!(events[0].attributes.clone().count(), 0);
    assert_eq!((events[1].index, events[1].name), (1, "exception"));
    assert_eq!(
        events[1].attributes.get_str("exception.type"),
        Some("Timeout")
    );
    assert_eq!(batch.span(1).events().count(), 0);

    assert_eq!(batch.span(0).links().count(), 0);
    let links: Vec<LinkView<'_>> = batch.span(1).links().collect();
    assert_eq!(links.len(), 1);
    assert_eq!(links[0].index, 0);
    assert_eq!(links[0].attributes.get_str("link.kind"), Some("follows"));
}

#[test]
fn undeclared_columns_read_as_defaults() {
    let batch = SpanBatch::from_wit(empty_batch(3));
    assert_eq!(batch.spans().count(), 3);
    for span in batch.spans() {
        assert_eq!(span.trace_id(), TraceId(0));
        assert_eq!(span.span_id(), 0);
        assert_eq!(span.parent_span_id(), None);
        assert_eq!(span.service_name(), "");
        assert_eq!(span.name(), "");
        assert_eq!(span.kind(), SpanKind::Unspecified);
        assert_eq!(span.duration_nanos(), 0);
        assert_eq!(span.status(), StatusCode::Unset);
        assert_eq!(span.status_message(), "");
        assert_eq!(span.size(), 0);
        assert_eq!(span.attributes().count(), 0);
        assert_eq!(span.resource_attributes().count(), 0);
        assert_eq!(span.resource_index(), 0);
        assert_eq!(span.events().count(), 0);
        assert_eq!(span.links().count(), 0);
    }
}

#[test]
fn a_span_past_the_end_reads_as_defaults() {
    let batch = SpanBatch::from_wit(hand_built());
    let outside = batch.span(7);
    assert_eq!(outside.name(), "");
    assert_eq!(outside.attributes().count(), 0);
    assert_eq!(outside.events().count(), 0);
}

#[test]
fn invalid_utf8_reads_as_empty_strings_for_that_column_only() {
    let mut raw = hand_built();
    raw.names.bytes[0] = 0xff;
    let batch = SpanBatch::from_wit(raw);
    assert_eq!(batch.span(0).name(), "");
    assert_eq!(batch.span(1).name(), "");
    assert_eq!(batch.span(0).service_name(), "cart");
}

#[test]
fn offsets_inside_a_character_read_as_empty() {
    let mut raw = hand_built();
    // "SELECT é": cut in the middle of the two-byte "é".
    let end = raw.names.offsets[2];
    raw.names.offsets[2] = end - 1;
    let batch = SpanBatch::from_wit(raw);
    assert_eq!(batch.span(1).name(), "");
    assert_eq!(batch.span(0).name(), "GET /");
}

#[test]
fn trace_id_conversions() {
    let trace_id = TraceId::from_hi_lo(0x0011_2233_4455_6677, 0x8899_aabb_ccdd_eeff);
    assert_eq!(
        (trace_id.hi(), trace_id.lo()),
        (0x0011_2233_4455_6677, 0x8899_aabb_ccdd_eeff)
    );
    assert_eq!(
        trace_id.to_bytes(),
        [
            0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd,
            0xee, 0xff
        ]
    );
    assert_eq!(trace_id.to_hex(), "00112233445566778899aabbccddeeff");
    assert_eq!(TraceId(1).to_string(), "00000000000000000000000000000001");
}

#[test]
fn value_conversions() {
    assert_eq!(
        Value::Str("a").to_attribute_value(),
        types::AttributeValue::Str("a".into())
    );
    assert_eq!(
        Value::Json("[1]").to_attribute_value(),
        types::AttributeValue::Str("[1]".into())
    );
    assert_eq!(
        Value::Int(4).to_attribute_value(),
        types::AttributeValue::Int(4)
    );
    assert_eq!(
        Value::Double(0.25).to_attribute_value(),
        types::AttributeValue::Double(0.25)
    );
    assert_eq!(
        Value::Bool(false).to_attribute_value(),
        types::AttributeValue::Boolean(false)
    );
    assert_eq!(Value::Int(4).as_i64(), Some(4));
    assert_eq!(Value::Double(0.5).as_f64(), Some(0.5));
    assert_eq!(Value::Bool(true).as_bool(), Some(true));
    assert_eq!(Value::Str("x").as_i64(), None);
}

#[test]
fn trace_ids_come_once_each_in_first_appearance_order() {
    let mut raw = empty_batch(6);
    raw.trace_id_hi = vec![0; 6];
    raw.trace_id_lo = vec![3, 3, 1, 3, 2, 1];
    let batch = SpanBatch::from_wit(raw);
    assert_eq!(
        trace_ids_in_order(&batch),
        [TraceId(3), TraceId(1), TraceId(2)]
    );
}

fn arbitrary_strings() -> impl Strategy<Value = StringColumn> {
    (proptest::collection::vec(any::<u8>(), 0..12), short_u32s())
        .prop_map(|(bytes, offsets)| StringColumn { bytes, offsets })
}

fn arbitrary_attributes() -> impl Strategy<Value = AttributeColumns> {
    let kinds = proptest::collection::vec(
        prop_oneof![
            Just(ValueKind::Str),
            Just(ValueKind::Int),
            Just(ValueKind::Double),
            Just(ValueKind::Boolean),
            Just(ValueKind::Json),
        ],
        0..5,
    );
    (
        short_u32s(),
        short_u32s(),
        arbitrary_strings(),
        kinds,
        arbitrary_strings(),
        proptest::collection::vec(any::<i64>(), 0..5),
        proptest::collection::vec(any::<f64>(), 0..5),
    )
        .prop_map(|(owner_offsets, key, keys, kind, strings, ints, doubles)| {
            AttributeColumns {
                owner_offsets,
                key,
                keys,
                kind,
                strings,
                ints,
                doubles,
            }
        })
}

fn short_u64s() -> impl Strategy<Value = Vec<u64>> {
    proptest::collection::vec(any::<u64>(), 0..5)
}

fn short_u32s() -> impl Strategy<Value = Vec<u32>> {
    // Mostly small offsets, sometimes huge ones (which must not make readers loop).
    proptest::collection::vec(prop_oneof![4 => 0u32..8, 1 => any::<u32>()], 0..6)
}

prop_compose! {
    fn malformed_batch()(
        len in 0u32..6,
        ids in (short_u64s(), short_u64s(), short_u64s(), short_u64s()),
        texts in (arbitrary_strings(), short_u32s(), arbitrary_strings(), arbitrary_strings(), arbitrary_strings()),
        times in (short_u64s(), short_u64s(), proptest::collection::vec(any::<u32>(), 0..5)),
        offsets in (short_u32s(), short_u32s(), short_u32s()),
        attributes in (arbitrary_attributes(), arbitrary_attributes(), arbitrary_attributes(), arbitrary_attributes()),
    ) -> types::SpanBatch {
        let mut raw = empty_batch(len);
        (raw.trace_id_hi, raw.trace_id_lo, raw.span_id, raw.parent_span_id) = ids;
        (raw.services, raw.service_index, raw.names, raw.status_messages, raw.event_names) = texts;
        (raw.start_unix_nanos, raw.end_unix_nanos, raw.size) = times;
        (raw.event_offsets, raw.link_offsets, raw.resource_index) = offsets;
        (raw.span_attributes, raw.event_attributes, raw.link_attributes, raw.resource_attributes) = attributes;
        raw.kind = vec![SpanKind::Producer; (len as usize) / 2];
        raw.status = vec![StatusCode::Error; (len as usize) / 3];
        raw
    }
}

/// Reads everything a plugin can read; returns a count so nothing is optimised away.
fn read_everything(batch: &SpanBatch) -> usize {
    let mut seen = 0;
    for index in 0..batch.len() + 2 {
        let span = batch.span(index);
        seen += span.trace_id().0.count_ones() as usize
            + span.span_id() as usize % 3
            + span.parent_span_id().map_or(0, |_| 1)
            + span.service_name().len()
            + span.name().len()
            + span.kind() as usize
            + span.duration_nanos() as usize % 5
            + span.status() as usize
            + span.status_message().len()
            + span.size() as usize % 7
            + span.resource_index() as usize;
        let attribute_sets = [span.attributes(), span.resource_attributes()]
            .into_iter()
            .chain(span.events().flat_map(|event| [event.attributes]))
            .chain(span.links().map(|link| link.attributes));
        for attributes in attribute_sets {
            seen += attributes.get("k").map_or(0, |_| 1);
            for attribute in attributes {
                seen += attribute.key.len() + attribute.row as usize;
                seen += match attribute.value {
                    Value::Str(text) | Value::Json(text) => text.len(),
                    _ => 1,
                };
            }
        }
        seen += span.events().map(|event| event.name.len()).sum::<usize>();
    }
    seen + trace_ids_in_order(batch).len()
}

proptest! {
    #[test]
    fn malformed_columns_never_panic(raw in malformed_batch()) {
        let batch = SpanBatch::from_wit(raw);
        read_everything(&batch);
    }
}
