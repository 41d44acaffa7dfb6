//! The reference plugin (`examples/reference-plugin/README.md`) in every language with
//! an SDK: its component, built once per test process with the language's own build
//! script (the one its README uses), so tests run what a plugin author would build.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Command;
use std::sync::{Arc, Mutex, OnceLock};

use crate::plugins::{fixture_wasm, target_dir};
use crate::readme::repo_root;

/// Languages with an SDK and a reference implementation, Rust first (the reference).
pub const LANGUAGES: [Language; 4] = [
    Language::Rust,
    Language::Python,
    Language::JavaScript,
    Language::C,
];

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Language {
    Rust,
    Python,
    JavaScript,
    C,
}

impl Language {
    pub fn name(self) -> &'static str {
        match self {
            Language::Rust => "rust",
            Language::Python => "python",
            Language::JavaScript => "js",
            Language::C => "c",
        }
    }

    /// The example directory holding this language's reference plugin.
    pub fn example_dir(self) -> PathBuf {
        let dir = match self {
            Language::Rust => "examples/reference-plugin",
            Language::Python => "examples/python-plugin",
            Language::JavaScript => "examples/js-plugin",
            Language::C => "examples/c-plugin",
        };
        repo_root().join(dir)
    }
}

/// The reference plugin's component in `language`, built on first use. Builds of
/// different languages may run at the same time; one language builds once.
pub fn reference_wasm(language: Language) -> PathBuf {
    type Slot = Arc<OnceLock<PathBuf>>;
    static SLOTS: OnceLock<Mutex<HashMap<Language, Slot>>> = OnceLock::new();
    let slot = SLOTS
        .get_or_init(|| Mutex::new(HashMap::new()))
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .entry(language)
        .or_default()
        .clone();
    slot.get_or_init(|| build(language)).clone()
}

fn build(language: Language) -> PathBuf {
    if language == Language::Rust {
        return fixture_wasm("spangate-reference-plugin");
    }
    // Beside the Rust one, in the target directory: rebuilt by every test run, never
    // left behind in /tmp.
    let out_dir = target_dir().join("reference-plugins");
    std::fs::create_dir_all(&out_dir)
        .unwrap_or_else(|e| panic!("create {}: {e}", out_dir.display()));
    let out = out_dir.join(format!("reference-{}.wasm", language.name()));
    let script = repo_root().join(format!("scripts/build-{}-plugin.sh", language.name()));
    let output = Command::new(&script)
        .arg(language.example_dir())
        .arg(&out)
        .output()
        .unwrap_or_else(|e| panic!("run {}: {e}", script.display()));
    assert!(
        output.status.success() && out.is_file(),
        "{} failed ({:?}); `make toolchains` installs what it needs:\n{}\n{}",
        script.display(),
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    out
}
