#!/usr/bin/env bash
# A short bounded run of every reader's fuzz target, starting from the seed
# inputs in fuzz/seeds/ (small valid files of each format, so the fuzzer
# mutates real structure from its first second).
#   fuzz/run_bounded.sh [SECONDS_PER_TARGET]   (default 60)
# Needs the `fuzz` preset built. A crash, leak, sanitizer report or hang fails
# the run; the input that caused it is kept as build-fuzz/fuzz/crash-* (or
# leak-*, timeout-*).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
for target in cars idx csv cifar; do
  corpus=build-fuzz/corpus/$target
  mkdir -p "$corpus"
  cp fuzz/seeds/"$target"/* "$corpus"/
  echo "==> fuzz_$target for ${seconds} s"
  log=build-fuzz/fuzz/fuzz_$target.log
  status=0
  ./build-fuzz/fuzz/fuzz_"$target" "$corpus" -max_total_time="$seconds" -max_len=4096 \
    -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 -artifact_prefix=build-fuzz/fuzz/ >"$log" 2>&1 || status=$?
  # The summary and any sanitizer report; libFuzzer's progress lines stay in the log.
  grep -E '^(stat::number_of_executed_units|stat::new_units_added|==[0-9]+==|SUMMARY|artifact_prefix|Test unit written)' "$log" || true
  if [ "$status" -ne 0 ]; then
    tail -n 40 "$log" >&2
    echo "fuzz_$target failed (exit status $status); full log: $log" >&2
    exit 1
  fi
done
