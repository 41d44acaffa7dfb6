//! Design C redactor: scans the string-attribute columns, returns only the edits.

wit_bindgen::generate!({ path: "../../wit/columns.wit", world: "redactor-plugin" });

use abi_bench_logic::columns::string_at;
use abi_bench_logic::redact;
use bench::columns::types::{AttrSelection, SpanFields};
use exports::bench::columns::redactor::{AttrEdit, Batch, Guest, Needs};

struct Redactor;

impl Guest for Redactor {
    fn init() -> Needs {
        Needs {
            fields: SpanFields::empty(),
            attributes: AttrSelection::AllStrings,
        }
    }

    fn redact(batch: Batch) -> Vec<AttrEdit> {
        let attrs = &batch.attributes;
        let keys = &attrs.keys;
        // Keys are dictionary-encoded, so the block list is checked once per
        // distinct key in the batch instead of once per attribute.
        let blocked: Vec<bool> = (0..keys.offsets.len().saturating_sub(1))
            .map(|k| redact::is_blocked_key(string_at(&keys.bytes, &keys.offsets, k)))
            .collect();
        let mut edits = Vec::new();
        for (row, &key) in attrs.key.iter().enumerate() {
            let value = string_at(&attrs.values.bytes, &attrs.values.offsets, row);
            if blocked.get(key as usize).copied().unwrap_or(false)
                || redact::looks_like_email(value)
            {
                edits.push(AttrEdit {
                    row: row as u32,
                    value: redact::MASK.to_owned(),
                });
            }
        }
        edits
    }
}

export!(Redactor);
