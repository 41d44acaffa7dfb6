use spangate_plugin_abi::{EDIT_RECORD_BYTES, EditRecord, StrRef, op, value_kind};

use super::*;
use crate::batch::Value;

#[test]
fn each_builder_encodes_its_record_in_order() {
    let mut edits = Edits::new();
    assert!(edits.is_empty());
    edits.set_span_attribute(1, AttributeValue::Int(2));
    edits.remove_span_attribute(3);
    edits.add_span_attribute(4, "k", true);
    edits.set_resource_attribute(5, "r");
    edits.remove_resource_attribute(6);
    edits.set_event_attribute(7, 0.5);
    edits.remove_event_attribute(8);
    edits.set_link_attribute(9, -1);
    edits.remove_link_attribute(10);
    edits.set_name(11, "n");
    edits.set_status_message(12, String::from("m"));
    edits.set_event_name(13, "e");
    edits.drop_span(14);
    assert_eq!(edits.len(), 13);
    assert_eq!(edits.records().len(), 13 * EDIT_RECORD_BYTES);
    assert_eq!(
        edits.to_vec(),
        [
            Edit::SetSpanAttribute(1, AttributeValue::Int(2)),
            Edit::RemoveSpanAttribute(3),
            Edit::AddSpanAttribute(4, "k".into(), AttributeValue::Boolean(true)),
            Edit::SetResourceAttribute(5, AttributeValue::Str("r".into())),
            Edit::RemoveResourceAttribute(6),
            Edit::SetEventAttribute(7, AttributeValue::Double(0.5)),
            Edit::RemoveEventAttribute(8),
            Edit::SetLinkAttribute(9, AttributeValue::Int(-1)),
            Edit::RemoveLinkAttribute(10),
            Edit::SetName(11, "n".into()),
            Edit::SetStatusMessage(12, "m".into()),
            Edit::SetEventName(13, "e".into()),
            Edit::DropSpan(14),
        ]
    );
    let mut rebuilt = Edits::new();
    for edit in edits.to_vec() {
        rebuilt.push_edit(&edit);
    }
    assert_eq!(rebuilt.to_vec(), edits.to_vec());
    let wit = edits.clone().into_wit();
    assert_eq!(Edits::from_wit(wit), edits);
    edits.clear();
    assert!(edits.is_empty() && edits.strings().is_empty());
}

#[test]
fn records_follow_the_documented_layout() {
    let mut edits = Edits::new();
    edits.add_span_attribute(7, "key", "value");
    let record: &[u8; EDIT_RECORD_BYTES] = edits.records().try_into().unwrap();
    let decoded = EditRecord::decode(record);
    assert_eq!(record[0], op::ADD_SPAN_ATTRIBUTE);
    assert_eq!(record[1], value_kind::STR);
    assert_eq!(record[2..4], [0, 0]);
    assert_eq!(decoded.target, 7);
    assert_eq!(decoded.key, StrRef { offset: 0, len: 3 });
    assert_eq!(
        StrRef::from_u64(decoded.value),
        StrRef { offset: 3, len: 5 }
    );
    assert_eq!(edits.strings(), b"keyvalue");
}

#[test]
fn a_repeated_added_key_is_stored_once() {
    let mut edits = Edits::new();
    for span in 0..3u32 {
        edits.add_span_attribute(span, "redaction.count", 1);
    }
    edits.add_span_attribute(3, "other", 1);
    assert_eq!(edits.strings(), b"redaction.countother");
    assert_eq!(
        edits.to_vec()[2],
        Edit::AddSpanAttribute(2, "redaction.count".into(), AttributeValue::Int(1))
    );
}

#[test]
fn values_of_every_source_encode_alike() {
    let mut edits = Edits::new();
    edits.set_span_attribute(0, Value::Json("[1]"));
    edits.set_span_attribute(1, Value::Bool(false));
    let owned = AttributeValue::Str("s".into());
    edits.set_span_attribute(2, &owned);
    edits.set_span_attribute(3, 7u32);
    let text = String::from("t");
    edits.set_span_attribute(4, &text);
    assert_eq!(
        owned,
        AttributeValue::Str("s".into()),
        "borrowed, not moved"
    );
    assert_eq!(text, "t");
    assert_eq!(
        edits.to_vec(),
        [
            Edit::SetSpanAttribute(0, AttributeValue::Str("[1]".into())),
            Edit::SetSpanAttribute(1, AttributeValue::Boolean(false)),
            Edit::SetSpanAttribute(2, AttributeValue::Str("s".into())),
            Edit::SetSpanAttribute(3, AttributeValue::Int(7)),
            Edit::SetSpanAttribute(4, AttributeValue::Str("t".into())),
        ]
    );
}

fn one_record(record: EditRecord, strings: &[u8]) -> Result<Vec<Edit>, String> {
    let mut records = Vec::new();
    record.encode(&mut records);
    Edits::from_wit(types::Edits {
        records,
        strings: strings.to_vec(),
    })
    .decode()
}

#[test]
fn malformed_records_do_not_decode() {
    let set = |kind, value| EditRecord {
        op: op::SET_NAME,
        kind,
        target: 0,
        key: StrRef::default(),
        value,
    };
    let cases = [
        (
            EditRecord {
                op: 99,
                ..EditRecord::default()
            },
            "edit 0 (unknown op): unknown op 99",
        ),
        (
            set(value_kind::INT, 1),
            "edit 0 (set-name): the value must be a `str` (kind 0), not kind 1",
        ),
        (
            set(value_kind::STR, StrRef { offset: 2, len: 5 }.to_u64()),
            "edit 0 (set-name): the value string (offset 2, length 5) lies outside the 3-byte string buffer",
        ),
        (
            EditRecord {
                op: op::SET_SPAN_ATTRIBUTE,
                kind: value_kind::JSON,
                ..EditRecord::default()
            },
            "edit 0 (set-span-attribute): a `json` value (kind 4) cannot be written",
        ),
        (
            EditRecord {
                op: op::SET_SPAN_ATTRIBUTE,
                kind: 9,
                ..EditRecord::default()
            },
            "edit 0 (set-span-attribute): unknown value kind 9",
        ),
        (
            EditRecord {
                op: op::ADD_SPAN_ATTRIBUTE,
                key: StrRef { offset: 0, len: 2 },
                kind: value_kind::INT,
                ..EditRecord::default()
            },
            "edit 0 (add-span-attribute): the key string is not UTF-8",
        ),
    ];
    for (record, expected) in cases {
        assert_eq!(
            one_record(record, &[0xff, 0xfe, b'a']),
            Err(expected.to_owned())
        );
    }
    let ragged = Edits::from_wit(types::Edits {
        records: vec![0; 25],
        strings: Vec::new(),
    });
    assert_eq!(
        ragged.decode(),
        Err("the edit records are 25 bytes, not a multiple of 24".to_owned())
    );
    assert!(format!("{ragged:?}").starts_with("Edits(undecodable: "));
}
