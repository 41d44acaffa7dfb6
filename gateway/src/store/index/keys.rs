//! Key encoding of the search indexes.
//!
//! ```text
//! posting    = tenant:u32 BE | field:u8 | key_len:u16 BE | key | value_len:u16 BE | value
//!              | start:u64 BE | trace_id:16                       (column family `postings`)
//! trace time = tenant:u32 BE | start:u64 BE | trace_id:16            (column family `trace_times`)
//! summary    = tenant:u32 BE | trace_id:16                          (column family `trace_summaries`)
//! tag key    = tenant:u32 BE | scope:u8 | key                       (column family `tag_keys`)
//! ```
//! `start` is the earliest start of the trace's spans in the write that added the
//! entry, so every entry one write adds for a trace carries the same `start`: entries
//! of conditions that hold on one span (hence one write) meet on the same
//! `(start, trace_id)`, which is what lets postings be intersected exactly. Keys of one
//! posting list sort by `(start, trace_id)`, so reading them backwards is newest first.
//! Lengths are prefixed rather than terminated, so keys and values may hold any byte.

use crate::model::{TRACE_ID_LEN, TraceId};
use crate::store::keys::{TENANT_ID_LEN, TenantId};

/// What a posting list is about: an attribute of some scope, or an intrinsic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum Field {
    ResourceAttribute = 1,
    SpanAttribute = 2,
    /// The span name (key empty).
    Name = 3,
    /// `error` or `ok` (key empty); unset statuses are not indexed (most spans).
    Status = 4,
}

/// Where an attribute key was seen, for tag autocompletion.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum TagScope {
    Resource = 1,
    Span = 2,
    Event = 3,
    Link = 4,
    Instrumentation = 5,
}

impl TagScope {
    pub const ALL: [TagScope; 5] = [
        TagScope::Resource,
        TagScope::Span,
        TagScope::Event,
        TagScope::Link,
        TagScope::Instrumentation,
    ];

    fn from_byte(byte: u8) -> Option<TagScope> {
        TagScope::ALL.into_iter().find(|scope| *scope as u8 == byte)
    }
}

/// An indexed value. Strings longer than `MAX_INDEXED_STRING` bytes are indexed by
/// their first bytes, so a lookup finds a superset that the evaluator then narrows.
#[derive(Debug, Clone, PartialEq)]
pub enum IndexValue {
    Str(String),
    Int(i64),
    Double(f64),
    Bool(bool),
}

pub const MAX_INDEXED_STRING: usize = 256;

const STR: u8 = 1;
const INT: u8 = 2;
const DOUBLE: u8 = 3;
const BOOL: u8 = 4;

/// A value borrowed from a span, as it is encoded into a posting key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ValueRef<'a> {
    Str(&'a str),
    Int(i64),
    /// The bits of an `f64`.
    Double(u64),
    Bool(bool),
}

impl ValueRef<'_> {
    fn encode(&self, out: &mut Vec<u8>) {
        match *self {
            ValueRef::Str(text) => {
                out.push(STR);
                out.extend_from_slice(truncated(text).as_bytes());
            }
            ValueRef::Int(int) => {
                out.push(INT);
                out.extend_from_slice(&int.to_be_bytes());
            }
            ValueRef::Double(bits) => {
                out.push(DOUBLE);
                out.extend_from_slice(&bits.to_be_bytes());
            }
            ValueRef::Bool(boolean) => {
                out.push(BOOL);
                out.push(u8::from(boolean));
            }
        }
    }
}

impl IndexValue {
    pub fn as_ref(&self) -> ValueRef<'_> {
        match self {
            IndexValue::Str(text) => ValueRef::Str(text),
            IndexValue::Int(int) => ValueRef::Int(*int),
            IndexValue::Double(double) => ValueRef::Double(double.to_bits()),
            IndexValue::Bool(boolean) => ValueRef::Bool(*boolean),
        }
    }

    fn decode(bytes: &[u8]) -> Option<IndexValue> {
        let (&kind, payload) = bytes.split_first()?;
        Some(match kind {
            STR => IndexValue::Str(String::from_utf8_lossy(payload).into_owned()),
            INT => IndexValue::Int(i64::from_be_bytes(payload.try_into().ok()?)),
            DOUBLE => {
                IndexValue::Double(f64::from_bits(u64::from_be_bytes(payload.try_into().ok()?)))
            }
            BOOL => IndexValue::Bool(*payload.first()? != 0),
            _ => return None,
        })
    }
}

/// `text` cut to at most `MAX_INDEXED_STRING` bytes, at a character boundary.
pub fn truncated(text: &str) -> &str {
    if text.len() <= MAX_INDEXED_STRING {
        return text;
    }
    let mut end = MAX_INDEXED_STRING;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

fn push_tenant(out: &mut Vec<u8>, tenant: TenantId) {
    out.extend_from_slice(&tenant.0.to_be_bytes());
}

/// Keys and values longer than a u16 length cannot be indexed; such attributes are
/// rare and still found by the bounded scan.
fn push_with_length(out: &mut Vec<u8>, bytes: &[u8]) -> bool {
    let Ok(length) = u16::try_from(bytes.len()) else {
        return false;
    };
    out.extend_from_slice(&length.to_be_bytes());
    out.extend_from_slice(bytes);
    true
}

/// The prefix shared by every entry of one posting list (`None`: key too long).
pub fn posting_prefix(
    tenant: TenantId,
    field: Field,
    key: &str,
    value: ValueRef<'_>,
) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(TENANT_ID_LEN + 1 + 4 + key.len() + 16);
    push_tenant(&mut out, tenant);
    out.push(field as u8);
    if !push_with_length(&mut out, key.as_bytes()) {
        return None;
    }
    let mut encoded = Vec::with_capacity(16);
    value.encode(&mut encoded);
    push_with_length(&mut out, &encoded).then_some(out)
}

/// The prefix of every posting list of one attribute key (all its values).
pub fn attribute_prefix(tenant: TenantId, field: Field, key: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(TENANT_ID_LEN + 3 + key.len());
    push_tenant(&mut out, tenant);
    out.push(field as u8);
    push_with_length(&mut out, key.as_bytes()).then_some(out)
}

/// Splits what follows an `attribute_prefix` into the value and the rest of the key.
pub fn split_value(after_prefix: &[u8]) -> Option<(IndexValue, &[u8])> {
    let length = usize::from(u16::from_be_bytes(after_prefix.get(..2)?.try_into().ok()?));
    let encoded = after_prefix.get(2..2 + length)?;
    Some((IndexValue::decode(encoded)?, &after_prefix[2 + length..]))
}

/// Length of the `start | trace_id` suffix of postings and trace-time keys.
pub const ENTRY_SUFFIX_LEN: usize = 8 + TRACE_ID_LEN;

/// `prefix | start | trace_id`.
pub fn entry_key(prefix: &[u8], start: u64, trace_id: &TraceId) -> Vec<u8> {
    let mut key = Vec::with_capacity(prefix.len() + ENTRY_SUFFIX_LEN);
    key.extend_from_slice(prefix);
    key.extend_from_slice(&start.to_be_bytes());
    key.extend_from_slice(&trace_id.0);
    key
}

/// The `(start, trace_id)` suffix of an entry key whose prefix is `prefix_len` long.
pub fn parse_entry(key: &[u8], prefix_len: usize) -> Option<(u64, TraceId)> {
    let suffix = key.get(prefix_len..)?;
    if suffix.len() != ENTRY_SUFFIX_LEN {
        return None;
    }
    let start = u64::from_be_bytes(suffix[..8].try_into().ok()?);
    Some((start, TraceId::from_slice(&suffix[8..])?))
}

/// The prefix of a tenant's trace-time entries.
pub fn tenant_prefix(tenant: TenantId) -> Vec<u8> {
    tenant.0.to_be_bytes().to_vec()
}

pub fn summary_key(tenant: TenantId, trace_id: &TraceId) -> [u8; TENANT_ID_LEN + TRACE_ID_LEN] {
    crate::store::keys::trace_key(tenant, trace_id)
}

pub fn tag_key(tenant: TenantId, scope: TagScope, key: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(TENANT_ID_LEN + 1 + key.len());
    push_tenant(&mut out, tenant);
    out.push(scope as u8);
    out.extend_from_slice(key.as_bytes());
    out
}

pub fn parse_tag_key(key: &[u8]) -> Option<(TagScope, String)> {
    let scope = TagScope::from_byte(*key.get(TENANT_ID_LEN)?)?;
    let name = std::str::from_utf8(key.get(TENANT_ID_LEN + 1..)?).ok()?;
    Some((scope, name.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn value_strategy() -> impl Strategy<Value = IndexValue> {
        prop_oneof![
            "\\PC{0,40}".prop_map(IndexValue::Str),
            any::<i64>().prop_map(IndexValue::Int),
            any::<f64>()
                .prop_filter("NaN never equals itself", |d| !d.is_nan())
                .prop_map(IndexValue::Double),
            any::<bool>().prop_map(IndexValue::Bool),
        ]
    }

    proptest! {
        #[test]
        fn values_round_trip_after_their_key(key in "\\PC{0,30}", value in value_strategy(), start in any::<u64>(), trace in proptest::array::uniform16(any::<u8>())) {
            let tenant = TenantId(7);
            let prefix = posting_prefix(tenant, Field::SpanAttribute, &key, value.as_ref()).unwrap();
            let attribute = attribute_prefix(tenant, Field::SpanAttribute, &key).unwrap();
            prop_assert!(prefix.starts_with(&attribute));
            let entry = entry_key(&prefix, start, &TraceId(trace));
            let (decoded, rest) = split_value(&entry[attribute.len()..]).unwrap();
            prop_assert_eq!(decoded, value);
            prop_assert_eq!(rest.len(), ENTRY_SUFFIX_LEN);
            prop_assert_eq!(parse_entry(&entry, prefix.len()), Some((start, TraceId(trace))));
        }

        /// One posting list's entries sort by (start, trace id): read backwards, newest first.
        #[test]
        fn entries_sort_by_start_then_trace(a in (any::<u64>(), proptest::array::uniform16(any::<u8>())), b in (any::<u64>(), proptest::array::uniform16(any::<u8>()))) {
            let prefix = posting_prefix(TenantId(1), Field::Name, "", ValueRef::Str("GET /")).unwrap();
            let key_a = entry_key(&prefix, a.0, &TraceId(a.1));
            let key_b = entry_key(&prefix, b.0, &TraceId(b.1));
            prop_assert_eq!(key_a.cmp(&key_b), a.cmp(&b));
        }

        /// A key that is a prefix of another key never shares posting lists with it.
        #[test]
        fn keys_never_run_into_each_other(key in "[a-z.]{0,10}", extra in "[a-z.]{1,5}", value in "[a-z]{0,5}") {
            let longer = format!("{key}{extra}");
            let short = attribute_prefix(TenantId(1), Field::SpanAttribute, &key).unwrap();
            let long = posting_prefix(TenantId(1), Field::SpanAttribute, &longer, ValueRef::Str(&value)).unwrap();
            prop_assert!(!long.starts_with(&short));
        }

        #[test]
        fn parsers_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..60), cut in 0usize..60) {
            let _ = split_value(&bytes);
            let _ = parse_entry(&bytes, cut);
            let _ = parse_tag_key(&bytes);
        }
    }

    #[test]
    fn long_strings_are_cut_at_a_character_boundary() {
        let text = "é".repeat(200);
        let cut = truncated(&text);
        assert!(cut.len() <= MAX_INDEXED_STRING);
        assert!(text.starts_with(cut));
        assert_eq!(truncated("short"), "short");
    }

    #[test]
    fn tag_keys_round_trip() {
        let key = tag_key(TenantId(3), TagScope::Event, "exception.type");
        assert_eq!(
            parse_tag_key(&key),
            Some((TagScope::Event, "exception.type".to_owned()))
        );
    }
}
