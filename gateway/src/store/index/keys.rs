//! Key encoding of the search indexes.
//!
//! ```text
//! posting  = tenant:u32 BE | posting_id:u64 BE | newest:u64 BE | write_id:u64 BE   (`postings`)
//! write    = tenant:u32 BE | newest:u64 BE | write_id:u64 BE                        (`writes`)
//! value    = tenant:u32 BE | field:u8 | key_len:u16 BE | key | type:u8 | value
//!            [| resource_id:u64 BE, for resource attributes]                        (`values`)
//! summary  = tenant:u32 BE | trace_id:16                                            (`trace_summaries`)
//! tag key  = tenant:u32 BE | scope:u8 | key                                         (`tag_keys`)
//! ```
//! Postings are per write, not per trace: one entry per distinct indexed value in a
//! write, pointing at the write's record, which lists the write's traces and which of
//! the write's posting ids each trace holds. `posting_id` is a 64-bit hash of (field,
//! key, value): a collision only merges two lists (a superset the evaluator narrows).
//! `newest` is the latest span start in the write: a trace's start is never after the
//! `newest` of any write holding one of its spans, which makes newest-first reading
//! with an early stop exact. Reading a list backwards is newest first.

use xxhash_rust::xxh3::xxh3_64_with_seed;

use crate::model::{TRACE_ID_LEN, TagScope, TraceId};
use crate::store::keys::{TENANT_ID_LEN, TenantId};

/// What a posting list is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum Field {
    /// A resource attribute. Postings are per resource (`Field::Resource`); the `values`
    /// family maps each attribute value to the resources holding it.
    ResourceAttribute = 1,
    SpanAttribute = 2,
    /// The span name (key empty).
    Name = 3,
    /// `error` or `ok` (key empty); unset statuses are not indexed (most spans).
    Status = 4,
    /// A resource, by `resource_id` (key empty, value the id).
    Resource = 5,
}

/// The byte a tag key is stored under for an attribute scope (part of the on-disk
/// layout: never renumber); `None` for intrinsics, which have no stored keys.
fn scope_byte(scope: TagScope) -> Option<u8> {
    Some(match scope {
        TagScope::Resource => 1,
        TagScope::Span => 2,
        TagScope::Event => 3,
        TagScope::Link => 4,
        TagScope::Instrumentation => 5,
        TagScope::Intrinsic => return None,
    })
}

fn scope_from_byte(byte: u8) -> Option<TagScope> {
    TagScope::ATTRIBUTE_SCOPES
        .into_iter()
        .find(|scope| scope_byte(*scope) == Some(byte))
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

/// A value borrowed from a span, as it is encoded into keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ValueRef<'a> {
    Str(&'a str),
    Int(i64),
    /// The bits of an `f64`.
    Double(u64),
    Bool(bool),
}

impl ValueRef<'_> {
    pub(super) fn encode(&self, out: &mut Vec<u8>) {
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

/// The 64-bit id of the posting list of (field, key, value): the value's encoding
/// hashed with a seed that is the hash of (field, key). One-shot hashes of short
/// inputs; this runs for every indexed value of every span.
pub fn posting_id(field: Field, key: &str, value: ValueRef<'_>) -> u64 {
    let seed = xxh3_64_with_seed(key.as_bytes(), field as u64);
    match value {
        ValueRef::Str(text) => xxh3_64_with_seed(truncated(text).as_bytes(), seed ^ u64::from(STR)),
        ValueRef::Int(int) => xxh3_64_with_seed(&int.to_be_bytes(), seed ^ u64::from(INT)),
        ValueRef::Double(bits) => xxh3_64_with_seed(&bits.to_be_bytes(), seed ^ u64::from(DOUBLE)),
        ValueRef::Bool(boolean) => xxh3_64_with_seed(&[u8::from(boolean)], seed ^ u64::from(BOOL)),
    }
}

/// The posting id of a resource.
pub fn resource_posting(resource_id: u64) -> u64 {
    posting_id(Field::Resource, "", ValueRef::Int(resource_id as i64))
}

/// (write's newest span start, write id): what postings point at.
pub type WriteRef = (u64, u64);

pub(super) const POSTING_PREFIX_LEN: usize = TENANT_ID_LEN + 8;

pub(super) fn posting_prefix(tenant: TenantId, posting: u64) -> [u8; POSTING_PREFIX_LEN] {
    let mut key = [0u8; POSTING_PREFIX_LEN];
    key[..TENANT_ID_LEN].copy_from_slice(&tenant.0.to_be_bytes());
    key[TENANT_ID_LEN..].copy_from_slice(&posting.to_be_bytes());
    key
}

/// `prefix | newest | write_id`.
pub(super) fn entry_key(prefix: &[u8], write: WriteRef) -> Vec<u8> {
    let mut key = Vec::with_capacity(prefix.len() + 16);
    key.extend_from_slice(prefix);
    key.extend_from_slice(&write.0.to_be_bytes());
    key.extend_from_slice(&write.1.to_be_bytes());
    key
}

/// The write an entry key (with a `prefix_len`-byte prefix) points at.
pub(super) fn parse_entry(key: &[u8], prefix_len: usize) -> Option<WriteRef> {
    let suffix = key.get(prefix_len..)?;
    if suffix.len() != 16 {
        return None;
    }
    Some((
        u64::from_be_bytes(suffix[..8].try_into().ok()?),
        u64::from_be_bytes(suffix[8..].try_into().ok()?),
    ))
}

/// The prefix of a tenant's write records.
pub(super) fn tenant_prefix(tenant: TenantId) -> [u8; TENANT_ID_LEN] {
    tenant.0.to_be_bytes()
}

fn push_with_length(out: &mut Vec<u8>, bytes: &[u8]) -> bool {
    let Ok(length) = u16::try_from(bytes.len()) else {
        return false;
    };
    out.extend_from_slice(&length.to_be_bytes());
    out.extend_from_slice(bytes);
    true
}

/// The prefix of every `values` entry of (field, key); `None` for a key too long.
pub(super) fn value_key_prefix(tenant: TenantId, field: Field, key: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(TENANT_ID_LEN + 3 + key.len() + 16);
    out.extend_from_slice(&tenant.0.to_be_bytes());
    out.push(field as u8);
    push_with_length(&mut out, key.as_bytes()).then_some(out)
}

/// A `values` entry: (field, key, value), and for resource attributes the resource.
pub(super) fn value_key(
    tenant: TenantId,
    field: Field,
    key: &str,
    value: ValueRef<'_>,
    resource_id: Option<u64>,
) -> Option<Vec<u8>> {
    let mut out = value_key_prefix(tenant, field, key)?;
    let mut encoded = Vec::with_capacity(16);
    value.encode(&mut encoded);
    if !push_with_length(&mut out, &encoded) {
        return None;
    }
    if let Some(resource_id) = resource_id {
        out.extend_from_slice(&resource_id.to_be_bytes());
    }
    Some(out)
}

/// A `values` entry after its (field, key) prefix: the value and, if present, the
/// resource id.
pub(super) fn split_value(after_prefix: &[u8]) -> Option<(IndexValue, Option<u64>)> {
    let length = usize::from(u16::from_be_bytes(after_prefix.get(..2)?.try_into().ok()?));
    let encoded = after_prefix.get(2..2 + length)?;
    let rest = &after_prefix[2 + length..];
    let resource = match rest.len() {
        0 => None,
        8 => Some(u64::from_be_bytes(rest.try_into().ok()?)),
        _ => return None,
    };
    Some((IndexValue::decode(encoded)?, resource))
}

pub(super) fn summary_key(
    tenant: TenantId,
    trace_id: &TraceId,
) -> [u8; TENANT_ID_LEN + TRACE_ID_LEN] {
    crate::store::keys::trace_key(tenant, trace_id)
}

/// The key recording that attribute `key` was seen in an attribute `scope`; `None` for
/// `TagScope::Intrinsic`.
pub(super) fn tag_key(tenant: TenantId, scope: TagScope, key: &str) -> Option<Vec<u8>> {
    let scope = scope_byte(scope)?;
    let mut out = Vec::with_capacity(TENANT_ID_LEN + 1 + key.len());
    out.extend_from_slice(&tenant.0.to_be_bytes());
    out.push(scope);
    out.extend_from_slice(key.as_bytes());
    Some(out)
}

pub(super) fn parse_tag_key(key: &[u8]) -> Option<(TagScope, String)> {
    let scope = scope_from_byte(*key.get(TENANT_ID_LEN)?)?;
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
        fn values_round_trip_after_their_key(key in "\\PC{0,30}", value in value_strategy(), resource in proptest::option::of(any::<u64>())) {
            let tenant = TenantId(7);
            let entry = value_key(tenant, Field::ResourceAttribute, &key, value.as_ref(), resource).unwrap();
            let prefix = value_key_prefix(tenant, Field::ResourceAttribute, &key).unwrap();
            prop_assert!(entry.starts_with(&prefix));
            prop_assert_eq!(split_value(&entry[prefix.len()..]), Some((value, resource)));
        }

        /// One posting list's entries sort by (newest, write id): backwards is newest first.
        #[test]
        fn entries_sort_by_time_then_write(a in (any::<u64>(), any::<u64>()), b in (any::<u64>(), any::<u64>())) {
            let prefix = posting_prefix(TenantId(1), posting_id(Field::Name, "", ValueRef::Str("GET /")));
            let key_a = entry_key(&prefix, a);
            let key_b = entry_key(&prefix, b);
            prop_assert_eq!(key_a.cmp(&key_b), a.cmp(&b));
            prop_assert_eq!(parse_entry(&key_a, prefix.len()), Some(a));
        }

        /// A key that is a prefix of another key never shares `values` entries with it.
        #[test]
        fn keys_never_run_into_each_other(key in "[a-z.]{0,10}", extra in "[a-z.]{1,5}", value in "[a-z]{0,5}") {
            let longer = format!("{key}{extra}");
            let short = value_key_prefix(TenantId(1), Field::SpanAttribute, &key).unwrap();
            let long = value_key(TenantId(1), Field::SpanAttribute, &longer, ValueRef::Str(&value), None).unwrap();
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
    fn posting_ids_tell_fields_keys_and_values_apart() {
        let ids = [
            posting_id(Field::Name, "", ValueRef::Str("a")),
            posting_id(Field::SpanAttribute, "", ValueRef::Str("a")),
            posting_id(Field::SpanAttribute, "a", ValueRef::Str("")),
            posting_id(Field::SpanAttribute, "k", ValueRef::Str("1")),
            posting_id(Field::SpanAttribute, "k", ValueRef::Int(1)),
        ];
        let distinct: std::collections::HashSet<u64> = ids.iter().copied().collect();
        assert_eq!(distinct.len(), ids.len());
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
        let key = tag_key(TenantId(3), TagScope::Event, "exception.type").unwrap();
        assert_eq!(
            parse_tag_key(&key),
            Some((TagScope::Event, "exception.type".to_owned()))
        );
    }
}
