//! What v1 and v2 JSON share: endpoints, tag values, ids, and decoding with the path
//! of the first problem in the error.

use std::fmt;
use std::net::IpAddr;

use serde::Deserialize;
use serde::de::{self, DeserializeOwned, Deserializer, Visitor};

use super::error::DecodeError;
use super::ids;
use super::model::Endpoint;

/// Decodes `payload` as `T`; the error names the path (`[0].localEndpoint.ipv4`).
pub(super) fn decode<T: DeserializeOwned>(
    payload: &[u8],
    format: &'static str,
) -> Result<T, DecodeError> {
    let mut deserializer = serde_json::Deserializer::from_slice(payload);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        let path = error.path().to_string();
        DecodeError::Json {
            format,
            path,
            message: error.into_inner().to_string(),
        }
    })?;
    deserializer.end().map_err(|error| DecodeError::Json {
        format,
        path: ".".to_owned(),
        message: error.to_string(),
    })?;
    Ok(value)
}

/// An endpoint as both JSON versions write it; addresses are text.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct JsonEndpoint {
    #[serde(default)]
    service_name: Option<String>,
    #[serde(default, deserialize_with = "ip_address")]
    ipv4: Option<IpAddr>,
    #[serde(default, deserialize_with = "ip_address")]
    ipv6: Option<IpAddr>,
    #[serde(default)]
    port: Option<i64>,
}

impl JsonEndpoint {
    pub(super) fn to_endpoint(&self) -> Endpoint {
        Endpoint {
            service_name: self.service_name.clone().unwrap_or_default(),
            ipv4: self.ipv4,
            ipv6: self.ipv6,
            port: self.port.unwrap_or(0),
        }
    }
}

impl From<JsonEndpoint> for Endpoint {
    fn from(json: JsonEndpoint) -> Endpoint {
        json.to_endpoint()
    }
}

/// An IPv4 or IPv6 address in either field (Zipkin's Go and Java readers accept both);
/// empty or null is none.
fn ip_address<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<IpAddr>, D::Error> {
    let text: Option<String> = Option::deserialize(deserializer)?;
    match text.as_deref() {
        None | Some("") => Ok(None),
        Some(text) => text
            .parse()
            .map(Some)
            .map_err(|_| de::Error::custom(format!("`{text}` is not an IP address"))),
    }
}

/// A tag or binary annotation value: text, or a number or boolean written as JSON
/// writes it (some clients send those unquoted); null is no value.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct TagValue(pub(super) Option<String>);

impl<'de> Deserialize<'de> for TagValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<TagValue, D::Error> {
        struct TagVisitor;
        impl Visitor<'_> for TagVisitor {
            type Value = TagValue;
            fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
                formatter.write_str("a string, number or boolean")
            }
            fn visit_str<E: de::Error>(self, value: &str) -> Result<TagValue, E> {
                Ok(TagValue(Some(value.to_owned())))
            }
            fn visit_string<E: de::Error>(self, value: String) -> Result<TagValue, E> {
                Ok(TagValue(Some(value)))
            }
            fn visit_bool<E: de::Error>(self, value: bool) -> Result<TagValue, E> {
                Ok(TagValue(Some(value.to_string())))
            }
            fn visit_i64<E: de::Error>(self, value: i64) -> Result<TagValue, E> {
                Ok(TagValue(Some(value.to_string())))
            }
            fn visit_u64<E: de::Error>(self, value: u64) -> Result<TagValue, E> {
                Ok(TagValue(Some(value.to_string())))
            }
            fn visit_f64<E: de::Error>(self, value: f64) -> Result<TagValue, E> {
                Ok(TagValue(Some(value.to_string())))
            }
            fn visit_unit<E: de::Error>(self) -> Result<TagValue, E> {
                Ok(TagValue(None))
            }
        }
        deserializer.deserialize_any(TagVisitor)
    }
}

/// Text that may be null (null is empty).
pub(super) fn text<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    Ok(Option::<String>::deserialize(deserializer)?.unwrap_or_default())
}

/// Epoch microseconds or a duration in microseconds: a non-negative integer, null or
/// absent being 0.
pub(super) fn micros<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u64, D::Error> {
    Ok(Option::<u64>::deserialize(deserializer)?.unwrap_or(0))
}

pub(super) fn trace_id<'de, D: Deserializer<'de>>(deserializer: D) -> Result<[u8; 16], D::Error> {
    let text = String::deserialize(deserializer)?;
    ids::trace_id_from_hex(&text).map_err(de::Error::custom)
}

pub(super) fn span_id<'de, D: Deserializer<'de>>(deserializer: D) -> Result<[u8; 8], D::Error> {
    let text = String::deserialize(deserializer)?;
    ids::span_id_from_hex(&text).map_err(de::Error::custom)
}

pub(super) fn parent_id<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<[u8; 8]>, D::Error> {
    let text: Option<String> = Option::deserialize(deserializer)?;
    ids::parent_id_from_hex(text.as_deref().unwrap_or("")).map_err(de::Error::custom)
}
