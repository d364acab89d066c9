"""A pytest plugin for the mutation run: each mutant's tests run the tests that killed other mutants of the same
function first.

mutmut runs a mutant's tests fastest first, with -x, so a killed mutant costs the tests that run before the first
failing one, and the test that kills most of a function's mutants was often not among the fastest. Every failing test is recorded in the file named by MUTATION_KILL_LOG (one line per kill, appended by each
forked mutant process), and the next mutant of that function runs the tests by how many of its siblings each killed,
most first, the others after them in their given order. Only the order changes: a mutant still runs every test until
one fails, so a verdict cannot depend on it.
"""
import os
from collections import Counter

MUTANT_MARK = "__mutmut_"


def mutated_function(mutant_name):
    """'dms_task_guard.x_handler__mutmut_12' -> 'dms_task_guard.x_handler'; None outside a mutant's run."""
    if MUTANT_MARK not in mutant_name:
        return None
    return mutant_name.split(MUTANT_MARK)[0]


def kills_of(log_path, function):
    """How many mutants of `function` each test has killed so far."""
    kills = Counter()
    try:
        with open(log_path, encoding="utf-8") as log:
            for line in log:
                killed_function, _, test = line.rstrip("\n").partition("\t")
                if killed_function == function:
                    kills[test] += 1
    except FileNotFoundError:
        pass
    return kills


def _current():
    log_path = os.environ.get("MUTATION_KILL_LOG")
    function = mutated_function(os.environ.get("MUTANT_UNDER_TEST", ""))
    return (log_path, function) if log_path and function else (None, None)


def pytest_collection_modifyitems(items):
    log_path, function = _current()
    if function:
        kills = kills_of(log_path, function)
        # sort is stable: tests with as many kills keep their given order.
        items.sort(key=lambda item: -kills[item.nodeid])


def pytest_runtest_logreport(report):
    log_path, function = _current()
    if function and report.failed:
        # One short line in append mode: the two mutant processes that write at once do not mix their lines.
        with open(log_path, "a", encoding="utf-8") as log:
            log.write(f"{function}\t{report.nodeid}\n")
