//! Puts the WASI WIT of the wasmtime-wasi we build with into `wit/deps`, so
//! that `wit/` (the source of truth) resolves for bindgen here and for the
//! guest toolchains. The files are generated, never committed.

use std::path::{Path, PathBuf};
use std::{env, fs};

const WASMTIME_WASI: &str = "wasmtime-wasi-48.0.8";

fn main() {
    let manifest = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap());
    let deps = manifest.join("../wit/deps");
    println!("cargo:rerun-if-changed=../wit");
    let source = find_wasi_wit().unwrap_or_else(|| {
        panic!("cannot find {WASMTIME_WASI}/src/p2/wit/deps in the cargo registry; run `cargo fetch`")
    });
    for entry in fs::read_dir(&source).unwrap() {
        let entry = entry.unwrap();
        let dest = deps.join(entry.file_name());
        let new = fs::read(entry.path()).unwrap();
        if fs::read(&dest).ok().as_deref() != Some(&new[..]) {
            fs::create_dir_all(&deps).unwrap();
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
