//! A burst of 100k records in one BPF invocation (bpf_loop): the guest must
//! account for every one of them, received or reported lost.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::*;

/// The burst through `--buffer buffer`, read as `reads` says (the burst
/// guest's `buffer=` field).
fn burst(buffer: &str, options: &[&str], reads: &str) {
    let _serial = serial();
    let before = KernelObjects::now();
    let me = std::process::id().to_string();
    let args = ["--trigger-pid", &me, "--buffer", buffer, "--count", "100000"];
    let mut run = spawn_with(options, &guest("rust-burst"), &args);
    run.wait_for(Duration::from_secs(60), |l| l == "ready");
    // The first getppid() makes the burst; later ones make one flush record
    // each, which lets a perf buffer report what it dropped.
    let stop = Arc::new(AtomicBool::new(false));
    let trigger = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                getppid();
                std::thread::sleep(Duration::from_millis(50));
            }
        })
    };
    let (status, lines) = run.finish(Duration::from_secs(60));
    stop.store(true, Ordering::Relaxed);
    trigger.join().unwrap();
    assert!(status.success(), "{status}\n{}", lines.join("\n"));
    let result =
        lines.iter().find(|l| l.starts_with("burst ")).unwrap_or_else(|| panic!("no result:\n{}", lines.join("\n")));
    let (produced, lost, received) = (field(result, "produced"), field(result, "lost"), field(result, "received"));
    assert!(result.starts_with(&format!("burst buffer={reads} ")), "{result}");
    assert_eq!(produced + lost, 100_000, "{result}");
    assert_eq!(received, produced, "{result}");
    assert_eq!(field(result, "out_of_order"), 0, "{result}");
    // What the host reported lost is what the program failed to write.
    assert_eq!(lost, field(result, "bpf_failed"), "{result}");
    before.assert_nothing_new_left();
}

#[test]
fn ring_buffer_burst_is_fully_accounted() {
    burst("ring", &[], "ring");
}

#[test]
fn perf_buffer_burst_is_fully_accounted() {
    burst("perf", &[], "perf");
}

/// The same burst read in place (`map-ring` granted, the SDK's RingReader).
#[test]
fn mapped_ring_burst_is_fully_accounted() {
    burst("mapped", &["--allow", "map-ring"], "mapped");
}

/// The SDK's RingReader without the grant: it polls, behind the same calls.
#[test]
fn ring_reader_burst_without_the_grant_is_fully_accounted() {
    burst("mapped", &[], "ring-reader-polled");
}
