//! End-to-end test support for spangate: a harness that runs the real binary, OTLP
//! clients, request builders, an independent decoder of Tempo's JSON, and comparisons.
//!
//! The tests themselves live in `tests/tests/*.rs`, one topic per file.

pub mod browser;
pub mod certs;
pub mod cli;
pub mod clients;
pub mod clients_env;
pub mod compare;
pub mod expect;
pub mod fixtures;
pub mod grafana;
pub mod harness;
pub mod ids;
pub mod jaeger;
pub mod languages;
pub mod otlp_json;
pub mod plugins;
pub mod prom;
pub mod python_app;
pub mod query;
pub mod readme;
pub mod reference;
pub mod sdk;
pub mod tempo_json;
pub mod tempopb;
pub mod trace_view;

pub use clients::{GrpcClient, HttpResponse};
pub use compare::assert_same_spans;
pub use harness::{GatewayOptions, TestGateway};
