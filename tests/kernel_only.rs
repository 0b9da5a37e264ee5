//! Kernel-only programs: `bpflet build` a C file, `bpflet run` the bare
//! object; the embedded runner makes the flags, prints the records and the
//! histograms. Every trigger here is the test's own: it execs its own
//! marker binary and writes known sizes.

mod common;

use std::ffi::OsStr;
use std::io::Write;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::*;

/// `bpflet run OBJECT ARGS...` (flags straight after the object).
fn run_object(object: &Path, args: &[&str]) -> Running {
    let mut all = vec![object.to_str().unwrap()];
    all.extend_from_slice(args);
    spawn_with(&[], Path::new(all[0]), &all[1..])
}

/// Stops a --json histogram run with Ctrl-C and returns the histogram it
/// printed last (and its text, for messages).
fn final_histogram(run: Running) -> (serde_json::Value, String) {
    run.signal(SIGINT);
    let (status, lines, stderr) = run.finish_all(Duration::from_secs(15));
    assert_eq!(status.code(), Some(0), "{stderr:?}");
    let hist =
        lines.iter().rev().find(|l| l.contains("\"total\"")).unwrap_or_else(|| panic!("no histogram: {lines:?}"));
    let hist: serde_json::Value = serde_json::from_str(hist).unwrap();
    let text = hist.to_string();
    (hist, text)
}

/// The count of the bucket that starts at `low` (0 when it is absent).
fn bucket_count(hist: &serde_json::Value, low: u64) -> u64 {
    let buckets = hist.pointer("/buckets").or_else(|| hist.pointer("/hist/buckets")).expect("buckets");
    buckets.as_array().unwrap().iter().find(|b| b["low"] == low).map_or(0, |b| b["count"].as_u64().unwrap())
}

fn attached(run: &mut Running) {
    run.wait_for_stderr(Duration::from_secs(60), |l| l.contains("attached; Ctrl-C to stop"));
}

#[test]
fn build_records_doc_comments_and_help_lists_every_global() {
    let built = scratch("kernel-only").join("exectrace.bpf.o");
    let status = Command::new(bpflet())
        .args(["build"])
        .arg(repo_root().join("guests/bpf/exectrace.bpf.c"))
        .arg("-o")
        .arg(&built)
        .status()
        .unwrap();
    assert!(status.success(), "bpflet build failed");
    let out = bpflet_to_end(&[OsStr::new("run"), built.as_os_str(), OsStr::new("--help")]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let help = out.stdout;
    for (flag, ty, default) in [
        ("--target_ppid", "<u32>", "[default: 0]"),
        ("--flagged", "<bool>", "[default: false]"),
        ("--mode", "<enum exec_mode>", "[default: MODE_ALL]"),
        ("--comm_prefix", "<string[16]>", "[default: \"\"]"),
    ] {
        let line = help
            .lines()
            .find(|l| l.trim_start().starts_with(&format!("{flag} ")))
            .unwrap_or_else(|| panic!("no {flag} in help:\n{help}"));
        assert!(line.contains(ty) && line.contains(default), "{line:?} should show {ty} and {default}");
    }
    // The doc comment above the global, recorded by bpflet build.
    let ppid = help.lines().find(|l| l.trim_start().starts_with("--target_ppid ")).unwrap();
    assert!(ppid.contains("Only report children of this process"), "no description: {ppid:?}");
}

#[test]
fn build_without_clang_says_so() {
    let out = Command::new(bpflet())
        .arg("build")
        .arg(repo_root().join("guests/bpf/exectrace.bpf.c"))
        .arg("-o")
        .arg(scratch("kernel-only").join("never.bpf.o"))
        .env("CLANG", "/nonexistent/clang")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("/nonexistent/clang"), "{stderr}");
}

#[test]
fn exec_tracer_filters_by_the_pid_flag_and_reports_the_bool_flag() {
    let _serial = serial();
    let before = KernelObjects::now();
    let me = std::process::id().to_string();
    let marker = Marker::new("ko-marker");
    for flagged in [true, false] {
        let mut args = vec!["--target-ppid", &me, "--json"];
        if flagged {
            args.push("--flagged");
        }
        let mut run = run_object(&object("exectrace"), &args);
        attached(&mut run);
        // A grandchild (parent: sh) must be filtered out; our child must not.
        let status = Command::new("sh").arg("-c").arg(format!("{} ; true", marker.path.display())).status().unwrap();
        assert!(status.success());
        let pid = marker.exec();
        let line = run.wait_for(Duration::from_secs(10), |l| l.contains(&format!("\"pid\":{pid},")));
        let event: serde_json::Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("{line}: {e}"));
        assert_eq!(event["ppid"], std::process::id(), "{line}");
        assert_eq!(event["filename"], marker.path_str(), "{line}");
        assert_eq!(event["comm"], "ko-marker", "{line}");
        assert_eq!(event["flagged"], flagged, "{line}");
        run.signal(SIGINT);
        let (status, lines) = run.finish(Duration::from_secs(15));
        assert_eq!(status.code(), Some(0), "Ctrl-C ends a kernel-only program with success");
        for l in lines.iter().filter(|l| l.starts_with('{')) {
            let e: serde_json::Value = serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}"));
            assert_eq!(e["ppid"], std::process::id(), "the ppid filter let through {l}");
        }
    }
    before.assert_nothing_new_left();
}

#[test]
fn exec_tracer_prints_an_aligned_table() {
    let _serial = serial();
    let before = KernelObjects::now();
    let me = std::process::id().to_string();
    let marker = Marker::new("ko-marker");
    let mut run = run_object(&object("exectrace"), &["--target_ppid", &me]);
    attached(&mut run);
    let pid = marker.exec();
    let row = run.wait_for(Duration::from_secs(10), |l| l.contains("ko-marker") && !l.starts_with("TIME"));
    run.signal(SIGTERM);
    let (status, lines) = run.finish(Duration::from_secs(15));
    assert_eq!(status.code(), Some(0));
    let header = lines.iter().find(|l| l.starts_with("TIME")).expect("a header line");
    for column in ["PID", "PPID", "FLAGGED", "COMM", "FILENAME"] {
        assert!(header.split_whitespace().any(|c| c == column), "no {column} in {header:?}");
    }
    // Cells start where their titles do.
    let at = |title: &str| header.find(&format!(" {title}")).map(|i| i + 1).unwrap();
    assert_eq!(&row[at("FILENAME")..], marker.path_str(), "{header}\n{row}");
    assert!(row.split_whitespace().any(|c| c == pid.to_string()), "{row}");
    before.assert_nothing_new_left();
}

#[test]
fn perf_buffer_tracer_reports_the_exec() {
    let _serial = serial();
    let before = KernelObjects::now();
    let me = std::process::id().to_string();
    let marker = Marker::new("ko-marker");
    let mut run = run_object(&object("perfexec"), &["--target_ppid", &me, "--json"]);
    attached(&mut run);
    let pid = marker.exec();
    let line = run.wait_for(Duration::from_secs(10), |l| l.contains(&format!("\"pid\":{pid},")));
    let event: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!(event["filename"], marker.path_str());
    run.signal(SIGINT);
    let (status, _) = run.finish(Duration::from_secs(15));
    assert_eq!(status.code(), Some(0));
    before.assert_nothing_new_left();
}

#[test]
fn log2_histogram_counts_the_writes_the_test_makes() {
    let _serial = serial();
    let before = KernelObjects::now();
    let me = std::process::id().to_string();
    let mut run = run_object(&object("sizehist"), &["--target_pid", &me, "--json"]);
    attached(&mut run);
    let mut null = std::fs::OpenOptions::new().write(true).open("/dev/null").unwrap();
    // One write(2) each: sizes 1, 1000 and 70000 land in slots 0, 9 and 16.
    let plan: [(usize, u64); 3] = [(1, 10), (1000, 20), (70_000, 5)];
    for (size, times) in plan {
        let buf = vec![0u8; size];
        for _ in 0..times {
            assert_eq!(null.write(&buf).unwrap(), size);
        }
    }
    let (hist, text) = final_histogram(run);
    assert_eq!(hist["total"], 35, "{text}");
    let count_at = |low| bucket_count(&hist, low);
    assert_eq!(count_at(0), 10, "1-byte writes: {text}");
    assert_eq!(count_at(512), 20, "1000-byte writes: {text}");
    assert_eq!(count_at(65536), 5, "70000-byte writes: {text}");
    before.assert_nothing_new_left();
}

/// A socket filter (SEC("socket")) on lo: the runner attaches it to a
/// packet socket on --ifname; it counts exactly the UDP datagrams the test
/// sends to its port, by payload size.
#[test]
fn socket_filter_histogram_counts_the_datagrams_the_test_sends() {
    let _serial = serial();
    let before = KernelObjects::now();
    let receiver = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = receiver.local_addr().unwrap().port().to_string();
    let mut run = run_object(&object("pktsize"), &["--ifname", "lo", "--port", &port, "--json"]);
    attached(&mut run);
    let sender = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    // Payloads of 1 and 1000 bytes land in the slots starting at 0 and 512.
    let plan: [(usize, u64); 2] = [(1, 10), (1000, 20)];
    for (size, times) in plan {
        for _ in 0..times {
            sender.send_to(&vec![7u8; size], receiver.local_addr().unwrap()).unwrap();
        }
    }
    // Datagrams to another port are not counted.
    let other = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    sender.send_to(b"elsewhere", other.local_addr().unwrap()).unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let (hist, text) = final_histogram(run);
    assert_eq!(hist["total"], 30, "{text}");
    let count_at = |low| bucket_count(&hist, low);
    assert_eq!(count_at(0), 10, "1-byte payloads: {text}");
    assert_eq!(count_at(512), 20, "1000-byte payloads: {text}");
    before.assert_nothing_new_left();
}

#[test]
fn bad_flags_and_missing_targets_are_refused_and_leave_nothing() {
    let _serial = serial();
    let before = KernelObjects::now();
    let cases: [(&str, &[&str], &str); 3] = [
        ("exectrace", &["--target_ppid", "99999999999"], "out of range for u32"),
        ("exectrace", &["--mode", "sometimes"], "is not a value of enum exec_mode"),
        ("exectrace", &["--no-such-flag"], "--no-such-flag"),
    ];
    for (name, args, expected) in cases {
        let object = object(name);
        let mut argv = vec![OsStr::new("run"), object.as_os_str()];
        argv.extend(args.iter().map(OsStr::new));
        let out = bpflet_to_end(&argv);
        let stderr = out.stderr;
        assert_eq!(out.code, Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(expected), "{args:?}: expected {expected:?} in {stderr}");
    }
    // conformance.bpf.o has xdp, tc and uprobe programs: they need targets.
    let out = bpflet_to_end(&[OsStr::new("run"), object("conformance").as_os_str()]);
    let stderr = out.stderr;
    assert_eq!(out.code, Some(2), "{stderr}");
    assert!(stderr.contains("--ifname") || stderr.contains("--uprobe"), "names the missing flag: {stderr}");
    before.assert_nothing_new_left();
}

#[test]
fn a_rejected_object_reports_the_verifier() {
    let out = bpflet_to_end(&[OsStr::new("run"), object("rejected").as_os_str()]);
    let stderr = out.stderr;
    assert_eq!(out.code, Some(1), "{stderr}");
    assert!(stderr.contains("load-failed") && stderr.contains("invalid mem access"), "{stderr}");
}

/// `bpftool ARGS`, which must succeed; its stdout.
fn bpftool(args: &[&str]) -> String {
    let out = Command::new("bpftool").args(args).output().expect("bpftool (make setup installs it)");
    assert!(out.status.success(), "bpftool {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// bpffs at /sys/fs/bpf, where libbpf pins by name; mounted for the test
/// when the machine has none there, and unmounted after, with the test's
/// pin removed, whatever the test's outcome.
struct Bpffs {
    mounted_here: bool,
}

const PIN: &str = "/sys/fs/bpf/bpflet_pinned";

impl Bpffs {
    fn ensure() -> Bpffs {
        let mounts = std::fs::read_to_string("/proc/mounts").unwrap();
        if mounts.lines().any(|l| l.split_whitespace().nth(1) == Some("/sys/fs/bpf") && l.starts_with("bpf ")) {
            return Bpffs { mounted_here: false };
        }
        let status = Command::new("mount").args(["-t", "bpf", "bpf", "/sys/fs/bpf"]).status().unwrap();
        assert!(status.success(), "mounting bpffs at /sys/fs/bpf");
        Bpffs { mounted_here: true }
    }
}

impl Drop for Bpffs {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(PIN);
        if self.mounted_here {
            let _ = Command::new("umount").arg("/sys/fs/bpf").status();
        }
    }
}

/// An object that asks for its map to be pinned by name gets no pin: the
/// map is the program's own, gone when it ends, and a map that someone
/// else pinned under that name is neither reused nor touched.
#[test]
fn maps_asking_to_be_pinned_are_not_pinned_nor_reused() {
    let _serial = serial();
    let _bpffs = Bpffs::ensure();
    let pin = Path::new(PIN);
    let _ = std::fs::remove_file(pin);
    let object = object("pinned");
    let run = || {
        let out = bpflet_to_end(&["run", object.to_str().unwrap(), "--print-maps", "--duration", "1"]);
        assert_eq!(out.code, Some(0), "{}", out.stderr);
        out.stdout
    };

    // Nothing pinned by the program, and nothing left.
    let before = KernelObjects::now();
    let printed = run();
    assert!(printed.contains("bpflet_pinned:"), "{printed}");
    assert!(!pin.exists(), "bpflet left {} pinned", pin.display());
    before.assert_nothing_new_left();

    // Someone else's map under the same name: 7 → 4242424242.
    bpftool(
        &["map", "create", PIN, "type", "hash", "key", "4", "value", "8"]
            .iter()
            .chain(&["entries", "16", "name", "bpflet_pinned"])
            .copied()
            .collect::<Vec<_>>(),
    );
    bpftool(
        &["map", "update", "pinned", PIN, "key", "7", "0", "0", "0"]
            .iter()
            .chain(&["value", "hex", "b2", "41", "de", "fc", "00", "00", "00", "00"])
            .copied()
            .collect::<Vec<_>>(),
    );
    let before = KernelObjects::now();
    let printed = run();
    // The program's map has none of the other's entries.
    assert!(printed.contains("bpflet_pinned:"), "{printed}");
    assert!(!printed.contains("4242424242"), "bpflet reused the pinned map:\n{printed}");
    // The other's map is still there, as it was.
    let other = bpftool(&["map", "lookup", "pinned", PIN, "key", "7", "0", "0", "0"]);
    assert!(other.contains("b2 41 de fc 00 00 00 00"), "{other}");
    before.assert_nothing_new_left();
}
