"""The documented input of a migration run (src/migration-run-input.ts, shown in API.md) is what the pipeline sends.

The Step Functions trigger starts each run with an input built from the validation job's message; both are
executed here (the job's message builder and the trigger against moto), and the JSON field names they produce are
compared with the fields of the documented interfaces. A field added, renamed or dropped on either side fails.
"""

import json
import re
from pathlib import Path

import pytest

import step_function_trigger
import validate
from pipeline_helpers import pass_state_machine

DOCUMENTED = Path(__file__).resolve().parents[2] / "src" / "migration-run-input.ts"


def documented_fields(interface):
    """The property names of one interface of the documenting file (what jsii puts in API.md)."""
    source = DOCUMENTED.read_text(encoding="utf-8")
    body = re.search(r"export interface " + interface + r" \{(.*?)\n\}", source, re.S)
    assert body, f"interface {interface} not found in {DOCUMENTED.name}"
    return {match.group(1): bool(match.group(2)) for match in re.finditer(r"readonly (\w+)(\?)?:", body.group(1))}


@pytest.fixture
def started_input(aws, monkeypatch):
    """Runs the validation job's message through the trigger and returns the input the execution was started with."""
    sfn, arn = pass_state_machine(monkeypatch, "migration-orchestration-dev")

    source = validate.Source("data-bucket", "incoming/orders.csv", "3HL4kqtJlcpXroDTDmJ")
    result = validate.Result(outcome=validate.PASSED, findings=(), row_count=2)
    message = validate.build_message(source, result, "reports/orders.csv.json", "jr_1")
    event = {"Records": [{"EventSource": "aws:sns", "Sns": {"MessageId": "m-1", "Message": json.dumps(message)}}]}

    [started] = step_function_trigger.handler(event, None)
    return json.loads(sfn.describe_execution(executionArn=started["executionArn"])["input"])


def test_the_run_input_has_exactly_the_documented_fields(started_input):
    assert set(started_input) == set(documented_fields("MigrationRunInput"))


def test_the_validation_message_has_exactly_the_documented_fields(started_input):
    assert set(started_input["validation"]) == set(documented_fields("ValidationResultMessage"))


def test_only_the_fields_that_can_be_null_are_documented_as_optional(started_input):
    unversioned = validate.build_message(validate.Source("b", "incoming/a.csv", None),
                                         validate.failed_result("unreadable"), "reports/a.csv.json", "jr_2")
    can_be_null = {field for field, value in unversioned.items() if value is None}
    assert {field for field, optional in documented_fields("ValidationResultMessage").items() if optional} == can_be_null
    assert {field for field, optional in documented_fields("MigrationRunInput").items() if optional} == {"versionId"}
