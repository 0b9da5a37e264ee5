//! execsnoop end to end: the test execs a binary of its own and checks that
//! the guest reports that very process (pid, parent, comm, filename).

mod common;

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use common::*;

const GUEST: &str = "rust-execsnoop";

/// A copy of /bin/true under a name no other process on the box uses.
fn marker_binary() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("bpflet-e2e-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("bpflet-marker");
    if !path.exists() {
        std::fs::copy("/bin/true", &path).unwrap();
    }
    path
}

/// Runs the marker and returns its pid.
fn exec_marker(path: &PathBuf) -> u32 {
    let mut child = Command::new(path).spawn().unwrap();
    let pid = child.id();
    assert!(child.wait().unwrap().success());
    pid
}

#[test]
fn reports_the_process_the_test_execs() {
    let _serial = serial();
    let before = KernelObjects::now();
    let marker = marker_binary();
    let mut run = spawn(&guest(GUEST), &[]);
    run.wait_for(Duration::from_secs(60), |l| l.starts_with("PID") && l.contains("FILENAME"));

    let pid = exec_marker(&marker);
    let filename = marker.to_str().unwrap();
    let line = run.wait_for(Duration::from_secs(10), |l| l.ends_with(filename));
    let fields: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(fields[0].parse::<u32>().unwrap(), pid, "pid in {line:?}");
    assert_eq!(fields[1].parse::<u32>().unwrap(), std::process::id(), "ppid in {line:?}");
    assert_eq!(fields[2], "bpflet-marker", "comm in {line:?}");
    assert_eq!(fields[3], filename, "filename in {line:?}");

    // Ctrl-C stops the guest; the exit status says it was interrupted.
    run.signal(SIGINT);
    let (status, _) = run.finish(Duration::from_secs(10));
    assert_eq!(status.code(), Some(130), "exit status after SIGINT");
    before.assert_nothing_new_left();
}

#[test]
fn json_lines_parse_and_carry_the_same_fields() {
    let _serial = serial();
    let before = KernelObjects::now();
    let marker = marker_binary();
    let mut run = spawn(&guest(GUEST), &["--json"]);
    let first = run.wait_for(Duration::from_secs(60), |l| l.starts_with('{'));
    let first: serde_json::Value = serde_json::from_str(&first).unwrap();
    assert_eq!(first["attached"], true);

    let pid = exec_marker(&marker);
    let filename = marker.to_str().unwrap();
    let line = run.wait_for(Duration::from_secs(10), |l| l.contains("bpflet-marker"));
    let event: serde_json::Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("{line:?}: {e}"));
    assert_eq!(event["pid"], pid);
    assert_eq!(event["ppid"], std::process::id());
    assert_eq!(event["comm"], "bpflet-marker");
    assert_eq!(event["filename"], filename);

    run.signal(SIGTERM);
    let (status, _) = run.finish(Duration::from_secs(10));
    assert_eq!(status.code(), Some(143), "exit status after SIGTERM");
    before.assert_nothing_new_left();
}

#[test]
fn the_ppid_filter_drops_other_parents() {
    let _serial = serial();
    let before = KernelObjects::now();
    let marker = marker_binary();
    // Only children of PID 1 pass; the test's own execs must not show.
    let mut run = spawn(&guest(GUEST), &["--ppid", "1", "--duration", "3"]);
    run.wait_for(Duration::from_secs(60), |l| l.starts_with("PID"));
    exec_marker(&marker);
    let (status, lines) = run.finish(Duration::from_secs(15));
    assert!(status.success(), "{status}");
    assert!(!lines.iter().any(|l| l.contains("bpflet-marker")), "filtered exec was reported:\n{}", lines.join("\n"));
    before.assert_nothing_new_left();
}
