"""The audit-event schema, the sample AWS events in test/events, and the handlers' self-containment."""

import ast
import copy
import importlib.util
import inspect
import json
import re
import sys
import uuid

import pytest

import validate
from pipeline_helpers import ACCOUNT, EVENTS_DIR, REGION, RUNTIME_DIR, load_event, schema_validator

HANDLER_FILES = ("glue_trigger.py", "step_function_trigger.py", "remediation.py")
BUCKET = "migration-pipeline-data-123456789012-us-west-2"
STATE_MACHINE_ARN = "arn:aws:states:us-west-2:123456789012:stateMachine:migration-pipeline-migrate"


@pytest.fixture(scope="module")
def validator():
    return schema_validator()


def audit_event(detail_type, detail):
    return {"source": "migration.pipeline", "detail-type": detail_type, "detail": detail}


def valid_examples():
    return {
        "Glue Validation Started": {
            "pipeline": "migration-pipeline", "action": "START_VALIDATION", "outcome": "STARTED",
            "bucket": BUCKET, "key": "incoming/a.csv", "sourceVersion": "v1",
            "jobName": "migration-pipeline-validation", "jobRunId": "jr_1",
        },
        "Validation Result": {
            "pipeline": "migration-pipeline", "outcome": "FAILED", "bucket": BUCKET, "key": "incoming/a.csv",
            "versionId": None, "reportKey": "reports/a.csv.json", "rowCount": 0,
            "findings": ["Required column id is missing"], "jobRunId": None,
        },
        "Migration Execution Started": {
            "pipeline": "migration-pipeline", "action": "START_MIGRATION", "outcome": "ALREADY_STARTED",
            "bucket": BUCKET, "key": "incoming/a.csv", "versionId": "v1", "reportKey": "reports/a.csv.json",
            "stateMachineArn": STATE_MACHINE_ARN, "executionName": "incoming-a-csv-0123456789abcdef",
            "executionArn": STATE_MACHINE_ARN.replace("stateMachine", "execution") + ":incoming-a-csv-0123456789abcdef",
        },
        "Remediation Action": {
            "pipeline": "migration-pipeline", "trigger": "VALIDATION_FAILED", "action": "QUARANTINE_OBJECT",
            "outcome": "SUCCEEDED", "alerted": True, "resource": f"{BUCKET}/incoming/a.csv",
            "reason": "validation failed", "ids": {"jobRunId": "jr_1"}, "bucket": BUCKET, "key": "incoming/a.csv",
            "versionId": "v1", "quarantineKey": "quarantine/a.csv", "reportKey": "reports/a.csv.json",
        },
    }


# --- Schema -----------------------------------------------------------------------------------

@pytest.mark.parametrize("detail_type", list(valid_examples()))
def test_each_detail_type_has_a_valid_example(validator, detail_type):
    assert list(validator.iter_errors(audit_event(detail_type, valid_examples()[detail_type]))) == []


def changed(detail_type, **changes):
    detail = copy.deepcopy(valid_examples()[detail_type])
    for name, value in changes.items():
        if value is ...:
            del detail[name]
        else:
            detail[name] = value
    return audit_event(detail_type, detail)


@pytest.mark.parametrize("event", [
    {**changed("Glue Validation Started"), "source": "aws.glue"},
    {**changed("Glue Validation Started"), "detail-type": "Glue Validation Finished"},
    changed("Glue Validation Started", jobRunId=...),
    changed("Glue Validation Started", outcome="started"),
    changed("Glue Validation Started", surprise="extra field"),
    changed("Validation Result", outcome="WARNING"),
    changed("Validation Result", rowCount=-1),
    changed("Validation Result", findings="one finding"),
    changed("Validation Result", versionId=...),
    changed("Migration Execution Started", executionName="has spaces and is fine?"),
    changed("Migration Execution Started", executionName="x" * 81),
    changed("Migration Execution Started", executionArn="arn:aws:states:us-west-2:123456789012:stateMachine:x"),
    changed("Remediation Action", alerted="yes"),
    changed("Remediation Action", trigger="DMS_TASK_STATE_CHANGE"),  # quarantine only follows a failed validation
    changed("Remediation Action", quarantineKey=...),
    changed("Remediation Action", ids={"secretToken": "abc"}),
    changed("Remediation Action", action="RESTART_GLUE_JOB"),
])
def test_the_schema_rejects_events_that_break_the_contract(validator, event):
    assert not validator.is_valid(event)


def test_the_glue_scripts_real_message_is_a_valid_validation_result(validator):
    source = validate.Source(BUCKET, "incoming/a.csv", None)
    result = validate.Result(outcome=validate.FAILED, findings=("File has 0 rows; at least 1 required",), row_count=0)

    message = validate.build_message(source, result, "reports/a.csv.json", "jr_1")

    assert validator.is_valid(audit_event("Validation Result", {"pipeline": "migration-pipeline", **message}))
    assert set(message) == set(json.loads(load_event("sns-validation-failed.json")["Records"][0]["Sns"]["Message"]))


# --- Sample events ----------------------------------------------------------------------------

ENVELOPE_FIELDS = {"version", "id", "detail-type", "source", "account", "time", "region", "resources", "detail"}
EXPECTED_SAMPLES = {
    "s3-object-created-incoming.json": ("aws.s3", "Object Created"),
    "s3-object-created-reports.json": ("aws.s3", "Object Created"),
    "s3-object-deleted.json": ("aws.s3", "Object Deleted"),
    "glue-job-failed.json": ("aws.glue", "Glue Job State Change"),
    "glue-job-timeout.json": ("aws.glue", "Glue Job State Change"),
    "glue-job-succeeded.json": ("aws.glue", "Glue Job State Change"),
    "dms-task-failed.json": ("aws.dms", "DMS Replication Task State Change"),
    "dms-task-stopped-error.json": ("aws.dms", "DMS Replication Task State Change"),
    "dms-task-stopped-normal.json": ("aws.dms", "DMS Replication Task State Change"),
    "dms-task-started.json": ("aws.dms", "DMS Replication Task State Change"),
    "sfn-execution-failed.json": ("aws.states", "Step Functions Execution Status Change"),
    "sfn-execution-timed-out.json": ("aws.states", "Step Functions Execution Status Change"),
    "sfn-execution-aborted.json": ("aws.states", "Step Functions Execution Status Change"),
    "sfn-execution-succeeded.json": ("aws.states", "Step Functions Execution Status Change"),
}
SNS_SAMPLES = {"sns-validation-passed.json": "PASSED", "sns-validation-failed.json": "FAILED"}


def test_every_sample_file_is_known():
    assert {path.name for path in EVENTS_DIR.glob("*.json")} == set(EXPECTED_SAMPLES) | set(SNS_SAMPLES)


@pytest.mark.parametrize("name", sorted(EXPECTED_SAMPLES))
def test_eventbridge_samples_have_the_documented_envelope(name):
    event = load_event(name)

    assert set(event) == ENVELOPE_FIELDS
    assert (event["source"], event["detail-type"]) == EXPECTED_SAMPLES[name]
    assert (event["version"], event["account"], event["region"]) == ("0", ACCOUNT, REGION)
    assert uuid.UUID(event["id"])
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", event["time"])
    assert isinstance(event["resources"], list)
    assert isinstance(event["detail"], dict)


@pytest.mark.parametrize("name", ["s3-object-created-incoming.json", "s3-object-created-reports.json"])
def test_object_created_samples_match_the_s3_documentation(name):
    event = load_event(name)
    detail = event["detail"]

    assert set(detail) == {"version", "bucket", "object", "request-id", "requester", "source-ip-address", "reason"}
    assert set(detail["object"]) == {"key", "size", "etag", "version-id", "sequencer"}
    assert event["resources"] == [f"arn:aws:s3:::{detail['bucket']['name']}"]
    assert " " not in detail["object"]["key"]  # keys arrive URL-encoded


def test_object_deleted_sample_is_a_delete_marker():
    detail = load_event("s3-object-deleted.json")["detail"]

    assert detail["deletion-type"] == "Delete Marker Created"
    assert set(detail["object"]) == {"key", "version-id", "sequencer"}
    assert detail["reason"] == "DeleteObject"


@pytest.mark.parametrize("name, state, severity", [
    ("glue-job-failed.json", "FAILED", "ERROR"),
    ("glue-job-timeout.json", "TIMEOUT", "WARN"),
    ("glue-job-succeeded.json", "SUCCEEDED", "INFO"),
])
def test_glue_samples_match_the_glue_documentation(name, state, severity):
    detail = load_event(name)["detail"]

    assert set(detail) == {"jobName", "severity", "state", "jobRunId", "message"}
    assert (detail["state"], detail["severity"]) == (state, severity)
    assert detail["jobRunId"].startswith("jr_")


@pytest.mark.parametrize("name, event_type, dms_event_id", [
    ("dms-task-failed.json", "REPLICATION_TASK_FAILED", "DMS-EVENT-0078"),
    ("dms-task-stopped-error.json", "REPLICATION_TASK_STOPPED", "DMS-EVENT-0079"),
    ("dms-task-stopped-normal.json", "REPLICATION_TASK_STOPPED", "DMS-EVENT-0079"),
    ("dms-task-started.json", "REPLICATION_TASK_STARTED", "DMS-EVENT-0069"),
])
def test_dms_samples_match_the_dms_documentation(name, event_type, dms_event_id):
    event = load_event(name)

    assert set(event["detail"]) == {"type", "category", "eventType", "eventId", "resourceLink", "detailMessage"}
    assert (event["detail"]["type"], event["detail"]["eventType"]) == ("REPLICATION_TASK", event_type)
    assert event["detail"]["eventId"] == dms_event_id
    assert re.fullmatch(r"arn:aws:dms:us-west-2:123456789012:task:[A-Z0-9]+", event["resources"][0])


@pytest.mark.parametrize("name, status", [
    ("sfn-execution-failed.json", "FAILED"),
    ("sfn-execution-timed-out.json", "TIMED_OUT"),
    ("sfn-execution-aborted.json", "ABORTED"),
    ("sfn-execution-succeeded.json", "SUCCEEDED"),
])
def test_step_functions_samples_match_the_documentation(name, status):
    event = load_event(name)
    detail = event["detail"]

    assert {"executionArn", "stateMachineArn", "name", "status", "startDate", "stopDate", "input", "output",
            "error", "cause", "redriveCount", "redriveStatus"} <= set(detail)
    assert detail["status"] == status
    assert event["resources"] == [detail["executionArn"]]
    assert detail["executionArn"].endswith(f":execution:migration-pipeline-migrate:{detail['name']}")
    assert isinstance(detail["startDate"], int) and isinstance(detail["stopDate"], int)
    assert isinstance(json.loads(detail["input"]), dict)


@pytest.mark.parametrize("name, outcome", sorted(SNS_SAMPLES.items()))
def test_sns_samples_match_the_lambda_documentation_and_the_contract(validator, name, outcome):
    [record] = load_event(name)["Records"]
    sns = record["Sns"]

    assert (record["EventSource"], record["EventVersion"]) == ("aws:sns", "1.0")
    assert record["EventSubscriptionArn"].startswith(sns["TopicArn"] + ":")
    assert {"Type", "MessageId", "TopicArn", "Subject", "Message", "Timestamp", "SignatureVersion", "Signature",
            "SigningCertUrl", "UnsubscribeUrl", "MessageAttributes"} == set(sns)
    assert all(set(attribute) == {"Type", "Value"} for attribute in sns["MessageAttributes"].values())
    message = json.loads(sns["Message"])
    assert sns["MessageAttributes"]["outcome"] == {"Type": "String", "Value": outcome}
    assert message["outcome"] == outcome
    assert validator.is_valid(audit_event("Validation Result", {"pipeline": "migration-pipeline", **message}))


# --- The handlers are self-contained inline Lambda code ---------------------------------------

def imported_top_level_modules(path):
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("file_name", HANDLER_FILES)
def test_handlers_import_only_the_standard_library_and_boto3(file_name):
    modules = imported_top_level_modules(RUNTIME_DIR / file_name)

    assert modules - set(sys.stdlib_module_names) <= {"boto3", "botocore"}


@pytest.mark.parametrize("file_name", HANDLER_FILES)
def test_handlers_hard_code_no_account_region_or_arn(file_name):
    source = (RUNTIME_DIR / file_name).read_text()

    assert not re.search(r"\b\d{12}\b", source)
    assert not re.search(r"\b(us|eu|ap|sa|ca|me|af|il|mx)-[a-z]+-\d\b", source)
    assert "arn:aws:" not in source


@pytest.mark.parametrize("file_name", HANDLER_FILES)
def test_each_file_loads_as_lambdas_index_module_without_creating_clients(file_name):
    # Code.fromInline stores the file as index.py and Lambda calls index.handler.
    spec = importlib.util.spec_from_file_location("index", RUNTIME_DIR / file_name)
    index = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(index)

    assert list(inspect.signature(index.handler).parameters) == ["event", "context"]
    assert index._clients == {}
    assert issubclass(index.InvalidEventError, ValueError)
