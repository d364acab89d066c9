#!/usr/bin/env bash
# Runs lanes side by side; each lane runs its steps in order and stops at its first failing step. Fails when any
# step fails. Each lane's output goes to test-reports/<lane>.log and is printed, whole and in lane order, once all
# lanes have finished; then one line per step with its wall and CPU seconds (user + system of every process the
# step started), which are also written to test-reports/steps.tsv for `npx projen bench`.
# Usage: parallel.sh --lane NAME STEP "COMMAND" [STEP "COMMAND" ...] [--lane NAME STEP "COMMAND" ...]
set -u
mkdir -p test-reports
rm -f test-reports/steps.*.tsv

# STEP COMMAND: runs COMMAND in a shell of its own and appends "lane, step, status, wall s, CPU s" to the lane's file.
run_step() {
  local started=$EPOCHREALTIME status times_file
  times_file=$(mktemp)
  bash -c "$2; status=\$?; times > '$times_file'; exit \$status"
  status=$?
  local wall cpu
  wall=$(awk -v a="$started" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
  # `times` prints the shell's own CPU time, then on its second line that of its finished child processes.
  cpu=$(tail -n 1 "$times_file" | awk '{ total = 0; for (i = 1; i <= NF; i++) { split($i, p, "m"); total += p[1] * 60 + p[2] } printf "%.1f", total }')
  rm -f "$times_file"
  printf '%s\t%s\t%s\t%s\t%s\n' "$lane" "$1" "$status" "$wall" "$cpu" >> "test-reports/steps.$lane.tsv"
  echo "(${lane} / $1: ${wall} s, ${cpu} CPU-s, exit ${status})"
  return $status
}

# NAME STEP COMMAND ...: the lane's steps in order, up to the first failure.
run_lane() {
  lane=$1
  shift
  while [ $# -ge 2 ]; do
    run_step "$1" "$2" || return 1
    shift 2
  done
}

lanes=()
pids=()
while [ $# -gt 0 ]; do
  [ "$1" = "--lane" ] || { echo "parallel.sh: expected --lane NAME, got '$1'" >&2; exit 2; }
  name=$2
  shift 2
  steps=()
  while [ $# -ge 2 ] && [ "$1" != "--lane" ]; do
    steps+=("$1" "$2")
    shift 2
  done
  run_lane "$name" "${steps[@]}" > "test-reports/${name}.log" 2>&1 &
  lanes+=("$name")
  pids+=($!)
done

failed=()
for i in "${!pids[@]}"; do
  if ! wait "${pids[$i]}"; then
    failed+=("${lanes[$i]}")
  fi
done
for name in "${lanes[@]}"; do
  echo "=== ${name}"
  cat "test-reports/${name}.log"
done
cat test-reports/steps.*.tsv > test-reports/steps.tsv 2> /dev/null
echo "=== steps (lane, step, exit status, wall s, CPU s)"
column -t -s $'\t' test-reports/steps.tsv 2> /dev/null || cat test-reports/steps.tsv
if [ ${#failed[@]} -gt 0 ]; then
  echo "FAILED: ${failed[*]}"
  exit 1
fi
echo "PASSED: every step of ${lanes[*]}"
