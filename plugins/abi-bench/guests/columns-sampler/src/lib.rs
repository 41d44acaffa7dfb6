//! Design C sampler: reads the trace-id and status columns, returns one bool per span.

wit_bindgen::generate!({ path: "../../wit/columns.wit", world: "sampler-plugin" });

use abi_bench_logic::sampler;
use bench::columns::types::{AttrSelection, SpanFields};
use exports::bench::columns::sampler::{Batch, Guest, Needs};

struct Sampler;

impl Guest for Sampler {
    fn init() -> Needs {
        Needs {
            fields: SpanFields::TRACE_ID | SpanFields::STATUS,
            attributes: AttrSelection::None,
        }
    }

    fn decide(batch: Batch) -> Vec<bool> {
        // Short columns (a host bug) fall back to "keep", the safe answer.
        (0..batch.len as usize)
            .map(|i| {
                match (
                    batch.trace_id_hi.get(i),
                    batch.trace_id_lo.get(i),
                    batch.status.get(i),
                ) {
                    (Some(&hi), Some(&lo), Some(&status)) => sampler::keep(hi, lo, status),
                    _ => true,
                }
            })
            .collect()
    }
}

export!(Sampler);
