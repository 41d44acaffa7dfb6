//! The trace store: spans persisted in RocksDB, read back whole by trace id.
//!
//! Column families (layout written down in ARCHITECTURE.md):
//! - `spans.v2`: one entry per span, keyed by ingest-time bucket then trace, so a
//!   trace is one prefix seek per bucket and a bucket is one key range (`keys.rs`);
//! - `dictionary.v2`: resources and scopes, stored once per bucket and referenced by
//!   hash from spans (`codec.rs`);
//! - `pending`: traces held for a tail-sampling decision, whose spans are already in
//!   `spans.v2` (`pending.rs`);
//! - `outbox`: the exporters' durable send queues (`outbox.rs`);
//! - `default`: the tenant registry (`tenants.rs`), the bucket registry (`buckets.rs`)
//!   and the disk floors (`sweep.rs`);
//! - `postings`, `writes`, `values`, `trace_summaries`, `tag_keys`: the search
//!   indexes (`index/`).
//!
//! A write is one `WriteBatch` through the WAL, so a request's spans, the dictionary
//! entries they point at and their index entries become durable together, or not at all.
//! Retention (`retention.rs`, `sweep.rs`) deletes whole buckets in the background.

pub mod blocks;
mod buckets;
mod codec;
mod config;
mod disk_errors;
pub(crate) mod fuzzing;
pub mod index;
mod inspect;
mod keys;
mod migrate;
mod outbox;
mod pending;
mod reindex;
mod retention;
mod sweep;
mod tenants;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use rocksdb::{
    BlockBasedOptions, Cache, ColumnFamilyDescriptor, DB, DBCompressionType, Options, ReadOptions,
    SliceTransform, WriteBatch, WriteOptions,
};

use crate::model::{ExportTraceServiceRequest, SPAN_ID_LEN, Span, TraceId, TracesData};
use buckets::BucketRegistry;
pub use config::{Compression, DEFAULT_INDEXED_SPAN_ATTRIBUTES, FsyncPolicy, StorageConfig};
pub use inspect::{FamilyFigures, Inspection, TenantFigures, inspect, render_inspection};
pub use keys::TenantId;
pub use outbox::{OutboxEntry, Outgoing, QueueId, QueuedBatch};
pub use pending::{DecisionWrite, PendingMarker};
use retention::Horizons;
pub use retention::RetentionPolicy;
pub use sweep::{DeleteReason, StorageStats, SweepStats, TenantStats};
use tenants::TenantRegistry;

const CF_SPANS: &str = "spans.v2";
const CF_DICTIONARY: &str = "dictionary.v2";
const CF_PENDING: &str = "pending";

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("rocksdb: {0}")]
    Rocks(#[from] rocksdb::Error),
    #[error("no space left on device; writes resume by themselves once space is freed ({0})")]
    NoSpace(String),
    #[error("corrupt entry: {0}")]
    Corrupt(#[from] codec::CodecError),
    #[error("span references a missing {kind} entry {hash:016x}")]
    MissingDictionaryEntry { kind: &'static str, hash: u64 },
    #[error("cannot create data directory {path}: {source}")]
    CreateDir {
        path: String,
        source: std::io::Error,
    },
    /// Queueing for the exporters refused the write (queue full, no upstream).
    #[error("{0}")]
    Forward(String),
    #[error("tenant registry is full")]
    TooManyTenants,
    #[error("corrupt pending marker {0}")]
    CorruptMarker(String),
    #[error("corrupt registry entry: {0}")]
    CorruptRegistry(String),
    #[error("{0} is not a spangate data directory (no RocksDB CURRENT file)")]
    NotAStore(String),
    #[error(transparent)]
    Block(#[from] blocks::BlockError),
    #[error("block file {path}: {error}")]
    BlockFile {
        path: String,
        error: blocks::BlockError,
    },
}

/// Spans of one resource while a trace is assembled: its hash and a bucket holding its
/// entry, and per scope its hash, a bucket holding its entry, and the spans.
struct ResourceGroup {
    hash: u64,
    bucket: u32,
    scopes: Vec<(u64, u32, Vec<Span>)>,
}

/// An inclusive time window in unix nanoseconds; a trace matches when any span overlaps it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeWindow {
    pub start_unix_nano: u64,
    pub end_unix_nano: u64,
}

impl TimeWindow {
    pub const ALL: TimeWindow = TimeWindow {
        start_unix_nano: 0,
        end_unix_nano: u64::MAX,
    };
}

/// A trace as read from the store.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredTrace {
    pub data: TracesData,
    /// Bytes of span values read, reported as Tempo's `inspectedBytes`.
    pub inspected_bytes: u64,
}

pub struct TraceStore {
    db: DB,
    /// `storage.enabled`: false in a pure gateway, whose writes only queue batches for
    /// the exporters (and hold tail-sampled spans until their decision).
    keeps_spans: bool,
    tenants: TenantRegistry,
    write_options: WriteOptions,
    index: index::IndexConfig,
    /// Registry entries this process has written (put once, not per write).
    known_index_keys: index::KnownKeys,
    /// The last write id (ingest time in unix nanoseconds, see `next_clock_id`).
    next_write_id: AtomicU64,
    data_dir: PathBuf,
    blocks_config: blocks::BlocksConfig,
    /// The open blocks (the cold tier).
    blocks: blocks::BlockSet,
    /// The last block id (build time in unix nanoseconds, above every listed one).
    next_block_id: AtomicU64,
    /// Each tenant's ingest-time buckets (the span rows' key ranges).
    buckets: BucketRegistry,
    retention: RetentionPolicy,
    /// What retention and the disk cap have expired, per tenant; read by every query
    /// and by the compaction filters.
    horizons: Arc<Horizons>,
    max_disk_bytes: Option<u64>,
    sweep: sweep::SweepState,
    space: disk_errors::SpaceState,
}

/// When and where one write lands: its id (ingest time in unix nanoseconds, unique)
/// and its ingest-time bucket.
#[derive(Debug, Clone, Copy)]
struct WriteClock {
    write_id: u64,
    bucket: u32,
    /// The tenant's bucket width: how often indexed values are put again.
    width: u32,
}

impl TraceStore {
    pub fn open(config: &StorageConfig) -> Result<TraceStore, StoreError> {
        std::fs::create_dir_all(&config.data_dir).map_err(|source| StoreError::CreateDir {
            path: config.data_dir.display().to_string(),
            source,
        })?;
        let horizons = Arc::new(Horizons::default());
        let mut db = open_db(&config.data_dir, config, &horizons)?;
        let retention = config.retention_policy();
        let tenants = TenantRegistry::load(&db)?;
        migrate::move_legacy_rows(&mut db, &tenants, &retention)?;
        let buckets = BucketRegistry::load(&db)?;
        let mut write_options = WriteOptions::default();
        write_options.set_sync(config.fsync == FsyncPolicy::Always);
        let blocks = blocks::open_blocks(&db, &config.data_dir)?;
        let now_nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        let newest_block = blocks
            .current()
            .iter()
            .map(|b| b.open.meta.id + 1)
            .max()
            .unwrap_or(0);
        let store = TraceStore {
            db,
            keeps_spans: config.enabled,
            tenants,
            write_options,
            index: index::IndexConfig {
                span_attributes: config.indexed_span_attributes.iter().cloned().collect(),
            },
            known_index_keys: index::KnownKeys::default(),
            next_write_id: AtomicU64::new(now_nanos),
            data_dir: config.data_dir.clone(),
            blocks_config: config.blocks.clone(),
            blocks,
            next_block_id: AtomicU64::new(newest_block.max(now_nanos)),
            buckets,
            retention,
            horizons,
            max_disk_bytes: config.max_disk_bytes,
            sweep: sweep::SweepState::default(),
            space: disk_errors::SpaceState::default(),
        };
        store.load_floors()?;
        store.refresh_horizons();
        store.reindex_if_needed()?;
        Ok(store)
    }

    /// The blocks a query reads: take once per query and keep (see `blocks/list.rs`).
    pub fn block_list(&self) -> Arc<blocks::BlockList> {
        self.blocks.current()
    }

    /// The cold-tier settings.
    pub fn blocks_config(&self) -> &blocks::BlocksConfig {
        &self.blocks_config
    }

    /// Every tenant that has written something.
    pub fn tenants(&self) -> Vec<TenantId> {
        self.tenants.all()
    }

    /// The names of every tenant that has written something, sorted.
    pub fn tenant_names(&self) -> Vec<String> {
        self.tenants.names()
    }

    /// The id of a tenant that has written something, if any.
    pub fn tenant(&self, name: &str) -> Option<TenantId> {
        self.tenants.get(name)
    }

    /// Whether span attribute `key` has posting lists.
    pub fn is_indexed_span_attribute(&self, key: &str) -> bool {
        self.index.span_attributes.contains(key)
    }

    /// The id of a tenant, registering it on first use.
    pub fn tenant_for_write(&self, name: &str) -> Result<TenantId, StoreError> {
        let tenant = self.tenants.get_or_create(&self.db, name)?;
        if self.horizons.get(tenant).width == 0 {
            self.refresh_horizon(tenant, name, unix_seconds());
        }
        Ok(tenant)
    }

    /// Persists every span of `request` (already validated: 16-byte trace ids and
    /// 8-byte span ids) in one atomic write. Returns the number of spans written.
    pub fn write(
        &self,
        tenant: TenantId,
        request: &ExportTraceServiceRequest,
    ) -> Result<usize, StoreError> {
        self.write_with(tenant, request, Outgoing::NONE)
    }

    /// `write`, queueing `outgoing` for the exporters in the same atomic write. With
    /// storage off (`storage.enabled: false`) only `outgoing` is written.
    pub fn write_with(
        &self,
        tenant: TenantId,
        request: &ExportTraceServiceRequest,
        outgoing: &Outgoing,
    ) -> Result<usize, StoreError> {
        let mut batch = WriteBatch::default();
        let (span_count, registered) = if self.keeps_spans {
            let clock = self.write_clock(&mut batch, tenant);
            self.put_spans(&mut batch, tenant, request, clock)
        } else {
            (0, index::Registered::default())
        };
        self.put_outgoing(&mut batch, outgoing);
        if batch.is_empty() {
            return Ok(0);
        }
        self.commit(batch, registered)?;
        Ok(span_count)
    }

    /// Whether spans are kept for queries (`storage.enabled`).
    pub fn keeps_spans(&self) -> bool {
        self.keeps_spans
    }

    /// The id and bucket of a write about to be committed; opening a bucket adds its
    /// registry entry to `batch`.
    fn write_clock(&self, batch: &mut WriteBatch, tenant: TenantId) -> WriteClock {
        let write_id = next_clock_id(&self.next_write_id);
        let seconds = u32::try_from(retention::write_id_seconds(write_id)).unwrap_or(u32::MAX);
        let width = match self.horizons.get(tenant).width {
            0 => retention::bucket_width(self.retention.default),
            width => width,
        };
        let (bucket, registry_entry) = self.buckets.for_write(tenant, seconds, width);
        if let Some((key, value)) = registry_entry {
            batch.put(key, value);
        }
        WriteClock {
            write_id,
            bucket: bucket.start,
            width,
        }
    }

    /// Writes `batch`; then remembers the index registry entries it held.
    fn commit(&self, batch: WriteBatch, registered: index::Registered) -> Result<(), StoreError> {
        self.space
            .write(|| self.db.write_opt(batch, &self.write_options))?;
        self.known_index_keys.remember(registered);
        Ok(())
    }

    /// Adds every span of `request`, the dictionary entries they reference and their
    /// index entries to `batch`. Returns the number of spans added and the index
    /// registry entries to remember once the batch is committed.
    fn put_spans(
        &self,
        batch: &mut WriteBatch,
        tenant: TenantId,
        request: &ExportTraceServiceRequest,
        clock: WriteClock,
    ) -> (usize, index::Registered) {
        let registered = self.put_index_entries(batch, tenant, request, clock);
        let span_count =
            self.put_spans_unindexed(batch, tenant, request, |_, _| Some(clock.bucket));
        (span_count, registered)
    }

    /// Adds the index entries of `request` to `batch`; returns the registry entries to
    /// remember once the batch is committed.
    fn put_index_entries(
        &self,
        batch: &mut WriteBatch,
        tenant: TenantId,
        request: &ExportTraceServiceRequest,
        clock: WriteClock,
    ) -> index::Registered {
        index::add_index_entries(
            batch,
            &index::IndexFamilies {
                postings: self.cf(index::CF_POSTINGS),
                writes: self.cf(index::CF_WRITES),
                values: self.cf(index::CF_VALUES),
                summaries: self.cf(index::CF_SUMMARIES),
                tag_keys: self.cf(index::CF_TAG_KEYS),
            },
            tenant,
            request,
            &self.index,
            &self.known_index_keys,
            clock.write_id,
            clock.width,
        )
    }

    /// `put_spans` without index entries, each span into the bucket `bucket_of` names
    /// (skipped when it names none): for spans rewritten in place (tail decisions),
    /// whose entries were added when they were first written (adding them again would
    /// count the spans twice in the trace's summary). A resource or scope entry is put
    /// into each bucket one of its spans goes to.
    fn put_spans_unindexed(
        &self,
        batch: &mut WriteBatch,
        tenant: TenantId,
        request: &ExportTraceServiceRequest,
        mut bucket_of: impl FnMut(&TraceId, &[u8; SPAN_ID_LEN]) -> Option<u32>,
    ) -> usize {
        let spans_cf = self.cf(CF_SPANS);
        let dictionary_cf = self.cf(CF_DICTIONARY);
        let mut value = Vec::with_capacity(512);
        let mut span_count = 0;
        // Buckets the current resource's / scope's entry was put into (usually one).
        let mut resource_buckets: Vec<u32> = Vec::with_capacity(1);
        let mut scope_buckets: Vec<u32> = Vec::with_capacity(1);
        for resource_spans in &request.resource_spans {
            let (resource_hash, resource_entry) = codec::encode_resource_entry(resource_spans);
            resource_buckets.clear();
            for scope_spans in &resource_spans.scope_spans {
                let (scope_hash, scope_entry) = codec::encode_scope_entry(scope_spans);
                scope_buckets.clear();
                for span in &scope_spans.spans {
                    let (Some(trace_id), Ok(span_id)) = (
                        TraceId::from_slice(&span.trace_id),
                        <[u8; SPAN_ID_LEN]>::try_from(span.span_id.as_slice()),
                    ) else {
                        debug_assert!(false, "spans are validated before they are written");
                        continue;
                    };
                    let Some(bucket) = bucket_of(&trace_id, &span_id) else {
                        continue;
                    };
                    if !resource_buckets.contains(&bucket) {
                        resource_buckets.push(bucket);
                        batch.put_cf(
                            dictionary_cf,
                            keys::dictionary_key(
                                tenant,
                                bucket,
                                keys::DictionaryKind::Resource,
                                resource_hash,
                            ),
                            &resource_entry,
                        );
                    }
                    if !scope_buckets.contains(&bucket) {
                        scope_buckets.push(bucket);
                        batch.put_cf(
                            dictionary_cf,
                            keys::dictionary_key(
                                tenant,
                                bucket,
                                keys::DictionaryKind::Scope,
                                scope_hash,
                            ),
                            &scope_entry,
                        );
                    }
                    codec::encode_span_value(resource_hash, scope_hash, span, &mut value);
                    batch.put_cf(
                        spans_cf,
                        keys::span_key(tenant, bucket, &trace_id, &span_id),
                        &value,
                    );
                    span_count += 1;
                }
            }
        }
        span_count
    }

    /// Reads a whole trace. `None` when the tenant has no span of it (in `window`, if given).
    pub fn get_trace(
        &self,
        tenant_name: &str,
        trace_id: &TraceId,
        window: Option<TimeWindow>,
    ) -> Result<Option<StoredTrace>, StoreError> {
        let Some(tenant) = self.tenants.get(tenant_name) else {
            return Ok(None);
        };
        self.tenant_trace(tenant, trace_id, window)
    }

    /// `get_trace` for a tenant id: the hot rows and every block holding part of it.
    pub fn tenant_trace(
        &self,
        tenant: TenantId,
        trace_id: &TraceId,
        window: Option<TimeWindow>,
    ) -> Result<Option<StoredTrace>, StoreError> {
        self.trace_with_blocks(&self.blocks.current(), tenant, trace_id, window)
    }

    /// The tenant's buckets retention has not expired, newest first.
    fn live_buckets(&self, tenant: TenantId) -> Vec<u32> {
        let horizon = self.horizons.get(tenant);
        self.buckets
            .of(tenant)
            .iter()
            .rev()
            .filter(|bucket| bucket.end() > horizon.seconds)
            .map(|bucket| bucket.start)
            .collect()
    }

    /// Where a trace's spans are stored: (bucket, span id) of every row in a live
    /// bucket, newest bucket first (keys only).
    fn span_locations(
        &self,
        tenant: TenantId,
        trace_id: &TraceId,
    ) -> Result<Vec<(u32, [u8; SPAN_ID_LEN])>, StoreError> {
        let mut read_options = ReadOptions::default();
        read_options.set_prefix_same_as_start(true);
        let mut iterator = self.db.raw_iterator_cf_opt(self.cf(CF_SPANS), read_options);
        let mut locations = Vec::new();
        for bucket in self.live_buckets(tenant) {
            let prefix = keys::row_prefix(tenant, bucket, trace_id);
            iterator.seek(prefix);
            while let Some(key) = iterator.key() {
                let Some((_, _, _, span_id)) =
                    keys::parse_span_key(key).filter(|_| key.starts_with(&prefix))
                else {
                    break;
                };
                locations.push((bucket, span_id));
                iterator.next();
            }
            iterator.status()?;
        }
        Ok(locations)
    }

    /// Every stored span of a trace, decoded, with the bytes read: one prefix seek per
    /// live bucket, newest first; a span stored in several buckets (sent again later)
    /// is read once, its newest copy.
    fn read_span_values(
        &self,
        tenant: TenantId,
        trace_id: &TraceId,
    ) -> Result<(Vec<codec::SpanValue>, u64), StoreError> {
        let mut read_options = ReadOptions::default();
        read_options.set_prefix_same_as_start(true);
        let mut iterator = self.db.raw_iterator_cf_opt(self.cf(CF_SPANS), read_options);
        let mut span_values: Vec<codec::SpanValue> = Vec::new();
        let mut inspected_bytes = 0u64;
        let mut buckets_with_rows = 0;
        for bucket in self.live_buckets(tenant) {
            let prefix = keys::row_prefix(tenant, bucket, trace_id);
            let before = span_values.len();
            iterator.seek(prefix);
            while let (Some(key), Some(value)) = (iterator.key(), iterator.value()) {
                if !key.starts_with(&prefix) {
                    break;
                }
                inspected_bytes += value.len() as u64;
                let mut span_value = codec::decode_span_value(value)?;
                span_value.bucket = bucket;
                span_values.push(span_value);
                iterator.next();
            }
            iterator.status()?;
            buckets_with_rows += usize::from(span_values.len() > before);
        }
        if buckets_with_rows > 1 {
            let mut seen = std::collections::HashSet::with_capacity(span_values.len());
            span_values.retain(|v| seen.insert(v.span.span_id.clone()));
        }
        Ok((span_values, inspected_bytes))
    }

    /// Regroups spans under their resource and scope, ordered as Tempo orders a
    /// trace: by start time, then span id. A trace has few resources and scopes, so
    /// groups are found by linear search.
    fn assemble(
        &self,
        tenant: TenantId,
        mut span_values: Vec<codec::SpanValue>,
    ) -> Result<TracesData, StoreError> {
        span_values.sort_by(|a, b| {
            (a.span.start_time_unix_nano, &a.span.span_id)
                .cmp(&(b.span.start_time_unix_nano, &b.span.span_id))
        });
        let mut groups: Vec<ResourceGroup> = Vec::new();
        for value in span_values {
            let resource_index = match groups.iter().position(|g| g.hash == value.resource_hash) {
                Some(index) => index,
                None => {
                    groups.push(ResourceGroup {
                        hash: value.resource_hash,
                        bucket: value.bucket,
                        scopes: Vec::new(),
                    });
                    groups.len() - 1
                }
            };
            let scopes = &mut groups[resource_index].scopes;
            match scopes
                .iter_mut()
                .find(|(hash, _, _)| *hash == value.scope_hash)
            {
                Some((_, _, spans)) => spans.push(value.span),
                None => scopes.push((value.scope_hash, value.bucket, vec![value.span])),
            }
        }

        let mut resource_spans_list = Vec::with_capacity(groups.len());
        for group in groups {
            let bytes = self.dictionary_entry(
                tenant,
                group.bucket,
                keys::DictionaryKind::Resource,
                group.hash,
            )?;
            let mut resource_spans = codec::decode_resource_entry(&bytes)?;
            for (scope_hash, scope_bucket, spans) in group.scopes {
                let bytes = self.dictionary_entry(
                    tenant,
                    scope_bucket,
                    keys::DictionaryKind::Scope,
                    scope_hash,
                )?;
                let mut scope_spans = codec::decode_scope_entry(&bytes)?;
                scope_spans.spans = spans;
                resource_spans.scope_spans.push(scope_spans);
            }
            resource_spans_list.push(resource_spans);
        }
        Ok(TracesData {
            resource_spans: resource_spans_list,
        })
    }

    fn dictionary_entry(
        &self,
        tenant: TenantId,
        bucket: u32,
        kind: keys::DictionaryKind,
        hash: u64,
    ) -> Result<Vec<u8>, StoreError> {
        self.db
            .get_cf(
                self.cf(CF_DICTIONARY),
                keys::dictionary_key(tenant, bucket, kind, hash),
            )?
            .ok_or(StoreError::MissingDictionaryEntry {
                kind: match kind {
                    keys::DictionaryKind::Resource => "resource",
                    keys::DictionaryKind::Scope => "scope",
                },
                hash,
            })
    }

    fn cf(&self, name: &str) -> &rocksdb::ColumnFamily {
        self.db
            .cf_handle(name)
            .expect("column families are created at open")
    }
}

/// The next id of a clock-based sequence: now in unix nanoseconds, or one past the last
/// id when the clock has not moved past it (unique, increasing).
pub fn next_clock_id(last: &AtomicU64) -> u64 {
    let now = unix_nanos();
    let previous = last
        .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |last| {
            Some(now.max(last.saturating_add(1)))
        })
        .unwrap_or(now);
    now.max(previous.saturating_add(1))
}

fn unix_nanos() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

fn unix_seconds() -> u64 {
    unix_nanos() / 1_000_000_000
}

fn open_db(
    path: &Path,
    config: &StorageConfig,
    horizons: &Arc<Horizons>,
) -> Result<DB, StoreError> {
    let compression = match config.compression {
        Compression::Lz4 => DBCompressionType::Lz4,
        Compression::None => DBCompressionType::None,
    };
    let cache = Cache::new_lru_cache(config.block_cache_mib.max(1) * 1024 * 1024);

    let mut db_options = Options::default();
    db_options.create_if_missing(true);
    db_options.create_missing_column_families(true);
    db_options.increase_parallelism(2);
    db_options.set_max_background_jobs(2);
    // Concurrent requests' writes are grouped into one WAL append by RocksDB.
    db_options.set_enable_pipelined_write(true);
    // A WAL file is deleted only once every column family has flushed what it holds;
    // the small families (tenants, dictionary) would otherwise pin every WAL forever.
    db_options.set_max_total_wal_size(256 * 1024 * 1024);

    let mut spans_table = BlockBasedOptions::default();
    spans_table.set_block_cache(&cache);
    spans_table.set_bloom_filter(10.0, false);
    spans_table.set_cache_index_and_filter_blocks(true);
    spans_table.set_pin_l0_filter_and_index_blocks_in_cache(true);
    spans_table.set_whole_key_filtering(false);
    // Larger blocks hold more spans, whose repeated attribute keys and values compress.
    spans_table.set_block_size(32 * 1024);
    let mut spans_options = Options::default();
    spans_options.set_compression_type(compression);
    spans_options.set_write_buffer_size(64 * 1024 * 1024);
    spans_options.set_prefix_extractor(SliceTransform::create_fixed_prefix(keys::ROW_PREFIX_LEN));
    spans_options.set_memtable_prefix_bloom_ratio(0.1);
    spans_options.set_block_based_table_factory(&spans_table);

    let mut dictionary_table = BlockBasedOptions::default();
    dictionary_table.set_block_cache(&cache);
    dictionary_table.set_bloom_filter(10.0, false);
    let mut dictionary_options = Options::default();
    dictionary_options.set_compression_type(compression);
    dictionary_options.set_block_based_table_factory(&dictionary_table);

    // Small and short-lived entries: written with a trace's first spans, deleted at its
    // decision; read in full only at start-up.
    let mut pending_options = Options::default();
    pending_options.set_compression_type(DBCompressionType::None);
    let filter_horizons = horizons.clone();
    pending_options.set_compaction_filter("expired_pending", move |_, key: &[u8], value: &[u8]| {
        retention::filter_pending_marker(&filter_horizons, key, value)
    });

    // Index keys carry everything; values are empty except summaries. Postings of one
    // value are read as ranges, so no bloom filters; the block cache is shared.
    let mut index_table = BlockBasedOptions::default();
    index_table.set_block_cache(&cache);
    index_table.set_cache_index_and_filter_blocks(true);
    let mut index_options = Options::default();
    index_options.set_compression_type(compression);
    index_options.set_block_based_table_factory(&index_table);
    // Postings and write records end with the write id (its ingest time); values and
    // tag keys hold their last put time.
    let mut write_entry_options = index_options.clone();
    let filter_horizons = horizons.clone();
    write_entry_options.set_compaction_filter("expired_writes", move |_, key: &[u8], _: &[u8]| {
        retention::filter_write_entry(&filter_horizons, key)
    });
    let mut registry_options = index_options.clone();
    let filter_horizons = horizons.clone();
    registry_options.set_compaction_filter(
        "expired_registry",
        move |_, key: &[u8], value: &[u8]| {
            retention::filter_registry_entry(&filter_horizons, key, value)
        },
    );
    let mut summary_table = BlockBasedOptions::default();
    summary_table.set_block_cache(&cache);
    summary_table.set_bloom_filter(10.0, false);
    let mut summary_options = Options::default();
    summary_options.set_compression_type(compression);
    summary_options.set_block_based_table_factory(&summary_table);
    summary_options.set_merge_operator_associative("trace_summary", index::merge_summaries);
    let filter_horizons = horizons.clone();
    summary_options
        .set_compaction_filter("expired_summaries", move |_, key: &[u8], value: &[u8]| {
            retention::filter_summary(&filter_horizons, key, value)
        });

    let mut column_families = vec![
        ColumnFamilyDescriptor::new(CF_SPANS, spans_options),
        ColumnFamilyDescriptor::new(CF_DICTIONARY, dictionary_options),
        ColumnFamilyDescriptor::new(CF_PENDING, pending_options),
        ColumnFamilyDescriptor::new(index::CF_POSTINGS, write_entry_options.clone()),
        ColumnFamilyDescriptor::new(index::CF_WRITES, write_entry_options),
        ColumnFamilyDescriptor::new(index::CF_VALUES, registry_options.clone()),
        ColumnFamilyDescriptor::new(index::CF_SUMMARIES, summary_options),
        ColumnFamilyDescriptor::new(index::CF_TAG_KEYS, registry_options),
        ColumnFamilyDescriptor::new(blocks::CF_BLOCKS, Options::default()),
        ColumnFamilyDescriptor::new(outbox::CF_OUTBOX, outbox_options()),
    ];
    // RocksDB refuses to open a database without naming every family it holds: open
    // families this version does not use (left by another version) as they are.
    let known: Vec<String> = column_families
        .iter()
        .map(|cf| cf.name().to_owned())
        .collect();
    for name in DB::list_cf(&db_options, path).unwrap_or_default() {
        if name != "default" && !known.contains(&name) {
            tracing::info!(family = %name, "opening a column family this version does not use");
            column_families.push(ColumnFamilyDescriptor::new(name, Options::default()));
        }
    }
    Ok(DB::open_cf_descriptors(&db_options, path, column_families)?)
}

/// The send queues: written once, read soon after (mostly from the memtable) and
/// deleted; a bloom filter would not help range reads. Not compressed: most batches are
/// deleted before a flush, LZ4 on the rest cost ~5% of a forwarding gateway's CPU, and
/// `queue.max_bytes` bounds the uncompressed bytes anyway.
fn outbox_options() -> Options {
    let mut options = Options::default();
    options.set_compression_type(DBCompressionType::None);
    options.set_write_buffer_size(64 * 1024 * 1024);
    options
}

#[cfg(test)]
mod tests;
