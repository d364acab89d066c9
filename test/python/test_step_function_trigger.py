"""step_function_trigger: validation PASSED (SNS) -> migration state machine execution, against moto."""

import copy
import json
import re

import pytest
from botocore.exceptions import ClientError

import step_function_trigger
from pipeline_helpers import PartiallyStubbedClient, json_logs, load_event, pass_state_machine

BUCKET = "migration-pipeline-data-123456789012-us-west-2"
KEY = "incoming/sales/2024-06-01/orders batch 1.csv"
VERSION_ID = "Hk3tq8Zr1pXb2GmV.d9yWn4eLc7Jf0Ao"
REPORT_KEY = "reports/sales/2024-06-01/orders batch 1.csv.json"
ALLOWED_NAME = re.compile(r"^[A-Za-z0-9_-]{1,80}$")
# The execution name of the sample object: its key made name-safe, then the first 16 hex digits of
# sha256("<bucket>\n<key>\n<versionId>"), worked out with `printf ... | sha256sum` rather than by the code under test.
# Every Lambda container must arrive at the same name, or a redelivered message would start a second migration.
EXPECTED_NAME = "incoming-sales-2024-06-01-orders-batch-1-csv-6fcff66aee4a19af"


@pytest.fixture
def state_machine(aws, monkeypatch):
    return pass_state_machine(monkeypatch, "migration-pipeline-migrate")


def executions(state_machine):
    sfn, arn = state_machine
    return sfn.list_executions(stateMachineArn=arn)["executions"]


def passed_event(**message_changes):
    event = load_event("sns-validation-passed.json")
    message = json.loads(event["Records"][0]["Sns"]["Message"])
    message.update(message_changes)
    event["Records"][0]["Sns"]["Message"] = json.dumps(message)
    return event


def test_starts_an_execution_with_the_object_and_the_validation_result(state_machine, audit_events):
    sfn, arn = state_machine
    event = load_event("sns-validation-passed.json")
    message = json.loads(event["Records"][0]["Sns"]["Message"])

    [result] = step_function_trigger.handler(event, None)

    [execution] = executions(state_machine)
    expected_name = EXPECTED_NAME
    assert execution["name"] == expected_name
    assert result == {"executionArn": execution["executionArn"], "executionName": expected_name, "duplicate": False}
    started_with = json.loads(sfn.describe_execution(executionArn=execution["executionArn"])["input"])
    assert started_with == {"bucket": BUCKET, "key": KEY, "versionId": VERSION_ID, "reportKey": REPORT_KEY,
                            "validation": message}
    [audit] = audit_events.read()
    assert audit["detail-type"] == "Migration Execution Started"
    assert audit["detail"] == {
        "pipeline": "migration-pipeline", "action": "START_MIGRATION", "outcome": "STARTED",
        "bucket": BUCKET, "key": KEY, "versionId": VERSION_ID, "reportKey": REPORT_KEY,
        "stateMachineArn": arn, "executionName": expected_name, "executionArn": execution["executionArn"],
    }


def test_redelivery_while_the_execution_runs_returns_the_same_execution(state_machine, audit_events):
    event = load_event("sns-validation-passed.json")

    [first] = step_function_trigger.handler(event, None)
    [second] = step_function_trigger.handler(copy.deepcopy(event), None)

    assert len(executions(state_machine)) == 1
    assert second["executionArn"] == first["executionArn"]


def test_redelivery_after_the_execution_finished_is_reported_as_a_duplicate(state_machine, audit_events, capsys):
    sfn, _ = state_machine
    event = load_event("sns-validation-passed.json")
    [first] = step_function_trigger.handler(event, None)
    sfn.stop_execution(executionArn=first["executionArn"])  # closed: StartExecution now says ExecutionAlreadyExists

    [second] = step_function_trigger.handler(event, None)

    assert second == {"executionArn": first["executionArn"], "executionName": first["executionName"],
                      "duplicate": True}
    assert len(executions(state_machine)) == 1
    assert [audit["detail"]["outcome"] for audit in audit_events.read()] == ["STARTED", "ALREADY_STARTED"]
    messages = [line["message"] for line in json_logs(capsys.readouterr().out)]
    assert messages[-1] == "duplicate message; migration already started"


def test_a_new_version_of_the_same_object_starts_its_own_execution(state_machine):
    step_function_trigger.handler(passed_event(versionId="version-1"), None)
    step_function_trigger.handler(passed_event(versionId="version-2"), None)

    names = {execution["name"] for execution in executions(state_machine)}
    assert names == {"incoming-sales-2024-06-01-orders-batch-1-csv-ae2902b8585e1abb",
                     "incoming-sales-2024-06-01-orders-batch-1-csv-f01c875579ea25e8"}


def test_without_a_version_id_the_validation_run_tells_uploads_apart(state_machine):
    step_function_trigger.handler(passed_event(versionId=None, jobRunId="jr_one"), None)
    step_function_trigger.handler(passed_event(versionId=None, jobRunId="jr_one"), None)
    step_function_trigger.handler(passed_event(versionId=None, jobRunId="jr_two"), None)

    # sha256 of "<bucket>\n<key>\nrun:jr_one" and "...\nrun:jr_two"
    assert sorted(execution["name"] for execution in executions(state_machine)) == [
        "incoming-sales-2024-06-01-orders-batch-1-csv-543c9a1657607b15",
        "incoming-sales-2024-06-01-orders-batch-1-csv-e1993a474f5825e0",
    ]


def test_results_that_did_not_pass_are_ignored(state_machine, audit_events):
    result = step_function_trigger.handler(load_event("sns-validation-failed.json"), None)

    assert result == [{"ignored": True, "outcome": "FAILED"}]
    assert executions(state_machine) == []
    assert audit_events.read() == []


def test_every_record_of_a_batch_is_processed(state_machine):
    event = passed_event(versionId="version-1")
    second_record = copy.deepcopy(passed_event(versionId="version-2")["Records"][0])
    event["Records"].append(second_record)

    results = step_function_trigger.handler(event, None)

    assert [result["duplicate"] for result in results] == [False, False]
    assert len(executions(state_machine)) == 2


def test_throttling_is_re_raised_so_lambda_retries(state_machine, audit_events):
    # moto never throttles: StartExecution alone is stubbed with the error.
    sfn = PartiallyStubbedClient("stepfunctions", ["start_execution"])
    sfn.stubber.add_client_error("start_execution", service_error_code="ThrottlingException",
                                 service_message="Rate exceeded", http_status_code=400)
    step_function_trigger._clients["stepfunctions"] = sfn

    with pytest.raises(ClientError) as raised:
        step_function_trigger.handler(load_event("sns-validation-passed.json"), None)

    assert raised.value.response["Error"]["Code"] == "ThrottlingException"
    assert executions(state_machine) == []
    assert audit_events.read() == []


def test_an_unknown_state_machine_is_an_error_not_a_duplicate(state_machine, monkeypatch):
    monkeypatch.setenv("STATE_MACHINE_ARN", "arn:aws:states:us-west-2:123456789012:stateMachine:missing")

    with pytest.raises(ClientError) as raised:
        step_function_trigger.handler(load_event("sns-validation-passed.json"), None)

    assert raised.value.response["Error"]["Code"] == "StateMachineDoesNotExist"


def test_an_unwritable_audit_bus_does_not_fail_the_start(state_machine, monkeypatch):
    monkeypatch.setenv("AUDIT_EVENT_BUS", "bus-that-does-not-exist")

    [result] = step_function_trigger.handler(load_event("sns-validation-passed.json"), None)

    assert result["duplicate"] is False
    assert len(executions(state_machine)) == 1


def with_record(mutate):
    event = load_event("sns-validation-passed.json")
    mutate(event["Records"][0])
    return event


def with_message(raw_message):
    return with_record(lambda record: record["Sns"].update(Message=raw_message))


@pytest.mark.parametrize("event, reason", [
    ({}, "expected an SNS event with a non-empty Records list"),
    ({"Records": []}, "expected an SNS event with a non-empty Records list"),
    ("Records", "expected an SNS event with a non-empty Records list"),
    (load_event("s3-object-created-incoming.json"), "expected an SNS event with a non-empty Records list"),
    (with_record(lambda record: record.update(EventSource="aws:sqs")), "record is not an SNS record"),
    (with_message(""), "SNS record has no Message"),
    (with_message("validation passed"), "SNS message is not JSON"),
    (with_message("[1, 2]"), "SNS message is not a JSON object"),
    (with_message(json.dumps({"outcome": "PASSED", "key": KEY, "reportKey": REPORT_KEY})),
     "validation message has no bucket"),
    (with_message(json.dumps({"outcome": "PASSED", "bucket": BUCKET, "reportKey": REPORT_KEY})),
     "validation message has no key"),
    (with_message(json.dumps({"outcome": "PASSED", "bucket": BUCKET, "key": KEY})),
     "validation message has no reportKey"),
    (with_message(json.dumps({"outcome": "PASSED", "bucket": BUCKET, "key": KEY, "reportKey": REPORT_KEY,
                              "versionId": 7})), "validation message has an invalid versionId"),
    (with_message(json.dumps({"outcome": "PASSED", "bucket": BUCKET, "key": KEY, "reportKey": REPORT_KEY,
                              "findings": ["x" * (256 * 1024)]})), "SNS message is larger than 256 KB"),
])
def test_malformed_messages_are_rejected_with_a_value_error(state_machine, audit_events, capsys, event, reason):
    with pytest.raises(step_function_trigger.InvalidEventError, match=reason) as raised:
        step_function_trigger.handler(event, None)

    assert isinstance(raised.value, ValueError)
    assert executions(state_machine) == []
    assert audit_events.read() == []
    [log_line] = json_logs(capsys.readouterr().out)
    assert log_line == {**log_line, "level": "ERROR", "message": f"rejected event: {reason}"}


def test_missing_configuration_fails_loudly(aws):
    with pytest.raises(RuntimeError, match="STATE_MACHINE_ARN"):
        step_function_trigger.handler(load_event("sns-validation-passed.json"), None)


@pytest.mark.parametrize(("key", "expected"), [
    ("incoming/sales/2024-06-01/orders batch 1.csv", EXPECTED_NAME),
    ("incoming/" + "very-long-folder-name/" * 20 + "file.csv",
     "incoming-very-long-folder-name-very-long-folder-name-very-long-834fac2e1cd02435"),
    ("incoming/ünïcödé/データ.csv", "incoming-n-c-d-csv-757f98758b31726a"),
    ("incoming/weird chars {}[]<>?*\"#%\\^|~`$&,;:/.csv", "incoming-weird-chars-csv-bc9c02ab1d7cf012"),
    ("///", "object-db65aaa24ef0b9c1"),
    ("a" * 100, "a" * 63 + "-ef124912d1ea0fb3"),  # 80 characters: 63 of the key, a hyphen, 16 of the digest
    ("/leading-slash.csv", "leading-slash-csv-753cbd858de19a22"),
    ("Xincoming/fileX", "Xincoming-fileX-ec185f978bbf23e5"),
])
def test_execution_names_are_valid_stable_and_readable(key, expected):
    name = step_function_trigger.execution_name(BUCKET, key, VERSION_ID)

    assert name == expected
    assert ALLOWED_NAME.match(name), name
    assert name == step_function_trigger.execution_name(BUCKET, key, VERSION_ID)
    assert name != step_function_trigger.execution_name(BUCKET, key, "another-version")
    assert name != step_function_trigger.execution_name("another-bucket", key, VERSION_ID)


def test_execution_name_keeps_the_start_of_the_key_readable():
    name = step_function_trigger.execution_name(BUCKET, KEY, VERSION_ID)

    assert name.startswith("incoming-sales-2024-06-01-orders-batch-1-csv-")
    assert len(name.rsplit("-", 1)[1]) == 16
    assert step_function_trigger.execution_name(BUCKET, "///", VERSION_ID).startswith("object-")


def test_without_a_version_or_a_run_id_the_name_still_follows_the_object():
    # sha256 of "<bucket>\n<key>\nrun:"
    assert step_function_trigger.execution_name(BUCKET, KEY, None, None) == \
        "incoming-sales-2024-06-01-orders-batch-1-csv-47c7cdd1e5b897b8"


def test_a_message_of_exactly_256_kib_is_accepted():
    padding = step_function_trigger.MAX_MESSAGE_BYTES - len('{"pad":""}')
    raw = '{"pad":"' + "x" * padding + '"}'
    assert len(raw.encode("utf-8")) == 256 * 1024

    assert step_function_trigger.parse_validation_message(raw, "m-1") == {"pad": "x" * padding}


@pytest.mark.parametrize(("call", "logged"), [
    (lambda: step_function_trigger.parse_validation_message("", "m-1"),
     {"message": "rejected event: SNS record has no Message", "messageId": "m-1"}),
    (lambda: step_function_trigger.parse_validation_message("x" * (256 * 1024 + 1), "m-1"),
     {"message": "rejected event: SNS message is larger than 256 KB", "messageId": "m-1", "sizeBytes": 256 * 1024 + 1}),
    (lambda: step_function_trigger.parse_validation_message("{oops", "m-1"),
     {"message": "rejected event: SNS message is not JSON", "messageId": "m-1",
      "error": "Expecting property name enclosed in double quotes: line 1 column 2 (char 1)"}),
    (lambda: step_function_trigger.parse_validation_message("[1]", "m-1"),
     {"message": "rejected event: SNS message is not a JSON object", "messageId": "m-1"}),
    (lambda: step_function_trigger.required_object_fields({"bucket": "", "key": "k", "reportKey": "r"}, "m-1"),
     {"message": "rejected event: validation message has no bucket", "messageId": "m-1"}),
    (lambda: step_function_trigger.required_object_fields({"bucket": "b", "key": "k", "reportKey": "r", "versionId": ""}, "m-1"),
     {"message": "rejected event: validation message has an invalid versionId", "messageId": "m-1"}),
])
def test_a_rejected_message_is_logged_with_its_message_id_and_what_was_wrong(call, logged, capsys):
    with pytest.raises(step_function_trigger.InvalidEventError):
        call()

    [line] = json_logs(capsys.readouterr().out)
    assert {key: line[key] for key in logged} == logged
    assert line["level"] == "ERROR"
