//! Jaeger's span model as both wire formats carry it (Thrift `jaeger.thrift`, protobuf
//! `api_v2`): each decoder produces these types, and `translate.rs` maps them to OTLP
//! once. Ids are the unsigned 64-bit halves; times are Unix nanoseconds, already
//! converted by the decoder (Thrift sends microseconds, protobuf Timestamp/Duration).

/// A batch of spans from one process.
#[derive(Debug, Clone, PartialEq, Default)]
pub(super) struct Batch {
    /// Thrift requires it; protobuf may leave it out (then each span names its own).
    pub(super) process: Option<Process>,
    pub(super) spans: Vec<Span>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub(super) struct Process {
    pub(super) service_name: String,
    pub(super) tags: Vec<Tag>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub(super) struct Span {
    pub(super) trace_id_high: u64,
    pub(super) trace_id_low: u64,
    pub(super) span_id: u64,
    /// Thrift's `parentSpanId` (0: none); protobuf has no such field and leaves it 0.
    pub(super) parent_span_id: u64,
    pub(super) operation_name: String,
    pub(super) references: Vec<SpanRef>,
    pub(super) flags: u32,
    pub(super) start_unix_nano: u64,
    pub(super) end_unix_nano: u64,
    pub(super) tags: Vec<Tag>,
    pub(super) logs: Vec<Log>,
    /// protobuf only: a process of the span's own, which takes precedence over the batch's.
    pub(super) process: Option<Process>,
}

#[derive(Debug, Clone, PartialEq)]
pub(super) struct Tag {
    pub(super) key: String,
    pub(super) value: TagValue,
}

#[derive(Debug, Clone, PartialEq)]
pub(super) enum TagValue {
    String(String),
    Bool(bool),
    Int64(i64),
    Float64(f64),
    Binary(Vec<u8>),
    /// A type number neither format defines, kept so the mapping can say so.
    Unknown(i32),
}

#[derive(Debug, Clone, PartialEq)]
pub(super) struct Log {
    pub(super) timestamp_unix_nano: u64,
    pub(super) fields: Vec<Tag>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum RefType {
    ChildOf,
    FollowsFrom,
    /// A type number neither format defines.
    Other(i32),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct SpanRef {
    pub(super) ref_type: RefType,
    pub(super) trace_id_high: u64,
    pub(super) trace_id_low: u64,
    pub(super) span_id: u64,
}

impl Span {
    /// Every field at its zero value: such a span is skipped, as Jaeger's collector does.
    pub(super) fn is_blank(&self) -> bool {
        *self == Span::default()
    }
}

impl RefType {
    /// Jaeger's numbering, the same in Thrift and protobuf.
    pub(super) fn from_number(number: i32) -> RefType {
        match number {
            0 => RefType::ChildOf,
            1 => RefType::FollowsFrom,
            other => RefType::Other(other),
        }
    }
}
