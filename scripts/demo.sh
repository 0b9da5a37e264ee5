#!/usr/bin/env bash
# Runs execsnoop for a few seconds while this script execs some commands,
# so the events on screen are real ones from this kernel.
set -euo pipefail
bpflet=$1 guest=$2
echo "== bpflet run $(basename "$guest") (5 seconds) =="
"$bpflet" run "$guest" -- --duration 5 &
pid=$!
sleep 2
for cmd in "uname -r" "date" "ls /" "true"; do
  $cmd >/dev/null
done
wait $pid
