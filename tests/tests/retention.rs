//! Retention through the real binary: with `storage.retention` of a few seconds, data
//! older than that disappears from every read path (trace by id, search, tag values)
//! and from the disk, while newer data stays whole.

use std::path::Path;
use std::time::{Duration, Instant};

use spangate_integration_tests::fixtures::{self, NANOS_PER_SEC, kv_str};
use spangate_integration_tests::query::url_encode;
use spangate_integration_tests::{GatewayOptions, TestGateway, ids, prom};

const RETENTION_SECONDS: u64 = 8;
const TRACES: usize = 100;
const SPANS_PER_TRACE: usize = 10;
/// Generous: retention plus a busy machine's sweeps.
const EXPIRY_DEADLINE: Duration = Duration::from_secs(90);

fn directory_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|entry| match entry.metadata() {
                    Ok(meta) if meta.is_dir() => directory_bytes(&entry.path()),
                    Ok(meta) => meta.len(),
                    Err(_) => 0,
                })
                .sum()
        })
        .unwrap_or(0)
}

/// 2 KiB of hex from random bytes: about half of it survives compression.
fn payload() -> String {
    (0..64).map(|_| ids::hex_id(&ids::trace_id())).collect()
}

/// Sends `TRACES` traces of `service`, each span with a 2 KiB attribute; returns their ids.
fn send_traces(gw: &TestGateway, service: &str) -> Vec<String> {
    let start = ids::now_nanos() - 5 * NANOS_PER_SEC;
    let mut hex_ids = Vec::new();
    for _ in 0..TRACES {
        let trace_id = ids::trace_id();
        let mut spans = fixtures::chain_of_spans(&trace_id, SPANS_PER_TRACE, start);
        for span in &mut spans {
            span.attributes.push(kv_str("payload", &payload()));
            span.attributes
                .push(kv_str("http.route", &format!("/{service}")));
        }
        gw.grpc()
            .export_ok(&fixtures::simple_request(service, spans));
        hex_ids.push(ids::hex_id(&trace_id));
    }
    hex_ids
}

fn span_count(gw: &TestGateway, hex: &str) -> usize {
    let response = gw.get(&format!("/api/traces/{hex}"));
    match response.status {
        404 => 0,
        200 => gw
            .trace_v1_json(hex)
            .resource_spans
            .iter()
            .flat_map(|r| &r.scope_spans)
            .map(|s| s.spans.len())
            .sum(),
        other => panic!("trace by id answered {other}: {}", response.describe()),
    }
}

fn search_hits(gw: &TestGateway, service: &str) -> usize {
    let now = ids::now_nanos() / NANOS_PER_SEC;
    let query =
        format!("{{ resource.service.name = \"{service}\" && span.http.route = \"/{service}\" }}");
    let response = gw.get(&format!(
        "/api/search?q={}&start={}&end={}&limit=1000",
        url_encode(&query),
        now - 3600,
        now + 60
    ));
    response.ok_json("search")["traces"]
        .as_array()
        .map_or(0, |traces| traces.len())
}

fn tag_values(gw: &TestGateway, tag: &str) -> Vec<String> {
    let response = gw.get(&format!("/api/v2/search/tag/{tag}/values"));
    let body = response.ok_json("tag values");
    body["tagValues"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v["value"].as_str().map(str::to_owned))
        .collect()
}

fn all_gone(gw: &TestGateway, old: &[String]) -> bool {
    old.iter().all(|hex| span_count(gw, hex) == 0)
        && search_hits(gw, "old-svc") == 0
        && !tag_values(gw, "resource.service.name").contains(&"old-svc".to_owned())
        && !tag_values(gw, "span.http.route").contains(&"/old-svc".to_owned())
}

#[test]
fn retention_deletes_old_data_everywhere_and_keeps_newer_data_whole() {
    let gw = TestGateway::start_with(GatewayOptions {
        storage_extra: "retention: 8s",
        ..GatewayOptions::default()
    });
    let old = send_traces(&gw, "old-svc");
    let written_at = Instant::now();
    for hex in &old {
        assert_eq!(span_count(&gw, hex), SPANS_PER_TRACE);
    }
    assert_eq!(search_hits(&gw, "old-svc"), TRACES);
    assert!(tag_values(&gw, "resource.service.name").contains(&"old-svc".to_owned()));
    let peak_bytes = directory_bytes(gw.data_dir());

    // Poll (bounded) until every read path has lost the old data.
    let deadline = Instant::now() + EXPIRY_DEADLINE;
    while !all_gone(&gw, &old) {
        assert!(
            Instant::now() < deadline,
            "old data still readable {EXPIRY_DEADLINE:?} after it was written"
        );
        std::thread::sleep(Duration::from_millis(250));
    }
    assert!(
        written_at.elapsed() >= Duration::from_secs(RETENTION_SECONDS),
        "data went before its retention: {:?}",
        written_at.elapsed()
    );
    // The old bytes left the disk (the batch was ~2 MiB before compression).
    let samples = gw.wait_for_metrics("a retention deletion counted", |samples| {
        prom::sum(
            samples,
            "spangate_store_buckets_deleted_total",
            &[("reason", "retention")],
        ) >= 1.0
    });
    assert!(prom::sum(&samples, "spangate_store_disk_bytes", &[]) > 0.0);
    let after_bytes = directory_bytes(gw.data_dir());
    assert!(
        after_bytes < peak_bytes / 2,
        "disk use did not fall: {peak_bytes} bytes after the old batch, {after_bytes} after it expired"
    );

    // Newer data is whole on every read path.
    let new = send_traces(&gw, "new-svc");
    for hex in &new {
        assert_eq!(span_count(&gw, hex), SPANS_PER_TRACE, "trace {hex}");
    }
    assert_eq!(search_hits(&gw, "new-svc"), TRACES);
    assert!(tag_values(&gw, "resource.service.name").contains(&"new-svc".to_owned()));
}
