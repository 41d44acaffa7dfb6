//! TraceQL text (the lexer and parser, strict and lenient). A query that parses prints
//! as canonical TraceQL that parses back to an equal query, which prints the same.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = spangate_traceql::parse_lenient(text);
    let Ok(query) = spangate_traceql::parse(text) else {
        return;
    };
    let printed = query.to_string();
    let again = spangate_traceql::parse(&printed)
        .unwrap_or_else(|error| panic!("{text:?} printed as {printed:?}, which fails: {error}"));
    assert!(
        again == query,
        "{text:?} printed as {printed:?}, which parses differently"
    );
    assert_eq!(again.to_string(), printed);
});
