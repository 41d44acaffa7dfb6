//! A queued batch as stored in the `outbox` family:
//! `version:u8 (1) ‖ spans:u32 BE ‖ tenant_len:u16 BE ‖ tenant ‖ ExportTraceServiceRequest`
//! (protobuf, exactly the bytes sent upstream).

use bytes::Bytes;
use prost::Message;

use crate::model::ExportTraceServiceRequest;

const VERSION: u8 = 1;
const HEADER_LEN: usize = 7;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("corrupt queued batch: {0}")]
pub(crate) struct EntryError(&'static str);

/// A decoded queued batch; `payload` shares the value's bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Entry {
    pub(crate) tenant: String,
    pub(crate) spans: u32,
    pub(crate) payload: Bytes,
}

/// Encodes `request` (holding `spans` spans) of `tenant` as a queued batch, the request
/// encoded straight into the value (no intermediate copy).
pub(crate) fn encode(tenant: &str, request: &ExportTraceServiceRequest, spans: usize) -> Vec<u8> {
    let tenant = &tenant.as_bytes()[..tenant.len().min(u16::MAX as usize)];
    let mut value = Vec::with_capacity(HEADER_LEN + tenant.len() + request.encoded_len());
    value.push(VERSION);
    value.extend_from_slice(&u32::try_from(spans).unwrap_or(u32::MAX).to_be_bytes());
    value.extend_from_slice(&(tenant.len() as u16).to_be_bytes());
    value.extend_from_slice(tenant);
    request.encode_raw(&mut value);
    value
}

pub(crate) fn decode(value: Vec<u8>) -> Result<Entry, EntryError> {
    if value.len() < HEADER_LEN {
        return Err(EntryError("shorter than its header"));
    }
    if value[0] != VERSION {
        return Err(EntryError("unknown version"));
    }
    let spans = u32::from_be_bytes([value[1], value[2], value[3], value[4]]);
    let tenant_len = usize::from(u16::from_be_bytes([value[5], value[6]]));
    let payload_start = HEADER_LEN + tenant_len;
    if value.len() < payload_start {
        return Err(EntryError("tenant runs past the end"));
    }
    let tenant = std::str::from_utf8(&value[HEADER_LEN..payload_start])
        .map_err(|_| EntryError("tenant is not UTF-8"))?
        .to_owned();
    let payload = Bytes::from(value).slice(payload_start..);
    Ok(Entry {
        tenant,
        spans,
        payload,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn round_trip() {
        let request = ExportTraceServiceRequest {
            resource_spans: vec![Default::default()],
        };
        let entry = decode(encode("team-a", &request, 3)).unwrap();
        assert_eq!(entry.tenant, "team-a");
        assert_eq!(entry.spans, 3);
        assert_eq!(
            ExportTraceServiceRequest::decode(entry.payload).unwrap(),
            request
        );
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = decode(bytes);
        }
    }
}
