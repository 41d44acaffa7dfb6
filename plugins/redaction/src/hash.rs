//! Keyed hashing: the `hash` action.
//!
//! Masking loses the ability to join ("which spans carried this user's email?"); a plain hash
//! keeps it but can be reversed by hashing guesses (emails and card numbers are guessable). A
//! keyed HMAC-SHA256 keeps joins while making guesses useless to anyone without the key. The
//! output is `h:` plus the first 16 hex digits (64 bits): collisions are negligible for joining
//! and the value stays short.

use std::fmt::{self, Write as _};

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::model::Value;

/// Prefix of every hash this plugin writes; lets a second pass recognise its own output.
pub const HASH_PREFIX: &str = "h:";
/// Hex digits kept from the MAC.
pub const HASH_HEX_LEN: usize = 16;
/// Shortest accepted key, in bytes: below 128 bits a key can be brute-forced.
pub const MIN_KEY_LEN: usize = 16;

/// An HMAC-SHA256 keyed once; hashing clones the keyed state instead of re-deriving it.
#[derive(Clone)]
pub struct KeyedHasher {
    keyed: Hmac<Sha256>,
}

/// Why a hash key was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum HashKeyError {
    /// The key is shorter than [`MIN_KEY_LEN`] bytes.
    #[error("must be at least {MIN_KEY_LEN} bytes, got {0}")]
    TooShort(usize),
}

impl fmt::Debug for KeyedHasher {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print key material.
        formatter.write_str("KeyedHasher { .. }")
    }
}

impl KeyedHasher {
    /// Keys the hasher; refuses keys shorter than [`MIN_KEY_LEN`] bytes.
    pub fn new(key: &[u8]) -> Result<Self, HashKeyError> {
        if key.len() < MIN_KEY_LEN {
            return Err(HashKeyError::TooShort(key.len()));
        }
        let keyed = Hmac::<Sha256>::new_from_slice(key).expect("hmac accepts keys of any length");
        Ok(KeyedHasher { keyed })
    }

    /// `h:` + 16 hex digits of HMAC-SHA256(key, bytes).
    pub fn hash_bytes(&self, bytes: &[u8]) -> String {
        let mut mac = self.keyed.clone();
        mac.update(bytes);
        format_digest(mac)
    }

    /// Hashes a whole attribute value (for a blocked key with the `hash` action).
    ///
    /// Scalars hash as their text, so `Str("42")` and `Int(42)` give the same hash and stay
    /// joinable across SDKs that type the same attribute differently. Arrays and kvlists hash a
    /// tagged, length-prefixed encoding, so distinct structures cannot collide by concatenation.
    pub fn hash_value(&self, value: &Value) -> String {
        let mut mac = self.keyed.clone();
        match value {
            Value::Array(_) | Value::KvList(_) => feed_tagged(&mut mac, value),
            scalar => feed_scalar_text(&mut mac, scalar),
        }
        format_digest(mac)
    }
}

/// Whether `text` is exactly a hash this plugin writes.
pub fn is_hash_token(text: &str) -> bool {
    text.len() == HASH_PREFIX.len() + HASH_HEX_LEN && hash_token_at(text.as_bytes(), 0)
}

/// Byte ranges of the hashes this plugin wrote inside `text` (`h:` + 16 lowercase hex digits
/// not followed by another hex digit); value patterns must not re-redact them.
pub fn find_hash_tokens(text: &str) -> impl Iterator<Item = std::ops::Range<usize>> + '_ {
    let bytes = text.as_bytes();
    memchr::memmem::find_iter(bytes, HASH_PREFIX.as_bytes())
        .filter(move |&start| hash_token_at(bytes, start))
        .map(|start| start..start + HASH_PREFIX.len() + HASH_HEX_LEN)
}

fn hash_token_at(bytes: &[u8], start: usize) -> bool {
    let digits_start = start + HASH_PREFIX.len();
    let digits_end = digits_start + HASH_HEX_LEN;
    bytes.len() >= digits_end
        && bytes[start..digits_start] == *HASH_PREFIX.as_bytes()
        && bytes[digits_start..digits_end]
            .iter()
            .all(|byte| matches!(byte, b'0'..=b'9' | b'a'..=b'f'))
        && !bytes.get(digits_end).is_some_and(u8::is_ascii_hexdigit)
}

fn format_digest(mac: Hmac<Sha256>) -> String {
    let digest = mac.finalize().into_bytes();
    let mut out = String::with_capacity(HASH_PREFIX.len() + HASH_HEX_LEN);
    out.push_str(HASH_PREFIX);
    for byte in &digest[..HASH_HEX_LEN / 2] {
        write!(out, "{byte:02x}").expect("writing to a string cannot fail");
    }
    out
}

/// Lets `write!` stream formatted numbers into the MAC without a temporary string.
struct MacWriter<'a>(&'a mut Hmac<Sha256>);

impl fmt::Write for MacWriter<'_> {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        self.0.update(text.as_bytes());
        Ok(())
    }
}

fn feed_scalar_text(mac: &mut Hmac<Sha256>, value: &Value) {
    let mut writer = MacWriter(mac);
    let result = match value {
        Value::Str(text) => writer.write_str(text),
        Value::Int(number) => write!(writer, "{number}"),
        Value::Double(number) => write!(writer, "{number}"),
        Value::Bool(flag) => write!(writer, "{flag}"),
        Value::Bytes(bytes) => {
            writer.0.update(bytes);
            Ok(())
        }
        Value::Array(_) | Value::KvList(_) => unreachable!("containers are hashed tagged"),
    };
    result.expect("the mac writer cannot fail");
}

fn feed_tagged(mac: &mut Hmac<Sha256>, value: &Value) {
    let feed_length =
        |mac: &mut Hmac<Sha256>, length: usize| mac.update(&(length as u64).to_le_bytes());
    match value {
        Value::Str(text) => {
            mac.update(b"s");
            feed_length(mac, text.len());
            mac.update(text.as_bytes());
        }
        Value::Bytes(bytes) => {
            mac.update(b"y");
            feed_length(mac, bytes.len());
            mac.update(bytes);
        }
        Value::Int(number) => {
            mac.update(b"i");
            mac.update(&number.to_le_bytes());
        }
        Value::Double(number) => {
            mac.update(b"d");
            mac.update(&number.to_bits().to_le_bytes());
        }
        Value::Bool(flag) => mac.update(if *flag { b"T" } else { b"F" }),
        Value::Array(items) => {
            mac.update(b"a");
            feed_length(mac, items.len());
            for item in items {
                feed_tagged(mac, item);
            }
        }
        Value::KvList(entries) => {
            mac.update(b"k");
            feed_length(mac, entries.len());
            for (key, item) in entries {
                feed_length(mac, key.len());
                mac.update(key.as_bytes());
                feed_tagged(mac, item);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &[u8] = b"0123456789abcdef-test-key";

    #[test]
    fn deterministic_and_well_formed() {
        let hasher = KeyedHasher::new(KEY).unwrap();
        let first = hasher.hash_bytes(b"jane@example.com");
        assert_eq!(first, hasher.hash_bytes(b"jane@example.com"));
        assert_eq!(first.len(), HASH_PREFIX.len() + HASH_HEX_LEN);
        assert!(is_hash_token(&first), "{first}");
        assert_ne!(first, hasher.hash_bytes(b"john@example.com"));
    }

    #[test]
    fn matches_reference_hmac() {
        // RFC 4231 test case 1: HMAC-SHA256(key = 0x0b * 20, "Hi There") = b0344c61d8db3853…;
        // pins the algorithm, the truncation and the prefix.
        let hasher = KeyedHasher::new(&[0x0b; 20]).unwrap();
        assert_eq!(hasher.hash_bytes(b"Hi There"), "h:b0344c61d8db3853");
    }

    #[test]
    fn depends_on_the_key() {
        let first = KeyedHasher::new(KEY).unwrap();
        let second = KeyedHasher::new(b"another-key-of-enough-length").unwrap();
        assert_ne!(first.hash_bytes(b"secret"), second.hash_bytes(b"secret"));
    }

    #[test]
    fn short_keys_are_refused() {
        assert_eq!(
            KeyedHasher::new(b"short").unwrap_err(),
            HashKeyError::TooShort(5)
        );
        assert!(KeyedHasher::new(&[7; MIN_KEY_LEN]).is_ok());
    }

    #[test]
    fn scalars_hash_as_text_and_containers_by_structure() {
        let hasher = KeyedHasher::new(KEY).unwrap();
        assert_eq!(
            hasher.hash_value(&Value::Int(42)),
            hasher.hash_value(&Value::Str("42".into()))
        );
        assert_eq!(
            hasher.hash_value(&Value::Bool(true)),
            hasher.hash_bytes(b"true")
        );
        let split = Value::Array(vec!["ab".into(), "c".into()]);
        let joined = Value::Array(vec!["a".into(), "bc".into()]);
        assert_ne!(hasher.hash_value(&split), hasher.hash_value(&joined));
    }

    #[test]
    fn finds_its_own_tokens() {
        let text = "x h:0123456789abcdef y h:0123 h:0123456789abcdef0";
        let found: Vec<_> = find_hash_tokens(text).map(|range| &text[range]).collect();
        assert_eq!(found, ["h:0123456789abcdef"]);
        assert!(!is_hash_token("h:0123456789ABCDEF"));
    }
}
