# bpflet: `make demo` and `make test` work on a fresh machine; everything
# they need is installed by `make setup` (idempotent, quick when done).

SHELL := /bin/bash
ROOT := $(abspath .)
# Cargo's build cache lives outside the clone so fresh clones (CI) reuse it.
export CARGO_TARGET_DIR ?= $(HOME)/.cache/bpflet/target
CARGO ?= cargo
BPFLET := $(CARGO_TARGET_DIR)/debug/bpflet
GUEST_OUT := $(ROOT)/target/guests
RUST_GUESTS := execsnoop syscount conformance burst faults bench

.PHONY: all setup host bpf guests rust-guests c-guests go-guests demo test guest-table bench clean

all: host guests

setup:
	@bash scripts/setup.sh

host: setup
	$(CARGO) build -p bpflet

bpf: setup
	bash guests/bpf/build.sh

# The host build generates wit/deps (WASI WIT of the wasmtime-wasi in use),
# which every guest toolchain needs.
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

# Unit tests of the runner and the Go SDK, then every end-to-end test (one
# at a time: they share the kernel).
test: guests
	cd adapters/runner && $(CARGO) test --target $$(rustc -vV | sed -n 's/^host: //p')
	cd guests/go && GOTOOLCHAIN=$$(awk '$$1 == "toolchain" { print $$2 }' go.mod) go test ./bpflet ./internal/...
	$(CARGO) test -p bpflet -- --test-threads=1

# The README's per-language table (size, cold and warm start).
guest-table: guests
	python3 scripts/guest-table.py $(BPFLET) $(GUEST_OUT) 5

# bpflet against native libbpf-rs on the same BPF programs (tests/bench), as
# root: prints a table and writes target/bench/results.json. Release builds
# of bpflet and of the harness; `guests` builds the bench guests
# (<lang>-bench.wasm), which the tests also run.
bench: guests
	$(CARGO) build --release -p bpflet
	$(CARGO) build --release -p bpflet-bench
	$(CARGO_TARGET_DIR)/release/bpflet-bench --bpflet $(CARGO_TARGET_DIR)/release/bpflet

clean:
	rm -rf target $(CARGO_TARGET_DIR)
