//! Build-time inputs of the bpflet crate, all generated (never committed):
//! - `wit/deps`: the WASI WIT of the wasmtime-wasi we build with, so that
//!   `wit/` resolves for bindgen here and for the guest toolchains;
//! - the libbpf headers `bpflet build` hands to clang (from libbpf-sys);
//! - the kernel-only runner component (adapters/runner), embedded so that
//!   `bpflet run prog.bpf.o` needs nothing else.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::{env, fs};

const WASMTIME_WASI: &str = "wasmtime-wasi-48.0.8";

fn main() {
    let manifest = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap());
    let out = PathBuf::from(env::var("OUT_DIR").unwrap());
    copy_wasi_wit(&manifest.join("../wit/deps"));
    copy_libbpf_headers(&out.join("bpf-headers/bpf"));
    build_runner(&manifest.join(".."), &out);
}

fn copy_wasi_wit(deps: &Path) {
    println!("cargo:rerun-if-changed=../wit");
    let source = find_wasi_wit().unwrap_or_else(|| {
        panic!("cannot find {WASMTIME_WASI}/src/p2/wit/deps in the cargo registry; run `cargo fetch`")
    });
    for entry in fs::read_dir(&source).unwrap() {
        let entry = entry.unwrap();
        let dest = deps.join(entry.file_name());
        let new = fs::read(entry.path()).unwrap();
        if fs::read(&dest).ok().as_deref() != Some(&new[..]) {
            fs::create_dir_all(deps).unwrap();
            fs::write(&dest, new).unwrap();
        }
    }
}

fn find_wasi_wit() -> Option<PathBuf> {
    let home = env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| env::var_os("HOME").map(|h| Path::new(&h).join(".cargo")))?;
    for registry in fs::read_dir(home.join("registry/src")).ok()? {
        let candidate = registry.ok()?.path().join(WASMTIME_WASI).join("src/p2/wit/deps");
        if candidate.is_dir() {
            return Some(candidate);
        }
    }
    None
}

/// libbpf-sys installs libbpf's headers and tells dependents where
/// (`links = "bpf"` → DEP_BPF_INCLUDE).
fn copy_libbpf_headers(dest: &Path) {
    let include = PathBuf::from(env::var("DEP_BPF_INCLUDE").expect("libbpf-sys exports its include dir"));
    fs::create_dir_all(dest).unwrap();
    for name in ["bpf_helpers.h", "bpf_helper_defs.h", "bpf_tracing.h", "bpf_core_read.h", "bpf_endian.h"] {
        fs::copy(include.join("bpf").join(name), dest.join(name))
            .unwrap_or_else(|e| panic!("libbpf header {name}: {e}"));
    }
}

/// Builds adapters/runner for wasm32-wasip2 with its own target dir (a
/// nested cargo must not share ours), or takes BPFLET_RUNNER_WASM.
fn build_runner(root: &Path, out: &Path) {
    let dest = out.join("bpflet_runner.wasm");
    println!("cargo:rerun-if-env-changed=BPFLET_RUNNER_WASM");
    if let Some(prebuilt) = env::var_os("BPFLET_RUNNER_WASM") {
        fs::copy(&prebuilt, &dest).unwrap_or_else(|e| panic!("BPFLET_RUNNER_WASM={prebuilt:?}: {e}"));
        return;
    }
    let runner = root.join("adapters/runner");
    for watched in ["adapters/runner/src", "adapters/runner/Cargo.toml", "guests/rust/sdk/src"] {
        println!("cargo:rerun-if-changed=../{watched}");
    }
    let target_dir = out.join("runner-target");
    let mut cargo = Command::new(env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    cargo.current_dir(&runner).args(["build", "--release", "--quiet"]).env("CARGO_TARGET_DIR", &target_dir);
    // The outer build's settings are for the host, not for wasm.
    for var in
        ["CARGO_ENCODED_RUSTFLAGS", "RUSTFLAGS", "CARGO_BUILD_TARGET", "CARGO_MAKEFLAGS", "RUSTC_WORKSPACE_WRAPPER"]
    {
        cargo.env_remove(var);
    }
    let status = cargo.status().expect("cargo runs");
    assert!(status.success(), "building the kernel-only runner (adapters/runner) for wasm32-wasip2 failed");
    fs::copy(target_dir.join("wasm32-wasip2/release/bpflet_runner.wasm"), &dest).expect("the runner component");
}
