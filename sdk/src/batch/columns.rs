//! Reading the wit columns: string columns and attribute columns, by index, never
//! panicking. A malformed column (short offsets, offsets past the bytes, invalid UTF-8)
//! reads as defaults; the host never sends one, so this is about not trapping, not
//! about recovering data.

use super::attributes::Value;
use crate::bindings::types::{AttributeColumns, StringColumn, ValueKind};

/// Whether a string column's bytes are UTF-8, checked once when the batch arrives.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Checked(bool);

impl Checked {
    pub(crate) fn of(column: &StringColumn) -> Self {
        Self(std::str::from_utf8(&column.bytes).is_ok())
    }
}

/// A string column as `&str`s: string i is `text[offsets[i]..offsets[i + 1]]`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Text<'a> {
    text: &'a str,
    offsets: &'a [u32],
}

impl<'a> Text<'a> {
    #[allow(unsafe_code)] // unchecked UTF-8 of a checked column; see SAFETY below
    pub(crate) fn new(column: &'a StringColumn, checked: Checked) -> Self {
        let text = if checked.0 {
            // SAFETY: `checked` comes from `Checked::of` on this very column, which holds
            // only when the bytes are UTF-8; the column is owned by the batch and
            // immutable behind its shared borrow. Slices are taken with `str::get`,
            // which refuses non-boundaries, so no invalid `&str` can be made from it.
            unsafe { std::str::from_utf8_unchecked(&column.bytes) }
        } else {
            ""
        };
        Self {
            text,
            offsets: &column.offsets,
        }
    }

    /// String `index`, or "" when the column is short or malformed there.
    #[inline]
    pub(crate) fn get(self, index: usize) -> &'a str {
        let (Some(&start), Some(&end)) = (self.offsets.get(index), self.offsets.get(index + 1))
        else {
            return "";
        };
        self.text.get(start as usize..end as usize).unwrap_or("")
    }

    /// Number of strings the offsets describe.
    pub(crate) fn len(self) -> u32 {
        u32::try_from(self.offsets.len().saturating_sub(1)).unwrap_or(u32::MAX)
    }
}

/// UTF-8 checks of an attribute-columns' two string columns.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct CheckedAttributes {
    keys: Checked,
    strings: Checked,
}

impl CheckedAttributes {
    pub(crate) fn of(columns: &AttributeColumns) -> Self {
        Self {
            keys: Checked::of(&columns.keys),
            strings: Checked::of(&columns.strings),
        }
    }
}

/// An attribute-columns ready to read: rows, keys and values by row index.
#[derive(Clone, Copy, Debug)]
pub(crate) struct AttributeTable<'a> {
    pub(crate) columns: &'a AttributeColumns,
    keys: Text<'a>,
    strings: Text<'a>,
}

impl<'a> AttributeTable<'a> {
    pub(crate) fn new(columns: &'a AttributeColumns, checked: CheckedAttributes) -> Self {
        Self {
            columns,
            keys: Text::new(&columns.keys, checked.keys),
            strings: Text::new(&columns.strings, checked.strings),
        }
    }

    /// The rows of `owner`, empty when the column was not sent; clamped to the rows
    /// that exist, so a malformed offset cannot make a reader loop over billions.
    #[inline]
    pub(crate) fn rows_of(&self, owner: usize) -> (u32, u32) {
        let rows = u32::try_from(self.columns.key.len()).unwrap_or(u32::MAX);
        clamped_range(&self.columns.owner_offsets, owner, rows)
    }

    /// Number of owners the offsets describe.
    pub(crate) fn owners(&self) -> u32 {
        u32::try_from(self.columns.owner_offsets.len().saturating_sub(1)).unwrap_or(u32::MAX)
    }

    #[inline]
    pub(crate) fn key(&self, row: usize) -> &'a str {
        match self.columns.key.get(row) {
            Some(&key) => self.keys.get(key as usize),
            None => "",
        }
    }

    #[inline]
    pub(crate) fn value(&self, row: usize) -> Value<'a> {
        let columns = self.columns;
        let int = || columns.ints.get(row).copied().unwrap_or(0);
        match columns.kind.get(row) {
            Some(ValueKind::Int) => Value::Int(int()),
            Some(ValueKind::Boolean) => Value::Bool(int() != 0),
            Some(ValueKind::Double) => {
                Value::Double(columns.doubles.get(row).copied().unwrap_or(0.0))
            }
            Some(ValueKind::Json) => Value::Json(self.strings.get(row)),
            Some(ValueKind::Str) | None => Value::Str(self.strings.get(row)),
        }
    }
}

/// `offsets[owner]..offsets[owner + 1]` cut to `0..limit`; empty when absent or
/// decreasing.
#[inline]
pub(crate) fn clamped_range(offsets: &[u32], owner: usize, limit: u32) -> (u32, u32) {
    match (offsets.get(owner), offsets.get(owner + 1)) {
        (Some(&start), Some(&end)) if start <= end => (start.min(limit), end.min(limit)),
        _ => (0, 0),
    }
}
