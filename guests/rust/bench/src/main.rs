//! bench: the guest half of `make bench` (tests/bench). It does what the
//! harness's native libbpf-rs half does, through the WIT, and times itself
//! with the same boundaries, so the two can be compared line for line.
//!
//! `bench events --size 64|512 --trigger-pid PID --count N --reps R --warmup W [--batch M] [--poll 1]`
//!
//! Loads burst.bpf.o (64-byte records) or burst512.bpf.o, prints how it
//! reads (`reader in-place`, `reader polled`: the ring reader without the
//! map-ring grant, `reader poll`: `--poll 1`), then `ready`,
//! then for each of W + R bursts (the harness triggers them one at a time
//! with getppid()): waits until the program has produced or dropped the
//! whole burst, then times draining it, reading each record's `seq`, at
//! most M records per call: in place with `RingReader` (the default), or
//! with `EventBuffer::poll` batches (`--poll 1`):
//!
//! `rep I records=N ns=T sum=S dropped=D`   (warm-up reps have negative I)
//!
//! `bench check` exits at once (the harness fills bpflet's compiled cache).
//!
//! `bench maps --ops N --reps R`
//!
//! Loads benchmaps.bpf.o and, per rep, times N updates then N lookups on the
//! 8-byte hash map, one batched walk of it, N per-CPU array lookups, and N
//! calls that do no kernel work (the cost of a host call alone):
//!
//! `map-update rep=I ops=N ns=T` (and map-lookup, map-lookup-batch,
//! percpu-lookup, host-call, host-call-free)

use std::error::Error;
use std::time::{Duration, Instant};

use bpflet_sdk::{include_bpf, signals, EventBuffer, HashMap, OpenObject, PerCpuArray, RingReader};

/// The fixed head of `struct burst_record` (burst.h); the payload follows.
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
#[repr(C)]
struct RecordHead {
    seq: u64,
    cpu: u32,
    pad: u32,
}

/// What the map benchmark stores under key `k`, so lookups can be checked.
const VALUE_XOR: u64 = 0x5bd1_e995_5bd1_e995;

fn main() -> Result<(), Box<dyn Error>> {
    let mut args = std::env::args().skip(1);
    let mode = args.next().unwrap_or_default();
    let mut opts = std::collections::HashMap::new();
    while let Some(flag) = args.next() {
        let name = flag.strip_prefix("--").ok_or(format!("unexpected argument {flag:?}"))?;
        let value = args.next().ok_or(format!("{flag} needs a value"))?;
        let value: u64 = value.parse().map_err(|e| format!("{flag}: {e}"))?;
        opts.insert(name.to_string(), value);
    }
    let opt =
        |name: &str, default: Option<u64>| opts.get(name).copied().or(default).ok_or(format!("--{name} is required"));
    match mode.as_str() {
        "events" => events(
            opt("size", Some(64))?,
            opt("trigger-pid", None)? as u32,
            opt("count", Some(100_000))? as u32,
            opt("reps", Some(5))? as u32,
            opt("warmup", Some(1))? as u32,
            opt("batch", Some(0))? as u32,
            opt("poll", Some(0))? != 0,
        ),
        "maps" => maps(opt("ops", Some(1_000_000))?, opt("reps", Some(3))?),
        // Does nothing: the harness runs it once so that bpflet compiles and
        // caches the component before anything is measured.
        "check" => Ok(()),
        _ => Err("usage: bench events --trigger-pid PID [--size 64|512] [--count N] [--reps R] \
                  [--warmup W] [--batch M] [--poll 1] | bench maps [--ops N] [--reps R] | bench check"
            .into()),
    }
}

/// How the events benchmark reads: in place (the default), or with poll.
enum Reader {
    Ring(RingReader),
    Poll(EventBuffer),
}

fn events(
    size: u64,
    trigger_pid: u32,
    count: u32,
    reps: u32,
    warmup: u32,
    batch: u32,
    poll: bool,
) -> Result<(), Box<dyn Error>> {
    let elf = match size {
        64 => include_bpf!("burst"),
        512 => include_bpf!("burst512"),
        other => return Err(format!("--size takes 64 or 512, not {other}").into()),
    };
    let bursts = warmup + reps;
    let obj = OpenObject::open(elf)?
        .set_global("target_pid", &trigger_pid)?
        .set_global("burst_count", &count)?
        .set_global("bursts_max", &bursts)?
        .load()?;
    let records = obj.map("records")?;
    let mut reader =
        if poll { Reader::Poll(EventBuffer::open(&records)?) } else { Reader::Ring(RingReader::open(&records)?) };
    let _links = obj.attach_all()?;
    match &reader {
        Reader::Ring(ring) => println!("reader {}", if ring.in_place() { "in-place" } else { "polled" }),
        Reader::Poll(_) => println!("reader poll"),
    }
    println!("ready");

    let (mut produced_before, mut dropped_before) = (0u64, 0u64);
    for burst in 0..bursts {
        // The burst is complete once every record is produced or dropped.
        let (produced, dropped) = loop {
            let produced: u64 = obj.global("produced")?;
            let dropped: u64 = obj.global("dropped")?;
            if produced + dropped >= u64::from(count) * u64::from(burst + 1) {
                break (produced - produced_before, dropped - dropped_before);
            }
            std::thread::sleep(Duration::from_millis(1));
        };
        produced_before += produced;
        dropped_before += dropped;

        let start = Instant::now();
        let (mut records, mut sum) = (0u64, 0u64);
        match &mut reader {
            Reader::Ring(ring) => {
                while records < produced {
                    let n = ring.consume_records(batch as usize, |record: &RecordHead| {
                        sum = sum.wrapping_add(record.seq);
                    })?;
                    // Nothing read: a poll may have failed (polled readers only).
                    if let (0, Some(error)) = (n, ring.take_error()) {
                        return Err(error.into());
                    }
                    records += n as u64;
                }
            }
            Reader::Poll(buffer) => {
                while records < produced {
                    let batch = buffer.poll(0, batch)?;
                    for record in batch.records::<RecordHead>()? {
                        sum = sum.wrapping_add(record.seq);
                        records += 1;
                    }
                }
            }
        }
        let ns = start.elapsed().as_nanos();
        let rep = i64::from(burst) - i64::from(warmup);
        println!("rep {rep} records={records} ns={ns} sum={sum} dropped={dropped}");
    }
    println!("done");
    Ok(())
}

fn maps(ops: u64, reps: u64) -> Result<(), Box<dyn Error>> {
    let obj = OpenObject::open(include_bpf!("benchmaps"))?.load()?;
    let hash: HashMap<u64, u64> = obj.map("hash")?.try_into()?;
    let percpu: PerCpuArray<u64> = obj.map("percpu")?.try_into()?;
    println!("ready");
    for rep in 0..reps {
        let start = Instant::now();
        for key in 0..ops {
            hash.insert(&key, &(key ^ VALUE_XOR))?;
        }
        println!("map-update rep={rep} ops={ops} ns={}", start.elapsed().as_nanos());

        let start = Instant::now();
        for key in 0..ops {
            if hash.get(&key)? != Some(key ^ VALUE_XOR) {
                return Err(format!("lookup of {key} returned the wrong value").into());
            }
        }
        println!("map-lookup rep={rep} ops={ops} ns={}", start.elapsed().as_nanos());

        let start = Instant::now();
        let mut elements = 0u64;
        for element in hash.iter() {
            let (key, value) = element?;
            if value != key ^ VALUE_XOR {
                return Err(format!("batch lookup of {key} returned the wrong value").into());
            }
            elements += 1;
        }
        println!("map-lookup-batch rep={rep} ops={elements} ns={}", start.elapsed().as_nanos());

        let len = u64::from(percpu.len());
        let start = Instant::now();
        let mut total = 0u64;
        for i in 0..ops {
            total = total.wrapping_add(percpu.get((i % len) as u32)?.iter().sum::<u64>());
        }
        println!("percpu-lookup rep={rep} ops={ops} ns={} sum={total}", start.elapsed().as_nanos());

        // The floor under every call above: a host call that does no
        // kernel work (borrow a resource, return a bool).
        let start = Instant::now();
        let mut loaded = 0u64;
        for _ in 0..ops {
            loaded += u64::from(obj.raw().loaded());
        }
        println!("host-call rep={rep} ops={ops} ns={} loaded={loaded}", start.elapsed().as_nanos());

        // The same without a resource: a free function (signals), so the
        // part of the floor that is wasmtime's borrow bookkeeping shows.
        let start = Instant::now();
        let mut stops = 0u64;
        for _ in 0..ops {
            stops += u64::from(signals::stop_requested());
        }
        println!("host-call-free rep={rep} ops={ops} ns={} stops={stops}", start.elapsed().as_nanos());
    }
    println!("done");
    Ok(())
}
