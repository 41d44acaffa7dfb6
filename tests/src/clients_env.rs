//! The independent clients of `tests/clients/` (installed by `scripts/test-clients.sh`):
//! where each one's venv and directory are, and a bounded run of one of its scripts.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use crate::harness::crate_dir;

/// How long a client script may run before the test fails (it sends a few spans).
const SCRIPT_TIMEOUT: Duration = Duration::from_secs(120);
const POLL_PAUSE: Duration = Duration::from_millis(50);

/// `tests/clients/<name>`.
pub fn client_dir(name: &str) -> PathBuf {
    crate_dir().join("clients").join(name)
}

/// The Python of `tests/clients/<name>`'s own venv (`$SPANGATE_CACHE/venvs/<name>`).
pub fn client_python(name: &str) -> PathBuf {
    let cache = std::env::var_os("SPANGATE_CACHE")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| Path::new(&home).join(".cache/spangate")))
        .expect("SPANGATE_CACHE or HOME is set");
    let python = cache.join("venvs").join(name).join("bin/python");
    assert!(
        python.exists(),
        "no venv for tests/clients/{name} at {}: run `make clients` (part of `make test`)",
        python.display()
    );
    python
}

/// What a finished client script printed.
#[derive(Debug)]
pub struct ScriptOutput {
    pub stdout: String,
    pub stderr: String,
}

/// Runs `program args…` in `tests/clients/<name>` with `env`, waits at most
/// `SCRIPT_TIMEOUT`, and panics with its output unless it exits successfully.
pub fn run_client(name: &str, program: &Path, args: &[&str], env: &[(&str, &str)]) -> ScriptOutput {
    let dir = tempfile::tempdir().expect("temp dir");
    let (out_path, err_path) = (dir.path().join("stdout"), dir.path().join("stderr"));
    let mut command = Command::new(program);
    command
        .args(args)
        .current_dir(client_dir(name))
        .env("NO_PROXY", "127.0.0.1,localhost")
        .env("no_proxy", "127.0.0.1,localhost")
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out_path).expect("stdout file"))
        .stderr(std::fs::File::create(&err_path).expect("stderr file"));
    for (key, value) in env {
        command.env(key, value);
    }
    let mut child = command
        .spawn()
        .unwrap_or_else(|e| panic!("start {} in tests/clients/{name}: {e}", program.display()));
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for client") {
            break Some(status);
        }
        if started.elapsed() > SCRIPT_TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        sleep(POLL_PAUSE);
    };
    let read = |p: &Path| std::fs::read_to_string(p).unwrap_or_default();
    let output = ScriptOutput {
        stdout: read(&out_path),
        stderr: read(&err_path),
    };
    match status {
        Some(status) if status.success() => output,
        Some(status) => panic!(
            "{} {args:?} (tests/clients/{name}) failed with {status}\nstdout: {}\nstderr: {}",
            program.display(),
            output.stdout,
            output.stderr
        ),
        None => panic!(
            "{} {args:?} (tests/clients/{name}) did not finish within {SCRIPT_TIMEOUT:?}\nstdout: {}\nstderr: {}",
            program.display(),
            output.stdout,
            output.stderr
        ),
    }
}
