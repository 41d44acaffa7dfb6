//! Spangate: an OTLP gateway whose spans land in an embedded RocksDB store and are
//! read back through a Tempo-compatible API.
//!
//! `run` wires the modules together and owns the server tasks; it holds no logic.
//! Module imports point one way: receiver / query → ingest → store → model.

pub mod config;
pub mod ingest;
pub mod model;
pub mod query;
pub mod receiver;
pub mod store;
pub mod telemetry;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::serve::ListenerExt;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::ingest::Ingest;
use crate::store::{StoreError, TraceStore};
use crate::telemetry::Telemetry;

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
    pub query: TcpListener,
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
        let query = bind("query.listen", addrs.query).await?;
        Ok(Listeners {
            otlp_grpc,
            otlp_http,
            query,
        })
    }
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
    let store = Arc::new(TraceStore::open(&config.storage)?);
    tracing::info!(data_dir = %config.storage.data_dir.display(), "store opened");
    let ingest = Ingest::new(store.clone(), &config.ingest);
    let telemetry = Arc::new(Telemetry::default());

    let mut servers = tokio::task::JoinSet::new();
    if let Some(listener) = listeners.otlp_grpc {
        let ingest = ingest.clone();
        let telemetry = telemetry.clone();
        let max = config.receivers.otlp_grpc.max_message_bytes;
        let stop = shutdown.clone().cancelled_owned();
        servers.spawn(async move {
            receiver::grpc::serve(listener, ingest, telemetry, max, stop)
                .await
                .map_err(|error| server_error("otlp grpc", error))
        });
    }
    if let Some(listener) = listeners.otlp_http {
        let router = receiver::http::router(
            ingest.clone(),
            telemetry.clone(),
            config.receivers.otlp_http.max_body_bytes,
        );
        servers.spawn(serve_http("otlp http", listener, router, shutdown.clone()));
    }
    servers.spawn(serve_http(
        "query",
        listeners.query,
        query::router(store.clone(), telemetry.clone()),
        shutdown.clone(),
    ));

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
    drop(store);
    tracing::info!("stopped; every acknowledged span is in the store");
    result
}

async fn serve_http(
    name: &'static str,
    listener: TcpListener,
    router: axum::Router,
    shutdown: CancellationToken,
) -> Result<(), RunError> {
    tracing::info!(address = ?listener.local_addr().ok(), "{name} listening");
    // Without TCP_NODELAY, small responses wait out delayed ACKs (~40 ms stalls).
    let listener = listener.tap_io(|stream| {
        if let Err(error) = stream.set_nodelay(true) {
            tracing::debug!(%error, "cannot set TCP_NODELAY");
        }
    });
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown.cancelled_owned())
        .await
        .map_err(|error| server_error(name, error))
}

fn server_error(server: &'static str, error: impl std::fmt::Display) -> RunError {
    RunError::Server {
        server,
        message: error.to_string(),
    }
}
