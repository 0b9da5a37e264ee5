//! Soak: the example guests (Rust, C and Go) and the kernel-only runner,
//! started one after another and each stopped at a random moment by
//! SIGINT, SIGTERM or SIGKILL: while it compiles, loads, attaches or
//! runs. Whatever the moment, bpflet must not die of any signal but
//! SIGKILL, must not panic, and must leave nothing behind (programs, maps,
//! links, pins, mounts); the run after a killed one must work (a cache
//! entry half written by a killed run included).
//!
//! `BPFLET_SOAK=N` sets the number of runs (default 12, as `make test`
//! runs it; `make soak` runs 200). `BPFLET_SOAK_SEED` repeats a sequence:
//! the test prints the seed it used.

mod common;

use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime};

use common::*;

/// xorshift64*: enough randomness for moments and choices, repeatable.
struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// The programs the soak starts: a component or a bare object, and its
/// arguments.
fn programs() -> Vec<(PathBuf, Vec<&'static str>)> {
    let mut programs = Vec::new();
    for language in languages() {
        programs.push((guest(&format!("{language}-execsnoop")), vec![]));
        programs.push((guest(&format!("{language}-syscount")), vec![]));
    }
    programs.push((object("exectrace"), vec![]));
    programs.push((object("sizehist"), vec![]));
    programs
}

#[test]
fn runs_stopped_at_random_moments_leave_nothing() {
    let _serial = serial();
    let runs: u64 = std::env::var("BPFLET_SOAK").ok().and_then(|n| n.parse().ok()).unwrap_or(12);
    let seed = std::env::var("BPFLET_SOAK_SEED")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).unwrap().as_nanos() as u64 | 1);
    println!("soak: {runs} runs, BPFLET_SOAK_SEED={seed}");
    let mut random = Random(seed);
    let programs = programs();
    // A cache of this test's own, so that kills while it is written are
    // tried too (the first start of each program compiles).
    let cache = scratch("soak-cache");
    let _ = std::fs::remove_dir_all(&cache);
    let before = KernelObjects::now();
    let mut killed = 0;
    for run in 0..runs {
        let (program, args) = &programs[random.below(programs.len() as u64) as usize];
        let signal = [SIGINT, SIGTERM, SIGKILL][random.below(3) as usize];
        // Up to 3 s: compiling, loading, attaching or running. Not in the
        // process's first milliseconds, before main (and so before any
        // handler can be installed), where a signal ends any program.
        let moment = Duration::from_millis(20 + random.below(3000));
        let what = format!("run {run}: {} {args:?}, signal {signal} after {moment:?}", program.display());
        let mut child = std::process::Command::new(bpflet())
            .arg("run")
            .arg(program)
            .args(args)
            .env("BPFLET_CACHE_DIR", &cache)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("bpflet starts");
        let started = Instant::now();
        let mut ended_early = None;
        while started.elapsed() < moment {
            if let Some(status) = child.try_wait().unwrap() {
                ended_early = Some(status);
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        if let Some(status) = ended_early {
            let stderr = std::io::read_to_string(child.stderr.take().unwrap()).unwrap_or_default();
            panic!("{what}: bpflet ended by itself ({status}) before the signal: {stderr}");
        }
        kill(child.id(), signal);
        let deadline = Instant::now() + Duration::from_secs(30);
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            assert!(Instant::now() < deadline, "{what}: bpflet did not stop within 30 s");
            std::thread::sleep(Duration::from_millis(10));
        };
        let stderr = std::io::read_to_string(child.stderr.take().unwrap()).unwrap_or_default();
        assert!(!stderr.contains("panicked"), "{what}: bpflet panicked: {stderr}");
        use std::os::unix::process::ExitStatusExt;
        if signal == SIGKILL {
            killed += 1;
            assert_eq!(status.signal(), Some(SIGKILL), "{what}: {status}: {stderr}");
        } else {
            // Stopped by the signal it was sent (exit 128 + signal), or a
            // guest that handles the stop finished (exit 0, as the
            // kernel-only runner does after printing its maps); never
            // death by a signal.
            assert_eq!(status.signal(), None, "{what}: bpflet died of a signal ({status}): {stderr}");
            assert!(
                matches!(status.code(), Some(0)) || status.code() == Some(128 + signal),
                "{what}: {status}: {stderr}"
            );
        }
        before.assert_nothing_new_left();
    }
    println!("soak: {runs} runs ({killed} killed) left nothing");
    let _ = std::fs::remove_dir_all(&cache);
}
