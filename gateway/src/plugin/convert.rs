//! Conversions between the WIT types and the host's: what a plugin declared at `init`
//! (checked once, turned into fast lookups), tail settings and metric points.

use std::collections::HashMap;
use std::time::Duration;

use super::PluginInfo;
use super::bindings::wit;
use crate::model::{
    Exemplar, MetricPoint, MetricValue, TailSettings, is_label_name, is_metric_name,
};

/// What a plugin reads, as the host uses it on every batch.
#[derive(Debug)]
pub(super) struct Needs {
    pub(super) fields: wit::SpanFields,
    pub(super) span_attributes: Selection,
    pub(super) resource_attributes: Selection,
    pub(super) event_attributes: Selection,
    pub(super) link_attributes: Selection,
}

/// Which attributes of one kind (span, resource, event, link) a plugin reads.
#[derive(Debug)]
pub(super) enum Selection {
    None,
    Keys(KeySet),
    AllStrings,
    All,
}

impl Selection {
    fn from_wit(selection: &wit::AttributeSelection) -> Selection {
        match selection {
            wit::AttributeSelection::None => Selection::None,
            wit::AttributeSelection::Keys(keys) => Selection::Keys(KeySet::new(keys)),
            wit::AttributeSelection::AllStrings => Selection::AllStrings,
            wit::AttributeSelection::All => Selection::All,
        }
    }

    pub(super) fn is_none(&self) -> bool {
        matches!(self, Selection::None)
    }

    fn describe(&self) -> String {
        match self {
            Selection::None => "none".to_owned(),
            Selection::Keys(keys) => format!("keys [{}]", keys.keys.join(", ")),
            Selection::AllStrings => "all string-valued".to_owned(),
            Selection::All => "all".to_owned(),
        }
    }
}

/// Declared attribute keys; `lookup` gives a key's position in the declaration.
#[derive(Debug)]
pub(super) struct KeySet {
    keys: Vec<String>,
    /// Only for long lists: a short one is scanned faster than it is hashed.
    index: Option<HashMap<String, u32, FastHash>>,
}

const KEY_SCAN_MAX: usize = 8;

pub(super) use crate::fx_hash::FastHash;

impl KeySet {
    pub(super) fn new(declared: &[String]) -> KeySet {
        let mut keys: Vec<String> = Vec::with_capacity(declared.len());
        for key in declared {
            if !keys.contains(key) {
                keys.push(key.clone());
            }
        }
        let index = (keys.len() > KEY_SCAN_MAX).then(|| {
            keys.iter()
                .enumerate()
                .map(|(position, key)| (key.clone(), position as u32))
                .collect()
        });
        KeySet { keys, index }
    }

    pub(super) fn len(&self) -> usize {
        self.keys.len()
    }

    #[inline]
    pub(super) fn lookup(&self, key: &str) -> Option<u32> {
        match &self.index {
            Some(index) => index.get(key).copied(),
            None => self
                .keys
                .iter()
                .position(|declared| declared == key)
                .map(|position| position as u32),
        }
    }
}

pub(super) const FIELD_NAMES: [(wit::SpanFields, &str); 11] = [
    (wit::SpanFields::TRACE_ID, "trace-id"),
    (wit::SpanFields::SPAN_ID, "span-id"),
    (wit::SpanFields::PARENT_SPAN_ID, "parent-span-id"),
    (wit::SpanFields::SERVICE_NAME, "service-name"),
    (wit::SpanFields::NAME, "name"),
    (wit::SpanFields::KIND, "kind"),
    (wit::SpanFields::TIMES, "times"),
    (wit::SpanFields::STATUS, "status"),
    (wit::SpanFields::STATUS_MESSAGE, "status-message"),
    (wit::SpanFields::SIZE, "size"),
    (wit::SpanFields::EVENT_NAMES, "event-names"),
];

impl Needs {
    pub(super) fn from_wit(needs: &wit::Needs) -> Needs {
        Needs {
            fields: needs.fields,
            span_attributes: Selection::from_wit(&needs.span_attributes),
            resource_attributes: Selection::from_wit(&needs.resource_attributes),
            event_attributes: Selection::from_wit(&needs.event_attributes),
            link_attributes: Selection::from_wit(&needs.link_attributes),
        }
    }

    #[inline]
    pub(super) fn has(&self, field: wit::SpanFields) -> bool {
        self.fields.contains(field)
    }

    /// For humans: `fields: name, service-name; span attributes: keys [a]; ...`.
    pub(super) fn describe(&self) -> String {
        let fields: Vec<&str> = FIELD_NAMES
            .iter()
            .filter(|(flag, _)| self.has(*flag))
            .map(|(_, name)| *name)
            .collect();
        format!(
            "fields: {}; span attributes: {}; resource attributes: {}; event attributes: {}; link attributes: {}",
            if fields.is_empty() {
                "none".to_owned()
            } else {
                fields.join(", ")
            },
            self.span_attributes.describe(),
            self.resource_attributes.describe(),
            self.event_attributes.describe(),
            self.link_attributes.describe(),
        )
    }
}

pub(super) fn plugin_info(needs: &wit::Needs) -> PluginInfo {
    PluginInfo {
        name: needs.name.clone(),
        version: needs.version.clone(),
        needs: Needs::from_wit(needs).describe(),
    }
}

pub(super) fn tail_settings(settings: &wit::TailSettings) -> Result<TailSettings, String> {
    if settings.max_traces == 0 || settings.max_spans_per_trace == 0 {
        return Err(format!(
            "tail settings need max-traces and max-spans-per-trace above 0 (got {} and {})",
            settings.max_traces, settings.max_spans_per_trace
        ));
    }
    Ok(TailSettings {
        decision_wait: Duration::from_millis(settings.decision_wait_millis),
        max_traces: settings.max_traces as usize,
        max_spans_per_trace: settings.max_spans_per_trace as usize,
    })
}

pub(super) fn trace_id_bytes(hi: u64, lo: u64) -> [u8; 16] {
    let mut id = [0u8; 16];
    id[..8].copy_from_slice(&hi.to_be_bytes());
    id[8..].copy_from_slice(&lo.to_be_bytes());
    id
}

/// Checks and converts a `collect` answer; one bad point makes the whole answer invalid.
pub(super) fn metric_points(points: Vec<wit::MetricPoint>) -> Result<Vec<MetricPoint>, String> {
    points
        .into_iter()
        .map(|point| {
            check_metric_point(&point)
                .map_err(|reason| format!("metric `{}`: {reason}", point.name))?;
            Ok(MetricPoint {
                value: match point.value {
                    wit::MetricValue::Counter(value) => MetricValue::Counter(value),
                    wit::MetricValue::Gauge(value) => MetricValue::Gauge(value),
                    wit::MetricValue::Histogram(histogram) => MetricValue::Histogram {
                        upper_bounds: histogram.upper_bounds,
                        bucket_counts: histogram.bucket_counts,
                        sum: histogram.sum,
                        count: histogram.count,
                    },
                },
                exemplar: point.exemplar.map(|exemplar| Exemplar {
                    trace_id: trace_id_bytes(exemplar.trace_id_hi, exemplar.trace_id_lo),
                    span_id: exemplar.span_id.to_be_bytes(),
                    value: exemplar.value,
                    time_unix_nanos: exemplar.time_unix_nanos,
                }),
                name: point.name,
                help: point.help,
                labels: point.labels,
            })
        })
        .collect()
}

/// What Prometheus' text format needs to stay parseable.
fn check_metric_point(point: &wit::MetricPoint) -> Result<(), String> {
    if !is_metric_name(&point.name) {
        return Err("the name is not a valid metric name ([a-zA-Z_:][a-zA-Z0-9_:]*)".to_owned());
    }
    for (position, (name, _)) in point.labels.iter().enumerate() {
        if !is_label_name(name) {
            return Err(format!(
                "label `{name}` is not a valid label name ([a-zA-Z_][a-zA-Z0-9_]*)"
            ));
        }
        if point.labels[..position]
            .iter()
            .any(|(earlier, _)| earlier == name)
        {
            return Err(format!("label `{name}` appears twice"));
        }
    }
    match &point.value {
        wit::MetricValue::Counter(value) if !(value.is_finite() && *value >= 0.0) => Err(format!(
            "counter value {value} is not a finite non-negative number"
        )),
        wit::MetricValue::Histogram(histogram) => {
            if histogram.upper_bounds.len() != histogram.bucket_counts.len() {
                return Err(format!(
                    "{} upper bounds but {} bucket counts",
                    histogram.upper_bounds.len(),
                    histogram.bucket_counts.len()
                ));
            }
            if histogram.upper_bounds.iter().any(|bound| bound.is_nan())
                || histogram
                    .upper_bounds
                    .windows(2)
                    .any(|pair| pair[0] >= pair[1])
            {
                return Err("upper bounds are not strictly increasing".to_owned());
            }
            if histogram
                .bucket_counts
                .windows(2)
                .any(|pair| pair[0] > pair[1])
                || histogram
                    .bucket_counts
                    .last()
                    .is_some_and(|&last| last > histogram.count)
            {
                return Err(
                    "bucket counts are not cumulative (non-decreasing, at most count)".to_owned(),
                );
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(name: &str, value: wit::MetricValue) -> wit::MetricPoint {
        wit::MetricPoint {
            name: name.to_owned(),
            help: String::new(),
            labels: vec![("service".to_owned(), "a".to_owned())],
            value,
            exemplar: None,
        }
    }

    fn histogram(bounds: Vec<f64>, counts: Vec<u64>, count: u64) -> wit::MetricValue {
        wit::MetricValue::Histogram(wit::HistogramValue {
            upper_bounds: bounds,
            bucket_counts: counts,
            sum: 1.0,
            count,
        })
    }

    #[test]
    fn metric_points_are_checked() {
        let good = metric_points(vec![
            point("spans_total", wit::MetricValue::Counter(3.0)),
            point("latency", histogram(vec![0.1, 1.0], vec![1, 2], 3)),
        ])
        .unwrap();
        assert_eq!(good.len(), 2);
        let bad = [
            point("1bad", wit::MetricValue::Counter(1.0)),
            point("neg", wit::MetricValue::Counter(-1.0)),
            point("nan", wit::MetricValue::Counter(f64::NAN)),
            point("h", histogram(vec![0.1], vec![1, 2], 3)),
            point("h", histogram(vec![1.0, 0.1], vec![1, 2], 3)),
            point("h", histogram(vec![0.1, 1.0], vec![2, 1], 3)),
            point("h", histogram(vec![0.1, 1.0], vec![1, 4], 3)),
        ];
        for bad_point in bad {
            let name = bad_point.name.clone();
            assert!(metric_points(vec![bad_point]).is_err(), "{name} accepted");
        }
        let mut twice = point("x", wit::MetricValue::Gauge(f64::NAN));
        twice.labels.push(("service".to_owned(), "b".to_owned()));
        assert!(metric_points(vec![twice]).is_err());
        let mut bad_label = point("x", wit::MetricValue::Gauge(1.0));
        bad_label.labels[0].0 = "a-b".to_owned();
        assert!(metric_points(vec![bad_label]).is_err());
    }

    #[test]
    fn exemplar_ids_are_big_endian() {
        let mut with_exemplar = point("x", wit::MetricValue::Gauge(1.0));
        with_exemplar.exemplar = Some(wit::Exemplar {
            trace_id_hi: 0x0102030405060708,
            trace_id_lo: 0x090a0b0c0d0e0f10,
            span_id: 0x1112131415161718,
            value: 2.5,
            time_unix_nanos: 7,
        });
        let converted = metric_points(vec![with_exemplar]).unwrap();
        let exemplar = converted[0].exemplar.unwrap();
        assert_eq!(
            exemplar.trace_id,
            [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16]
        );
        assert_eq!(
            exemplar.span_id,
            [0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18]
        );
    }

    #[test]
    fn key_sets_find_declared_positions_short_and_long() {
        let short = KeySet::new(&["a".to_owned(), "b".to_owned(), "a".to_owned()]);
        assert_eq!(short.len(), 2);
        assert_eq!(short.lookup("b"), Some(1));
        assert_eq!(short.lookup("c"), None);
        let many: Vec<String> = (0..20).map(|i| format!("k{i}")).collect();
        let long = KeySet::new(&many);
        assert_eq!(long.lookup("k13"), Some(13));
        assert_eq!(long.lookup("k20"), None);
    }

    #[test]
    fn needs_are_described_for_humans() {
        let needs = Needs::from_wit(&wit::Needs {
            name: "n".to_owned(),
            version: "1".to_owned(),
            fields: wit::SpanFields::NAME | wit::SpanFields::SERVICE_NAME,
            span_attributes: wit::AttributeSelection::Keys(vec!["http.url".to_owned()]),
            resource_attributes: wit::AttributeSelection::None,
            event_attributes: wit::AttributeSelection::AllStrings,
            link_attributes: wit::AttributeSelection::All,
        });
        assert_eq!(
            needs.describe(),
            "fields: service-name, name; span attributes: keys [http.url]; resource attributes: none; \
             event attributes: all string-valued; link attributes: all"
        );
    }
}
