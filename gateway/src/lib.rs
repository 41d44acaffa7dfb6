//! Spangate: an OTLP gateway whose spans land in an embedded RocksDB store and are
//! read back through a Tempo-compatible API.
//!
//! `run` wires the modules together and owns the server tasks; it holds no logic.
//! Which module may import which is the table in ARCHITECTURE.md ("Modules"), checked
//! by the `layering` test: imports point one way, from the edges (receivers, the query
//! API, metrics) down through ingest, the pipeline, search and the store to `model`.

// Public: what the binary (config, logging, plugin_tool, plugin_new), the benches
// (store, pipeline, plugin, model) and the end-to-end tests (plugin, model, query's
// `tempopb`) use.
pub mod access;
mod announce;
pub mod config;
mod forward;
/// Entry points for the fuzz targets of `fuzz/` (a crate of its own, built by
/// `cargo fuzz`): the functions request bodies, query strings, plugin answers and stored
/// values go through, reachable from outside this crate. Each area's `fuzzing` module
/// wraps its own private code; nothing here is an API, and the gateway never calls it.
#[doc(hidden)]
pub mod fuzzing {
    pub use crate::ingest::fuzzing::*;
    pub use crate::plugin::fuzzing::*;
    pub use crate::query::fuzzing::*;
    pub use crate::receiver::fuzzing::*;
    pub use crate::receiver::jaeger::fuzzing::*;
    pub use crate::receiver::zipkin::fuzzing::*;
    pub use crate::store::fuzzing::*;
}
mod fx_hash;
mod ingest;
#[cfg(test)]
mod layering;
pub mod logging;
mod metrics;
pub mod model;
pub mod pipeline;
pub mod plugin;
pub mod plugin_new;
pub mod plugin_tool;
pub mod query;
pub mod query_cli;
mod receiver;
mod search;
pub mod store;
mod tail;
pub mod tenant;
mod ui;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::serve::ListenerExt;
use tokio::net::{TcpListener, UdpSocket};
use tokio_util::sync::CancellationToken;

use crate::access::ListenerAccess;
use crate::config::Config;
use crate::forward::Forwarder;
use crate::ingest::{Ingest, PipelineSettings, TenantStartError, Tenants};
use crate::metrics::remote_write::{RemoteWriteError, RemoteWriter};
use crate::pipeline::PipelineError;
use crate::plugin::{PluginError, PluginRuntime, RuntimeSettings};
use crate::receiver::ReceiverStats;
use crate::store::{StoreError, TraceStore};
use crate::tenant::Tenancy;

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("cannot listen on {address} (`{key}`): {source}")]
    Bind {
        key: &'static str,
        address: SocketAddr,
        source: std::io::Error,
    },
    #[error("cannot open the store: {0}")]
    Store(#[from] StoreError),
    #[error(transparent)]
    Config(#[from] config::ConfigError),
    #[error("cannot start the plugin runtime: {0}")]
    PluginRuntime(#[from] PluginError),
    #[error(transparent)]
    Pipeline(#[from] PipelineError),
    #[error(transparent)]
    Tenant(#[from] TenantStartError),
    #[error(transparent)]
    RemoteWrite(#[from] RemoteWriteError),
    #[error("cannot set up TLS or credentials: {0}")]
    Access(#[from] access::AccessError),
    #[error("cannot start the exporters: {0}")]
    Exporters(String),
    #[error("{server} server failed: {message}")]
    Server {
        server: &'static str,
        message: String,
    },
}

/// Bound sockets, so the caller (or a test) knows the real ports before serving.
pub struct Listeners {
    pub otlp_grpc: Option<TcpListener>,
    pub otlp_http: Option<TcpListener>,
    pub zipkin: Option<TcpListener>,
    pub query: TcpListener,
    pub jaeger: JaegerListeners,
}

/// The Jaeger receivers' sockets; `None` where a transport is off.
pub struct JaegerListeners {
    pub grpc: Option<TcpListener>,
    pub thrift_http: Option<TcpListener>,
    pub thrift_compact: Option<UdpSocket>,
    pub thrift_binary: Option<UdpSocket>,
}

impl Listeners {
    pub async fn bind(config: &Config) -> Result<Listeners, RunError> {
        let addrs = config.listen_addrs()?;
        let otlp_grpc = match addrs.otlp_grpc {
            Some(address) => Some(bind("receivers.otlp_grpc.listen", address).await?),
            None => None,
        };
        let otlp_http = match addrs.otlp_http {
            Some(address) => Some(bind("receivers.otlp_http.listen", address).await?),
            None => None,
        };
        let zipkin = match addrs.zipkin {
            Some(address) => Some(bind("receivers.zipkin.listen", address).await?),
            None => None,
        };
        let query = bind("query.listen", addrs.query).await?;
        let jaeger = JaegerListeners {
            grpc: bind_some(receiver::jaeger::GRPC_LISTEN_KEY, addrs.jaeger.grpc).await?,
            thrift_http: bind_some(
                receiver::jaeger::THRIFT_HTTP_LISTEN_KEY,
                addrs.jaeger.thrift_http,
            )
            .await?,
            thrift_compact: bind_udp(
                receiver::jaeger::THRIFT_COMPACT_LISTEN_KEY,
                addrs.jaeger.thrift_compact,
            )
            .await?,
            thrift_binary: bind_udp(
                receiver::jaeger::THRIFT_BINARY_LISTEN_KEY,
                addrs.jaeger.thrift_binary,
            )
            .await?,
        };
        Ok(Listeners {
            otlp_grpc,
            otlp_http,
            zipkin,
            query,
            jaeger,
        })
    }
}

async fn bind_some(
    key: &'static str,
    address: Option<SocketAddr>,
) -> Result<Option<TcpListener>, RunError> {
    match address {
        Some(address) => Ok(Some(bind(key, address).await?)),
        None => Ok(None),
    }
}

async fn bind_udp(
    key: &'static str,
    address: Option<SocketAddr>,
) -> Result<Option<UdpSocket>, RunError> {
    let Some(address) = address else {
        return Ok(None);
    };
    UdpSocket::bind(address)
        .await
        .map(Some)
        .map_err(|source| RunError::Bind {
            key,
            address,
            source,
        })
}

async fn bind(key: &'static str, address: SocketAddr) -> Result<TcpListener, RunError> {
    TcpListener::bind(address)
        .await
        .map_err(|source| RunError::Bind {
            key,
            address,
            source,
        })
}

/// Serves until `shutdown` is cancelled, then stops the receivers, waits for
/// in-flight writes to commit, and closes the store.
pub async fn run(
    config: Config,
    listeners: Listeners,
    shutdown: CancellationToken,
) -> Result<(), RunError> {
    let access = ListenerAccesses::load(&config)?;
    let bound = |listener: &TcpListener| listener.local_addr().ok();
    let urls = announce::Urls::of(
        listeners.otlp_grpc.as_ref().and_then(bound),
        listeners.otlp_http.as_ref().and_then(bound),
        bound(&listeners.query),
        &config,
    );
    let store = Arc::new(TraceStore::open(&config.storage)?);
    // The absolute path, so nobody wonders which `./data` was opened.
    let data_dir = std::fs::canonicalize(&config.storage.data_dir)
        .unwrap_or_else(|_| config.storage.data_dir.clone());
    tracing::info!(data_dir = %data_dir.display(), "store opened");
    let runtime = PluginRuntime::new(RuntimeSettings {
        cache_dir: Some(config.plugin_cache_dir()),
        ..RuntimeSettings::default()
    })?;
    // Stopped after ingest has drained, so what the drain commits is sent too.
    let forward_stop = CancellationToken::new();
    let forwarder = Arc::new(if config.exporters.is_empty() {
        Forwarder::none()
    } else {
        Forwarder::start(
            &config.exporters,
            store.clone(),
            &config.base_dir,
            forward_stop.clone(),
        )
        .await
        .map_err(|error| RunError::Exporters(error.to_string()))?
    });
    if !config.storage.enabled {
        tracing::info!(
            exporters = config.exporters.len(),
            "storage off: spans are forwarded, not kept; the query API answers that storage is off"
        );
    }
    let tenancy = Tenancy::new(&config.multitenancy);
    let tenants = Arc::new(Tenants::new(
        store.clone(),
        forwarder.clone(),
        runtime,
        tenancy.enabled(),
        config.overrides.clone(),
        PipelineSettings::new(&config.pipeline, &config.overrides, config.base_dir.clone()),
        shutdown.clone(),
    ));
    tenants.start().await?;
    if tenancy.enabled() {
        tracing::info!(
            multi_tenant_queries = config.multitenancy.multi_tenant_queries_enabled,
            "multi-tenancy on: X-Scope-OrgID is required"
        );
    }
    let block_builder = (config.storage.enabled && config.storage.blocks.enabled)
        .then(|| tokio::spawn(build_blocks(store.clone(), shutdown.clone())));
    let sweeper = tokio::spawn(sweep_store(store.clone(), shutdown.clone()));
    let memory = ingest::memory::start(&config.limits, store.clone());
    let ingest = Ingest::new(tenants.clone(), &config.ingest, memory.clone());
    let receiver_stats = Arc::new(ReceiverStats::default());
    tokio::spawn(reload_on_sighup(
        tenants.clone(),
        config.source.clone(),
        shutdown.clone(),
    ));
    let metrics_tenant_label = tenancy
        .enabled()
        .then(|| config.multitenancy.tenant_label.clone());
    // Stopped after ingest has drained (not with `shutdown`), so its final push
    // counts every acknowledged span.
    let remote_write_stop = CancellationToken::new();
    let remote_write = match config.remote_write_settings()? {
        Some(settings) => {
            let writer = RemoteWriter::new(settings)?;
            let stats = writer.stats();
            let task = tokio::spawn(writer.run(
                tenants.clone(),
                metrics_tenant_label.clone(),
                remote_write_stop.clone(),
            ));
            Some((task, stats))
        }
        None => None,
    };

    let mut servers = tokio::task::JoinSet::new();
    if let Some(listener) = listeners.otlp_grpc {
        let ingest = ingest.clone();
        let stats = receiver_stats.clone();
        let max = config.receivers.otlp_grpc.max_message_bytes;
        let (stop, access) = (shutdown.clone(), access.otlp_grpc.clone());
        servers.spawn(async move {
            receiver::grpc::serve(listener, access, ingest, tenancy, stats, max, stop)
                .await
                .map_err(|error| server_error("otlp grpc", error))
        });
    }
    if let Some(listener) = listeners.otlp_http {
        let router = receiver::http::router(
            ingest.clone(),
            tenancy,
            receiver_stats.clone(),
            config.receivers.otlp_http.max_body_bytes,
        );
        servers.spawn(serve_http(
            "otlp http",
            listener,
            router,
            shutdown.clone(),
            access.otlp_http.clone(),
        ));
    }
    serve_jaeger(
        &mut servers,
        listeners.jaeger,
        receiver::jaeger::Sink::new(ingest.clone(), receiver_stats.clone()),
        &config,
        tenancy,
        receiver_stats.clone(),
        &shutdown,
    );
    if let (Some(listener), Some(zipkin)) = (listeners.zipkin, &config.receivers.zipkin) {
        let router = receiver::zipkin::router(
            ingest.clone(),
            tenancy,
            receiver_stats.clone(),
            zipkin.max_body_bytes,
        );
        servers.spawn(serve_http(
            "zipkin",
            listener,
            router,
            shutdown.clone(),
            ListenerAccess::default(),
        ));
    }
    // One listener for HTTP/1.1 and cleartext HTTP/2: the router sends gRPC
    // (`tempopb.StreamingQuerier`, Grafana's streaming) to tonic, the rest to axum.
    let metrics_routes = metrics::router(metrics::MetricsSources {
        receivers: receiver_stats,
        tenants: tenants.clone(),
        tenant_label: metrics_tenant_label.clone(),
        remote_write: remote_write.as_ref().map(|(_, stats)| stats.clone()),
        store: store.clone(),
        forwarder: forwarder.clone(),
        memory,
        write_queue: ingest.write_queue(),
    });
    let view = ui::ViewSettings {
        tenant_label: metrics_tenant_label,
    };
    let query_routes = if config.storage.enabled {
        query::router(
            query::QueryState {
                store: store.clone(),
                search: Arc::new(search::SearchEngine::new(
                    store.clone(),
                    config.query.search.clone(),
                )),
                tenancy,
                limits: query::QueryLimits::new(
                    config.query.max_concurrent_queries,
                    config.query.query_timeout,
                    usize::try_from(config.query.max_query_expression_size_bytes)
                        .unwrap_or(usize::MAX),
                ),
                max_bytes_per_trace: usize::try_from(config.query.max_bytes_per_trace)
                    .unwrap_or(usize::MAX),
                view,
            },
            metrics_routes,
        )
    } else {
        query::storage_off_router(metrics_routes, &view)
    };
    servers.spawn(serve_http(
        "query",
        listeners.query,
        query_routes,
        shutdown.clone(),
        access.query.clone(),
    ));
    urls.log();

    let mut result = Ok(());
    while let Some(joined) = servers.join_next().await {
        let outcome = joined.unwrap_or_else(|error| Err(server_error("task", error)));
        if let Err(error) = outcome {
            tracing::error!(%error, "server stopped; shutting down");
            shutdown.cancel();
            if result.is_ok() {
                result = Err(error);
            }
        }
    }
    ingest.drain().await;
    drop(ingest);
    forward_stop.cancel();
    if let Some((task, _)) = remote_write {
        remote_write_stop.cancel();
        if let Err(error) = task.await {
            tracing::error!(%error, "remote-write task failed");
        }
    }
    if let Some(task) = block_builder
        && let Err(error) = task.await
    {
        tracing::error!(%error, "block builder failed");
    }
    if let Err(error) = sweeper.await {
        tracing::error!(%error, "retention sweeper failed");
    }
    drop(store);
    tracing::info!("stopped; every acknowledged span is in the store");
    result
}

/// Starts the Jaeger receivers that have a socket.
fn serve_jaeger(
    servers: &mut tokio::task::JoinSet<Result<(), RunError>>,
    listeners: JaegerListeners,
    sink: receiver::jaeger::Sink,
    config: &Config,
    tenancy: Tenancy,
    stats: Arc<ReceiverStats>,
    shutdown: &CancellationToken,
) {
    let jaeger = config.receivers.jaeger.clone().unwrap_or_default();
    if let (Some(listener), Some(grpc)) = (listeners.grpc, jaeger.grpc) {
        let (sink, stop) = (sink.clone(), shutdown.clone().cancelled_owned());
        servers.spawn(async move {
            receiver::jaeger::grpc::serve(
                listener,
                sink,
                tenancy,
                stats,
                grpc.max_message_bytes,
                stop,
            )
            .await
            .map_err(|error| server_error("jaeger grpc", error))
        });
    }
    if let (Some(listener), Some(http)) = (listeners.thrift_http, jaeger.thrift_http) {
        let router = receiver::jaeger::http::router(sink.clone(), tenancy, http.max_body_bytes);
        servers.spawn(serve_http(
            "jaeger thrift http",
            listener,
            router,
            shutdown.clone(),
            ListenerAccess::default(),
        ));
    }
    for (socket, protocol) in [
        (
            listeners.thrift_compact,
            receiver::jaeger::UdpProtocol::Compact,
        ),
        (
            listeners.thrift_binary,
            receiver::jaeger::UdpProtocol::Binary,
        ),
    ] {
        if let Some(socket) = socket {
            let (sink, stop) = (sink.clone(), shutdown.clone());
            servers.spawn(async move {
                receiver::jaeger::udp::serve(socket, protocol, sink, stop).await;
                Ok(())
            });
        }
    }
}

/// Runs `job` on the blocking pool every `interval` until `shutdown`; a run under way
/// when `shutdown` comes is finished first. A failure is logged (`failed`, then the
/// error) and the job runs again at the next interval.
async fn every<E: std::fmt::Display + Send + 'static>(
    interval: Duration,
    shutdown: CancellationToken,
    store: Arc<TraceStore>,
    failed: &'static str,
    job: fn(&TraceStore) -> Result<(), E>,
) {
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(interval) => {}
        }
        let store = store.clone();
        match tokio::task::spawn_blocking(move || job(&store)).await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => tracing::error!(%error, "{failed}"),
            Err(error) => tracing::error!(%error, "{failed} (panicked)"),
        }
    }
}

/// Every `storage.blocks.interval`, moves what is due from the hot rows into blocks.
async fn build_blocks(store: Arc<TraceStore>, shutdown: CancellationToken) {
    let interval = store.blocks_config().interval;
    let job: fn(&TraceStore) -> Result<(), store::StoreError> =
        |store| store.build_due_blocks().map(drop);
    every(
        interval,
        shutdown,
        store,
        "building blocks failed; the spans stay in the hot tier",
        job,
    )
    .await;
}

/// Every few seconds, deletes what retention and the disk cap expired.
async fn sweep_store(store: Arc<TraceStore>, shutdown: CancellationToken) {
    let interval = store.sweep_interval();
    let job: fn(&TraceStore) -> Result<(), store::StoreError> = |store| store.sweep().map(drop);
    every(
        interval,
        shutdown,
        store,
        "deleting expired data failed; retrying at the next sweep",
        job,
    )
    .await;
}

/// `SIGHUP` re-reads the config file and swaps in its pipelines (the top-level one and
/// the tenants' own); other sections of the file are validated but only take effect on
/// restart. A failed reload keeps the running pipelines and logs why.
async fn reload_on_sighup(
    tenants: Arc<Tenants>,
    config_file: Option<PathBuf>,
    shutdown: CancellationToken,
) {
    use tokio::signal::unix::{SignalKind, signal};
    let Ok(mut hangup) = signal(SignalKind::hangup()) else {
        tracing::warn!("cannot install the SIGHUP handler; plugins reload only on restart");
        return;
    };
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            received = hangup.recv() => if received.is_none() { return },
        }
        let Some(path) = config_file.clone() else {
            tenants.record_reload(false);
            tracing::error!(
                "reload failed; the running pipeline stays: no --config file to reload from \
                 (running on the embedded default)"
            );
            continue;
        };
        let reloading = tenants.clone();
        let reload = move || -> Result<usize, RunError> {
            let config = Config::from_file(&path)?;
            let plugins = reloading.reload(PipelineSettings::new(
                &config.pipeline,
                &config.overrides,
                config.base_dir.clone(),
            ))?;
            tracing::info!(plugins, config = %path.display(), "configuration re-read; pipeline reloaded");
            Ok(plugins)
        };
        let succeeded = match tokio::task::spawn_blocking(reload).await {
            Ok(Ok(_)) => true,
            Ok(Err(error)) => {
                tracing::error!(%error, "reload failed; the running pipeline stays");
                false
            }
            Err(error) => {
                tracing::error!(%error, "reload task failed");
                false
            }
        };
        tenants.record_reload(succeeded);
    }
}

/// The TLS and credentials of each TCP listener that has them.
struct ListenerAccesses {
    otlp_grpc: ListenerAccess,
    otlp_http: ListenerAccess,
    query: ListenerAccess,
}

impl ListenerAccesses {
    fn load(config: &Config) -> Result<ListenerAccesses, RunError> {
        let load = |key, tls: &Option<_>, auth: &Option<_>, open_paths| {
            ListenerAccess::load(
                key,
                tls.as_ref(),
                auth.as_ref(),
                &config.base_dir,
                open_paths,
            )
        };
        let (grpc, http) = (&config.receivers.otlp_grpc, &config.receivers.otlp_http);
        Ok(ListenerAccesses {
            otlp_grpc: load("receivers.otlp_grpc", &grpc.tls, &grpc.auth, &[])?,
            otlp_http: load("receivers.otlp_http", &http.tls, &http.auth, &[])?,
            // Readiness probes carry no credentials.
            query: load("query", &config.query.tls, &config.query.auth, &["/ready"])?,
        })
    }
}

async fn serve_http(
    name: &'static str,
    listener: TcpListener,
    router: axum::Router,
    shutdown: CancellationToken,
    access: ListenerAccess,
) -> Result<(), RunError> {
    let address = listener
        .local_addr()
        .map(|a| a.to_string())
        .unwrap_or_default();
    let router = match access.auth_layer() {
        Some(auth) => router.layer(auth),
        None => router,
    };
    access.watch(&shutdown);
    let stop = shutdown.clone().cancelled_owned();
    let served = match access.tls_incoming(listener, shutdown) {
        Ok(tls) => {
            tracing::info!(%address, tls = true, "{name} listening");
            axum::serve(tls, router).with_graceful_shutdown(stop).await
        }
        Err(listener) => {
            tracing::info!(%address, "{name} listening");
            // Without TCP_NODELAY, small responses wait out delayed ACKs (~40 ms stalls).
            let listener = listener.tap_io(|stream| {
                if let Err(error) = stream.set_nodelay(true) {
                    tracing::debug!(%error, "cannot set TCP_NODELAY");
                }
            });
            axum::serve(listener, router)
                .with_graceful_shutdown(stop)
                .await
        }
    };
    served.map_err(|error| server_error(name, error))
}

fn server_error(server: &'static str, error: impl std::fmt::Display) -> RunError {
    RunError::Server {
        server,
        message: error.to_string(),
    }
}
