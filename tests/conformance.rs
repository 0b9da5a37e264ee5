//! The conformance guest calls every function of the bpflet WIT, error
//! cases included, against the real kernel; the test triggers its programs
//! and checks the guest's verdicts.

mod common;

use std::net::UdpSocket;
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::*;

/// The C library this process runs on, whose getppid() the guest's
/// uprobes watch (the same file as the usual path, or not, depending on
/// the distribution: the mapping says for sure).
fn libc_path() -> String {
    let maps = std::fs::read_to_string("/proc/self/maps").unwrap_or_default();
    let mapped = maps.lines().filter_map(|l| l.split_whitespace().nth(5)).find(|path| {
        let file = path.rsplit('/').next().unwrap_or_default();
        file == "libc.so.6" || (file.starts_with("libc-") && file.ends_with(".so"))
    });
    match mapped {
        Some(path) => path.to_string(),
        None => ["/lib/x86_64-linux-gnu/libc.so.6", "/lib64/libc.so.6", "/usr/lib/libc.so.6"]
            .into_iter()
            .find(|p| Path::new(p).exists())
            .expect("a C library")
            .to_string(),
    }
}

/// Where cgroup v2 is mounted: /sys/fs/cgroup (unified) or, in the hybrid
/// layout, /sys/fs/cgroup/unified. Its root holds every process, this one
/// included.
fn cgroup2_root() -> String {
    let mounts = std::fs::read_to_string("/proc/mounts").expect("/proc/mounts");
    mounts
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .find(|f| f.len() > 2 && f[2] == "cgroup2")
        .map(|f| f[1].to_string())
        .expect("cgroup v2 is mounted")
}

/// Whether this kernel can attach kprobes (perf PMU or tracefs fallback).
fn kernel_has_kprobes() -> bool {
    [
        "/sys/bus/event_source/devices/kprobe",
        "/sys/kernel/tracing/kprobe_events",
        "/sys/kernel/debug/tracing/kprobe_events",
    ]
    .iter()
    .any(|p| Path::new(p).exists())
}

#[test]
fn every_wit_function_answers_as_specified() {
    let _serial = serial();
    let before = KernelObjects::now();

    // The guest's BPF programs fire on getppid() of the pid it is given
    // (tracepoint, raw tracepoint, uprobes) and on packets over lo (XDP,
    // tc, cgroup_skb): this process makes both in the background. Port 9
    // (discard) needs no listener; the packets cross lo either way.
    let stop = Arc::new(AtomicBool::new(false));
    let trigger = {
        let stop = stop.clone();
        let socket = UdpSocket::bind("127.0.0.1:0").expect("a UDP socket on lo");
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                getppid();
                let _ = socket.send_to(b"bpflet conformance", "127.0.0.1:9");
                std::thread::sleep(Duration::from_millis(5));
            }
        })
    };
    let me = std::process::id().to_string();
    let libc = libc_path();
    let cgroup = cgroup2_root();
    // A FIFO nobody writes: opening it would block whoever opens it.
    let fifo = std::env::temp_dir().join(format!("bpflet-conformance-fifo-{me}"));
    let _ = std::fs::remove_file(&fifo);
    let status = Command::new("mkfifo").arg(&fifo).status().expect("mkfifo");
    assert!(status.success(), "mkfifo {}", fifo.display());
    let fifo_arg = fifo.to_str().unwrap();
    let args = ["--trigger-pid", &me, "--libc", &libc, "--cgroup", &cgroup, "--expect-packets", "--fifo", fifo_arg];
    // The object is also offered as a packaged object, for open-packaged.
    let object = object("conformance");
    // map-ring granted: its checks need the ring's pages in guest memory.
    let options = ["--object", object.to_str().unwrap(), "--allow", "map-ring"];
    let run = spawn_with(&options, &guest("rust-conformance"), &args);
    let (status, lines) = run.finish(Duration::from_secs(120));
    stop.store(true, Ordering::Relaxed);
    trigger.join().unwrap();
    let output = lines.join("\n");

    let failures: Vec<&String> = lines.iter().filter(|l| l.starts_with("FAIL")).collect();
    assert!(failures.is_empty(), "failed checks:\n{failures:#?}\n\nall output:\n{output}");
    let summary =
        lines.iter().find(|l| l.starts_with("conformance:")).unwrap_or_else(|| panic!("no summary:\n{output}"));
    assert!(summary.ends_with(" 0 failed"), "{summary}");
    assert!(status.success(), "guest exit {status}\n{output}");
    let line = |check: &str| {
        let prefix = format!("ok {check}");
        lines
            .iter()
            .find(|l| **l == prefix || l.starts_with(&format!("{prefix}:")))
            .unwrap_or_else(|| panic!("no passing {check} check:\n{output}"))
    };

    // Each error case of the WIT was met and reported as that case.
    for case in ["not-found", "invalid-argument", "already-exists", "unsupported", "invalid-state", "load-failed"] {
        assert!(
            lines.iter().any(|l| l.starts_with("ok ") && l.contains(&format!("error {case}:"))),
            "no check saw error {case}:\n{output}"
        );
    }
    // Every attach kind this kernel offers was attached and fired.
    for kind in [
        "tp-btf",
        "xdp",
        "raw-tracepoint",
        "uprobe",
        "uretprobe",
        "tc-ingress",
        "tc-egress",
        "cgroup",
        "perf-event",
        "socket-filter",
    ] {
        line(&format!("attach-{kind}"));
        line(&format!("fired-{kind}"));
    }
    // Kprobes fire where the kernel has them, and are a clear refusal where not.
    for kind in ["kprobe", "kretprobe"] {
        if kernel_has_kprobes() {
            line(&format!("fired-{kind}"));
        } else {
            let refusal = line(&format!("attach-{kind}"));
            assert!(refusal.contains("error unsupported:"), "{refusal}");
        }
    }
    // map-ring: the ring's pages in guest memory, refused twice and for
    // perf buffers, and ordinary memory again once the buffer is dropped.
    for check in [
        "event-buffer-map-ring",
        "event-buffer-map-ring-layout",
        "event-buffer-map-ring-positions",
        "event-buffer-map-ring-twice",
        "event-buffer-map-ring-perf",
        "event-buffer-map-ring-restored",
    ] {
        line(check);
    }
    line("percpu-readback");
    let _ = std::fs::remove_file(&fifo);
    // Host paths that are not what the guest names them as: refused at once.
    for check in ["attach-uprobe-fifo", "attach-cgroup-fifo", "attach-uprobe-device"] {
        assert!(line(check).contains("error invalid-argument:"), "{}", line(check));
    }
    // A BTF file outside /sys/kernel/btf and the program's directories.
    assert!(line("load-btf-path-fifo").contains("error permission-denied:"), "{}", line("load-btf-path-fifo"));
    // Perf buffer sizes a guest may not have: too large, or not a power of two.
    for check in ["event-buffer-open-perf-huge", "event-buffer-open-perf-odd"] {
        assert!(line(check).contains("error invalid-argument:"), "{}", line(check));
    }
    for check in ["word-handle", "word-handle-stable", "update-word", "lookup-word", "lookup-word-absent"] {
        line(check);
    }
    line("percpu-small-readback");
    line("load-btf-path");
    line("load-btf-path-missing");
    line("load-fentry");
    line("load-lsm");
    // Per-CPU values come back one per possible CPU.
    let cpus = possible_cpus();
    let expected = format!("{cpus} values for {cpus} cpus");
    assert!(
        lines.iter().any(|l| l.contains("percpu") && l.contains(&expected)),
        "no per-CPU check with {expected:?}:\n{output}"
    );
    // The verifier's reason reaches the guest.
    let rejected = lines.iter().find(|l| l.contains("error load-failed:")).unwrap();
    assert!(rejected.len() > "error load-failed:".len() + 10, "empty verifier message: {rejected}");

    before.assert_nothing_new_left();
}
