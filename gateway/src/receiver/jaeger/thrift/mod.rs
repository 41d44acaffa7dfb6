//! A small Thrift decoder for what Jaeger clients send: the binary and compact protocols
//! (`binary.rs`, `compact.rs`) behind one [`Protocol`] trait, the `jaeger.thrift`
//! structs (`jaeger.rs`), and the `Agent.emitBatch` message of the UDP agent ports
//! (`agent.rs`).
//!
//! Hostile input is expected: every length is checked against the bytes left before
//! anything is read or allocated, every list holds at most as many elements as there
//! are bytes left (each takes at least one), and skipping unknown fields nests at most
//! [`MAX_DEPTH`] deep. Nothing here panics on any input (property tests in `tests.rs`).

mod agent;
mod binary;
mod compact;
mod jaeger;
mod reader;

pub(super) use agent::read_emit_batch;
pub(super) use binary::BinaryProtocol;
pub(super) use compact::CompactProtocol;
pub(super) use jaeger::read_batch;

/// How deep unknown fields may nest before the input is refused.
const MAX_DEPTH: usize = 32;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(super) enum ThriftError {
    #[error("truncated: needed {needed} more bytes at offset {offset}")]
    Truncated { offset: usize, needed: usize },
    #[error("invalid length {length} at offset {offset}: only {left} bytes left")]
    Length {
        offset: usize,
        length: i64,
        left: usize,
    },
    #[error("unknown Thrift type {0}")]
    UnknownType(u8),
    #[error("invalid varint at offset {0}")]
    Varint(usize),
    #[error("unsupported protocol version {0:#x}")]
    Version(u32),
    #[error("fields nested deeper than {MAX_DEPTH}")]
    TooDeep,
    #[error("{strukt}: required field `{field}` is missing")]
    MissingField {
        strukt: &'static str,
        field: &'static str,
    },
    #[error("{strukt}.{field}: {source}")]
    In {
        strukt: &'static str,
        field: &'static str,
        source: Box<ThriftError>,
    },
    #[error("element {index}: {source}")]
    Element {
        index: usize,
        source: Box<ThriftError>,
    },
    #[error("a list of {0:?} where a list of structs belongs")]
    UnexpectedElement(FieldType),
    #[error("unexpected message `{name}` of type {kind}; expected the `emitBatch` call")]
    UnexpectedCall { name: String, kind: u8 },
}

/// The wire types, as both protocols name them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum FieldType {
    Bool,
    Byte,
    Double,
    I16,
    I32,
    I64,
    Binary,
    Struct,
    Map,
    Set,
    List,
}

/// A message envelope: name, type (1 call, 2 reply, 3 exception, 4 oneway), sequence id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct MessageHeader {
    pub(super) name: String,
    pub(super) kind: u8,
}

/// What a Thrift protocol reads; the struct readers are written once against it.
pub(super) trait Protocol {
    fn read_message_begin(&mut self) -> Result<MessageHeader, ThriftError>;
    fn read_struct_begin(&mut self);
    fn read_struct_end(&mut self);
    /// The next field's type and id, or `None` at the struct's stop marker.
    fn read_field_begin(&mut self) -> Result<Option<(FieldType, i16)>, ThriftError>;
    fn read_bool(&mut self) -> Result<bool, ThriftError>;
    fn read_byte(&mut self) -> Result<u8, ThriftError>;
    fn read_i16(&mut self) -> Result<i16, ThriftError>;
    fn read_i32(&mut self) -> Result<i32, ThriftError>;
    fn read_i64(&mut self) -> Result<i64, ThriftError>;
    fn read_double(&mut self) -> Result<f64, ThriftError>;
    fn read_binary(&mut self) -> Result<&[u8], ThriftError>;
    /// A list's (or set's) element type and length, the length checked against the bytes left.
    fn read_list_begin(&mut self) -> Result<(FieldType, usize), ThriftError>;
    /// A map's length and, when it is not empty, its key and value types.
    fn read_map_begin(&mut self) -> Result<(usize, Option<(FieldType, FieldType)>), ThriftError>;

    fn read_string(&mut self) -> Result<String, ThriftError> {
        Ok(String::from_utf8_lossy(self.read_binary()?).into_owned())
    }

    /// Reads past a value of type `field_type` (an unknown field, or one of the wrong type).
    fn skip(&mut self, field_type: FieldType, depth: usize) -> Result<(), ThriftError> {
        if depth > MAX_DEPTH {
            return Err(ThriftError::TooDeep);
        }
        match field_type {
            FieldType::Bool => self.read_bool().map(drop),
            FieldType::Byte => self.read_byte().map(drop),
            FieldType::Double => self.read_double().map(drop),
            FieldType::I16 => self.read_i16().map(drop),
            FieldType::I32 => self.read_i32().map(drop),
            FieldType::I64 => self.read_i64().map(drop),
            FieldType::Binary => self.read_binary().map(drop),
            FieldType::Struct => {
                self.read_struct_begin();
                while let Some((field_type, _)) = self.read_field_begin()? {
                    self.skip(field_type, depth + 1)?;
                }
                self.read_struct_end();
                Ok(())
            }
            FieldType::List | FieldType::Set => {
                let (element, length) = self.read_list_begin()?;
                for _ in 0..length {
                    self.skip(element, depth + 1)?;
                }
                Ok(())
            }
            FieldType::Map => {
                let (length, types) = self.read_map_begin()?;
                if let Some((key, value)) = types {
                    for _ in 0..length {
                        self.skip(key, depth + 1)?;
                        self.skip(value, depth + 1)?;
                    }
                }
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests;
