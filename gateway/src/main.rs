//! The `spangate` command: run the gateway, or check a configuration file.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use spangate::config::Config;
use tokio_util::sync::CancellationToken;

/// Decoding OTLP allocates many small strings and vectors per span; mimalloc spends
/// far less CPU on them than glibc malloc (see BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "spangate",
    version,
    about = "OTLP gateway with a Tempo-compatible trace store"
)]
struct Cli {
    /// YAML configuration file; without it the embedded default is used
    /// (see examples/config/spangate.yaml).
    /// (Given before any subcommand: `spangate --config FILE`.)
    #[arg(long, short)]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the gateway (the default).
    Run,
    /// Parse and validate a configuration file, load and start (`init` with its config)
    /// every plugin of its pipeline, then exit.
    ValidateConfig {
        /// The file to check.
        file: PathBuf,
    },
    /// Print the embedded default configuration.
    DefaultConfig,
    /// Tools for plugin authors.
    #[command(subcommand)]
    Plugin(PluginCommand),
    /// Tools for operators of a store.
    #[command(subcommand)]
    Store(StoreCommand),
    /// Read traces, search, tags and TraceQL metrics from a Tempo-compatible query API
    /// (Spangate or Grafana Tempo).
    Query(spangate::query_cli::QueryArgs),
}

#[derive(Subcommand)]
enum StoreCommand {
    /// Print what a data directory holds: bytes on disk, per column family, and per
    /// tenant the spans, traces, blocks and ingest time range. Read-only (no lock, no
    /// writes): it can run beside a gateway using the directory.
    Inspect {
        /// The store's data directory (`storage.data_dir`).
        data_dir: PathBuf,
        /// Print JSON instead of tables.
        #[arg(long)]
        json: bool,
    },
}

/// `check` and `run` keep compiled components in `$SPANGATE_PLUGIN_CACHE` (default
/// `~/.cache/spangate/plugin-cache`; empty: no cache).
#[derive(Subcommand)]
enum PluginCommand {
    /// Check that a .wasm file is a Spangate plugin component: print its kind, then run
    /// its `init` with --config and print what it reports (name, version, what it reads).
    Check {
        /// The component.
        file: PathBuf,
        /// The plugin's config: inline YAML/JSON, or a file holding it. Default `{}`.
        #[arg(long = "config")]
        plugin_config: Option<String>,
    },
    /// Run a plugin once over spans in an OTLP/JSON file and print the result: the
    /// edited/kept spans (processor, sampler; plus tail verdicts per trace), or the
    /// metric points (metrics plugin, in OpenMetrics text).
    Run {
        /// The component.
        file: PathBuf,
        /// The plugin's config: inline YAML/JSON, or a file holding it. Default `{}`.
        #[arg(long = "config")]
        plugin_config: Option<String>,
        /// An OTLP/JSON export request (what `POST /v1/traces` accepts as JSON).
        #[arg(long)]
        input: PathBuf,
    },
    /// Write a new plugin project into ./NAME: a processor (adds `plugin.hello` to every
    /// span, drops the spans named by its `drop_name` config key) with its native test,
    /// the language's SDK vendored, the WIT, `build.sh`, `spans.json` and a README with
    /// the commands from test to `plugin run`. Refuses an existing NAME.
    New {
        /// The plugin's language.
        #[arg(long, value_enum)]
        lang: spangate::plugin_new::Language,
        /// The project's directory and the plugin's name: lowercase letters, digits, `-`
        /// and `_`, starting with a letter.
        name: String,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command.unwrap_or(Command::Run) {
        Command::ValidateConfig { file } => validate(&file),
        Command::DefaultConfig => {
            print!("{}", spangate::config::DEFAULT_CONFIG_YAML);
            Ok(())
        }
        Command::Run => run(cli.config),
        Command::Plugin(command) => plugin(command),
        Command::Store(StoreCommand::Inspect { data_dir, json }) => inspect_store(&data_dir, json),
        Command::Query(args) => spangate::query_cli::run(args)
            .map(|out| print!("{out}"))
            .map_err(Into::into),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn validate(file: &std::path::Path) -> anyhow::Result<()> {
    let config = Config::from_file(file)?;
    // A plugin that is missing or refuses its config would stop the gateway at start.
    let mut loaded = spangate::plugin_tool::check_pipeline(&config.pipeline, &config.base_dir)?;
    for (tenant, overrides) in &config.overrides.tenants {
        if let Some(entries) = &overrides.pipeline {
            loaded += spangate::plugin_tool::check_pipeline(entries, &config.base_dir)
                .with_context(|| format!("in `overrides.tenants.{tenant}.pipeline`"))?;
        }
    }
    match loaded {
        0 => println!("config ok: {}", file.display()),
        plugins => println!(
            "config ok: {} ({plugins} plugin{} loaded and initialised)",
            file.display(),
            if plugins == 1 { "" } else { "s" }
        ),
    }
    Ok(())
}

fn plugin(command: PluginCommand) -> anyhow::Result<()> {
    let report = match command {
        PluginCommand::Check {
            file,
            plugin_config,
        } => spangate::plugin_tool::check(&file, plugin_config.as_deref())?,
        PluginCommand::Run {
            file,
            plugin_config,
            input,
        } => spangate::plugin_tool::run(&file, plugin_config.as_deref(), &input)?,
        PluginCommand::New { lang, name } => new_plugin(lang, &name)?,
    };
    print!("{report}");
    Ok(())
}

fn new_plugin(lang: spangate::plugin_new::Language, name: &str) -> anyhow::Result<String> {
    let dir = spangate::plugin_new::create(lang, name, std::path::Path::new("."))?;
    let commands = spangate::plugin_new::build_and_run_commands(lang, name);
    Ok(format!(
        "created {}: a {} processor plugin (see its README.md)\nnext:\n  cd {name}\n{}",
        dir.display(),
        lang.name(),
        commands
            .lines()
            .map(|line| format!("  {line}\n"))
            .collect::<String>()
    ))
}

fn inspect_store(data_dir: &std::path::Path, json: bool) -> anyhow::Result<()> {
    let inspection = spangate::store::inspect(data_dir)
        .with_context(|| format!("cannot inspect {}", data_dir.display()))?;
    if json {
        println!("{}", serde_json::to_string_pretty(&inspection)?);
    } else {
        print!("{}", spangate::store::render_inspection(&inspection));
    }
    Ok(())
}

fn run(config_path: Option<PathBuf>) -> anyhow::Result<()> {
    let config = match &config_path {
        Some(path) => Config::from_file(path)?,
        None => Config::embedded_default(),
    };
    spangate::logging::init(&config.log);
    match &config_path {
        Some(path) => tracing::info!(config = %path.display(), "configuration loaded"),
        None => tracing::info!("no --config given; running on the embedded default"),
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async {
        let listeners = spangate::Listeners::bind(&config).await?;
        let shutdown = CancellationToken::new();
        let limit = config.server.graceful_shutdown_timeout;
        tokio::spawn(cancel_on_signal(shutdown.clone(), limit));
        tokio::select! {
            result = spangate::run(config, listeners, shutdown.clone()) => result?,
            () = overrun(&shutdown, limit) => {
                tracing::error!(
                    timeout = ?limit,
                    "shutdown did not finish within server.graceful_shutdown_timeout; exiting \
                     now (acknowledged spans are in the write-ahead log and kept; requests still \
                     in flight were not acknowledged, so their senders retry)"
                );
                // Not a return: dropping the runtime would wait for the stuck work.
                std::process::exit(1);
            }
        }
        Ok(())
    })
}

/// Resolves `limit` after shutdown was requested.
async fn overrun(shutdown: &CancellationToken, limit: std::time::Duration) {
    shutdown.cancelled().await;
    tokio::time::sleep(limit).await;
}

async fn cancel_on_signal(shutdown: CancellationToken, limit: std::time::Duration) {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut terminate), Ok(mut interrupt)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        tracing::warn!("cannot install signal handlers; stop spangate with SIGKILL");
        return;
    };
    tokio::select! {
        _ = terminate.recv() => {}
        _ = interrupt.recv() => {}
    }
    tracing::info!(
        timeout = ?limit,
        "shutdown requested: no new connections; finishing in-flight requests"
    );
    shutdown.cancel();
}
