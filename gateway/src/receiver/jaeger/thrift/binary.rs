//! Thrift's binary protocol: big-endian fixed-width integers, `i32` lengths.

use super::reader::Reader;
use super::{FieldType, MessageHeader, Protocol, ThriftError};

const VERSION_MASK: u32 = 0xffff_0000;
const VERSION_1: u32 = 0x8001_0000;

pub(in crate::receiver::jaeger) struct BinaryProtocol<'a> {
    reader: Reader<'a>,
}

impl<'a> BinaryProtocol<'a> {
    pub(in crate::receiver::jaeger) fn new(input: &'a [u8]) -> BinaryProtocol<'a> {
        BinaryProtocol {
            reader: Reader::new(input),
        }
    }
}

fn field_type(code: u8) -> Result<FieldType, ThriftError> {
    Ok(match code {
        2 => FieldType::Bool,
        3 => FieldType::Byte,
        4 => FieldType::Double,
        6 => FieldType::I16,
        8 => FieldType::I32,
        10 => FieldType::I64,
        11 => FieldType::Binary,
        12 => FieldType::Struct,
        13 => FieldType::Map,
        14 => FieldType::Set,
        15 => FieldType::List,
        other => return Err(ThriftError::UnknownType(other)),
    })
}

impl Protocol for BinaryProtocol<'_> {
    fn read_message_begin(&mut self) -> Result<MessageHeader, ThriftError> {
        let first = self.read_i32()?;
        if first < 0 {
            // Strict: version and type, then the name and the sequence id.
            let word = first as u32;
            if word & VERSION_MASK != VERSION_1 {
                return Err(ThriftError::Version(word & VERSION_MASK));
            }
            let name = self.read_string()?;
            self.read_i32()?;
            Ok(MessageHeader {
                name,
                kind: (word & 0xff) as u8,
            })
        } else {
            // Old style: the name's length came first, then the name, type, sequence id.
            let length = self.reader.length(i64::from(first), 1)?;
            let name = String::from_utf8_lossy(self.reader.take(length)?).into_owned();
            let kind = self.read_byte()?;
            self.read_i32()?;
            Ok(MessageHeader { name, kind })
        }
    }

    fn read_struct_begin(&mut self) {}

    fn read_struct_end(&mut self) {}

    fn read_field_begin(&mut self) -> Result<Option<(FieldType, i16)>, ThriftError> {
        let code = self.reader.byte()?;
        if code == 0 {
            return Ok(None);
        }
        let field_type = field_type(code)?;
        Ok(Some((field_type, self.read_i16()?)))
    }

    fn read_bool(&mut self) -> Result<bool, ThriftError> {
        Ok(self.reader.byte()? != 0)
    }

    fn read_byte(&mut self) -> Result<u8, ThriftError> {
        self.reader.byte()
    }

    fn read_i16(&mut self) -> Result<i16, ThriftError> {
        Ok(i16::from_be_bytes(self.reader.array()?))
    }

    fn read_i32(&mut self) -> Result<i32, ThriftError> {
        Ok(i32::from_be_bytes(self.reader.array()?))
    }

    fn read_i64(&mut self) -> Result<i64, ThriftError> {
        Ok(i64::from_be_bytes(self.reader.array()?))
    }

    fn read_double(&mut self) -> Result<f64, ThriftError> {
        Ok(f64::from_bits(u64::from_be_bytes(self.reader.array()?)))
    }

    fn read_binary(&mut self) -> Result<&[u8], ThriftError> {
        let length = self.read_i32()?;
        let length = self.reader.length(i64::from(length), 1)?;
        self.reader.take(length)
    }

    fn read_list_begin(&mut self) -> Result<(FieldType, usize), ThriftError> {
        let element = field_type(self.reader.byte()?)?;
        let length = self.read_i32()?;
        Ok((element, self.reader.length(i64::from(length), 1)?))
    }

    fn read_map_begin(&mut self) -> Result<(usize, Option<(FieldType, FieldType)>), ThriftError> {
        let key = field_type(self.reader.byte()?)?;
        let value = field_type(self.reader.byte()?)?;
        let length = self.read_i32()?;
        Ok((
            self.reader.length(i64::from(length), 2)?,
            Some((key, value)),
        ))
    }
}
