//! Tenants the way Tempo has them. With `multitenancy.enabled`, every write and every
//! query names its tenant in `X-Scope-OrgID` (HTTP header, gRPC metadata): a write
//! belongs to exactly one tenant, a query reads one or, with
//! `multi_tenant_queries_enabled`, several (`team-a|team-b`). Without it everything
//! belongs to [`SINGLE_TENANT`] and the header is ignored, as in Tempo.
//!
//! This module resolves the header ([`Tenancy`], `org_id.rs`) and holds the
//! `multitenancy:` and `overrides:` config (`config.rs`); the receivers and the query
//! API ask it, ingest enforces the per-tenant limits, and the store keys everything by
//! tenant.

mod config;
mod org_id;

pub use config::{MultitenancyConfig, OverridesConfig, RateLimit, TenantLimits, TenantOverrides};
pub use org_id::{MAX_TENANT_ID_LEN, ORG_ID_HEADER, OrgIdError, single_tenant, tenants};

use crate::model::SINGLE_TENANT;

/// How a request's tenant is found: the part of `multitenancy:` the receivers and the
/// query API need.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tenancy {
    enabled: bool,
    multi_tenant_queries: bool,
}

impl Tenancy {
    pub fn new(config: &MultitenancyConfig) -> Tenancy {
        Tenancy {
            enabled: config.enabled,
            multi_tenant_queries: config.multi_tenant_queries_enabled,
        }
    }

    /// Multi-tenancy off: one tenant, the header ignored.
    pub fn single() -> Tenancy {
        Tenancy {
            enabled: false,
            multi_tenant_queries: false,
        }
    }

    pub fn enabled(&self) -> bool {
        self.enabled
    }

    /// The tenant an export writes to, from every value of its `X-Scope-OrgID`: none
    /// (or an empty one) is `Missing`, two are `Multiple`, and one value must name one
    /// tenant (`a|b` is `Multiple`).
    pub fn for_write<'a>(
        &self,
        values: impl IntoIterator<Item = &'a [u8]>,
    ) -> Result<String, OrgIdError> {
        if !self.enabled {
            return Ok(SINGLE_TENANT.to_owned());
        }
        let mut values = values.into_iter();
        let Some(value) = values.next() else {
            return Err(OrgIdError::Missing);
        };
        if values.next().is_some() {
            return Err(OrgIdError::Multiple);
        }
        single_tenant(value)
    }

    /// The tenants a query reads, sorted and distinct, from the value of its
    /// `X-Scope-OrgID` (`None`: absent). Several only with `multi_tenant_queries_enabled`.
    pub fn for_read(&self, value: Option<&[u8]>) -> Result<Vec<String>, OrgIdError> {
        if !self.enabled {
            return Ok(vec![SINGLE_TENANT.to_owned()]);
        }
        let value = value.ok_or(OrgIdError::Missing)?;
        if self.multi_tenant_queries {
            tenants(value)
        } else {
            single_tenant(value).map(|tenant| vec![tenant])
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn on(multi: bool) -> Tenancy {
        Tenancy::new(&MultitenancyConfig {
            enabled: true,
            multi_tenant_queries_enabled: multi,
            ..MultitenancyConfig::default()
        })
    }

    #[test]
    fn off_ignores_the_header() {
        let off = Tenancy::single();
        assert_eq!(off.for_write([]).unwrap(), SINGLE_TENANT);
        assert_eq!(off.for_write([&b"bad id"[..]]).unwrap(), SINGLE_TENANT);
        assert_eq!(off.for_read(Some(b"a|b")).unwrap(), [SINGLE_TENANT]);
        assert_eq!(off.for_read(None).unwrap(), [SINGLE_TENANT]);
    }

    #[test]
    fn writes_need_exactly_one_tenant() {
        let on = on(true);
        assert_eq!(on.for_write([]).unwrap_err(), OrgIdError::Missing);
        assert_eq!(on.for_write([&b""[..]]).unwrap_err(), OrgIdError::Missing);
        assert_eq!(on.for_write([&b"a"[..]]).unwrap(), "a");
        assert_eq!(
            on.for_write([&b"a"[..], &b"a"[..]]).unwrap_err(),
            OrgIdError::Multiple
        );
        assert_eq!(
            on.for_write([&b"a|b"[..]]).unwrap_err(),
            OrgIdError::Multiple
        );
    }

    #[test]
    fn reads_take_several_tenants_when_allowed() {
        assert_eq!(on(true).for_read(Some(b"b|a")).unwrap(), ["a", "b"]);
        assert_eq!(
            on(false).for_read(Some(b"b|a")).unwrap_err(),
            OrgIdError::Multiple
        );
        assert_eq!(on(false).for_read(Some(b"a")).unwrap(), ["a"]);
        assert_eq!(on(true).for_read(None).unwrap_err(), OrgIdError::Missing);
        assert!(on(true).for_read(None).unwrap_err().is_missing());
    }
}
