#!/usr/bin/env bash
# Builds every Go example, guests/go/cmd/NAME, into OUT_DIR/go-NAME.wasm:
# a component of world bpflet:ebpf/program that exports wasi:cli/run; and
# every Go plug-in, guests/go/plugins/NAME, into
# OUT_DIR/go-NAME-provider.wasm: a component of world
# bpflet:ebpf/NAME-provider.
#
#   bash guests/go/build.sh target/guests
#
# Needs the host built first (it writes wit/deps, the WASI WIT) and the
# kernel objects (guests/bpf/build.sh: target/bpf/NAME.bpf.o, which each
# example embeds). Everything else is pinned:
#   - Go: the toolchain go.mod names (GOTOOLCHAIN; any local go fetches it);
#   - wit-bindgen 0.63.0 writes the bindings (bindings/imports,
#     bindings/exports/wit_exports; generated, not committed). The imports
#     get a go.mod of their own, a module of the workspace, so that
#     `go vet ./...` checks our code and not the generated code (whose
#     uintptr-to-pointer conversions vet's unsafeptr check reports);
#   - their runtime, Go module go.bytecodealliance.org/pkg v0.4.0, is not on
#     the module proxy: it ships inside the crate wit-bindgen-go 0.63.0, which
#     cargo fetches (checksummed) and go.work points at;
#   - the WASI preview1 adapter comes from the wasmtime release of the host
#     (crate adapters/wasip1).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
die() { echo "guests/go/build.sh: $*" >&2; exit 1; }

[[ $# -eq 1 ]] || die "usage: guests/go/build.sh OUT_DIR"
mkdir -p "$1"
out=$(cd "$1" && pwd)
work="$repo/target/go"
mkdir -p "$work"

wit_bindgen_version=0.63.0
toolchain=$(awk '$1 == "toolchain" { print $2 }' "$here/go.mod")
export PATH="$HOME/.cargo/bin:$PATH:/usr/local/go/bin"

command -v go >/dev/null ||
	die "go not found; install Go 1.21 or newer (it fetches $toolchain by itself)"
command -v cargo >/dev/null || die "cargo not found; install Rust (see scripts/setup.sh)"
command -v wit-bindgen >/dev/null ||
	die "wit-bindgen not found; run scripts/setup.sh (cargo install wit-bindgen-cli@$wit_bindgen_version)"
command -v wasm-tools >/dev/null ||
	die "wasm-tools not found; run scripts/setup.sh (cargo install wasm-tools)"
have=$(wit-bindgen --version | awk '{ print $2 }')
[[ $have == "$wit_bindgen_version" ]] ||
	die "wit-bindgen is $have, the Go bindings need $wit_bindgen_version (cargo install wit-bindgen-cli@$wit_bindgen_version)"
[[ -d $repo/wit/deps ]] || die "wit/deps is missing: build the host first (make host)"

# The Go runtime of the bindings, from the wit-bindgen-go crate.
fetch="$work/go-pkg"
mkdir -p "$fetch/src"
cat >"$fetch/Cargo.toml" <<EOF
# Written by guests/go/build.sh: makes cargo fetch the crate whose src/pkg
# is the Go module go.bytecodealliance.org/pkg the bindings import.
[workspace]

[package]
name = "fetch-go-pkg"
version = "0.0.0"
edition = "2021"
publish = false

[lib]
path = "src/lib.rs"

[dependencies]
wit-bindgen-go = "=$wit_bindgen_version"
EOF
: >"$fetch/src/lib.rs"
manifest=$(cargo metadata --quiet --format-version 1 --manifest-path "$fetch/Cargo.toml" |
	grep -o "\"manifest_path\":\"[^\"]*/wit-bindgen-go-$wit_bindgen_version/Cargo.toml\"" |
	head -n 1 | sed 's/^"manifest_path":"//; s/"$//') ||
	die "cargo could not fetch wit-bindgen-go $wit_bindgen_version"
go_pkg="$(dirname "$manifest")/src/pkg"
[[ -f $go_pkg/go.mod ]] || die "no Go module in $go_pkg"
go_pkg_version=$(wit-bindgen go --pkg-name x --print-remote-pkg-version "$repo/wit" \
	--world bpflet:ebpf/program --out-dir "$work/version-probe" 2>/dev/null | awk '{ print $2 }')
rm -rf "$work/version-probe"
grep -q "go.bytecodealliance.org/pkg $go_pkg_version\$" "$here/go.mod" ||
	die "go.mod must require go.bytecodealliance.org/pkg $go_pkg_version (what wit-bindgen $wit_bindgen_version generates for)"

go_version=$(awk '$1 == "go" { print $2 }' "$here/go.mod")
cat >"$here/go.work" <<EOF
// Written by build.sh: the generated import bindings are a module of their
// own, and their Go runtime comes from the wit-bindgen-go crate (see
// build.sh). Not committed: the path is local.
go $go_version

toolchain $toolchain

use (
	.
	./bindings/imports
$(for dir in "$here"/plugins/*/; do echo "	./plugins/$(basename "$dir")/bindings/imports"; done)
)

replace go.bytecodealliance.org/pkg $go_pkg_version => $go_pkg
EOF

# Bindings, afresh: an interface removed from the WIT must not linger.
# bindings DIR WORLD: the bindings of WORLD in DIR/bindings (package
# bpflet.dev/guests/go/DIR/bindings).
bindings() {
	local dir=$1 world=$2 pkg="bpflet.dev/guests/go${1#"$here"}/bindings" log
	rm -rf "$dir/bindings/imports" "$dir/bindings/exports/wit_exports"
	log=$(wit-bindgen go "$repo/wit" --world "$world" --pkg-name "$pkg" --out-dir "$dir/bindings" 2>&1) ||
		die "wit-bindgen go failed for $world:"$'\n'"$log"
	cat >"$dir/bindings/imports/go.mod" <<EOF
// Written by build.sh: the generated import bindings, a module of the
// workspace (go.work) apart from ours.
module $pkg/imports

go $go_version

require go.bytecodealliance.org/pkg $go_pkg_version
EOF
}
bindings "$here" bpflet:ebpf/program
for dir in "$here"/plugins/*/; do
	bindings "${dir%/}" "bpflet:ebpf/$(basename "$dir")-provider"
done

adapter="$work/wasi_snapshot_preview1.reactor.wasm"
(cd "$repo" && cargo run --quiet -p bpflet-wasip1-adapter -- reactor "$adapter") ||
	die "could not write the wasip1 adapter"

export GOTOOLCHAIN=$toolchain GOWORK="$here/go.work" GOFLAGS=-buildvcs=false
cd "$here"
for dir in cmd/*/; do
	name=$(basename "$dir")
	# The kernel objects the example embeds (//go:embed NAME.bpf.o ...).
	objects=$(sed -n 's|^[[:space:]]*//go:embed[[:space:]]||p' "$dir"*.go | tr -s ' \t' '\n' | grep '\.bpf\.o$' | sort -u) ||
		die "$name embeds no kernel object (//go:embed NAME.bpf.o)"
	for object in $objects; do
		obj="$repo/target/bpf/$object"
		[[ -f $obj ]] || die "$obj is missing: run guests/bpf/build.sh"
		cp "$obj" "$dir"
	done
	echo "  GO   $out/go-$name.wasm"
	# c-shared: a reactor whose wasi:cli/run export (bindings/exports)
	# runs the program. -checklinkname=0: the bindings' runtime links to
	# runtime.sbrk for allocations made before the Go runtime is up.
	GOOS=wasip1 GOARCH=wasm go build -trimpath -buildmode=c-shared \
		-ldflags=-checklinkname=0 -o "$work/$name.core.wasm" "./$dir"
	wasm-tools component embed "$repo/wit" --world bpflet:ebpf/program \
		"$work/$name.core.wasm" -o "$work/$name.embedded.wasm"
	wasm-tools component new "$work/$name.embedded.wasm" \
		--adapt "wasi_snapshot_preview1=$adapter" -o "$work/$name.wasm"
	wasm-tools component wit "$work/$name.wasm" | grep -q '^  export wasi:cli/run@' ||
		die "$name: the component does not export wasi:cli/run"
	mv "$work/$name.wasm" "$out/go-$name.wasm"
done

for dir in plugins/*/; do
	name=$(basename "$dir")
	world="bpflet:ebpf/$name-provider"
	echo "  GO   $out/go-$name-provider.wasm"
	GOOS=wasip1 GOARCH=wasm go build -trimpath -buildmode=c-shared \
		-ldflags=-checklinkname=0 -o "$work/$name-provider.core.wasm" "./$dir"
	wasm-tools component embed "$repo/wit" --world "$world" \
		"$work/$name-provider.core.wasm" -o "$work/$name-provider.embedded.wasm"
	wasm-tools component new "$work/$name-provider.embedded.wasm" \
		--adapt "wasi_snapshot_preview1=$adapter" -o "$work/$name-provider.wasm"
	wasm-tools component wit "$work/$name-provider.wasm" | grep -q "^  export bpflet:ebpf/$name@" ||
		die "plugins/$name: the component does not export bpflet:ebpf/$name"
	mv "$work/$name-provider.wasm" "$out/go-$name-provider.wasm"
done
