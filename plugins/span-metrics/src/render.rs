//! Text renderers: Prometheus exposition format 0.0.4 and OpenMetrics 1.0.
//!
//! Both are pure functions of a snapshot. They expect series sorted so that
//! a family's series are adjacent ([`crate::series::sort_series`], which
//! [`crate::SpanMetrics::snapshot`] applies).
//!
//! Differences that matter between the two:
//! - 0.0.4 has no exemplars; `# TYPE` names the sample (`x_total counter`).
//! - OpenMetrics names the *family* (`# TYPE x counter`, sample `x_total`),
//!   attaches exemplars (`… # {traceID="…"} 0.12 1700000000.5`), escapes `"`
//!   in HELP too, writes `le` in canonical float form (`1.0`, not `1`), and
//!   ends with `# EOF`.

use std::fmt::Write;

use crate::series::{Exemplar, MetricType, Series, Value};

/// Prometheus text exposition format 0.0.4
/// (`Content-Type: text/plain; version=0.0.4; charset=utf-8`).
pub fn render_prometheus(series: &[Series]) -> String {
    let mut out = String::with_capacity(series.len() * 128);
    for family in families(series) {
        let first = &family[0];
        out.push_str("# HELP ");
        out.push_str(first.name);
        out.push(' ');
        escape_help(&mut out, first.help, false);
        out.push('\n');
        let _ = writeln!(out, "# TYPE {} {}", first.name, first.metric_type.as_str());
        for s in family {
            match &s.value {
                Value::Counter { value, .. } => {
                    sample(&mut out, s.name, "", &s.labels, None, *value)
                }
                Value::Gauge(v) => sample(&mut out, s.name, "", &s.labels, None, *v),
                Value::Histogram(h) => {
                    for b in &h.buckets {
                        let le = format_le(b.le, false);
                        sample(
                            &mut out,
                            s.name,
                            "_bucket",
                            &s.labels,
                            Some(&le),
                            b.cumulative_count as f64,
                        );
                    }
                    sample(&mut out, s.name, "_sum", &s.labels, None, h.sum);
                    sample(&mut out, s.name, "_count", &s.labels, None, h.count as f64);
                }
            }
        }
    }
    out
}

/// OpenMetrics 1.0 text (`Content-Type: application/openmetrics-text;
/// version=1.0.0; charset=utf-8`), with exemplars.
pub fn render_openmetrics(series: &[Series]) -> String {
    let mut out = String::with_capacity(series.len() * 192);
    for family in families(series) {
        let first = &family[0];
        let fam = family_name(first);
        let _ = writeln!(out, "# TYPE {fam} {}", first.metric_type.as_str());
        let _ = write!(out, "# HELP {fam} ");
        escape_help(&mut out, first.help, true);
        out.push('\n');
        for s in family {
            match &s.value {
                Value::Counter { value, exemplar } => {
                    sample_no_newline(&mut out, s.name, "", &s.labels, None, *value);
                    write_exemplar(&mut out, exemplar.as_ref());
                    out.push('\n');
                }
                Value::Gauge(v) => sample(&mut out, s.name, "", &s.labels, None, *v),
                Value::Histogram(h) => {
                    for b in &h.buckets {
                        let le = format_le(b.le, true);
                        sample_no_newline(
                            &mut out,
                            s.name,
                            "_bucket",
                            &s.labels,
                            Some(&le),
                            b.cumulative_count as f64,
                        );
                        write_exemplar(&mut out, b.exemplar.as_ref());
                        out.push('\n');
                    }
                    sample(&mut out, s.name, "_sum", &s.labels, None, h.sum);
                    sample(&mut out, s.name, "_count", &s.labels, None, h.count as f64);
                }
            }
        }
    }
    out.push_str("# EOF\n");
    out
}

/// OpenMetrics family name: a counter's samples carry `_total`, its family
/// does not.
fn family_name(s: &Series) -> &str {
    match s.metric_type {
        MetricType::Counter => s.name.strip_suffix("_total").unwrap_or(s.name),
        _ => s.name,
    }
}

/// Runs of adjacent series with the same name.
fn families(series: &[Series]) -> impl Iterator<Item = &[Series]> {
    series.chunk_by(|a, b| a.name == b.name)
}

fn sample(
    out: &mut String,
    name: &str,
    suffix: &str,
    labels: &[(String, String)],
    le: Option<&str>,
    value: f64,
) {
    sample_no_newline(out, name, suffix, labels, le, value);
    out.push('\n');
}

fn sample_no_newline(
    out: &mut String,
    name: &str,
    suffix: &str,
    labels: &[(String, String)],
    le: Option<&str>,
    value: f64,
) {
    out.push_str(name);
    out.push_str(suffix);
    write_labels(out, labels, le);
    out.push(' ');
    write_value(out, value);
}

fn write_labels(out: &mut String, labels: &[(String, String)], le: Option<&str>) {
    if labels.is_empty() && le.is_none() {
        return;
    }
    out.push('{');
    let mut first = true;
    let extra = le.map(|v| ("le", v));
    for (n, v) in labels
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .chain(extra)
    {
        if !first {
            out.push(',');
        }
        first = false;
        out.push_str(n);
        out.push_str("=\"");
        escape_label_value(out, v);
        out.push('"');
    }
    out.push('}');
}

fn write_exemplar(out: &mut String, e: Option<&Exemplar>) {
    let Some(e) = e else { return };
    out.push_str(" # ");
    write_labels(out, &e.labels, None);
    if e.labels.is_empty() {
        out.push_str("{}");
    }
    out.push(' ');
    write_value(out, e.value);
    out.push(' ');
    write_unix_seconds(out, e.timestamp_unix_nanos);
}

/// Exact decimal seconds from nanoseconds (no float rounding):
/// `1700000000123000000` → `1700000000.123`.
fn write_unix_seconds(out: &mut String, nanos: u64) {
    let secs = nanos / 1_000_000_000;
    let frac = nanos % 1_000_000_000;
    if frac == 0 {
        let _ = write!(out, "{secs}");
    } else {
        let digits = format!("{frac:09}");
        let _ = write!(out, "{secs}.{}", digits.trim_end_matches('0'));
    }
}

/// Label values: backslash, double quote and line feed are escaped; the same
/// rule in both formats.
pub fn escape_label_value(out: &mut String, v: &str) {
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

/// HELP text: backslash and line feed; OpenMetrics also escapes `"`.
fn escape_help(out: &mut String, v: &str, quote: bool) {
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '"' if quote => out.push_str("\\\""),
            c => out.push(c),
        }
    }
}

/// A sample value the way Go's `expfmt` writes it: integers without a
/// fraction, shortest round-trip digits otherwise, exponent form only for
/// very large or small magnitudes, `+Inf`/`-Inf`/`NaN` spelled out.
pub fn write_value(out: &mut String, v: f64) {
    if v.is_nan() {
        out.push_str("NaN");
    } else if v.is_infinite() {
        out.push_str(if v > 0.0 { "+Inf" } else { "-Inf" });
    } else if v == 0.0 || (1e-4..1e21).contains(&v.abs()) {
        let _ = write!(out, "{v}");
    } else {
        let _ = write!(out, "{v:e}");
    }
}

/// Go's `strconv.FormatFloat(v, 'f', -1, 64)`: shortest digits that round
/// trip, never an exponent. Tempo formats `le` and double attributes so.
pub fn write_go_float_f(out: &mut String, v: f64) {
    if v.is_nan() {
        out.push_str("NaN");
    } else if v.is_infinite() {
        out.push_str(if v > 0.0 { "+Inf" } else { "-Inf" });
    } else {
        let _ = write!(out, "{v}");
    }
}

/// The `le` label: Tempo's string (`0.002`, `+Inf`) in 0.0.4; in
/// OpenMetrics, integral bounds get `.0` (the canonical form the spec asks
/// for, and what Prometheus' own client writes).
fn format_le(le: f64, openmetrics: bool) -> String {
    let mut s = String::new();
    write_go_float_f(&mut s, le);
    if openmetrics && le.is_finite() && le.fract() == 0.0 {
        s.push_str(".0");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{SpanId, TraceId};
    use crate::series::{Bucket, HistogramValue};

    fn labels(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    fn exemplar(value: f64, ts: u64) -> Exemplar {
        Exemplar {
            trace_id: TraceId([
                0x0a, 0xf7, 0x65, 0x19, 0x16, 0xcd, 0x43, 0xdd, 0x84, 0x48, 0xeb, 0x21, 0x1c, 0x80,
                0x31, 0x9c,
            ]),
            span_id: SpanId([0xb7, 0xad, 0x6b, 0x71, 0x69, 0x20, 0x33, 0x31]),
            labels: labels(&[
                ("traceID", "0af7651916cd43dd8448eb211c80319c"),
                ("spanID", "b7ad6b7169203331"),
            ]),
            value,
            timestamp_unix_nanos: ts,
        }
    }

    fn fixture() -> Vec<Series> {
        vec![
            Series {
                name: "traces_spanmetrics_calls_total",
                metric_type: MetricType::Counter,
                help: "Total count of the spans",
                labels: labels(&[("service", "a\"b\\c\nd"), ("span_name", "GET /")]),
                value: Value::Counter {
                    value: 3.0,
                    exemplar: Some(exemplar(1.0, 1_700_000_000_250_000_000)),
                },
            },
            Series {
                name: "traces_spanmetrics_latency",
                metric_type: MetricType::Histogram,
                help: "Duration of the spans in seconds",
                labels: labels(&[("service", "api")]),
                value: Value::Histogram(HistogramValue {
                    buckets: vec![
                        Bucket {
                            le: 0.5,
                            cumulative_count: 1,
                            exemplar: Some(exemplar(0.25, 1_700_000_000_000_000_000)),
                        },
                        Bucket {
                            le: 1.0,
                            cumulative_count: 1,
                            exemplar: None,
                        },
                        Bucket {
                            le: f64::INFINITY,
                            cumulative_count: 2,
                            exemplar: None,
                        },
                    ],
                    sum: 2.75,
                    count: 2,
                }),
            },
            Series {
                name: "up_gauge",
                metric_type: MetricType::Gauge,
                help: "a \"quoted\" help\\",
                labels: vec![],
                value: Value::Gauge(1e-7),
            },
        ]
    }

    #[test]
    fn prometheus_text_line_by_line() {
        let text = render_prometheus(&fixture());
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines,
            vec![
                "# HELP traces_spanmetrics_calls_total Total count of the spans",
                "# TYPE traces_spanmetrics_calls_total counter",
                r#"traces_spanmetrics_calls_total{service="a\"b\\c\nd",span_name="GET /"} 3"#,
                "# HELP traces_spanmetrics_latency Duration of the spans in seconds",
                "# TYPE traces_spanmetrics_latency histogram",
                r#"traces_spanmetrics_latency_bucket{service="api",le="0.5"} 1"#,
                r#"traces_spanmetrics_latency_bucket{service="api",le="1"} 1"#,
                r#"traces_spanmetrics_latency_bucket{service="api",le="+Inf"} 2"#,
                r#"traces_spanmetrics_latency_sum{service="api"} 2.75"#,
                r#"traces_spanmetrics_latency_count{service="api"} 2"#,
                r#"# HELP up_gauge a "quoted" help\\"#,
                "# TYPE up_gauge gauge",
                "up_gauge 1e-7",
            ]
        );
        assert!(text.ends_with('\n'));
    }

    #[test]
    fn openmetrics_line_by_line() {
        let text = render_openmetrics(&fixture());
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines,
            vec![
                "# TYPE traces_spanmetrics_calls counter",
                "# HELP traces_spanmetrics_calls Total count of the spans",
                r#"traces_spanmetrics_calls_total{service="a\"b\\c\nd",span_name="GET /"} 3 # {traceID="0af7651916cd43dd8448eb211c80319c",spanID="b7ad6b7169203331"} 1 1700000000.25"#,
                "# TYPE traces_spanmetrics_latency histogram",
                "# HELP traces_spanmetrics_latency Duration of the spans in seconds",
                r#"traces_spanmetrics_latency_bucket{service="api",le="0.5"} 1 # {traceID="0af7651916cd43dd8448eb211c80319c",spanID="b7ad6b7169203331"} 0.25 1700000000"#,
                r#"traces_spanmetrics_latency_bucket{service="api",le="1.0"} 1"#,
                r#"traces_spanmetrics_latency_bucket{service="api",le="+Inf"} 2"#,
                r#"traces_spanmetrics_latency_sum{service="api"} 2.75"#,
                r#"traces_spanmetrics_latency_count{service="api"} 2"#,
                "# TYPE up_gauge gauge",
                r#"# HELP up_gauge a \"quoted\" help\\"#,
                "up_gauge 1e-7",
                "# EOF",
            ]
        );
    }

    #[test]
    fn values_format_like_go() {
        let f = |v: f64| {
            let mut s = String::new();
            write_value(&mut s, v);
            s
        };
        assert_eq!(f(0.0), "0");
        assert_eq!(f(3.0), "3");
        assert_eq!(f(0.1 + 0.2), "0.30000000000000004");
        assert_eq!(f(f64::INFINITY), "+Inf");
        assert_eq!(f(f64::NEG_INFINITY), "-Inf");
        assert_eq!(f(f64::NAN), "NaN");
        assert_eq!(f(1e21), "1e21");
        assert_eq!(f(123456789.0), "123456789");
        let mut s = String::new();
        write_unix_seconds(&mut s, 1_000_000_001);
        assert_eq!(s, "1.000000001");
    }

    #[test]
    fn empty_snapshot() {
        assert_eq!(render_prometheus(&[]), "");
        assert_eq!(render_openmetrics(&[]), "# EOF\n");
    }
}
