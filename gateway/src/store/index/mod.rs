//! Search indexes over the stored spans (layout in `keys.rs` and ARCHITECTURE.md):
//! per-write posting lists of indexed values and resources, a record per write of its
//! traces, merged per-trace summaries, a registry of indexed values, and the attribute
//! keys seen per scope. All are written in the `WriteBatch` of the spans they describe
//! (`writer.rs`) and read newest first (`reader.rs`).

mod keys;
mod reader;
mod record;
mod summary;
mod writer;

pub use keys::{
    Field, IndexValue, MAX_INDEXED_STRING, ValueRef, WriteRef, posting_id, resource_posting,
    truncated,
};
pub use reader::{Cursor, Entry, Intersection, PostingCursor, Union};
pub use record::WriteRecord;
pub(super) use summary::merge_summaries;
pub use summary::{RootSpan, ServiceStats, TraceSummary};
pub use writer::IndexConfig;
pub(super) use writer::{IndexFamilies, KnownKeys, Registered, add_index_entries};

pub(super) const CF_POSTINGS: &str = "postings";
pub(super) const CF_WRITES: &str = "writes";
pub(super) const CF_VALUES: &str = "values";
pub(super) const CF_SUMMARIES: &str = "trace_summaries";
pub(super) const CF_TAG_KEYS: &str = "tag_keys";

#[cfg(test)]
mod tests;
