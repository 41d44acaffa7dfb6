//! Tempo's `tempopb` messages for trace by id, search, tags and TraceQL metrics,
//! generated at build time from `gateway/proto/tempopb.proto` (Tempo's field names and
//! numbers): protobuf through prost, Tempo's JSON through a derived serde `Serialize`;
//! and the answers built from what [`crate::search::SearchApi`] returns.

mod answers;
mod json;
mod messages;

pub use answers::{
    INTRINSIC_TAGS, instant_from_range, range_answer, search_answer, tag_names_v1, tag_names_v2,
    tag_values_v1, tag_values_v2, virtual_tag_values,
};
pub use messages::*;

#[cfg(test)]
mod tests;
