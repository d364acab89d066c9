"""scripts/mutation-report.py fails the mutation run on what would make its kill rate a lie: an entry of FUNCTIONS
that names no function, a mutated function of which no mutant was made, and a mutant that was never run."""

import importlib.util
import json
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "mutation-report.py"
spec = importlib.util.spec_from_file_location("mutation_report", SCRIPT)
mutation_report = importlib.util.module_from_spec(spec)
spec.loader.exec_module(mutation_report)


@pytest.fixture
def run(tmp_path):
    """A mutmut results folder and a source folder: module `rules` with functions check and decide."""
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "rules.py").write_text("def check(value):\n    return value > 0\n\n\ndef decide(value):\n"
                                                "    return 'ok'\n")
    (tmp_path / "mutants").mkdir()
    (tmp_path / "equivalents.json").write_text("{}")

    def report(exit_codes, functions):
        meta = tmp_path / "mutants" / "src" / "rules.py.meta"
        meta.parent.mkdir(parents=True, exist_ok=True)
        meta.write_text(json.dumps({"exit_code_by_key": exit_codes}))
        return mutation_report.main(str(tmp_path / "mutants"), str(tmp_path / "equivalents.json"),
                                    str(tmp_path / "src"), *functions)
    return report


def test_a_run_that_killed_every_mutant_of_every_function_passes(run, capsys):
    codes = {"rules.x_check__mutmut_1": 1, "rules.x_check__mutmut_2": 3, "rules.x_decide__mutmut_1": 1,
             "rules.x_other__mutmut_1": None}  # a function left out of FUNCTIONS is not run
    assert run(codes, ["rules.check", "rules.decide"]) == 0
    assert "3 mutants, 3 killed (100.0%)" in capsys.readouterr().out


def test_an_entry_that_names_no_function_fails(run, capsys):
    assert run({"rules.x_check__mutmut_1": 1}, ["rules.check", "rules.checks"]) == 1
    assert "FUNCTIONS entries that name no function (rename or remove them): rules.checks" in capsys.readouterr().err


def test_a_mutant_never_run_fails(run, capsys):
    assert run({"rules.x_check__mutmut_1": 1, "rules.x_check__mutmut_2": None}, ["rules.check"]) == 1
    assert "1 mutant(s) never run ['rules.x_check__mutmut_2']" in capsys.readouterr().err


def test_a_function_without_mutants_fails(run, capsys):
    assert run({"rules.x_check__mutmut_1": 1}, ["rules.check", "rules.decide"]) == 1
    assert "functions without mutants ['rules.decide']" in capsys.readouterr().err
