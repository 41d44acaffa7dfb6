//! A full disk, for real: the gateway's data directory is a 40 MiB tmpfs mounted by the
//! test (root needed). Spans are sent over OTLP/HTTP and OTLP/gRPC until the store runs
//! out of space: every refusal must be retryable (HTTP 503 + Retry-After, gRPC
//! UNAVAILABLE) and name the problem, and the process stays up. The filesystem then
//! grows to 200 MiB and ingest must resume by itself, without a restart, while clients
//! keep retrying as fast as they can (writes reaching RocksDB during its recovery would
//! make the recovery fail, again and again). Every acknowledged span must then be
//! readable, before and after a SIGKILL and restart on the same directory.

use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::sleep;
use std::time::Duration;

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::trace::v1::ResourceSpans;
use prost::Message;
use spangate_integration_tests::clients::{RpcStatus, assert_no_rejections};
use spangate_integration_tests::fixtures::{self, NANOS_PER_SEC, kv_str, span_count};
use spangate_integration_tests::{
    GatewayOptions, GrpcClient, TestGateway, assert_same_spans, ids, prom,
};
use tempfile::TempDir;

const FULL_MIB: u32 = 40;
const GROWN_MIB: u32 = 200;
/// Spans per request and the bytes of one attribute of each: ~70 KiB per request, so
/// a few hundred fill the filesystem.
const SPANS_PER_REQUEST: usize = 16;
const PAYLOAD_BYTES: usize = 4096;
/// Clients that retry without pause while space returns, per transport, and the most
/// requests each sends.
const HAMMERS_PER_TRANSPORT: usize = 2;
const MAX_HAMMER_REQUESTS: usize = 1_000_000;
/// Requests sent at most while filling: together five times the filesystem.
const MAX_FILL_REQUESTS: usize = 3000;
/// Refusals wanted on each transport before the filesystem grows.
const REFUSALS_PER_TRANSPORT: u32 = 3;
/// Writes resume once RocksDB sees enough free space (it checks every 5 s) and has
/// flushed its memtables: 600 × 200 ms is generous for a debug build on two shared
/// cores. No assertion is made on the time it takes.
const RESUME_POLLS: usize = 600;
const RESUME_PAUSE: Duration = Duration::from_millis(200);
/// Requests per transport that must all be acknowledged once writes resumed.
const AFTER_RESUME: usize = 10;
const NO_SPACE: &str = "no space left on device";

/// A tmpfs of a given size mounted on a fresh directory; unmounted on drop (also when
/// the test panics).
struct Tmpfs {
    mount_point: TempDir,
}

impl Tmpfs {
    fn mount(size_mib: u32) -> Tmpfs {
        let mount_point = tempfile::Builder::new()
            .prefix("spangate-full-disk-")
            .tempdir()
            .expect("create the mount point");
        let size = format!("size={size_mib}m");
        let output = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &size, "tmpfs"])
            .arg(mount_point.path())
            .output()
            .unwrap_or_else(|e| panic!("cannot run `mount`: {e}"));
        assert!(
            output.status.success(),
            "this test mounts a {size_mib} MiB tmpfs as the gateway's data directory and \
             needs root (CAP_SYS_ADMIN): `mount -t tmpfs -o {size} tmpfs {}` failed ({}): {}",
            mount_point.path().display(),
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        );
        Tmpfs { mount_point }
    }

    fn path(&self) -> &Path {
        self.mount_point.path()
    }

    fn resize(&self, size_mib: u32) {
        let output = Command::new("mount")
            .args(["-o", &format!("remount,size={size_mib}m")])
            .arg(self.path())
            .output()
            .unwrap_or_else(|e| panic!("cannot run `mount`: {e}"));
        assert!(
            output.status.success(),
            "remounting {} with size={size_mib}m failed ({}): {}",
            self.path().display(),
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let unmounted = Command::new("umount")
            .arg(self.path())
            .status()
            .is_ok_and(|status| status.success());
        if !unmounted {
            // Still busy (a process that did not exit yet): detach it now, freed when
            // the last user goes.
            let _ = Command::new("umount").arg("-l").arg(self.path()).status();
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Via {
    Http,
    Grpc,
}

impl Via {
    fn label(self) -> &'static str {
        match self {
            Via::Http => "http",
            Via::Grpc => "grpc",
        }
    }

    /// HTTP for even `i`, gRPC for odd.
    fn alternate(i: usize) -> Via {
        if i.is_multiple_of(2) {
            Via::Http
        } else {
            Via::Grpc
        }
    }
}

enum Outcome {
    Acknowledged,
    /// Refused with a retryable status that names the full disk.
    Refused,
}

/// What was sent: every acknowledged trace, and the refusals per transport.
#[derive(Default)]
struct Ledger {
    acknowledged: Vec<(String, Vec<ResourceSpans>)>,
    acknowledged_via: [usize; 2],
    refused_via: [u32; 2],
}

impl Ledger {
    fn merge(&mut self, other: Ledger) {
        self.acknowledged.extend(other.acknowledged);
        for i in 0..2 {
            self.acknowledged_via[i] += other.acknowledged_via[i];
            self.refused_via[i] += other.refused_via[i];
        }
    }

    fn acknowledged_spans(&self) -> usize {
        self.acknowledged
            .iter()
            .map(|(_, spans)| span_count(spans))
            .sum()
    }
}

/// One trace of `spans` spans, each with a `payload_bytes` attribute of random hex
/// (which LZ4 cannot shrink much, so RocksDB's recovery flush has real work to do).
fn request(
    service: &str,
    spans: usize,
    payload_bytes: usize,
) -> (String, ExportTraceServiceRequest) {
    let trace_id = ids::trace_id();
    let start = ids::now_nanos() - 60 * NANOS_PER_SEC;
    let mut spans = fixtures::chain_of_spans(&trace_id, spans, start);
    for span in &mut spans {
        let mut payload = String::with_capacity(payload_bytes + 32);
        while payload.len() < payload_bytes {
            payload.push_str(&ids::hex_id(&ids::trace_id()));
        }
        payload.truncate(payload_bytes);
        span.attributes.push(kv_str("payload", &payload));
    }
    (
        ids::hex_id(&trace_id),
        fixtures::simple_request(service, spans),
    )
}

/// Sends to one gateway and keeps the ledger.
struct Sender<'a> {
    gateway: &'a TestGateway,
    grpc: GrpcClient,
    ledger: Ledger,
}

impl<'a> Sender<'a> {
    fn new(gateway: &'a TestGateway, ledger: Ledger) -> Self {
        Sender {
            gateway,
            grpc: gateway.grpc(),
            ledger,
        }
    }

    /// Sends a new trace over `via`; an acknowledged one is recorded, a refusal must be
    /// retryable and name the full disk.
    fn send(&mut self, via: Via, service: &str) -> Outcome {
        self.send_sized(via, service, SPANS_PER_REQUEST, PAYLOAD_BYTES)
    }

    fn send_sized(
        &mut self,
        via: Via,
        service: &str,
        spans: usize,
        payload_bytes: usize,
    ) -> Outcome {
        let (hex, request) = request(service, spans, payload_bytes);
        let outcome = match via {
            Via::Http => self.send_http(&request),
            Via::Grpc => self.send_grpc(&request),
        };
        match outcome {
            Outcome::Acknowledged => {
                self.ledger.acknowledged.push((hex, request.resource_spans));
                self.ledger.acknowledged_via[via as usize] += 1;
            }
            Outcome::Refused => self.ledger.refused_via[via as usize] += 1,
        }
        outcome
    }

    fn send_http(&self, request: &ExportTraceServiceRequest) -> Outcome {
        let response = self.gateway.post_protobuf(request, false);
        if response.status == 200 {
            let decoded =
                spangate_integration_tests::clients::decode_http_export_response(&response, false);
            assert_no_rejections(&decoded, "OTLP/HTTP export");
            return Outcome::Acknowledged;
        }
        assert_eq!(
            response.status,
            503,
            "a full disk must give a retryable 503: {}",
            response.describe()
        );
        let retry_after = response.header("retry-after");
        assert!(
            retry_after
                .as_deref()
                .and_then(|value| value.parse::<u64>().ok())
                .is_some_and(|seconds| seconds >= 1),
            "a 503 must carry Retry-After (seconds), got {retry_after:?}: {}",
            response.describe()
        );
        let status = RpcStatus::decode(response.body.as_slice())
            .unwrap_or_else(|e| panic!("503 body is not a google.rpc.Status ({e})"));
        assert!(
            status.message.contains(NO_SPACE),
            "the refusal should name the full disk: {:?}",
            status.message
        );
        Outcome::Refused
    }

    fn send_grpc(&self, request: &ExportTraceServiceRequest) -> Outcome {
        match self.grpc.export(request) {
            Ok(response) => {
                assert_no_rejections(&response, "OTLP/gRPC export");
                Outcome::Acknowledged
            }
            Err(status) => {
                assert_eq!(
                    status.code(),
                    tonic::Code::Unavailable,
                    "a full disk must give a retryable UNAVAILABLE: {status:?}"
                );
                assert!(
                    status.message().contains(NO_SPACE),
                    "the refusal should name the full disk: {status:?}"
                );
                Outcome::Refused
            }
        }
    }

    /// Sends over `via`; it must be acknowledged.
    #[track_caller]
    fn send_ok(&mut self, via: Via, service: &str) {
        let outcome = self.send(via, service);
        assert!(
            matches!(outcome, Outcome::Acknowledged),
            "a {} export was refused although the disk has room\n{}",
            via.label(),
            self.gateway.logs()
        );
    }
}

/// Every acknowledged trace is returned whole by trace-by-id, and the number of spans
/// read back is the number acknowledged.
fn assert_all_stored(gateway: &TestGateway, ledger: &Ledger, when: &str) {
    let mut stored = 0;
    for (hex, expected) in &ledger.acknowledged {
        let trace = gateway.trace_v1_protobuf(hex).resource_spans;
        assert_same_spans(expected, &trace, &format!("trace {hex} {when}"));
        stored += span_count(&trace);
    }
    assert_eq!(
        stored,
        ledger.acknowledged_spans(),
        "spans stored vs acknowledged {when}"
    );
}

/// Sends small traces over `via` without pause until `stop` (bounded); returns what it
/// sent.
fn hammer(gateway: &TestGateway, via: Via, stop: &AtomicBool) -> Ledger {
    let mut sender = Sender::new(gateway, Ledger::default());
    for _ in 0..MAX_HAMMER_REQUESTS {
        if stop.load(Ordering::Relaxed) {
            break;
        }
        sender.send_sized(via, "retrying", 1, 64);
    }
    sender.ledger
}

#[track_caller]
fn assert_running(gateway: &mut TestGateway, when: &str) {
    assert!(
        gateway.is_running(),
        "spangate exited {when}\n{}",
        gateway.logs()
    );
}

#[test]
fn a_full_disk_refuses_retryably_loses_nothing_and_heals_by_itself() {
    // Declared before the gateway, so it is unmounted after the gateway is killed.
    let tmpfs = Tmpfs::mount(FULL_MIB);
    let outside = tempfile::tempdir().expect("temp dir");
    let mut gateway = TestGateway::start_with(GatewayOptions {
        data_dir: Some(tmpfs.path().join("data")),
        // Nothing but the store may write into the small filesystem.
        extra_yaml: format!(
            "plugins:\n  cache_dir: \"{}\"\n",
            outside.path().join("plugin-cache").display()
        ),
        ..GatewayOptions::default()
    });
    let mut sender = Sender::new(&gateway, Ledger::default());

    // Fill the filesystem until both transports have been refused a few times.
    let mut sent = 0;
    while sender
        .ledger
        .refused_via
        .iter()
        .any(|r| *r < REFUSALS_PER_TRANSPORT)
    {
        assert!(
            sent < MAX_FILL_REQUESTS,
            "{sent} requests (~{} MiB) never filled a {FULL_MIB} MiB filesystem: refused {:?}",
            sent * SPANS_PER_REQUEST * PAYLOAD_BYTES / (1024 * 1024),
            sender.ledger.refused_via
        );
        sender.send(Via::alternate(sent), "filling");
        sent += 1;
    }
    let ledger = sender.ledger;
    assert!(
        ledger.acknowledged_via.iter().all(|n| *n > 0),
        "both transports should have stored spans before the disk filled: {:?}",
        ledger.acknowledged_via
    );
    assert_running(&mut gateway, "when the disk filled");

    // While the disk is full: reads still work, the refusals are counted by reason,
    // the store says it is out of space, and the log says so once.
    let (first_hex, first_spans) = &ledger.acknowledged[0];
    let read = gateway.trace_v1_protobuf(first_hex).resource_spans;
    assert_same_spans(first_spans, &read, "a trace read while the disk is full");
    let metrics = gateway.metrics();
    assert_no_space_refusals_counted(&metrics, &ledger);
    assert!(
        prom::sum(
            &metrics,
            "spangate_discarded_spans_total",
            &[("tenant", "single-tenant"), ("reason", "no_space")]
        ) > 0.0,
        "the refused requests' spans are counted for their tenant"
    );
    assert_eq!(
        prom::sum(&metrics, "spangate_store_out_of_space", &[]),
        1.0,
        "the store should report it is out of space"
    );
    gateway.wait_for_log("store is out of disk space", 1);
    assert_eq!(
        gateway
            .stderr()
            .matches("store is out of disk space")
            .count(),
        1,
        "the switch to refusing writes is logged once"
    );

    let ledger_len_before_resume = ledger.acknowledged.len();
    let spans_before_resume = ledger.acknowledged_spans();
    let refused_before_resume = ledger.refused_via;
    // Space returns: ingest resumes by itself, without a restart, while clients keep
    // retrying without pause.
    tmpfs.resize(GROWN_MIB);
    let mut sender = Sender::new(&gateway, ledger);
    let stop = AtomicBool::new(false);
    let mut polls = 0;
    let (gateway_ref, stop_ref) = (&gateway, &stop);
    let hammered = std::thread::scope(|scope| {
        let hammers: Vec<_> = [Via::Http, Via::Grpc]
            .into_iter()
            .flat_map(|via| std::iter::repeat_n(via, HAMMERS_PER_TRANSPORT))
            .map(|via| scope.spawn(move || hammer(gateway_ref, via, stop_ref)))
            .collect();
        let resumed = loop {
            if let Outcome::Acknowledged = sender.send(Via::alternate(polls), "resuming") {
                break true;
            }
            polls += 1;
            // A retrying client that stopped has failed: its join below says why.
            if polls >= RESUME_POLLS || hammers.iter().any(|hammer| hammer.is_finished()) {
                break false;
            }
            sleep(RESUME_PAUSE);
        };
        stop.store(true, Ordering::Relaxed);
        let hammered: Vec<Ledger> = hammers
            .into_iter()
            .map(|hammer| hammer.join().expect("a retrying client panicked"))
            .collect();
        assert!(
            resumed,
            "ingest did not resume within {RESUME_POLLS} polls after the filesystem grew to \
             {GROWN_MIB} MiB\n{}",
            gateway.logs()
        );
        hammered
    });
    let hammer_requests: u32 = hammered
        .iter()
        .map(|l| l.refused_via.iter().sum::<u32>() + l.acknowledged.len() as u32)
        .sum();
    for ledger in hammered {
        sender.ledger.merge(ledger);
    }
    eprintln!(
        "filled with {} acknowledged traces ({} spans), refused {:?} (http, grpc) while full; \
         resumed after {polls} refused polls of {RESUME_PAUSE:?}, while {hammer_requests} \
         requests of retrying clients were answered",
        ledger_len_before_resume, spans_before_resume, refused_before_resume
    );
    for _ in 0..AFTER_RESUME {
        sender.send_ok(Via::Http, "resumed");
        sender.send_ok(Via::Grpc, "resumed");
    }
    let ledger = sender.ledger;
    assert_running(&mut gateway, "after space returned");
    assert_eq!(gateway.starts(), 1, "the gateway was never restarted");
    gateway.wait_for_log("store writes resumed", 1);
    let metrics = gateway.metrics();
    assert_eq!(
        prom::sum(&metrics, "spangate_store_out_of_space", &[]),
        0.0,
        "the store should no longer report it is out of space"
    );
    assert_no_space_refusals_counted(&metrics, &ledger);
    assert_eq!(
        prom::sum(&metrics, "spangate_spans_accepted_total", &[]),
        ledger.acknowledged_spans() as f64,
        "spans the gateway counted as accepted vs acknowledged to the clients"
    );
    assert_all_stored(&gateway, &ledger, "after space returned");

    // Nothing acknowledged is lost, nothing is corrupt, after a SIGKILL and a restart.
    gateway.kill();
    gateway.restart();
    assert_all_stored(&gateway, &ledger, "after SIGKILL and restart");
    let mut sender = Sender::new(&gateway, ledger);
    sender.send_ok(Via::Http, "restarted");
    sender.send_ok(Via::Grpc, "restarted");
    let ledger = sender.ledger;
    assert_all_stored(&gateway, &ledger, "after writes following the restart");
}

/// Every refusal for lack of space the clients got is counted, per transport.
#[track_caller]
fn assert_no_space_refusals_counted(metrics: &[prom::Sample], ledger: &Ledger) {
    for via in [Via::Http, Via::Grpc] {
        assert_eq!(
            prom::sum(
                metrics,
                "spangate_requests_refused_total",
                &[("transport", via.label()), ("reason", "no_space")]
            ),
            f64::from(ledger.refused_via[via as usize]),
            "refusals for lack of space over {}",
            via.label()
        );
    }
}
