//! The Python example app (`examples/python-app/app.py`, the OpenTelemetry Python SDK
//! with both OTLP exporters), run as a client by the tests.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread::sleep;
use std::time::Duration;

use serde_json::Value;

/// Env var naming the Python interpreter (a venv with `requirements.txt` installed).
const PYTHON_ENV: &str = "SPANGATE_PYTHON";
/// The app gets this long (200 × 250 ms) before it is killed and the test fails.
const APP_POLLS: u32 = 200;
const APP_POLL_PAUSE: Duration = Duration::from_millis(250);

pub fn python() -> PathBuf {
    if let Some(p) = std::env::var_os(PYTHON_ENV) {
        let p = PathBuf::from(p);
        assert!(
            p.exists(),
            "{PYTHON_ENV}={} does not exist; run `make test`, which creates the venv",
            p.display()
        );
        return p;
    }
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_default();
    let venv = home.join(".cache/spangate/venv/bin/python");
    assert!(
        venv.exists(),
        "no Python for the SDK test: {PYTHON_ENV} is not set and {} does not exist. \
         Run `make test` (it creates the venv from examples/python-app/requirements.txt), \
         or set {PYTHON_ENV} to a Python that has those packages installed.",
        venv.display()
    );
    venv
}

pub fn app_path() -> PathBuf {
    crate::harness::crate_dir().join("../examples/python-app/app.py")
}

/// Runs the app; returns its JSON summary line. `endpoint_via_env` passes the endpoint as
/// the standard `OTEL_EXPORTER_OTLP_ENDPOINT` instead of `--endpoint`; `env` sets more of
/// the SDK's variables (certificates, headers).
pub fn run_app(
    protocol: &str,
    endpoint: &str,
    endpoint_via_env: bool,
    service: &str,
    env: &[(&str, &str)],
) -> Value {
    let dir = tempfile::tempdir().expect("temp dir");
    let (out_path, err_path) = (dir.path().join("stdout"), dir.path().join("stderr"));
    let mut cmd = Command::new(python());
    cmd.arg(app_path())
        .args(["--protocol", protocol, "--service-name", service])
        .env_remove("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
        .env_remove("OTEL_EXPORTER_OTLP_PROTOCOL")
        .env_remove("OTEL_RESOURCE_ATTRIBUTES")
        .env_remove("OTEL_SERVICE_NAME")
        // requests lets these override the certificate the SDK's HTTP exporter sets.
        .env_remove("REQUESTS_CA_BUNDLE")
        .env_remove("CURL_CA_BUNDLE")
        .env("NO_PROXY", "127.0.0.1,localhost")
        .env("no_proxy", "127.0.0.1,localhost")
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out_path).expect("stdout file"))
        .stderr(std::fs::File::create(&err_path).expect("stderr file"))
        .envs(env.iter().copied());
    if endpoint_via_env {
        cmd.env("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint);
    } else {
        cmd.env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
            .args(["--endpoint", endpoint]);
    }
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("start {}: {e}", app_path().display()));
    let mut status = None;
    for _ in 0..APP_POLLS {
        if let Some(s) = child.try_wait().expect("wait for app") {
            status = Some(s);
            break;
        }
        sleep(APP_POLL_PAUSE);
    }
    let read = |p: &Path| std::fs::read_to_string(p).unwrap_or_default();
    let Some(status) = status else {
        let _ = child.kill();
        let _ = child.wait();
        panic!(
            "app.py ({protocol}) did not finish in time\nstdout: {}\nstderr: {}",
            read(&out_path),
            read(&err_path)
        );
    };
    let (stdout, stderr) = (read(&out_path), read(&err_path));
    assert!(
        status.success(),
        "app.py ({protocol}) failed with {status}\nstdout: {stdout}\nstderr: {stderr}"
    );
    let line = stdout
        .lines()
        .rev()
        .find(|l| l.trim_start().starts_with('{'))
        .unwrap_or_else(|| {
            panic!("app.py printed no JSON line\nstdout: {stdout}\nstderr: {stderr}")
        });
    serde_json::from_str(line)
        .unwrap_or_else(|e| panic!("app.py summary is not JSON ({e}): {line}"))
}
