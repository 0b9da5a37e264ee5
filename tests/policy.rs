//! Host policy on `bpflet run`: attachment kinds (`--allow-attach`),
//! grants (`--allow`) and guest memory (`--max-memory`). A denial reaches the guest as
//! `permission-denied` or a refused allocation, bpflet says what to allow,
//! exits non-zero, and nothing stays loaded.

mod common;

use std::time::Duration;

use common::*;

/// Runs `bpflet run OPTIONS FILE -- ARGS` to the end: (exit code, stdout, stderr).
fn run(options: &[&str], file: &std::path::Path, args: &[&str]) -> (Option<i32>, String, String) {
    let mut argv = vec!["run"];
    argv.extend(options);
    argv.push(file.to_str().unwrap());
    argv.push("--");
    argv.extend(args);
    let out = bpflet_to_end(&argv);
    (out.code, out.stdout, out.stderr)
}

#[test]
fn attach_kinds_outside_the_policy_are_denied() {
    let _serial = serial();
    let before = KernelObjects::now();
    // The hostile guest attaches execsnoop.bpf.o: one tracepoint program.
    let (code, stdout, stderr) = run(&["--allow-attach", "xdp,tc"], &guest("rust-hostile"), &["ok"]);
    assert_eq!(code, Some(1), "{stdout}{stderr}");
    assert!(!stdout.contains("attached"), "{stdout}");
    // The guest prints the error (Rust's `Error: PermissionDenied(...)`).
    assert!(stderr.contains("PermissionDenied"), "{stderr}");
    assert!(
        stderr.contains("tracepoint attachment to sched/sched_process_exec, which this run does not allow"),
        "{stderr}"
    );
    assert!(
        stderr.contains("--allow-attach xdp,tc,tracepoint:sched/sched_process_exec"),
        "says what to allow: {stderr}"
    );
    before.assert_nothing_new_left();

    // The kernel-only runner is a guest like any other.
    let (code, _, stderr) = run(&["--allow-attach", "kprobe"], &object("exectrace"), &[]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("permission-denied") && stderr.contains("tracepoint attachment"), "{stderr}");
    before.assert_nothing_new_left();
}

#[test]
fn attach_kinds_inside_the_policy_attach() {
    let _serial = serial();
    let before = KernelObjects::now();
    let (code, stdout, stderr) =
        run(&["--allow-attach", "xdp", "--allow-attach", "tracepoint"], &guest("rust-hostile"), &["ok"]);
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    assert!(stdout.contains("attached"), "{stdout}");
    before.assert_nothing_new_left();
}

/// `--allow-attach KIND:PATTERN` allows only the targets the pattern
/// matches: the hostile guest's tracepoint is sched/sched_process_exec.
#[test]
fn attach_targets_outside_the_pattern_are_denied() {
    let _serial = serial();
    let before = KernelObjects::now();
    for allowed in ["tracepoint:sched/*", "tracepoint:sched/sched_process_exe?", "tracepoint:*exec"] {
        let (code, stdout, stderr) = run(&["--allow-attach", allowed], &guest("rust-hostile"), &["ok"]);
        assert_eq!(code, Some(0), "{allowed}: {stdout}{stderr}");
        assert!(stdout.contains("attached"), "{stdout}");
    }
    for denied in ["tracepoint:syscalls/*", "tracepoint:sched/sched_process_exit", "xdp:sched/*"] {
        let (code, stdout, stderr) = run(&["--allow-attach", denied], &guest("rust-hostile"), &["ok"]);
        assert_eq!(code, Some(1), "{denied}: {stdout}{stderr}");
        assert!(stderr.contains("to sched/sched_process_exec, which this run does not allow"), "{stderr}");
        assert!(stderr.contains(&format!("allowed: {denied}")), "{stderr}");
    }
    // The kernel-only runner's tracepoint is the same.
    let (code, _, stderr) = run(&["--allow-attach", "tracepoint:syscalls/*"], &object("exectrace"), &[]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("--allow-attach tracepoint:syscalls/*,tracepoint:sched/sched_process_exec"), "{stderr}");
    before.assert_nothing_new_left();
}

#[test]
fn memory_beyond_the_limit_is_refused_and_reported() {
    let _serial = serial();
    let before = KernelObjects::now();
    let (code, stdout, stderr) = run(&["--max-memory", "32M"], &guest("rust-hostile"), &["alloc", "64"]);
    assert_eq!(code, Some(1), "{stdout}{stderr}");
    assert!(!stdout.contains("allocated"), "{stdout}");
    assert!(stderr.contains("the guest ran out of memory"), "{stderr}");
    assert!(stderr.contains("--max-memory allows 32 MiB"), "{stderr}");
    before.assert_nothing_new_left();

    let (code, stdout, stderr) = run(&["--max-memory", "32M"], &guest("rust-hostile"), &["alloc", "8"]);
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    assert!(stdout.contains("allocated 8 MiB"), "{stdout}");

    // Too little for the guest to start at all.
    let (code, _, stderr) = run(&["--max-memory", "64K"], &guest("rust-hostile"), &["ok"]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("--max-memory allows 64 KiB"), "{stderr}");
    before.assert_nothing_new_left();
}

#[test]
fn bad_policy_values_are_refused_with_the_choices() {
    let hostile = guest("rust-hostile");
    let out = bpflet_to_end(&["run", "--allow-attach", "everything", hostile.to_str().unwrap()]);
    assert_eq!(out.code, Some(2), "{}", out.stderr);
    assert!(out.stderr.contains("is not an attachment kind (one of: tracepoint"), "{}", out.stderr);
    assert!(out.stderr.contains("socket-filter"), "{}", out.stderr);
    let out = bpflet_to_end(&["run", "--allow-attach", "tracepoint:", hostile.to_str().unwrap()]);
    assert_eq!(out.code, Some(2), "{}", out.stderr);
    assert!(out.stderr.contains("has no pattern after tracepoint:"), "{}", out.stderr);
    let out = bpflet_to_end(&["run", "--max-memory", "lots", hostile.to_str().unwrap()]);
    assert_eq!(out.code, Some(2), "{}", out.stderr);
    assert!(out.stderr.contains("not a size"), "{}", out.stderr);
}

/// `map-ring` puts kernel pages into guest memory, where a host write
/// through a hostile allocator would kill bpflet: it needs `--allow
/// map-ring`, and without it the guest gets permission-denied saying so.
#[test]
fn map_ring_needs_its_grant() {
    let _serial = serial();
    let before = KernelObjects::now();
    let (code, stdout, stderr) = run(&[], &guest("rust-hostile"), &["ring-write"]);
    assert_eq!(code, Some(1), "{stdout}{stderr}");
    assert!(!stdout.contains("writing to the ring"), "{stdout}");
    assert!(
        stderr.contains("PermissionDenied") && stderr.contains("bpflet run --allow map-ring"),
        "says what to allow: {stderr}"
    );
    before.assert_nothing_new_left();
    // A grant that does not exist is the CLI's error, before anything runs.
    let (code, _, stderr) = run(&["--allow", "map-everything"], &guest("rust-hostile"), &["ok"]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("map-everything") && stderr.contains("map-ring"), "{stderr}");
}

/// A run keeps only the capabilities its kernel work needs (CAP_BPF,
/// CAP_PERFMON, CAP_NET_ADMIN, CAP_NET_RAW, CAP_IPC_LOCK, CAP_SYS_ADMIN,
/// CAP_SYS_RESOURCE, CAP_SYS_PTRACE and root's file access), in every set
/// including the bounding set, with no_new_privs; every other end-to-end
/// test shows that these are enough.
#[test]
fn a_run_keeps_only_the_capabilities_it_needs() {
    let _serial = serial();
    let before = KernelObjects::now();
    let status_field = |status: &str, name: &str| -> u64 {
        let value = status.lines().find_map(|l| l.strip_prefix(name)).unwrap_or_else(|| panic!("{name} {status}"));
        u64::from_str_radix(value.trim(), 16).unwrap_or_else(|_| value.trim().parse().unwrap())
    };
    let mine = std::fs::read_to_string("/proc/self/status").unwrap();
    let keep = status_field(&mine, "CapBnd:") & 0xc0_0128_7006;
    let mut run = spawn(&guest("rust-hostile"), &["block"]);
    run.wait_for(Duration::from_secs(60), |l| l == "attached");
    let theirs = std::fs::read_to_string(format!("/proc/{}/status", run.pid())).unwrap();
    for set in ["CapEff:", "CapPrm:", "CapBnd:"] {
        assert_eq!(status_field(&theirs, set), keep, "{set} {:#x} {theirs}", status_field(&theirs, set));
    }
    assert_eq!(status_field(&theirs, "CapInh:"), 0, "{theirs}");
    assert_eq!(status_field(&theirs, "CapAmb:"), 0, "{theirs}");
    assert_eq!(status_field(&theirs, "NoNewPrivs:"), 1, "{theirs}");
    // CAP_SYS_MODULE (16) is gone for good.
    assert_eq!(status_field(&theirs, "CapBnd:") & 1 << 16, 0);
    run.signal(SIGINT);
    let (status, _) = run.finish(Duration::from_secs(30));
    assert_eq!(status.code(), Some(130), "{status}");
    before.assert_nothing_new_left();
}

/// `--policy FILE` holds the same options for repeat use, one per line.
#[test]
fn a_policy_file_gives_its_options() {
    let _serial = serial();
    let before = KernelObjects::now();
    let dir = scratch("policy-file");
    let file = |name: &str, text: &str| {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path.to_str().unwrap().to_string()
    };
    let narrow = file("narrow", "# only system calls\nallow-attach tracepoint:syscalls/*\n");
    let (code, _, stderr) = run(&["--policy", &narrow], &guest("rust-hostile"), &["ok"]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("allowed: tracepoint:syscalls/*"), "{stderr}");
    let wide =
        file("wide", "allow-attach tracepoint:sched/*   # the exec tracepoint\nlimit objects=1\n\nallow map-ring\n");
    let (code, stdout, stderr) = run(&["--policy", &wide], &guest("rust-hostile"), &["ok"]);
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    // Its limit holds: a second object is refused.
    let (code, stdout, _) = run(&["--policy", &wide], &guest("rust-hostile"), &["attack", "objects"]);
    assert_eq!(code, Some(0));
    assert!(stdout.contains("limit of 1 BPF objects"), "{stdout}");
    before.assert_nothing_new_left();

    for (text, expected) in [
        ("allow-declared yes\n", "line 1: allow-declared takes no value, not \"yes\""),
        ("max-memory\n", "line 1: max-memory needs a value"),
    ] {
        let shifty = file("shifty", text);
        let out = bpflet_to_end(&["run", "--policy", &shifty, guest("rust-hostile").to_str().unwrap()]);
        assert_eq!(out.code, Some(2), "{}", out.stderr);
        assert!(out.stderr.contains(expected), "{}", out.stderr);
    }
    let bad = file("bad", "allow-attach tracepoint\nplug-allow wasi:sockets/tcp\n");
    let out = bpflet_to_end(&["run", "--policy", &bad, guest("rust-hostile").to_str().unwrap()]);
    assert_eq!(out.code, Some(2), "{}", out.stderr);
    assert!(
        out.stderr.contains("bad line 2: \"plug-allow\" is not a policy option (one of: allow-attach"),
        "{}",
        out.stderr
    );
    let out = bpflet_to_end(&["run", "--policy", "/nonexistent/policy", guest("rust-hostile").to_str().unwrap()]);
    assert_eq!(out.code, Some(2), "{}", out.stderr);
    assert!(out.stderr.contains("cannot read the policy file /nonexistent/policy"), "{}", out.stderr);
    // --allow-declared is for programs from a registry.
    let out = bpflet_to_end(&["run", "--allow-declared", guest("rust-hostile").to_str().unwrap(), "ok"]);
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    assert!(out.stderr.contains("--allow-declared grants what an oci:// program declares"), "{}", out.stderr);
}
