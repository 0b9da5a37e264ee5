#!/usr/bin/env bash
# Installs what bpflet needs to build and test, skipping what is present.
set -euo pipefail

packages=(clang-19 lld-19 llvm-19 bpftool libbpf-dev libelf-dev zlib1g-dev pkg-config make)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if ! command -v cargo >/dev/null; then
  echo "setup: cargo not found; install Rust 1.95+ with rustup first" >&2
  exit 1
fi
if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-wasip2; then
  echo "setup: adding Rust target wasm32-wasip2"
  rustup target add wasm32-wasip2
fi

# BPF programs need the BPF filesystem for nothing here, but tracepoints need
# tracefs; bpflet mounts it itself when missing.
exit 0
