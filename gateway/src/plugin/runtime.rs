//! One wasmtime `Engine` per process: epoch interruption driven by a ticker thread, a
//! `Linker` with WASI (empty context) and our `host` imports, the artifact cache, and
//! the per-store host state (memory cap, plugin name for its logs).

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use wasmtime::component::{Component, HasSelf, Linker, ResourceTable};
use wasmtime::{Config, Engine, ResourceLimiter, Store};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use super::bindings::{self, host, wit};
use super::cache::ArtifactCache;
use super::running::Plugin;
use super::{PluginError, PluginKind, PluginSpec};

/// Process-wide plugin settings.
#[derive(Clone, Debug)]
pub struct RuntimeSettings {
    /// Where compiled artifacts are kept between runs; `None`: compile on every load.
    pub cache_dir: Option<PathBuf>,
    /// How often the epoch advances: the granularity of call deadlines.
    pub epoch_tick: Duration,
}

impl Default for RuntimeSettings {
    fn default() -> Self {
        RuntimeSettings {
            cache_dir: None,
            epoch_tick: Duration::from_millis(1),
        }
    }
}

/// The engine, linker and artifact cache every plugin of the process shares.
pub struct PluginRuntime {
    pub(super) engine: Engine,
    pub(super) linker: Linker<HostState>,
    pub(super) epoch_tick: Duration,
    cache: Option<ArtifactCache>,
    ticker: Option<EpochTicker>,
}

impl std::fmt::Debug for PluginRuntime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PluginRuntime")
            .field("epoch_tick", &self.epoch_tick)
            .field("cache", &self.cache.as_ref().map(ArtifactCache::dir))
            .finish_non_exhaustive()
    }
}

/// How a `load` went.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LoadInfo {
    /// The compiled artifact came from the disk cache (no compilation).
    pub from_cache: bool,
    /// Wall time of the whole load (cache lookup or compilation, kind detection, linking).
    pub elapsed: Duration,
    pub wasm_bytes: usize,
    /// Size of the compiled artifact (0 when there is no cache to write it to).
    pub artifact_bytes: usize,
}

/// A compiled, linked component whose kind is known; `start` it as many times as needed.
#[derive(Clone)]
pub struct CompiledPlugin {
    pub(super) kind: PluginKind,
    pub(super) pre: Pre,
    pub(super) load_info: LoadInfo,
}

impl std::fmt::Debug for CompiledPlugin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CompiledPlugin")
            .field("kind", &self.kind)
            .field("load_info", &self.load_info)
            .finish_non_exhaustive()
    }
}

impl CompiledPlugin {
    pub fn kind(&self) -> PluginKind {
        self.kind
    }

    pub fn load_info(&self) -> LoadInfo {
        self.load_info
    }
}

/// The pre-linked component, typed by kind.
#[derive(Clone)]
pub(super) enum Pre {
    Processor(bindings::processor::ProcessorPluginPre<HostState>),
    Sampler(bindings::sampler::SamplerPluginPre<HostState>),
    Metrics(bindings::metrics::MetricsPluginPre<HostState>),
}

impl PluginRuntime {
    pub fn new(settings: RuntimeSettings) -> Result<Arc<Self>, PluginError> {
        const PERF_MAP_ENV: &str = "SPANGATE_PLUGIN_PERF_MAP";
        let runtime_error = |error: wasmtime::Error| PluginError::Runtime {
            message: format!("{error:#}"),
        };
        if settings.epoch_tick.is_zero() {
            return Err(PluginError::Runtime {
                message: "epoch_tick must be greater than zero".to_owned(),
            });
        }
        let mut config = Config::new();
        config.epoch_interruption(true);
        // `perf record` can name plugin functions when this is set (writes /tmp/perf-PID.map).
        if std::env::var_os(PERF_MAP_ENV).is_some() {
            config.profiler(wasmtime::ProfilingStrategy::PerfMap);
        }
        let engine = Engine::new(&config).map_err(runtime_error)?;
        let mut linker = Linker::new(&engine);
        // Rust (std), Python and JS guests import wasi:cli / wasi:io / ... even when
        // unused; they are linked against an empty context (see `HostState::new`).
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker).map_err(runtime_error)?;
        // The three worlds import the same `host` (and `types`): link them once.
        bindings::processor::ProcessorPlugin::add_to_linker::<HostState, HasSelf<HostState>>(
            &mut linker,
            |state| state,
        )
        .map_err(runtime_error)?;
        let cache = match settings.cache_dir {
            Some(dir) => Some(ArtifactCache::open(dir)?),
            None => None,
        };
        let ticker = EpochTicker::start(engine.clone(), settings.epoch_tick)?;
        Ok(Arc::new(PluginRuntime {
            engine,
            linker,
            epoch_tick: settings.epoch_tick,
            cache,
            ticker: Some(ticker),
        }))
    }

    /// Compiles `wasm` (or loads its compiled artifact from the cache), detects which
    /// plugin interface it exports and links it.
    pub fn load(&self, wasm: &[u8]) -> Result<CompiledPlugin, PluginError> {
        let started = Instant::now();
        check_component_header(wasm)?;
        let (component, from_cache, artifact_bytes) = match &self.cache {
            Some(cache) => cache.compile(&self.engine, wasm)?,
            None => (compile(&self.engine, wasm)?, false, 0),
        };
        let kind = detect_kind(&self.engine, &component)?;
        let instance_pre =
            self.linker
                .instantiate_pre(&component)
                .map_err(|error| PluginError::Link {
                    message: format!("{error:#}"),
                })?;
        let mismatch = |error: wasmtime::Error| PluginError::NotAPlugin {
            reason: format!(
                "it exports the {kind} interface, but not with the functions and types of \
                 this host's {}@{}: {error:#}",
                bindings::PACKAGE,
                bindings::VERSION
            ),
        };
        let pre = match kind {
            PluginKind::Processor => Pre::Processor(
                bindings::processor::ProcessorPluginPre::new(instance_pre).map_err(mismatch)?,
            ),
            PluginKind::Sampler => Pre::Sampler(
                bindings::sampler::SamplerPluginPre::new(instance_pre).map_err(mismatch)?,
            ),
            PluginKind::Metrics => Pre::Metrics(
                bindings::metrics::MetricsPluginPre::new(instance_pre).map_err(mismatch)?,
            ),
        };
        Ok(CompiledPlugin {
            kind,
            pre,
            load_info: LoadInfo {
                from_cache,
                elapsed: started.elapsed(),
                wasm_bytes: wasm.len(),
                artifact_bytes,
            },
        })
    }

    /// Instantiates the plugin and runs its `init` with `spec.config_json`; more
    /// instances (processors) are created on first use.
    pub fn start(
        self: &Arc<Self>,
        compiled: &CompiledPlugin,
        spec: PluginSpec,
    ) -> Result<Plugin, PluginError> {
        Plugin::start(self.clone(), compiled, spec)
    }

    /// A fresh store for one instance of `plugin`.
    pub(super) fn new_store(&self, plugin: Arc<str>, max_memory_bytes: usize) -> Store<HostState> {
        let mut store = Store::new(&self.engine, HostState::new(plugin, max_memory_bytes));
        store.limiter(|state| &mut state.limiter);
        store.epoch_deadline_trap();
        store
    }

    /// Epoch ticks covering `timeout`: one extra, since the current tick is partly gone.
    pub(super) fn deadline_ticks(&self, timeout: Duration) -> u64 {
        let tick = self.epoch_tick.as_nanos().max(1);
        let ticks = timeout.as_nanos().div_ceil(tick);
        u64::try_from(ticks)
            .unwrap_or(u64::MAX / 2)
            .saturating_add(1)
    }
}

impl Drop for PluginRuntime {
    fn drop(&mut self) {
        if let Some(ticker) = self.ticker.take() {
            ticker.stop();
        }
    }
}

pub(super) fn compile(engine: &Engine, wasm: &[u8]) -> Result<Component, PluginError> {
    Component::new(engine, wasm).map_err(|error| PluginError::Compile {
        message: format!("{error:#}"),
    })
}

/// Tells garbage and core modules apart from components before compiling, so the user
/// reads what is wrong with the file rather than a parser error.
fn check_component_header(wasm: &[u8]) -> Result<(), PluginError> {
    const MAGIC: &[u8] = b"\0asm";
    const CORE_MODULE_VERSION: &[u8] = &[1, 0, 0, 0];
    let not_a_plugin = |reason: &str| {
        Err(PluginError::NotAPlugin {
            reason: reason.to_owned(),
        })
    };
    if wasm.len() < 8 || &wasm[..4] != MAGIC {
        return not_a_plugin("the file is not a WebAssembly binary");
    }
    if &wasm[4..8] == CORE_MODULE_VERSION {
        return not_a_plugin(
            "the file is a core WebAssembly module, not a component: build for \
             wasm32-wasip2, or wrap the module with `wasm-tools component new`",
        );
    }
    Ok(())
}

/// The kind is the plugin interface the component exports; exactly one is allowed.
fn detect_kind(engine: &Engine, component: &Component) -> Result<PluginKind, PluginError> {
    let exports: Vec<String> = component
        .component_type()
        .exports(engine)
        .map(|(name, _)| name.to_owned())
        .collect();
    kind_of_exports(&exports)
}

/// A plugin interface export, `spangate:plugin/<kind>@<version>`, of any version.
fn plugin_export(name: &str) -> Option<(PluginKind, &str)> {
    let rest = name.strip_prefix(bindings::PACKAGE)?.strip_prefix('/')?;
    let (interface, version) = rest.split_once('@').unwrap_or((rest, ""));
    let kind = match interface {
        "processor" => PluginKind::Processor,
        "sampler" => PluginKind::Sampler,
        "metrics" => PluginKind::Metrics,
        _ => return None,
    };
    Some((kind, version))
}

/// The kind from the component's export names: exactly one plugin interface of this
/// host's version. A plugin built against another version is told so, by version.
fn kind_of_exports(exports: &[String]) -> Result<PluginKind, PluginError> {
    let mut kinds = Vec::new();
    let mut other_versions: Vec<&str> = Vec::new();
    for (kind, version) in exports.iter().filter_map(|name| plugin_export(name)) {
        if version == bindings::VERSION {
            kinds.push(kind);
        } else if !other_versions.contains(&version) {
            other_versions.push(version);
        }
    }
    match kinds.as_slice() {
        [kind] => Ok(*kind),
        [] if !other_versions.is_empty() => Err(PluginError::Version {
            targets: other_versions
                .iter()
                .map(|version| match *version {
                    "" => format!("{} (unversioned)", bindings::PACKAGE),
                    version => format!("{}@{version}", bindings::PACKAGE),
                })
                .collect::<Vec<_>>()
                .join(" and "),
            speaks: format!("{}@{}", bindings::PACKAGE, bindings::VERSION),
            version: bindings::VERSION,
        }),
        [] => Err(PluginError::NotAPlugin {
            reason: format!(
                "the component exports none of {}, {}, {}; it exports: {}",
                bindings::PROCESSOR_EXPORT,
                bindings::SAMPLER_EXPORT,
                bindings::METRICS_EXPORT,
                if exports.is_empty() {
                    "nothing".to_owned()
                } else {
                    exports.join(", ")
                }
            ),
        }),
        several => Err(PluginError::NotAPlugin {
            reason: format!(
                "the component exports several plugin interfaces ({}); a plugin exports one",
                several
                    .iter()
                    .map(|kind| kind.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }),
    }
}

/// Per-store state: an empty WASI context, the memory cap, and who is logging.
pub(super) struct HostState {
    wasi: WasiCtx,
    table: ResourceTable,
    pub(super) limiter: MemoryLimiter,
    pub(super) plugin: Arc<str>,
    /// Log lines this call; past `MAX_LOGS_PER_CALL` they are counted, not written.
    logs_this_call: u32,
    logs_suppressed: u32,
    /// The last error-level line the guest logged this call (written or suppressed).
    /// The SDKs log a panic's message this way just before trapping, so a trap's
    /// failure can say why the guest gave up.
    last_error_log: Option<String>,
}

/// A plugin logging in a loop must not flood the gateway's own logs.
const MAX_LOGS_PER_CALL: u32 = 32;
/// Longer messages are cut (at a char boundary).
const MAX_LOG_BYTES: usize = 4096;

impl HostState {
    fn new(plugin: Arc<str>, max_memory_bytes: usize) -> HostState {
        // Defaults: no preopens, env or args, stdin closed, stdout/stderr discarded,
        // name lookup denied; sockets are switched off entirely on top.
        let wasi = WasiCtx::builder().allow_tcp(false).allow_udp(false).build();
        HostState {
            wasi,
            table: ResourceTable::new(),
            limiter: MemoryLimiter::new(max_memory_bytes),
            plugin,
            logs_this_call: 0,
            logs_suppressed: 0,
            last_error_log: None,
        }
    }

    /// Called before each guest call.
    pub(super) fn begin_call(&mut self) {
        self.logs_this_call = 0;
        self.logs_suppressed = 0;
        self.last_error_log = None;
    }

    /// The last error-level line the guest logged during the current (or last) call.
    pub(super) fn last_error_log(&self) -> Option<&str> {
        self.last_error_log.as_deref()
    }

    /// Called after each guest call: reports log lines that were suppressed.
    pub(super) fn end_call(&mut self) {
        if self.logs_suppressed > 0 {
            tracing::warn!(
                plugin = %self.plugin,
                suppressed = self.logs_suppressed,
                "plugin logged more than {MAX_LOGS_PER_CALL} lines in one call; the rest were dropped"
            );
        }
    }
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl wit::Host for HostState {}

impl host::Host for HostState {
    fn log(&mut self, level: wit::LogLevel, mut message: String) {
        message.truncate(char_boundary_at_most(&message, MAX_LOG_BYTES));
        if matches!(level, wit::LogLevel::Error) {
            self.last_error_log = Some(message.clone());
        }
        if self.logs_this_call >= MAX_LOGS_PER_CALL {
            self.logs_suppressed = self.logs_suppressed.saturating_add(1);
            return;
        }
        self.logs_this_call += 1;
        let plugin = &*self.plugin;
        match level {
            wit::LogLevel::Trace => tracing::trace!(plugin, "{message}"),
            wit::LogLevel::Debug => tracing::debug!(plugin, "{message}"),
            wit::LogLevel::Info => tracing::info!(plugin, "{message}"),
            wit::LogLevel::Warn => tracing::warn!(plugin, "{message}"),
            wit::LogLevel::Error => tracing::error!(plugin, "{message}"),
        }
    }

    fn now_unix_nanos(&mut self) -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |elapsed| {
                u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX)
            })
    }
}

/// The longest prefix length of `text` of at most `max_bytes` that ends on a char.
fn char_boundary_at_most(text: &str, max_bytes: usize) -> usize {
    if text.len() <= max_bytes {
        return text.len();
    }
    let mut end = max_bytes;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    end
}

/// Caps linear memory. Refusing a grow is made a trap (rather than `memory.grow`
/// returning -1, which a Rust guest turns into an abort that looks like any other
/// trap) and remembered, so the failure is classified as `Memory`.
pub(super) struct MemoryLimiter {
    max_memory_bytes: usize,
    pub(super) exceeded: bool,
    /// Linear memory the instance holds now, all its memories together (each memory's
    /// creation is a grow from 0, so this starts right).
    pub(super) memory_bytes: usize,
}

/// The error a refused memory grow traps with.
#[derive(Debug, thiserror::Error)]
#[error("plugin tried to grow its memory to {desired} bytes, past its limit of {limit} bytes")]
pub(super) struct MemoryLimitExceeded {
    desired: usize,
    limit: usize,
}

/// Tables hold function references; a million entries is far beyond any real guest.
const MAX_TABLE_ELEMENTS: usize = 1 << 20;

impl MemoryLimiter {
    fn new(max_memory_bytes: usize) -> MemoryLimiter {
        MemoryLimiter {
            max_memory_bytes,
            exceeded: false,
            memory_bytes: 0,
        }
    }
}

impl ResourceLimiter for MemoryLimiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.max_memory_bytes {
            self.exceeded = true;
            return Err(MemoryLimitExceeded {
                desired,
                limit: self.max_memory_bytes,
            }
            .into());
        }
        let allowed = maximum.is_none_or(|maximum| desired <= maximum);
        if allowed {
            self.memory_bytes = self
                .memory_bytes
                .saturating_add(desired.saturating_sub(current));
        }
        Ok(allowed)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= MAX_TABLE_ELEMENTS && maximum.is_none_or(|maximum| desired <= maximum))
    }
}

/// Background thread advancing the engine's epoch until stopped.
struct EpochTicker {
    stop: Arc<AtomicBool>,
    thread: JoinHandle<()>,
}

impl EpochTicker {
    fn start(engine: Engine, tick: Duration) -> Result<EpochTicker, PluginError> {
        let stop = Arc::new(AtomicBool::new(false));
        let stop_flag = stop.clone();
        let thread = std::thread::Builder::new()
            .name("plugin-epoch".to_owned())
            .spawn(move || {
                while !stop_flag.load(Ordering::Relaxed) {
                    std::thread::sleep(tick);
                    engine.increment_epoch();
                }
            })
            .map_err(|error| PluginError::Runtime {
                message: format!("cannot start the epoch ticker thread: {error}"),
            })?;
        Ok(EpochTicker { stop, thread })
    }

    fn stop(self) {
        self.stop.store(true, Ordering::Relaxed);
        if self.thread.join().is_err() {
            tracing::error!("the plugin epoch ticker thread panicked");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_check_names_the_problem() {
        let garbage = check_component_header(b"hello, world").unwrap_err();
        assert!(
            garbage.to_string().contains("not a WebAssembly binary"),
            "{garbage}"
        );
        let core = check_component_header(b"\0asm\x01\0\0\0").unwrap_err();
        assert!(
            core.to_string().contains("core WebAssembly module"),
            "{core}"
        );
        assert!(check_component_header(b"\0asm\x0d\0\x01\0").is_ok());
    }

    #[test]
    fn deadline_covers_the_timeout() {
        let runtime = PluginRuntime::new(RuntimeSettings::default()).unwrap();
        assert_eq!(runtime.deadline_ticks(Duration::from_millis(100)), 101);
        assert_eq!(runtime.deadline_ticks(Duration::from_micros(1500)), 3);
        assert_eq!(runtime.deadline_ticks(Duration::ZERO), 1);
    }

    #[test]
    fn log_truncation_keeps_utf8_valid() {
        assert_eq!(char_boundary_at_most("héllo", 2), 1);
        assert_eq!(char_boundary_at_most("héllo", 3), 3);
        assert_eq!(char_boundary_at_most("abc", 10), 3);
    }

    #[test]
    fn the_last_error_log_of_a_call_is_kept_even_past_the_line_cap() {
        use host::Host;
        let mut state = HostState::new(Arc::from("p"), 1 << 20);
        state.begin_call();
        state.log(wit::LogLevel::Error, "first".to_owned());
        for _ in 0..MAX_LOGS_PER_CALL {
            state.log(wit::LogLevel::Info, "chatter".to_owned());
        }
        state.log(
            wit::LogLevel::Error,
            "panicked at src/lib.rs:3:5: boom".to_owned(),
        );
        state.log(wit::LogLevel::Warn, "after".to_owned());
        assert_eq!(
            state.last_error_log(),
            Some("panicked at src/lib.rs:3:5: boom")
        );
        state.begin_call();
        assert_eq!(state.last_error_log(), None);
    }

    fn names(names: &[&str]) -> Vec<String> {
        names.iter().map(|name| (*name).to_owned()).collect()
    }

    #[test]
    fn the_kind_is_the_one_plugin_export_of_this_version() {
        let kind = |exports: &[&str]| kind_of_exports(&names(exports));
        assert_eq!(
            kind(&["wasi:cli/run@0.2.0", "spangate:plugin/processor@0.2.0"]).unwrap(),
            PluginKind::Processor
        );
        assert_eq!(
            kind(&["spangate:plugin/sampler@0.2.0"]).unwrap(),
            PluginKind::Sampler
        );
        assert_eq!(
            kind(&["spangate:plugin/metrics@0.2.0"]).unwrap(),
            PluginKind::Metrics
        );
        // An old export beside the current one is ignored.
        assert_eq!(
            kind(&[
                "spangate:plugin/processor@0.1.0",
                "spangate:plugin/processor@0.2.0"
            ])
            .unwrap(),
            PluginKind::Processor
        );
        let several = kind(&[
            "spangate:plugin/processor@0.2.0",
            "spangate:plugin/metrics@0.2.0",
        ])
        .unwrap_err()
        .to_string();
        assert!(
            several.contains("several plugin interfaces (processor, metrics)"),
            "{several}"
        );
        let none = kind(&["fixture:other/greeter@1.0.0"])
            .unwrap_err()
            .to_string();
        assert!(
            none.contains("exports none of spangate:plugin/processor@0.2.0")
                && none.contains("it exports: fixture:other/greeter@1.0.0"),
            "{none}"
        );
        let nothing = kind(&[]).unwrap_err().to_string();
        assert!(nothing.ends_with("it exports: nothing"), "{nothing}");
        // Other interfaces of the package are not plugin kinds.
        assert!(matches!(
            kind(&["spangate:plugin/host@0.2.0"]),
            Err(PluginError::NotAPlugin { .. })
        ));
    }

    #[test]
    fn a_plugin_of_another_version_is_refused_by_version() {
        for export in [
            "spangate:plugin/processor@0.1.0",
            "spangate:plugin/sampler@0.1.0",
            "spangate:plugin/metrics@0.1.0",
        ] {
            let error = kind_of_exports(&names(&["wasi:cli/run@0.2.0", export])).unwrap_err();
            assert!(matches!(error, PluginError::Version { .. }), "{error:?}");
            assert_eq!(
                error.to_string(),
                "the plugin targets spangate:plugin@0.1.0; this gateway speaks \
                 spangate:plugin@0.2.0: rebuild it against the 0.2.0 WIT (sdk/ or wit/plugin.wit)"
            );
        }
        let future = kind_of_exports(&names(&["spangate:plugin/sampler@0.3.1"]))
            .unwrap_err()
            .to_string();
        assert!(future.starts_with("the plugin targets spangate:plugin@0.3.1; this gateway speaks spangate:plugin@0.2.0"), "{future}");
        let unversioned = kind_of_exports(&names(&["spangate:plugin/processor"]))
            .unwrap_err()
            .to_string();
        assert!(
            unversioned.starts_with("the plugin targets spangate:plugin (unversioned);"),
            "{unversioned}"
        );
    }
}
