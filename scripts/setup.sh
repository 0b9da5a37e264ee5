#!/usr/bin/env bash
# Installs what bpflet needs to build and test, skipping what is present:
# Debian packages, the Rust wasm target, and the component tools from
# crates.io (the first install of those takes ~15 minutes; later runs are
# instant).
set -euo pipefail

packages=(
  clang-19 lld-19 llvm-19 bpftool libbpf-dev libelf-dev zlib1g-dev pkg-config make  # BPF + host
  wasi-libc libclang-rt-19-dev-wasm32                                              # C guests
  docker-registry skopeo                                                           # OCI tests: a registry, a second client
)
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
# wasm32-wasip2 for guests and the kernel-only runner; wasm32-unknown-unknown
# for the built-in plug-ins, which import nothing.
for target in wasm32-wasip2 wasm32-unknown-unknown; do
  if ! rustup target list --installed 2>/dev/null | grep -qx "$target"; then
    echo "setup: adding Rust target $target"
    rustup target add "$target"
  fi
done

# Component tools, pinned: wit-bindgen generates the C and Go bindings,
# wasm-tools embeds WIT and wraps core modules into components, wac plugs
# components together (the composition tests compare it with bpflet's own).
install_tool() { # binary crate version
  local have
  have=$("$1" --version 2>/dev/null | awk '{print $2}') || true
  if [[ "$have" != "$3" ]]; then
    echo "setup: cargo install $2@$3 (once; takes a few minutes)"
    cargo install --locked --quiet "$2@$3"
  fi
}
export PATH="$HOME/.cargo/bin:$PATH"
install_tool wasm-tools wasm-tools 1.263.0
install_tool wit-bindgen wit-bindgen-cli 0.63.0
install_tool wac wac-cli 0.12.0

if ! command -v go >/dev/null; then
  echo "setup: go not found; Go guests need Go 1.21+ to fetch the pinned toolchain" >&2
  exit 1
fi
exit 0
