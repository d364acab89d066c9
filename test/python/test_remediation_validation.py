"""remediation: a migration that failed DMS data validation is its own case.

The migration state machine fails such a run with the error `MigrationValidationFailed` and the run's outcome as JSON
for its cause (see test_state_machine_validation.py). EventBridge sends the "Step Functions Execution Status Change"
event (Step Functions Developer Guide, "Automating Step Functions event delivery with EventBridge"); remediation reads
the execution's error and cause with DescribeExecution, alerts with the failed tables, and changes nothing: no DMS
resume, no redrive.
"""

import copy
import datetime
import json

import boto3
import pytest

import remediation
from pipeline_helpers import REGION, PartiallyStubbedClient, load_event
from test_state_machine import (  # noqa: F401 - pytest fixtures are found through the import
    dms_task_properties, harness, orchestration_template, table_statistics,
)

FAILED_EVENT = load_event("sfn-execution-failed.json")
EXECUTION_ARN = FAILED_EVENT["detail"]["executionArn"]
STATE_MACHINE_ARN = FAILED_EVENT["detail"]["stateMachineArn"]
TASK_ARN = "arn:aws:dms:us-west-2:123456789012:task:ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def outcome_cause(problem_tables, mismatched=1):
    """The cause the state machine's Fail state writes: the outcome as JSON."""
    return json.dumps({
        "status": "FAILED", "reason": "VALIDATION_FAILED", "error": "MigrationValidationFailed",
        "message": "Data validation found rows that differ", "execution": EXECUTION_ARN,
        "replicationTaskArn": TASK_ARN,
        "tables": {"tables": 3, "loaded": 3, "loading": 0, "loadFailed": 0, "validated": 3 - mismatched,
                   "validationNotEnabled": 0, "validationPending": 0, "mismatched": mismatched, "suspended": 0,
                   "notValidatable": 0},
        "problemTables": problem_tables,
        "report": {"bucket": "migration-data-dev", "key": "reports/migrations/run-1.json",
                   "tablePages": {"prefix": "reports/migrations/run-1/", "count": 1}},
    })


@pytest.fixture
def environment(aws, alerts, audit_events, monkeypatch):
    monkeypatch.setenv("ALERT_TOPIC_ARN", alerts.topic_arn)
    monkeypatch.setenv("DATA_BUCKET", "migration-data-dev")


def stubbed_clients(error, cause):
    sfn = PartiallyStubbedClient("stepfunctions", ["describe_execution", "redrive_execution"])
    sfn.stubber.add_response("describe_execution", {
        "executionArn": EXECUTION_ARN, "stateMachineArn": STATE_MACHINE_ARN, "status": "FAILED",
        "startDate": datetime.datetime(2024, 6, 1, 9, 50), "redriveCount": 0, "redriveStatus": "REDRIVABLE",
        "error": error, "cause": cause}, {"executionArn": EXECUTION_ARN})
    dms = PartiallyStubbedClient("dms", ["start_replication_task"])
    remediation._clients.update({"stepfunctions": sfn, "dms": dms})
    return sfn, dms


def failed_event(error, cause):
    event = copy.deepcopy(FAILED_EVENT)
    event["detail"].update({"error": error, "cause": cause})
    return event


def test_validation_mismatch_alerts_with_the_tables_and_changes_nothing(environment, alerts, audit_events):
    cause = outcome_cause([table_statistics("sales", "customers", validation_state="Mismatched records",
                                            failed=12, suspended=1, pending=3)])
    sfn, dms = stubbed_clients("MigrationValidationFailed", cause)

    result = remediation.handler(failed_event("MigrationValidationFailed", cause), None)

    assert sfn.calls == ["describe_execution"]  # read only: no redrive
    assert dms.calls == []  # no DMS resume
    [alert] = alerts.read()
    assert alert["severity"] == "ERROR"
    assert alert["subject"].startswith("[migration-pipeline] Migration validation FAILED (1 tables): incoming-sales")
    message = alert["message"]
    assert message["actionTaken"].startswith("None.")
    assert "not resumed" in message["actionTaken"] and "not redriven" in message["actionTaken"]
    assert message["details"]["tables"] == [{
        "table": "sales.customers", "validationState": "Mismatched records", "tableState": "Table completed",
        "validationFailedRecords": 12, "validationSuspendedRecords": 1, "validationPendingRecords": 3,
        "fullLoadRows": 1000, "inserts": 0}]
    assert message["details"]["report"] == "s3://migration-data-dev/reports/migrations/run-1.json"
    assert message["details"]["totals"]["mismatched"] == 1
    assert message["ids"] == {"executionArn": EXECUTION_ARN, "replicationTaskArn": TASK_ARN}
    [audit] = audit_events.read()  # checked against pipeline_event.schema.json by the capture
    detail = audit["detail"]
    assert (detail["trigger"], detail["action"], detail["outcome"]) == \
        ("SFN_EXECUTION_STATUS_CHANGE", "ALERT_ONLY", "SUCCEEDED")
    assert detail["reason"] == "validation mismatch in 1 table(s): sales.customers"
    assert detail["reportKey"] == "reports/migrations/run-1.json"
    assert result == detail


def test_the_alert_lists_at_most_ten_tables(environment, alerts):
    tables = [table_statistics("app", f"t{i}", validation_state="Suspended records", suspended=1) for i in range(12)]
    cause = outcome_cause(tables, mismatched=0)
    stubbed_clients("MigrationValidationFailed", cause)

    remediation.handler(failed_event("MigrationValidationFailed", cause), None)

    [alert] = alerts.read()
    assert len(alert["message"]["details"]["tables"]) == 10


def test_tables_dms_cannot_validate_are_counted_and_named_in_the_alert(environment, alerts):
    cause = json.loads(outcome_cause([table_statistics("sales", "audit_log", validation_state="No primary key"),
                                      table_statistics("sales", "order_tags", validation_state="Not enabled")],
                                     mismatched=0))
    cause.update({"reason": "TABLES_NOT_VALIDATABLE",
                  "tablesWithoutValidation": ["sales.audit_log (No primary key)", "sales.order_tags (Not enabled)"]})
    cause["tables"].update({"validated": 1, "notValidatable": 1, "validationNotEnabled": 1})
    cause = json.dumps(cause)
    stubbed_clients("MigrationValidationFailed", cause)

    remediation.handler(failed_event("MigrationValidationFailed", cause), None)

    [alert] = alerts.read()
    assert alert["subject"].startswith("[migration-pipeline] Migration validation FAILED (2 tables)")
    assert [t["table"] for t in alert["message"]["details"]["tables"]] == ["sales.audit_log", "sales.order_tags"]


def test_an_unreadable_cause_still_alerts_without_acting(environment, alerts, audit_events):
    sfn, dms = stubbed_clients("MigrationValidationFailed", "not json")

    result = remediation.handler(failed_event("MigrationValidationFailed", "not json"), None)

    assert sfn.calls == ["describe_execution"] and dms.calls == []
    [alert] = alerts.read()
    assert alert["message"]["details"]["cause"] == "not json"
    assert alert["message"]["details"]["tables"] == []
    assert result["action"] == "ALERT_ONLY"


def test_other_migration_failures_keep_the_generic_path(environment, alerts):
    cause = json.dumps({"status": "FAILED", "reason": "VALIDATION_PENDING", "error": "MigrationFailed"})
    sfn, dms = stubbed_clients("MigrationFailed", cause)

    result = remediation.handler(failed_event("MigrationFailed", cause), None)

    [alert] = alerts.read()
    assert alert["subject"].startswith("[migration-pipeline] Migration execution failed (MigrationFailed)")
    assert result["reason"] == "execution failed (MigrationFailed)"
    assert dms.calls == [] and sfn.calls == ["describe_execution"]


def test_end_to_end_a_mismatch_run_reaches_remediation_as_a_validation_failure(harness, monkeypatch):
    """The synthesized state machine fails a mismatch run; remediation reads that real execution from moto."""
    harness.tables[0] = table_statistics("sales", "orders", validation_state="Mismatched records", failed=4)
    run = harness.run(name="run-e2e")
    assert run.status == "FAILED"

    sns = boto3.client("sns", region_name=REGION)
    alert_topic = sns.create_topic(Name="alerts")["TopicArn"]
    queue_url = harness.sqs.create_queue(QueueName="alerts-reader")["QueueUrl"]
    queue_arn = harness.sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=alert_topic, Protocol="sqs", Endpoint=queue_arn, Attributes={"RawMessageDelivery": "true"})
    monkeypatch.setenv("ALERT_TOPIC_ARN", alert_topic)
    monkeypatch.setenv("DATA_BUCKET", "migration-data-dev")
    execution = run.execution
    event = copy.deepcopy(FAILED_EVENT)
    event["resources"] = [execution["executionArn"]]
    event["detail"].update({"executionArn": execution["executionArn"], "stateMachineArn": harness.state_machine_arn,
                            "name": "run-e2e", "error": None, "cause": None})
    # moto's DescribeExecution has no redrive fields; the ones remediation reads default to "not redriven".

    result = remediation.handler(event, None)

    assert result["action"] == "ALERT_ONLY"
    assert result["reason"] == "validation mismatch in 1 table(s): sales.orders"
    [message] = harness.sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10)["Messages"]
    alert = json.loads(message["Body"])
    assert alert["details"]["tables"][0]["validationFailedRecords"] == 4
    assert alert["details"]["report"] == "s3://migration-data-dev/reports/migrations/run-e2e.json"
    assert len(harness.start_calls) == 1  # only the run's own start; remediation resumed nothing
