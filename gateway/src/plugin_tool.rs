//! `spangate plugin check` and `spangate plugin run`: what a plugin author runs before
//! putting a component in a pipeline; and the plugin half of `spangate validate-config`
//! (`check_pipeline`). All use the same host as the gateway (same sandbox and limits),
//! without a store. `check` and `run` keep compiled components in a disk cache
//! ([`tool_cache_dir`]), so a Python or JavaScript plugin (seconds to compile) costs
//! that once, not on every run.

use std::fmt::Write;
use std::path::Path;
use std::sync::Arc;

use crate::metrics::exposition::{self, Format};
use crate::model::{ExportTraceServiceRequest, TailVerdict, decode_otlp_json};
use crate::pipeline::config::PluginEntry;
use crate::pipeline::{Pipeline, PipelineError};
use crate::plugin::{
    CallFailure, OnError, Plugin, PluginError, PluginKind, PluginLimits, PluginRuntime, PluginSpec,
    RuntimeSettings,
};

#[derive(Debug, thiserror::Error)]
pub enum ToolError {
    // Not `source`: the io error is part of this message, so `{:#}` must not repeat it.
    #[error("cannot read {path}: {error}")]
    Read { path: String, error: std::io::Error },
    #[error("--config: {0}")]
    Config(String),
    #[error("--input {path}: {message}")]
    Input { path: String, message: String },
    #[error(transparent)]
    Plugin(#[from] PluginError),
    /// `plugin run`: a call failed (trap, timeout, error, invalid answer...).
    #[error("plugin `{plugin}`: {call} failed: {failure}")]
    Call {
        plugin: String,
        call: &'static str,
        failure: CallFailure,
    },
    #[error(transparent)]
    Pipeline(#[from] PipelineError),
}

/// `--config`: a file (YAML or JSON) if one exists at that path, else inline YAML/JSON;
/// returned as the JSON text `init` receives.
pub fn config_json(argument: Option<&str>) -> Result<String, ToolError> {
    let Some(argument) = argument else {
        return Ok("{}".to_owned());
    };
    let text = if Path::new(argument).is_file() {
        read_text(Path::new(argument))?
    } else {
        argument.to_owned()
    };
    let value: serde_yaml_ng::Value = serde_yaml_ng::from_str(&text)
        .map_err(|error| ToolError::Config(format!("not YAML or JSON: {error}")))?;
    if value.is_null() {
        return Ok("{}".to_owned());
    }
    serde_json::to_string(&value)
        .map_err(|error| ToolError::Config(format!("cannot be expressed as JSON: {error}")))
}

/// Compiles the component, names its kind, and runs `init` with `config` to show what
/// the plugin reports about itself. Without `config`, `init` gets `{}`; a plugin that
/// refuses that (it needs settings) is still a valid component: the report says so
/// and asks for `--config` instead of failing.
pub fn check(wasm_path: &Path, config: Option<&str>) -> Result<String, ToolError> {
    let (runtime, wasm) = load(wasm_path)?;
    let compiled = runtime.load(&wasm)?;
    let load = compiled.load_info();
    let mut report = String::new();
    let _ = writeln!(report, "file:    {}", wasm_path.display());
    let _ = writeln!(
        report,
        "kind:    {} (world spangate:plugin/{}-plugin@{})",
        compiled.kind(),
        compiled.kind(),
        spangate_plugin_abi::WIT_VERSION
    );
    let _ = writeln!(
        report,
        "size:    {} bytes, compiled in {:.1} ms",
        load.wasm_bytes,
        load.elapsed.as_secs_f64() * 1e3
    );
    let plugin = match start(&runtime, &compiled, wasm_path, config) {
        Ok(plugin) => plugin,
        Err(ToolError::Plugin(PluginError::InitRefused { message, .. })) if config.is_none() => {
            let _ = writeln!(
                report,
                "init:    refused the default config `{{}}`: {message}"
            );
            let _ = writeln!(
                report,
                "         pass the plugin's config with --config (inline YAML/JSON or a file) \
                 to see its name, version and what it reads"
            );
            return Ok(report);
        }
        Err(error) => return Err(error),
    };
    let info = plugin.info();
    let _ = writeln!(report, "plugin:  {} {}", info.name, info.version);
    let _ = writeln!(report, "reads:   {}", info.needs);
    if let Some(tail) = plugin.tail_settings() {
        let _ = writeln!(
            report,
            "tail:    decision_wait {:?}, max_traces {}, max_spans_per_trace {}",
            tail.decision_wait, tail.max_traces, tail.max_spans_per_trace
        );
    }
    Ok(report)
}

/// Runs the plugin once over the OTLP/JSON request in `input`; returns what it did,
/// as the gateway would apply it. A failed call is an error naming why (the trap and
/// what the plugin logged before it, its error message, what was invalid in its
/// answer), not an `on_error` outcome: the author wants to see the failure.
pub fn run(wasm_path: &Path, config: Option<&str>, input: &Path) -> Result<String, ToolError> {
    let (runtime, wasm) = load(wasm_path)?;
    let compiled = runtime.load(&wasm)?;
    let bytes = std::fs::read(input).map_err(|error| ToolError::Read {
        path: input.display().to_string(),
        error,
    })?;
    let mut request = decode_otlp_json(&bytes).map_err(|message| ToolError::Input {
        path: input.display().to_string(),
        message,
    })?;
    let plugin = start(&runtime, &compiled, wasm_path, config)?;
    let mut out = String::new();
    match plugin.kind() {
        PluginKind::Processor => {
            let outcome = plugin.process(&mut request);
            succeeded(&plugin, "process")?;
            summarize(&mut out, &plugin, outcome.spans_in, outcome.spans_dropped);
            out.push_str(&to_json(&request));
        }
        PluginKind::Sampler => {
            let original = request.clone();
            let outcome = plugin.sample_head(&mut request);
            succeeded(&plugin, "sample-head")?;
            summarize(&mut out, &plugin, outcome.spans_in, outcome.spans_dropped);
            if plugin.tail_settings().is_some() {
                let tail = plugin.sample_tail(&original);
                succeeded(&plugin, "sample-tail")?;
                for (trace_id, verdict) in tail.verdicts {
                    let verdict = match verdict {
                        TailVerdict::Keep { policy } if policy.is_empty() => "keep".to_owned(),
                        TailVerdict::Keep { policy } => format!("keep (policy {policy})"),
                        TailVerdict::Drop => "drop".to_owned(),
                    };
                    let _ = writeln!(out, "# tail {}: {verdict}", hex::encode(trace_id));
                }
            }
            out.push_str(&to_json(&request));
        }
        PluginKind::Metrics => {
            let outcome = plugin.observe(&request);
            succeeded(&plugin, "observe")?;
            summarize(&mut out, &plugin, outcome.spans_in, outcome.spans_dropped);
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos() as u64);
            let points = plugin.collect(now);
            succeeded(&plugin, "collect")?;
            out.push_str(&exposition::render(&points, Format::OpenMetrics));
        }
    }
    Ok(out)
}

fn load(wasm_path: &Path) -> Result<(Arc<PluginRuntime>, Vec<u8>), ToolError> {
    let wasm = std::fs::read(wasm_path).map_err(|error| ToolError::Read {
        path: wasm_path.display().to_string(),
        error,
    })?;
    let runtime = PluginRuntime::new(RuntimeSettings {
        cache_dir: tool_cache_dir(),
        ..RuntimeSettings::default()
    })?;
    Ok((runtime, wasm))
}

/// Environment variable naming the compiled-artifact cache of `plugin check` / `plugin
/// run`; set to an empty value to compile every time.
pub const TOOL_CACHE_ENV: &str = "SPANGATE_PLUGIN_CACHE";

/// `$SPANGATE_PLUGIN_CACHE`, else `$XDG_CACHE_HOME/spangate/plugin-cache`, else
/// `$HOME/.cache/spangate/plugin-cache`; `None` when none is set (or the first is empty).
pub fn tool_cache_dir() -> Option<std::path::PathBuf> {
    cache_dir_from(|name| std::env::var_os(name))
}

fn cache_dir_from(var: impl Fn(&str) -> Option<std::ffi::OsString>) -> Option<std::path::PathBuf> {
    use std::path::PathBuf;
    if let Some(dir) = var(TOOL_CACHE_ENV) {
        return (!dir.is_empty()).then(|| PathBuf::from(dir));
    }
    let non_empty = |name| var(name).filter(|value| !value.is_empty());
    non_empty("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| non_empty("HOME").map(|home| PathBuf::from(home).join(".cache")))
        .map(|base| base.join("spangate").join("plugin-cache"))
}

fn start(
    runtime: &Arc<PluginRuntime>,
    compiled: &crate::plugin::CompiledPlugin,
    wasm_path: &Path,
    config: Option<&str>,
) -> Result<Plugin, ToolError> {
    let name = wasm_path
        .file_stem()
        .map_or_else(|| "plugin".to_owned(), |s| s.to_string_lossy().into_owned());
    let spec = PluginSpec {
        name,
        config_json: config_json(config)?,
        on_error: OnError::Pass,
        limits: PluginLimits::default(),
    };
    Ok(runtime.start(compiled, spec)?)
}

/// The plugin is fresh and called once per kind of call: any failure so far is the
/// call just made.
fn succeeded(plugin: &Plugin, call: &'static str) -> Result<(), ToolError> {
    call_result(plugin.name(), call, plugin.last_failure())
}

fn call_result(
    plugin: &str,
    call: &'static str,
    failure: Option<CallFailure>,
) -> Result<(), ToolError> {
    match failure {
        None => Ok(()),
        Some(failure) => Err(ToolError::Call {
            plugin: plugin.to_owned(),
            call,
            failure,
        }),
    }
}

fn summarize(out: &mut String, plugin: &Plugin, spans_in: usize, spans_dropped: usize) {
    let _ = writeln!(
        out,
        "# {} ({}): {spans_in} spans in, {spans_dropped} dropped",
        plugin.name(),
        plugin.kind(),
    );
}

/// `spangate validate-config`'s plugin half: loads every plugin of a config's
/// `pipeline` (relative paths from `base_dir`) as the gateway would start it (compile,
/// instantiate, `init` with its config, the order rules), without touching the
/// artifact cache; returns how many there are.
pub fn check_pipeline(entries: &[PluginEntry], base_dir: &Path) -> Result<usize, ToolError> {
    if entries.is_empty() {
        return Ok(0);
    }
    let runtime = PluginRuntime::new(RuntimeSettings {
        cache_dir: None,
        ..RuntimeSettings::default()
    })?;
    let pipeline = Pipeline::build(&runtime, entries, base_dir)?;
    Ok(pipeline.plugins().len())
}

fn to_json(request: &ExportTraceServiceRequest) -> String {
    let mut text = serde_json::to_string_pretty(request).unwrap_or_else(|error| {
        format!("{{\"error\": \"cannot render the result as JSON: {error}\"}}")
    });
    text.push('\n');
    text
}

fn read_text(path: &Path) -> Result<String, ToolError> {
    std::fs::read_to_string(path).map_err(|error| ToolError::Read {
        path: path.display().to_string(),
        error,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn check_config(config: &Config) -> Result<usize, ToolError> {
        check_pipeline(&config.pipeline, &config.base_dir)
    }

    #[test]
    fn config_argument_accepts_inline_yaml_json_and_files() {
        assert_eq!(config_json(None).unwrap(), "{}");
        assert_eq!(config_json(Some("{\"a\": 1}")).unwrap(), r#"{"a":1}"#);
        assert_eq!(config_json(Some("a: [x, 2]")).unwrap(), r#"{"a":["x",2]}"#);
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("c.yaml");
        std::fs::write(&file, "head:\n  probability: 0.5\n").unwrap();
        assert_eq!(
            config_json(Some(file.to_str().unwrap())).unwrap(),
            r#"{"head":{"probability":0.5}}"#
        );
        assert!(matches!(
            config_json(Some("a: [")),
            Err(ToolError::Config(_))
        ));
    }

    fn builtin_file(dir: &Path, name: &str) -> std::path::PathBuf {
        let path = dir.join(format!("{name}.wasm"));
        std::fs::write(&path, crate::pipeline::builtin::component(name).unwrap()).unwrap();
        path
    }

    #[test]
    fn check_of_a_plugin_refusing_the_default_config_names_its_kind_and_asks_for_config() {
        let dir = tempfile::tempdir().unwrap();
        // Redaction refuses `{}`: it would redact nothing.
        let wasm = builtin_file(dir.path(), "redaction");
        let report = check(&wasm, None).expect("a refused default config is not a failure");
        let lines: Vec<&str> = report.lines().collect();
        assert!(lines[0].starts_with("file:"), "{report}");
        assert!(
            lines[1].starts_with("kind:    processor (world spangate:plugin/processor-plugin"),
            "{report}"
        );
        let init = lines
            .iter()
            .position(|l| l.starts_with("init:"))
            .expect(&report);
        assert!(init > 1, "{report}");
        assert!(
            lines[init].contains("refused the default config `{}`"),
            "{report}"
        );
        assert!(lines[init].contains("redacts nothing"), "{report}");
        assert!(lines[init + 1].contains("--config"), "{report}");

        // With a --config it accepts, the usual report.
        let report = check(&wasm, Some("{blocked_keys: [password]}")).unwrap();
        assert!(report.contains("plugin:  redaction "), "{report}");
        assert!(!report.contains("init:"), "{report}");
        // A --config it refuses is an error.
        let refused = check(&wasm, Some("{action: mask}")).unwrap_err();
        assert!(
            matches!(refused, ToolError::Plugin(PluginError::InitRefused { .. })),
            "{refused:?}"
        );
    }

    #[test]
    fn a_failed_call_is_an_error_with_its_reason() {
        assert!(call_result("p", "process", None).is_ok());
        let error = call_result(
            "faulty",
            "process",
            Some(CallFailure {
                kind: crate::plugin::FailureKind::Trap,
                message: "wasm trap: wasm `unreachable` instruction executed; the plugin \
                          logged before it trapped: panicked at src/lib.rs:9:13: boom"
                    .to_owned(),
            }),
        )
        .unwrap_err();
        assert_eq!(
            error.to_string(),
            "plugin `faulty`: process failed: trap: wasm trap: wasm `unreachable` instruction \
             executed; the plugin logged before it trapped: panicked at src/lib.rs:9:13: boom"
        );
    }

    #[test]
    fn check_pipeline_of_no_plugins_loads_nothing() {
        let config = Config::from_yaml("pipeline: []\n").unwrap();
        assert_eq!(check_config(&config).unwrap(), 0);
    }

    #[test]
    fn check_pipeline_names_a_missing_plugin_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("spangate.yaml");
        std::fs::write(&path, "pipeline:\n  - plugin: plugins/missing.wasm\n").unwrap();
        let config = Config::from_file(&path).unwrap();
        let error = check_config(&config).unwrap_err().to_string();
        assert!(
            error.starts_with("invalid config at `pipeline[0]`: cannot read plugin file ")
                && error.contains("missing.wasm"),
            "{error}"
        );
    }

    #[test]
    fn check_pipeline_starts_each_plugin_with_its_config() {
        let refused = Config::from_yaml(
            "pipeline:\n  - plugin: builtin:sampling\n  - plugin: builtin:redaction\n",
        )
        .unwrap();
        let error = check_config(&refused).unwrap_err().to_string();
        assert!(
            error.starts_with(
                "invalid config at `pipeline[1]`: plugin `redaction` refused its config"
            ) && error.contains("redacts nothing"),
            "{error}"
        );
        let good = Config::from_yaml(
            "pipeline:\n  - plugin: builtin:redaction\n    config: {blocked_keys: [password]}\n",
        )
        .unwrap();
        assert_eq!(check_config(&good).unwrap(), 1);
    }

    #[test]
    fn an_unreadable_file_is_named_once() {
        let error = check(Path::new("/nonexistent/plugin.wasm"), None).unwrap_err();
        assert!(matches!(error, ToolError::Read { .. }), "{error:?}");
        let chain = format!("{:#}", anyhow::Error::from(error));
        assert!(
            chain.starts_with("cannot read /nonexistent/plugin.wasm: "),
            "{chain}"
        );
        assert_eq!(chain.matches("No such file").count(), 1, "{chain}");
    }

    #[test]
    fn the_tool_cache_follows_the_environment() {
        use std::ffi::OsString;
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(key, _)| *key == name)
                    .map(|(_, value)| OsString::from(value))
            }
        };
        let path = |text: &str| Some(std::path::PathBuf::from(text));
        assert_eq!(
            cache_dir_from(env(&[(TOOL_CACHE_ENV, "/c"), ("HOME", "/h")])),
            path("/c")
        );
        assert_eq!(
            cache_dir_from(env(&[(TOOL_CACHE_ENV, ""), ("HOME", "/h")])),
            None
        );
        assert_eq!(
            cache_dir_from(env(&[("XDG_CACHE_HOME", "/x"), ("HOME", "/h")])),
            path("/x/spangate/plugin-cache")
        );
        assert_eq!(
            cache_dir_from(env(&[("HOME", "/h")])),
            path("/h/.cache/spangate/plugin-cache")
        );
        assert_eq!(cache_dir_from(env(&[])), None);
    }
}
