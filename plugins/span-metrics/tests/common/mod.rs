//! A small, strict parser for the two exposition formats, used to prove the
//! renderers' output is well-formed (and to read values back). It checks more
//! than Prometheus' scraper does: family declarations, sample names per type,
//! label syntax and escapes, duplicate series, histogram consistency,
//! exemplar placement and size, and `# EOF`.

#![allow(dead_code)]

use std::collections::{HashMap, HashSet};

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Format {
    Prometheus,
    OpenMetrics,
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Exemplar {
    pub labels: Vec<(String, String)>,
    pub value: f64,
    pub timestamp: Option<f64>,
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Sample {
    pub name: String,
    pub labels: Vec<(String, String)>,
    pub value: f64,
    pub exemplar: Option<Exemplar>,
}

#[derive(Clone, Debug)]
pub(crate) struct Family {
    pub name: String,
    pub metric_type: String,
    pub help: Option<String>,
    pub samples: Vec<Sample>,
}

impl Sample {
    pub(crate) fn label(&self, n: &str) -> Option<&str> {
        self.labels
            .iter()
            .find(|(k, _)| k == n)
            .map(|(_, v)| v.as_str())
    }
}

pub(crate) fn parse(text: &str, format: Format) -> Result<Vec<Family>, String> {
    if !text.is_empty() && !text.ends_with('\n') {
        return Err("output must end with a newline".into());
    }
    let mut families: Vec<Family> = Vec::new();
    let mut declared: HashSet<String> = HashSet::new();
    let mut seen_series: HashSet<(String, Vec<(String, String)>)> = HashSet::new();
    let mut saw_eof = false;
    for (n, line) in text.lines().enumerate() {
        let lineno = n + 1;
        let err = |m: String| format!("line {lineno}: {m}: {line:?}");
        if saw_eof {
            return Err(err("content after # EOF".into()));
        }
        if line.is_empty() {
            return Err(err("empty line".into()));
        }
        if let Some(rest) = line.strip_prefix("# ") {
            if rest == "EOF" {
                if format != Format::OpenMetrics {
                    return Err(err("# EOF in Prometheus text".into()));
                }
                saw_eof = true;
                continue;
            }
            let (kw, rest) = rest
                .split_once(' ')
                .ok_or_else(|| err("bad comment".into()))?;
            let (name, arg) = rest.split_once(' ').unwrap_or((rest, ""));
            if !valid_metric_name(name) {
                return Err(err(format!("bad metric name {name}")));
            }
            let fam = match families.last_mut() {
                Some(f) if f.name == name && f.samples.is_empty() => f,
                _ => {
                    if !declared.insert(name.to_owned()) {
                        return Err(err(format!("family {name} declared twice")));
                    }
                    families.push(Family {
                        name: name.to_owned(),
                        metric_type: "unknown".into(),
                        help: None,
                        samples: vec![],
                    });
                    families.last_mut().unwrap()
                }
            };
            match kw {
                "TYPE" => {
                    if !["counter", "gauge", "histogram"].contains(&arg) {
                        return Err(err(format!("unexpected type {arg}")));
                    }
                    fam.metric_type = arg.to_owned();
                }
                "HELP" => fam.help = Some(unescape_help(arg, format).map_err(&err)?),
                _ => return Err(err(format!("unknown keyword {kw}"))),
            }
            continue;
        }
        if line.starts_with('#') {
            return Err(err("comment without a space".into()));
        }
        let sample = parse_sample(line, format).map_err(&err)?;
        let fam = families
            .last_mut()
            .ok_or_else(|| err("sample before any # TYPE".into()))?;
        let allowed: Vec<String> = match (fam.metric_type.as_str(), format) {
            ("counter", Format::Prometheus) => vec![fam.name.clone()],
            ("counter", Format::OpenMetrics) => vec![format!("{}_total", fam.name)],
            ("gauge", _) => vec![fam.name.clone()],
            ("histogram", _) => ["_bucket", "_sum", "_count"]
                .iter()
                .map(|s| format!("{}{s}", fam.name))
                .collect(),
            (t, _) => return Err(err(format!("sample of undeclared type {t}"))),
        };
        if !allowed.contains(&sample.name) {
            return Err(err(format!(
                "sample {} does not belong to family {} ({})",
                sample.name, fam.name, fam.metric_type
            )));
        }
        if format == Format::Prometheus
            && fam.metric_type == "counter"
            && !sample.name.ends_with("_total")
        {
            return Err(err("counter without _total".into()));
        }
        if let Some(ex) = &sample.exemplar {
            if !(sample.name.ends_with("_bucket") || sample.name.ends_with("_total")) {
                return Err(err("exemplar on a sample that cannot have one".into()));
            }
            let chars: usize = ex
                .labels
                .iter()
                .map(|(k, v)| k.chars().count() + v.chars().count())
                .sum();
            if chars > 128 {
                return Err(err("exemplar label set longer than 128 characters".into()));
            }
        }
        let mut labels = sample.labels.clone();
        labels.sort();
        if !seen_series.insert((sample.name.clone(), labels)) {
            return Err(err("duplicate series".into()));
        }
        fam.samples.push(sample);
    }
    if format == Format::OpenMetrics && !saw_eof {
        return Err("missing # EOF".into());
    }
    for f in &families {
        if f.metric_type == "histogram" {
            check_histogram(f)?;
        }
    }
    Ok(families)
}

fn check_histogram(f: &Family) -> Result<(), String> {
    type Key = Vec<(String, String)>;
    let mut buckets: HashMap<Key, Vec<(f64, f64)>> = HashMap::new();
    let mut counts: HashMap<Key, f64> = HashMap::new();
    let mut sums: HashSet<Key> = HashSet::new();
    for s in &f.samples {
        let mut key: Key = s
            .labels
            .iter()
            .filter(|(k, _)| k != "le")
            .cloned()
            .collect();
        key.sort();
        if s.name.ends_with("_bucket") {
            let le = s
                .label("le")
                .ok_or(format!("{}: bucket without le", f.name))?;
            let le = parse_value(le)?;
            buckets.entry(key).or_default().push((le, s.value));
        } else if s.name.ends_with("_count") {
            counts.insert(key, s.value);
        } else {
            sums.insert(key);
        }
    }
    for (key, bs) in &buckets {
        for w in bs.windows(2) {
            if w[1].0 <= w[0].0 {
                return Err(format!("{}{key:?}: le not ascending", f.name));
            }
            if w[1].1 < w[0].1 {
                return Err(format!("{}{key:?}: bucket counts decrease", f.name));
            }
        }
        let last = bs.last().unwrap();
        if last.0 != f64::INFINITY {
            return Err(format!("{}{key:?}: no +Inf bucket", f.name));
        }
        if counts.get(key) != Some(&last.1) {
            return Err(format!("{}{key:?}: _count != +Inf bucket", f.name));
        }
        if !sums.contains(key) {
            return Err(format!("{}{key:?}: no _sum", f.name));
        }
    }
    Ok(())
}

fn valid_metric_name(n: &str) -> bool {
    let mut c = n.chars();
    matches!(c.next(), Some(ch) if ch.is_ascii_alphabetic() || ch == '_' || ch == ':')
        && c.all(|ch| ch.is_ascii_alphanumeric() || ch == '_' || ch == ':')
}

fn valid_label_name(n: &str) -> bool {
    let mut c = n.chars();
    matches!(c.next(), Some(ch) if ch.is_ascii_alphabetic() || ch == '_')
        && c.all(|ch| ch.is_ascii_alphanumeric() || ch == '_')
}

fn unescape_help(s: &str, format: Format) -> Result<String, String> {
    let mut out = String::new();
    let mut it = s.chars();
    while let Some(c) = it.next() {
        if c == '\\' {
            match it.next() {
                Some('\\') => out.push('\\'),
                Some('n') => out.push('\n'),
                Some('"') if format == Format::OpenMetrics => out.push('"'),
                other => return Err(format!("bad escape in HELP: {other:?}")),
            }
        } else if c == '"' && format == Format::OpenMetrics {
            return Err("unescaped quote in OpenMetrics HELP".into());
        } else {
            out.push(c);
        }
    }
    Ok(out)
}

pub(crate) fn parse_value(s: &str) -> Result<f64, String> {
    match s {
        "+Inf" => Ok(f64::INFINITY),
        "-Inf" => Ok(f64::NEG_INFINITY),
        "NaN" => Ok(f64::NAN),
        _ => {
            if s.chars()
                .any(|c| c.is_ascii_alphabetic() && c != 'e' && c != 'E')
            {
                return Err(format!("bad number {s:?}"));
            }
            s.parse::<f64>().map_err(|_| format!("bad number {s:?}"))
        }
    }
}

type Labels = Vec<(String, String)>;

/// Parses `{a="x",b="y"}` at the start of `s`; returns labels and the rest.
fn parse_labels(s: &str) -> Result<(Labels, &str), String> {
    let mut labels = Vec::new();
    let mut rest = s.strip_prefix('{').ok_or("expected {")?;
    if let Some(r) = rest.strip_prefix('}') {
        return Ok((labels, r));
    }
    loop {
        let eq = rest.find('=').ok_or("label without =")?;
        let name = &rest[..eq];
        if !valid_label_name(name) {
            return Err(format!("bad label name {name:?}"));
        }
        rest = rest[eq + 1..]
            .strip_prefix('"')
            .ok_or("label value not quoted")?;
        let mut value = String::new();
        let mut chars = rest.char_indices();
        let end = loop {
            match chars.next() {
                None => return Err("unterminated label value".into()),
                Some((i, '"')) => break i,
                Some((_, '\\')) => match chars.next() {
                    Some((_, '\\')) => value.push('\\'),
                    Some((_, '"')) => value.push('"'),
                    Some((_, 'n')) => value.push('\n'),
                    other => return Err(format!("bad escape {other:?}")),
                },
                Some((_, '\n')) => return Err("raw newline in label value".into()),
                Some((_, c)) => value.push(c),
            }
        };
        if labels.iter().any(|(n, _)| n == name) {
            return Err(format!("duplicate label {name}"));
        }
        labels.push((name.to_owned(), value));
        rest = &rest[end + 1..];
        if let Some(r) = rest.strip_prefix(',') {
            rest = r;
        } else if let Some(r) = rest.strip_prefix('}') {
            return Ok((labels, r));
        } else {
            return Err("expected , or }".into());
        }
    }
}

fn parse_sample(line: &str, format: Format) -> Result<Sample, String> {
    let name_end = line.find(['{', ' ']).ok_or("no value")?;
    let name = &line[..name_end];
    if !valid_metric_name(name) {
        return Err(format!("bad metric name {name:?}"));
    }
    let (labels, rest) = if line[name_end..].starts_with('{') {
        parse_labels(&line[name_end..])?
    } else {
        (vec![], &line[name_end..])
    };
    let rest = rest
        .strip_prefix(' ')
        .ok_or("expected space before value")?;
    let (main, exemplar) = match rest.split_once(" # ") {
        Some((m, e)) => {
            if format != Format::OpenMetrics {
                return Err("exemplar in Prometheus 0.0.4 text".into());
            }
            (m, Some(e))
        }
        None => (rest, None),
    };
    let mut parts = main.split(' ');
    let value = parse_value(parts.next().ok_or("no value")?)?;
    if parts.next().is_some() {
        return Err("unexpected sample timestamp".into());
    }
    let exemplar = match exemplar {
        None => None,
        Some(e) => {
            let (labels, rest) = parse_labels(e)?;
            let rest = rest.strip_prefix(' ').ok_or("exemplar without value")?;
            let mut parts = rest.split(' ');
            let value = parse_value(parts.next().ok_or("exemplar without value")?)?;
            let timestamp = match parts.next() {
                Some(t) => Some(parse_value(t)?),
                None => None,
            };
            if parts.next().is_some() {
                return Err("trailing data after exemplar".into());
            }
            Some(Exemplar {
                labels,
                value,
                timestamp,
            })
        }
    };
    Ok(Sample {
        name: name.to_owned(),
        labels,
        value,
        exemplar,
    })
}

/// All samples of every family, flattened.
pub(crate) fn samples(families: &[Family]) -> impl Iterator<Item = &Sample> {
    families.iter().flat_map(|f| f.samples.iter())
}
