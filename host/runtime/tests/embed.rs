//! The runtime embedded without the CLI, as the crate documentation shows:
//! a store of the test's own (WASI with stdout captured, plus `BpfCtx`)
//! runs the Rust execsnoop guest (`make guests` builds it) in this process;
//! the test execs a marker binary, reads the guest's report of it, stops
//! the guest from another thread with `Stop`, and checks that nothing the
//! guest loaded is left in the kernel. Needs root, like every test that
//! loads BPF programs.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use bpflet_runtime::{BpfCtx, BpfCtxView, BpfView, Stop};
use wasmtime::component::{Component, Linker, ResourceTable};
use wasmtime::{Config, Engine, Store};
use wasmtime_wasi::p2::bindings::sync::Command as WasiCommand;
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

struct Host {
    wasi: WasiCtx,
    bpf: BpfCtx,
    table: ResourceTable,
}

impl WasiView for Host {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}

impl BpfView for Host {
    fn bpf(&mut self) -> BpfCtxView<'_> {
        BpfCtxView { ctx: &mut self.bpf, table: &mut self.table }
    }
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).ancestors().nth(2).unwrap().to_path_buf()
}

/// Ids of the BPF programs and maps loaded now.
fn loaded(kind: &str) -> Vec<u64> {
    let out = Command::new("bpftool").args(["-j", kind, "list"]).output().expect("bpftool runs");
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).expect("bpftool prints JSON");
    list.as_array().unwrap().iter().filter_map(|o| o["id"].as_u64()).collect()
}

#[test]
fn an_embedder_runs_a_guest_and_stops_it() {
    let guest = repo_root().join("target/guests/rust-execsnoop.wasm");
    assert!(guest.exists(), "{} is missing: run `make guests` first", guest.display());
    let (progs, maps) = (loaded("prog"), loaded("map"));

    let mut config = Config::new();
    bpflet_runtime::configure(&mut config);
    let engine = Engine::new(&config).unwrap();
    let mut linker = Linker::new(&engine);
    wasmtime_wasi::p2::add_to_linker_sync(&mut linker).unwrap();
    bpflet_runtime::add_to_linker(&mut linker).unwrap();

    let stop = Stop::new(&engine);
    let stdout = MemoryOutputPipe::new(1 << 20);
    let host = Host {
        wasi: WasiCtx::builder().stdout(stdout.clone()).inherit_stderr().args(&["execsnoop", "--json"]).build(),
        bpf: BpfCtx::new(stop.clone()),
        table: ResourceTable::new(),
    };
    let component = Component::from_file(&engine, &guest).unwrap();
    let guest = std::thread::spawn(move || {
        let mut store = Store::new(&engine, host);
        bpflet_runtime::interrupt_on_stop(&mut store);
        let command = WasiCommand::instantiate(&mut store, &component, &linker)?;
        let outcome = command.wasi_cli_run().call_run(&mut store);
        drop(store);
        outcome
    });

    let text = || String::from_utf8_lossy(&stdout.contents()).into_owned();
    let wait_for = |what: &str| {
        let deadline = Instant::now() + Duration::from_secs(30);
        while !text().contains(what) {
            assert!(Instant::now() < deadline, "no {what:?} in the guest's output:\n{}", text());
            std::thread::sleep(Duration::from_millis(20));
        }
    };
    wait_for(r#"{"attached":true}"#);
    let dir = std::env::temp_dir().join(format!("bpflet-embed-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let marker = dir.join("embed-marker");
    std::fs::copy("/bin/true", &marker).unwrap();
    let child = Command::new(&marker).spawn().unwrap();
    let pid = child.id();
    assert!(child.wait_with_output().unwrap().status.success());
    wait_for(&format!(r#"{{"pid":{pid},"ppid":{},"comm":"embed-marker""#, std::process::id()));

    stop.request();
    // The guest winds down by itself (execsnoop handles the stop) or traps
    // at its next epoch check; either way the call returns.
    let outcome = guest.join().expect("the guest thread");
    assert!(stop.is_requested());
    if let Ok(Err(())) = outcome {
        panic!("the guest failed:\n{}", text());
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    let new = |kind: &str, before: &[u64]| loaded(kind).into_iter().filter(|id| !before.contains(id)).count();
    while new("prog", &progs) + new("map", &maps) > 0 {
        assert!(Instant::now() < deadline, "the guest's programs or maps are still loaded");
        std::thread::sleep(Duration::from_millis(100));
    }
}
