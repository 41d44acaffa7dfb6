//! The Python example app (`examples/python-app/app.py`, OpenTelemetry Python SDK) sends
//! its traces over OTLP/gRPC and OTLP/HTTP protobuf; they are read back and compared with
//! the summary the app prints.

use serde_json::Value;
use spangate_integration_tests::TestGateway;
use spangate_integration_tests::expect::{
    ExpectedEvent, ExpectedLink, ExpectedSpan, ExpectedTrace, attributes_from_json,
    trace_differences,
};
use spangate_integration_tests::python_app::run_app;
use spangate_integration_tests::tempo_json::{span_kind_from_name, status_code_from_name};

fn hex_field(v: &Value, key: &str) -> Vec<u8> {
    match &v[key] {
        Value::Null => Vec::new(),
        Value::String(s) => hex::decode(s).unwrap_or_else(|e| panic!("{key} {s:?}: {e}")),
        other => panic!("{key}: expected a hex string, got {other}"),
    }
}

/// The app's summary as expectations.
fn expected_traces(summary: &Value) -> Vec<ExpectedTrace> {
    let service = summary["service_name"]
        .as_str()
        .expect("service_name")
        .to_owned();
    let scope = (
        summary["scope"]["name"]
            .as_str()
            .expect("scope name")
            .to_owned(),
        summary["scope"]["version"]
            .as_str()
            .expect("scope version")
            .to_owned(),
    );
    let resource_attributes = attributes_from_json(&summary["resource_attributes"]);
    let traces = summary["traces"].as_array().expect("traces");
    assert!(traces.len() >= 2, "the app reports two traces: {summary}");
    traces
        .iter()
        .map(|t| ExpectedTrace {
            trace_id: hex_field(t, "trace_id"),
            service_name: service.clone(),
            resource_attributes: resource_attributes.clone(),
            scope: Some(scope.clone()),
            spans: t["spans"]
                .as_array()
                .expect("spans")
                .iter()
                .map(|s| ExpectedSpan {
                    name: s["name"].as_str().expect("name").to_owned(),
                    span_id: hex_field(s, "span_id"),
                    parent_span_id: hex_field(s, "parent_span_id"),
                    kind: span_kind_from_name(s["kind"].as_str().expect("kind"))
                        .expect("known kind"),
                    attributes: attributes_from_json(&s["attributes"]),
                    events: s["events"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .map(|e| ExpectedEvent {
                            name: e["name"].as_str().expect("event name").to_owned(),
                            attributes: attributes_from_json(&e["attributes"]),
                            exact: e["exact"].as_bool().unwrap_or(true),
                        })
                        .collect(),
                    links: s["links"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .map(|l| ExpectedLink {
                            trace_id: hex_field(l, "trace_id"),
                            span_id: hex_field(l, "span_id"),
                            attributes: attributes_from_json(&l["attributes"]),
                        })
                        .collect(),
                    status_code: status_code_from_name(
                        s["status"]["code"].as_str().expect("status code"),
                    )
                    .expect("known status code"),
                    status_message: s["status"]["message"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned(),
                })
                .collect(),
        })
        .collect()
}

fn check_app(protocol: &str, endpoint_via_env: bool) {
    let gw = TestGateway::start();
    let endpoint = if protocol == "grpc" {
        gw.grpc_url()
    } else {
        gw.http_url()
    };
    let service = format!("py-example-{}", protocol.replace('/', "-"));
    let summary = run_app(protocol, &endpoint, endpoint_via_env, &service, &[]);
    assert_eq!(summary["service_name"], service.as_str(), "{summary}");
    let expected = expected_traces(&summary);

    // Sanity of the app's own report: the structure the README promises.
    let checkout = &expected[0];
    let names: Vec<&str> = checkout.spans.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        names,
        ["GET /checkout", "SELECT orders", "charge card"],
        "{summary}"
    );
    assert!(
        checkout.spans[1..]
            .iter()
            .all(|s| s.parent_span_id == checkout.spans[0].span_id)
    );
    assert_eq!(
        checkout.spans[0].links.first().map(|l| &l.trace_id),
        Some(&expected[1].trace_id)
    );

    let mut diffs = Vec::new();
    for trace in &expected {
        let hex = hex::encode(&trace.trace_id);
        let actual = gw.wait_for_spans(&hex, trace.spans.len());
        diffs.extend(
            trace_differences(trace, &actual)
                .into_iter()
                .map(|d| format!("trace {hex}: {d}")),
        );
        // The JSON forms must decode too (they are what people look at).
        let v2 = gw.trace_v2_json(&hex);
        diffs.extend(
            trace_differences(trace, &v2.trace.resource_spans)
                .into_iter()
                .map(|d| format!("trace {hex} (v2 JSON): {d}")),
        );
        let v1 = gw.trace_v1_json(&hex);
        diffs.extend(
            trace_differences(trace, &v1.resource_spans)
                .into_iter()
                .map(|d| format!("trace {hex} (v1 JSON): {d}")),
        );
    }
    assert!(
        diffs.is_empty(),
        "Python SDK over {protocol}:\n{}\napp summary: {summary}",
        diffs.join("\n")
    );
}

#[test]
fn python_sdk_over_grpc() {
    check_app("grpc", false);
}

#[test]
fn python_sdk_over_http_protobuf() {
    check_app("http/protobuf", true);
}
