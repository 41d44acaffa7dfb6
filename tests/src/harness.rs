//! `TestGateway`: one real `spangate` process per test, with its own temporary data
//! directory, its own loopback ports and its own log files.

use std::collections::HashSet;
use std::fs::{File, OpenOptions};
use std::io::Read;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::thread::sleep;
use std::time::Duration;

use tempfile::TempDir;

/// How often `/ready` is polled while a gateway starts, and the pause between polls.
/// 400 × 50 ms: generous because a debug build on two cores, shared with parallel tests,
/// can be slow to open RocksDB. No test asserts on this time.
const READY_POLLS: u32 = 400;
const READY_POLL_PAUSE: Duration = Duration::from_millis(50);

/// Environment variable naming a prebuilt `spangate` binary; skips the `cargo build`.
pub const BIN_ENV: &str = "SPANGATE_BIN";

/// Settings written into the YAML config of a test gateway.
#[derive(Clone, Debug)]
pub struct GatewayOptions {
    pub fsync: &'static str,
    pub compression: &'static str,
    pub grpc_enabled: bool,
    pub http_enabled: bool,
    pub max_message_bytes: u64,
    pub max_body_bytes: u64,
    pub max_inflight_writes: u64,
    pub queue_timeout: &'static str,
    pub log_level: &'static str,
    /// `storage.blocks` (YAML flow mapping), e.g. `{ build_after: 0s, interval: 100ms }`.
    pub blocks: &'static str,
    /// More `storage:` keys, one `key: value` per line (indented by the harness), e.g.
    /// `retention: 8s`.
    pub storage_extra: &'static str,
    /// More `receivers:` entries, as YAML indented by two spaces, e.g.
    /// `  zipkin: { listen: "127.0.0.1:9411" }\n`.
    pub receivers_extra: String,
    /// Appended to the YAML as is: a `pipeline:` section, `plugins:` settings.
    pub extra_yaml: String,
    /// `storage.data_dir`; default `data` in the gateway's temporary directory.
    pub data_dir: Option<PathBuf>,
    /// More keys of `receivers.otlp_grpc`, `receivers.otlp_http` and `query`, one
    /// `key: value` per line (indented by the harness), e.g. `auth: { ... }`.
    pub grpc_extra: String,
    pub http_extra: String,
    pub query_extra: String,
    /// The query port serves TLS: how the harness (and `get`) connects to it.
    pub query_tls: Option<ClientTls>,
    /// More keys of `log:`, one `key: value` per line, e.g. `color: always`; with a
    /// `format:` line it replaces the harness's `format: text`.
    pub log_extra: String,
    /// The process's working directory; default the gateway's temporary directory
    /// (where its config file is).
    pub cwd: Option<PathBuf>,
}

/// What an HTTPS client of the gateway trusts and presents.
#[derive(Clone, Debug)]
pub struct ClientTls {
    /// PEM CA certificate that signed the gateway's certificate.
    pub ca: PathBuf,
    /// PEM certificate followed by its key, when the gateway requires client certificates.
    pub identity: Option<PathBuf>,
}

impl ClientTls {
    /// A blocking client that trusts `ca` and presents `identity`.
    pub fn client(&self) -> reqwest::blocking::Client {
        let ca = std::fs::read(&self.ca).expect("read the CA certificate");
        let mut builder = reqwest::blocking::Client::builder()
            .no_proxy()
            .use_rustls_tls()
            .timeout(Duration::from_secs(30))
            .add_root_certificate(reqwest::Certificate::from_pem(&ca).expect("CA certificate"));
        if let Some(identity) = &self.identity {
            let pem = std::fs::read(identity).expect("read the client identity");
            builder = builder
                .identity(reqwest::Identity::from_pem(&pem).expect("client certificate and key"));
        }
        builder.build().expect("build the HTTPS client")
    }
}

impl Default for GatewayOptions {
    fn default() -> Self {
        Self {
            fsync: "never",
            compression: "lz4",
            grpc_enabled: true,
            http_enabled: true,
            max_message_bytes: 4 * 1024 * 1024,
            max_body_bytes: 4 * 1024 * 1024,
            max_inflight_writes: 64,
            queue_timeout: "2s",
            log_level: "info",
            blocks: "{}",
            storage_extra: "",
            receivers_extra: String::new(),
            extra_yaml: String::new(),
            data_dir: None,
            grpc_extra: String::new(),
            http_extra: String::new(),
            query_extra: String::new(),
            query_tls: None,
            log_extra: String::new(),
            cwd: None,
        }
    }
}

/// The three loopback ports of one gateway.
#[derive(Clone, Copy, Debug)]
pub struct Ports {
    pub grpc: u16,
    pub http: u16,
    pub query: u16,
}

/// A running (or killed) `spangate` process with its temporary directory.
pub struct TestGateway {
    // Field order matters for Drop: the child is killed (in `Drop::drop`) before the
    // directory is removed.
    child: Option<Child>,
    options: GatewayOptions,
    ports: Ports,
    config_path: PathBuf,
    data_dir: PathBuf,
    stdout_path: PathBuf,
    stderr_path: PathBuf,
    starts: u32,
    dir: TempDir,
}

impl TestGateway {
    /// Starts a gateway with the default options and waits until it is ready.
    pub fn start() -> Self {
        Self::start_with(GatewayOptions::default())
    }

    /// Starts a gateway with `options` and waits until it is ready.
    ///
    /// Free ports are found by binding port 0 and releasing it, so another process can
    /// take one in between; if the gateway exits during start-up, the start is retried
    /// (bounded) with fresh ports and a fresh directory.
    pub fn start_with(options: GatewayOptions) -> Self {
        Self::start_with_files(options, &[])
    }

    /// `start_with`, after copying each `(relative path, source file)` of `files` into
    /// the gateway's directory (where its config file is, so relative plugin paths in
    /// `extra_yaml` resolve to them).
    pub fn start_with_files(options: GatewayOptions, files: &[(&str, &Path)]) -> Self {
        const ATTEMPTS: u32 = 3;
        let mut last_failure = String::new();
        for _ in 0..ATTEMPTS {
            let mut gateway = Self::prepare(options.clone());
            for (relative, source) in files {
                let target = gateway.dir.path().join(relative);
                if let Some(parent) = target.parent() {
                    std::fs::create_dir_all(parent).expect("create dir for a gateway file");
                }
                std::fs::copy(source, &target).unwrap_or_else(|e| {
                    panic!("copy {} to {}: {e}", source.display(), target.display())
                });
            }
            match gateway.spawn_and_wait() {
                Ok(()) => return gateway,
                Err(failure) => {
                    last_failure = failure;
                    gateway.stop_child();
                }
            }
        }
        panic!("spangate did not start after {ATTEMPTS} attempts:\n{last_failure}");
    }

    fn prepare(options: GatewayOptions) -> Self {
        let dir = tempfile::Builder::new()
            .prefix("spangate-it-")
            .tempdir()
            .expect("create temp dir");
        let ports = Ports {
            grpc: free_port(),
            http: free_port(),
            query: free_port(),
        };
        let data_dir = options
            .data_dir
            .clone()
            .unwrap_or_else(|| dir.path().join("data"));
        let config_path = dir.path().join("spangate.yaml");
        let yaml = render_config(&options, ports, &data_dir);
        std::fs::write(&config_path, yaml).expect("write config");
        TestGateway {
            child: None,
            options,
            ports,
            stdout_path: dir.path().join("stdout.log"),
            stderr_path: dir.path().join("stderr.log"),
            config_path,
            data_dir,
            starts: 0,
            dir,
        }
    }

    fn spawn_and_wait(&mut self) -> Result<(), String> {
        let bin = spangate_binary();
        let stdout = append_log(&self.stdout_path);
        let stderr = append_log(&self.stderr_path);
        self.starts += 1;
        let child = Command::new(bin)
            .arg("--config")
            .arg(&self.config_path)
            .current_dir(self.options.cwd.as_deref().unwrap_or(self.dir.path()))
            .env("RUST_BACKTRACE", "1")
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr)
            .spawn()
            .map_err(|e| format!("spawn {}: {e}", bin.display()))?;
        self.child = Some(child);
        self.wait_ready()
    }

    fn wait_ready(&mut self) -> Result<(), String> {
        // A short timeout per poll, so that a server that accepts but never answers
        // cannot stretch the bounded loop.
        let client = match &self.options.query_tls {
            Some(tls) => tls.client(),
            None => reqwest::blocking::Client::builder()
                .no_proxy()
                .timeout(Duration::from_secs(1))
                .build()
                .map_err(|e| format!("build reqwest client: {e}"))?,
        };
        let url = format!("{}/ready", self.query_url());
        for _ in 0..READY_POLLS {
            if let Some(child) = self.child.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                return Err(format!(
                    "spangate exited during start-up with {status}\n{}",
                    self.logs()
                ));
            }
            if let Ok(resp) = client.get(&url).send()
                && resp.status().as_u16() == 200
            {
                return self.wait_receivers();
            }
            sleep(READY_POLL_PAUSE);
        }
        Err(format!(
            "spangate was not ready after {READY_POLLS} polls of {url}\n{}",
            self.logs()
        ))
    }

    /// `/ready` answered; the receivers should accept connections too. A short bounded
    /// check so that a receiver that failed to bind is reported here with the logs.
    fn wait_receivers(&self) -> Result<(), String> {
        let mut ports = Vec::new();
        if self.options.grpc_enabled {
            ports.push(("otlp_grpc", self.ports.grpc));
        }
        if self.options.http_enabled {
            ports.push(("otlp_http", self.ports.http));
        }
        for (name, port) in ports {
            let addr = SocketAddr::from(([127, 0, 0, 1], port));
            let connected = (0..READY_POLLS).any(|_| {
                let ok = TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok();
                if !ok {
                    sleep(READY_POLL_PAUSE);
                }
                ok
            });
            if !connected {
                return Err(format!(
                    "/ready answered 200 but receiver {name} on {addr} refuses connections\n{}",
                    self.logs()
                ));
            }
        }
        Ok(())
    }

    fn stop_child(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Kills the process with SIGKILL (no graceful shutdown) and waits for it to exit.
    pub fn kill(&mut self) {
        let mut child = self.child.take().expect("gateway is not running");
        child.kill().expect("kill spangate");
        child.wait().expect("wait for spangate");
    }

    /// Asks for a graceful shutdown (SIGTERM, as `docker stop` does) and waits, at most
    /// ~30 s, for the process to exit; panics with the logs if it does not.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let mut child = self.child.take().expect("gateway is not running");
        let status = Command::new("kill")
            .arg("-TERM")
            .arg(child.id().to_string())
            .status()
            .expect("run kill -TERM");
        assert!(status.success(), "kill -TERM failed");
        for _ in 0..300 {
            if let Ok(Some(exit)) = child.try_wait() {
                return exit;
            }
            sleep(Duration::from_millis(100));
        }
        let _ = child.kill();
        let _ = child.wait();
        panic!(
            "spangate did not exit within 30 s of SIGTERM\n{}",
            self.logs()
        );
    }

    /// Starts the process again with the same config, ports and data directory
    /// (kills it first when it is still running).
    pub fn restart(&mut self) {
        self.stop_child();
        if let Err(failure) = self.spawn_and_wait() {
            self.stop_child();
            panic!("spangate did not restart:\n{failure}");
        }
    }

    /// The working directory of the next start (`restart`).
    pub fn set_cwd(&mut self, cwd: &Path) {
        self.options.cwd = Some(cwd.to_owned());
    }

    /// Stops the process, rewrites its config with `extra_yaml` (e.g. other exporters)
    /// and starts it again on the same ports and data directory.
    pub fn restart_with(&mut self, extra_yaml: String) {
        self.stop_child();
        self.options.extra_yaml = extra_yaml;
        let yaml = render_config(&self.options, self.ports, &self.data_dir);
        std::fs::write(&self.config_path, yaml).expect("rewrite config");
        self.restart();
    }

    /// Rewrites the config file with a new `extra_yaml` (e.g. another `pipeline:`) and
    /// sends SIGHUP, which makes spangate reload its pipeline. Returns at once: poll the
    /// logs or metrics for the outcome.
    pub fn reload_with(&mut self, extra_yaml: String) {
        self.options.extra_yaml = extra_yaml;
        let yaml = render_config(&self.options, self.ports, &self.data_dir);
        std::fs::write(&self.config_path, yaml).expect("rewrite config");
        let child = self.child.as_ref().expect("gateway is not running");
        let status = Command::new("kill")
            .arg("-HUP")
            .arg(child.id().to_string())
            .status()
            .expect("run kill -HUP");
        assert!(status.success(), "kill -HUP failed");
    }

    /// Whether the process is still alive (it has not exited by itself).
    /// The process id of the running gateway.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("gateway is not running").id()
    }

    pub fn is_running(&mut self) -> bool {
        match self.child.as_mut() {
            Some(child) => matches!(child.try_wait(), Ok(None)),
            None => false,
        }
    }

    pub fn ports(&self) -> Ports {
        self.ports
    }

    pub fn options(&self) -> &GatewayOptions {
        &self.options
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    pub fn config_path(&self) -> &Path {
        &self.config_path
    }

    /// Number of times the process was spawned (1 after `start`, +1 per `restart`).
    pub fn starts(&self) -> u32 {
        self.starts
    }

    /// `http://127.0.0.1:<grpc port>`: the OTLP/gRPC endpoint.
    pub fn grpc_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.ports.grpc)
    }

    /// `http://127.0.0.1:<http port>`: the OTLP/HTTP base URL (no path).
    pub fn http_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.ports.http)
    }

    /// `http://127.0.0.1:<http port>/v1/traces`.
    pub fn traces_url(&self) -> String {
        format!("{}/v1/traces", self.http_url())
    }

    /// `http://127.0.0.1:<query port>` (`https://` with `query_tls`): the
    /// Tempo-compatible query API.
    pub fn query_url(&self) -> String {
        let scheme = if self.options.query_tls.is_some() {
            "https"
        } else {
            "http"
        };
        format!("{scheme}://127.0.0.1:{}", self.ports.query)
    }

    /// The process's stderr (its log) so far, all starts; unlike `logs()` without the
    /// config file, so a search cannot match the config's own text.
    pub fn stderr(&self) -> String {
        read_lossy(&self.stderr_path)
    }

    /// Polls the log (stderr) until `needle` occurs at least `count` times (at most
    /// ~30 s); panics with the logs otherwise.
    pub fn wait_for_log(&self, needle: &str, count: usize) {
        for _ in 0..300 {
            if self.stderr().matches(needle).count() >= count {
                return;
            }
            sleep(Duration::from_millis(100));
        }
        panic!(
            "the log never showed {needle:?} {count} time(s)\n{}",
            self.logs()
        );
    }

    /// The process's stdout and stderr so far (all starts).
    pub fn logs(&self) -> String {
        format!(
            "--- spangate config ({}) ---\n{}\n--- spangate stdout ---\n{}\n--- spangate stderr ---\n{}\n--- end of spangate logs ---",
            self.config_path.display(),
            read_lossy(&self.config_path),
            read_lossy(&self.stdout_path),
            read_lossy(&self.stderr_path)
        )
    }
}

impl Drop for TestGateway {
    fn drop(&mut self) {
        let exited = match self.child.as_mut() {
            Some(child) => child.try_wait().ok().flatten(),
            None => None,
        };
        self.stop_child();
        if std::thread::panicking() {
            eprintln!("spangate logs of the failed test:\n{}", self.logs());
        } else if let Some(status) = exited {
            // Not a failure of the test by itself, but worth seeing.
            eprintln!(
                "note: spangate had exited on its own ({status}) before the test ended\n{}",
                self.logs()
            );
        }
    }
}

/// How a `spangate` run that is expected to fail at start-up ended.
#[derive(Debug)]
pub struct StartupFailure {
    pub status: std::process::ExitStatus,
    pub stderr: String,
}

/// Runs `spangate --config <config>` in `cwd` and waits (bounded, ~30 s) for it to
/// exit by itself, as it must when the config cannot start; panics if it is still
/// running then (after killing it).
pub fn run_until_exit(config: &Path, cwd: &Path) -> StartupFailure {
    let log_dir = tempfile::tempdir().expect("temp dir");
    let stderr_path = log_dir.path().join("stderr.log");
    let mut child = Command::new(spangate_binary())
        .arg("--config")
        .arg(config)
        .current_dir(cwd)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(append_log(&stderr_path))
        .spawn()
        .expect("spawn spangate");
    for _ in 0..600 {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return StartupFailure {
                status,
                stderr: read_lossy(&stderr_path),
            };
        }
        sleep(READY_POLL_PAUSE);
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!(
        "spangate kept running with {}\n{}",
        config.display(),
        read_lossy(&stderr_path)
    );
}

/// Each line of `text` after `prefix`, newline-terminated.
fn indent(text: &str, prefix: &str) -> String {
    text.lines()
        .map(|line| format!("{prefix}{line}\n"))
        .collect()
}

fn render_config(o: &GatewayOptions, ports: Ports, data_dir: &Path) -> String {
    format!(
        r#"storage:
  data_dir: "{data_dir}"
  fsync: {fsync}
  compression: {compression}
  blocks: {blocks}
{storage_extra}
receivers:
  otlp_grpc:
    enabled: {grpc_enabled}
    listen: "127.0.0.1:{grpc}"
    max_message_bytes: {max_message_bytes}
{grpc_extra}  otlp_http:
    enabled: {http_enabled}
    listen: "127.0.0.1:{http}"
    max_body_bytes: {max_body_bytes}
{http_extra}{receivers_extra}ingest:
  max_inflight_writes: {max_inflight_writes}
  queue_timeout: {queue_timeout}
query:
  listen: "127.0.0.1:{query}"
{query_extra}log:
  level: {log_level}
{log_format}{log_extra}{extra_yaml}"#,
        data_dir = data_dir.display(),
        fsync = o.fsync,
        compression = o.compression,
        blocks = o.blocks,
        storage_extra = indent(o.storage_extra, "  "),
        grpc_extra = indent(&o.grpc_extra, "    "),
        http_extra = indent(&o.http_extra, "    "),
        query_extra = indent(&o.query_extra, "  "),
        grpc_enabled = o.grpc_enabled,
        grpc = ports.grpc,
        max_message_bytes = o.max_message_bytes,
        http_enabled = o.http_enabled,
        http = ports.http,
        max_body_bytes = o.max_body_bytes,
        receivers_extra = o.receivers_extra,
        max_inflight_writes = o.max_inflight_writes,
        queue_timeout = o.queue_timeout,
        query = ports.query,
        log_level = o.log_level,
        log_format = if o.log_extra.contains("format:") {
            ""
        } else {
            "  format: text\n"
        },
        log_extra = indent(&o.log_extra, "  "),
        extra_yaml = o.extra_yaml,
    )
}

/// A loopback port that was free a moment ago and was not handed out before by this
/// test process.
/// This crate's directory (`tests/`), read at run time where cargo provides it: a test
/// binary compiled in one clone may be reused from the shared target directory by a
/// clone at another path, and must use that clone's files.
pub fn crate_dir() -> PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")))
}

pub fn free_port() -> u16 {
    static HANDED_OUT: OnceLock<Mutex<HashSet<u16>>> = OnceLock::new();
    let handed_out = HANDED_OUT.get_or_init(|| Mutex::new(HashSet::new()));
    for _ in 0..100 {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let port = listener.local_addr().expect("local addr").port();
        drop(listener);
        if handed_out.lock().expect("port set").insert(port) {
            return port;
        }
    }
    panic!("no fresh loopback port after 100 tries");
}

fn append_log(path: &Path) -> File {
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap_or_else(|e| panic!("open {}: {e}", path.display()))
}

fn read_lossy(path: &Path) -> String {
    let mut bytes = Vec::new();
    match File::open(path).and_then(|mut f| f.read_to_end(&mut bytes)) {
        Ok(_) => String::from_utf8_lossy(&bytes).into_owned(),
        Err(e) => format!("<cannot read {}: {e}>", path.display()),
    }
}

/// A blocking HTTP client that never uses a proxy and never decompresses by itself.
pub fn http_client() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("build reqwest client")
}

/// The `spangate` binary: `$SPANGATE_BIN`, or built once per test process with
/// `$CARGO build -p spangate --bin spangate` into the target directory of this test
/// executable (same profile).
pub fn spangate_binary() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        if let Some(bin) = std::env::var_os(BIN_ENV) {
            let bin = PathBuf::from(bin);
            assert!(bin.is_file(), "{BIN_ENV}={} is not a file", bin.display());
            return bin;
        }
        build_spangate()
    })
}

fn build_spangate() -> PathBuf {
    let exe = std::env::current_exe().expect("current_exe");
    // <target>/<profile-dir>/deps/<test-binary>
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("test binary is not in <target>/<profile>/deps/")
        .to_path_buf();
    let target_dir = profile_dir
        .parent()
        .expect("profile dir has no parent")
        .to_path_buf();
    let profile_name = profile_dir
        .file_name()
        .and_then(|n| n.to_str())
        .expect("profile dir name")
        .to_owned();
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.args(["build", "-p", "spangate", "--bin", "spangate"])
        .arg("--target-dir")
        .arg(&target_dir);
    match profile_name.as_str() {
        "debug" => {}
        "release" => {
            cmd.arg("--release");
        }
        other => {
            cmd.args(["--profile", other]);
        }
    }
    cmd.current_dir(crate_dir());
    let output = cmd
        .output()
        .unwrap_or_else(|e| panic!("run `cargo build -p spangate`: {e}"));
    assert!(
        output.status.success(),
        "`cargo build -p spangate --bin spangate` failed ({}):\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    let bin = profile_dir.join(format!("spangate{}", std::env::consts::EXE_SUFFIX));
    assert!(
        bin.is_file(),
        "cargo build succeeded but {} does not exist",
        bin.display()
    );
    bin
}
