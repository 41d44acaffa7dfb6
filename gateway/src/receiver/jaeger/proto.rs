//! Jaeger's protobuf `api_v2` messages (generated from `proto/jaeger.proto`) and their
//! reading into the shared model: ids from big-endian bytes (a trace id of 16 bytes, or
//! of 8 for a 64-bit one; a span id of 8; empty is zero), times from Timestamp/Duration.

use super::model::{Batch, Log, Process, RefType, Span, SpanRef, Tag, TagValue};

#[allow(clippy::all, unreachable_pub, dead_code)]
pub(super) mod api_v2 {
    include!(concat!(env!("OUT_DIR"), "/jaeger.api_v2.rs"));
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(super) enum ProtoError {
    #[error("span {span}: {field} has {length} bytes; expected {expected}")]
    IdLength {
        span: usize,
        field: &'static str,
        length: usize,
        expected: &'static str,
    },
}

/// The batch of a `PostSpansRequest`.
pub(super) fn read_batch(batch: api_v2::Batch) -> Result<Batch, ProtoError> {
    let spans = batch
        .spans
        .into_iter()
        .enumerate()
        .map(|(index, span)| read_span(index, span))
        .collect::<Result<_, _>>()?;
    Ok(Batch {
        process: batch.process.map(read_process),
        spans,
    })
}

fn read_span(index: usize, span: api_v2::Span) -> Result<Span, ProtoError> {
    let (trace_id_high, trace_id_low) = trace_id(index, "trace_id", &span.trace_id)?;
    let references = span
        .references
        .iter()
        .map(|reference| {
            let (trace_id_high, trace_id_low) =
                trace_id(index, "references.trace_id", &reference.trace_id)?;
            Ok(SpanRef {
                ref_type: RefType::from_number(reference.ref_type),
                trace_id_high,
                trace_id_low,
                span_id: span_id(index, "references.span_id", &reference.span_id)?,
            })
        })
        .collect::<Result<_, ProtoError>>()?;
    let start = span
        .start_time
        .map_or(0, |time| nanos(time.seconds, time.nanos));
    let duration = span
        .duration
        .map_or(0, |duration| nanos(duration.seconds, duration.nanos));
    Ok(Span {
        trace_id_high,
        trace_id_low,
        span_id: span_id(index, "span_id", &span.span_id)?,
        parent_span_id: 0,
        operation_name: span.operation_name,
        references,
        flags: span.flags,
        start_unix_nano: start as u64,
        end_unix_nano: start.wrapping_add(duration) as u64,
        tags: span.tags.into_iter().map(read_tag).collect(),
        logs: span
            .logs
            .into_iter()
            .map(|log| Log {
                timestamp_unix_nano: log
                    .timestamp
                    .map_or(0, |time| nanos(time.seconds, time.nanos) as u64),
                fields: log.fields.into_iter().map(read_tag).collect(),
            })
            .collect(),
        process: span.process.map(read_process),
    })
}

fn read_process(process: api_v2::Process) -> Process {
    Process {
        service_name: process.service_name,
        tags: process.tags.into_iter().map(read_tag).collect(),
    }
}

/// protobuf's ValueType: STRING, BOOL, INT64, FLOAT64, BINARY.
fn read_tag(tag: api_v2::KeyValue) -> Tag {
    let value = match tag.v_type {
        0 => TagValue::String(tag.v_str),
        1 => TagValue::Bool(tag.v_bool),
        2 => TagValue::Int64(tag.v_int64),
        3 => TagValue::Float64(tag.v_float64),
        4 => TagValue::Binary(tag.v_binary),
        other => TagValue::Unknown(other),
    };
    Tag {
        key: tag.key,
        value,
    }
}

fn nanos(seconds: i64, nanos: i32) -> i64 {
    seconds
        .wrapping_mul(1_000_000_000)
        .wrapping_add(i64::from(nanos))
}

fn trace_id(span: usize, field: &'static str, bytes: &[u8]) -> Result<(u64, u64), ProtoError> {
    match bytes.len() {
        0 => Ok((0, 0)),
        8 => Ok((0, be_u64(bytes))),
        16 => Ok((be_u64(&bytes[..8]), be_u64(&bytes[8..]))),
        length => Err(ProtoError::IdLength {
            span,
            field,
            length,
            expected: "16 (or 8)",
        }),
    }
}

fn span_id(span: usize, field: &'static str, bytes: &[u8]) -> Result<u64, ProtoError> {
    match bytes.len() {
        0 => Ok(0),
        8 => Ok(be_u64(bytes)),
        length => Err(ProtoError::IdLength {
            span,
            field,
            length,
            expected: "8",
        }),
    }
}

/// `bytes` holds exactly 8 bytes (the callers matched on the length).
fn be_u64(bytes: &[u8]) -> u64 {
    let mut word = [0u8; 8];
    word.copy_from_slice(bytes);
    u64::from_be_bytes(word)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use prost::Message;

    fn timestamp(seconds: i64, nanos: i32) -> Option<api_v2::Timestamp> {
        Some(api_v2::Timestamp { seconds, nanos })
    }

    #[test]
    fn ids_times_and_values_are_read() {
        let span = api_v2::Span {
            trace_id: (1..=16).collect(),
            span_id: vec![0, 0, 0, 0, 0, 0, 1, 2],
            operation_name: "op".to_owned(),
            references: vec![api_v2::SpanRef {
                trace_id: vec![0, 0, 0, 0, 0, 0, 0, 9],
                span_id: vec![0; 8],
                ref_type: 1,
            }],
            flags: 1,
            start_time: timestamp(1_700_000_000, 5),
            duration: Some(api_v2::Duration {
                seconds: 1,
                nanos: 10,
            }),
            tags: vec![api_v2::KeyValue {
                key: "b".to_owned(),
                v_type: 1,
                v_bool: true,
                v_str: "ignored".to_owned(),
                ..api_v2::KeyValue::default()
            }],
            logs: vec![api_v2::Log {
                timestamp: timestamp(1_700_000_000, 7),
                fields: Vec::new(),
            }],
            ..api_v2::Span::default()
        };
        let batch = read_batch(api_v2::Batch {
            spans: vec![span],
            process: None,
        })
        .unwrap();
        let span = &batch.spans[0];
        assert_eq!(span.trace_id_high, 0x0102_0304_0506_0708);
        assert_eq!(span.trace_id_low, 0x090a_0b0c_0d0e_0f10);
        assert_eq!(span.span_id, 0x0102);
        assert_eq!(span.start_unix_nano, 1_700_000_000_000_000_005);
        assert_eq!(span.end_unix_nano, 1_700_000_001_000_000_015);
        assert_eq!(span.logs[0].timestamp_unix_nano, 1_700_000_000_000_000_007);
        assert_eq!(span.tags[0].value, TagValue::Bool(true));
        assert_eq!(
            span.references[0],
            SpanRef {
                ref_type: RefType::FollowsFrom,
                trace_id_high: 0,
                trace_id_low: 9,
                span_id: 0,
            }
        );
    }

    #[test]
    fn a_wrong_id_length_is_named() {
        let error = read_batch(api_v2::Batch {
            spans: vec![
                api_v2::Span::default(),
                api_v2::Span {
                    span_id: vec![1, 2, 3],
                    ..api_v2::Span::default()
                },
            ],
            process: None,
        })
        .unwrap_err();
        assert_eq!(error.to_string(), "span 1: span_id has 3 bytes; expected 8");
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            if let Ok(request) = api_v2::PostSpansRequest::decode(bytes.as_slice())
                && let Ok(batch) = read_batch(request.batch.unwrap_or_default())
            {
                let _ = super::super::translate::to_otlp(batch);
            }
        }
    }
}
