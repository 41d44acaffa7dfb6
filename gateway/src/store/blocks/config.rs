//! `storage.blocks:` the columnar cold tier.

use std::time::Duration;

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BlocksConfig {
    /// Move spans into columnar blocks in the background. Default false: TraceQL metrics
    /// and trace-by-id are fast on blocks, but searches that read many traces
    /// (unindexed filters with few matches, pipelines, filtered tag values) are still
    /// much slower on blocks than on the hot tier (BENCHMARKS.md, "Blocks").
    pub enabled: bool,
    /// A write's spans move once the newest span start in it is this much older than
    /// the clock. Spans of a trace that arrive later stay in the hot tier and are read
    /// together with the block. Default `2m`.
    #[serde(with = "humantime_serde")]
    pub build_after: Duration,
    /// How often the builder looks for writes to move. Default `15s`.
    #[serde(with = "humantime_serde")]
    pub interval: Duration,
    /// Traces per block at most (a build moves more in several blocks). Default 100,000.
    pub max_traces_per_block: usize,
    /// Spans per chunk, the unit a query decompresses. Default 8,192.
    pub chunk_spans: usize,
    /// zstd level of block columns (1–19). Default 3.
    pub zstd_level: i32,
}

impl Default for BlocksConfig {
    fn default() -> Self {
        BlocksConfig {
            enabled: false,
            build_after: Duration::from_secs(120),
            interval: Duration::from_secs(15),
            max_traces_per_block: 100_000,
            chunk_spans: 8192,
            zstd_level: 3,
        }
    }
}

impl BlocksConfig {
    pub fn validate(&self) -> Result<(), (String, String)> {
        let error =
            |key: &str, message: &str| Err((format!("storage.blocks.{key}"), message.to_owned()));
        if self.interval.is_zero() {
            return error("interval", "must be more than 0s");
        }
        if self.max_traces_per_block == 0 {
            return error("max_traces_per_block", "must be at least 1");
        }
        if !(64..=1_048_576).contains(&self.chunk_spans) {
            return error("chunk_spans", "must be between 64 and 1048576");
        }
        if !(1..=19).contains(&self.zstd_level) {
            return error("zstd_level", "must be between 1 and 19");
        }
        Ok(())
    }
}
