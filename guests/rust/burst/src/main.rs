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

use bpflet_sdk::{include_bpf, EventBuffer, Object};

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
    count: u32,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args { trigger_pid: 0, perf: false, count: 100_000 };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = || it.next().ok_or(format!("{arg} needs a value"));
        match arg.as_str() {
            "--trigger-pid" => args.trigger_pid = value()?.parse().map_err(|e| format!("--trigger-pid: {e}"))?,
            "--count" => args.count = value()?.parse().map_err(|e| format!("--count: {e}"))?,
            "--buffer" => {
                args.perf = match value()?.as_str() {
                    "ring" => false,
                    "perf" => true,
                    other => return Err(format!("--buffer takes ring or perf, not {other:?}")),
                }
            }
            "-h" | "--help" => {
                println!("usage: burst --trigger-pid PID [--buffer ring|perf] [--count N]");
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
    let obj = Object::open(include_bpf!("burst"))?
        .set_global("target_pid", &args.trigger_pid)?
        .set_global("burst_count", &args.count)?
        .set_global("use_perf", &u8::from(args.perf))?
        .load()?;
    let _links = obj.attach_all()?;
    let buffer = EventBuffer::open(&obj.map(if args.perf { "perf_records" } else { "records" })?)?;
    println!("ready");

    let (mut received, mut out_of_order, mut last_seq) = (0u64, 0u64, None::<u64>);
    let mut idle_since = Instant::now();
    loop {
        let batch = buffer.poll(100, 0)?;
        for record in batch.records::<BurstRecord>()? {
            if record.seq == FLUSH_SEQ {
                continue;
            }
            if last_seq.is_some_and(|last| record.seq <= last) {
                out_of_order += 1;
            }
            last_seq = Some(record.seq);
            received += 1;
        }
        if !batch.is_empty() {
            idle_since = Instant::now();
        }
        let (produced, failed) = if args.perf {
            (obj.global::<u64>("perf_produced")?, obj.global::<u64>("perf_failed")?)
        } else {
            (obj.global::<u64>("produced")?, obj.global::<u64>("dropped")?)
        };
        let burst_done = produced + failed == u64::from(args.count);
        let lost = if args.perf { buffer.lost() } else { failed };
        // Done when the program finished and every record is accounted for,
        // received or reported lost, or when nothing has arrived for a while
        // (the test then sees why).
        let accounted = received >= produced && received + lost >= u64::from(args.count);
        if (burst_done && accounted) || idle_since.elapsed() > Duration::from_secs(10) {
            let kind = if args.perf { "perf" } else { "ring" };
            println!(
                "burst buffer={kind} produced={produced} lost={lost} received={received} out_of_order={out_of_order} bpf_failed={failed}"
            );
            return Ok(());
        }
    }
}
