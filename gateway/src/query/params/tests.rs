use proptest::prelude::*;

use super::*;
use crate::search::TagValuesQuery;

fn params(pairs: &[(&str, &str)]) -> QueryParams {
    QueryParams::new(
        pairs
            .iter()
            .map(|(key, value)| (key.to_string(), value.to_string()))
            .collect(),
    )
}

#[track_caller]
fn rejected<T: std::fmt::Debug>(result: Result<T, QueryError>) -> String {
    match result {
        Err(QueryError::BadRequest(message)) => message,
        other => panic!("expected a 400, got {other:?}"),
    }
}

#[test]
fn search_defaults_follow_tempo() {
    let query = search(&params(&[("q", "{ span.a = 1 }")])).unwrap();
    assert_eq!(
        query,
        SearchQuery {
            traceql: "{ span.a = 1 }".to_owned(),
            tags_search: false,
            limit: 20,
            spss: 3,
            start_unix_secs: None,
            end_unix_secs: None,
        }
    );
    let query = search(&params(&[
        ("q", "{}"),
        ("limit", "5"),
        ("spss", "7"),
        ("start", "1795457950"),
        ("end", "1795461550"),
    ]))
    .unwrap();
    assert_eq!((query.limit, query.spss), (5, 7));
    // `tempo-cli query api search` always sends `spss`, 0 unless told otherwise: Tempo
    // accepts it and keeps its default number of spans.
    let query = search(&params(&[
        ("start", "1795457950"),
        ("end", "1795461550"),
        ("spss", "0"),
        ("q", "{}"),
    ]))
    .unwrap();
    assert_eq!(query.spss, DEFAULT_SPANS_PER_SPANSET);
    assert_eq!(
        (query.start_unix_secs, query.end_unix_secs),
        (Some(1795457950), Some(1795461550))
    );
    // Go's `Get` reads the first value; an empty value is absent.
    let query = search(&params(&[("q", "{ a }"), ("q", "{ b }"), ("limit", "")])).unwrap();
    assert_eq!((query.traceql.as_str(), query.limit), ("{ a }", 20));
}

#[test]
fn legacy_tag_searches_become_traceql() {
    let query = search(&params(&[
        ("tags", "http.request.method=GET"),
        ("minDuration", "1ms"),
        ("maxDuration", "10s"),
        ("limit", "5"),
        ("start", "1795457950"),
        ("end", "1795461550"),
    ]))
    .unwrap();
    assert!(query.tags_search);
    assert_eq!(
        query.traceql,
        r#"{ .http.request.method = "GET" && traceDuration >= 1ms && traceDuration <= 10000ms }"#
    );
    // No q, no tags, no window: bare parameters are tags.
    let query = search(&params(&[
        ("service.name", "api"),
        ("limit", "3"),
        ("x", ""),
    ]))
    .unwrap();
    assert_eq!(query.traceql, r#"{ resource.service.name = "api" }"#);
    // With a window they are not.
    let query = search(&params(&[
        ("service.name", "api"),
        ("start", "1"),
        ("end", "2"),
    ]))
    .unwrap();
    assert_eq!((query.traceql.as_str(), query.tags_search), ("{}", true));
}

#[test]
fn search_errors_match_tempo() {
    assert_eq!(
        rejected(search(&params(&[("q", "{}"), ("tags", "a=b")]))),
        "invalid request: can't specify tags and q in the same query"
    );
    assert_eq!(
        rejected(search(&params(&[("tags", "a=1 a=2")]))),
        "invalid tags: tag a has been set twice"
    );
    assert_eq!(
        rejected(search(&params(&[("tags", "a=1 b=\"x")]))),
        "invalid tags: unterminated quoted value at pos 9"
    );
    assert_eq!(
        rejected(search(&params(&[("minDuration", "fast")]))),
        "invalid minDuration: time: invalid duration \"fast\""
    );
    assert_eq!(
        rejected(search(&params(&[
            ("minDuration", "2s"),
            ("maxDuration", "1s")
        ]))),
        "invalid maxDuration: must be greater than minDuration"
    );
    assert!(search(&params(&[("minDuration", "1s"), ("maxDuration", "1s")])).is_ok());
    assert_eq!(
        rejected(search(&params(&[("limit", "0")]))),
        "invalid limit: must be a positive number"
    );
    assert_eq!(
        rejected(search(&params(&[("limit", "ten")]))),
        "invalid limit: strconv.ParseUint: parsing \"ten\": invalid syntax"
    );
    assert_eq!(
        rejected(search(&params(&[("limit", "-1")]))),
        "invalid limit: strconv.ParseUint: parsing \"-1\": invalid syntax"
    );
    assert_eq!(
        rejected(search(&params(&[("spss", "-1")]))),
        "invalid spss: strconv.ParseUint: parsing \"-1\": invalid syntax"
    );
    assert_eq!(
        rejected(search(&params(&[("start", "yesterday")]))),
        "invalid start: strconv.ParseUint: parsing \"yesterday\": invalid syntax"
    );
    assert_eq!(
        rejected(search(&params(&[("start", "20"), ("end", "10")]))),
        "http parameter start must be before end. received start=20 end=10"
    );
    assert_eq!(
        rejected(search(&params(&[("start", "20")]))),
        "http parameter start must be before end. received start=20 end=0"
    );
}

#[test]
fn grpc_search_requests_get_the_same_checks() {
    let request = tempopb::SearchRequest {
        query: "{}".to_owned(),
        limit: 1,
        start: 100,
        end: 1000,
        ..tempopb::SearchRequest::default()
    };
    let query = search_from_grpc(&request).unwrap();
    assert_eq!(
        (query.limit, query.spss, query.start_unix_secs),
        (1, 3, Some(100))
    );
    let legacy = tempopb::SearchRequest {
        tags: [("name".to_owned(), "GET /".to_owned())].into(),
        min_duration_ms: 5,
        ..tempopb::SearchRequest::default()
    };
    let query = search_from_grpc(&legacy).unwrap();
    assert_eq!(
        (query.traceql.as_str(), query.tags_search, query.limit),
        (r#"{ name = "GET /" && traceDuration >= 5ms }"#, true, 20)
    );
    let both = tempopb::SearchRequest {
        query: "{}".to_owned(),
        ..legacy
    };
    assert_eq!(
        rejected(search_from_grpc(&both)),
        "invalid request: can't specify tags and q in the same query"
    );
    let backwards = tempopb::SearchRequest {
        start: 10,
        end: 5,
        ..request
    };
    assert_eq!(
        rejected(search_from_grpc(&backwards)),
        "http parameter start must be before end. received start=10 end=5"
    );
}

#[test]
fn tag_name_parameters_follow_tempo() {
    let query = tag_names(&params(&[
        ("scope", "span"),
        ("q", "{ resource.service.name = \"api\" }"),
        ("start", "10"),
        ("end", "20"),
        ("limit", "100"),
        ("maxStaleValues", "x"),
    ]))
    .unwrap();
    assert_eq!(
        query,
        TagNamesQuery {
            scope: Some(TagScope::Span),
            query: Some("{ resource.service.name = \"api\" }".to_owned()),
            start_unix_secs: Some(10),
            end_unix_secs: Some(20),
            limit: Some(100),
        }
    );
    for scope in ["", "none"] {
        assert_eq!(tag_names(&params(&[("scope", scope)])).unwrap().scope, None);
    }
    assert_eq!(
        tag_names(&params(&[("scope", "intrinsic")])).unwrap().scope,
        Some(TagScope::Intrinsic)
    );
    assert_eq!(
        rejected(tag_names(&params(&[("scope", "trace")]))),
        "invalid scope: trace"
    );
    assert_eq!(
        rejected(tag_names(&params(&[("start", "3000000000")]))),
        "invalid start: strconv.ParseInt: parsing \"3000000000\": value out of range"
    );
    // The query-frontend ignores a bad limit.
    assert_eq!(
        tag_names(&params(&[("limit", "lots")])).unwrap().limit,
        None
    );
}

#[test]
fn tag_value_names_are_decoded_and_checked() {
    let lookup = |raw: &str, v2: bool| tag_values(raw, v2, &params(&[]));
    assert_eq!(
        lookup("resource.service.name", true).unwrap().tag,
        TagName::Identifier("resource.service.name".to_owned())
    );
    // Older Grafana double-encodes: the HTTP layer decoded once, we decode again.
    assert_eq!(
        lookup("event%3Aname", true).unwrap().tag,
        TagName::Identifier("event:name".to_owned())
    );
    assert_eq!(
        lookup("span%2Ehttp%2Emethod", true).unwrap().tag,
        TagName::Identifier("span.http.method".to_owned())
    );
    for valid in [
        ".service.name",
        "name",
        "status",
        "kind",
        "span:status",
        "span.\"a b\"",
    ] {
        assert!(lookup(valid, true).is_ok(), "{valid}");
    }
    assert_eq!(
        lookup("service.name", false).unwrap().tag,
        TagName::Attribute("service.name".to_owned())
    );
    assert!(rejected(lookup("service.name", true)).starts_with("please provide a valid tagName: "));
    for invalid in ["foo", "span.", ".", "span.a b", "resource.\"x", "bogus.x"] {
        assert!(lookup(invalid, true).is_err(), "{invalid}");
    }
    assert_eq!(
        rejected(lookup("bad%zzname", false)),
        "error in unescaping tagName"
    );
    let query = tag_values(
        ".x",
        true,
        &params(&[
            ("q", "{ resource.cluster = }"),
            ("limit", "7"),
            ("end", "9"),
        ]),
    )
    .unwrap();
    assert_eq!(
        query,
        TagValuesQuery {
            tag: TagName::Identifier(".x".to_owned()),
            query: Some("{ resource.cluster = }".to_owned()),
            start_unix_secs: None,
            end_unix_secs: Some(9),
            limit: Some(7),
        }
    );
    let grpc = tempopb::SearchTagValuesRequest {
        tag_name: "status".to_owned(),
        max_tag_values: 3,
        ..tempopb::SearchTagValuesRequest::default()
    };
    assert_eq!(tag_values_from_grpc(&grpc, true).unwrap().limit, Some(3));
    let grpc = tempopb::SearchTagValuesRequest::default();
    assert_eq!(
        rejected(tag_values_from_grpc(&grpc, true)),
        "please provide a non-empty tagName"
    );
}

const NOW: u64 = 1_795_461_600_000_000_000;
const SECOND: u64 = 1_000_000_000;

#[test]
fn metrics_range_parameters_follow_tempo() {
    let query = metrics_range(
        &params(&[
            ("q", "{ } | rate()"),
            ("step", "60"),
            ("start", "1795457950"),
            ("end", "1795461550"),
        ]),
        NOW,
    )
    .unwrap();
    assert_eq!(
        query,
        MetricsQuery {
            query: "{ } | rate()".to_owned(),
            start_nanos: 1_795_457_950 * SECOND,
            end_nanos: 1_795_461_550 * SECOND,
            step_nanos: 60 * SECOND,
            instant: false,
            exemplars: None,
        }
    );
    // Defaults: the last hour, ~240 points rounded to 5s; `query` is read too.
    let query = metrics_range(&params(&[("query", "{} | count_over_time()")]), NOW).unwrap();
    assert_eq!(query.query, "{} | count_over_time()");
    assert_eq!(
        (query.start_nanos, query.end_nanos),
        (NOW - 3600 * SECOND, NOW)
    );
    assert_eq!(query.step_nanos, 15 * SECOND);
    // Nanosecond and RFC 3339 timestamps, `since`, Go-duration steps, exemplars.
    let query = metrics_range(
        &params(&[
            ("end", "2026-11-24T12:00:00Z"),
            ("since", "30m"),
            ("step", "1m30s"),
            ("exemplars", "5"),
        ]),
        NOW,
    )
    .unwrap();
    let end = 1_795_521_600 * SECOND;
    assert_eq!(query.end_nanos, end);
    assert_eq!(query.start_nanos, NOW.min(end) - 1800 * SECOND);
    assert_eq!((query.step_nanos, query.exemplars), (90 * SECOND, Some(5)));
    let query = metrics_range(
        &params(&[("start", "1795457950000000000"), ("end", "1795458950.5")]),
        NOW,
    )
    .unwrap();
    assert_eq!(query.start_nanos, 1_795_457_950 * SECOND);
    assert_eq!(query.end_nanos, 1_795_458_950 * SECOND + SECOND / 2);
    assert_eq!(query.step_nanos, 4 * SECOND);
}

#[test]
fn metrics_errors_match_tempo() {
    assert_eq!(
        rejected(metrics_range(
            &params(&[("start", "20"), ("end", "10")]),
            NOW
        )),
        "end must be greater than start"
    );
    assert_eq!(
        rejected(metrics_range(&params(&[("step", "0")]), NOW)),
        "step of 0s is too small, minimum step for given range is 360ms"
    );
    assert_eq!(
        rejected(metrics_range(&params(&[("step", "100ms")]), NOW)),
        "step of 100ms is too small, minimum step for given range is 360ms"
    );
    assert_eq!(
        rejected(metrics_range(&params(&[("step", "often")]), NOW)),
        "cannot parse \"often\" to a valid duration"
    );
    assert_eq!(
        rejected(metrics_range(&params(&[("end", "soon")]), NOW)),
        "could not parse 'end' parameter: strconv.ParseInt: parsing \"soon\": invalid syntax"
    );
    assert_eq!(
        rejected(metrics_range(&params(&[("since", "1x")]), NOW)),
        "could not parse 'since' parameter: unknown unit \"x\" in duration \"1x\""
    );
    assert_eq!(
        rejected(metrics_range(&params(&[("exemplars", "-1")]), NOW)),
        "invalid exemplars: strconv.ParseUint: parsing \"-1\": invalid syntax"
    );
}

/// Found by the `query_params` fuzz target: an `end` far before the epoch as float seconds
/// overflowed the default `start` (`end - since`). Both ends clamp to the epoch.
#[test]
fn an_end_before_any_representable_time_does_not_overflow_the_default_start() {
    for end in [
        "-3.734e33",
        "-1e300",
        "-170141183460469231731687303715884105728",
    ] {
        let answer = metrics_range(&params(&[("q", "{ } | rate()"), ("end", end)]), NOW);
        let instant = metrics_instant(&params(&[("q", "{ } | rate()"), ("end", end)]), NOW);
        assert_eq!(
            answer.is_ok(),
            instant.is_ok(),
            "{end}: {answer:?} / {instant:?}"
        );
        if let Ok(query) = answer {
            assert_eq!((query.start_nanos, query.end_nanos), (0, 0), "{end}");
        }
    }
}

#[test]
fn instant_queries_cover_the_window() {
    let query = metrics_instant(
        &params(&[("q", "{} | rate()"), ("start", "100"), ("end", "160")]),
        NOW,
    )
    .unwrap();
    assert!(query.instant);
    assert_eq!(query.step_nanos, 60 * SECOND);
    let grpc = tempopb::QueryInstantRequest {
        query: "{} | rate()".to_owned(),
        start: 5 * SECOND,
        end: 65 * SECOND,
    };
    let query = metrics_instant_from_grpc(&grpc).unwrap();
    assert_eq!((query.step_nanos, query.instant), (60 * SECOND, true));
    let range = tempopb::QueryRangeRequest {
        query: "{} | rate()".to_owned(),
        start: NOW - 3600 * SECOND,
        end: NOW,
        exemplars: 2,
        ..tempopb::QueryRangeRequest::default()
    };
    let query = metrics_range_from_grpc(&range).unwrap();
    assert_eq!((query.step_nanos, query.exemplars), (15 * SECOND, Some(2)));
}

#[test]
fn default_step_matches_tempo() {
    assert_eq!(default_step(0, 3600 * SECOND), i128::from(15 * SECOND));
    assert_eq!(default_step(0, 60 * SECOND), i128::from(SECOND));
    assert_eq!(default_step(0, 1000 * SECOND), i128::from(4 * SECOND));
    assert_eq!(default_step(0, 86_400 * SECOND), i128::from(360 * SECOND));
    assert_eq!(default_step(10, 5), i128::from(SECOND));
}

fn any_text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[-+0-9.:TZa-z%\"'= \\\\]{0,24}",
        "(start|end|since|step|q|tags|limit|spss|scope)",
    ]
}

proptest! {
    #[test]
    fn parsers_never_panic(
        pairs in proptest::collection::vec((any_text(), any_text()), 0..6),
        name in any_text(),
        now in any::<u64>(),
        request in (any::<u64>(), any::<u64>(), any::<u64>(), any::<u32>()),
    ) {
        let pairs: Vec<(String, String)> = pairs;
        let query = QueryParams::new(pairs.clone());
        let _ = search(&query);
        let _ = tag_names(&query);
        let _ = tag_values(&name, true, &query);
        let _ = tag_values(&name, false, &query);
        let _ = metrics_range(&query, now);
        let _ = metrics_instant(&query, now);
        // Every parameter name with every value, one at a time.
        for (_, value) in &pairs {
            for key in ["start", "end", "since", "step", "limit", "spss", "tags", "minDuration",
                        "maxDuration", "scope", "exemplars", "instant"] {
                let single = QueryParams::new(vec![(key.to_owned(), value.clone())]);
                let _ = search(&single);
                let _ = tag_names(&single);
                let _ = metrics_range(&single, now);
            }
        }
        let (start, end, step, exemplars) = request;
        let _ = metrics_range_from_grpc(&tempopb::QueryRangeRequest {
            start, end, step, exemplars, ..tempopb::QueryRangeRequest::default()
        });
        let _ = metrics_instant_from_grpc(&tempopb::QueryInstantRequest {
            query: name.clone(), start, end,
        });
    }
}
