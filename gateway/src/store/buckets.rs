//! Ingest-time buckets: every write of a tenant lands in the bucket of the second it is
//! committed, and a bucket's span rows and dictionary entries are one contiguous key
//! range (`tenant | bucket start | …`, see `keys.rs`), so retention deletes a bucket
//! whole: its SST files are dropped without being read, and what shares a file with
//! newer data goes with one range tombstone.
//!
//! A bucket covers `[start, start + width)` in unix seconds; the width follows from the
//! tenant's retention (`retention.rs`), and is recorded with each bucket, so changing the
//! retention never reinterprets old buckets. The registry is kept in memory (readers
//! seek only the live buckets) and persisted in the `default` family,
//! `bucket/ | tenant:u32 BE | start:u32 BE → width:u32 BE`, in the same `WriteBatch` as
//! the first write into the bucket.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use rocksdb::DB;

use super::StoreError;
use super::keys::{BUCKET_LEN, TENANT_ID_LEN, TenantId};

const REGISTRY_PREFIX: &[u8] = b"bucket/";
const REGISTRY_KEY_LEN: usize = REGISTRY_PREFIX.len() + TENANT_ID_LEN + BUCKET_LEN;

/// One ingest-time bucket of a tenant: the writes committed in `[start, start + width)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct Bucket {
    /// Unix seconds; also the bucket's key component.
    pub(super) start: u32,
    pub(super) width: u32,
}

impl Bucket {
    /// The first second after the bucket: everything in it was ingested before.
    pub(super) fn end(self) -> u64 {
        u64::from(self.start) + u64::from(self.width)
    }

    fn contains(self, second: u32) -> bool {
        self.start <= second && u64::from(second) < self.end()
    }
}

/// A registry entry to put in the batch of the write that opens a bucket.
pub(super) type RegistryEntry = ([u8; REGISTRY_KEY_LEN], [u8; 4]);

/// Every tenant's buckets, oldest first.
#[derive(Default)]
pub(super) struct BucketRegistry {
    by_tenant: RwLock<HashMap<TenantId, Arc<Vec<Bucket>>>>,
}

fn registry_key(tenant: TenantId, start: u32) -> [u8; REGISTRY_KEY_LEN] {
    let mut key = [0u8; REGISTRY_KEY_LEN];
    key[..REGISTRY_PREFIX.len()].copy_from_slice(REGISTRY_PREFIX);
    key[REGISTRY_PREFIX.len()..REGISTRY_PREFIX.len() + TENANT_ID_LEN]
        .copy_from_slice(&tenant.0.to_be_bytes());
    key[REGISTRY_PREFIX.len() + TENANT_ID_LEN..].copy_from_slice(&start.to_be_bytes());
    key
}

fn parse_registry_entry(key: &[u8], value: &[u8]) -> Option<(TenantId, Bucket)> {
    if key.len() != REGISTRY_KEY_LEN || !key.starts_with(REGISTRY_PREFIX) {
        return None;
    }
    let rest = &key[REGISTRY_PREFIX.len()..];
    let tenant = TenantId(u32::from_be_bytes(rest[..TENANT_ID_LEN].try_into().ok()?));
    let start = u32::from_be_bytes(rest[TENANT_ID_LEN..].try_into().ok()?);
    let width = u32::from_be_bytes(value.try_into().ok()?);
    (width > 0).then_some((tenant, Bucket { start, width }))
}

impl BucketRegistry {
    pub(super) fn load(db: &DB) -> Result<BucketRegistry, StoreError> {
        let mut by_tenant: HashMap<TenantId, Vec<Bucket>> = HashMap::new();
        for item in db.prefix_iterator(REGISTRY_PREFIX) {
            let (key, value) = item?;
            if !key.starts_with(REGISTRY_PREFIX) {
                break;
            }
            match parse_registry_entry(&key, &value) {
                Some((tenant, bucket)) => by_tenant.entry(tenant).or_default().push(bucket),
                None => {
                    return Err(StoreError::CorruptRegistry(format!(
                        "bucket entry {}",
                        hex::encode(&key)
                    )));
                }
            }
        }
        Ok(BucketRegistry {
            by_tenant: RwLock::new(
                by_tenant
                    .into_iter()
                    .map(|(tenant, mut buckets)| {
                        buckets.sort();
                        (tenant, Arc::new(buckets))
                    })
                    .collect(),
            ),
        })
    }

    /// The tenant's buckets, oldest first (a snapshot: a query keeps it).
    pub(super) fn of(&self, tenant: TenantId) -> Arc<Vec<Bucket>> {
        self.by_tenant
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&tenant)
            .cloned()
            .unwrap_or_default()
    }

    /// Every tenant with buckets, and its buckets oldest first.
    pub(super) fn all(&self) -> Vec<(TenantId, Arc<Vec<Bucket>>)> {
        let mut all: Vec<_> = self
            .by_tenant
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .map(|(tenant, buckets)| (*tenant, buckets.clone()))
            .collect();
        all.sort_by_key(|(tenant, _)| tenant.0);
        all
    }

    /// The bucket a write committed at `now` (unix seconds) lands in, opening one of
    /// `width` seconds if none holds `now`; then also the registry entry to put in the
    /// write's batch. The new bucket is listed at once, so a reader may seek it before
    /// the write commits (finding nothing). A clock that went back writes into the
    /// newest bucket.
    pub(super) fn for_write(
        &self,
        tenant: TenantId,
        now: u32,
        width: u32,
    ) -> (Bucket, Option<RegistryEntry>) {
        if let Some(&newest) = self.of(tenant).last()
            && (newest.contains(now) || now < newest.start)
        {
            return (newest, None);
        }
        let mut by_tenant = self.by_tenant.write().unwrap_or_else(|e| e.into_inner());
        let buckets = by_tenant.entry(tenant).or_default();
        if let Some(&newest) = buckets.last()
            && (newest.contains(now) || now < newest.start)
        {
            return (newest, None);
        }
        let width = width.max(1);
        let aligned = now - now % width;
        // After a width change the aligned start may fall inside the previous bucket.
        let start = buckets.last().map_or(aligned, |newest| {
            aligned.max(u32::try_from(newest.end()).unwrap_or(u32::MAX))
        });
        let bucket = Bucket { start, width };
        Arc::make_mut(buckets).push(bucket);
        (
            bucket,
            Some((registry_key(tenant, start), width.to_be_bytes())),
        )
    }

    /// Unlists the tenant's buckets that end at or before `horizon` (unix seconds) and
    /// returns them with the registry keys to delete. Readers holding an older snapshot
    /// may still seek them; they find what the range delete has not removed yet.
    pub(super) fn take_expired(
        &self,
        tenant: TenantId,
        horizon: u64,
    ) -> Vec<(Bucket, [u8; REGISTRY_KEY_LEN])> {
        let mut by_tenant = self.by_tenant.write().unwrap_or_else(|e| e.into_inner());
        let Some(buckets) = by_tenant.get_mut(&tenant) else {
            return Vec::new();
        };
        let expired: Vec<Bucket> = buckets
            .iter()
            .copied()
            .filter(|b| b.end() <= horizon)
            .collect();
        if !expired.is_empty() {
            Arc::make_mut(buckets).retain(|b| b.end() > horizon);
        }
        expired
            .into_iter()
            .map(|bucket| (bucket, registry_key(tenant, bucket.start)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_in_one_width_share_a_bucket_and_the_next_opens_one() {
        let registry = BucketRegistry::default();
        let tenant = TenantId(3);
        let (first, entry) = registry.for_write(tenant, 1_000_005, 10);
        assert_eq!(
            first,
            Bucket {
                start: 1_000_000,
                width: 10
            }
        );
        let (key, value) = entry.expect("a new bucket is registered");
        assert_eq!(parse_registry_entry(&key, &value), Some((tenant, first)));
        assert_eq!(registry.for_write(tenant, 1_000_009, 10), (first, None));
        let (second, entry) = registry.for_write(tenant, 1_000_010, 10);
        assert_eq!(second.start, 1_000_010);
        assert!(entry.is_some());
        // A clock that went back writes into the newest bucket.
        assert_eq!(registry.for_write(tenant, 999_000, 10), (second, None));
        assert_eq!(*registry.of(tenant), vec![first, second]);
        assert!(registry.of(TenantId(4)).is_empty());
    }

    #[test]
    fn a_narrower_width_starts_after_the_wider_bucket() {
        let registry = BucketRegistry::default();
        let tenant = TenantId(0);
        let (wide, _) = registry.for_write(tenant, 100, 100);
        assert_eq!(wide.end(), 200);
        let (narrow, _) = registry.for_write(tenant, 205, 10);
        assert_eq!(
            narrow,
            Bucket {
                start: 200,
                width: 10
            }
        );
    }

    #[test]
    fn expired_buckets_are_unlisted_with_their_registry_keys() {
        let registry = BucketRegistry::default();
        let tenant = TenantId(1);
        for now in [10, 20, 30] {
            registry.for_write(tenant, now, 10);
        }
        let expired = registry.take_expired(tenant, 30);
        assert_eq!(
            expired.iter().map(|(b, _)| b.start).collect::<Vec<_>>(),
            vec![10, 20]
        );
        assert_eq!(expired[0].1, registry_key(tenant, 10));
        assert_eq!(
            *registry.of(tenant),
            vec![Bucket {
                start: 30,
                width: 10
            }]
        );
        assert!(registry.take_expired(TenantId(9), 1000).is_empty());
    }

    #[test]
    fn registry_entries_round_trip_and_damage_is_refused() {
        let key = registry_key(TenantId(7), 42);
        assert_eq!(
            parse_registry_entry(&key, &5u32.to_be_bytes()),
            Some((
                TenantId(7),
                Bucket {
                    start: 42,
                    width: 5
                }
            ))
        );
        assert_eq!(parse_registry_entry(&key, &0u32.to_be_bytes()), None);
        assert_eq!(parse_registry_entry(&key, &[1, 2]), None);
        assert_eq!(parse_registry_entry(&key[1..], &5u32.to_be_bytes()), None);
    }
}
