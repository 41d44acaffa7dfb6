//! What is wrong with a Zipkin payload; the text is the body of the 400 answer.

/// A payload that cannot be read as the spans it claims to hold. Each variant names
/// where the problem is, as a path into the payload.
#[derive(Debug, thiserror::Error)]
pub(super) enum DecodeError {
    /// JSON that is not a list of spans of the format, at `path` (`[2].traceId`).
    #[error("invalid Zipkin {format} JSON at `{path}`: {message}")]
    Json {
        format: &'static str,
        path: String,
        message: String,
    },
    /// Bytes that are not a `ListOfSpans` message.
    #[error("invalid Zipkin protobuf: {0}")]
    Protobuf(String),
    /// A `ListOfSpans` whose span `index` has a bad `field`.
    #[error("invalid Zipkin protobuf at `spans[{index}].{field}`: {message}")]
    ProtobufField {
        index: usize,
        field: &'static str,
        message: String,
    },
    /// A span whose `tag` (an OTLP link encoded as a tag) cannot be read.
    #[error("invalid span {span} tag `{tag}`: {message}")]
    Tag {
        span: String,
        tag: String,
        message: String,
    },
}
