//! The block's string dictionary: every distinct string of the block (span names,
//! status messages, attribute keys, string attribute values) once, so a string is a
//! small integer in every column and a condition on a string field is decided once per
//! distinct string instead of once per span.

use std::collections::HashMap;
use std::sync::OnceLock;

use crate::BlockError;
use crate::varint::{self, Reader};

/// Collects strings while a block is built; a string's id is its position in
/// insertion order, final from the moment it is handed out (chunks are written before
/// the dictionary, so ids cannot be renumbered afterwards).
#[derive(Debug, Default)]
pub(crate) struct StringsBuilder {
    ids: HashMap<String, u32>,
    strings: Vec<String>,
}

impl StringsBuilder {
    pub(crate) fn id(&mut self, text: &str) -> u32 {
        if let Some(&id) = self.ids.get(text) {
            return id;
        }
        let id = u32::try_from(self.strings.len()).expect("fewer than 2^32 strings per block");
        self.strings.push(text.to_owned());
        self.ids.insert(text.to_owned(), id);
        id
    }

    pub(crate) fn strings(&self) -> &[String] {
        &self.strings
    }
}

/// Encodes the dictionary: count, every length, then the bytes.
pub(crate) fn encode(strings: &[String], out: &mut Vec<u8>) {
    varint::put(out, strings.len() as u64);
    for text in strings {
        varint::put(out, text.len() as u64);
    }
    for text in strings {
        out.extend_from_slice(text.as_bytes());
    }
}

/// A decoded dictionary: one buffer and offsets; strings looked up by id, or by text
/// through a map built on first use.
#[derive(Debug, Default)]
pub struct Strings {
    bytes: String,
    /// `offsets[i]..offsets[i + 1]` is string `i`.
    offsets: Vec<u32>,
    by_text: OnceLock<HashMap<Box<str>, u32>>,
}

impl Strings {
    pub(crate) fn decode(raw: &[u8]) -> Result<Strings, BlockError> {
        let mut reader = Reader::new(raw);
        let count = reader.get_len(raw.len())?;
        let mut offsets = Vec::with_capacity(count + 1);
        let mut total = 0usize;
        offsets.push(0);
        for _ in 0..count {
            total = total
                .checked_add(reader.get_len(raw.len())?)
                .filter(|&t| t <= raw.len() && u32::try_from(t).is_ok())
                .ok_or(BlockError::Corrupt("string lengths"))?;
            offsets.push(total as u32);
        }
        let bytes = reader.bytes(total)?;
        let bytes = std::str::from_utf8(bytes)
            .map_err(|_| BlockError::Corrupt("string dictionary is not UTF-8"))?;
        let strings = Strings {
            bytes: bytes.to_owned(),
            offsets,
            by_text: OnceLock::new(),
        };
        // Every boundary must be a char boundary, or `get` would panic on slicing.
        if !strings
            .offsets
            .iter()
            .all(|&o| strings.bytes.is_char_boundary(o as usize))
        {
            return Err(BlockError::Corrupt("string boundary inside a character"));
        }
        Ok(strings)
    }

    pub fn len(&self) -> usize {
        self.offsets.len().saturating_sub(1)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// String `id`; an id out of range (a corrupt column) reads as an error.
    pub fn get(&self, id: u32) -> Result<&str, BlockError> {
        let id = id as usize;
        match (self.offsets.get(id), self.offsets.get(id + 1)) {
            (Some(&start), Some(&end)) if start <= end => {
                Ok(&self.bytes[start as usize..end as usize])
            }
            _ => Err(BlockError::Corrupt("string id out of range")),
        }
    }

    /// The id of `text`, if the block holds it.
    pub fn find(&self, text: &str) -> Option<u32> {
        self.by_text
            .get_or_init(|| self.iter().map(|(id, s)| (Box::from(s), id)).collect())
            .get(text)
            .copied()
    }

    /// Every string with its id.
    pub fn iter(&self) -> impl Iterator<Item = (u32, &str)> {
        (0..self.len() as u32).filter_map(|id| self.get(id).ok().map(|s| (id, s)))
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn round_trip_and_lookup(words in proptest::collection::vec(".{0,8}", 0..40)) {
            let mut builder = StringsBuilder::default();
            let ids: Vec<u32> = words.iter().map(|w| builder.id(w)).collect();
            let mut raw = Vec::new();
            encode(builder.strings(), &mut raw);
            let strings = Strings::decode(&raw).unwrap();
            for (word, id) in words.iter().zip(ids) {
                prop_assert_eq!(strings.get(id).unwrap(), word.as_str());
                prop_assert_eq!(strings.find(word), Some(id));
            }
            prop_assert_eq!(strings.find("\u{1}not a word"), None);
        }

        #[test]
        fn decode_never_panics(raw in proptest::collection::vec(any::<u8>(), 0..64)) {
            if let Ok(strings) = Strings::decode(&raw) {
                for id in 0..strings.len() as u32 + 2 {
                    let _ = strings.get(id);
                }
            }
        }
    }
}
