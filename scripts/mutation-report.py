"""Reads mutmut's results and reports the kill rate; fails when a mutant survives that is not a listed equivalent.

usage: mutation-report.py <mutants dir> <equivalent-mutants.json>

A surviving mutant is a change to the code that no test notices. It is either a gap in the tests (write the test)
or equivalent: a change that cannot alter behaviour. Equivalent ones are listed, each with its diff and the reason,
in the JSON file; survivors.json, written next to the results, has every survivor in the same format (reason
empty), to copy from when the code changes and mutmut renumbers its mutants.
"""

import json
import subprocess
import sys
from pathlib import Path

KILLED = {1, 3, 36, 24, -24, 152, 255}  # a test failed, or the mutant made the tests time out
SURVIVED = {0}


def results(mutants_dir):
    """{mutant name: exit code} for every mutant mutmut checked in this run."""
    checked = {}
    for meta in sorted(Path(mutants_dir).rglob("*.py.meta")):
        for name, code in json.loads(meta.read_text())["exit_code_by_key"].items():
            if code is not None:
                checked[name] = code
    return checked


def diff_of(name):
    shown = subprocess.run([sys.executable, "-m", "mutmut", "show", name], capture_output=True, text=True, check=False)
    lines = shown.stdout.splitlines()
    return [line for line in lines if line.startswith(("-", "+")) and not line.startswith(("---", "+++"))]


def main(mutants_dir, equivalents_file):
    checked = results(mutants_dir)
    if not checked:
        print("mutation: no mutant was checked", file=sys.stderr)
        return 1
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
