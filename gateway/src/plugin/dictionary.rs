//! Per-batch dictionaries of a batch's strings that repeat: attribute keys (one
//! dictionary per attribute table) and service names. A row or span carries the
//! entry's index; the entry's text is in the string arena once.

use std::collections::HashMap;

use spangate_plugin_abi::{BatchBuilder, StrRef, push_string};

use super::convert::FastHash;

/// Index of the batch's entry for `service` in column `services`, adding it if new. A
/// batch has few distinct services (one per resource at most), so a scan beats hashing.
pub(super) fn service_index(
    known: &mut Vec<StrRef>,
    builder: &mut BatchBuilder,
    services: usize,
    service: &str,
) -> u32 {
    if let Some(index) = known
        .iter()
        .position(|reference| reference.get(&builder.strings) == Some(service.as_bytes()))
    {
        return index as u32;
    }
    let reference = push_string(&mut builder.strings, service.as_bytes());
    builder.push_u64(services, reference.to_u64());
    known.push(reference);
    (known.len() - 1) as u32
}

/// Attribute key → id within the current batch, for one attribute table. Keys are kept
/// across batches (tagged with the batch generation) so a key is hashed but not
/// allocated once it is known.
#[derive(Default)]
pub(super) struct KeyDictionary {
    ids: HashMap<Box<str>, KeyEntry, FastHash>,
    generation: u32,
    /// Where each id's key is in this batch's string arena.
    references: Vec<StrRef>,
    /// For a `keys` selection: declared position → id in this batch (`NO_ID` if unseen).
    declared_ids: Vec<u32>,
    /// Key id → id of the key that last followed it in an owner (`first` for the
    /// start of an owner). Owners of one shape (spans of one kind of operation) list
    /// the same keys in the same order, so one comparison with the predicted key
    /// replaces hashing it, even when an optional attribute shifts the positions.
    successors: Vec<u32>,
    first: u32,
    /// Attribute position within its owner → id of the key last seen there: the
    /// fallback prediction when the successor guess missed.
    recent_ids: Vec<u32>,
}

#[derive(Clone, Copy)]
struct KeyEntry {
    generation: u32,
    id: u32,
}

pub(super) const NO_ID: u32 = u32::MAX;
/// Attributes past this position in their owner always go through the hash map.
const MAX_RECENT_POSITIONS: usize = 64;
/// Attribute keys with unbounded cardinality must not grow the dictionary forever.
const MAX_REMEMBERED_KEYS: usize = 16 * 1024;

/// Where a dictionary writes its entries: the builder and the table's `keys` column.
pub(super) struct KeysColumn<'a> {
    pub(super) builder: &'a mut BatchBuilder,
    pub(super) column: usize,
}

impl KeyDictionary {
    /// Starts a batch; `declared_keys` is the length of a `keys` selection (else 0).
    pub(super) fn begin(&mut self, declared_keys: usize) {
        self.generation = self.generation.wrapping_add(1);
        if self.generation == 0 || self.ids.len() > MAX_REMEMBERED_KEYS {
            self.ids.clear();
            self.generation = 1;
        }
        self.references.clear();
        self.declared_ids.clear();
        self.declared_ids.resize(declared_keys, NO_ID);
        self.successors.clear();
        self.first = NO_ID;
        self.recent_ids.clear();
    }

    #[inline]
    fn is(&self, id: u32, key: &str, arena: &[u8]) -> bool {
        self.references
            .get(id as usize)
            .and_then(|reference| reference.get(arena))
            == Some(key.as_bytes())
    }

    #[inline]
    fn push(&mut self, key: &str, out: &mut KeysColumn<'_>) -> u32 {
        let id = self.references.len() as u32;
        let reference = push_string(&mut out.builder.strings, key.as_bytes());
        out.builder.push_u64(out.column, reference.to_u64());
        self.references.push(reference);
        id
    }

    /// The id of `key`, the `position`-th attribute of its owner, which follows the
    /// key with id `previous` (`NO_ID` for the owner's first selected key).
    #[inline]
    pub(super) fn id(
        &mut self,
        key: &str,
        position: usize,
        previous: u32,
        out: &mut KeysColumn<'_>,
    ) -> u32 {
        let predicted = match previous {
            NO_ID => self.first,
            previous => self
                .successors
                .get(previous as usize)
                .copied()
                .unwrap_or(NO_ID),
        };
        if predicted != NO_ID && self.is(predicted, key, &out.builder.strings) {
            return predicted;
        }
        let id = self.id_at_position(key, position, out);
        match previous {
            NO_ID => self.first = id,
            previous => {
                let previous = previous as usize;
                if self.successors.len() <= previous {
                    self.successors.resize(previous + 1, NO_ID);
                }
                self.successors[previous] = id;
            }
        }
        id
    }

    #[inline]
    fn id_at_position(&mut self, key: &str, position: usize, out: &mut KeysColumn<'_>) -> u32 {
        if let Some(&recent) = self.recent_ids.get(position)
            && recent != NO_ID
            && self.is(recent, key, &out.builder.strings)
        {
            return recent;
        }
        let id = self.lookup(key, out);
        if position < MAX_RECENT_POSITIONS {
            if self.recent_ids.len() <= position {
                self.recent_ids.resize(position + 1, NO_ID);
            }
            self.recent_ids[position] = id;
        }
        id
    }

    #[inline]
    fn lookup(&mut self, key: &str, out: &mut KeysColumn<'_>) -> u32 {
        let generation = self.generation;
        let next = self.references.len() as u32;
        if let Some(entry) = self.ids.get_mut(key) {
            if entry.generation == generation {
                return entry.id;
            }
            *entry = KeyEntry {
                generation,
                id: next,
            };
        } else {
            self.ids.insert(
                key.into(),
                KeyEntry {
                    generation,
                    id: next,
                },
            );
        }
        self.push(key, out)
    }

    /// The id of the `position`-th key of a `keys` selection, `key`.
    #[inline]
    pub(super) fn declared_id(
        &mut self,
        position: u32,
        key: &str,
        out: &mut KeysColumn<'_>,
    ) -> u32 {
        let Some(&id) = self.declared_ids.get(position as usize) else {
            return NO_ID;
        };
        if id != NO_ID {
            return id;
        }
        let id = self.push(key, out);
        self.declared_ids[position as usize] = id;
        id
    }
}
