//! `multitenancy:` and `overrides:` in the config.
//!
//! Overrides are Tempo's per-tenant limits, in spans where Tempo counts bytes for the
//! rate: a `defaults` block applies to every tenant, and a block under `tenants.<id>`
//! replaces, key by key, what it sets for that tenant. For every limit, absent means
//! "inherit" (the default block's value, else no limit) and 0 means "no limit".

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;

use super::org_id::validate_tenant_id;
use crate::model::{SINGLE_TENANT, is_label_name};
use crate::pipeline::config::{PluginEntry, validate as validate_pipeline};

/// `multitenancy:`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MultitenancyConfig {
    /// Require `X-Scope-OrgID` on every export and query and keep each tenant's data
    /// apart. Default false: everything belongs to `single-tenant`, the header is ignored.
    pub enabled: bool,
    /// Tempo's `multi_tenant_queries_enabled`: a query may read several tenants at once
    /// (`X-Scope-OrgID: team-a|team-b`), answered as if their data were one. Default true.
    pub multi_tenant_queries_enabled: bool,
    /// The label naming the tenant on every series of a metrics plugin (span metrics,
    /// service graph), on `/metrics` and in remote-write, when multi-tenancy is on
    /// (Tempo's `inject_tenant_id_as`). Default `tenant`.
    pub tenant_label: String,
}

impl Default for MultitenancyConfig {
    fn default() -> Self {
        MultitenancyConfig {
            enabled: false,
            multi_tenant_queries_enabled: true,
            tenant_label: "tenant".to_owned(),
        }
    }
}

impl MultitenancyConfig {
    /// Checks what serde cannot; the error names the dotted key.
    pub fn validate(&self) -> Result<(), (String, String)> {
        if !is_label_name(&self.tenant_label) || self.tenant_label.starts_with("__") {
            return Err((
                "multitenancy.tenant_label".to_owned(),
                format!(
                    "`{}` is not a Prometheus label name ([a-zA-Z_][a-zA-Z0-9_]*, not starting with __)",
                    self.tenant_label
                ),
            ));
        }
        Ok(())
    }
}

/// `overrides:`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OverridesConfig {
    /// A trace is *live* from its first accepted span until no span of it has arrived for
    /// this long; `max_live_traces` counts live traces and `max_bytes_per_trace` counts
    /// a trace's bytes while it is live. Default 10s (Tempo's ingester
    /// `trace_idle_period`).
    #[serde(with = "humantime_serde")]
    pub live_trace_idle: Duration,
    /// Limits of every tenant without its own value.
    pub defaults: TenantOverrides,
    /// Per tenant id: what differs from `defaults`.
    pub tenants: BTreeMap<String, TenantOverrides>,
}

impl Default for OverridesConfig {
    fn default() -> Self {
        OverridesConfig {
            live_trace_idle: Duration::from_secs(10),
            defaults: TenantOverrides::default(),
            tenants: BTreeMap::new(),
        }
    }
}

/// One block of `overrides:` (`defaults` or `tenants.<id>`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TenantOverrides {
    /// Spans per second accepted (token bucket); a request that finds too few tokens is
    /// refused whole and retryable: gRPC RESOURCE_EXHAUSTED with RetryInfo, HTTP 429 with
    /// Retry-After. 0: no limit.
    pub ingestion_rate_spans: Option<u64>,
    /// Spans the bucket holds: the largest request that can ever pass (a larger one is
    /// refused as not retryable). Default: one second's worth of `ingestion_rate_spans`.
    pub ingestion_burst_spans: Option<u64>,
    /// Bytes of a live trace (its spans as encoded protobuf, counted as they arrive);
    /// spans that would pass it are refused (OTLP partial success, reason
    /// `trace_too_large`), and so are the trace's later spans while it stays live.
    /// `5MiB` or a number of bytes. 0: no limit.
    #[serde(deserialize_with = "crate::model::size::deserialize_optional_bytes")]
    pub max_bytes_per_trace: Option<u64>,
    /// Live traces of the tenant at once; the spans of a new trace beyond it are
    /// refused (partial success, reason `live_traces_exceeded`). 0: no limit.
    pub max_live_traces: Option<u64>,
    /// How long the tenant's traces are kept, by ingest time, instead of
    /// `storage.retention` (only under `tenants.<id>`); `0` keeps them forever.
    #[serde(with = "humantime_serde")]
    pub retention: Option<Duration>,
    /// The plugins this tenant's batches go through instead of the top-level
    /// `pipeline:` (only under `tenants.<id>`). Each tenant runs its own instances.
    pub pipeline: Option<Vec<PluginEntry>>,
}

/// A tenant's ingestion rate limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    pub spans_per_second: u64,
    pub burst_spans: u64,
}

/// A tenant's limits, resolved from its block and the defaults; `None` is no limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TenantLimits {
    pub rate: Option<RateLimit>,
    pub max_bytes_per_trace: Option<u64>,
    pub max_live_traces: Option<u64>,
}

impl TenantLimits {
    /// Whether live traces must be followed (a limit on their number or size is set).
    pub fn tracks_traces(&self) -> bool {
        self.max_bytes_per_trace.is_some() || self.max_live_traces.is_some()
    }
}

/// 0 is "no limit".
fn limit(value: Option<u64>) -> Option<u64> {
    value.filter(|value| *value > 0)
}

impl OverridesConfig {
    fn block(&self, tenant: &str) -> Option<&TenantOverrides> {
        self.tenants.get(tenant)
    }

    /// A key of `tenant`'s block, else of the defaults.
    fn resolved<T: Copy>(
        &self,
        tenant: &str,
        field: impl Fn(&TenantOverrides) -> Option<T>,
    ) -> Option<T> {
        self.block(tenant)
            .and_then(&field)
            .or_else(|| field(&self.defaults))
    }

    /// `tenant`'s limits.
    pub fn limits_for(&self, tenant: &str) -> TenantLimits {
        let rate = limit(self.resolved(tenant, |block| block.ingestion_rate_spans)).map(
            |spans_per_second| RateLimit {
                spans_per_second,
                burst_spans: self
                    .resolved(tenant, |block| block.ingestion_burst_spans)
                    .unwrap_or(spans_per_second),
            },
        );
        TenantLimits {
            rate,
            max_bytes_per_trace: limit(self.resolved(tenant, |block| block.max_bytes_per_trace)),
            max_live_traces: limit(self.resolved(tenant, |block| block.max_live_traces)),
        }
    }

    /// `tenant`'s own pipeline; `None`: the top-level `pipeline:`.
    pub fn pipeline_for(&self, tenant: &str) -> Option<&[PluginEntry]> {
        self.block(tenant)
            .and_then(|block| block.pipeline.as_deref())
    }

    /// The retention of every tenant that sets its own (`overrides.tenants.<id>.retention`),
    /// as the store takes it (`StorageConfig::tenant_retention`): `None` keeps forever.
    /// Every other tenant has `storage.retention`.
    pub fn retention_by_tenant(&self) -> BTreeMap<String, Option<Duration>> {
        self.tenants
            .iter()
            .filter_map(|(tenant, block)| {
                block
                    .retention
                    .map(|retention| (tenant.clone(), (!retention.is_zero()).then_some(retention)))
            })
            .collect()
    }

    /// Checks what serde cannot; the error names the dotted key. `multitenancy`: whether
    /// tenants other than `single-tenant` can exist; `builtins`: the built-in plugins.
    pub fn validate(&self, multitenancy: bool, builtins: &[&str]) -> Result<(), (String, String)> {
        if self.live_trace_idle.is_zero() {
            return Err((
                "overrides.live_trace_idle".to_owned(),
                "must be greater than zero".to_owned(),
            ));
        }
        if self.defaults.retention.is_some() {
            return Err((
                "overrides.defaults.retention".to_owned(),
                "the default retention is `storage.retention`; a tenant's own goes under \
                 overrides.tenants.<tenant>.retention"
                    .to_owned(),
            ));
        }
        if self.defaults.pipeline.is_some() {
            return Err((
                "overrides.defaults.pipeline".to_owned(),
                "the default pipeline is the top-level `pipeline:`; a tenant's own goes under \
                 overrides.tenants.<tenant>.pipeline"
                    .to_owned(),
            ));
        }
        check_block("overrides.defaults", &self.defaults, None)?;
        for (tenant, block) in &self.tenants {
            let key = format!("overrides.tenants.{tenant}");
            if let Err(error) = validate_tenant_id(tenant.as_bytes()) {
                return Err((key, format!("`{tenant}` is not a valid tenant id: {error}")));
            }
            if tenant.is_empty() {
                return Err((key, "a tenant id cannot be empty".to_owned()));
            }
            if !multitenancy && tenant != SINGLE_TENANT {
                return Err((
                    key,
                    format!(
                        "multitenancy is off, so every span belongs to `{SINGLE_TENANT}`: turn \
                         on multitenancy.enabled, or put these settings under overrides.defaults"
                    ),
                ));
            }
            check_block(&key, block, Some(&self.defaults))?;
            if let Some(entries) = &block.pipeline {
                validate_pipeline(entries, builtins)
                    .map_err(|(inner, message)| (format!("{key}.{inner}"), message))?;
            }
        }
        Ok(())
    }
}

/// One block's own checks; `defaults` is given for a tenant's block.
fn check_block(
    key: &str,
    block: &TenantOverrides,
    defaults: Option<&TenantOverrides>,
) -> Result<(), (String, String)> {
    if block.ingestion_burst_spans == Some(0) {
        return Err((
            format!("{key}.ingestion_burst_spans"),
            "must be at least 1 (leave it out for one second's worth of ingestion_rate_spans)"
                .to_owned(),
        ));
    }
    let rate = block
        .ingestion_rate_spans
        .or_else(|| defaults.and_then(|defaults| defaults.ingestion_rate_spans));
    if block.ingestion_burst_spans.is_some() && limit(rate).is_none() {
        return Err((
            format!("{key}.ingestion_burst_spans"),
            "has no effect without an ingestion_rate_spans above 0".to_owned(),
        ));
    }
    if block
        .retention
        .is_some_and(|retention| retention.subsec_nanos() != 0)
    {
        return Err((
            format!("{key}.retention"),
            "must be whole seconds (e.g. 14d, 36h, 90s) or 0 to keep forever".to_owned(),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const BUILTINS: [&str; 3] = ["redaction", "sampling", "span-metrics"];

    fn overrides(yaml: &str) -> OverridesConfig {
        serde_yaml_ng::from_str(yaml).unwrap()
    }

    fn key_of(yaml: &str, multitenancy: bool) -> String {
        overrides(yaml)
            .validate(multitenancy, &BUILTINS)
            .unwrap_err()
            .0
    }

    #[test]
    fn absent_means_no_limit() {
        let config = OverridesConfig::default();
        assert_eq!(config.limits_for("a"), TenantLimits::default());
        assert!(!config.limits_for("a").tracks_traces());
        assert_eq!(config.live_trace_idle, Duration::from_secs(10));
        assert!(config.validate(false, &BUILTINS).is_ok());
    }

    #[test]
    fn a_tenant_block_replaces_what_it_sets() {
        let config = overrides(
            "defaults: { ingestion_rate_spans: 100, max_bytes_per_trace: 5MiB, max_live_traces: 10 }\n\
             tenants:\n  team-a: { ingestion_rate_spans: 1000, ingestion_burst_spans: 5000, max_live_traces: 0, retention: 7d }\n  \
             team-b: {}\n  team-c: { retention: 0s }\n",
        );
        assert!(config.validate(true, &BUILTINS).is_ok());
        assert_eq!(
            config.limits_for("team-a"),
            TenantLimits {
                rate: Some(RateLimit {
                    spans_per_second: 1000,
                    burst_spans: 5000
                }),
                max_bytes_per_trace: Some(5 << 20),
                max_live_traces: None,
            }
        );
        assert_eq!(
            config.limits_for("team-b"),
            TenantLimits {
                rate: Some(RateLimit {
                    spans_per_second: 100,
                    burst_spans: 100
                }),
                max_bytes_per_trace: Some(5 << 20),
                max_live_traces: Some(10),
            }
        );
        assert_eq!(
            config.retention_by_tenant(),
            BTreeMap::from([
                ("team-a".to_owned(), Some(Duration::from_secs(7 * 86_400))),
                ("team-c".to_owned(), None),
            ])
        );
    }

    #[test]
    fn a_tenant_may_run_its_own_pipeline() {
        let config =
            overrides("tenants:\n  team-a:\n    pipeline:\n      - plugin: builtin:span-metrics\n");
        assert!(config.validate(true, &BUILTINS).is_ok());
        assert_eq!(config.pipeline_for("team-a").map(<[_]>::len), Some(1));
        assert!(config.pipeline_for("team-b").is_none());
    }

    #[test]
    fn problems_name_their_key() {
        let cases = [
            (
                "tenants:\n  team-a: { ingestion_burst_spans: 0, ingestion_rate_spans: 5 }\n",
                "overrides.tenants.team-a.ingestion_burst_spans",
            ),
            (
                "tenants:\n  team-a: { ingestion_burst_spans: 10 }\n",
                "overrides.tenants.team-a.ingestion_burst_spans",
            ),
            (
                "defaults: { ingestion_burst_spans: 10 }\n",
                "overrides.defaults.ingestion_burst_spans",
            ),
            (
                "tenants:\n  team-a: { retention: 1500ms }\n",
                "overrides.tenants.team-a.retention",
            ),
            (
                "defaults: { retention: 24h }\n",
                "overrides.defaults.retention",
            ),
            ("tenants:\n  'a b': {}\n", "overrides.tenants.a b"),
            ("tenants:\n  '..': {}\n", "overrides.tenants..."),
            ("defaults:\n  pipeline: []\n", "overrides.defaults.pipeline"),
            (
                "tenants:\n  team-a:\n    pipeline:\n      - plugin: builtin:nope\n",
                "overrides.tenants.team-a.pipeline[0].plugin",
            ),
            ("live_trace_idle: 0s\n", "overrides.live_trace_idle"),
        ];
        for (yaml, key) in cases {
            assert_eq!(key_of(yaml, true), key, "{yaml}");
        }
        // A burst inherited from the defaults' rate is fine.
        assert!(
            overrides("defaults: { ingestion_rate_spans: 5 }\ntenants:\n  a: { ingestion_burst_spans: 10 }\n")
                .validate(true, &BUILTINS)
                .is_ok()
        );
    }

    #[test]
    fn without_multitenancy_only_the_single_tenant_has_a_block() {
        assert_eq!(
            key_of("tenants:\n  team-a: {}\n", false),
            "overrides.tenants.team-a"
        );
        assert!(
            overrides("tenants:\n  single-tenant: { max_live_traces: 5 }\n")
                .validate(false, &BUILTINS)
                .is_ok()
        );
    }

    #[test]
    fn sizes_and_durations_parse() {
        let config = overrides(
            "defaults: { max_bytes_per_trace: 1000 }\ntenants:\n  a: { retention: 90m }\n",
        );
        assert_eq!(config.defaults.max_bytes_per_trace, Some(1000));
        assert_eq!(
            config.tenants["a"].retention,
            Some(Duration::from_secs(5400))
        );
        assert!(
            serde_yaml_ng::from_str::<OverridesConfig>("defaults: { max_bytes_per_trace: 5MB }\n")
                .is_err()
        );
        assert!(
            serde_yaml_ng::from_str::<OverridesConfig>("defaults: { retention: soon }\n").is_err()
        );
    }

    #[test]
    fn the_tenant_label_is_a_label_name() {
        let mut config = MultitenancyConfig::default();
        assert!(config.validate().is_ok());
        config.tenant_label = "__tenant".to_owned();
        assert_eq!(
            config.validate().unwrap_err().0,
            "multitenancy.tenant_label"
        );
        config.tenant_label = "org-id".to_owned();
        assert!(config.validate().is_err());
    }
}
