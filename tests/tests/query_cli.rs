//! `spangate query` as a process against the real gateway: the span tree of a trace,
//! search results, tag names and values, TraceQL metrics, `--json`, the tenant chosen
//! by `--org-id` with multi-tenancy on, the v1 fallback for a Tempo without v2 (a stub
//! server), and its errors (unreachable endpoint, unknown trace, bad id, the server's
//! 400 body).

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::process::Output;

use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use opentelemetry_proto::tonic::trace::v1::{Span, Status, status::StatusCode};
use serde_json::Value;
use spangate_integration_tests::cli::{failed, spangate, succeeded};
use spangate_integration_tests::fixtures::{
    NANOS_PER_SEC, kv_str, request, resource, resource_spans, scope, span,
};
use spangate_integration_tests::harness::{GatewayOptions, free_port};
use spangate_integration_tests::{TestGateway, ids};

const MILLI: u64 = 1_000_000;

/// A checkout trace: `frontend: GET /checkout` → `payments: charge` (error) →
/// `db: SELECT carts`, and `cache: lookup` whose parent is not in the trace.
struct Checkout {
    trace_id: String,
    start: u64,
    request: opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest,
}

/// A trace id whose hex has no leading zero (search answers drop leading zeros).
fn trace_id_bytes() -> Vec<u8> {
    let mut id = ids::trace_id();
    id[0] |= 0x10;
    id
}

fn checkout(start: u64) -> Checkout {
    let trace = trace_id_bytes();
    let (root, charge, select) = (ids::span_id(), ids::span_id(), ids::span_id());
    let root_span = Span {
        attributes: vec![kv_str("http.route", "/checkout")],
        ..span(
            &trace,
            &root,
            None,
            "GET /checkout",
            SpanKind::Server,
            start,
            start + 150 * MILLI,
        )
    };
    let charge_span = Span {
        status: Some(Status {
            message: "card declined".to_owned(),
            code: StatusCode::Error as i32,
        }),
        ..span(
            &trace,
            &charge,
            Some(&root),
            "charge",
            SpanKind::Client,
            start + 10 * MILLI,
            start + 90 * MILLI,
        )
    };
    let select_span = span(
        &trace,
        &select,
        Some(&charge),
        "SELECT carts",
        SpanKind::Client,
        start + 20 * MILLI,
        start + 25 * MILLI,
    );
    let orphan = span(
        &trace,
        &ids::span_id(),
        Some(&ids::span_id()),
        "lookup",
        SpanKind::Internal,
        start + 100 * MILLI,
        start + 101 * MILLI,
    );
    let scope = scope("shop", "1.0.0");
    let request = request(vec![
        resource_spans(resource("frontend", vec![]), scope.clone(), vec![root_span]),
        resource_spans(
            resource("payments", vec![]),
            scope.clone(),
            vec![charge_span],
        ),
        resource_spans(resource("db", vec![]), scope.clone(), vec![select_span]),
        resource_spans(resource("cache", vec![]), scope, vec![orphan]),
    ]);
    Checkout {
        trace_id: ids::hex_id(&trace),
        start,
        request,
    }
}

/// `spangate query --endpoint <gw> ARGS`.
fn query(gw: &TestGateway, args: &[&str]) -> Output {
    let endpoint = gw.query_url();
    let mut all = vec!["query", "--endpoint", endpoint.as_str()];
    all.extend_from_slice(args);
    spangate(&all)
}

/// The whitespace-separated cells of every line.
fn cells(text: &str) -> Vec<Vec<String>> {
    text.lines()
        .map(|line| line.split_whitespace().map(str::to_owned).collect())
        .collect()
}

fn seeded() -> (TestGateway, Checkout) {
    let gw = TestGateway::start();
    let trace = checkout(ids::now_nanos() - 120 * NANOS_PER_SEC);
    gw.grpc().export_ok(&trace.request);
    (gw, trace)
}

#[test]
fn trace_prints_the_span_tree() {
    let (gw, trace) = seeded();
    let text = succeeded(&query(&gw, &["trace", &trace.trace_id]));
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        format!(
            "trace {}: 4 spans, 4 services, 150ms, 1 error",
            trace.trace_id
        ),
        "{text}"
    );
    assert_eq!(lines[1], " OFFSET  DURATION  SPAN", "{text}");
    assert_eq!(
        lines[2], "    +0s     150ms  frontend: GET /checkout",
        "{text}"
    );
    assert_eq!(
        lines[3], "+10.0ms    80.0ms  └─ payments: charge  [ERROR: card declined]",
        "{text}"
    );
    assert_eq!(
        lines[4], "+20.0ms    5.00ms     └─ db: SELECT carts",
        "{text}"
    );
    assert!(
        lines[5].starts_with(" +100ms    1.00ms  cache: lookup  [parent ")
            && lines[5].ends_with(" not in trace]"),
        "{text}"
    );
    assert_eq!(lines.len(), 6, "{text}");

    // Upper case and the short form of an id are accepted as Tempo accepts them.
    let upper = succeeded(&query(&gw, &["trace", &trace.trace_id.to_uppercase()]));
    assert_eq!(upper, text);

    // --json: Tempo's v2 JSON, as the server sent it.
    let json: Value = serde_json::from_str(&succeeded(&query(
        &gw,
        &["trace", &trace.trace_id, "--json"],
    )))
    .expect("--json prints JSON");
    let spans: usize = json["trace"]["resourceSpans"]
        .as_array()
        .expect("resourceSpans")
        .iter()
        .map(|rs| rs["scopeSpans"][0]["spans"].as_array().map_or(0, Vec::len))
        .sum();
    assert_eq!(spans, 4, "{json}");
}

#[test]
fn search_prints_a_table_within_the_window() {
    let (gw, trace) = seeded();
    let other = checkout(trace.start + 5 * NANOS_PER_SEC);
    gw.grpc().export_ok(&other.request);

    let text = succeeded(&query(
        &gw,
        &["search", "{ status = error }", "--since", "1h"],
    ));
    let rows = cells(&text);
    assert_eq!(
        rows[0],
        [
            "TRACE", "ID", "ROOT", "SERVICE", "ROOT", "NAME", "START", "(UTC)", "DURATION",
            "MATCHED"
        ],
        "{text}"
    );
    // Newest first; the root's service and name, its start, 150 ms, one error span.
    for (row, expected) in rows[1..3].iter().zip([&other, &trace]) {
        assert_eq!(row[0], expected.trace_id, "{text}");
        assert_eq!(row[1..4], ["frontend", "GET", "/checkout"], "{text}");
        assert!(row[4].ends_with('Z') && row[4].len() == 20, "{text}");
        assert_eq!(row[5..], ["150ms", "1"], "{text}");
    }
    assert_eq!(rows[3], ["2", "traces"], "{text}");

    let text = succeeded(&query(&gw, &["search", "{}", "--limit", "1"]));
    assert_eq!(cells(&text)[1][0], other.trace_id, "{text}");
    assert_eq!(cells(&text).last().unwrap(), &["1", "trace"], "{text}");

    // A window that ends before the traces began.
    let before = (trace.start / NANOS_PER_SEC - 600).to_string();
    let start = (trace.start / NANOS_PER_SEC - 1200).to_string();
    let text = succeeded(&query(
        &gw,
        &["search", "--start", &start, "--end", &before],
    ));
    assert_eq!(text, "no traces found\n");

    let json: Value = serde_json::from_str(&succeeded(&query(
        &gw,
        &["search", "{ name = \"charge\" }", "--json"],
    )))
    .expect("JSON");
    assert_eq!(json["traces"].as_array().map(Vec::len), Some(2), "{json}");
}

#[test]
fn tags_and_tag_values() {
    let (gw, _trace) = seeded();
    let rows = cells(&succeeded(&query(&gw, &["tags"])));
    assert_eq!(rows[0], ["SCOPE", "TAG"]);
    assert!(
        rows.contains(&vec!["resource".to_owned(), "service.name".to_owned()]),
        "{rows:?}"
    );
    assert!(
        rows.contains(&vec!["span".to_owned(), "http.route".to_owned()]),
        "{rows:?}"
    );
    assert!(
        rows.contains(&vec!["intrinsic".to_owned(), "name".to_owned()]),
        "{rows:?}"
    );

    let rows = cells(&succeeded(&query(&gw, &["tags", "--scope", "span"])));
    assert_eq!(rows, [vec!["SCOPE", "TAG"], vec!["span", "http.route"]]);

    let rows = cells(&succeeded(&query(
        &gw,
        &["tag-values", "resource.service.name"],
    )));
    assert_eq!(rows[0], ["TYPE", "VALUE"]);
    let mut values: Vec<&str> = rows[1..].iter().map(|row| row[1].as_str()).collect();
    values.sort_unstable();
    assert_eq!(values, ["cache", "db", "frontend", "payments"]);
    assert!(rows[1..].iter().all(|row| row[0] == "string"), "{rows:?}");

    let rows = cells(&succeeded(&query(
        &gw,
        &[
            "tag-values",
            "resource.service.name",
            "--query",
            "{ status = error }",
        ],
    )));
    assert_eq!(rows, [vec!["TYPE", "VALUE"], vec!["string", "payments"]]);

    let json: Value = serde_json::from_str(&succeeded(&query(
        &gw,
        &["tag-values", "span.http.route", "--json"],
    )))
    .expect("JSON");
    assert_eq!(json["tagValues"][0]["value"], "/checkout", "{json}");
}

#[test]
fn metrics_print_series_values_and_summaries() {
    let (gw, _trace) = seeded();
    // Few steps: a column per timestamp; the one error span counted once.
    let text = succeeded(&query(
        &gw,
        &[
            "metrics",
            "{ status = error } | count_over_time()",
            "--since",
            "10m",
            "--step",
            "5m",
        ],
    ));
    let rows = cells(&text);
    assert_eq!(rows[0][0], "SERIES", "{text}");
    assert!(rows[0][1..].iter().all(|time| time.len() == 8), "{text}");
    assert_eq!(rows[1][0], "{__name__=\"count_over_time\"}", "{text}");
    let total: f64 = rows[1][1..]
        .iter()
        .map(|v| v.parse::<f64>().expect("value"))
        .sum();
    assert_eq!(total, 1.0, "{text}");

    // Many steps: a summary per series, by service.
    let text = succeeded(&query(
        &gw,
        &[
            "metrics",
            "{} | count_over_time() by (resource.service.name)",
            "--since",
            "30m",
        ],
    ));
    let rows = cells(&text);
    assert_eq!(
        rows[0],
        ["SERIES", "POINTS", "MIN", "MAX", "AVG", "LAST"],
        "{text}"
    );
    let series: Vec<&str> = rows[1..5].iter().map(|row| row[0].as_str()).collect();
    assert!(
        series.contains(&"{resource.service.name=\"payments\"}"),
        "{text}"
    );
    assert!(
        rows[1..5].iter().all(|row| row[3] == "1"),
        "one span per service: {text}"
    );
    assert!(rows[5].join(" ").contains("steps from"), "{text}");

    let text = succeeded(&query(
        &gw,
        &[
            "metrics",
            "{} | count_over_time()",
            "--since",
            "30m",
            "--instant",
        ],
    ));
    assert_eq!(
        cells(&text),
        [
            vec!["SERIES", "VALUE"],
            vec!["{__name__=\"count_over_time\"}", "4"]
        ],
        "{text}"
    );

    let json: Value = serde_json::from_str(&succeeded(&query(
        &gw,
        &["metrics", "{} | rate()", "--since", "10m", "--json"],
    )))
    .expect("JSON");
    assert!(json["series"][0]["samples"].is_array(), "{json}");
}

#[test]
fn org_id_selects_the_tenant() {
    let gw = TestGateway::start_with(GatewayOptions {
        extra_yaml: "multitenancy:\n  enabled: true\n".to_owned(),
        ..GatewayOptions::default()
    });
    let start = ids::now_nanos() - 120 * NANOS_PER_SEC;
    let (a, b) = (checkout(start), checkout(start + NANOS_PER_SEC));
    for (trace, tenant) in [(&a, "team-a"), (&b, "team-b")] {
        gw.grpc()
            .export_with(&trace.request, false, &[("x-scope-orgid", tenant)])
            .expect("export");
    }
    let as_tenant = |tenant: &str, args: &[&str]| {
        let mut all = vec!["--org-id", tenant];
        all.extend_from_slice(args);
        query(&gw, &all)
    };
    let text = succeeded(&as_tenant("team-a", &["trace", &a.trace_id]));
    assert!(text.contains("frontend: GET /checkout"), "{text}");
    failed(
        &as_tenant("team-b", &["trace", &a.trace_id]),
        &[&format!("trace {} not found", a.trace_id)],
    );
    let text = succeeded(&as_tenant("team-b", &["search", "{}"]));
    assert!(
        text.contains(&b.trace_id) && !text.contains(&a.trace_id),
        "{text}"
    );
    let text = succeeded(&as_tenant("team-a|team-b", &["search", "{}"]));
    assert!(
        text.contains(&a.trace_id) && text.contains(&b.trace_id),
        "{text}"
    );
    // No tenant: the server's 401 and its body.
    failed(
        &query(&gw, &["search", "{}"]),
        &["answered 401 Unauthorized: no org id"],
    );
}

#[test]
fn errors_name_what_failed() {
    let (gw, trace) = seeded();
    let port = free_port();
    let out = spangate(&[
        "query",
        "--endpoint",
        &format!("http://127.0.0.1:{port}"),
        "trace",
        &trace.trace_id,
    ]);
    failed(
        &out,
        &[&format!("cannot connect to http://127.0.0.1:{port}")],
    );
    // A bad id is refused before anything is sent: the same unreachable endpoint, but
    // the error is the id.
    let out = spangate(&[
        "query",
        "--endpoint",
        &format!("http://127.0.0.1:{port}"),
        "trace",
        "not-hex",
    ]);
    failed(&out, &["bad trace id \"not-hex\""]);

    let unknown = ids::hex_id(&trace_id_bytes());
    for args in [vec!["trace", &unknown], vec!["trace", &unknown, "--json"]] {
        failed(
            &query(&gw, &args),
            &[&format!("trace {unknown} not found at {}", gw.query_url())],
        );
    }
    failed(
        &query(&gw, &["trace", "not-hex"]),
        &[
            "bad trace id \"not-hex\"",
            "invalid character 'n' at position 1",
        ],
    );
    failed(
        &query(&gw, &["trace", &"a".repeat(33)]),
        &["larger than 128 bits"],
    );
    failed(
        &query(&gw, &["search", "{}", "--limit", "0"]),
        &["answered 400 Bad Request: invalid limit: must be a positive number"],
    );
    failed(
        &query(&gw, &["search", "{ nope"]),
        &["answered 400 Bad Request", "invalid TraceQL query"],
    );
    failed(
        &query(&gw, &["search", "--since", "soon"]),
        &["bad --since \"soon\""],
    );
    failed(
        &query(&gw, &["metrics", "{} | rate()", "--start", "yesterday"]),
        &["bad --start"],
    );
    failed(
        &spangate(&["query", "--endpoint", "localhost:3200", "tags"]),
        &["bad --endpoint \"localhost:3200\""],
    );
}

#[test]
fn a_server_that_never_answers_times_out() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("address"));
    // Accepts (the kernel's backlog does) and never answers.
    let out = spangate(&["query", "--endpoint", &url, "--timeout", "1s", "tags"]);
    failed(
        &out,
        &["/api/v2/search/tags: no answer within 1s (--timeout)"],
    );
    drop(listener);
}

/// An older Tempo without `/api/v2/traces`: answers v2 with Go's 404 and v1 with
/// `batches`; returns its URL and the paths it was asked for.
fn older_tempo(v1_body: String) -> (String, std::thread::JoinHandle<Vec<String>>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("address"));
    let server = std::thread::spawn(move || {
        let mut paths = Vec::new();
        for _ in 0..2 {
            let (stream, _) = listener.accept().expect("accept");
            let mut reader = BufReader::new(stream.try_clone().expect("clone"));
            let mut request_line = String::new();
            reader.read_line(&mut request_line).expect("request line");
            loop {
                let mut header = String::new();
                reader.read_line(&mut header).expect("header");
                if header.trim().is_empty() {
                    break;
                }
            }
            let path = request_line
                .split(' ')
                .nth(1)
                .unwrap_or_default()
                .to_owned();
            let (status, body) = if path.starts_with("/api/v2/") {
                ("404 Not Found", "404 page not found\n".to_owned())
            } else {
                ("200 OK", v1_body.clone())
            };
            let mut stream = stream;
            write!(
                stream,
                "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            )
            .expect("answer");
            paths.push(path);
        }
        paths
    });
    (url, server)
}

#[test]
fn an_older_tempo_is_read_through_v1() {
    let v1 = r#"{"batches":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"legacy"}}]},"instrumentationLibrarySpans":[{"spans":[{"traceId":"AAAAAAAAAAAAAAAAAAAAAQ==","spanId":"AAAAAAAAAAE=","name":"old root","startTimeUnixNano":"1000000000","endTimeUnixNano":"1002000000","status":{}}]}]}]}"#;
    let (url, server) = older_tempo(v1.to_owned());
    let out = spangate(&["query", "--endpoint", &url, "trace", "1"]);
    let text = succeeded(&out);
    assert!(
        text.ends_with("   +0s    2.00ms  legacy: old root\n"),
        "{text}"
    );
    assert_eq!(
        server.join().expect("stub server"),
        [
            "/api/v2/traces/00000000000000000000000000000001",
            "/api/traces/00000000000000000000000000000001"
        ]
    );
}

/// `trace --q` sends trace by id v2's span filter as `tempo-cli query api trace-id --q`
/// does: only the kept spans are printed, with the server's PARTIAL note.
#[test]
fn trace_with_a_span_filter_prints_only_the_kept_spans() {
    let (gw, trace) = seeded();
    let id = trace.trace_id.as_str();
    let select = r#"{ name = "SELECT carts" }"#;
    let with_parents = succeeded(&query(
        &gw,
        &["trace", id, "--q", select, "--keep-hierarchy"],
    ));
    for kept in [
        "frontend: GET /checkout",
        "payments: charge",
        "db: SELECT carts",
    ] {
        assert!(
            with_parents.contains(kept),
            "{kept} missing\n{with_parents}"
        );
    }
    assert!(!with_parents.contains("cache: lookup"), "{with_parents}");
    assert!(
        with_parents.contains("note: PARTIAL: Trace filtered"),
        "{with_parents}"
    );

    let alone = succeeded(&query(&gw, &["trace", id, "--q", select]));
    assert!(alone.contains("db: SELECT carts"), "{alone}");
    assert!(!alone.contains("GET /checkout"), "{alone}");
    assert!(alone.starts_with(&format!("trace {id}: 1 span")), "{alone}");

    let nothing = succeeded(&query(
        &gw,
        &["trace", id, "--q", r#"{ name = "nothing" }"#],
    ));
    assert!(
        nothing.starts_with(&format!("trace {id}: no span matches --q")),
        "{nothing}"
    );

    // The server's 400 for a filter it refuses, and a shaping flag without --q.
    failed(
        &query(&gw, &["trace", id, "--q", "{} >> {}"]),
        &["400", "invalid TraceQL filter"],
    );
    let stray = query(&gw, &["trace", id, "--keep-hierarchy"]);
    assert!(!stray.status.success());
    assert!(
        String::from_utf8_lossy(&stray.stderr).contains("--q"),
        "{}",
        String::from_utf8_lossy(&stray.stderr)
    );
}
