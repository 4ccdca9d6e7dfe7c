#!/usr/bin/env bash
# How a job of two processes ends when one of them fails, and training that
# resumes at another world size.
#
#   failure_test.sh DIST_WORKER [REDES_CLI] [MPIRUN]
#
# Each scenario runs under mpirun with a hard time limit and prints PASS or
# FAIL lines; the script exits non-zero when any check failed. An empty
# REDES_CLI (a build without the examples) skips the resume scenarios.
set -euo pipefail

worker=${1:?usage: failure_test.sh DIST_WORKER [REDES_CLI] [MPIRUN]}
cli=${2:-}
mpirun=${3:-mpirun}

# Root is refused by Open MPI unless allowed; two ranks may exceed the cores
# of a CI machine. TCP (with self for a rank's messages to itself) works in
# containers where shared memory between processes may be restricted.
mpi=("$mpirun" -np 2 --allow-run-as-root --oversubscribe --mca btl "self,tcp")
# Two ranks, each with an OpenMP team as large as the machine, would fight
# over the cores; one thread each keeps the timings meaningful.
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failed=0

check() {
  if "${@:2}"; then
    echo "PASS: $1"
  else
    echo "FAIL: $1"
    failed=1
  fi
}

# run NAME LIMIT COMMAND...: runs COMMAND with stdout and stderr in
# $work/NAME.out and $work/NAME.err, killed after LIMIT seconds; sets
# `status` (124: the limit ended it) and `elapsed` (seconds, two decimals).
run() {
  local name=$1 limit=$2
  shift 2
  local start
  start=$(date +%s.%N)
  set +e
  timeout --kill-after=10 "$limit" "$@" >"$work/$name.out" 2>"$work/$name.err"
  status=$?
  set -e
  elapsed=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }')
  echo "$name: exit $status after $elapsed s"
}

# Shows a scenario's output, for a FAIL to be read from the ctest log.
show() {
  sed "s/^/  $1 stdout: /" "$work/$1.out" | tail -n 20
  sed "s/^/  $1 stderr: /" "$work/$1.err" | tail -n 20
}

# shellcheck disable=SC2317  # called through check
less_than() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a < b) }'; }

# Collectives across two ranks give the expected values.
run allreduce 120 "${mpi[@]}" "$worker" allreduce
show allreduce
check "allreduce: mpirun exits 0" test "$status" -eq 0
check "allreduce: rank 0 ok" grep -q "^rank 0 of 2: ok (local rank 0)" "$work/allreduce.out"
check "allreduce: rank 1 ok, on the same host" grep -q "^rank 1 of 2: ok (local rank 1)" "$work/allreduce.out"

# Rank 1 is killed by SIGKILL mid-loop. The watchdog is set far off, so
# that only the launcher noticing the dead rank can end the job in time.
run die 100 "${mpi[@]}" -x REDES_DIST_TIMEOUT=90 "$worker" die
show die
check "die: mpirun exits non-zero" test "$status" -ne 0
# (mpirun exits 137 here, 128 + SIGKILL, passing on how rank 1 died.)
check "die: not ended by the time limit" test "$status" -ne 124
check "die: the job ends within 20 s (took $elapsed s)" less_than "$elapsed" 20
check "die: rank 0 did not finish its loop" bash -c "! grep -q 'loop finished' '$work/die.out'"
check "die: the launcher, not the watchdog, ended it" bash -c "! grep -q 'did not complete within' '$work/die.err'"

# Rank 1 skips a barrier; rank 0's watchdog must end the job after 3 s
# instead of letting it hang for rank 1's 60 s sleep.
run diverge 100 "${mpi[@]}" -x REDES_DIST_TIMEOUT=3 "$worker" diverge
show diverge
check "diverge: mpirun exits non-zero" test "$status" -ne 0
check "diverge: not ended by the time limit" test "$status" -ne 124
check "diverge: the job ends within 10 s (took $elapsed s)" less_than "$elapsed" 10
check "diverge: the watchdog names the stuck collective" \
  grep -q "rank 0 of 2: barrier did not complete within 3 s" "$work/diverge.err"

# A checkpoint holds no trace of the world size that wrote it: training
# started by two processes continues in one, and the other way round. The
# metrics file then has one line per epoch, none lost or repeated.
resume_case() {
  local name=$1 first=$2 second=$3
  local out=$work/$name
  local first_cmd=("$cli") second_cmd=("$cli")
  [[ $first == 2 ]] && first_cmd=("${mpi[@]}" "$cli")
  [[ $second == 2 ]] && second_cmd=("${mpi[@]}" "$cli")
  run "$name-first" 200 "${first_cmd[@]}" train cars --dropout 0 --epochs 2 --out "$out"
  [[ $status -eq 0 ]] || show "$name-first"
  check "$name: $first process(es), 2 epochs" test "$status" -eq 0
  run "$name-resume" 200 "${second_cmd[@]}" train cars --dropout 0 --epochs 3 --resume --out "$out"
  [[ $status -eq 0 ]] || show "$name-resume"
  check "$name: $second process(es) resume to 3 epochs" test "$status" -eq 0
  check "$name: the second run resumed after epoch 2" grep -q "resuming after epoch 2" "$work/$name-resume.err"
  local metrics=$out/cars_dropout0.jsonl lines=0 epochs=""
  if [[ -f $metrics ]]; then
    lines=$(wc -l <"$metrics")
    epochs=$(grep -o '"epoch":[0-9]*' "$metrics" | cut -d: -f2 | tr '\n' ' ')
  fi
  check "$name: cars_dropout0.jsonl holds 3 lines (has $lines)" test "$lines" -eq 3
  check "$name: its epochs are 1 2 3 (are $epochs)" test "$epochs" = "1 2 3 "
}
cars_json=${REDES_CARS_JSON:-/usr/lib/python3/dist-packages/vega_datasets/_data/cars.json}
if [[ -z $cli ]]; then
  echo "SKIP: resume at another world size (no redes CLI given)"
elif [[ ! -f $cars_json ]]; then
  echo "SKIP: resume at another world size (no $cars_json: Debian package python3-vega-datasets)"
else
  resume_case resume-2-to-1 2 1
  resume_case resume-1-to-2 1 2
fi

exit "$failed"
