#!/usr/bin/env bash
# Mutation testing of the Python runtime code with mutmut: every small change mutmut makes to a handler's decision
# logic must make at least one of that handler's tests fail. Survivors fail the run unless they are listed, with the
# reason they cannot change behaviour, in test/mutation/equivalent-mutants.json.
#
# mutmut names a mutant after the module that the tests import. The handlers are imported by file name
# (`import glue_trigger`, as Lambda imports index.py), so the mutated files are laid out flat under src/ of a scratch
# copy of the project (.mutation/), which mutmut then copies once more into .mutation/mutants/ and mutates there.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
WORK=.mutation

# The modules mutated, and the test files that exercise them (mutmut runs, for each mutant, only the tests among
# these that called the mutated function; it finds them in one instrumented run of these files).
MODULES="step_function_trigger glue_trigger remediation dms_task_guard validate table_review"
TESTS="test_step_function_trigger.py test_glue_trigger.py test_remediation.py test_remediation_validation.py test_dms_task_guard.py test_validate.py test_table_review.py"
# The functions mutated: the decisions each handler takes (what to start, skip, retry, resume, quarantine, pass or
# fail). Every mutant reruns moto-backed tests, about two seconds each, so the list is what fits the CI budget.
FUNCTIONS="
step_function_trigger.execution_name step_function_trigger.parse_validation_message
step_function_trigger.required_object_fields
glue_trigger.event_time glue_trigger.job_arguments
remediation.dms_stop_verdict remediation.normalise_stop_reason remediation.is_transient_failure
remediation.quarantine_key_for remediation.non_negative_int_env remediation.parse_outcome
remediation.read_resume_count
dms_task_guard.wait_budget dms_task_guard.stop_and_wait dms_task_guard.handler dms_task_guard.clear_marker
validate.check_expected_columns validate.check_required_columns validate.check_unique_key validate.check_min_rows
validate.evaluate validate.parse_min_rows validate.parse_column_list validate.file_format_of validate.report_key_for
table_review.review_table table_review.decide table_review.loaded_without_validation table_review.pending
table_review.handler
"
# validate.main, validate.read_dataframe and validate.profile_dataframe run only with Spark, which a forked mutant
# process cannot use; the README (Mutation testing) names the tests that kill their mutants instead.

# test_remediation_validation.py runs the synthesized state machine: it reads the example app's templates.
if [ ! -f cdk.out/TapStack.template.json ]; then
  echo "mutation: cdk.out is missing; run 'npx projen synth:example' first" >&2
  exit 1
fi
export CDK_OUT="$ROOT/cdk.out"

rm -rf "$WORK"
mkdir -p "$WORK/src/runtime" "$WORK/test"
for file in src/runtime/*; do
  name=$(basename "$file" .py)
  if [[ " $MODULES " == *" $name "* ]]; then cp "$file" "$WORK/src/"; else cp "$file" "$WORK/src/runtime/"; fi
done
cp -r test/python test/events "$WORK/test/"
find "$WORK" -name __pycache__ -prune -exec rm -rf {} +

{
  echo "[mutmut]"
  echo "source_paths ="
  for module in $MODULES; do echo "    src/$module.py"; done
  echo "also_copy ="
  echo "    src/runtime"
  echo "pytest_add_cli_args_test_selection ="
  for test in $TESTS; do echo "    test/python/$test"; done
  echo "pytest_add_cli_args ="
  echo "    -p"
  echo "    no:cacheprovider"
  # pytest's unraisable-exception plugin runs five full garbage collections as each session ends, which were two
  # thirds of every mutant's test run (a full collection walks every object of the forked process, moto included).
  # The plugin only turns exceptions in finalizers into warnings, and warnings do not fail these runs, so no mutant's
  # verdict depends on it.
  echo "    -p"
  echo "    no:unraisableexception"
  # Each mutant runs first the tests that killed other mutants of its function (test/mutation/kill_order.py).
  echo "    -p"
  echo "    kill_order"
  # The Spark-backed tests are left out: mutmut forks a process per mutant, and a forked child cannot use the
  # parent's connection to Spark's JVM (they failed at random). The rule functions have tests of their own.
  echo "    -m"
  echo "    not spark"
  echo "use_git_change_detection = false"
} > "$WORK/setup.cfg"

cd "$WORK"
# pytest looks up and loads the plugins that installed packages declare, and marks their modules for assertion
# rewriting, at the start of every session: one per mutant. None of the tests above uses such a plugin.
export PYTEST_DISABLE_PLUGIN_AUTOLOAD=1
export PYTHONPATH="$ROOT/test/mutation${PYTHONPATH:+:$PYTHONPATH}"
export MUTATION_KILL_LOG="$ROOT/$WORK/kills.log"
patterns=()
for function in $FUNCTIONS; do patterns+=("${function%%.*}.x_${function#*.}__mutmut_*"); done
# mutmut's progress lines are left out of the log; a failure of mutmut itself fails the run (pipefail), while grep's
# status 1 (every line was a progress line) does not.
"$ROOT/.venv/bin/mutmut" run --max-children "${MUTATION_JOBS:-2}" "${patterns[@]}" | tr '\r' '\n' |
  { grep -v '^[^ ]* [0-9]*/[0-9]* ' || [ $? -eq 1 ]; }
# The report fails on a survivor that is not a listed equivalent, on a mutant of FUNCTIONS that was never run, and on
# an entry of FUNCTIONS that names no function of its module.
# shellcheck disable=SC2086 # FUNCTIONS is a list of words
"$ROOT/.venv/bin/python" "$ROOT/scripts/mutation-report.py" mutants "$ROOT/test/mutation/equivalent-mutants.json" src $FUNCTIONS
