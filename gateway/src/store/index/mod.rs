//! Search indexes over the stored spans (layout in `keys.rs` and ARCHITECTURE.md):
//! posting lists per indexed attribute value and intrinsic, a time list of traces,
//! merged per-trace summaries, and the attribute keys seen per scope. All are written
//! in the `WriteBatch` of the spans they describe (`writer.rs`) and read newest first
//! (`reader.rs`).

mod keys;
mod reader;
mod summary;
mod writer;

pub use keys::{Field, IndexValue, MAX_INDEXED_STRING, TagScope, ValueRef, truncated};
pub use reader::{Cursor, Entry, Intersection, PostingCursor, Union};
pub(super) use summary::merge_summaries;
pub use summary::{RootSpan, ServiceStats, TraceSummary};
pub use writer::IndexConfig;
pub(super) use writer::{IndexFamilies, add_index_entries};

pub(super) const CF_POSTINGS: &str = "postings";
pub(super) const CF_TRACE_TIMES: &str = "trace_times";
pub(super) const CF_SUMMARIES: &str = "trace_summaries";
pub(super) const CF_TAG_KEYS: &str = "tag_keys";

#[cfg(test)]
mod tests;
