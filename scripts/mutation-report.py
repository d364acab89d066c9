"""Reads mutmut's results and reports the kill rate; fails when a mutant survives that is not a listed equivalent.

usage: mutation-report.py <mutants dir> <equivalent-mutants.json> <source dir> <module.function> ...

The functions are those the run mutated (FUNCTIONS of mutation-test.sh): each must name a function of its module in
the source dir, and every mutant mutmut made of them must have been run (a partial run fails).

A surviving mutant is a change to the code that no test notices. It is either a gap in the tests (write the test)
or equivalent: a change that cannot alter behaviour. Equivalent ones are listed, each with its diff and the reason,
in the JSON file; survivors.json, written next to the results, has every survivor in the same format (reason
empty), to copy from when the code changes and mutmut renumbers its mutants.
"""

import json
import re
import sys
from pathlib import Path

KILLED = {1, 3, 36, 24, -24, 152, 255}  # a test failed, or the mutant made the tests time out
SURVIVED = {0}


def results(mutants_dir):
    """{mutant name: exit code, None when it was never run} for every mutant mutmut made."""
    found = {}
    for meta in sorted(Path(mutants_dir).rglob("*.py.meta")):
        found.update(json.loads(meta.read_text())["exit_code_by_key"])
    return found


def mutant_of(name, functions):
    """Whether the mutant `module.x_function__mutmut_N` is of one of `functions` (`module.function`)."""
    match = re.fullmatch(r"([\w.]+)\.x_(\w+?)__mutmut_\d+", name)
    return bool(match) and f"{match.group(1)}.{match.group(2)}" in functions


def unknown_functions(source_dir, functions):
    """The `module.function` entries that name no top-level function of src/<module>.py."""
    unknown = []
    for entry in functions:
        module, _, function = entry.partition(".")
        path = Path(source_dir, f"{module}.py")
        text = path.read_text() if path.is_file() else ""
        if not re.search(rf"^def {re.escape(function)}\(", text, re.MULTILINE):
            unknown.append(entry)
    return unknown


def diff_of(name):
    """The changed lines of a mutant, as `mutmut show` prints them (run in mutmut's folder). mutmut's own functions are
    called here, in one process: a `mutmut show` per survivor started mutmut and its imports once each (about a
    CPU-second apiece)."""
    from mutmut.__main__ import find_mutant, get_diff_for_mutant

    lines = get_diff_for_mutant(name, path=find_mutant(name).path).splitlines()
    return [line for line in lines if line.startswith(("-", "+")) and not line.startswith(("---", "+++"))]


def main(mutants_dir, equivalents_file, source_dir, *functions):
    unknown = unknown_functions(source_dir, functions)
    if unknown:
        print(f"mutation: FUNCTIONS entries that name no function (rename or remove them): {', '.join(unknown)}",
              file=sys.stderr)
        return 1
    made = {name: code for name, code in results(mutants_dir).items() if mutant_of(name, set(functions))}
    without_mutants = [entry for entry in functions if not any(name.startswith(entry.replace(".", ".x_", 1) + "__")
                                                               for name in made)]
    never_run = sorted(name for name, code in made.items() if code is None)
    if without_mutants or never_run:
        print(f"mutation: partial run: functions without mutants {without_mutants}, {len(never_run)} mutant(s) never "
              f"run {never_run[:20]}", file=sys.stderr)
        return 1
    checked = made
    equivalents = json.loads(Path(equivalents_file).read_text())
    killed = sorted(name for name, code in checked.items() if code in KILLED)
    survived = sorted(name for name, code in checked.items() if code in SURVIVED)
    other = sorted(f"{name} (exit code {code})" for name, code in checked.items() if code not in KILLED | SURVIVED)
    unexplained = [name for name in survived if name not in equivalents]
    stale = sorted(name for name in equivalents if name not in survived)

    survivors = {name: {"diff": diff_of(name), "reason": equivalents.get(name, {}).get("reason", "")} for name in survived}
    Path(mutants_dir, "survivors.json").write_text(json.dumps(survivors, indent=2, ensure_ascii=False) + "\n")

    rate = len(killed) / len(checked) * 100
    print(f"mutation: {len(checked)} mutants, {len(killed)} killed ({rate:.1f}%), {len(survived)} survived "
          f"({len(survived) - len(unexplained)} listed as equivalent), {len(other)} neither")
    for name in other:
        print(f"  not run by any test or broke the run: {name}")
    for name in unexplained:
        print(f"  SURVIVED: {name}\n    " + "\n    ".join(survivors[name]["diff"]))
    for name in stale:
        print(f"  listed as equivalent but not a survivor of this run (remove it from {equivalents_file}): {name}")
    if unexplained or other or stale:
        print(f"mutation: write a test that kills each survivor, or list it with its reason in {equivalents_file} "
              f"(every survivor, with its diff, is in {Path(mutants_dir, 'survivors.json')})")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
