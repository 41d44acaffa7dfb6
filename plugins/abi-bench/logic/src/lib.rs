//! The work the three benchmark plugins do, written once.
//!
//! Every guest design (naive, edits, columns) calls these functions, and the
//! host calls them natively to compute the expected results. So the ABI is the
//! only thing that differs between designs, and a design that moves data
//! wrongly shows up as a mismatch against the reference.

pub mod columns;
pub mod metrics;
pub mod redact;
pub mod sampler;

/// Span kind discriminants, in the order of the WIT `span-kind` enum.
pub const KIND_COUNT: usize = 6;
/// Status code discriminants, in the order of the WIT `status-code` enum.
pub const STATUS_COUNT: usize = 3;
/// `status-code::error`.
pub const STATUS_ERROR: u8 = 2;
