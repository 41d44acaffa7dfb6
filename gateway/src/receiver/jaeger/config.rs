//! `receivers.jaeger:` in the config: one optional listener per Jaeger transport, each
//! off unless present.

use std::net::SocketAddr;

use serde::Deserialize;

/// Largest accepted gRPC message or HTTP body by default, in bytes: 4 MiB.
const DEFAULT_MAX_BYTES: usize = 4 * 1024 * 1024;

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct JaegerReceiverConfig {
    /// gRPC `jaeger.api_v2.CollectorService/PostSpans` (Jaeger's port 14250).
    #[serde(default)]
    pub grpc: Option<JaegerGrpcConfig>,
    /// Thrift over HTTP, `POST /api/traces` (Jaeger's port 14268).
    #[serde(default)]
    pub thrift_http: Option<JaegerHttpConfig>,
    /// Agent UDP, compact Thrift `Agent.emitBatch` (Jaeger's port 6831).
    #[serde(default)]
    pub thrift_compact: Option<JaegerUdpConfig>,
    /// Agent UDP, binary Thrift `Agent.emitBatch` (Jaeger's port 6832).
    #[serde(default)]
    pub thrift_binary: Option<JaegerUdpConfig>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JaegerGrpcConfig {
    /// Address to listen on, e.g. `127.0.0.1:14250`.
    pub listen: String,
    /// Largest accepted message, in bytes. Default 4 MiB.
    #[serde(default = "default_max_bytes")]
    pub max_message_bytes: usize,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JaegerHttpConfig {
    /// Address to listen on, e.g. `127.0.0.1:14268`.
    pub listen: String,
    /// Largest accepted body, in bytes (chunked bodies are counted as they arrive).
    /// Default 4 MiB.
    #[serde(default = "default_max_bytes")]
    pub max_body_bytes: usize,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JaegerUdpConfig {
    /// UDP address to listen on, e.g. `127.0.0.1:6831`.
    pub listen: String,
}

fn default_max_bytes() -> usize {
    DEFAULT_MAX_BYTES
}

/// The parsed addresses of the Jaeger listeners; `None` where a transport is off.
#[derive(Debug, Clone, Copy, Default)]
pub struct JaegerListenAddrs {
    pub grpc: Option<SocketAddr>,
    pub thrift_http: Option<SocketAddr>,
    pub thrift_compact: Option<SocketAddr>,
    pub thrift_binary: Option<SocketAddr>,
}

/// Dotted config keys of the listeners, as errors and bind failures name them.
pub(crate) const GRPC_LISTEN_KEY: &str = "receivers.jaeger.grpc.listen";
pub(crate) const THRIFT_HTTP_LISTEN_KEY: &str = "receivers.jaeger.thrift_http.listen";
pub(crate) const THRIFT_COMPACT_LISTEN_KEY: &str = "receivers.jaeger.thrift_compact.listen";
pub(crate) const THRIFT_BINARY_LISTEN_KEY: &str = "receivers.jaeger.thrift_binary.listen";

impl JaegerReceiverConfig {
    /// Checks the sizes, and that the UDP listeners (which carry no tenant) are not
    /// configured while multi-tenancy is on; the error names the dotted key.
    pub fn validate(&self, multitenancy: bool) -> Result<(), (String, String)> {
        if let Some(grpc) = &self.grpc
            && grpc.max_message_bytes < 1024
        {
            return Err(invalid(
                "receivers.jaeger.grpc.max_message_bytes",
                "must be at least 1024",
            ));
        }
        if let Some(http) = &self.thrift_http
            && http.max_body_bytes < 1024
        {
            return Err(invalid(
                "receivers.jaeger.thrift_http.max_body_bytes",
                "must be at least 1024",
            ));
        }
        if multitenancy {
            for (key, udp) in [
                (THRIFT_COMPACT_LISTEN_KEY, &self.thrift_compact),
                (THRIFT_BINARY_LISTEN_KEY, &self.thrift_binary),
            ] {
                if udp.is_some() {
                    return Err(invalid(
                        key,
                        "the Jaeger agent UDP receivers carry no X-Scope-OrgID, so they cannot \
                         be used with multitenancy.enabled; use receivers.jaeger.grpc or \
                         receivers.jaeger.thrift_http",
                    ));
                }
            }
        }
        Ok(())
    }

    /// Parses the listen addresses of the transports that are on.
    pub fn listen_addrs(&self) -> Result<JaegerListenAddrs, (String, String)> {
        Ok(JaegerListenAddrs {
            grpc: parse(GRPC_LISTEN_KEY, self.grpc.as_ref().map(|c| &c.listen))?,
            thrift_http: parse(
                THRIFT_HTTP_LISTEN_KEY,
                self.thrift_http.as_ref().map(|c| &c.listen),
            )?,
            thrift_compact: parse(
                THRIFT_COMPACT_LISTEN_KEY,
                self.thrift_compact.as_ref().map(|c| &c.listen),
            )?,
            thrift_binary: parse(
                THRIFT_BINARY_LISTEN_KEY,
                self.thrift_binary.as_ref().map(|c| &c.listen),
            )?,
        })
    }
}

fn parse(key: &str, listen: Option<&String>) -> Result<Option<SocketAddr>, (String, String)> {
    listen
        .map(|value| {
            value.parse().map_err(|_| {
                invalid(
                    key,
                    &format!("`{value}` is not a socket address (expected host:port, e.g. 127.0.0.1:14250)"),
                )
            })
        })
        .transpose()
}

fn invalid(key: &str, message: &str) -> (String, String) {
    (key.to_owned(), message.to_owned())
}
