#!/usr/bin/env bash
# Checks redes on a GPU machine from the folder `./run gpu-bundle` builds:
#
#   bash <bundle>/gpu-check.sh OUTDIR
#
# Five stages, each with its own time limit, 8 minutes in all
# (REDES_GPU_CHECK_SECONDS changes the total). Logs and JSON land in OUTDIR as
# each step ends, so a run that is killed still leaves what it did.
#   1 machine   nvidia-smi, driver, glibc, `redes info` (cuDNN version, CUDA
#               devices), the card and the peak numbers used for percentages
#   2 tests     every test program with REDES_REQUIRE_CUDA=1 (a CUDA test
#               that cannot run fails instead of skipping), gtest JSON per
#               program, a summary that names the tests still skipped
#   3 memcheck  compute-sanitizer memcheck on the CUDA cases of a few programs
#   4 bench     `redes bench <workload> --device cuda` for the five
#               workloads, then every *_bench program (Google Benchmark JSON)
#   5 table     one line per stage: status, seconds, counts
#
# Needs from the machine only the NVIDIA driver, the CUDA runtime libraries
# (the toolkit's lib64 and/or a Python venv's nvidia/*/lib folders),
# nvidia-smi, compute-sanitizer, python3, timeout and xz; everything else is
# in the bundle. The exit status is 0 only when every stage passed.
set -uo pipefail

usage() {
  echo "usage: bash gpu-check.sh OUTDIR" >&2
  exit 2
}
[ $# -eq 1 ] || usage
[ "$1" = "--help" ] || [ "$1" = "-h" ] && usage

bundle=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
mkdir -p "$1" || exit 2
out=$(cd "$1" && pwd)
total_seconds=${REDES_GPU_CHECK_SECONDS:-480}
started=$SECONDS

# Stage limits in seconds (they add up to a little under the total; a stage
# never runs past the total either). REDES_GPU_CHECK_BENCH_SECONDS gives the
# benchmarks more time where the total allows it.
limit_machine=40
limit_tests=200
limit_memcheck=75
limit_bench=${REDES_GPU_CHECK_BENCH_SECONDS:-150}

export OMP_WAIT_POLICY=passive
export REDES_REQUIRE_CUDA=1
export REDES_FIXTURE_DIR="$bundle/fixtures"
export REDES_CLI="$bundle/bin/redes"
data="$bundle/data"

work=$(mktemp -d "${TMPDIR:-/tmp}/redes-gpu-check.XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT

log() { printf '%s\n' "$*" | tee -a "$out/gpu-check.log"; }
: > "$out/gpu-check.log"
: > "$out/stages.jsonl"

# The smaller of a step's own limit and what is left of its stage.
limit_within() {
  local own=$1 stage_end=$2 left
  left=$((stage_end - SECONDS))
  [ "$left" -lt "$own" ] && own=$left
  [ "$own" -lt 1 ] && own=0
  echo "$own"
}

# run_limited SECONDS LOGFILE COMMAND...: the command's status, 124 when it
# ran out of time (or 125 when no time was left to start it).
run_limited() {
  local seconds=$1 logfile=$2
  shift 2
  if [ "$seconds" -lt 1 ]; then
    echo "not started: no time left" > "$logfile"
    return 125
  fi
  timeout --kill-after=5 "$seconds" "$@" > "$logfile" 2>&1
}

describe_status() {
  case $1 in
    0) echo "ok" ;;
    124 | 137) echo "timed out" ;;
    125) echo "not started (no time left)" ;;
    126 | 127) echo "could not run (status $1)" ;;
    *) if [ "$1" -gt 128 ]; then echo "killed by signal $(($1 - 128))"; else echo "failed (status $1)"; fi ;;
  esac
}

json_string() {
  local s=${1//\\/\\\\}
  s=${s//\"/\\\"}
  s=${s//$'\n'/ }
  s=${s//$'\t'/ }
  printf '"%s"' "$s"
}

stage_names=()
stage_statuses=()
stage_seconds=()
stage_counts=()

# end_stage NAME STATUS START COUNTS: records a stage (and appends it to stages.jsonl).
# begin_stage SECONDS: stage_start is now, stage_end SECONDS later, but no
# later than the end of the whole check.
begin_stage() {
  stage_start=$SECONDS
  stage_end=$((SECONDS + $1))
  [ "$stage_end" -gt $((started + total_seconds)) ] && stage_end=$((started + total_seconds))
  return 0
}

end_stage() {
  local name=$1 status=$2 start=$3 counts=$4 seconds
  seconds=$((SECONDS - start))
  stage_names+=("$name")
  stage_statuses+=("$status")
  stage_seconds+=("$seconds")
  stage_counts+=("$counts")
  printf '{"stage": %s, "status": %s, "seconds": %d, "counts": %s}\n' "$(json_string "$name")" \
    "$(json_string "$status")" "$seconds" "$(json_string "$counts")" >> "$out/stages.jsonl"
  log "=== stage $name: $status ($seconds s) $counts"
}

# --- libraries -------------------------------------------------------------
# The bundle's lib/ (found through RUNPATH too), OpenBLAS and the libraries
# the machine may lack unpacked or linked into $work/lib, the venv's NVIDIA
# libraries, the CUDA toolkit's lib64.
mkdir -p "$work/lib"
library_notes=()
for packed in "$bundle"/lib/xz/*.xz; do
  [ -e "$packed" ] || continue
  name=$(basename "$packed" .xz)
  if command -v xz > /dev/null; then
    xz -dc "$packed" > "$work/lib/$name"
  else
    python3 -c 'import lzma,sys,shutil; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2], "wb"))' \
      "$packed" "$work/lib/$name"
  fi || library_notes+=("could not unpack $name")
done

# A library of lib/fallback/ is used only when the machine has none of that name.
system_library() {
  { ldconfig -p || /sbin/ldconfig -p; } 2> /dev/null | awk -v n="$1" '$1 == n && /x86-64/ { print $NF; exit }'
}
for fallback in "$bundle"/lib/fallback/*; do
  [ -e "$fallback" ] || continue
  name=$(basename "$fallback")
  if [ -z "$(system_library "$name")" ]; then
    ln -s "$fallback" "$work/lib/$name"
    library_notes+=("using the bundle's $name (the machine has none)")
  fi
done

nvidia_site=""
for python in python3 "${VIRTUAL_ENV:+$VIRTUAL_ENV/bin/python3}"; do
  [ -n "$python" ] || continue
  nvidia_site=$(timeout 30 "$python" -c 'import nvidia,os;print(os.path.dirname(nvidia.__path__[0]))' 2> /dev/null) &&
    [ -n "$nvidia_site" ] && break
  nvidia_site=""
done
libpath="$bundle/lib:$work/lib"
if [ -n "$nvidia_site" ]; then
  for dir in "$nvidia_site"/nvidia/*/lib; do
    [ -d "$dir" ] && libpath="$libpath:$dir"
  done
else
  library_notes+=("no Python package 'nvidia' found (python3 -c 'import nvidia' failed): no venv CUDA libraries")
fi
[ -d /usr/local/cuda/lib64 ] && libpath="$libpath:/usr/local/cuda/lib64"
export LD_LIBRARY_PATH="$libpath${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"

log "redes GPU check: bundle $bundle, output $out, $(date -u '+%Y-%m-%d %H:%M:%S UTC'), $total_seconds s in all"
log "LD_LIBRARY_PATH=$LD_LIBRARY_PATH"
for note in "${library_notes[@]}"; do log "note: $note"; done

# --- 1 machine -------------------------------------------------------------
begin_stage "$limit_machine"
machine_problems=()
gpu_name=""
driver=""
if command -v nvidia-smi > /dev/null; then
  run_limited "$(limit_within 20 "$stage_end")" "$out/nvidia-smi.txt" nvidia-smi
  smi_status=$?
  if [ $smi_status -eq 0 ]; then
    query=$(timeout 20 nvidia-smi --query-gpu=name,driver_version,memory.total,compute_cap --format=csv,noheader 2>&1 |
      head -n 1)
    gpu_name=$(echo "$query" | cut -d, -f1 | sed 's/^ *//; s/ *$//')
    driver=$(echo "$query" | cut -d, -f2 | sed 's/^ *//; s/ *$//')
  else
    machine_problems+=("nvidia-smi: $(describe_status $smi_status): $(tail -n 1 "$out/nvidia-smi.txt")")
  fi
else
  echo "nvidia-smi not found" > "$out/nvidia-smi.txt"
  machine_problems+=("nvidia-smi not found (no NVIDIA driver on this machine?)")
fi
glibc=$(getconf GNU_LIBC_VERSION 2> /dev/null || ldd --version 2> /dev/null | head -n 1)
# The bundle was built against a newer glibc/libstdc++ than some machines have.
glibc_needed=$(awk -F': ' '$1 == "needs GLIBC" { print $2 }' "$bundle/manifest.txt" 2> /dev/null)
glibcxx_needed=$(awk -F': ' '$1 == "needs GLIBCXX" { print $2 }' "$bundle/manifest.txt" 2> /dev/null)
glibc_have=${glibc##* }
if [ -n "$glibc_needed" ] && [ -n "$glibc_have" ] &&
  [ "$(printf '%s\n%s\n' "${glibc_needed#GLIBC_}" "$glibc_have" | sort -V | head -n 1)" != "${glibc_needed#GLIBC_}" ]; then
  machine_problems+=("glibc $glibc_have is older than the $glibc_needed the bundle needs")
fi
libstdcxx=$(system_library libstdc++.so.6)
if [ -n "$glibcxx_needed" ] && { [ -z "$libstdcxx" ] || ! grep -qa "$glibcxx_needed" "$libstdcxx"; }; then
  machine_problems+=("the system libstdc++ (${libstdcxx:-none}) lacks $glibcxx_needed, which the bundle needs")
fi

# Every library the programs need, found with this LD_LIBRARY_PATH?
for file in "$bundle"/bin/* "$bundle"/lib/*.so*; do
  [ -f "$file" ] && ldd "$file" 2>&1 | sed -n "s|^\t*\(.*\) => not found|$(basename "$file"): \1 not found|p"
done | sort -u > "$out/missing-libraries.txt"
if [ -s "$out/missing-libraries.txt" ]; then
  machine_problems+=("libraries not found: $(cut -d' ' -f2 "$out/missing-libraries.txt" | sort -u | tr '\n' ' ')")
fi

run_limited "$(limit_within 30 "$stage_end")" "$out/redes-info.txt" "$bundle/bin/redes" info
info_status=$?
cudnn=$(awk '/^cuDNN library:/ { print $3 }' "$out/redes-info.txt")
cuda_devices=$(grep -c '^cuda:[0-9]*:' "$out/redes-info.txt")
if [ $info_status -ne 0 ]; then
  machine_problems+=("redes info: $(describe_status $info_status): $(tail -n 1 "$out/redes-info.txt")")
elif [ "$cuda_devices" -eq 0 ]; then
  machine_problems+=("redes sees no GPU: $(sed -n 's/^CUDA devices: none (\(.*\))$/\1/p' "$out/redes-info.txt")")
fi
# libredes loads cuDNN at run time: a machine without a usable one still runs
# everything else, but the cuDNN tests would fail, so say why up front.
cudnn_problem=$(sed -n 's/^cuDNN unusable here, the hand-written kernels run instead: //p' "$out/redes-info.txt")
[ -n "$cudnn_problem" ] && machine_problems+=("cuDNN unusable: $cudnn_problem")
[ -z "$gpu_name" ] && gpu_name=$(sed -n 's/^cuda:0: \([^,]*\),.*/\1/p' "$out/redes-info.txt")

# Peak numbers of the card the run got, SXM versions (FP32 non-tensor TFLOP/s,
# HBM TB/s); the PCIe and NVL versions differ and get none.
card=unknown
peak_tflops=null
peak_tbps=null
case $gpu_name in
  *PCIe* | *NVL*) ;;
  *H200*) card=H200 peak_tflops=67 peak_tbps=4.8 ;;
  *H100*) card=H100 peak_tflops=67 peak_tbps=3.35 ;;
esac
printf '{"date": %s, "gpu": %s, "card": %s, "driver": %s, "glibc": %s, "glibc_needed": %s, "cudnn": %s, "cuda_devices": %d, "peak_fp32_tflops": %s, "peak_hbm_tbps": %s}\n' \
  "$(json_string "$(date -u '+%Y-%m-%dT%H:%M:%SZ')")" "$(json_string "$gpu_name")" "$(json_string "$card")" \
  "$(json_string "$driver")" "$(json_string "$glibc")" "$(json_string "$glibc_needed")" "$(json_string "$cudnn")" \
  "$cuda_devices" "$peak_tflops" "$peak_tbps" > "$out/machine.json"
log "GPU: ${gpu_name:-none}; driver: ${driver:-none}; $glibc (bundle needs ${glibc_needed:-?}, ${glibcxx_needed:-?}); cuDNN: ${cudnn:-unknown}"
[ "$card" = unknown ] && [ -n "$gpu_name" ] && log "note: no peak numbers for '$gpu_name' (known: H100 and H200 SXM)"
if [ ${#machine_problems[@]} -eq 0 ]; then
  end_stage machine passed "$stage_start" "$cuda_devices CUDA device(s), card $card"
else
  for problem in "${machine_problems[@]}"; do log "NO GPU CHECK POSSIBLE: $problem"; done
  end_stage machine failed "$stage_start" "no usable GPU: ${machine_problems[0]}"
fi

# --- 2 tests ---------------------------------------------------------------
# Every gtest JSON of a folder -> one line per program: "name tests failed
# skipped [skipped test names]" (python3, one call for all).
gtest_counts() {
  python3 - "$1" << 'EOF' 2> /dev/null
import glob, json, os, sys
for path in sorted(glob.glob(os.path.join(sys.argv[1], "*.json"))):
    name = os.path.basename(path)[:-len(".json")]
    try:
        report = json.load(open(path))
    except (OSError, ValueError):
        continue
    tests = failed = 0
    skipped = []
    for suite in report.get("testsuites", []):
        for case in suite.get("testsuite", []):
            if case.get("status") != "RUN":
                continue
            tests += 1
            if case.get("failures"):
                failed += 1
            elif case.get("result") == "SKIPPED":
                skipped.append(f"{case.get('classname')}.{case.get('name')}")
    print(name, tests, failed, len(skipped), " ".join(skipped))
EOF
}

begin_stage "$limit_tests"
mkdir -p "$out/tests"
jobs=${REDES_GPU_CHECK_JOBS:-4}
threads=$(($(nproc) / jobs))
[ "$threads" -lt 1 ] && threads=1
# The longest program (CPU only) first, with every core, so it overlaps the others.
programs=()
[ -x "$bundle/bin/memorise_test" ] && programs+=("$bundle/bin/memorise_test")
for program in "$bundle"/bin/*_test; do
  [ "$(basename "$program")" = memorise_test ] || programs+=("$program")
done
# The slow CPU-only program may use the whole stage; the others 150 s each.
run_test_program() {
  local program=$1 name start status own=150
  name=$(basename "$program")
  local program_threads=$threads
  if [ "$name" = memorise_test ]; then
    own=$limit_tests
    program_threads=$(nproc)
  fi
  start=$SECONDS
  OMP_NUM_THREADS=$program_threads run_limited "$(limit_within "$own" "$stage_end")" "$out/tests/$name.log" \
    "$program" --gtest_output="json:$out/tests/$name.json"
  status=$?
  echo "$status $((SECONDS - start))" > "$work/$name.status"
}
running=0
for program in "${programs[@]}"; do
  if [ "$running" -ge "$jobs" ]; then
    wait -n
    running=$((running - 1))
  fi
  run_test_program "$program" &
  running=$((running + 1))
done
wait
programs_passed=0
programs_failed=0
tests_total=0
tests_failed=0
tests_skipped=0
: > "$out/tests-summary.txt"
gtest_counts "$out/tests" > "$work/test-counts.txt"
for program in "${programs[@]}"; do
  name=$(basename "$program")
  status=125 seconds=0
  [ -f "$work/$name.status" ] && read -r status seconds < "$work/$name.status"
  counts=$(awk -v n="$name" '$1 == n { $1 = ""; print; exit }' "$work/test-counts.txt")
  read -r tests failed skipped skipped_names <<< "${counts:-? ? ?}"
  [[ $tests =~ ^[0-9]+$ ]] && tests_total=$((tests_total + tests))
  [[ $failed =~ ^[0-9]+$ ]] && tests_failed=$((tests_failed + failed))
  [[ $skipped =~ ^[0-9]+$ ]] && tests_skipped=$((tests_skipped + skipped))
  if [ "$status" -eq 0 ]; then
    programs_passed=$((programs_passed + 1))
    verdict=passed
  else
    programs_failed=$((programs_failed + 1))
    verdict="FAILED: $(describe_status "$status")"
  fi
  [ -n "$skipped_names" ] && verdict="$verdict; skipped (reasons in tests/$name.log): $skipped_names"
  printf '%-26s %4s tests %4s failed %4s skipped %4ss  %s\n' "$name" "$tests" "$failed" "$skipped" "$seconds" \
    "$verdict" | tee -a "$out/tests-summary.txt"
done
test_counts="$programs_passed/${#programs[@]} programs passed; $tests_total tests, $tests_failed failed, $tests_skipped skipped"
if [ ${#programs[@]} -gt 0 ] && [ "$programs_failed" -eq 0 ]; then
  end_stage tests passed "$stage_start" "$test_counts"
else
  end_stage tests failed "$stage_start" "$test_counts"
fi

# --- 3 memcheck ------------------------------------------------------------
begin_stage "$limit_memcheck"
mkdir -p "$out/memcheck"
sanitizer=$(command -v compute-sanitizer || true)
[ -z "$sanitizer" ] && [ -x /usr/local/cuda/bin/compute-sanitizer ] && sanitizer=/usr/local/cuda/bin/compute-sanitizer
memcheck_programs=(elementwise_test reduce_test matmul_test conv2d_test pool2d_test lstm_test)
if [ "$cuda_devices" -eq 0 ]; then
  end_stage memcheck skipped "$stage_start" "no GPU (stage 1)$([ -n "$sanitizer" ] || echo "; no compute-sanitizer either")"
elif [ -z "$sanitizer" ]; then
  end_stage memcheck failed "$stage_start" "compute-sanitizer not found (PATH, /usr/local/cuda/bin)"
else
  clean=0
  dirty=()
  unfinished=()
  index=0
  for name in "${memcheck_programs[@]}"; do
    index=$((index + 1))
    [ -x "$bundle/bin/$name" ] || continue
    # An even share of what is left of the stage.
    share=$(((stage_end - SECONDS) / (${#memcheck_programs[@]} - index + 1)))
    run_limited "$(limit_within "$share" "$stage_end")" "$out/memcheck/$name.log" "$sanitizer" --tool memcheck \
      --leak-check no --error-exitcode 99 --print-limit 20 "$bundle/bin/$name" \
      --gtest_filter='*cuda*:*Cuda*:*CUDA*' --gtest_output="json:$out/memcheck/$name.json"
    status=$?
    # A program that ran out of time found nothing up to then: unfinished, not dirty.
    if [ $status -eq 0 ]; then
      clean=$((clean + 1))
    elif [ $status -eq 124 ] || [ $status -eq 125 ] || [ $status -eq 137 ]; then
      unfinished+=("$name")
    else
      dirty+=("$name: $(describe_status $status)")
    fi
    summary=$(grep -o 'ERROR SUMMARY: .*' "$out/memcheck/$name.log" | tail -n 1)
    log "memcheck $name: $(describe_status $status)${summary:+ ($summary)}"
  done
  if [ ${#dirty[@]} -gt 0 ]; then
    end_stage memcheck failed "$stage_start" "$clean clean; ${dirty[*]}"
  elif [ ${#unfinished[@]} -gt 0 ]; then
    end_stage memcheck partial "$stage_start" "$clean clean, no errors before the time limit in ${unfinished[*]}"
  else
    end_stage memcheck passed "$stage_start" "$clean programs clean"
  fi
fi

# --- 4 bench ---------------------------------------------------------------
begin_stage "$limit_bench"
mkdir -p "$out/bench"
bench_ok=0
bench_bad=()
# The workloads first (short and bounded), then the kernel benchmarks.
: > "$out/workloads.jsonl"
for workload in cars fashion cifar seattle fashion-seq; do
  case $workload in
    cars) data_flag=(--data "$data/cars.json") ;;
    fashion | fashion-seq) data_flag=(--data "$data/fashion-mnist") ;;
    seattle) data_flag=(--data "$data/seattle-temps.csv") ;;
    *) data_flag=() ;;  # cifar: synthetic data
  esac
  run_limited "$(limit_within 40 "$stage_end")" "$out/bench/workload-$workload.log" "$bundle/bin/redes" bench \
    "$workload" --device cuda --epochs 3 --max-batches 10 "${data_flag[@]}"
  status=$?
  grep '^{"workload"' "$out/bench/workload-$workload.log" >> "$out/workloads.jsonl"
  if [ $status -eq 0 ]; then bench_ok=$((bench_ok + 1)); else bench_bad+=("redes bench $workload: $(describe_status $status)"); fi
  log "redes bench $workload --device cuda: $(describe_status $status)"
done
# cuDNN against the hand kernels first: the comparison the GPU is rarest for.
bench_programs=()
[ -x "$bundle/bin/cudnn_vs_hand_bench" ] && bench_programs+=("$bundle/bin/cudnn_vs_hand_bench")
for program in "$bundle"/bin/*_bench; do
  [ "$(basename "$program")" = cudnn_vs_hand_bench ] || bench_programs+=("$program")
done
for program in "${bench_programs[@]}"; do
  [ -x "$program" ] || continue
  name=$(basename "$program")
  run_limited "$(limit_within 45 "$stage_end")" "$out/bench/$name.log" "$program" \
    --benchmark_min_time="${REDES_BENCH_MIN_TIME:-0.05}" --benchmark_filter="${REDES_BENCH_FILTER:-.}" \
    --benchmark_out="$out/bench/$name.json" --benchmark_out_format=json
  status=$?
  # A case that failed its correctness check reports error_occurred.
  if [ $status -eq 0 ] && grep -q '"error_occurred": true' "$out/bench/$name.json" 2> /dev/null; then status=1; fi
  # Plain programs (cudnn_vs_hand_bench) ignore the flags and print JSON lines:
  # a disagreement or a skip on a GPU machine is a failure.
  grep '^{"bench"' "$out/bench/$name.log" >> "$out/kernels.jsonl" 2> /dev/null
  if [ $status -eq 0 ] && grep -q '"error":\|: skipped' "$out/bench/$name.log" 2> /dev/null; then status=1; fi
  if [ $status -eq 0 ]; then bench_ok=$((bench_ok + 1)); else bench_bad+=("$name: $(describe_status $status)"); fi
  log "bench $name: $(describe_status $status)"
done
# Medians with their share of the card's peak.
python3 - "$out" "$peak_tflops" "$peak_tbps" << 'EOF' 2> "$out/bench-summary.err" | tee "$out/bench-summary.txt"
import glob, json, os, sys
out, tflops, tbps = sys.argv[1], sys.argv[2], sys.argv[3]
tflops = None if tflops == "null" else float(tflops)
tbps = None if tbps == "null" else float(tbps)
print(f"{'benchmark (median)':58} {'time':>12} {'rate':>16} {'of peak':>8}")
for path in sorted(glob.glob(os.path.join(out, "bench", "*_bench.json"))):
    try:
        report = json.load(open(path))
    except (OSError, ValueError):
        print(f"{os.path.basename(path)}: unreadable")
        continue
    for run in report.get("benchmarks", []):
        if run.get("aggregate_name", "median") != "median" or run.get("error_occurred"):
            continue
        rate, peak = "", ""
        if "GB/s" in run:
            rate = f"{run['GB/s']:.1f} GB/s"
            if tbps and "cuda" in run["name"]:
                peak = f"{100 * run['GB/s'] / (1000 * tbps):.0f}%"
        elif "GFLOP/s" in run:
            rate = f"{run['GFLOP/s']:.1f} GFLOP/s"
            if tflops and "cuda" in run["name"]:
                peak = f"{100 * run['GFLOP/s'] / (1000 * tflops):.1f}%"
        time = f"{run['real_time']:.3f} {run.get('time_unit', '')}"
        print(f"{run['name'][:58]:58} {time:>12} {rate:>16} {peak:>8}")
for line in open(os.path.join(out, "workloads.jsonl")):
    try:
        r = json.loads(line)
    except ValueError:
        continue
    print(f"{r.get('workload', '?')} {r.get('device', '?')}: {r.get('metric', '?')} = {r.get('value')} {r.get('unit', '')}")
EOF
if [ ${#bench_bad[@]} -eq 0 ] && [ "$bench_ok" -gt 0 ]; then
  end_stage bench passed "$stage_start" "$bench_ok runs passed"
else
  for bad in "${bench_bad[@]}"; do log "bench failure: $bad"; done
  end_stage bench failed "$stage_start" "$bench_ok runs passed, ${#bench_bad[@]} failed (logs in bench/)"
fi

# --- 5 table ---------------------------------------------------------------
{
  echo
  echo "redes GPU check, $(date -u '+%Y-%m-%d %H:%M UTC'), GPU: ${gpu_name:-none}, results in $out"
  printf '%-9s %-8s %7s  %s\n' stage status seconds counts
  for i in "${!stage_names[@]}"; do
    printf '%-9s %-8s %7s  %s\n' "${stage_names[$i]}" "${stage_statuses[$i]}" "${stage_seconds[$i]}" "${stage_counts[$i]}"
  done
  echo "total: $((SECONDS - started)) s"
} | tee "$out/table.txt" | tee -a "$out/gpu-check.log"
for status in "${stage_statuses[@]}"; do
  [ "$status" = passed ] || exit 1
done
exit 0
