//! The tenants a query reads, from `X-Scope-OrgID`: over HTTP its first value (Go's
//! `Header.Get`), over gRPC the one metadata value (dskit refuses none or several as
//! `no org id`).

use axum::http::HeaderMap;

use super::error::QueryError;
use crate::tenant::{ORG_ID_HEADER, Tenancy};

/// The tenants of an HTTP query.
pub(super) fn of_http(tenancy: &Tenancy, headers: &HeaderMap) -> Result<Vec<String>, QueryError> {
    let value = headers.get(ORG_ID_HEADER).map(|value| value.as_bytes());
    Ok(tenancy.for_read(value)?)
}

/// The tenants of a gRPC query.
pub(super) fn of_grpc(
    tenancy: &Tenancy,
    metadata: &tonic::metadata::MetadataMap,
) -> Result<Vec<String>, QueryError> {
    let mut values = metadata.get_all(ORG_ID_HEADER).iter();
    let value = match (values.next(), values.next()) {
        (Some(value), None) => Some(value.as_bytes()),
        _ => None,
    };
    Ok(tenancy.for_read(value)?)
}
