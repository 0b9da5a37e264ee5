//! A burst of 100k records in one BPF invocation (bpf_loop): the guest must
//! account for every one of them, received or reported lost.

mod common;

use std::time::Duration;

use common::*;

fn field(line: &str, name: &str) -> u64 {
    line.split_whitespace()
        .find_map(|kv| kv.strip_prefix(&format!("{name}=")))
        .unwrap_or_else(|| panic!("no {name}= in {line:?}"))
        .parse()
        .unwrap()
}

fn burst(buffer: &str) {
    let _serial = serial();
    let before = KernelObjects::now();
    let me = std::process::id().to_string();
    let mut run = spawn(&guest("rust-burst"), &["--trigger-pid", &me, "--buffer", buffer, "--count", "100000"]);
    run.wait_for(Duration::from_secs(60), |l| l == "ready");
    getppid();
    let (status, lines) = run.finish(Duration::from_secs(60));
    assert!(status.success(), "{status}\n{}", lines.join("\n"));
    let result =
        lines.iter().find(|l| l.starts_with("burst ")).unwrap_or_else(|| panic!("no result:\n{}", lines.join("\n")));
    let (produced, lost, received) = (field(result, "produced"), field(result, "lost"), field(result, "received"));
    assert_eq!(produced + lost, 100_000, "{result}");
    assert_eq!(received, produced, "{result}");
    assert_eq!(field(result, "out_of_order"), 0, "{result}");
    before.assert_nothing_new_left();
}

#[test]
fn ring_buffer_burst_is_fully_accounted() {
    burst("ring");
}

#[test]
fn perf_buffer_burst_is_fully_accounted() {
    burst("perf");
}
