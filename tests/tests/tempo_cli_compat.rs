//! Grafana's `tempo-cli query api …` against Spangate: every request it builds, sent as
//! it sends it (the same path and query string byte for byte, the same headers, over
//! HTTP/1.1 as Go's `net/http` writes it, or as its gRPC `tempopb.StreamingQuerier`
//! calls with `--use-grpc`), each answered correctly on seeded data.
//!
//! The requests follow Tempo's sources: `cmd/tempo-cli/cmd-query-*.go` (which request
//! each command makes), `pkg/api/http.go` (`BuildSearchRequest`,
//! `BuildQueryRangeRequest`, `BuildQueryInstantRequest`: parameter order and escaping),
//! `pkg/httpclient/client.go` (trace by id and tags: paths, `Accept`, `url.Values`
//! encoding, which sorts keys) and dskit's `user.InjectOrgIDIntoHTTPRequest` (search
//! and metrics always set `X-Scope-OrgID`, empty without `--org-id`; the httpclient
//! commands send it only when given).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;

use opentelemetry_proto::tonic::trace::v1::TracesData;
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use prost::Message;
use serde_json::Value;
use spangate::query::tempopb;
use spangate_integration_tests::clients::{grpc_stream_with, gunzip};
use spangate_integration_tests::fixtures::{
    NANOS_PER_SEC, checkout_like_request, simple_request, span, span_count,
};
use spangate_integration_tests::harness::GatewayOptions;
use spangate_integration_tests::tempopb::TraceByIdResponse;
use spangate_integration_tests::{TestGateway, ids};

/// Go's `url.QueryEscape`: unreserved bytes kept, space as `+`, the rest `%XX`.
fn go_query_escape(text: &str) -> String {
    let mut out = String::new();
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(char::from(byte));
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

/// An HTTP answer read off the socket (chunked and gzip undone, as Go's transport does).
struct RawAnswer {
    status: u16,
    body: Vec<u8>,
}

impl RawAnswer {
    #[track_caller]
    fn json(&self) -> Value {
        assert_eq!(self.status, 200, "{}", String::from_utf8_lossy(&self.body));
        serde_json::from_slice(&self.body).expect("a JSON body")
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Writes a GET as Go's `net/http` client does: `Host`, `User-Agent`, the request's
/// headers (canonical names, sorted), then the transport's `Accept-Encoding: gzip`.
fn go_get(gw: &TestGateway, path_and_query: &str, headers: &[(&str, &str)]) -> RawAnswer {
    let host = gw.query_url().trim_start_matches("http://").to_owned();
    let mut sorted = headers.to_vec();
    sorted.sort_unstable();
    let mut request = format!(
        "GET {path_and_query} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: Go-http-client/1.1\r\n"
    );
    for (name, value) in sorted {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("Accept-Encoding: gzip\r\n\r\n");
    let mut stream = TcpStream::connect(&host).expect("connect to the query port");
    stream.write_all(request.as_bytes()).expect("send");
    read_answer(&mut BufReader::new(stream))
}

fn read_answer(reader: &mut BufReader<TcpStream>) -> RawAnswer {
    let mut status_line = String::new();
    reader.read_line(&mut status_line).expect("status line");
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("bad status line {status_line:?}"));
    let (mut length, mut chunked, mut gzip) = (None, false, false);
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).expect("header");
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        let (name, value) = line.split_once(':').expect("header line");
        let (name, value) = (name.to_ascii_lowercase(), value.trim());
        match name.as_str() {
            "content-length" => length = Some(value.parse::<usize>().expect("length")),
            "transfer-encoding" => chunked = value.eq_ignore_ascii_case("chunked"),
            "content-encoding" => gzip = value.eq_ignore_ascii_case("gzip"),
            _ => {}
        }
    }
    let mut body = Vec::new();
    if chunked {
        loop {
            let mut size = String::new();
            reader.read_line(&mut size).expect("chunk size");
            let size = usize::from_str_radix(size.trim().split(';').next().unwrap_or(""), 16)
                .expect("hex chunk size");
            let mut chunk = vec![0; size + 2];
            reader.read_exact(&mut chunk).expect("chunk");
            if size == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..size]);
        }
    } else {
        let mut exact = vec![0; length.unwrap_or(0)];
        reader.read_exact(&mut exact).expect("body");
        body = exact;
    }
    if gzip {
        body = gunzip(&body).expect("gzip body");
    }
    RawAnswer { status, body }
}

/// The seeded data and the times tempo-cli would compute for `now-1h now`.
struct Seeded {
    gw: TestGateway,
    /// The checkout trace (3 spans of `shape-svc`, one an error).
    checkout: Vec<u8>,
    /// 5 spans of `chain-svc` in one trace.
    chain: Vec<u8>,
    start_secs: u64,
    end_secs: u64,
    start_nanos: u64,
    end_nanos: u64,
}

fn seeded_with(options: GatewayOptions, org_id: Option<&str>) -> Seeded {
    let gw = TestGateway::start_with(options);
    let now = ids::now_nanos();
    let (checkout, checkout_id, _consumer) = checkout_like_request(now - 120 * NANOS_PER_SEC);
    let chain = ids::trace_id();
    let parent = ids::span_id();
    let mut spans = vec![span(
        &chain,
        &parent,
        None,
        "chain root",
        SpanKind::Server,
        now - 100 * NANOS_PER_SEC,
        now - 99 * NANOS_PER_SEC,
    )];
    for index in 1..5 {
        let start = now - 100 * NANOS_PER_SEC + index * 1_000_000;
        spans.push(span(
            &chain,
            &ids::span_id(),
            Some(&parent),
            &format!("step {index}"),
            SpanKind::Internal,
            start,
            start + 500_000,
        ));
    }
    let metadata: Vec<(&'static str, &str)> = org_id
        .map(|org_id| vec![("x-scope-orgid", org_id)])
        .unwrap_or_default();
    for request in [checkout, simple_request("chain-svc", spans)] {
        gw.grpc()
            .export_with(&request, false, &metadata)
            .expect("export");
    }
    // tempo-cli's `now` is taken after the data was sent.
    let end_nanos = ids::now_nanos();
    let start_nanos = end_nanos - 3600 * NANOS_PER_SEC;
    Seeded {
        gw,
        checkout: checkout_id,
        chain,
        start_secs: start_nanos / NANOS_PER_SEC,
        end_secs: end_nanos / NANOS_PER_SEC,
        start_nanos,
        end_nanos,
    }
}

fn seeded() -> Seeded {
    seeded_with(GatewayOptions::default(), None)
}

/// Tempo writes search trace ids without leading zeros.
fn search_hex(id: &[u8]) -> String {
    let hex = ids::hex_id(id);
    let trimmed = hex.trim_start_matches('0');
    if trimmed.is_empty() { "0" } else { trimmed }.to_owned()
}

/// The search answer's trace with `id`: its matched count and returned spans.
fn matched_and_returned(answer: &Value, id: &[u8]) -> (u64, usize) {
    let trace = answer["traces"]
        .as_array()
        .and_then(|traces| traces.iter().find(|t| t["traceID"] == search_hex(id)))
        .unwrap_or_else(|| panic!("trace {} not in {answer}", search_hex(id)));
    let set = &trace["spanSets"][0];
    (
        set["matched"].as_u64().unwrap_or(0),
        set["spans"].as_array().map_or(0, Vec::len),
    )
}

const EMPTY_ORG: (&str, &str) = ("X-Scope-Orgid", "");

/// `tempo-cli query api search HOST '<q>' now-1h now [--limit N] [--spss N]`
/// (cmd/tempo-cli/cmd-query-search.go → pkg/api/http.go `BuildSearchRequest`:
/// start, end, limit only when set, spss always, q).
fn search_path(s: &Seeded, query: &str, limit: u32, spss: u32) -> String {
    let limit = if limit == 0 {
        String::new()
    } else {
        format!("&limit={limit}")
    };
    format!(
        "/api/search?start={}&end={}{limit}&spss={spss}&q={}",
        s.start_secs,
        s.end_secs,
        go_query_escape(query)
    )
}

#[test]
fn search_over_http() {
    let s = seeded();
    let query = "{ resource.service.name = \"chain-svc\" }";
    let path = search_path(&s, query, 0, 0);
    assert_eq!(
        path,
        format!(
            "/api/search?start={}&end={}&spss=0&q=%7B+resource.service.name+%3D+%22chain-svc%22+%7D",
            s.start_secs, s.end_secs
        )
    );
    // spss=0: the default three spans of the five that match.
    let answer = go_get(&s.gw, &path, &[EMPTY_ORG]).json();
    assert_eq!(matched_and_returned(&answer, &s.chain), (5, 3), "{answer}");
    assert_eq!(
        answer["traces"].as_array().map(Vec::len),
        Some(1),
        "{answer}"
    );

    // --limit 1 --spss 4.
    let answer = go_get(&s.gw, &search_path(&s, query, 1, 4), &[EMPTY_ORG]).json();
    assert_eq!(matched_and_returned(&answer, &s.chain), (5, 4), "{answer}");

    // An empty TraceQL argument: no q at all.
    let path = format!(
        "/api/search?start={}&end={}&spss=0",
        s.start_secs, s.end_secs
    );
    let answer = go_get(&s.gw, &path, &[EMPTY_ORG]).json();
    // The checkout trace, its consumer trace and the chain.
    assert_eq!(
        answer["traces"].as_array().map(Vec::len),
        Some(3),
        "{answer}"
    );
    matched_and_returned(&answer, &s.checkout);
}

#[test]
fn search_over_grpc() {
    let s = seeded();
    // cmd/tempo-cli/cmd-query-search.go `searchGRPC`: the same SearchRequest, org id
    // metadata empty without --org-id.
    let answers: Vec<tempopb::SearchResponse> = grpc_stream_with(
        &s.gw.query_url(),
        "/tempopb.StreamingQuerier/Search",
        tempopb::SearchRequest {
            query: "{ resource.service.name = \"chain-svc\" }".to_owned(),
            start: u32::try_from(s.start_secs).unwrap(),
            end: u32::try_from(s.end_secs).unwrap(),
            spans_per_span_set: 0,
            limit: 0,
            ..Default::default()
        },
        &[("x-scope-orgid", "")],
    )
    .expect("search stream");
    let last = answers.last().expect("at least one message");
    let trace = last
        .traces
        .iter()
        .find(|trace| trace.trace_id == search_hex(&s.chain))
        .unwrap_or_else(|| panic!("chain trace missing: {last:?}"));
    let set = &trace.span_sets[0];
    assert_eq!((set.matched, set.spans.len()), (5, 3), "{trace:?}");
}

#[test]
fn trace_id_v1_and_v2_as_protobuf() {
    let s = seeded();
    let id = ids::hex_id(&s.checkout);
    let accept = ("Accept", "application/protobuf");
    // cmd/tempo-cli/cmd-query-trace-id.go --v1 → pkg/httpclient/client.go `QueryTrace`.
    let answer = go_get(&s.gw, &format!("/api/traces/{id}"), &[accept]);
    assert_eq!(answer.status, 200, "{}", answer.text());
    let trace = TracesData::decode(answer.body.as_slice()).expect("tempopb.Trace");
    assert_eq!(span_count(&trace.resource_spans), 3);
    // Without --v1 → `QueryTraceV2`.
    let answer = go_get(&s.gw, &format!("/api/v2/traces/{id}"), &[accept]);
    assert_eq!(answer.status, 200, "{}", answer.text());
    let response = TraceByIdResponse::decode(answer.body.as_slice()).expect("TraceByIDResponse");
    let trace = response.trace.expect("a trace");
    assert_eq!(span_count(&trace.resource_spans), 3);
    // An unknown id: v1 is 404 (tempo-cli reports "trace not found").
    let unknown = ids::hex_id(&ids::trace_id());
    let answer = go_get(&s.gw, &format!("/api/traces/{unknown}"), &[accept]);
    assert_eq!(answer.status, 404);
}

#[test]
fn trace_id_v2_with_a_span_filter() {
    let s = seeded();
    let id = ids::hex_id(&s.checkout);
    // `trace-id --q '{ name = "SELECT orders" }' --keep-hierarchy --match-depth 1
    // --ancestor-depth 1` → `QueryTraceV2WithQueryParams` with all four parameters,
    // `url.Values.Encode`d (keys sorted, `QueryEscape`d values).
    let query = go_query_escape(r#"{ name = "SELECT orders" }"#);
    assert_eq!(query, "%7B+name+%3D+%22SELECT+orders%22+%7D");
    let path =
        format!("/api/v2/traces/{id}?ancestor_depth=1&keep_hierarchy=true&match_depth=1&q={query}");
    let answer = go_get(&s.gw, &path, &[("Accept", "application/protobuf")]);
    assert_eq!(answer.status, 200, "{}", answer.text());
    let response = TraceByIdResponse::decode(answer.body.as_slice()).expect("TraceByIDResponse");
    // The matched span and its parent; the sibling payment span is left out, and the
    // answer says it is a subset (tempo-cli prints status and message to stderr).
    let trace = response.trace.expect("a trace");
    let mut names: Vec<&str> = trace
        .resource_spans
        .iter()
        .flat_map(|group| &group.scope_spans)
        .flat_map(|scope_spans| &scope_spans.spans)
        .map(|span| span.name.as_str())
        .collect();
    names.sort_unstable();
    assert_eq!(names.len(), 2, "{names:?}");
    assert!(names.contains(&"SELECT orders"), "{names:?}");
    assert_eq!(response.status, 1, "PARTIAL");
    assert_eq!(
        response.message,
        "Trace filtered, only a subset of spans matching the filter is returned"
    );
    // A filter tempo-cli passes through unchecked is refused as Tempo refuses it.
    let structural = go_query_escape("{ } >> { }");
    let path = format!(
        "/api/v2/traces/{id}?ancestor_depth=-1&keep_hierarchy=false&match_depth=0&q={structural}"
    );
    let answer = go_get(&s.gw, &path, &[("Accept", "application/protobuf")]);
    assert_eq!(
        (answer.status, answer.text().as_str()),
        (
            400,
            "invalid TraceQL filter: only a single TraceQL filter is supported: got a structural or aggregate query"
        )
    );
}

fn scope_tags<'a>(answer: &'a Value, scope: &str) -> Vec<&'a str> {
    answer["scopes"]
        .as_array()
        .and_then(|scopes| scopes.iter().find(|s| s["name"] == scope))
        .and_then(|scope| scope["tags"].as_array())
        .map(|tags| tags.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

fn values(answer: &Value) -> Vec<String> {
    let mut values: Vec<String> = answer["tagValues"]
        .as_array()
        .map(|values| {
            values
                .iter()
                .filter_map(|v| v["value"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    values.sort_unstable();
    values
}

#[test]
fn search_tags_and_tag_values_over_http() {
    let s = seeded();
    let accept = ("Accept", "application/json");
    // cmd/tempo-cli/cmd-query-search-tags.go → pkg/httpclient/client.go `SearchTagsV2`
    // (no range) and `SearchTagsV2WithRange` (url.Values: keys sorted).
    for path in [
        "/api/v2/search/tags".to_owned(),
        format!(
            "/api/v2/search/tags?end={}&start={}",
            s.end_secs, s.start_secs
        ),
    ] {
        let answer = go_get(&s.gw, &path, &[accept]).json();
        assert!(
            scope_tags(&answer, "resource").contains(&"service.name"),
            "{path}: {answer}"
        );
        assert!(
            scope_tags(&answer, "span").contains(&"db.system"),
            "{path}: {answer}"
        );
    }
    // cmd/tempo-cli/cmd-query-search-tag-values.go → `SearchTagValuesV2` /
    // `SearchTagValuesV2WithRange` (path.Join of the tag; q only with --query).
    let answer = go_get(
        &s.gw,
        "/api/v2/search/tag/resource.service.name/values",
        &[accept],
    )
    .json();
    assert_eq!(values(&answer), ["chain-svc", "shape-svc"], "{answer}");
    let path = format!(
        "/api/v2/search/tag/resource.service.name/values?end={}&q={}&start={}",
        s.end_secs,
        go_query_escape("{ status = error }"),
        s.start_secs
    );
    assert!(path.contains("q=%7B+status+%3D+error+%7D"));
    let answer = go_get(&s.gw, &path, &[accept]).json();
    assert_eq!(values(&answer), ["shape-svc"], "{answer}");
}

#[test]
fn search_tags_and_tag_values_over_grpc() {
    let s = seeded();
    let (start, end) = (
        u32::try_from(s.start_secs).unwrap(),
        u32::try_from(s.end_secs).unwrap(),
    );
    // cmd/tempo-cli/cmd-query-search-tags.go `searchGRPC`: start/end 0 without a range.
    for (start, end) in [(0, 0), (start, end)] {
        let answers: Vec<tempopb::SearchTagsV2Response> = grpc_stream_with(
            &s.gw.query_url(),
            "/tempopb.StreamingQuerier/SearchTagsV2",
            tempopb::SearchTagsRequest {
                start,
                end,
                ..Default::default()
            },
            &[("x-scope-orgid", "")],
        )
        .expect("tags stream");
        let scopes = &answers.last().expect("a message").scopes;
        let resource = scopes.iter().find(|scope| scope.name == "resource");
        assert!(
            resource.is_some_and(|scope| scope.tags.iter().any(|tag| tag == "service.name")),
            "{scopes:?}"
        );
    }
    // cmd/tempo-cli/cmd-query-search-tag-values.go `searchGRPC`.
    let answers: Vec<tempopb::SearchTagValuesV2Response> = grpc_stream_with(
        &s.gw.query_url(),
        "/tempopb.StreamingQuerier/SearchTagValuesV2",
        tempopb::SearchTagValuesRequest {
            tag_name: "resource.service.name".to_owned(),
            start,
            end,
            query: "{ status = error }".to_owned(),
            ..Default::default()
        },
        &[("x-scope-orgid", "")],
    )
    .expect("tag values stream");
    let values: Vec<&str> = answers
        .last()
        .expect("a message")
        .tag_values
        .iter()
        .map(|value| value.value.as_str())
        .collect();
    assert_eq!(values, ["shape-svc"]);
}

/// The total of a metrics series' values (a jsonpb sample without `value` is 0).
fn sample_total(series: &Value) -> f64 {
    series["samples"]
        .as_array()
        .map(|samples| {
            samples
                .iter()
                .map(|s| s["value"].as_f64().unwrap_or(0.0))
                .sum()
        })
        .unwrap_or(0.0)
}

#[test]
fn metrics_over_http() {
    let s = seeded();
    let query = "{} | count_over_time()";
    // cmd/tempo-cli/cmd-query-metrics-query-range.go → pkg/api/http.go
    // `BuildQueryRangeRequest` with step 0 and no instant: the RF1 parameters empty or 0.
    let path = format!(
        "/api/metrics/query_range?start={}&end={}&mode=&blockID=&startPage=0&pagesToSearch=0\
         &version=&encoding=none&size=0&footerSize=0&q={}&exemplars=0&maxSeries=0",
        s.start_nanos,
        s.end_nanos,
        go_query_escape(query)
    );
    assert!(path.contains("&q=%7B%7D+%7C+count_over_time%28%29&"));
    let answer = go_get(&s.gw, &path, &[EMPTY_ORG]).json();
    let series = answer["series"].as_array().expect("series");
    assert_eq!(series.len(), 1, "{answer}");
    assert_eq!(
        series[0]["labels"][0]["value"]["stringValue"],
        "count_over_time"
    );
    // Every seeded span: 3 + 1 (the consumer trace) + 5.
    assert_eq!(sample_total(&series[0]), 9.0, "{answer}");

    // --instant → `BuildQueryInstantRequest`: start, end, q.
    let path = format!(
        "/api/metrics/query?start={}&end={}&q={}",
        s.start_nanos,
        s.end_nanos,
        go_query_escape(query)
    );
    let answer = go_get(&s.gw, &path, &[EMPTY_ORG]).json();
    assert_eq!(answer["series"][0]["value"], 9.0, "{answer}");
}

#[test]
fn metrics_over_grpc() {
    let s = seeded();
    let query = "{ resource.service.name = \"chain-svc\" } | count_over_time()";
    // cmd/tempo-cli/cmd-query-metrics-query-range.go `queryRangeGRPC`: step 0.
    let answers: Vec<tempopb::QueryRangeResponse> = grpc_stream_with(
        &s.gw.query_url(),
        "/tempopb.StreamingQuerier/MetricsQueryRange",
        tempopb::QueryRangeRequest {
            query: query.to_owned(),
            start: s.start_nanos,
            end: s.end_nanos,
            ..Default::default()
        },
        &[("x-scope-orgid", "")],
    )
    .expect("range stream");
    let total: f64 = answers
        .iter()
        .flat_map(|answer| &answer.series)
        .flat_map(|series| &series.samples)
        .map(|sample| sample.value)
        .sum();
    assert_eq!(total, 5.0, "{answers:?}");
    // `queryInstantGRPC`.
    let answers: Vec<tempopb::QueryInstantResponse> = grpc_stream_with(
        &s.gw.query_url(),
        "/tempopb.StreamingQuerier/MetricsQueryInstant",
        tempopb::QueryInstantRequest {
            query: query.to_owned(),
            start: s.start_nanos,
            end: s.end_nanos,
        },
        &[("x-scope-orgid", "")],
    )
    .expect("instant stream");
    let last = answers.last().expect("a message");
    assert_eq!(last.series.len(), 1, "{last:?}");
    assert_eq!(last.series[0].value, 5.0, "{last:?}");
}

/// With multi-tenancy on, Tempo's HTTP auth (dskit `middleware.AuthenticateUser`)
/// refuses the empty `X-Scope-OrgID` tempo-cli sends without `--org-id` with 401 `no
/// org id`, and `--org-id` reads that tenant. (Over gRPC, dskit passes one empty value
/// on as the tenant ""; Spangate refuses it as a missing tenant, UNAUTHENTICATED,
/// rather than read a tenant nobody can write.)
#[test]
fn the_org_id_header_with_multitenancy_on() {
    let s = seeded_with(
        GatewayOptions {
            extra_yaml: "multitenancy:\n  enabled: true\n".to_owned(),
            ..GatewayOptions::default()
        },
        Some("team-a"),
    );
    let path = search_path(&s, "{ resource.service.name = \"chain-svc\" }", 0, 0);
    let answer = go_get(&s.gw, &path, &[EMPTY_ORG]);
    assert_eq!((answer.status, answer.text().trim()), (401, "no org id"));
    let answer = go_get(&s.gw, &path, &[("X-Scope-Orgid", "team-a")]).json();
    assert_eq!(matched_and_returned(&answer, &s.chain), (5, 3), "{answer}");
    let answer = go_get(&s.gw, &path, &[("X-Scope-Orgid", "team-b")]).json();
    assert_eq!(
        answer["traces"].as_array().map_or(0, Vec::len),
        0,
        "{answer}"
    );

    let status = grpc_stream_with::<tempopb::SearchResponse>(
        &s.gw.query_url(),
        "/tempopb.StreamingQuerier/Search",
        tempopb::SearchRequest {
            query: "{}".to_owned(),
            ..Default::default()
        },
        &[("x-scope-orgid", "")],
    )
    .expect_err("an empty tenant is refused");
    assert_eq!(status.code(), tonic::Code::Unauthenticated, "{status:?}");
}
