"""The environment a function's code sees in the rehearsal: on Lambda, its own variables over the runtime's. The
rehearsal runs every function in this process, some from moto's interpreter threads while others are running, so it
gives each function's module an `os` of its own instead of changing the process's environment, which other threads
read meanwhile (botocore goes through all of it when it makes a client: a variable removed under that read failed
it with KeyError)."""

import os

import hops

HANDLER = '''
import os
import sys

def handler(event, context):
    return {
        "mine": os.environ["MINE"],
        "default": os.getenv("MISSING", "none"),
        "from the process": os.environ.get("REHEARSAL_PROCESS_VARIABLE"),
        "the process has mine": "MINE" in sys.modules["os"].environ,
        "joined": os.path.join("a", "b"),
    }
'''


def load(tmp_path, name, variables):
    path = tmp_path / f"{name}.py"
    path.write_text(HANDLER)
    module = hops.import_file(f"rehearsal_test_{name}", path)
    module.os = hops.FunctionOs(variables)
    return module.handler


def test_a_function_reads_its_own_variables_over_the_process_s_and_the_process_environment_stays_as_it_is(
        tmp_path, monkeypatch):
    monkeypatch.setenv("REHEARSAL_PROCESS_VARIABLE", "process")
    before = dict(os.environ)
    first = load(tmp_path, "first", {"MINE": "first", "REHEARSAL_PROCESS_VARIABLE": "overridden"})
    second = load(tmp_path, "second", {"MINE": 2})

    assert first({}, None) == {"mine": "first", "default": "none", "from the process": "overridden",
                               "the process has mine": False, "joined": "a/b"}
    assert second({}, None) == {"mine": "2", "default": "none", "from the process": "process",
                                "the process has mine": False, "joined": "a/b"}
    assert dict(os.environ) == before
