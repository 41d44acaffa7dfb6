//! The reusable part of the load generator: realistic OTLP requests, also used by the
//! gateway's pipeline benchmark (`gateway/benches/pipeline.rs`) so both measure the
//! same spans.

pub mod generate;
