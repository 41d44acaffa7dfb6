//! Zipkin's hex ids: a trace id of 1 to 32 hex digits (a 64-bit id has up to 16 and is
//! the low half), span ids of 1 to 16; shorter ids are numbers with their leading zeros
//! left out, as Zipkin's own parsers read them.

/// Why an id is not one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(super) enum IdError {
    #[error("`{0}` is not a hex id of 1 to {1} digits")]
    NotHex(String, usize),
    #[error("must not be all zeros")]
    Zero,
    #[error("has {0} bytes; expected {1}")]
    Length(usize, &'static str),
}

/// A 128-bit trace id from 1 to 32 hex digits, left-padded with zeros; not all zero.
pub(super) fn trace_id_from_hex(text: &str) -> Result<[u8; 16], IdError> {
    let id = hex_left_padded::<16>(text)?;
    nonzero(id)
}

/// A 64-bit span id from 1 to 16 hex digits; not all zero.
pub(super) fn span_id_from_hex(text: &str) -> Result<[u8; 8], IdError> {
    nonzero(hex_left_padded::<8>(text)?)
}

/// A parent id: empty or all zero is none.
pub(super) fn parent_id_from_hex(text: &str) -> Result<Option<[u8; 8]>, IdError> {
    if text.is_empty() {
        return Ok(None);
    }
    let id = hex_left_padded::<8>(text)?;
    Ok((id != [0; 8]).then_some(id))
}

/// A trace id of 8 (64-bit) or 16 bytes, as the protobuf encoding carries it.
pub(super) fn trace_id_from_bytes(bytes: &[u8]) -> Result<[u8; 16], IdError> {
    let mut id = [0u8; 16];
    match bytes.len() {
        8 => id[8..].copy_from_slice(bytes),
        16 => id.copy_from_slice(bytes),
        other => return Err(IdError::Length(other, "8 or 16")),
    }
    nonzero(id)
}

/// A span id of 8 bytes.
pub(super) fn span_id_from_bytes(bytes: &[u8]) -> Result<[u8; 8], IdError> {
    let id: [u8; 8] = bytes
        .try_into()
        .map_err(|_| IdError::Length(bytes.len(), "8"))?;
    nonzero(id)
}

/// A parent id of 8 bytes, or none when empty or all zero.
pub(super) fn parent_id_from_bytes(bytes: &[u8]) -> Result<Option<[u8; 8]>, IdError> {
    if bytes.is_empty() {
        return Ok(None);
    }
    let id: [u8; 8] = bytes
        .try_into()
        .map_err(|_| IdError::Length(bytes.len(), "0 or 8"))?;
    Ok((id != [0; 8]).then_some(id))
}

fn nonzero<const N: usize>(id: [u8; N]) -> Result<[u8; N], IdError> {
    if id == [0; N] {
        Err(IdError::Zero)
    } else {
        Ok(id)
    }
}

/// `text` as a big-endian number of `N` bytes.
fn hex_left_padded<const N: usize>(text: &str) -> Result<[u8; N], IdError> {
    let not_hex = || IdError::NotHex(text.chars().take(40).collect(), 2 * N);
    if text.is_empty() || text.len() > 2 * N || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(not_hex());
    }
    let mut id = [0u8; N];
    // Right-aligned: the last digit is the low nibble of the last byte.
    for (position, digit) in text.bytes().rev().enumerate() {
        let value = (digit as char).to_digit(16).ok_or_else(not_hex)? as u8;
        let byte = N - 1 - position / 2;
        id[byte] |= if position % 2 == 0 { value } else { value << 4 };
    }
    Ok(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sixty_four_bit_trace_ids_are_the_low_half() {
        assert_eq!(
            hex::encode(trace_id_from_hex("463ac35c9f6413ad").unwrap()),
            "0000000000000000463ac35c9f6413ad"
        );
        assert_eq!(
            hex::encode(trace_id_from_hex("5B8EFFF798038103D269B633813FC60C").unwrap()),
            "5b8efff798038103d269b633813fc60c"
        );
        assert_eq!(
            hex::encode(trace_id_from_hex("abc").unwrap()),
            "00000000000000000000000000000abc"
        );
        assert_eq!(
            hex::encode(span_id_from_hex("1").unwrap()),
            "0000000000000001"
        );
    }

    #[test]
    fn bad_ids_are_refused() {
        assert_eq!(trace_id_from_hex("0").unwrap_err(), IdError::Zero);
        assert!(matches!(trace_id_from_hex(""), Err(IdError::NotHex(..))));
        assert!(matches!(trace_id_from_hex("zz"), Err(IdError::NotHex(..))));
        assert!(matches!(
            trace_id_from_hex(&"1".repeat(33)),
            Err(IdError::NotHex(..))
        ));
        assert!(matches!(
            span_id_from_hex(&"1".repeat(17)),
            Err(IdError::NotHex(..))
        ));
        assert!(matches!(span_id_from_hex("+1"), Err(IdError::NotHex(..))));
        assert_eq!(parent_id_from_hex("").unwrap(), None);
        assert_eq!(parent_id_from_hex("0000000000000000").unwrap(), None);
    }

    #[test]
    fn byte_ids() {
        assert_eq!(
            hex::encode(trace_id_from_bytes(&[1, 2, 3, 4, 5, 6, 7, 8]).unwrap()),
            "00000000000000000102030405060708"
        );
        assert_eq!(
            trace_id_from_bytes(&[1; 3]).unwrap_err(),
            IdError::Length(3, "8 or 16")
        );
        assert_eq!(span_id_from_bytes(&[0; 8]).unwrap_err(), IdError::Zero);
        assert_eq!(parent_id_from_bytes(&[]).unwrap(), None);
        assert!(parent_id_from_bytes(&[1; 4]).is_err());
    }
}
