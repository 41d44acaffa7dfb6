//! Renders metric points — the gateway's own and those of metrics plugins — for
//! `GET /metrics`: the Prometheus text format 0.0.4, or OpenMetrics 1.0 (with
//! exemplars) when the scraper asks for it, as Prometheus does with exemplar storage on.
//!
//! Naming contract with plugins: a counter point's name is its full sample name
//! (`traces_spanmetrics_calls_total`); a histogram point's name is the base, rendered
//! as `_bucket{le=..}` (cumulative, `+Inf` = count), `_sum` and `_count`.

use std::fmt::Write;

use crate::model::{Exemplar, MetricPoint, MetricValue};

pub(crate) const PROMETHEUS_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";
pub(crate) const OPENMETRICS_CONTENT_TYPE: &str =
    "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// The exemplar label Tempo's metrics-generator writes and Grafana links from.
pub(crate) const EXEMPLAR_TRACE_LABEL: &str = "traceID";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    Prometheus,
    OpenMetrics,
}

impl Format {
    /// OpenMetrics when the `Accept` header lists it, else the classic text format.
    pub(crate) fn negotiate(accept: Option<&str>) -> Format {
        match accept {
            Some(accept) if accept.contains("application/openmetrics-text") => Format::OpenMetrics,
            _ => Format::Prometheus,
        }
    }

    pub(crate) fn content_type(self) -> &'static str {
        match self {
            Format::Prometheus => PROMETHEUS_CONTENT_TYPE,
            Format::OpenMetrics => OPENMETRICS_CONTENT_TYPE,
        }
    }
}

/// Renders `points`, one family per distinct name in first-appearance order (HELP and
/// TYPE from its first point).
pub(crate) fn render(points: &[MetricPoint], format: Format) -> String {
    let mut out = String::with_capacity(points.len() * 96);
    let mut families: Vec<&str> = Vec::new();
    for point in points {
        if !families.contains(&point.name.as_str()) {
            families.push(&point.name);
        }
    }
    for family in families {
        let mut members = points.iter().filter(|p| p.name == family).peekable();
        let Some(first) = members.peek() else {
            continue;
        };
        write_header(&mut out, first, format);
        for point in members {
            write_point(&mut out, point, format);
        }
    }
    if format == Format::OpenMetrics {
        out.push_str("# EOF\n");
    }
    out
}

fn type_name(value: &MetricValue) -> &'static str {
    match value {
        MetricValue::Counter(_) => "counter",
        MetricValue::Gauge(_) => "gauge",
        MetricValue::Histogram { .. } => "histogram",
    }
}

fn write_header(out: &mut String, point: &MetricPoint, format: Format) {
    // OpenMetrics names the counter family without the `_total` of its sample.
    let family = match (format, &point.value) {
        (Format::OpenMetrics, MetricValue::Counter(_)) => {
            point.name.strip_suffix("_total").unwrap_or(&point.name)
        }
        _ => &point.name,
    };
    if !point.help.is_empty() {
        let help = point.help.replace('\\', "\\\\").replace('\n', "\\n");
        let _ = writeln!(out, "# HELP {family} {help}");
    }
    let _ = writeln!(out, "# TYPE {family} {}", type_name(&point.value));
}

fn write_point(out: &mut String, point: &MetricPoint, format: Format) {
    let exemplar = match format {
        Format::OpenMetrics => point.exemplar.as_ref(),
        Format::Prometheus => None,
    };
    match &point.value {
        MetricValue::Counter(value) => {
            let name = match (format, point.name.ends_with("_total")) {
                (Format::OpenMetrics, false) => format!("{}_total", point.name),
                _ => point.name.clone(),
            };
            write_sample(out, &name, &point.labels, None, *value, exemplar);
        }
        MetricValue::Gauge(value) => {
            write_sample(out, &point.name, &point.labels, None, *value, None);
        }
        MetricValue::Histogram {
            upper_bounds,
            bucket_counts,
            sum,
            count,
        } => {
            let bucket_name = format!("{}_bucket", point.name);
            let exemplar_bucket = exemplar.map(|e| exemplar_bucket(upper_bounds, e.value));
            for (index, bound) in upper_bounds.iter().enumerate() {
                let cumulative = bucket_counts.get(index).copied().unwrap_or(*count);
                let on_this = exemplar.filter(|_| exemplar_bucket == Some(index));
                write_sample(
                    out,
                    &bucket_name,
                    &point.labels,
                    Some(&format_float(*bound)),
                    cumulative as f64,
                    on_this,
                );
            }
            let on_inf = exemplar.filter(|_| exemplar_bucket == Some(upper_bounds.len()));
            write_sample(
                out,
                &bucket_name,
                &point.labels,
                Some("+Inf"),
                *count as f64,
                on_inf,
            );
            write_sample(
                out,
                &format!("{}_sum", point.name),
                &point.labels,
                None,
                *sum,
                None,
            );
            write_sample(
                out,
                &format!("{}_count", point.name),
                &point.labels,
                None,
                *count as f64,
                None,
            );
        }
    }
}

/// The bucket an exemplar belongs on: the first whose bound holds its value;
/// `upper_bounds.len()` is the `+Inf` bucket.
pub(crate) fn exemplar_bucket(upper_bounds: &[f64], value: f64) -> usize {
    upper_bounds
        .iter()
        .position(|bound| value <= *bound)
        .unwrap_or(upper_bounds.len())
}

fn write_sample(
    out: &mut String,
    name: &str,
    labels: &[(String, String)],
    le: Option<&str>,
    value: f64,
    exemplar: Option<&Exemplar>,
) {
    out.push_str(name);
    if !labels.is_empty() || le.is_some() {
        out.push('{');
        let mut first = true;
        let extra = le.map(|le| ("le", le));
        for (key, value) in labels
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .chain(extra)
        {
            if !first {
                out.push(',');
            }
            first = false;
            let _ = write!(out, "{key}=\"{}\"", escape_label(value));
        }
        out.push('}');
    }
    let _ = write!(out, " {}", format_float(value));
    if let Some(exemplar) = exemplar {
        let _ = write!(
            out,
            " # {{{EXEMPLAR_TRACE_LABEL}=\"{}\"}} {} {}",
            hex::encode(exemplar.trace_id),
            format_float(exemplar.value),
            format_timestamp(exemplar.time_unix_nanos)
        );
    }
    out.push('\n');
}

fn escape_label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Go's formatting of special values, which both formats require (and `le` labels
/// everywhere, remote-write included).
pub(crate) fn format_float(value: f64) -> String {
    if value.is_nan() {
        "NaN".to_owned()
    } else if value == f64::INFINITY {
        "+Inf".to_owned()
    } else if value == f64::NEG_INFINITY {
        "-Inf".to_owned()
    } else {
        value.to_string()
    }
}

/// OpenMetrics timestamps are seconds.
fn format_timestamp(unix_nanos: u64) -> String {
    format!(
        "{}.{:09}",
        unix_nanos / 1_000_000_000,
        unix_nanos % 1_000_000_000
    )
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

    fn exemplar(value: f64) -> Option<Exemplar> {
        Some(Exemplar {
            trace_id: [0xab; 16],
            span_id: [1; 8],
            value,
            time_unix_nanos: 1_700_000_000_500_000_000,
        })
    }

    fn sample_points() -> Vec<MetricPoint> {
        vec![
            MetricPoint {
                name: "traces_spanmetrics_calls_total".into(),
                help: "Calls".into(),
                labels: labels(&[("service", "a\"b")]),
                value: MetricValue::Counter(3.0),
                exemplar: exemplar(0.2),
            },
            MetricPoint {
                name: "traces_spanmetrics_latency".into(),
                help: String::new(),
                labels: labels(&[("service", "a")]),
                value: MetricValue::Histogram {
                    upper_bounds: vec![0.1, 1.0],
                    bucket_counts: vec![1, 2],
                    sum: 1.5,
                    count: 3,
                },
                exemplar: exemplar(0.5),
            },
        ]
    }

    #[test]
    fn prometheus_text_has_families_buckets_and_no_exemplars() {
        let text = render(&sample_points(), Format::Prometheus);
        assert_eq!(
            text,
            "# HELP traces_spanmetrics_calls_total Calls\n\
             # TYPE traces_spanmetrics_calls_total counter\n\
             traces_spanmetrics_calls_total{service=\"a\\\"b\"} 3\n\
             # TYPE traces_spanmetrics_latency histogram\n\
             traces_spanmetrics_latency_bucket{service=\"a\",le=\"0.1\"} 1\n\
             traces_spanmetrics_latency_bucket{service=\"a\",le=\"1\"} 2\n\
             traces_spanmetrics_latency_bucket{service=\"a\",le=\"+Inf\"} 3\n\
             traces_spanmetrics_latency_sum{service=\"a\"} 1.5\n\
             traces_spanmetrics_latency_count{service=\"a\"} 3\n"
        );
    }

    #[test]
    fn openmetrics_names_counter_families_and_places_exemplars() {
        let text = render(&sample_points(), Format::OpenMetrics);
        let trace = "abababababababababababababababab";
        assert!(text.contains("# TYPE traces_spanmetrics_calls counter\n"));
        assert!(text.contains(&format!(
            "traces_spanmetrics_calls_total{{service=\"a\\\"b\"}} 3 # {{traceID=\"{trace}\"}} 0.2 1700000000.500000000\n"
        )));
        // 0.5 falls in the le="1" bucket, not le="0.1".
        assert!(text.contains(&format!(
            "traces_spanmetrics_latency_bucket{{service=\"a\",le=\"1\"}} 2 # {{traceID=\"{trace}\"}} 0.5"
        )));
        assert!(text.contains("le=\"0.1\"} 1\n"));
        assert!(text.ends_with("# EOF\n"));
    }

    #[test]
    fn negotiation_and_special_values() {
        assert_eq!(
            Format::negotiate(Some(
                "application/openmetrics-text;version=1.0.0,text/plain;q=0.5"
            )),
            Format::OpenMetrics
        );
        assert_eq!(Format::negotiate(Some("*/*")), Format::Prometheus);
        assert_eq!(Format::negotiate(None), Format::Prometheus);
        assert_eq!(format_float(f64::INFINITY), "+Inf");
        assert_eq!(format_float(f64::NAN), "NaN");
    }
}
