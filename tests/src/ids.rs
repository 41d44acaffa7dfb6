//! Trace and span ids for tests: unique within a test process, never all-zero.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

fn splitmix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

fn next_u64() -> u64 {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    static SEED: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    let seed = *SEED.get_or_init(|| {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0);
        splitmix64(nanos ^ u64::from(std::process::id()).rotate_left(32))
    });
    loop {
        let n = splitmix64(seed ^ splitmix64(COUNTER.fetch_add(1, Ordering::Relaxed)));
        if n != 0 {
            return n;
        }
    }
}

/// A fresh 16-byte trace id.
pub fn trace_id() -> Vec<u8> {
    let mut id = next_u64().to_be_bytes().to_vec();
    id.extend_from_slice(&next_u64().to_be_bytes());
    id
}

/// A fresh 8-byte span id.
pub fn span_id() -> Vec<u8> {
    next_u64().to_be_bytes().to_vec()
}

/// Lower-case hex of an id, as used in query URLs.
pub fn hex_id(id: &[u8]) -> String {
    hex::encode(id)
}

/// Nanoseconds since the Unix epoch, now.
pub fn now_nanos() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_nanos() as u64
}
