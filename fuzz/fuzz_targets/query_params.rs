//! The query API's parameters: the first line is a tag-values path segment, the rest a
//! query string, read by every route's parser. What a parser accepts keeps its
//! documented bounds, and the TraceQL a legacy tag search is rewritten to parses.
#![no_main]
use std::collections::HashMap;

use libfuzzer_sys::fuzz_target;
use spangate::fuzzing::{
    parse_metrics, parse_search, parse_tag_names, parse_tag_values, parse_trace_window,
};

/// A fixed clock (2026-12-06T00:00:00Z), so a failure reproduces.
const NOW_NANOS: u64 = 1_796_515_200_000_000_000;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (tag, query) = text.split_once('\n').unwrap_or(("", &text));
    let pairs = spangate_fuzz::query_pairs(query);

    if let Ok(search) = parse_search(pairs.clone()) {
        assert!(search.limit > 0 && search.spss > 0);
        if let (Some(start), Some(end)) = search.window {
            assert!(start < end, "window {start}..{end}");
        }
        if search.from_tags {
            let parsed = spangate_traceql::parse(&search.traceql);
            assert!(
                parsed.is_ok(),
                "tags became {:?}: {parsed:?}",
                search.traceql
            );
        }
    }
    if let Ok(start_end_limit) = parse_tag_names(pairs.clone()) {
        assert!(!start_end_limit.contains(&Some(0)), "0 means absent");
    }
    for v2 in [false, true] {
        if let Ok((name, identifier)) = parse_tag_values(tag, v2, pairs.clone()) {
            assert!(!name.is_empty());
            assert_eq!(identifier, v2);
        }
    }
    for instant in [false, true] {
        if let Ok((start, end, step)) = parse_metrics(pairs.clone(), NOW_NANOS, instant) {
            assert!(start < end && step > 0, "{start}..{end} by {step}");
            assert!((end - start) / step <= 10_000, "too many intervals");
        }
    }
    let params: HashMap<String, String> = pairs.into_iter().collect();
    if let Ok(Some(window)) = parse_trace_window(&params) {
        assert!(window.start_unix_nano <= window.end_unix_nano);
    }
});
