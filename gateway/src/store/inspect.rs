//! `spangate store inspect DATA_DIR`: what a data directory holds, per column family and
//! per tenant, read from a read-only open of RocksDB (it takes no lock, writes nothing,
//! and can run beside a gateway using the directory: it sees the data as of its open).
//!
//! Sizes and key estimates come from RocksDB's properties; span and trace counts per
//! tenant read every key of `spans.v2` and `trace_summaries` (keys, not span values).

use std::collections::BTreeMap;
use std::path::Path;

use rocksdb::{ColumnFamilyDescriptor, DB, IteratorMode, Options, ReadOptions};
use serde::Serialize;

use super::blocks::{BlockMeta, CF_BLOCKS};
use super::buckets::BucketRegistry;
use super::keys::{self, TENANT_ID_LEN};
use super::tenants::TenantRegistry;
use super::{CF_SPANS, StoreError, index, sweep};

/// What `store inspect` reports.
#[derive(Debug, Clone, Serialize)]
pub struct Inspection {
    pub data_dir: String,
    /// RocksDB's files, its WAL and the block files.
    pub disk_bytes: u64,
    pub families: Vec<FamilyFigures>,
    pub tenants: Vec<TenantFigures>,
}

#[derive(Debug, Clone, Serialize)]
pub struct FamilyFigures {
    pub name: String,
    pub sst_bytes: u64,
    pub memtable_bytes: u64,
    pub estimated_keys: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct TenantFigures {
    pub name: String,
    pub id: u32,
    /// Span rows in the hot tier (a span sent again in a later bucket counts twice).
    pub hot_spans: u64,
    /// Traces with a summary in the hot tier.
    pub hot_traces: u64,
    pub blocks: u64,
    pub block_spans: u64,
    /// Ingest-time buckets, and the ingest time they cover (unix seconds).
    pub buckets: usize,
    pub oldest_ingest_unix_seconds: Option<u64>,
    pub newest_ingest_unix_seconds: Option<u64>,
}

/// Reads the figures of the store in `data_dir` without changing anything.
pub fn inspect(data_dir: &Path) -> Result<Inspection, StoreError> {
    if !data_dir.join("CURRENT").is_file() {
        return Err(StoreError::NotAStore(data_dir.display().to_string()));
    }
    let options = Options::default();
    let names = DB::list_cf(&options, data_dir)?;
    let descriptors = names.iter().map(|name| {
        let mut family = Options::default();
        if name == index::CF_SUMMARIES {
            // Reading summaries folds their merge operands.
            family.set_merge_operator_associative("trace_summary", index::merge_summaries);
        }
        ColumnFamilyDescriptor::new(name, family)
    });
    let db = DB::open_cf_descriptors_read_only(&options, data_dir, descriptors, false)?;

    let families = names
        .iter()
        .filter_map(|name| {
            let cf = db.cf_handle(name)?;
            let property = |key: &str| {
                db.property_int_value_cf(cf, key)
                    .ok()
                    .flatten()
                    .unwrap_or(0)
            };
            Some(FamilyFigures {
                name: name.clone(),
                sst_bytes: property("rocksdb.total-sst-files-size"),
                memtable_bytes: property("rocksdb.cur-size-all-mem-tables"),
                estimated_keys: property("rocksdb.estimate-num-keys"),
            })
        })
        .collect();

    let spans = count_by_tenant(&db, CF_SPANS, |key| keys::parse_span_key(key).is_some())?;
    let traces = count_by_tenant(&db, index::CF_SUMMARIES, |key| {
        key.len() == keys::TRACE_KEY_LEN
    })?;
    let mut blocks: BTreeMap<u32, (u64, u64)> = BTreeMap::new();
    if let Some(cf) = db.cf_handle(CF_BLOCKS) {
        for item in db.iterator_cf(cf, IteratorMode::Start) {
            let (key, value) = item?;
            if let Some(meta) = BlockMeta::decode(&key, &value) {
                let entry = blocks.entry(meta.tenant.0).or_default();
                entry.0 += 1;
                entry.1 += meta.span_count;
            }
        }
    }
    let buckets = BucketRegistry::load(&db)?;
    let tenants = TenantRegistry::load(&db)?
        .all_named()
        .into_iter()
        .map(|(tenant, name)| {
            let tenant_buckets = buckets.of(tenant);
            let (block_count, block_spans) = blocks.get(&tenant.0).copied().unwrap_or_default();
            TenantFigures {
                name,
                id: tenant.0,
                hot_spans: spans.get(&tenant.0).copied().unwrap_or(0),
                hot_traces: traces.get(&tenant.0).copied().unwrap_or(0),
                blocks: block_count,
                block_spans,
                buckets: tenant_buckets.len(),
                oldest_ingest_unix_seconds: tenant_buckets.first().map(|b| u64::from(b.start)),
                newest_ingest_unix_seconds: tenant_buckets.last().map(|b| b.end()),
            }
        })
        .collect();
    Ok(Inspection {
        data_dir: data_dir.display().to_string(),
        disk_bytes: sweep::store_disk_bytes(data_dir),
        families,
        tenants,
    })
}

/// Keys of `family` accepted by `is_row`, per tenant (the key's first four bytes).
fn count_by_tenant(
    db: &DB,
    family: &str,
    is_row: impl Fn(&[u8]) -> bool,
) -> Result<BTreeMap<u32, u64>, StoreError> {
    let mut counts = BTreeMap::new();
    let Some(cf) = db.cf_handle(family) else {
        return Ok(counts);
    };
    let mut read_options = ReadOptions::default();
    read_options.set_total_order_seek(true);
    read_options.fill_cache(false);
    let mut iterator = db.raw_iterator_cf_opt(cf, read_options);
    iterator.seek_to_first();
    while let Some(key) = iterator.key() {
        if is_row(key)
            && let Some(tenant) = key.get(..TENANT_ID_LEN).and_then(|t| t.try_into().ok())
        {
            *counts.entry(u32::from_be_bytes(tenant)).or_insert(0) += 1;
        }
        iterator.next();
    }
    iterator.status()?;
    Ok(counts)
}

/// `1.5 GiB`-style sizes for people.
fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

fn timestamp(unix_seconds: Option<u64>) -> String {
    unix_seconds.map_or_else(
        || "-".to_owned(),
        |seconds| {
            humantime_serde::re::humantime::format_rfc3339_seconds(
                std::time::UNIX_EPOCH + std::time::Duration::from_secs(seconds),
            )
            .to_string()
        },
    )
}

/// The inspection as plain-text tables.
pub fn render_inspection(inspection: &Inspection) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let _ = writeln!(out, "data directory  {}", inspection.data_dir);
    let _ = writeln!(
        out,
        "on disk         {}",
        human_bytes(inspection.disk_bytes)
    );
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "{:<18} {:>12} {:>12} {:>14}",
        "column family", "sst", "memtable", "keys (est.)"
    );
    for family in &inspection.families {
        let _ = writeln!(
            out,
            "{:<18} {:>12} {:>12} {:>14}",
            family.name,
            human_bytes(family.sst_bytes),
            human_bytes(family.memtable_bytes),
            family.estimated_keys
        );
    }
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "{:<20} {:>12} {:>10} {:>7} {:>12} {:>8}  {:<20}  {:<20}",
        "tenant",
        "hot spans",
        "traces",
        "blocks",
        "block spans",
        "buckets",
        "oldest ingest",
        "newest ingest"
    );
    for tenant in &inspection.tenants {
        let _ = writeln!(
            out,
            "{:<20} {:>12} {:>10} {:>7} {:>12} {:>8}  {:<20}  {:<20}",
            tenant.name,
            tenant.hot_spans,
            tenant.hot_traces,
            tenant.blocks,
            tenant.block_spans,
            tenant.buckets,
            timestamp(tenant.oldest_ingest_unix_seconds),
            timestamp(tenant.newest_ingest_unix_seconds),
        );
    }
    if inspection.tenants.is_empty() {
        let _ = writeln!(out, "(no tenant has written yet)");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::SINGLE_TENANT;
    use crate::store::tests::{request, service, span};
    use crate::store::{StorageConfig, TraceStore};

    #[test]
    fn counts_spans_and_traces_per_tenant_without_changing_the_store() {
        let dir = tempfile::tempdir().unwrap();
        let store = TraceStore::open(&StorageConfig {
            data_dir: dir.path().to_owned(),
            ..StorageConfig::default()
        })
        .unwrap();
        let a = store.tenant_for_write(SINGLE_TENANT).unwrap();
        let b = store.tenant_for_write("team-b").unwrap();
        store
            .write(
                a,
                &request(
                    service("api"),
                    vec![span(1, 1, 10), span(1, 2, 20), span(2, 1, 30)],
                ),
            )
            .unwrap();
        store
            .write(b, &request(service("db"), vec![span(3, 1, 10)]))
            .unwrap();
        // Read beside the running store (no lock taken).
        let inspection = inspect(dir.path()).unwrap();
        let figures: Vec<(&str, u64, u64, usize)> = inspection
            .tenants
            .iter()
            .map(|t| (t.name.as_str(), t.hot_spans, t.hot_traces, t.buckets))
            .collect();
        assert_eq!(figures, [(SINGLE_TENANT, 3, 2, 1), ("team-b", 1, 1, 1)]);
        assert!(inspection.families.iter().any(|f| f.name == CF_SPANS));
        assert!(inspection.disk_bytes > 0);
        let text = render_inspection(&inspection);
        assert!(text.contains("team-b"), "{text}");
        drop(store);
        let error = inspect(&dir.path().join("missing")).unwrap_err();
        assert!(
            error.to_string().contains("not a spangate data directory"),
            "{error}"
        );
    }

    #[test]
    fn sizes_read_as_people_write_them() {
        assert_eq!(human_bytes(512), "512 B");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(human_bytes(50 << 30), "50.0 GiB");
        assert_eq!(timestamp(Some(0)), "1970-01-01T00:00:00Z");
        assert_eq!(timestamp(None), "-");
    }
}
