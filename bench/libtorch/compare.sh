#!/usr/bin/env bash
# Side-by-side CPU training-step times of redes and libtorch 1.13 (Debian's
# libtorch-dev) on the reference workloads W1-W5; see README.md here.
#
#   bench/libtorch/compare.sh [workload ...]
#     (cars, cars-dropout, fashion, cifar, seattle, fashion-seq; default: all six;
#      cars-dropout is W1 with dropout 0.3, cars W1 without)
#
# Environment:
#   REDES_BIN       the redes command (default: build/cli/redes)
#   LIBTORCH_COMPARE_BUILD
#                   where the libtorch program is built (default: build-libtorch-compare/)
#   ROUNDS          rounds of redes and libtorch runs, alternating (default 3)
#   THREADS         CPU threads for both: REDES_NUM_THREADS and torch::set_num_threads (default 2)
#   OMP_WAIT_POLICY the OpenMP wait policy of both: active, passive, or unset (libgomp's
#                   default: spin a while, then sleep); default passive, as ./run sets it
#   LIBTORCH_OMP_WAIT_POLICY
#                   libtorch's, if it should differ (same values); default: redes' policy
#   CXX             the compiler (default g++)
#   PRECISION       redes' --precision: fp32 (default), bf16 or fp16 (libtorch stays float32)
#
# libtorch is never a dependency of the redes build: this script compiles its
# one program with a single g++ command, and nothing in CMake refers to it.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
build_dir=${LIBTORCH_COMPARE_BUILD:-$root/build-libtorch-compare}
redes_bin=${REDES_BIN:-$root/build/cli/redes}
rounds=${ROUNDS:-3}
threads=${THREADS:-2}
cxx=${CXX:-g++}
precision=${PRECISION:-fp32}

die() {
  echo "compare.sh: $*" >&2
  exit 1
}

[[ $rounds =~ ^[1-9][0-9]*$ ]] || die "ROUNDS must be a positive whole number, got '$rounds'"
[[ $threads =~ ^[1-9][0-9]*$ ]] || die "THREADS must be a positive whole number, got '$threads'"
[[ $precision =~ ^(fp32|bf16|fp16)$ ]] || die "PRECISION must be fp32, bf16 or fp16, got '$precision'"
redes_policy=${OMP_WAIT_POLICY:-passive}
libtorch_policy=${LIBTORCH_OMP_WAIT_POLICY:-$redes_policy}
for policy in "$redes_policy" "$libtorch_policy"; do
  [[ $policy =~ ^(active|passive|unset)$ ]] || die "OMP_WAIT_POLICY and LIBTORCH_OMP_WAIT_POLICY: active, passive or unset, got '$policy'"
done
# The command prefix that gives a run the OpenMP wait policy $1.
with_policy() { if [[ $1 == unset ]]; then echo "env -u OMP_WAIT_POLICY"; else echo "env OMP_WAIT_POLICY=$1"; fi; }

# Debian's libtorch-dev: headers under /usr/include and
# /usr/include/torch/csrc/api/include, libraries in the multiarch folder.
libdir=/usr/lib/$(gcc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)
if [[ ! -f /usr/include/torch/csrc/api/include/torch/torch.h || ! -e $libdir/libtorch_cpu.so ]]; then
  die "libtorch-dev is not installed (no /usr/include/torch/csrc/api/include/torch/torch.h or $libdir/libtorch_cpu.so); install it with: apt-get install libtorch-dev"
fi
[[ -x $redes_bin ]] || die "no redes command at $redes_bin; build redes first (./run test, or cmake --preset default && cmake --build --preset default) or set REDES_BIN"

# Build the libtorch program when it is missing or older than its source.
# Debian's libtorch is built with the new libstdc++ ABI (TorchConfig.cmake:
# TORCH_CXX_FLAGS=-D_GLIBCXX_USE_CXX11_ABI=1). libtorch.so itself is only a
# stub that pulls in the CPU library, so it is linked with --no-as-needed.
source_file=$here/libtorch_workloads.cpp
program=$build_dir/libtorch_workloads
if [[ ! -x $program || $source_file -nt $program ]]; then
  mkdir -p "$build_dir"
  echo "building $program (one g++ run, about a minute) ..." >&2
  "$cxx" -std=c++17 -O2 -DNDEBUG -D_GLIBCXX_USE_CXX11_ABI=1 \
    -I/usr/include/torch/csrc/api/include \
    "$source_file" -o "$program.tmp" \
    -L"$libdir" -Wl,--no-as-needed -ltorch -ltorch_cpu -lc10 -Wl,--as-needed -pthread ||
    die "building the libtorch program failed (command above); is libtorch-dev complete? apt-get install libtorch-dev"
  mv "$program.tmp" "$program"
fi

# Per workload: the JSON name, the redes bench arguments, the batch, the
# batches per epoch (kept small so that one round of all six takes about a
# minute on 2 cores; W1's data has 10 batches), the timed epochs, and the
# parameter count of the model (from the layer shapes; redes has the same,
# see README.md).
declare -A json_name=([cars]=cars-mlp [cars-dropout]=cars-mlp-dropout [fashion]=fashion-lenet [cifar]=cifar-cnn
  [seattle]=seattle-lstm [fashion-seq]=fashion-seq-lstm)
declare -A redes_args=([cars]="cars --dropout 0" [cars-dropout]="cars --dropout 0.3" [fashion]=fashion [cifar]=cifar
  [seattle]=seattle [fashion-seq]=fashion-seq)
declare -A batch=([cars]=32 [cars-dropout]=32 [fashion]=64 [cifar]=128 [seattle]=64 [fashion-seq]=128)
declare -A batches=([cars]=10 [cars-dropout]=10 [fashion]=40 [cifar]=8 [seattle]=40 [fashion-seq]=10)
declare -A parameters=([cars]=4865 [cars-dropout]=4865 [fashion]=61706 [cifar]=964516 [seattle]=17217
  [fashion-seq]=82186)
# redes bench: a warm-up epoch, then the timed epochs; it reports the median
# over the timed epochs of (epoch seconds / steps). libtorch does the same:
# `batches` warm-up steps, then timed_epochs * batches timed steps cut into
# timed_epochs epochs. W1's steps take a fraction of a millisecond, so it
# times more epochs.
declare -A timed_epochs=([cars]=20 [cars-dropout]=20 [fashion]=2 [cifar]=2 [seattle]=2 [fashion-seq]=2)

workloads=("$@")
[[ ${#workloads[@]} -gt 0 ]] || workloads=(cars cars-dropout fashion cifar seattle fashion-seq)
for w in "${workloads[@]}"; do
  [[ -n ${json_name[$w]:-} ]] || die "unknown workload '$w' (cars, cars-dropout, fashion, cifar, seattle, fashion-seq)"
done

# The step time of a run's output in milliseconds: its step_milliseconds line,
# or its step_microseconds line (redes reports W1's steps in microseconds).
step_ms() {
  local ms us
  ms=$(sed -n 's/.*"metric": *"step_milliseconds", *"value": *\([-0-9.eE+]*\).*/\1/p' <<<"$1" | head -n 1)
  if [[ -n $ms ]]; then
    echo "$ms"
    return
  fi
  us=$(sed -n 's/.*"metric": *"step_microseconds", *"value": *\([-0-9.eE+]*\).*/\1/p' <<<"$1" | head -n 1)
  [[ -n $us ]] && awk -v us="$us" 'BEGIN {printf "%.6g\n", us / 1000}'
}

run_redes() {
  local w=$1 out
  # shellcheck disable=SC2086 # redes_args holds the workload and its options, split on purpose
  out=$($(with_policy "$redes_policy") REDES_NUM_THREADS="$threads" "$redes_bin" bench ${redes_args[$w]} --device cpu \
    --max-batches "${batches[$w]}" --epochs $((1 + timed_epochs[$w])) --precision "$precision" 2>&1) || die "redes bench $w failed:"$'\n'"$out"
  local value
  value=$(step_ms "$out")
  [[ -n $value ]] || die "redes bench $w printed no step_milliseconds line:"$'\n'"$out"
  echo "$value"
}

run_libtorch() {
  local w=$1 out err
  err=$(mktemp)
  if ! out=$($(with_policy "$libtorch_policy") "$program" "${json_name[$w]}" --threads "$threads" \
    --warmup "${batches[$w]}" --steps $((timed_epochs[$w] * batches[$w])) --epochs "${timed_epochs[$w]}" 2>"$err"); then
    local message
    message=$(cat "$err")
    rm -f "$err"
    die "libtorch_workloads ${json_name[$w]} failed:"$'\n'"$message"
  fi
  rm -f "$err"
  local value
  value=$(step_ms "$out")
  [[ -n $value ]] || die "libtorch_workloads ${json_name[$w]} printed no step_milliseconds line: $out"
  echo "$value"
}

median() { tr ' ' '\n' | sort -g | awk '{v[NR] = $1} END {print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2)}'; }

echo "redes: $redes_bin ($precision); libtorch: $program (float32); $threads threads; OMP_WAIT_POLICY redes $redes_policy," \
  "libtorch $libtorch_policy; rounds: $rounds;" \
  "load average before: $(cut -d ' ' -f 1-3 /proc/loadavg)" >&2
declare -A redes_runs libtorch_runs
for ((round = 1; round <= rounds; ++round)); do
  for w in "${workloads[@]}"; do
    # Alternate which goes first, so neither always runs on a warmer machine.
    if ((round % 2)); then
      r=$(run_redes "$w")
      t=$(run_libtorch "$w")
    else
      t=$(run_libtorch "$w")
      r=$(run_redes "$w")
    fi
    redes_runs[$w]+="$r "
    libtorch_runs[$w]+="$t "
    printf 'round %d %-17s redes %9.3f ms   libtorch %9.3f ms\n' "$round" "${json_name[$w]}" "$r" "$t" >&2
  done
done
echo "load average after: $(cut -d ' ' -f 1-3 /proc/loadavg)" >&2

# The parameter count of each libtorch model (from a one-step run's summary)
# must be redes' count.
echo
echo "| workload | batch | parameters | libtorch ms | redes ms | redes speed relative to libtorch |"
echo "|---|---|---|---|---|---|"
for w in "${workloads[@]}"; do
  n=$("$program" "${json_name[$w]}" --threads 1 --warmup 0 --steps 1 2>&1 >/dev/null |
    sed -n 's/^\([0-9][0-9]*\) parameters.*/\1/p')
  [[ $n == "${parameters[$w]}" ]] || die "${json_name[$w]}: the libtorch model has $n parameters, redes' ${parameters[$w]}"
  t=$(median <<<"${libtorch_runs[$w]% }")
  r=$(median <<<"${redes_runs[$w]% }")
  awk -v w="${json_name[$w]}" -v b="${batch[$w]}" -v n="$n" -v t="$t" -v r="$r" \
    'BEGIN {printf "| %s | %d | %d | %.4g | %.4g | %.2fx |\n", w, b, n, t, r, t / r}'
done
echo
sizes=""
for w in "${workloads[@]}"; do sizes+="${sizes:+, }${json_name[$w]} ${batches[$w]} x ${timed_epochs[$w]}"; done
echo "A step: batch gather + forward + loss + zero_grad + backward (+ gradient clipping in fashion-seq-lstm) +" \
  "optimizer step. Each run: a warm-up epoch, then the median over the timed epochs of the mean step" \
  "(batches per epoch x timed epochs: $sizes); each column: the median over $rounds round(s); $threads threads;" \
  "OMP_WAIT_POLICY redes $redes_policy, libtorch $libtorch_policy; redes --precision $precision, libtorch float32." \
  "Relative speed = libtorch ms / redes ms (above 1x: redes is faster)."
