//! bpflet-runner: runs a kernel-only eBPF program, eunomia-bpf style.
//!
//! The user writes only the kernel C. bpflet hands this component the
//! object (`packaged-objects`, argv[0] its file name, argv[1..] the user's
//! flags) and the runner makes the rest from the object's BTF:
//!
//! - a command line from the `const volatile` globals (flags.rs);
//! - load, then attach every program where its section or the runner's
//!   options say (attach.rs);
//! - every ring and perf buffer printed record by record as a table or as
//!   JSON, decoded by the struct the buffer carries (events.rs, value.rs);
//! - histogram maps (a value struct with `slots`) printed at exit and every
//!   `--interval`, other maps with `--print-maps` (maps.rs, hist.rs);
//! - a clean stop on Ctrl-C, SIGTERM or `--duration` (signals interface).
//!
//! Exit status: 0 when stopped, 2 for a bad command line, 1 for anything
//! the kernel or the object refused.

mod attach;
mod events;
mod flags;
mod hist;
mod maps;

use std::collections::HashMap;
use std::io::Write;
use std::process::ExitCode;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bpflet_decode::btf::{GlobalRef, Types};
use bpflet_sdk::io::{self, Pollable};
use bpflet_sdk::plugins::render::{self, Format, Span};
use bpflet_sdk::{packaged_objects, signals, LoadOptions, OpenObject};

use crate::events::Source;
use crate::flags::{GlobalSpec, Options};
use crate::maps::Maps;

/// `wasi:cli/exit.exit-with-code`: Rust's `process::exit` only reports
/// success or failure under WASI 0.2, and a bad command line exits 2.
mod wasi_exit {
    wit_bindgen::generate!({
        inline: "
            package bpflet:runner-exit;
            world exit { import wasi:cli/exit@0.2.12; }
        ",
        path: "../../wit",
        world: "bpflet:runner-exit/exit",
        generate_all,
    });
}

/// Records taken per poll: big enough to amortise the call, small enough
/// that a flood of records prints as it comes (a buffer with more stays
/// ready, so the loop comes back for the rest).
const BATCH: u32 = 4096;

/// How long the runner keeps printing records that keep coming after a stop.
const FINAL_DRAIN: Duration = Duration::from_secs(1);

/// Why the runner stops early.
enum Failure {
    /// The command line does not fit the object: exit 2.
    Usage(String),
    /// The object, the kernel or the host refused: exit 1.
    Runtime(String),
}

fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args().collect();
    let display = argv
        .first()
        .map(|a| a.rsplit('/').next().unwrap_or(a).to_string())
        .filter(|a| !a.is_empty())
        .unwrap_or_else(|| "bpflet-runner".into());
    let result = run(&display, argv.get(1..).unwrap_or_default());
    let _ = std::io::stdout().flush();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Runtime(message)) => {
            eprintln!("{display}: {message}");
            ExitCode::FAILURE
        }
        Err(Failure::Usage(message)) => {
            eprintln!("{display}: {message}\nTry '{display} --help' for the flags.");
            wasi_exit::wasi::cli::exit::exit_with_code(2);
            ExitCode::from(2)
        }
    }
}

/// The object to run: the packaged one argv[0] names, else the only one.
fn choose_object(display: &str) -> Result<String, Failure> {
    let names = packaged_objects();
    if let Some(name) = names.iter().find(|n| *n == display) {
        return Ok(name.clone());
    }
    match names.as_slice() {
        [only] => Ok(only.clone()),
        [] => Err(Failure::Usage(
            "no BPF object came with this run: use `bpflet run prog.bpf.o`, or `bpflet run --object prog.bpf.o <runner>`"
                .into(),
        )),
        many => Err(Failure::Usage(format!(
            "{} BPF objects came with this run ({}); argv[0] must name the one to run",
            many.len(),
            many.join(", ")
        ))),
    }
}

fn run(display: &str, args: &[String]) -> Result<(), Failure> {
    let file = choose_object(display)?;
    let stem = file.strip_suffix(".bpf.o").or_else(|| file.strip_suffix(".o")).unwrap_or(&file);
    let load_options = LoadOptions { btf_path: None, object_name: Some(stem.to_string()) };
    let open = OpenObject::open_packaged_with(&file, &load_options)
        .map_err(|e| Failure::Runtime(format!("opening {file}: {e}")))?;
    // BTF, sections and globals as bytes: what the SDK leaves to the binding.
    let raw = open.raw();
    let btf = raw.btf_types();
    // The runner reads the types itself for flags, buffers and maps; the
    // `render` plug-in gets its own copy to print with.
    let printer = render::Types::new(&btf.iter().collect::<Vec<_>>());
    let types = Types::new(btf);

    // The command line, from the globals as they are before load.
    let descriptions = match raw.section(".bpflet.meta") {
        Some(meta) => flags::descriptions(&meta).unwrap_or_else(|why| {
            eprintln!("note: {why}; flags have no descriptions");
            HashMap::new()
        }),
        None => HashMap::new(),
    };
    let globals = raw.globals();
    let specs: Vec<GlobalSpec> = globals
        .iter()
        .filter(|g| g.read_only && g.section.starts_with(".rodata"))
        .map(|g| GlobalSpec {
            name: g.name.clone(),
            section: g.section.clone(),
            read_only: g.read_only,
            type_id: g.type_id,
            initial: raw.global(&g.name).unwrap_or_else(|_| vec![0; g.size as usize]),
        })
        .collect();
    let flag_list = flags::global_flags(&types, &specs, &descriptions);
    let parsed = flags::parse(args, &flag_list).map_err(Failure::Usage)?;
    let options = parsed.options;
    let programs = open.programs();
    if options.help {
        let listed: Vec<(String, String)> =
            programs.iter().filter(|p| p.autoload).map(|p| (p.name.clone(), p.section.clone())).collect();
        print!("{}", flags::help(display, &file, &listed, &flag_list));
        return Ok(());
    }
    attach::check_options(&programs, &options).map_err(Failure::Usage)?;

    // Each global's bytes, sized by the object: the binding takes them as they are.
    for (name, bytes) in &parsed.globals {
        raw.set_global(name, bytes).map_err(|e| Failure::Runtime(format!("setting {name}: {e}")))?;
    }
    let object = open.load().map_err(|e| Failure::Runtime(format!("loading {file} failed: {e}")))?;

    let map_infos = object.maps();
    let refs: Vec<GlobalRef<'_>> = globals.iter().map(|g| GlobalRef { name: &g.name, type_id: g.type_id }).collect();
    // Buffers first: a perf buffer drops what is written before it is open.
    let format = if options.json { Format::Json } else { Format::Table };
    let sources = events::open_all(&object, &types, &printer, format, &map_infos, &refs).map_err(Failure::Runtime)?;
    let maps = maps::classify(&object, &types, &map_infos).map_err(Failure::Runtime)?;
    let links = attach::attach_all(&object, &programs, &options).map_err(Failure::Runtime)?;
    // Take stops as requests before saying so: a Ctrl-C right after the
    // line below must reach `watch`, not interrupt the runner.
    let stop = signals::subscribe_stop();
    eprintln!("{display}: {} program{} attached; Ctrl-C to stop", links.len(), if links.len() == 1 { "" } else { "s" });

    let mut output = Output { types: &types, printer: &printer, options: &options, header_of: None, printed: false };
    let watched = output.watch(&sources, &maps, &stop);
    // Final histograms and maps, whether stopped or cut short.
    let reported = output.report(&maps, false);
    drop(links);
    match watched.and(reported) {
        Ok(()) => Ok(()),
        // Nobody reads stdout any more (`| head`): nothing left to do.
        Err(Stop::Output) => Ok(()),
        Err(Stop::Buffer(message)) => Err(Failure::Runtime(message)),
    }
}

/// Why watching ended early.
enum Stop {
    Output,
    Buffer(String),
}

impl From<std::io::Error> for Stop {
    fn from(_: std::io::Error) -> Self {
        Stop::Output
    }
}

/// Writes what the runner prints, in order, to stdout.
struct Output<'a> {
    types: &'a Types,
    /// The `render` plug-in's view of the same types.
    printer: &'a render::Types,
    options: &'a Options,
    /// The buffer whose table header was printed last.
    header_of: Option<usize>,
    /// Whether anything went to stdout yet.
    printed: bool,
}

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

impl Output<'_> {
    fn write(&mut self, text: &str) -> Result<(), Stop> {
        if text.is_empty() {
            return Ok(());
        }
        let mut stdout = std::io::stdout().lock();
        stdout.write_all(text.as_bytes())?;
        stdout.flush()?;
        self.printed = true;
        Ok(())
    }

    /// Waits on every buffer, the stop signal and the timers, printing
    /// records as they come and reports every `--interval`, until Ctrl-C,
    /// SIGTERM or `--duration`.
    fn watch(&mut self, sources: &[Source], maps: &Maps, stop: &Pollable) -> Result<(), Stop> {
        let deadline = self.options.duration.map(io::timer);
        let mut tick = self.options.interval.map(io::timer);
        let ready_to_read: Vec<Pollable> = sources.iter().map(|s| s.buffer.subscribe()).collect();
        if let [only] = sources {
            if !self.options.json {
                let header = only.records.header();
                self.write(&header)?;
                self.header_of = Some(0);
            }
        }
        loop {
            let (readable, stopping, ticked) = {
                let mut waiting: Vec<&Pollable> = ready_to_read.iter().collect();
                waiting.push(stop);
                let stop_at = waiting.len() - 1;
                let deadline_at = deadline.as_ref().map(|d| {
                    waiting.push(d);
                    waiting.len() - 1
                });
                let tick_at = tick.as_ref().map(|t| {
                    waiting.push(t);
                    waiting.len() - 1
                });
                let ready: Vec<usize> = io::poll(&waiting).into_iter().map(|i| i as usize).collect();
                (
                    ready.iter().copied().filter(|&i| i < sources.len()).collect::<Vec<_>>(),
                    ready.iter().any(|&i| i == stop_at || Some(i) == deadline_at),
                    ready.iter().any(|&i| Some(i) == tick_at),
                )
            };
            for index in readable {
                self.drain(sources, index)?;
            }
            if stopping {
                break;
            }
            if ticked {
                self.report(maps, true)?;
                tick = self.options.interval.map(io::timer);
            }
        }
        // What arrived up to the stop (within reason, if records keep coming).
        let stopped = Instant::now();
        for index in 0..sources.len() {
            while self.drain(sources, index)? == BATCH as usize && stopped.elapsed() < FINAL_DRAIN {}
        }
        Ok(())
    }

    /// Prints the records waiting in buffer `index` (up to [`BATCH`]);
    /// returns how many.
    fn drain(&mut self, sources: &[Source], index: usize) -> Result<usize, Stop> {
        let source = &sources[index];
        let batch =
            source.buffer.poll(0, BATCH).map_err(|e| Stop::Buffer(format!("reading buffer {}: {e}", source.map)))?;
        if batch.lost() > 0 {
            eprintln!("lost {} records from {}", batch.lost(), source.map);
        }
        if batch.is_empty() {
            return Ok(0);
        }
        let json = self.options.json;
        let mut text = String::new();
        if !json && self.header_of != Some(index) {
            if self.printed {
                text.push('\n');
            }
            text += &source.records.header();
            self.header_of = Some(index);
        }
        let spans: Vec<Span> = batch.spans().map(|(offset, len)| Span { offset, len }).collect();
        text += &source.records.rows(batch.as_parts().0, &spans, now());
        self.write(&text)?;
        Ok(batch.len())
    }

    /// Prints histograms (and with `--print-maps`, the other maps): every
    /// `--interval` under a time line, and once at the end.
    fn report(&mut self, maps: &Maps, interval: bool) -> Result<(), Stop> {
        let json = self.options.json;
        let mut blocks = maps::histograms(&maps.histograms, self.types, self.printer, json);
        if self.options.print_maps && (!interval || !maps.plain.is_empty()) {
            blocks.extend(maps::plain(maps, self.printer, json));
        }
        if blocks.is_empty() {
            return Ok(());
        }
        let mut text = blocks.join(if json { "" } else { "\n" });
        if !json {
            let mut head = String::new();
            if self.printed {
                head.push('\n');
            }
            if interval {
                head += &format!("{}\n", bpflet_decode::clock(now()));
            }
            text = head + &text;
            // A record after this gets its header again.
            self.header_of = None;
        }
        self.write(&text)
    }
}
