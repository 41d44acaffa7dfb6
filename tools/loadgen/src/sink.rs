//! `sink`: an OTLP/gRPC receiver that acknowledges every export and counts what it got,
//! for benchmarks of a forwarding gateway (the upstream should cost little and store
//! nothing). Prints the running totals every second on stderr and once more at exit.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use tonic::codec::CompressionEncoding;
use tonic::{Request, Response, Status};

use crate::SinkArgs;

#[derive(Default)]
struct Counts {
    requests: AtomicU64,
    spans: AtomicU64,
}

struct Sink {
    counts: Arc<Counts>,
}

#[tonic::async_trait]
impl TraceService for Sink {
    async fn export(
        &self,
        request: Request<ExportTraceServiceRequest>,
    ) -> Result<Response<ExportTraceServiceResponse>, Status> {
        let spans: usize = request
            .get_ref()
            .resource_spans
            .iter()
            .flat_map(|r| &r.scope_spans)
            .map(|s| s.spans.len())
            .sum();
        self.counts.requests.fetch_add(1, Ordering::Relaxed);
        self.counts.spans.fetch_add(spans as u64, Ordering::Relaxed);
        Ok(Response::new(ExportTraceServiceResponse::default()))
    }
}

pub(crate) fn run(args: &SinkArgs) -> anyhow::Result<()> {
    let address: SocketAddr = args
        .listen
        .parse()
        .with_context(|| format!("--listen {}", args.listen))?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.threads as usize)
        .enable_all()
        .build()?;
    let counts = Arc::new(Counts::default());
    let service = TraceServiceServer::new(Sink {
        counts: counts.clone(),
    })
    .accept_compressed(CompressionEncoding::Gzip)
    .max_decoding_message_size(64 << 20);
    let report = counts.clone();
    runtime.block_on(async move {
        let started = Instant::now();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_secs(1)).await;
                eprintln!(
                    "sink: {:.0}s requests={} spans={}",
                    started.elapsed().as_secs_f64(),
                    report.requests.load(Ordering::Relaxed),
                    report.spans.load(Ordering::Relaxed)
                );
            }
        });
        let stop = async {
            let _ = tokio::signal::ctrl_c().await;
        };
        tonic::transport::Server::builder()
            .add_service(service)
            .serve_with_shutdown(address, stop)
            .await
            .context("serving OTLP/gRPC")
    })?;
    println!(
        "sink: requests={} spans={}",
        counts.requests.load(Ordering::Relaxed),
        counts.spans.load(Ordering::Relaxed)
    );
    Ok(())
}
