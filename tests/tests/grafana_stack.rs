//! The Grafana example stack (`examples/grafana/`). Grafana, Prometheus, Loki and Docker
//! cannot run here, so the stack is checked in two ways:
//! - its files: each parses, matches the schema its reader expects (Grafana's
//!   provisioning keys and jsonData as Grafana's types spell them, dashboards, Compose,
//!   Prometheus, Loki), and agrees with the others (datasource uids, ports, paths);
//! - a real gateway running the stack's `spangate.yaml` (on loopback ports), fed by the
//!   stack's traffic script (the Python example app), answers every URL and query those
//!   files contain: the Tempo API paths Grafana calls, every TraceQL query with data,
//!   every metric name of every PromQL expression on `/metrics`, exemplars that open a
//!   stored trace, and log records that link back to their trace.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap fails it loudly, as it should

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use prost::Message;
use serde::Deserialize;
use serde_json::Value as Json;
use serde_yaml_ng::Value as Yaml;
use spangate_integration_tests::clients::grpc_stream;
use spangate_integration_tests::grafana::{
    gateway_options, listen_port, promql_metric_names, provisioned_text, read_json, read_yaml,
    run_traffic, stack_dir, stack_files,
};
use spangate_integration_tests::query::url_encode;
use spangate_integration_tests::{TestGateway, ids, prom};

// --- Grafana's provisioning schema, as its TypeScript types spell the keys ------------
// (public/app/plugins/datasource/tempo/types.ts, @grafana/o11y-ds-frontend's
// TraceToLogsSettings / TraceToMetricsSettings / SpanBarSettings / NodeGraphSettings,
// the Prometheus and Loki datasources' types.ts). deny_unknown_fields: a misspelt key,
// which Grafana would ignore without a word, fails here.

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DatasourceFile {
    #[serde(rename = "apiVersion")]
    api_version: u32,
    datasources: Vec<Datasource>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Datasource {
    name: String,
    #[serde(rename = "type")]
    kind: String,
    uid: String,
    access: String,
    url: String,
    #[serde(default)]
    is_default: bool,
    /// Provisioned datasources can be changed in the UI (a demo stack).
    #[serde(default)]
    editable: bool,
    json_data: Yaml,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct TempoJsonData {
    streaming_enabled: Streaming,
    traces_to_logs_v2: TracesToLogs,
    traces_to_metrics: TracesToMetrics,
    service_map: DatasourceRef,
    node_graph: NodeGraph,
    search: Search,
    trace_query: TraceQuery,
    span_bar: SpanBar,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Streaming {
    search: bool,
    metrics: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct TracesToLogs {
    datasource_uid: String,
    span_start_time_shift: String,
    span_end_time_shift: String,
    tags: Vec<TagMapping>,
    #[serde(rename = "filterByTraceID")]
    filter_by_trace_id: bool,
    #[serde(rename = "filterBySpanID")]
    filter_by_span_id: bool,
    custom_query: bool,
    #[serde(default)]
    query: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TagMapping {
    key: String,
    value: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct TracesToMetrics {
    datasource_uid: String,
    span_start_time_shift: String,
    span_end_time_shift: String,
    tags: Vec<TagMapping>,
    queries: Vec<NamedQuery>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NamedQuery {
    name: String,
    query: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct DatasourceRef {
    datasource_uid: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NodeGraph {
    enabled: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Search {
    hide: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct TraceQuery {
    time_shift_enabled: bool,
    span_start_time_shift: String,
    span_end_time_shift: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SpanBar {
    #[serde(rename = "type")]
    kind: String,
    tag: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct PrometheusJsonData {
    http_method: String,
    exemplar_trace_id_destinations: Vec<ExemplarDestination>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct ExemplarDestination {
    name: String,
    datasource_uid: String,
    url_display_label: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct LokiJsonData {
    derived_fields: Vec<DerivedField>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct DerivedField {
    name: String,
    matcher_type: String,
    matcher_regex: String,
    url: String,
    datasource_uid: String,
    url_display_label: Option<String>,
}

/// The stack's datasources, parsed, with their typed jsonData.
struct Datasources {
    all: Vec<Datasource>,
    tempo: TempoJsonData,
    prometheus: PrometheusJsonData,
    loki: LokiJsonData,
}

impl Datasources {
    fn load() -> Self {
        let path = "grafana/provisioning/datasources/datasources.yaml";
        let text = std::fs::read_to_string(stack_dir().join(path)).unwrap();
        let file: DatasourceFile = serde_yaml_ng::from_str(&provisioned_text(&text))
            .unwrap_or_else(|e| panic!("{path}: {e}"));
        assert_eq!(file.api_version, 1, "{path}: apiVersion");
        let json_data = |kind: &str| {
            let matching: Vec<_> = file.datasources.iter().filter(|d| d.kind == kind).collect();
            assert_eq!(matching.len(), 1, "{path}: one datasource of type {kind}");
            matching[0].json_data.clone()
        };
        let typed = |kind: &str| -> Yaml { json_data(kind) };
        let tempo = serde_yaml_ng::from_value(typed("tempo"))
            .unwrap_or_else(|e| panic!("{path}: Tempo jsonData: {e}"));
        let prometheus = serde_yaml_ng::from_value(typed("prometheus"))
            .unwrap_or_else(|e| panic!("{path}: Prometheus jsonData: {e}"));
        let loki = serde_yaml_ng::from_value(typed("loki"))
            .unwrap_or_else(|e| panic!("{path}: Loki jsonData: {e}"));
        Datasources {
            all: file.datasources,
            tempo,
            prometheus,
            loki,
        }
    }

    /// The type of the datasource with this uid; panics when none has it.
    fn kind_of(&self, uid: &str) -> &str {
        self.all
            .iter()
            .find(|d| d.uid == uid)
            .map(|d| d.kind.as_str())
            .unwrap_or_else(|| panic!("no datasource has uid {uid:?}"))
    }

    fn by_kind(&self, kind: &str) -> &Datasource {
        self.all.iter().find(|d| d.kind == kind).unwrap()
    }

    /// The Tempo datasource's trace-to-metrics queries as Grafana runs them for a span
    /// of `service` (`$__tags` expanded with the configured tag mapping).
    fn traces_to_metrics_queries(&self, service: &str) -> Vec<String> {
        let metrics = &self.tempo.traces_to_metrics;
        let tags: Vec<String> = metrics
            .tags
            .iter()
            .map(|tag| {
                assert_eq!(tag.key, "service.name", "only service.name is mapped");
                format!("{}=\"{service}\"", tag.value.as_deref().unwrap_or(&tag.key))
            })
            .collect();
        metrics
            .queries
            .iter()
            .map(|q| q.query.replace("$__tags", &tags.join(",")))
            .collect()
    }
}

/// A Grafana time shift: an optional minus and a whole number of a Grafana unit.
fn is_time_shift(text: &str) -> bool {
    let digits = text.strip_prefix('-').unwrap_or(text);
    let unit_at = digits.find(|c: char| !c.is_ascii_digit()).unwrap_or(0);
    unit_at > 0 && ["ms", "s", "m", "h", "d", "w"].contains(&&digits[unit_at..])
}

fn compose() -> Yaml {
    read_yaml("compose.yaml")
}

fn service<'a>(compose: &'a Yaml, name: &str) -> &'a Yaml {
    let service = &compose["services"][name];
    assert!(service.is_mapping(), "compose.yaml: no service {name:?}");
    service
}

/// `host:port` of an `http://host:port[/path]` URL, and the path.
fn host_port_path(url: &str) -> (String, u16, String) {
    let rest = url
        .strip_prefix("http://")
        .unwrap_or_else(|| panic!("{url}: not http://"));
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let (host, port) = authority
        .split_once(':')
        .unwrap_or_else(|| panic!("{url}: no explicit port"));
    (host.to_owned(), port.parse().unwrap(), path.to_owned())
}

/// The port each compose service listens on inside the network, read from its own
/// config where it has one.
fn service_ports() -> BTreeMap<&'static str, Vec<u16>> {
    let spangate = read_yaml("spangate.yaml");
    let loki = read_yaml("loki.yaml");
    BTreeMap::from([
        (
            "spangate",
            vec![
                listen_port(&spangate, &["receivers", "otlp_grpc", "listen"]),
                listen_port(&spangate, &["receivers", "otlp_http", "listen"]),
                listen_port(&spangate, &["query", "listen"]),
            ],
        ),
        (
            "loki",
            vec![loki["server"]["http_listen_port"].as_u64().unwrap() as u16],
        ),
        // Prometheus' and Grafana's default listen ports (no flag changes them).
        ("prometheus", vec![9090]),
        ("grafana", vec![3000]),
    ])
}

/// Asserts that `url` names a compose service on a port it listens on.
fn assert_reaches_service(url: &str, what: &str) -> (String, u16, String) {
    let (host, port, path) = host_port_path(url);
    let ports = service_ports();
    let listening = ports
        .get(host.as_str())
        .unwrap_or_else(|| panic!("{what}: {url} names no service of compose.yaml"));
    assert!(
        listening.contains(&port),
        "{what}: {url}: {host} listens on {listening:?}, not {port}"
    );
    (host, port, path)
}

// --- files ---------------------------------------------------------------------------

#[test]
fn every_yaml_and_json_file_of_the_stack_parses() {
    let files = stack_files();
    let mut parsed = 0;
    for file in &files {
        if file.ends_with(".yaml") || file.ends_with(".yml") {
            read_yaml(file);
            parsed += 1;
        } else if file.ends_with(".json") {
            read_json(file);
            parsed += 1;
        }
    }
    // compose, spangate, prometheus, loki, 2 provisioning files, 2 dashboards.
    assert!(parsed >= 8, "only {parsed} YAML/JSON files in {files:?}");
    for expected in [
        "compose.yaml",
        "Dockerfile",
        "spangate.yaml",
        "prometheus.yml",
        "loki.yaml",
        "traffic.py",
        "README.md",
        "GRAFANA-USERS.md",
        "grafana/provisioning/datasources/datasources.yaml",
        "grafana/provisioning/dashboards/dashboards.yaml",
    ] {
        assert!(files.iter().any(|f| f == expected), "{expected} is missing");
    }
}

#[test]
fn the_stack_spangate_config_passes_validate_config() {
    let path = stack_dir().join("spangate.yaml");
    let output = std::process::Command::new(spangate_integration_tests::harness::spangate_binary())
        .arg("validate-config")
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "spangate validate-config {}: {}{}",
        path.display(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn datasources_have_every_tempo_feature_and_their_links_resolve() {
    let ds = Datasources::load();
    let uids: BTreeSet<_> = ds.all.iter().map(|d| d.uid.as_str()).collect();
    assert_eq!(uids.len(), ds.all.len(), "datasource uids are unique");
    for d in &ds.all {
        assert!(!d.name.is_empty() && !d.uid.is_empty());
        assert_eq!(
            d.access, "proxy",
            "{}: Grafana's server makes the calls",
            d.name
        );
        assert!(d.editable, "{}: editable in the demo", d.name);
        assert_reaches_service(&d.url, &format!("datasource {}", d.name));
    }
    let tempo_source = ds.by_kind("tempo");
    assert!(
        tempo_source.is_default,
        "Spangate is the default datasource"
    );
    let (host, port, path) = host_port_path(&tempo_source.url);
    let spangate = read_yaml("spangate.yaml");
    assert_eq!(
        (host.as_str(), port, path.as_str()),
        ("spangate", listen_port(&spangate, &["query", "listen"]), ""),
        "the Tempo datasource is Spangate's query port"
    );

    let tempo = &ds.tempo;
    assert!(tempo.streaming_enabled.search && tempo.streaming_enabled.metrics);
    assert!(tempo.node_graph.enabled);
    assert!(!tempo.search.hide);
    assert_eq!(ds.kind_of(&tempo.service_map.datasource_uid), "prometheus");

    let logs = &tempo.traces_to_logs_v2;
    assert_eq!(ds.kind_of(&logs.datasource_uid), "loki");
    assert!(logs.filter_by_trace_id && !logs.filter_by_span_id);
    assert!(
        !logs.custom_query && logs.query.is_none(),
        "the builder query"
    );
    // Loki's OTLP ingestion turns resource service.name into the label service_name.
    assert!(
        logs.tags
            .iter()
            .any(|t| t.key == "service.name" && t.value.as_deref() == Some("service_name")),
        "tracesToLogsV2 maps service.name to Loki's service_name"
    );

    let metrics = &tempo.traces_to_metrics;
    assert_eq!(ds.kind_of(&metrics.datasource_uid), "prometheus");
    assert!(!metrics.queries.is_empty());
    for q in &metrics.queries {
        assert!(
            !q.name.is_empty() && q.query.contains("$__tags"),
            "{}",
            q.query
        );
    }
    // The span-metrics label of service.name is `service` (plugins/span-metrics).
    assert!(
        metrics
            .tags
            .iter()
            .any(|t| t.key == "service.name" && t.value.as_deref() == Some("service"))
    );
    for shift in [
        &logs.span_start_time_shift,
        &logs.span_end_time_shift,
        &metrics.span_start_time_shift,
        &metrics.span_end_time_shift,
        &tempo.trace_query.span_start_time_shift,
        &tempo.trace_query.span_end_time_shift,
    ] {
        assert!(is_time_shift(shift), "time shift {shift:?}");
    }
    assert!(tempo.trace_query.time_shift_enabled);
    match tempo.span_bar.kind.as_str() {
        "None" | "Duration" => assert!(tempo.span_bar.tag.is_none()),
        "Tag" => assert!(tempo.span_bar.tag.is_some()),
        other => panic!("spanBar.type {other:?} is not None, Duration or Tag"),
    }

    assert!(["GET", "POST"].contains(&ds.prometheus.http_method.as_str()));
    assert!(!ds.prometheus.exemplar_trace_id_destinations.is_empty());
    for destination in &ds.prometheus.exemplar_trace_id_destinations {
        assert_eq!(ds.kind_of(&destination.datasource_uid), "tempo");
        assert!(
            destination
                .url_display_label
                .as_deref()
                .is_some_and(|l| !l.is_empty())
        );
        // The exemplar label the span-metrics plugin writes (its default, not overridden).
        assert_eq!(destination.name, "traceID");
    }
    assert!(
        !provisioned_text(&std::fs::read_to_string(stack_dir().join("spangate.yaml")).unwrap())
            .contains("trace_id_label_name"),
        "the exemplar label name is the plugin's default, traceID"
    );

    assert!(!ds.loki.derived_fields.is_empty());
    for field in &ds.loki.derived_fields {
        assert!(!field.name.is_empty());
        assert!(
            field
                .url_display_label
                .as_deref()
                .is_some_and(|l| !l.is_empty())
        );
        assert_eq!(field.matcher_type, "regex");
        assert_eq!(ds.kind_of(&field.datasource_uid), "tempo");
        assert_eq!(
            field.url, "${__value.raw}",
            "an internal link opens the matched id"
        );
        let regex = regex::Regex::new(&field.matcher_regex).unwrap();
        assert_eq!(regex.captures_len(), 2, "one capture group: the trace id");
    }
}

/// Every panel and target of a dashboard: (datasource type, uid) pairs and queries.
fn dashboard_datasources(dashboard: &Json) -> Vec<(String, String)> {
    let mut found = Vec::new();
    let mut push = |value: &Json| {
        if let Some(reference) = value.get("datasource") {
            found.push((
                reference["type"].as_str().unwrap_or_default().to_owned(),
                reference["uid"].as_str().unwrap_or_default().to_owned(),
            ));
        }
    };
    for panel in dashboard["panels"].as_array().unwrap() {
        push(panel);
        for target in panel["targets"].as_array().unwrap() {
            push(target);
        }
    }
    for variable in dashboard["templating"]["list"].as_array().unwrap() {
        push(variable);
    }
    found
}

/// The dashboards in the folder the provider loads, by file name.
fn dashboards() -> Vec<(String, Json)> {
    let files: Vec<_> = stack_files()
        .into_iter()
        .filter(|f| f.starts_with("grafana/dashboards/") && f.ends_with(".json"))
        .collect();
    assert!(
        files.len() >= 2,
        "the span-metrics and Spangate dashboards: {files:?}"
    );
    files
        .into_iter()
        .map(|f| {
            let json = read_json(&f);
            (f, json)
        })
        .collect()
}

/// The (datasource type, query) of every target and variable of every dashboard.
fn dashboard_queries() -> Vec<(String, String)> {
    let mut queries = Vec::new();
    for (_, dashboard) in dashboards() {
        for panel in dashboard["panels"].as_array().unwrap() {
            for target in panel["targets"].as_array().unwrap() {
                let kind = target["datasource"]["type"].as_str().unwrap().to_owned();
                let text = match kind.as_str() {
                    "prometheus" => target["expr"].as_str(),
                    "tempo" => target["query"].as_str(),
                    _ => None,
                };
                let text = text.unwrap_or_else(|| panic!("target without a query: {target}"));
                queries.push((kind, text.to_owned()));
            }
        }
        for variable in dashboard["templating"]["list"].as_array().unwrap() {
            let kind = variable["datasource"]["type"].as_str().unwrap().to_owned();
            let text = variable["query"]["query"].as_str().unwrap().to_owned();
            queries.push((kind, text));
        }
    }
    queries
}

#[test]
fn dashboards_are_provisioned_and_use_existing_datasources() {
    let provider = read_yaml("grafana/provisioning/dashboards/dashboards.yaml");
    assert_eq!(provider["apiVersion"].as_u64(), Some(1));
    let providers = provider["providers"].as_sequence().unwrap();
    assert_eq!(providers.len(), 1);
    assert_eq!(providers[0]["type"].as_str(), Some("file"));
    let path = providers[0]["options"]["path"].as_str().unwrap();
    // compose.yaml mounts ./grafana/dashboards exactly where the provider reads.
    let mounts = volume_mounts(service(&compose(), "grafana"));
    assert_eq!(
        mounts.get("./grafana/dashboards").map(String::as_str),
        Some(path),
        "the dashboards folder is mounted at the provider's path"
    );
    assert_eq!(
        mounts.get("./grafana/provisioning").map(String::as_str),
        Some("/etc/grafana/provisioning")
    );

    let ds = Datasources::load();
    let mut uids = BTreeSet::new();
    for (file, dashboard) in dashboards() {
        let uid = dashboard["uid"].as_str().unwrap();
        assert!(uids.insert(uid.to_owned()), "{file}: uid {uid} repeated");
        assert!(dashboard["title"].as_str().is_some_and(|t| !t.is_empty()));
        let panels = dashboard["panels"].as_array().unwrap();
        assert!(!panels.is_empty(), "{file}: no panels");
        let mut ids = BTreeSet::new();
        for panel in panels {
            assert!(
                ids.insert(panel["id"].as_u64().unwrap()),
                "{file}: panel ids"
            );
            assert!(panel["type"].as_str().is_some() && panel["title"].as_str().is_some());
            assert!(
                !panel["targets"].as_array().unwrap().is_empty(),
                "{file}: panel {} has no query",
                panel["title"]
            );
            for key in ["x", "y", "w", "h"] {
                assert!(panel["gridPos"][key].is_u64(), "{file}: gridPos.{key}");
            }
        }
        for (kind, uid) in dashboard_datasources(&dashboard) {
            assert_eq!(ds.kind_of(&uid), kind, "{file}: datasource {uid}");
        }
    }
    let kinds: BTreeSet<_> = dashboard_queries().into_iter().map(|(k, _)| k).collect();
    assert_eq!(
        kinds,
        BTreeSet::from(["prometheus".to_owned(), "tempo".to_owned()]),
        "PromQL panels and TraceQL panels"
    );
}

/// `source -> target` of a compose service's short-syntax volume mounts.
fn volume_mounts(service: &Yaml) -> BTreeMap<String, String> {
    service["volumes"]
        .as_sequence()
        .map(|volumes| {
            volumes
                .iter()
                .map(|v| {
                    let mut parts = v.as_str().unwrap().split(':');
                    (
                        parts.next().unwrap().to_owned(),
                        parts.next().unwrap().to_owned(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// An image reference with an exact release tag: `name:1.2.3`, `name:v1.2.3`,
/// `name:3.11.13-slim-bookworm`; never `latest`, never untagged.
fn is_pinned_image(image: &str) -> bool {
    let Some((name, tag)) = image.rsplit_once(':') else {
        return false;
    };
    let version = tag.strip_prefix('v').unwrap_or(tag);
    let numbers: Vec<_> = version.split(['-', '.']).take(3).collect();
    !name.is_empty()
        && !name.contains("latest")
        && tag != "latest"
        && numbers.len() == 3
        && numbers
            .iter()
            .all(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
}

#[test]
fn compose_pins_every_image_and_wires_ports_and_files_consistently() {
    let compose = compose();
    let services = compose["services"].as_mapping().unwrap();
    let names: BTreeSet<_> = services.keys().map(|k| k.as_str().unwrap()).collect();
    assert_eq!(
        names,
        BTreeSet::from(["app", "grafana", "loki", "prometheus", "spangate"])
    );
    for (name, service) in services {
        let name = name.as_str().unwrap();
        match (service["image"].as_str(), service.get("build")) {
            (Some(image), None) => assert!(is_pinned_image(image), "{name}: image {image}"),
            (None, Some(build)) => {
                // The Dockerfile's base images are pinned the same way (a Debian release
                // name stands for the tag's exact version).
                let dockerfile = stack_dir()
                    .join(build["context"].as_str().unwrap())
                    .join(build["dockerfile"].as_str().unwrap());
                let text = std::fs::read_to_string(&dockerfile)
                    .unwrap_or_else(|e| panic!("{name}: {}: {e}", dockerfile.display()));
                let bases: Vec<_> = text
                    .lines()
                    .filter_map(|l| l.strip_prefix("FROM "))
                    .map(|l| l.split_whitespace().next().unwrap())
                    .collect();
                assert_eq!(bases, ["rust:1.95-bookworm", "debian:bookworm-slim"]);
            }
            _ => panic!("{name}: exactly one of image and build"),
        }
        for (source, _) in volume_mounts(service) {
            if source.starts_with('.') {
                assert!(
                    stack_dir().join(&source).exists(),
                    "{name}: mounts missing {source}"
                );
            }
        }
    }

    // Spangate: its config is mounted where its command reads it, its data directory is
    // the volume, and it publishes exactly its listen ports.
    let spangate_config = read_yaml("spangate.yaml");
    let spangate = service(&compose, "spangate");
    let command: Vec<_> = spangate["command"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    let mounts = volume_mounts(spangate);
    assert_eq!(command, ["--config", mounts["./spangate.yaml"].as_str()]);
    assert_eq!(
        mounts["spangate-data"],
        spangate_config["storage"]["data_dir"].as_str().unwrap()
    );
    let published: Vec<u16> = spangate["ports"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|p| {
            let (outside, inside) = p.as_str().unwrap().split_once(':').unwrap();
            assert_eq!(outside, inside);
            inside.parse().unwrap()
        })
        .collect();
    assert_eq!(published, service_ports()["spangate"]);
    for listen in [
        &["receivers", "otlp_grpc", "listen"][..],
        &["receivers", "otlp_http", "listen"],
        &["query", "listen"],
    ] {
        let mut value = &spangate_config;
        for key in listen {
            value = &value[*key];
        }
        assert!(
            value.as_str().unwrap().starts_with("0.0.0.0:"),
            "{}: other containers must reach it",
            listen.join(".")
        );
    }

    // The app sends traces to Spangate's gRPC port and logs to Loki's OTLP endpoint.
    let app = service(&compose, "app");
    let env = &app["environment"];
    assert_eq!(env["OTEL_EXPORTER_OTLP_PROTOCOL"].as_str(), Some("grpc"));
    let (host, port, _) = assert_reaches_service(
        env["OTEL_EXPORTER_OTLP_ENDPOINT"].as_str().unwrap(),
        "app traces",
    );
    assert_eq!(
        (host.as_str(), port),
        (
            "spangate",
            listen_port(&spangate_config, &["receivers", "otlp_grpc", "listen"])
        )
    );
    let (host, _, path) = assert_reaches_service(
        env["OTEL_EXPORTER_OTLP_LOGS_ENDPOINT"].as_str().unwrap(),
        "app logs",
    );
    assert_eq!((host.as_str(), path.as_str()), ("loki", "/otlp/v1/logs"));
    let app_mounts = volume_mounts(app);
    assert_eq!(app_mounts["../python-app"], "/python-app");
    assert_eq!(app_mounts["./traffic.py"], "/traffic/traffic.py");

    // Prometheus keeps exemplars and scrapes Spangate's /metrics on its query port.
    let prometheus = service(&compose, "prometheus");
    let flags: Vec<_> = prometheus["command"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(
        flags.contains(&"--enable-feature=exemplar-storage"),
        "{flags:?}"
    );
    assert!(flags.contains(&"--config.file=/etc/prometheus/prometheus.yml"));
    assert_eq!(
        volume_mounts(prometheus)["./prometheus.yml"],
        "/etc/prometheus/prometheus.yml"
    );
    let scrape = prometheus_spangate_job();
    assert_eq!(scrape.metrics_path, "/metrics");
    assert_eq!(
        scrape.target,
        format!(
            "spangate:{}",
            listen_port(&spangate_config, &["query", "listen"])
        )
    );
    assert!(
        scrape.protocols.first().map(String::as_str) == Some("OpenMetricsText1.0.0"),
        "OpenMetrics first, the format that carries exemplars"
    );

    // Loki: the config compose mounts, OTLP ingestion's needs (structured metadata on a
    // tsdb v13 schema), data on the volume.
    let loki_mounts = volume_mounts(service(&compose, "loki"));
    assert_eq!(loki_mounts["./loki.yaml"], "/etc/loki/loki.yaml");
    let loki = read_yaml("loki.yaml");
    assert_eq!(loki["auth_enabled"].as_bool(), Some(false));
    assert_eq!(
        loki["limits_config"]["allow_structured_metadata"].as_bool(),
        Some(true)
    );
    let schema = &loki["schema_config"]["configs"][0];
    assert_eq!(
        (schema["store"].as_str(), schema["schema"].as_str()),
        (Some("tsdb"), Some("v13"))
    );
    assert!(
        loki["common"]["path_prefix"]
            .as_str()
            .unwrap()
            .starts_with(loki_mounts["loki-data"].as_str())
    );
}

/// Prometheus' scrape job for Spangate.
struct ScrapeJob {
    metrics_path: String,
    target: String,
    protocols: Vec<String>,
}

fn prometheus_spangate_job() -> ScrapeJob {
    let prometheus = read_yaml("prometheus.yml");
    let job = prometheus["scrape_configs"]
        .as_sequence()
        .unwrap()
        .iter()
        .find(|j| j["job_name"].as_str() == Some("spangate"))
        .expect("a scrape job named spangate");
    let targets = job["static_configs"][0]["targets"].as_sequence().unwrap();
    assert_eq!(targets.len(), 1);
    ScrapeJob {
        metrics_path: job["metrics_path"]
            .as_str()
            .unwrap_or("/metrics")
            .to_owned(),
        target: targets[0].as_str().unwrap().to_owned(),
        protocols: job["scrape_protocols"]
            .as_sequence()
            .map(|p| p.iter().map(|v| v.as_str().unwrap().to_owned()).collect())
            .unwrap_or_default(),
    }
}

#[test]
fn the_promql_tokenizer_finds_metric_names_and_nothing_else() {
    let names = |expr: &str| promql_metric_names(expr).into_iter().collect::<Vec<_>>();
    assert_eq!(
        names(
            r#"histogram_quantile(0.95, sum by (le, service) (rate(traces_spanmetrics_latency_bucket{service=~"a|b", x="}"}[5m])))"#
        ),
        ["traces_spanmetrics_latency_bucket"]
    );
    assert_eq!(
        names("sum(rate(a_total[1m])) by (x) / on (x) group_left sum(b) + 1e3 * c offset 5m"),
        ["a_total", "b", "c"]
    );
    assert_eq!(
        names("label_values(traces_spanmetrics_calls_total, service)"),
        ["traces_spanmetrics_calls_total"]
    );
    assert_eq!(
        names("spangate_store_disk_bytes"),
        ["spangate_store_disk_bytes"]
    );
    assert_eq!(
        names("max by (plugin) (x) > bool 0 and y unless z"),
        ["x", "y", "z"]
    );
}

// --- a gateway running the stack's config ---------------------------------------------

/// OTLP/HTTP logs as Loki receives them: the fields the stack's links rely on,
/// declared here independently of any SDK.
#[derive(Clone, PartialEq, prost::Message)]
struct ExportLogsServiceRequest {
    #[prost(message, repeated, tag = "1")]
    resource_logs: Vec<ResourceLogs>,
}
#[derive(Clone, PartialEq, prost::Message)]
struct ResourceLogs {
    #[prost(message, optional, tag = "1")]
    resource: Option<opentelemetry_proto::tonic::resource::v1::Resource>,
    #[prost(message, repeated, tag = "2")]
    scope_logs: Vec<ScopeLogs>,
}
#[derive(Clone, PartialEq, prost::Message)]
struct ScopeLogs {
    #[prost(message, repeated, tag = "2")]
    log_records: Vec<LogRecord>,
}
#[derive(Clone, PartialEq, prost::Message)]
struct LogRecord {
    #[prost(string, tag = "3")]
    severity_text: String,
    #[prost(message, optional, tag = "5")]
    body: Option<opentelemetry_proto::tonic::common::v1::AnyValue>,
    #[prost(bytes = "vec", tag = "9")]
    trace_id: Vec<u8>,
    #[prost(bytes = "vec", tag = "10")]
    span_id: Vec<u8>,
}

/// A loopback stand-in for Loki's OTLP endpoint: keeps every request body.
struct LogsReceiver {
    url: String,
    bodies: Arc<Mutex<Vec<Bytes>>>,
    _runtime: tokio::runtime::Runtime,
}

impl LogsReceiver {
    fn start() -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let bodies = Arc::new(Mutex::new(Vec::new()));
        let kept = bodies.clone();
        let handler = move |body: Bytes| {
            let kept = kept.clone();
            async move {
                kept.lock().unwrap().push(body);
                // An empty ExportLogsServiceResponse: everything accepted.
                (
                    [("content-type", "application/x-protobuf")],
                    Vec::<u8>::new(),
                )
            }
        };
        let app = axum::Router::new().route("/otlp/v1/logs", axum::routing::post(handler));
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let url = format!("http://{}/otlp/v1/logs", listener.local_addr().unwrap());
        runtime.spawn(async move { axum::serve(listener, app).await });
        LogsReceiver {
            url,
            bodies,
            _runtime: runtime,
        }
    }

    /// (service.name, body text, trace id hex, span id hex) of every record received.
    fn records(&self) -> Vec<(String, String, String, String)> {
        let mut records = Vec::new();
        for body in self.bodies.lock().unwrap().iter() {
            let request = ExportLogsServiceRequest::decode(body.clone()).unwrap();
            for resource_logs in request.resource_logs {
                let service = resource_logs
                    .resource
                    .iter()
                    .flat_map(|r| &r.attributes)
                    .find(|kv| kv.key == "service.name")
                    .and_then(|kv| kv.value.clone())
                    .and_then(|v| match v.value {
                        Some(Value::StringValue(s)) => Some(s),
                        _ => None,
                    })
                    .unwrap_or_default();
                for record in resource_logs
                    .scope_logs
                    .into_iter()
                    .flat_map(|s| s.log_records)
                {
                    let text = match record.body.and_then(|b| b.value) {
                        Some(Value::StringValue(s)) => s,
                        other => panic!("a log body that is not a string: {other:?}"),
                    };
                    records.push((
                        service.clone(),
                        text,
                        hex::encode(&record.trace_id),
                        hex::encode(&record.span_id),
                    ));
                }
            }
        }
        records
    }
}

fn get_ok(gw: &TestGateway, path: &str) -> spangate_integration_tests::HttpResponse {
    let response = gw.get(path);
    assert_eq!(response.status, 200, "GET {path}: {}", response.describe());
    response
}

/// A TraceQL query whose result is a metric (Grafana's own test for it: a pipeline
/// stage calling a metrics function).
fn is_traceql_metrics(query: &str) -> bool {
    const FUNCTIONS: &[&str] = &[
        "rate",
        "count_over_time",
        "sum_over_time",
        "avg_over_time",
        "min_over_time",
        "max_over_time",
        "quantile_over_time",
        "histogram_over_time",
        "compare",
    ];
    query.split('|').skip(1).any(|stage| {
        let stage = stage.trim_start();
        FUNCTIONS.iter().any(|f| {
            stage
                .strip_prefix(f)
                .is_some_and(|rest| rest.trim_start().starts_with('('))
        })
    })
}

/// A dashboard's TraceQL query answers with data both ways Grafana sends it: over
/// HTTP, and streamed over gRPC (`streamingEnabled`). `start`/`end` in unix seconds.
fn assert_traceql_has_data(gw: &TestGateway, query: &str, start: u64, end: u64) {
    use spangate::query::tempopb;
    const SECOND: u64 = 1_000_000_000;
    let url = gw.query_url();
    if is_traceql_metrics(query) {
        let path = format!(
            "/api/metrics/query_range?q={}&start={start}&end={end}&step=30s",
            url_encode(query)
        );
        let answer = get_ok(gw, &path).json();
        let series = answer["series"].as_array().unwrap();
        assert!(
            !series.is_empty()
                && series
                    .iter()
                    .all(|s| !s["samples"].as_array().unwrap().is_empty()),
            "{query}: no data over HTTP: {answer}"
        );
        let streamed: Vec<tempopb::QueryRangeResponse> = grpc_stream(
            &url,
            "/tempopb.StreamingQuerier/MetricsQueryRange",
            tempopb::QueryRangeRequest {
                query: query.to_owned(),
                start: start * SECOND,
                end: end * SECOND,
                step: 30 * SECOND,
                ..Default::default()
            },
        )
        .unwrap_or_else(|e| panic!("{query}: streamed MetricsQueryRange: {e:?}"));
        assert!(
            streamed
                .iter()
                .flat_map(|m| &m.series)
                .any(|s| !s.samples.is_empty()),
            "{query}: no data streamed"
        );
    } else {
        let path = format!(
            "/api/search?q={}&limit=20&spss=3&start={start}&end={end}",
            url_encode(query)
        );
        let answer = get_ok(gw, &path).json();
        assert!(
            answer["traces"].as_array().is_some_and(|t| !t.is_empty()),
            "{query}: no traces over HTTP: {answer}"
        );
        let streamed: Vec<tempopb::SearchResponse> = grpc_stream(
            &url,
            "/tempopb.StreamingQuerier/Search",
            tempopb::SearchRequest {
                query: query.to_owned(),
                limit: 20,
                spans_per_span_set: 3,
                start: u32::try_from(start).unwrap(),
                end: u32::try_from(end).unwrap(),
                ..Default::default()
            },
        )
        .unwrap_or_else(|e| panic!("{query}: streamed Search: {e:?}"));
        assert!(
            streamed.iter().any(|m| !m.traces.is_empty()),
            "{query}: no traces streamed"
        );
    }
}

#[test]
fn a_gateway_running_the_stack_config_answers_every_url_and_query_of_the_stack() {
    let config = read_yaml("spangate.yaml");
    let gw = TestGateway::start_with(gateway_options(&config));
    let logs = LogsReceiver::start();
    let sent = run_traffic(
        4,
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", &gw.grpc_url()),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
            ("OTEL_EXPORTER_OTLP_LOGS_ENDPOINT", &logs.url),
        ],
    );
    assert_eq!(sent.len(), 4, "{sent:?}");
    let services: BTreeSet<&str> = sent
        .iter()
        .map(|l| l["service"].as_str().unwrap())
        .collect();
    for line in &sent {
        gw.wait_for_spans(line["trace_id"].as_str().unwrap(), 3);
        gw.wait_for_spans(line["call_trace_id"].as_str().unwrap(), 4);
    }

    // Every TraceQL metrics query starts later than the spans' own start times.
    let start = ids::now_nanos() / 1_000_000_000 - 600;
    let end = start + 1200;

    // The Tempo API paths the datasource calls: health check, version probe, tag
    // autocompletion (v2 scopes, then values), search, trace by id.
    assert_eq!(get_ok(&gw, "/api/echo").text().trim_end(), "echo");
    let buildinfo = get_ok(&gw, "/api/status/buildinfo").json();
    assert!(
        buildinfo["version"].as_str().is_some_and(|v| !v.is_empty()),
        "{buildinfo}"
    );
    let tags = get_ok(&gw, &format!("/api/v2/search/tags?start={start}&end={end}")).json();
    let resource_tags: Vec<_> = tags["scopes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["name"] == "resource")
        .flat_map(|s| s["tags"].as_array().unwrap())
        .collect();
    assert!(resource_tags.iter().any(|t| *t == "service.name"), "{tags}");
    let values = get_ok(
        &gw,
        &format!("/api/v2/search/tag/resource.service.name/values?start={start}&end={end}"),
    )
    .json();
    for service in &services {
        assert!(
            values["tagValues"]
                .as_array()
                .unwrap()
                .iter()
                .any(|v| v["value"] == *service),
            "{service} not among {values}"
        );
    }
    get_ok(&gw, "/api/search/tags");
    // The TraceQL editor narrows value suggestions by the query typed so far.
    let names = get_ok(
        &gw,
        &format!(
            "/api/v2/search/tag/name/values?q={}&start={start}&end={end}",
            url_encode(r#"{ resource.service.name = "checkout" }"#)
        ),
    )
    .json();
    let names: BTreeSet<_> = names["tagValues"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["value"].as_str().unwrap())
        .collect();
    assert!(names.contains("GET /checkout"), "{names:?}");
    assert!(
        !names.contains("GET /"),
        "a storefront span name: {names:?}"
    );
    let search = get_ok(
        &gw,
        &format!(
            "/api/search?q={}&limit=20&spss=3&start={start}&end={end}",
            url_encode("{}")
        ),
    )
    .json();
    assert!(search["traces"].as_array().unwrap().len() >= 5, "{search}");
    for line in &sent {
        let trace = get_ok(
            &gw,
            &format!("/api/v2/traces/{}", line["trace_id"].as_str().unwrap()),
        );
        assert!(
            trace.json()["trace"]["resourceSpans"]
                .as_array()
                .is_some_and(|r| !r.is_empty())
        );
    }

    // Every TraceQL query of the dashboards answers 200 with data, and streamed.
    let queries = dashboard_queries();
    let traceql: Vec<_> = queries
        .iter()
        .filter(|(k, _)| k == "tempo")
        .map(|(_, q)| q)
        .collect();
    assert!(traceql.len() >= 2);
    for query in traceql {
        assert_traceql_has_data(&gw, query, start, end);
    }

    // Prometheus scrapes the path and port the gateway serves /metrics on; after the
    // traffic, every metric name of every PromQL expression is there.
    let scrape = prometheus_spangate_job();
    assert_eq!(
        scrape.target.rsplit_once(':').unwrap().1,
        listen_port(&config, &["query", "listen"]).to_string()
    );
    // The traffic's cross-service requests: 4 storefront -> checkout edges, every other
    // one failed, and checkout's database calls.
    let edge = [("client", "storefront"), ("server", "checkout")];
    let samples = gw.wait_for_metrics("span metrics and the service graph edges", |s| {
        services
            .iter()
            .all(|svc| prom::sum(s, "traces_spanmetrics_calls_total", &[("service", svc)]) >= 2.0)
            && prom::sum(s, "traces_service_graph_request_total", &edge) == 4.0
    });
    assert_eq!(
        prom::sum(&samples, "traces_service_graph_request_failed_total", &edge),
        2.0
    );
    assert_eq!(
        prom::sum(
            &samples,
            "traces_service_graph_request_total",
            &[("client", "checkout"), ("connection_type", "database")]
        ),
        4.0
    );
    let scraped = prom::parse(&get_ok(&gw, &scrape.metrics_path).text());
    assert!(
        scraped
            .iter()
            .any(|s| s.name == "spangate_spans_accepted_total")
    );
    let exposed: BTreeSet<String> = samples.iter().map(|s| s.name.clone()).collect();
    let service = services.first().unwrap();
    let datasources = Datasources::load();
    let mut promql: Vec<String> = queries
        .iter()
        .filter(|(k, _)| k == "prometheus")
        .map(|(_, q)| {
            q.replace("$__rate_interval", "1m")
                .replace("$service", service)
        })
        .collect();
    promql.extend(datasources.traces_to_metrics_queries(service));
    // What Grafana's Service Graph view queries through serviceMap.
    promql.extend(
        [
            "traces_service_graph_request_server_seconds_sum",
            "traces_service_graph_request_total",
            "traces_service_graph_request_failed_total",
            "traces_service_graph_request_server_seconds_bucket",
            "traces_spanmetrics_calls_total",
            "traces_spanmetrics_latency_bucket",
        ]
        .map(String::from),
    );
    let mut checked = BTreeSet::new();
    for expr in &promql {
        assert!(!expr.contains('$'), "an unexpanded variable in {expr}");
        let names = promql_metric_names(expr);
        assert!(!names.is_empty(), "no metric name found in {expr}");
        for name in names {
            assert!(exposed.contains(&name), "{expr}: {name} is not on /metrics");
            checked.insert(name);
        }
    }
    assert!(checked.len() >= 20, "{checked:?}");
    // The check can fail: a name the gateway does not expose is caught.
    let bogus = promql_metric_names("rate(spangate_spans_accepted_total_typo[1m])");
    assert!(bogus.iter().any(|n| !exposed.contains(n)));

    // Exemplars: in OpenMetrics (what Prometheus asks for first), the latency buckets
    // carry traceID exemplars, and each names a trace the datasource opens.
    let open_metrics = gw.get_with(
        &scrape.metrics_path,
        &[("accept", "application/openmetrics-text;version=1.0.0")],
    );
    assert_eq!(open_metrics.status, 200);
    let label = &datasources.prometheus.exemplar_trace_id_destinations[0].name;
    let exemplar_traces: BTreeSet<String> = prom::parse(&open_metrics.text())
        .into_iter()
        .filter(|s| s.name == "traces_spanmetrics_latency_bucket")
        .filter_map(|s| {
            s.exemplar
                .and_then(|(labels, _)| labels.get(label).cloned())
        })
        .collect();
    assert!(
        !exemplar_traces.is_empty(),
        "no {label} exemplars on the latency buckets"
    );
    for trace_id in &exemplar_traces {
        get_ok(&gw, &format!("/api/v2/traces/{trace_id}"));
    }

    // Logs: each trace's lines reached the logs endpoint under the trace's service,
    // with its trace id in the text (where the Loki derived field finds it) and in the
    // record (Loki's trace_id metadata), so both link directions land on stored traces.
    let records = logs.records();
    let derived = regex::Regex::new(&datasources.loki.derived_fields[0].matcher_regex).unwrap();
    for line in &sent {
        let trace_id = line["trace_id"].as_str().unwrap();
        let service = line["service"].as_str().unwrap();
        let of_trace: Vec<_> = records.iter().filter(|r| r.2 == trace_id).collect();
        assert_eq!(of_trace.len(), 2, "log records of {trace_id}: {records:?}");
        for (resource_service, text, _, span_id) in of_trace {
            assert_eq!(resource_service, service, "the log's resource service.name");
            assert_eq!(span_id, line["root_span_id"].as_str().unwrap());
            let captured = derived.captures(text).map(|c| c[1].to_owned());
            assert_eq!(captured.as_deref(), Some(trace_id), "{text}");
        }
    }
}
