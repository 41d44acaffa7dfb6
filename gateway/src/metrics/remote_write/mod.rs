//! Pushes the series of metrics plugins (span-metrics' `traces_spanmetrics_*` and
//! `traces_service_graph_*`) to a Prometheus remote-write 1.0 receiver, as Tempo's
//! metrics-generator does; the same series stay on `GET /metrics`.
//!
//! Every `interval` the pusher takes the current pipeline, collects its metrics plugins
//! (`metrics::series_points`, off the async workers), converts the snapshot
//! (`convert.rs`) and POSTs it, snappy-compressed protobuf, in requests of at most
//! [`MAX_SERIES_PER_REQUEST`] series sent one after the other. The gateway's own
//! `spangate_*` counters are not pushed: they describe this process and are scraped.
//!
//! Bounded by construction: one request in flight, nothing queued beyond the snapshot
//! being sent (the series are cumulative, so the next snapshot supersedes a lost one).
//! A 5xx, 429 or network error is retried with exponential backoff until the next push
//! is due; any other 4xx is logged and dropped (the spec: the receiver will never take
//! it). Outcomes are counted on `/metrics` (`RemoteWriteStats`, rendered by `metrics::registry`). On shutdown,
//! after ingest has drained, one final push sends the last counts.

pub(crate) mod config;
mod convert;
pub(crate) mod proto;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use http::header::{CONTENT_ENCODING, CONTENT_TYPE, HeaderValue, RETRY_AFTER};
use tokio::time::{Instant, MissedTickBehavior};
use tokio_util::sync::CancellationToken;

pub(crate) use config::{RemoteWriteConfig, RemoteWriteSettings};

use crate::ingest::Tenants;
use crate::metrics::{label_points, series_points, unix_nanos_now};
use crate::tenant::ORG_ID_HEADER;

/// Series per request; a larger snapshot is split (each series has one sample, so this
/// is also samples per request, Prometheus' own `max_samples_per_send` order).
pub(crate) const MAX_SERIES_PER_REQUEST: usize = 2_000;
/// First pause before a retry, doubled after each failed attempt up to `MAX_BACKOFF`.
const MIN_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(5);
/// Attempts of one request at most, whatever the interval (a bound on the loop).
const MAX_ATTEMPTS: u32 = 10;
/// Bytes of a refusal's body quoted in the log.
const MAX_ERROR_BODY: usize = 512;
const PROTOCOL_VERSION: &str = "0.1.0";

#[derive(Debug, thiserror::Error)]
pub enum RemoteWriteError {
    #[error("cannot build the remote-write HTTP client: {0}")]
    Client(#[source] reqwest::Error),
}

/// Outcome counters, served on `/metrics`.
#[derive(Debug, Default)]
pub(crate) struct RemoteWriteStats {
    requests_ok: AtomicU64,
    requests_retried: AtomicU64,
    requests_failed: AtomicU64,
    samples_sent: AtomicU64,
    samples_failed: AtomicU64,
}

/// A snapshot of [`RemoteWriteStats`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct RemoteWriteCounts {
    pub requests_ok: u64,
    pub requests_retried: u64,
    pub requests_failed: u64,
    pub samples_sent: u64,
    pub samples_failed: u64,
}

impl RemoteWriteStats {
    pub(crate) fn counts(&self) -> RemoteWriteCounts {
        let load = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        RemoteWriteCounts {
            requests_ok: load(&self.requests_ok),
            requests_retried: load(&self.requests_retried),
            requests_failed: load(&self.requests_failed),
            samples_sent: load(&self.samples_sent),
            samples_failed: load(&self.samples_failed),
        }
    }
}

/// The result of one HTTP attempt.
#[derive(Debug, PartialEq, Eq)]
enum Attempt {
    Accepted,
    /// 5xx, 429, timeout or connection error: worth trying again.
    Retryable {
        reason: String,
        retry_after: Option<Duration>,
    },
    /// Any other non-2xx: the receiver will never accept this request.
    Refused {
        reason: String,
    },
}

/// What the receiver's status says about a request.
fn classify(status: http::StatusCode) -> Option<bool> {
    if status.is_success() {
        None
    } else {
        Some(status.is_server_error() || status == http::StatusCode::TOO_MANY_REQUESTS)
    }
}

pub(crate) struct RemoteWriter {
    settings: RemoteWriteSettings,
    client: reqwest::Client,
    stats: Arc<RemoteWriteStats>,
    /// `url` without credentials, for logs.
    endpoint: String,
}

impl RemoteWriter {
    pub(crate) fn new(settings: RemoteWriteSettings) -> Result<RemoteWriter, RemoteWriteError> {
        let mut headers = settings.headers.clone();
        headers.insert(CONTENT_ENCODING, HeaderValue::from_static("snappy"));
        headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_static("application/x-protobuf"),
        );
        headers.insert(
            "x-prometheus-remote-write-version",
            HeaderValue::from_static(PROTOCOL_VERSION),
        );
        // No proxy from the environment, as Prometheus' remote_write by default.
        let client = reqwest::Client::builder()
            .user_agent(concat!("spangate/", env!("CARGO_PKG_VERSION")))
            .default_headers(headers)
            .timeout(settings.timeout)
            .no_proxy()
            .build()
            .map_err(RemoteWriteError::Client)?;
        let mut endpoint = settings.url.clone();
        let _ = endpoint.set_username("");
        let _ = endpoint.set_password(None);
        Ok(RemoteWriter {
            settings,
            client,
            stats: Arc::new(RemoteWriteStats::default()),
            endpoint: endpoint.to_string(),
        })
    }

    pub(crate) fn stats(&self) -> Arc<RemoteWriteStats> {
        self.stats.clone()
    }

    /// Pushes every `interval` until `stop` is cancelled, then pushes once more (within
    /// `timeout`) and returns. Cancel `stop` after ingest has drained, so the final push
    /// holds every span. `tenant_label` (multi-tenancy on): each tenant's series carry it
    /// and go in their own requests with `X-Scope-OrgID: <tenant>`, as Tempo's
    /// metrics-generator sends them (unless `headers` sets `X-Scope-OrgID` itself).
    pub(crate) async fn run(
        self,
        tenants: Arc<Tenants>,
        tenant_label: Option<String>,
        stop: CancellationToken,
    ) {
        let interval = self.settings.interval;
        tracing::info!(
            endpoint = %self.endpoint,
            interval = ?interval,
            "remote-write on"
        );
        if !tenants.configures_metrics_plugin() {
            tracing::warn!(
                "metrics.remote_write is set but no pipeline has a metrics plugin \
                 (e.g. builtin:span-metrics): nothing is pushed until one is added"
            );
        }
        let mut ticker = tokio::time::interval_at(Instant::now() + interval, interval);
        // A push that ran long delays the next one instead of bunching them up.
        ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = stop.cancelled() => break,
                _ = ticker.tick() => {}
            }
            let deadline = Instant::now() + interval;
            self.push(&tenants, tenant_label.as_deref(), deadline, &stop)
                .await;
        }
        let final_deadline = Instant::now() + self.settings.timeout;
        self.push(
            &tenants,
            tenant_label.as_deref(),
            final_deadline,
            &CancellationToken::new(),
        )
        .await;
        tracing::info!(endpoint = %self.endpoint, "remote-write stopped after a final push");
    }

    /// Collects a snapshot of every tenant and sends it; retries stop at `deadline` or
    /// when `stop` is cancelled (the final push then sends a newer snapshot).
    async fn push(
        &self,
        tenants: &Arc<Tenants>,
        tenant_label: Option<&str>,
        deadline: Instant,
        stop: &CancellationToken,
    ) {
        let running = tenants.running();
        let external_labels = self.settings.external_labels.clone();
        let tenant_label = tenant_label.map(str::to_owned);
        // `collect` is a guest call, and converting thousands of series is not free:
        // both off the async workers.
        let bodies = tokio::task::spawn_blocking(move || {
            let now = unix_nanos_now();
            let mut bodies = Vec::new();
            for tenant in &running {
                let mut points = series_points(&tenant.pipeline(), now);
                let org_id = match &tenant_label {
                    Some(label) => {
                        label_points(&mut points, label, tenant.name());
                        Some(tenant.name().to_owned())
                    }
                    None => None,
                };
                let series =
                    convert::time_series(&points, &external_labels, (now / 1_000_000) as i64);
                let mut remaining = series.into_iter().peekable();
                while remaining.peek().is_some() {
                    let chunk: Vec<_> = remaining.by_ref().take(MAX_SERIES_PER_REQUEST).collect();
                    let samples = chunk.len() as u64;
                    bodies.push((org_id.clone(), samples, convert::encode(chunk)));
                }
            }
            bodies
        })
        .await;
        let bodies = match bodies {
            Ok(bodies) => bodies,
            Err(error) => {
                tracing::error!(%error, "remote-write snapshot task failed; push skipped");
                return;
            }
        };
        for (org_id, samples, body) in bodies {
            match body {
                Ok(body) => {
                    self.send(
                        bytes::Bytes::from(body),
                        org_id.as_deref(),
                        samples,
                        deadline,
                        stop,
                    )
                    .await
                }
                Err(error) => {
                    self.count_failed(samples);
                    tracing::error!(%error, samples, "cannot snappy-compress a remote-write request; dropped");
                }
            }
        }
    }

    /// Sends one request, retrying what may succeed later while time is left.
    async fn send(
        &self,
        body: bytes::Bytes,
        org_id: Option<&str>,
        samples: u64,
        deadline: Instant,
        stop: &CancellationToken,
    ) {
        let mut backoff = MIN_BACKOFF;
        for attempt in 1..=MAX_ATTEMPTS {
            let (reason, retry_after) = match self.attempt(body.clone(), org_id).await {
                Attempt::Accepted => {
                    self.stats.requests_ok.fetch_add(1, Ordering::Relaxed);
                    self.stats
                        .samples_sent
                        .fetch_add(samples, Ordering::Relaxed);
                    tracing::debug!(endpoint = %self.endpoint, samples, attempt, "remote-write pushed");
                    return;
                }
                Attempt::Refused { reason } => {
                    self.count_failed(samples);
                    tracing::warn!(
                        endpoint = %self.endpoint,
                        samples,
                        %reason,
                        "remote-write request refused; dropped (not retryable)"
                    );
                    return;
                }
                Attempt::Retryable {
                    reason,
                    retry_after,
                } => (reason, retry_after),
            };
            let wait = retry_after.map_or(backoff, |asked| asked.max(backoff));
            if attempt == MAX_ATTEMPTS || Instant::now() + wait >= deadline || stop.is_cancelled() {
                self.count_failed(samples);
                tracing::warn!(
                    endpoint = %self.endpoint,
                    samples,
                    attempts = attempt,
                    %reason,
                    "remote-write request failed; dropped (no time left before the next push)"
                );
                return;
            }
            self.stats.requests_retried.fetch_add(1, Ordering::Relaxed);
            tracing::info!(
                endpoint = %self.endpoint,
                attempt,
                %reason,
                retry_in = ?wait,
                "remote-write request failed; retrying"
            );
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = stop.cancelled() => {
                    self.count_failed(samples);
                    return;
                }
            }
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
    }

    async fn attempt(&self, body: bytes::Bytes, org_id: Option<&str>) -> Attempt {
        let mut request = self.client.post(self.settings.url.clone()).body(body);
        if let Some(org_id) = org_id
            && !self.settings.headers.contains_key(ORG_ID_HEADER)
        {
            request = request.header(ORG_ID_HEADER, org_id);
        }
        let response = match request.send().await {
            Ok(response) => response,
            Err(error) => {
                return Attempt::Retryable {
                    reason: error_chain(&error),
                    retry_after: None,
                };
            }
        };
        let status = response.status();
        let Some(retryable) = classify(status) else {
            return Attempt::Accepted;
        };
        let retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let reason = format!("{status}: {}", error_body(response).await);
        if retryable {
            Attempt::Retryable {
                reason,
                retry_after,
            }
        } else {
            Attempt::Refused { reason }
        }
    }

    fn count_failed(&self, samples: u64) {
        self.stats.requests_failed.fetch_add(1, Ordering::Relaxed);
        self.stats
            .samples_failed
            .fetch_add(samples, Ordering::Relaxed);
    }
}

/// The start of a refusal's body (receivers explain there), read no further.
async fn error_body(mut response: reqwest::Response) -> String {
    let mut body = Vec::new();
    while body.len() < MAX_ERROR_BODY {
        match response.chunk().await {
            Ok(Some(chunk)) => body.extend_from_slice(&chunk),
            Ok(None) | Err(_) => break,
        }
    }
    body.truncate(MAX_ERROR_BODY);
    String::from_utf8_lossy(&body).trim().to_owned()
}

/// reqwest's message plus its sources ("error sending request: connection refused").
fn error_chain(error: &reqwest::Error) -> String {
    let mut message = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_5xx_and_429_are_retried() {
        use http::StatusCode;
        assert_eq!(classify(StatusCode::OK), None);
        assert_eq!(classify(StatusCode::NO_CONTENT), None);
        assert_eq!(classify(StatusCode::INTERNAL_SERVER_ERROR), Some(true));
        assert_eq!(classify(StatusCode::SERVICE_UNAVAILABLE), Some(true));
        assert_eq!(classify(StatusCode::TOO_MANY_REQUESTS), Some(true));
        assert_eq!(classify(StatusCode::BAD_REQUEST), Some(false));
        assert_eq!(classify(StatusCode::UNAUTHORIZED), Some(false));
        assert_eq!(classify(StatusCode::NOT_FOUND), Some(false));
    }

    /// A loopback receiver answering the statuses of `script` in turn (then 200),
    /// recording each request's headers and decoded body.
    struct Receiver {
        url: reqwest::Url,
        received: Arc<std::sync::Mutex<Vec<(http::HeaderMap, proto::WriteRequest)>>>,
        _stop: tokio::sync::oneshot::Sender<()>,
    }

    async fn receiver(script: Vec<u16>) -> Receiver {
        use axum::body::Bytes;
        use prost::Message;
        let received = Arc::new(std::sync::Mutex::new(Vec::new()));
        let script = Arc::new(std::sync::Mutex::new(std::collections::VecDeque::from(
            script,
        )));
        let recorded = received.clone();
        let app = axum::Router::new().route(
            "/api/v1/write",
            axum::routing::post(move |headers: http::HeaderMap, body: Bytes| {
                let recorded = recorded.clone();
                let script = script.clone();
                async move {
                    let raw = snap::raw::Decoder::new().decompress_vec(&body).unwrap();
                    let request = proto::WriteRequest::decode(raw.as_slice()).unwrap();
                    recorded.lock().unwrap().push((headers, request));
                    let status = script.lock().unwrap().pop_front().unwrap_or(200);
                    (http::StatusCode::from_u16(status).unwrap(), "scripted")
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = stopped.await;
                })
                .await
                .unwrap();
        });
        Receiver {
            url: format!("http://{address}/api/v1/write").parse().unwrap(),
            received,
            _stop: stop,
        }
    }

    fn writer(url: reqwest::Url) -> RemoteWriter {
        let mut headers = http::HeaderMap::new();
        headers.insert("x-scope-orgid", HeaderValue::from_static("team-a"));
        writer_with(url, headers)
    }

    fn writer_with(url: reqwest::Url, headers: http::HeaderMap) -> RemoteWriter {
        RemoteWriter::new(RemoteWriteSettings {
            url,
            interval: Duration::from_secs(15),
            timeout: Duration::from_secs(2),
            headers,
            external_labels: vec![],
        })
        .unwrap()
    }

    fn body() -> bytes::Bytes {
        let point = crate::model::MetricPoint {
            name: "traces_spanmetrics_calls_total".to_owned(),
            help: String::new(),
            labels: vec![("service".to_owned(), "a".to_owned())],
            value: crate::model::MetricValue::Counter(7.0),
            exemplar: None,
        };
        bytes::Bytes::from(convert::encode(convert::time_series(&[point], &[], 1_000)).unwrap())
    }

    fn counts(stats: &RemoteWriteStats) -> [u64; 5] {
        [
            stats.requests_ok.load(Ordering::Relaxed),
            stats.requests_retried.load(Ordering::Relaxed),
            stats.requests_failed.load(Ordering::Relaxed),
            stats.samples_sent.load(Ordering::Relaxed),
            stats.samples_failed.load(Ordering::Relaxed),
        ]
    }

    #[tokio::test]
    async fn server_errors_and_429_are_retried_until_accepted() {
        let receiver = receiver(vec![500, 429]).await;
        let writer = writer(receiver.url.clone());
        let deadline = Instant::now() + Duration::from_secs(10);
        writer
            .send(body(), None, 1, deadline, &CancellationToken::new())
            .await;
        // ok, retried, failed, samples sent, samples failed
        assert_eq!(counts(&writer.stats), [1, 2, 0, 1, 0]);
        let received = receiver.received.lock().unwrap();
        assert_eq!(received.len(), 3);
        let (headers, request) = &received[2];
        assert_eq!(headers["content-encoding"], "snappy");
        assert_eq!(headers["content-type"], "application/x-protobuf");
        assert_eq!(headers["x-prometheus-remote-write-version"], "0.1.0");
        assert_eq!(headers["x-scope-orgid"], "team-a");
        assert!(
            headers["user-agent"]
                .to_str()
                .unwrap()
                .starts_with("spangate/")
        );
        assert_eq!(request.timeseries[0].samples[0].value, 7.0);
    }

    #[tokio::test]
    async fn a_tenant_request_names_its_tenant_unless_the_config_does() {
        let receiver = receiver(vec![]).await;
        let deadline = Instant::now() + Duration::from_secs(10);
        let own = writer_with(receiver.url.clone(), http::HeaderMap::new());
        own.send(
            body(),
            Some("team-b"),
            1,
            deadline,
            &CancellationToken::new(),
        )
        .await;
        own.send(body(), None, 1, deadline, &CancellationToken::new())
            .await;
        let configured = writer(receiver.url.clone());
        configured
            .send(
                body(),
                Some("team-b"),
                1,
                deadline,
                &CancellationToken::new(),
            )
            .await;
        let received = receiver.received.lock().unwrap();
        let org_ids: Vec<Option<&str>> = received
            .iter()
            .map(|(headers, _)| headers.get("x-scope-orgid").map(|v| v.to_str().unwrap()))
            .collect();
        assert_eq!(org_ids, [Some("team-b"), None, Some("team-a")]);
    }

    #[tokio::test]
    async fn other_4xx_are_dropped_without_retry() {
        let receiver = receiver(vec![400]).await;
        let writer = writer(receiver.url.clone());
        let deadline = Instant::now() + Duration::from_secs(10);
        writer
            .send(body(), None, 1, deadline, &CancellationToken::new())
            .await;
        assert_eq!(counts(&writer.stats), [0, 0, 1, 0, 1]);
        assert_eq!(receiver.received.lock().unwrap().len(), 1);
    }

    #[tokio::test]
    async fn retries_stop_at_the_deadline() {
        let receiver = receiver(vec![503; 100]).await;
        let writer = writer(receiver.url.clone());
        let started = Instant::now();
        // 100 ms, 200 ms, 400 ms backoffs fit in 1 s; the next (800 ms) does not.
        writer
            .send(
                body(),
                None,
                1,
                started + Duration::from_secs(1),
                &CancellationToken::new(),
            )
            .await;
        assert!(started.elapsed() < Duration::from_secs(2));
        let [ok, retried, failed, _, samples_failed] = counts(&writer.stats);
        assert_eq!((ok, failed, samples_failed), (0, 1, 1));
        assert!((1..=3).contains(&retried), "retried {retried}");
        assert_eq!(receiver.received.lock().unwrap().len() as u64, retried + 1);
    }

    #[tokio::test]
    async fn unreachable_receiver_is_a_retryable_failure() {
        // Bound and dropped: nothing listens on this port any more.
        let address = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let writer = writer(format!("http://{address}/api/v1/write").parse().unwrap());
        let outcome = writer.attempt(body(), None).await;
        assert!(
            matches!(&outcome, Attempt::Retryable { reason, .. } if !reason.is_empty()),
            "{outcome:?}"
        );
    }

    #[test]
    fn stats_render_every_outcome() {
        let stats = RemoteWriteStats::default();
        stats.requests_ok.fetch_add(2, Ordering::Relaxed);
        stats.samples_sent.fetch_add(40, Ordering::Relaxed);
        let text = crate::metrics::exposition::render(
            &crate::metrics::registry::remote_write_points(&stats),
            crate::metrics::exposition::Format::Prometheus,
        );
        assert!(text.contains("spangate_remote_write_requests_total{outcome=\"ok\"} 2\n"));
        assert!(text.contains("spangate_remote_write_requests_total{outcome=\"retried\"} 0\n"));
        assert!(text.contains("spangate_remote_write_requests_total{outcome=\"failed\"} 0\n"));
        assert!(text.contains("spangate_remote_write_samples_total{outcome=\"sent\"} 40\n"));
    }
}
