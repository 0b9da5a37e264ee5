//! Tracepoint attach needs tracefs. On a machine where it is not mounted,
//! bpflet reads the tracepoints from a tracefs of its own that is mounted
//! nowhere: the tracer works, and no mount is left behind.

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
fn tracepoints_attach_without_tracefs_mounted_and_nothing_is_mounted() {
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
    // Attached, and still nothing mounted.
    assert!(tracefs_mounts().is_empty(), "bpflet mounted tracefs: {:?}", tracefs_mounts());
    // An exec the tracer must see.
    let marker = Marker::new("tracefs");
    marker.exec();
    run.wait_for(Duration::from_secs(20), |l| l.ends_with(marker.path_str()));
    let (status, _) = run.finish(Duration::from_secs(15));
    assert!(status.success(), "{status}");
    assert!(tracefs_mounts().is_empty(), "bpflet left tracefs mounted: {:?}", tracefs_mounts());
    before.assert_nothing_new_left();

    // As it was for the other tests.
    let status = Command::new("mount").args(["-t", "tracefs", "tracefs", "/sys/kernel/tracing"]).status().unwrap();
    assert!(status.success(), "mounting tracefs back");
}
