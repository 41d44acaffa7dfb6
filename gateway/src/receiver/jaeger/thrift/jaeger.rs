//! The structs of `jaeger.thrift` (Batch, Process, Span, Tag, Log, SpanRef), read into
//! the shared model. As in Jaeger's generated readers, a field of an unexpected type is
//! skipped, unknown fields are skipped, and a missing required field is an error.
//! Thrift carries times in microseconds; they become nanoseconds here, with the
//! wrapping arithmetic of Jaeger's collector.

use super::{FieldType, Protocol, ThriftError};
use crate::receiver::jaeger::model::{Batch, Log, Process, RefType, Span, SpanRef, Tag, TagValue};

/// Reads one `Batch` struct (the body of `POST /api/traces`, or `emitBatch`'s argument).
pub(in crate::receiver::jaeger) fn read_batch<P: Protocol>(
    protocol: &mut P,
) -> Result<Batch, ThriftError> {
    const NAME: &str = "Batch";
    let mut process = None;
    let mut spans = None;
    protocol.read_struct_begin();
    while let Some((field_type, id)) = protocol.read_field_begin()? {
        match (id, field_type) {
            (1, FieldType::Struct) => {
                process = Some(within(NAME, "process", read_process(protocol))?);
            }
            (2, FieldType::List) => {
                spans = Some(within(NAME, "spans", read_list(protocol, read_span))?);
            }
            _ => protocol.skip(field_type, 1)?,
        }
    }
    protocol.read_struct_end();
    Ok(Batch {
        process: Some(required(NAME, "process", process)?),
        spans: required(NAME, "spans", spans)?,
    })
}

fn read_process<P: Protocol>(protocol: &mut P) -> Result<Process, ThriftError> {
    const NAME: &str = "Process";
    let mut service_name = None;
    let mut tags = Vec::new();
    protocol.read_struct_begin();
    while let Some((field_type, id)) = protocol.read_field_begin()? {
        match (id, field_type) {
            (1, FieldType::Binary) => {
                service_name = Some(within(NAME, "serviceName", protocol.read_string())?);
            }
            (2, FieldType::List) => {
                tags = within(NAME, "tags", read_list(protocol, read_tag))?;
            }
            _ => protocol.skip(field_type, 1)?,
        }
    }
    protocol.read_struct_end();
    Ok(Process {
        service_name: required(NAME, "serviceName", service_name)?,
        tags,
    })
}

/// The required fields of `Span` that are integers, by field id.
#[derive(Default)]
struct SpanNumbers {
    trace_id_low: Option<i64>,
    trace_id_high: Option<i64>,
    span_id: Option<i64>,
    parent_span_id: Option<i64>,
    flags: Option<i32>,
    start_time: Option<i64>,
    duration: Option<i64>,
}

fn read_span<P: Protocol>(protocol: &mut P) -> Result<Span, ThriftError> {
    const NAME: &str = "Span";
    let mut numbers = SpanNumbers::default();
    let mut operation_name = None;
    let mut span = Span::default();
    protocol.read_struct_begin();
    while let Some((field_type, id)) = protocol.read_field_begin()? {
        let slot = match id {
            1 => Some(&mut numbers.trace_id_low),
            2 => Some(&mut numbers.trace_id_high),
            3 => Some(&mut numbers.span_id),
            4 => Some(&mut numbers.parent_span_id),
            8 => Some(&mut numbers.start_time),
            9 => Some(&mut numbers.duration),
            _ => None,
        };
        match (id, field_type, slot) {
            (_, FieldType::I64, Some(slot)) => *slot = Some(protocol.read_i64()?),
            (5, FieldType::Binary, _) => {
                operation_name = Some(within(NAME, "operationName", protocol.read_string())?);
            }
            (6, FieldType::List, _) => {
                span.references = within(NAME, "references", read_list(protocol, read_span_ref))?;
            }
            (7, FieldType::I32, _) => numbers.flags = Some(protocol.read_i32()?),
            (10, FieldType::List, _) => {
                span.tags = within(NAME, "tags", read_list(protocol, read_tag))?;
            }
            (11, FieldType::List, _) => {
                span.logs = within(NAME, "logs", read_list(protocol, read_log))?;
            }
            _ => protocol.skip(field_type, 1)?,
        }
    }
    protocol.read_struct_end();
    span.trace_id_low = required(NAME, "traceIdLow", numbers.trace_id_low)? as u64;
    span.trace_id_high = required(NAME, "traceIdHigh", numbers.trace_id_high)? as u64;
    span.span_id = required(NAME, "spanId", numbers.span_id)? as u64;
    span.parent_span_id = required(NAME, "parentSpanId", numbers.parent_span_id)? as u64;
    span.operation_name = required(NAME, "operationName", operation_name)?;
    span.flags = required(NAME, "flags", numbers.flags)? as u32;
    let start = required(NAME, "startTime", numbers.start_time)?;
    let duration = required(NAME, "duration", numbers.duration)?;
    span.start_unix_nano = micros_to_nanos(start);
    span.end_unix_nano = micros_to_nanos(start.wrapping_add(duration));
    Ok(span)
}

fn micros_to_nanos(micros: i64) -> u64 {
    (micros as u64).wrapping_mul(1000)
}

fn read_tag<P: Protocol>(protocol: &mut P) -> Result<Tag, ThriftError> {
    const NAME: &str = "Tag";
    let mut key = None;
    let mut v_type = None;
    let mut v_str = None;
    let mut v_double = None;
    let mut v_bool = None;
    let mut v_long = None;
    let mut v_binary = None;
    protocol.read_struct_begin();
    while let Some((field_type, id)) = protocol.read_field_begin()? {
        match (id, field_type) {
            (1, FieldType::Binary) => key = Some(within(NAME, "key", protocol.read_string())?),
            (2, FieldType::I32) => v_type = Some(protocol.read_i32()?),
            (3, FieldType::Binary) => v_str = Some(within(NAME, "vStr", protocol.read_string())?),
            (4, FieldType::Double) => v_double = Some(protocol.read_double()?),
            (5, FieldType::Bool) => v_bool = Some(protocol.read_bool()?),
            (6, FieldType::I64) => v_long = Some(protocol.read_i64()?),
            (7, FieldType::Binary) => {
                v_binary = Some(within(NAME, "vBinary", protocol.read_binary())?.to_vec());
            }
            _ => protocol.skip(field_type, 1)?,
        }
    }
    protocol.read_struct_end();
    // Thrift's TagType: STRING, DOUBLE, BOOL, LONG, BINARY. An absent value reads as
    // its type's zero, as Jaeger's getters do.
    let value = match required(NAME, "vType", v_type)? {
        0 => TagValue::String(v_str.unwrap_or_default()),
        1 => TagValue::Float64(v_double.unwrap_or_default()),
        2 => TagValue::Bool(v_bool.unwrap_or_default()),
        3 => TagValue::Int64(v_long.unwrap_or_default()),
        4 => TagValue::Binary(v_binary.unwrap_or_default()),
        other => TagValue::Unknown(other),
    };
    Ok(Tag {
        key: required(NAME, "key", key)?,
        value,
    })
}

fn read_log<P: Protocol>(protocol: &mut P) -> Result<Log, ThriftError> {
    const NAME: &str = "Log";
    let mut timestamp = None;
    let mut fields = None;
    protocol.read_struct_begin();
    while let Some((field_type, id)) = protocol.read_field_begin()? {
        match (id, field_type) {
            (1, FieldType::I64) => timestamp = Some(protocol.read_i64()?),
            (2, FieldType::List) => {
                fields = Some(within(NAME, "fields", read_list(protocol, read_tag))?);
            }
            _ => protocol.skip(field_type, 1)?,
        }
    }
    protocol.read_struct_end();
    Ok(Log {
        timestamp_unix_nano: micros_to_nanos(required(NAME, "timestamp", timestamp)?),
        fields: required(NAME, "fields", fields)?,
    })
}

fn read_span_ref<P: Protocol>(protocol: &mut P) -> Result<SpanRef, ThriftError> {
    const NAME: &str = "SpanRef";
    let mut ref_type = None;
    let mut trace_id_low = None;
    let mut trace_id_high = None;
    let mut span_id = None;
    protocol.read_struct_begin();
    while let Some((field_type, id)) = protocol.read_field_begin()? {
        match (id, field_type) {
            (1, FieldType::I32) => ref_type = Some(protocol.read_i32()?),
            (2, FieldType::I64) => trace_id_low = Some(protocol.read_i64()?),
            (3, FieldType::I64) => trace_id_high = Some(protocol.read_i64()?),
            (4, FieldType::I64) => span_id = Some(protocol.read_i64()?),
            _ => protocol.skip(field_type, 1)?,
        }
    }
    protocol.read_struct_end();
    Ok(SpanRef {
        ref_type: RefType::from_number(required(NAME, "refType", ref_type)?),
        trace_id_low: required(NAME, "traceIdLow", trace_id_low)? as u64,
        trace_id_high: required(NAME, "traceIdHigh", trace_id_high)? as u64,
        span_id: required(NAME, "spanId", span_id)? as u64,
    })
}

/// A list of structs, each read by `read`; an error names the element.
fn read_list<P: Protocol, T>(
    protocol: &mut P,
    read: fn(&mut P) -> Result<T, ThriftError>,
) -> Result<Vec<T>, ThriftError> {
    let (element, length) = protocol.read_list_begin()?;
    if element != FieldType::Struct {
        return Err(ThriftError::UnexpectedElement(element));
    }
    // Never trust the length for the allocation: it only bounds the loop.
    let mut out = Vec::with_capacity(length.min(64));
    for index in 0..length {
        out.push(read(protocol).map_err(|source| ThriftError::Element {
            index,
            source: Box::new(source),
        })?);
    }
    Ok(out)
}

fn required<T>(
    strukt: &'static str,
    field: &'static str,
    value: Option<T>,
) -> Result<T, ThriftError> {
    value.ok_or(ThriftError::MissingField { strukt, field })
}

fn within<T>(
    strukt: &'static str,
    field: &'static str,
    result: Result<T, ThriftError>,
) -> Result<T, ThriftError> {
    result.map_err(|source| ThriftError::In {
        strukt,
        field,
        source: Box::new(source),
    })
}
