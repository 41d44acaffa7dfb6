//! Design B redactor: reads every string attribute, returns only the edits.

wit_bindgen::generate!({ path: "../../wit/edits.wit", world: "redactor-plugin" });

use abi_bench_logic::redact;
use bench::edits::types::{AttrSelection, AttrValue, SpanFields};
use exports::bench::edits::redactor::{AttrEdit, Guest, Needs, SpanView};

struct Redactor;

impl Guest for Redactor {
    fn init() -> Needs {
        Needs {
            fields: SpanFields::empty(),
            attributes: AttrSelection::AllStrings,
        }
    }

    fn redact(batch: Vec<SpanView>) -> Vec<AttrEdit> {
        let mut edits = Vec::new();
        for (span, view) in batch.iter().enumerate() {
            for attr in &view.attributes {
                if let AttrValue::Str(value) = &attr.value
                    && redact::must_mask(attr.key.as_bytes(), value.as_bytes())
                {
                    edits.push(AttrEdit {
                        span: span as u32,
                        attr: attr.index,
                        value: redact::MASK.to_owned(),
                    });
                }
            }
        }
        edits
    }
}

export!(Redactor);
