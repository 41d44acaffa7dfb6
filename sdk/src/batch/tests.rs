use proptest::prelude::*;
use spangate_plugin_abi::{BatchBuilder, StrRef, column, value_kind};

use super::*;
use crate::bindings::types::{SpanKind, StatusCode};
use crate::edits::AttributeValue;

fn batch(len: u32, builder: &BatchBuilder) -> SpanBatch {
    let mut columns = Vec::new();
    builder.write_columns(&mut columns);
    SpanBatch::from_wit(types::SpanBatch {
        len,
        columns,
        strings: builder.strings.clone(),
    })
    .unwrap()
}

/// One attribute table of owners' rows: (key, kind, value) with string values pushed to
/// the arena.
fn table(builder: &mut BatchBuilder, first: usize, keys: &[&str], owners: &[&[(u32, u8, Row)]]) {
    for key in keys {
        builder.push_str(first + column::KEYS, key.as_bytes());
    }
    builder.push_u32(first + column::OWNER_OFFSETS, 0);
    let mut rows = 0;
    for owner in owners {
        for (key, kind, value) in owner.iter() {
            builder.push_u32(first + column::KEY, *key);
            builder.push_u8(first + column::VALUE_KIND, *kind);
            match value {
                Row::Text(text) => builder.push_str(first + column::VALUE, text.as_bytes()),
                Row::Number(number) => builder.push_u64(first + column::VALUE, *number),
            }
            rows += 1;
        }
        builder.push_u32(first + column::OWNER_OFFSETS, rows);
    }
}

#[derive(Clone, Copy)]
enum Row {
    Text(&'static str),
    Number(u64),
}

/// Two spans, every column filled by hand as wit/README.md lays them out.
fn hand_built() -> BatchBuilder {
    let mut b = BatchBuilder::default();
    let mut trace = [0u8; 16];
    trace[6..8].copy_from_slice(&[0x01, 0x02]);
    trace[14..16].copy_from_slice(&[0x03, 0x04]);
    b.push_id(column::TRACE_ID, &trace);
    b.push_id(column::TRACE_ID, &9u128.to_be_bytes());
    b.push_id(column::SPAN_ID, &11u64.to_be_bytes());
    b.push_id(column::SPAN_ID, &12u64.to_be_bytes());
    b.push_id(column::PARENT_SPAN_ID, &[0; 8]);
    b.push_id(column::PARENT_SPAN_ID, &11u64.to_be_bytes());
    b.push_str(column::SERVICES, b"checkout");
    b.push_str(column::SERVICES, b"cart");
    b.push_u32(column::SERVICE, 1);
    b.push_u32(column::SERVICE, 0);
    b.push_str(column::NAME, b"GET /");
    b.push_str(column::NAME, "SELECT é".as_bytes());
    b.push_u8(column::KIND, SpanKind::Server as u8);
    b.push_u8(column::KIND, SpanKind::Client as u8);
    b.push_u64(column::START, 100);
    b.push_u64(column::START, 500);
    b.push_u64(column::END, 300);
    b.push_u64(column::END, 400);
    b.push_u8(column::STATUS, StatusCode::Ok as u8);
    b.push_u8(column::STATUS, StatusCode::Error as u8);
    b.push_str(column::STATUS_MESSAGE, b"");
    b.push_str(column::STATUS_MESSAGE, b"boom");
    b.push_u32(column::SIZE, 120);
    b.push_u32(column::SIZE, 80);
    // Span 0: http.method=GET, retries=3; span 1: ratio=0.5, cached=true, tags=["a"].
    table(
        &mut b,
        column::SPAN_ATTRIBUTES,
        &["http.method", "retries", "ratio", "cached", "tags"],
        &[
            &[
                (0, value_kind::STR, Row::Text("GET")),
                (1, value_kind::INT, Row::Number(3)),
            ],
            &[
                (2, value_kind::DOUBLE, Row::Number(0.5f64.to_bits())),
                (3, value_kind::BOOL, Row::Number(1)),
                (4, value_kind::JSON, Row::Text("[\"a\"]")),
            ],
        ],
    );
    // Span 0 has events 0 and 1, span 1 has none.
    for offset in [0, 2, 2] {
        b.push_u32(column::EVENT_OFFSETS, offset);
    }
    b.push_str(column::EVENT_NAMES, b"retry");
    b.push_str(column::EVENT_NAMES, b"exception");
    table(
        &mut b,
        column::EVENT_ATTRIBUTES,
        &["exception.type"],
        &[&[], &[(0, value_kind::STR, Row::Text("Timeout"))]],
    );
    // Span 1 has link 0.
    for offset in [0, 0, 1] {
        b.push_u32(column::LINK_OFFSETS, offset);
    }
    table(
        &mut b,
        column::LINK_ATTRIBUTES,
        &["link.kind"],
        &[&[(0, value_kind::STR, Row::Text("follows"))]],
    );
    // Both spans share resource 0.
    b.push_u32(column::RESOURCE, 0);
    b.push_u32(column::RESOURCE, 0);
    table(
        &mut b,
        column::RESOURCE_ATTRIBUTES,
        &["host.name"],
        &[&[(0, value_kind::STR, Row::Text("web-1"))]],
    );
    b
}

#[test]
fn fields_read_from_their_columns() {
    let batch = batch(2, &hand_built());
    assert_eq!(batch.len(), 2);
    let first = batch.span(0);
    let second = batch.span(1);
    assert_eq!(first.index(), 0);
    assert_eq!(first.trace_id(), TraceId((0x0102u128 << 64) | 0x0304));
    assert_eq!(second.trace_id(), TraceId(9));
    assert_eq!(second.trace_id_bytes(), 9u128.to_be_bytes());
    assert_eq!((first.span_id(), second.span_id()), (11, 12));
    assert_eq!(second.span_id_bytes(), 12u64.to_be_bytes());
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
fn attributes_read_each_kind_with_table_rows() {
    let batch = batch(2, &hand_built());
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
    assert_eq!(second.rows(), 2..5);
    assert_eq!(second.get("ratio"), Some(Value::Double(0.5)));
    assert_eq!(second.get("cached"), Some(Value::Bool(true)));
    assert_eq!(second.get("tags"), Some(Value::Json("[\"a\"]")));
    assert_eq!(
        second.get("tags").unwrap().as_str(),
        None,
        "json is not a string"
    );
    assert_eq!(second.get("http.method"), None, "another span's attribute");
    assert_eq!(second.attribute("cached").map(|a| a.row), Some(3));
    assert_eq!(
        batch.span(0).attributes().get_str("http.method"),
        Some("GET")
    );
}

#[test]
fn attribute_tables_read_column_wise() {
    let batch = batch(2, &hand_built());
    let table = batch.attribute_table(AttributeKind::Span);
    assert_eq!(table.kind(), AttributeKind::Span);
    assert_eq!((table.rows(), table.owners(), table.key_count()), (5, 2, 5));
    assert_eq!(
        table.key_names().collect::<Vec<_>>(),
        ["http.method", "retries", "ratio", "cached", "tags"]
    );
    assert_eq!(table.find_key("ratio"), Some(2));
    assert_eq!(table.find_key("absent"), None);
    assert_eq!(table.rows_of(1), 2..5);
    assert_eq!(table.rows_of(2), 0..0, "past the owners");
    assert_eq!(table.key_index(4), Some(4));
    assert_eq!(table.value_kind(4), crate::ValueKind::Json);
    assert_eq!(table.value_bytes(0), b"GET");
    assert_eq!(table.value_bytes(1), b"", "not a string");
    assert_eq!(table.key(9), "");
    assert_eq!(table.value(9), Value::Str(""), "past the end");
    let resources = batch.attribute_table(AttributeKind::Resource);
    assert_eq!(
        resources.owner_attributes(0).get_str("host.name"),
        Some("web-1")
    );
    let view = batch.view();
    assert_eq!(view.count(column::SPAN_ATTRIBUTES + column::KEY), 5);
    assert_eq!(batch.as_wit().len, 2);
}

#[test]
fn resource_events_and_links_read_through_their_offsets() {
    let batch = batch(2, &hand_built());
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
fn absent_columns_read_as_defaults() {
    let batch = batch(3, &BatchBuilder::default());
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
    let batch = batch(2, &hand_built());
    let outside = batch.span(7);
    assert_eq!(outside.name(), "");
    assert_eq!(outside.attributes().count(), 0);
    assert_eq!(outside.events().count(), 0);
}

#[test]
fn a_directory_that_does_not_fit_is_refused() {
    let refused = SpanBatch::from_wit(types::SpanBatch {
        len: 1,
        columns: vec![0; 8],
        strings: Vec::new(),
    });
    assert!(refused.is_err());
}

#[test]
fn a_string_that_is_not_utf8_reads_as_empty_and_the_others_as_themselves() {
    let mut builder = hand_built();
    builder.push_str(column::STATUS_MESSAGE, &[0xff]);
    let batch = batch(2, &builder);
    assert_eq!(batch.span(0).name(), "GET /");
    assert_eq!(batch.span(1).name(), "SELECT é");
    assert_eq!(batch.string(column::STATUS_MESSAGE, 2), "");
    assert_eq!(batch.string_bytes(column::STATUS_MESSAGE, 2), [0xff]);
}

#[test]
fn references_inside_a_character_or_outside_the_arena_read_as_empty() {
    let mut builder = BatchBuilder::default();
    builder.push_str(column::NAME, "é".as_bytes());
    let whole = StrRef { offset: 0, len: 2 };
    let half = StrRef { offset: 0, len: 1 };
    let outside = StrRef { offset: 1, len: 9 };
    for reference in [half, outside] {
        builder.push_u64(column::NAME, reference.to_u64());
    }
    let batch = batch(3, &builder);
    assert_eq!(batch.span(0).name(), "é");
    assert_eq!((batch.span(1).name(), batch.span(2).name()), ("", ""));
    assert_eq!(batch.arena().bytes(whole), "é".as_bytes());
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
    assert_eq!(TraceId::from_bytes(trace_id.to_bytes()), trace_id);
    assert_eq!(trace_id.to_hex(), "00112233445566778899aabbccddeeff");
    assert_eq!(TraceId(1).to_string(), "00000000000000000000000000000001");
}

#[test]
fn value_conversions() {
    assert_eq!(
        Value::Str("a").to_attribute_value(),
        AttributeValue::Str("a".into())
    );
    assert_eq!(
        Value::Json("[1]").to_attribute_value(),
        AttributeValue::Str("[1]".into())
    );
    assert_eq!(Value::Int(4).to_attribute_value(), AttributeValue::Int(4));
    assert_eq!(
        Value::Double(0.25).to_attribute_value(),
        AttributeValue::Double(0.25)
    );
    assert_eq!(
        Value::Bool(false).to_attribute_value(),
        AttributeValue::Boolean(false)
    );
    assert_eq!(Value::Int(4).as_i64(), Some(4));
    assert_eq!(Value::Double(0.5).as_f64(), Some(0.5));
    assert_eq!(Value::Bool(true).as_bool(), Some(true));
    assert_eq!(Value::Str("x").as_i64(), None);
}

#[test]
fn trace_ids_come_once_each_in_first_appearance_order() {
    let mut builder = BatchBuilder::default();
    for id in [3u128, 3, 1, 3, 2, 1] {
        builder.push_id(column::TRACE_ID, &id.to_be_bytes());
    }
    let batch = batch(6, &builder);
    assert_eq!(
        trace_ids_in_order(&batch),
        [TraceId(3), TraceId(1), TraceId(2)]
    );
}

#[test]
fn span_indexes_come_from_views_and_numbers() {
    let batch = batch(2, &hand_built());
    let span = batch.span(1);
    assert_eq!(SpanIndex::from(span), SpanIndex(1));
    assert_eq!(SpanIndex::from(&span), SpanIndex(1));
    assert_eq!(SpanIndex::from(4), SpanIndex(4));
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
    for kind in AttributeKind::ALL {
        let table = batch.attribute_table(kind);
        seen += table.key_names().map(str::len).sum::<usize>();
        for row in 0..table.rows() + 2 {
            seen += table.value_bytes(row).len() + table.key_index(row).unwrap_or(0) as usize;
        }
    }
    seen + trace_ids_in_order(batch).len()
}

/// Pushes to any column: (column, number, bytes), the number cut to the column's width,
/// offsets mostly small.
fn pushes() -> impl Strategy<Value = Vec<(usize, u64, Vec<u8>)>> {
    let number = prop_oneof![4 => 0u64..8, 1 => any::<u64>()];
    proptest::collection::vec(
        (
            0..column::COUNT,
            number,
            proptest::collection::vec(any::<u8>(), 0..6),
        ),
        0..80,
    )
}

proptest! {
    /// Columns of any content and length (offsets past the rows, references past the
    /// arena, invalid UTF-8, unknown kinds) read without panicking.
    #[test]
    fn malformed_columns_never_panic(len in 0u32..6, pushes in pushes(), arena in proptest::collection::vec(any::<u8>(), 0..12)) {
        let mut builder = BatchBuilder::default();
        builder.strings = arena;
        for (col, number, bytes) in pushes {
            match column::WIDTHS[col] {
                1 => builder.push_u8(col, number as u8),
                4 => builder.push_u32(col, number as u32),
                8 if number % 2 == 0 => builder.push_str(col, &bytes),
                8 => builder.push_u64(col, number),
                _ => builder.push_id(col, &bytes),
            }
        }
        read_everything(&batch(len, &builder));
    }
}
