//! Build-time inputs of the bpflet CLI, written into OUT_DIR only (never
//! into the source tree):
//! - the libbpf headers `bpflet build` hands to clang (from libbpf-sys);
//! - the kernel-only runner component (adapters/runner), embedded so that
//!   `bpflet run prog.bpf.o` needs nothing else.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::{env, fs};

fn main() {
    let manifest = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap());
    let out = PathBuf::from(env::var("OUT_DIR").unwrap());
    copy_libbpf_headers(&out.join("bpf-headers/bpf"));
    build_runner(&manifest.join("../.."), &out);
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
    for watched in [
        "adapters/runner/src",
        "adapters/runner/Cargo.toml",
        "adapters/runner/Cargo.lock",
        "guests/rust/sdk/src",
        "guests/rust/sdk/Cargo.toml",
        "wit",
    ] {
        println!("cargo:rerun-if-changed=../../{watched}");
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
