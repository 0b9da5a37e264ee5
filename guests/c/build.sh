#!/usr/bin/env bash
# Builds every C guest example (guests/c/NAME/NAME.c) into OUT_DIR/c-NAME.wasm,
# a component of world bpflet:ebpf/program.
#
#   bash guests/c/build.sh target/guests
#
# Needs the host built first (it writes wit/deps, the WASI WIT the bindings
# include) and the BPF objects (guests/bpf/build.sh: target/bpf/*.bpf.o,
# which the guests embed). Toolchain: Debian's clang-19 and wasi-libc,
# wit-bindgen for the bindings, wasm-tools and wasmtime's preview1 reactor
# adapter to make a component of the core module; see guests/c/README.md.
# Everything generated goes to target/guests/c (bindings/, obj/, adapter).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
die() { echo "guests/c/build.sh: $*" >&2; exit 1; }

[ $# -eq 1 ] || die "usage: guests/c/build.sh OUT_DIR"
export PATH="$HOME/.cargo/bin:$PATH"

clang=${CLANG:-clang-19}
sysroot=${WASI_SYSROOT:-/usr}

# ---- tools: say what provides a missing one ----
command -v "$clang" >/dev/null 2>&1 ||
	die "$clang not found: apt-get install clang-19 (or set CLANG)"
[ -x "$("$clang" -print-prog-name=wasm-ld)" ] || command -v wasm-ld >/dev/null 2>&1 ||
	die "wasm-ld not found for $clang: apt-get install lld-19"
[ -f "$sysroot/include/wasm32-wasi/stdio.h" ] && [ -f "$sysroot/lib/wasm32-wasi/libc.a" ] ||
	die "wasi-libc not found under $sysroot: apt-get install wasi-libc (or set WASI_SYSROOT)"
[ -f "$("$clang" --target=wasm32-wasi -print-libgcc-file-name)" ] ||
	die "compiler-rt for wasm32 not found: apt-get install libclang-rt-19-dev-wasm32"
command -v wit-bindgen >/dev/null 2>&1 ||
	die "wit-bindgen not found: cargo install --locked wit-bindgen-cli@0.63.0"
command -v wasm-tools >/dev/null 2>&1 ||
	die "wasm-tools not found: cargo install --locked wasm-tools@1.263.0"
command -v cargo >/dev/null 2>&1 ||
	die "cargo not found: install Rust (rustup); it builds the wasip1 adapter"

# ---- inputs the rest of the build makes ----
[ -d "$repo/wit/deps" ] ||
	die "wit/deps is missing: build the host first (make host), it writes the WASI WIT"

mkdir -p "$1"
out=$(cd "$1" && pwd)
work="$repo/target/guests/c"

# ---- bindings, adapter: regenerated every time (both take well under a second) ----
mkdir -p "$work/obj"
rm -rf "$work/bindings"
log=$(wit-bindgen c "$repo/wit" --world bpflet:ebpf/program --out-dir "$work/bindings" 2>&1) ||
	die "wit-bindgen failed:"$'\n'"$log"
adapter="$work/wasi_snapshot_preview1.reactor.wasm"
(cd "$repo" && cargo run -q -p bpflet-wasip1-adapter -- reactor "$adapter")

# The SDK and every guest build warning-free: -Werror keeps them so.
cflags=(--target=wasm32-wasi "--sysroot=$sysroot" -std=c23 -O2 -Wall -Wextra -Werror
	-I "$here/include" -I "$work/bindings" -I "$repo/guests/bpf" "--embed-dir=$repo/target/bpf")
# Reactor: the module exports wasi:cli/run itself, with no main() or _start
# (a command module and adapter would bring a second wasi:cli/run).
# Debian's libc.a carries DWARF: strip it (the name section stays, for traces).
ldflags=(-mexec-model=reactor -Wl,--strip-debug)

# The SDK: helpers and the bindings, compiled once, linked into every guest.
sdk=()
for src in "$here/src/bpflet.c" "$here/src/bpflet_fmt.c" "$here/src/bpflet_plugins.c" "$here/src/bindings.c"; do
	obj="$work/obj/$(basename "$src" .c).o"
	"$clang" "${cflags[@]}" -c "$src" -o "$obj"
	sdk+=("$obj")
done

built=0
for dir in "$here"/*/; do
	name=$(basename "$dir")
	src="$dir$name.c"
	[ -f "$src" ] || continue
	# The objects the guest embeds (#embed "x.bpf.o"; bench embeds several).
	for bpf in $(sed -n 's/^[[:space:]]*#[[:space:]]*embed[[:space:]]*"\([^"]*\)".*/\1/p' "$src"); do
		[ -f "$repo/target/bpf/$bpf" ] ||
			die "target/bpf/$bpf is missing: run guests/bpf/build.sh (make bpf) first"
	done
	core="$work/obj/$name.core.wasm"
	echo "  C    $out/c-$name.wasm"
	"$clang" "${cflags[@]}" "${ldflags[@]}" "$src" "${sdk[@]}" "$work/bindings/program_component_type.o" \
		-o "$core"
	wasm-tools component new "$core" --adapt "wasi_snapshot_preview1=$adapter" -o "$out/c-$name.wasm"
	built=$((built + 1))
done
[ "$built" -gt 0 ] || die "no guests found under guests/c/NAME/NAME.c"

# Plug-ins: plugins/NAME.c exports bpflet:ebpf/NAME (world NAME-provider)
# into OUT_DIR/c-NAME-provider.wasm. They do no I/O, so their core module
# imports no WASI and becomes a component without the adapter: a plug-in
# that imports nothing but WIT types.
for src in "$here"/plugins/*.c; do
	[ -f "$src" ] || continue
	name=$(basename "$src" .c)
	bind="$work/plugin-bindings/$name"
	rm -rf "$bind"
	log=$(wit-bindgen c "$repo/wit" --world "bpflet:ebpf/$name-provider" --out-dir "$bind" 2>&1) ||
		die "wit-bindgen failed for plug-in $name:"$'\n'"$log"
	core="$work/obj/$name-provider.core.wasm"
	echo "  C    $out/c-$name-provider.wasm"
	"$clang" --target=wasm32-wasi "--sysroot=$sysroot" -std=c23 -O2 -Wall -Wextra -Werror -I "$bind" \
		"${ldflags[@]}" "$src" "$bind/${name}_provider.c" "$bind/${name}_provider_component_type.o" -o "$core"
	wasm-tools component new "$core" -o "$out/c-$name-provider.wasm" ||
		die "plug-in $name imports WASI (it must do no I/O): see wasm-tools print $core | grep import"
done
