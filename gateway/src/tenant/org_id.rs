//! `X-Scope-OrgID` read as Tempo reads it (dskit's `tenant` package): which tenant a
//! write belongs to, and which tenants a query reads.
//!
//! A value holds one tenant id or several separated by `|` (`team-a|team-b`); each may
//! carry metadata after a `:` (`team-a:env=prod`), which is ignored. A tenant id is 1 to
//! 150 characters of `a-z A-Z 0-9 ! - _ . * ' ( )`, and neither `.` nor `..`. The
//! errors are worded as dskit words them, since clients may show them verbatim.

/// The header (HTTP) and metadata key (gRPC, lower-case on the wire) naming the tenant.
pub const ORG_ID_HEADER: &str = "x-scope-orgid";

/// The longest tenant id, in bytes.
pub const MAX_TENANT_ID_LEN: usize = 150;

const TENANTS_SEPARATOR: u8 = b'|';
const METADATA_SEPARATOR: u8 = b':';

/// Why a request's tenant cannot be resolved. `Missing` is an authentication failure
/// (HTTP 401, gRPC UNAUTHENTICATED); the others are the client's bad input (400,
/// INVALID_ARGUMENT).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OrgIdError {
    /// No `X-Scope-OrgID` at all, or an empty one.
    #[error("no org id")]
    Missing,
    /// A `|`-separated member is empty (`team-a|`): that member has no tenant.
    #[error("no org id")]
    EmptyTenant,
    /// Several tenants where one is required (ingest, or queries with
    /// `multi_tenant_queries_enabled: false`), or the header given twice.
    #[error("multiple org IDs present")]
    Multiple,
    #[error("tenant ID '{id}' contains unsupported character '{character}'")]
    UnsupportedCharacter { id: String, character: char },
    #[error("tenant ID is too long: max {MAX_TENANT_ID_LEN} characters")]
    TooLong,
    #[error("tenant ID is '.' or '..'")]
    Unsafe,
}

impl OrgIdError {
    /// True for `Missing`, the only error that is an authentication failure.
    pub fn is_missing(&self) -> bool {
        matches!(self, OrgIdError::Missing)
    }
}

fn valid_char(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || b"!-_.*'()".contains(&byte)
}

/// Checks one tenant id (metadata already removed), in dskit's order: characters,
/// length, then `.` and `..`. The empty id passes here; callers refuse it.
pub(super) fn validate_tenant_id(id: &[u8]) -> Result<(), OrgIdError> {
    if let Some(&byte) = id.iter().find(|byte| !valid_char(**byte)) {
        return Err(OrgIdError::UnsupportedCharacter {
            id: String::from_utf8_lossy(id).into_owned(),
            // Go prints the offending byte with %c: the code point of that byte's value.
            character: char::from(byte),
        });
    }
    if id.len() > MAX_TENANT_ID_LEN {
        return Err(OrgIdError::TooLong);
    }
    if id == b"." || id == b".." {
        return Err(OrgIdError::Unsafe);
    }
    Ok(())
}

/// A member of the value without its `:metadata`.
fn without_metadata(member: &[u8]) -> &[u8] {
    match member.iter().position(|byte| *byte == METADATA_SEPARATOR) {
        Some(end) => &member[..end],
        None => member,
    }
}

/// A validated id as text (only ASCII passes validation).
fn to_text(id: &[u8]) -> String {
    String::from_utf8_lossy(id).into_owned()
}

/// The one tenant of `value`, as dskit's `TenantID` resolves it: the first member,
/// validated; every other member must name the same tenant (`a|a` is `a`). An empty
/// value is `Missing`.
pub fn single_tenant(value: &[u8]) -> Result<String, OrgIdError> {
    if value.is_empty() {
        return Err(OrgIdError::Missing);
    }
    let mut members = value.split(|byte| *byte == TENANTS_SEPARATOR);
    let first = without_metadata(members.next().unwrap_or_default());
    validate_tenant_id(first)?;
    if members.any(|member| without_metadata(member) != first) {
        return Err(OrgIdError::Multiple);
    }
    if first.is_empty() {
        return Err(OrgIdError::EmptyTenant);
    }
    Ok(to_text(first))
}

/// Every tenant of `value`, as dskit's `TenantIDs` resolves them: each member
/// validated, then sorted and de-duplicated. An empty value is `Missing`; an empty
/// member is `EmptyTenant`.
pub fn tenants(value: &[u8]) -> Result<Vec<String>, OrgIdError> {
    if value.is_empty() {
        return Err(OrgIdError::Missing);
    }
    let mut ids = Vec::new();
    for member in value.split(|byte| *byte == TENANTS_SEPARATOR) {
        let id = without_metadata(member);
        validate_tenant_id(id)?;
        if id.is_empty() {
            return Err(OrgIdError::EmptyTenant);
        }
        ids.push(to_text(id));
    }
    ids.sort_unstable();
    ids.dedup();
    Ok(ids)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn one_tenant_as_dskit_resolves_it() {
        assert_eq!(single_tenant(b"team-a").unwrap(), "team-a");
        assert_eq!(single_tenant(b"team-a:env=prod").unwrap(), "team-a");
        assert_eq!(single_tenant(b"a|a").unwrap(), "a");
        assert_eq!(single_tenant(b"a:x|a:y").unwrap(), "a");
        assert_eq!(single_tenant(b"a|b").unwrap_err(), OrgIdError::Multiple);
        assert_eq!(single_tenant(b"").unwrap_err(), OrgIdError::Missing);
        assert_eq!(single_tenant(b"|").unwrap_err(), OrgIdError::EmptyTenant);
        assert_eq!(single_tenant(b"..").unwrap_err(), OrgIdError::Unsafe);
        assert_eq!(single_tenant(b".").unwrap_err(), OrgIdError::Unsafe);
        assert_eq!(single_tenant(b"...").unwrap(), "...");
    }

    #[test]
    fn errors_are_worded_as_dskit_words_them() {
        assert_eq!(
            single_tenant(b"team a").unwrap_err().to_string(),
            "tenant ID 'team a' contains unsupported character ' '"
        );
        assert_eq!(
            single_tenant(&[b'x'; 151]).unwrap_err().to_string(),
            "tenant ID is too long: max 150 characters"
        );
        assert!(single_tenant(&[b'x'; 150]).is_ok());
        assert_eq!(
            single_tenant(b"..").unwrap_err().to_string(),
            "tenant ID is '.' or '..'"
        );
        assert_eq!(OrgIdError::Missing.to_string(), "no org id");
        assert_eq!(OrgIdError::Multiple.to_string(), "multiple org IDs present");
        // Characters are checked before the length, as dskit does.
        let mut long_and_bad = vec![b'x'; 200];
        long_and_bad[0] = b'/';
        assert!(matches!(
            single_tenant(&long_and_bad).unwrap_err(),
            OrgIdError::UnsupportedCharacter { character: '/', .. }
        ));
        assert!(matches!(
            single_tenant("é".as_bytes()).unwrap_err(),
            OrgIdError::UnsupportedCharacter { .. }
        ));
    }

    #[test]
    fn several_tenants_are_sorted_and_distinct() {
        assert_eq!(tenants(b"b|a|b").unwrap(), ["a", "b"]);
        assert_eq!(tenants(b"b:meta|a").unwrap(), ["a", "b"]);
        assert_eq!(tenants(b"a").unwrap(), ["a"]);
        assert_eq!(tenants(b"a|").unwrap_err(), OrgIdError::EmptyTenant);
        assert_eq!(tenants(b"").unwrap_err(), OrgIdError::Missing);
        assert!(matches!(
            tenants(b"a|b c").unwrap_err(),
            OrgIdError::UnsupportedCharacter { character: ' ', .. }
        ));
    }

    proptest! {
        #[test]
        fn never_panics_and_accepted_ids_are_valid(value in proptest::collection::vec(any::<u8>(), 0..200)) {
            if let Ok(id) = single_tenant(&value) {
                prop_assert!(!id.is_empty());
                prop_assert!(validate_tenant_id(id.as_bytes()).is_ok());
            }
            if let Ok(ids) = tenants(&value) {
                prop_assert!(!ids.is_empty());
                for id in ids {
                    prop_assert!(!id.is_empty());
                    prop_assert!(validate_tenant_id(id.as_bytes()).is_ok());
                }
            }
        }
    }
}
