//! A cursor over the input that never reads past its end.

use super::ThriftError;

pub(super) struct Reader<'a> {
    input: &'a [u8],
    offset: usize,
}

impl<'a> Reader<'a> {
    pub(super) fn new(input: &'a [u8]) -> Reader<'a> {
        Reader { input, offset: 0 }
    }

    pub(super) fn offset(&self) -> usize {
        self.offset
    }

    pub(super) fn left(&self) -> usize {
        self.input.len() - self.offset
    }

    pub(super) fn take(&mut self, count: usize) -> Result<&'a [u8], ThriftError> {
        if count > self.left() {
            return Err(ThriftError::Truncated {
                offset: self.offset,
                needed: count - self.left(),
            });
        }
        let bytes = &self.input[self.offset..self.offset + count];
        self.offset += count;
        Ok(bytes)
    }

    pub(super) fn array<const N: usize>(&mut self) -> Result<[u8; N], ThriftError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    pub(super) fn byte(&mut self) -> Result<u8, ThriftError> {
        Ok(self.array::<1>()?[0])
    }

    /// A length read from the input, checked to fit in what is left, where each of its
    /// units takes at least `unit` bytes.
    pub(super) fn length(&self, length: i64, unit: usize) -> Result<usize, ThriftError> {
        let error = ThriftError::Length {
            offset: self.offset,
            length,
            left: self.left(),
        };
        let length = usize::try_from(length).map_err(|_| error.clone())?;
        if length.saturating_mul(unit) > self.left() {
            return Err(error);
        }
        Ok(length)
    }
}
