//! A full disk. RocksDB recovers from it by itself, provided it is left alone while it
//! does: this module tells a write that failed for lack of space apart from other
//! failures, and keeps writes away from RocksDB while it is out of space.
//!
//! What RocksDB does (measured with 11.8): when a write to the WAL, a memtable flush or
//! the MANIFEST fails with ENOSPC, the database stops taking writes (each is answered
//! with that error; reads go on). The `SstFileManager` that `DB::open` creates checks
//! the free space every 5 s; once at least the largest `write_buffer_size` (64 MiB
//! here) is free, it flushes every memtable (so the WAL the failed write may have left
//! torn is no longer needed) and takes writes again, without a restart. An ENOSPC in a
//! compaction only pauses compactions. But a write refused while such a recovery runs
//! records its error as the recovery's, which then fails and is retried 5 s later: with
//! exporters retrying without pause, it never succeeds (12 attempts in a row failed in
//! a minute). So once a write is refused for lack of space, the others are refused here
//! without reaching RocksDB, and only one write about every second goes through to find
//! out whether RocksDB takes writes again. The pause varies (0.5 to 1.5 s), so that
//! these writes cannot keep falling into the recoveries, which come every 5 s.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime};

use super::{StoreError, TraceStore};

/// Whether writes are refused for lack of space, and when one is next tried.
#[derive(Default)]
pub(super) struct SpaceState {
    /// The fast check: set while `refusal` is `Some`.
    out_of_space: AtomicBool,
    refusal: Mutex<Option<Refusal>>,
}

struct Refusal {
    /// RocksDB's message for the last write it refused.
    message: String,
    /// When the next write may reach RocksDB.
    next_try: Instant,
}

impl SpaceState {
    /// Runs `write` unless writes are refused for lack of space and the next try is not
    /// due; tells a full disk apart in its result. Logs when writes start being refused
    /// for lack of space and when they are taken again.
    pub(super) fn write(
        &self,
        write: impl FnOnce() -> Result<(), rocksdb::Error>,
    ) -> Result<(), StoreError> {
        if self.out_of_space.load(Ordering::Relaxed)
            && let Some(message) = self.refuse_untried()
        {
            return Err(StoreError::NoSpace(message));
        }
        match write() {
            Ok(()) => {
                if self.out_of_space.load(Ordering::Relaxed) {
                    self.resumed();
                }
                Ok(())
            }
            Err(error) if is_no_space(error.as_ref()) => {
                let message = error.into_string();
                self.refused(&message);
                Err(StoreError::NoSpace(message))
            }
            Err(error) => Err(StoreError::Rocks(error)),
        }
    }

    /// The message to refuse a write with without trying it; `None` when it is to be
    /// tried (writes are taken again, or a try is due).
    fn refuse_untried(&self) -> Option<String> {
        let mut refusal = self.refusal.lock().expect("space state lock poisoned");
        let refusal = refusal.as_mut()?;
        let now = Instant::now();
        if now >= refusal.next_try {
            refusal.next_try = now + pause_between_tries();
            return None;
        }
        Some(refusal.message.clone())
    }

    fn refused(&self, message: &str) {
        let mut refusal = self.refusal.lock().expect("space state lock poisoned");
        if refusal.is_none() {
            tracing::warn!(
                error = message,
                "store is out of disk space: writes are refused (retryable) until space is \
                 freed; they resume by themselves within seconds once at least 64 MiB are free"
            );
        }
        *refusal = Some(Refusal {
            message: message.to_owned(),
            next_try: Instant::now() + pause_between_tries(),
        });
        self.out_of_space.store(true, Ordering::Relaxed);
    }

    fn resumed(&self) {
        let mut refusal = self.refusal.lock().expect("space state lock poisoned");
        if refusal.take().is_some() {
            tracing::info!("store writes resumed: disk space is available again");
        }
        self.out_of_space.store(false, Ordering::Relaxed);
    }
}

impl TraceStore {
    /// Whether writes are refused for lack of disk space (from a write refused for it
    /// until one succeeds).
    pub fn out_of_space(&self) -> bool {
        self.space.out_of_space.load(Ordering::Relaxed)
    }
}

/// 0.5 to 1.5 s, from the clock's sub-second digits.
fn pause_between_tries() -> Duration {
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |since| since.subsec_nanos());
    Duration::from_millis(500) + Duration::from_nanos(u64::from(nanos))
}

/// RocksDB's text for an I/O error of subcode `kNoSpace` (ENOSPC): "IO error: No space
/// left on device: <context>". Its prefix comes from RocksDB's own table, not from
/// `strerror`, so it does not depend on the locale.
fn is_no_space(message: &str) -> bool {
    message.starts_with("IO error: No space left on device")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enospc_is_told_apart_from_other_io_errors() {
        assert!(is_no_space(
            "IO error: No space left on device: While appending to file: /d/000004.log: \
             No space left on device"
        ));
        assert!(is_no_space(
            "IO error: No space left on device: While appending to file: /d/000018.sst: \
             No space left on device"
        ));
        assert!(!is_no_space(
            "IO error: While appending to file: /d/000004.log: Input/output error"
        ));
        assert!(!is_no_space("Corruption: block checksum mismatch"));
    }

    #[test]
    fn while_out_of_space_writes_are_tried_only_when_due_and_a_success_ends_it() {
        let state = SpaceState::default();
        let tried = std::cell::Cell::new(0);
        let ok = || {
            tried.set(tried.get() + 1);
            Ok(())
        };
        assert!(state.write(ok).is_ok());
        assert!(!state.out_of_space.load(Ordering::Relaxed));

        state.refused("IO error: No space left on device: While appending to file: /d/4.log");
        assert!(state.out_of_space.load(Ordering::Relaxed));
        let refused = state.write(ok);
        assert!(
            matches!(&refused, Err(StoreError::NoSpace(m)) if m.ends_with("/d/4.log")),
            "{refused:?}"
        );
        assert_eq!(tried.get(), 1, "refused without reaching RocksDB");

        // When a try is due, one write is tried; its success ends the refusals.
        if let Some(refusal) = state.refusal.lock().unwrap().as_mut() {
            refusal.next_try = Instant::now();
        }
        assert!(state.write(ok).is_ok());
        assert_eq!(tried.get(), 2);
        assert!(!state.out_of_space.load(Ordering::Relaxed));
        assert!(state.write(ok).is_ok());
        assert_eq!(tried.get(), 3);
    }

    #[test]
    fn other_failures_are_not_a_full_disk() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("a-file");
        std::fs::write(&file, b"").unwrap();
        // A real RocksDB error: its directory is a file.
        let error = rocksdb::DB::open_default(file.join("db")).err().unwrap();
        let state = SpaceState::default();
        let result = state.write(|| Err(error));
        assert!(matches!(result, Err(StoreError::Rocks(_))), "{result:?}");
        assert!(!state.out_of_space.load(Ordering::Relaxed));
    }
}
