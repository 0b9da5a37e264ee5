# bpflet: `make demo` and `make test` work on a fresh machine; everything
# they need is installed by `make setup` (idempotent, quick when done).

SHELL := /bin/bash
ROOT := $(abspath .)
# Cargo's build cache lives outside the clone so fresh clones (CI) reuse it.
export CARGO_TARGET_DIR ?= $(HOME)/.cache/bpflet/target
CARGO ?= cargo
BPFLET := $(CARGO_TARGET_DIR)/debug/bpflet
GUEST_OUT := $(ROOT)/target/guests
RUST_GUESTS := execsnoop syscount conformance burst hostile bench histcheck

HOST_TARGET = $$(rustc -vV | sed -n 's/^host: //p')
GO_ENV = GOTOOLCHAIN=$$(awk '$$1 == "toolchain" { print $$2 }' go.mod) GOWORK=$(ROOT)/guests/go/go.work

.PHONY: all setup host bpf guests rust-guests c-guests go-guests demo test soak fuzz lint wit-deps guest-table bench clean

all: host guests

setup:
	@bash scripts/setup.sh

host: setup
	$(CARGO) build -p bpflet

bpf: setup
	bash guests/bpf/build.sh

# Every guest toolchain reads wit/, whose deps/ (the WASI WIT of the
# wasmtime-wasi in use) is committed; `make wit-deps` refreshes it.
guests: host bpf rust-guests c-guests go-guests

rust-guests:
	cd guests/rust && $(CARGO) build --release
	mkdir -p $(GUEST_OUT)
	for g in $(RUST_GUESTS); do \
	  cp $(CARGO_TARGET_DIR)/wasm32-wasip2/release/$$g.wasm $(GUEST_OUT)/rust-$$g.wasm; \
	done

c-guests:
	bash guests/c/build.sh $(GUEST_OUT)

go-guests:
	bash guests/go/build.sh $(GUEST_OUT)

demo: guests
	@bash scripts/demo.sh $(BPFLET) $(GUEST_OUT)/rust-execsnoop.wasm

# Unit tests of the adapters (runner, plug-ins), the Rust SDK (natively; its doc tests include
# one that must not compile: set_global after load) and the Go SDK, then
# every test of the
# workspace: the runtime's and the CLI's unit tests, the runtime's ABI and
# embedding tests, and every end-to-end test (one at a time: they share
# the kernel).
test: guests
	cd adapters && $(CARGO) test --workspace --lib --bins --target $(HOST_TARGET)
	cd guests/rust && $(CARGO) test -p bpflet-sdk --target $(HOST_TARGET)
	cd guests/go && $(GO_ENV) go test ./bpflet ./internal/...
	$(CARGO) test --workspace -- --test-threads=1

# 200 runs of the example guests and the kernel-only runner, each stopped
# at a random moment by SIGINT, SIGTERM or SIGKILL: nothing may be left
# behind (`make test` runs 12; BPFLET_SOAK=N for another number).
soak: guests
	BPFLET_SOAK=$${BPFLET_SOAK:-200} $(CARGO) test -p bpflet --test soak -- --nocapture

# The fuzz targets (fuzz/), each for FUZZ_SECONDS (60) from its corpus.
fuzz: bpf
	bash scripts/fuzz.sh

# Formatting and lints of every language, warnings as errors (C guests are
# built with -Werror by guests/c/build.sh). `.ci/run` runs this before
# `make test`, which does not need it.
lint: guests
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	cd guests/rust && $(CARGO) fmt --all --check && $(CARGO) clippy --all-targets -- -D warnings
	cd adapters && $(CARGO) fmt --all --check && $(CARGO) clippy --workspace --all-targets -- -D warnings
	cd guests/go && test -z "$$(gofmt -l bpflet internal cmd plugins)" || { gofmt -l bpflet internal cmd plugins; echo "gofmt: the files above need formatting" >&2; exit 1; }
	cd guests/go && $(GO_ENV) go vet ./bpflet ./internal/...
	# Everything but wit-bindgen's generated exports (whose uintptr-to-pointer
	# conversions vet's unsafeptr check reports).
	cd guests/go && $(GO_ENV) GOOS=wasip1 GOARCH=wasm go vet $$($(GO_ENV) GOOS=wasip1 GOARCH=wasm go list ./... | grep -v '/bindings/exports/wit_exports$$')

# wit/deps from the wasmtime-wasi crate the runtime builds with.
wit-deps:
	bash scripts/wit-deps.sh

# The README's per-language table (size, cold and warm start).
guest-table: guests
	python3 scripts/guest-table.py $(BPFLET) $(GUEST_OUT) 5

# bpflet against native libbpf-rs on the same BPF programs (tests/bench), as
# root: prints a table and writes target/bench/results.json and
# target/bench/results.md (docs/benchmarks.md says how to read them). Release builds
# of bpflet and of the harness; `guests` builds the bench guests
# (<lang>-bench.wasm), which the tests also run.
bench: guests
	$(CARGO) build --release -p bpflet
	$(CARGO) build --release -p bpflet-bench
	$(CARGO_TARGET_DIR)/release/bpflet-bench --bpflet $(CARGO_TARGET_DIR)/release/bpflet

clean:
	rm -rf target $(CARGO_TARGET_DIR)
