//! What each tenant's writes run through: its own instances of its pipeline (the
//! top-level `pipeline:` or its `overrides.tenants.<id>.pipeline`), its tail sampler
//! when that pipeline tail-samples, and its limits. Plugin state (span-metrics series,
//! tail-sampling buffers) therefore never mixes tenants.
//!
//! With multi-tenancy off the only tenant, `single-tenant`, is started with the gateway.
//! With it on, a tenant is started by its first write (its pipeline built on the
//! blocking pool; every pipeline of the config was built once at start-up, so this does
//! not fail on config), and at start-up for every tenant with traces still waiting for
//! a tail decision.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use tokio_util::sync::CancellationToken;

use super::limits::{Discard, TenantLimiter};
use crate::forward::Forwarder;
use crate::pipeline::config::PluginEntry;
use crate::pipeline::{CurrentTailSampler, Pipeline, PipelineError, PipelineHandle};
use crate::plugin::{PluginKind, PluginRuntime};
use crate::store::{StoreError, TenantId, TraceStore};
use crate::tail::{DEFAULT_DECISION_CACHE_SIZE, TailSampler, TailStats};
use crate::tenant::OverridesConfig;

/// A tenant that cannot be started.
#[derive(Debug, thiserror::Error)]
pub enum TenantStartError {
    #[error(transparent)]
    Pipeline(#[from] PipelineError),
    #[error("cannot start tenant `{tenant}`: {source}")]
    Store { tenant: String, source: StoreError },
    /// What was under way when its blocking task panicked or was cancelled.
    #[error("{0} failed: its task panicked or was cancelled")]
    Task(String),
}

/// The pipeline part of the config: re-read on reload.
#[derive(Debug, Clone, Default)]
pub(crate) struct PipelineSettings {
    /// The top-level `pipeline:`.
    pub default: Vec<PluginEntry>,
    /// `overrides.tenants.<id>.pipeline`, for the tenants that have one.
    pub per_tenant: BTreeMap<String, Vec<PluginEntry>>,
    /// Where relative plugin paths start: the config file's directory.
    pub base_dir: PathBuf,
}

impl PipelineSettings {
    pub(crate) fn new(
        default: &[PluginEntry],
        overrides: &OverridesConfig,
        base_dir: PathBuf,
    ) -> PipelineSettings {
        PipelineSettings {
            default: default.to_vec(),
            per_tenant: overrides
                .tenants
                .iter()
                .filter_map(|(tenant, block)| {
                    block
                        .pipeline
                        .as_ref()
                        .map(|entries| (tenant.clone(), entries.clone()))
                })
                .collect(),
            base_dir,
        }
    }

    fn entries_for(&self, tenant: &str) -> &[PluginEntry] {
        self.per_tenant.get(tenant).unwrap_or(&self.default)
    }

    /// Builds `tenant`'s pipeline; a failure names the config key to fix.
    fn build(&self, runtime: &Arc<PluginRuntime>, tenant: &str) -> Result<Pipeline, PipelineError> {
        let prefix = self
            .per_tenant
            .contains_key(tenant)
            .then(|| format!("overrides.tenants.{tenant}."));
        Pipeline::build(runtime, self.entries_for(tenant), &self.base_dir).map_err(|error| {
            PipelineError {
                key: format!("{}{}", prefix.unwrap_or_default(), error.key),
                message: error.message,
            }
        })
    }

    /// Builds every pipeline of the config once (and drops them), so a broken one is
    /// found at start-up or reload rather than by a tenant's first write.
    fn check_all(&self, runtime: &Arc<PluginRuntime>) -> Result<Checked, PipelineError> {
        let default = Pipeline::build(runtime, &self.default, &self.base_dir)?;
        let mut checked = Checked {
            default_plugins: default.plugins().len(),
            metrics_plugin: has_metrics_plugin(&default),
        };
        for tenant in self.per_tenant.keys() {
            checked.metrics_plugin |= has_metrics_plugin(&self.build(runtime, tenant)?);
        }
        Ok(checked)
    }
}

/// What building every pipeline of the config found.
#[derive(Debug, Clone, Copy, Default)]
struct Checked {
    /// Plugins of the top-level pipeline.
    default_plugins: usize,
    /// Whether some pipeline has a metrics plugin.
    metrics_plugin: bool,
}

fn has_metrics_plugin(pipeline: &Pipeline) -> bool {
    pipeline
        .plugins()
        .iter()
        .any(|plugin| plugin.kind() == PluginKind::Metrics)
}

/// One started tenant.
pub(crate) struct TenantRuntime {
    name: String,
    id: TenantId,
    pipelines: Arc<PipelineHandle>,
    tail: Option<Arc<TailSampler>>,
    limiter: TenantLimiter,
}

impl TenantRuntime {
    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    pub(crate) fn id(&self) -> TenantId {
        self.id
    }

    /// The pipeline new batches of this tenant use.
    pub(crate) fn pipeline(&self) -> Arc<Pipeline> {
        self.pipelines.current()
    }

    pub(crate) fn tail(&self) -> Option<&Arc<TailSampler>> {
        self.tail.as_ref()
    }

    pub(crate) fn tail_stats(&self) -> Option<TailStats> {
        self.tail.as_ref().map(|tail| tail.stats())
    }

    pub(crate) fn limiter(&self) -> &TenantLimiter {
        &self.limiter
    }
}

/// Every started tenant, and how to start another.
pub(crate) struct Tenants {
    store: Arc<TraceStore>,
    /// The exporters every tenant's accepted spans are queued for.
    forwarder: Arc<Forwarder>,
    runtime: Arc<PluginRuntime>,
    multitenancy: bool,
    overrides: OverridesConfig,
    settings: RwLock<Arc<PipelineSettings>>,
    running: RwLock<BTreeMap<String, Arc<TenantRuntime>>>,
    /// Serialises starts, so a tenant is started once.
    starting: tokio::sync::Mutex<()>,
    /// Stops the tail samplers' loops.
    shutdown: CancellationToken,
    /// Spans discarded by a tenant limit, per tenant and reason.
    discarded: Mutex<BTreeMap<(String, Discard), u64>>,
    /// Whether some pipeline of the config has a metrics plugin.
    metrics_plugin: AtomicBool,
    /// Configuration reloads (`SIGHUP`) that swapped the pipelines in, and that failed.
    reloads: [AtomicU64; 2],
}

/// How many reloads swapped in new pipelines, and how many changed nothing (failed).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct ReloadCounts {
    pub succeeded: u64,
    pub failed: u64,
}

impl Tenants {
    pub(crate) fn new(
        store: Arc<TraceStore>,
        forwarder: Arc<Forwarder>,
        runtime: Arc<PluginRuntime>,
        multitenancy: bool,
        overrides: OverridesConfig,
        settings: PipelineSettings,
        shutdown: CancellationToken,
    ) -> Tenants {
        Tenants {
            store,
            forwarder,
            runtime,
            multitenancy,
            overrides,
            settings: RwLock::new(Arc::new(settings)),
            running: RwLock::new(BTreeMap::new()),
            starting: tokio::sync::Mutex::new(()),
            shutdown,
            discarded: Mutex::new(BTreeMap::new()),
            reloads: Default::default(),
            metrics_plugin: AtomicBool::new(false),
        }
    }

    pub(crate) fn store(&self) -> &Arc<TraceStore> {
        &self.store
    }

    pub(crate) fn forwarder(&self) -> &Arc<Forwarder> {
        &self.forwarder
    }

    fn settings(&self) -> Arc<PipelineSettings> {
        self.settings
            .read()
            .unwrap_or_else(|poison| poison.into_inner())
            .clone()
    }

    /// Every started tenant, by name.
    pub(crate) fn running(&self) -> Vec<Arc<TenantRuntime>> {
        self.running
            .read()
            .unwrap_or_else(|poison| poison.into_inner())
            .values()
            .cloned()
            .collect()
    }

    fn started(&self, tenant: &str) -> Option<Arc<TenantRuntime>> {
        self.running
            .read()
            .unwrap_or_else(|poison| poison.into_inner())
            .get(tenant)
            .cloned()
    }

    /// Starts what must run before the receivers open: with multi-tenancy off the single
    /// tenant; with it on, every pipeline of the config is built once (so a broken one
    /// stops start-up), then every tenant holding traces that wait for a tail decision
    /// is started. Call once, before serving.
    pub(crate) async fn start(&self) -> Result<(), TenantStartError> {
        if !self.multitenancy {
            let single = self.get(crate::model::SINGLE_TENANT).await?;
            self.metrics_plugin
                .store(has_metrics_plugin(&single.pipeline()), Ordering::Relaxed);
            return Ok(());
        }
        let settings = self.settings();
        let runtime = self.runtime.clone();
        let checked = tokio::task::spawn_blocking(move || settings.check_all(&runtime))
            .await
            .map_err(|_| TenantStartError::Task("building the config's pipelines".to_owned()))??;
        self.metrics_plugin
            .store(checked.metrics_plugin, Ordering::Relaxed);
        for tenant in self.store.tenant_names() {
            let Some(id) = self.store.tenant(&tenant) else {
                continue;
            };
            let pending =
                self.store
                    .pending_markers(id)
                    .map_err(|source| TenantStartError::Store {
                        tenant: tenant.clone(),
                        source,
                    })?;
            if !pending.is_empty() {
                self.get(&tenant).await?;
            }
        }
        Ok(())
    }

    /// `tenant`, started on first use.
    pub(crate) async fn get(&self, tenant: &str) -> Result<Arc<TenantRuntime>, TenantStartError> {
        if let Some(running) = self.started(tenant) {
            return Ok(running);
        }
        let _starting = self.starting.lock().await;
        if let Some(running) = self.started(tenant) {
            return Ok(running);
        }
        let store = self.store.clone();
        let forwarder = self.forwarder.clone();
        let runtime = self.runtime.clone();
        let settings = self.settings();
        let name = tenant.to_owned();
        let limiter = TenantLimiter::new(
            self.overrides.limits_for(tenant),
            self.overrides.live_trace_idle,
        );
        let started = tokio::task::spawn_blocking(move || {
            start_tenant(&store, &forwarder, &runtime, &settings, name, limiter)
        })
        .await
        .map_err(|_| TenantStartError::Task(format!("starting tenant `{tenant}`")))??;
        let started = Arc::new(started);
        if let Some(tail) = started.tail() {
            tokio::spawn(tail.clone().run(self.shutdown.clone()));
        }
        self.running
            .write()
            .unwrap_or_else(|poison| poison.into_inner())
            .insert(tenant.to_owned(), started.clone());
        if self.multitenancy {
            tracing::info!(tenant, "tenant started");
        }
        Ok(started)
    }

    /// Re-reads the pipelines (`SIGHUP`): builds the new pipeline of every started tenant
    /// (with multi-tenancy on, every pipeline of `settings` too, for the tenants still to
    /// come), then swaps them in; on any error nothing changes. Returns the number of
    /// plugins of the top-level pipeline. Blocking.
    pub(crate) fn reload(&self, settings: PipelineSettings) -> Result<usize, PipelineError> {
        // No tenant starts meanwhile: it would take the old settings after the snapshot.
        let _starting = self.starting.blocking_lock();
        let checked = if self.multitenancy {
            Some(settings.check_all(&self.runtime)?)
        } else {
            None
        };
        let running = self.running();
        let mut rebuilt = Vec::with_capacity(running.len());
        for tenant in &running {
            rebuilt.push(settings.build(&self.runtime, tenant.name())?);
        }
        let checked = checked.unwrap_or_else(|| Checked {
            default_plugins: rebuilt
                .first()
                .map_or(0, |pipeline| pipeline.plugins().len()),
            metrics_plugin: rebuilt.iter().any(has_metrics_plugin),
        });
        for (tenant, pipeline) in running.iter().zip(rebuilt) {
            tenant.pipelines.replace(pipeline);
        }
        *self
            .settings
            .write()
            .unwrap_or_else(|poison| poison.into_inner()) = Arc::new(settings);
        self.metrics_plugin
            .store(checked.metrics_plugin, Ordering::Relaxed);
        Ok(checked.default_plugins)
    }

    /// Counts a configuration reload: its pipelines swapped in, or a failure that
    /// changed nothing (a bad file, a plugin refusing its config).
    pub(crate) fn record_reload(&self, succeeded: bool) {
        self.reloads[usize::from(!succeeded)].fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn reloads(&self) -> ReloadCounts {
        ReloadCounts {
            succeeded: self.reloads[0].load(Ordering::Relaxed),
            failed: self.reloads[1].load(Ordering::Relaxed),
        }
    }

    /// Whether the top-level pipeline or a tenant's has a metrics plugin.
    pub(crate) fn configures_metrics_plugin(&self) -> bool {
        self.metrics_plugin.load(Ordering::Relaxed)
    }

    pub(crate) fn record_discarded(&self, tenant: &str, reason: Discard, spans: usize) {
        if spans == 0 {
            return;
        }
        let mut discarded = self
            .discarded
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        *discarded.entry((tenant.to_owned(), reason)).or_default() += spans as u64;
    }

    /// Spans discarded by tenant limits so far, per tenant and reason (only those seen).
    pub(crate) fn discarded(&self) -> Vec<(String, Discard, u64)> {
        self.discarded
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
            .iter()
            .map(|((tenant, reason), count)| (tenant.clone(), *reason, *count))
            .collect()
    }
}

/// Builds a tenant's pipeline, registers it in the store and, when its pipeline
/// tail-samples, creates its tail sampler and reloads the traces it left pending.
fn start_tenant(
    store: &Arc<TraceStore>,
    forwarder: &Arc<Forwarder>,
    runtime: &Arc<PluginRuntime>,
    settings: &PipelineSettings,
    name: String,
    limiter: TenantLimiter,
) -> Result<TenantRuntime, TenantStartError> {
    let store_error = |source| TenantStartError::Store {
        tenant: name.clone(),
        source,
    };
    let pipeline = settings.build(runtime, &name)?;
    let id = store.tenant_for_write(&name).map_err(store_error)?;
    let pipelines = Arc::new(PipelineHandle::new(runtime.clone(), pipeline));
    let current = pipelines.current();
    let tail = match current
        .tail_sampler()
        .and_then(|sampler| Some((sampler, sampler.tail_settings()?)))
    {
        Some((sampler, tail_settings)) => {
            let decider = Arc::new(CurrentTailSampler::new(
                pipelines.clone(),
                sampler.name().to_owned(),
            ));
            let tail = Arc::new(TailSampler::new(
                store.clone(),
                (id, name.clone()),
                forwarder.clone(),
                decider,
                tail_settings,
                DEFAULT_DECISION_CACHE_SIZE,
            ));
            let recovered = tail.recover().map_err(store_error)?;
            tracing::info!(
                tenant = %name,
                sampler = sampler.name(),
                recovered,
                decision_wait = ?tail_settings.decision_wait,
                "tail sampling on"
            );
            Some(tail)
        }
        None => None,
    };
    Ok(TenantRuntime {
        name,
        id,
        pipelines,
        tail,
        limiter,
    })
}
