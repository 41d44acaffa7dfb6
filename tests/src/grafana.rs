//! The Grafana example stack (`examples/grafana/`) as the tests read it: its files
//! parsed, its Spangate config turned into loopback `GatewayOptions`, the traffic script
//! run against a test gateway, and the metric names a PromQL expression reads.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread::sleep;
use std::time::Duration;

use serde_yaml_ng::Value as Yaml;

use crate::harness::{GatewayOptions, crate_dir};

/// `examples/grafana/` of this checkout.
pub fn stack_dir() -> PathBuf {
    crate_dir().join("../examples/grafana")
}

/// A YAML file of the stack, by its path relative to `examples/grafana/`.
pub fn read_yaml(relative: &str) -> Yaml {
    let path = stack_dir().join(relative);
    let text =
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    serde_yaml_ng::from_str(&text).unwrap_or_else(|e| panic!("{} is not YAML: {e}", path.display()))
}

/// A JSON file of the stack, by its path relative to `examples/grafana/`.
pub fn read_json(relative: &str) -> serde_json::Value {
    let path = stack_dir().join(relative);
    let text =
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
}

/// Every file under `examples/grafana/`, relative to it, sorted.
pub fn stack_files() -> Vec<String> {
    fn walk(dir: &Path, root: &Path, out: &mut Vec<String>) {
        let entries =
            std::fs::read_dir(dir).unwrap_or_else(|e| panic!("list {}: {e}", dir.display()));
        for entry in entries {
            let path = entry.expect("directory entry").path();
            if path.is_dir() {
                walk(&path, root, out);
            } else {
                let relative = path.strip_prefix(root).expect("a path under the stack");
                out.push(relative.to_string_lossy().replace('\\', "/"));
            }
        }
    }
    let root = stack_dir();
    let mut files = Vec::new();
    walk(&root, &root, &mut files);
    files.sort();
    files
}

/// Grafana's provisioning files expand `$NAME` / `${NAME}` from the environment and
/// turn `$$` into a literal `$`: the text Grafana itself works with.
pub fn provisioned_text(text: &str) -> String {
    text.replace("$$", "$")
}

/// A `'static` copy for the `&'static str` fields of `GatewayOptions` (a test process
/// builds a handful of them).
fn leak(text: String) -> &'static str {
    Box::leak(text.into_boxed_str())
}

/// One `key: <value as JSON>` line (JSON is YAML, and one line per key keeps the
/// harness's indentation valid).
fn yaml_line(key: &str, value: &Yaml) -> String {
    let json = serde_json::to_string(value)
        .unwrap_or_else(|e| panic!("`{key}` of the stack config has no JSON form: {e}"));
    format!("{key}: {json}\n")
}

fn string_key(key: &Yaml) -> &str {
    key.as_str()
        .unwrap_or_else(|| panic!("stack config: non-string key {key:?}"))
}

fn mapping<'a>(value: &'a Yaml, what: &str) -> &'a serde_yaml_ng::Mapping {
    value
        .as_mapping()
        .unwrap_or_else(|| panic!("stack config: `{what}` is not a mapping"))
}

fn text_value(value: &Yaml, what: &str) -> &'static str {
    match value {
        Yaml::String(s) => leak(s.clone()),
        other => leak(
            serde_json::to_string(other).unwrap_or_else(|e| panic!("stack config: `{what}`: {e}")),
        ),
    }
}

fn number_value(value: &Yaml, what: &str) -> u64 {
    value
        .as_u64()
        .unwrap_or_else(|| panic!("stack config: `{what}` is not a whole number"))
}

/// The stack's `spangate.yaml` as a test gateway runs it: every key kept, except the
/// ones the harness owns (listen addresses become free loopback ports, `data_dir` a
/// temporary directory). A key the adaptation does not know fails
/// here rather than being dropped silently.
pub fn gateway_options(config: &Yaml) -> GatewayOptions {
    let mut options = GatewayOptions::default();
    let mut storage_extra = String::new();
    for (key, value) in mapping(config, "the document") {
        match string_key(key) {
            "storage" => {
                for (key, value) in mapping(value, "storage") {
                    match string_key(key) {
                        "data_dir" => {}
                        "fsync" => options.fsync = text_value(value, "storage.fsync"),
                        "compression" => {
                            options.compression = text_value(value, "storage.compression")
                        }
                        "blocks" => options.blocks = text_value(value, "storage.blocks"),
                        other => storage_extra.push_str(&yaml_line(other, value)),
                    }
                }
            }
            "receivers" => {
                for (key, value) in mapping(value, "receivers") {
                    let name = string_key(key);
                    let (enabled, limit, extra) = match name {
                        "otlp_grpc" => (
                            &mut options.grpc_enabled,
                            &mut options.max_message_bytes,
                            &mut options.grpc_extra,
                        ),
                        "otlp_http" => (
                            &mut options.http_enabled,
                            &mut options.max_body_bytes,
                            &mut options.http_extra,
                        ),
                        other => panic!("stack config: receiver `{other}` is not adapted"),
                    };
                    for (key, value) in mapping(value, name) {
                        match string_key(key) {
                            "listen" => {}
                            "enabled" => {
                                *enabled = value.as_bool().unwrap_or_else(|| {
                                    panic!("stack config: `{name}.enabled` is not a bool")
                                })
                            }
                            "max_message_bytes" | "max_body_bytes" => {
                                *limit = number_value(value, name)
                            }
                            other => extra.push_str(&yaml_line(other, value)),
                        }
                    }
                }
            }
            "ingest" => {
                for (key, value) in mapping(value, "ingest") {
                    match string_key(key) {
                        "max_inflight_writes" => {
                            options.max_inflight_writes = number_value(value, "ingest")
                        }
                        "queue_timeout" => {
                            options.queue_timeout = text_value(value, "ingest.queue_timeout")
                        }
                        other => panic!("stack config: `ingest.{other}` is not adapted"),
                    }
                }
            }
            "query" => {
                for (key, value) in mapping(value, "query") {
                    match string_key(key) {
                        "listen" => {}
                        other => options.query_extra.push_str(&yaml_line(other, value)),
                    }
                }
            }
            "log" => {
                for (key, value) in mapping(value, "log") {
                    match string_key(key) {
                        "level" => options.log_level = text_value(value, "log.level"),
                        other => options.log_extra.push_str(&yaml_line(other, value)),
                    }
                }
            }
            other => options.extra_yaml.push_str(&yaml_line(other, value)),
        }
    }
    options.storage_extra = leak(storage_extra);
    options
}

/// The port of a `host:port` listen address (`receivers.otlp_grpc.listen`, ...).
pub fn listen_port(config: &Yaml, path: &[&str]) -> u16 {
    let mut value = config;
    for key in path {
        value = &value[*key];
    }
    let address = value
        .as_str()
        .unwrap_or_else(|| panic!("stack config: `{}` is not set", path.join(".")));
    address
        .rsplit_once(':')
        .and_then(|(_, port)| port.parse().ok())
        .unwrap_or_else(|| {
            panic!(
                "stack config: `{}` = {address:?} has no port",
                path.join(".")
            )
        })
}

/// Runs `examples/grafana/traffic.py` for `iterations` traces with the venv's Python
/// and `env` (the OTel exporter variables); returns the JSON line it printed per trace.
/// Panics with its output if it fails or takes longer than a minute.
pub fn run_traffic(iterations: u32, env: &[(&str, &str)]) -> Vec<serde_json::Value> {
    let dir = tempfile::tempdir().expect("temp dir");
    let (out_path, err_path) = (dir.path().join("stdout"), dir.path().join("stderr"));
    let mut child = Command::new(crate::python_app::python())
        .arg(stack_dir().join("traffic.py"))
        .args(["--iterations", &iterations.to_string(), "--interval", "0.2"])
        .env("NO_PROXY", "127.0.0.1,localhost")
        .env("no_proxy", "127.0.0.1,localhost")
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out_path).expect("stdout file"))
        .stderr(std::fs::File::create(&err_path).expect("stderr file"))
        .spawn()
        .expect("start traffic.py");
    let read = |p: &Path| std::fs::read_to_string(p).unwrap_or_default();
    let mut status = None;
    for _ in 0..600 {
        status = child.try_wait().expect("wait for traffic.py");
        if status.is_some() {
            break;
        }
        sleep(Duration::from_millis(100));
    }
    let Some(status) = status else {
        let _ = child.kill();
        let _ = child.wait();
        panic!(
            "traffic.py did not finish within a minute\n{}",
            read(&err_path)
        );
    };
    let (stdout, stderr) = (read(&out_path), read(&err_path));
    assert!(
        status.success(),
        "traffic.py failed with {status}\nstdout: {stdout}\nstderr: {stderr}"
    );
    stdout
        .lines()
        .map(|line| {
            serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("traffic.py printed a non-JSON line ({e}): {line}"))
        })
        .collect()
}

/// PromQL words that are not metric names when they stand alone: keywords, and the
/// aggregation operators (their `by (...)` may stand between the name and the `(`).
const PROMQL_KEYWORDS: &[&str] = &[
    "sum",
    "min",
    "max",
    "avg",
    "group",
    "stddev",
    "stdvar",
    "count",
    "count_values",
    "bottomk",
    "topk",
    "quantile",
    "limitk",
    "limit_ratio",
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "bool",
    "offset",
    "and",
    "or",
    "unless",
    "atan2",
    "Inf",
    "NaN",
    "inf",
    "nan",
];

/// Keywords followed by a parenthesised list of label names, not of expressions.
const LABEL_LIST_KEYWORDS: &[&str] = &[
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
];

/// The metric names a PromQL expression selects: identifiers outside label matchers
/// (`{...}`), range and subquery brackets (`[...]`), strings and label lists
/// (`by (...)`), that are neither keywords nor function calls. Grafana's template
/// variables (`$__rate_interval`, `$service`) must be substituted first. Grafana's
/// `label_values(metric, label)` (a variable query, not PromQL) yields `metric`.
pub fn promql_metric_names(expr: &str) -> BTreeSet<String> {
    if let Some(args) = expr
        .trim()
        .strip_prefix("label_values(")
        .and_then(|rest| rest.strip_suffix(')'))
    {
        let metric = args.split(',').next().unwrap_or_default();
        return promql_metric_names(metric);
    }
    let chars: Vec<char> = expr.chars().collect();
    let mut names = BTreeSet::new();
    let mut i = 0;
    let mut skip_next_list = false;
    while i < chars.len() {
        let c = chars[i];
        // `group_left` may stand without its list: only a `(` right after takes it.
        if skip_next_list && c != '(' && !c.is_whitespace() {
            skip_next_list = false;
        }
        match c {
            '"' | '\'' | '`' => i = skip_string(&chars, i),
            '{' => i = skip_until(&chars, i, '}'),
            '[' => i = skip_until(&chars, i, ']'),
            '(' if skip_next_list => {
                skip_next_list = false;
                i = skip_until(&chars, i, ')');
            }
            c if c.is_ascii_digit()
                || (c == '.' && chars.get(i + 1).is_some_and(char::is_ascii_digit)) =>
            {
                // A number, including exponents and hex (`1e3`, `0x1f`, `0.95`).
                while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '.') {
                    i += 1;
                }
            }
            c if c.is_ascii_alphabetic() || c == '_' || c == ':' => {
                let start = i;
                while i < chars.len()
                    && (chars[i].is_ascii_alphanumeric() || chars[i] == '_' || chars[i] == ':')
                {
                    i += 1;
                }
                let word: String = chars[start..i].iter().collect();
                let next = chars[i..].iter().find(|c| !c.is_whitespace());
                if LABEL_LIST_KEYWORDS.contains(&word.as_str()) {
                    skip_next_list = true;
                } else if next != Some(&'(') && !PROMQL_KEYWORDS.contains(&word.as_str()) {
                    names.insert(word);
                }
            }
            _ => i += 1,
        }
    }
    names
}

/// The index after the string literal starting at `start` (backslash escapes honoured
/// except in raw backtick strings).
fn skip_string(chars: &[char], start: usize) -> usize {
    let quote = chars[start];
    let mut i = start + 1;
    while i < chars.len() {
        if chars[i] == '\\' && quote != '`' {
            i += 2;
            continue;
        }
        if chars[i] == quote {
            return i + 1;
        }
        i += 1;
    }
    i
}

/// The index after the `close` that ends the bracket opened at `start`, skipping
/// strings inside (label values may hold brackets).
fn skip_until(chars: &[char], start: usize, close: char) -> usize {
    let open = chars[start];
    let mut depth = 0;
    let mut i = start;
    while i < chars.len() {
        match chars[i] {
            '"' | '\'' | '`' => {
                i = skip_string(chars, i);
                continue;
            }
            c if c == open => depth += 1,
            c if c == close => {
                depth -= 1;
                if depth == 0 {
                    return i + 1;
                }
            }
            _ => {}
        }
        i += 1;
    }
    i
}
