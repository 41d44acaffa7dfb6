//! Byte sizes in the config: `64MiB`, `512 KiB`, `50GiB`, `1048576` (bytes).

use serde::{Deserialize, Deserializer};

/// Parses a size with a binary unit (B, KiB, MiB, GiB, TiB) or none (bytes).
pub fn parse_bytes(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    let multiplier: u64 = match unit.trim() {
        "" | "B" => 1,
        "KiB" => 1 << 10,
        "MiB" => 1 << 20,
        "GiB" => 1 << 30,
        "TiB" => 1 << 40,
        other => {
            return Err(format!(
                "unknown unit `{other}` in `{text}` (use B, KiB, MiB, GiB or TiB, e.g. 64MiB)"
            ));
        }
    };
    digits
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(multiplier))
        .ok_or_else(|| format!("`{text}` is not a size (e.g. 64MiB)"))
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Raw {
    Number(u64),
    Text(String),
}

/// serde: a size as a number of bytes or text with a unit.
pub fn deserialize_bytes<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u64, D::Error> {
    match Raw::deserialize(deserializer)? {
        Raw::Number(bytes) => Ok(bytes),
        Raw::Text(text) => parse_bytes(&text).map_err(serde::de::Error::custom),
    }
}

/// serde: an optional size (`null` or absent is `None`).
pub fn deserialize_optional_bytes<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<u64>, D::Error> {
    match Option::<Raw>::deserialize(deserializer)? {
        None => Ok(None),
        Some(Raw::Number(bytes)) => Ok(Some(bytes)),
        Some(Raw::Text(text)) => parse_bytes(&text)
            .map(Some)
            .map_err(serde::de::Error::custom),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_with_binary_units() {
        assert_eq!(parse_bytes("64MiB"), Ok(64 << 20));
        assert_eq!(parse_bytes("512 KiB"), Ok(512 << 10));
        assert_eq!(parse_bytes("50GiB"), Ok(50 << 30));
        assert_eq!(parse_bytes("1048576"), Ok(1 << 20));
        assert!(
            parse_bytes("64MB")
                .unwrap_err()
                .contains("unknown unit `MB`")
        );
        assert!(parse_bytes("MiB").is_err());
        assert!(parse_bytes("99999999999999999999GiB").is_err());
    }
}
