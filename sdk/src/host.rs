//! What the host gives a plugin: a log and a clock.
//!
//! Inside a wasm component these call the `host` imports. Natively (unit tests, the
//! `testing` harness) there is no host: logs go to a per-thread buffer read with
//! [`testing::take_logs`](crate::testing::take_logs) and the clock is the system's
//! unless [`testing::set_now`](crate::testing::set_now) pinned it.

use crate::bindings::types::LogLevel;

/// Logs `message` through the gateway's log, tagged with the plugin's name.
pub fn log(level: LogLevel, message: &str) {
    #[cfg(target_arch = "wasm32")]
    crate::bindings::host_imports::log(level, message);
    #[cfg(not(target_arch = "wasm32"))]
    native::log(level, message);
}

/// The host's wall clock in nanoseconds since the Unix epoch.
pub fn now_unix_nanos() -> u64 {
    #[cfg(target_arch = "wasm32")]
    return crate::bindings::host_imports::now_unix_nanos();
    #[cfg(not(target_arch = "wasm32"))]
    return native::now_unix_nanos();
}

/// The stand-in host of native builds.
#[cfg(not(target_arch = "wasm32"))]
pub(crate) mod native {
    use super::LogLevel;
    use std::cell::{Cell, RefCell};

    thread_local! {
        static LOGS: RefCell<Vec<(LogLevel, String)>> = const { RefCell::new(Vec::new()) };
        static PINNED_NOW: Cell<Option<u64>> = const { Cell::new(None) };
    }

    pub(crate) fn log(level: LogLevel, message: &str) {
        LOGS.with(|logs| logs.borrow_mut().push((level, message.to_owned())));
    }

    pub(crate) fn take_logs() -> Vec<(LogLevel, String)> {
        LOGS.with(|logs| std::mem::take(&mut *logs.borrow_mut()))
    }

    pub(crate) fn set_now(unix_nanos: Option<u64>) {
        PINNED_NOW.with(|now| now.set(unix_nanos));
    }

    pub(crate) fn now_unix_nanos() -> u64 {
        PINNED_NOW.with(Cell::get).unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |elapsed| elapsed.as_nanos() as u64)
        })
    }
}
