#!/usr/bin/env bash
# Runs the jest suite and the Python suite side by side (one per core) and fails when either fails.
# The Python suite reads the synthesized templates, so `cdk synth` runs before this script.
set -u
mkdir -p test-reports
python3 -m pytest test/python -q -p no:cacheprovider > test-reports/pytest.log 2>&1 &
pytest_pid=$!
CDK_VALIDATION=false npx jest --passWithNoTests --ci "$@"
jest_status=$?
wait "$pytest_pid"
pytest_status=$?
cat test-reports/pytest.log
exit $(( jest_status != 0 || pytest_status != 0 ))
