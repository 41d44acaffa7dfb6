//! The component glue: the SDK's [`Metrics`] over [`SpanMetrics`].
//!
//! * `init` parses the config (refusing it with the dotted key path) and declares exactly what
//!   the enabled processors read ([`SpanMetrics::reads`]).
//! * `observe` reads every span of the batch in place through [`SpanSource`] on the SDK's span
//!   view (nothing is copied per span), at the host's clock. Half edges of the service graph
//!   wait in the plugin's state across batches; at most every [`EXPIRE_EVERY_NANOS`] (Tempo's
//!   2 s ticker) `observe` also resolves the expired ones.
//! * `collect(now)` expires, then returns every series as a [`MetricPoint`]: counters named
//!   with `_total`, histograms by base name with cumulative buckets (the host adds `+Inf` =
//!   count and renders `_bucket`/`_sum`/`_count`), and at most one exemplar per point, the
//!   most recent.

use std::borrow::Cow;

use spangate_plugin_sdk::batch::{Attributes, SpanBatch, SpanView, Value as SdkValue};
use spangate_plugin_sdk::{
    AttributeSelection, Exemplar as WitExemplar, HistogramValue as WitHistogram, MetricPoint,
    MetricValue, Metrics, Needs, SpanFields, SpanKind as WitSpanKind, StatusCode as WitStatusCode,
    host, needs,
};

use crate::model::{
    AttrRef, AttrValue, Attribute, SpanId, SpanKind, SpanSource, StatusCode, TraceId,
};
use crate::series::{Exemplar, Series, Value};
use crate::{Config, Reads, SpanMetrics};

/// The plugin name declared to the host.
pub const PLUGIN_NAME: &str = "span-metrics";

/// How often `observe` resolves expired half edges and stale series (Tempo's ticker).
pub const EXPIRE_EVERY_NANOS: u64 = 2_000_000_000;

/// The span-metrics plugin's state inside the component.
pub struct SpanMetricsPlugin {
    metrics: SpanMetrics,
    needs: Needs,
    last_expire: u64,
}

impl Metrics for SpanMetricsPlugin {
    fn init(config: &str) -> Result<(Self, Needs), String> {
        let config = Config::parse(config).map_err(|error| error.to_string())?;
        let metrics = SpanMetrics::new(config).map_err(|error| error.to_string())?;
        let needs = needs(&metrics.reads());
        Ok((
            SpanMetricsPlugin {
                metrics,
                needs: needs.clone(),
                last_expire: 0,
            },
            needs,
        ))
    }

    fn observe(&mut self, batch: &SpanBatch) -> Result<(), String> {
        let now = host::now_unix_nanos();
        for view in batch.spans() {
            self.metrics
                .observe(&BatchSpan::new(view, &self.needs), now);
        }
        if now.saturating_sub(self.last_expire) >= EXPIRE_EVERY_NANOS {
            self.metrics.expire(now);
            self.last_expire = now;
        }
        Ok(())
    }

    fn collect(&mut self, now_unix_nanos: u64) -> Vec<MetricPoint> {
        self.metrics.expire(now_unix_nanos);
        self.last_expire = self.last_expire.max(now_unix_nanos);
        self.metrics
            .snapshot()
            .into_iter()
            .map(metric_point)
            .collect()
    }
}

/// The declared needs: the fields and attribute keys the processors read, nothing more.
pub fn needs(reads: &Reads) -> Needs {
    let mut fields = SpanFields::empty();
    for (read, field) in [
        (reads.trace_id, SpanFields::TRACE_ID),
        (reads.span_id, SpanFields::SPAN_ID),
        (reads.parent_span_id, SpanFields::PARENT_SPAN_ID),
        (reads.service_name, SpanFields::SERVICE_NAME),
        (reads.name, SpanFields::NAME),
        (reads.kind, SpanFields::KIND),
        (reads.times, SpanFields::TIMES),
        (reads.status, SpanFields::STATUS),
        (reads.status_message, SpanFields::STATUS_MESSAGE),
        (reads.size, SpanFields::SIZE),
    ] {
        if read {
            fields |= field;
        }
    }
    needs!(PLUGIN_NAME)
        .fields(fields)
        .span_attributes(AttributeSelection::keys_or_none(&reads.span_keys))
        .resource_attributes(AttributeSelection::keys_or_none(&reads.resource_keys))
}

/// One series as the host's renderer takes it.
fn metric_point(series: Series) -> MetricPoint {
    let (value, exemplar) = match series.value {
        Value::Counter { value, exemplar } => (MetricValue::Counter(value), exemplar),
        Value::Gauge(value) => (MetricValue::Gauge(value), None),
        Value::Histogram(histogram) => {
            // The last bucket is `+Inf`, which the host derives from `count`.
            let finite = &histogram.buckets[..histogram.buckets.len().saturating_sub(1)];
            let exemplar = histogram
                .buckets
                .iter()
                .filter_map(|bucket| bucket.exemplar.as_ref())
                .max_by_key(|exemplar| exemplar.timestamp_unix_nanos)
                .cloned();
            let value = MetricValue::Histogram(WitHistogram {
                upper_bounds: finite.iter().map(|bucket| bucket.le).collect(),
                bucket_counts: finite
                    .iter()
                    .map(|bucket| bucket.cumulative_count)
                    .collect(),
                sum: histogram.sum,
                count: histogram.count,
            });
            (value, exemplar)
        }
    };
    MetricPoint {
        name: series.name.to_owned(),
        help: series.help.to_owned(),
        labels: series.labels,
        value,
        exemplar: exemplar.as_ref().map(wit_exemplar),
    }
}

fn wit_exemplar(exemplar: &Exemplar) -> WitExemplar {
    let trace_id = u128::from_be_bytes(exemplar.trace_id.0);
    WitExemplar {
        trace_id_hi: (trace_id >> 64) as u64,
        trace_id_lo: trace_id as u64,
        span_id: u64::from_be_bytes(exemplar.span_id.0),
        value: exemplar.value,
        time_unix_nanos: exemplar.timestamp_unix_nanos,
    }
}

/// A span of the batch as the processors read it: the SDK's view, read on demand (each
/// read indexes a column; the processors read only what [`needs`] declared), with the two
/// attribute lists, which label lookups search again and again, located once.
pub struct BatchSpan<'a> {
    view: SpanView<'a>,
    attributes: Option<Attributes<'a>>,
    resource_attributes: Option<Attributes<'a>>,
}

impl<'a> BatchSpan<'a> {
    /// `needs`: what the plugin declared, so undeclared attribute lists are not located.
    pub fn new(view: SpanView<'a>, needs: &Needs) -> Self {
        let declared = |selection: &AttributeSelection| *selection != AttributeSelection::None;
        BatchSpan {
            attributes: declared(&needs.span_attributes).then(|| view.attributes()),
            resource_attributes: declared(&needs.resource_attributes)
                .then(|| view.resource_attributes()),
            view,
        }
    }
}

impl SpanSource for BatchSpan<'_> {
    fn trace_id(&self) -> TraceId {
        TraceId(self.view.trace_id_bytes())
    }

    fn span_id(&self) -> SpanId {
        SpanId(self.view.span_id_bytes())
    }

    fn parent(&self) -> Option<SpanId> {
        self.view
            .parent_span_id()
            .map(|parent| SpanId(parent.to_be_bytes()))
    }

    fn name(&self) -> &str {
        self.view.name()
    }

    fn kind(&self) -> SpanKind {
        match self.view.kind() {
            WitSpanKind::Unspecified => SpanKind::Unspecified,
            WitSpanKind::Internal => SpanKind::Internal,
            WitSpanKind::Server => SpanKind::Server,
            WitSpanKind::Client => SpanKind::Client,
            WitSpanKind::Producer => SpanKind::Producer,
            WitSpanKind::Consumer => SpanKind::Consumer,
        }
    }

    fn status_code(&self) -> StatusCode {
        match self.view.status() {
            WitStatusCode::Unset => StatusCode::Unset,
            WitStatusCode::Ok => StatusCode::Ok,
            WitStatusCode::Error => StatusCode::Error,
        }
    }

    fn status_message(&self) -> &str {
        self.view.status_message()
    }

    fn start_unix_nanos(&self) -> u64 {
        self.view.start_unix_nanos()
    }

    fn end_unix_nanos(&self) -> u64 {
        self.view.end_unix_nanos()
    }

    fn encoded_size(&self) -> u64 {
        u64::from(self.view.size())
    }

    /// The host's service name column; empty means the resource has none.
    fn service_name(&self) -> Option<AttrRef<'_>> {
        Some(self.view.service_name())
            .filter(|name| !name.is_empty())
            .map(AttrRef::Str)
    }

    fn resource_attribute(&self, key: &str) -> Option<AttrRef<'_>> {
        self.resource_attributes.as_ref()?.get(key).map(attr_ref)
    }

    fn span_attribute(&self, key: &str) -> Option<AttrRef<'_>> {
        self.attributes.as_ref()?.get(key).map(attr_ref)
    }
}

fn attr_ref(value: SdkValue<'_>) -> AttrRef<'_> {
    match value {
        SdkValue::Str(text) => AttrRef::Str(text),
        SdkValue::Int(number) => AttrRef::Int(number),
        SdkValue::Double(number) => AttrRef::Double(number),
        SdkValue::Bool(flag) => AttrRef::Bool(flag),
        SdkValue::Json(text) => AttrRef::Value(Cow::Owned(value_from_json(text))),
    }
}

/// An array, map or bytes value from its JSON text, for Tempo's stringification (`[ab]`,
/// `{k:v}`); text that is not JSON is taken as a string.
fn value_from_json(text: &str) -> AttrValue {
    match serde_json::from_str::<serde_json::Value>(text) {
        Ok(json) => from_json_value(json),
        Err(_) => AttrValue::Str(text.to_owned()),
    }
}

fn from_json_value(json: serde_json::Value) -> AttrValue {
    match json {
        serde_json::Value::Null => AttrValue::Str(String::new()),
        serde_json::Value::Bool(flag) => AttrValue::Bool(flag),
        serde_json::Value::Number(number) => match number.as_i64() {
            Some(int) => AttrValue::Int(int),
            None => AttrValue::Double(number.as_f64().unwrap_or(f64::NAN)),
        },
        serde_json::Value::String(text) => AttrValue::Str(text),
        serde_json::Value::Array(items) => {
            AttrValue::Array(items.into_iter().map(from_json_value).collect())
        }
        serde_json::Value::Object(entries) => AttrValue::KvList(
            entries
                .into_iter()
                .map(|(key, item)| Attribute {
                    key,
                    value: from_json_value(item),
                })
                .collect(),
        ),
    }
}

#[cfg(test)]
mod tests;
