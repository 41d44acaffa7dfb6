//! Design A sampler: returns the kept spans, whole.

wit_bindgen::generate!({ path: "../../wit/naive.wit", world: "sampler-plugin" });

use abi_bench_logic::sampler;
use exports::bench::naive::sampler::{Guest, Span};

struct Sampler;

impl Guest for Sampler {
    fn process(batch: Vec<Span>) -> Vec<Span> {
        batch
            .into_iter()
            .filter(|s| sampler::keep(s.trace_id_hi, s.trace_id_lo, s.status as u8))
            .collect()
    }
}

export!(Sampler);
