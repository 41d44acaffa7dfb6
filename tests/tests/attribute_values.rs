//! Property test: random attribute values (any unicode, any i64, finite doubles of both
//! signs, any bytes, nested arrays and key-value lists) and random names survive the
//! trip through both receivers and come back equal in Tempo JSON and protobuf.

use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue};
use opentelemetry_proto::tonic::trace::v1::span::{Event, SpanKind};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use spangate_integration_tests::clients::decode_http_export_response;
use spangate_integration_tests::compare::differences;
use spangate_integration_tests::fixtures::{
    self, av_array, av_bool, av_bytes, av_double, av_int, av_kvlist, av_str, kv,
};
use spangate_integration_tests::otlp_json::JsonStyle;
use spangate_integration_tests::{TestGateway, ids};

const CASES: u32 = 32;

fn finite_f64() -> impl Strategy<Value = f64> {
    prop::num::f64::POSITIVE
        | prop::num::f64::NEGATIVE
        | prop::num::f64::NORMAL
        | prop::num::f64::SUBNORMAL
        | prop::num::f64::ZERO
}

fn any_value() -> impl Strategy<Value = AnyValue> {
    let leaf = prop_oneof![
        any::<String>().prop_map(|s| av_str(&s)),
        any::<bool>().prop_map(av_bool),
        any::<i64>().prop_map(av_int),
        finite_f64().prop_map(av_double),
        prop::collection::vec(any::<u8>(), 0..40).prop_map(|b| av_bytes(&b)),
    ];
    leaf.prop_recursive(3, 32, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(av_array),
            attributes(inner).prop_map(av_kvlist),
        ]
    })
}

/// Key-value lists with unique keys (OTLP requires unique keys).
fn attributes(values: impl Strategy<Value = AnyValue>) -> impl Strategy<Value = Vec<KeyValue>> {
    prop::collection::btree_map(any::<String>(), values, 0..6)
        .prop_map(|m| m.into_iter().map(|(k, v)| kv(&k, v)).collect())
}

#[derive(Clone, Debug)]
struct Case {
    span_name: String,
    event_name: String,
    span_attributes: Vec<KeyValue>,
    resource_attributes: Vec<KeyValue>,
    /// 0: gRPC, 1: HTTP protobuf, 2: HTTP JSON (string ints), 3: HTTP JSON (number ints).
    transport: u8,
}

fn case(transports: std::ops::Range<u8>) -> impl Strategy<Value = Case> {
    (
        any::<String>(),
        any::<String>(),
        attributes(any_value()),
        attributes(any_value()),
        transports,
    )
        .prop_map(
            |(span_name, event_name, span_attributes, resource_attributes, transport)| Case {
                span_name,
                event_name,
                span_attributes,
                resource_attributes,
                transport,
            },
        )
}

/// Runs `CASES` random cases over the given transports; every form read back must equal
/// what was sent.
fn round_trip_random_cases(transports: std::ops::Range<u8>) {
    let gw = TestGateway::start();
    let grpc = gw.grpc();
    let mut runner = TestRunner::new(Config {
        cases: CASES,
        max_shrink_iters: 64,
        failure_persistence: None,
        ..Config::default()
    });
    let result = runner.run(&case(transports), |c| {
        let trace_id = ids::trace_id();
        let now = ids::now_nanos();
        let mut span = fixtures::span(
            &trace_id,
            &ids::span_id(),
            None,
            &c.span_name,
            SpanKind::Server,
            now,
            now + 1000,
        );
        span.attributes = c.span_attributes.clone();
        span.events = vec![Event {
            time_unix_nano: now + 10,
            name: c.event_name.clone(),
            attributes: c.span_attributes.clone(),
            dropped_attributes_count: 0,
        }];
        let mut req = fixtures::simple_request("prop", vec![span]);
        if let Some(r) = req.resource_spans[0].resource.as_mut() {
            r.attributes.extend(c.resource_attributes.iter().cloned());
        }
        match c.transport {
            0 => grpc.export_ok(&req),
            1 => gw.export_http_ok(&req),
            n => {
                let style = JsonStyle {
                    int64_as_number: n == 3,
                    ..Default::default()
                };
                decode_http_export_response(&gw.post_json(&req, style, false), true);
            }
        }
        let hex = ids::hex_id(&trace_id);
        gw.wait_for_spans(&hex, 1);
        let forms = [
            (
                "v2 protobuf",
                gw.trace_v2_protobuf(&hex)
                    .trace
                    .unwrap_or_default()
                    .resource_spans,
            ),
            ("v2 JSON", gw.trace_v2_json(&hex).trace.resource_spans),
            ("v1 JSON", gw.trace_v1_json(&hex).resource_spans),
        ];
        for (form, actual) in forms {
            let diffs = differences(&req.resource_spans, &actual);
            if !diffs.is_empty() {
                return Err(TestCaseError::fail(format!(
                    "transport {} → {form}:\n{}",
                    c.transport,
                    diffs.join("\n")
                )));
            }
        }
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}

#[test]
fn random_values_round_trip_over_grpc_and_http_protobuf() {
    round_trip_random_cases(0..2);
}

#[test]
fn random_values_round_trip_over_http_json() {
    round_trip_random_cases(2..4);
}
