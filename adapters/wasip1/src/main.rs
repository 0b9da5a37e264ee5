//! `bpflet-wasip1-adapter reactor|command OUT`: writes the WASI preview1
//! component adapter of the wasmtime release bpflet runs on, for
//! `wasm-tools component new --adapt wasi_snapshot_preview1=OUT`.
//!
//! C and Go guests compile to wasip1 core modules; the adapter maps their
//! preview1 imports onto WASI 0.2. Use `reactor` for modules built with
//! `-mexec-model=reactor` (or Go's `-buildmode=c-shared`) that export
//! `wasi:cli/run` themselves.

use wasi_preview1_component_adapter_provider::{
    WASI_SNAPSHOT_PREVIEW1_COMMAND_ADAPTER, WASI_SNAPSHOT_PREVIEW1_REACTOR_ADAPTER,
};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (bytes, out) = match args.as_slice() {
        [kind, out] if kind == "reactor" => (WASI_SNAPSHOT_PREVIEW1_REACTOR_ADAPTER, out),
        [kind, out] if kind == "command" => (WASI_SNAPSHOT_PREVIEW1_COMMAND_ADAPTER, out),
        _ => {
            eprintln!("usage: bpflet-wasip1-adapter reactor|command OUT.wasm");
            std::process::exit(2);
        }
    };
    if let Err(err) = std::fs::write(out, bytes) {
        eprintln!("bpflet-wasip1-adapter: cannot write {out}: {err}");
        std::process::exit(1);
    }
}
