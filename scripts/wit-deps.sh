#!/usr/bin/env bash
# Refreshes wit/deps: the WASI WIT of the wasmtime-wasi crate the host
# builds with (host/runtime/Cargo.toml pins it). Committed, because every
# guest toolchain and the host's bindgen read wit/ before anything builds;
# run this (`make wit-deps`) after changing the wasmtime version. The test
# `wit_deps` (tests/wit_deps.rs) fails while the two differ.
set -euo pipefail
cd "$(dirname "$0")/.."
manifest=$(cargo metadata --format-version 1 --locked |
	python3 -c 'import json, sys
packages = json.load(sys.stdin)["packages"]
print(next(p["manifest_path"] for p in packages if p["name"] == "wasmtime-wasi"))')
source="$(dirname "$manifest")/src/p2/wit/deps"
[[ -d $source ]] || { echo "scripts/wit-deps.sh: no $source" >&2; exit 1; }
rm -rf wit/deps
cp -r "$source" wit/deps
echo "wit/deps: copied from $source"
