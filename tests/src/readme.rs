//! Runs a README's shell commands literally: the fenced `sh` block of a section is
//! written to a script and executed with bash (`-euo pipefail`) in a fresh directory,
//! so a README cannot drift from what works.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use crate::harness::{crate_dir, spangate_binary};

/// The repository root (the checkout the tests run in).
pub fn repo_root() -> PathBuf {
    crate_dir()
        .parent()
        .expect("tests/ is inside the repository")
        .to_path_buf()
}

/// The text of `readme` from the heading starting with `## {heading}` to the next
/// `## ` heading.
pub fn section<'a>(readme: &'a str, heading: &str) -> &'a str {
    let start = readme
        .find(&format!("## {heading}"))
        .unwrap_or_else(|| panic!("README has no section `## {heading}`"));
    let rest = &readme[start + 3..];
    let end = rest.find("\n## ").unwrap_or(rest.len());
    &rest[..end]
}

/// The fenced code blocks of `text` with their info string, in order.
pub fn code_blocks(text: &str) -> Vec<(&str, String)> {
    let mut blocks = Vec::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        if let Some(info) = line.strip_prefix("```") {
            let body: Vec<&str> = lines.by_ref().take_while(|l| *l != "```").collect();
            blocks.push((info, body.join("\n") + "\n"));
        }
    }
    blocks
}

/// Reads `path` (relative to the repository root).
pub fn read(path: &str) -> String {
    let full = repo_root().join(path);
    std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("read {}: {e}", full.display()))
}

/// The one `sh` block of section `heading` of the README at `readme_path`.
pub fn shell_block(readme_path: &str, heading: &str) -> String {
    shell_block_of(&read(readme_path), heading, readme_path)
}

/// The one `sh` block of section `heading` of `readme` (`context` names it in failures).
pub fn shell_block_of(readme: &str, heading: &str, context: &str) -> String {
    let blocks: Vec<String> = code_blocks(section(readme, heading))
        .into_iter()
        .filter(|(info, _)| *info == "sh")
        .map(|(_, body)| body)
        .collect();
    assert_eq!(
        blocks.len(),
        1,
        "{context}, section `{heading}`: expected exactly one ```sh block"
    );
    blocks.into_iter().next().expect("one block")
}

/// Runs `script` with bash in `dir` (which should be fresh and empty), with
/// `SPANGATE` = the repository root and `SPANGATE_BIN` = the binary under test, as the
/// READMEs ask the reader to set them. Returns the output; fails the test with
/// everything printed when the script fails.
pub fn run_literally(script: &str, dir: &Path, context: &str) -> Output {
    let path = dir.join(".readme-commands.sh");
    std::fs::write(&path, format!("set -euo pipefail\n{script}"))
        .unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
    let output = Command::new("bash")
        .arg(&path)
        .current_dir(dir)
        .env("SPANGATE", repo_root())
        .env("SPANGATE_BIN", spangate_binary())
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("run bash: {e}"));
    assert!(
        output.status.success(),
        "{context}: the README's commands failed ({:?}) in {}:\n--- script\n{script}\n--- stdout\n{}\n--- stderr\n{}",
        output.status.code(),
        dir.display(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}
