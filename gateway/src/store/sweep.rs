//! The background sweep: every few seconds it moves each tenant's horizon forward
//! (`retention.rs`), deletes the buckets behind it, and — when `storage.max_disk_bytes`
//! is set and exceeded — deletes the oldest bucket of any tenant until the store fits.
//!
//! Deleting a bucket: its SST files that hold nothing else are dropped without being
//! read (`DeleteFilesInRange`), one range tombstone covers the rest, and a compaction of
//! just that key range reclaims the space. After deletions, at most once a minute (at
//! once for the disk cap), every family is flushed (releasing the WAL) and the index
//! families are compacted so the compaction filters drop the expired entries. None of it
//! reads or rewrites a span of newer buckets, and writes go on meanwhile.
//!
//! A disk eviction raises the tenant's *floor* (persisted in `default` as
//! `floor/ | tenant:u32 BE → unix seconds:u64 BE`), so after a restart the index
//! entries of evicted data stay hidden.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use rocksdb::WriteBatch;

use super::buckets::Bucket;
use super::keys::{self, TenantId};
use super::retention::{self, Horizon};
use super::{CF_DICTIONARY, CF_PENDING, CF_SPANS, StoreError, TraceStore, index, unix_seconds};

const FLOOR_PREFIX: &[u8] = b"floor/";
/// At most this many buckets are evicted for disk space per sweep, re-measuring after
/// each, so a slow measurement never deletes everything at once.
const MAX_EVICTIONS_PER_SWEEP: usize = 64;
/// Flushing every family and compacting the filtered ones after deletions runs at most
/// this often: with a short retention, deletions come every second or so.
const MAINTENANCE_INTERVAL: Duration = Duration::from_secs(60);
const MIN_SWEEP: Duration = Duration::from_secs(1);
const MAX_SWEEP: Duration = Duration::from_secs(10);

/// The families whose expired entries compaction filters drop.
const FILTERED_FAMILIES: [&str; 6] = [
    index::CF_POSTINGS,
    index::CF_WRITES,
    index::CF_VALUES,
    index::CF_TAG_KEYS,
    index::CF_SUMMARIES,
    CF_PENDING,
];

/// Every family, for the disk figures.
const FAMILIES: [&str; 10] = [
    CF_SPANS,
    CF_DICTIONARY,
    CF_PENDING,
    index::CF_POSTINGS,
    index::CF_WRITES,
    index::CF_VALUES,
    index::CF_SUMMARIES,
    index::CF_TAG_KEYS,
    super::blocks::CF_BLOCKS,
    "default",
];

/// Why buckets were deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeleteReason {
    Retention,
    Disk,
}

impl DeleteReason {
    pub fn label(self) -> &'static str {
        match self {
            DeleteReason::Retention => "retention",
            DeleteReason::Disk => "disk",
        }
    }
}

/// The sweep's state: disk floors per tenant and what it deleted.
#[derive(Default)]
pub(super) struct SweepState {
    floors: Mutex<HashMap<TenantId, u64>>,
    expired_buckets: AtomicU64,
    evicted_buckets: AtomicU64,
    expired_blocks: AtomicU64,
    /// When the families were last flushed and compacted after deletions.
    last_maintenance: Mutex<Option<Instant>>,
    /// Deletions since then.
    maintenance_due: std::sync::atomic::AtomicBool,
}

/// What one sweep deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SweepStats {
    pub expired_buckets: u64,
    pub evicted_buckets: u64,
    /// Blocks of the cold tier deleted by retention.
    pub expired_blocks: u64,
}

/// Figures for `/metrics` and `spangate store inspect`.
#[derive(Debug, Clone, Default)]
pub struct StorageStats {
    /// Per column family: bytes in SST files and in memtables.
    pub families: Vec<(&'static str, u64, u64)>,
    /// What the store occupies on disk (RocksDB's files, its WAL and the blocks).
    pub disk_bytes: u64,
    pub max_disk_bytes: Option<u64>,
    /// RocksDB's estimates of stored spans and traces (summaries).
    pub spans_estimate: u64,
    pub traces_estimate: u64,
    pub tenants: Vec<TenantStats>,
    /// Buckets deleted since start, by reason, and cold-tier blocks deleted.
    pub expired_buckets: u64,
    pub evicted_buckets: u64,
    pub expired_blocks: u64,
    /// Writes are refused for lack of disk space (until one succeeds again).
    pub out_of_space: bool,
}

#[derive(Debug, Clone, Default)]
pub struct TenantStats {
    pub name: String,
    /// Live buckets, and the ingest time range they cover (unix seconds).
    pub buckets: usize,
    pub oldest_seconds: Option<u64>,
    pub newest_end_seconds: Option<u64>,
    /// Data ingested before this is expired (0: none).
    pub horizon_seconds: u64,
    pub retention: Option<Duration>,
}

fn floor_key(tenant: TenantId) -> Vec<u8> {
    let mut key = FLOOR_PREFIX.to_vec();
    key.extend_from_slice(&tenant.0.to_be_bytes());
    key
}

impl TraceStore {
    /// Reads the persisted disk floors.
    pub(super) fn load_floors(&self) -> Result<(), StoreError> {
        let mut floors = self.sweep.floors.lock().unwrap_or_else(|e| e.into_inner());
        for item in self.db.prefix_iterator(FLOOR_PREFIX) {
            let (key, value) = item?;
            if !key.starts_with(FLOOR_PREFIX) {
                break;
            }
            let (Ok(tenant), Ok(seconds)) = (
                <[u8; 4]>::try_from(&key[FLOOR_PREFIX.len()..]),
                <[u8; 8]>::try_from(value.as_ref()),
            ) else {
                return Err(StoreError::CorruptRegistry(format!(
                    "floor entry {}",
                    hex::encode(&key)
                )));
            };
            floors.insert(
                TenantId(u32::from_be_bytes(tenant)),
                u64::from_be_bytes(seconds),
            );
        }
        Ok(())
    }

    /// Sets every known tenant's horizon for now (at open, before the first query).
    pub(super) fn refresh_horizons(&self) {
        let now = unix_seconds();
        for (tenant, name) in self.tenants.all_named() {
            self.refresh_horizon(tenant, &name, now);
        }
    }

    /// Recomputes a tenant's horizon at `now`: its retention's, or its disk floor if later.
    pub(super) fn refresh_horizon(&self, tenant: TenantId, name: &str, now: u64) -> Horizon {
        let retention = self.retention.of(name);
        let floor = self
            .sweep
            .floors
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&tenant)
            .copied()
            .unwrap_or(0);
        let horizon = Horizon {
            seconds: retention::retention_horizon(retention, now).max(floor),
            width: retention::bucket_width(retention),
        };
        self.horizons.set(tenant, horizon);
        horizon
    }

    /// How often to sweep: the narrowest bucket width, between 1 and 10 seconds.
    pub fn sweep_interval(&self) -> Duration {
        let narrowest = self
            .retention
            .per_tenant
            .values()
            .chain(std::iter::once(&self.retention.default))
            .map(|r| retention::bucket_width(*r))
            .min()
            .unwrap_or(u32::MAX);
        Duration::from_secs(u64::from(narrowest)).clamp(MIN_SWEEP, MAX_SWEEP)
    }

    /// One sweep: retention, then the disk cap. Runs on a blocking thread.
    pub fn sweep(&self) -> Result<SweepStats, StoreError> {
        let now = unix_seconds();
        let mut stats = SweepStats::default();
        for (tenant, name) in self.tenants.all_named() {
            let horizon = self.refresh_horizon(tenant, &name, now);
            let expired = self.buckets.take_expired(tenant, horizon.seconds);
            if !expired.is_empty() {
                self.delete_buckets(tenant, &name, &expired, DeleteReason::Retention)?;
                stats.expired_buckets += expired.len() as u64;
            }
            let blocks = self.expire_blocks(tenant, horizon.seconds)? as u64;
            self.sweep
                .expired_blocks
                .fetch_add(blocks, Ordering::Relaxed);
            stats.expired_blocks += blocks;
        }
        if let Some(max) = self.max_disk_bytes {
            stats.evicted_buckets = self.evict_for_disk(max, now)?;
        }
        if stats.expired_buckets + stats.evicted_buckets > 0 {
            self.sweep.maintenance_due.store(true, Ordering::Relaxed);
        }
        self.maintain(stats.evicted_buckets > 0)?;
        Ok(stats)
    }

    /// After deletions (at once after a disk eviction, else at most once a
    /// `MAINTENANCE_INTERVAL`): flushes every family, so the WAL stops holding deleted
    /// rows (the small families would otherwise keep it for long), and compacts the
    /// filtered families, so their filters drop what is behind the horizons.
    fn maintain(&self, urgent: bool) -> Result<(), StoreError> {
        if !self.sweep.maintenance_due.load(Ordering::Relaxed) {
            return Ok(());
        }
        {
            let mut last = self
                .sweep
                .last_maintenance
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            if !urgent && last.is_some_and(|at| at.elapsed() < MAINTENANCE_INTERVAL) {
                return Ok(());
            }
            *last = Some(Instant::now());
        }
        self.sweep.maintenance_due.store(false, Ordering::Relaxed);
        self.flush_all()?;
        for family in FILTERED_FAMILIES {
            self.db
                .compact_range_cf(self.cf(family), None::<&[u8]>, None::<&[u8]>);
        }
        Ok(())
    }

    /// Deletes the oldest bucket of any tenant (never a tenant's newest) until the
    /// store fits in `max` bytes. Returns the number of buckets deleted.
    fn evict_for_disk(&self, max: u64, now: u64) -> Result<u64, StoreError> {
        let mut evicted = 0;
        for _ in 0..MAX_EVICTIONS_PER_SWEEP {
            let used = self.disk_bytes();
            if used <= max {
                break;
            }
            let oldest = self
                .buckets
                .all()
                .into_iter()
                .filter(|(_, buckets)| buckets.len() > 1)
                .map(|(tenant, buckets)| (buckets[0], tenant))
                .min_by_key(|(bucket, tenant)| (bucket.start, tenant.0));
            let Some((bucket, tenant)) = oldest else {
                tracing::warn!(
                    used_bytes = used,
                    max_disk_bytes = max,
                    "the store is over storage.max_disk_bytes but holds only each tenant's newest data; nothing more to delete"
                );
                break;
            };
            let name = self.tenants.name_of(tenant).unwrap_or_default();
            tracing::warn!(
                tenant = %name,
                used_bytes = used,
                max_disk_bytes = max,
                deleting_ingested_before = bucket.end(),
                "the store is over storage.max_disk_bytes: deleting its oldest data"
            );
            self.raise_floor(tenant, bucket.end())?;
            self.refresh_horizon(tenant, &name, now);
            let expired = self.buckets.take_expired(tenant, bucket.end());
            self.delete_buckets(tenant, &name, &expired, DeleteReason::Disk)?;
            // Measured again next round: the deleted rows must leave the WAL too.
            self.flush_all()?;
            evicted += expired.len() as u64;
        }
        Ok(evicted)
    }

    /// Flushes every family: the WAL holds deleted rows until all have flushed past them.
    /// Also frees the memtables' memory (the memory limiter's relief under pressure).
    pub fn flush_all(&self) -> Result<(), StoreError> {
        for family in FAMILIES {
            self.db.flush_cf(self.cf(family))?;
        }
        Ok(())
    }

    fn raise_floor(&self, tenant: TenantId, seconds: u64) -> Result<(), StoreError> {
        self.db.put(floor_key(tenant), seconds.to_be_bytes())?;
        let mut floors = self.sweep.floors.lock().unwrap_or_else(|e| e.into_inner());
        let floor = floors.entry(tenant).or_default();
        *floor = (*floor).max(seconds);
        Ok(())
    }

    /// Deletes the span rows and dictionary entries of `expired` (a tenant's oldest
    /// buckets, already unlisted) and their registry entries.
    fn delete_buckets(
        &self,
        tenant: TenantId,
        name: &str,
        expired: &[(Bucket, impl AsRef<[u8]>)],
        reason: DeleteReason,
    ) -> Result<(), StoreError> {
        let Some(end) = expired.iter().map(|(bucket, _)| bucket.end()).max() else {
            return Ok(());
        };
        let from = keys::bucket_prefix(tenant, 0);
        let to = keys::bucket_prefix(tenant, u32::try_from(end).unwrap_or(u32::MAX));
        for family in [CF_SPANS, CF_DICTIONARY] {
            self.db.delete_file_in_range_cf(self.cf(family), from, to)?;
        }
        let mut batch = WriteBatch::default();
        for family in [CF_SPANS, CF_DICTIONARY] {
            batch.delete_range_cf(self.cf(family), from, to);
        }
        for (_, registry_key) in expired {
            batch.delete(registry_key);
        }
        self.db.write(batch)?;
        for family in [CF_SPANS, CF_DICTIONARY] {
            self.db
                .compact_range_cf(self.cf(family), Some(&from[..]), Some(&to[..]));
        }
        let counter = match reason {
            DeleteReason::Retention => &self.sweep.expired_buckets,
            DeleteReason::Disk => &self.sweep.evicted_buckets,
        };
        counter.fetch_add(expired.len() as u64, Ordering::Relaxed);
        tracing::info!(
            tenant = %name,
            buckets = expired.len(),
            ingested_before = end,
            reason = reason.label(),
            "deleted expired data"
        );
        Ok(())
    }

    /// What the store occupies on disk: RocksDB's files (SSTs, WAL, manifest) and the
    /// block files; not other directories under the data directory (plugin cache).
    pub fn disk_bytes(&self) -> u64 {
        store_disk_bytes(&self.data_dir)
    }

    /// Figures for `/metrics` and `store inspect`.
    pub fn storage_stats(&self) -> StorageStats {
        let property = |family: &str, name: &str| {
            self.db
                .property_int_value_cf(self.cf(family), name)
                .ok()
                .flatten()
                .unwrap_or(0)
        };
        let families = FAMILIES
            .iter()
            .map(|family| {
                (
                    *family,
                    property(family, "rocksdb.total-sst-files-size"),
                    property(family, "rocksdb.cur-size-all-mem-tables"),
                )
            })
            .collect();
        let buckets: HashMap<TenantId, _> = self.buckets.all().into_iter().collect();
        let tenants = self
            .tenants
            .all_named()
            .into_iter()
            .map(|(tenant, name)| {
                let horizon = self.horizons.get(tenant);
                let live: Vec<Bucket> = buckets
                    .get(&tenant)
                    .map(|b| {
                        b.iter()
                            .copied()
                            .filter(|b| b.end() > horizon.seconds)
                            .collect()
                    })
                    .unwrap_or_default();
                TenantStats {
                    retention: self.retention.of(&name),
                    name,
                    buckets: live.len(),
                    oldest_seconds: live.first().map(|b| u64::from(b.start)),
                    newest_end_seconds: live.last().map(|b| b.end()),
                    horizon_seconds: horizon.seconds,
                }
            })
            .collect();
        StorageStats {
            families,
            disk_bytes: self.disk_bytes(),
            max_disk_bytes: self.max_disk_bytes,
            spans_estimate: property(CF_SPANS, "rocksdb.estimate-num-keys"),
            traces_estimate: property(index::CF_SUMMARIES, "rocksdb.estimate-num-keys"),
            tenants,
            expired_buckets: self.sweep.expired_buckets.load(Ordering::Relaxed),
            evicted_buckets: self.sweep.evicted_buckets.load(Ordering::Relaxed),
            expired_blocks: self.sweep.expired_blocks.load(Ordering::Relaxed),
            out_of_space: self.out_of_space(),
        }
    }
}

/// What the store in `data_dir` occupies: RocksDB's files and the block files.
pub(super) fn store_disk_bytes(data_dir: &Path) -> u64 {
    directory_bytes(data_dir, false) + directory_bytes(&data_dir.join("blocks"), true)
}

/// Bytes of the regular files in `dir` (and below, if `recursive`); 0 if unreadable.
fn directory_bytes(dir: &Path, recursive: bool) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|entry| match entry.metadata() {
            Ok(meta) if meta.is_file() => meta.len(),
            Ok(meta) if meta.is_dir() && recursive => directory_bytes(&entry.path(), true),
            _ => 0,
        })
        .sum()
}
