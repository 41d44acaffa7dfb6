//! `query.search:` in the config: bounds on the work of one search request.

use serde::Deserialize;

/// Bounds on the work of one search request (`query.search` in the config).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SearchSettings {
    /// Traces read and evaluated per search or metrics request at most; past it the
    /// response holds what was found (newest first) and is marked incomplete. Default
    /// 100000.
    pub max_traces_inspected: usize,
    /// Recent traces read to list the values of a span attribute that has no index
    /// (or to apply a tag-values `q` filter). Default 5000.
    pub tag_value_scan_traces: usize,
    /// Values returned per tag at most. Default 1000.
    pub max_tag_values: usize,
    /// Tag names returned per scope at most. Default 1000.
    pub max_tag_names: usize,
}

impl Default for SearchSettings {
    fn default() -> Self {
        SearchSettings {
            max_traces_inspected: 100_000,
            tag_value_scan_traces: 5_000,
            max_tag_values: 1_000,
            max_tag_names: 1_000,
        }
    }
}

impl SearchSettings {
    /// Checks what serde cannot; the error names the dotted key.
    pub fn validate(&self) -> Result<(), (String, String)> {
        for (key, value) in [
            (
                "query.search.max_traces_inspected",
                self.max_traces_inspected,
            ),
            (
                "query.search.tag_value_scan_traces",
                self.tag_value_scan_traces,
            ),
            ("query.search.max_tag_values", self.max_tag_values),
            ("query.search.max_tag_names", self.max_tag_names),
        ] {
            if value == 0 {
                return Err((key.to_owned(), "must be at least 1".to_owned()));
            }
        }
        Ok(())
    }
}
