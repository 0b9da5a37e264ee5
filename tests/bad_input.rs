//! Bad input and bad endings: each gets a clear error and a non-zero exit,
//! never a panic of bpflet itself, and leaves nothing loaded.

mod common;

use std::path::PathBuf;
use std::time::Duration;

use common::*;

/// Runs `bpflet run file` and returns (exit code, stderr).
fn run_file(file: &std::path::Path) -> (Option<i32>, String) {
    let out = bpflet_to_end(&[std::ffi::OsStr::new("run"), file.as_os_str()]);
    (out.code, out.stderr)
}

fn temp_file(name: &str, bytes: &[u8]) -> PathBuf {
    let path = scratch("bad-input").join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

#[test]
fn malformed_files_are_refused_with_a_reason() {
    let cases: &[(&str, &[u8], &str)] = &[
        ("random.wasm", b"this is not wasm at all", "not a WebAssembly component"),
        ("core.wasm", b"\0asm\x01\0\0\0", "core WebAssembly module, not a component"),
        ("truncated.wasm", b"\0asm\x0d\0\x01\0\x01\xff\xff", "malformed"),
        ("empty-component.wasm", b"\0asm\x0d\0\x01\0", "does not fit the bpflet:ebpf/program world"),
    ];
    for (name, bytes, expected) in cases {
        let (code, stderr) = run_file(&temp_file(name, bytes));
        assert_eq!(code, Some(1), "{name}: {stderr}");
        assert!(stderr.contains(expected), "{name}: expected {expected:?} in {stderr:?}");
    }
    let (code, stderr) = run_file(std::path::Path::new("/nonexistent/guest.wasm"));
    assert_eq!(code, Some(1));
    assert!(stderr.contains("cannot read /nonexistent/guest.wasm"), "{stderr}");
}

/// Runs the hostile guest with `how`, returning its exit code.
fn fault(how: &[&str], stop_with: Option<i32>) -> Option<i32> {
    let _serial = serial();
    let before = KernelObjects::now();
    let mut run = spawn(&guest("rust-hostile"), how);
    run.wait_for(Duration::from_secs(60), |l| l == "attached");
    if let Some(signal) = stop_with {
        std::thread::sleep(Duration::from_millis(300));
        run.signal(signal);
    }
    let (status, _) = run.finish(Duration::from_secs(15));
    before.assert_nothing_new_left();
    status.code()
}

#[test]
fn normal_exit_leaves_nothing() {
    assert_eq!(fault(&["ok"], None), Some(0));
}

#[test]
fn guest_error_exits_1_and_leaves_nothing() {
    assert_eq!(fault(&["error"], None), Some(1));
}

/// WASI 0.2's `exit` carries success or failure, not a number: Rust's
/// `process::exit(7)` arrives as failure, exit status 1.
#[test]
fn guest_exit_reports_success_or_failure() {
    assert_eq!(fault(&["exit", "0"], None), Some(0));
    assert_eq!(fault(&["exit", "7"], None), Some(1));
}

#[test]
fn guest_trap_exits_nonzero_and_leaves_nothing() {
    let code = fault(&["trap"], None);
    assert!(matches!(code, Some(c) if c != 0), "{code:?}");
}

/// A guest that writes into the ring buffer pages `map-ring` mapped
/// read-only into its memory (granted) traps like any bad memory access.
#[test]
fn writing_to_a_mapped_ring_traps_and_leaves_nothing() {
    let _serial = serial();
    let before = KernelObjects::now();
    let mut run = spawn_with(&["--allow", "map-ring"], &guest("rust-hostile"), &["ring-write"]);
    run.wait_for(Duration::from_secs(60), |l| l == "attached");
    let (status, stdout, stderr) = run.finish_all(Duration::from_secs(15));
    before.assert_nothing_new_left();
    let output = [stdout, stderr].concat().join("\n");
    assert!(matches!(status.code(), Some(c) if c != 0), "{status}\n{output}");
    assert!(output.contains("writing to the ring's data"), "{output}");
    assert!(!output.contains("did not trap"), "{output}");
    assert!(output.contains("memory fault"), "no trap message:\n{output}");
}

#[test]
fn sigint_stops_a_spinning_guest() {
    assert_eq!(fault(&["spin"], Some(SIGINT)), Some(130));
}

#[test]
fn sigint_stops_a_guest_blocked_in_a_host_call() {
    assert_eq!(fault(&["block"], Some(SIGINT)), Some(130));
}

/// `--timeout` stops a guest as SIGTERM would: a spinning guest and one
/// blocked in a host call are interrupted, a guest that handles the stop
/// finishes by itself, a bare
/// object's runner stops; bpflet says so and exits 124, nothing left.
#[test]
fn a_run_stops_at_its_timeout() {
    let _serial = serial();
    let before = KernelObjects::now();
    for (file, args, clean) in [
        (guest("rust-hostile"), &["spin"][..], false),
        (guest("rust-hostile"), &["block"][..], false),
        (guest("rust-hostile"), &["graceful"][..], true),
        (object("exectrace"), &[][..], false),
    ] {
        let run = spawn_with(&["--timeout", "1500ms"], &file, args);
        let (status, stdout, stderr) = run.finish_all(Duration::from_secs(30));
        let output = [stdout.clone(), stderr.clone()].concat().join("\n");
        assert_eq!(status.code(), Some(124), "{}: {output}", file.display());
        assert!(
            stderr.iter().any(|l| l == "bpflet: the run reached its --timeout of 1500ms; the guest was stopped"),
            "{output}"
        );
        assert_eq!(stdout.iter().any(|l| l == "stopping cleanly"), clean, "{output}");
    }
    // A signal first: the guest finishes as the signal asked, and the
    // timeout that comes after does not count (exit 0, no timeout).
    let mut run = spawn_with(&["--timeout", "2s"], &guest("rust-hostile"), &["graceful"]);
    run.wait_for(Duration::from_secs(60), |l| l == "waiting for a stop signal");
    run.signal(SIGINT);
    std::thread::sleep(Duration::from_millis(2500));
    let (status, stdout, stderr) = run.finish_all(Duration::from_secs(15));
    assert_eq!(status.code(), Some(0), "{stdout:?} {stderr:?}");
    assert!(!stderr.iter().any(|l| l.contains("--timeout")), "{stderr:?}");
    before.assert_nothing_new_left();
    let out = bpflet_to_end(&["run", "--timeout", "1d", guest("rust-hostile").to_str().unwrap()]);
    assert_eq!(out.code, Some(2), "{}", out.stderr);
    assert!(out.stderr.contains("unknown unit (use ms, s, m or h)"), "{}", out.stderr);
}

#[test]
fn a_guest_that_handles_the_stop_finishes_cleanly() {
    let _serial = serial();
    let before = KernelObjects::now();
    let mut run = spawn(&guest("rust-hostile"), &["graceful"]);
    run.wait_for(Duration::from_secs(60), |l| l == "waiting for a stop signal");
    run.signal(SIGINT);
    run.wait_for(Duration::from_secs(5), |l| l == "stopping cleanly");
    let (status, _) = run.finish(Duration::from_secs(15));
    assert_eq!(status.code(), Some(0), "a clean stop is a success");
    before.assert_nothing_new_left();
}
