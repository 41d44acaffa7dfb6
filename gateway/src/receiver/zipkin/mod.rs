//! The Zipkin receiver (`receivers.zipkin`, off unless configured): Zipkin's HTTP API
//! (`http.rs`) takes v2 JSON (`json_v2.rs`), v2 protobuf (`proto.rs`) and v1 JSON
//! (`json_v1.rs`, converted to the v2 model of `model.rs`), and `translate.rs` (with
//! `tags.rs` for the tags that are not attributes) maps the spans to the OTLP request
//! handed to `Ingest`, as the OpenTelemetry Collector's Zipkin receiver does.

mod config;
mod error;
pub(crate) mod fuzzing;
mod http;
mod ids;
mod json;
mod json_v1;
mod json_v2;
mod model;
mod proto;
mod tags;
#[cfg(test)]
mod testing;
mod translate;

pub(crate) use config::ZipkinReceiverConfig;
pub(crate) use http::router;
