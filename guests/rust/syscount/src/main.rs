//! syscount: counts syscalls per process and prints the busiest ones.
//!
//! The kernel half (guests/bpf/syscount.bpf.c) counts into a per-CPU hash
//! map keyed by pid; this half sums the CPUs and prints a top-N table
//! every interval, plus a last one when `--duration` is over.

use std::error::Error;
use std::io::Write;
use std::process::ExitCode;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bpflet_sdk::{HashMap, OpenObject, PerCpuHashMap};

const USAGE: &str = "\
usage: syscount [--pid PID] [--top N] [--interval SECS] [--duration SECS]

Counts syscalls per process and prints the top processes every interval.

  --pid PID         only count process PID
  --top N           processes per report (default 10)
  --interval SECS   seconds between reports (default 1)
  --duration SECS   print a last report and exit after SECS seconds
                    (default: run until killed)
  --help            print this help
";

/// `SYSCOUNT_COMM_LEN` of guests/bpf/syscount.h.
type Comm = [u8; 16];

struct Args {
    pid: u32,
    top: usize,
    interval: Duration,
    duration: Option<Duration>,
}

fn main() -> ExitCode {
    bpflet_sdk::cli::main("syscount", USAGE, parse_args, run)
}

/// `Ok(None)` asks for the help text.
fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Option<Args>, String> {
    let mut parsed = Args { pid: 0, top: 10, interval: Duration::from_secs(1), duration: None };
    let seconds = |flag: &str, value: &str| {
        value
            .parse()
            .ok()
            .and_then(|s| Duration::try_from_secs_f64(s).ok())
            .filter(|d| !d.is_zero())
            .ok_or(format!("bad {flag} {value:?}"))
    };
    while let Some(arg) = args.next() {
        let value = match arg.as_str() {
            "-h" | "--help" => return Ok(None),
            "--pid" | "--top" | "--interval" | "--duration" => args.next().ok_or(format!("{arg} needs a value"))?,
            other => return Err(format!("unknown argument {other:?}")),
        };
        match arg.as_str() {
            "--pid" => parsed.pid = value.parse().map_err(|_| format!("bad --pid {value:?}"))?,
            "--top" => parsed.top = value.parse().map_err(|_| format!("bad --top {value:?}"))?,
            "--interval" => parsed.interval = seconds(&arg, &value)?,
            _ => parsed.duration = Some(seconds(&arg, &value)?),
        }
    }
    Ok(Some(parsed))
}

fn run(args: &Args) -> Result<(), Box<dyn Error>> {
    let object = OpenObject::open(bpflet_sdk::include_bpf!("syscount"))?.set_global("target_pid", &args.pid)?.load()?;
    let counts: PerCpuHashMap<u32, u64> = object.map("counts")?.try_into()?;
    let comms: HashMap<u32, Comm> = object.map("comms")?.try_into()?;
    let _links = object.attach_all()?;

    let mut out = std::io::stdout().lock();
    writeln!(out, "Tracing syscalls... Ctrl-C to end.")?;
    out.flush()?;

    let end = args.duration.map(|d| Instant::now() + d);
    let mut next_report = Instant::now() + args.interval;
    loop {
        let wake = end.map_or(next_report, |end| end.min(next_report));
        std::thread::sleep(wake.saturating_duration_since(Instant::now()));
        let now = Instant::now();
        if end.is_some_and(|end| now >= end) {
            report(&mut out, &counts, &comms, args.top)?;
            return Ok(());
        }
        if now >= next_report {
            report(&mut out, &counts, &comms, args.top)?;
            // After a stall (a suspended host), skip the missed reports.
            while next_report <= now {
                next_report += args.interval;
            }
        }
    }
}

/// Prints the `top` processes by syscalls since tracing began.
fn report(
    out: &mut impl Write,
    counts: &PerCpuHashMap<u32, u64>,
    comms: &HashMap<u32, Comm>,
    top: usize,
) -> Result<(), Box<dyn Error>> {
    let mut totals = counts
        .iter()
        .map(|entry| entry.map(|(pid, per_cpu)| (pid, per_cpu.iter().sum::<u64>())))
        .collect::<Result<Vec<_>, _>>()?;
    // Busiest first; the pid breaks ties so the order is stable.
    totals.sort_unstable_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));

    writeln!(out, "[{}]", utc_time_of_day())?;
    writeln!(out, "{:<8} {:<16} COUNT", "PID", "COMM")?;
    for (pid, count) in totals.into_iter().take(top) {
        let comm = comms.get(&pid)?.map_or_else(|| "?".into(), |comm| c_string(&comm));
        writeln!(out, "{pid:<8} {comm:<16} {count}")?;
    }
    writeln!(out)?;
    out.flush()?;
    Ok(())
}

/// `HH:MM:SS` in UTC: the guest has a wall clock but no time zone.
fn utc_time_of_day() -> String {
    let secs = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs()) % 86_400;
    format!("{:02}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60)
}

/// The text of a NUL-terminated C array.
fn c_string(bytes: &[u8]) -> String {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    String::from_utf8_lossy(&bytes[..end]).into_owned()
}
