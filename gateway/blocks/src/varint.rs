//! LEB128 varints and zigzag signed integers: the integer encoding of every column.

use crate::BlockError;

pub(crate) fn put(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

pub(crate) fn put_signed(out: &mut Vec<u8>, value: i64) {
    put(out, ((value << 1) ^ (value >> 63)) as u64);
}

/// A cursor over encoded bytes; every read is bounds-checked and a short or
/// over-long input is a [`BlockError::Corrupt`].
#[derive(Debug, Clone)]
pub(crate) struct Reader<'a> {
    bytes: &'a [u8],
    position: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        Reader { bytes, position: 0 }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.position >= self.bytes.len()
    }

    pub(crate) fn get(&mut self) -> Result<u64, BlockError> {
        let mut value = 0u64;
        let mut shift = 0;
        loop {
            let byte = *self
                .bytes
                .get(self.position)
                .ok_or(BlockError::Corrupt("varint past the end"))?;
            self.position += 1;
            if shift == 63 && byte > 1 {
                return Err(BlockError::Corrupt("varint over 64 bits"));
            }
            value |= u64::from(byte & 0x7f) << shift;
            if byte < 0x80 {
                return Ok(value);
            }
            shift += 7;
            if shift > 63 {
                return Err(BlockError::Corrupt("varint over 64 bits"));
            }
        }
    }

    pub(crate) fn get_signed(&mut self) -> Result<i64, BlockError> {
        let raw = self.get()?;
        Ok(((raw >> 1) as i64) ^ -((raw & 1) as i64))
    }

    /// A varint that must fit a `usize` and be at most `max` (a count of things that
    /// follow, checked before anything is allocated for them).
    pub(crate) fn get_len(&mut self, max: usize) -> Result<usize, BlockError> {
        let value = self.get()?;
        usize::try_from(value)
            .ok()
            .filter(|&len| len <= max)
            .ok_or(BlockError::Corrupt("length out of range"))
    }

    pub(crate) fn bytes(&mut self, len: usize) -> Result<&'a [u8], BlockError> {
        let end = self
            .position
            .checked_add(len)
            .filter(|&end| end <= self.bytes.len())
            .ok_or(BlockError::Corrupt("bytes past the end"))?;
        let slice = &self.bytes[self.position..end];
        self.position = end;
        Ok(slice)
    }

    pub(crate) fn byte(&mut self) -> Result<u8, BlockError> {
        Ok(self.bytes(1)?[0])
    }

    pub(crate) fn array<const N: usize>(&mut self) -> Result<[u8; N], BlockError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.bytes(N)?);
        Ok(out)
    }

    /// Bytes not yet read.
    pub(crate) fn remaining(&self) -> usize {
        self.bytes.len().saturating_sub(self.position)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn round_trips(values in proptest::collection::vec(any::<u64>(), 0..50), signed in proptest::collection::vec(any::<i64>(), 0..50)) {
            let mut out = Vec::new();
            for v in &values { put(&mut out, *v); }
            for v in &signed { put_signed(&mut out, *v); }
            let mut reader = Reader::new(&out);
            for v in &values { prop_assert_eq!(reader.get().unwrap(), *v); }
            for v in &signed { prop_assert_eq!(reader.get_signed().unwrap(), *v); }
            prop_assert!(reader.is_empty());
        }

        #[test]
        fn never_panics_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..40)) {
            let mut reader = Reader::new(&bytes);
            while reader.get().is_ok() {}
        }
    }
}
