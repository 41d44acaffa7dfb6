//! Retention by ingest time: how long each tenant's data is kept, the *horizon* before
//! which it is gone, and the compaction filters that drop expired index entries.
//!
//! The clock is the time a write was committed (ingest time), not span timestamps: a
//! client with a wrong clock can neither keep data forever nor have it deleted on
//! arrival, and a steady ingest rate gives a flat disk. Span rows go a whole bucket at a
//! time (`buckets.rs`, `sweep.rs`); the horizon of a tenant is the start of its oldest
//! bucket that retention keeps — `cutoff − cutoff mod width`, with `cutoff = now −
//! retention` — so a bucket expires once all of it is older than the retention, at most
//! one bucket width (1/16 of the retention) late. Index entries carry the ingest time of
//! their write (write ids are ingest-time nanoseconds; summaries, indexed values, tag
//! keys and pending markers record it), readers skip those older than the horizon, and
//! compactions drop them. A disk over `storage.max_disk_bytes` raises a tenant's horizon
//! past its oldest bucket (a *floor*, persisted so restarts keep it).

use std::collections::HashMap;
use std::sync::RwLock;
use std::time::Duration;

use rocksdb::compaction_filter::Decision;

use super::keys::{TENANT_ID_LEN, TenantId};

/// A bucket is this fraction of the retention: deletion is at most that late.
const BUCKETS_PER_RETENTION: u64 = 16;
/// Width of buckets when data is kept forever, and the widest bucket.
const MAX_BUCKET_SECONDS: u64 = 24 * 3600;

/// The retention of each tenant: `None` keeps forever.
#[derive(Debug, Clone, Default)]
pub struct RetentionPolicy {
    pub default: Option<Duration>,
    /// By tenant name; overrides `default`.
    pub per_tenant: HashMap<String, Option<Duration>>,
}

impl RetentionPolicy {
    pub fn of(&self, tenant_name: &str) -> Option<Duration> {
        self.per_tenant
            .get(tenant_name)
            .copied()
            .unwrap_or(self.default)
    }
}

/// Bucket width (seconds) for a retention: 1/16 of it, between 1 s and a day.
pub(super) fn bucket_width(retention: Option<Duration>) -> u32 {
    let seconds = retention.map_or(MAX_BUCKET_SECONDS, |r| {
        (r.as_secs() / BUCKETS_PER_RETENTION).clamp(1, MAX_BUCKET_SECONDS)
    });
    u32::try_from(seconds).unwrap_or(u32::MAX)
}

/// The horizon retention gives at `now` (unix seconds): 0 when kept forever.
pub(super) fn retention_horizon(retention: Option<Duration>, now: u64) -> u64 {
    let Some(retention) = retention else {
        return 0;
    };
    let cutoff = now.saturating_sub(retention.as_secs());
    let width = u64::from(bucket_width(Some(retention)));
    cutoff - cutoff % width
}

/// Per tenant: the horizon (data ingested before it is expired) and the bucket width,
/// read by every query and compaction, updated by the sweeper.
#[derive(Debug, Default)]
pub(super) struct Horizons(RwLock<HashMap<u32, Horizon>>);

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct Horizon {
    /// Unix seconds; 0 keeps everything.
    pub seconds: u64,
    /// The tenant's current bucket width: how long an indexed value outlives its last put.
    pub width: u32,
}

impl Horizons {
    pub(super) fn get(&self, tenant: TenantId) -> Horizon {
        self.0
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&tenant.0)
            .copied()
            .unwrap_or_default()
    }

    pub(super) fn set(&self, tenant: TenantId, horizon: Horizon) {
        self.0
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(tenant.0, horizon);
    }

    fn of_key(&self, key: &[u8]) -> Horizon {
        key.get(..TENANT_ID_LEN)
            .and_then(|t| t.try_into().ok())
            .map_or_else(Horizon::default, |t| {
                self.get(TenantId(u32::from_be_bytes(t)))
            })
    }
}

impl Horizon {
    /// Whether an entry written at `ingest_seconds` is expired.
    pub(super) fn expired(self, ingest_seconds: u64) -> bool {
        ingest_seconds < self.seconds
    }

    /// Whether a registry entry (indexed value, tag key) last put at `put_seconds` is
    /// expired: it is put again at most once per bucket width while in use, so it may
    /// be that much older than the last span holding it.
    pub(super) fn registry_expired(self, put_seconds: u64) -> bool {
        put_seconds.saturating_add(u64::from(self.width)) < self.seconds
    }
}

/// The value of an indexed-value or tag-key entry: when it was last put.
pub(super) fn registry_value(now_seconds: u32) -> [u8; 4] {
    now_seconds.to_be_bytes()
}

/// When a registry entry was last put; `None` for entries written before retention
/// existed (empty values), which are kept.
pub(super) fn registry_put_seconds(value: &[u8]) -> Option<u64> {
    Some(u64::from(u32::from_be_bytes(value.try_into().ok()?)))
}

/// The ingest time of a write id (ingest-time nanoseconds) in seconds.
pub(super) fn write_id_seconds(write_id: u64) -> u64 {
    write_id / 1_000_000_000
}

fn decide(expired: bool) -> Decision {
    if expired {
        Decision::Remove
    } else {
        Decision::Keep
    }
}

/// Compaction filter of `postings` and `writes`: the key ends with the write id.
pub(super) fn filter_write_entry(horizons: &Horizons, key: &[u8]) -> Decision {
    let Some(write_id) = key
        .len()
        .checked_sub(8)
        .and_then(|start| key[start..].try_into().ok())
        .map(u64::from_be_bytes)
    else {
        return Decision::Keep;
    };
    decide(horizons.of_key(key).expired(write_id_seconds(write_id)))
}

/// Compaction filter of `values` and `tag_keys`: the value is the last put time.
pub(super) fn filter_registry_entry(horizons: &Horizons, key: &[u8], value: &[u8]) -> Decision {
    match registry_put_seconds(value) {
        Some(put) => decide(horizons.of_key(key).registry_expired(put)),
        None => Decision::Keep,
    }
}

/// Compaction filter of `pending`: the value is the first-seen time in milliseconds.
pub(super) fn filter_pending_marker(horizons: &Horizons, key: &[u8], value: &[u8]) -> Decision {
    match <[u8; 8]>::try_from(value) {
        Ok(millis) => decide(
            horizons
                .of_key(key)
                .expired(u64::from_be_bytes(millis) / 1000),
        ),
        Err(_) => Decision::Keep,
    }
}

/// Compaction filter of `trace_summaries`: the merged summary's latest ingest time.
pub(super) fn filter_summary(horizons: &Horizons, key: &[u8], value: &[u8]) -> Decision {
    match super::index::TraceSummary::decode(value) {
        Some(summary) => decide(horizons.of_key(key).expired(summary.last_ingest_seconds())),
        None => Decision::Keep,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn removed(decision: Decision) -> bool {
        matches!(decision, Decision::Remove)
    }

    #[test]
    fn widths_are_a_sixteenth_of_retention_within_bounds() {
        assert_eq!(bucket_width(None), 86_400);
        assert_eq!(bucket_width(Some(Duration::from_secs(3))), 1);
        assert_eq!(bucket_width(Some(Duration::from_secs(160))), 10);
        assert_eq!(bucket_width(Some(Duration::from_secs(14 * 86_400))), 75_600);
        assert_eq!(
            bucket_width(Some(Duration::from_secs(365 * 86_400))),
            86_400
        );
    }

    #[test]
    fn the_horizon_is_the_start_of_the_bucket_holding_the_cutoff() {
        let retention = Some(Duration::from_secs(160));
        assert_eq!(retention_horizon(retention, 1_000), 840);
        assert_eq!(retention_horizon(retention, 1_009), 840);
        assert_eq!(retention_horizon(retention, 1_010), 850);
        assert_eq!(retention_horizon(retention, 100), 0);
        assert_eq!(retention_horizon(None, 1_000_000), 0);
    }

    #[test]
    fn the_policy_prefers_a_tenant_override() {
        let policy = RetentionPolicy {
            default: Some(Duration::from_secs(60)),
            per_tenant: HashMap::from([
                ("keep".to_owned(), None),
                ("short".to_owned(), Some(Duration::from_secs(5))),
            ]),
        };
        assert_eq!(policy.of("other"), Some(Duration::from_secs(60)));
        assert_eq!(policy.of("keep"), None);
        assert_eq!(policy.of("short"), Some(Duration::from_secs(5)));
    }

    #[test]
    fn filters_drop_only_what_is_older_than_the_tenants_horizon() {
        let horizons = Horizons::default();
        horizons.set(
            TenantId(1),
            Horizon {
                seconds: 1_000,
                width: 10,
            },
        );
        let key = |tenant: u32, write_id: u64| {
            let mut key = tenant.to_be_bytes().to_vec();
            key.extend_from_slice(&[9; 16]);
            key.extend_from_slice(&write_id.to_be_bytes());
            key
        };
        assert!(removed(filter_write_entry(
            &horizons,
            &key(1, 999_999_999_999)
        )));
        assert!(!removed(filter_write_entry(
            &horizons,
            &key(1, 1_000_000_000_000)
        )));
        // Another tenant's horizon is its own (none set: keep).
        assert!(!removed(filter_write_entry(&horizons, &key(2, 1))));
        assert!(!removed(filter_write_entry(&horizons, &[1, 2])));

        let tenant_key = 1u32.to_be_bytes();
        assert!(removed(filter_registry_entry(
            &horizons,
            &tenant_key,
            &registry_value(989)
        )));
        assert!(!removed(filter_registry_entry(
            &horizons,
            &tenant_key,
            &registry_value(990)
        )));
        assert!(!removed(filter_registry_entry(&horizons, &tenant_key, &[])));

        assert!(removed(filter_pending_marker(
            &horizons,
            &tenant_key,
            &999_999u64.to_be_bytes()
        )));
        assert!(!removed(filter_pending_marker(
            &horizons,
            &tenant_key,
            &1_000_000u64.to_be_bytes()
        )));
    }
}
