//! Data directories written before ingest-time buckets kept span rows in `spans` and
//! resources/scopes in `dictionary`, keyed without a bucket. At open, their rows are
//! copied into one bucket per tenant — the bucket of the time of the move, so retention
//! counts from the upgrade — and the old families are dropped. A crash part-way copies
//! again (puts are idempotent) before dropping.

use std::collections::HashMap;

use rocksdb::{DB, IteratorMode, WriteBatch};

use super::buckets::BucketRegistry;
use super::keys::{self, TENANT_ID_LEN, TenantId};
use super::retention::{RetentionPolicy, bucket_width};
use super::tenants::TenantRegistry;
use super::{CF_DICTIONARY, CF_SPANS, StoreError, unix_seconds};
use crate::model::{SPAN_ID_LEN, TraceId};

const LEGACY_SPANS: &str = "spans";
const LEGACY_DICTIONARY: &str = "dictionary";
/// Legacy keys: `tenant | trace | span` and `tenant | kind | hash`.
const LEGACY_SPAN_KEY_LEN: usize = TENANT_ID_LEN + 16 + SPAN_ID_LEN;
const LEGACY_DICTIONARY_KEY_LEN: usize = TENANT_ID_LEN + 1 + 8;
const ROWS_PER_BATCH: usize = 10_000;

/// Moves the rows of the legacy families into buckets and drops them. Returns the
/// number of span rows moved.
pub(super) fn move_legacy_rows(
    db: &mut DB,
    tenants: &TenantRegistry,
    retention: &RetentionPolicy,
) -> Result<usize, StoreError> {
    if db.cf_handle(LEGACY_SPANS).is_none() && db.cf_handle(LEGACY_DICTIONARY).is_none() {
        return Ok(0);
    }
    tracing::info!("moving the span rows of an older data directory into ingest-time buckets");
    let registry = BucketRegistry::load(db)?;
    let now = u32::try_from(unix_seconds()).unwrap_or(u32::MAX);
    let mut batch = WriteBatch::default();
    // Each tenant's bucket, opened (and its registry entry put) at its first row.
    let mut buckets: HashMap<TenantId, u32> = HashMap::new();
    let mut bucket_of = |tenant: TenantId, batch: &mut WriteBatch| {
        *buckets.entry(tenant).or_insert_with(|| {
            let width = bucket_width(retention.of(&tenants.name_of(tenant).unwrap_or_default()));
            let (bucket, entry) = registry.for_write(tenant, now, width);
            if let Some((key, value)) = entry {
                batch.put(key, value);
            }
            bucket.start
        })
    };
    let mut moved = 0;
    let mut pending = 0;
    for (legacy, target) in [(LEGACY_DICTIONARY, CF_DICTIONARY), (LEGACY_SPANS, CF_SPANS)] {
        let (Some(from), Some(to)) = (db.cf_handle(legacy), db.cf_handle(target)) else {
            continue;
        };
        for item in db.iterator_cf(from, IteratorMode::Start) {
            let (key, value) = item?;
            let Some(tenant) = key
                .get(..TENANT_ID_LEN)
                .and_then(|t| t.try_into().ok())
                .map(|t| TenantId(u32::from_be_bytes(t)))
            else {
                continue;
            };
            let bucket = bucket_of(tenant, &mut batch);
            let rest = &key[TENANT_ID_LEN..];
            if legacy == LEGACY_SPANS && key.len() == LEGACY_SPAN_KEY_LEN {
                let (Some(trace_id), Ok(span_id)) =
                    (TraceId::from_slice(&rest[..16]), rest[16..].try_into())
                else {
                    continue;
                };
                batch.put_cf(
                    to,
                    keys::span_key(tenant, bucket, &trace_id, &span_id),
                    value,
                );
                moved += 1;
            } else if legacy == LEGACY_DICTIONARY && key.len() == LEGACY_DICTIONARY_KEY_LEN {
                let mut new_key = keys::bucket_prefix(tenant, bucket).to_vec();
                new_key.extend_from_slice(rest);
                batch.put_cf(to, new_key, value);
            }
            pending += 1;
            if pending == ROWS_PER_BATCH {
                db.write(std::mem::take(&mut batch))?;
                pending = 0;
            }
        }
    }
    db.write(batch)?;
    for legacy in [LEGACY_SPANS, LEGACY_DICTIONARY] {
        if db.cf_handle(legacy).is_some() {
            db.drop_cf(legacy)?;
        }
    }
    tracing::info!(spans = moved, "span rows moved into ingest-time buckets");
    Ok(moved)
}
