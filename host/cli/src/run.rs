//! `bpflet run`: a program in a store with WASI and the bpflet interfaces,
//! its `wasi:cli/run` called, its outcome turned into an exit status.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use bpflet_runtime::{size, BpfCtx, BpfCtxView, BpfView, Limit, MemoryLimiter, Policy, Stop};
use wasmtime::component::{Linker, ResourceTable};
use wasmtime::{Config, Engine, Store};
use wasmtime_wasi::p2::bindings::sync::Command;
use wasmtime_wasi::{FsPerms, WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};

use crate::program::Program;
use crate::{cache, plugins, signals};

/// Store data: WASI and the bpflet interfaces, their resources in one
/// table, so that dropping the store releases every kernel object the
/// guest held.
struct State {
    wasi: WasiCtx,
    bpf: BpfCtx,
    table: ResourceTable,
    limiter: MemoryLimiter,
}

impl WasiView for State {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}

impl BpfView for State {
    fn bpf(&mut self) -> BpfCtxView<'_> {
        BpfCtxView { ctx: &mut self.bpf, table: &mut self.table }
    }
}

/// How to run one program.
pub struct RunOptions {
    /// The guest's argv after argv[0].
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
    /// (host path, guest path) directories the guest may open.
    pub dirs: Vec<(PathBuf, String)>,
    /// Skip the compiled-component cache.
    pub no_cache: bool,
    /// Print libbpf's debug log.
    pub verbose: bool,
    /// What the guest may do.
    pub policy: Policy,
    /// `--plug`: providers of plug-in interfaces before the others.
    pub plugs: Vec<String>,
    /// `--plug-allow`: host interfaces plug-ins may import.
    pub plug_allow: Vec<String>,
    /// Talk plain HTTP to registries (for `--plug oci://`).
    pub plain_http: bool,
    /// `--timeout`: stop the guest after this long.
    pub timeout: Option<Duration>,
}

pub fn engine() -> anyhow::Result<Engine> {
    let mut config = Config::new();
    bpflet_runtime::configure(&mut config);
    Ok(Engine::new(&config)?)
}

/// Why a guest failed after bpflet refused it memory.
fn memory_refused(refused: u64, max: Option<u64>) -> anyhow::Error {
    anyhow::anyhow!(
        "the guest ran out of memory: its linear memories would have grown to {} in all, and --max-memory \
         allows {}",
        size::show(refused),
        max.map_or("no limit".into(), size::show)
    )
}

/// The exit status of a run a signal or the timeout stopped; none when
/// neither did.
fn stopped(signals: &signals::Signals) -> Option<i32> {
    if signals.timed_out() {
        return Some(signals::TIMED_OUT);
    }
    signals.received().map(|signal| 128 + signal)
}

/// What a run sets up before anything else: the engine, the guest's stop
/// and the watch for SIGINT and SIGTERM, so that a signal while the
/// program is fetched, assembled or compiled stops it cleanly too.
pub struct Start {
    engine: Engine,
    stop: Stop,
    signals: signals::Signals,
}

impl Start {
    pub fn new() -> anyhow::Result<Start> {
        let engine = engine()?;
        let stop = Stop::new(&engine);
        let signals = signals::watch(stop.clone())?;
        Ok(Start { engine, stop, signals })
    }
}

/// Runs the program's `wasi:cli/run` and returns the process exit code.
/// SIGINT and SIGTERM stop it (see `signals`).
pub fn run(start: Start, program: Program, options: RunOptions) -> anyhow::Result<i32> {
    let Start { engine, stop, signals } = start;
    if let Some(status) = stopped(&signals) {
        return Ok(status);
    }
    bpflet_runtime::kernel::echo_libbpf_log(options.verbose);
    // Assembled with its plug-ins (the first time), compiled (the first
    // time), cached under the content of every part.
    let places = plugins::places(&options.plugs, true, options.plain_http)?;
    let mut key = cache::Key::new(&engine);
    key.part(&program.component);
    plugins::add_to_key(&mut key, &places, &options.plug_allow);
    let loaded = cache::load_component(&engine, &key, !options.no_cache, || {
        plugins::assemble(program.component, places, &options.plug_allow)
    })?;
    if options.verbose {
        for line in &loaded.plugged {
            eprintln!("bpflet: {line}");
        }
        let how =
            if loaded.cached { "from the cache: nothing assembled or compiled" } else { "assembled and compiled" };
        eprintln!("bpflet: program {how}");
    }
    let component = loaded.component;

    let mut linker: Linker<State> = Linker::new(&engine);
    wasmtime_wasi::p2::add_to_linker_sync(&mut linker)?;
    bpflet_runtime::add_to_linker(&mut linker)?;

    let mut wasi = WasiCtxBuilder::new();
    wasi.inherit_stdio().args(&[program.argv0]).args(&options.args);
    for (key, value) in &options.env {
        wasi.env(key, value);
    }
    for (host, guest) in &options.dirs {
        wasi.preopened_dir(host, guest, FsPerms::ReadWrite)
            .map_err(anyhow::Error::from)
            .with_context(|| format!("cannot open directory {}", host.display()))?;
    }
    let max_memory = options.policy.max_memory;
    let mut bpf = BpfCtx::new(stop);
    bpf.packaged = program.packaged;
    bpf.policy = options.policy;
    let limiter = MemoryLimiter { max: max_memory, ..MemoryLimiter::default() };
    let mut table = ResourceTable::new();
    table.set_max_capacity(usize::try_from(bpf.policy.limits.get(Limit::Handles)).unwrap_or(usize::MAX));
    let state = State { wasi: wasi.build(), bpf, table, limiter };
    let mut store = Store::new(&engine, state);
    store.limiter(|state| &mut state.limiter);
    bpflet_runtime::interrupt_on_stop(&mut store);

    let command = Command::instantiate(&mut store, &component, &linker).map_err(|e| {
        if let Some(refused) = store.data().limiter.refused {
            return memory_refused(refused, max_memory);
        }
        anyhow::Error::from(e).context(
            "the component does not fit the bpflet:ebpf/program world (it must export wasi:cli/run \
             and import only bpflet:ebpf and WASI 0.2 interfaces)",
        )
    })?;
    // A signal during start-up (a first compile takes seconds) stops the
    // program before it runs.
    if let Some(status) = stopped(&signals) {
        return Ok(status);
    }
    // The timeout counts the program's run, not its assembly or compile.
    if let Some(timeout) = options.timeout {
        signals.start_timeout(timeout, store.data().bpf.stop.clone());
    }
    let result = command.wasi_cli_run().call_run(&mut store);
    signals.finished();
    let refused = store.data().limiter.refused;
    // Dropping the store releases every link, map and object the guest held
    // before bpflet reports anything.
    drop(store);
    // A guest that wound down by itself on a timeout still timed out.
    if signals.timed_out() {
        return Ok(signals::TIMED_OUT);
    }
    match result {
        Ok(Ok(())) => Ok(0),
        Ok(Err(())) => Ok(1),
        Err(err) => {
            if let Some(exit) = err.downcast_ref::<wasmtime_wasi::I32Exit>() {
                return Ok(exit.0);
            }
            if let Some(status) = stopped(&signals) {
                return Ok(status);
            }
            let err = anyhow::Error::from(err).context("the guest trapped");
            match refused {
                Some(refused) => Err(err.context(memory_refused(refused, max_memory))),
                None => Err(err),
            }
        }
    }
}
