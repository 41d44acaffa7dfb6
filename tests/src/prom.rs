//! A strict little parser of the Prometheus text format and OpenMetrics, for tests:
//! every sample line must parse, so a malformed `/metrics` fails the test.

use std::collections::BTreeMap;

use crate::harness::TestGateway;

#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub value: f64,
    /// OpenMetrics exemplar: its labels and value.
    pub exemplar: Option<(BTreeMap<String, String>, f64)>,
}

impl Sample {
    pub fn label(&self, key: &str) -> Option<&str> {
        self.labels.get(key).map(String::as_str)
    }
}

/// Parses every non-comment line; panics naming the first bad one.
pub fn parse(text: &str) -> Vec<Sample> {
    text.lines()
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(|line| parse_line(line).unwrap_or_else(|e| panic!("bad metrics line {line:?}: {e}")))
        .collect()
}

fn parse_line(line: &str) -> Result<Sample, String> {
    let (series, rest) = match line.find('{') {
        Some(open) if open < line.find(' ').unwrap_or(usize::MAX) => {
            let (labels, after) = parse_labels(&line[open + 1..])?;
            (
                (line[..open].to_owned(), labels),
                after.trim_start().to_owned(),
            )
        }
        _ => {
            let (name, after) = line.split_once(' ').ok_or("no value")?;
            (
                (name.to_owned(), BTreeMap::new()),
                after.trim_start().to_owned(),
            )
        }
    };
    let (value_text, exemplar_text) = match rest.split_once(" # ") {
        Some((value, exemplar)) => (value.to_owned(), Some(exemplar.to_owned())),
        None => (rest, None),
    };
    let value = parse_value(value_text.split_whitespace().next().ok_or("no value")?)?;
    let exemplar = match exemplar_text {
        Some(text) => {
            let text = text.strip_prefix('{').ok_or("exemplar without labels")?;
            let (labels, after) = parse_labels(text)?;
            let value = parse_value(after.split_whitespace().next().ok_or("exemplar value")?)?;
            Some((labels, value))
        }
        None => None,
    };
    if series.0.is_empty()
        || !series
            .0
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
    {
        return Err(format!("bad metric name {:?}", series.0));
    }
    Ok(Sample {
        name: series.0,
        labels: series.1,
        value,
        exemplar,
    })
}

/// Parses `k="v",...}` and returns the labels and what follows the `}`.
fn parse_labels(text: &str) -> Result<(BTreeMap<String, String>, &str), String> {
    let mut labels = BTreeMap::new();
    let mut rest = text;
    loop {
        if let Some(after) = rest.strip_prefix('}') {
            return Ok((labels, after));
        }
        let eq = rest.find("=\"").ok_or("label without =\"")?;
        let key = rest[..eq].trim_start_matches(',').to_owned();
        let mut value = String::new();
        let mut chars = rest[eq + 2..].char_indices();
        let end = loop {
            match chars.next() {
                Some((_, '\\')) => match chars.next() {
                    Some((_, 'n')) => value.push('\n'),
                    Some((_, c)) => value.push(c),
                    None => return Err("dangling escape".into()),
                },
                Some((i, '"')) => break eq + 2 + i + 1,
                Some((_, c)) => value.push(c),
                None => return Err("unterminated label value".into()),
            }
        };
        labels.insert(key, value);
        rest = rest[end..].trim_start_matches(',');
    }
}

fn parse_value(text: &str) -> Result<f64, String> {
    match text {
        "+Inf" => Ok(f64::INFINITY),
        "-Inf" => Ok(f64::NEG_INFINITY),
        "NaN" => Ok(f64::NAN),
        other => other.parse().map_err(|e| format!("value {other:?}: {e}")),
    }
}

/// The samples of `name` whose labels include every pair of `labels`.
pub fn find<'a>(samples: &'a [Sample], name: &str, labels: &[(&str, &str)]) -> Vec<&'a Sample> {
    samples
        .iter()
        .filter(|s| s.name == name && labels.iter().all(|(k, v)| s.label(k) == Some(*v)))
        .collect()
}

/// The sum of the matching samples' values (0 when none match).
pub fn sum(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> f64 {
    find(samples, name, labels).iter().map(|s| s.value).sum()
}

impl TestGateway {
    /// `GET /metrics` in the Prometheus text format, parsed.
    pub fn metrics(&self) -> Vec<Sample> {
        let response = self.get("/metrics");
        assert_eq!(response.status, 200, "{}", response.describe());
        parse(&response.text())
    }

    /// Polls `/metrics` until `done` holds (at most ~30 s), returning the last samples.
    pub fn wait_for_metrics(&self, what: &str, done: impl Fn(&[Sample]) -> bool) -> Vec<Sample> {
        for _ in 0..300 {
            let samples = self.metrics();
            if done(&samples) {
                return samples;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        panic!("/metrics never showed {what}\n{}", self.logs());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_labels_escapes_and_exemplars() {
        let samples = parse(
            "# TYPE a counter\n\
             a_total{x=\"1\",y=\"q\\\"uote\"} 3 # {traceID=\"ab\"} 0.5 1.2\n\
             b 4.5\n\
             c_bucket{le=\"+Inf\"} 2\n",
        );
        assert_eq!(samples.len(), 3);
        assert_eq!(samples[0].label("y"), Some("q\"uote"));
        let (labels, value) = samples[0].exemplar.clone().unwrap();
        assert_eq!(labels["traceID"], "ab");
        assert_eq!(value, 0.5);
        assert_eq!(samples[1].value, 4.5);
        assert_eq!(samples[2].label("le"), Some("+Inf"));
    }

    #[test]
    #[should_panic(expected = "bad metrics line")]
    fn malformed_lines_fail() {
        parse("a{x=\"1\" 3\n");
    }
}
