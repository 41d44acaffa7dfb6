//! A processor's edit records: 24 bytes each.
//!
//! | bytes | field |
//! |---|---|
//! | 0 | `op` (see [`op`]) |
//! | 1 | value kind (`str`, `int`, `double`, `boolean`), for ops that carry a value |
//! | 2..4 | zero |
//! | 4..8 | `target`: an attribute row, a span index or a global event index (`u32`) |
//! | 8..16 | `key`: string reference (only `add-span-attribute`) |
//! | 16..24 | `value`: as an attribute table's value column |

use crate::{LayoutError, StrRef};

pub const EDIT_RECORD_BYTES: usize = 24;

/// Edit operations. `target` is an attribute row of the named table for the
/// `*_ATTRIBUTE` ops except `ADD_SPAN_ATTRIBUTE` (a span index), a span index for
/// `SET_NAME`, `SET_STATUS_MESSAGE` and `DROP_SPAN`, a global event index for
/// `SET_EVENT_NAME`.
pub mod op {
    pub const SET_SPAN_ATTRIBUTE: u8 = 1;
    pub const REMOVE_SPAN_ATTRIBUTE: u8 = 2;
    pub const ADD_SPAN_ATTRIBUTE: u8 = 3;
    pub const SET_RESOURCE_ATTRIBUTE: u8 = 4;
    pub const REMOVE_RESOURCE_ATTRIBUTE: u8 = 5;
    pub const SET_EVENT_ATTRIBUTE: u8 = 6;
    pub const REMOVE_EVENT_ATTRIBUTE: u8 = 7;
    pub const SET_LINK_ATTRIBUTE: u8 = 8;
    pub const REMOVE_LINK_ATTRIBUTE: u8 = 9;
    /// Value: the new name (a `str`).
    pub const SET_NAME: u8 = 10;
    /// Value: the new message (a `str`).
    pub const SET_STATUS_MESSAGE: u8 = 11;
    /// Value: the new event name (a `str`).
    pub const SET_EVENT_NAME: u8 = 12;
    pub const DROP_SPAN: u8 = 13;

    /// The op's name as the contract spells it (for error messages); `None` for a code
    /// that is no op.
    pub fn name(code: u8) -> Option<&'static str> {
        Some(match code {
            SET_SPAN_ATTRIBUTE => "set-span-attribute",
            REMOVE_SPAN_ATTRIBUTE => "remove-span-attribute",
            ADD_SPAN_ATTRIBUTE => "add-span-attribute",
            SET_RESOURCE_ATTRIBUTE => "set-resource-attribute",
            REMOVE_RESOURCE_ATTRIBUTE => "remove-resource-attribute",
            SET_EVENT_ATTRIBUTE => "set-event-attribute",
            REMOVE_EVENT_ATTRIBUTE => "remove-event-attribute",
            SET_LINK_ATTRIBUTE => "set-link-attribute",
            REMOVE_LINK_ATTRIBUTE => "remove-link-attribute",
            SET_NAME => "set-name",
            SET_STATUS_MESSAGE => "set-status-message",
            SET_EVENT_NAME => "set-event-name",
            DROP_SPAN => "drop-span",
            _ => return None,
        })
    }
}

/// One edit record, decoded.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EditRecord {
    pub op: u8,
    pub kind: u8,
    pub target: u32,
    pub key: StrRef,
    pub value: u64,
}

impl EditRecord {
    pub fn encode(&self, out: &mut Vec<u8>) {
        let mut record = [0u8; EDIT_RECORD_BYTES];
        record[0] = self.op;
        record[1] = self.kind;
        record[4..8].copy_from_slice(&self.target.to_le_bytes());
        record[8..16].copy_from_slice(&self.key.to_u64().to_le_bytes());
        record[16..24].copy_from_slice(&self.value.to_le_bytes());
        out.extend_from_slice(&record);
    }

    pub fn decode(record: &[u8; EDIT_RECORD_BYTES]) -> Self {
        let word = |range: std::ops::Range<usize>| {
            u64::from_le_bytes(record[range].try_into().expect("8 bytes"))
        };
        EditRecord {
            op: record[0],
            kind: record[1],
            target: u32::from_le_bytes(record[4..8].try_into().expect("4 bytes")),
            key: StrRef::from_u64(word(8..16)),
            value: word(16..24),
        }
    }
}

/// The records of an `edits.records` buffer.
#[derive(Clone, Debug)]
pub struct EditRecords<'a> {
    chunks: std::slice::ChunksExact<'a, u8>,
}

impl<'a> EditRecords<'a> {
    pub fn parse(records: &'a [u8]) -> Result<Self, LayoutError> {
        if !records.len().is_multiple_of(EDIT_RECORD_BYTES) {
            return Err(LayoutError::RaggedEdits { len: records.len() });
        }
        Ok(EditRecords {
            chunks: records.chunks_exact(EDIT_RECORD_BYTES),
        })
    }
}

impl Iterator for EditRecords<'_> {
    type Item = EditRecord;

    fn next(&mut self) -> Option<EditRecord> {
        let chunk = self.chunks.next()?;
        Some(EditRecord::decode(chunk.try_into().expect("exact chunk")))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.chunks.size_hint()
    }
}

impl ExactSizeIterator for EditRecords<'_> {}
