//! Zipkin's v2 span model, as every decoder produces it: v2 JSON and protobuf map onto it
//! field for field, v1 JSON is converted into it (`v1.rs`), and `translate.rs` maps it
//! to OTLP. The `debug` and `shared` flags are read and not kept: the OTLP mapping has
//! no place for them.

use std::collections::BTreeMap;
use std::net::IpAddr;

/// One Zipkin span. Ids are big-endian bytes; a 64-bit trace id is the low half of the
/// 128-bit one, with the high half zero.
#[derive(Debug, Clone, PartialEq, Default)]
pub(super) struct ZipkinSpan {
    pub(super) trace_id: [u8; 16],
    pub(super) id: [u8; 8],
    pub(super) parent_id: Option<[u8; 8]>,
    pub(super) name: String,
    pub(super) kind: Option<Kind>,
    /// Epoch microseconds of the start; 0 when the span did not say.
    pub(super) timestamp_micros: u64,
    pub(super) duration_micros: u64,
    pub(super) local_endpoint: Option<Endpoint>,
    pub(super) remote_endpoint: Option<Endpoint>,
    pub(super) annotations: Vec<Annotation>,
    pub(super) tags: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Client,
    Server,
    Producer,
    Consumer,
}

impl Kind {
    /// Zipkin's name of a kind (`CLIENT`, ...); other names are no kind.
    pub(super) fn from_name(name: &str) -> Option<Kind> {
        match name {
            "CLIENT" => Some(Kind::Client),
            "SERVER" => Some(Kind::Server),
            "PRODUCER" => Some(Kind::Producer),
            "CONSUMER" => Some(Kind::Consumer),
            _ => None,
        }
    }
}

/// A network node: the span's own (local) or the other side (remote).
#[derive(Debug, Clone, PartialEq, Default)]
pub(super) struct Endpoint {
    pub(super) service_name: String,
    pub(super) ipv4: Option<IpAddr>,
    pub(super) ipv6: Option<IpAddr>,
    /// 0 when unknown.
    pub(super) port: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub(super) struct Annotation {
    /// Epoch microseconds.
    pub(super) timestamp_micros: u64,
    pub(super) value: String,
}
