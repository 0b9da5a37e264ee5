#!/usr/bin/env python3
"""Prints the README's per-language table for the execsnoop guest:
component size, and start time (process start to exit for `--duration 0`:
compile or cache load, BPF load, attach, print the header, detach) cold (no
compiled cache) and warm (cached), median of RUNS runs.

Usage: scripts/guest-table.py BPFLET GUEST_DIR [RUNS]
"""
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

bpflet, guest_dir = sys.argv[1], sys.argv[2]
runs = int(sys.argv[3]) if len(sys.argv) > 3 else 5
cache = tempfile.mkdtemp(prefix="bpflet-table-cache-")
env = dict(os.environ, BPFLET_CACHE_DIR=cache)


def start_time(wasm, cold):
    samples = []
    for _ in range(runs):
        if cold:
            shutil.rmtree(cache, ignore_errors=True)
        t = time.perf_counter()
        subprocess.run([bpflet, "run", wasm, "--", "--duration", "0"], env=env, check=True,
                       stdout=subprocess.DEVNULL)
        samples.append(time.perf_counter() - t)
    return statistics.median(samples) * 1000


print("| guest | component size | start, cold | start, warm |")
print("|---|---:|---:|---:|")
for lang in ("rust", "c", "go"):
    wasm = os.path.join(guest_dir, f"{lang}-execsnoop.wasm")
    if not os.path.exists(wasm):
        continue
    size = os.path.getsize(wasm) / 1024
    cold = start_time(wasm, cold=True)
    start_time(wasm, cold=False)  # fill the cache
    warm = start_time(wasm, cold=False)
    print(f"| {lang}-execsnoop | {size:,.0f} KiB | {cold:,.0f} ms | {warm:,.0f} ms |")
shutil.rmtree(cache, ignore_errors=True)
