//! What every (design × plugin kind) implementation offers the bench.

use std::ops::AddAssign;
use std::time::Duration;

use abi_bench_logic::metrics::Point;
use anyhow::Result;

use crate::model::Batch;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Design {
    /// A: whole spans in, whole spans out.
    Naive,
    /// B: declared fields in (records), decisions/edits out.
    Edits,
    /// C: declared fields in (columns + dictionaries), decisions/edits out.
    Columns,
}

impl Design {
    pub const ALL: [Design; 3] = [Design::Naive, Design::Edits, Design::Columns];

    pub fn name(self) -> &'static str {
        match self {
            Design::Naive => "naive",
            Design::Edits => "edits",
            Design::Columns => "columns",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Design::Naive => "A naive (spans in/out)",
            Design::Edits => "B declared fields + edits",
            Design::Columns => "C columns + edits",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Sampler,
    Redactor,
    SpanMetrics,
}

impl Kind {
    pub const ALL: [Kind; 3] = [Kind::Sampler, Kind::Redactor, Kind::SpanMetrics];

    pub fn name(self) -> &'static str {
        match self {
            Kind::Sampler => "sampler",
            Kind::Redactor => "redactor",
            Kind::SpanMetrics => "span_metrics",
        }
    }
}

/// Where one batch's time went.
#[derive(Clone, Copy, Debug, Default)]
pub struct Phases {
    /// Building the design's host-side representation of the batch.
    pub prep: Duration,
    /// The guest call: lowering arguments, guest work, lifting results.
    pub call: Duration,
    /// Applying the result (drops, edits, replaced spans) to the host batch.
    pub apply: Duration,
}

impl Phases {
    pub fn total(&self) -> Duration {
        self.prep + self.call + self.apply
    }
}

impl AddAssign for Phases {
    fn add_assign(&mut self, rhs: Self) {
        self.prep += rhs.prep;
        self.call += rhs.call;
        self.apply += rhs.apply;
    }
}

/// A live plugin instance (its own `Store`), as a pipeline worker holds it.
pub trait Plugin {
    /// Runs the plugin on `batch` and applies its result in place.
    fn run(&mut self, batch: &mut Batch) -> Result<Phases>;

    /// The series aggregated so far (span-metrics); empty for other kinds.
    fn flush(&mut self) -> Result<Vec<Point>>;
}
