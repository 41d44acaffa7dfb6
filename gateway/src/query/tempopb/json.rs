//! Tempo's JSON for the `tempopb` messages: gogo `jsonpb.Marshaler{}` with default
//! options. Fields in declaration order under their proto JSON names, default values
//! (0, "", empty lists and maps, unset messages) omitted, 64-bit integers as strings,
//! 32-bit ones and doubles as numbers (NaN and infinities as strings), enums by name.
//! A set message is written even when all its fields are default: `"metrics": {}`.
//!
//! Nothing here is per message: build.rs derives `serde::Serialize` for each message of
//! `gateway/proto/tempopb.proto` and names, per field, the writers below (and the enum
//! writers it generates from the enums' descriptors).

use serde::Serialize;
use serde::ser::{SerializeSeq, Serializer};

use crate::model::{KeyValue, TracesData};
use crate::query::tempo_json::{DoubleJson, KeyValueJson, TraceJson};

include!(concat!(env!("OUT_DIR"), "/tempopb_json.rs"));

/// Whether jsonpb leaves the field out: proto3 fields without presence when they hold
/// their default, unset messages and `optional` fields (`None`). `-0.0 == 0.0`, so a
/// negative zero is left out too, as in Go.
pub(super) fn is_default<T: Default + PartialEq>(value: &T) -> bool {
    *value == T::default()
}

/// `int64` and `uint64` are JSON strings in proto3 JSON.
pub(super) fn int64<T: ToString, S: Serializer>(
    value: &T,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&value.to_string())
}

pub(super) fn double<S: Serializer>(value: &f64, serializer: S) -> Result<S::Ok, S::Error> {
    DoubleJson(*value).serialize(serializer)
}

/// An enum value by its name; jsonpb writes a value without a name as its number.
fn enumeration<S: Serializer>(
    value: i32,
    name: Option<&'static str>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match name {
        Some(name) => serializer.serialize_str(name),
        None => serializer.serialize_i32(value),
    }
}

/// `tempopb.common.v1.KeyValue` list, each written as the trace JSON writes it.
pub(super) fn key_values<S: Serializer>(
    values: &[KeyValue],
    serializer: S,
) -> Result<S::Ok, S::Error> {
    let mut seq = serializer.serialize_seq(Some(values.len()))?;
    for value in values {
        seq.serialize_element(&KeyValueJson(value))?;
    }
    seq.end()
}

/// `tempopb.Trace` (OTLP `TracesData` here), written as the v2 trace-by-id JSON writes it.
pub(super) fn trace<S: Serializer>(
    value: &Option<TracesData>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match value {
        Some(data) => TraceJson {
            data,
            resource_spans_key: "resourceSpans",
        }
        .serialize(serializer),
        // Not reached: `is_default` leaves an unset trace out.
        None => serializer.serialize_none(),
    }
}
