//! Redaction: mask the value of an attribute whose key is on a small block
//! list, or whose value looks like an email address.

/// Keys whose values are always masked (compared ASCII case-insensitively).
pub const BLOCKED_KEYS: [&str; 3] = ["password", "authorization", "credit_card"];

/// What a masked value is replaced with.
pub const MASK: &str = "[REDACTED]";

/// Whether a string attribute must be masked.
pub fn must_mask(key: &[u8], value: &[u8]) -> bool {
    is_blocked_key(key) || looks_like_email(value)
}

pub fn is_blocked_key(key: &[u8]) -> bool {
    BLOCKED_KEYS
        .iter()
        .any(|blocked| key.eq_ignore_ascii_case(blocked.as_bytes()))
}

/// A deliberately simple single-pass byte scan (no regex): `local@domain.tld`
/// with exactly one `@`, something before it, a dot inside the domain that is
/// neither its first nor its last byte, and no whitespace anywhere.
pub fn looks_like_email(value: &[u8]) -> bool {
    if !(5..=254).contains(&value.len()) {
        return false;
    }
    let mut at = None;
    for (i, &b) in value.iter().enumerate() {
        match b {
            b'@' if at.is_some() => return false,
            b'@' => at = Some(i),
            b if b.is_ascii_whitespace() => return false,
            _ => {}
        }
    }
    let Some(at) = at else { return false };
    let domain = &value[at + 1..];
    at > 0 && domain.len() >= 3 && domain[1..domain.len() - 1].contains(&b'.')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocked_keys_match_case_insensitively() {
        assert!(must_mask(b"Authorization", b"Bearer x"));
        assert!(must_mask(b"credit_card", b"4111"));
        assert!(!must_mask(b"http.method", b"GET"));
    }

    #[test]
    fn emails_are_recognised() {
        assert!(looks_like_email(b"alice.smith@example.com"));
        assert!(!looks_like_email(b"@example.com"));
        assert!(!looks_like_email(b"alice@example"));
        assert!(!looks_like_email(b"a@b@example.com"));
        assert!(!looks_like_email(b"alice smith@example.com"));
        assert!(!looks_like_email(b"/api/v1/users/{id}"));
    }
}
