//! The column buffer of a batch, read by element: the directory is checked once when the
//! batch arrives ([`Directory::parse`]); reads past a column's end give `None`, so a
//! short or absent column reads as defaults instead of trapping.

use std::ops::Range;

use spangate_plugin_abi::{BatchView, LayoutError, column};

/// Each column's byte range in the column buffer, checked against it.
#[derive(Clone, Debug)]
pub(crate) struct Directory {
    ranges: [Range<usize>; column::COUNT],
}

impl Directory {
    pub(crate) fn parse(columns: &[u8], strings: &[u8]) -> Result<Self, LayoutError> {
        let view = BatchView::parse(columns, strings)?;
        Ok(Directory {
            ranges: std::array::from_fn(|column| view.byte_range(column)),
        })
    }
}

/// The column buffer with its directory.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Columns<'a> {
    buffer: &'a [u8],
    directory: &'a Directory,
}

impl<'a> Columns<'a> {
    pub(crate) fn new(buffer: &'a [u8], directory: &'a Directory) -> Self {
        Columns { buffer, directory }
    }

    /// The bytes of `column`.
    #[inline]
    pub(crate) fn bytes(self, column: usize) -> &'a [u8] {
        // Checked at parse against this very buffer; `get` keeps a mismatch from trapping.
        self.buffer
            .get(self.directory.ranges[column].clone())
            .unwrap_or_default()
    }

    /// Elements in `column`.
    #[inline]
    pub(crate) fn count(self, column: usize) -> usize {
        self.directory.ranges[column].len() / column::WIDTHS[column]
    }

    #[inline]
    fn element<const WIDTH: usize>(self, column: usize, index: usize) -> Option<[u8; WIDTH]> {
        let start = index.checked_mul(WIDTH)?;
        self.bytes(column).get(start..)?.first_chunk().copied()
    }

    #[inline]
    pub(crate) fn u8_at(self, column: usize, index: usize) -> Option<u8> {
        self.bytes(column).get(index).copied()
    }

    #[inline]
    pub(crate) fn u32_at(self, column: usize, index: usize) -> Option<u32> {
        self.element(column, index).map(u32::from_le_bytes)
    }

    #[inline]
    pub(crate) fn u64_at(self, column: usize, index: usize) -> Option<u64> {
        self.element(column, index).map(u64::from_le_bytes)
    }

    /// An id element as on the wire (16 bytes for trace ids, 8 for span ids).
    #[inline]
    pub(crate) fn id_at<const WIDTH: usize>(
        self,
        column: usize,
        index: usize,
    ) -> Option<[u8; WIDTH]> {
        self.element(column, index)
    }

    /// `offsets[index]..offsets[index + 1]` of an offsets column, cut to `0..limit`, so a
    /// malformed offset cannot make a reader loop over billions; empty when absent or
    /// decreasing.
    #[inline]
    pub(crate) fn range_at(self, column: usize, index: usize, limit: u32) -> Range<u32> {
        match (
            self.u32_at(column, index),
            index
                .checked_add(1)
                .and_then(|next| self.u32_at(column, next)),
        ) {
            (Some(start), Some(end)) if start <= end => start.min(limit)..end.min(limit),
            _ => 0..0,
        }
    }
}
