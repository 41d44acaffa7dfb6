//! The export macros and the glue they expand to.
//!
//! A wasm instance holds one plugin instance; the macros keep it in a `thread_local`
//! (a plain static on single-threaded wasm, and no `Send` needed) and implement the
//! generated `Guest` trait by forwarding to the glue below, which owns the logic so the
//! macro bodies stay thin.

use std::cell::RefCell;
use std::thread::LocalKey;

use crate::batch::SpanBatch;
use crate::bindings::types::{self, LogLevel, MetricPoint, Needs, SamplerNeeds};
use crate::decisions;
use crate::edits::Edits;
use crate::host;
use crate::plugin::{Metrics, Processor, Sampler};

/// Where an export macro keeps its instance; `None` until `init` succeeded.
pub type Slot<T> = LocalKey<RefCell<Option<T>>>;

const NOT_INITIALISED: &str = "not initialised";

/// Sends a guest panic's message, with its location, to the gateway's log before the
/// trap: without it the host sees only "wasm trap: unreachable" (stderr is discarded).
/// Installed by every export once per instance; natively (tests) the default hook stays.
fn report_panics() {
    #[cfg(target_arch = "wasm32")]
    {
        static INSTALLED: std::sync::Once = std::sync::Once::new();
        INSTALLED.call_once(|| std::panic::set_hook(Box::new(log_panic)));
    }
}

/// The panic hook: one error line, e.g. `plugin panicked at src/lib.rs:12:5: index out of
/// bounds: the len is 3 but the index is 7`.
#[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))] // installed in wasm only
pub(crate) fn log_panic(info: &std::panic::PanicHookInfo<'_>) {
    host::log(LogLevel::Error, &panic_message(info));
}

fn panic_message(info: &std::panic::PanicHookInfo<'_>) -> String {
    let payload = info.payload();
    let message = payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(a panic payload that is not a string)");
    match info.location() {
        Some(location) => format!("plugin panicked at {location}: {message}"),
        None => format!("plugin panicked: {message}"),
    }
}

fn with_plugin<T, R>(
    slot: &'static Slot<T>,
    call: impl FnOnce(&mut T) -> Result<R, String>,
) -> Result<R, String> {
    report_panics();
    slot.with(|cell| match cell.borrow_mut().as_mut() {
        Some(plugin) => call(plugin),
        None => Err(NOT_INITIALISED.to_owned()),
    })
}

/// Runs `init` and stores the instance; a failed `init` leaves no instance behind.
fn store<T, N>(
    slot: &'static Slot<T>,
    init: impl FnOnce() -> Result<(T, N), String>,
) -> Result<N, String> {
    report_panics();
    let outcome = init().map(|(plugin, needs)| (Some(plugin), needs));
    slot.with(|cell| match outcome {
        Ok((plugin, needs)) => {
            *cell.borrow_mut() = plugin;
            Ok(needs)
        }
        Err(message) => {
            *cell.borrow_mut() = None;
            Err(message)
        }
    })
}

/// The batch as the SDK reads it; a column buffer whose directory does not fit it (the
/// host never sends one) fails the call.
fn read_batch(batch: types::SpanBatch) -> Result<SpanBatch, String> {
    SpanBatch::from_wit(batch).map_err(|error| format!("malformed batch: {error}"))
}

pub fn processor_init<P: Processor>(
    slot: &'static Slot<P>,
    config: String,
) -> Result<Needs, String> {
    store(slot, || P::init(&config))
}

pub fn processor_process<P: Processor>(
    slot: &'static Slot<P>,
    batch: types::SpanBatch,
) -> Result<types::Edits, String> {
    with_plugin(slot, |plugin| {
        let batch = read_batch(batch)?;
        // Room for an edit per span (what most processors answer at most) without growing step by step.
        let mut edits = Edits::with_capacity(batch.len());
        plugin.process(&batch, &mut edits)?;
        Ok(edits.into_wit())
    })
}

pub fn sampler_init<S: Sampler>(
    slot: &'static Slot<S>,
    config: String,
) -> Result<SamplerNeeds, String> {
    store(slot, || S::init(&config))
}

pub fn sampler_head<S: Sampler>(
    slot: &'static Slot<S>,
    batch: types::SpanBatch,
) -> Result<types::Decisions, String> {
    with_plugin(slot, |plugin| {
        let batch = read_batch(batch)?;
        let decisions = plugin.sample_head(&batch)?;
        // The host refuses a wrong count too; saying it here names the plugin's bug.
        if decisions.len() != batch.len() {
            return Err(format!(
                "sample_head returned {} decisions for {} spans",
                decisions.len(),
                batch.len()
            ));
        }
        decisions::encode(&decisions)
    })
}

pub fn sampler_tail<S: Sampler>(
    slot: &'static Slot<S>,
    batch: types::SpanBatch,
) -> Result<types::Decisions, String> {
    with_plugin(slot, |plugin| {
        let decisions = plugin.sample_tail(&read_batch(batch)?)?;
        decisions::encode(&decisions)
    })
}

pub fn metrics_init<M: Metrics>(slot: &'static Slot<M>, config: String) -> Result<Needs, String> {
    store(slot, || M::init(&config))
}

pub fn metrics_observe<M: Metrics>(
    slot: &'static Slot<M>,
    batch: types::SpanBatch,
) -> Result<(), String> {
    with_plugin(slot, |plugin| plugin.observe(&read_batch(batch)?))
}

/// Before `init` there are no series: an empty answer.
pub fn metrics_collect<M: Metrics>(
    slot: &'static Slot<M>,
    now_unix_nanos: u64,
) -> Vec<MetricPoint> {
    with_plugin(slot, |plugin| Ok(plugin.collect(now_unix_nanos))).unwrap_or_default()
}

/// Exports a [`Processor`](crate::Processor) as the component's `processor` interface.
/// Use once, at the plugin crate's root: `spangate_plugin_sdk::export_processor!(MyPlugin);`
#[macro_export]
macro_rules! export_processor {
    ($plugin:ty) => {
        const _: () = {
            ::std::thread_local! {
                static SPANGATE_PLUGIN: ::core::cell::RefCell<::core::option::Option<$plugin>> =
                    const { ::core::cell::RefCell::new(::core::option::Option::None) };
            }
            // Natively nothing exports it: the glue is only type-checked.
            #[allow(dead_code)]
            struct SpangateProcessorExport;
            impl $crate::bindings::processor_world::exports::spangate::plugin::processor::Guest
                for SpangateProcessorExport
            {
                fn init(
                    config: ::std::string::String,
                ) -> ::core::result::Result<$crate::Needs, ::std::string::String> {
                    $crate::__private::processor_init::<$plugin>(&SPANGATE_PLUGIN, config)
                }
                fn process(
                    batch: $crate::bindings::types::SpanBatch,
                ) -> ::core::result::Result<$crate::bindings::types::Edits, ::std::string::String>
                {
                    $crate::__private::processor_process::<$plugin>(&SPANGATE_PLUGIN, batch)
                }
            }
            // The component exports exist only in wasm: their names (`spangate:plugin/...`)
            // are not valid native symbol names, and a native build (tests, clippy) has
            // no host to call them.
            #[cfg(target_arch = "wasm32")]
            $crate::bindings::processor_world::__spangate_export_processor_world!(
                SpangateProcessorExport with_types_in $crate::bindings::processor_world
            );
        };
    };
}

/// Exports a [`Sampler`](crate::Sampler) as the component's `sampler` interface.
#[macro_export]
macro_rules! export_sampler {
    ($plugin:ty) => {
        const _: () = {
            ::std::thread_local! {
                static SPANGATE_PLUGIN: ::core::cell::RefCell<::core::option::Option<$plugin>> =
                    const { ::core::cell::RefCell::new(::core::option::Option::None) };
            }
            // Natively nothing exports it: the glue is only type-checked.
            #[allow(dead_code)]
            struct SpangateSamplerExport;
            impl $crate::bindings::sampler_world::exports::spangate::plugin::sampler::Guest
                for SpangateSamplerExport
            {
                fn init(
                    config: ::std::string::String,
                ) -> ::core::result::Result<$crate::SamplerNeeds, ::std::string::String> {
                    $crate::__private::sampler_init::<$plugin>(&SPANGATE_PLUGIN, config)
                }
                fn sample_head(
                    batch: $crate::bindings::types::SpanBatch,
                ) -> ::core::result::Result<$crate::bindings::types::Decisions, ::std::string::String>
                {
                    $crate::__private::sampler_head::<$plugin>(&SPANGATE_PLUGIN, batch)
                }
                fn sample_tail(
                    batch: $crate::bindings::types::SpanBatch,
                ) -> ::core::result::Result<$crate::bindings::types::Decisions, ::std::string::String>
                {
                    $crate::__private::sampler_tail::<$plugin>(&SPANGATE_PLUGIN, batch)
                }
            }
            // The component exports exist only in wasm: their names (`spangate:plugin/...`)
            // are not valid native symbol names, and a native build (tests, clippy) has
            // no host to call them.
            #[cfg(target_arch = "wasm32")]
            $crate::bindings::sampler_world::__spangate_export_sampler_world!(
                SpangateSamplerExport with_types_in $crate::bindings::sampler_world
            );
        };
    };
}

/// Exports a [`Metrics`](crate::Metrics) plugin as the component's `metrics` interface.
#[macro_export]
macro_rules! export_metrics {
    ($plugin:ty) => {
        const _: () = {
            ::std::thread_local! {
                static SPANGATE_PLUGIN: ::core::cell::RefCell<::core::option::Option<$plugin>> =
                    const { ::core::cell::RefCell::new(::core::option::Option::None) };
            }
            // Natively nothing exports it: the glue is only type-checked.
            #[allow(dead_code)]
            struct SpangateMetricsExport;
            impl $crate::bindings::metrics_world::exports::spangate::plugin::metrics::Guest
                for SpangateMetricsExport
            {
                fn init(
                    config: ::std::string::String,
                ) -> ::core::result::Result<$crate::Needs, ::std::string::String> {
                    $crate::__private::metrics_init::<$plugin>(&SPANGATE_PLUGIN, config)
                }
                fn observe(
                    batch: $crate::bindings::types::SpanBatch,
                ) -> ::core::result::Result<(), ::std::string::String> {
                    $crate::__private::metrics_observe::<$plugin>(&SPANGATE_PLUGIN, batch)
                }
                fn collect(now_unix_nanos: u64) -> ::std::vec::Vec<$crate::MetricPoint> {
                    $crate::__private::metrics_collect::<$plugin>(&SPANGATE_PLUGIN, now_unix_nanos)
                }
            }
            // The component exports exist only in wasm: their names (`spangate:plugin/...`)
            // are not valid native symbol names, and a native build (tests, clippy) has
            // no host to call them.
            #[cfg(target_arch = "wasm32")]
            $crate::bindings::metrics_world::__spangate_export_metrics_world!(
                SpangateMetricsExport with_types_in $crate::bindings::metrics_world
            );
        };
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bindings::types::SpanFields;
    use crate::decisions::Decision;
    use crate::edits::Edit;
    use crate::testing::{TestSpan, to_batch};

    /// Renames every span to "x"; refuses the config "bad".
    struct Renamer;

    impl Processor for Renamer {
        fn init(config: &str) -> Result<(Self, Needs), String> {
            if config == "bad" {
                return Err("bad config".into());
            }
            Ok((Renamer, Needs::new("renamer", "1").fields(SpanFields::NAME)))
        }

        fn process(&mut self, batch: &SpanBatch, edits: &mut Edits) -> Result<(), String> {
            for span in batch.spans() {
                edits.set_name(span, "x");
            }
            Ok(())
        }
    }

    /// Answers one head decision whatever the batch.
    struct OneDecision;

    impl Sampler for OneDecision {
        fn init(_: &str) -> Result<(Self, SamplerNeeds), String> {
            Ok((
                OneDecision,
                SamplerNeeds {
                    needs: Needs::new("one", "1"),
                    tail: None,
                },
            ))
        }

        fn sample_head(&mut self, _: &SpanBatch) -> Result<Vec<Decision>, String> {
            Ok(vec![Decision::Keep("one".into())])
        }
    }

    struct Gauge;

    impl Metrics for Gauge {
        fn init(_: &str) -> Result<(Self, Needs), String> {
            Ok((Gauge, Needs::new("gauge", "1")))
        }

        fn observe(&mut self, _: &SpanBatch) -> Result<(), String> {
            Ok(())
        }

        fn collect(&mut self, now_unix_nanos: u64) -> Vec<MetricPoint> {
            vec![MetricPoint {
                name: "now".into(),
                help: String::new(),
                labels: Vec::new(),
                value: types::MetricValue::Gauge(now_unix_nanos as f64),
                exemplar: None,
            }]
        }
    }

    thread_local! {
        static RENAMER: RefCell<Option<Renamer>> = const { RefCell::new(None) };
        static ONE: RefCell<Option<OneDecision>> = const { RefCell::new(None) };
        static GAUGE: RefCell<Option<Gauge>> = const { RefCell::new(None) };
    }

    fn wit_batch(spans: usize) -> types::SpanBatch {
        let spans: Vec<TestSpan> = (0..spans)
            .map(|id| TestSpan::new(1, id as u64).named("a"))
            .collect();
        to_batch(&spans, &Needs::new("t", "0").fields(SpanFields::NAME)).into_wit()
    }

    fn decoded(answer: Result<types::Edits, String>) -> Result<Vec<Edit>, String> {
        answer.map(|edits| Edits::from_wit(edits).to_vec())
    }

    #[test]
    fn a_processor_answers_only_after_a_successful_init() {
        let not_initialised = Err("not initialised".to_owned());
        assert_eq!(
            decoded(processor_process(&RENAMER, wit_batch(1))),
            not_initialised
        );
        assert_eq!(
            processor_init(&RENAMER, "bad".into()).err(),
            Some("bad config".into())
        );
        assert_eq!(
            decoded(processor_process(&RENAMER, wit_batch(1))),
            not_initialised
        );
        assert_eq!(
            processor_init(&RENAMER, String::new()).unwrap().name,
            "renamer"
        );
        assert_eq!(
            decoded(processor_process(&RENAMER, wit_batch(2))),
            Ok(vec![
                Edit::SetName(0, "x".into()),
                Edit::SetName(1, "x".into())
            ])
        );
        // A later failed init (a reload) leaves no stale instance behind.
        assert!(processor_init(&RENAMER, "bad".into()).is_err());
        assert_eq!(
            decoded(processor_process(&RENAMER, wit_batch(1))),
            not_initialised
        );
    }

    #[test]
    fn a_malformed_batch_fails_the_call() {
        processor_init(&RENAMER, String::new()).unwrap();
        let short = types::SpanBatch {
            len: 1,
            columns: vec![0; 12],
            strings: Vec::new(),
        };
        let error = processor_process(&RENAMER, short).unwrap_err();
        assert!(
            error.starts_with("malformed batch: the column buffer is 12 bytes"),
            "{error}"
        );
    }

    #[test]
    fn a_sampler_with_a_wrong_head_count_fails_the_call() {
        assert_eq!(
            sampler_head(&ONE, wit_batch(1)),
            Err("not initialised".into())
        );
        sampler_init(&ONE, String::new()).unwrap();
        assert_eq!(
            sampler_head(&ONE, wit_batch(1)),
            Ok(types::Decisions {
                verdicts: vec![1],
                policies: vec!["one".into()]
            })
        );
        assert_eq!(
            sampler_head(&ONE, wit_batch(3)),
            Err("sample_head returned 1 decisions for 3 spans".into())
        );
        // The default tail: one keep per distinct trace (all spans are in trace 1, but
        // the batch did not declare trace ids, so they all read as trace 0).
        assert_eq!(
            sampler_tail(&ONE, wit_batch(3)),
            Ok(types::Decisions {
                verdicts: vec![1],
                policies: vec![String::new()]
            })
        );
    }

    #[test]
    fn metrics_collect_nothing_before_init() {
        assert_eq!(metrics_collect(&GAUGE, 5), Vec::new());
        assert_eq!(
            metrics_observe(&GAUGE, wit_batch(1)),
            Err("not initialised".into())
        );
        metrics_init(&GAUGE, String::new()).unwrap();
        assert_eq!(metrics_observe(&GAUGE, wit_batch(1)), Ok(()));
        assert_eq!(
            metrics_collect(&GAUGE, 5)[0].value,
            types::MetricValue::Gauge(5.0)
        );
    }

    #[test]
    fn a_panic_is_logged_with_its_message_and_location() {
        // The hook is process-wide: installed just around this panic (other tests'
        // panics in between would be logged on their own threads, harmlessly).
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(log_panic));
        let line = line!() + 1;
        let outcome = std::panic::catch_unwind(|| panic!("index {} out of range", 7));
        std::panic::set_hook(previous);
        assert!(outcome.is_err());
        let logs = crate::testing::take_logs();
        assert_eq!(logs.len(), 1, "{logs:?}");
        let (level, message) = &logs[0];
        assert_eq!(*level, LogLevel::Error);
        let location = format!("plugin panicked at {}:{line}:", file!());
        assert!(message.starts_with(&location), "{message}");
        assert!(message.ends_with(": index 7 out of range"), "{message}");
    }
}
