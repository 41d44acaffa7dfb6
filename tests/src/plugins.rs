//! Builds the plugin test fixtures (`tests/fixtures/plugins/*`) as wasm32-wasip2
//! components, once per test process, into the target directory the test binary
//! lives in (so `cargo test`'s own target dir and its locks are reused).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, OnceLock};

use crate::harness::crate_dir;

const TARGET: &str = "wasm32-wasip2";
/// The root Cargo.toml's profile for plugins (size-optimised, LTO).
const PROFILE: &str = "wasm";

/// The `.wasm` component of fixture package `package` (e.g.
/// `spangate-fixture-misbehaving`; any cdylib package of the workspace works), built on
/// first use.
pub fn fixture_wasm(package: &str) -> PathBuf {
    static BUILT: OnceLock<Mutex<HashMap<String, PathBuf>>> = OnceLock::new();
    // Held during the build: concurrent tests wait for one build instead of racing.
    let mut built = BUILT
        .get_or_init(|| Mutex::new(HashMap::new()))
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(path) = built.get(package) {
        return path.clone();
    }
    let path = build_fixture(package);
    built.insert(package.to_owned(), path.clone());
    path
}

/// The component of built-in plugin `name` (`redaction`, `sampling`, `span-metrics`),
/// built from its crate as the gateway's build embeds it.
pub fn builtin_wasm(name: &str) -> PathBuf {
    fixture_wasm(&format!("spangate-plugin-{name}"))
}

/// The bytes of `fixture_wasm(package)`.
pub fn fixture_bytes(package: &str) -> Vec<u8> {
    let path = fixture_wasm(package);
    std::fs::read(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

fn build_fixture(package: &str) -> PathBuf {
    ensure_target_installed();
    let target_dir = target_dir();
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output = Command::new(cargo)
        .args([
            "build",
            "--target",
            TARGET,
            "--profile",
            PROFILE,
            "-p",
            package,
        ])
        .arg("--target-dir")
        .arg(&target_dir)
        .current_dir(crate_dir())
        .output()
        .unwrap_or_else(|e| panic!("run `cargo build -p {package}`: {e}"));
    assert!(
        output.status.success(),
        "`cargo build --target {TARGET} --profile {PROFILE} -p {package}` failed ({}):\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    let path = target_dir
        .join(TARGET)
        .join(PROFILE)
        .join(format!("{}.wasm", package.replace('-', "_")));
    assert!(
        path.is_file(),
        "`cargo build -p {package}` succeeded but {} is missing (is the crate a cdylib?)",
        path.display()
    );
    path
}

/// `<target>` from `<target>/<profile>/deps/<test binary>`.
pub fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("current_exe");
    exe.parent()
        .and_then(Path::parent)
        .and_then(Path::parent)
        .expect("test binary is not in <target>/<profile>/deps/")
        .to_path_buf()
}

fn ensure_target_installed() {
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let output = Command::new(rustc)
        .args(["--print", "sysroot"])
        .output()
        .unwrap_or_else(|e| panic!("run `rustc --print sysroot`: {e}"));
    let sysroot = PathBuf::from(String::from_utf8_lossy(&output.stdout).trim());
    assert!(
        sysroot.join("lib/rustlib").join(TARGET).is_dir(),
        "the {TARGET} Rust target is not installed (no {}): run `make setup` or \
         `rustup target add {TARGET}`",
        sysroot.join("lib/rustlib").join(TARGET).display()
    );
}
