//! Build-time inputs of the bpflet CLI, written into OUT_DIR only (never
//! into the source tree):
//! - the libbpf headers `bpflet build` hands to clang (from libbpf-sys);
//! - the components built into bpflet (adapters/): the kernel-only runner,
//!   so that `bpflet run prog.bpf.o` needs nothing else, the built-in
//!   providers of the plug-in interfaces (render, histogram), and the
//!   sandbox plugged into plug-ins' files and environment.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::{env, fs};

fn main() {
    let manifest = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap());
    let out = PathBuf::from(env::var("OUT_DIR").unwrap());
    copy_libbpf_headers(&out.join("bpf-headers/bpf"));
    build_components(&manifest.join("../.."), &out);
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

/// The components built into bpflet, from the adapters workspace.
const COMPONENTS: [&str; 4] =
    ["bpflet_runner.wasm", "bpflet_render.wasm", "bpflet_histogram.wasm", "bpflet_sandbox.wasm"];

/// Builds the adapters workspace (its own target dir: a nested cargo must
/// not share ours): the runner for wasm32-wasip2; the plug-ins for
/// wasm32-unknown-unknown, made components here (they import nothing but
/// WIT types; the sandbox, the types of wasi:filesystem). Or takes them ready-made from the directory
/// `BPFLET_COMPONENTS`.
fn build_components(root: &Path, out: &Path) {
    println!("cargo:rerun-if-env-changed=BPFLET_COMPONENTS");
    if let Some(prebuilt) = env::var_os("BPFLET_COMPONENTS") {
        for name in COMPONENTS {
            let from = Path::new(&prebuilt).join(name);
            fs::copy(&from, out.join(name)).unwrap_or_else(|e| panic!("BPFLET_COMPONENTS: {}: {e}", from.display()));
        }
        return;
    }
    for watched in [
        "adapters/Cargo.toml",
        "adapters/Cargo.lock",
        "adapters/runner",
        "adapters/render",
        "adapters/histogram",
        "adapters/sandbox",
        "adapters/decode",
        "guests/rust/sdk/src",
        "guests/rust/sdk/Cargo.toml",
        "wit",
    ] {
        println!("cargo:rerun-if-changed=../../{watched}");
    }
    let target_dir = out.join("adapters-target");
    let cargo = |target: &str, packages: &[&str]| {
        let mut cargo = Command::new(env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
        cargo
            .current_dir(root.join("adapters"))
            .args(["build", "--release", "--quiet", "--target", target])
            .env("CARGO_TARGET_DIR", &target_dir);
        for package in packages {
            cargo.args(["-p", package]);
        }
        // The outer build's settings are for the host, not for wasm.
        for var in
            ["CARGO_ENCODED_RUSTFLAGS", "RUSTFLAGS", "CARGO_BUILD_TARGET", "CARGO_MAKEFLAGS", "RUSTC_WORKSPACE_WRAPPER"]
        {
            cargo.env_remove(var);
        }
        let status = cargo.status().expect("cargo runs");
        assert!(status.success(), "building {packages:?} (adapters/) for {target} failed");
        target_dir.join(target).join("release")
    };
    let wasip2 = cargo("wasm32-wasip2", &["bpflet-runner"]);
    fs::copy(wasip2.join("bpflet_runner.wasm"), out.join("bpflet_runner.wasm")).expect("the runner component");
    let unknown = cargo("wasm32-unknown-unknown", &["bpflet-render", "bpflet-histogram", "bpflet-sandbox"]);
    for name in ["bpflet_render.wasm", "bpflet_histogram.wasm", "bpflet_sandbox.wasm"] {
        let module = fs::read(unknown.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        let component = wit_component::ComponentEncoder::default()
            .module(&module)
            .and_then(|encoder| encoder.validate(true).encode())
            .unwrap_or_else(|e| panic!("making {name} a component: {e:#}"));
        fs::write(out.join(name), component).expect("writing a plug-in component");
    }
}
