//! Statistical checks of consistent probability sampling over many random trace ids.
//!
//! Ids come from a fixed-seed SplitMix64 so a failure reproduces exactly; bounds are 4σ of the
//! binomial, so a correct sampler fails with probability ~6e-5 per check for a *random* seed and
//! never for this fixed one.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap fails it loudly, as it should

use spangate_plugin_sampling::policy::PolicySet;
use spangate_plugin_sampling::{
    Config, HeadSampler, Span, TailDecider, Threshold, TraceId, TraceView,
};

const TRACE_COUNT: usize = 100_000;

/// SplitMix64: tiny, well-distributed, and needs no dependency.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn trace_id(&mut self) -> TraceId {
        let mut id = [0u8; 16];
        id[..8].copy_from_slice(&self.next().to_be_bytes());
        id[8..].copy_from_slice(&self.next().to_be_bytes());
        id
    }
}

fn trace_ids(seed: u64) -> Vec<TraceId> {
    let mut rng = SplitMix64(seed);
    (0..TRACE_COUNT).map(|_| rng.trace_id()).collect()
}

fn head(probability: f64) -> HeadSampler {
    let config =
        Config::parse(&format!(r#"{{"head": {{"probability": {probability}}}}}"#)).unwrap();
    HeadSampler::new(&config.head)
}

fn assert_within_four_sigma(kept: usize, probability: f64) {
    let n = TRACE_COUNT as f64;
    let expected = n * probability;
    let sigma = (n * probability * (1.0 - probability)).sqrt();
    let deviation = (kept as f64 - expected).abs();
    assert!(
        deviation <= 4.0 * sigma,
        "p={probability}: kept {kept}, expected {expected:.0} ± {:.0} (4σ)",
        4.0 * sigma
    );
}

#[test]
fn head_probability_keeps_within_four_sigma() {
    let ids = trace_ids(0x5EED_0001);
    for probability in [0.1, 0.5, 0.01, 0.9] {
        let mut sampler = head(probability);
        let kept = ids
            .iter()
            .filter(|id| sampler.decide(id, 0).is_keep())
            .count();
        assert_within_four_sigma(kept, probability);
    }
}

#[test]
fn tail_probabilistic_keeps_within_four_sigma() {
    let config = Config::parse(
        r#"{"tail": {"always_keep_errors": false,
                     "policies": [{"name": "p", "probabilistic": {"probability": 0.1}}]}}"#,
    )
    .unwrap();
    let mut policies = PolicySet::from_config(config.tail.as_ref().unwrap());
    let span = Span::default();
    let kept = trace_ids(0x5EED_0002)
        .into_iter()
        .filter(|&trace_id| {
            let trace = TraceView {
                trace_id,
                spans: std::slice::from_ref(&span),
            };
            policies.evaluate(&trace, 0).is_keep()
        })
        .count();
    assert_within_four_sigma(kept, 0.1);
}

#[test]
fn two_samplers_with_the_same_config_agree_on_every_id() {
    let mut first = head(0.1);
    let mut second = head(0.1);
    for id in trace_ids(0x5EED_0003) {
        assert_eq!(first.decide(&id, 0), second.decide(&id, 1_000_000_000));
    }
}

#[test]
fn lower_probability_keeps_a_subset() {
    let mut five_percent = head(0.05);
    let mut ten_percent = head(0.1);
    let mut kept_at_five = 0;
    for id in trace_ids(0x5EED_0004) {
        if five_percent.decide(&id, 0).is_keep() {
            kept_at_five += 1;
            assert!(
                ten_percent.decide(&id, 0).is_keep(),
                "kept at 5% but not at 10%: {id:02x?}"
            );
        }
    }
    assert_within_four_sigma(kept_at_five, 0.05);
}

#[test]
fn head_and_tail_agree_for_the_same_probability() {
    let mut head_sampler = head(0.2);
    let config = Config::parse(
        r#"{"tail": {"decision_wait": "0", "always_keep_errors": false,
                     "policies": [{"name": "p", "probabilistic": {"probability": 0.2}}]}}"#,
    )
    .unwrap();
    let mut tail = TailDecider::new(config.tail.as_ref().unwrap());
    for id in trace_ids(0x5EED_0005).into_iter().take(20_000) {
        let span = Span {
            trace_id: id,
            ..Span::default()
        };
        let trace = TraceView {
            trace_id: id,
            spans: std::slice::from_ref(&span),
        };
        assert_eq!(
            tail.decide(&trace, 0).is_keep(),
            head_sampler.decide(&id, 0).is_keep()
        );
    }
}

#[test]
fn only_the_rightmost_56_bits_matter() {
    let threshold = Threshold::from_probability(0.3, 4);
    let mut rng = SplitMix64(0x5EED_0006);
    for mut id in trace_ids(0x5EED_0007).into_iter().take(10_000) {
        let before = threshold.keeps(&id);
        id[..9].copy_from_slice(&rng.trace_id()[..9]);
        assert_eq!(threshold.keeps(&id), before);
    }
}
