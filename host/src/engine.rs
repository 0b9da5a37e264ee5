//! Engine and store set-up, the compiled-component cache, and running a
//! component's `wasi:cli/run`.

use crate::policy::{show_size, MemoryLimiter, Policy};
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};

use anyhow::{bail, Context};
use wasmtime::component::{Component, Linker, ResourceTable};
use wasmtime::{Config, Engine, Store};
use wasmtime_wasi::p2::bindings::sync::Command;
use wasmtime_wasi::{FsPerms, WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};

use crate::{BpfCtx, BpfCtxView, BpfView};

static INTERRUPTED: AtomicBool = AtomicBool::new(false);
static SIGNAL: AtomicI32 = AtomicI32::new(0);
/// The guest asked (through `signals`) to handle a stop itself.
static GUEST_HANDLES_STOP: AtomicBool = AtomicBool::new(false);

/// Whether a stop signal arrived; host calls that block check it.
pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::Relaxed)
}

/// The guest will wind down by itself on the first stop signal.
pub fn handle_stop_in_guest() {
    GUEST_HANDLES_STOP.store(true, Ordering::Relaxed);
}

/// Records a stop signal. The running guest traps at its next epoch check,
/// unless it opted in to a clean stop and this is the first signal: then
/// it sees the request (signals interface) and blocking polls return early.
/// Returns whether the guest was left to stop by itself.
pub fn interrupt(engine: &Engine, signal: i32) -> bool {
    let first = !INTERRUPTED.swap(true, Ordering::Relaxed);
    SIGNAL.store(signal, Ordering::Relaxed);
    if first && GUEST_HANDLES_STOP.load(Ordering::Relaxed) {
        return true;
    }
    engine.increment_epoch();
    false
}

/// Store data: WASI plus the bpflet interfaces, all resources in one table
/// so that dropping the store releases every kernel object the guest held.
pub struct State {
    wasi: WasiCtx,
    table: ResourceTable,
    bpf: BpfCtx,
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

/// How to run one component.
#[derive(Debug, Default, Clone)]
pub struct RunOptions {
    pub component: PathBuf,
    /// The guest's argv after argv[0].
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
    /// (host path, guest path) directories the guest may open.
    pub dirs: Vec<(PathBuf, String)>,
    /// Skip the compiled-component cache.
    pub no_cache: bool,
    /// Print libbpf's debug log.
    pub verbose: bool,
    /// BPF object files offered to the guest by file name (`open-packaged`).
    pub objects: Vec<PathBuf>,
    /// What the guest may do.
    pub policy: Policy,
    /// The program pulled from a registry (`bpflet run oci://...`), which
    /// `component` then only names.
    pub pulled: Option<std::sync::Arc<crate::oci::Artifact>>,
}

pub fn new_engine() -> anyhow::Result<Engine> {
    let mut config = Config::new();
    config.wasm_component_model(true);
    // Ctrl-C must stop a guest that spins in wasm code.
    config.epoch_interruption(true);
    // events::map-ring maps ring buffer pages into guest memory, which must
    // therefore never move (it does not on 64-bit hosts, which reserve 4 GiB).
    config.memory_may_move(false);
    Ok(Engine::new(&config)?)
}

fn cache_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("BPFLET_CACHE_DIR") {
        return Some(dir.into());
    }
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cache")))?;
    Some(base.join("bpflet").join("components"))
}

/// Compiles `bytes`, or loads the native code compiled for them earlier.
/// The cache key covers the bytes and everything in the engine that makes
/// compiled code incompatible (wasmtime version, settings, CPU features).
pub fn load_component(engine: &Engine, bytes: &[u8], use_cache: bool) -> anyhow::Result<Component> {
    check_header(bytes)?;
    let cached = use_cache.then(cache_dir).flatten().map(|dir| {
        let mut compat = std::collections::hash_map::DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut compat);
        // BLAKE3: a content hash several times faster than SHA-256 here,
        // which matters for multi-megabyte (Go) components on every start.
        let mut digest = blake3::Hasher::new();
        digest.update(&compat.finish().to_le_bytes());
        digest.update(bytes);
        let key = digest.finalize().to_hex();
        dir.join(format!("{key}.cwasm"))
    });
    if let Some(path) = &cached {
        if path.exists() {
            // SAFETY: the file was written by Component::serialize of this
            // engine configuration (the key includes its compatibility hash)
            // into bpflet's own cache directory.
            if let Ok(component) = unsafe { Component::deserialize_file(engine, path) } {
                return Ok(component);
            }
        }
    }
    let component = Component::new(engine, bytes).map_err(explain_compile_error)?;
    if let Some(path) = &cached {
        // A cache that cannot be written only costs speed.
        let _ = write_cache(&component, path);
    }
    Ok(component)
}

fn write_cache(component: &Component, path: &Path) -> anyhow::Result<()> {
    let dir = path.parent().context("cache path has no parent")?;
    std::fs::create_dir_all(dir)?;
    let tmp = dir.join(format!(".{}.tmp", std::process::id()));
    std::fs::write(&tmp, component.serialize()?)?;
    std::fs::rename(&tmp, path)?;
    Ok(())
}

/// Checks that `bytes` are a component, saying what they are if not.
pub fn check_header(bytes: &[u8]) -> anyhow::Result<()> {
    match bytes.get(..8) {
        Some([0, b'a', b's', b'm', 0x0d, 0x00, 0x01, 0x00]) => Ok(()),
        Some([0, b'a', b's', b'm', 0x01, 0x00, 0x00, 0x00]) => bail!(
            "this is a core WebAssembly module, not a component; build for wasm32-wasip2 \
             or wrap it with `wasm-tools component new`"
        ),
        Some([0x7f, b'E', b'L', b'F', ..]) => bail!("this is an ELF file, not a WebAssembly component"),
        _ => bail!("not a WebAssembly component (bad magic number)"),
    }
}

fn explain_compile_error(err: wasmtime::Error) -> anyhow::Error {
    anyhow::Error::from(err).context("the component is malformed or uses features bpflet does not support")
}

/// Why a guest failed after bpflet refused it memory.
fn memory_refused(refused: u64, max: Option<u64>) -> anyhow::Error {
    anyhow::anyhow!(
        "the guest ran out of memory: it asked for {} of linear memory, and --max-memory allows {}",
        show_size(refused),
        max.map_or("no limit".into(), show_size)
    )
}

/// Runs the component's `wasi:cli/run` and returns the process exit code.
pub fn run(engine: &Engine, options: &RunOptions) -> anyhow::Result<i32> {
    crate::kernel::init_libbpf_log(options.verbose);
    let mut packaged = Vec::new();
    let (bytes, file_name) = match &options.pulled {
        // A kernel-only artifact runs its first object; all are packaged.
        Some(artifact) => {
            for (name, bytes) in &artifact.objects {
                packaged.push((name.clone(), std::sync::Arc::<[u8]>::from(bytes.as_slice())));
            }
            match (&artifact.component, artifact.objects.first()) {
                (Some(component), _) => {
                    let name = options.component.file_name().map(|n| n.to_string_lossy().into_owned());
                    (component.clone(), name.unwrap_or_default())
                }
                (None, Some((name, object))) => (object.clone(), name.clone()),
                (None, None) => bail!("the pulled artifact holds no program"),
            }
        }
        None => {
            let bytes = std::fs::read(&options.component)
                .with_context(|| format!("cannot read {}", options.component.display()))?;
            let name = options.component.file_name().map(|n| n.to_string_lossy().into_owned());
            (bytes, name.unwrap_or_default())
        }
    };
    // A bare BPF object runs under the embedded kernel-only runner, which
    // finds it among the packaged objects.
    let (component_bytes, argv0) = if bytes.starts_with(b"\x7fELF") {
        if !packaged.iter().any(|(name, _)| *name == file_name) {
            packaged.push((file_name.clone(), std::sync::Arc::<[u8]>::from(bytes)));
        }
        (crate::runner::RUNNER.to_vec(), file_name)
    } else {
        let stem = options.component.file_stem().map(|s| s.to_string_lossy().into_owned());
        (bytes, stem.unwrap_or_else(|| "program".into()))
    };
    let component = load_component(engine, &component_bytes, !options.no_cache)?;

    let mut linker: Linker<State> = Linker::new(engine);
    wasmtime_wasi::p2::add_to_linker_sync(&mut linker)?;
    crate::add_to_linker(&mut linker)?;

    let mut wasi = WasiCtxBuilder::new();
    wasi.inherit_stdio().args(&[argv0]).args(&options.args);
    for (key, value) in &options.env {
        wasi.env(key, value);
    }
    for (host, guest) in &options.dirs {
        wasi.preopened_dir(host, guest, FsPerms::ReadWrite)
            .map_err(anyhow::Error::from)
            .with_context(|| format!("cannot open directory {}", host.display()))?;
    }
    for path in &options.objects {
        let bytes = std::fs::read(path).with_context(|| format!("cannot read BPF object {}", path.display()))?;
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        packaged.push((name, std::sync::Arc::<[u8]>::from(bytes)));
    }
    let bpf = BpfCtx { verbose: options.verbose, packaged, policy: options.policy.clone(), word_maps: Vec::new() };
    let limiter = MemoryLimiter { max: options.policy.max_memory, refused: None };
    let state = State { wasi: wasi.build(), table: ResourceTable::new(), bpf, limiter };
    let mut store = Store::new(engine, state);
    store.limiter(|state| &mut state.limiter);
    store.set_epoch_deadline(1);
    store.epoch_deadline_trap();

    let command = Command::instantiate(&mut store, &component, &linker).map_err(|e| {
        if let Some(refused) = store.data().limiter.refused {
            return memory_refused(refused, options.policy.max_memory);
        }
        anyhow::Error::from(e).context(
            "the component does not fit the bpflet:ebpf/program world (it must export wasi:cli/run \
             and import only bpflet:ebpf and WASI 0.2 interfaces)",
        )
    })?;
    let result = command.wasi_cli_run().call_run(&mut store);
    let refused = store.data().limiter.refused;
    // Dropping the store releases every link, map and object the guest held
    // before bpflet reports anything.
    drop(store);
    match result {
        Ok(Ok(())) => Ok(0),
        Ok(Err(())) => Ok(1),
        Err(err) => {
            if let Some(exit) = err.downcast_ref::<wasmtime_wasi::I32Exit>() {
                return Ok(exit.0);
            }
            if interrupted() {
                return Ok(128 + SIGNAL.load(Ordering::Relaxed));
            }
            let err = anyhow::Error::from(err).context("the guest trapped");
            match refused {
                Some(refused) => Err(err.context(memory_refused(refused, options.policy.max_memory))),
                None => Err(err),
            }
        }
    }
}
