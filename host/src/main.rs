//! The `bpflet` command line.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};

use bpflet::engine::{self, RunOptions};

/// Run eBPF programs whose user-space half is a WebAssembly component.
///
/// The component (Rust, C, Go, ...) imports the bpflet:ebpf interfaces
/// (ebpf-loader, maps, events); bpflet loads its BPF objects into the running
/// kernel with libbpf and tears everything down when the guest exits or is
/// stopped. Needs root (or CAP_BPF + CAP_PERFMON + CAP_NET_ADMIN).
#[derive(Parser)]
#[command(name = "bpflet", version, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a component: its wasi:cli/run with the given arguments.
    ///
    /// Guest stdout and stderr go to the terminal; the exit status is the
    /// guest's: 0 on success, 1 on error or a non-zero exit (WASI 0.2 exit
    /// carries only success or failure; exit-with-code gives the exact
    /// code), 130/143 on SIGINT/SIGTERM. Every program, link and map the guest created is gone when
    /// bpflet returns.
    #[command(
        after_help = "Examples:\n  bpflet run target/guests/rust-execsnoop.wasm\n  bpflet run target/guests/rust-syscount.wasm -- --top 5 --interval 2"
    )]
    Run {
        /// The component file (.wasm).
        component: PathBuf,
        /// Arguments passed to the guest (after `--`).
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
        /// Set an environment variable in the guest (KEY=VALUE; repeatable).
        #[arg(long = "env", short = 'e', value_name = "KEY=VALUE", value_parser = parse_env)]
        env: Vec<(String, String)>,
        /// Let the guest open a host directory (HOST[::GUEST]; repeatable).
        #[arg(long = "dir", value_name = "HOST[::GUEST]", value_parser = parse_dir)]
        dirs: Vec<(PathBuf, String)>,
        /// Compile the component afresh instead of using the compiled cache
        /// (~/.cache/bpflet, or $BPFLET_CACHE_DIR).
        #[arg(long)]
        no_cache: bool,
        /// Offer a BPF object file to the guest, by its file name
        /// (ebpf-loader `packaged-objects` / `open-packaged`; repeatable).
        #[arg(long = "object", value_name = "FILE.bpf.o")]
        objects: Vec<PathBuf>,
        /// Print libbpf's log to stderr.
        #[arg(long, short)]
        verbose: bool,
    },
}

fn parse_env(s: &str) -> Result<(String, String), String> {
    s.split_once('=')
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .ok_or_else(|| format!("expected KEY=VALUE, got {s:?}"))
}

fn parse_dir(s: &str) -> Result<(PathBuf, String), String> {
    Ok(match s.split_once("::") {
        Some((host, guest)) => (host.into(), guest.to_string()),
        None => (s.into(), s.to_string()),
    })
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Run { component, args, env, dirs, no_cache, verbose, objects } => {
            let options = RunOptions { component, args, env, dirs, no_cache, verbose, objects };
            match run(&options) {
                Ok(code) => ExitCode::from(code.clamp(0, 255) as u8),
                Err(err) => {
                    eprintln!("bpflet: error: {err:#}");
                    ExitCode::from(1)
                }
            }
        }
    }
}

fn run(options: &RunOptions) -> anyhow::Result<i32> {
    let engine = engine::new_engine()?;
    watch_signals(engine.clone())?;
    engine::run(&engine, options)
}

/// SIGINT/SIGTERM interrupt the guest so its resources are dropped in
/// order (a guest that handles the stop itself gets to finish first; a
/// second signal interrupts it). A guest that does not stop within the
/// grace period is cut off by exiting, which closes every BPF fd and so
/// detaches everything anyway.
fn watch_signals(engine: wasmtime::Engine) -> anyhow::Result<()> {
    use signal_hook::consts::{SIGINT, SIGTERM};
    let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM])?;
    std::thread::spawn(move || {
        let mut deadline_set = false;
        for signal in signals.forever() {
            let graceful = engine::interrupt(&engine, signal);
            if !deadline_set {
                deadline_set = true;
                let grace = if graceful { Duration::from_secs(10) } else { Duration::from_secs(3) };
                std::thread::spawn(move || {
                    std::thread::sleep(grace);
                    eprintln!("bpflet: the guest did not stop within {}s of signal {signal}; exiting", grace.as_secs());
                    std::process::exit(128 + signal);
                });
            }
        }
    });
    Ok(())
}
