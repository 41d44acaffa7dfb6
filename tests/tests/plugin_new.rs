//! `spangate plugin new --lang L demo` in a fresh directory, then the generated README's
//! `## Build and run` commands run literally (native test, build, `spangate plugin run`):
//! for each language, a newcomer's path from nothing to a plugin acting on spans. The
//! toolchains come from `make toolchains` (part of `make test`).

use std::path::Path;
use std::process::Command;

use spangate_integration_tests::harness::spangate_binary;
use spangate_integration_tests::readme::{run_literally, shell_block_of};

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Runs `spangate plugin new --lang <lang> demo` in a fresh directory, then the README's
/// commands in the project, with the binary under test first on the `PATH` (as
/// `spangate`, the name the README uses). Returns the commands' stdout.
fn new_project_builds_and_runs(lang: &str) -> String {
    let parent = tempfile::tempdir().expect("temp dir");
    let created = Command::new(spangate_binary())
        .args(["plugin", "new", "--lang", lang, "demo"])
        .current_dir(parent.path())
        .output()
        .expect("run spangate plugin new");
    assert!(
        created.status.success(),
        "plugin new --lang {lang}: {}",
        text(&created.stderr)
    );
    let stdout = text(&created.stdout);
    assert!(
        stdout.contains("created ./demo") && stdout.contains("spangate plugin run demo.wasm"),
        "{stdout}"
    );

    let project = parent.path().join("demo");
    let readme = std::fs::read_to_string(project.join("README.md")).expect("README.md");
    let block = shell_block_of(&readme, "Build and run", &format!("{lang} project README"));
    let bin_dir = spangate_binary().parent().expect("the binary's directory");
    let script = format!("export PATH={}:\"$PATH\"\n{}", quoted(bin_dir), block);
    let out = run_literally(&script, &project, &format!("plugin new --lang {lang}"));
    let stdout = text(&out.stdout);
    // `plugin run`: `# demo (processor): 3 spans in, 1 dropped`, then the spans.
    assert!(
        stdout.contains("# demo (processor): 3 spans in, 1 dropped"),
        "{lang}: {stdout}"
    );
    assert_eq!(
        stdout.matches("\"plugin.hello\"").count(),
        2,
        "{lang}: {stdout}"
    );
    assert!(
        stdout.contains("\"world\"") && !stdout.contains("GET /healthz"),
        "{lang}: {stdout}"
    );
    stdout
}

fn quoted(path: &Path) -> String {
    format!("'{}'", path.display().to_string().replace('\'', r"'\''"))
}

#[test]
fn a_new_rust_plugin_builds_and_runs() {
    new_project_builds_and_runs("rust");
}

#[test]
fn a_new_python_plugin_builds_and_runs() {
    new_project_builds_and_runs("python");
}

#[test]
fn a_new_js_plugin_builds_and_runs() {
    new_project_builds_and_runs("js");
}

#[test]
fn a_new_c_plugin_builds_and_runs() {
    new_project_builds_and_runs("c");
}

#[test]
fn an_existing_directory_is_refused() {
    let parent = tempfile::tempdir().expect("temp dir");
    std::fs::create_dir(parent.path().join("demo")).expect("mkdir");
    let out = Command::new(spangate_binary())
        .args(["plugin", "new", "--lang", "rust", "demo"])
        .current_dir(parent.path())
        .output()
        .expect("run spangate plugin new");
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    assert!(stderr.contains("demo already exists"), "{stderr}");
    let entries = std::fs::read_dir(parent.path().join("demo")).expect("read demo");
    assert_eq!(entries.count(), 0, "nothing was written into it");
}
