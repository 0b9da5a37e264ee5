#!/bin/bash
# make fuzz: builds the fuzz targets (fuzz/host, fuzz/adapters) with libFuzzer's coverage
# instrumentation, on stable Rust (the sanitizer-coverage pass, as
# cargo-fuzz sets it, without a sanitizer), and runs each for
# FUZZ_SECONDS (60 by default) over its committed corpus
# (fuzz/corpus/TARGET) and, for `object`, the objects the build made.
# What the run adds to the corpus goes to a scratch directory; a crash
# stops it and leaves the input in fuzz/artifacts/TARGET/ (add it to the
# corpus once fixed).
#
#   make fuzz                                  # every target, 60 s each
#   FUZZ_SECONDS=3600 FUZZ_TARGETS=decode make fuzz
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
seconds=${FUZZ_SECONDS:-60}
targets=${FUZZ_TARGETS:-object verifier_log decode}
host=$(rustc -vV | sed -n 's/^host: //p')
target_dir=${CARGO_TARGET_DIR:-$HOME/.cache/bpflet/target}/fuzz

# With --target, RUSTFLAGS reach the targets' crates and not the build
# scripts or proc macros (which libFuzzer's runtime is not linked into).
export RUSTFLAGS="-Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
-Cllvm-args=-sanitizer-coverage-trace-compares --cfg fuzzing -Cdebug-assertions -Coverflow-checks"
# Two workspaces: the runtime's targets, and the adapters' (whose crates
# take their dependencies from the adapters' workspace).
for workspace in host adapters; do
	cargo build --release --manifest-path "$root/fuzz/$workspace/Cargo.toml" --target "$host" --target-dir "$target_dir"
done

for target in $targets; do
	scratch=$(mktemp -d)
	trap 'rm -rf "$scratch"' EXIT
	mkdir -p "$root/fuzz/corpus/$target" "$root/fuzz/artifacts/$target"
	if [ "$target" = object ]; then
		cp "$root"/target/bpf/*.bpf.o "$scratch"/ 2>/dev/null || true
	fi
	echo "fuzz: $target for ${seconds}s"
	"$target_dir/$host/release/$target" -max_total_time="$seconds" -rss_limit_mb=4096 -timeout=20 \
		-artifact_prefix="$root/fuzz/artifacts/$target/" -print_final_stats=1 \
		"$scratch" "$root/fuzz/corpus/$target"
	rm -rf "$scratch"
done
