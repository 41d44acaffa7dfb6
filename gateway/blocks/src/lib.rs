//! Spangate's trace blocks: an immutable file holding the traces of a time window as
//! compressed columns, read a column at a time.
//!
//! # File layout (format version 1)
//!
//! ```text
//! "SPGB" ‖ version:u8
//! chunk sections …           each a zstd frame: the columns of chunk 0, its attribute
//!                            columns, then chunk 1's, …
//! strings section            the string dictionary (every name, status message,
//!                            attribute key and string value, once)
//! resources section          each distinct resource: `ResourceSpans` protobuf without scopes
//! scopes section             each distinct scope: `ScopeSpans` protobuf without spans
//! footer                     uncompressed: counts, time range, every section's offset and
//!                            sizes, per-chunk statistics, the trace-id bloom filter
//! footer_len:u32 LE ‖ "SPGB"
//! ```
//!
//! Traces are sorted by trace id and cut into **chunks** of whole traces (about
//! [`BlockOptions::chunk_spans`] spans). Within a trace, spans are sorted by start time,
//! then span id (Tempo's trace order). Every chunk has the same 15 [`Column`]s (ids,
//! in-trace parent positions, resource and scope indexes, names and status messages as
//! string ids, kinds, status codes, delta-encoded starts, durations, attribute-key
//! sequences, and the rarely read rest: events, links, trace state, flags) plus one
//! column per span attribute key present in the chunk (row of each occurrence,
//! value type, value: string id, zigzag int, f64, bool, or protobuf for bytes, arrays
//! and maps). The footer keeps per chunk: first and last trace id, start/end/duration
//! bounds, and the distinct span names and string values of each attribute when there
//! are at most [`MAX_VALUE_SET`] of them, so a reader skips chunks without
//! decompressing them.
//!
//! A block is self-describing and position-independent: the same bytes can be kept on
//! a local disk or uploaded unchanged to object storage (read with ranged reads, see
//! [`ReadAt`]). Everything read is bounds-checked; a damaged block is a
//! [`BlockError::Corrupt`], never a panic.

mod bloom;
mod columns;
mod layout;
mod reader;
mod strings;
mod varint;
mod writer;

pub use columns::{AttrCell, AttributeColumn, Rest, Shapes, StatusCell};
pub use layout::{AttributeColumnMeta, ChunkMeta, Column, FORMAT_VERSION, Section};
pub use reader::{Block, ChunkReader, DecodedChunk, ReadAt, TraceRows};
pub use strings::Strings;
pub use writer::{BlockOptions, BlockSummary, BlockWriter, MAX_VALUE_SET, head_entry};

#[derive(Debug, thiserror::Error)]
pub enum BlockError {
    #[error("block i/o: {0}")]
    Io(#[from] std::io::Error),
    #[error("corrupt block: {0}")]
    Corrupt(&'static str),
    #[error("corrupt block: protobuf does not decode: {0}")]
    Protobuf(#[from] prost::DecodeError),
    #[error("block format version {found} is not supported (this build reads version {supported})")]
    Version { found: u8, supported: u8 },
    #[error("traces must be added in increasing trace-id order")]
    Unordered,
    #[error(
        "a span does not belong in a block: its trace id differs from the trace's, its span id is not 8 bytes, or its parent id is neither empty nor 8 bytes"
    )]
    InvalidSpan,
    #[error("a section of the block is over 4 GiB")]
    TooLarge,
}

#[cfg(test)]
mod tests;
