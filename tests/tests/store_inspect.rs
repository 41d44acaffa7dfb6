//! `spangate store inspect DATA_DIR` through the binary: read-only figures of a data
//! directory, beside the gateway that uses it, as tables and as JSON.

use spangate_integration_tests::cli::{self, path_arg};
use spangate_integration_tests::fixtures::{self, NANOS_PER_SEC};
use spangate_integration_tests::{TestGateway, ids};

#[test]
fn inspect_reports_what_a_running_gateway_stored() {
    let gw = TestGateway::start();
    let start = ids::now_nanos() - NANOS_PER_SEC;
    for _ in 0..3 {
        let trace_id = ids::trace_id();
        let spans = fixtures::chain_of_spans(&trace_id, 4, start);
        gw.grpc()
            .export_ok(&fixtures::simple_request("inspected", spans));
    }
    let data_dir = path_arg(gw.data_dir());

    let json: serde_json::Value = serde_json::from_str(&cli::succeeded(&cli::spangate(&[
        "store", "inspect", data_dir, "--json",
    ])))
    .expect("inspect --json prints JSON");
    let tenants = json["tenants"].as_array().expect("tenants");
    assert_eq!(tenants.len(), 1, "{json}");
    assert_eq!(tenants[0]["name"], "single-tenant");
    assert_eq!(tenants[0]["hot_spans"], 12);
    assert_eq!(tenants[0]["hot_traces"], 3);
    assert_eq!(tenants[0]["buckets"], 1);
    assert!(
        tenants[0]["oldest_ingest_unix_seconds"].as_u64().unwrap()
            <= ids::now_nanos() / NANOS_PER_SEC
    );
    assert!(json["disk_bytes"].as_u64().unwrap() > 0);
    assert!(
        json["families"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["name"] == "spans.v2"),
        "{json}"
    );

    let text = cli::succeeded(&cli::spangate(&["store", "inspect", data_dir]));
    let row = text
        .lines()
        .find(|line| line.starts_with("single-tenant"))
        .unwrap_or_else(|| panic!("no tenant row:\n{text}"));
    assert_eq!(row.split_whitespace().nth(1), Some("12"), "{text}");

    // Read-only: the gateway goes on storing and serving.
    let trace_id = ids::trace_id();
    let spans = fixtures::chain_of_spans(&trace_id, 2, start);
    gw.grpc()
        .export_ok(&fixtures::simple_request("inspected", spans));
    gw.wait_for_spans(&ids::hex_id(&trace_id), 2);

    let empty = tempfile::tempdir().unwrap();
    cli::failed(
        &cli::spangate(&["store", "inspect", path_arg(empty.path())]),
        &["not a spangate data directory"],
    );
}
