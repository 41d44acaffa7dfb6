//! The wasmtime setup production will use: one `Engine` with epoch
//! interruption, a ticker thread, an empty WASI context, a memory cap per store.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use anyhow::Result;
use wasmtime::component::{Component, Linker, ResourceTable};
use wasmtime::{Config, Engine, Store, StoreLimits, StoreLimitsBuilder};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

/// How often the ticker advances the engine's epoch.
const EPOCH_TICK: Duration = Duration::from_millis(1);
/// Per-call budget in ticks (~100 ms): generous for a 512-span batch, but an
/// endless loop in a plugin traps instead of hanging the worker.
pub const CALL_DEADLINE_TICKS: u64 = 100;
/// Linear-memory cap per instance.
const MEMORY_LIMIT_BYTES: usize = 64 << 20;

/// Per-store host state. Rust guests built for wasm32-wasip2 import
/// `wasi:cli`/`wasi:io` even when unused, so WASI is linked, with no
/// preopens, no network, no environment.
pub struct HostState {
    wasi: WasiCtx,
    table: ResourceTable,
    limits: StoreLimits,
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

pub struct Runtime {
    pub engine: Engine,
    pub linker: Linker<HostState>,
    ticker: Option<EpochTicker>,
}

impl Runtime {
    pub fn new() -> Result<Self> {
        let mut config = Config::new();
        config.epoch_interruption(true);
        let engine = Engine::new(&config)?;
        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker)?;
        let ticker = Some(EpochTicker::start(engine.clone()));
        Ok(Self {
            engine,
            linker,
            ticker,
        })
    }

    pub fn new_store(&self) -> Store<HostState> {
        let state = HostState {
            wasi: WasiCtx::builder().build(),
            table: ResourceTable::new(),
            limits: StoreLimitsBuilder::new()
                .memory_size(MEMORY_LIMIT_BYTES)
                .build(),
        };
        let mut store = Store::new(&self.engine, state);
        store.limiter(|s| &mut s.limits);
        arm_deadline(&mut store);
        store
    }

    pub fn compile(&self, wasm: &[u8]) -> Result<Component> {
        Ok(Component::new(&self.engine, wasm)?)
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        if let Some(ticker) = self.ticker.take() {
            ticker.stop();
        }
    }
}

/// Called before every guest call: the deadline is relative to the epoch now.
pub fn arm_deadline(store: &mut Store<HostState>) {
    store.set_epoch_deadline(CALL_DEADLINE_TICKS);
}

/// Background thread advancing the epoch until stopped.
struct EpochTicker {
    stop: Arc<AtomicBool>,
    thread: JoinHandle<()>,
}

impl EpochTicker {
    fn start(engine: Engine) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            while !flag.load(Ordering::Relaxed) {
                std::thread::sleep(EPOCH_TICK);
                engine.increment_epoch();
            }
        });
        Self { stop, thread }
    }

    fn stop(self) {
        self.stop.store(true, Ordering::Relaxed);
        let _ = self.thread.join();
    }
}
