//! Metric points → remote-write `TimeSeries`, then protobuf + snappy: a pure function
//! of a snapshot, so it is unit-tested without a receiver.
//!
//! The series are the ones `GET /metrics` shows in the Prometheus text format, by the
//! same naming contract (`crate::metrics::exposition`): a counter's point name is its sample
//! name (`traces_spanmetrics_calls_total`), a histogram is classic `_bucket{le}`
//! (cumulative, `+Inf` = count), `_sum` and `_count`, with `le` written as on
//! `/metrics`. Every series carries one sample stamped with the snapshot time.

use prost::Message;

use super::proto::{Exemplar as ProtoExemplar, Label, Sample, TimeSeries, WriteRequest};
use crate::metrics::exposition::{EXEMPLAR_TRACE_LABEL, exemplar_bucket, format_float};
use crate::model::{Exemplar, MetricPoint, MetricValue};

const NAME_LABEL: &str = "__name__";
const BUCKET_LABEL: &str = "le";

/// The series of `points`, each with one sample at `timestamp_ms`. `external_labels`
/// are added to every series that does not already have a label of that name (as
/// Prometheus does: the series' own label wins).
pub(super) fn time_series(
    points: &[MetricPoint],
    external_labels: &[(String, String)],
    timestamp_ms: i64,
) -> Vec<TimeSeries> {
    let mut series = Vec::with_capacity(points.len());
    for point in points {
        let one =
            |name: &str, le: Option<&str>, value: f64, exemplar: Option<&Exemplar>| TimeSeries {
                labels: series_labels(name, &point.labels, le, external_labels),
                samples: vec![Sample {
                    value,
                    timestamp: timestamp_ms,
                }],
                exemplars: exemplar.map(proto_exemplar).into_iter().collect(),
            };
        match &point.value {
            MetricValue::Counter(value) => {
                series.push(one(&point.name, None, *value, point.exemplar.as_ref()));
            }
            MetricValue::Gauge(value) => series.push(one(&point.name, None, *value, None)),
            MetricValue::Histogram {
                upper_bounds,
                bucket_counts,
                sum,
                count,
            } => {
                let bucket_name = format!("{}_bucket", point.name);
                let exemplar_index = point
                    .exemplar
                    .as_ref()
                    .map(|exemplar| exemplar_bucket(upper_bounds, exemplar.value));
                let exemplar_on = |index: usize| {
                    point
                        .exemplar
                        .as_ref()
                        .filter(|_| exemplar_index == Some(index))
                };
                for (index, bound) in upper_bounds.iter().enumerate() {
                    let cumulative = bucket_counts.get(index).copied().unwrap_or(*count);
                    series.push(one(
                        &bucket_name,
                        Some(&format_float(*bound)),
                        cumulative as f64,
                        exemplar_on(index),
                    ));
                }
                series.push(one(
                    &bucket_name,
                    Some("+Inf"),
                    *count as f64,
                    exemplar_on(upper_bounds.len()),
                ));
                series.push(one(&format!("{}_sum", point.name), None, *sum, None));
                series.push(one(
                    &format!("{}_count", point.name),
                    None,
                    *count as f64,
                    None,
                ));
            }
        }
    }
    series
}

/// `__name__`, the point's labels, `le`, then the external labels; sorted by name
/// (byte order, as the spec requires), the first of a duplicated name kept, empty
/// values left out (an empty value is the same as no label).
fn series_labels(
    name: &str,
    point_labels: &[(String, String)],
    le: Option<&str>,
    external_labels: &[(String, String)],
) -> Vec<Label> {
    let mut labels: Vec<Label> = Vec::with_capacity(point_labels.len() + 2);
    let mut add = |label_name: &str, value: &str| {
        if !value.is_empty() {
            labels.push(Label {
                name: label_name.to_owned(),
                value: value.to_owned(),
            });
        }
    };
    add(NAME_LABEL, name);
    if let Some(le) = le {
        add(BUCKET_LABEL, le);
    }
    for (label_name, value) in point_labels {
        add(label_name, value);
    }
    for (label_name, value) in external_labels {
        add(label_name, value);
    }
    // Stable: among equal names the one added first (series before external) stays.
    labels.sort_by(|a, b| a.name.cmp(&b.name));
    labels.dedup_by(|later, earlier| later.name == earlier.name);
    labels
}

fn proto_exemplar(exemplar: &Exemplar) -> ProtoExemplar {
    ProtoExemplar {
        labels: vec![Label {
            name: EXEMPLAR_TRACE_LABEL.to_owned(),
            value: hex::encode(exemplar.trace_id),
        }],
        value: exemplar.value,
        timestamp: (exemplar.time_unix_nanos / 1_000_000) as i64,
    }
}

/// One request body: the protobuf `WriteRequest`, snappy block-compressed (not the
/// framed format, as the spec requires).
pub(super) fn encode(series: Vec<TimeSeries>) -> Result<Vec<u8>, snap::Error> {
    let request = WriteRequest { timeseries: series };
    snap::raw::Encoder::new().compress_vec(&request.encode_to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn label_pairs(series: &TimeSeries) -> Vec<(&str, &str)> {
        series
            .labels
            .iter()
            .map(|l| (l.name.as_str(), l.value.as_str()))
            .collect()
    }

    fn exemplar(value: f64) -> Option<Exemplar> {
        Some(Exemplar {
            trace_id: [0xab; 16],
            span_id: [1; 8],
            value,
            time_unix_nanos: 1_700_000_000_500_000_000,
        })
    }

    const TRACE_HEX: &str = "abababababababababababababababab";
    const NOW_MS: i64 = 1_700_000_001_000;

    fn counter() -> MetricPoint {
        MetricPoint {
            name: "traces_spanmetrics_calls_total".into(),
            help: "Calls".into(),
            // Deliberately unsorted, with an uppercase name (sorts before `__name__`)
            // and an empty value (left out).
            labels: labels(&[
                ("span_name", "GET /cart"),
                ("service", "cart"),
                ("Zone", "eu"),
                ("status_message", ""),
            ]),
            value: MetricValue::Counter(3.0),
            exemplar: exemplar(0.2),
        }
    }

    fn histogram() -> MetricPoint {
        MetricPoint {
            name: "traces_spanmetrics_latency".into(),
            help: String::new(),
            labels: labels(&[("service", "cart")]),
            value: MetricValue::Histogram {
                upper_bounds: vec![0.1, 1.0],
                bucket_counts: vec![1, 2],
                sum: 1.5,
                count: 3,
            },
            exemplar: exemplar(0.5),
        }
    }

    #[test]
    fn counter_series_has_sorted_labels_its_sample_name_and_the_exemplar() {
        let series = time_series(&[counter()], &[], NOW_MS);
        assert_eq!(series.len(), 1);
        assert_eq!(
            label_pairs(&series[0]),
            vec![
                ("Zone", "eu"),
                ("__name__", "traces_spanmetrics_calls_total"),
                ("service", "cart"),
                ("span_name", "GET /cart"),
            ]
        );
        assert_eq!(
            series[0].samples,
            vec![Sample {
                value: 3.0,
                timestamp: NOW_MS
            }]
        );
        assert_eq!(
            series[0].exemplars,
            vec![ProtoExemplar {
                labels: vec![Label {
                    name: "traceID".into(),
                    value: TRACE_HEX.into()
                }],
                value: 0.2,
                timestamp: 1_700_000_000_500,
            }]
        );
    }

    #[test]
    fn histogram_is_classic_buckets_sum_and_count_with_the_exemplar_on_its_bucket() {
        let series = time_series(&[histogram()], &[], NOW_MS);
        let rendered: Vec<(String, Option<String>, f64, usize)> = series
            .iter()
            .map(|s| {
                let label = |name: &str| {
                    s.labels
                        .iter()
                        .find(|l| l.name == name)
                        .map(|l| l.value.clone())
                };
                (
                    label("__name__").unwrap(),
                    label("le"),
                    s.samples[0].value,
                    s.exemplars.len(),
                )
            })
            .collect();
        let bucket = "traces_spanmetrics_latency_bucket".to_owned();
        assert_eq!(
            rendered,
            vec![
                (bucket.clone(), Some("0.1".into()), 1.0, 0),
                // 0.5 falls in le="1", not le="0.1".
                (bucket.clone(), Some("1".into()), 2.0, 1),
                (bucket, Some("+Inf".into()), 3.0, 0),
                ("traces_spanmetrics_latency_sum".into(), None, 1.5, 0),
                ("traces_spanmetrics_latency_count".into(), None, 3.0, 0),
            ]
        );
        // Every series' labels are sorted by name, `le` included.
        for one in &series {
            let names: Vec<&str> = one.labels.iter().map(|l| l.name.as_str()).collect();
            let mut sorted = names.clone();
            sorted.sort_unstable();
            assert_eq!(names, sorted);
        }
        assert_eq!(
            label_pairs(&series[0]),
            vec![
                ("__name__", "traces_spanmetrics_latency_bucket"),
                ("le", "0.1"),
                ("service", "cart"),
            ]
        );
    }

    #[test]
    fn exemplar_above_every_bound_goes_on_the_inf_bucket() {
        let mut point = histogram();
        point.exemplar = exemplar(7.0);
        let series = time_series(&[point], &[], NOW_MS);
        let with_exemplar: Vec<&str> = series
            .iter()
            .filter(|s| !s.exemplars.is_empty())
            .filter_map(|s| s.labels.iter().find(|l| l.name == "le"))
            .map(|l| l.value.as_str())
            .collect();
        assert_eq!(with_exemplar, vec!["+Inf"]);
    }

    #[test]
    fn external_labels_are_added_sorted_and_never_override_the_series() {
        let external = labels(&[("cluster", "prod"), ("service", "external"), ("a", "1")]);
        let series = time_series(&[counter()], &external, NOW_MS);
        assert_eq!(
            label_pairs(&series[0]),
            vec![
                ("Zone", "eu"),
                ("__name__", "traces_spanmetrics_calls_total"),
                ("a", "1"),
                ("cluster", "prod"),
                ("service", "cart"),
                ("span_name", "GET /cart"),
            ]
        );
        let gauge = MetricPoint {
            name: "spangate_metrics_generator_registry_active_series".into(),
            help: String::new(),
            labels: vec![],
            value: MetricValue::Gauge(4.0),
            exemplar: exemplar(1.0),
        };
        let series = time_series(&[gauge], &external, NOW_MS);
        assert_eq!(series[0].labels.len(), 4);
        assert!(series[0].exemplars.is_empty(), "gauges carry no exemplars");
    }

    #[test]
    fn body_is_a_snappy_block_that_decodes_to_the_same_request() {
        let series = time_series(&[counter(), histogram()], &[], NOW_MS);
        let body = encode(series.clone()).unwrap();
        // Block format: no stream identifier chunk (the framed format starts with 0xff).
        assert_ne!(body.first(), Some(&0xff));
        let raw = snap::raw::Decoder::new().decompress_vec(&body).unwrap();
        let decoded = WriteRequest::decode(raw.as_slice()).unwrap();
        assert_eq!(decoded.timeseries, series);
        assert_eq!(decoded.timeseries.len(), 6);
    }
}
