//! Tracepoint attach needs tracefs. On a machine where it is not mounted,
//! bpflet mounts it itself and the tracer works.

mod common;

use std::process::Command;
use std::time::Duration;

use common::*;

fn tracefs_mounts() -> Vec<String> {
    std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap()
        .lines()
        .filter(|l| l.contains(" - tracefs "))
        .map(|l| l.split_whitespace().nth(4).unwrap().to_string())
        .collect()
}

#[test]
fn tracefs_is_mounted_when_missing() {
    let _serial = serial();
    // Unmount every tracefs (and keep debugfs's tracing view out of reach),
    // as on a machine that never mounted it.
    for mount in tracefs_mounts() {
        let status = Command::new("umount").arg(&mount).status().unwrap();
        assert!(status.success(), "umount {mount}");
    }
    assert!(tracefs_mounts().is_empty(), "tracefs still mounted");
    assert!(
        !std::path::Path::new("/sys/kernel/debug/tracing/events").exists(),
        "debugfs offers tracing: this machine cannot show the missing-tracefs case"
    );

    let before = KernelObjects::now();
    let mut run = spawn(&guest("rust-execsnoop"), &["--duration", "3"]);
    run.wait_for(Duration::from_secs(60), |l| l.starts_with("PID"));
    let (status, _) = run.finish(Duration::from_secs(15));
    assert!(status.success(), "{status}");
    assert_eq!(tracefs_mounts(), vec!["/sys/kernel/tracing".to_string()]);
    before.assert_nothing_new_left();
}
