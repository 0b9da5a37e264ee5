//! hostile: a guest that ends badly and attacks bpflet on purpose, so that
//! tests can check that bpflet cleans up after every kind of ending and
//! that no attack gets past it (tests/bad_input.rs, tests/hostile.rs).
//!
//! Endings (each loads execsnoop.bpf.o, attaches it and opens its ring
//! buffer first, then prints `attached`):
//!
//! - `ok`: returns normally (exit 0)
//! - `error`: returns an error from main (exit 1)
//! - `exit N`: calls exit(N)
//! - `trap`: panics, which traps the component
//! - `spin`: loops in wasm code forever (stopped by a signal)
//! - `block`: waits in a host call forever (stopped by a signal)
//! - `alloc MIB`: allocates and fills MIB MiB, then returns normally
//!   (so `--max-memory` can refuse it)
//! - `graceful`: handles the stop itself: waits for SIGINT/SIGTERM through
//!   `signals.subscribe-stop`, then says so and returns normally
//!
//! Attacks (`attack NAME [ARG]`, on hostile.bpf.o): each prints what bpflet
//! answered, as `refused: CASE: MESSAGE` when the guest got an error, or
//! `answered: WHAT` when bpflet did what was asked within its bounds, and
//! returns normally. An attack whose only sound outcome is a trap (the host
//! cannot hand the guest an error in the middle of lowering a result) says
//! `trying ...` and must not return: if it does, it fails. `attack list`
//! prints the names. See `ATTACKS` for each one.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use bpflet_sdk::bindings::bpflet::ebpf::events::EventBuffer as RawBuffer;
use bpflet_sdk::{
    include_bpf, io, signals, AttachTarget, BpfMap, Error, EventBuffer, LoadOptions, Object, OpenObject,
    TracepointTarget, UpdateFlag, UprobeTarget, XdpMode, XdpTarget,
};

/// The guest's allocator, which is also the allocator the host calls
/// (`cabi_realloc`) to place lowered results: armed with `hand_out`, it
/// gives the next allocation an address of the guest's choosing, as a
/// hostile allocator would.
struct Hostile;

/// The address the next allocation gets; 0 when not armed.
static NEXT: AtomicUsize = AtomicUsize::new(0);

/// Makes the next allocation, whatever its size, `at`.
fn hand_out(at: *const u8) {
    NEXT.store(at as usize, Ordering::SeqCst);
}

// SAFETY: a pass-through to the system allocator, except for the one
// allocation `hand_out` arms, which is never freed (the attacks that arm it
// do not return).
unsafe impl GlobalAlloc for Hostile {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        match NEXT.swap(0, Ordering::SeqCst) {
            // SAFETY: the caller's layout, passed on.
            0 => unsafe { System.alloc(layout) },
            at => at as *mut u8,
        }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: only System's allocations are freed (see above).
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Hostile = Hostile;

type Outcome = Result<String, Box<dyn std::error::Error>>;

/// An attack: its name, what it tries, and the function that tries it.
type Attack = (&'static str, &'static str, fn(&[String]) -> Outcome);

/// Every attack.
const ATTACKS: &[Attack] = &[
    ("lookup-batch-max", "asks lookup-batch for 4294967295 entries of a hash map", lookup_batch_max),
    ("keys-max", "asks keys for 4294967295 keys of a hash map", keys_max),
    ("huge-key", "looks up a 16 MiB key in a map whose keys are 4 bytes", huge_key),
    ("perf-poll-max", "polls a perf buffer for 4294967295 records", perf_poll_max),
    ("perf-pages-max", "opens a perf buffer of 2^20 pages per CPU (4 GiB of kernel memory each)", perf_pages_max),
    ("map-ring", "maps a ring buffer's pages into its memory without the map-ring grant", map_ring),
    (
        "map-ring-overlap",
        "maps a second ring buffer over the first one's pages (a hostile allocator)",
        map_ring_overlap,
    ),
    ("ring-consumer", "moves a mapped ring's consumer position past the producer's, then polls", ring_consumer),
    ("open-garbage", "opens bytes that are not an ELF object", open_garbage),
    ("open-truncated", "opens the first half of a real object", open_truncated),
    ("open-mutated", "opens and loads ARG (200) copies of a real object with random bytes changed", open_mutated),
    ("set-global-size", "sets a 4-byte global to 64 KiB", set_global_size),
    ("btf-path", "relocates against ARG as BTF (a FIFO, a device, a directory, a missing file)", btf_path),
    ("cgroup-path", "attaches to ARG as a cgroup (a file, a FIFO)", cgroup_path),
    ("uprobe-binary", "attaches a uprobe in ARG (a FIFO, a device)", uprobe_binary),
    (
        "uprobe-section",
        "attaches a uprobe whose section names a device as its binary (uprobe//dev/null)",
        uprobe_section,
    ),
    ("tracepoint-escape", "attaches to a tracepoint whose category climbs out of tracefs (../..)", tracepoint_escape),
    ("xdp-ifname", "attaches XDP to an interface name of 4096 bytes", xdp_ifname),
    ("objects", "opens objects until bpflet refuses one (--limit objects)", objects),
    ("maps", "takes map handles until bpflet refuses one (--limit maps)", maps),
    ("word-handles", "takes word handles of new map handles until refused (--limit maps)", word_handles),
    ("links", "attaches until bpflet refuses one (--limit links)", links),
    ("buffers", "opens event buffers until bpflet refuses one (--limit event-buffers)", buffers),
    ("kernel-memory", "loads an object whose maps need more kernel memory than allowed", kernel_memory),
    (
        "kernel-memory-handles",
        "loads objects and keeps a map of each, dropping the object, until refused",
        kernel_memory_handles,
    ),
    ("perf-kernel-memory", "opens perf buffers until their pages pass the kernel memory limit", perf_kernel_memory),
    ("handles", "subscribes pollables until the resource table is full (--limit handles)", handles),
    ("struct-ops", "updates a struct_ops map into a kernel registration that outlives the run", struct_ops),
    ("send-signal", "loads a program that calls bpf_send_signal (a SIGKILL to any process it runs in)", send_signal),
    ("write-user", "loads a program that calls bpf_probe_write_user (writes into any process)", write_user),
    ("send-signal-function", "loads a program whose own function (in .text) calls bpf_send_signal", via_function),
    ("send-signal-kfunc", "loads a program that calls the kernel function bpf_send_signal_task", via_kfunc),
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let how: Vec<String> = std::env::args().skip(1).collect();
    if let [attack, name, args @ ..] = &how[..] {
        if attack == "attack" {
            return run_attack(name, args);
        }
    }
    let obj = OpenObject::open(include_bpf!("execsnoop"))?.load()?;
    let _links = obj.attach_all()?;
    let events = EventBuffer::open(&obj.map("events")?)?;
    println!("attached");
    match how.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        ["ok"] => Ok(()),
        ["error"] => Err("failing on purpose".into()),
        ["exit", code] => std::process::exit(code.parse()?),
        ["trap"] => panic!("trapping on purpose"),
        ["spin"] => {
            let mut n = 0u64;
            loop {
                n = std::hint::black_box(n.wrapping_add(1));
            }
        }
        ["block"] => loop {
            events.poll(60_000, 1)?;
        },
        ["alloc", mib] => {
            let mut block = vec![0u8; mib.parse::<usize>()? << 20];
            block.fill(1);
            println!("allocated {} MiB", std::hint::black_box(&block).len() >> 20);
            Ok(())
        }
        ["ring-write"] => {
            let pages = events.raw().map_ring()?;
            let mut region = pages.region;
            let page = pages.page_size as usize;
            let at = (region.as_ptr() as usize).next_multiple_of(page) - region.as_ptr() as usize;
            // The data area, two pages into the mapping: read-only.
            let data = at + 2 * page;
            println!("writing to the ring's data at region offset {data}");
            // SAFETY: in bounds; volatile so the write is not optimized away.
            unsafe { region.as_mut_ptr().add(data).write_volatile(1) };
            Err("the write to the ring's data pages did not trap".into())
        }
        ["graceful"] => {
            let stop = signals::subscribe_stop();
            println!("waiting for a stop signal");
            stop.block();
            println!("stopping cleanly");
            Ok(())
        }
        _ => Err(format!(
            "usage: hostile ok|error|exit N|trap|spin|block|alloc MIB|ring-write|graceful|attack NAME [ARG], got {how:?}"
        )
        .into()),
    }
}

fn run_attack(name: &str, args: &[String]) -> Result<(), Box<dyn std::error::Error>> {
    if name == "list" {
        for (name, what, _) in ATTACKS {
            println!("{name}: {what}");
        }
        return Ok(());
    }
    let (_, what, attack) =
        ATTACKS.iter().find(|(n, ..)| *n == name).ok_or_else(|| format!("no attack {name:?} (attack list)"))?;
    println!("{name}: {what}");
    match attack(args) {
        Ok(answer) => println!("answered: {answer}"),
        Err(error) => match error.downcast::<Error>() {
            Ok(error) => println!("refused: {}: {}", error.case(), error.message()),
            Err(other) => return Err(other),
        },
    }
    Ok(())
}

/// hostile.bpf.o, loaded.
fn loaded() -> Result<Object, Error> {
    OpenObject::open(include_bpf!("hostile"))?.load()
}

fn lookup_batch_max(_: &[String]) -> Outcome {
    let obj = loaded()?;
    let counts = obj.map("counts")?;
    for key in 0u32..100 {
        counts.update(&key.to_le_bytes(), &1u64.to_le_bytes(), UpdateFlag::Any)?;
    }
    let entries = counts.lookup_batch(None, u32::MAX)?;
    Ok(format!("{} entries", entries.keys.len() / 4))
}

fn keys_max(_: &[String]) -> Outcome {
    let obj = loaded()?;
    let counts = obj.map("counts")?;
    for key in 0u32..100 {
        counts.update(&key.to_le_bytes(), &1u64.to_le_bytes(), UpdateFlag::Any)?;
    }
    Ok(format!("{} keys", counts.keys(None, u32::MAX)?.len() / 4))
}

fn huge_key(_: &[String]) -> Outcome {
    let obj = loaded()?;
    let found = obj.map("counts")?.lookup(&vec![0u8; 16 << 20])?;
    Ok(format!("found: {}", found.is_some()))
}

fn perf_poll_max(_: &[String]) -> Outcome {
    let obj = loaded()?;
    let perf = EventBuffer::open(&obj.map("perf")?)?;
    Ok(format!("{} records", perf.poll(0, u32::MAX)?.len()))
}

fn perf_pages_max(_: &[String]) -> Outcome {
    let obj = loaded()?;
    EventBuffer::open_with_pages(&obj.map("perf")?, Some(1 << 20))?;
    Ok("opened".into())
}

fn map_ring(_: &[String]) -> Outcome {
    let obj = loaded()?;
    let ring = EventBuffer::open(&obj.map("ring_a")?)?;
    let pages = ring.raw().map_ring()?;
    std::mem::forget(pages.region);
    Ok("mapped".into())
}

fn map_ring_overlap(_: &[String]) -> Outcome {
    let obj = loaded()?;
    let a = RawBuffer::open(&obj.map("ring_a")?, None)?;
    let b = RawBuffer::open(&obj.map("ring_b")?, None)?;
    let first = a.map_ring()?;
    println!("trying: ring_b's region handed out over ring_a's");
    hand_out(first.region.as_ptr());
    let second = b.map_ring()?;
    // Not reached: the host refuses while lowering, which traps.
    std::mem::forget((first.region, second.region));
    Err("bpflet mapped a ring buffer over another".into())
}

fn ring_consumer(_: &[String]) -> Outcome {
    let obj = loaded()?;
    let ring = EventBuffer::open(&obj.map("ring_a")?)?;
    let pages = ring.raw().map_ring()?;
    let region = pages.region;
    let page = pages.page_size as usize;
    let at = (region.as_ptr() as usize).next_multiple_of(page) as *mut u64;
    // SAFETY: the consumer page, the writable first page of the mapping.
    unsafe { at.write_volatile(1 << 40) };
    std::mem::forget(region);
    Ok(format!("{} records", ring.poll(0, 0)?.len()))
}

fn open_garbage(_: &[String]) -> Outcome {
    OpenObject::open(b"\x7fELF\x02\x01\x01 this is not an object, only its first bytes are")?;
    Ok("opened".into())
}

fn open_truncated(_: &[String]) -> Outcome {
    let elf = include_bpf!("hostile");
    OpenObject::open(&elf[..elf.len() / 2])?;
    Ok("opened".into())
}

fn open_mutated(args: &[String]) -> Outcome {
    let count: u32 = args.first().map_or(Ok(200), |n| n.parse())?;
    let elf = include_bpf!("hostile");
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut random = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let (mut opened, mut loaded, mut refused) = (0, 0, 0);
    for _ in 0..count {
        let mut bytes = elf.to_vec();
        for _ in 0..1 + random() % 8 {
            let at = (random() % bytes.len() as u64) as usize;
            bytes[at] = random() as u8;
        }
        let Ok(open) = OpenObject::open(&bytes) else {
            refused += 1;
            continue;
        };
        opened += 1;
        // Its BTF may place the global anywhere: bpflet must not believe it.
        let _ = open.raw().set_global("target_pid", &1u32.to_le_bytes());
        if open.load().is_ok() {
            loaded += 1;
        }
    }
    Ok(format!("{count} mutated objects: {refused} refused at open, {opened} opened, {loaded} loaded"))
}

fn set_global_size(_: &[String]) -> Outcome {
    let open = OpenObject::open(include_bpf!("hostile"))?;
    open.raw().set_global("target_pid", &vec![0u8; 64 << 10])?;
    Ok("set".into())
}

fn arg(args: &[String]) -> Result<&str, Box<dyn std::error::Error>> {
    Ok(args.first().ok_or("this attack takes a path")?)
}

fn btf_path(args: &[String]) -> Outcome {
    let options = LoadOptions { btf_path: Some(arg(args)?.to_string()), object_name: None };
    OpenObject::open_with(include_bpf!("hostile"), &options)?.load()?;
    Ok("loaded".into())
}

fn cgroup_path(args: &[String]) -> Outcome {
    let obj = loaded()?;
    obj.attach("count_getppid", &AttachTarget::Cgroup(arg(args)?.to_string()))?;
    Ok("attached".into())
}

fn uprobe_binary(args: &[String]) -> Outcome {
    let obj = loaded()?;
    let target = UprobeTarget { binary: arg(args)?.to_string(), symbol: None, offset: 0, pid: None, retprobe: false };
    obj.attach("count_getppid", &AttachTarget::Uprobe(target))?;
    Ok("attached".into())
}

fn uprobe_section(_: &[String]) -> Outcome {
    let obj = OpenObject::open(include_bpf!("hostile"))?.set_autoload("on_device", true)?.load()?;
    obj.attach("on_device", &AttachTarget::Auto)?;
    Ok("attached".into())
}

fn tracepoint_escape(_: &[String]) -> Outcome {
    let obj = loaded()?;
    let target = TracepointTarget { category: "../../../../proc/self".into(), name: "fd".into() };
    obj.attach("count_getppid", &AttachTarget::Tracepoint(target))?;
    Ok("attached".into())
}

fn xdp_ifname(_: &[String]) -> Outcome {
    let obj = loaded()?;
    let target = XdpTarget { ifname: "x".repeat(4096), mode: XdpMode::Generic };
    obj.attach("count_getppid", &AttachTarget::Xdp(target))?;
    Ok("attached".into())
}

/// Calls `take` until it fails, keeping what it returns; the error says
/// how many it took first.
fn until_refused<T>(mut take: impl FnMut() -> Result<T, Error>) -> Outcome {
    let mut held = Vec::new();
    loop {
        match take() {
            Ok(one) => held.push(one),
            Err(error) => {
                println!("took {} before the refusal", held.len());
                return Err(error.into());
            }
        }
        if held.len() >= 1 << 20 {
            return Ok(format!("took {} without a refusal", held.len()));
        }
    }
}

fn objects(_: &[String]) -> Outcome {
    until_refused(|| OpenObject::open(include_bpf!("hostile")))
}

fn maps(_: &[String]) -> Outcome {
    let obj = loaded()?;
    until_refused(|| obj.map("counts"))
}

fn word_handles(_: &[String]) -> Outcome {
    let obj = loaded()?;
    until_refused(|| obj.map("counts")?.word_handle())
}

fn links(_: &[String]) -> Outcome {
    let obj = loaded()?;
    until_refused(|| obj.attach("on_sys_enter", &AttachTarget::Auto))
}

fn buffers(_: &[String]) -> Outcome {
    let obj = loaded()?;
    let ring: BpfMap = obj.map("ring_a")?;
    until_refused(|| EventBuffer::open(&ring))
}

fn kernel_memory(_: &[String]) -> Outcome {
    loaded()?;
    Ok("loaded".into())
}

fn kernel_memory_handles(_: &[String]) -> Outcome {
    // A map handle keeps its map (and the kernel memory it pins) alive
    // after its object is gone.
    until_refused(|| loaded()?.map("counts"))
}

fn perf_kernel_memory(_: &[String]) -> Outcome {
    let obj = loaded()?;
    let perf = obj.map("perf")?;
    until_refused(|| EventBuffer::open_with_pages(&perf, Some(1024)))
}

fn handles(_: &[String]) -> Outcome {
    println!("trying: pollables until the table is full");
    let mut held = Vec::new();
    loop {
        held.push(io::timer(std::time::Duration::from_secs(3600)));
        if held.len() >= 1 << 24 {
            return Err("bpflet handed out 16 million handles".into());
        }
    }
}

fn struct_ops(_: &[String]) -> Outcome {
    let ops = OpenObject::open_packaged("structops.bpf.o")?.load()?;
    let map = ops.map("bpflet_ops")?;
    let value = vec![0u8; map.info().value_size as usize];
    map.update(&0u32.to_le_bytes(), &value, UpdateFlag::Any)?;
    Ok("registered".into())
}

/// Loads the program `program` of helpers.bpf.o (none is autoloaded).
fn load_only(program: &str) -> Outcome {
    OpenObject::open(include_bpf!("helpers"))?.set_autoload(program, true)?.load()?;
    Ok("loaded".into())
}

fn via_function(_: &[String]) -> Outcome {
    load_only("through_a_function")
}

fn via_kfunc(_: &[String]) -> Outcome {
    OpenObject::open(include_bpf!("kfunc"))?.set_autoload("signal_task", true)?.load()?;
    Ok("loaded".into())
}

fn send_signal(_: &[String]) -> Outcome {
    load_only("send_signal")
}

fn write_user(_: &[String]) -> Outcome {
    load_only("write_user")
}
