//! conformance: calls every function of the `bpflet:ebpf` WIT, error cases
//! included, against guests/bpf/conformance.bpf.o and rejected.bpf.o.
//!
//! An integration test runs it and greps stdout, so every check prints
//! exactly one line:
//!
//! ```text
//! ok <check>
//! ok <check>: <detail>
//! ok <check>: error <case>: <message>      (an error that was expected)
//! FAIL <check>: <detail>
//! ```
//!
//! and the last line is `conformance: N passed, M failed`; the exit status
//! is non-zero when M > 0. `--trigger-pid N` names a process the test makes
//! call getppid() in a loop; the BPF program reacts to it alone (without
//! it, to every process).
//!
//! Every attach kind gets a program in conformance.bpf.c that bumps its own
//! `.bss` counter; the guest attaches each and checks the counter rises
//! (`fired-*`), or, for kinds the kernel may lack (kprobe, fentry, LSM),
//! reports the error case it got. Options for the triggers it cannot make
//! itself (it has no sockets):
//!
//! - `--libc PATH`: the C library whose getppid() the trigger calls, for
//!   the uprobes (default: the first of the usual paths that exists).
//! - `--cgroup PATH`: a cgroup v2 directory holding the trigger, for the
//!   cgroup_skb program (default: the first of the usual places that is
//!   cgroup v2).
//! - `--expect-packets`: the trigger also sends packets over `lo`; wait for
//!   the XDP, tc and cgroup counters to rise (without it they are only
//!   reported).
//! - `--fifo PATH`: a FIFO nobody writes, named as a BTF file, a uprobe's
//!   binary and a cgroup: each must be refused at once, not hang.
//!
//! It uses the raw bindings on purpose: the point is the WIT, not the SDK's
//! typed layer (which gets a few checks of its own: `typed-*`, `sdk-*`,
//! `ring-reader-*`).

use std::fmt::Display;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use bpflet_sdk::bindings::bpflet::ebpf::btf::{BtfType, Kind};
use bpflet_sdk::bindings::bpflet::ebpf::ebpf_loader::{
    packaged_objects, AttachTarget, BpfObject, Link, LoadOptions, PerfEventKind, PerfEventTarget, PerfSample,
    ProgramType, TcDirection, TcTarget, TracepointTarget, UprobeTarget, XdpMode, XdpTarget,
};
use bpflet_sdk::bindings::bpflet::ebpf::events::{BufferKind, EventBuffer};
use bpflet_sdk::bindings::bpflet::ebpf::maps::{BpfMap, MapType, UpdateFlag};
use bpflet_sdk::bytemuck::{self, Pod, Zeroable};
use bpflet_sdk::{io, Array, Error, HashMap, OpenObject, PerCpuArray, PerCpuHashMap, RingReader};

/// Written into the `magic` global; every record must carry it back.
const MAGIC: u64 = 0x6270_666c_6574_2121;

/// How long to wait for the trigger's first records.
const RECORD_WAIT: Duration = Duration::from_secs(5);

/// How long to wait for an attachment's counter to rise.
const FIRE_WAIT: Duration = Duration::from_secs(5);

/// Where the C library usually is, tried in order without `--libc`.
const LIBC_PATHS: [&str; 4] =
    ["/lib/x86_64-linux-gnu/libc.so.6", "/lib/aarch64-linux-gnu/libc.so.6", "/lib64/libc.so.6", "/usr/lib/libc.so.6"];

/// Where cgroup v2 usually is (unified or hybrid layout), tried in order
/// without `--cgroup`.
const CGROUP2_PATHS: [&str; 2] = ["/sys/fs/cgroup", "/sys/fs/cgroup/unified"];

/// The command line.
struct Args {
    /// 0 when no process was named: the programs then count every process.
    trigger: u32,
    libc: Option<String>,
    cgroup: Option<String>,
    expect_packets: bool,
    fifo: Option<String>,
}

/// `struct conformance_record` of guests/bpf/conformance.h.
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct Record {
    magic: u64,
    hits: u64,
}

/// Counts and prints check results.
#[derive(Default)]
struct Checks {
    passed: u32,
    failed: u32,
}

impl Checks {
    fn pass(&mut self, name: &str, detail: impl Display) {
        self.passed += 1;
        let detail = one_line(detail);
        if detail.is_empty() {
            println!("ok {name}");
        } else {
            println!("ok {name}: {detail}");
        }
    }

    fn fail(&mut self, name: &str, detail: impl Display) {
        self.failed += 1;
        println!("FAIL {name}: {}", one_line(detail));
    }

    /// Passes when `condition` holds; `detail` is printed either way.
    fn check(&mut self, name: &str, condition: bool, detail: impl Display) {
        if condition {
            self.pass(name, detail);
        } else {
            self.fail(name, detail);
        }
    }

    /// Fails because a call that should have worked returned `error`.
    fn error(&mut self, name: &str, error: &Error) {
        self.fail(name, describe(error));
    }

    /// Passes when the call succeeded, and hands back its value.
    fn ok<T>(&mut self, name: &str, result: Result<T, Error>) -> Option<T> {
        match result {
            Ok(value) => {
                self.pass(name, "");
                Some(value)
            }
            Err(error) => {
                self.error(name, &error);
                None
            }
        }
    }

    /// Passes when the call failed with one of `cases` (any case when
    /// `cases` is empty).
    fn err<T>(&mut self, name: &str, result: Result<T, Error>, cases: &[&str]) -> Option<Error> {
        match result {
            Ok(_) => {
                self.fail(name, format!("succeeded, expected error {}", expected(cases)));
                None
            }
            Err(error) if cases.is_empty() || cases.contains(&error.case()) => {
                self.pass(name, describe(&error));
                Some(error)
            }
            Err(error) => {
                self.fail(name, format!("{}, expected {}", describe(&error), expected(cases)));
                None
            }
        }
    }
}

/// `error <case>: <message>`, the form the test greps for.
fn describe(error: &Error) -> String {
    format!("error {}: {}", error.case(), error.message())
}

fn expected(cases: &[&str]) -> String {
    if cases.is_empty() {
        "an error".into()
    } else {
        cases.join(" or ")
    }
}

/// The test greps line by line: keep every check on one.
fn one_line(text: impl Display) -> String {
    text.to_string().trim().replace(['\r', '\n'], " | ")
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(args) => args,
        Err(message) => {
            eprintln!(
                "conformance: {message}\nusage: conformance [--trigger-pid PID] [--libc PATH] \
                 [--cgroup PATH] [--expect-packets] [--fifo PATH]"
            );
            return ExitCode::from(2);
        }
    };
    let mut checks = Checks::default();
    if let Err(step) = run(&mut checks, &args) {
        checks.fail("aborted", format!("cannot go on without {step}"));
    }
    println!("conformance: {} passed, {} failed", checks.passed, checks.failed);
    if checks.failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn parse_args() -> Result<Args, String> {
    let mut args = std::env::args().skip(1);
    let mut parsed = Args { trigger: 0, libc: None, cgroup: None, expect_packets: false, fifo: None };
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or(format!("{arg} needs a value"));
        match arg.as_str() {
            "--trigger-pid" => {
                let value = value()?;
                parsed.trigger = value.parse().map_err(|_| format!("bad --trigger-pid {value:?}"))?;
            }
            "--libc" => parsed.libc = Some(value()?),
            "--cgroup" => parsed.cgroup = Some(value()?),
            "--expect-packets" => parsed.expect_packets = true,
            "--fifo" => parsed.fifo = Some(value()?),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(parsed)
}

fn options() -> LoadOptions {
    LoadOptions { btf_path: None, object_name: Some("conformance".into()) }
}

fn tracepoint(category: &str, name: &str) -> AttachTarget {
    AttachTarget::Tracepoint(TracepointTarget { category: category.into(), name: name.into() })
}

fn xdp(ifname: &str) -> AttachTarget {
    AttachTarget::Xdp(XdpTarget { ifname: ifname.into(), mode: XdpMode::Generic })
}

fn tc(ifname: &str, direction: TcDirection) -> AttachTarget {
    AttachTarget::Tc(TcTarget { ifname: ifname.into(), direction })
}

fn uprobe(binary: &str, symbol: &str, pid: Option<i32>, retprobe: bool) -> AttachTarget {
    AttachTarget::Uprobe(UprobeTarget { binary: binary.into(), symbol: Some(symbol.into()), offset: 0, pid, retprobe })
}

fn key(k: u32) -> [u8; 4] {
    k.to_ne_bytes()
}

fn value(v: u64) -> [u8; 8] {
    v.to_ne_bytes()
}

fn as_u64(bytes: &[u8]) -> Option<u64> {
    Some(u64::from_ne_bytes(bytes.try_into().ok()?))
}

/// Reads a `__u64` counter from the object's `.bss`.
fn counter(object: &BpfObject, name: &str) -> Result<u64, Error> {
    let bytes = object.global(name)?;
    as_u64(&bytes).ok_or_else(|| Error::InvalidArgument(format!("{name} is {} bytes, expected 8", bytes.len())))
}

/// An attachment whose counter must rise (`fired-<check>`), or need not
/// when `required` is false (traffic the run may not make).
struct Firing {
    check: &'static str,
    counter: &'static str,
    required: bool,
    /// None when the attach failed (its own check already said why).
    link: Option<Link>,
}

/// Runs every check in order. `Err` names a step the rest cannot do without.
fn run(c: &mut Checks, args: &Args) -> Result<(), &'static str> {
    let trigger = args.trigger;
    // --- open and configure -------------------------------------------
    c.err("open-bad-bytes", BpfObject::open(b"this is not an ELF object", &options()), &[]);
    let object =
        c.ok("open", BpfObject::open(bpflet_sdk::include_bpf!("conformance"), &options())).ok_or("the object")?;
    c.check("loaded-before-load", !object.loaded(), "loaded() is false");

    check_globals(c, &object);
    check_btf(c, &object);
    check_packaged(c);
    c.ok("set-global-magic", object.set_global("magic", &value(MAGIC)));
    c.ok("set-global-target-pid", object.set_global("target_pid", &key(trigger)));
    c.err("set-global-wrong-size", object.set_global("magic", &[1, 2]), &["invalid-argument"]);
    c.err("set-global-unknown", object.set_global("no_such_global", &key(0)), &["not-found"]);
    match object.global("magic") {
        Ok(bytes) => c.check("global-readback", as_u64(&bytes) == Some(MAGIC), format!("{bytes:02x?}")),
        Err(e) => c.error("global-readback", &e),
    };
    c.err("global-unknown", object.global("no_such_global"), &["not-found"]);

    c.err("set-autoload-unknown", object.set_autoload("no_such_program", false), &["not-found"]);
    c.ok("set-autoload", object.set_autoload("raw_enter", false));
    check_programs(c, &object);
    check_maps_before_load(c, &object);

    c.err("attach-before-load", object.attach("on_getppid", &AttachTarget::Auto), &["invalid-state"]);
    c.err("map-before-load", object.get_map("hash"), &[]);

    // --- load -------------------------------------------------------------
    c.ok("load", object.load()).ok_or("a loaded object")?;
    c.check("loaded", object.loaded(), "loaded() is true");
    c.err("set-global-after-load", object.set_global("magic", &value(1)), &["invalid-state"]);
    match object.global("magic") {
        Ok(bytes) => c.check("global-rodata-after-load", as_u64(&bytes) == Some(MAGIC), format!("{bytes:02x?}")),
        Err(e) => c.error("global-rodata-after-load", &e),
    };
    c.err("map-unknown", object.get_map("nope"), &["not-found"]);

    let open = |name: &str| object.get_map(name);
    let (hash, array, percpu, ring_map, perf_map) =
        match (open("hash"), open("array"), open("percpu"), open("ring"), open("perf")) {
            (Ok(h), Ok(a), Ok(p), Ok(r), Ok(f)) => {
                c.pass("map-open", "hash array percpu ring perf");
                (h, a, p, r, f)
            }
            (h, a, p, r, f) => {
                let errors: Vec<String> =
                    [h.err(), a.err(), p.err(), r.err(), f.err()].into_iter().flatten().map(|e| describe(&e)).collect();
                c.fail("map-open", errors.join("; "));
                return Err("the maps");
            }
        };

    // Open the buffers before attaching: a perf buffer loses what is
    // written while nobody reads.
    let ring = c.ok("event-buffer-open-ring", EventBuffer::open(&ring_map, None)).ok_or("the ring buffer")?;
    let perf = c.ok("event-buffer-open-perf", EventBuffer::open(&perf_map, Some(8))).ok_or("the perf buffer")?;
    c.check(
        "event-buffer-kind",
        ring.kind() == BufferKind::Ring && perf.kind() == BufferKind::Perf,
        format!("ring {:?}, perf {:?}", ring.kind(), perf.kind()),
    );
    c.err("event-buffer-open-hash", EventBuffer::open(&hash, None), &["invalid-argument"]);
    // Perf buffer pages are pinned kernel memory on every CPU: bounded.
    c.err("event-buffer-open-perf-huge", EventBuffer::open(&perf_map, Some(1 << 30)), &["invalid-argument"]);
    c.err("event-buffer-open-perf-odd", EventBuffer::open(&perf_map, Some(3)), &["invalid-argument"]);
    map_ring_checks(c, &ring_map, &perf);

    // --- attach -----------------------------------------------------------
    c.err("attach-unknown", object.attach("nope", &AttachTarget::Auto), &["not-found"]);
    let mut links: Vec<Link> = Vec::new();
    // Auto-attach from the section, then the same tracepoint by name: the
    // kernel refuses a program twice on one tracepoint, so the first link
    // goes before the second attach.
    let auto_link = c.ok("attach-auto", object.attach("on_getppid", &AttachTarget::Auto));
    c.err(
        "attach-twice",
        object.attach("on_getppid", &tracepoint("syscalls", "sys_enter_getppid")),
        &["already-exists"],
    );
    drop(auto_link);
    let tracepoint_link =
        c.ok("attach-tracepoint", object.attach("on_getppid", &tracepoint("syscalls", "sys_enter_getppid")));
    let mut firing: Vec<Firing> = Vec::new();
    let attached_at = Instant::now();
    firing.push(Firing {
        check: "tp-btf",
        counter: "switch_hits",
        required: true,
        link: c.ok("attach-tp-btf", object.attach("on_switch", &AttachTarget::TpBtf)),
    });
    c.err("attach-missing-tracepoint", object.attach("on_getppid", &tracepoint("nope", "missing")), &["not-found"]);
    c.err("attach-not-loaded", object.attach("raw_enter", &AttachTarget::RawTracepoint("sys_enter".into())), &[]);
    firing.push(Firing {
        check: "xdp",
        counter: "xdp_packets",
        required: args.expect_packets,
        link: c.ok("attach-xdp", object.attach("xdp_pass", &xdp("lo"))),
    });
    c.err("attach-xdp-missing-interface", object.attach("xdp_pass", &xdp("nope0")), &[]);
    firing.push(Firing {
        check: "socket-filter",
        counter: "socket_packets",
        required: args.expect_packets,
        link: c.ok("attach-socket-filter", object.attach("socket_count", &AttachTarget::SocketFilter("lo".into()))),
    });
    c.err(
        "attach-socket-filter-missing-interface",
        object.attach("socket_count", &AttachTarget::SocketFilter("nope0".into())),
        &["not-found"],
    );
    c.err("attach-socket-filter-auto", object.attach("socket_count", &AttachTarget::Auto), &["invalid-argument"]);
    c.err(
        "attach-socket-filter-wrong-program",
        object.attach("xdp_pass", &AttachTarget::SocketFilter("lo".into())),
        &["invalid-argument"],
    );
    c.err(
        "attach-uprobe-missing-binary",
        object.attach("on_getppid", &uprobe("/nonexistent", "main", None, false)),
        &[],
    );
    c.err("attach-cgroup-missing", object.attach("on_getppid", &AttachTarget::Cgroup("/nonexistent".into())), &[]);
    // Host paths that are not what they are named as are refused before
    // anything opens them: a FIFO would block the host, a device act.
    if let Some(fifo) = &args.fifo {
        c.err(
            "attach-uprobe-fifo",
            object.attach("on_getppid", &uprobe(fifo, "main", None, false)),
            &["invalid-argument"],
        );
        c.err(
            "attach-cgroup-fifo",
            object.attach("on_getppid", &AttachTarget::Cgroup(fifo.clone())),
            &["invalid-argument"],
        );
        let options = LoadOptions { btf_path: Some(fifo.clone()), object_name: None };
        c.err(
            "load-btf-path-fifo",
            BpfObject::open(bpflet_sdk::include_bpf!("conformance"), &options),
            // Outside /sys/kernel/btf and the program's directories.
            &["permission-denied"],
        );
    }
    c.err(
        "attach-uprobe-device",
        object.attach("on_getppid", &uprobe("/dev/null", "main", None, false)),
        &["invalid-argument"],
    );
    attach_every_kind(c, &object, args, &mut firing);

    if let Some(link) = &tracepoint_link {
        c.check("link-program", link.program() == "on_getppid", format!("{:?}", link.program()));
        c.check("link-id", link.id() != 0, format!("id {}", link.id()));
    } else {
        c.fail("link-program", "no tracepoint link");
        c.fail("link-id", "no tracepoint link");
    }
    let programs: Vec<String> = links
        .iter()
        .chain(firing.iter().filter_map(|f| f.link.as_ref()))
        .map(|l| format!("{}#{}", l.program(), l.id()))
        .collect();
    c.pass("link-list", programs.join(" "));
    links.extend(tracepoint_link);

    // --- events -----------------------------------------------------------
    check_records(c, "ring-record", &ring);
    check_records(c, "perf-record", &perf);
    match ring.poll(100, 1) {
        Ok(batch) => c.check(
            "event-buffer-max-records",
            batch.offsets.len() <= 1,
            format!("{} records for max 1", batch.offsets.len()),
        ),
        Err(e) => c.error("event-buffer-max-records", &e),
    };
    c.pass("event-buffer-lost", format!("ring {}, perf {}", ring.lost(), perf.lost()));
    {
        let ring_ready = ring.subscribe();
        let perf_ready = perf.subscribe();
        let timer = io::timer(Duration::from_secs(2));
        let ready = io::poll(&[&ring_ready, &perf_ready, &timer]);
        c.check(
            "subscribe-poll",
            !ready.is_empty() && ready.iter().all(|&i| i < 3),
            format!("ready {ready:?} of [ring, perf, timer]"),
        );
        let started = Instant::now();
        let ready = io::poll(&[&io::timer(Duration::from_millis(20))]);
        c.check("timer-poll", ready == [0], format!("ready {ready:?} after {:?}", started.elapsed()));
    }

    match object.global("hits") {
        Ok(bytes) => {
            let hits = as_u64(&bytes);
            c.check("global-hits", hits.is_some_and(|h| h > 0), format!("hits {hits:?}"))
        }
        Err(e) => c.error("global-hits", &e),
    };
    match object.global("seen_pid") {
        Ok(bytes) => {
            let seen = <[u8; 4]>::try_from(&bytes[..]).map(u32::from_ne_bytes).ok();
            let matches = trigger == 0 || seen == Some(trigger);
            c.check("global-seen-pid", matches, format!("seen_pid {seen:?}, trigger {trigger}"))
        }
        Err(e) => c.error("global-seen-pid", &e),
    };
    match object.global("data_word") {
        Ok(bytes) => c.check("global-data", bytes == 7u32.to_ne_bytes(), format!("{bytes:02x?}")),
        Err(e) => c.error("global-data", &e),
    };
    check_firing(c, &object, &firing, attached_at);
    check_ring_reader(c, &ring_map);

    // --- maps -------------------------------------------------------------
    check_map_info(c, &hash, "hash", MapType::Hash, 4, 8, Some(64));
    check_map_info(c, &array, "array", MapType::Array, 4, 8, Some(16));
    check_map_info(c, &percpu, "percpu", MapType::PercpuArray, 4, 8, Some(4));
    check_map_info(c, &ring_map, "ring", MapType::Ringbuf, 0, 0, Some(64 * 1024));
    check_map_info(c, &perf_map, "perf", MapType::PerfEventArray, 4, 4, None);
    check_hash(c, &hash);
    check_batches(c, &hash);
    check_array(c, &array);
    check_percpu(c, &percpu, object.get_map("percpu_small").ok().as_ref(), &hash, trigger);
    check_typed(c, &object);
    check_words(c, &hash, &percpu);
    check_freeze(c, &array);
    check_rejected(c);
    check_sdk_object(c);
    check_btf_path(c);
    check_separate_loads(c);

    // --- teardown ---------------------------------------------------------
    // Dropping the links detaches the programs: every counter must stand
    // still. A program already running when its link goes may still finish,
    // hence the moment before the first reading.
    drop(links);
    let mut counters = vec!["hits"];
    counters.extend(firing.iter().filter(|f| f.link.is_some()).map(|f| f.counter));
    drop(firing);
    std::thread::sleep(Duration::from_millis(50));
    let read = |names: &[&str]| -> Vec<Option<u64>> { names.iter().map(|n| counter(&object, n).ok()).collect() };
    let before = read(&counters);
    std::thread::sleep(Duration::from_millis(300));
    let after = read(&counters);
    let moved: Vec<String> = counters
        .iter()
        .zip(before.iter().zip(&after))
        .filter(|(_, (b, a))| b.is_none() || b != a)
        .map(|(name, (b, a))| format!("{name} {b:?} then {a:?}"))
        .collect();
    c.check(
        "links-detached",
        moved.is_empty(),
        if moved.is_empty() { format!("{} counters stand still", counters.len()) } else { moved.join(", ") },
    );
    drop(ring);
    drop(perf);
    drop(object);
    // A map outlives its object while a handle to it lives.
    match hash.lookup(&key(1)) {
        Ok(_) => c.pass("map-outlives-object", ""),
        Err(e) => c.error("map-outlives-object", &e),
    }
    drop((hash, array, percpu, ring_map, perf_map));
    c.pass("drop", "links, buffers, object and maps dropped");
    Ok(())
}

/// Attaches a program with every attach kind not covered in `run`; each
/// one whose counter must then rise goes into `firing`.
fn attach_every_kind(c: &mut Checks, object: &BpfObject, args: &Args, firing: &mut Vec<Firing>) {
    firing.push(Firing {
        check: "raw-tracepoint",
        counter: "raw_tp_hits",
        required: true,
        link: c.ok(
            "attach-raw-tracepoint",
            object.attach("raw_sys_enter", &AttachTarget::RawTracepoint("sys_enter".into())),
        ),
    });
    c.err(
        "attach-raw-tracepoint-missing",
        object.attach("raw_sys_enter", &AttachTarget::RawTracepoint("no_such_tracepoint".into())),
        &["not-found"],
    );
    // SEC("raw_tp") names no tracepoint: nothing to attach to by itself.
    c.err("attach-auto-without-target", object.attach("raw_sys_enter", &AttachTarget::Auto), &["unsupported"]);

    // Uprobes on libc's getppid, which the trigger calls: the entry probe
    // for the trigger alone, the return probe for every process.
    let pid = (args.trigger != 0).then_some(args.trigger as i32);
    let candidates: Vec<&str> = match &args.libc {
        Some(path) => vec![path.as_str()],
        None => LIBC_PATHS.to_vec(),
    };
    let mut libc = candidates[0];
    let mut attached = Err(Error::NotFound("no C library path".into()));
    for path in candidates {
        libc = path;
        attached = object.attach("on_uprobe_getppid", &uprobe(path, "getppid", pid, false));
        if !matches!(attached, Err(Error::NotFound(_))) {
            break;
        }
    }
    let link = match attached {
        Ok(link) => {
            c.pass("attach-uprobe", format!("{libc}:getppid, pid {pid:?}"));
            Some(link)
        }
        Err(e) => {
            c.fail("attach-uprobe", format!("{libc}:getppid: {}", describe(&e)));
            None
        }
    };
    firing.push(Firing { check: "uprobe", counter: "uprobe_hits", required: true, link });
    let link = match object.attach("on_uretprobe_getppid", &uprobe(libc, "getppid", None, true)) {
        Ok(link) => {
            c.pass("attach-uretprobe", format!("{libc}:getppid, pid None (every process)"));
            Some(link)
        }
        Err(e) => {
            c.fail("attach-uretprobe", format!("{libc}:getppid: {}", describe(&e)));
            None
        }
    };
    firing.push(Firing { check: "uretprobe", counter: "uretprobe_hits", required: true, link });
    c.err(
        "attach-uprobe-missing-symbol",
        object.attach("on_uprobe_getppid", &uprobe(libc, "no_such_function_in_libc", None, false)),
        &["not-found"],
    );

    // tcx on lo, both ways; the trigger's packets pass both.
    firing.push(Firing {
        check: "tc-ingress",
        counter: "tc_ingress_packets",
        required: args.expect_packets,
        link: c.ok("attach-tc-ingress", object.attach("tc_ingress", &tc("lo", TcDirection::Ingress))),
    });
    firing.push(Firing {
        check: "tc-egress",
        counter: "tc_egress_packets",
        required: args.expect_packets,
        link: c.ok("attach-tc-egress", object.attach("tc_egress", &tc("lo", TcDirection::Egress))),
    });
    c.err(
        "attach-tc-missing-interface",
        object.attach("tc_ingress", &tc("nope0", TcDirection::Ingress)),
        &["not-found"],
    );

    // Like libc: the first usual place that is cgroup v2 (a missing or
    // other directory is not-found or invalid-argument).
    let candidates: Vec<&str> = match &args.cgroup {
        Some(path) => vec![path.as_str()],
        None => CGROUP2_PATHS.to_vec(),
    };
    let mut cgroup = candidates[0];
    let mut attached = Err(Error::NotFound("no cgroup path".into()));
    for path in candidates {
        cgroup = path;
        attached = object.attach("cgroup_egress", &AttachTarget::Cgroup(path.into()));
        if !matches!(attached, Err(Error::NotFound(_) | Error::InvalidArgument(_))) {
            break;
        }
    }
    let link = match attached {
        Ok(link) => {
            c.pass("attach-cgroup", cgroup);
            Some(link)
        }
        Err(e) => {
            c.fail("attach-cgroup", format!("{cgroup}: {}", describe(&e)));
            None
        }
    };
    firing.push(Firing { check: "cgroup", counter: "cgroup_egress_packets", required: args.expect_packets, link });
    // A directory, but not of cgroup v2.
    c.err(
        "attach-cgroup-not-cgroup2",
        object.attach("cgroup_egress", &AttachTarget::Cgroup("/".into())),
        &["invalid-argument"],
    );

    let perf = |cpus: Option<Vec<u32>>| {
        AttachTarget::PerfEvent(PerfEventTarget {
            kind: PerfEventKind::CpuClock,
            sample: PerfSample::Frequency(1000),
            cpus,
        })
    };
    firing.push(Firing {
        check: "perf-event",
        counter: "perf_samples",
        required: true,
        link: c.ok("attach-perf-event", object.attach("on_sample", &perf(None))),
    });
    c.err("attach-perf-event-missing-cpu", object.attach("on_sample", &perf(Some(vec![100_000]))), &[]);

    // Kernels without CONFIG_KPROBES load kprobe programs (uprobes share
    // their type) but cannot attach them: either outcome is conformant,
    // as long as a refusal is a clear error; an attachment must fire.
    for (check, program, counter, target) in [
        ("kprobe", "on_kprobe_nanosleep", "kprobe_hits", AttachTarget::Kprobe("do_nanosleep".into())),
        ("kretprobe", "on_kretprobe_nanosleep", "kretprobe_hits", AttachTarget::Kretprobe("do_nanosleep".into())),
    ] {
        let name = format!("attach-{check}");
        match object.attach(program, &target) {
            Ok(link) => {
                c.pass(&name, "attached to do_nanosleep");
                firing.push(Firing { check, counter, required: true, link: Some(link) });
            }
            Err(e @ (Error::Unsupported(_) | Error::PermissionDenied(_))) => {
                c.pass(&name, format!("not offered by this kernel: {}", describe(&e)))
            }
            Err(e) => c.error(&name, &e),
        }
    }
}

/// Waits until every required counter has risen, then reports them all
/// (with how long after `attached_at` they were read).
fn check_firing(c: &mut Checks, object: &BpfObject, firing: &[Firing], attached_at: Instant) {
    let started = Instant::now();
    let read = || -> Vec<Result<u64, Error>> { firing.iter().map(|f| counter(object, f.counter)).collect() };
    let mut values = read();
    while started.elapsed() < FIRE_WAIT
        && firing.iter().zip(&values).any(|(f, v)| f.required && f.link.is_some() && !matches!(v, Ok(n) if *n > 0))
    {
        std::thread::sleep(Duration::from_millis(20));
        values = read();
    }
    let waited = started.elapsed().as_millis();
    let since = attached_at.elapsed().as_millis();
    for (f, value) in firing.iter().zip(values) {
        let name = format!("fired-{}", f.check);
        match (&f.link, value) {
            (None, _) => c.fail(&name, "not attached"),
            (Some(_), Err(e)) => c.error(&name, &e),
            (Some(_), Ok(n)) if n > 0 => c.pass(&name, format!("{} {n}, {since} ms after attach", f.counter)),
            (Some(_), Ok(n)) if !f.required => {
                c.pass(&name, format!("{} {n} (no --expect-packets, not required)", f.counter))
            }
            (Some(_), Ok(n)) => {
                c.fail(&name, format!("{} still {n}, {since} ms after attach ({waited} ms waiting)", f.counter))
            }
        }
    }
}

/// `load-options.btf-path`: the kernel's own BTF relocates like the
/// default; a missing file is an error at open or at load.
fn check_btf_path(c: &mut Checks) {
    let options = |path: &str| LoadOptions { btf_path: Some(path.into()), object_name: Some("conformance".into()) };
    let vmlinux = "/sys/kernel/btf/vmlinux";
    match BpfObject::open(bpflet_sdk::include_bpf!("conformance"), &options(vmlinux)) {
        Ok(copy) => match copy.load() {
            Ok(()) => c.check("load-btf-path", copy.loaded(), format!("btf-path {vmlinux}")),
            Err(e) => c.fail("load-btf-path", format!("load: {}", describe(&e))),
        },
        Err(e) => c.fail("load-btf-path", format!("open: {}", describe(&e))),
    }
    let name = "load-btf-path-missing";
    match BpfObject::open(bpflet_sdk::include_bpf!("conformance"), &options("/nonexistent")) {
        Err(e) => c.pass(name, format!("at open: {}", describe(&e))),
        Ok(copy) => match copy.load() {
            Err(e) => c.pass(name, format!("at load: {}", describe(&e))),
            Ok(()) => c.fail(name, "loaded with btf-path /nonexistent"),
        },
    }
}

/// The fentry and LSM programs are not autoloaded (`SEC("?...")`): a
/// kernel that refuses them would refuse the whole object. Each loads in a
/// copy of its own here; where the kernel takes it, it must fire too.
fn check_separate_loads(c: &mut Checks) {
    for (check, program, counter_name) in
        [("fentry", "fentry_nanosleep", "fentry_hits"), ("lsm", "lsm_file_open", "lsm_hits")]
    {
        let name = format!("load-{check}");
        let copy = match BpfObject::open(bpflet_sdk::include_bpf!("conformance"), &options()) {
            Ok(copy) => copy,
            Err(e) => {
                c.error(&name, &e);
                continue;
            }
        };
        let only = copy
            .programs()
            .iter()
            .filter(|p| p.autoload)
            .try_for_each(|p| copy.set_autoload(&p.name, false))
            .and_then(|()| copy.set_autoload(program, true));
        if let Err(e) = only {
            c.error(&name, &e);
            continue;
        }
        match copy.load() {
            Ok(()) => c.pass(&name, format!("{program} loaded alone")),
            Err(e @ (Error::PermissionDenied(_) | Error::Unsupported(_) | Error::LoadFailed(_))) => {
                // The kernel's reason, when the verifier log has one.
                let reason = match &e {
                    Error::LoadFailed(failure) => failure
                        .verifier_log
                        .lines()
                        .rev()
                        .find(|l| !l.trim().is_empty())
                        .map(|l| format!(" (log: {})", l.trim()))
                        .unwrap_or_default(),
                    _ => String::new(),
                };
                c.pass(&name, format!("not offered by this kernel: {}{reason}", describe(&e)));
                continue;
            }
            Err(e) => {
                c.error(&name, &e);
                continue;
            }
        }
        let attached_at = Instant::now();
        let link = c.ok(&format!("attach-{check}"), copy.attach(program, &AttachTarget::Auto));
        let firing = [Firing { check, counter: counter_name, required: true, link }];
        check_firing(c, &copy, &firing, attached_at);
    }
}

/// Follows typedefs and modifiers to the type that gives a value its shape.
fn resolve(types: &[BtfType], mut id: u32) -> Option<&BtfType> {
    loop {
        let t = types.get(id as usize)?;
        match t.kind {
            Kind::Typedef(next)
            | Kind::ConstQualified(next)
            | Kind::VolatileQualified(next)
            | Kind::RestrictQualified(next)
            | Kind::TypeTag(next) => id = next,
            _ => return Some(t),
        }
    }
}

fn int_size(types: &[BtfType], id: u32) -> Option<u32> {
    match resolve(types, id)?.kind {
        Kind::Int(int) => Some(int.size),
        _ => None,
    }
}

fn check_btf(c: &mut Checks, object: &BpfObject) {
    let types = object.btf_types();
    c.check(
        "btf-types",
        types.len() > 10
            && matches!(types[0].kind, Kind::Void)
            && types.iter().enumerate().all(|(i, t)| t.id as usize == i),
        format!("{} types, indexed by id", types.len()),
    );
    // The record struct, with its members' names and offsets.
    let record = types.iter().find(|t| t.name == "conformance_record");
    match record.map(|t| &t.kind) {
        Some(Kind::StructType(s)) => {
            let members: Vec<String> = s.members.iter().map(|m| format!("{}@{}", m.name, m.bit_offset / 8)).collect();
            c.check("btf-struct", s.size == 16 && members == ["magic@0", "hits@8"], members.join(" "));
        }
        other => c.fail("btf-struct", format!("conformance_record is {other:?}")),
    }
    // A global's type: const volatile u64 resolves to an 8-byte int.
    let magic = object.globals().into_iter().find(|g| g.name == "magic");
    let size = magic.as_ref().and_then(|g| int_size(&types, g.type_id));
    c.check("btf-global-type", size == Some(8), format!("magic resolves to an int of {size:?} bytes"));
    // eunomia-bpf's convention: an unused global pointer names the record type.
    let unused = object.globals().into_iter().find(|g| g.name == "unused_record");
    let pointee = unused.and_then(|g| match resolve(&types, g.type_id)?.kind {
        Kind::Ptr(to) => resolve(&types, to).map(|t| t.name.clone()),
        _ => None,
    });
    c.check("btf-unused-pointer", pointee.as_deref() == Some("conformance_record"), format!("points to {pointee:?}"));
    // Map key and value types, and the decl tag on the ring buffer.
    match object.map_types("hash") {
        Ok(m) => {
            let (k, v) = (int_size(&types, m.key), int_size(&types, m.value));
            let def = types.get(m.definition as usize).map(|t| t.name.clone());
            c.check(
                "map-types",
                k == Some(4) && v == Some(8) && def.as_deref() == Some("hash"),
                format!("key {k:?} value {v:?} bytes, definition {def:?}"),
            );
        }
        Err(e) => c.error("map-types", &e),
    }
    c.err("map-types-unknown", object.map_types("nope"), &["not-found"]);
    let ring = object.map_types("ring").map(|m| m.definition).unwrap_or(0);
    let tag = types.iter().find(|t| matches!(t.kind, Kind::DeclTag(d) if d.target == ring && ring != 0));
    c.check(
        "btf-decl-tag",
        tag.is_some_and(|t| t.name == "bpflet.record=conformance_record"),
        format!("ring is tagged {:?}", tag.map(|t| &t.name)),
    );
    // Raw ELF sections.
    let license = object.section("license");
    c.check("section", license.as_deref() == Some(&b"GPL\0"[..]), format!("license = {license:?}"));
    c.check("section-missing", object.section(".no.such.section").is_none(), "none");
}

fn check_packaged(c: &mut Checks) {
    let names = packaged_objects();
    c.check(
        "packaged-objects",
        names.iter().any(|n| n == "conformance.bpf.o"),
        format!("{names:?} (bpflet run --object target/bpf/conformance.bpf.o)"),
    );
    if let Some(object) = c.ok("open-packaged", BpfObject::open_packaged("conformance.bpf.o", &options())) {
        c.check(
            "open-packaged-programs",
            !object.programs().is_empty(),
            format!("{} programs", object.programs().len()),
        );
    }
    c.err("open-packaged-unknown", BpfObject::open_packaged("nope.bpf.o", &options()), &["not-found"]);
}

fn check_globals(c: &mut Checks, object: &BpfObject) {
    let globals = object.globals();
    let expected = [
        ("target_pid", ".rodata", 4, true),
        ("magic", ".rodata", 8, true),
        ("hits", ".bss", 8, false),
        ("seen_pid", ".bss", 4, false),
        ("data_word", ".data", 4, false),
    ];
    let mut problems = Vec::new();
    for (name, section, size, read_only) in expected {
        match globals.iter().find(|g| g.name == name) {
            None => problems.push(format!("{name} missing")),
            Some(g) if g.section != section || g.size != size || g.read_only != read_only => problems.push(format!(
                "{name} is {}/{} bytes/read-only {}, expected {section}/{size} bytes/read-only {read_only}",
                g.section, g.size, g.read_only
            )),
            Some(_) => {}
        }
    }
    let listed: Vec<String> = globals.iter().map(|g| format!("{}@{}", g.name, g.section)).collect();
    if problems.is_empty() {
        c.pass("globals", listed.join(" "));
    } else {
        c.fail("globals", format!("{} (listed: {})", problems.join("; "), listed.join(" ")));
    }
}

fn check_programs(c: &mut Checks, object: &BpfObject) {
    let programs = object.programs();
    let expected = [
        ("on_getppid", "tp/syscalls/sys_enter_getppid", ProgramType::Tracepoint, true),
        ("xdp_pass", "xdp", ProgramType::Xdp, true),
        ("socket_count", "socket", ProgramType::SocketFilter, true),
        ("raw_enter", "raw_tp/sys_enter", ProgramType::RawTracepoint, false),
        ("on_switch", "tp_btf/sched_switch", ProgramType::Tracing, true),
        ("raw_sys_enter", "raw_tp", ProgramType::RawTracepoint, true),
        ("on_uprobe_getppid", "uprobe", ProgramType::Kprobe, true),
        ("on_uretprobe_getppid", "uretprobe", ProgramType::Kprobe, true),
        ("tc_ingress", "tc", ProgramType::SchedCls, true),
        ("tc_egress", "tc", ProgramType::SchedCls, true),
        ("cgroup_egress", "cgroup_skb/egress", ProgramType::CgroupSkb, true),
        ("on_sample", "perf_event", ProgramType::PerfEvent, true),
        ("on_kprobe_nanosleep", "kprobe/do_nanosleep", ProgramType::Kprobe, true),
        ("on_kretprobe_nanosleep", "kretprobe/do_nanosleep", ProgramType::Kprobe, true),
        ("fentry_nanosleep", "fentry/do_nanosleep", ProgramType::Tracing, false),
        ("lsm_file_open", "lsm/file_open", ProgramType::Lsm, false),
    ];
    let mut problems = Vec::new();
    for (name, section, program_type, autoload) in expected {
        match programs.iter().find(|p| p.name == name) {
            None => problems.push(format!("{name} missing")),
            Some(p) if p.section != section || p.program_type != program_type || p.autoload != autoload => problems
                .push(format!(
                    "{name} is {}/{:?}/autoload {}, expected {section}/{program_type:?}/autoload {autoload}",
                    p.section, p.program_type, p.autoload
                )),
            Some(_) => {}
        }
    }
    let listed: Vec<String> = programs.iter().map(|p| format!("{}:{}", p.name, p.autoload)).collect();
    if problems.is_empty() {
        c.pass("programs", listed.join(" "));
    } else {
        c.fail("programs", format!("{} (listed: {})", problems.join("; "), listed.join(" ")));
    }
}

fn check_maps_before_load(c: &mut Checks, object: &BpfObject) {
    let maps = object.maps();
    let expected = [
        ("hash", MapType::Hash),
        ("array", MapType::Array),
        ("percpu", MapType::PercpuArray),
        ("ring", MapType::Ringbuf),
        ("perf", MapType::PerfEventArray),
    ];
    let problems: Vec<String> = expected
        .iter()
        .filter_map(|&(name, map_type)| match maps.iter().find(|m| m.name == name) {
            None => Some(format!("{name} missing")),
            Some(m) if m.map_type != map_type => Some(format!("{name} is {:?}", m.map_type)),
            Some(_) => None,
        })
        .collect();
    let listed: Vec<&str> = maps.iter().map(|m| m.name.as_str()).collect();
    if problems.is_empty() {
        c.pass("maps-before-load", listed.join(" "));
    } else {
        c.fail("maps-before-load", format!("{} (listed: {})", problems.join("; "), listed.join(" ")));
    }
}

/// Waits for the trigger's records in `buffer` and checks the first.
/// `event-buffer.map-ring`: the ring's pages appear in guest memory with
/// the layout the WIT describes; a second call and a perf buffer are
/// refused; dropping the buffer leaves ordinary writable memory behind.
fn map_ring_checks(c: &mut Checks, ring_map: &BpfMap, perf: &EventBuffer) {
    c.err("event-buffer-map-ring-perf", perf.map_ring(), &["unsupported"]);
    let Some(shared) = c.ok("event-buffer-open-ring-2", EventBuffer::open(ring_map, None)) else {
        return;
    };
    let Some(pages) = c.ok("event-buffer-map-ring", shared.map_ring()) else {
        return;
    };
    let (page, size) = (pages.page_size as usize, pages.size as usize);
    let mut region = pages.region;
    let at = (region.as_ptr() as usize).next_multiple_of(page) - region.as_ptr() as usize;
    c.check(
        "event-buffer-map-ring-layout",
        page.is_power_of_two()
            && size == ring_map.info().max_entries as usize
            && at + 2 * page + 2 * size <= region.len(),
        format!("page {page}, size {size}, region {} bytes, pages at +{at}", region.len()),
    );
    // Nothing is produced yet: both positions are where the ring started.
    let position = |offset: usize| u64::from_le_bytes(region[at + offset..at + offset + 8].try_into().unwrap());
    c.check(
        "event-buffer-map-ring-positions",
        position(0) == position(page),
        format!("consumer {}, producer {}", position(0), position(page)),
    );
    c.err("event-buffer-map-ring-twice", shared.map_ring(), &["invalid-state"]);
    // The consumer position is the guest's to write, and the host reads the
    // ring where it points: a position that is no record boundary, or one
    // further back than the ring is long, is refused, not followed.
    let start = position(0);
    for (name, bad) in [("misaligned", start + 4), ("behind", start.wrapping_sub(2 * size as u64))] {
        region[at..at + 8].copy_from_slice(&bad.to_le_bytes());
        c.err(&format!("event-buffer-map-ring-consumer-{name}"), shared.poll(0, 0), &["invalid-state"]);
    }
    region[at..at + 8].copy_from_slice(&start.to_le_bytes());
    c.ok("event-buffer-map-ring-consumer-restored", shared.poll(0, 0));
    drop(shared);
    // The ring's read-only pages would trap this write.
    region.fill(0xa5);
    c.check(
        "event-buffer-map-ring-restored",
        region.iter().all(|&b| b == 0xa5),
        "region not writable after the buffer was dropped".to_string(),
    );
}

fn check_records(c: &mut Checks, name: &str, buffer: &EventBuffer) {
    let started = Instant::now();
    while started.elapsed() < RECORD_WAIT {
        let batch = match buffer.poll(200, 0) {
            Ok(batch) => batch,
            Err(e) => {
                c.fail(name, format!("poll: {}", describe(&e)));
                return;
            }
        };
        let Some(&first) = batch.offsets.first() else {
            continue;
        };
        let end = batch.offsets.get(1).map_or(batch.data.len(), |&o| o as usize);
        let bytes = batch.data.get(first as usize..end).unwrap_or_default();
        // Perf records carry the kernel's padding: read the prefix.
        let Some(record) = bytes.get(..size_of::<Record>()).map(bytemuck::pod_read_unaligned::<Record>) else {
            c.fail(name, format!("record of {} bytes, expected at least 16", bytes.len()));
            return;
        };
        c.check(
            name,
            record.magic == MAGIC && record.hits > 0,
            format!(
                "{} records, first {} bytes: magic {:#x}, hits {}, after {} ms",
                batch.offsets.len(),
                bytes.len(),
                record.magic,
                record.hits,
                started.elapsed().as_millis()
            ),
        );
        return;
    }
    c.fail(name, format!("no record within {RECORD_WAIT:?}"));
}

fn check_map_info(
    c: &mut Checks,
    map: &BpfMap,
    name: &str,
    map_type: MapType,
    key_size: u32,
    value_size: u32,
    max_entries: Option<u32>,
) {
    let info = map.info();
    let fits = info.name == name
        && info.map_type == map_type
        && info.key_size == key_size
        && info.value_size == value_size
        && max_entries.is_none_or(|max| info.max_entries == max)
        && info.max_entries > 0
        && info.id != 0
        && info.possible_cpus > 0;
    c.check(&format!("map-info-{name}"), fits, format!("{info:?}"));
}

fn check_hash(c: &mut Checks, hash: &BpfMap) {
    // Key 1 belongs to the BPF program; the guest uses 100 and up.
    c.ok("hash-update", hash.update(&key(100), &value(1), UpdateFlag::Any));
    let found = hash.lookup(&key(100));
    c.check("hash-lookup", matches!(&found, Ok(Some(v)) if as_u64(v) == Some(1)), format!("{found:?}"));
    let missing = hash.lookup(&key(999));
    c.check("hash-lookup-missing", matches!(missing, Ok(None)), format!("{missing:?}"));
    c.err("hash-update-no-exist-existing", hash.update(&key(100), &value(2), UpdateFlag::NoExist), &["already-exists"]);
    c.err("hash-update-exist-missing", hash.update(&key(101), &value(2), UpdateFlag::Exist), &["not-found"]);
    c.ok("hash-update-exist", hash.update(&key(100), &value(2), UpdateFlag::Exist));
    c.err("hash-lookup-wrong-key-size", hash.lookup(&[1, 2]), &["invalid-argument"]);
    c.err("hash-update-wrong-value-size", hash.update(&key(100), &[1, 2, 3], UpdateFlag::Any), &["invalid-argument"]);
    c.ok("hash-delete", hash.delete(&key(100)));
    c.err("hash-delete-missing", hash.delete(&key(100)), &["not-found"]);

    let _ = hash.update(&key(102), &value(42), UpdateFlag::Any);
    let taken = hash.lookup_and_delete(&key(102));
    let gone = hash.lookup(&key(102));
    c.check(
        "hash-lookup-and-delete",
        matches!(&taken, Ok(Some(v)) if as_u64(v) == Some(42)) && matches!(gone, Ok(None)),
        format!("took {taken:?}, then {gone:?}"),
    );

    // Walk the keys three at a time so the walk spans several pages.
    for k in 200..210 {
        let _ = hash.update(&key(k), &value(u64::from(k)), UpdateFlag::Any);
    }
    let mut seen = Vec::new();
    let mut after: Option<Vec<u8>> = None;
    let mut pages = 0;
    let walk = loop {
        pages += 1;
        match hash.keys(after.as_deref(), 3) {
            Ok(page) if page.len() % 4 != 0 => break Err(format!("{} bytes of 4-byte keys", page.len())),
            Ok(page) => {
                seen.extend(page.chunks_exact(4).map(|k| u32::from_ne_bytes(k.try_into().unwrap())));
                if page.len() < 3 * 4 {
                    break Ok(());
                }
                after = Some(page[page.len() - 4..].to_vec());
            }
            Err(e) => break Err(describe(&e)),
        }
        if pages > 100 {
            break Err("walk does not end".into());
        }
    };
    let mut unique = seen.clone();
    unique.sort_unstable();
    unique.dedup();
    match walk {
        Ok(()) => c.check(
            "hash-keys",
            (200..210).all(|k| seen.contains(&k)) && unique.len() == seen.len(),
            format!("{} keys in {pages} pages", seen.len()),
        ),
        Err(detail) => c.fail("hash-keys", detail),
    };
}

fn check_batches(c: &mut Checks, hash: &BpfMap) {
    let keys: Vec<u8> = (300u32..305).flat_map(u32::to_ne_bytes).collect();
    let values: Vec<u8> = (300u64..305).flat_map(|k| (k * 10).to_ne_bytes()).collect();
    match hash.update_batch(&keys, &values, UpdateFlag::Any) {
        Ok(n) => c.check("hash-update-batch", n == 5, format!("{n} written")),
        Err(e) => c.error("hash-update-batch", &e),
    };

    let mut found = std::collections::HashMap::new();
    let mut cursor: Option<Vec<u8>> = None;
    let mut pages = 0;
    let walk = loop {
        pages += 1;
        match hash.lookup_batch(cursor.as_deref(), 4) {
            Ok(page) => {
                let n = page.count as usize;
                if page.keys.len() != n * 4 || page.values.len() != n * 8 {
                    break Err(format!(
                        "{n} elements in {} key and {} value bytes",
                        page.keys.len(),
                        page.values.len()
                    ));
                }
                for (k, v) in page.keys.chunks_exact(4).zip(page.values.chunks_exact(8)) {
                    found.insert(u32::from_ne_bytes(k.try_into().unwrap()), as_u64(v).unwrap_or_default());
                }
                match page.next {
                    Some(next) => cursor = Some(next),
                    None => break Ok(()),
                }
            }
            Err(e) => break Err(describe(&e)),
        }
        if pages > 100 {
            break Err("walk does not end".into());
        }
    };
    match walk {
        Ok(()) => c.check(
            "hash-lookup-batch",
            (300u32..305).all(|k| found.get(&k) == Some(&(u64::from(k) * 10))),
            format!("{} elements in {pages} pages", found.len()),
        ),
        Err(detail) => c.fail("hash-lookup-batch", detail),
    };
    // A guest's counts do not size host memory: the largest count asks for
    // no more than the map holds.
    match hash.lookup_batch(None, u32::MAX) {
        Ok(page) => c.check("hash-lookup-batch-max", page.count >= 5, format!("{} elements in one page", page.count)),
        Err(e) => c.error("hash-lookup-batch-max", &e),
    };
    match hash.keys(None, u32::MAX) {
        Ok(keys) => c.check("hash-keys-max", keys.len() >= 5 * 4, format!("{} key bytes", keys.len())),
        Err(e) => c.error("hash-keys-max", &e),
    };

    match hash.delete_batch(&keys) {
        Ok(n) => {
            let gone = matches!(hash.lookup(&key(300)), Ok(None));
            c.check("hash-delete-batch", n == 5 && gone, format!("{n} deleted, key 300 gone: {gone}"))
        }
        Err(e) => c.error("hash-delete-batch", &e),
    };
}

fn check_array(c: &mut Checks, array: &BpfMap) {
    c.ok("array-update", array.update(&key(3), &value(33), UpdateFlag::Any));
    let found = array.lookup(&key(3));
    c.check("array-lookup", matches!(&found, Ok(Some(v)) if as_u64(v) == Some(33)), format!("{found:?}"));
    // The kernel says ENOENT; as `none` or as not-found, both are fair.
    match array.lookup(&key(16)) {
        Ok(None) => c.pass("array-lookup-out-of-range", "none"),
        Ok(Some(v)) => c.fail("array-lookup-out-of-range", format!("found {v:?}")),
        Err(e) if matches!(e, Error::NotFound(_) | Error::InvalidArgument(_)) => {
            c.pass("array-lookup-out-of-range", describe(&e))
        }
        Err(e) => c.error("array-lookup-out-of-range", &e),
    }
    c.err("array-delete", array.delete(&key(3)), &[]);
}

fn check_percpu(c: &mut Checks, percpu: &BpfMap, small: Option<&BpfMap>, hash: &BpfMap, trigger: u32) {
    let cpus = percpu.info().possible_cpus as usize;
    match percpu.lookup_per_cpu(&key(0)) {
        Ok(Some(flat)) => {
            let values: Vec<&[u8]> = flat.chunks(8).collect();
            let fits = flat.len() == cpus * 8;
            c.check("percpu-values", fits, format!("{} values for {cpus} cpus", values.len()));
            let sum: u64 = values.iter().filter_map(|v| as_u64(v)).sum();
            c.check("percpu-sum", fits && (trigger == 0 || sum > 0), format!("percpu[0] sums to {sum}"));
        }
        other => {
            c.fail("percpu-values", format!("{other:?}"));
            c.fail("percpu-sum", "no per-CPU values");
        }
    }

    let written: Vec<u8> = (0..cpus as u64).flat_map(|cpu| value(cpu + 1)).collect();
    c.ok("percpu-update", percpu.update_per_cpu(&key(1), &written, UpdateFlag::Any));
    let read = percpu.lookup_per_cpu(&key(1));
    c.check(
        "percpu-readback",
        matches!(&read, Ok(Some(values)) if *values == written),
        format!("{} bytes", read.as_ref().map_or(0, |v| v.as_ref().map_or(0, Vec::len))),
    );
    // Values whose size is no multiple of 8 come back unpadded.
    match small {
        Some(small) => {
            let written: Vec<u8> = (0..cpus as u32).flat_map(|cpu| (cpu * 7 + 1).to_ne_bytes()).collect();
            c.ok("percpu-small-update", small.update_per_cpu(&key(1), &written, UpdateFlag::Any));
            let read = small.lookup_per_cpu(&key(1));
            c.check(
                "percpu-small-readback",
                matches!(&read, Ok(Some(values)) if *values == written),
                format!("wrote {written:?}, read {read:?}"),
            );
        }
        None => c.fail("percpu-small-readback", "no percpu_small map"),
    }
    let wrong_count: Vec<u8> = vec![0; (cpus + 1) * 8];
    c.err(
        "percpu-update-wrong-count",
        percpu.update_per_cpu(&key(1), &wrong_count, UpdateFlag::Any),
        &["invalid-argument"],
    );
    c.err("lookup-percpu-non-percpu", hash.lookup_per_cpu(&key(1)), &["invalid-argument"]);
    c.err("update-percpu-non-percpu", hash.update_per_cpu(&key(1), &written, UpdateFlag::Any), &["invalid-argument"]);
}

/// The SDK's typed maps, over the same kernel maps.
fn check_typed(c: &mut Checks, object: &BpfObject) {
    match object.get_map("hash").and_then(HashMap::<u32, u64>::try_from) {
        Ok(map) => {
            let result = (|| {
                map.insert(&400, &4)?;
                let got = map.get(&400)?;
                let in_keys = map.keys().collect::<Result<Vec<_>, _>>()?.contains(&400);
                let in_iter = map.iter().collect::<Result<Vec<_>, _>>()?.contains(&(400, 4));
                map.remove(&400)?;
                let gone = map.get(&400)?.is_none();
                Ok::<_, Error>(got == Some(4) && in_keys && in_iter && gone)
            })();
            match result {
                Ok(fine) => c.check("typed-hash", fine, "insert, get, keys, iter, remove"),
                Err(e) => c.error("typed-hash", &e),
            };
        }
        Err(e) => c.error("typed-hash", &e),
    }
    c.err("typed-wrong-size", object.get_map("hash").and_then(HashMap::<u64, u64>::try_from), &["invalid-argument"]);
    c.err("typed-wrong-type", object.get_map("hash").and_then(Array::<u64>::try_from), &["invalid-argument"]);
    match object.get_map("array").and_then(Array::<u64>::try_from) {
        Ok(array) => {
            let set = array.set(5, &55).and_then(|()| array.get(5));
            c.check("typed-array", matches!(set, Ok(55)), format!("{set:?}"));
            c.err("typed-array-out-of-range", array.get(array.len()), &["not-found"]);
        }
        Err(e) => {
            c.error("typed-array", &e);
            c.error("typed-array-out-of-range", &e);
        }
    }
    match object.get_map("percpu").and_then(PerCpuArray::<u64>::try_from) {
        Ok(percpu) => {
            let cpus = percpu.info().possible_cpus as usize;
            let got = percpu.get(0);
            c.check(
                "typed-percpu-array",
                got.as_ref().is_ok_and(|v| v.len() == cpus),
                format!("{} values for {cpus} cpus", got.as_ref().map_or(0, Vec::len)),
            );
            let values: Vec<u64> = (0..cpus as u64).map(|cpu| 100 + cpu).collect();
            let set = percpu.set(3, &values).and_then(|()| percpu.get(3));
            c.check("typed-percpu-array-set", matches!(&set, Ok(v) if *v == values), format!("{set:?}"));
        }
        Err(e) => {
            c.error("typed-percpu-array", &e);
            c.error("typed-percpu-array-set", &e);
        }
    }
    // Whether a map is per-CPU comes from map-info.per-cpu: the plain and
    // the per-CPU views refuse each other's maps.
    c.err("typed-per-cpu-as-plain", object.get_map("percpu").and_then(Array::<u64>::try_from), &["invalid-argument"]);
    c.err(
        "typed-plain-as-per-cpu",
        object.get_map("array").and_then(PerCpuArray::<u64>::try_from),
        &["invalid-argument"],
    );
    c.err(
        "typed-hash-as-per-cpu-hash",
        object.get_map("hash").and_then(PerCpuHashMap::<u32, u64>::try_from),
        &["invalid-argument"],
    );
}

/// The SDK's `OpenObject`: packaged objects, globals and autoload before
/// load, and a load that fails.
fn check_sdk_object(c: &mut Checks) {
    let names = bpflet_sdk::packaged_objects();
    c.check("sdk-packaged-objects", names.iter().any(|n| n == "conformance.bpf.o"), format!("{names:?}"));
    let open = OpenObject::open_packaged("conformance.bpf.o")
        .and_then(|open| open.set_global("magic", &MAGIC))
        .and_then(|open| open.set_autoload("on_getppid", false));
    match open {
        Ok(open) => {
            let magic = open.global::<u64>("magic");
            let programs = open.programs();
            let off = programs.iter().any(|p| p.name == "on_getppid" && !p.autoload);
            c.check(
                "sdk-open-configure",
                matches!(magic, Ok(MAGIC)) && off,
                format!("magic {magic:x?}, on_getppid autoload off: {off}"),
            );
        }
        Err(e) => c.error("sdk-open-configure", &e),
    }
    c.err("sdk-open-packaged-unknown", OpenObject::open_packaged("nope.bpf.o"), &["not-found"]);
    c.err(
        "sdk-load-rejected",
        OpenObject::open(bpflet_sdk::include_bpf!("rejected")).and_then(OpenObject::load),
        &["load-failed"],
    );
}

/// The SDK's `RingReader` on the ring buffer the trigger keeps writing:
/// records one by one with `next` and `release`, then with the callback.
fn check_ring_reader(c: &mut Checks, ring_map: &BpfMap) {
    let Some(mut ring) = c.ok("ring-reader-open", RingReader::open(ring_map)) else {
        return;
    };
    let wait = RECORD_WAIT.as_millis() as u32;
    let ready = ring.wait(wait);
    let (mut count, mut good) = (0u32, 0u32);
    while let Some(record) = ring.next() {
        count += 1;
        let record = record.get(..size_of::<Record>()).map(bytemuck::pod_read_unaligned::<Record>);
        good += u32::from(record.is_some_and(|r| r.magic == MAGIC));
    }
    ring.release();
    c.check(
        "ring-reader-next",
        ready && count > 0 && good == count,
        format!("{good} of {count} records carry the magic"),
    );
    let ready = ring.wait(wait);
    let (mut count, mut good) = (0u32, 0u32);
    let consumed = ring.consume_records(0, |record: &Record| {
        count += 1;
        good += u32::from(record.magic == MAGIC);
    });
    c.check(
        "ring-reader-consume-records",
        ready && matches!(consumed, Ok(n) if n > 0 && n == count as usize) && good == count,
        format!("{consumed:?} records, {good} of {count} carry the magic"),
    );
}

/// `word-handle`, `lookup-word`, `update-word`: the same elements as the
/// methods see, by number.
fn check_words(c: &mut Checks, hash: &BpfMap, percpu: &BpfMap) {
    use bpflet_sdk::bindings::bpflet::ebpf::maps::{lookup_word, update_word};
    let Some(handle) = c.ok("word-handle", hash.word_handle()) else {
        return;
    };
    c.check("word-handle-stable", matches!(hash.word_handle(), Ok(h) if h == handle), format!("{handle} twice"));
    c.ok("update-word", update_word(handle, 77, 7700, UpdateFlag::Any));
    let by_method = hash.lookup(&key(77));
    c.check(
        "lookup-word",
        matches!(lookup_word(handle, 77), Ok(Some(7700)))
            && matches!(&by_method, Ok(Some(v)) if as_u64(v) == Some(7700)),
        format!("word {:?}, method {by_method:?}", lookup_word(handle, 77)),
    );
    c.check(
        "lookup-word-absent",
        matches!(lookup_word(handle, 78), Ok(None)),
        format!("{:?}", lookup_word(handle, 78)),
    );
    c.err("update-word-no-exist", update_word(handle, 77, 1, UpdateFlag::NoExist), &["already-exists"]);
    c.err("lookup-word-bad-handle", lookup_word(handle + 1000, 77), &["invalid-argument"]);
    c.err("word-handle-percpu", percpu.word_handle(), &["invalid-argument"]);
    c.ok("word-cleanup", hash.delete(&key(77)));
}

fn check_freeze(c: &mut Checks, array: &BpfMap) {
    c.ok("freeze", array.freeze());
    c.err("update-after-freeze", array.update(&key(3), &value(34), UpdateFlag::Any), &["permission-denied", "os"]);
    let found = array.lookup(&key(3));
    c.check("lookup-after-freeze", matches!(&found, Ok(Some(v)) if as_u64(v) == Some(33)), format!("{found:?}"));
}

fn check_rejected(c: &mut Checks) {
    let Some(rejected) = c.ok("open-rejected", BpfObject::open(bpflet_sdk::include_bpf!("rejected"), &options()))
    else {
        c.fail("load-rejected", "not opened");
        c.fail("verifier-log", "not opened");
        return;
    };
    match c.err("load-rejected", rejected.load(), &["load-failed"]) {
        Some(Error::LoadFailed(failure)) => {
            let last = failure.verifier_log.lines().rev().find(|l| !l.trim().is_empty());
            match last {
                Some(line) => c.pass("verifier-log", line),
                None => c.fail("verifier-log", "empty"),
            }
        }
        _ => c.fail("verifier-log", "no load-failed error"),
    }
    c.check("loaded-after-rejection", !rejected.loaded(), format!("loaded() is {}", rejected.loaded()));
}
