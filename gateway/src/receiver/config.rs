//! `receivers:` in the config: the OTLP listeners and their size limits, and the
//! optional Jaeger and Zipkin listeners (their sections are `jaeger::JaegerReceiverConfig`
//! and `zipkin::ZipkinReceiverConfig`).

use serde::Deserialize;

use crate::access::{AuthConfig, TlsConfig};

use super::jaeger::JaegerReceiverConfig;
use super::zipkin::ZipkinReceiverConfig;

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct ReceiversConfig {
    pub otlp_grpc: GrpcReceiverConfig,
    pub otlp_http: HttpReceiverConfig,
    /// Jaeger's transports, each off unless configured.
    pub jaeger: Option<JaegerReceiverConfig>,
    /// Zipkin's HTTP API; absent (the default) is off.
    pub zipkin: Option<ZipkinReceiverConfig>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GrpcReceiverConfig {
    /// Serve OTLP/gRPC. Default true.
    pub enabled: bool,
    /// Address to listen on. Default `127.0.0.1:4317`; use `0.0.0.0:4317` for all interfaces.
    pub listen: String,
    /// Largest accepted message after decompression, in bytes. Default 4 MiB (gRPC's default).
    pub max_message_bytes: usize,
    /// Serve TLS (optionally requiring client certificates). Default off: plain text.
    pub tls: Option<TlsConfig>,
    /// Require credentials (bearer tokens or basic auth). Default off.
    pub auth: Option<AuthConfig>,
}

impl Default for GrpcReceiverConfig {
    fn default() -> Self {
        GrpcReceiverConfig {
            enabled: true,
            listen: "127.0.0.1:4317".to_owned(),
            max_message_bytes: 4 * 1024 * 1024,
            tls: None,
            auth: None,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpReceiverConfig {
    /// Serve OTLP/HTTP (`POST /v1/traces`). Default true.
    pub enabled: bool,
    /// Address to listen on. Default `127.0.0.1:4318`; use `0.0.0.0:4318` for all interfaces.
    pub listen: String,
    /// Largest accepted body, in bytes, both as sent and after gzip decompression. Default 4 MiB.
    pub max_body_bytes: usize,
    /// Serve HTTPS (optionally requiring client certificates). Default off: plain HTTP.
    pub tls: Option<TlsConfig>,
    /// Require credentials (bearer tokens or basic auth). Default off.
    pub auth: Option<AuthConfig>,
}

impl Default for HttpReceiverConfig {
    fn default() -> Self {
        HttpReceiverConfig {
            enabled: true,
            listen: "127.0.0.1:4318".to_owned(),
            max_body_bytes: 4 * 1024 * 1024,
            tls: None,
            auth: None,
        }
    }
}

impl ReceiversConfig {
    /// Checks what serde cannot (the listen addresses are parsed by the config, which
    /// also checks they do not clash with the query port); the error names the dotted key.
    pub fn validate(&self) -> Result<(), (String, String)> {
        if self.otlp_grpc.max_message_bytes < 1024 {
            return Err((
                "receivers.otlp_grpc.max_message_bytes".to_owned(),
                "must be at least 1024".to_owned(),
            ));
        }
        if self.otlp_http.max_body_bytes < 1024 {
            return Err((
                "receivers.otlp_http.max_body_bytes".to_owned(),
                "must be at least 1024".to_owned(),
            ));
        }
        if let Some(zipkin) = &self.zipkin {
            zipkin.validate()?;
        }
        Ok(())
    }
}
