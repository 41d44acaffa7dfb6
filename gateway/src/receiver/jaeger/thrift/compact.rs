//! Thrift's compact protocol: zigzag varints, field ids as deltas, bools folded into
//! field headers, little-endian doubles.

use super::reader::Reader;
use super::{FieldType, MessageHeader, Protocol, ThriftError};

const PROTOCOL_ID: u8 = 0x82;
const VERSION: u8 = 1;

pub(in crate::receiver::jaeger) struct CompactProtocol<'a> {
    reader: Reader<'a>,
    /// The id of the last field read in each open struct (ids are sent as deltas).
    last_field_ids: Vec<i16>,
    last_field_id: i16,
    /// A bool field's value, which came with its header.
    pending_bool: Option<bool>,
}

impl<'a> CompactProtocol<'a> {
    pub(in crate::receiver::jaeger) fn new(input: &'a [u8]) -> CompactProtocol<'a> {
        CompactProtocol {
            reader: Reader::new(input),
            last_field_ids: Vec::new(),
            last_field_id: 0,
            pending_bool: None,
        }
    }

    fn varint(&mut self) -> Result<u64, ThriftError> {
        let start = self.reader.offset();
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = self.reader.byte()?;
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(ThriftError::Varint(start))
    }

    fn zigzag(&mut self) -> Result<i64, ThriftError> {
        let raw = self.varint()?;
        Ok((raw >> 1) as i64 ^ -((raw & 1) as i64))
    }
}

fn field_type(code: u8) -> Result<FieldType, ThriftError> {
    Ok(match code {
        1 | 2 => FieldType::Bool,
        3 => FieldType::Byte,
        4 => FieldType::I16,
        5 => FieldType::I32,
        6 => FieldType::I64,
        7 => FieldType::Double,
        8 => FieldType::Binary,
        9 => FieldType::List,
        10 => FieldType::Set,
        11 => FieldType::Map,
        12 => FieldType::Struct,
        other => return Err(ThriftError::UnknownType(other)),
    })
}

impl Protocol for CompactProtocol<'_> {
    fn read_message_begin(&mut self) -> Result<MessageHeader, ThriftError> {
        let protocol = self.reader.byte()?;
        if protocol != PROTOCOL_ID {
            return Err(ThriftError::Version(u32::from(protocol)));
        }
        let version_and_type = self.reader.byte()?;
        if version_and_type & 0x1f != VERSION {
            return Err(ThriftError::Version(u32::from(version_and_type & 0x1f)));
        }
        self.varint()?;
        let name = self.read_string()?;
        Ok(MessageHeader {
            name,
            kind: (version_and_type >> 5) & 0x07,
        })
    }

    fn read_struct_begin(&mut self) {
        self.last_field_ids.push(self.last_field_id);
        self.last_field_id = 0;
    }

    fn read_struct_end(&mut self) {
        self.last_field_id = self.last_field_ids.pop().unwrap_or(0);
    }

    fn read_field_begin(&mut self) -> Result<Option<(FieldType, i16)>, ThriftError> {
        let header = self.reader.byte()?;
        if header == 0 {
            return Ok(None);
        }
        let code = header & 0x0f;
        let field_type = field_type(code)?;
        let delta = header >> 4;
        let id = if delta == 0 {
            // Out-of-range ids wrap, as an i16 read would: they only fail to match.
            self.zigzag()? as i16
        } else {
            self.last_field_id.wrapping_add(i16::from(delta))
        };
        self.last_field_id = id;
        self.pending_bool = (field_type == FieldType::Bool).then_some(code == 1);
        Ok(Some((field_type, id)))
    }

    fn read_bool(&mut self) -> Result<bool, ThriftError> {
        match self.pending_bool.take() {
            Some(value) => Ok(value),
            None => Ok(self.reader.byte()? == 1),
        }
    }

    fn read_byte(&mut self) -> Result<u8, ThriftError> {
        self.reader.byte()
    }

    fn read_i16(&mut self) -> Result<i16, ThriftError> {
        Ok(self.zigzag()? as i16)
    }

    fn read_i32(&mut self) -> Result<i32, ThriftError> {
        Ok(self.zigzag()? as i32)
    }

    fn read_i64(&mut self) -> Result<i64, ThriftError> {
        self.zigzag()
    }

    fn read_double(&mut self) -> Result<f64, ThriftError> {
        Ok(f64::from_bits(u64::from_le_bytes(self.reader.array()?)))
    }

    fn read_binary(&mut self) -> Result<&[u8], ThriftError> {
        let length = self.varint()?;
        let length = self
            .reader
            .length(i64::try_from(length).unwrap_or(i64::MAX), 1)?;
        self.reader.take(length)
    }

    fn read_list_begin(&mut self) -> Result<(FieldType, usize), ThriftError> {
        let header = self.reader.byte()?;
        let element = field_type(header & 0x0f)?;
        let short_length = header >> 4;
        let length = if short_length == 15 {
            i64::try_from(self.varint()?).unwrap_or(i64::MAX)
        } else {
            i64::from(short_length)
        };
        Ok((element, self.reader.length(length, 1)?))
    }

    fn read_map_begin(&mut self) -> Result<(usize, Option<(FieldType, FieldType)>), ThriftError> {
        let length = i64::try_from(self.varint()?).unwrap_or(i64::MAX);
        let length = self.reader.length(length, 2)?;
        if length == 0 {
            return Ok((0, None));
        }
        let types = self.reader.byte()?;
        Ok((
            length,
            Some((field_type(types >> 4)?, field_type(types & 0x0f)?)),
        ))
    }
}
