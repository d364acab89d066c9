#!/usr/bin/env bash
# Runs commands side by side and fails when any of them fails. Each command's output goes to
# test-reports/<name>.log and is printed, whole and in order, once all have finished.
# Usage: parallel.sh NAME "COMMAND" [NAME "COMMAND" ...]
set -u
mkdir -p test-reports
names=()
pids=()
while [ $# -ge 2 ]; do
  names+=("$1")
  (started=$SECONDS; bash -c "$2"; status=$?; echo "(${1}: $((SECONDS - started)) s)"; exit $status) > "test-reports/$1.log" 2>&1 &
  pids+=($!)
  shift 2
done
failed=()
for i in "${!pids[@]}"; do
  if ! wait "${pids[$i]}"; then
    failed+=("${names[$i]}")
  fi
done
for name in "${names[@]}"; do
  echo "=== ${name}"
  cat "test-reports/${name}.log"
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "FAILED: ${failed[*]}"
  exit 1
fi
