//! One exporter: its upstreams (one URL, a fixed list, or the addresses of a DNS name
//! resolved every `interval`), a queue and a sender per upstream, and the ring that
//! routes new traces. An upstream that leaves the set (DNS, a config change across a
//! restart, or `give_up_after` of failures) leaves the ring: its waiting batches are
//! routed anew over the others by the supervisor, and a given-up upstream is probed
//! (an empty export) until it answers, then joins the ring again.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use std::time::{Duration, Instant};

use bytes::Bytes;
use prost::Message;
use tokio_util::sync::CancellationToken;
use xxhash_rust::xxh3::xxh3_64;

use super::ForwardError;
use super::client::{SendOutcome, UpstreamClient};
use super::config::{DnsConfig, ExporterConfig, Protocol};
use super::entry;
use super::queue::UpstreamQueue;
use super::ring::Ring;
use super::sender::Sender;
use super::split::split_by_owner;
use crate::model::{ExportTraceServiceRequest, SINGLE_TENANT, count_spans};
use crate::store::{OutboxEntry, Outgoing, QueueId, TraceStore};

/// How often the supervisor looks at give-ups and batches to route anew.
const SUPERVISE_EVERY: Duration = Duration::from_secs(1);
/// Batches moved per store write when routing a queue anew.
const REROUTE_CHUNK: usize = 64;

type QueueMap = Arc<RwLock<HashMap<QueueId, Arc<UpstreamQueue>>>>;

/// The upstreams taking new traces and their queues (index = ring member).
#[derive(Default)]
struct Route {
    ring: Ring,
    queues: Vec<Arc<UpstreamQueue>>,
}

pub(crate) struct Exporter {
    config: ExporterConfig,
    base_dir: PathBuf,
    store: Arc<TraceStore>,
    /// Every queue of every exporter, by id (shared with the `Forwarder`).
    all_queues: QueueMap,
    /// This exporter's queues by upstream URL, current and former.
    by_upstream: Mutex<HashMap<String, Arc<UpstreamQueue>>>,
    /// The upstreams the config or DNS name now.
    members: Mutex<Vec<String>>,
    /// Members out of the ring after `give_up_after` of failures, with their last probe.
    given_up: Mutex<HashMap<String, Instant>>,
    route: RwLock<Arc<Route>>,
    /// Bytes in this exporter's queues.
    bytes: Arc<AtomicU64>,
    /// Upstreams whose sender runs (senders run until shutdown, idle out of the ring).
    with_sender: Mutex<HashSet<String>>,
    /// The highest `seq` found in the store at start-up.
    last_seq: AtomicU64,
    shutdown: CancellationToken,
}

/// `exporter\nupstream`: a queue's registry label.
fn label(exporter: &str, upstream: &str) -> String {
    format!("{exporter}\n{upstream}")
}

pub(super) fn exporter_of_label(label: &str) -> &str {
    label.split('\n').next().unwrap_or(label)
}

fn queue_id(exporter: &str, upstream: &str) -> QueueId {
    QueueId(xxh3_64(label(exporter, upstream).as_bytes()))
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poison| poison.into_inner())
}

impl Exporter {
    pub(super) async fn start(
        config: ExporterConfig,
        base_dir: PathBuf,
        store: Arc<TraceStore>,
        all_queues: QueueMap,
        registered: &[(QueueId, String)],
        shutdown: CancellationToken,
    ) -> Result<Arc<Exporter>, ForwardError> {
        let members = match (&config.endpoint, &config.routing) {
            (Some(endpoint), _) => vec![endpoint.clone()],
            (None, Some(routing)) if routing.dns.is_none() => routing.endpoints.clone(),
            (None, Some(routing)) => {
                let dns = routing.dns.as_ref().expect("checked: dns routing");
                resolve(dns, config.protocol).await.unwrap_or_else(|error| {
                    tracing::warn!(exporter = %config.name, hostname = %dns.hostname, %error, "cannot resolve the upstreams yet; refusing data for this exporter until they resolve");
                    Vec::new()
                })
            }
            (None, None) => Vec::new(),
        };
        let exporter = Exporter {
            config,
            base_dir,
            store,
            all_queues,
            by_upstream: Mutex::new(HashMap::new()),
            members: Mutex::new(Vec::new()),
            given_up: Mutex::new(HashMap::new()),
            route: RwLock::new(Arc::new(Route::default())),
            bytes: Arc::new(AtomicU64::new(0)),
            with_sender: Mutex::new(HashSet::new()),
            last_seq: AtomicU64::new(0),
            shutdown,
        };
        // Queues left by earlier runs, whether their upstream is still configured or not.
        for (id, label) in registered {
            if exporter_of_label(label) != exporter.config.name {
                continue;
            }
            let upstream = label
                .split_once('\n')
                .map_or("", |(_, upstream)| upstream)
                .to_owned();
            let queue = exporter.load_queue(*id, &upstream)?;
            queue.removed.store(true, Ordering::Relaxed);
        }
        let exporter = Arc::new(exporter);
        exporter.set_members(members)?;
        Ok(exporter)
    }

    pub(super) fn name(&self) -> &str {
        &self.config.name
    }

    pub(super) fn max_bytes(&self) -> u64 {
        self.config.queue.max_bytes
    }

    pub(super) fn last_seq(&self) -> u64 {
        self.last_seq.load(Ordering::Relaxed)
    }

    pub(super) fn check_room(&self) -> Result<(), ForwardError> {
        if self.current_route().queues.is_empty() {
            return Err(ForwardError::NoUpstream {
                exporter: self.config.name.clone(),
            });
        }
        if self.bytes.load(Ordering::Relaxed) >= self.config.queue.max_bytes {
            return Err(ForwardError::QueueFull {
                exporter: self.config.name.clone(),
                max_bytes: self.config.queue.max_bytes,
            });
        }
        Ok(())
    }

    /// Where `request`'s spans go: one queue and the whole request, or per upstream its
    /// part (`Some`).
    pub(super) fn route(
        &self,
        request: &ExportTraceServiceRequest,
    ) -> Result<Vec<(QueueId, Option<ExportTraceServiceRequest>)>, ForwardError> {
        let route = self.current_route();
        match route.queues.len() {
            0 => Err(ForwardError::NoUpstream {
                exporter: self.config.name.clone(),
            }),
            1 => Ok(vec![(route.queues[0].id, None)]),
            n => Ok(split_by_owner(request, n, |trace| route.ring.owner(trace))
                .into_iter()
                .zip(&route.queues)
                .filter_map(|(part, queue)| part.map(|part| (queue.id, Some(part))))
                .collect()),
        }
    }

    fn current_route(&self) -> Arc<Route> {
        self.route.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The queue object of `upstream` with what the store holds for it (created and
    /// registered on first use); its sender is started when it becomes a member.
    fn load_queue(&self, id: QueueId, upstream: &str) -> Result<Arc<UpstreamQueue>, ForwardError> {
        if let Some(queue) = lock(&self.by_upstream).get(upstream) {
            return Ok(queue.clone());
        }
        let queue = Arc::new(UpstreamQueue::new(
            id,
            &self.config.name,
            upstream,
            self.bytes.clone(),
        ));
        let contents = self.store.queue_contents(id)?;
        if let Some((seq, _)) = contents.last() {
            self.last_seq.fetch_max(*seq, Ordering::Relaxed);
        }
        queue.add(contents);
        lock(&self.by_upstream).insert(upstream.to_owned(), queue.clone());
        self.all_queues
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id, queue.clone());
        Ok(queue)
    }

    /// Makes `members` the upstream set: new ones get a queue and a sender, former
    /// ones leave the ring (their batches are routed anew by the supervisor).
    fn set_members(self: &Arc<Self>, mut members: Vec<String>) -> Result<(), ForwardError> {
        members.sort();
        members.dedup();
        for upstream in &members {
            let id = queue_id(&self.config.name, upstream);
            let queue = self.load_queue(id, upstream)?;
            if lock(&self.with_sender).insert(upstream.clone()) {
                self.store
                    .register_queue(id, &label(&self.config.name, upstream))?;
                self.spawn_sender(queue, upstream)?;
            }
        }
        *lock(&self.members) = members;
        self.rebuild_route();
        Ok(())
    }

    fn spawn_sender(&self, queue: Arc<UpstreamQueue>, upstream: &str) -> Result<(), ForwardError> {
        let client = UpstreamClient::new(&self.config, upstream, &self.base_dir).map_err(|e| {
            ForwardError::Start {
                exporter: self.config.name.clone(),
                message: e.to_string(),
            }
        })?;
        let sender = Sender {
            queue,
            client,
            store: self.store.clone(),
            retry: self.config.retry.clone(),
            concurrency: self.config.queue.concurrency,
        };
        tokio::spawn(sender.run(self.shutdown.clone()));
        Ok(())
    }

    /// The ring over the members not given up; every other queue is marked removed.
    fn rebuild_route(&self) {
        let members = lock(&self.members).clone();
        let given_up = lock(&self.given_up);
        let healthy: Vec<String> = members
            .iter()
            .filter(|m| !given_up.contains_key(*m))
            .cloned()
            .collect();
        drop(given_up);
        let ring = Ring::new(&healthy);
        let by_upstream = lock(&self.by_upstream);
        let queues: Vec<Arc<UpstreamQueue>> = ring
            .members()
            .iter()
            .filter_map(|m| by_upstream.get(m).cloned())
            .collect();
        let in_ring: HashSet<QueueId> = queues.iter().map(|q| q.id).collect();
        for queue in by_upstream.values() {
            let removed = !in_ring.contains(&queue.id);
            if queue.removed.swap(removed, Ordering::Relaxed) && !removed {
                queue.wake.notify_one();
            }
        }
        drop(by_upstream);
        tracing::info!(exporter = %self.config.name, upstreams = ?ring.members(), "routing traces over upstreams");
        *self.route.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(Route { ring, queues });
    }

    /// Resolves DNS names, gives up on and probes failing upstreams, and routes anew
    /// what waits in queues out of the ring; until `shutdown`.
    pub(super) fn spawn_supervisor(self: Arc<Self>, shutdown: CancellationToken) {
        tokio::spawn(async move {
            let dns = self.config.routing.as_ref().and_then(|r| r.dns.clone());
            let mut next_resolve =
                Instant::now() + dns.as_ref().map_or(Duration::MAX / 4, |d| d.interval);
            loop {
                tokio::select! {
                    _ = shutdown.cancelled() => return,
                    _ = tokio::time::sleep(SUPERVISE_EVERY) => {}
                }
                if let Some(dns) = &dns
                    && Instant::now() >= next_resolve
                {
                    next_resolve = Instant::now() + dns.interval;
                    self.refresh_dns(dns).await;
                }
                self.give_up_and_probe().await;
                let exporter = self.clone();
                let moved = tokio::task::spawn_blocking(move || exporter.reroute_removed()).await;
                if let Ok(Err(error)) = moved {
                    tracing::warn!(exporter = %self.config.name, %error, "routing queued batches anew failed; retrying");
                }
            }
        });
    }

    async fn refresh_dns(self: &Arc<Self>, dns: &DnsConfig) {
        match resolve(dns, self.config.protocol).await {
            Ok(members) if members.is_empty() => {
                tracing::warn!(exporter = %self.config.name, hostname = %dns.hostname, "DNS name has no address; keeping the last upstreams");
            }
            Ok(members) => {
                let mut sorted = members.clone();
                sorted.sort();
                if *lock(&self.members) != sorted
                    && let Err(error) = self.set_members(members)
                {
                    tracing::warn!(exporter = %self.config.name, %error, "cannot switch to the resolved upstreams");
                }
            }
            Err(error) => {
                tracing::warn!(exporter = %self.config.name, hostname = %dns.hostname, %error, "DNS resolution failed; keeping the last upstreams");
            }
        }
    }

    /// Takes members failing for `give_up_after` out of the ring (never the last
    /// one), and puts back those that answer a probe.
    async fn give_up_and_probe(self: &Arc<Self>) {
        let Some(give_up_after) = self
            .config
            .routing
            .as_ref()
            .map(|r| r.give_up_after)
            .filter(|d| !d.is_zero())
        else {
            return;
        };
        let members = lock(&self.members).clone();
        let mut changed = false;
        for upstream in &members {
            let Some(queue) = lock(&self.by_upstream).get(upstream).cloned() else {
                continue;
            };
            let given_up_at = lock(&self.given_up).get(upstream).copied();
            match given_up_at {
                None => {
                    let failing = queue
                        .failing_since()
                        .is_some_and(|since| since.elapsed() >= give_up_after);
                    let healthy = members.len() - lock(&self.given_up).len();
                    if failing && healthy > 1 {
                        tracing::warn!(exporter = %self.config.name, %upstream, after = ?give_up_after, "upstream failing for too long; its traces go to the other upstreams until it answers again");
                        lock(&self.given_up).insert(upstream.clone(), Instant::now());
                        changed = true;
                    }
                }
                Some(probed)
                    if probed.elapsed() >= self.config.retry.max_interval.min(give_up_after) =>
                {
                    lock(&self.given_up).insert(upstream.clone(), Instant::now());
                    if self.probe(upstream).await {
                        tracing::info!(exporter = %self.config.name, %upstream, "upstream answers again; back in the ring");
                        queue.attempt(true);
                        lock(&self.given_up).remove(upstream);
                        changed = true;
                    }
                }
                Some(_) => {}
            }
        }
        if changed {
            self.rebuild_route();
        }
    }

    /// Whether `upstream` accepts an empty export now.
    async fn probe(&self, upstream: &str) -> bool {
        let Ok(client) = UpstreamClient::new(&self.config, upstream, &self.base_dir) else {
            return false;
        };
        let empty = Bytes::from(ExportTraceServiceRequest::default().encode_to_vec());
        matches!(
            client.send(empty, SINGLE_TENANT).await,
            SendOutcome::Sent { .. }
        )
    }

    /// Routes the waiting batches of queues out of the ring over the current ring,
    /// each chunk in one store write (deleted from the old queue, added to the new ones).
    fn reroute_removed(&self) -> Result<(), ForwardError> {
        let removed: Vec<Arc<UpstreamQueue>> = lock(&self.by_upstream)
            .values()
            .filter(|q| q.removed.load(Ordering::Relaxed) && q.has_waiting())
            .cloned()
            .collect();
        for from in removed {
            loop {
                let route = self.current_route();
                if route.queues.is_empty() {
                    return Ok(());
                }
                let seqs = from.take_waiting(REROUTE_CHUNK);
                if seqs.is_empty() {
                    break;
                }
                if let Err(error) = self.reroute_chunk(&from, &route, &seqs) {
                    for seq in seqs {
                        from.put_back(seq);
                    }
                    return Err(error);
                }
            }
        }
        Ok(())
    }

    fn reroute_chunk(
        &self,
        from: &UpstreamQueue,
        route: &Route,
        seqs: &[u64],
    ) -> Result<(), ForwardError> {
        let mut outgoing = Outgoing::default();
        let mut moved = Vec::with_capacity(seqs.len());
        for &seq in seqs {
            let Some(value) = self.store.queued_batch(from.id, seq)? else {
                from.done(seq);
                continue;
            };
            moved.push(seq);
            let Ok(batch) = entry::decode(value) else {
                tracing::error!(exporter = %self.config.name, seq, "dropping an unreadable queued batch");
                continue;
            };
            let Ok(request) = ExportTraceServiceRequest::decode(batch.payload) else {
                tracing::error!(exporter = %self.config.name, seq, "dropping a queued batch that is not OTLP");
                continue;
            };
            let parts = split_by_owner(&request, route.queues.len(), |t| route.ring.owner(t));
            for (part, queue) in parts.into_iter().zip(&route.queues) {
                let Some(part) = part else { continue };
                let value = entry::encode(&batch.tenant, &part, count_spans(&part.resource_spans));
                // The original seq: unique across queues (one clock), and the batch keeps its age.
                outgoing.entries.push(OutboxEntry {
                    queue: queue.id,
                    seq,
                    value,
                });
            }
        }
        self.store.requeue(from.id, &moved, &outgoing)?;
        for seq in &moved {
            from.done(*seq);
        }
        from.counters
            .rerouted_batches
            .fetch_add(moved.len() as u64, Ordering::Relaxed);
        super::add_committed(&self.all_queues, &outgoing);
        if !moved.is_empty() {
            tracing::info!(exporter = %self.config.name, from = %from.upstream, batches = moved.len(), "queued batches routed to the remaining upstreams");
        }
        Ok(())
    }
}

/// The upstream URLs behind a DNS name, sorted.
async fn resolve(dns: &DnsConfig, protocol: Protocol) -> std::io::Result<Vec<String>> {
    let port = dns.port.unwrap_or(match protocol {
        Protocol::Grpc => 4317,
        Protocol::Http => 4318,
    });
    let mut members: Vec<String> = tokio::net::lookup_host((dns.hostname.as_str(), port))
        .await?
        .map(|address| format!("{}://{address}", dns.scheme))
        .collect();
    members.sort();
    members.dedup();
    Ok(members)
}
