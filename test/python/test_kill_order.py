"""The mutation run's test ordering (test/mutation/kill_order.py): a mutant's tests start with those that killed other
mutants of its function, and only the order changes. Each case is a real pytest session with -x, as mutmut runs one."""
import os
import subprocess
import sys
from pathlib import Path

PLUGIN_DIR = Path(__file__).resolve().parents[1] / "mutation"

# Three tests; FAILING names those that fail in a session.
TESTS = """
import os
import pytest

@pytest.mark.parametrize("name", ["first", "second", "third"])
def test_case(name):
    assert name not in os.environ["FAILING"].split(",")
"""


def run_session(tmp_path, mutant, failing):
    """One pytest session as mutmut starts it for `mutant`; returns the test ids in the order they ran."""
    (tmp_path / "test_cases.py").write_text(TESTS)
    env = {**os.environ, "PYTHONPATH": str(PLUGIN_DIR), "MUTATION_KILL_LOG": str(tmp_path / "kills.log"),
           "FAILING": ",".join(failing), "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
    if mutant is None:
        env.pop("MUTANT_UNDER_TEST", None)
    else:
        env["MUTANT_UNDER_TEST"] = mutant
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-x", "-v", "-p", "kill_order", "-p", "no:cacheprovider", "test_cases.py"],
        cwd=tmp_path, env=env, capture_output=True, text=True, check=False)
    ran = [line.split(" ")[0] for line in result.stdout.splitlines()
           if line.startswith("test_cases.py::test_case[") and (" PASSED" in line or " FAILED" in line)]
    return [test_id[len("test_cases.py::test_case["):-1] for test_id in ran]


def kills(tmp_path):
    log = tmp_path / "kills.log"
    return log.read_text().splitlines() if log.exists() else []


def test_the_test_that_killed_a_mutant_runs_first_for_the_next_mutant_of_that_function(tmp_path):
    assert run_session(tmp_path, "module.x_decide__mutmut_1", ["third"]) == ["first", "second", "third"]
    assert kills(tmp_path) == ["module.x_decide\ttest_cases.py::test_case[third]"]
    # The next mutant fails the second and third tests: the third, which killed its sibling, runs first and kills it.
    assert run_session(tmp_path, "module.x_decide__mutmut_2", ["second", "third"]) == ["third"]
    assert kills(tmp_path)[-1] == "module.x_decide\ttest_cases.py::test_case[third]"


def test_kills_of_another_function_leave_the_order_as_given(tmp_path):
    run_session(tmp_path, "module.x_decide__mutmut_1", ["third"])
    assert run_session(tmp_path, "module.x_review__mutmut_1", ["second", "third"]) == ["first", "second"]
    assert kills(tmp_path)[-1] == "module.x_review\ttest_cases.py::test_case[second]"


def test_outside_a_mutant_run_nothing_is_reordered_or_recorded(tmp_path):
    assert run_session(tmp_path, None, ["second"]) == ["first", "second"]
    assert run_session(tmp_path, "", ["second"]) == ["first", "second"]
    assert kills(tmp_path) == []
