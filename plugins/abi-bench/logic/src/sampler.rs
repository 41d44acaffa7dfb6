//! Head sampling: keep 10% of traces, chosen by a hash of the trace id (so
//! every span of a trace, on every gateway, gets the same decision), and
//! always keep spans whose status is error.

/// Percentage of traces kept.
pub const KEEP_PERCENT: u64 = 10;

/// The decision for a single span.
pub fn keep(trace_id_hi: u64, trace_id_lo: u64, status: u8) -> bool {
    status == crate::STATUS_ERROR || keep_trace(trace_id_hi, trace_id_lo)
}

/// Whether the trace falls in the kept fraction.
pub fn keep_trace(trace_id_hi: u64, trace_id_lo: u64) -> bool {
    mix64(trace_id_hi ^ trace_id_lo.rotate_left(32)) % 100 < KEEP_PERCENT
}

/// SplitMix64's finalizer: spreads any input bits over the whole word, so
/// trace ids that are not uniformly random still sample at the right rate.
fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_are_always_kept() {
        assert!((0..1000).all(|i| keep(i, i * 7, crate::STATUS_ERROR)));
    }

    #[test]
    fn keeps_about_ten_percent_of_sequential_ids() {
        let kept = (0..10_000u64).filter(|&i| keep_trace(0, i)).count();
        assert!((800..1200).contains(&kept), "kept {kept}");
    }
}
