//! Identifiers shared by the receivers, the store and the query API, the short names
//! of the OTLP types everything else uses, and the metric point model.

mod metric;
mod sampling;
pub mod size;
mod tag_scope;

pub use metric::{Exemplar, MetricPoint, MetricValue, is_label_name, is_metric_name};
pub use sampling::{TailSettings, TailVerdict};
pub use tag_scope::TagScope;

pub use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTracePartialSuccess, ExportTraceServiceRequest, ExportTraceServiceResponse,
};
pub use opentelemetry_proto::tonic::common::v1::{
    AnyValue, ArrayValue, InstrumentationScope, KeyValue, KeyValueList, any_value,
};
pub use opentelemetry_proto::tonic::resource::v1::Resource;
pub use opentelemetry_proto::tonic::trace::v1::{
    ResourceSpans, ScopeSpans, Span, Status, TracesData, span,
};

/// The tenant every request belongs to until multi-tenancy is configured,
/// named as Tempo names it (`X-Scope-OrgID` is accepted and ignored).
pub const SINGLE_TENANT: &str = "single-tenant";

pub const TRACE_ID_LEN: usize = 16;
pub const SPAN_ID_LEN: usize = 8;

/// A 16-byte trace id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TraceId(pub [u8; TRACE_ID_LEN]);

impl TraceId {
    /// Parses a trace id the way Tempo does: hex, case-insensitive, an odd length
    /// padded with one leading `0`, shorter ids left-padded with zero bytes.
    pub fn parse_hex(text: &str) -> Result<TraceId, TraceIdError> {
        if let Some((position, character)) = text
            .chars()
            .enumerate()
            .find(|(_, c)| !c.is_ascii_hexdigit())
        {
            return Err(TraceIdError::NotHex {
                character,
                position: position + 1,
            });
        }
        if text.len() > 2 * TRACE_ID_LEN {
            return Err(TraceIdError::TooLong);
        }
        let padded = if text.len() % 2 == 1 {
            format!("0{text}")
        } else {
            text.to_owned()
        };
        let bytes = hex::decode(&padded).map_err(|_| TraceIdError::TooLong)?;
        let mut id = [0u8; TRACE_ID_LEN];
        id[TRACE_ID_LEN - bytes.len()..].copy_from_slice(&bytes);
        Ok(TraceId(id))
    }

    pub fn from_slice(bytes: &[u8]) -> Option<TraceId> {
        Some(TraceId(bytes.try_into().ok()?))
    }

    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TraceIdError {
    /// Worded as Tempo words it (1-based position), since clients may show it verbatim.
    #[error(
        "trace IDs can only contain hex characters: invalid character '{character}' at position {position}"
    )]
    NotHex { character: char, position: usize },
    #[error("trace IDs can't be larger than 128 bits")]
    TooLong,
}

/// The number of spans in `resource_spans`.
pub fn count_spans(resource_spans: &[ResourceSpans]) -> usize {
    resource_spans
        .iter()
        .flat_map(|resource_spans| &resource_spans.scope_spans)
        .map(|scope_spans| scope_spans.spans.len())
        .sum()
}

/// Keeps the spans `keep` says yes to (it sees them in request order and may change
/// them), then removes the scope spans and resource spans left empty.
pub fn retain_spans(
    request: &mut ExportTraceServiceRequest,
    mut keep: impl FnMut(&mut Span) -> bool,
) {
    for resource_spans in &mut request.resource_spans {
        for scope_spans in &mut resource_spans.scope_spans {
            scope_spans.spans.retain_mut(&mut keep);
        }
        resource_spans
            .scope_spans
            .retain(|scope_spans| !scope_spans.spans.is_empty());
    }
    request
        .resource_spans
        .retain(|resource_spans| !resource_spans.scope_spans.is_empty());
}

/// The resource attribute naming a span's service.
pub const SERVICE_NAME_KEY: &str = "service.name";

/// A resource's `service.name` (string value), or "".
pub fn service_name(resource_attributes: &[KeyValue]) -> &str {
    resource_attributes
        .iter()
        .find(|attribute| attribute.key == SERVICE_NAME_KEY)
        .and_then(|attribute| attribute.value.as_ref())
        .and_then(|value| match &value.value {
            Some(any_value::Value::StringValue(name)) => Some(name.as_str()),
            _ => None,
        })
        .unwrap_or("")
}

/// Decodes an OTLP/JSON export request; the error names the path of the problem.
pub fn decode_otlp_json(payload: &[u8]) -> Result<ExportTraceServiceRequest, String> {
    let mut deserializer = serde_json::Deserializer::from_slice(payload);
    serde_path_to_error::deserialize(&mut deserializer)
        .map_err(|error| format!("invalid OTLP JSON at `{}`: {}", error.path(), error.inner()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_like_tempo() {
        let full = TraceId::parse_hex("607AB1AA84091DDE6E9261F4E2D5BE04").unwrap();
        assert_eq!(full.to_hex(), "607ab1aa84091dde6e9261f4e2d5be04");
        let short = TraceId::parse_hex("abc").unwrap();
        assert_eq!(short.to_hex(), "00000000000000000000000000000abc");
        assert_eq!(
            TraceId::parse_hex("not-a-trace-id")
                .unwrap_err()
                .to_string(),
            "trace IDs can only contain hex characters: invalid character 'n' at position 1"
        );
        assert_eq!(
            TraceId::parse_hex(&"a".repeat(33)).unwrap_err(),
            TraceIdError::TooLong
        );
    }

    proptest! {
        #[test]
        fn hex_round_trips(bytes in proptest::array::uniform16(any::<u8>())) {
            let id = TraceId(bytes);
            prop_assert_eq!(TraceId::parse_hex(&id.to_hex()).unwrap(), id);
        }

        #[test]
        fn never_panics(text in "\\PC{0,40}") {
            let _ = TraceId::parse_hex(&text);
        }
    }
}
