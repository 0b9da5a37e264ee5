//! burst: one getppid() of the trigger process makes burst.bpf.o emit
//! `--count` records at once (bpf_loop) into a ring buffer or a perf buffer.
//! The guest drains them and prints one line that accounts for all of them:
//!
//! `burst buffer=ring produced=P lost=L received=R out_of_order=O bpf_failed=F`
//!
//! produced: records the kernel accepted; lost: records it dropped (ring:
//! failed reserves counted by the program; perf: what the event buffer
//! reported lost); bpf_failed: failed outputs as the program counted them.
//!
//! Triggers after the first emit one flush record each (ignored here): a
//! perf buffer reports the records it dropped only when it next writes one,
//! so the trigger process keeps calling getppid() until this guest is done.

use std::time::{Duration, Instant};

use bpflet_sdk::{include_bpf, EventBuffer, OpenObject, RingReader};

/// `seq` of the flush records (burst.h).
const FLUSH_SEQ: u64 = u64::MAX;

#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
#[repr(C)]
struct BurstRecord {
    seq: u64,
    cpu: u32,
    pad: u32,
    payload: [u8; 48],
}

struct Args {
    trigger_pid: u32,
    perf: bool,
    /// Read the ring in place (RingReader) rather than with poll.
    mapped: bool,
    count: u32,
}

#[derive(Default)]
struct Tally {
    received: u64,
    out_of_order: u64,
    last_seq: Option<u64>,
}

impl Tally {
    fn count(&mut self, record: &BurstRecord) {
        if record.seq == FLUSH_SEQ {
            return;
        }
        if self.last_seq.is_some_and(|last| record.seq <= last) {
            self.out_of_order += 1;
        }
        self.last_seq = Some(record.seq);
        self.received += 1;
    }
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args { trigger_pid: 0, perf: false, mapped: false, count: 100_000 };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = || it.next().ok_or(format!("{arg} needs a value"));
        match arg.as_str() {
            "--trigger-pid" => args.trigger_pid = value()?.parse().map_err(|e| format!("--trigger-pid: {e}"))?,
            "--count" => args.count = value()?.parse().map_err(|e| format!("--count: {e}"))?,
            "--buffer" => {
                (args.perf, args.mapped) = match value()?.as_str() {
                    "ring" => (false, false),
                    "mapped" => (false, true),
                    "perf" => (true, false),
                    other => return Err(format!("--buffer takes ring, mapped or perf, not {other:?}")),
                }
            }
            "-h" | "--help" => {
                println!("usage: burst --trigger-pid PID [--buffer ring|mapped|perf] [--count N]");
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    if args.trigger_pid == 0 {
        return Err("--trigger-pid is required".into());
    }
    Ok(args)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = parse_args()?;
    let obj = OpenObject::open(include_bpf!("burst"))?
        .set_global("target_pid", &args.trigger_pid)?
        .set_global("burst_count", &args.count)?
        .set_global("use_perf", &u8::from(args.perf))?
        .load()?;
    let _links = obj.attach_all()?;
    let map = obj.map(if args.perf { "perf_records" } else { "records" })?;
    let (buffer, mut ring) = if args.mapped {
        let ring = RingReader::open(&map)?;
        (None, Some(ring))
    } else {
        (Some(EventBuffer::open(&map)?), None)
    };
    println!("ready");

    let mut tally = Tally::default();
    let mut idle_since = Instant::now();
    loop {
        let got = match (&buffer, &mut ring) {
            (Some(buffer), _) => {
                let batch = buffer.poll(100, 0)?;
                batch.records::<BurstRecord>()?.for_each(|record| tally.count(&record));
                batch.len()
            }
            (None, Some(ring)) => {
                ring.wait(100);
                ring.consume_records(0, |record| tally.count(record))?
            }
            (None, None) => unreachable!("one reader is open"),
        };
        if got > 0 {
            idle_since = Instant::now();
        }
        let (produced, failed) = if args.perf {
            (obj.global::<u64>("perf_produced")?, obj.global::<u64>("perf_failed")?)
        } else {
            (obj.global::<u64>("produced")?, obj.global::<u64>("dropped")?)
        };
        let burst_done = produced + failed == u64::from(args.count);
        let lost = match &buffer {
            Some(buffer) if args.perf => buffer.lost(),
            _ => failed,
        };
        // Done when the program finished and every record is accounted for,
        // received or reported lost, or when nothing has arrived for a while
        // (the test then sees why).
        let Tally { received, out_of_order, .. } = tally;
        let accounted = received >= produced && received + lost >= u64::from(args.count);
        if (burst_done && accounted) || idle_since.elapsed() > Duration::from_secs(10) {
            let kind = match &ring {
                _ if args.perf => "perf",
                Some(ring) if ring.in_place() => "mapped",
                // The ring reader without the map-ring grant.
                Some(_) => "ring-reader-polled",
                None => "ring",
            };
            println!(
                "burst buffer={kind} produced={produced} lost={lost} received={received} out_of_order={out_of_order} bpf_failed={failed}"
            );
            return Ok(());
        }
    }
}
