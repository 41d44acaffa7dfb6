//! Tempo's `tempopb` messages for search, tags and TraceQL metrics: protobuf through
//! prost (field numbers from Tempo's `pkg/tempopb/tempo.proto`), Tempo's JSON through
//! serde, and the answers built from what [`super::search_api::SearchApi`] returns.

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
