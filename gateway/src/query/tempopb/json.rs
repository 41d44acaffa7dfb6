//! Tempo's JSON for the `tempopb` messages: gogo `jsonpb.Marshaler{}` with default
//! options. Fields in declaration order under their proto JSON names, default values
//! (0, "", empty lists and maps, unset messages) omitted, 64-bit integers as strings,
//! 32-bit ones and doubles as numbers (NaN and infinities as strings), enums by name.
//! A set message is written even when all its fields are default: `"metrics": {}`.

use serde::Serialize;
use serde::ser::{SerializeMap, SerializeSeq, Serializer};

use super::messages::{
    Exemplar, InstantSeries, MetadataMetrics, PartialStatus, QueryInstantResponse,
    QueryRangeResponse, Sample, SearchMetrics, SearchResponse, SearchTagValuesResponse,
    SearchTagValuesV2Response, SearchTagsResponse, SearchTagsV2Response, SearchTagsV2Scope,
    ServiceStats, Span, SpanSet, TagValue, TimeSeries, TraceSearchMetadata,
};
use crate::model::KeyValue;
use crate::query::tempo_json::{DoubleJson, KeyValueJson};

/// Writes one message's fields, skipping defaults as jsonpb does.
struct Fields<M>(M);

impl<M: SerializeMap> Fields<M> {
    fn string(&mut self, key: &'static str, value: &str) -> Result<(), M::Error> {
        if value.is_empty() {
            return Ok(());
        }
        self.0.serialize_entry(key, value)
    }

    fn uint32(&mut self, key: &'static str, value: u32) -> Result<(), M::Error> {
        if value == 0 {
            return Ok(());
        }
        self.0.serialize_entry(key, &value)
    }

    /// uint64/int64 are JSON strings in proto3 JSON.
    fn int64(&mut self, key: &'static str, value: impl Into<i128>) -> Result<(), M::Error> {
        let value = value.into();
        if value == 0 {
            return Ok(());
        }
        self.0.serialize_entry(key, &value.to_string())
    }

    fn double(&mut self, key: &'static str, value: f64) -> Result<(), M::Error> {
        // `-0.0 == 0.0`, so negative zero is omitted too, as in Go.
        if value == 0.0 {
            return Ok(());
        }
        self.0.serialize_entry(key, &DoubleJson(value))
    }

    fn list<T: Serialize>(&mut self, key: &'static str, items: &[T]) -> Result<(), M::Error> {
        if items.is_empty() {
            return Ok(());
        }
        self.0.serialize_entry(key, items)
    }

    fn attributes(&mut self, key: &'static str, items: &[KeyValue]) -> Result<(), M::Error> {
        if items.is_empty() {
            return Ok(());
        }
        self.0.serialize_entry(key, &Attributes(items))
    }

    fn message<T: Serialize>(
        &mut self,
        key: &'static str,
        value: Option<&T>,
    ) -> Result<(), M::Error> {
        match value {
            Some(value) => self.0.serialize_entry(key, value),
            None => Ok(()),
        }
    }

    fn status(&mut self, value: i32) -> Result<(), M::Error> {
        match PartialStatus::try_from(value) {
            Ok(PartialStatus::Complete) => Ok(()),
            Ok(PartialStatus::Partial) => self.0.serialize_entry("status", "PARTIAL"),
            // jsonpb writes an unknown enum value as its number.
            Err(_) => self.0.serialize_entry("status", &value),
        }
    }

    fn end(self) -> Result<M::Ok, M::Error> {
        self.0.end()
    }
}

fn fields<S: Serializer>(serializer: S) -> Result<Fields<S::SerializeMap>, S::Error> {
    Ok(Fields(serializer.serialize_map(None)?))
}

impl Serialize for SearchResponse {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = fields(serializer)?;
        map.list("traces", &self.traces)?;
        map.message("metrics", self.metrics.as_ref())?;
        map.end()
    }
}

impl Serialize for TraceSearchMetadata {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = fields(serializer)?;
        map.string("traceID", &self.trace_id)?;
        map.string("rootServiceName", &self.root_service_name)?;
        map.string("rootTraceName", &self.root_trace_name)?;
        map.int64("startTimeUnixNano", self.start_time_unix_nano)?;
        map.uint32("durationMs", self.duration_ms)?;
        map.message("spanSet", self.span_set.as_ref())?;
        map.list("spanSets", &self.span_sets)?;
        if !self.service_stats.is_empty() {
            map.0.serialize_entry("serviceStats", &self.service_stats)?;
        }
        map.end()
    }
}

impl Serialize for ServiceStats {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = fields(serializer)?;
        map.uint32("spanCount", self.span_count)?;
        map.uint32("errorCount", self.error_count)?;
        map.end()
    }
}

impl Serialize for SpanSet {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = fields(serializer)?;
        map.list("spans", &self.spans)?;
        map.uint32("matched", self.matched)?;
        map.attributes("attributes", &self.attributes)?;
        map.end()
    }
}

impl Serialize for Span {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = fields(serializer)?;
        map.string("spanID", &self.span_id)?;
        map.string("name", &self.name)?;
        map.int64("startTimeUnixNano", self.start_time_unix_nano)?;
        map.int64("durationNanos", self.duration_nanos)?;
        map.attributes("attributes", &self.attributes)?;
        map.end()
    }
}

impl Serialize for SearchMetrics {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = fields(serializer)?;
        map.uint32("inspectedTraces", self.inspected_traces)?;
        map.int64("inspectedBytes", self.inspected_bytes)?;
        map.uint32("totalBlocks", self.total_blocks)?;
        map.uint32("completedJobs", self.completed_jobs)?;
        map.uint32("totalJobs", self.total_jobs)?;
        map.int64("totalBlockBytes", self.total_block_bytes)?;
        map.int64("inspectedSpans", self.inspected_spans)?;
        map.end()
    }
}

impl Serialize for SearchTagsResponse {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = fields(serializer)?;
        map.list("tagNames", &self.tag_names)?;
        map.message("metrics", self.metrics.as_ref())?;
        map.end()
    }
}

impl Serialize for SearchTagsV2Response {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = fields(serializer)?;
        map.list("scopes", &self.scopes)?;
        map.message("metrics", self.metrics.as_ref())?;
        map.end()
    }
}

impl Serialize for SearchTagsV2Scope {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = fields(serializer)?;
        map.string("name", &self.name)?;
        map.list("tags", &self.tags)?;
        map.end()
    }
}

impl Serialize for SearchTagValuesResponse {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = fields(serializer)?;
        map.list("tagValues", &self.tag_values)?;
        map.message("metrics", self.metrics.as_ref())?;
        map.end()
    }
}

impl Serialize for SearchTagValuesV2Response {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = fields(serializer)?;
        map.list("tagValues", &self.tag_values)?;
        map.message("metrics", self.metrics.as_ref())?;
        map.end()
    }
}

impl Serialize for TagValue {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = fields(serializer)?;
        map.string("type", &self.r#type)?;
        map.string("value", &self.value)?;
        map.end()
    }
}

impl Serialize for MetadataMetrics {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = fields(serializer)?;
        map.int64("inspectedBytes", self.inspected_bytes)?;
        map.uint32("totalJobs", self.total_jobs)?;
        map.uint32("completedJobs", self.completed_jobs)?;
        map.uint32("totalBlocks", self.total_blocks)?;
        map.int64("totalBlockBytes", self.total_block_bytes)?;
        map.end()
    }
}

impl Serialize for QueryRangeResponse {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = fields(serializer)?;
        map.list("series", &self.series)?;
        map.message("metrics", self.metrics.as_ref())?;
        map.status(self.status)?;
        map.string("message", &self.message)?;
        map.end()
    }
}

impl Serialize for TimeSeries {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = fields(serializer)?;
        map.attributes("labels", &self.labels)?;
        map.list("samples", &self.samples)?;
        map.list("exemplars", &self.exemplars)?;
        map.end()
    }
}

impl Serialize for Sample {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        // Declaration order in tempo.proto: timestamp_ms first, though its tag is 2.
        let mut map = fields(serializer)?;
        map.int64("timestampMs", self.timestamp_ms)?;
        map.double("value", self.value)?;
        map.end()
    }
}

impl Serialize for Exemplar {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = fields(serializer)?;
        map.attributes("labels", &self.labels)?;
        map.double("value", self.value)?;
        map.int64("timestampMs", self.timestamp_ms)?;
        map.end()
    }
}

impl Serialize for QueryInstantResponse {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = fields(serializer)?;
        map.list("series", &self.series)?;
        map.message("metrics", self.metrics.as_ref())?;
        map.status(self.status)?;
        map.string("message", &self.message)?;
        map.end()
    }
}

impl Serialize for InstantSeries {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = fields(serializer)?;
        map.attributes("labels", &self.labels)?;
        map.double("value", self.value)?;
        map.end()
    }
}

/// `tempopb.common.v1.KeyValue` list, each written as the trace JSON writes it.
struct Attributes<'a>(&'a [KeyValue]);

impl Serialize for Attributes<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(self.0.len()))?;
        for attribute in self.0 {
            seq.serialize_element(&KeyValueJson(attribute))?;
        }
        seq.end()
    }
}
