//! Design B sampler: reads only trace id and status, returns one bool per span.

wit_bindgen::generate!({ path: "../../wit/edits.wit", world: "sampler-plugin" });

use abi_bench_logic::sampler;
use bench::edits::types::{AttrSelection, SpanFields};
use exports::bench::edits::sampler::{Guest, Needs, SpanView};

struct Sampler;

impl Guest for Sampler {
    fn init() -> Needs {
        Needs {
            fields: SpanFields::TRACE_ID | SpanFields::STATUS,
            attributes: AttrSelection::None,
        }
    }

    fn decide(batch: Vec<SpanView>) -> Vec<bool> {
        batch
            .iter()
            .map(|s| {
                // The host fills what `init` declared; a missing field means a
                // host bug, and keeping the span is the safe answer.
                let (Some((hi, lo)), Some(status)) = (s.trace_id, s.status) else {
                    return true;
                };
                sampler::keep(hi, lo, status as u8)
            })
            .collect()
    }
}

export!(Sampler);
