//! The UDP agent's datagram: a Thrift message calling `Agent.emitBatch` (oneway), whose
//! argument struct holds the `Batch` as field 1.

use super::jaeger::read_batch;
use super::{FieldType, Protocol, ThriftError};
use crate::receiver::jaeger::model::Batch;

const CALL: u8 = 1;
const ONEWAY: u8 = 4;
const EMIT_BATCH: &str = "emitBatch";

/// The batch of one `emitBatch` datagram.
pub(in crate::receiver::jaeger) fn read_emit_batch<P: Protocol>(
    protocol: &mut P,
) -> Result<Batch, ThriftError> {
    let header = protocol.read_message_begin()?;
    if header.name != EMIT_BATCH || !matches!(header.kind, CALL | ONEWAY) {
        return Err(ThriftError::UnexpectedCall {
            name: header.name,
            kind: header.kind,
        });
    }
    let mut batch = None;
    protocol.read_struct_begin();
    while let Some((field_type, id)) = protocol.read_field_begin()? {
        match (id, field_type) {
            (1, FieldType::Struct) => {
                batch = Some(read_batch(protocol).map_err(|source| ThriftError::In {
                    strukt: "emitBatch",
                    field: "batch",
                    source: Box::new(source),
                })?);
            }
            _ => protocol.skip(field_type, 1)?,
        }
    }
    protocol.read_struct_end();
    batch.ok_or(ThriftError::MissingField {
        strukt: "emitBatch",
        field: "batch",
    })
}
