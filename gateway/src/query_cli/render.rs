//! Rows as terminal text: aligned tables, the span tree of a trace, durations and
//! metric values in a short human form.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::fmt::Write as _;

use super::answers::{SeriesRow, SpanRow, TraceRow};
use super::args::format_utc;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Align {
    Left,
    Right,
}

/// Columns padded to their widest cell (counted in characters), two spaces apart; the
/// last column is not padded, so no line ends in spaces.
pub(super) struct Table {
    headers: Vec<String>,
    align: Vec<Align>,
    rows: Vec<Vec<String>>,
}

impl Table {
    pub(super) fn new(columns: &[(&str, Align)]) -> Table {
        Table {
            headers: columns.iter().map(|(name, _)| (*name).to_owned()).collect(),
            align: columns.iter().map(|(_, align)| *align).collect(),
            rows: Vec::new(),
        }
    }

    fn with_headers(headers: Vec<String>, align: Vec<Align>) -> Table {
        Table {
            headers,
            align,
            rows: Vec::new(),
        }
    }

    /// Adds a row; missing cells are empty, extra cells are dropped.
    pub(super) fn row(&mut self, mut cells: Vec<String>) {
        cells.resize(self.headers.len(), String::new());
        self.rows.push(cells);
    }

    pub(super) fn render(&self) -> String {
        let widths: Vec<usize> = (0..self.headers.len())
            .map(|column| {
                std::iter::once(&self.headers)
                    .chain(&self.rows)
                    .map(|row| row[column].chars().count())
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let mut out = String::new();
        for row in std::iter::once(&self.headers).chain(&self.rows) {
            let mut line = String::new();
            for (column, cell) in row.iter().enumerate() {
                if column > 0 {
                    line.push_str("  ");
                }
                let pad = widths[column] - cell.chars().count();
                let last = column + 1 == row.len();
                match self.align[column] {
                    Align::Right => {
                        line.push_str(&" ".repeat(pad));
                        line.push_str(cell);
                    }
                    Align::Left => {
                        line.push_str(cell);
                        if !last {
                            line.push_str(&" ".repeat(pad));
                        }
                    }
                }
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }
}

/// A duration in three significant digits: `0s`, `750ns`, `12.5µs`, `1.50ms`, `250ms`,
/// `3.20s`, `2m05s`, `1h02m`.
pub(super) fn format_duration(nanos: u64) -> String {
    const MICRO: u64 = 1_000;
    const MILLI: u64 = 1_000_000;
    const SECOND: u64 = 1_000_000_000;
    let scaled = |unit: u64, suffix: &str| {
        let value = nanos as f64 / unit as f64;
        if value < 9.995 {
            format!("{value:.2}{suffix}")
        } else if value < 99.95 {
            format!("{value:.1}{suffix}")
        } else {
            format!("{value:.0}{suffix}")
        }
    };
    match nanos {
        0 => "0s".to_owned(),
        1..1_000 => format!("{nanos}ns"),
        1_000..999_500 => scaled(MICRO, "µs"),
        999_500..999_500_000 => scaled(MILLI, "ms"),
        999_500_000..59_950_000_000 => scaled(SECOND, "s"),
        _ => {
            let seconds = (nanos + SECOND / 2) / SECOND;
            if seconds < 3600 {
                format!("{}m{:02}s", seconds / 60, seconds % 60)
            } else {
                let minutes = (seconds + 30) / 60;
                format!("{}h{:02}m", minutes / 60, minutes % 60)
            }
        }
    }
}

/// A metric value: whole numbers without decimals, others with up to four.
pub(super) fn format_value(value: f64) -> String {
    if value.is_nan() {
        return "NaN".to_owned();
    }
    if value.is_infinite() {
        return if value > 0.0 { "+Inf" } else { "-Inf" }.to_owned();
    }
    if value.fract() == 0.0 && value.abs() < 1e15 {
        return format!("{value:.0}");
    }
    let text = format!("{value:.4}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    if text == "0" || text == "-0" {
        format!("{value:e}")
    } else {
        text.to_owned()
    }
}

/// The trace as a tree: a summary line, then per span its offset from the trace's
/// start, its duration, and `service: name` indented under its parent (children by
/// start time). A span whose parent is not in the trace is shown as a root, marked.
pub(super) fn trace_tree(trace_id: &str, spans: &[SpanRow]) -> String {
    let trace_start = spans.iter().map(|span| span.start_nanos).min().unwrap_or(0);
    let trace_end = spans.iter().map(|span| span.end_nanos).max().unwrap_or(0);
    let services: BTreeSet<&str> = spans.iter().map(|span| span.service.as_str()).collect();
    let errors = spans.iter().filter(|span| span.error.is_some()).count();
    let mut out = format!(
        "trace {trace_id}: {} span{}, {} service{}, {}",
        spans.len(),
        plural(spans.len()),
        services.len(),
        plural(services.len()),
        format_duration(trace_end.saturating_sub(trace_start)),
    );
    if errors > 0 {
        let _ = write!(out, ", {errors} error{}", plural(errors));
    }
    out.push('\n');
    let mut table = Table::new(&[
        ("OFFSET", Align::Right),
        ("DURATION", Align::Right),
        ("SPAN", Align::Left),
    ]);
    for line in tree_lines(spans) {
        let span = &spans[line.index];
        let mut label = format!("{}{}: {}", line.prefix, span.service, span.name);
        match &span.error {
            Some(message) if !message.is_empty() => {
                let _ = write!(label, "  [ERROR: {message}]");
            }
            Some(_) => label.push_str("  [ERROR]"),
            None => {}
        }
        if let Some(note) = line.note {
            let _ = write!(label, "  [{note}]");
        }
        table.row(vec![
            format!(
                "+{}",
                format_duration(span.start_nanos.saturating_sub(trace_start))
            ),
            format_duration(span.end_nanos.saturating_sub(span.start_nanos)),
            label,
        ]);
    }
    out.push_str(&table.render());
    out
}

fn plural(count: usize) -> &'static str {
    if count == 1 { "" } else { "s" }
}

/// A span's place in the printed tree.
#[derive(Debug, PartialEq)]
struct TreeLine {
    index: usize,
    /// `├─ `, `│  └─ ` and so on; empty for a root.
    prefix: String,
    note: Option<String>,
}

/// Depth first, children by start time; every span exactly once, even with missing
/// parents, repeated ids or parent cycles (a cycle is entered at its earliest span).
fn tree_lines(spans: &[SpanRow]) -> Vec<TreeLine> {
    let ids: HashSet<&str> = spans.iter().map(|span| span.span_id.as_str()).collect();
    let mut children: HashMap<&str, Vec<usize>> = HashMap::new();
    let mut roots = Vec::new();
    for (index, span) in spans.iter().enumerate() {
        let parent = span.parent_id.as_str();
        if parent.is_empty() || parent == span.span_id || !ids.contains(parent) {
            roots.push(index);
        } else {
            children.entry(parent).or_default().push(index);
        }
    }
    let by_start = |list: &mut Vec<usize>| {
        list.sort_by_key(|&index| (spans[index].start_nanos, index));
    };
    by_start(&mut roots);
    children.values_mut().for_each(by_start);

    let mut lines = Vec::with_capacity(spans.len());
    let mut visited = vec![false; spans.len()];
    // Each entry: the span, the prefix of its descendants' lines, and its own line's.
    let mut stack: Vec<(usize, String, String)> = Vec::new();
    // After the roots, every span once more by start time: those still unvisited are
    // in a parent cycle, reachable from no root.
    let mut everything: Vec<usize> = (0..spans.len()).collect();
    by_start(&mut everything);
    for root in roots.into_iter().chain(everything) {
        if visited[root] {
            continue;
        }
        stack.push((root, String::new(), String::new()));
        while let Some((index, child_prefix, own_prefix)) = stack.pop() {
            if visited[index] {
                continue;
            }
            visited[index] = true;
            let span = &spans[index];
            let note = if own_prefix.is_empty() && !span.parent_id.is_empty() {
                Some(if ids.contains(span.parent_id.as_str()) {
                    format!("parent {} is in a cycle", span.parent_id)
                } else {
                    format!("parent {} not in trace", span.parent_id)
                })
            } else {
                None
            };
            lines.push(TreeLine {
                index,
                prefix: own_prefix,
                note,
            });
            let kids: Vec<usize> = children
                .get(span.span_id.as_str())
                .map(|kids| kids.iter().copied().filter(|&kid| !visited[kid]).collect())
                .unwrap_or_default();
            // Pushed last-first, so the earliest child is printed first.
            for (position, &kid) in kids.iter().enumerate().rev() {
                let last = position + 1 == kids.len();
                let own = format!("{child_prefix}{}", if last { "└─ " } else { "├─ " });
                let next = format!("{child_prefix}{}", if last { "   " } else { "│  " });
                stack.push((kid, next, own));
            }
        }
    }
    lines
}

/// Search results, newest first as the server sent them.
pub(super) fn search_table(traces: &[TraceRow]) -> String {
    if traces.is_empty() {
        return "no traces found\n".to_owned();
    }
    let mut table = Table::new(&[
        ("TRACE ID", Align::Left),
        ("ROOT SERVICE", Align::Left),
        ("ROOT NAME", Align::Left),
        ("START (UTC)", Align::Left),
        ("DURATION", Align::Right),
        ("MATCHED", Align::Right),
    ]);
    for trace in traces {
        table.row(vec![
            trace.trace_id.clone(),
            trace.root_service.clone(),
            trace.root_name.clone(),
            format_utc(trace.start_nanos),
            format_duration(trace.duration_ms.saturating_mul(1_000_000)),
            trace.matched.to_string(),
        ]);
    }
    let mut out = table.render();
    let _ = writeln!(out, "{} trace{}", traces.len(), plural(traces.len()));
    out
}

/// Two text columns, or `empty` when there are no rows.
pub(super) fn pairs_table(headers: [&str; 2], rows: &[(String, String)], empty: &str) -> String {
    if rows.is_empty() {
        return format!("{empty}\n");
    }
    let mut table = Table::new(&[(headers[0], Align::Left), (headers[1], Align::Left)]);
    for (first, second) in rows {
        table.row(vec![first.clone(), second.clone()]);
    }
    table.render()
}

/// Series with up to this many distinct timestamps get a column per timestamp; more
/// get a summary per series.
const MAX_VALUE_COLUMNS: usize = 6;

/// Metrics series: labels, then the values per timestamp (few points) or points, min,
/// max, average and last value (many points). Instant answers have one value each.
pub(super) fn metrics_table(series: &[SeriesRow], instant: bool) -> String {
    if series.is_empty() {
        return "no series\n".to_owned();
    }
    let labels = |row: &SeriesRow| {
        let pairs: Vec<String> = row
            .labels
            .iter()
            .map(|(key, value)| format!("{key}={value:?}"))
            .collect();
        format!("{{{}}}", pairs.join(", "))
    };
    if instant {
        let mut table = Table::new(&[("SERIES", Align::Left), ("VALUE", Align::Right)]);
        for row in series {
            let value = row.samples.last().map(|(_, value)| *value);
            table.row(vec![
                labels(row),
                value.map(format_value).unwrap_or_default(),
            ]);
        }
        return table.render();
    }
    let times: BTreeSet<i64> = series
        .iter()
        .flat_map(|row| row.samples.iter().map(|(millis, _)| *millis))
        .collect();
    if times.len() <= MAX_VALUE_COLUMNS {
        let mut headers = vec!["SERIES".to_owned()];
        headers.extend(times.iter().map(|millis| clock(*millis)));
        let mut align = vec![Align::Left];
        align.extend(times.iter().map(|_| Align::Right));
        let mut table = Table::with_headers(headers, align);
        for row in series {
            let values: HashMap<i64, f64> = row.samples.iter().copied().collect();
            let mut cells = vec![labels(row)];
            cells.extend(times.iter().map(|millis| {
                values
                    .get(millis)
                    .map(|value| format_value(*value))
                    .unwrap_or_else(|| "-".to_owned())
            }));
            table.row(cells);
        }
        return table.render();
    }
    let mut table = Table::new(&[
        ("SERIES", Align::Left),
        ("POINTS", Align::Right),
        ("MIN", Align::Right),
        ("MAX", Align::Right),
        ("AVG", Align::Right),
        ("LAST", Align::Right),
    ]);
    for row in series {
        let values: Vec<f64> = row.samples.iter().map(|(_, value)| *value).collect();
        let finite: Vec<f64> = values.iter().copied().filter(|v| !v.is_nan()).collect();
        let summary = |value: Option<f64>| value.map(format_value).unwrap_or_else(|| "-".into());
        let min = finite.iter().copied().reduce(f64::min);
        let max = finite.iter().copied().reduce(f64::max);
        let avg = (!finite.is_empty()).then(|| finite.iter().sum::<f64>() / finite.len() as f64);
        table.row(vec![
            labels(row),
            values.len().to_string(),
            summary(min),
            summary(max),
            summary(avg),
            summary(values.last().copied()),
        ]);
    }
    let first = times.first().copied().unwrap_or(0);
    let last = times.last().copied().unwrap_or(0);
    let mut out = table.render();
    let _ = writeln!(
        out,
        "{} steps from {} to {} (--json for every value)",
        times.len(),
        format_utc(millis_to_nanos(first)),
        format_utc(millis_to_nanos(last))
    );
    out
}

fn millis_to_nanos(millis: i64) -> u64 {
    u64::try_from(millis).unwrap_or(0).saturating_mul(1_000_000)
}

/// `HH:MM:SS` (UTC) of unix milliseconds.
fn clock(millis: i64) -> String {
    let utc = format_utc(millis_to_nanos(millis));
    utc.get(11..19).unwrap_or(&utc).to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(id: &str, parent: &str, name: &str, start: u64, end: u64) -> SpanRow {
        SpanRow {
            span_id: id.to_owned(),
            parent_id: parent.to_owned(),
            service: "svc".to_owned(),
            name: name.to_owned(),
            start_nanos: start,
            end_nanos: end,
            error: None,
        }
    }

    #[test]
    fn durations_have_three_significant_digits() {
        for (nanos, text) in [
            (0, "0s"),
            (750, "750ns"),
            (1_000, "1.00µs"),
            (12_500, "12.5µs"),
            (999_499, "999µs"),
            (999_500, "1.00ms"),
            (1_500_000, "1.50ms"),
            (250_000_000, "250ms"),
            (999_999_999, "1.00s"),
            (3_200_000_000, "3.20s"),
            (59_949_999_999, "59.9s"),
            (59_950_000_000, "1m00s"),
            (125_000_000_000, "2m05s"),
            (3_599_400_000_000, "59m59s"),
            (3_720_000_000_000, "1h02m"),
            (90_000_000_000_000, "25h00m"),
        ] {
            assert_eq!(format_duration(nanos), text, "{nanos} ns");
        }
    }

    #[test]
    fn values_are_short() {
        assert_eq!(format_value(3.0), "3");
        assert_eq!(format_value(-2.0), "-2");
        assert_eq!(format_value(0.25), "0.25");
        assert_eq!(format_value(1.0 / 3.0), "0.3333");
        assert_eq!(format_value(0.00001), "1e-5");
        assert_eq!(format_value(f64::NAN), "NaN");
        assert_eq!(format_value(f64::INFINITY), "+Inf");
    }

    #[test]
    fn tables_pad_to_the_widest_cell_in_characters() {
        let mut table = Table::new(&[
            ("NAME", Align::Left),
            ("N", Align::Right),
            ("NOTE", Align::Left),
        ]);
        table.row(vec!["µ-service".to_owned(), "7".to_owned(), "x".to_owned()]);
        table.row(vec!["a".to_owned(), "1234".to_owned()]);
        assert_eq!(
            table.render(),
            "NAME          N  NOTE\n\
             µ-service     7  x\n\
             a          1234\n"
        );
    }

    #[test]
    fn the_tree_nests_children_under_parents_by_start_time() {
        let spans = vec![
            span("c2", "root", "second", 30, 40),
            span("root", "", "GET /", 0, 100),
            span("c1", "root", "first", 10, 20),
            span("g1", "c1", "grandchild", 12, 18),
        ];
        let lines: Vec<(usize, String)> = tree_lines(&spans)
            .into_iter()
            .map(|line| (line.index, line.prefix))
            .collect();
        assert_eq!(
            lines,
            [
                (1, String::new()),
                (2, "├─ ".to_owned()),
                (3, "│  └─ ".to_owned()),
                (0, "└─ ".to_owned()),
            ]
        );
        let mut error = span("e", "root", "charge", 50, 60);
        error.error = Some("card declined".to_owned());
        let text = trace_tree("abc", &[spans, vec![error]].concat());
        assert_eq!(
            text,
            "trace abc: 5 spans, 1 service, 100ns, 1 error\n\
             OFFSET  DURATION  SPAN\n\
             \x20  +0s     100ns  svc: GET /\n\
             \x20+10ns      10ns  ├─ svc: first\n\
             \x20+12ns       6ns  │  └─ svc: grandchild\n\
             \x20+30ns      10ns  ├─ svc: second\n\
             \x20+50ns      10ns  └─ svc: charge  [ERROR: card declined]\n"
        );
    }

    #[test]
    fn spans_with_missing_parents_become_marked_roots() {
        let spans = vec![
            span("a", "gone", "orphan", 5, 6),
            span("b", "a", "child of orphan", 6, 7),
            span("r", "", "root", 0, 10),
        ];
        let text = trace_tree("t", &spans);
        let lines: Vec<&str> = text.lines().skip(2).collect();
        assert!(lines[0].ends_with("svc: root"), "{text}");
        assert!(
            lines[1].ends_with("svc: orphan  [parent gone not in trace]"),
            "{text}"
        );
        assert!(lines[2].ends_with("└─ svc: child of orphan"), "{text}");
    }

    #[test]
    fn cycles_and_repeated_ids_still_print_every_span_once() {
        let spans = vec![
            span("x", "y", "x", 1, 2),
            span("y", "x", "y", 0, 3),
            span("s", "s", "self parent", 4, 5),
            span("d", "", "dup", 6, 7),
            span("d", "", "dup", 6, 7),
        ];
        let mut indexes: Vec<usize> = tree_lines(&spans).iter().map(|line| line.index).collect();
        indexes.sort_unstable();
        assert_eq!(indexes, [0, 1, 2, 3, 4]);
        let text = trace_tree("t", &spans);
        assert!(text.contains("is in a cycle"), "{text}");
        assert_eq!(text.lines().count(), 2 + spans.len());
        assert_eq!(trace_tree("t", &[]).lines().count(), 2);
    }

    #[test]
    fn search_and_metric_tables() {
        let text = search_table(&[TraceRow {
            trace_id: "0af7651916cd43dd8448eb211c80319c".to_owned(),
            root_service: "web".to_owned(),
            root_name: "GET /".to_owned(),
            start_nanos: 1_796_551_200_000_000_000,
            duration_ms: 1500,
            matched: 2,
        }]);
        assert_eq!(
            text,
            "TRACE ID                          ROOT SERVICE  ROOT NAME  START (UTC)           DURATION  MATCHED\n\
             0af7651916cd43dd8448eb211c80319c  web           GET /      2026-12-06T10:00:00Z     1.50s        2\n\
             1 trace\n"
        );
        assert_eq!(search_table(&[]), "no traces found\n");

        let few = SeriesRow {
            labels: vec![("span.k".to_owned(), "v".to_owned())],
            samples: vec![(1_796_551_200_000, 1.0), (1_796_551_260_000, 2.5)],
        };
        assert_eq!(
            metrics_table(std::slice::from_ref(&few), false),
            "SERIES        10:00:00  10:01:00\n{span.k=\"v\"}         1       2.5\n"
        );
        let many = SeriesRow {
            labels: vec![],
            samples: (0..10).map(|step| (step * 60_000, step as f64)).collect(),
        };
        let text = metrics_table(&[many], false);
        assert!(
            text.starts_with(
                "SERIES  POINTS  MIN  MAX  AVG  LAST\n{}          10    0    9  4.5     9\n"
            ),
            "{text}"
        );
        assert!(
            text.contains("10 steps from 1970-01-01T00:00:00Z"),
            "{text}"
        );
        assert_eq!(
            metrics_table(&[few], true),
            "SERIES        VALUE\n{span.k=\"v\"}    2.5\n"
        );
        assert_eq!(metrics_table(&[], false), "no series\n");
    }
}
