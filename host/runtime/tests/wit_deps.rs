//! `wit/deps` is committed (every toolchain reads `wit/` before anything
//! builds) and must be exactly the WASI WIT of the wasmtime-wasi crate the
//! runtime builds with: `make wit-deps` copies it after a wasmtime upgrade,
//! and this test fails until then.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).ancestors().nth(2).unwrap().to_path_buf()
}

/// Every file under `dir`, by path relative to it.
fn files(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut found = BTreeMap::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(current) = pending.pop() {
        for entry in std::fs::read_dir(&current).unwrap_or_else(|e| panic!("{}: {e}", current.display())) {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
            } else {
                found.insert(path.strip_prefix(dir).unwrap().to_path_buf(), std::fs::read(&path).unwrap());
            }
        }
    }
    found
}

#[test]
fn wit_deps_is_the_wasi_wit_of_the_wasmtime_wasi_in_use() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let metadata = Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--locked"])
        .current_dir(repo_root())
        .output()
        .expect("cargo metadata runs");
    assert!(metadata.status.success(), "{}", String::from_utf8_lossy(&metadata.stderr));
    let metadata: serde_json::Value = serde_json::from_slice(&metadata.stdout).unwrap();
    let manifest = metadata["packages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "wasmtime-wasi")
        .and_then(|p| p["manifest_path"].as_str())
        .expect("wasmtime-wasi is a dependency");
    let crate_deps = Path::new(manifest).parent().unwrap().join("src/p2/wit/deps");
    let committed = files(&repo_root().join("wit/deps"));
    let expected = files(&crate_deps);
    assert!(!expected.is_empty(), "no WIT in {}", crate_deps.display());
    let names = |files: &BTreeMap<PathBuf, Vec<u8>>| files.keys().cloned().collect::<Vec<_>>();
    assert_eq!(
        names(&committed),
        names(&expected),
        "wit/deps has other files than {}: run `make wit-deps`",
        crate_deps.display()
    );
    for (name, bytes) in &expected {
        assert!(
            committed[name] == *bytes,
            "wit/deps/{} differs from {}: run `make wit-deps`",
            name.display(),
            crate_deps.display()
        );
    }
}
