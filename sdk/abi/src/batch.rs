//! The `span-batch` buffers: a directory of 36 `(offset, count)` entries, then the
//! columns, each starting at a multiple of 8.

use crate::{LayoutError, StrRef, push_string};

/// Column numbers (directory positions) and their element widths.
pub mod column {
    /// 16 bytes per span: the trace id as on the wire.
    pub const TRACE_ID: usize = 0;
    /// 8 bytes per span: the span id as on the wire.
    pub const SPAN_ID: usize = 1;
    /// 8 bytes per span: the parent span id, zeros for a root span.
    pub const PARENT_SPAN_ID: usize = 2;
    /// `u32` per span: index into `SERVICES`.
    pub const SERVICE: usize = 3;
    /// String reference per span.
    pub const NAME: usize = 4;
    /// `u8` per span: the WIT `span-kind` case index.
    pub const KIND: usize = 5;
    /// `u8` per span: the WIT `status-code` case index.
    pub const STATUS: usize = 6;
    /// `u64` per span, Unix nanoseconds.
    pub const START: usize = 7;
    /// `u64` per span, Unix nanoseconds.
    pub const END: usize = 8;
    /// String reference per span.
    pub const STATUS_MESSAGE: usize = 9;
    /// `u32` per span: the span's encoded size in bytes.
    pub const SIZE: usize = 10;
    /// `u32` per span: index of its resource, the owner in the resource attribute table.
    pub const RESOURCE: usize = 11;
    /// `u32`, spans + 1 entries: span i's events are `[i]..[i + 1]` (global indexes).
    pub const EVENT_OFFSETS: usize = 12;
    /// String reference per event.
    pub const EVENT_NAMES: usize = 13;
    /// `u32`, spans + 1 entries: span i's links are `[i]..[i + 1]`.
    pub const LINK_OFFSETS: usize = 14;
    /// String reference per distinct service name of the batch.
    pub const SERVICES: usize = 15;

    /// First column of the four attribute tables, five columns each, in this order:
    /// span, resource, event, link attributes.
    pub const ATTRIBUTE_TABLES: usize = 16;
    /// Table of span attributes (owners: spans).
    pub const SPAN_ATTRIBUTES: usize = ATTRIBUTE_TABLES;
    /// Table of resource attributes (owners: resources).
    pub const RESOURCE_ATTRIBUTES: usize = ATTRIBUTE_TABLES + TABLE_COLUMNS;
    /// Table of event attributes (owners: events).
    pub const EVENT_ATTRIBUTES: usize = ATTRIBUTE_TABLES + 2 * TABLE_COLUMNS;
    /// Table of link attributes (owners: links).
    pub const LINK_ATTRIBUTES: usize = ATTRIBUTE_TABLES + 3 * TABLE_COLUMNS;

    /// Offsets within a table. `u32`, owners + 1 entries: owner o's rows are
    /// `[o]..[o + 1]`.
    pub const OWNER_OFFSETS: usize = 0;
    /// `u32` per row: index into the table's `KEYS`.
    pub const KEY: usize = 1;
    /// `u8` per row: the WIT `value-kind` case index.
    pub const VALUE_KIND: usize = 2;
    /// 8 bytes per row: a string reference (`str`, `json`), an `i64` (`int`), an
    /// `f64`'s bits (`double`) or 0 / 1 (`boolean`).
    pub const VALUE: usize = 3;
    /// String reference per distinct key of the table.
    pub const KEYS: usize = 4;
    pub const TABLE_COLUMNS: usize = 5;

    /// Columns in the directory.
    pub const COUNT: usize = ATTRIBUTE_TABLES + 4 * TABLE_COLUMNS;
    /// Bytes of the directory: an `(offset: u32, count: u32)` pair per column.
    pub const DIRECTORY_BYTES: usize = COUNT * 8;

    /// Element width in bytes of each column.
    pub const WIDTHS: [usize; COUNT] = {
        let mut widths = [0; COUNT];
        let fixed = [16, 8, 8, 4, 8, 1, 1, 8, 8, 8, 4, 4, 4, 8, 4, 8];
        let mut i = 0;
        while i < ATTRIBUTE_TABLES {
            widths[i] = fixed[i];
            i += 1;
        }
        let table = [4, 4, 1, 8, 8];
        let mut t = 0;
        while t < 4 * TABLE_COLUMNS {
            widths[ATTRIBUTE_TABLES + t] = table[t % TABLE_COLUMNS];
            t += 1;
        }
        widths
    };

    /// Column names as the documentation spells them (for error messages).
    pub const NAMES: [&str; COUNT] = [
        "trace-id",
        "span-id",
        "parent-span-id",
        "service",
        "name",
        "kind",
        "status",
        "start",
        "end",
        "status-message",
        "size",
        "resource",
        "event-offsets",
        "event-names",
        "link-offsets",
        "services",
        "span-attributes.owner-offsets",
        "span-attributes.key",
        "span-attributes.value-kind",
        "span-attributes.value",
        "span-attributes.keys",
        "resource-attributes.owner-offsets",
        "resource-attributes.key",
        "resource-attributes.value-kind",
        "resource-attributes.value",
        "resource-attributes.keys",
        "event-attributes.owner-offsets",
        "event-attributes.key",
        "event-attributes.value-kind",
        "event-attributes.value",
        "event-attributes.keys",
        "link-attributes.owner-offsets",
        "link-attributes.key",
        "link-attributes.value-kind",
        "link-attributes.value",
        "link-attributes.keys",
    ];
}

/// Builds a batch column by column: push elements to any column in any order, then
/// `write_columns` lays the directory and the columns out. Buffers are kept across
/// `clear`, so a builder reused per batch stops allocating once warm.
#[derive(Debug, Clone)]
pub struct BatchBuilder {
    columns: [Vec<u8>; column::COUNT],
    /// The string arena (`span-batch.strings`).
    pub strings: Vec<u8>,
}

impl Default for BatchBuilder {
    fn default() -> Self {
        BatchBuilder {
            columns: std::array::from_fn(|_| Vec::new()),
            strings: Vec::new(),
        }
    }
}

impl BatchBuilder {
    pub fn clear(&mut self) {
        for column in &mut self.columns {
            column.clear();
        }
        self.strings.clear();
    }

    /// Elements pushed to `column` so far.
    #[inline]
    pub fn count(&self, column: usize) -> usize {
        self.columns[column].len() / column::WIDTHS[column]
    }

    /// The raw bytes of a column (to patch an element in place, e.g. an offset).
    #[inline]
    pub fn column_mut(&mut self, column: usize) -> &mut Vec<u8> {
        &mut self.columns[column]
    }

    #[inline]
    pub fn push_u8(&mut self, column: usize, value: u8) {
        debug_assert_eq!(column::WIDTHS[column], 1);
        self.columns[column].push(value);
    }

    #[inline]
    pub fn push_u32(&mut self, column: usize, value: u32) {
        debug_assert_eq!(column::WIDTHS[column], 4);
        self.columns[column].extend_from_slice(&value.to_le_bytes());
    }

    #[inline]
    pub fn push_u64(&mut self, column: usize, value: u64) {
        debug_assert_eq!(column::WIDTHS[column], 8);
        self.columns[column].extend_from_slice(&value.to_le_bytes());
    }

    /// Pushes an id (16 or 8 bytes) as on the wire; a shorter or longer id is cut or
    /// zero-padded to the column's width.
    #[inline]
    pub fn push_id(&mut self, column: usize, id: &[u8]) {
        let width = column::WIDTHS[column];
        let target = &mut self.columns[column];
        let kept = id.len().min(width);
        target.extend_from_slice(&id[..kept]);
        target.resize(target.len() + width - kept, 0);
    }

    /// Appends `text` to the arena and pushes its reference.
    #[inline]
    pub fn push_str(&mut self, column: usize, text: &[u8]) {
        let reference = push_string(&mut self.strings, text);
        self.push_u64(column, reference.to_u64());
    }

    /// Writes the directory and every column into `out` (cleared first).
    pub fn write_columns(&self, out: &mut Vec<u8>) {
        out.clear();
        let body: usize = self
            .columns
            .iter()
            .map(|c| c.len().next_multiple_of(8))
            .sum();
        out.reserve(column::DIRECTORY_BYTES + body);
        out.resize(column::DIRECTORY_BYTES, 0);
        for (index, bytes) in self.columns.iter().enumerate() {
            let count = bytes.len() / column::WIDTHS[index];
            if count == 0 {
                continue;
            }
            let offset = u32::try_from(out.len()).unwrap_or(u32::MAX);
            let entry = &mut out[index * 8..index * 8 + 8];
            entry[..4].copy_from_slice(&offset.to_le_bytes());
            entry[4..].copy_from_slice(&(count as u32).to_le_bytes());
            out.extend_from_slice(bytes);
            out.resize(out.len().next_multiple_of(8), 0);
        }
    }
}

/// A batch read through its directory, every column range checked once at `parse`.
/// Accessors past a column's end return `None`.
#[derive(Debug, Clone, Copy)]
pub struct BatchView<'a> {
    columns: &'a [u8],
    strings: &'a [u8],
    ranges: [(u32, u32); column::COUNT],
}

impl<'a> BatchView<'a> {
    pub fn parse(columns: &'a [u8], strings: &'a [u8]) -> Result<Self, LayoutError> {
        if columns.len() < column::DIRECTORY_BYTES {
            return Err(LayoutError::ShortDirectory {
                len: columns.len(),
                needed: column::DIRECTORY_BYTES,
            });
        }
        let mut ranges = [(0, 0); column::COUNT];
        for (index, range) in ranges.iter_mut().enumerate() {
            let entry = &columns[index * 8..index * 8 + 8];
            let offset = u32::from_le_bytes(entry[..4].try_into().expect("4 bytes"));
            let count = u32::from_le_bytes(entry[4..].try_into().expect("4 bytes"));
            if count == 0 {
                continue;
            }
            let width = column::WIDTHS[index];
            let end = (count as usize)
                .checked_mul(width)
                .and_then(|bytes| bytes.checked_add(offset as usize));
            if end.is_none_or(|end| end > columns.len()) {
                return Err(LayoutError::ColumnOutOfRange {
                    column: index,
                    name: column::NAMES[index],
                    offset,
                    count,
                    width,
                    len: columns.len(),
                });
            }
            if offset % 8 != 0 {
                return Err(LayoutError::Misaligned {
                    column: index,
                    name: column::NAMES[index],
                    offset,
                });
            }
            *range = (offset, count);
        }
        Ok(BatchView {
            columns,
            strings,
            ranges,
        })
    }

    /// Elements in `column` (0 when absent).
    #[inline]
    pub fn count(&self, column: usize) -> usize {
        self.ranges[column].1 as usize
    }

    /// The bytes of `column`.
    #[inline]
    pub fn column(&self, column: usize) -> &'a [u8] {
        // In range: checked at parse.
        &self.columns[self.byte_range(column)]
    }

    /// Where `column` lies in the column buffer, in bytes (empty when absent): lets a
    /// reader that owns the buffers keep the checked directory without the borrow.
    #[inline]
    pub fn byte_range(&self, column: usize) -> std::ops::Range<usize> {
        let (offset, count) = self.ranges[column];
        let start = offset as usize;
        start..start + count as usize * column::WIDTHS[column]
    }

    /// The string arena.
    #[inline]
    pub fn strings(&self) -> &'a [u8] {
        self.strings
    }

    #[inline]
    fn element(&self, column: usize, index: usize) -> Option<&'a [u8]> {
        let width = column::WIDTHS[column];
        let start = index.checked_mul(width)?;
        self.column(column).get(start..start + width)
    }

    #[inline]
    pub fn u8_at(&self, column: usize, index: usize) -> Option<u8> {
        self.column(column).get(index).copied()
    }

    #[inline]
    pub fn u32_at(&self, column: usize, index: usize) -> Option<u32> {
        let bytes = self.element(column, index)?;
        Some(u32::from_le_bytes(bytes.try_into().ok()?))
    }

    #[inline]
    pub fn u64_at(&self, column: usize, index: usize) -> Option<u64> {
        let bytes = self.element(column, index)?;
        Some(u64::from_le_bytes(bytes.try_into().ok()?))
    }

    /// An id element (16 or 8 bytes) as on the wire.
    #[inline]
    pub fn id_at(&self, column: usize, index: usize) -> Option<&'a [u8]> {
        self.element(column, index)
    }

    /// The bytes a string-reference element points to; `None` past the column's end
    /// or when the reference lies outside the arena.
    #[inline]
    pub fn str_at(&self, column: usize, index: usize) -> Option<&'a [u8]> {
        StrRef::from_u64(self.u64_at(column, index)?).get(self.strings)
    }

    /// `[offsets[index], offsets[index + 1])` of an offsets column (events, links,
    /// attribute owners), or `None` when out of range or decreasing.
    #[inline]
    pub fn range_at(&self, column: usize, index: usize) -> Option<(u32, u32)> {
        let start = self.u32_at(column, index)?;
        let end = self.u32_at(column, index + 1)?;
        (start <= end).then_some((start, end))
    }
}
