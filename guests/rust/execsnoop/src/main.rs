//! execsnoop: prints every exec on the system as it happens.
//!
//! The kernel half (guests/bpf/execsnoop.bpf.c) writes one `Event` per exec
//! into a ring buffer; this half prints them, as a table or as JSON lines.

use std::error::Error;
use std::io::Write;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use bpflet_sdk::bytemuck::{Pod, Zeroable};
use bpflet_sdk::{EventBuffer, OpenObject};

const USAGE: &str = "\
usage: execsnoop [--json] [--ppid PID] [--duration SECS]

Prints every exec on the system.

  --json            one JSON object per exec, after a {\"attached\":true} line
  --ppid PID        only execs by children of PID
  --duration SECS   exit after SECS seconds (default: run until killed)
  --help            print this help
";

/// `struct event` of guests/bpf/execsnoop.h.
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct Event {
    pid: u32,
    ppid: u32,
    comm: [u8; 16],
    filename: [u8; 256],
}

struct Args {
    json: bool,
    ppid: u32,
    duration: Option<Duration>,
}

fn main() -> ExitCode {
    bpflet_sdk::cli::main("execsnoop", USAGE, parse_args, run)
}

/// `Ok(None)` asks for the help text.
fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Option<Args>, String> {
    let mut parsed = Args { json: false, ppid: 0, duration: None };
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or(format!("{arg} needs a value"));
        match arg.as_str() {
            "--json" => parsed.json = true,
            "--ppid" => {
                let value = value()?;
                parsed.ppid = value.parse().map_err(|_| format!("bad --ppid {value:?}"))?;
            }
            "--duration" => {
                let value = value()?;
                let secs = value.parse().ok().and_then(|s| Duration::try_from_secs_f64(s).ok());
                parsed.duration = Some(secs.ok_or(format!("bad --duration {value:?}"))?);
            }
            "-h" | "--help" => return Ok(None),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(Some(parsed))
}

fn run(args: &Args) -> Result<(), Box<dyn Error>> {
    let object =
        OpenObject::open(bpflet_sdk::include_bpf!("execsnoop"))?.set_global("target_ppid", &args.ppid)?.load()?;
    let events = EventBuffer::open(&object.map("events")?)?;
    let _links = object.attach_all()?;
    let deadline = args.duration.map(|d| Instant::now() + d);

    // Tests wait for this first line as the sign that tracing has begun.
    let mut out = std::io::stdout().lock();
    if args.json {
        writeln!(out, r#"{{"attached":true}}"#)?;
    } else {
        writeln!(out, "{:<8} {:<8} {:<16} FILENAME", "PID", "PPID", "COMM")?;
    }
    out.flush()?;

    while deadline.is_none_or(|d| Instant::now() < d) {
        let batch = events.poll(200, 0)?;
        for event in batch.records::<Event>()? {
            let comm = c_string(&event.comm);
            let filename = c_string(&event.filename);
            if args.json {
                let line = serde_json::json!({
                    "pid": event.pid,
                    "ppid": event.ppid,
                    "comm": comm,
                    "filename": filename,
                });
                writeln!(out, "{line}")?;
            } else {
                writeln!(out, "{:<8} {:<8} {:<16} {}", event.pid, event.ppid, comm, filename)?;
            }
        }
        if !batch.is_empty() {
            out.flush()?;
        }
    }
    Ok(())
}

/// The text of a NUL-terminated C array; bytes that are not UTF-8 (file
/// names need not be) become U+FFFD.
fn c_string(bytes: &[u8]) -> std::borrow::Cow<'_, str> {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    String::from_utf8_lossy(&bytes[..end])
}
