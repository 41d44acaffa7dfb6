//! Running the `spangate` binary as a command (`plugin check|run`, `validate-config`)
//! and checking how it exited.

use std::path::Path;
use std::process::{Command, Output, Stdio};

use crate::harness::spangate_binary;

/// `spangate ARGS`, stdin closed, output captured.
pub fn spangate(args: &[&str]) -> Output {
    Command::new(spangate_binary())
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run spangate")
}

pub fn path_arg(path: &Path) -> &str {
    path.to_str().expect("utf-8 path")
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Exit code and both streams, for failure messages.
pub fn describe(out: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        stdout(out),
        stderr(out)
    )
}

/// Requires a zero exit; returns stdout.
#[track_caller]
pub fn succeeded(out: &Output) -> String {
    assert!(out.status.success(), "{}", describe(out));
    stdout(out)
}

/// Requires a non-zero exit and an `error:` line on stderr holding every needle;
/// returns stderr.
#[track_caller]
pub fn failed(out: &Output, needles: &[&str]) -> String {
    assert!(!out.status.success(), "succeeded: {}", describe(out));
    let err = stderr(out);
    assert!(err.starts_with("error: "), "{}", describe(out));
    for needle in needles {
        assert!(
            err.contains(needle),
            "stderr lacks {needle:?}: {}",
            describe(out)
        );
    }
    err
}
