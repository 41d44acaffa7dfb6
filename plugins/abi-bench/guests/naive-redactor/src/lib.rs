//! Design A redactor: returns every span, with sensitive values masked.

wit_bindgen::generate!({ path: "../../wit/naive.wit", world: "redactor-plugin" });

use abi_bench_logic::redact;
use bench::naive::types::AttrValue;
use exports::bench::naive::redactor::{Guest, Span};

struct Redactor;

impl Guest for Redactor {
    fn process(mut batch: Vec<Span>) -> Vec<Span> {
        for attr in batch.iter_mut().flat_map(|s| s.attributes.iter_mut()) {
            if let AttrValue::Str(value) = &mut attr.value
                && redact::must_mask(attr.key.as_bytes(), value.as_bytes())
            {
                *value = redact::MASK.to_owned();
            }
        }
        batch
    }
}

export!(Redactor);
