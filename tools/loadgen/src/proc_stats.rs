//! CPU time and memory of a process, read from `/proc` (Linux only).
//!
//! CPU is `utime + stime` from `/proc/PID/stat` (all threads, in clock ticks) divided by
//! `sysconf(_SC_CLK_TCK)`. Memory is `VmRSS` sampled from `/proc/PID/status` by a background thread
//! and `VmHWM` (the kernel's own peak RSS) read at the end.

use std::{
    fs,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    thread::{self, JoinHandle},
    time::Duration,
};

use anyhow::{Context, Result, bail};

/// Which process to read: a pid, or this process.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Target {
    Pid(u32),
    OwnProcess,
}

impl Target {
    fn path(&self, file: &str) -> String {
        match self {
            Target::Pid(pid) => format!("/proc/{pid}/{file}"),
            Target::OwnProcess => format!("/proc/self/{file}"),
        }
    }
}

/// Clock ticks per second as the kernel reports `utime`/`stime`.
#[allow(unsafe_code)] // a libc call; see SAFETY below
pub(crate) fn clock_ticks_per_second() -> u64 {
    // SAFETY: sysconf has no preconditions and only reads a constant.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if ticks > 0 { ticks as u64 } else { 100 }
}

/// CPU seconds (user + system) the process has consumed so far.
pub(crate) fn cpu_seconds(target: Target) -> Result<f64> {
    let path = target.path("stat");
    let stat = fs::read_to_string(&path).with_context(|| format!("reading {path}"))?;
    let ticks = parse_stat_cpu_ticks(&stat)?;
    Ok(ticks as f64 / clock_ticks_per_second() as f64)
}

/// `utime + stime` in clock ticks from the text of `/proc/PID/stat`.
///
/// The second field, the command name, is in parentheses and may contain spaces and parentheses,
/// so fields are counted from the last `)`.
pub(crate) fn parse_stat_cpu_ticks(stat: &str) -> Result<u64> {
    let after_name = stat
        .rfind(')')
        .map(|index| &stat[index + 1..])
        .context("no ')' in /proc stat")?;
    // After the name: field 3 (state) is index 0, so utime (field 14) is 11 and stime (15) is 12.
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    if fields.len() < 13 {
        bail!("/proc stat has only {} fields after the name", fields.len());
    }
    let utime: u64 = fields[11].parse().context("utime")?;
    let stime: u64 = fields[12].parse().context("stime")?;
    Ok(utime + stime)
}

/// Memory figures from `/proc/PID/status`, in bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Memory {
    pub rss_bytes: u64,
    pub hwm_bytes: u64,
}

pub(crate) fn memory(target: Target) -> Result<Memory> {
    let path = target.path("status");
    let status = fs::read_to_string(&path).with_context(|| format!("reading {path}"))?;
    parse_status_memory(&status)
}

/// `VmRSS` and `VmHWM` from the text of `/proc/PID/status` (given there in kB).
pub(crate) fn parse_status_memory(status: &str) -> Result<Memory> {
    let mut memory = Memory::default();
    let mut found_rss = false;
    for line in status.lines() {
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        let target = match key {
            "VmRSS" => {
                found_rss = true;
                &mut memory.rss_bytes
            }
            "VmHWM" => &mut memory.hwm_bytes,
            _ => continue,
        };
        let kilobytes: u64 = value
            .trim()
            .trim_end_matches("kB")
            .trim()
            .parse()
            .with_context(|| format!("bad {key} line: {line:?}"))?;
        *target = kilobytes * 1024;
    }
    if !found_rss {
        bail!("no VmRSS in /proc status (a kernel thread or a zombie?)");
    }
    Ok(memory)
}

/// What a [`ProcessSampler`] saw.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub(crate) struct Samples {
    /// Largest `VmRSS` seen.
    pub peak_rss_bytes: u64,
    /// CPU seconds at the last successful sample (a lower bound if the process exited).
    pub last_cpu_seconds: Option<f64>,
    /// True when a read failed: the process went away during the run.
    pub process_lost: bool,
}

/// Samples a process's RSS and CPU every `interval` on a background thread.
pub(crate) struct ProcessSampler {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<Samples>>,
}

impl ProcessSampler {
    pub(crate) fn start(target: Target, interval: Duration) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let stop = stop.clone();
            thread::spawn(move || {
                let mut samples = Samples::default();
                while !stop.load(Ordering::Relaxed) {
                    match (memory(target), cpu_seconds(target)) {
                        (Ok(memory), Ok(cpu)) => {
                            samples.peak_rss_bytes = samples.peak_rss_bytes.max(memory.rss_bytes);
                            samples.last_cpu_seconds = Some(cpu);
                        }
                        _ => {
                            samples.process_lost = true;
                            return samples;
                        }
                    }
                    thread::sleep(interval);
                }
                samples
            })
        };
        ProcessSampler {
            stop,
            thread: Some(thread),
        }
    }

    /// Stops sampling and returns what was seen.
    pub(crate) fn finish(mut self) -> Samples {
        self.stop.store(true, Ordering::Relaxed);
        self.thread
            .take()
            .and_then(|thread| thread.join().ok())
            .unwrap_or_default()
    }
}

/// Reads a pid from a file such as one written by `spangate --pid-file` or a shell `echo $!`.
pub(crate) fn read_pid_file(path: &std::path::Path) -> Result<u32> {
    let text =
        fs::read_to_string(path).with_context(|| format!("reading pid file {}", path.display()))?;
    text.trim()
        .parse()
        .with_context(|| format!("pid file {} does not hold a pid", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_with_spaces_and_parentheses_in_the_name() {
        let stat = "4242 (my (odd) proc) S 1 4242 4242 0 -1 4194560 5000 0 12 0 \
                    731 214 0 0 20 0 9 0 123456 1000000 2000 18446744073709551615";
        assert_eq!(parse_stat_cpu_ticks(stat).expect("parses"), 731 + 214);
    }

    #[test]
    fn stat_that_is_too_short_is_an_error() {
        assert!(parse_stat_cpu_ticks("1 (x) S 1 2 3").is_err());
        assert!(parse_stat_cpu_ticks("garbage").is_err());
    }

    #[test]
    fn status_memory_in_bytes() {
        let status = "Name:\tspangate\nVmPeak:\t  900000 kB\nVmHWM:\t  204800 kB\n\
                      VmRSS:\t  102400 kB\nThreads:\t9\n";
        assert_eq!(
            parse_status_memory(status).expect("parses"),
            Memory {
                rss_bytes: 100 * 1024 * 1024,
                hwm_bytes: 200 * 1024 * 1024,
            }
        );
        assert!(parse_status_memory("Name:\tkthreadd\n").is_err());
    }

    #[test]
    fn own_process_is_readable() {
        let cpu = cpu_seconds(Target::OwnProcess).expect("own cpu");
        assert!(cpu >= 0.0);
        let memory = memory(Target::OwnProcess).expect("own memory");
        assert!(memory.rss_bytes > 0 && memory.hwm_bytes >= memory.rss_bytes);
        let sampler = ProcessSampler::start(Target::OwnProcess, Duration::from_millis(5));
        thread::sleep(Duration::from_millis(20));
        let samples = sampler.finish();
        assert!(samples.peak_rss_bytes > 0 && !samples.process_lost);
        assert!(samples.last_cpu_seconds.is_some());
    }
}
