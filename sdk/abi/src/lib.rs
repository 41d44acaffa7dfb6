//! The byte layout of `spangate:plugin@0.2.0` (`wit/plugin.wit`): the batch a plugin
//! reads (`span-batch`: a column buffer and a string arena) and the edit records a
//! processor returns (`edits`). The host (`gateway/src/plugin`) and the Rust SDK
//! (`sdk/`) both build and read these buffers through this crate, so they cannot
//! drift apart; plugins in other languages implement the same layout from
//! `wit/README.md` ("Batch layout", "Edit records").
//!
//! Everything is little-endian. A *string reference* is 8 bytes: a `u32` byte offset
//! into the string arena, then a `u32` byte length; read as one `u64` it is
//! `offset | length << 32`.

mod batch;
mod edits;

pub use batch::{BatchBuilder, BatchView, column};
pub use edits::{EDIT_RECORD_BYTES, EditRecord, EditRecords, op};

/// The version of the WIT package whose layout this is.
pub const WIT_VERSION: &str = "0.2.0";

/// Byte values of an attribute table's `kind` column and of an edit record's value
/// kind (the WIT `value-kind` cases, in order).
pub mod value_kind {
    pub const STR: u8 = 0;
    pub const INT: u8 = 1;
    pub const DOUBLE: u8 = 2;
    pub const BOOL: u8 = 3;
    /// Non-scalar values (arrays, maps, bytes) as JSON text; never an edit's value.
    pub const JSON: u8 = 4;
}

/// A string reference: `len` bytes at `offset` in a string arena.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct StrRef {
    pub offset: u32,
    pub len: u32,
}

impl StrRef {
    /// The reference as its 8 bytes read as one `u64`.
    #[inline]
    pub fn to_u64(self) -> u64 {
        u64::from(self.offset) | u64::from(self.len) << 32
    }

    #[inline]
    pub fn from_u64(word: u64) -> Self {
        StrRef {
            offset: word as u32,
            len: (word >> 32) as u32,
        }
    }

    /// The referenced bytes of `arena`, or `None` when they lie outside it.
    #[inline]
    pub fn get(self, arena: &[u8]) -> Option<&[u8]> {
        let start = self.offset as usize;
        arena.get(start..start.checked_add(self.len as usize)?)
    }
}

/// Appends `text` to a string arena and returns its reference. Arenas hold at most
/// 4 GiB; callers bound their batches far below that.
#[inline]
pub fn push_string(arena: &mut Vec<u8>, text: &[u8]) -> StrRef {
    let reference = StrRef {
        offset: to_u32(arena.len()),
        len: to_u32(text.len()),
    };
    arena.extend_from_slice(text);
    reference
}

fn to_u32(length: usize) -> u32 {
    u32::try_from(length).unwrap_or(u32::MAX)
}

/// A buffer that does not follow the layout.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LayoutError {
    #[error("the column buffer is {len} bytes, shorter than its {needed}-byte directory")]
    ShortDirectory { len: usize, needed: usize },
    #[error(
        "column {column} ({name}) claims {count} elements of {width} bytes at offset \
         {offset}, outside the {len}-byte column buffer"
    )]
    ColumnOutOfRange {
        column: usize,
        name: &'static str,
        offset: u32,
        count: u32,
        width: usize,
        len: usize,
    },
    #[error("column {column} ({name}) starts at offset {offset}, not a multiple of 8")]
    Misaligned {
        column: usize,
        name: &'static str,
        offset: u32,
    },
    #[error("the edit records are {len} bytes, not a multiple of {EDIT_RECORD_BYTES}")]
    RaggedEdits { len: usize },
}

#[cfg(test)]
mod tests;
