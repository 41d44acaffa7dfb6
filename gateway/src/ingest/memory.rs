//! The memory limiter (`limits.memory`): a global budget on the process's resident
//! memory, checked before a request is taken on, as the Collector's memory_limiter does.
//!
//! A sampler thread reads the resident set size every `check_interval`. Above the soft
//! limit (`memory - memory_spike`), new requests are refused with a retryable status and
//! memory is given back: RocksDB's memtables are flushed and mimalloc returns its free
//! pages to the OS (each at most once a second). Requests already taken on finish. The
//! spike allowance covers what is in flight between two samples.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde::Deserialize;

use crate::store::TraceStore;

/// What the store holds by design besides the block cache: two 64 MiB write buffers of
/// the busiest families. A budget below it would refuse everything.
const STORE_WRITE_BUFFERS: u64 = 128 * 1024 * 1024;
/// Memory of the process itself (code, runtime, plugins' engine) before any work.
const BASE: u64 = 64 * 1024 * 1024;
/// Relief (flush, allocator purge) runs at most this often while over the soft limit.
const RELIEF_INTERVAL: Duration = Duration::from_secs(1);

/// `limits:` in the config.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsConfig {
    /// Budget of the process's resident memory, e.g. `2GiB`. Unset (default): no budget.
    #[serde(deserialize_with = "crate::model::size::deserialize_optional_bytes")]
    pub memory: Option<u64>,
    /// Headroom under `memory` for work in flight: refusals start at `memory -
    /// memory_spike`. Default 20% of `memory`.
    #[serde(deserialize_with = "crate::model::size::deserialize_optional_bytes")]
    pub memory_spike: Option<u64>,
    /// How often the resident memory is read. Default 100ms.
    #[serde(with = "humantime_serde")]
    pub check_interval: Duration,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        LimitsConfig {
            memory: None,
            memory_spike: None,
            check_interval: Duration::from_millis(100),
        }
    }
}

impl LimitsConfig {
    /// The refusal threshold, or `None` without a budget.
    fn soft_limit(&self) -> Option<u64> {
        let memory = self.memory?;
        Some(memory.saturating_sub(self.spike(memory)))
    }

    fn spike(&self, memory: u64) -> u64 {
        self.memory_spike.unwrap_or(memory / 5)
    }

    /// Checks the budget against what the store needs by design (`block_cache_bytes` and
    /// its write buffers); the error names the dotted key.
    pub fn validate(&self, block_cache_bytes: u64) -> Result<(), (String, String)> {
        let Some(memory) = self.memory else {
            if self.memory_spike.is_some() {
                return Err((
                    "limits.memory_spike".to_owned(),
                    "is set without limits.memory".to_owned(),
                ));
            }
            return Ok(());
        };
        if self.spike(memory) >= memory {
            return Err((
                "limits.memory_spike".to_owned(),
                format!("must be below limits.memory ({memory} bytes)"),
            ));
        }
        let needed = block_cache_bytes + STORE_WRITE_BUFFERS + BASE;
        if memory - self.spike(memory) < needed {
            return Err((
                "limits.memory".to_owned(),
                format!(
                    "leaves {} bytes under memory_spike, less than the {needed} bytes the \
                     process holds by design (storage.block_cache_mib, two 64 MiB write \
                     buffers, 64 MiB base); raise it or lower storage.block_cache_mib",
                    memory - self.spike(memory)
                ),
            ));
        }
        if self.check_interval.is_zero() {
            return Err((
                "limits.check_interval".to_owned(),
                "must be greater than zero".to_owned(),
            ));
        }
        Ok(())
    }
}

/// The sampled state, read on every request.
#[derive(Default)]
pub(crate) struct MemoryState {
    resident: AtomicU64,
    over: AtomicBool,
    limit: AtomicU64,
    soft_limit: AtomicU64,
    reliefs: AtomicU64,
}

impl MemoryState {
    /// Whether new work is refused now.
    pub(crate) fn over(&self) -> bool {
        self.over.load(Ordering::Relaxed)
    }

    /// (resident bytes at the last sample, budget, soft limit, reliefs run); zeros
    /// without a budget, for `/metrics`.
    pub(crate) fn figures(&self) -> (u64, u64, u64, u64) {
        (
            self.resident.load(Ordering::Relaxed),
            self.limit.load(Ordering::Relaxed),
            self.soft_limit.load(Ordering::Relaxed),
            self.reliefs.load(Ordering::Relaxed),
        )
    }
}

/// Starts the sampler thread when `limits.memory` is set; it stops with the process.
pub(crate) fn start(config: &LimitsConfig, store: Arc<TraceStore>) -> Arc<MemoryState> {
    let state = Arc::new(MemoryState::default());
    let (Some(memory), Some(soft)) = (config.memory, config.soft_limit()) else {
        return state;
    };
    state.limit.store(memory, Ordering::Relaxed);
    state.soft_limit.store(soft, Ordering::Relaxed);
    let interval = config.check_interval;
    let sampled = state.clone();
    let spawned = std::thread::Builder::new()
        .name("memory-limiter".to_owned())
        .spawn(move || sample(&sampled, soft, interval, &store));
    if let Err(error) = spawned {
        tracing::error!(%error, "cannot start the memory limiter; limits.memory is not enforced");
    }
    state
}

fn sample(state: &MemoryState, soft: u64, interval: Duration, store: &TraceStore) {
    let mut last_relief: Option<Instant> = None;
    loop {
        if let Some(resident) = resident_bytes() {
            state.resident.store(resident, Ordering::Relaxed);
            let over = resident > soft;
            let was_over = state.over.swap(over, Ordering::Relaxed);
            if over != was_over {
                if over {
                    tracing::warn!(
                        resident,
                        soft_limit = soft,
                        "memory over limits.memory - memory_spike: refusing new requests \
                         (retryable) until it is back under"
                    );
                } else {
                    tracing::info!(resident, "memory back under the soft limit: accepting");
                }
            }
            if over && last_relief.is_none_or(|at| at.elapsed() >= RELIEF_INTERVAL) {
                last_relief = Some(Instant::now());
                state.reliefs.fetch_add(1, Ordering::Relaxed);
                if let Err(error) = store.flush_all() {
                    tracing::warn!(%error, "flushing memtables to free memory failed");
                }
                release_allocator_memory();
            }
        }
        std::thread::sleep(interval);
    }
}

/// The resident set size from `/proc/self/statm` (Linux); `None` elsewhere.
fn resident_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * page_size())
}

/// The kernel's page size (4 KiB on x86_64; 16 or 64 KiB on some aarch64 kernels).
fn page_size() -> u64 {
    // SAFETY: sysconf reads a constant of the running system; it takes no pointers.
    #[allow(unsafe_code)]
    let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    u64::try_from(size)
        .ok()
        .filter(|&size| size > 0)
        .unwrap_or(4096)
}

/// Asks mimalloc to return free pages to the OS, so that memory freed by finished
/// requests shows in the resident size again.
fn release_allocator_memory() {
    // SAFETY: mi_collect only walks mimalloc's own heaps; it has no preconditions.
    #[allow(unsafe_code)]
    unsafe {
        libmimalloc_sys::mi_collect(true);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(yaml: &str) -> LimitsConfig {
        serde_yaml_ng::from_str(yaml).unwrap()
    }

    #[test]
    fn the_soft_limit_leaves_the_spike_allowance() {
        assert_eq!(limits("{}").soft_limit(), None);
        assert_eq!(
            limits("{memory: 1000MiB}").soft_limit(),
            Some(800 * 1024 * 1024)
        );
        assert_eq!(
            limits("{memory: 1GiB, memory_spike: 100MiB}").soft_limit(),
            Some(924 * 1024 * 1024)
        );
    }

    #[test]
    fn budgets_below_what_the_store_holds_are_refused_naming_the_key() {
        let cache = 256 * 1024 * 1024;
        assert!(limits("{}").validate(cache).is_ok());
        assert!(limits("{memory: 1GiB}").validate(cache).is_ok());
        let (key, message) = limits("{memory: 300MiB}").validate(cache).unwrap_err();
        assert_eq!(key, "limits.memory");
        assert!(message.contains("block_cache_mib"), "{message}");
        let (key, _) = limits("{memory: 1GiB, memory_spike: 1GiB}")
            .validate(cache)
            .unwrap_err();
        assert_eq!(key, "limits.memory_spike");
        let (key, _) = limits("{memory_spike: 1GiB}").validate(cache).unwrap_err();
        assert_eq!(key, "limits.memory_spike");
    }

    #[test]
    fn the_resident_size_is_read() {
        let resident = resident_bytes().unwrap();
        assert!(resident > 1024 * 1024, "{resident}");
    }
}
