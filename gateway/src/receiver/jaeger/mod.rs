//! Jaeger receivers: gRPC `PostSpans` (`grpc.rs`, messages in `proto.rs`), Thrift over
//! HTTP (`http.rs`) and the agent's UDP ports (`udp.rs`), decoded by `proto.rs` or the
//! Thrift decoder (`thrift/`) into one model (`model.rs`), mapped to OTLP once
//! (`translate.rs`, `attributes.rs`) and handed to ingest (`submit.rs`). Each transport
//! is off unless `receivers.jaeger.<transport>.listen` is set (`config.rs`).

mod attributes;
mod config;
pub(crate) mod fuzzing;
pub(crate) mod grpc;
pub(crate) mod http;
mod model;
mod proto;
mod submit;
mod thrift;
mod translate;
pub(crate) mod udp;

pub(crate) use config::{
    GRPC_LISTEN_KEY, THRIFT_BINARY_LISTEN_KEY, THRIFT_COMPACT_LISTEN_KEY, THRIFT_HTTP_LISTEN_KEY,
};
pub(crate) use config::{JaegerListenAddrs, JaegerReceiverConfig};
pub(crate) use submit::Sink;
pub(crate) use udp::UdpProtocol;
